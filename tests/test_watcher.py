"""The watcher with real watchdog events: saves, atomic saves, deletions and folder moves."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from notesearch.core.watcher import FolderWatcher
from tests.helpers import library_of, open_library


@pytest.fixture
def watched(tmp_path, e5):
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "start.md").write_text("# Start\nA note that exists before watching.")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.index()
    updates: list = []
    watcher = FolderWatcher(library, on_update=updates.append)
    watcher.start()
    library.updates = updates  # what the app's status bar is told after each batch
    library.watcher = watcher
    yield library, notes
    watcher.stop()
    library.close()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def paths_for(library, query):
    """Notes matching `query` by words (meaning search always returns the nearest notes)."""
    return [Path(r.path).name for r in library.search(query, k=5, mode="words").results]


def test_new_file_becomes_searchable_by_words_and_meaning(watched):
    library, notes = watched
    (notes / "sub" / "kayak.md").write_text("# Kayak\nPaddling a sea kayak along the fjord.")
    assert wait_for(lambda: "kayak.md" in paths_for(library, "fjord"))
    assert wait_for(lambda: any(
        Path(r.path).name == "kayak.md"
        for r in library.search("boat trip on the water", k=3, mode="meaning").results))
    assert sum(u.added for u in library.updates) == 1  # the app is told of the new note
    assert sum(u.chunks_embedded for u in library.updates) == 1


def test_a_canvas_saved_while_watching_becomes_searchable(watched):
    library, notes = watched
    (notes / "Board.canvas").write_text(
        '{"nodes":[{"id":"a1","type":"text","text":"Kayak trip along the fjord",'
        '"x":0,"y":0,"width":250,"height":60}],"edges":[]}')
    assert wait_for(lambda: "Board.canvas" in paths_for(library, "fjord"))


def test_an_org_file_saved_while_watching_becomes_searchable(watched):
    library, notes = watched
    (notes / "trips.org").write_text("#+title: Trips\n* Kayak trip along the fjord\n")
    assert wait_for(lambda: "trips.org" in paths_for(library, "fjord"))


def test_atomic_save_via_rename_is_picked_up(watched):
    library, notes = watched
    tmp = notes / ".start.md.tmp"
    tmp.write_text("# Start\nNow about mountain goats.")
    os.replace(tmp, notes / "start.md")  # how many editors save: write a temp, move it over
    assert wait_for(lambda: "start.md" in paths_for(library, "mountain goats"))
    assert paths_for(library, "exists before watching") == []


def test_deleted_file_and_moved_away_folder_leave_results(watched, tmp_path):
    library, notes = watched
    (notes / "sub" / "owl.md").write_text("# Owl\nBarn owls hunt at dusk.")
    assert wait_for(lambda: "owl.md" in paths_for(library, "barn owls"))
    shutil.move(str(notes / "sub"), str(tmp_path / "elsewhere"))
    assert wait_for(lambda: paths_for(library, "barn owls") == [])
    (notes / "start.md").unlink()
    assert wait_for(lambda: paths_for(library, "exists before watching") == [])


def test_many_files_at_once_are_one_batch(watched):
    library, notes = watched
    for i in range(300):  # more than the bulk threshold, like a git checkout
        (notes / f"bulk{i}.md").write_text(f"# Bulk {i}\nGenerated note number {i} zebra.")
    assert wait_for(lambda: library.status().notes == 301, timeout=60)
    # Stopping (the app pausing or quitting) does not wait for the batch's 300 passages to be
    # embedded (it did, for seconds): they are left pending for the next run.
    library.watcher.stop()
    assert library.status().pending_chunks > 0


def test_a_file_name_that_is_not_utf8_costs_nothing_else_in_its_batch(watched):
    library, notes = watched
    with open(os.fsencode(notes) + b"/r\xe9sum\xe9.md", "wb") as f:
        f.write(b"# Resume\nAn old CV.")
    (notes / "heron.md").write_text("# Heron\nA grey heron stood in the reeds.")
    assert wait_for(lambda: "heron.md" in paths_for(library, "grey heron"))
    assert wait_for(lambda: any("UTF-8" in reason for _, reason in library.status().skipped))


def test_an_ignore_rule_added_while_watching_takes_effect_at_once(watched):
    library, notes = watched
    (notes / "drafts").mkdir()
    (notes / "drafts" / "secret.md").write_text("# Secret\nUnfinished thoughts on pelicans.")
    assert wait_for(lambda: "secret.md" in paths_for(library, "pelicans"))
    (notes / ".gitignore").write_text("drafts/\n")
    assert wait_for(lambda: paths_for(library, "pelicans") == [], timeout=10)
    (notes / ".gitignore").write_text("")  # and back
    assert wait_for(lambda: "secret.md" in paths_for(library, "pelicans"), timeout=10)


def test_an_edit_made_before_watching_starts_is_caught_at_once(tmp_path, e5):
    """A fresh-user trial: a note edited while the first index ran (paused) was not searchable
    after it finished, until the periodic rescan five minutes on. The watcher that follows
    an index now reconciles the folders as it starts."""
    library = library_of(tmp_path, {"garden.md": "# Garden\nCompost the leaves."}, e5)
    (library.notes_root / "garden.md").write_text(
        "# Garden\nCompost the leaves.\nFlugelhorn lesson.")
    watcher = FolderWatcher(library, rescan_seconds=3600)
    watcher.start(catch_up=True)
    try:
        assert wait_for(lambda: paths_for(library, "flugelhorn") == ["garden.md"], timeout=10)
    finally:
        watcher.stop()
        library.close()


def test_a_save_is_read_while_a_big_note_is_being_embedded(watched):
    """A fresh-user trial: a 1 MB text file dropped into a watched folder took minutes to
    embed, and meanwhile a note saved beside it was not found even by its words, and the big
    file, deleted, stayed in the results. Embedding now stops for changes, then goes on."""
    library, notes = watched
    lines = [f"Tide log entry {i}: station {i % 97} measured {i * 7 % 113} centimetres "
             f"of water at dawn, wind {i % 13} knots from the {('north', 'west')[i % 2]}."
             for i in range(6000)]  # about a thousand passages: minutes of embedding here
    (notes / "tide log.md").write_text("# Tide log\n\n" + "\n\n".join(lines))
    assert wait_for(lambda: "tide log.md" in paths_for(library, "centimetres"), timeout=60)
    assert library.status().pending_chunks > 100  # its passages are being embedded now
    (notes / "quokka.md").write_text("# Quokka\nA quokka smiled at us on Rottnest Island.")
    assert wait_for(lambda: paths_for(library, "rottnest") == ["quokka.md"], timeout=10)
    # The newest note's passage is embedded first, before the rest of the big one's.
    assert wait_for(lambda: Path(library.search(
        "small marsupial that seems to smile", k=1, mode="meaning").results[0].path).name
        == "quokka.md", timeout=20)
    (notes / "tide log.md").unlink()
    assert wait_for(lambda: paths_for(library, "centimetres") == [], timeout=10)
    assert wait_for(lambda: library.status().pending_chunks == 0, timeout=10)
