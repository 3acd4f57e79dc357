"""GUI test setup: offscreen Qt, and one real index of the sample notes per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any Qt import: no display is needed, and none is touched.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from notesearch.core.config import HOME_ENV  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.gui import actions, operations  # noqa: E402
from tests.helpers import copy_sample_index  # noqa: E402


@pytest.fixture(scope="session")
def gui_index(tmp_path_factory: pytest.TempPathFactory, sample_index: Path,
              e5) -> Path:  # noqa: ANN001
    """A home with a copy of the sample notes indexed by the real local model (copied from
    the session's one index of them)."""
    root = tmp_path_factory.mktemp("gui")
    copy_sample_index(sample_index, root, e5).close()
    return root


@pytest.fixture
def notes_dir(gui_index: Path) -> Path:
    return gui_index / "notes"


@pytest.fixture
def library(gui_index: Path, e5, monkeypatch: pytest.MonkeyPatch) -> Iterator[Library]:  # noqa: ANN001
    """A Library over the shared index, with $NOTESEARCH_HOME pointing at it."""
    home = gui_index / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    lib = Library(home=home, embedder=e5)
    yield lib
    operations.wait_for_all()
    lib.close()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every URL or program the app asked the desktop to open, instead of opening it."""
    calls: list[object] = []
    monkeypatch.setattr(actions, "open_url", lambda url: calls.append(url) or True)
    monkeypatch.setattr(actions, "launch", lambda argv: calls.append(list(argv)) or True)
    return calls
