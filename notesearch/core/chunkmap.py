"""Every chunk's note and vector in arrays, as of one state of the notes: shared by searchers.

A search maps the vector stage's embedding ids to chunks and notes, and asks how many
embedded chunks each candidate note has (the length correction) and which are empty. Asked
of SQLite for a hundred new candidates at a time, that cost about a millisecond a keystroke
at 10k passages; read whole it costs 9 ms at 10k and 150-170 ms at 100k passages, so it is
read in the background (Searcher.warm, between searches) and used only while it is current:
until then, and for vectors added since, the search asks SQLite as before.
"""

from __future__ import annotations

import threading
import time
from itertools import chain
from typing import NamedTuple, cast

import apsw
import numpy as np

#: A stale map is read again at most once in this many times its last reading took: while a
#: first index writes notes every second, reading 100k chunks (~0.15 s) takes at most a
#: tenth of a core.
REBUILD_SPACING = 10.0


class ChunkArrays(NamedTuple):
    """The chunks as of `key` (notes generation, vectors generation)."""

    key: tuple[str | None, str | None]
    embedding_ids: np.ndarray  # int64, sorted: one entry per (embedding, chunk) pair
    chunk_ids: np.ndarray  # int64, the chunk of each entry
    note_ids: np.ndarray  # int64, the note of each entry
    embedded: np.ndarray  # int64 indexed by note id: chunks with a vector key ("hash")
    chunks: np.ndarray  # int64 indexed by note id: all chunks
    #: int64 indexed by note id: the language groups of its vectors (lexicon.language_group,
    #: `embeddings.script`) as a bit mask, 1 << group for each.
    groups: np.ndarray


class ChunkMap:
    """The library's ChunkArrays, read again by `refresh` when the notes or vectors change;
    thread-safe (`current` is a read of one reference)."""

    def __init__(self) -> None:
        self._arrays: ChunkArrays | None = None
        self._lock = threading.Lock()
        self._next_read = 0.0  # time.monotonic() before which a stale map is not read again

    def current(self, key: tuple[str | None, str | None]) -> ChunkArrays | None:
        """The arrays when they were read at `key`, else None (ask SQLite)."""
        arrays = self._arrays
        return arrays if arrays is not None and arrays.key == key else None

    def refresh(self, conn: apsw.Connection, key: tuple[str | None, str | None],
                space_id: int) -> bool:
        """Read the arrays at `key` unless current or read too recently (REBUILD_SPACING);
        return True when they are current afterwards. `space_id`: the active vector space."""
        if self.current(key) is not None:
            return True
        if time.monotonic() < self._next_read or not self._lock.acquire(blocking=False):
            return False
        try:
            start = time.monotonic()
            arrays = read_arrays(conn, key, space_id)
            self._next_read = time.monotonic() + REBUILD_SPACING * (time.monotonic() - start)
            if arrays is not None:
                self._arrays = arrays
            return arrays is not None
        finally:
            self._lock.release()


def read_arrays(conn: apsw.Connection, key: tuple[str | None, str | None],
                space_id: int) -> ChunkArrays | None:
    """Read every chunk once; None when the notes or vectors changed meanwhile (the key
    read again after the read differs)."""
    rows = conn.execute(
        "SELECT c.id, c.note_id, c.hash != '', COALESCE(e.id, -1), COALESCE(e.script, 0) "
        "FROM chunks c "
        "LEFT JOIN embeddings e ON e.hash = c.hash AND e.space_id = ? AND c.hash != ''",
        (space_id,)).fetchall()
    if current_key(conn) != key:
        return None
    # fromiter over the flattened rows: np.array() of a list of tuples takes 3x as long.
    table = np.fromiter(chain.from_iterable(rows), np.int64, 5 * len(rows)).reshape(-1, 5)
    chunk_ids, note_ids, hashed, embedding_ids, scripts = table.T
    size = int(note_ids.max()) + 1 if len(note_ids) else 0
    with_vector = embedding_ids >= 0
    # One row a chunk (an embedding is unique per space and hash); equal texts in several
    # chunks share one embedding, so an embedding id may have several entries.
    order = np.argsort(embedding_ids[with_vector], kind="stable")
    groups = np.zeros(size, np.int64)
    np.bitwise_or.at(groups, note_ids[with_vector], np.left_shift(1, scripts[with_vector]))
    return ChunkArrays(
        key, embedding_ids[with_vector][order], chunk_ids[with_vector][order],
        note_ids[with_vector][order],
        np.bincount(note_ids, weights=hashed, minlength=size).astype(np.int64),
        np.bincount(note_ids, minlength=size).astype(np.int64), groups)


def current_key(conn: apsw.Connection) -> tuple[str | None, str | None]:
    """The (notes generation, vectors generation) the arrays are read at."""
    rows = dict(cast(list[tuple[str, str]], conn.execute(
        "SELECT key, value FROM meta WHERE key IN ('notes_gen', 'vectors_gen')").fetchall()))
    return rows.get("notes_gen"), rows.get("vectors_gen")
