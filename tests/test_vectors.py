"""Vector search: cosine and centred scores, in memory and through sqlite-vec alike."""

from __future__ import annotations

import numpy as np
import pytest

from notesearch.core import vectors
from notesearch.core.lexicon import LANGUAGE_GROUPS, language_group
from notesearch.core.text import SCRIPT_CJK, SCRIPT_OTHER
from notesearch.core.vectors import (
    CENTRE_PRIOR_GROUP_ROWS,
    CENTRE_PRIOR_ROWS,
    SHORTLIST_FACTOR,
    SqliteVectors,
    VectorIndex,
)
from tests.helpers import library_of


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def test_centring_takes_a_hub_off_the_top_of_a_query_it_is_not_about() -> None:
    """A vector near the common direction of all of them (a hub) is close to every query; the
    note about the query should beat it once the shared part is taken away."""
    rng = np.random.default_rng(0)
    common = unit(rng.standard_normal(16))
    others = unit(common * 3 + rng.standard_normal((600, 16)))  # a library sharing `common`
    hub = unit(common * 10 + rng.standard_normal(16) * 0.1)
    about = others[0]
    query = unit(about + common)
    index = VectorIndex()
    index.matrix = np.zeros((0, 16), np.float32)  # as refresh() leaves an empty space
    index._append(np.arange(1, 602, dtype=np.int64), np.vstack([hub, others]))
    assert [i for i, _ in index.top(query, 2)][0] == 1  # by cosine the hub comes first
    best, score = index.top(query, 1, centre=1.0)[0]
    assert best == 2  # centred, the note about the query does
    mean = np.vstack([hub, others]).mean(axis=0)
    shrink = 601 / (601 + CENTRE_PRIOR_ROWS)
    assert score == pytest.approx(float(about @ query - shrink * about @ mean), abs=1e-5)


def test_each_script_is_centred_on_its_own_mean() -> None:
    """An English question about a Chinese passage: centred on one mean for all, the English
    passage that only half touches the topic wins on language alone; each script centred on
    its own mean, the Chinese passage about it does (Libovický et al., 2020)."""
    basis = np.eye(16, dtype=np.float32)
    english, chinese, topics = basis[0], basis[1], basis[2:14]
    # 1,000 passages a script on eleven other topics; each script adds its own direction.
    rows = [unit(3 * language + 1.5 * topics[1 + i % 11])
            for language in (english, chinese) for i in range(1000)]
    answer = unit(3 * chinese + 3 * topics[0])  # id 2001
    near = unit(3 * english + 1.2 * topics[0] + 1.2 * topics[1])  # id 2002
    matrix = np.vstack([*rows, answer, near])
    ids = np.arange(1, 2003, dtype=np.int64)
    scripts = np.r_[np.repeat([SCRIPT_OTHER, SCRIPT_CJK], 1000), SCRIPT_CJK, SCRIPT_OTHER]
    by_script, one_mean = VectorIndex(), VectorIndex()
    for index in (by_script, one_mean):
        index.matrix = matrix[:0]  # as refresh() leaves an empty space
    by_script._append(ids, matrix, scripts.astype(np.int8))
    one_mean._append(ids.copy(), matrix.copy())  # every passage SCRIPT_OTHER
    query = unit(3 * english + 2 * topics[0])
    assert one_mean.top(query, 1, centre=1.0)[0][0] == 2002
    assert by_script.top(query, 1, centre=1.0, script=SCRIPT_OTHER)[0][0] == 2001
    # Within a filter that leaves only English passages, the English one.
    english_ids = ids[scripts == SCRIPT_OTHER]
    assert by_script.top(query, 1, english_ids, centre=1.0, script=SCRIPT_OTHER)[0][0] == 2002
    # Only what each language adds (similar notes): the same here; with one group, cosines.
    assert by_script.top(query, 1, centre=1.0, script=SCRIPT_OTHER,
                         languages_only=True)[0][0] == 2001
    assert one_mean.top(query, 5, centre=1.0, languages_only=True) == one_mean.top(query, 5)


