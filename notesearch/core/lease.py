"""One process embeds a library at a time: an advisory lock beside its database, and who holds it.

The app's indexing process, `notesearch index` and `notesearch watch` may all run on one library.
Without this each embedded the same pending passages (two `notesearch index` runs on foam-docs:
901 and 869 passages, every one of them twice, each run taking twice as long).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

_program = ""


def set_program_name(name: str) -> None:
    """Name this process for others' messages ("the notesearch app"); by default it is the
    command line's program and subcommand ("notesearch index")."""
    global _program
    _program = name


def program_name() -> str:
    if _program:
        return _program
    words = [Path(sys.argv[0]).stem] + [arg for arg in sys.argv[1:2] if not arg.startswith("-")]
    return " ".join(words)


@dataclass(frozen=True)
class Holder:
    """The process embedding a library: its pid, its name, and since when (Unix time, s)."""

    pid: int
    program: str
    since: float

    def describe(self) -> str:
        """'notesearch index (pid 1234)'."""
        return f"{self.program} (pid {self.pid})"


class EmbeddingLease:
    """The right to embed one library's pending passages, held by one process at a time.

    An OS file lock (`filelock`: flock on POSIX, msvcrt on Windows), so it is released when the
    holder exits or crashes; the holder's pid and name are written beside it for messages.
    Use one object per run: acquire() does not wait, release() is safe to call twice.
    """

    def __init__(self, db_path: Path) -> None:
        # Owner-only, as every file of the library (db.py). No soft fallback where the file
        # system has no OS locks (some network shares): a marker file a crashed holder left
        # would keep every later run waiting; there, runs embed as they did before leases.
        self._lock = FileLock(f"{db_path}.embedding.lock", mode=0o600, thread_local=False,
                              preserve_lock_file=True, fallback_to_soft=False)
        self._owner = Path(f"{db_path}.embedding.owner")

    def acquire(self) -> bool:
        """Take the lease if no other process (or other EmbeddingLease) holds it; True also
        where no lock can be made (a folder that refuses the lock file: as before leases)."""
        taken = self._take()
        if taken is None:
            return True
        if not taken:
            return False
        owner = json.dumps({"pid": os.getpid(), "program": program_name(), "since": time.time()})
        with contextlib.suppress(OSError):  # only a message depends on it
            descriptor = os.open(self._owner, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(owner)
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    def holder(self) -> Holder | None:
        """Who holds the lease when someone else does, else None (free, or held by this object)."""
        if self._lock.is_locked or not self._held_elsewhere():
            return None
        try:
            data = json.loads(self._owner.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data["program"]), float(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return Holder(0, "another notesearch process", time.time())

    def _take(self) -> bool | None:
        """Lock without waiting: True, False when another holds it, None when the lock file
        cannot be made or locked (a read-only folder, a file system without OS locks)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        except (OSError, NotImplementedError) as error:
            log.debug("no embedding lease in this folder: %s", error)
            return None
        return True

    def _held_elsewhere(self) -> bool:
        if not Path(self._lock.lock_file).exists():
            return False
        taken = self._take()
        if taken:
            self.release()
        return taken is False
