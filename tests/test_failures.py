"""What a user sees when things go wrong: a full disk, a rejected key, a provider that is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notesearch.core.errors import StorageFull
from tests.helpers import as_schema, cli_here, fold_chinese, open_library


def write_notes(folder: Path, count: int, words: int = 60) -> None:
    """`count` notes of `words` made-up words ("word3x7": note 3, word 7). Tests that embed
    them with the local model and need no more than a few words use words=8: at 60 (~360
    tokens a note) embedding them was most of those tests' time."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = " ".join(f"word{i}x{j}" for j in range(words))
        (folder / f"note{i:03}.md").write_text(f"# Note {i}\n{body}\n", encoding="utf-8")


def test_full_disk_stops_with_clear_message_and_keeps_finished_notes(tmp_path, e5):
    notes = tmp_path / "notes"
    write_notes(notes, 200)
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    # SQLite's own "database or disk is full" path, reached by capping the file's size.
    pages = library.conn.execute("PRAGMA page_count").fetchone()[0]
    library.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
    with pytest.raises(StorageFull) as raised:
        library.scan()
    assert "is full" in str(raised.value) and "Free some space" in str(raised.value)
    assert library.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = library.status().notes
    assert 0 < kept < 200
    # Every note that is in the index is whole: each has its chunks and keyword entries.
    orphans = library.conn.execute(
        "SELECT COUNT(*) FROM notes n WHERE NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.note_id = n.id)").fetchone()[0]
    assert orphans == 0
    library.conn.execute("PRAGMA max_page_count = 1073741823")
    summary = library.scan()
    assert summary.added == 200 - kept and library.status().notes == 200
    library.close()


def test_rejected_key_keeps_keyword_search_and_says_why(tmp_path, fake_openai):
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\nFlying kites on a windy beach.")
    embedder = OpenAIEmbedder(base_url=fake_openai.base_url, api_key="sk-wrong-key-123456",
                              dimensions=64)
    library = open_library(tmp_path / "home", embedder=embedder)
    library.add_folder(notes)
    summary = library.index()
    assert "rejected" in summary.embedding_error.lower()
    assert summary.embedding_error_kind == "key_rejected"
    assert "sk-wrong-key-123456" not in summary.embedding_error
    assert len(fake_openai.requests) == 1  # no retry loop against a rejected key
    response = library.search("kites", k=3)
    assert response.results[0].title == "Kites"
    assert response.results[0].match == "words"
    assert response.notes_not_embedded == 1
    library.close()
    # Vectors made with a good key, then the key is revoked: search still answers by words.
    good = OpenAIEmbedder(base_url=fake_openai.base_url, api_key=fake_openai.key, dimensions=64)
    open_library(tmp_path / "home", embedder=good).index()
    revoked = open_library(tmp_path / "home", embedder=embedder)
    response = revoked.search("kites on the beach", k=3)
    assert response.results[0].title == "Kites"
    assert "rejected" in response.meaning_unavailable
    revoked.close()


def test_provider_down_leaves_work_pending_for_next_run(tmp_path):
    from notesearch.core.embedders.openai_api import OpenAIEmbedder
    from tests.fake_openai import closed_port_url

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("# Tea\nGreen tea steeps at 80 degrees.")
    embedder = OpenAIEmbedder(base_url=closed_port_url(), api_key="k", dimensions=64,
                              timeout=1, max_attempts=2)
    library = open_library(tmp_path / "home", embedder=embedder)
    library.add_folder(notes)
    summary = library.index()
    assert "could not reach" in summary.embedding_error.lower()
    assert summary.embedding_error_kind == "offline"
    assert summary.pending_chunks == 1
    assert library.search("green tea", k=1).results[0].title == "Tea"
    library.close()


INDEX_AND_WAIT = """
import sys
from pathlib import Path
from notesearch.core.library import Library
library = Library(home=Path(sys.argv[1]))
def progress(p):
    if p.phase == "embedding" and p.done > 0 and not getattr(progress, "told", False):
        progress.told = True
        print("embedding", flush=True)
        sys.stdin.readline()  # hold here, mid-run, until the other process has searched
summary = library.index(progress=progress)
print(summary.chunks_embedded, flush=True)
"""


