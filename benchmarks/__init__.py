"""Benchmarks: scripts that print figures for the README (see each script's docstring)."""

from __future__ import annotations

import os
from pathlib import Path

#: Overrides where the evaluation data is (the smoke tests point it at a tiny copy).
EVAL_ENV = "NOTESEARCH_EVAL"


def eval_root() -> Path:
    """Return the evaluation data folder: $NOTESEARCH_EVAL, else ../shared/eval beside the
    repository. It may be absent: each benchmark then says so and measures nothing."""
    override = os.environ.get(EVAL_ENV)
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "eval"