def test_a_language_of_few_passages_is_centred_on_its_own_mean_too() -> None:
    """An English query over a library of 300 English passages and 100 German ones: a
    German passage about the topic, against an English one that half touches it. A group's
    difference from the space's mean is shrunk by its own rows only
    (CENTRE_PRIOR_GROUP_ROWS), so that the German passages' language is taken away although
    they are a tenth of the library; shrunk by the library's prior (500 rows) as well, the
    English near-miss won on language alone (tldr-pages' pages in eight languages beside
    English ones: docs/measurements.md)."""
    basis = np.eye(16, dtype=np.float32)
    english, german, topics = basis[0], basis[1], basis[2:14]
    rows = [unit(3 * language + 1.5 * topics[1 + i % 11])
            for language, count in ((english, 300), (german, 100)) for i in range(count)]
    answer = unit(3 * german + 3 * topics[0])  # id 401
    near = unit(3 * english + 1.2 * topics[0] + 1.2 * topics[1])  # id 402
    matrix = np.vstack([*rows, answer, near])
    ids = np.arange(1, 403, dtype=np.int64)
    en, de = LANGUAGE_GROUPS["en"], LANGUAGE_GROUPS["de"]
    groups = np.r_[np.repeat([en, de], [300, 100]), de, en].astype(np.int8)
    index = VectorIndex()
    index.matrix = matrix[:0]
    index._append(ids, matrix, groups)
    query = unit(3 * english + 2 * topics[0])
    assert index.top(query, 1, centre=1.0, script=en)[0][0] == 401
    # The earlier rule, a group's whole mean shrunk towards the space's by 500 rows.
    centring = index.centring(1.0)
    assert centring is not None
    scale = len(ids) / (len(ids) + CENTRE_PRIOR_ROWS)
    centring.shifts = {group: (count * mean + CENTRE_PRIOR_ROWS * index.mean())
                       / (count + CENTRE_PRIOR_ROWS) * scale
                       for group, (count, mean) in index.group_means().items()}
    shifted = query - centring.shift(en)
    scores = {i: float((matrix[i - 1] - centring.shift(int(groups[i - 1]))) @ shifted)
              for i in (401, 402)}
    assert scores[402] > scores[401]


@pytest.mark.parametrize("sample", [2_000, 3])
def test_the_cli_and_the_app_rank_centred_meaning_alike(tmp_path, e5, monkeypatch,  # noqa: ANN001
                                                       sample) -> None:
    """The one-off CLI search reads sqlite-vec, the app its numpy copy: both take the mean
    from the same sample of rows, so they rank alike with fewer rows than the sample and with
    more (a fresh-user trial: 20 of 40 queries ranked differently by `search` and `search
    --stdin` on a 9,400-passage vault, when the app took the mean of every row)."""
    monkeypatch.setattr("notesearch.core.vectors.MEAN_SAMPLE", sample)
    notes = {f"n{i}.md": f"# Note {i}\n{text}\n" for i, text in enumerate([
        "Sourdough needs a lively starter and a long, cool rise.",
        "Tomato blight shows as brown spots on the lower leaves.",
        "Rotate the tyres every ten thousand kilometres.",
        "The quarterly report is due on the first Friday.",
        "Kites fly best in a steady wind on an open beach.",
        "Page not found.",
        "Den Sauerteig zweimal täglich mit Mehl und Wasser füttern, dann backen.",
        "周末去香山徒步，记得带水和雨衣。",
        "红烧肉要先焯水，再用冰糖炒出糖色。",
        "每个月先存下收入的两成，再安排其他开支。"])}
    library = library_of(tmp_path, notes, embedder=e5)
    memory, disk = VectorIndex(), SqliteVectors()
    memory.refresh(library.conn)
    disk.refresh(library.conn)
    # Three language groups, each with a say (the shrinking towards the space's mean aside).
    monkeypatch.setattr("notesearch.core.vectors.CENTRE_PRIOR_ROWS", 1)
    monkeypatch.setattr("notesearch.core.vectors.CENTRE_PRIOR_GROUP_ROWS", 1)
    assert sorted(memory.group_means()) == sorted([SCRIPT_CJK, LANGUAGE_GROUPS["en"],
                                                   LANGUAGE_GROUPS["de"]])
    # A filter (a folder, a tag) searches within some rows, of both scripts here: sqlite-vec
    # takes one rowid set a query, so the CLI searches each script's rows within the filter's.
    some = memory.ids[::2].copy()
    # Rows read past (a note crowding the meaning pool): left out by both, as sqlite-vec
    # reads past them rather than taking a rowid set of all the others.
    crowd = memory.ids[1::3].copy()
    for text in ("how do I keep my bread dough rising", "怎么做红烧肉"):
        query, script = e5.embed_query(text), language_group(text)
        for centre, allowed, languages_only, excluded in (
                (0.0, None, False, None), (0.33, None, False, None), (1.0, None, False, None),
                (0.33, some, False, None), (0.33, None, True, None), (0.33, some, True, None),
                (0.33, None, False, crowd), (0.33, some, False, crowd)):
            in_memory = memory.top(query, 9, allowed, centre=centre, script=script,
                                   languages_only=languages_only, excluded=excluded)
            on_disk = disk.top(query, 9, allowed, centre=centre, script=script,
                               languages_only=languages_only, excluded=excluded)
            assert in_memory
            if excluded is not None:
                assert not {i for i, _ in in_memory} & set(excluded.tolist())
            assert [i for i, _ in in_memory] == [i for i, _ in on_disk]
            assert [s for _, s in in_memory] == pytest.approx([s for _, s in on_disk],
                                                              abs=1e-6)
    np.testing.assert_array_equal(memory.mean(), disk.mean())
    for group, (count, mean) in memory.group_means().items():
        assert disk.group_means()[group][0] == count
        np.testing.assert_array_equal(disk.group_means()[group][1], mean)
    library.close()


