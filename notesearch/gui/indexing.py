"""Runs the library's scan+embed and the folder watcher off the GUI thread, reporting by signal."""

from __future__ import annotations

import logging
import re
from enum import Enum

from PySide6.QtCore import QObject, Signal, Slot

from notesearch.core.indexer import IndexSummary
from notesearch.core.library import Library
from notesearch.core.progress import Control, Progress
from notesearch.core.watcher import FolderWatcher
from notesearch.gui.operations import Op

log = logging.getLogger(__name__)


class State(Enum):
    STARTING = "Starting"
    INDEXING = "Indexing"
    PAUSED = "Paused"
    UP_TO_DATE = "Up to date"
    OFFLINE = "Offline"
    KEY_REJECTED = "Key rejected"
    NO_KEY = "No API key"
    PROBLEM = "Meaning search unavailable"


# The core reports embedding failures as sentences; these recognise the ones with a state
# of their own. (A typed error kind on IndexSummary would be sturdier.)
_KINDS = (
    (re.compile(r"rejected the API key|API key was rejected", re.I), State.KEY_REJECTED),
    (re.compile(r"No OpenAI API key is stored|needs an API key", re.I), State.NO_KEY),
    (re.compile(r"could not reach|network", re.I), State.OFFLINE),
)


def classify(problem: str | None) -> State:
    """The state a finished run is in, given its embedding problem (None: all is well)."""
    if not problem:
        return State.UP_TO_DATE
    for pattern, state in _KINDS:
        if pattern.search(problem):
            return state
    return State.PROBLEM


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return " · ETA < 1 min"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f" · ETA {minutes} min"
    return f" · ETA {minutes // 60} h {minutes % 60} min"


def progress_text(progress: Progress) -> str:
    """'Indexing 1,234 / 10,000 notes · ETA 3 min' for the status bar."""
    unit = "passages" if progress.phase == "embedding" else "notes"
    return (f"Indexing {progress.done:,} / {progress.total:,} {unit}"
            + format_eta(progress.eta_seconds))


class IndexingController(QObject):
    """One pipeline at a time: stop watcher → scan+embed → start a fresh watcher.

    While the pipeline runs, `Control` lets pause/resume take effect between notes and
    batches. Pausing while idle stops the watcher; resuming runs the pipeline to catch up.
    """

    progress = Signal(object)  # Progress
    state_changed = Signal(object, str)  # State, sentence for the status bar and tooltips
    notes_changed = Signal()  # new or changed notes are searchable: refresh the results
    finished = Signal(object)  # IndexSummary of a pipeline run
    # Emitted from worker threads; connected to slots of this GUI-thread object, so queued.
    _progress_from_worker = Signal(object)
    _watcher_update = Signal(object)

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.state = State.STARTING
        self.message = ""
        self.last_progress: Progress | None = None
        self.last_summary: IndexSummary | None = None
        self._control: Control | None = None
        self._watcher: FolderWatcher | None = None  # touched only inside pipeline work
        self._busy = False
        self._again = False
        self._paused = False
        self._closing = False
        self._progress_from_worker.connect(self._on_progress)
        self._watcher_update.connect(self._on_watcher_update)

    # -- requests from the GUI ----------------------------------------------------------------
    def start(self) -> None:
        """Bring the index up to date (again, if a run is going on) and then watch."""
        if self._paused or self._closing:
            return
        if self._busy:
            self._again = True
            if self._control is not None:
                self._control.cancel()  # restart from the top: folders or settings changed
            return
        self._run_pipeline()

    def pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        if self._control is not None:
            self._control.pause()
        elif not self._busy:
            self._busy = True
            Op(self, self._stop_watcher, lambda _: self._idle()).long().run()
        self._set_state(State.PAUSED, "Paused: changes are noticed again when you resume.")

    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._control is not None:
            self._control.resume()
            self._set_state(State.INDEXING, self._progress_message())
        else:
            self.start()

    def toggle_pause(self) -> None:
        self.resume() if self._paused else self.pause()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._busy

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel work and stop watching; called once, when the app quits."""
        self._closing = True
        if self._control is not None:
            self._control.cancel()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    # -- the pipeline (worker thread) ---------------------------------------------------------
    def _run_pipeline(self) -> None:
        self._busy, self._again = True, False
        control = self._control = Control()
        self._set_state(State.INDEXING, "Indexing: looking for new and changed notes…")
        Op(self, lambda: self._pipeline(control), self._on_finished).long().failure(
            self._on_failed).run()

    def _pipeline(self, control: Control) -> IndexSummary:
        self._stop_watcher()
        summary = self.library.index(control, self._progress_from_worker.emit)
        if not summary.cancelled and not self._closing:
            watcher = FolderWatcher(self.library, self._watcher_update.emit)
            watcher.start()
            self._watcher = watcher
        return summary

    def _stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()  # joins its threads: never on the GUI thread

    # -- answers (GUI thread) -----------------------------------------------------------------
    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progress.emit(progress)
        if not self._paused and self._busy:
            self._set_state(State.INDEXING, self._progress_message())

    def _progress_message(self) -> str:
        if self.last_progress is None:
            return "Indexing…"
        return progress_text(self.last_progress)

    def _on_finished(self, summary: IndexSummary) -> None:
        self._control = None
        self.last_summary = summary
        self.finished.emit(summary)
        self.notes_changed.emit()
        self._idle()
        if not self._again and not summary.cancelled:
            self._report(summary)

    def _on_failed(self, error: BaseException) -> None:
        log.error("indexing failed: %s", error)
        self._control = None
        self._idle()
        self._set_state(State.PROBLEM, f"Indexing failed: {error}")

    def _idle(self) -> None:
        self._busy = False
        if self._again and not self._paused and not self._closing:
            self._run_pipeline()

    def _report(self, summary: IndexSummary) -> None:
        problem = summary.embedding_error or self.library.embedder_problem
        state = classify(problem)
        if self._paused:
            return
        if state is State.UP_TO_DATE:
            notes = self.library_counts_text(summary)
            self._set_state(state, f"Up to date{notes}")
        else:
            self._set_state(state, f"{state.value}: {problem}")

    @staticmethod
    def library_counts_text(summary: IndexSummary) -> str:
        skipped = len(summary.skipped)
        return f" · {skipped} skipped" if skipped else ""

    @Slot(object)
    def _on_watcher_update(self, summary: IndexSummary) -> None:
        self.last_summary = summary
        self.notes_changed.emit()
        if not self._busy and not self._paused:
            self._report(summary)

    def _set_state(self, state: State, message: str) -> None:
        self.state, self.message = state, message
        self.state_changed.emit(state, message)
