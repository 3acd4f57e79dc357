"""Hybrid search: vector KNN and FTS5 BM25 over chunks, fused and grouped into notes."""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import apsw
import numpy as np

from notesearch.core.embedders import Embedder
from notesearch.core.store import Store
from notesearch.core.text import Snippet, find_terms, fts_query, make_snippet, query_terms
from notesearch.core.vectors import VectorIndex

log = logging.getLogger(__name__)

CANDIDATES = 100  # chunks taken from each list before fusion
RRF_K = 60
MODES = ("hybrid", "meaning", "words")


@dataclass(frozen=True)
class Filters:
    """Restrict results to notes under a folder and/or carrying all of some tags."""

    folder: str | None = None
    tags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.folder or self.tags)


@dataclass(frozen=True)
class Hit:
    """One chunk found by one list, with that list's score."""

    chunk_id: int
    note_id: int
    score: float


@dataclass
class Result:
    """One note in the results, with its best passage and why it matched."""

    note_id: int
    path: str
    title: str
    score: float
    match: str  # "meaning" | "words" | "both"
    line: int
    end_line: int
    heading: str
    snippet: Snippet
    chunk_id: int
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"path": self.path, "title": self.title, "score": round(self.score, 4),
                "line": self.line, "snippet": self.snippet.text, "match": self.match}


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

    def to_json(self) -> dict:
        data = {"query": self.query, "results": [r.to_json() for r in self.results]}
        if self.notes_not_embedded:
            data["notes_not_embedded"] = self.notes_not_embedded
        if self.meaning_unavailable:
            data["meaning_unavailable"] = self.meaning_unavailable
        return data


