"""Fusion as pure functions: from both lists' hits and features to a ranked, labelled list."""

from __future__ import annotations

import pytest

from notesearch.core.fusion import (
    EMPTY_NOTE_FACTOR,
    RRF_K,
    WEAK_MATCH,
    Evidence,
    Fusion,
    Hit,
    best_per_note,
    confidence,
    confidences,
    fuse,
    gather,
    model_for,
    rank_by_confidence,
)


def evidence(note_id: int, meaning_z: float = -1.0, gap: float = -0.2, words: float = 0.0,
             coverage: float = 0.0, word_chunk: int | None = None,
             meaning_chunk: int | None = None) -> Evidence:
    return Evidence(note_id, meaning_z, gap, words, coverage, word_chunk, meaning_chunk)


def test_the_model_follows_the_lists_that_took_part() -> None:
    assert model_for(True, True) == "hybrid"
    assert model_for(True, False) == "words"
    assert model_for(False, True) == "meaning"


def test_confidence_rises_with_each_kind_of_evidence_and_stays_a_probability() -> None:
    nothing = evidence(1)
    worded = evidence(1, words=1.0, coverage=1.0)
    meant = evidence(1, meaning_z=3.0, gap=0.0)
    both = evidence(1, meaning_z=3.0, gap=0.0, words=1.0, coverage=1.0)
    chances = [confidence(e) for e in (nothing, worded, meant, both)]
    assert all(0.0 <= c <= 1.0 for c in chances)
    assert chances[0] < WEAK_MATCH < chances[3]
    assert chances[0] < min(chances[1], chances[2]) and max(chances[1], chances[2]) < chances[3]


def test_best_per_note_keeps_each_notes_first_hit() -> None:
    hits = [Hit(10, 1, 0.9), Hit(11, 1, 0.8), Hit(20, 2, 0.7)]
    assert best_per_note(hits) == [Hit(10, 1, 0.9), Hit(20, 2, 0.7)]


def test_gather_gives_every_note_of_either_list_its_features() -> None:
    words = [Hit(-1, 1, 8.0), Hit(-1, 2, 4.0)]
    meaning = [Hit(30, 3, 0.86), Hit(20, 2, 0.84), Hit(31, 3, 0.80), Hit(40, 4, 0.70)]
    found = {e.note_id: e for e in gather(words, meaning, {1: 1.0, 2: 0.5})}
    assert set(found) == {1, 2, 3, 4}
    assert found[1].words == 1.0 and found[2].words == pytest.approx(0.5)
    assert found[3].words == 0.0 and found[3].meaning_gap == pytest.approx(0.0)
    assert found[2].meaning_gap == pytest.approx(-0.02)
    assert found[3].meaning_chunk == 30 and found[2].word_chunk == -1
    assert found[3].meaning_z > found[2].meaning_z > found[4].meaning_z
    assert found[1].meaning_z <= found[4].meaning_z  # absent from the list: its floor


def test_a_note_far_above_a_few_others_stands_out_when_they_are_all_the_library_holds(
        ) -> None:
    """Ten notes, one far closer to the query than the rest: with itself in the reference no z
    can pass sqrt(9) = 3, and a full vault's first reaches 3.5-7. Measured against the others
    (the pool is the whole library: `whole`), it stands as far out as it is."""
    scores = [0.40, 0.21, 0.205, 0.20, 0.198, 0.195, 0.19, 0.188, 0.185, 0.18]
    meaning = [Hit(10 + i, i, score) for i, score in enumerate(scores)]
    cut = {e.note_id: e.meaning_z for e in gather([], meaning, {})}
    whole = {e.note_id: e.meaning_z for e in gather([], meaning, {}, whole=True)}
    assert cut[0] <= 3.0 < 5.0 < whole[0]
    # The others barely move, and keep their order.
    assert sorted(whole, key=whole.__getitem__) == sorted(cut, key=cut.__getitem__)
    assert all(abs(whole[n] - cut[n]) < 1.0 for n in range(1, 10))
    # Two notes say nothing about a spread: each is measured against both, as before.
    two = meaning[:2]
    assert ([e.meaning_z for e in gather([], two, {}, whole=True)]
            == [e.meaning_z for e in gather([], two, {})])


