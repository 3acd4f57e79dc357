"""Shared test helpers: copying the sample notes, opening libraries in temporary homes."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
from pathlib import Path

from notesearch.core.config import HOME_ENV, Settings, sample_notes_folder
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


def as_schema(home: Path, version: int, *statements: str) -> None:
    """Turn the closed library in `home` back into one an older notesearch left: run
    `statements` (undoing what later schemas did) and set its schema version, in one
    transaction; the next open upgrades it."""
    import apsw

    from notesearch.core.text import register_tokenizer

    conn = apsw.Connection(str(home / "library.db"))
    register_tokenizer(conn)  # the keyword index's, as every connection to a library needs
    with conn:
        for statement in statements:
            conn.execute(statement)
        for added_in, table, column in COLUMNS_ADDED:
            if version < added_in:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute(f"PRAGMA user_version = {int(version)}")
    conn.close()


#: (schema, table, column) of the columns later schemas add, which as_schema takes out again.
COLUMNS_ADDED = [(13, "notes", "summary"), (15, "embeddings", "script")]


def marked_by_migrations_to(home: Path, version: int) -> set[str]:
    """Run the closed library's schema steps up to `version` only (not the newest: schema 12
    marks every note) and return the file names they marked for reading again."""
    import apsw

    from notesearch.core.migrations import MIGRATIONS
    from notesearch.core.text import register_tokenizer

    conn = apsw.Connection(str(home / "library.db"))
    register_tokenizer(conn)
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(current + 1, version + 1):
            with conn:
                MIGRATIONS[step - 1](conn)
                conn.execute(f"PRAGMA user_version = {step}")
        return {path.replace("\\", "/").rsplit("/", 1)[-1] for (path,) in conn.execute(
            "SELECT path FROM notes WHERE size = -1")}
    finally:
        conn.close()


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


def cli_here(home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `notesearch ARGS` with $NOTESEARCH_HOME=home in this process: cli.main, what
    `python -m notesearch` runs, with its exit code, stdout and stderr returned as a finished
    process's. A process of its own costs ~0.8 s of start-up and imports; use this where the
    command's output is the point, not the process (tests of the process boundary keep one)."""
    from notesearch import cli

    # main() calls logging.basicConfig: under pytest the root logger has its capture handlers,
    # so that adds nothing; without them it would leave a handler on our StringIO behind.
    assert logging.getLogger().handlers, "cli_here needs pytest's log capture"
    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
    finally:
        if previous is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous
    return subprocess.CompletedProcess(["notesearch", *args], code, out.getvalue(),
                                       err.getvalue())


def fold_chinese(monkeypatch, table) -> None:  # noqa: ANN001
    """Have text.normalise fold by `table` (None: the rule of today, built again; a copy of
    text._FOLDS: the rule before traditional Chinese was folded), with nothing kept of the
    rule before (its caches)."""
    from notesearch.core import text

    monkeypatch.setattr(text, "_ALL_FOLDS", table)
    monkeypatch.setattr(text, "_FOLDS_TO", {})
    monkeypatch.setattr(text, "_FOLDS_TO_ITSELF", set())
    for kept in (text.stem, text._normalise_piece, text._read_words, text.phrase_key,
                 text._match_plan):
        kept.cache_clear()
