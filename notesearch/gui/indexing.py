"""Drives the background indexing process (scan+embed, then watching) and reports by signal."""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

import notesearch
from notesearch.core.indexer import IndexSummary
from notesearch.core.library import Library
from notesearch.core.progress import Progress, format_eta
from notesearch.gui.worker_protocol import (
    Command,
    Event,
    Failed,
    Finished,
    Progressed,
    Updated,
    decode,
)

log = logging.getLogger(__name__)
STOP_WAIT_MS = 5000


class State(Enum):
    STARTING = "Starting"
    INDEXING = "Indexing"
    PAUSED = "Paused"
    UP_TO_DATE = "Up to date"
    OFFLINE = "Offline"
    KEY_REJECTED = "Key rejected"
    NO_KEY = "No API key"
    PROBLEM = "Meaning search unavailable"


# Embedding failures with a state of their own, by the core's error kind (errors.py).
_STATE_OF_KIND = {
    "key_rejected": State.KEY_REJECTED,
    "no_key": State.NO_KEY,
    "offline": State.OFFLINE,
}


def classify(problem: str | None, kind: str | None = None) -> State:
    """The state a finished run is in, given its embedding problem (None: all is well)."""
    if not problem:
        return State.UP_TO_DATE
    return _STATE_OF_KIND.get(kind or "", State.PROBLEM)


def progress_text(progress: Progress) -> str:
    """'Indexing 1,234 / 10,000 notes · ETA 3 min' for the status bar; while embedding,
    'Embedding 1,234 / 5,678 passages · 120 / 300 notes ready · ETA 3 min'."""
    if progress.phase != "embedding":
        return (f"Indexing {progress.done:,} / {progress.total:,} notes"
                + format_eta(progress.eta_seconds))
    ready = (f" · {progress.notes_done:,} / {progress.notes_total:,} notes ready"
             if progress.notes_total else "")
    # detail: "by notesearch index (pid 12); waiting for it" while another process embeds.
    detail = f" · {progress.detail}" if progress.detail else ""
    return (f"Embedding {progress.done:,} / {progress.total:,} passages{ready}"
            + format_eta(progress.eta_seconds) + detail)


