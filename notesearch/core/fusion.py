"""Fusing the keyword and meaning lists into one ranking with a calibrated confidence.

Each candidate note gets a few features from both lists (`Evidence`); a logistic model turns
them into the probability that the note is the one the person means. That probability is the
ranking score *and* the confidence shown to the user, so a nonsense query, whose candidates
all look alike, ends with low confidence everywhere and is reported as "no good match".

The coefficients were fitted by `benchmarks/fit_fusion.py` on known-item queries of one real
vault and checked on the others (see README, "Retrieval quality").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np

#: Which list found a note, as results say it.
MatchLabel = Literal["meaning", "words", "both"]
#: The logistic model that scores a search: both lists, or only the one that took part.
Model = Literal["hybrid", "words", "meaning"]
#: Reciprocal rank fusion's constant (Cormack, Clarke and Büttcher, SIGIR 2009).
RRF_K = 60

#: Confidence below which the best result is reported as "no good match". Chosen where, on
#: the development set, fewer than one top result in four is right (benchmarks/known_item.py).
WEAK_MATCH = 0.25


class Hit(NamedTuple):
    """One chunk found by one list, with that list's score (a named tuple: a keystroke
    makes hundreds)."""

    chunk_id: int
    note_id: int
    score: float


class Evidence(NamedTuple):
    """What both lists say about one candidate note; all features are comparable across queries.

    A named tuple, not a frozen dataclass: a search builds one per candidate (100-200), and a
    frozen dataclass's __init__ took four times as long.

    meaning_z: the note's best (length-corrected) cosine, standardised against the query's
        meaning candidates (mean 0, unit spread), or against the other candidates where they
        are most of the library (`_standing`); the list's floor when the list lacks it.
    meaning_gap: its cosine minus the best candidate's (<= 0; the floor when absent).
    words: its BM25 over the best note's (0..1; 0 when the keyword list lacks it).
    coverage: the idf-weighted share of the query's terms the note holds (0..1).
    best_coverage: the highest `coverage` among the query's candidates (0..1): how much of
        the query the keyword list can match at all. An English question over Chinese
        notes, or a paraphrase, shares few words with any note; then meaning counts more.
    foreign: 1.0 when the note is written in another language than the query (every one of
        its passages in another language the word lists tell: none in the query's, none
        undecided, none CJK; or in Chinese, Japanese or Korean but for undecided passages;
        Searcher._foreign_notes), else 0.0: the query's words cannot be in it, so missing
        from the keyword list says nothing against it.
    scattered: how far the query's words are spread over the note rather than said in one
        of its passages: (coverage − the best passage's share of the query) × ln(passages)
        (>= 0; 0 for a note of one passage; Searcher._with_scattered). A journal of 40
        passages holds "goals", "team", "next quarter" on different days; the note on the
        team's OKRs says them in one.
    """

    note_id: int
    meaning_z: float
    meaning_gap: float
    words: float
    coverage: float
    #: Which list's passage explains the match best: the chunk to show.
    word_chunk: int | None
    meaning_chunk: int | None
    best_coverage: float = 0.0
    foreign: float = 0.0
    scattered: float = 0.0

    def features(self, model: Model = "hybrid") -> tuple[float, ...]:
        """Return the inputs of one model: "hybrid", "words" or "meaning" (see COEFFICIENTS
        and feature_matrix, where they are defined)."""
        return tuple(feature_matrix([self], model)[0].tolist())


#: Logistic coefficients per model, for Evidence.features(model); fitted on the development
#: set (foam-docs, dendron-site, tldr-pages) by benchmarks/fit_fusion.py, which also checks
#: each vault with coefficients fitted on the other two. "words" and "meaning" score searches
#: where only that list took part (a single-list mode, meaning unavailable, or a query with
#: no searchable word). Hybrid's seventh input, meaning_z * (1 - best_coverage), lets meaning
#: count more when no note holds much of the query: with it, each vault scored with the
#: other two's fit went foam-docs 0.83 -> 0.83, dendron-site 0.65 -> 0.71, tldr-pages
#: 0.71 -> 0.72 MRR@10 (English questions over the Chinese pages 0.59 -> 0.63).
#: Hybrid's `foreign` input was fitted last, the others held as they were, on the
#: development set and on libraries of tldr-pages' translations beside English pages, with
#: as many queries those libraries lack the note of as queries they hold it for
#: (`fit_fusion.py --translated`; no development vault holds such a candidate). Fitted on the
#: known-item queries alone it is 1.79: more right first results, but 88 more of 720 absent
#: queries shown above "no good match" (README, "Notes in two languages"). `scattered` was
#: fitted alone too, on the development set (`fit_fusion.py --scattered`): each vault scored
#: with the other two's fit, foam-docs and dendron-site as before, tldr-pages 0.790 -> 0.782.
COEFFICIENTS: dict[Model, tuple[float, ...]] = {
    "hybrid": (-5.68, 0.4, 2.81, 1.29, 0.61, 4.1, 0.91, 1.04, -1.24),
    "words": (-7.8, 4.32, 0.46, 4.3),
    "meaning": (-5.33, 1.34, 2.55),
}


def model_for(have_words: bool, have_meaning: bool) -> Model:
    """Return which model scores a search, by which lists took part."""
    if have_words and have_meaning:
        return "hybrid"
    return "words" if have_words else "meaning"


#: Platt scaling (slope, intercept) of each model's log-odds, fitted on whether the *top*
#: result was right: the logistic model scores every candidate, and the best of many
#: candidates is right more often than its own score says (benchmarks/fit_fusion.py's
#: "calibration of the current coefficients", on libraries embedded afresh by the default
#: engine; the words model's had not been refitted since the property words and the
#: length correction: 1.64 / 1.22 before).
CALIBRATION: dict[str, tuple[float, float]] = {
    "hybrid": (1.41, 0.64),
    "words": (1.45, 1.06),
    "meaning": (1.05, 0.53),
}


def log_odds(evidence: Evidence, model: Model = "hybrid",
             coefficients: Sequence[float] | None = None) -> float:
    """Return the model's uncalibrated log-odds that this note is the one meant."""
    weights = coefficients if coefficients is not None else COEFFICIENTS[model]
    return sum(c * f for c, f in zip(weights, evidence.features(model), strict=True))


def confidence(evidence: Evidence, model: Model = "hybrid") -> float:
    """Return the chance (0..1) that this note is what the query asks for, calibrated so
    that top results reported at c are right about a share c of the time."""
    slope, intercept = CALIBRATION[model]
    z = slope * log_odds(evidence, model) + intercept
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def confidences(evidence: Sequence[Evidence], model: Model = "hybrid",
                named: int | None = None, unembedded: frozenset[int] = frozenset(),
                other_script: frozenset[int] = frozenset()) -> list[float]:
    """`confidence` of every candidate at once (one matrix product: a search weighs about a
    hundred candidates, and one at a time cost a millisecond). `named`: the note id of the
    one candidate whose title is the query (Searcher._named_note), if any. `unembedded`:
    note ids with passages not embedded yet, which the words model judges; `other_script`:
    note ids with no passage in the query's script, which the meaning model judges (see
    below)."""
    return _confidences(evidence, model, named, unembedded, other_script).tolist()


def _confidences(evidence: Sequence[Evidence], model: Model, named: int | None = None,
                 unembedded: frozenset[int] = frozenset(),
                 other_script: frozenset[int] = frozenset()) -> np.ndarray:
    chances = _model_confidences(evidence, model)
    # Each list judges alone the notes the other cannot reach: the hybrid model reads a note
    # missing from a list as far from the query by that list.
    alone_by: tuple[tuple[Model, frozenset[int]], ...] = (("words", unembedded),
                                                          ("meaning", other_script))
    for reached_by, unreachable in alone_by:
        # A note whose passages wait for their vectors cannot be found by meaning yet:
        # midway through a first index of a real vault, hybrid put the note a search by words
        # put first 9th at 0% ("域名备案"). A note written wholly in another script than
        # the query cannot hold its words: on a real Chinese vault English questions about
        # Chinese notes found them by meaning, and hybrid put English notes holding a word
        # of the question above them (README "Finding the note you mean").
        indices = ([i for i, e in enumerate(evidence) if e.note_id in unreachable]
                   if model == "hybrid" and unreachable else [])
        if indices:
            alone = _model_confidences([evidence[i] for i in indices], reached_by)
            chances[indices] = np.maximum(chances[indices], alone)
    sole = sole_holder(evidence) if model == "hybrid" else None
    # The note that alone holds every word asked for, and scores best by them, is as likely
    # meant as a words-only search says, whatever meaning thinks of a rare word (a name, an
    # identifier, a made-up word): hybrid gave such notes 0.26-0.54 on foam-docs where the
    # words model gives 0.97. Known-item MRR@10 unchanged on all three vaults; calibration's
    # "no good match, right anyway" 3 -> 2 of 38. So is the one note the query names by its
    # title: "README" found the note of that name at 15%, another note saying README often.
    trusted = [i for i, e in enumerate(evidence) if e.note_id == named or i == sole]
    for i in trusted:
        chances[i] = max(chances[i], float(_model_confidences([evidence[i]], "words")[0]))
    # The note the query names is as likely meant as any: on a real vault "karma" put a 22 KB
    # note saying karma 28 times (89%) above the note titled "Karma" (86%).
    for i in (i for i, e in enumerate(evidence) if e.note_id == named):
        chances[i] = chances.max()
    return chances


#: A note holding every word of the query with the best BM25 counts as the one holder when
#: every other note holding them all scores under this share of its BM25.
SOLE_HOLDER_LEAD = 0.5


def sole_holder(evidence: Sequence[Evidence]) -> int | None:
    """Return the index of the candidate that holds all of the query's words (coverage 1)
    in one of its passages (`scattered` 0) with the best BM25, when any other holder scores
    under SOLE_HOLDER_LEAD of it; else None.

    A name the model makes nothing of ("Ramana Maharshi" in a real Obsidian vault) is held
    whole by the note about it and, in passing, by two others at 0.29 and 0.11 of its BM25;
    with one holder required, hybrid showed the right note at 15%, "no good match". Words
    spread over a long note's passages are no such name: "why did we decide against event
    sourcing?" showed a work log at 95%, first, whose "decide" and "against" were in other
    weeks' entries (a fresh-user trial)."""
    holders = [i for i, e in enumerate(evidence) if e.coverage >= 0.999]
    best = [i for i in holders if evidence[i].words >= 0.999 and not evidence[i].scattered]
    if len(best) == 1 and all(evidence[i].words < SOLE_HOLDER_LEAD
                              for i in holders if i != best[0]):
        return best[0]
    return None


def _model_confidences(evidence: Sequence[Evidence], model: Model) -> np.ndarray:
    if not evidence:
        return np.zeros(0)
    slope, intercept = CALIBRATION[model]
    z = np.clip(slope * (feature_matrix(evidence, model) @ np.asarray(COEFFICIENTS[model]))
                + intercept, -50.0, 50.0)
    return 1.0 / (1.0 + np.exp(-z))


def feature_matrix(evidence: Sequence[Evidence], model: Model) -> np.ndarray:
    """Return the (len(evidence), inputs) matrix of Evidence.features(model), row by row,
    computed a column at a time (one call per candidate took half of fusion's time)."""
    columns = np.array([e[1:5] for e in evidence], np.float64).reshape(-1, 4)
    meaning_z, gap, words, coverage = columns.T
    best_coverage = np.fromiter((e.best_coverage for e in evidence), np.float64, len(evidence))
    parts = [np.ones(len(evidence))]
    if model != "words":
        parts += [meaning_z, gap * 10]
    if model != "meaning":
        parts += [words, coverage, words * coverage]
    if model == "hybrid":
        # Meaning's standing weighs more when no note holds much of the query's words.
        parts.append(meaning_z * (1.0 - best_coverage))
        # A note in another language lacks the query's words by its language, not its topic.
        parts.append(np.fromiter((e.foreign for e in evidence), np.float64, len(evidence)))
        # A long note holding the query's words on different pages is not about them.
        parts.append(np.fromiter((e.scattered for e in evidence), np.float64, len(evidence)))
    return np.column_stack(parts)


def best_per_note(hits: list[Hit]) -> list[Hit]:
    """Return each note's best hit, in the list's order."""
    seen: dict[int, Hit] = {}
    for hit in hits:
        if hit.note_id not in seen:
            seen[hit.note_id] = hit
    return list(seen.values())


#: Each list's best this many (vectors; notes by BM25) are the pool a candidate's features
#: are measured against (search.CANDIDATES is this: the whole lists for ten results).
#: A note's confidence must not depend on how many results were asked for: with -k 100 the
#: lists ran three times deeper, meaning's mean and spread fell, and the same note went from
#: 82% to 98% (a fresh-user trial on a Chinese vault).
POOL = 100


def gather(word_hits: list[Hit], meaning_hits: list[Hit], coverage: dict[int, float],
           pool: int | None = None, whole: bool = False) -> list[Evidence]:
    """Return one Evidence per note found by either list (hits in any order).

    The meaning features are measured within the meaning list's first `pool` hits as given
    (all by default; the chunks of the vector search's best POOL vectors,
    Searcher._vector_hits), the words features within the best POOL notes by BM25: a note a
    list found only deeper (more results asked for) reads as one that list did not find, as
    it would with fewer; it keeps its passage. `whole`: the pool is most of what the search
    could reach (a small library, or a narrow filter; search.WHOLE_POOL_SHARE), and each
    note's meaning standing is measured against the others alone (`_standing`)."""
    ranked_words = best_per_note(sorted(word_hits, key=lambda h: -h.score))
    words, passage_words = ranked_words[:POOL], ranked_words[POOL:]
    pool = len(meaning_hits) if pool is None else pool
    meaning = best_per_note(sorted(meaning_hits[:pool], key=lambda h: -h.score))
    deeper = best_per_note(sorted(meaning_hits[pool:], key=lambda h: -h.score))
    top_words = words[0].score if words and words[0].score > 0 else 1.0
    word_of = {h.note_id: h for h in words}
    meaning_of = {h.note_id: h for h in meaning}
    deeper = [h for h in deeper if h.note_id not in meaning_of]
    passage_of = {h.note_id: h.chunk_id for h in deeper}
    scores = [h.score for h in meaning]
    standing = _standing(meaning, others_only=whole)
    top = scores[0] if scores else 0.0
    floor = scores[-1] if scores else 0.0
    best_coverage = max(coverage.values(), default=0.0)
    if not scores:  # words only: the meaning features say "not found by meaning"
        top, floor = 0.1, 0.0
    floor_z = standing.floor
    out = []
    # One plain loop, positional fields: this runs for each of 100-200 candidates a keystroke.
    word_passage_of = {h.note_id: h.chunk_id for h in passage_words}
    for note_id in dict.fromkeys([h.note_id for h in ranked_words] + [h.note_id for h in meaning]
                                 + [h.note_id for h in deeper]):
        by_meaning = meaning_of.get(note_id)
        cosine = by_meaning.score if by_meaning is not None else floor
        by_words = word_of.get(note_id)
        out.append(Evidence(
            note_id, standing.of[note_id] if by_meaning is not None else floor_z, cosine - top,
            max(0.0, by_words.score / top_words) if by_words is not None else 0.0,
            coverage.get(note_id, 0.0) if by_words is not None or by_meaning is not None
            else 0.0,
            by_words.chunk_id if by_words is not None else word_passage_of.get(note_id),
            by_meaning.chunk_id if by_meaning is not None else passage_of.get(note_id),
            best_coverage))
    return out


#: Fewer notes than this in the meaning pool, and each is standardised against all of them,
#: itself included: the spread of one or two others says nothing.
FEWEST_OTHERS = 3


class Standing(NamedTuple):
    """Each pool note's cosine standardised against the pool's other notes (`of`: note id ->
    z), and the z of a note the pool lacks, at the pool's floor against all of it."""

    of: dict[int, float]
    floor: float


def _standing(meaning: list[Hit], others_only: bool) -> Standing:
    """Return each note's standing in the meaning pool (one best hit a note, best first): its
    cosine less the pool's mean, over its standard deviation; with `others_only`, the mean
    and deviation of the pool's other notes (the externally studentised residual of
    regression diagnostics).

    A pool cut from a bigger library is the top of its list, and a note's z is measured
    against the notes nearest the query, itself one of a hundred. A pool that is most of what
    the library holds is different: with itself in, no z can pass sqrt(n - 1), and in a library
    of 50 notes whose pool held 10-20 (filtered to one folder) the note an English question
    meant, first by meaning far ahead of the next (z 2.5 against 0.8), scored as a full
    vault's fourth best does (its first reach 3.5-7) and was shown under "no good match".
    Left out of its own reference, a note standing far above the rest reads so however few
    notes there are. (For cut pools the same measure made full vaults over-confident:
    queries asked of a vault without their note were told "no good match" 84 times of 210
    instead of 114.)
    """
    if not meaning:  # words only: every note reads as not found by meaning
        return Standing({}, 0.0)
    x = np.fromiter((h.score for h in meaning), np.float64, len(meaning))
    n = len(x)
    if not others_only or n - 1 < FEWEST_OTHERS:
        spread = max(float(x.std()), 1e-3)
        z = (x - x.mean()) / spread
    else:
        mean = (x.sum() - x) / (n - 1)
        variance = ((x * x).sum() - x * x) / (n - 1) - mean * mean
        z = (x - mean) / np.maximum(np.sqrt(np.maximum(variance, 0.0)), 1e-3)
    floor = (x[-1] - x.mean()) / max(float(x.std()), 1e-3)
    return Standing(dict(zip((h.note_id for h in meaning), z.tolist(), strict=True)),
                    float(floor))


@dataclass(frozen=True)
class Fused:
    """A note after fusion: its score, best chunk, how it matched and how sure we are."""

    note_id: int
    chunk_id: int
    #: The ranking score: the confidence under the learned fusion (0..1); a weighted sum of
    #: list scores each normalised to 0..1 under "score"; a sum of 1/(RRF_K + rank) under "rrf".
    score: float
    match: MatchLabel
    confidence: float = 0.0


#: An empty note (a journal page holding only "-", a title awaiting its text) keeps this share
#: of its confidence and is never first, unless the query is its name (see not_empty_first).
EMPTY_NOTE_FACTOR = 0.2


def not_empty_first(order: list[int], is_empty: Sequence[bool]) -> list[int]:
    """Return `order` (indexes, best first) with the best note that has words of its own moved
    first when an empty one leads; empty notes otherwise keep their place by their (lowered)
    score. Put after every other candidate, as before, a placeholder note matching the
    query's words came after notes at 0%: in a real vault of 3,176 notes, 327 such notes
    ("Redis", "b站") were missing from the top 30 of searches for their own titles."""
    if order and is_empty[order[0]]:
        first = next((i for i in order if not is_empty[i]), None)
        if first is not None:
            return [first] + [i for i in order if i != first]
    return order


def named_first(order: list[int], evidence: Sequence[Evidence], named: int | None,
                chances: np.ndarray) -> list[int]:
    """Return `order` with the note the query names first when it ties the best chance (see
    _confidences, which raises it to the best)."""
    at = next((i for i in order if evidence[i].note_id == named), None)
    if at is None or at == order[0] or chances[at] < chances[order[0]]:
        return order
    return [at] + [i for i in order if i != at]


def emptiness(note_id: int, empty: frozenset[int]) -> float:
    """The share of its score a note keeps: EMPTY_NOTE_FACTOR when it is empty, else 1."""
    return EMPTY_NOTE_FACTOR if note_id in empty else 1.0


def rank_by_confidence(evidence: list[Evidence], k: int, model: Model, have_words: bool,
                       have_meaning: bool, empty: frozenset[int] = frozenset(),
                       named: int | None = None,
                       unembedded: frozenset[int] = frozenset(),
                       other_script: frozenset[int] = frozenset()) -> list[Fused]:
    """Return the k notes most likely to be meant, best first, each with its passage
    (`named`, `unembedded`, `other_script`: see `confidences`)."""
    # By chance, `empty` notes with EMPTY_NOTE_FACTOR of theirs and never first (the caller
    # leaves out of `empty` the note the query names), ties in the order given (a stable
    # sort); a search weighs a hundred or more candidates.
    last = np.fromiter((e.note_id in empty for e in evidence), bool, len(evidence))
    kept = (_confidences(evidence, model, named, unembedded, other_script)
            * np.where(last, EMPTY_NOTE_FACTOR, 1.0))
    order = named_first(not_empty_first(np.argsort(-kept, kind="stable").tolist(),
                                        last.tolist()), evidence, named, kept)[:k]
    scored = [(float(kept[i]), evidence[i]) for i in order]
    out = []
    for chance, e in scored:
        found_by_words = have_words and e.words > 0
        by_meaning = have_meaning and e.meaning_chunk is not None and e.meaning_z >= 1.5
        # Show the passage that says the words when the words carried the match (most of
        # the query's words, or no strong meaning).
        carried_by_words = e.word_chunk is not None and (
            (found_by_words and e.coverage >= 0.5) or not by_meaning)
        chunk = (e.word_chunk if carried_by_words
                 else e.meaning_chunk if e.meaning_chunk is not None else e.word_chunk)
        # Say "words" whenever the keyword list found the note: its words are highlighted.
        # A fresh-user trial saw "wedding" marked in a result badged "meaning" (one word
        # of three held), and the same note badged "words" while vectors were pending.
        match: MatchLabel = ("both" if found_by_words and by_meaning
                             else "words" if found_by_words or (
                                 not by_meaning and e.word_chunk is not None) else "meaning")
        assert chunk is not None  # a note is evidence because one list found one of its chunks
        out.append(Fused(e.note_id, chunk, chance, match, chance))
    return out


#: The most a note may be trusted when no note holds any word of the query, in the notes'
#: own script ("dinosaur" over a vault that never says it): the closest notes by meaning
#: are shown, as "no good match". No query of the development set is like that (each shares
#: a word with some note), so the models were never fitted to it; on the Logseq docs such
#: words gave a two-line stub note 89% ("dinosaur"), 30% ("pomodoro"), 33% ("podcast").
ABSENT_WORDS_CEILING = 0.9 * WEAK_MATCH


def with_made_up_words(fused: list[Fused], share: float) -> list[Fused]:
    """Return `fused` with every confidence and score scaled by 1 - `share`, the part of the
    query no note can be about (KeywordIndex.made_up_share); the order stays."""
    return _scaled(fused, max(0.0, 1.0 - share)) if share > 0.0 else fused


def _scaled(fused: list[Fused], factor: float) -> list[Fused]:
    """`fused` with every score and confidence times `factor` (the order stays)."""
    return [replace(f, score=f.score * factor, confidence=f.confidence * factor) for f in fused]


def with_absent_words(fused: list[Fused]) -> list[Fused]:
    """Return `fused` (best first) with every confidence and score scaled so that the best
    is at most ABSENT_WORDS_CEILING; the order stays."""
    top = max((f.confidence for f in fused), default=0.0)
    if top <= ABSENT_WORDS_CEILING:
        return fused
    return _scaled(fused, ABSENT_WORDS_CEILING / top)


@dataclass(frozen=True)
class Fusion:
    """How the two lists are combined; defaults chosen with benchmarks/fusion_sweep.py.

    Score fusion at equal weights was best or within 0.004 of the best on both sets measured
    (Cranfield 0.394, CMRC2018 0.992 nDCG@10), where RRF was 0.395 and 0.986.
    """

    #: "learned" (logistic on both lists' features, above), "score" (weighted normalised
    #: scores) or "rrf" (reciprocal ranks).
    method: Literal["learned", "score", "rrf"] = "learned"
    meaning_weight: float = 0.5
    #: Scores below this share of a list's best do not count as a match by that list.
    match_threshold: float = 0.7
    #: Meaning scores lose this times the spread of the query's meaning scores times the
    #: expected maximum of as many standard normal draws as their note has independent
    #: chunks (search.Searcher._length_corrected; 1 is the statistics' own value). Measured
    #: 0.5, 1 and 1.5: known-item meaning-only MRR@10 foam-docs 0.76 / 0.77 / 0.76,
    #: dendron-site 0.53 / 0.52 / 0.52, tldr-pages 0.75 / 0.75 / 0.75.
    length_penalty: float = 1.0
    #: Meaning scores lose this share of their dot product with the library's mean vector
    #: (vectors.py: hubs, passages close to every query, lose their shared part). Measured 0,
    #: 0.33 and 1 (with CENTRE_PRIOR_ROWS 500): known-item hybrid MRR@10 foam-docs 0.83 /
    #: 0.85 / 0.86, dendron-site 0.72 / 0.72 / 0.74, tldr-pages 0.73 / 0.74 / 0.76; but
    #: SciFact hybrid nDCG@10 0.738 / 0.735 / 0.719 (full centring, without the shrinking),
    #: where relevant abstracts are typical ones. Cranfield 0.407 / 0.409, NPL 0.476 / 0.486.
    centre: float = 0.33
    #: BM25 weights of notes_fts's columns: title, names, headings, description, body.
    note_field_weights: tuple[float, ...] = (4.0, 3.0, 2.0, 2.0, 1.0)


DEFAULT_FUSION = Fusion()


def _normalised(hits: list[Hit], floor: float | None) -> dict[int, float]:
    """Map note id -> score scaled to 0..1 between `floor` (default: the list's worst) and best."""
    if not hits:
        return {}
    top = hits[0].score
    low = hits[-1].score if floor is None else floor
    span = top - low
    if span <= 1e-9:
        return {h.note_id: 1.0 for h in hits}
    return {h.note_id: max(0.0, (h.score - low) / span) for h in hits}


def fuse(word_hits: list[Hit], meaning_hits: list[Hit], k: int,
         fusion: Fusion = DEFAULT_FUSION, meaning_floor: float | None = None) -> list[Fused]:
    """Combine the two lists at note level by normalised scores or reciprocal ranks; top k.

    Used for single-list searches (one list is empty) and to compare with the learned fusion.
    `meaning_floor`: the meaning score that normalises to 0 (default: the list's worst; the
    search gives its pool's, see POOL, so that asking for more results changes nothing).
    """
    words = best_per_note(sorted(word_hits, key=lambda h: -h.score))
    meaning = best_per_note(sorted(meaning_hits, key=lambda h: -h.score))
    if fusion.method == "rrf":
        word_score = {h.note_id: 1.0 / (RRF_K + r) for r, h in enumerate(words)}
        meaning_score = {h.note_id: 1.0 / (RRF_K + r) for r, h in enumerate(meaning)}
    else:
        word_score = _normalised(words, 0.0)
        meaning_score = _normalised(meaning, meaning_floor)
    meaning_weight = fusion.meaning_weight
    word_weight = 1.0 - fusion.meaning_weight
    notes = set(word_score) | set(meaning_score)
    scores = {n: word_weight * word_score.get(n, 0.0) + meaning_weight * meaning_score.get(n, 0.0)
              for n in notes}
    word_chunk = {h.note_id: h.chunk_id for h in words}
    meaning_chunk = {h.note_id: h.chunk_id for h in meaning}
    # Ties in the lists' own order (a set's order changed with how many results were asked).
    first_seen = {n: i for i, n in enumerate(dict.fromkeys([*word_score, *meaning_score]))}
    ranked = sorted(notes, key=lambda n: (-scores[n], first_seen[n]))[:k]
    out = []
    for note_id in ranked:
        by_words = word_score.get(note_id)
        by_meaning = meaning_score.get(note_id)
        match = _match_label(by_words, by_meaning, fusion.match_threshold if
                             fusion.method == "score" else 0.0)
        by_words, by_meaning = by_words or 0.0, by_meaning or 0.0
        # Show the passage that explains the match: the words' passage when words carried it.
        prefer_words = word_weight * by_words >= meaning_weight * by_meaning
        chunk = (word_chunk.get(note_id) if prefer_words else meaning_chunk.get(note_id)) \
            or word_chunk.get(note_id) or meaning_chunk[note_id]
        out.append(Fused(note_id, chunk, scores[note_id], match))
    return out


def _match_label(by_words: float | None, by_meaning: float | None,
                 threshold: float) -> MatchLabel:
    """Say which list found the note: each one whose normalised score passes the threshold
    (None: that list did not find it at all; a search by words only said "both")."""
    words = by_words is not None and by_words > 0 and by_words >= threshold
    meaning = by_meaning is not None and by_meaning >= threshold
    if words and meaning:
        return "both"
    if words or meaning:
        return "words" if words else "meaning"
    return "words" if (by_words or 0.0) > (by_meaning or 0.0) else "meaning"
