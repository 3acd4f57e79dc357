"""The indexing process: scan+embed and the folder watcher, driven by lines on stdin.

It runs apart from the app so that reading notes (Python) and embedding (all cores) never
compete with the GUI thread for the interpreter lock, and at a lower CPU priority.
Commands in and events out as worker_protocol.py defines them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import sys
import threading
from pathlib import Path

from notesearch.core.indexer import IndexSummary
from notesearch.core.lease import set_program_name
from notesearch.core.library import Library
from notesearch.core.progress import Control, Progress
from notesearch.core.watcher import FolderWatcher
from notesearch.gui.worker_protocol import (
    COMMANDS,
    Event,
    Failed,
    Finished,
    Progressed,
    Ready,
    Updated,
    encode,
)

NICENESS = 15

_out_lock = threading.Lock()


def emit(event: Event) -> None:
    """Write one event line; several threads report, so lines must not interleave."""
    with _out_lock:
        sys.stdout.write(encode(event))
        sys.stdout.flush()


class Worker:
    """Runs one pipeline at a time on the main thread; stdin is read on another."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.commands: queue.Queue[str] = queue.Queue()
        self.control: Control | None = None
        self.watcher: FolderWatcher | None = None
        self.paused = False
        #: Set as soon as "quit" arrives: commands queued before it (a resume, an index) must
        #: not start another run on the way out (they did: quitting mid-index took the 5 s
        #: the app waits, then a kill).
        self.quitting = False
        self.library: Library | None = None

    def read_commands(self) -> None:
        """Pause and resume act at once on the running pipeline; the rest is queued."""
        for line in sys.stdin:
            command = line.strip()
            if command not in COMMANDS:
                continue  # a blank line, or a command of another version
            if command == "pause":
                self.paused = True
                if self.control is not None:
                    self.control.pause()
            elif command == "resume":
                self.paused = False
                if self.control is not None:
                    self.control.resume()
            if command == "quit":
                self.quitting = True
            if command in ("index", "quit") and self.control is not None:
                self.control.cancel()  # a newer request replaces the run in progress
            self.commands.put(command)
        self.commands.put("quit")  # the app went away: stop too

    def serve(self) -> None:
        threading.Thread(target=self.read_commands, name="commands", daemon=True).start()
        emit(Ready(os.getpid()))
        while True:
            command = self.commands.get()
            if command == "quit" or self.quitting:
                break
            # Checked against the current state: a pause already undone needs nothing.
            if command == "pause" and self.paused:
                self.stop_watcher()
            elif not self.paused and (command == "index"
                                      or (command == "resume" and self.watcher is None)):
                self.run()
        self.stop_watcher()

    def run(self) -> None:
        self.stop_watcher()
        if self.library is not None:
            self.library.close()
        # Opened afresh each run, so changed settings (model, patterns) take effect.
        self.library = Library(home=self.home)
        control = self.control = Control()
        try:
            summary = self.library.index(control, self.report_progress)
        except Exception as error:  # noqa: BLE001 - reported to the app, which shows it
            emit(Failed(str(error) or type(error).__name__))
            return
        finally:
            self.control = None
        emit(Finished(summary, self.library.embedder_problem,
                      self.library.embedder_problem_kind))
        if not summary.cancelled and not self.paused:
            self.watcher = FolderWatcher(self.library, self.report_update)
            # Nothing watched the folders while this run read and embedded them (for minutes
            # on a first index, or paused): an edit made then waited for the next periodic
            # rescan, five minutes on (a fresh-user trial). Unchanged notes cost a stat each.
            self.watcher.start(catch_up=True)

    def stop_watcher(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            watcher.stop()

    @staticmethod
    def report_progress(progress: Progress) -> None:
        emit(Progressed(progress))

    def report_update(self, summary: IndexSummary) -> None:
        library = self.library
        emit(Updated(summary, library.embedder_problem if library else None,
                     library.embedder_problem_kind if library else None))


def lower_priority() -> None:
    """Let the app's GUI thread and searches have the CPU first."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(NICENESS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="notesearch's background indexer")
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    set_program_name("the notesearch app")  # how `notesearch index` names it while waiting
    lower_priority()
    Worker(args.home).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
