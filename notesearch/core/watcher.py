"""Keeps the index current: watchdog events, debounced and coalesced, plus a periodic rescan."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from notesearch.core.indexer import IndexSummary
from notesearch.core.library import Library
from notesearch.core.notes import IGNORE_FILES, NOTE_EXTENSIONS
from notesearch.core.progress import Control

log = logging.getLogger(__name__)

QUIET_SECONDS = 0.25  # wait this long after the last event, so a save's burst is one batch
MAX_DELAY_SECONDS = 1.0  # but never hold a change longer than this while events keep coming
BULK_THRESHOLD = 200  # more changed paths than this (a git checkout): rescan instead
RESCAN_SECONDS = 300.0  # catches what the watcher missed (inotify limits, sleeping laptops)


class _Collector(FileSystemEventHandler):
    """Gathers changed paths from watchdog's thread for the worker to take in batches."""

    def __init__(self, wake: threading.Condition) -> None:
        self.wake = wake
        self.paths: set[Path] = set()
        self.rescan = False
        self.first_event = 0.0
        self.last_event = 0.0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        with self.wake:
            now = time.monotonic()
            if not self.paths and not self.rescan:
                self.first_event = now
            self.last_event = now
            if event.is_directory:
                # A folder moved in, out or deleted arrives as one event for the folder only.
                if event.event_type in ("moved", "deleted", "created"):
                    self.rescan = True
            else:
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    path = Path(raw if isinstance(raw, str) else raw.decode())
                    if raw and path.name in IGNORE_FILES:
                        # An ignore rule changed: which notes belong may have changed anywhere
                        # below it, so the folder is reconciled now, not at the next rescan.
                        self.rescan = True
                    elif raw and path.suffix.lower() in NOTE_EXTENSIONS:
                        self.paths.add(path)
            self.wake.notify()

    def request_rescan(self) -> None:
        """Have the next batch reconcile every folder, as soon as it is quiet."""
        with self.wake:
            now = time.monotonic()
            if not self.paths and not self.rescan:
                self.first_event = now
            self.last_event, self.rescan = now, True
            self.wake.notify()

    def has_changes(self) -> bool:
        """True when changes wait to be taken."""
        with self.wake:
            return bool(self.paths or self.rescan)

    def take(self) -> tuple[set[Path], bool]:
        paths, rescan = self.paths, self.rescan
        self.paths, self.rescan = set(), False
        return paths, rescan


class _YieldToChanges(Control):
    """The watcher's control while it embeds: stops at the next batch of passages when
    notes changed meanwhile (`yielded`), as well as when the watcher's own control says so.

    A fresh-user trial: a 1 MB text file dropped into a watched folder took minutes to
    embed, and meanwhile a saved note could not be found even by its words and a deleted one
    stayed in the results. Now the change is read first; the passages left stay pending and
    are embedded after it (recent notes first, so the saved note's before the big file's)."""

    def __init__(self, outer: Control, changed: Callable[[], bool],
                 before_first: bool = True) -> None:
        super().__init__()
        self._outer, self._changed = outer, changed
        self._before_first = before_first
        self.yielded = False
        #: Batches let through so far.
        self.batches = 0

    def checkpoint(self) -> bool:
        if not self._outer.checkpoint():
            return False
        self.yielded = (self.batches > 0 or self._before_first) and self._changed()
        if not self.yielded:
            self.batches += 1
        return not self.yielded

    @property
    def cancelled(self) -> bool:
        return self._outer.cancelled

    @property
    def paused(self) -> bool:
        return self._outer.paused


class FolderWatcher:
    """Watches every folder of a library and re-indexes changes in a background thread."""

    def __init__(self, library: Library,
                 on_update: Callable[[IndexSummary], None] | None = None,
                 rescan_seconds: float = RESCAN_SECONDS) -> None:
        self.library = library
        self.on_update = on_update
        self.rescan_seconds = rescan_seconds
        self._wake = threading.Condition()
        self._collector = _Collector(self._wake)
        self._observer = Observer()
        self._stop = threading.Event()
        #: Cancelled by stop(): a batch being read or embedded stops at its next note or batch
        #: of passages, instead of holding a pause or a quit until it is done (a git checkout
        #: of 300 notes held it for seconds); what is left is pending for the next run.
        self._control = Control()
        self._thread = threading.Thread(target=self._run, name="notesearch-watch", daemon=True)
        self._embedded_last_run = True

    def start(self, catch_up: bool = False) -> None:
        """Start watching every folder the library has now; with `catch_up`, reconcile them
        at once too (what changed while an index ran, or sat paused, before any watching)."""
        for folder in self.library.folders():
            if folder.is_dir():
                self._observer.schedule(self._collector, str(folder), recursive=True)
        self._observer.start()
        if catch_up:
            self._collector.request_rescan()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._control.cancel()
        with self._wake:
            self._wake.notify()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=30)

    def join(self) -> None:
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def _run(self) -> None:
        next_rescan = time.monotonic() + self.rescan_seconds
        while not self._stop.is_set():
            paths, rescan = self._next_batch(next_rescan)
            if self._stop.is_set():
                break
            if time.monotonic() >= next_rescan:
                rescan, next_rescan = True, time.monotonic() + self.rescan_seconds
            try:
                self._process(paths, rescan)
            except Exception:  # keep watching whatever one batch did
                log.exception("re-indexing changed files failed")

    def _next_batch(self, next_rescan: float) -> tuple[set[Path], bool]:
        """Wait for a quiet moment after events (or the rescan time); return what changed."""
        c = self._collector
        with self._wake:
            while not self._stop.is_set():
                now = time.monotonic()
                if c.paths or c.rescan:
                    quiet = now - c.last_event >= QUIET_SECONDS
                    overdue = now - c.first_event >= MAX_DELAY_SECONDS
                    if quiet or overdue:
                        return c.take()
                    self._wake.wait(QUIET_SECONDS / 2)
                elif now >= next_rescan:
                    return set(), True
                else:
                    self._wake.wait(min(1.0, next_rescan - now))
        return set(), False

    def _process(self, paths: set[Path], rescan: bool) -> None:
        if rescan or len(paths) > BULK_THRESHOLD:
            summary = self.library.scan(self._control)
        elif paths:
            summary = self.library.update_paths(sorted(paths))
        else:
            return
        if not summary.cancelled:
            # Not waiting: while another process embeds the library (a first index in the
            # app, `notesearch index`), it takes these chunks too, and this thread must go
            # on reading saved notes for keyword search meanwhile.
            # A run stopped before its first batch makes the next one embed a batch at least:
            # a file rewritten every moment (a log a tool appends to) must not starve it.
            control = _YieldToChanges(self._control, self._collector.has_changes,
                                      before_first=self._embedded_last_run)
            embedded = self.library.embed(control, wait=False)
            self._embedded_last_run = control.batches > 0 or not control.yielded
            # Stopped for newer changes is not cancelled: the next batch goes on with it.
            embedded.cancelled = embedded.cancelled and not control.yielded
            summary.take_embedding(embedded)
        if self.on_update:
            self.on_update(summary)
