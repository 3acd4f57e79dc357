"""Opens the library's SQLite file through apsw with sqlite-vec loaded, WAL and sane pragmas."""

from __future__ import annotations

from pathlib import Path

import apsw
import sqlite_vec

from notesearch.core.config import make_private_file
from notesearch.core.migrations import migrate

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path, readonly: bool = False) -> apsw.Connection:
    """Return a connection to `path`, migrated, with sqlite-vec and foreign keys on."""
    if not readonly:
        # SQLite gives the -wal and -shm files the database's own mode: 0600 for all three.
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if name == path or name.exists():
                make_private_file(name)
    flags = apsw.SQLITE_OPEN_READONLY if readonly else (
        apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
    conn = apsw.Connection(str(path), flags=flags)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        # WAL lets a second process search while this one indexes.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    return conn


def vec_table(space_id: int) -> str:
    """Return the name of the vec0 table holding one vector space."""
    return f"vec_{int(space_id)}"
