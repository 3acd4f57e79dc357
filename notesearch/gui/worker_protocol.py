"""The indexing process's line protocol, typed once for both ends (Qt-free).

The app writes commands to the process's stdin, one word a line; the process writes events to
stdout, one JSON object a line: {"event": NAME, ...fields}. `encode` and `decode` are the only
places either side turns an event into text or back.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Literal

from notesearch.core.indexer import IndexSummary
from notesearch.core.progress import Progress

log = logging.getLogger(__name__)

Command = Literal["index", "pause", "resume", "quit"]
COMMANDS: tuple[Command, ...] = ("index", "pause", "resume", "quit")


@dataclass(frozen=True)
class Ready:
    """The process is up and reads commands."""

    pid: int


@dataclass(frozen=True)
class Progressed:
    """A progress report of the running index."""

    progress: Progress


@dataclass(frozen=True)
class Finished:
    """An index run ended (possibly cancelled by a newer command); `problem` says why meaning
    search is unavailable, if it is, with its kind (errors.py)."""

    summary: IndexSummary
    problem: str | None = None
    problem_kind: str | None = None


@dataclass(frozen=True)
class Updated:
    """The watcher brought changed files up to date (same fields as Finished)."""

    summary: IndexSummary
    problem: str | None = None
    problem_kind: str | None = None


@dataclass(frozen=True)
class Failed:
    """An index run stopped on an error it could not report in a summary."""

    message: str


Event = Ready | Progressed | Finished | Updated | Failed


def encode(event: Event) -> str:
    """Return the event as one line of JSON (with its newline)."""
    if isinstance(event, Progressed):
        fields: dict[str, object] = {"event": "progress", **dataclasses.asdict(event.progress)}
    elif isinstance(event, Finished | Updated):
        fields = {"event": "finished" if isinstance(event, Finished) else "updated",
                  "summary": event.summary.to_json(), "problem": event.problem,
                  "problem_kind": event.problem_kind}
    elif isinstance(event, Ready):
        fields = {"event": "ready", "pid": event.pid}
    else:
        fields = {"event": "error", "message": event.message}
    return json.dumps(fields, ensure_ascii=False) + "\n"


def decode(line: bytes | str) -> Event | None:
    """Return the event a line holds, or None for anything else (a stray print, a line from a
    newer or older version), which is logged and skipped."""
    try:
        fields = json.loads(line)
        name = fields.pop("event")
        if name == "progress":
            return Progressed(Progress(**fields))
        if name in ("finished", "updated"):
            kind = Finished if name == "finished" else Updated
            return kind(IndexSummary.from_json(fields["summary"]), fields.get("problem"),
                        fields.get("problem_kind"))
        if name == "ready":
            return Ready(int(fields["pid"]))
        if name == "error":
            return Failed(str(fields.get("message") or "unknown error"))
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    log.debug("the indexing process said: %r", line)
    return None
