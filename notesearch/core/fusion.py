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
from dataclasses import dataclass

#: Confidence below which the best result is reported as "no good match". Chosen where, on
#: the development set, fewer than one top result in four is right (benchmarks/known_item.py).
WEAK_MATCH = 0.25


@dataclass(frozen=True)
class Hit:
    """One chunk found by one list, with that list's score."""

    chunk_id: int
    note_id: int
    score: float


@dataclass(frozen=True)
class Evidence:
    """What both lists say about one candidate note; all features are comparable across queries.

    meaning_z: the note's best (length-corrected) cosine, standardised against the query's
        meaning candidates (mean 0, unit spread; the floor of the list when it is absent).
    meaning_gap: its cosine minus the best candidate's (<= 0; the floor when absent).
    words: its BM25 over the best note's (0..1; 0 when the keyword list lacks it).
    coverage: the idf-weighted share of the query's terms the note holds (0..1).
    """

    note_id: int
    meaning_z: float
    meaning_gap: float
    words: float
    coverage: float
    #: Which list's passage explains the match best: the chunk to show.
    word_chunk: int | None
    meaning_chunk: int | None

    def features(self, model: str = "hybrid") -> tuple[float, ...]:
        """Return the inputs of one model: "hybrid", "words" or "meaning" (see COEFFICIENTS)."""
        meaning = (self.meaning_z, self.meaning_gap * 10)
        words = (self.words, self.coverage, self.words * self.coverage)
        if model == "words":
            return (1.0, *words)
        if model == "meaning":
            return (1.0, *meaning)
        return (1.0, *meaning, *words)


#: Logistic coefficients per model, for Evidence.features(model); fitted on the development
#: set (foam-docs, dendron-site, tldr-pages) by benchmarks/fit_fusion.py, which also checks
#: each vault with coefficients fitted on the other two. "words" and "meaning" score searches
#: where only that list took part (a single-list mode, meaning unavailable, or a query with
#: no searchable word).
COEFFICIENTS: dict[str, tuple[float, ...]] = {
    "hybrid": (-5.52, 0.77, 2.85, 1.64, -0.01, 3.48),
    "words": (-7.8, 4.32, 0.46, 4.3),
    "meaning": (-5.33, 1.34, 2.55),
}


def model_for(have_words: bool, have_meaning: bool) -> str:
    """Return which model scores a search, by which lists took part."""
    if have_words and have_meaning:
        return "hybrid"
    return "words" if have_words else "meaning"


#: Platt scaling (slope, intercept) of each model's log-odds, fitted on whether the *top*
#: result was right: the logistic model scores every candidate, and the best of many
#: candidates is right more often than its own score says (benchmarks/fit_fusion.py).
CALIBRATION: dict[str, tuple[float, float]] = {
    "hybrid": (1.28, 1.30),
    "words": (1.64, 1.22),
    "meaning": (1.35, 0.32),
}


def log_odds(evidence: Evidence, model: str = "hybrid",
             coefficients: Sequence[float] | None = None) -> float:
    """Return the model's uncalibrated log-odds that this note is the one meant."""
    weights = coefficients if coefficients is not None else COEFFICIENTS[model]
    return sum(c * f for c, f in zip(weights, evidence.features(model), strict=True))


def confidence(evidence: Evidence, model: str = "hybrid") -> float:
    """Return the chance (0..1) that this note is what the query asks for, calibrated so
    that top results reported at c are right about a share c of the time."""
    slope, intercept = CALIBRATION[model]
    z = slope * log_odds(evidence, model) + intercept
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def best_per_note(hits: list[Hit]) -> list[Hit]:
    """Return each note's best hit, in the list's order."""
    seen: dict[int, Hit] = {}
    for hit in hits:
        if hit.note_id not in seen:
            seen[hit.note_id] = hit
    return list(seen.values())


def gather(word_hits: list[Hit], meaning_hits: list[Hit],
           coverage: dict[int, float]) -> list[Evidence]:
    """Return one Evidence per note found by either list (hits may come in any order)."""
    words = best_per_note(sorted(word_hits, key=lambda h: -h.score))
    meaning = best_per_note(sorted(meaning_hits, key=lambda h: -h.score))
    top_words = words[0].score if words and words[0].score > 0 else 1.0
    word_of = {h.note_id: h for h in words}
    meaning_of = {h.note_id: h for h in meaning}
    scores = [h.score for h in meaning]
    mean = sum(scores) / len(scores) if scores else 0.0
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)) if scores else 0.0
    spread = max(spread, 1e-3)
    top = scores[0] if scores else 0.0
    floor = scores[-1] if scores else 0.0
    out = []
    for note_id in dict.fromkeys([h.note_id for h in words] + [h.note_id for h in meaning]):
        by_meaning = meaning_of.get(note_id)
        cosine = by_meaning.score if by_meaning else floor
        by_words = word_of.get(note_id)
        out.append(Evidence(
            note_id=note_id,
            meaning_z=(cosine - mean) / spread if scores else 0.0,
            meaning_gap=cosine - top if scores else -0.1,
            words=max(0.0, by_words.score / top_words) if by_words else 0.0,
            coverage=coverage.get(note_id, 0.0),
            word_chunk=by_words.chunk_id if by_words else None,
            meaning_chunk=by_meaning.chunk_id if by_meaning else None))
    return out
