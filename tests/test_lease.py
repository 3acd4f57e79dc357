"""One process embeds a library at a time: a second `notesearch index` waits, the watcher not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from notesearch.core.lease import EmbeddingLease
from tests.helpers import open_library


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def notes_in(folder: Path) -> Path:
    write(folder / "kites.md", "# Kites\nFlying kites on a windy beach in autumn.")
    write(folder / "sailing.md", "# Sailing\nA small dinghy needs steady wind to sail well.")
    write(folder / "soup.md", "# Soup\nLentil soup with cumin and lemon.")
    return folder


def test_the_lease_is_held_by_one_holder_and_names_it(tmp_path):
    first, second = EmbeddingLease(tmp_path / "library.db"), EmbeddingLease(tmp_path / "library.db")
    assert second.holder() is None  # free: nobody to name
    assert first.acquire()
    assert not second.acquire()
    holder = second.holder()
    assert holder is not None and holder.pid == os.getpid()
    assert first.holder() is None  # its own lease is nobody else's
    first.release()
    assert second.holder() is None and second.acquire()
    second.release()
    # Owner-only, as every file of the library.
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"library.db.embedding.lock": 0o600, "library.db.embedding.owner": 0o600}


def test_a_second_index_run_waits_for_the_one_embedding_and_embeds_what_is_left(tmp_path):
    """Two `notesearch index` runs (or the app and one) each embedded every pending passage."""
    notes = notes_in(tmp_path / "notes")
    home = tmp_path / "home"
    env = {**os.environ, "NOTESEARCH_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "notesearch", "index", "--no-embed", str(notes)],
                   env=env, check=True, capture_output=True, timeout=120)
    held = EmbeddingLease(home / "library.db")
    assert held.acquire()  # this test process plays the other indexer
    try:
        child = subprocess.Popen([sys.executable, "-m", "notesearch", "index"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        status = ""
        deadline = time.monotonic() + 120
        while "is embedding them now" not in status and time.monotonic() < deadline:
            time.sleep(0.5)
            status = subprocess.run([sys.executable, "-m", "notesearch", "status"], env=env,
                                    capture_output=True, text=True, timeout=120).stdout
        assert f"(pid {os.getpid()}) is embedding them now" in status, status
        found = subprocess.run([sys.executable, "-m", "notesearch", "search", "--json", "kites"],
                               env=env, capture_output=True, text=True, timeout=120).stdout
        assert json.loads(found)["embedding_now"].endswith(f"(pid {os.getpid()})")
        time.sleep(1.5)
        assert child.poll() is None, child.communicate()  # still waiting: nothing embedded
        assert "Waiting to be embedded: 3 passages" in status
    finally:
        held.release()
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert "waiting for it" in err  # its progress said why it was not embedding
    assert "3 passage texts embedded" in out  # once free, it did the work left
    # The holder stopped (here without embedding; a crashed one alike): the run says it
    # embedded what was left, not that the other process did.
    assert (f"(pid {os.getpid()}) was embedding this library's notes; this run waited for it "
            "to stop, then embedded what it had left.") in out


def test_the_watcher_leaves_new_passages_to_the_process_embedding(tmp_path, e5):
    """Saved notes are read for keyword search at once; their passages wait for the holder."""
    notes = notes_in(tmp_path / "notes")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.scan()
    held = EmbeddingLease(library.db_path)
    assert held.acquire()
    try:
        started = time.monotonic()
        summary = library.embed(wait=False)
        assert time.monotonic() - started < 5
        assert summary.chunks_embedded == 0 and summary.pending_chunks == 3
        assert summary.embedding_elsewhere is not None
        assert str(os.getpid()) in summary.embedding_elsewhere
        assert library.search("kites", k=1).results[0].title == "Kites"  # by words meanwhile
    finally:
        held.release()
    summary = library.embed(wait=False)
    assert summary.chunks_embedded == 3 and summary.pending_chunks == 0
    library.close()


def test_passages_left_by_the_watcher_as_the_holder_finishes_are_embedded(tmp_path, e5,
                                                                          monkeypatch):
    """A watcher that finds the lease taken leaves its note's passages to the holder; if they
    arrive after the holder's last look for work, the holder embeds them before it is done
    (else they waited for the next save or the five-minute rescan). The note is saved, and
    the watcher's run made, at the moment the holder lets go of the lease."""
    notes = notes_in(tmp_path / "notes")
    holder = open_library(tmp_path / "home", embedder=e5)
    holder.add_folder(notes)
    holder.scan()
    watcher = open_library(tmp_path / "home", embedder=e5)
    release = EmbeddingLease.release
    saved: list[object] = []

    def release_after_a_save(self):
        if not saved and self._lock.is_locked:
            write(notes / "owls.md", "# Owls\nBarn owls hunt over the meadow at dusk.")
            watcher.scan()
            saved.append(watcher.embed(wait=False))  # the lease is still taken: left to us
        release(self)

    monkeypatch.setattr(EmbeddingLease, "release", release_after_a_save)
    summary = holder.embed()
    assert saved and saved[0].chunks_embedded == 0 and saved[0].embedding_elsewhere
    assert summary.pending_chunks == 0 and summary.chunks_embedded == 4
    assert holder.search("barn owls", k=1, mode="meaning").results[0].title == "Owls"
    holder.close()
    watcher.close()
