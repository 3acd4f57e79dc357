"""Opens the library's SQLite file through apsw with sqlite-vec loaded, WAL and sane pragmas."""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import urllib.parse
from pathlib import Path

import apsw
import sqlite_vec

from notesearch.core.config import make_private_file
from notesearch.core.errors import LibraryReadOnly
from notesearch.core.migrations import SCHEMA_VERSION, migrate
from notesearch.core.text import register_tokenizer

BUSY_TIMEOUT_MS = 10_000
WAL_CHECKPOINT_PAGES = 256  # 1 MB of 4 KB pages
WAL_SIZE_LIMIT = 1 << 20
FULL_DISK_BYTES = 1 << 20  # less free space than this is a full disk for a library


def _close_at_exit() -> None:
    """Close the connections still open when the interpreter exits. Closing checkpoints the
    write-ahead log into the database and removes it; a connection with the keyword index's
    Python tokenizer (text.register_tokenizer) is held in a reference cycle through SQLite,
    which the garbage collector cannot see, so it was never closed at exit, and every
    `notesearch index` left a -wal file of up to a few MB behind."""
    for conn in apsw.connections():
        with contextlib.suppress(apsw.Error):
            conn.close()


atexit.register(_close_at_exit)


def _extend(conn: apsw.Connection) -> None:
    """Give a connection what the library's tables need: sqlite-vec for vectors, and the
    keyword index's tokenizer (text.register_tokenizer). Called once the database has been
    read: registering runs a statement, and where the file cannot be read (a read-only
    mount whose log needs a -shm file) it failed as "no FTS5" rather than as the reason."""
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    register_tokenizer(conn)


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
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        # WAL lets a second process search while this one indexes.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint every 1 MB of log and cut the log back to 1 MB after: a first index
        # grew it to 4-5 MB (more than a small vault's whole database), which a nearly full
        # disk could not hold. Measured cost: within the noise of a 1,500-note scan.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fails here if unreadable
    _extend(conn)
    if not readonly:
        migrate(conn)
    return conn


def connect_best(path: Path) -> tuple[apsw.Connection, str | None]:
    """Return a connection to `path` for writing, or, when writing is impossible there (a
    read-only disk or folder, a full disk), a read-only one and the reason in a sentence.

    Raises LibraryReadOnly when the database cannot be opened even for reading (it does not
    exist yet, or was written by an older build and cannot be upgraded in place).
    """
    try:
        return connect(path), None
    except (apsw.CantOpenError, apsw.ReadOnlyError, apsw.IOError, apsw.FullError) as error:
        reason = why_not_writable(path, error)
    if not path.exists():
        raise LibraryReadOnly(f"The library cannot be created in {path.parent}: {reason}.")
    # A database in WAL mode is read through its -shm file; where that cannot be made, the
    # file is read as immutable (nothing else can be writing to it either).
    quoted = urllib.parse.quote(str(path))
    for uri in (f"file:{quoted}?mode=ro", f"file:{quoted}?mode=ro&immutable=1"):
        try:
            conn = _open_read_only(uri)
        except apsw.Error:
            continue
        row = conn.execute("PRAGMA user_version").fetchone()
        assert row is not None  # a PRAGMA that reads a value always returns one row
        version = row[0]
        if version != SCHEMA_VERSION:
            conn.close()
            raise LibraryReadOnly(
                f"The library in {path.parent} was written by another version of notesearch "
                f"and cannot be upgraded while it is read-only ({reason}).")
        return conn, reason
    raise LibraryReadOnly(f"The library in {path.parent} cannot be opened: {reason}.")


def connect_for_reading(path: Path) -> apsw.Connection | None:
    """Return a read-only connection to an existing library of this version, or None when
    it must be opened for writing first (it does not exist yet, needs upgrading, or its
    write-ahead log cannot be read without writing).

    For processes that only read (a search, `status`): they can then never write by
    mistake, and SQLite takes no write locks for them.
    """
    if not path.exists():
        return None
    try:
        conn = _open_read_only(f"file:{urllib.parse.quote(str(path))}?mode=ro")
    except apsw.Error:
        return None
    row = conn.execute("PRAGMA user_version").fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        conn.close()
        return None
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _open_read_only(uri: str) -> apsw.Connection:
    conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fails here if unreadable
    _extend(conn)
    return conn


def why_not_writable(path: Path, error: BaseException) -> str:
    """Return, in a few words, why the library at `path` cannot be written."""
    folder = path.parent
    try:
        if shutil.disk_usage(folder).free < FULL_DISK_BYTES:
            return "the disk is full"
    except OSError:
        pass
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "the library's folder or file is read-only"
    try:
        probe = folder / f".notesearch-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as probe_error:
        if probe_error.errno == errno.EROFS:
            return "it is on a read-only file system"
        if probe_error.errno == errno.ENOSPC:
            return "the disk is full"
        return probe_error.strerror or str(probe_error)
    return str(error)
