"""An in-memory copy of one vector space for brute-force cosine search with numpy.

The vectors' home is the sqlite-vec table; numpy over a contiguous float32 matrix measured
5-10x faster than vec0's own scan here, which matters on every keystroke.

Centred scores (`top(..., centre=w)`): cosine less w times each vector's dot product with the
space's mean vector, q . d - w * mean . d = (q - w * mean) . d, one product as plain cosine is.
A model's vectors share a common direction (multilingual-e5-small's mean has length 0.90-0.92
on seven libraries here, and the means of different libraries have cosine 0.87-0.99), and a
vector close to it (a table of contributors' names, a template, a "page not found") is close to
every query: a hub. Centring takes that shared part away (Suzuki, Hara, Shimbo, Saerens and
Fukumizu, "Centering similarity measures to reduce hubs", EMNLP 2013: w = 1). A small
library's mean carries its own topics as well (in a 69-chunk vault a changelog about queries
made up most of it, and centring then pushed the page "Queries" down), so the mean is shrunk
by rows / (rows + CENTRE_PRIOR_ROWS).

Each language group its own mean (`Centring`; lexicon.language_group: Chinese, Japanese or
Korean; Cyrillic, Greek, Hebrew, Devanagari, Thai; each language the word lists tell; the
rest): passages in different languages sit
around different means, and the difference is the language, not what they say; an English
query is then closer to every English passage than to the German one that answers it.
Centring each side on its own group's mean takes the language away (Libovický, Rosa and
Fraser, "On the language neutrality of pre-trained multilingual representations", Findings
of EMNLP 2020): the score is (q - s_q) . (d - s_d), s_q the query's group's shift and s_d
the passage's. A group's shift is the space's plus its mean's difference from the space's,
times w and shrunk by its rows / (its rows + CENTRE_PRIOR_GROUP_ROWS), so that a handful of
Chinese passages in an English library change little. One group only: exactly the
single-mean score above.

Shortlist, then exact scores (`VectorIndex.top`): reading a float32 matrix is what a vector
search costs (150 MB a query at 100k passages). Each row is also kept as one byte a number
(per-dimension scalar quantisation, as Faiss's SQ8), a quarter of the memory to read; numkong's
int8 dot-product kernels rank all rows by those codes, and the best SHORTLIST_FACTOR x k rows
are scored again exactly in float32. On 150 real queries over three real libraries (6k-20k
passages) the shortlist of 2 x 100 held every one of the exact top 100.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import apsw
import numkong
import numpy as np

from notesearch.core.migrations import vec_table
from notesearch.core.store import Space, Store, one_row
from notesearch.core.text import SCRIPT_OTHER

#: Rows the space's mean is taken from: embedding ids divisible by `sample_step`, the first
#: this many in id order, the same rows in memory (VectorIndex) and on disk (SqliteVectors).
#: A sample, not every row: a one-off `notesearch search` would otherwise read all the
#: vectors (150 MB at 100k); the mean of 2,000 is within about 0.005 of it per number. The
#: same rows both ways: the app's exact mean and the CLI's sample ranked 20 of 40 queries
#: on a 9,400-passage vault differently (a fresh-user trial, `search` against `--stdin`).
MEAN_SAMPLE = 2_000
#: The mean counts rows / (rows + this) of its weight (see the module): measured 0, 500 and
#: 2,000 (known-item hybrid MRR@10, full centring: foam-docs 0.87 / 0.86 / 0.85, dendron-site
#: 0.74 / 0.74 / 0.72, tldr-pages 0.76 at all three; 500 keeps the test vault's "Queries" first).
CENTRE_PRIOR_ROWS = 500
#: A group's difference from the space's mean counts its rows / (its rows + this) (see the
#: module). tldr-pages' English queries over its pages in eight other languages, each
#: library ~280 notes of one language beside 100 English pages (docs/measurements.md),
#: hybrid MRR@10 with 500 / 50: German 0.37 / 0.43, Spanish 0.44 / 0.53, Dutch 0.57 / 0.64;
#: the development set's crosslingual queries 0.84 either way.
CENTRE_PRIOR_GROUP_ROWS = 50
#: The int8 pass keeps this many times k rows for exact scoring (see the module): 1x held 98.5-99
#: % of the exact top 100 on the three libraries, 2x all of them.
SHORTLIST_FACTOR = 2
#: Rows from which the codes are ranked on two threads (handing half over costs ~0.1 ms).
SPLIT_ROWS = 40_000


def sample_step(rows: int, n: int) -> int:
    """The stride of the repeatable sample of n of `rows` rows (see MEAN_SAMPLE)."""
    return max(1, rows // max(1, n))


class Centring:
    """What a centred search subtracts, per language group (lexicon.language_group; see the
    module).

    `mean`: the space's (dim,) mean; `groups`: each group present -> (its rows, the (dim,)
    mean of its sample); `rows`: the space's rows; `weight` 0..1 (fusion.Fusion.centre).
    """

    def __init__(self, mean: np.ndarray, groups: dict[int, tuple[int, np.ndarray]], rows: int,
                 weight: float, languages_only: bool = False) -> None:
        scale = 0.0 if languages_only else weight * rows / (rows + CENTRE_PRIOR_ROWS)
        self.default = (mean * scale).astype(np.float32)
        # One group: its mean is the space's (the same sample), and the score is the plain
        # centred one, to the last bit. Several: each adds its own mean's difference from
        # the space's, shrunk by its rows only (CENTRE_PRIOR_GROUP_ROWS).
        self.shifts = {} if len(groups) < 2 else {
            group: (self.default + weight * count / (count + CENTRE_PRIOR_GROUP_ROWS)
                    * (group_mean - mean)).astype(np.float32)
            for group, (count, group_mean) in groups.items()}

    def shift(self, group: int) -> np.ndarray:
        """(dim,) float32 taken from a query or passage of `group` (a group without rows:
        the space's own)."""
        return self.shifts.get(group, self.default)

    def offsets(self, shifted: np.ndarray, group: int) -> dict[int, float]:
        """Return what the scores of each other group's passages add, for a query of
        `group` already shifted (q - s_q): -(q - s_q) . (s_d - s_q), so that (q - s_q) . d plus
        it ranks as (q - s_q) . (d - s_d) does. Empty with one group."""
        own = self.shift(group)
        return {other: -float(shifted @ (value - own))
                for other, value in self.shifts.items() if other != group}


def centring(mean: np.ndarray | None, groups: dict[int, tuple[int, np.ndarray]], rows: int,
             weight: float, languages_only: bool = False) -> Centring | None:
    """Return the Centring of a space, or None when there is nothing to subtract.
    `languages_only`: only each group's difference from the space's mean (none with one
    group), not the mean itself."""
    if mean is None or not weight or not rows or (languages_only and len(groups) < 2):
        return None
    return Centring(mean, groups, rows, weight, languages_only)


def _group_sample_ids(ids: np.ndarray, n: int) -> np.ndarray:
    """Of one group's sorted ids, the repeatable sample (see MEAN_SAMPLE)."""
    return ids[ids % sample_step(len(ids), n) == 0][:n]


class Quantiser:
    """Per-dimension scalar quantisation of unit vectors to int8 codes, for ranking only.

    A number x of dimension j is kept as round((x - low[j]) / step[j]) - 128 (-128..127), so
    q . x = constant + sum_j (q[j] * step[j]) * code[j]: the ranking by codes needs one int8
    dot product per row, the query folded with `step` and rounded to int8 as well.
    """

    #: Room left beyond the fitted rows' range (a share of it), for rows added later.
    MARGIN = 0.05

    def __init__(self, rows: np.ndarray) -> None:
        """Fit to `rows` ((n, dim) float32, n >= 1)."""
        low, high = rows.min(axis=0), rows.max(axis=0)
        room = (high - low) * self.MARGIN
        self.low = (low - room).astype(np.float32)
        self.step = np.maximum((high + room - self.low) / 255.0, 1e-9).astype(np.float32)
        self.rows = len(rows)

    def encode(self, rows: np.ndarray) -> np.ndarray:
        """Return the (n, dim) int8 codes of (n, dim) float32 rows (out-of-range numbers clip)."""
        codes = np.rint((rows - self.low) / self.step) - 128.0
        return np.clip(codes, -128, 127).astype(np.int8)

    def scores(self, codes: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Return (n,) float32 scores of `codes` for a (dim,) float32 query, in the order of
        the rows' dot products with it (up to quantisation error), not on their scale."""
        folded = query * self.step
        largest = float(np.abs(folded).max())
        if largest == 0.0:
            return np.zeros(len(codes), np.float32)
        small = np.rint(folded * (127.0 / largest))[None, :].astype(np.int8)
        # numkong's int8 kernels (AVX2 / NEON): 0.35 ms at 10k rows of 384 where numpy's
        # float32 product took 1.7 ms, and 4.6 ms against 17 at 100k (this machine).
        if len(codes) < SPLIT_ROWS:
            return _dots(small, codes)
        # Half the rows on a second core (the kernels let go of the GIL): the query's model
        # has finished with both by now. 100k rows: 6.2 -> 3.1 ms.
        half = len(codes) // 2
        other = _second_core().submit(_dots, small, codes[half:])
        return np.concatenate([_dots(small, codes[:half]), other.result()])


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _second_core() -> ThreadPoolExecutor:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(1, thread_name_prefix="vector-rank")
        return _worker


def _dots(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n,) float32 int8 dot products of a (1, dim) int8 query with (n, dim) int8 codes."""
    return np.asarray(numkong.cdist(query, codes, metric="dot", out_dtype="float32")).reshape(-1)


def _best_rows(approx: np.ndarray, count: int, inside: np.ndarray | None) -> np.ndarray:
    """Indices of the `count` highest of `approx` (within the rows `inside` marks)."""
    if inside is None:
        return np.argpartition(-approx, count - 1)[:count]
    rows = np.flatnonzero(inside)
    if len(rows) <= count:
        return rows
    return rows[np.argpartition(-approx[rows], count - 1)[:count]]


class VectorIndex:
    """Rows of one space's vectors; `refresh` picks up what other writers added or removed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.space: Space | None = None
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.codes = np.zeros((0, 0), dtype=np.int8)  # the rows' int8 codes (Quantiser)
        self.scripts = np.zeros(0, dtype=np.int8)  # the rows' language groups (lexicon.py)
        self._quantiser: Quantiser | None = None
        self._generation: str | None = None
        self._newest = -1
        self._ids_buffer: np.ndarray | None = None
        self._matrix_buffer: np.ndarray | None = None
        self._codes_buffer: np.ndarray | None = None
        self._scripts_buffer: np.ndarray | None = None
        #: ((generation, rows), the mean of the sample of rows): see mean().
        self._mean: tuple[tuple[str | None, int], np.ndarray] | None = None
        #: ((generation, rows), each group's rows and sample mean): see group_means().
        self._groups: tuple[tuple[str | None, int], dict[int, tuple[int, np.ndarray]]] | None
        self._groups = None

    def refresh(self, conn: apsw.Connection) -> None:
        """Reload fully when vectors were removed or the space changed; else append new rows.

        Called before every search, so the common case (nothing changed) costs two indexed
        look-ups; vec0 itself is only read when there is something to load.
        """
        store = Store(conn)
        generation = store.get_meta("vectors_gen", "0")
        newest = one_row(conn.execute("SELECT MAX(id) FROM embeddings"))[0] or 0
        with self._lock:
            if generation == self._generation and newest == self._newest:
                return
            space = store.active_space()
            if space is None:
                self.space, self.ids = None, np.zeros(0, dtype=np.int64)
                self.matrix = np.zeros((0, 0), dtype=np.float32)
                self.codes = np.zeros((0, 0), dtype=np.int8)
                self.scripts = np.zeros(0, dtype=np.int8)
                self._quantiser = None
            else:
                if space != self.space or generation != self._generation:
                    self.ids = np.zeros(0, dtype=np.int64)
                    self.matrix = np.zeros((0, space.dim), dtype=np.float32)
                    self.codes = np.zeros((0, space.dim), dtype=np.int8)
                    self.scripts = np.zeros(0, dtype=np.int8)
                    self._ids_buffer = self._matrix_buffer = self._codes_buffer = None
                    self._scripts_buffer = None
                    self._quantiser = None
                self.space = space
                self._append_new(conn, space)
            self._generation, self._newest = generation, newest

    def _append_new(self, conn: apsw.Connection, space: Space) -> None:
        last = int(self.ids[-1]) if len(self.ids) else 0
        table = vec_table(space.id)
        rows: list[tuple[int, bytes]]
        if last == 0:
            rows = cast(list[tuple[int, bytes]], conn.execute(
                f"SELECT rowid, embedding FROM {table} ORDER BY rowid").fetchall())
        else:
            # vec0 scans the whole table for a range condition; point look-ups are indexed.
            added: list[int] = [r[0] for r in conn.execute(
                "SELECT id FROM embeddings WHERE space_id = ? AND id > ? ORDER BY id",
                (space.id, last))]
            rows = [(i, one_row(conn.execute(f"SELECT embedding FROM {table} WHERE rowid = ?",
                                             (i,)))[0]) for i in added]
        if not rows:
            return
        new_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        new = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        script_of = dict(cast(list[tuple[int, int]], conn.execute(
            "SELECT id, script FROM embeddings WHERE space_id = ? AND id > ?",
            (space.id, last)).fetchall()))
        scripts = np.fromiter((script_of.get(int(i), 0) for i in new_ids), dtype=np.int8,
                              count=len(new_ids))
        self._append(new_ids, new.reshape(len(rows), space.dim), scripts)

    def _append(self, new_ids: np.ndarray, new: np.ndarray,
                scripts: np.ndarray | None = None) -> None:
        """Add rows into spare capacity, growing it by doubling.

        Concatenating instead copied the whole matrix on every search while notes were being
        embedded (150 MB a keystroke at 100k chunks). `ids`, `matrix` and `codes` stay views
        of the filled rows; rows past them are written only, so a reader's earlier view never
        changes.
        """
        count, extra = len(self.ids), len(new_ids)
        total = count + extra
        if self._ids_buffer is None or total > len(self._ids_buffer):
            capacity = max(2 * total, 1024)
            ids_buffer = np.empty(capacity, np.int64)
            matrix_buffer = np.empty((capacity, new.shape[1]), np.float32)
            codes_buffer = np.empty((capacity, new.shape[1]), np.int8)
            scripts_buffer = np.empty(capacity, np.int8)
            ids_buffer[:count], matrix_buffer[:count] = self.ids, self.matrix
            scripts_buffer[:count] = self.scripts
            if count:
                codes_buffer[:count] = self.codes
            self._ids_buffer, self._matrix_buffer = ids_buffer, matrix_buffer
            self._codes_buffer, self._scripts_buffer = codes_buffer, scripts_buffer
        assert self._matrix_buffer is not None and self._codes_buffer is not None
        assert self._scripts_buffer is not None
        self._ids_buffer[count:total] = new_ids
        self._matrix_buffer[count:total] = new
        self._scripts_buffer[count:total] = 0 if scripts is None else scripts
        self.ids = self._ids_buffer[:total]
        self.matrix = self._matrix_buffer[:total]
        self.scripts = self._scripts_buffer[:total]
        self._encode(count, total)

    def _encode(self, count: int, total: int) -> None:
        """Give rows count..total their int8 codes; fit the quantiser again, into a new
        buffer, whenever the rows have doubled since it was fitted (the first rows embedded
        need not span the numbers of the rest)."""
        assert self._codes_buffer is not None
        if self._quantiser is None or total > 2 * self._quantiser.rows:
            self._quantiser = Quantiser(self.matrix)
            self._codes_buffer = np.empty_like(self._codes_buffer)
            count = 0
        self._codes_buffer[count:total] = self._quantiser.encode(self.matrix[count:total])
        self.codes = self._codes_buffer[:total]

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
            centre: float = 0.0, script: int = SCRIPT_OTHER,
            languages_only: bool = False,
            excluded: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Return up to k (embedding id, score) pairs, best first: cosines (-1..1), or with
        `centre` (0..1) centred scores (see the module; `script`: the query's language group,
        lexicon.language_group; `languages_only`: see `centring`). Scores are exact; which
        rows are scored is chosen by their int8 codes once there are more than 2 *
        SHORTLIST_FACTOR * k rows, per language group.

        `allowed`: sorted embedding ids to rank within (a filtered search); others are left out.
        `excluded`: embedding ids left out as well (a note crowding the meaning pool).
        """
        with self._lock:
            ids, matrix, codes = self.ids, self.matrix, self.codes
            scripts, quantiser = self.scripts, self._quantiser
        if not len(ids) or k <= 0:
            return []
        query = np.asarray(query, np.float32)
        centred = self.centring(centre, languages_only) if centre else None
        offsets: dict[int, float] = {}
        if centred is not None:
            query = query - centred.shift(script)
            offsets = centred.offsets(query, script)
        inside = np.isin(ids, allowed, assume_unique=True) if allowed is not None else None
        if excluded is not None:
            outside = ~np.isin(ids, excluded)
            inside = outside if inside is None else inside & outside
        shortlist = SHORTLIST_FACTOR * k
        if quantiser is not None and len(ids) > 2 * shortlist:
            approx = quantiser.scores(codes, query)
            if inside is not None:
                approx[~inside] = -np.inf
            # Codes rank rows within a group; the groups' offsets are added to exact scores.
            rows = np.concatenate([_best_rows(approx, shortlist, scripts == group if offsets
                                              else None)
                                   for group in ([script, *offsets] if offsets else [script])])
            if inside is not None:
                rows = rows[inside[rows]]
        else:
            rows = np.flatnonzero(inside) if inside is not None else np.arange(len(ids))
        if not len(rows):
            return []
        # einsum's own single-threaded loop, not BLAS: numpy's OpenBLAS splits a matrix-vector
        # product over both cores, and while another process computes (the app's indexing)
        # that took 8 ms at 10k rows against einsum's 1.9 (100k: 26-28 against 19-20 ms).
        scores = np.einsum("ij,j->i", matrix[rows], query)
        if offsets:
            added = np.zeros(int(scripts.max(initial=0)) + 1, np.float32)
            for group, offset in offsets.items():
                if group < len(added):
                    added[group] = offset
            scores += added[scripts[rows]]
        k = min(k, len(rows))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(int(ids[rows[i]]), float(scores[i])) for i in best]

    def centring(self, weight: float, languages_only: bool = False) -> Centring | None:
        """Return the space's Centring at `weight` (see the module and `centring`), or None."""
        return centring(self.mean(), self.group_means(), len(self.ids), weight, languages_only)

    def group_means(self) -> dict[int, tuple[int, np.ndarray]]:
        """Return each language group present -> (its rows, the (dim,) mean of its sample of
        MEAN_SAMPLE rows), as SqliteVectors.group_means gives it. Kept until the rows change."""
        with self._lock:
            key, kept = (self._generation, len(self.ids)), self._groups
            ids, matrix, scripts = self.ids, self.matrix, self.scripts
        if kept is None or kept[0] != key:
            groups = {}
            for group in np.unique(scripts).tolist():
                inside = np.flatnonzero(scripts == group)
                picked = np.searchsorted(ids, _group_sample_ids(ids[inside], MEAN_SAMPLE))
                groups[int(group)] = (len(inside),
                                      matrix[picked].mean(axis=0).astype(np.float32))
            kept = (key, groups)
            with self._lock:
                self._groups = kept
        return kept[1]

    def sample(self, n: int) -> np.ndarray:
        """Return up to n rows drawn evenly across the index (a fixed, repeatable sample: the
        rows SqliteVectors.sample reads, see MEAN_SAMPLE)."""
        with self._lock:
            ids, matrix = self.ids, self.matrix
        return matrix[np.flatnonzero(ids % sample_step(len(ids), n) == 0)[:n]]

    def sample_ids(self, n: int) -> np.ndarray:
        """Return the sorted embedding ids of `sample`'s rows."""
        with self._lock:
            ids = self.ids
        return ids[ids % sample_step(len(ids), n) == 0][:n]

    def mean(self) -> np.ndarray | None:
        """Return the (dim,) mean of the MEAN_SAMPLE rows of `sample`, as SqliteVectors.mean
        gives it, or None when there are none. Kept until the rows change."""
        with self._lock:
            key, kept = (self._generation, len(self.ids)), self._mean
        if not key[1]:
            return None
        if kept is None or kept[0] != key:
            kept = (key, self.sample(MEAN_SAMPLE).mean(axis=0).astype(np.float32))
            with self._lock:
                self._mean = kept
        return kept[1]

    def vectors_for(self, embedding_ids: list[int]) -> np.ndarray:
        """Return the rows for the given embedding ids (ids missing here are left out)."""
        with self._lock:
            ids, matrix = self.ids, self.matrix
        wanted = np.asarray(embedding_ids, dtype=np.int64)
        positions = np.searchsorted(ids, wanted)  # ids are kept sorted (rowid order)
        found = positions < len(ids)
        found[found] = ids[positions[found]] == wanted[found]
        return matrix[positions[found]]


#: The most rows sqlite-vec's KNN returns ("k value in knn query too large" beyond): a
#: `similar -k 205` asks 20 chunks a note.
VEC_KNN_LIMIT = 4096


class SqliteVectors:
    """The same interface answered by sqlite-vec's own KNN, with nothing loaded into memory.

    For one-shot processes (a single CLI search): loading 100k vectors into numpy took ~6 s,
    while one vec0 scan takes tens of milliseconds.
    """

    def __init__(self) -> None:
        self.space: Space | None = None
        self._conn: apsw.Connection | None = None
        self._mean: tuple[int, int, np.ndarray] | None = None  # (space id, rows, mean)
        #: (space id, rows, each group's rows and sample mean): see group_means().
        self._groups: tuple[int, int, dict[int, tuple[int, np.ndarray]]] | None = None

    def refresh(self, conn: apsw.Connection) -> None:
        self._conn, self.space = conn, Store(conn).active_space()

    def __len__(self) -> int:
        if self._conn is None or self.space is None:
            return 0
        return one_row(self._conn.execute("SELECT COUNT(*) FROM embeddings WHERE space_id = ?",
                                          (self.space.id,)))[0]

    def mean(self) -> np.ndarray | None:
        """Return the (dim,) mean of the MEAN_SAMPLE rows of `sample` (read again once the
        space has grown or shrunk by a twentieth), or None when it has none."""
        if self._conn is None or self.space is None:
            return None
        rows = len(self)
        kept = self._mean
        if (kept is None or kept[0] != self.space.id
                or abs(rows - kept[1]) > kept[1] / 20):
            sample = self.sample(MEAN_SAMPLE)
            if not len(sample):
                return None
            kept = self._mean = (self.space.id, rows, sample.mean(axis=0).astype(np.float32))
        return kept[2]

    def group_means(self) -> dict[int, tuple[int, np.ndarray]]:
        """Return each language group present -> (its rows, the (dim,) mean of its sample), as
        VectorIndex.group_means gives it (read again as `mean` is)."""
        if self._conn is None or self.space is None:
            return {}
        rows = len(self)
        kept = self._groups
        if (kept is None or kept[0] != self.space.id
                or abs(rows - kept[1]) > kept[1] / 20):
            groups = {}
            counts = cast(list[tuple[int, int]], self._conn.execute(
                "SELECT script, COUNT(*) FROM embeddings WHERE space_id = ? GROUP BY script",
                (self.space.id,)).fetchall())
            for group, count in counts:
                ids = [r[0] for r in self._conn.execute(
                    "SELECT id FROM embeddings WHERE space_id = ? AND script = ? AND id % ? = 0 "
                    "ORDER BY id LIMIT ?",
                    (self.space.id, group, sample_step(count, MEAN_SAMPLE), MEAN_SAMPLE))]
                groups[int(group)] = (int(count),
                                      self.vectors_for(ids).mean(axis=0).astype(np.float32))
            kept = self._groups = (self.space.id, rows, groups)
        return kept[2]

    def top(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
            centre: float = 0.0, script: int = SCRIPT_OTHER,
            languages_only: bool = False,
            excluded: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Return up to k (embedding id, score) pairs, best first (within `allowed`, none of
        `excluded`): cosines, or centred scores as VectorIndex.top gives them. At most
        VEC_KNN_LIMIT pairs are read: `excluded` rows are read past, not filtered in SQL (a
        rowid set of every other row made a one-off search 180 ms slower at 12k rows)."""
        if self._conn is None or self.space is None:
            return []
        if excluded is not None and len(excluded):
            left_out = set(excluded.tolist())
            wider = self.top(query, k + len(left_out), allowed, centre, script, languages_only)
            return [pair for pair in wider if pair[0] not in left_out][:min(k, VEC_KNN_LIMIT)]
        k = min(k, VEC_KNN_LIMIT)
        query = np.asarray(query, np.float32)
        scale = 1.0
        centred = (centring(self.mean(), self.group_means(), len(self), centre,
                             languages_only) if centre else None)
        offsets: dict[int, float] = {}
        if centred is not None:
            # vec0's cosine distance is 1 - d . u / |u| for unit rows d: u = q - shift, and
            # d . u is the centred score.
            query = query - centred.shift(script)
            scale = float(np.linalg.norm(query)) or 1.0
            offsets = centred.offsets(query, script)
        if not offsets:
            return self._knn(query.tobytes(), k, allowed, None, scale, 0.0)
        # Each group ranked on its own (the offsets are per group), then merged: exact.
        found = [pair for group in [script, *offsets]
                 for pair in self._knn(query.tobytes(), k, allowed, group, scale,
                                       offsets.get(group, 0.0))]
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def _knn(self, blob: bytes, k: int, allowed: np.ndarray | None, group: int | None,
             scale: float, offset: float) -> list[tuple[int, float]]:
        assert self._conn is not None and self.space is not None
        table = vec_table(self.space.id)
        # sqlite-vec's KNN takes one rowid set to search within ("only 1 'rowid in (..)'
        # operator is allowed"): the filter's, the group's, or the rows of the one in the other.
        within, parameters = "", cast(list[object], [])
        if allowed is not None:
            within = "SELECT value FROM json_each(?)"
            parameters.append(json.dumps([int(i) for i in allowed]))
        if group is not None:
            within += (" WHERE value IN " if within else "") + (
                "(SELECT id FROM embeddings WHERE space_id = ? AND script = ?)" if within
                else "SELECT id FROM embeddings WHERE space_id = ? AND script = ?")
            parameters += [self.space.id, group]
        where = f" AND rowid IN ({within})" if within else ""
        rows = self._conn.execute(
            f"SELECT rowid, distance FROM {table} WHERE embedding MATCH ? AND k = ?{where} "
            "ORDER BY distance", (blob, k, *parameters))
        return [(int(rowid), (1.0 - float(distance)) * scale + offset)
                for rowid, distance in rows]

    def sample(self, n: int) -> np.ndarray:
        """Return up to n rows drawn evenly across the space (a fixed, repeatable sample)."""
        if self._conn is None or self.space is None:
            return np.zeros((0, 0), np.float32)
        return self.vectors_for(self.sample_ids(n).tolist())

    def sample_ids(self, n: int) -> np.ndarray:
        """Return the sorted embedding ids of `sample`'s rows."""
        if self._conn is None or self.space is None:
            return np.zeros(0, np.int64)
        return np.array([r[0] for r in self._conn.execute(
            "SELECT id FROM embeddings WHERE space_id = ? AND id % ? = 0 ORDER BY id LIMIT ?",
            (self.space.id, sample_step(len(self), n), n))], dtype=np.int64)

    def vectors_for(self, embedding_ids: list[int]) -> np.ndarray:
        """Return the rows for the given embedding ids (ids missing here are left out)."""
        if self._conn is None or self.space is None:
            return np.zeros((0, 0), np.float32)
        table = vec_table(self.space.id)
        blobs = [row[0] for i in embedding_ids for row in self._conn.execute(
            f"SELECT embedding FROM {table} WHERE rowid = ?", (i,))]
        return np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), self.space.dim)