def test_second_process_searches_while_first_indexes(tmp_path, e5):
    """The CLI or the app searches while another process is half-way through embedding: the
    child waits, mid-run, until the search is done, so the two really overlap."""
    notes = tmp_path / "notes"
    write_notes(notes, 40, words=8)  # two batches of passages: the child stops after the first
    (notes / "owl.md").write_text("# Owl\nBarn owls hunt at dusk over the meadow.")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.scan()  # words are searchable; embedding still to do
    child = subprocess.Popen([sys.executable, "-c", INDEX_AND_WAIT, str(tmp_path / "home")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).parent.parent)
    try:
        assert child.stdout.readline().strip() == "embedding"
        assert child.poll() is None  # still indexing
        response = library.search("barn owls", k=1, mode="words")
        assert response.results[0].title == "Owl"
        # (A search by words alone says nothing of vectors; one that uses them does.)
        assert response.notes_not_embedded == 0
        assert 0 < library.search("barn owls", k=1).notes_not_embedded < 41
        child.stdin.write("go\n")
        child.stdin.flush()
        out, _ = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    chunks = library.conn.execute("SELECT COUNT(DISTINCT hash) FROM chunks").fetchone()[0]
    assert child.returncode == 0 and int(out.strip()) == chunks
    assert library.search("barn owls", k=1).notes_not_embedded == 0
    library.close()


def test_cli_key_commands_use_the_real_keyring(tmp_path, real_keyring):
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}
    env.pop("OPENAI_API_KEY", None)

    def cli(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "notesearch", *args], env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)

    secret = "sk-test-cli-" + "z" * 30
    assert cli("key", "set", stdin=secret + "\n").returncode == 0
    status = cli("key", "status")
    assert "OpenAI key: set" in status.stdout and secret not in status.stdout
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes()
    assert "Key removed" in cli("key", "clear").stdout
    assert "not set" in cli("key", "status").stdout


def test_cli_stores_a_compatible_servers_key_apart_and_indexing_uses_it(tmp_path, real_keyring,
                                                                        fake_openai):
    """`key set --server URL` keeps that server's key in its own keyring entry, and it is sent."""
    from notesearch.core.config import Settings

    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "NOTESEARCH_HOME": str(home)}
    env.pop("OPENAI_API_KEY", None)

    def cli(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "notesearch", *args], env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)

    server = fake_openai.base_url
    stored = cli("key", "set", "--server", server, stdin=fake_openai.key + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "stored" in stored.stdout
    host = server.split("//")[1].split("/")[0]
    assert f"Key for {host}: set\n" in cli("key", "status", "--server", server).stdout
    assert "OpenAI key: not set" in cli("key", "status").stdout  # OpenAI's entry is untouched
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("# Tea\nGreen tea steeps at 80 degrees.\n")
    Settings().with_options("openai", base_url=server).save(home)
    indexed = cli("index", "--json", str(notes))
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["embedding_error"] is None
    assert fake_openai.requests, "the embeddings were not requested from the server"
    assert "not a server URL" in cli("key", "set", "--server", "localhost:1", stdin="x\n").stderr


def test_file_name_that_is_not_utf8_is_skipped_with_a_reason_and_indexing_goes_on(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "good.md").write_text("# Good\nKites ride the spring wind.")
    bad = os.fsencode(notes) + b"/caf\xe9.md"  # Latin-1 bytes, as an old archive extracts them
    with open(bad, "wb") as f:
        f.write(b"# Cafe\nEspresso notes.")
    os.makedirs(os.fsencode(notes) + b"/d\xefr", exist_ok=True)
    with open(os.fsencode(notes) + b"/d\xefr/inside.md", "wb") as f:
        f.write(b"# Inside\nA note in a folder with a Latin-1 name.")
    (notes / "zzz.md").write_text("# Later\nTulips come after the odd name.")
    env = {**os.environ, "NOTESEARCH_HOME": str(tmp_path / "home")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "notesearch", *args], env=env,
                              capture_output=True, text=True, cwd=Path(__file__).parent.parent,
                              timeout=300)

    done = cli("index", "--json", str(notes))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    status = cli("status", "--json")
    skipped = {Path(s["path"]).name: s["reason"] for s in json.loads(status.stdout)["skipped"]}
    assert "UTF-8" in skipped["caf\ufffd.md"] and "rename" in skipped["caf\ufffd.md"]
    assert "folder name" in skipped["d\ufffdr"]
    assert json.loads(status.stdout)["notes"] == 2  # the notes after the odd name are indexed
    found = cli("search", "--json", "--mode", "words", "tulips")
    assert [Path(r["path"]).name for r in json.loads(found.stdout)["results"]] == ["zzz.md"]