def test_rank_by_confidence_lowers_empty_notes_and_labels_how_each_matched() -> None:
    strong_words = evidence(1, words=1.0, coverage=1.0, word_chunk=11)
    strong_meaning = evidence(2, meaning_z=3.0, gap=0.0, meaning_chunk=22)
    both = evidence(3, meaning_z=2.5, gap=-0.01, words=0.9, coverage=1.0, word_chunk=31,
                    meaning_chunk=32)
    empty = evidence(4, meaning_z=3.0, gap=0.0, words=1.0, coverage=1.0, word_chunk=41)
    ranked = rank_by_confidence([strong_words, strong_meaning, empty, both], k=4,
                                model="hybrid", have_words=True, have_meaning=True,
                                empty=frozenset({4}))
    assert ranked[0].note_id == 3
    assert [f.confidence for f in ranked] == sorted((f.confidence for f in ranked), reverse=True)
    # Alone with notes at next to nothing, an empty note keeps its place by its lowered
    # chance, but is never first (the note the query names is not passed as empty: see
    # test_ranking.test_an_empty_note_is_found_by_its_name).
    faint = evidence(5, meaning_z=-2.0, gap=-0.05, meaning_chunk=52)
    assert [f.note_id for f in rank_by_confidence(
        [faint, empty], 2, "hybrid", True, True, empty=frozenset({4}))] == [5, 4]
    assert [f.note_id for f in rank_by_confidence(
        [faint, empty, strong_meaning], 3, "hybrid", True, True, empty=frozenset({4}))
        ][0] == 2
    labels = {f.note_id: (f.match, f.chunk_id) for f in ranked}
    assert labels[1] == ("words", 11)  # the passage that says the words
    assert labels[2] == ("meaning", 22)
    assert labels[3] == ("both", 31)
    full = confidence(empty)
    kept = next(f for f in ranked if f.note_id == 4)
    assert kept.confidence == pytest.approx(full * EMPTY_NOTE_FACTOR)
    assert all(f.score == f.confidence for f in ranked)
    assert len(rank_by_confidence([strong_words, both], 1, "hybrid", True, True)) == 1


def test_a_note_the_keyword_list_found_says_so_but_shows_its_meaning_passage() -> None:
    """A fresh-user trial saw "wedding" highlighted in a result badged "meaning": the note
    held one word of three. Found by both lists, it says "both"; the passage shown is the
    one closest in meaning, as the words did not carry the match."""
    one_word = evidence(1, meaning_z=2.5, gap=0.0, words=0.4, coverage=0.3, word_chunk=11,
                        meaning_chunk=12)
    by_meaning = evidence(2, meaning_z=2.0, gap=-0.01, meaning_chunk=22)
    stray = evidence(3, meaning_z=0.2, gap=-0.05, words=0.2, coverage=0.3, word_chunk=31,
                     meaning_chunk=32)
    ranked = rank_by_confidence([one_word, by_meaning, stray], 3, "hybrid", True, True)
    labels = {f.note_id: (f.match, f.chunk_id) for f in ranked}
    assert labels == {1: ("both", 12), 2: ("meaning", 22), 3: ("words", 31)}


def test_a_note_not_embedded_yet_gets_what_its_words_say() -> None:
    # Found only by words, as a note waiting for its vectors is: hybrid reads the missing
    # meaning evidence as "far"; the words model judges such a note.
    waiting = evidence(7, meaning_z=-1.5, gap=-0.05, words=1.0, coverage=1.0, word_chunk=71)
    other = evidence(8, meaning_z=2.0, gap=0.0, words=0.6, coverage=1.0, word_chunk=81,
                     meaning_chunk=82)
    plain = confidences([waiting, other], "hybrid")
    judged = confidences([waiting, other], "hybrid", unembedded=frozenset({7}))
    assert judged[0] == pytest.approx(max(plain[0], confidence(waiting, "words")))
    assert judged[0] > plain[0] and judged[1] == plain[1]
    ranked = rank_by_confidence([other, waiting], 2, "hybrid", True, True,
                                unembedded=frozenset({7}))
    assert ranked[0].note_id == 7


def test_reciprocal_rank_fusion_adds_each_lists_reciprocal_ranks() -> None:
    words = [Hit(-1, 1, 9.0), Hit(-1, 2, 5.0)]
    meaning = [Hit(20, 2, 0.9), Hit(30, 3, 0.8)]
    fused = fuse(words, meaning, k=3, fusion=Fusion(method="rrf"))
    assert [f.note_id for f in fused] == [2, 1, 3]
    assert fused[0].score == pytest.approx(0.5 / (RRF_K + 1) + 0.5 / RRF_K)
    assert fused[1].score == pytest.approx(0.5 / RRF_K)


def test_score_fusion_normalises_each_list_and_labels_by_threshold() -> None:
    words = [Hit(-1, 1, 10.0), Hit(-1, 2, 2.0)]
    meaning = [Hit(20, 2, 0.9), Hit(10, 1, 0.85), Hit(30, 3, 0.5)]
    fused = {f.note_id: f for f in fuse(words, meaning, k=3, fusion=Fusion(method="score"))}
    assert fused[1].score == pytest.approx(0.5 * 1.0 + 0.5 * 0.875)
    assert fused[1].match == "both" and fused[1].chunk_id == -1
    assert fused[2].match == "meaning" and fused[2].chunk_id == 20
    assert fused[3].score == 0.0 and fused[3].match == "meaning"


def test_one_list_alone_ranks_by_its_own_scores() -> None:
    meaning = [Hit(30, 3, 0.8), Hit(20, 2, 0.9), Hit(21, 2, 0.7)]
    fused = fuse([], meaning, k=5)
    assert [f.note_id for f in fused] == [2, 3]
    assert [f.match for f in fused] == ["meaning", "meaning"]