class QueryCache:
    """A small LRU of query vectors: typing back and forth re-embeds nothing."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, embedder: Embedder, query: str) -> np.ndarray:
        key = (embedder.model_id, query)
        vector = self._items.get(key)
        if vector is None:
            vector = embedder.embed_query(query)
            self._items[key] = vector
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return vector


class Searcher:
    """Runs searches over one connection; cheap to call on every keystroke."""

    def __init__(self, conn: apsw.Connection, vectors: VectorIndex,
                 embedder: Embedder | None, query_cache: QueryCache | None = None) -> None:
        self.conn = conn
        self.store = Store(conn)
        self.vectors = vectors
        self.embedder = embedder
        self.query_cache = query_cache or QueryCache()
        self.meaning_unavailable: str | None = None
        self._pending_cache: tuple[tuple, int] | None = None

    # -- public -----------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters = Filters(),
               mode: str = "hybrid", as_you_type: bool = False) -> SearchResponse:
        """Return up to k notes for `query`, best first."""
        timings: dict[str, float] = {}
        query = query.strip() if not as_you_type else query
        response = SearchResponse(query.strip(), [], timings_ms=timings)
        if not query_terms(query):  # nothing but spaces and punctuation
            return response
        allowed = self._allowed_notes(filters)
        word_hits = self._timed(timings, "words", self._keyword_hits, query, allowed,
                                as_you_type) if mode != "meaning" else []
        meaning_hits = self._timed(timings, "meaning", self._vector_hits, query.strip(),
                                   allowed) if mode != "words" else []
        fused = self._timed(timings, "fuse", fuse, word_hits, meaning_hits, k)
        response.results = self._timed(timings, "results", self._results, fused, query,
                                       as_you_type)
        response.notes_not_embedded = self._notes_not_embedded()
        response.meaning_unavailable = self.meaning_unavailable if mode != "words" else None
        log.debug("search %r: %s", query, timings)
        return response

    def similar_to_note(self, note_id: int, k: int = 10) -> list[Result]:
        """Return notes most like this one (normalised mean of its chunk vectors), itself excluded."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT e.id FROM chunks c JOIN embeddings e ON e.hash = c.hash "
            "WHERE c.note_id = ? AND e.space_id = ?", (note_id, self._space_id()))]
        vectors = self.vectors.vectors_for(sorted(set(ids)))
        if not len(vectors):
            return []
        return self._similar(_normalise(vectors.mean(axis=0)), k, exclude=note_id)

    def similar_to_text(self, text: str, k: int = 10) -> list[Result]:
        """Return notes most like a passage of text (embedded as a passage, not a query)."""
        if self.embedder is None:
            return []
        return self._similar(self.embedder.embed_documents([text])[0], k, exclude=None)

    # -- lists ------------------------------------------------------------------------------
    def _keyword_hits(self, query: str, allowed: set[int] | None,
                      as_you_type: bool) -> list[Hit]:
        expression = fts_query(query, prefix_last=as_you_type)
        if expression is None:
            return []
        limit = CANDIDATES if allowed is None else CANDIDATES * 5
        # bm25() is lower-is-better; the title column weighs double.
        rows = self.conn.execute(
            "SELECT f.rowid, c.note_id, -bm25(chunks_fts, 2.0, 1.0) AS s FROM chunks_fts f "
            "JOIN chunks c ON c.id = f.rowid WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, "
            "2.0, 1.0) LIMIT ?", (expression, limit)).fetchall()
        return [Hit(c, n, s) for c, n, s in rows if allowed is None or n in allowed]

    def _vector_hits(self, query: str, allowed: set[int] | None) -> list[Hit]:
        if self.embedder is None:
            return []
        self.vectors.refresh(self.conn)
        space = self.vectors.space
        if space is None or not len(self.vectors):
            return []
        if space.model_id != self.embedder.model_id:
            # The active vectors were made by another model (a change is being re-embedded):
            # a query vector from this model would be compared in the wrong space.
            return []
        query_vector = self.query_cache.get(self.embedder, query)
        top = self.vectors.top(query_vector, CANDIDATES if allowed is None else CANDIDATES * 5)
        if not top:
            return []
        score_of = dict(top)
        marks = ",".join("?" * len(top))
        rows = self.conn.execute(
            f"SELECT c.id, c.note_id, e.id FROM embeddings e JOIN chunks c ON c.hash = e.hash "
            f"WHERE e.id IN ({marks})", [i for i, _ in top]).fetchall()
        hits = [Hit(c, n, score_of[e]) for c, n, e in rows if allowed is None or n in allowed]
        hits.sort(key=lambda h: -h.score)
        return hits

    def _allowed_notes(self, filters: Filters) -> set[int] | None:
        if not filters:
            return None
        sql, args = "SELECT id FROM notes WHERE 1", []
        if filters.folder:
            prefix = filters.folder.rstrip("/\\") + "/"
            sql += " AND substr(path, 1, ?) = ?"
            args += [len(prefix), prefix]
        for tag in filters.tags:
            sql += " AND id IN (SELECT note_id FROM note_tags WHERE tag = ?)"
            args.append(tag.lower().lstrip("#"))
        return {r[0] for r in self.conn.execute(sql, args)}

    # -- results ----------------------------------------------------------------------------
    def _results(self, fused: list[Fused], query: str, as_you_type: bool) -> list[Result]:
        if not fused:
            return []
        marks = ",".join("?" * len(fused))
        rows = {r[0]: r for r in self.conn.execute(
            f"SELECT c.id, n.id, n.path, n.title, c.start_line, c.end_line, c.heading, "
            f"c.context_len, c.text, n.tags FROM chunks c JOIN notes n ON n.id = c.note_id "
            f"WHERE c.id IN ({marks})", [f.chunk_id for f in fused])}
        results = []
        for item in fused:
            row = rows.get(item.chunk_id)
            if row is None:  # deleted between the two queries
                continue
            results.append(self._result(item, row, query, as_you_type))
        return results

    def _result(self, item: Fused, row: tuple, query: str, as_you_type: bool) -> Result:
        chunk_id, note_id, path, title, start, end, heading, context_len, text, tags = row
        body = text[context_len:].lstrip("\n")
        snippet = make_snippet(body, query, prefix_last=as_you_type)
        line = start
        spans = find_terms(body, query, as_you_type)
        if spans:
            line = min(end, start + body.count("\n", 0, spans[0][0]))


        return Result(note_id, path, title, item.score, item.match, line, end, heading,
                      snippet, chunk_id, json.loads(tags))

    def _similar(self, vector: np.ndarray, k: int, exclude: int | None) -> list[Result]:
        self.vectors.refresh(self.conn)
        top = self.vectors.top(vector, max(200, k * 20))
        if not top:
            return []
        score_of = dict(top)
        marks = ",".join("?" * len(top))
        rows = self.conn.execute(
            f"SELECT c.id, c.note_id, e.id FROM embeddings e JOIN chunks c ON c.hash = e.hash "
            f"WHERE e.id IN ({marks})", [i for i, _ in top]).fetchall()
        best: dict[int, Fused] = {}
        for chunk_id, note_id, emb_id in rows:
            if note_id == exclude:
                continue
            score = score_of[emb_id]
            if note_id not in best or score > best[note_id].score:
                best[note_id] = Fused(note_id, chunk_id, score, "meaning")
        ranked = sorted(best.values(), key=lambda f: -f.score)[:k]
        return self._results(ranked, "", False)

    # -- bookkeeping ------------------------------------------------------------------------
    def _space_id(self) -> int:
        self.vectors.refresh(self.conn)
        return self.vectors.space.id if self.vectors.space else -1

    def _notes_not_embedded(self) -> int:
        if self.embedder is None:
            return 0
        key = (self.store.get_meta("notes_gen"), self.store.get_meta("vectors_gen"),
               self._space_id(), len(self.vectors))
        if self._pending_cache and self._pending_cache[0] == key:
            return self._pending_cache[1]
        private = "" if not self.embedder.is_remote else "AND n.private = 0"
        count = self.conn.execute(
            f"SELECT COUNT(DISTINCT c.note_id) FROM chunks c JOIN notes n ON n.id = c.note_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.hash = c.hash "
            f"AND e.space_id = ?) {private}", (key[2],)).fetchone()[0]
        self._pending_cache = (key, count)
        return count

    @staticmethod
    def _timed(timings: dict[str, float], name: str, function, *args):
        start = time.perf_counter()
        value = function(*args)
        timings[name] = (time.perf_counter() - start) * 1000
        return value


