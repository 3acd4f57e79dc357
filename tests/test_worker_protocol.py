"""The indexing process's line protocol: every event survives the trip through one line."""

from __future__ import annotations

import json

from notesearch.core.indexer import IndexSummary
from notesearch.core.progress import Progress
from notesearch.gui.worker_protocol import (
    Failed,
    Finished,
    Progressed,
    Ready,
    Updated,
    decode,
    encode,
)


def test_every_event_is_one_line_of_json_and_comes_back_equal() -> None:
    summary = IndexSummary(added=3, skipped=[("/n/a.bin", "binary file")],
                           embedding_error="No key", embedding_error_kind="no_key")
    events = [Ready(42), Progressed(Progress("embedding", 5, 9, 61.5, "notes/日記.md")),
              Finished(summary, "No OpenAI API key is stored.", "no_key"),
              Updated(IndexSummary(updated=1)), Failed("disk full")]
    for event in events:
        line = encode(event)
        assert line.endswith("\n") and line.count("\n") == 1
        assert json.loads(line)["event"] in ("ready", "progress", "finished", "updated", "error")
        assert decode(line.encode()) == event


def test_anything_else_on_the_line_is_skipped() -> None:
    for line in (b"Warning: something printed by a library", b"{}", b'{"event": "hello"}',
                 b'{"event": "finished"}', b'{"event": "progress", "phase": 3}', b"[1, 2]"):
        assert decode(line) is None, line