def exact_scores(index: VectorIndex, query: np.ndarray, centre: float) -> np.ndarray:
    """Every row's exact (centred) score for a query of SCRIPT_OTHER, row by row: (q - s_q) .
    (d - s_d) less the constant -(q - s_q) . s_q, each group's shift s the space's plus its
    sample mean's difference from the space's, shrunk (see vectors.py), the space's alone
    with one group."""
    rows = len(index.ids)
    scale = centre * rows / (rows + CENTRE_PRIOR_ROWS)
    mean, groups = index.mean(), index.group_means()
    shifts = {group: scale * mean + centre * count / (count + CENTRE_PRIOR_GROUP_ROWS)
              * (group_mean - mean) for group, (count, group_mean) in groups.items()}
    if len(groups) < 2:
        shifts = {group: scale * mean for group in groups}
    own = shifts.get(SCRIPT_OTHER, scale * mean)
    passages = index.matrix - np.vstack([shifts[g] for g in index.scripts.tolist()])
    return (passages @ (query - own) + (query - own) @ own).astype(np.float32)


def exact_top(index: VectorIndex, query: np.ndarray, k: int, centre: float,
              allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The top k (id, score) pairs over every row, as the shortlist must find them."""
    scores = exact_scores(index, query, centre)
    if allowed is not None:
        scores[~np.isin(index.ids, allowed)] = -np.inf
    return [(int(index.ids[i]), float(scores[i])) for i in np.argsort(-scores)[:k]]


def assert_same(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [i for i, _ in found] == [i for i, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_the_int8_shortlist_finds_the_exact_top_of_real_vectors(sample_library, e5) -> None:
    """Rows are ranked by their int8 codes first and the shortlist scored exactly: on the
    sample notes' real vectors, which share one strong direction, the shortlist must hold
    the exact top k, scores included, filtered or not."""
    index = VectorIndex()
    index.refresh(sample_library.conn)
    k = 8
    assert len(index) > 2 * SHORTLIST_FACTOR * k  # the shortlist is used, not brute force
    allowed = index.ids[::3].copy()
    for text in ("how do I keep my bread dough rising", "tyres and brakes",
                 "meeting notes about the budget", "a poem about the sea"):
        query = e5.embed_query(text)
        for centre in (0.0, 0.33):
            assert_same(index.top(query, k, centre=centre), exact_top(index, query, k, centre))
            assert_same(index.top(query, k, allowed, centre=centre),
                         exact_top(index, query, k, centre, allowed))


def test_rows_ranked_on_two_threads_rank_as_on_one(sample_library, e5, monkeypatch) -> None:
    """Past SPLIT_ROWS the codes are ranked in two halves, one on another thread: the same
    shortlist, so the same exact top k, as ranking them in one piece."""
    index = VectorIndex()
    index.refresh(sample_library.conn)
    queries = [e5.embed_query(text) for text in ("bread dough rising", "tyres and brakes")]
    whole = [index.top(query, 8) for query in queries]
    monkeypatch.setattr(vectors, "SPLIT_ROWS", 10)
    assert len(index) > 10
    assert [index.top(query, 8) for query in queries] == whole
    for query in queries:
        assert_same(index.top(query, 8), exact_top(index, query, 8, 0.0))


def test_rows_added_beyond_the_first_rows_range_are_still_found() -> None:
    """The quantiser is fitted to the rows there are; rows embedded later may hold larger
    numbers (the first notes embedded were alike). Once the rows have doubled it is fitted
    again, so a later row that is the best match is not lost to clipping."""
    rng = np.random.default_rng(3)
    index = VectorIndex()
    index.matrix = np.zeros((0, 32), np.float32)  # as refresh() leaves an empty space
    common = unit(rng.standard_normal(32))
    first = unit(common * 20 + rng.standard_normal((40, 32)))  # alike: a narrow range
    index._append(np.arange(1, 41, dtype=np.int64), first)
    later = unit(rng.standard_normal((400, 32)))  # spread over every direction
    for start in range(0, 400, 50):  # as batches are embedded
        index._append(np.arange(41 + start, 91 + start, dtype=np.int64), later[start:start + 50])
    for query in unit(rng.standard_normal((20, 32))):
        assert_same(index.top(query, 10), exact_top(index, query, 10, 0.0))