def test_a_full_disk_is_reported_wherever_the_write_stops(tmp_path, e5):
    """The disk fills at a different statement of a note's transaction each time; where SQLite
    rolls the transaction back itself, the failed second rollback must not hide "disk full".
    (The session's local model, not one built per library: building it hashes its 54 MB of
    weights, 17 times over; a scan only counts tokens with it.)"""
    notes = tmp_path / "notes"
    write_notes(notes, 200)  # the same notes each time; only the room left differs
    for extra in range(5, 120, 7):
        library = open_library(tmp_path / f"home{extra}", embedder=e5)
        library.add_folder(notes)
        pages = library.conn.execute("PRAGMA page_count").fetchone()[0]
        library.conn.execute(f"PRAGMA max_page_count = {pages + extra}")
        with pytest.raises(StorageFull):
            library.scan()
        assert library.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        library.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_library_is_readable_by_its_owner_only(tmp_path):
    """Database, WAL, SHM and settings 0600, the library folder 0700, whatever the umask; a
    library made by an older build with 0644/0755 is tightened when opened."""
    notes = tmp_path / "notes"
    write_notes(notes, 3, words=8)
    home = tmp_path / "home"
    env = {**os.environ, "NOTESEARCH_HOME": str(home)}
    done = subprocess.run(["sh", "-c", f'umask 022; exec "{sys.executable}" -m notesearch '
                           f'index "{notes}"'], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "library.db").stat().st_mode & 0o777 == 0o600
    library = open_library(home)
    library.settings.exclude = ["drafts/"]
    library.reload_settings(library.settings)
    with library.conn:  # a write: the WAL and SHM files exist while it is open
        library.conn.execute("UPDATE notes SET title = title")
    for name in ("library.db", "library.db-wal", "library.db-shm", "settings.json"):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name
    library.close()
    for path, mode in ((home, 0o755), (home / "library.db", 0o644),
                       (home / "settings.json", 0o644)):
        path.chmod(mode)
    open_library(home).close()
    for path, mode in ((home, 0o700), (home / "library.db", 0o600),
                       (home / "settings.json", 0o600)):
        assert path.stat().st_mode & 0o777 == mode, path


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def mounts():  # noqa: ANN201
    """Mount points made by the test, unmounted afterwards; skips where mounting is refused."""
    made: list[Path] = []

    def mount(*args: str) -> None:
        if not _mount(*args):
            pytest.skip("mounting needs root (CAP_SYS_ADMIN)")
        made.append(Path(args[-1]))

    yield mount
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notesearch", *args],
                          env={**os.environ, "NOTESEARCH_HOME": str(home)}, capture_output=True,
                          text=True, cwd=Path(__file__).parent.parent, timeout=300)


def _assert_searchable_not_writable(home: Path, notes: Path, why: str) -> None:
    """What `notesearch` says of the library: each command opens it afresh, as a new process
    would, but runs here (cli_here: five processes cost ~4 s of start-up; the library itself
    was made by a real `notesearch index` process)."""
    found = cli_here(home, "search", "--json", "--mode", "words", "word1x5")
    assert found.returncode == 0, found.stderr
    assert [Path(r["path"]).name for r in json.loads(found.stdout)["results"]] == ["note001.md"]
    status = cli_here(home, "status")
    assert status.returncode == 0 and f"Read-only: {why}" in status.stdout, status.stderr
    assert json.loads(cli_here(home, "status", "--json").stdout)["read_only"] == why
    for args in (("index",), ("index", str(notes))):
        refused = cli_here(home, *args)
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        assert f"cannot be written: {why}. Search answers" in refused.stderr


def test_a_read_only_library_answers_searches_and_says_why_it_cannot_index(tmp_path, mounts):
    notes, home, mounted = tmp_path / "notes", tmp_path / "home", tmp_path / "ro"
    write_notes(notes, 4, words=8)
    assert _cli(home, "index", str(notes)).returncode == 0
    mounted.mkdir()
    mounts("--bind", str(home), str(mounted))
    mounts("-o", "remount,ro,bind", str(mounted))
    _assert_searchable_not_writable(mounted, notes, "the library's folder or file is read-only")