class IndexingController(QObject):
    """The app's side of the indexing process (see index_worker.py).

    Indexing runs in a process of its own, not a thread: measured on 2 cores, a thread
    reading notes holds the interpreter lock and the model takes both cores, so the GUI
    thread stalled for 100-300 ms; apart and at low priority, it never waits on either.
    Everything here is asynchronous (QProcess), so the GUI thread never blocks on it.
    """

    progress = Signal(object)  # Progress
    state_changed = Signal(object, str)  # State, sentence for the status bar and tooltips
    notes_changed = Signal()  # new or changed notes are searchable: refresh the results
    finished = Signal(object)  # IndexSummary of a full run

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.state = State.STARTING
        self.message = ""
        self.last_progress: Progress | None = None
        self.last_summary: IndexSummary | None = None
        self._running = False
        self._paused = False
        self._closing = False
        self._buffer = b""
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._exited)

    # -- requests from the GUI ----------------------------------------------------------------
    def start(self) -> None:
        """Bring the index up to date (restarting a run in progress), then keep watching."""
        if self._closing:
            return
        self._ensure_process()
        self._send("index")
        if not self._paused:
            self._running = True
            self._set_state(State.INDEXING, "Indexing: looking for new and changed notes…")

    def pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        self._send("pause")
        self._set_state(State.PAUSED, "Paused: changes are noticed again when you resume.")

    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        self._ensure_process()
        self._send("resume")
        self._running = True
        self._set_state(State.INDEXING, self._progress_message())

    def toggle_pause(self) -> None:
        self.resume() if self._paused else self.pause()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._running

    def shutdown(self) -> None:
        """Stop the indexing process; called when the app quits (waits a few seconds at most)."""
        self._closing = True
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return
        self._send("quit")
        self.process.closeWriteChannel()
        if not self.process.waitForFinished(STOP_WAIT_MS):
            self.process.kill()
            self.process.waitForFinished(1000)
        self._running = False

    # -- the process --------------------------------------------------------------------------
    def _ensure_process(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            return
        self.process.setProcessEnvironment(worker_environment())
        self.process.start(sys.executable, ["-m", "notesearch.gui.index_worker",
                                            "--home", str(self.library.home)])
        if self._paused:
            self._send("pause")

    def _send(self, command: Command) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.write(f"{command}\n".encode())

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            event = decode(line)
            if event is not None:
                self._handle(event)

    def _handle(self, event: Event) -> None:
        if isinstance(event, Progressed):
            self._on_progress(event.progress)
        elif isinstance(event, Finished):
            self._on_finished(event.summary, Problem(event.problem, event.problem_kind))
        elif isinstance(event, Updated):
            self._on_update(event.summary, Problem(event.problem, event.problem_kind))
        elif isinstance(event, Failed):
            self._running = False
            self._set_state(State.PROBLEM, f"Indexing failed: {event.message}")

    def _exited(self, code: int, status: QProcess.ExitStatus) -> None:
        self._running = False
        if self._closing:
            return
        errors = bytes(self.process.readAllStandardError().data()).decode(errors="replace")
        detail = errors.strip().splitlines()[-1] if errors.strip() else f"exit code {code}"
        log.error("indexer stopped: %s", errors)
        self._set_state(State.PROBLEM, f"The indexer stopped unexpectedly ({detail}); it "
                        "restarts with the next change of settings or on resume.")

    # -- answers --------------------------------------------------------------------------------
    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progress.emit(progress)
        if not self._paused:
            self._running = True
            self._set_state(State.INDEXING, self._progress_message())

    def _progress_message(self) -> str:
        if self.last_progress is None:
            return "Indexing…"
        return progress_text(self.last_progress)

    def _on_finished(self, summary: IndexSummary, problem: Problem) -> None:
        self.last_summary = summary
        self.finished.emit(summary)
        self.notes_changed.emit()
        if summary.cancelled:
            return  # a newer run replaces it (or the run is paused)
        self._running = False
        self._report(summary, problem)

    def _on_update(self, summary: IndexSummary, problem: Problem) -> None:
        self.last_summary = summary
        self.notes_changed.emit()
        if not self._running:
            self._report(summary, problem)

    def _report(self, summary: IndexSummary, problem: Problem) -> None:
        if self._paused:
            return
        if summary.embedding_error:
            problem = Problem(summary.embedding_error, summary.embedding_error_kind)
        state = classify(problem.message, problem.kind)
        if state is State.UP_TO_DATE:
            skipped = len(summary.skipped)
            self._set_state(state, "Up to date" + (f" · {skipped} skipped" if skipped else ""))
        else:
            self._set_state(state, f"{state.value}: {problem.message}")

    def _set_state(self, state: State, message: str) -> None:
        self.state, self.message = state, message
        self.state_changed.emit(state, message)


class Problem(NamedTuple):
    """Why meaning search is unavailable, as the indexing process reported it."""

    message: str | None
    kind: str | None


def worker_environment() -> QProcessEnvironment:
    """The app's environment, with this copy of notesearch importable (source checkouts too)."""
    env = QProcessEnvironment.systemEnvironment()
    source = str(Path(notesearch.__file__).resolve().parent.parent)
    existing = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", source + (os.pathsep + existing if existing else ""))
    return env


def pause_label(paused: bool, watching: bool) -> str:
    """What the pause control does now, in the same words on the button, in the menu and in
    the tray: "Resume indexing", "Pause watching" (up to date, changes are watched for) or
    "Pause indexing"."""
    return "Resume indexing" if paused else "Pause watching" if watching else "Pause indexing"
