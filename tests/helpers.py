"""Shared test helpers: copying the sample notes, opening libraries in temporary homes."""

from __future__ import annotations

import shutil
from pathlib import Path

from notesearch.core.config import Settings, sample_notes_folder
from notesearch.core.library import Library


def copy_samples(dest: Path) -> Path:
    """Copy the bundled sample notes into `dest` and return the copy's folder."""
    target = dest / "notes"
    shutil.copytree(sample_notes_folder(), target)
    return target


def copy_sample_index(source: Path, dest: Path, embedder) -> Library:
    """Copy an indexed sample folder (see the `sample_index` fixture) to `dest` and return its
    library, pointed at the copied notes; nothing is embedded again (vectors are keyed by
    text, and kept while their notes are re-read). `library.notes_root` is the notes folder."""
    shutil.copytree(source, dest, dirs_exist_ok=True)
    library = open_library(dest / "home", embedder=embedder)
    library.remove_folder(source / "notes")
    library.add_folder(dest / "notes")
    summary = library.index()
    assert summary.chunks_embedded == 0 and summary.embedding_error is None, summary
    library.notes_root = dest / "notes"
    return library


def open_library(home: Path, embedder=None, **settings) -> Library:
    """Return a Library in `home` with default settings overridden by keyword arguments."""
    return Library(home=home, settings=Settings(**settings), embedder=embedder)


def titles(results) -> list[str]:
    return [r.title for r in results]


def rel_paths(results, root: Path) -> list[str]:
    return [str(Path(r.path).relative_to(root)) for r in results]


def library_of(tmp_path: Path, files: dict[str, str], embedder=None) -> Library:
    """Return a library of these notes (relative path -> text), indexed by words and, with an
    embedder, by meaning; `library.notes_root` is their folder."""
    notes = tmp_path / "notes"
    for rel, text in files.items():
        (notes / rel).parent.mkdir(parents=True, exist_ok=True)
        (notes / rel).write_text(text, encoding="utf-8")
    library = open_library(tmp_path / "home", embedder=embedder)
    library.add_folder(notes)
    if embedder is None:
        library.scan()
    else:
        library.index()
    library.notes_root = notes
    return library