def test_a_full_disk_after_a_clean_close_still_answers_and_recovers(tmp_path, mounts):
    notes, disk = tmp_path / "notes", tmp_path / "disk"
    write_notes(notes, 4, words=8)
    disk.mkdir()
    mounts("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk))
    home = disk / "home"
    assert _cli(home, "index", str(notes)).returncode == 0
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass  # the disk is full
    _assert_searchable_not_writable(home, notes, "the disk is full")
    library = open_library(home)  # one process throughout, as the app is
    assert library.read_only == "the disk is full"
    assert library.search("word2x3", k=3, mode="words").results
    filler.unlink()
    (notes / "later.md").write_text("# Later\nA note saved once there was room again.\n")
    library.scan()  # writable again without a restart
    assert library.read_only is None
    assert library.search("room again", k=3, mode="words").results[0].title == "Later"
    library.close()


def test_indexing_needs_little_more_disk_than_the_finished_library(tmp_path, mounts):
    """The write-ahead log is checkpointed as indexing goes: a disk with 3 MB to spare beyond
    the finished 2.8 MB database holds a first keyword index (it needed 4.2 MB more before)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(300):
        words = " ".join(f"w{i}x{j} common{j % 50}" for j in range(150))
        (notes / f"n{i}.md").write_text(f"# Note {i}\n{words}\n", encoding="utf-8")
    reference = open_library(tmp_path / "reference")
    reference.add_folder(notes)
    reference.scan()
    reference.close()
    finished = (tmp_path / "reference" / "library.db").stat().st_size
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts("-t", "tmpfs", "-o", f"size={finished + 3_000_000}", "tmpfs", str(disk))
    library = open_library(disk / "home")
    library.add_folder(notes)
    summary = library.scan()
    assert summary.added == 300
    assert library.search("w299x7", k=1, mode="words").results[0].title == "Note 299"
    library.close()


def _embedded_by(server, tmp_path: Path, text: str):
    """A library of one note, embedded through the fake OpenAI-compatible `server`."""
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "note.md").write_text(text)
    embedder = OpenAIEmbedder(base_url=server.base_url, api_key=server.key, dimensions=64)
    library = open_library(tmp_path / "home", embedder=embedder)
    library.add_folder(notes)
    assert library.index().embedding_error is None
    return library


def test_a_hanging_server_never_holds_a_search_up_for_more_than_a_second(tmp_path, fake_openai,
                                                                         monkeypatch):
    """The first search after the server stops answering waits one short attempt; later ones
    answer by words at once while a background retry waits for the server, and meaning comes
    back by itself when it answers again."""
    import time

    from notesearch.core.embedders import guard

    monkeypatch.setattr(guard, "FIRST_RETRY", 0.1)
    library = _embedded_by(fake_openai, tmp_path, "# Kites\nFlying kites on a windy beach.")
    fake_openai.hang_next(count=3, seconds=8)
    waits = []
    for query in ("kites on the beach", "windy kites", "flying kites"):
        start = time.monotonic()
        response = library.search(query, k=3)
        waits.append(time.monotonic() - start)
        assert response.results[0].title == "Kites" and response.results[0].match == "words"
        assert "no answer within 1 s" in response.meaning_unavailable
        assert "retrying in the background" in response.meaning_unavailable
    assert waits[0] < 2.0 and max(waits[1:]) < 0.5, waits
    deadline = time.monotonic() + 20
    while library.search("kites by the sea", k=3).meaning_unavailable:
        assert time.monotonic() < deadline, "meaning search did not come back"
        time.sleep(0.2)
    assert library.search("kites by the sea", k=3, mode="meaning").results[0].title == "Kites"
    library.close()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_failing_server_costs_a_search_one_short_attempt(tmp_path, fake_openai, status):
    """429 and 5xx answers used to cost 5-8 s of retries per search."""
    import time


    library = _embedded_by(fake_openai, tmp_path, "# Tea\nGreen tea steeps at 80 degrees.")
    fake_openai.fail_next(status, count=50, headers={"Retry-After": "30"})
    start = time.monotonic()
    response = library.search("green tea", k=1)
    assert time.monotonic() - start < 1.5
    assert response.results[0].title == "Tea" and response.meaning_unavailable
    library.close()


def test_status_names_the_fault_that_stopped_embedding(tmp_path, fake_openai):
    """`status` in a later process says what failed, when and what to do, not only a count;
    it forgets the fault once embedding goes through."""
    from notesearch.core.config import Settings

    home = tmp_path / "home"
    home.mkdir()
    notes = tmp_path / "notes"
    write_notes(notes, 2)
    Settings().with_options("openai", base_url=fake_openai.base_url).save(home)
    fake_openai.key = "sk-a-key-this-library-does-not-have-0000"  # every request is refused
    assert _cli(home, "index", str(notes)).returncode == 0
    status = _cli(home, "status").stdout
    assert "Waiting to be embedded: 2 passages" in status
    assert "Embedding stopped at 20" in status and "rejected the API key" in status
    assert "Run `notesearch index` again" in status
    problem = json.loads(_cli(home, "status", "--json").stdout)["embedding_problem"]
    assert problem["kind"] == "key_rejected"
    fake_openai.key = "notesearch-no-key"  # the server now accepts what the library sends
    assert _cli(home, "index").returncode == 0
    assert "Embedding stopped" not in _cli(home, "status").stdout


def test_a_server_that_changes_its_vector_size_keeps_the_old_vectors(tmp_path, fake_openai):
    """A model whose size is learnt by probing: when the server switches to other vectors,
    the old space keeps its vectors and is used again, whole, when the server switches back;
    meanwhile search says why meaning is missing and status why notes are re-embedded."""
    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    write_notes(notes, 3)

    def library():
        embedder = OpenAIEmbedder("test-embed", base_url=fake_openai.base_url,
                                  api_key=fake_openai.key, max_attempts=1)  # size: a probe
        return open_library(tmp_path / "home", embedder=embedder)

    first = library()
    first.add_folder(notes)
    assert first.index().chunks_embedded == 3
    first.close()
    fake_openai.dim = 32
    fake_openai.normal_next(1)  # the size probe
    fake_openai.fail_next(500)  # then the re-embedding stops before it is done
    resized = library()
    summary = resized.index()
    assert summary.chunks_embedded == 0 and summary.embedding_error
    response = resized.search("word1x5", k=3)
    assert response.results[0].title == "Note 1"
    assert "vectors of 32 numbers, not the 64" in response.meaning_unavailable
    assert "vectors of 32 numbers, not 64" in resized.status().resize_notice
    resized.close()
    fake_openai.dim = 64
    requests = len(fake_openai.requests)
    back = library()
    assert back.index().chunks_embedded == 0  # the 64-number vectors were all kept
    assert len(fake_openai.requests) - requests == 1  # the probe only
    assert back.search("word2x7 word2x8", k=3, mode="meaning").results[0].title == "Note 2"
    back.close()


def test_upgrading_the_vector_spaces_keeps_every_vector(tmp_path, fake_openai):
    """Schema 6 rebuilds the spaces table; with foreign keys on, dropping it would have
    cascaded into every stored vector."""

    from notesearch.core.embedders.openai_api import OpenAIEmbedder

    notes = tmp_path / "notes"
    write_notes(notes, 3)
    embedder = OpenAIEmbedder(base_url=fake_openai.base_url, api_key=fake_openai.key,
                              dimensions=64)
    library = open_library(tmp_path / "home", embedder=embedder)
    library.add_folder(notes)
    library.index()
    library.close()
    as_schema(tmp_path / "home", 5)
    requests = len(fake_openai.requests)
    upgraded = open_library(tmp_path / "home", embedder=embedder)
    assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] >= 6
    assert upgraded.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 3
    assert upgraded.index().chunks_embedded == 0
    assert upgraded.search("word1x2 word1x3", k=1, mode="meaning").results
    assert len(fake_openai.requests) - requests == 1  # the query only
    upgraded.close()


def test_no_keyring_is_only_a_warning_while_the_local_model_needs_no_key(tmp_path):
    """`doctor` and `key status` exited 1 without a keyring although the default local model
    needs no key; with a remote provider configured it is a failure again."""
    from notesearch.core.config import Settings

    home = tmp_path / "home"
    env = {**os.environ, "NOTESEARCH_HOME": str(home),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("OPENAI_API_KEY", None)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "notesearch", *args], env=env,
                              capture_output=True, text=True, cwd=Path(__file__).parent.parent,
                              timeout=300)

    doctor = cli("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[warn] keyring: none available; the local provider needs no key" in doctor.stdout
    # The keyword index's tokenizer, Snowball's half included, was tried on a Russian word.
    assert "FTS5 with word stems (English, Russian" in doctor.stdout
    assert "traditional Chinese as simplified" in doctor.stdout  # OpenCC's table was read
    assert "words of 12 languages" in doctor.stdout  # pyspellchecker's lists were read
    status = cli("key", "status")
    assert status.returncode == 0
    assert "OpenAI key: not stored; no keyring available" in status.stdout
    Settings(provider="openai").save(home)
    doctor = cli("doctor")
    assert doctor.returncode == 1 and "[FAIL] keyring" in doctor.stdout


def test_a_search_opens_the_library_for_reading_only(tmp_path, e5):
    """A process that only reads (the CLI's search, similar, status) can never write by
    mistake; a library that does not exist yet or needs upgrading is still opened for it."""
    import apsw

    from notesearch.core.errors import LibraryReadOnly
    from notesearch.core.library import Library

    fresh = Library(home=tmp_path / "new", embedder=e5, reading_only=True)
    assert fresh.status().notes == 0  # created (and so opened for writing) as usual
    fresh.close()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("# Tea\nGreen tea wants water below boiling.\n")
    writer = open_library(tmp_path / "home", embedder=e5)
    writer.add_folder(notes)
    writer.index()
    writer.close()
    reader = Library(home=tmp_path / "home", embedder=e5, reading_only=True)
    assert reader.search("green tea", k=1).results[0].title == "Tea"
    assert reader.read_only is None and reader.status().read_only is None
    with pytest.raises(apsw.ReadOnlyError):
        reader.conn.execute("DELETE FROM notes")
    with pytest.raises(LibraryReadOnly, match="opened for reading only"):
        reader.add_folder(notes)
    reader.close()


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path):
    """`notesearch search ... | head`: when the reader stops reading, the command stops with
    SIGPIPE's exit status and no traceback (it printed two, one from print, one at exit)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(60):
        (notes / f"Garden {i}.md").write_text(f"# Garden {i}\nTomato and basil bed {i}.\n",
                                              encoding="utf-8")
    home = tmp_path / "home"
    assert _cli(home, "index", "--no-embed", str(notes)).returncode == 0
    reader = subprocess.Popen(
        [sys.executable, "-m", "notesearch", "search", "--json", "--mode", "words", "-k", "50",
         "--stdin"], env={**os.environ, "NOTESEARCH_HOME": str(home)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).parent.parent)
    assert reader.stdin is not None and reader.stdout is not None
    # A few hundred kilobytes of results: more than a pipe holds, so the writer meets the
    # closed end.
    reader.stdin.write(("tomato basil\n" * 40).encode())
    reader.stdin.close()
    assert reader.stdout.read(100).startswith(b"{")
    reader.stdout.close()
    assert reader.stderr is not None
    errors = reader.stderr.read()
    reader.wait(timeout=60)
    assert b"Traceback" not in errors, errors.decode()
    assert reader.returncode == 141


def test_doctor_fails_when_traditional_chinese_is_not_folded(monkeypatch):
    """Without OpenCC's table (a broken install) a library indexed before and after would
    disagree on every traditional character: doctor says so rather than "ok"."""
    from notesearch.core import doctor, text

    fold_chinese(monkeypatch, dict(text._FOLDS))
    with pytest.raises(RuntimeError, match="traditional Chinese is not folded"):
        doctor._sqlite()
    fold_chinese(monkeypatch, None)
    assert doctor._sqlite().endswith("traditional Chinese as simplified")


def test_doctor_warns_when_the_word_lists_cannot_be_read(monkeypatch):
    """Without pyspellchecker's lists search still works, but every language is centred as
    one: doctor says so as a warning, and names the languages when they are there."""
    from notesearch.core import doctor, lexicon

    assert "told a German sentence" in doctor._word_lists()
    monkeypatch.setattr(lexicon, "_loaded", None)
    monkeypatch.setattr(lexicon, "_failed", True)
    checks = {check.name: check for check in doctor.run_checks()
              if check.name == "word lists"}
    assert checks["word lists"].ok and checks["word lists"].warning
    assert "pyspellchecker's word lists could not be read" in checks["word lists"].detail