@dataclass(frozen=True)
class Fused:
    """A note after fusion: its score, best chunk and how it matched."""

    note_id: int
    chunk_id: int
    score: float
    match: str


def best_per_note(hits: list[Hit]) -> list[Hit]:
    """Return each note's best hit, in the list's order."""
    seen: dict[int, Hit] = {}
    for hit in hits:
        if hit.note_id not in seen:
            seen[hit.note_id] = hit
    return list(seen.values())


def fuse(word_hits: list[Hit], meaning_hits: list[Hit], k: int) -> list[Fused]:
    """Combine the two lists at note level by reciprocal rank fusion; return the top k."""
    words = best_per_note(sorted(word_hits, key=lambda h: -h.score))
    meaning = best_per_note(sorted(meaning_hits, key=lambda h: -h.score))
    scores: dict[int, float] = {}
    chunk: dict[int, int] = {}
    word_rank = {h.note_id: r for r, h in enumerate(words)}
    meaning_rank = {h.note_id: r for r, h in enumerate(meaning)}
    for ranks, hits in ((word_rank, words), (meaning_rank, meaning)):
        for hit in hits:
            scores[hit.note_id] = scores.get(hit.note_id, 0.0) + 1.0 / (RRF_K + ranks[hit.note_id])
    for hit in reversed(meaning):
        chunk[hit.note_id] = hit.chunk_id
    for hit in reversed(words):
        # The passage that matched the words shows the user why; prefer it unless meaning ranked
        # the note clearly higher than words did.
        if meaning_rank.get(hit.note_id, 1 << 30) >= word_rank[hit.note_id]:
            chunk[hit.note_id] = hit.chunk_id
    ranked = sorted(scores, key=lambda n: -scores[n])[:k]
    out = []
    for note_id in ranked:
        in_words, in_meaning = note_id in word_rank, note_id in meaning_rank
        match = "both" if in_words and in_meaning else "words" if in_words else "meaning"
        out.append(Fused(note_id, chunk[note_id], scores[note_id], match))
    return out


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