def test_all_candidates_at_once_get_the_same_confidence_as_one_at_a_time() -> None:
    from notesearch.core.fusion import confidences

    candidates = [evidence(i, meaning_z=z, gap=-0.01 * i, words=w, coverage=c)
                  for i, (z, w, c) in enumerate([(3.0, 1.0, 1.0), (-1.0, 0.0, 0.0),
                                                 (1.2, 0.4, 0.5), (0.0, 0.9, 1.0)])]
    for model in ("hybrid", "words", "meaning"):
        assert confidences(candidates, model) == pytest.approx(
            [confidence(e, model) for e in candidates], abs=1e-12)
    assert confidences([], "hybrid") == []


def test_a_word_match_holding_little_of_the_query_yields_to_the_best_meaning_match() -> None:
    # An English question over Chinese notes: one note holds one of its words (a command's
    # name, say) and is fifth by meaning; the note meaning ranks first holds none of them.
    cosines = [0.86, 0.845, 0.84, 0.835, 0.83, 0.825, 0.82, 0.815, 0.81, 0.80]
    meaning = [Hit(100 + i, i + 1, c) for i, c in enumerate(cosines)]
    words = [Hit(-1, 5, 5.0), Hit(-1, 50, 2.0)]

    def first(coverage: float) -> int:
        evidence = gather(words, meaning, {5: coverage, 50: coverage / 2})
        return rank_by_confidence(evidence, 3, "hybrid", True, True)[0].note_id

    assert first(0.2) == 1  # the word match holds a fifth of the query
    assert first(1.0) == 5  # it holds every word: the words decide


def test_the_one_note_holding_every_word_is_as_sure_as_a_words_search_says() -> None:
    # Features measured on foam-docs for a made-up identifier that one note holds in
    # passing: meaning ranks that note below the middle of its candidates.
    sole = Evidence(1, -0.98, -0.043, 1.0, 1.0, 10, None, best_coverage=1.0)
    others = [Evidence(i, 2.0 - i / 10, -0.001 * i, 0.0, 0.0, None, 100 + i, 1.0)
              for i in range(2, 12)]
    ranked = rank_by_confidence([sole, *others], 3, "hybrid", True, True)
    assert ranked[0].note_id == 1 and ranked[0].confidence >= 0.9
    assert ranked[0].confidence == pytest.approx(confidence(sole, "words"))
    # Two notes hold every word: neither is singled out, the hybrid model decides.
    twin = Evidence(20, -1.0, -0.045, 0.9, 1.0, 11, None, best_coverage=1.0)
    ranked = rank_by_confidence([sole, twin, *others], 3, "hybrid", True, True)
    chance = {f.note_id: f.confidence for f in ranked}
    assert chance.get(1, 0.0) == pytest.approx(confidence(sole, "hybrid"))
    assert confidence(sole, "hybrid") < 0.9


def test_the_note_holding_a_name_far_above_others_that_mention_it_is_a_good_match() -> None:
    """The candidates of "Ramana Maharshi" in a fresh-user trial's real vault (Evidence as
    Searcher.candidate_evidence gave them): the note about him holds both words with the best
    BM25; two others hold them in passing at 0.29 and 0.11 of it; the model makes nothing of
    the name (no meaning match). It was shown at 15% under "no good match"."""
    from notesearch.core.fusion import WEAK_MATCH, Evidence, confidences

    evidence = [
        Evidence(10, -2.1286, -0.0414, 1.0, 1.0, -1, None, 1.0),
        Evidence(2598, -0.4827, -0.0269, 0.2905, 1.0, -1, 10806, 1.0),
        Evidence(717, -2.1286, -0.0414, 0.1146, 0.4824, -1, None, 1.0),
        Evidence(1566, -2.1286, -0.0414, 0.1073, 1.0, -1, None, 1.0),
        Evidence(1247, -2.1286, -0.0414, 0.0786, 0.4824, -1, None, 1.0),
    ]
    chances = confidences(evidence)
    assert chances[0] >= 0.9 and chances[0] == max(chances)
    # A second holder at half its BM25 or more: no note stands out, the models decide.
    close = [evidence[0], evidence[1]._replace(words=0.6)]
    assert confidences(close)[0] < WEAK_MATCH


def test_the_one_note_titled_as_the_query_is_as_sure_as_words_say() -> None:
    """The candidates of "README" in a fresh-user trial's real vault: the note of that name
    (a badge and a callout, little prose) and one that says README often, at 0.81 of its
    BM25, both holding the word; no meaning match. It was shown at 15%, "no good match"."""
    from notesearch.core.fusion import WEAK_MATCH, Evidence, confidences

    evidence = [
        Evidence(2729, -1.991, -0.043, 1.0, 1.0, -1, None, 1.0),
        Evidence(3097, -1.991, -0.043, 0.807, 1.0, -1, None, 1.0),
        Evidence(3091, -1.991, -0.043, 0.359, 1.0, -1, None, 1.0),
        Evidence(868, -0.472, -0.030, 0.161, 1.0, -1, 5550, 1.0),
    ]
    assert confidences(evidence)[0] < WEAK_MATCH
    chances = confidences(evidence, named=2729)
    assert chances[0] >= 0.9 and chances[1:] == confidences(evidence)[1:]
