"""The keyword list: planning a query's keyword search and scoring notes by BM25 over notes_fts.

The note-level FTS5 index (one row a note, five weighted fields) answers which notes are about
the query's words. Planning: which words are searched (the rarest, within a postings budget),
which word is still being typed (a prefix), which finished word no note holds is searched as
its one-edit neighbour, and which neighbouring words count as phrases (text.fts_phrases).
Scores: BM25 summed per phrase from per-phrase postings kept in PhrasePostings, which a
library's searchers share and which outlive changes to the notes (patched from note_changes).
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from itertools import chain
from typing import NamedTuple, cast

import apsw
import numpy as np

from notesearch.core import lexicon
from notesearch.core.store import one_row
from notesearch.core.text import (
    PREFIX_MIN_LETTERS,
    SPELL_MIN_LETTERS,
    STOPWORDS,
    fts_phrases,
    is_cjk,
    one_edit_away,
    phrase_key,
    query_stopwords,
    query_terms,
    quote_term,
    replace_term,
    stem,
    stems,
    term_expression,
    typed_prefix,
    umlaut_spellings,
    word_for_stem,
    written_words,
)

#: Languages that write compounds as one word ("Hüttentour"), of those the word lists tell,
#: and the fewest letters of a compound's part that counts (KeywordIndex.holds_part_of).
COMPOUNDING = frozenset({"de", "nl"})
COMPOUND_PART = 4

#: A misspelt word's correction is the first of this many stems one edit away (most notes
#: first) that is a real word (KeywordIndex._real_word), looked for in this many passages.
SPELL_CANDIDATES = 5
#: A correction a note's title holds is preferred to one in more notes, down to this share
#: of their number (KeywordIndex._titled_first).
TITLED_SHARE = 0.1
SPELL_PASSAGES = 10
#: A word no note holds, and no one-edit correction, is tried as two words the notes write
#: side by side ("spellchecker" as "spell checker"), each part this long at least, the
#: splits whose parts the most notes hold first, this many at most (_split).
SPLIT_MIN_LETTERS = 3
SPLIT_CANDIDATES = 3
#: Keyword hits whose query-term coverage is worked out: the best by BM25 (and the best by
#: meaning, Searcher._with_coverage). For every note a search weighs, Cranfield's hybrid
#: nDCG@10 fell 0.406 -> 0.398 (30 notes: 0.402), notes far down both lists rising by it.
COVERAGE_NOTES = 10
COVERAGE_MAX_DF = 2_000  # terms in more notes do not count towards coverage
POSTINGS_BUDGET = 10_000  # chunks a keyword query may score, summed over its terms
#: Postings (note id, score) kept between searches, over all phrases: 8 bytes each (int32,
#: float32), so at most 48 MB. Every word in 100+ notes at 100k notes is 3.0M postings; at
#: 10k, 0.25M: the room left keeps the prefixes and pairs typed.
POSTINGS_KEPT = 6_000_000
#: Kept postings are brought up to date by reading only the notes written since, until the
#: changes since they were read whole add up to this share of the notes (a saved note counts
#: twice; so never under 50 notes, where a whole read is cheap): the scores of the notes not
#: read again keep the idf and average length of that read (a 2% change moves an idf by under
#: 2%), then the phrase is read whole.
PATCH_SHARE = 0.02
#: `warm` reads ahead the words in at least this many notes: a rarer word's postings cost
#: under 0.25 ms to read when typed.
WARM_MIN_NOTES = 100
#: A neighbouring-word phrase's BM25 counts this much beside its words' own. At full weight a
#: rare pair's idf came on top of both words' (counted three times), and short notes that hold
#: the pair once outranked the ones about the query: nDCG@10 by words on NPL 0.434 without
#: phrases, 0.372 with, 0.432 at 0.25; hybrid on NPL 0.464 -> 0.478, Cranfield 0.399 -> 0.402,
#: SciFact 0.736 -> 0.741 (by words 0.667 -> 0.705; measured after the choice);
#: known-item hybrid MRR@10 foam-docs 0.817 -> 0.829, dendron-site 0.707 -> 0.709, tldr-pages
#: 0.719 -> 0.724 (weights 1, 0.5, 0.25 and 0 measured; 0 loses the two-word names phrases
#: are for: foam-docs by words 0.763).
PAIR_WEIGHT = 0.25
MAX_QUERY_TERMS = 32  # a pasted text is searched by words on its rarest terms
#: Seconds the vocabulary read for spelling and prefixes keeps serving after the notes
#: change. Reading it whole took 29 ms for dendron-site's 10k stems and 264 ms for 110k stems
#: at 100k notes; looking a word's few hundred one-edit neighbours up in fts5vocab instead
#: cost 9-56 ms for every unknown word typed (radiosonde, servomechanisms), one by one.
VOCABULARY_MAX_AGE = 600.0


class Postings(NamedTuple):
    """One phrase's notes and BM25 (field weights applied, higher is better), as of the
    note_changes entry `seq`; `patched` changes (log entries) were applied since the phrase
    was read whole."""

    ids: np.ndarray  # int32 note ids, in no particular order
    scores: np.ndarray  # float32
    seq: int
    patched: int


class PhrasePostings:
    """Phrase postings shared by the searchers of one library (all threads), least recently
    used dropped past POSTINGS_KEPT; thread-safe.

    Reading a common word's postings is FTS5's bm25() at about 2 us a note (4 ms for a word
    in 2,300 of 10k notes), so they are kept across keystrokes, queries and changes to the
    notes, and read ahead of the first search by `KeywordIndex.warm`.
    """

    def __init__(self, capacity: int = POSTINGS_KEPT) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[object, Postings] = OrderedDict()
        self._size = 0
        #: How many phrases were dropped for room so far (what was read ahead may be gone).
        self.evicted = 0

    def get(self, key: object) -> Postings | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: object, postings: Postings) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.ids)
            self._entries[key] = postings
            self._size += len(postings.ids)
            while self._size > self.capacity and len(self._entries) > 1:
                self._size -= len(self._entries.popitem(last=False)[1].ids)
                self.evicted += 1

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def term_weight(df: int, total: int) -> float:
    """A term's idf as coverage weighs it (BM25's, kept positive): log(1 + (N - df + 0.5) /
    (df + 0.5)) for a term in `df` of `total` notes."""
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


class KeywordIndex:
    """Keyword-query planning and BM25 over the note-level index of one connection.

    `facts()` returns the searcher's per-generation cache (emptied when the notes change),
    `total_notes()` how many notes there are, `field_weights()` notes_fts's column weights.
    """

    def __init__(self, conn: apsw.Connection, facts: Callable[[], dict[str, object]],
                 total_notes: Callable[[], int],
                 field_weights: Callable[[], tuple[float, ...]],
                 postings: PhrasePostings | None = None,
                 is_word: Callable[[str], bool] | None = None) -> None:
        """`is_word(word)`: True for a real word, which is never corrected as a typo
        (embedders.is_whole_word)."""
        self.conn = conn
        self.is_word = is_word
        self.postings = postings if postings is not None else PhrasePostings()
        self.facts, self.total_notes, self.field_weights = facts, total_notes, field_weights
        #: Spelling answers, kept across changes to the notes until the vocabulary is read
        #: again (see _spelling).
        self.spellings: dict[str, str | None] = {}
        #: (when read, time.monotonic(); indexed stem -> notes holding it), see _vocabulary.
        self._vocabulary_read: tuple[float, dict[str, int]] | None = None
        #: (the vocabulary they come from, its words sorted, running totals of their notes).
        self._sorted: tuple[dict[str, int], list[str], np.ndarray] | None = None
        #: (the vocabulary it comes from, the words `warm` reads, commonest first).
        self._warm_order: tuple[dict[str, int], list[tuple[str, str, int]]] | None = None
        #: What `warm` last read everything for: (its word list, field weights, evictions).
        self._warmed: tuple[list[tuple[str, str, int]], tuple[float, ...], int] | None = None

    def note_scores(self, query: str, allowed: set[int] | None, as_you_type: bool,
                             limit: int) -> tuple[dict[int, float], dict[int, float]]:
        """Return note id -> BM25 over the note-level index (fields weighted), best first,
        and note id -> the idf-weighted share of the query's terms it holds (0..1) for the
        best COVERAGE_NOTES of them.

        BM25 is a sum over the query's phrases, each scored alone (FTS5's bm25() of an OR
        query is that same sum; neighbouring pairs weighted PAIR_WEIGHT), so each phrase's
        scores are read once and kept until the notes change: a keystroke reads only the
        word being typed.
        """
        stopwords = query_stopwords(query)
        if as_you_type and all(term in stopwords for term in query_terms(query)):
            return {}, {}
        phrases = fts_phrases(query, prefix_last=as_you_type, keep=self.selective_terms,
                              widen_prefix=self.matching_prefix)
        if not phrases:
            return {}, {}
        postings = [self.phrase_scores(phrase) for phrase in phrases]
        ids = np.concatenate([p[0] for p in postings])
        if not len(ids):
            return {}, {}
        notes, where = np.unique(ids, return_inverse=True)
        # A phrase of several words is a neighbouring pair (fts_phrases): it counts less.
        totals = np.bincount(where, weights=np.concatenate(
            [p[1] * (PAIR_WEIGHT if " " in phrase else 1.0)
             for phrase, p in zip(phrases, postings, strict=True)]))
        if allowed is not None:
            inside = np.isin(notes, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            notes, totals = notes[inside], totals[inside]
        order = np.lexsort((notes, -totals))[:limit]
        scores = dict(zip(notes[order].tolist(), totals[order].tolist(), strict=True))
        coverage = self.coverage(query, list(scores)[:COVERAGE_NOTES], as_you_type)
        if len(phrases) == 1 and coverage:
            # One word (or prefix): every note found holds all of it, not only the first
            # COVERAGE_NOTES. "Using Foam", 11th for "foam", was shown at 0% as a meaning match.
            coverage = dict.fromkeys(scores, 1.0)
        return scores, coverage

    def phrase_scores(self, phrase: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (note ids, BM25 of this one phrase) for every note holding it (field
        weights applied, higher is better).

        Kept in `postings` under what the phrase matches (`phrase_key`: "used" is read once
        for "use", "using" and "used"); after the notes change, only the notes written since
        are read again (see _patched).
        """
        weights = self.field_weights()
        key = (phrase_key(phrase), weights)
        if key[0][1] and len(key[0][0]) == 1:
            whole = self.only_word_begun(key[0][0][0])
            if whole is not None:
                # A prefix that begins one indexed word finds what that word does, with the
                # same BM25 (FTS5 counts the prefix's matches as the phrase's): "describ"*
                # is "describ", kept and read ahead.
                phrase, key = quote_term(whole), (((whole,), False), weights)
        seq = self.change_seq()
        kept = self.postings.get(key)
        if kept is not None and kept.seq != seq:
            kept = self._patched(phrase, kept, seq)
            if kept is not None:
                self.postings.put(key, kept)
        if kept is None:
            ids, scores = self._bm25(phrase, weights)
            kept = Postings(ids, scores, seq, 0)
            self.postings.put(key, kept)
        return kept.ids, kept.scores

    def warm(self, seconds: float) -> bool:
        """Read ahead the postings of the words in WARM_MIN_NOTES notes or more, commonest
        first, for up to `seconds`; return True when all are kept (call again until then).

        These are the words whose first search costs most (4 ms for a word in 2,300 of 10k
        notes), then the same words as prefixes while they fit: 0.8 s at 10k notes and 7.3 s
        at 100k, once; kept postings are then patched as notes change. Reads stop short of
        the cache's capacity.
        """
        weights = self.field_weights()
        commonest = self._commonest()
        done_for = (commonest, weights, self.postings.evicted)
        if (self._warmed is not None and self._warmed[0] is commonest
                and self._warmed[1:] == done_for[1:]):
            # Nothing read ahead was dropped since all of it was: checking it all again cost
            # 21 ms at 100k passages, and the app asks again every 40 ms while a first index
            # keeps the chunk map from being read.
            return True
        end = time.monotonic() + seconds
        budget = int(0.9 * self.postings.capacity)
        # The words, then the same words as prefixes: a word typed whole is searched as a
        # prefix until a space follows it ("variation"*: 25 ms at 100k passages unread).
        for prefix in (False, True):
            for term, word, notes in commonest:
                if prefix:
                    if word in STOPWORDS:  # never the word a query is searched by
                        continue
                    notes = self.prefix_postings(word)
                    if notes > budget:  # a rarer word's prefix may still fit
                        continue
                elif notes > budget:
                    break
                budget -= notes
                if (((term,), prefix), weights) in self.postings:
                    continue
                if time.monotonic() > end:
                    return False
                self.phrase_scores(quote_term(word) + ("*" if prefix else ""))
        self._warmed = done_for
        return True

    def _commonest(self) -> list[tuple[str, str, int]]:
        """(stem, a word typed as it, notes holding it) for the vocabulary's stems in
        WARM_MIN_NOTES notes or more, commonest first. Made again when the vocabulary is read
        again."""
        vocabulary = self._vocabulary()
        if self._warm_order is None or self._warm_order[0] is not vocabulary:
            common = [(t, word, n) for t, n in vocabulary.items() if n >= WARM_MIN_NOTES
                      and (word := word_for_stem(t)) is not None]
            common.sort(key=lambda item: -item[2])
            self._warm_order = (vocabulary, common)
        return self._warm_order[1]

    def _bm25(self, phrase: str, weights: tuple[float, ...],
              where: str = "", *args: int) -> tuple[np.ndarray, np.ndarray]:
        """Read (note ids, BM25) of `phrase` from notes_fts, optionally narrowed by `where`."""
        listed = ", ".join(repr(float(w)) for w in weights)
        rows = self.conn.execute(f"SELECT rowid, bm25(notes_fts, {listed}) FROM notes_fts "
                                 f"WHERE notes_fts MATCH ? {where}", (phrase, *args)).fetchall()
        # fromiter over the flattened rows: np.array() of a list of tuples took 3x as long
        # (1.8 ms for a word in 5,000 notes).
        table = np.fromiter(chain.from_iterable(rows), np.float64, 2 * len(rows)).reshape(-1, 2)
        # Half the bytes of int64 and float64, so twice the postings kept in POSTINGS_KEPT's
        # memory (a note id fits; BM25 needs no more than float32's 7 digits).
        return table[:, 0].astype(np.int32), (-table[:, 1]).astype(np.float32)

    def _patched(self, phrase: str, kept: Postings, seq: int) -> Postings | None:
        """Return `kept` brought up to the note_changes entry `seq` by reading again only
        the notes written or removed since, or None when it should be read whole (too many
        changed, or the log no longer reaches back to it)."""
        # Each change is one entry of the log (a saved note two: its old row removed, its
        # new one written), so this bounds what is read here before reading it: while a
        # first index writes thousands of notes, it is not read at every keystroke.
        if kept.patched + (seq - kept.seq) > PATCH_SHARE * self.total_notes():
            return None
        changed = self.changes_since(kept.seq)
        if changed is None:
            return None
        written, gone = changed
        stay = ~np.isin(kept.ids, np.concatenate([written, gone]))
        ids, scores = kept.ids[stay], kept.scores[stay]
        if len(written):
            # A rowid range is a seek in FTS5 ("rowid IN (...)" cost 0.13 ms a note); a saved
            # note gets the next id, so the range is usually one note wide.
            fresh_ids, fresh = self._bm25(phrase, self.field_weights(),
                                          "AND rowid BETWEEN ? AND ?",
                                          int(written.min()), int(written.max()))
            inside = np.isin(fresh_ids, written)
            ids = np.concatenate([ids, fresh_ids[inside]])
            scores = np.concatenate([scores, fresh[inside]])
        return Postings(ids, scores, seq, kept.patched + (seq - kept.seq))

    def only_word_begun(self, prefix: str) -> str | None:
        """Return the one indexed word that begins with `prefix` (as the index stores it),
        or None when there are none or several, or that word has another key as a phrase.

        From the vocabulary when it was read since the notes last changed, else from the
        index (a new word may begin with the prefix)."""
        words = self._fresh_words()
        if words is not None:
            first = bisect_left(words, prefix)
            found = [w for w in words[first:first + 2] if w.startswith(prefix)]
        else:
            found = [row[0] for row in self.conn.execute(
                "SELECT term FROM temp.notes_vocab WHERE term >= ? AND term < ? LIMIT 2",
                (prefix, prefix + "\U0010ffff"))]
        if len(found) != 1 or phrase_key(quote_term(found[0])) != ((found[0],), False):
            return None
        return found[0]

    def change_seq(self) -> int:
        """Return the latest note_changes entry, read once while the notes stay unchanged."""
        facts = self.facts()
        if "seq" not in facts:
            facts["seq"] = one_row(self.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM note_changes"))[0]
        return cast(int, facts["seq"])

    def changes_since(self, seq: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Return (ids of the notes written since entry `seq`, still there; ids of notes
        removed since and not written again), or None when the log has been trimmed past it."""
        cache = cast(dict[int, tuple[np.ndarray, np.ndarray] | None],
                     self.facts().setdefault("changes", {}))
        if seq not in cache:
            first = one_row(self.conn.execute("SELECT MIN(seq) FROM note_changes"))[0]
            if first is None or first > seq + 1:
                cache[seq] = None
            else:
                rows = self.conn.execute(
                    "SELECT DISTINCT c.note_id, n.id IS NOT NULL FROM note_changes c "
                    "LEFT JOIN notes n ON n.id = c.note_id WHERE c.seq > ?", (seq,)).fetchall()
                cache[seq] = (np.array([i for i, alive in rows if alive], dtype=np.int64),
                              np.array([i for i, alive in rows if not alive], dtype=np.int64))
        return cache[seq]

    def coverage(self, query: str, note_ids: list[int], as_you_type: bool) -> dict[int, float]:
        """Return note id -> idf-weighted share of the query's terms the note holds (0..1).

        Terms in more than COVERAGE_MAX_DF notes are left out (coverage_terms); the others'
        notes come from the same cached postings as the scores.
        """
        terms = self.coverage_terms(query, as_you_type) if note_ids else []
        weight_sum = sum(weight for _, weight in terms)
        if not weight_sum:
            return {}
        found = dict.fromkeys(note_ids, 0.0)
        for expression, weight in terms:
            holders = set(self.phrase_scores(expression)[0].tolist())
            for note_id in holders & found.keys():
                found[note_id] += weight
        return {n: w / weight_sum for n, w in found.items()}

    def coverage_terms(self, query: str, as_you_type: bool) -> list[tuple[str, float]]:
        """Return the (FTS5 expression, idf weight) of each query term coverage counts: every
        term but those in more than COVERAGE_MAX_DF notes (a term in that many says little,
        its idf is low, and reading where it is costs most: 10 ms at 100k notes); the word
        being typed as a prefix, budgeted by the postings of every word it begins."""
        terms = query_terms(query)
        total = max(1, self.total_notes())
        kept = []
        for i, term in enumerate(terms):
            df = self.note_frequency(term)
            prefix = as_you_type and i == len(terms) - 1 and typed_prefix(query) == term
            expression = (quote_term(term) + "*" if prefix
                          else term_expression(term, alone=len(terms) == 1))
            # A prefix reads the notes of every word it begins ("pro": 30k at 100k notes).
            if max(df, self.prefix_postings(term) if prefix else 0) <= COVERAGE_MAX_DF:
                kept.append((expression, term_weight(df, total)))
        return kept

    def spelled(self, query: str, as_you_type: bool) -> tuple[str, dict[str, str]]:
        """Return the query with each word that no note holds replaced by the word one edit
        away that the most notes hold ("botom" -> "bottom") or, failing that, by the two
        words the notes write it as ("spellchecker" -> "spell checker", _split), and the
        replacements made.

        Only words of SPELL_MIN_LETTERS letters or more are corrected, in queries of at most
        MAX_QUERY_TERMS terms; a word still being typed is matched as a prefix instead, unless
        it begins no indexed word (_begins_a_word). A word of the query's language is not
        corrected into a word that language lacks (lexicon.leaves_language: "Tipps zum
        Einschlafen" searched "tips"), nor is a common word of it corrected at all
        (lexicon.is_common_word), though it may be split.
        """
        typing = typed_prefix(query) if as_you_type else None
        corrections: dict[str, str] = {}
        terms = query_terms(query)
        if len(terms) > MAX_QUERY_TERMS:
            # A pasted page, searched by its rarest terms: its unknown words are names and
            # jargon more often than typos, and looking each up cost 15 ms (59 of them in a
            # pasted transcript: 0.9 s).
            return query, corrections
        language = lexicon.query_language(query)
        for term in terms:
            if (len(term) < SPELL_MIN_LETTERS or not term.isalpha() or is_cjk(term)
                    or (term == typing and self._begins_a_word(term))
                    or self.note_frequency(term)):
                continue
            # A word of the query's language is meant as typed ("guitar chord progressions"
            # had searched "chore"); it may still be written as two words (_split).
            better = self._spelling(term, edits=not lexicon.is_common_word(term, language))
            if better and not lexicon.leaves_language(term, better, language):
                corrections[term] = better
        for word, better in corrections.items():
            query = replace_term(query, word, better)
        return query, corrections

    def made_up_share(self, query: str, as_you_type: bool, listed: bool = False) -> float:
        """Return the idf-weighted share (0..1) of the query's terms that are no word at all:
        no note holds them, no one-edit correction was found (`query` is as spelled), and the
        local model's vocabulary does not hold them whole (a word of a language it knows).
        0 without that vocabulary (another provider), or for the word still being typed.

        Such a word is made up, or a typo too far to correct: the notes cannot be about it.
        "quantum zorblax transmogrifier" showed "Quantum Turing Machine" at 68% on a real
        vault, as if the query were about quantum alone.

        `listed`: a word of the word lists (lexicon) is not made up either; for a query in
        another language than the notes found, where a word no note holds says nothing."""
        if self.is_word is None:
            return 0.0
        terms = query_terms(query)
        typing = typed_prefix(query) if as_you_type else None
        total = max(1, self.total_notes())
        made_up = every = 0.0
        for term in terms:
            df = self.note_frequency(term)
            weight = term_weight(df, total)
            every += weight
            if (not df and term != typing and term.isalpha() and not is_cjk(term)
                    and len(term) >= SPELL_MIN_LETTERS and not self.is_word(term)
                    and not (listed and lexicon.is_known(term))):
                made_up += weight
        return made_up / every if every else 0.0

    def holds_part_of(self, query: str) -> bool:
        """True when the query is decidedly in a language that writes compounds as one word
        (COMPOUNDING, lexicon.query_language) and a word of it that no note holds begins or
        ends with a word notes hold (COMPOUND_PART letters or more, leaving 3 or more): a
        fresh-user trial's "Hüttentour" over a packing list of "Hütten" and a
        "Mehrtagestour". Such a query is not about a topic the notes lack."""
        if lexicon.query_language(query) not in COMPOUNDING:
            return False
        vocabulary = self._vocabulary()
        for term in query_terms(query):
            if (not term.isalpha() or len(term) < COMPOUND_PART + 3
                    or self.note_frequency(term)):
                continue
            parts = [term[:i] for i in range(COMPOUND_PART, len(term) - 2)]
            parts += [term[i:] for i in range(3, len(term) - COMPOUND_PART + 1)]
            if any(part in vocabulary for part in stems(parts)):
                return True
        return False

    def _begins_a_word(self, prefix: str) -> bool:
        """True when the word being typed may still become an indexed one: it begins one,
        or a head of it is a stem (matching_prefix). Otherwise it is corrected as a finished
        word: "zettelkasen" begins nothing, and the app showed neither a correction nor a
        highlight until a space was typed after it."""
        return self._prefix_head(prefix) is not None

    def _spelling(self, word: str, edits: bool = True) -> str | None:
        """Return the word one edit from `word` whose stem the most notes hold, else `word` as
        two words the notes write (_split), or None. `edits=False`: only the split (`word`
        is a word of the query's language).

        Answers come from the vocabulary as last read (_vocabulary) and are kept until it is
        read again: a word that later appears in a note is no longer corrected (`spelled`
        checks it first), and a correction gone stale only searches a word no note holds.
        """
        vocabulary = self._vocabulary()  # first: reading it again empties `spellings`
        cache = self.spellings
        if not edits:
            key = " " + word  # (no term holds a space: the split alone is kept apart)
            if key not in cache:
                cache[key] = self._split(word, vocabulary)
            return cache[key]
        if word not in cache and self.is_word is not None and self.is_word(word):
            cache[word] = None  # a real word, not a typo of one the notes hold
        if word not in cache:
            by_stem: dict[str, str] = {}
            # A word typed without umlaut keys is meant with them: "fuer" is "für", not the
            # "fur" of the same stem (the index folds ü to u).
            umlauts = sorted(umlaut_spellings(word))
            candidates = umlauts + sorted(one_edit_away(word) - set(umlauts))
            for candidate, its_stem in zip(candidates, stems(candidates), strict=True):
                by_stem.setdefault(its_stem, candidate)
            # The word's own stem: no note holds it now, whatever an older read of the
            # vocabulary says ("devcontaine" for a deleted "devcontainer" searched nothing).
            by_stem.pop(stem(word), None)
            # The most notes, then the first stem in the index's (binary) order; and of
            # those, the first that is a word: one the model's vocabulary holds whole, or one
            # a note writes one edit from the typed word. A stem alone misleads: "invoice"
            # less its "i" is "invoce", whose stem "invoc" is that of "invocation", and
            # "invoice" searched "invocation".
            ranked = self._titled_first(sorted((s for s in by_stem if s in vocabulary),
                                               key=lambda s: (-vocabulary[s], s.encode())),
                                        vocabulary)
            found = next((real for s in ranked[:SPELL_CANDIDATES]
                          if (real := self._real_word(by_stem[s], word)) is not None), None)
            found = found or self._split(word, vocabulary)
            if len(cache) > 10_000:
                cache.clear()
            cache[word] = found
        return cache[word]

    def _split(self, word: str, vocabulary: dict[str, int]) -> str | None:
        """Return `word` as the two words the notes write it as ("spellchecker" -> "spell
        checker", "filename" -> "file name"), or None: both parts held by notes and side by
        side in one at least (its phrase), of the SPLIT_CANDIDATES splits whose rarer part
        the most notes hold; a part of SPLIT_MIN_LETTERS letters only if the local model
        holds it whole. A fresh-user trial on foam-docs: "spellchecker extension"
        found the page on spell checking by meaning alone, shown at 14% as no good match,
        the word taken for a made-up one."""
        cuts = [(word[:i], word[i:])
                for i in range(SPLIT_MIN_LETTERS, len(word) - SPLIT_MIN_LETTERS + 1)]
        # A part of the shortest length must be a word the model holds whole ("web", "key",
        # "set"): "tagine" is no "tag" and "ine", though a note writes them side by side.
        cuts = [cut for cut in cuts if all(len(part) > SPLIT_MIN_LETTERS or (
            self.is_word is not None and self.is_word(part)) for part in cut)]
        if not cuts:
            return None
        parts = stems([part for cut in cuts for part in cut])
        held = sorted(((min(vocabulary[parts[2 * i]], vocabulary[parts[2 * i + 1]]), cut)
                       for i, cut in enumerate(cuts)
                       if parts[2 * i] in vocabulary and parts[2 * i + 1] in vocabulary),
                      key=lambda item: -item[0])
        for _, (left, right) in held[:SPLIT_CANDIDATES]:
            phrase = f"{left} {right}"
            if len(self.phrase_scores(quote_term(phrase))[0]):
                return phrase
        return None

    def _titled_first(self, ranked: list[str], vocabulary: dict[str, int]) -> list[str]:
        """Return `ranked` (stems, most notes first) with those that a note's title holds
        first, among the stems in at least TITLED_SHARE of the first one's notes: a name
        people search by. "akrasa" was searched as "akasa" (a Sanskrit word in 3 notes of a
        real vault), not "akrasia" (1 note, titled "Akrasia"); "bttle" stays "bottle" beside
        a note titled "Battle" when bottle is in over 10 times as many notes."""
        if len(ranked) < 2:
            return ranked
        floor = vocabulary[ranked[0]] * TITLED_SHARE
        close = [s for s in ranked[:SPELL_CANDIDATES] if vocabulary[s] >= floor]
        titled = [s for s in close if self.conn.execute(
            "SELECT 1 FROM notes_fts WHERE notes_fts MATCH ? LIMIT 1",
            (f"title : {quote_term(s)}",)).fetchone()]
        return titled + [s for s in ranked if s not in titled]

    def _real_word(self, candidate: str, typed: str) -> str | None:
        """Return `candidate` when the model's vocabulary holds it whole, else how the notes
        write a word of its stem one edit from `typed` (normalised), else None. Reads up to
        SPELL_PASSAGES passages holding the stem."""
        if self.is_word is not None and self.is_word(candidate):
            return candidate
        wanted, near = stem(candidate), one_edit_away(typed) | {candidate}
        for (text,) in self.conn.execute(
                "SELECT text FROM chunks WHERE id IN (SELECT rowid FROM chunks_fts WHERE "
                "chunks_fts MATCH ? LIMIT ?)", (quote_term(candidate), SPELL_PASSAGES)):
            # The passage's words that are one edit from the typed word, then their stems:
            # tokenizing whole passages for their stems cost 2.4 ms a candidate.
            for written in written_words(text):
                if written in near and stem(written) == wanted:
                    return written
        return None

    def _vocabulary(self) -> dict[str, int]:
        """Return every indexed stem -> how many notes hold it, for spelling and for the cost
        of a typed prefix (a count a few minutes old serves both).

        Read whole at the first look-up and kept; read again at a look-up once the notes have
        changed and VOCABULARY_MAX_AGE has passed. Until then a word new to the notes is not
        offered as a correction, and a word gone from them may be: a search for it by words
        then finds nothing, as a stale entry of `spellings` would.
        """
        facts = self.facts()
        now = time.monotonic()
        read = self._vocabulary_read
        if read is None or ("vocabulary" not in facts and now - read[0] > VOCABULARY_MAX_AGE):
            rows = self.conn.execute("SELECT term, doc FROM temp.notes_vocab").fetchall()
            read = self._vocabulary_read = (now, dict(cast(list[tuple[str, int]], rows)))
            self.spellings.clear()  # answers from the vocabulary before
            facts["vocabulary"] = True  # read since the notes last changed
        return read[1]

    def selective_terms(self, terms: list[str], prefix: str | None = None) -> list[str]:
        """Keep the query's rarest MAX_QUERY_TERMS terms, then those within the postings
        budget (a pasted page of text must cost about what a sentence does).

        `prefix`: what the last term, a word being typed, is searched as (fts_phrases); its
        cost is the postings of every indexed word it begins (prefix_postings), so a short
        prefix of a common beginning ("con", "pro") waits for the next letter when the
        query has other words: at 100k notes one cost 50-100 ms."""
        df = {t: self.note_frequency(t) for t in terms}
        if prefix is not None:
            df[terms[-1]] = max(df[terms[-1]], self.prefix_postings(prefix))
        if len(terms) > MAX_QUERY_TERMS:
            rarest = set(sorted((t for t in terms if df[t]), key=lambda t: df[t])
                         [:MAX_QUERY_TERMS])
            terms = [t for t in terms if t in rarest] or terms[:MAX_QUERY_TERMS]
        if not any(df[t] for t in terms):
            return terms
        return self._within_budget(terms, df)

    def prefix_postings(self, prefix: str) -> int:
        """Return how many (note, word) postings the prefix search for `prefix` reads: the
        notes holding each indexed word that begins with its stem (FTS5 stems a prefix),
        from the vocabulary as last read (_vocabulary)."""
        words, totals = self._sorted_vocabulary()
        low = stem(prefix)
        first = bisect_left(words, low)
        return int(totals[bisect_left(words, low + "\U0010ffff")] - totals[first])

    def _sorted_vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The vocabulary's words in order, and the running total of their notes (one more
        entry, starting at 0), made again whenever the vocabulary is read again."""
        vocabulary = self._vocabulary()
        if self._sorted is None or self._sorted[0] is not vocabulary:
            words = sorted(vocabulary)
            totals = np.zeros(len(words) + 1, dtype=np.int64)
            np.cumsum(np.fromiter((vocabulary[w] for w in words), np.int64, len(words)),
                      out=totals[1:])
            self._sorted = (vocabulary, words, totals)
        return self._sorted[1], self._sorted[2]

    def _fresh_words(self) -> list[str] | None:
        """The vocabulary's words in order when it was read since the notes last changed,
        else None (then the index itself is asked: a new word may be in it)."""
        return self._sorted_vocabulary()[0] if "vocabulary" in self.facts() else None

    def note_frequency(self, term: str) -> int:
        """Return how many notes contain `term` (any field), cached until the notes change.

        From the vocabulary when it was read since the notes last changed (a look-up in
        fts5vocab cost 0.25 ms a word, a millisecond a query)."""
        if "vocabulary" in self.facts():
            return cast(tuple[float, dict[str, int]], self._vocabulary_read)[1].get(
                stem(term), 0)
        cache: dict[str, int] = self.facts().setdefault("df", {})  # type: ignore[assignment]
        if term not in cache:
            row = self.conn.execute("SELECT doc FROM temp.notes_vocab WHERE term = ?",
                                    (stem(term),)).fetchone()
            if len(cache) > 10_000:
                cache.clear()
            cache[term] = row[0] if row else 0
        return cache[term]

    @staticmethod
    def _within_budget(terms: list[str], df: dict[str, int]) -> list[str]:
        """Keep the rarest terms whose postings add up to POSTINGS_BUDGET; drop the commonest.

        FTS5's cost is the postings it scores. The terms dropped are the ones with the lowest
        idf, which move BM25 least: on SciFact (21k chunks) keyword nDCG@10 was 0.663 with and
        without the budget, and at 100k chunks keyword p95 fell from 31 to 16 ms.
        """
        spent = 0
        kept: set[str] = set()
        for term in sorted(terms, key=lambda t: df[t]):
            if kept and spent + df[term] > POSTINGS_BUDGET:
                break
            spent += df[term]
            kept.add(term)
        return [t for t in terms if t in kept]

    def matching_prefix(self, prefix: str) -> str:
        """Return `prefix`, or when it begins no indexed word, the head of it that does.

        The index holds stems ("run" for "running"), so a word typed halfway past its stem
        ("runni") begins no indexed word. Its longest head (up to 4 letters shorter) that is
        itself an indexed stem ("run") finds what the finished word will.
        """
        head = self._prefix_head(prefix)
        return prefix if head is None else head

    def _prefix_head(self, prefix: str) -> str | None:
        """matching_prefix's answer, or None when neither `prefix` nor any head of it begins
        an indexed word; kept until the notes change (a keystroke asks up to three times:
        the keyword list, spelling and the excerpts)."""
        kept: dict[str, str | None] = self.facts().setdefault(  # type: ignore[assignment]
            "prefix_heads", {})
        if prefix not in kept:
            kept[prefix] = self._find_prefix_head(prefix)
        return kept[prefix]

    def _find_prefix_head(self, prefix: str) -> str | None:
        if self._vocabulary_has(prefix, prefix + "\U0010ffff"):
            return prefix
        heads = [prefix[:end] for end in range(len(prefix) - 1,
                                               max(PREFIX_MIN_LETTERS, len(prefix) - 4) - 1, -1)]
        for head in heads:
            # A stopword ("the" in "theory") is a stem of nearly every note: no narrowing.
            if head not in STOPWORDS and self._vocabulary_has(head, head + "\0"):
                return head
        return next((h for h in heads if self._vocabulary_has(h, h + "\U0010ffff")), None)

    def _vocabulary_has(self, low: str, high: str) -> bool:
        """True when some indexed term t has low <= t < high.

        A seek in the vocabulary; fts5vocab also counts the first such term's postings, which
        measured 0.05-0.4 ms at 100k chunks (3.7 ms p95 for prefixes of very common words).
        """
        words = self._fresh_words()
        if words is not None:
            first = bisect_left(words, low)
            return first < len(words) and words[first] < high
        return self.conn.execute("SELECT 1 FROM temp.notes_vocab WHERE term >= ? AND term < ? "
                                 "LIMIT 1", (low, high)).fetchone() is not None
