"""When the search box's query runs (debouncing, one search in flight, stale answers dropped),
and reading ahead for it between searches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from notesearch.gui.operations import Op

log = logging.getLogger(__name__)

#: A burst of keys closer together than this becomes one query (the trailing edge); the first
#: key after a pause this long searches at once (the leading edge).
DEBOUNCE_MS = 60
#: Reading ahead runs in slices this long, so a search started meanwhile shares a core with it
#: for at most that long; the pause between slices leaves the pool free for searches.
READ_AHEAD_SLICE_S = 0.03
READ_AHEAD_PAUSE_MS = 40


class SearchDispatcher(QObject):
    """Decides which query runs and when, apart from the window that shows the answers
    (as qutebrowser's completion Completer does for its model).

    Every keystroke (or switch to another list) makes a new *generation*; an answer is shown
    only while its generation is still the current one. At most one search runs at a time:
    a query typed meanwhile runs when the running one ends, so a slow search never queues up
    a backlog of stale ones. `run(query, generation)` starts a search in the background and
    must lead to `finished()` when it ends, answered or failed.
    """

    def __init__(self, parent: QObject, current_text: Callable[[], str],
                 run: Callable[[str, int], None], debounce_ms: int = DEBOUNCE_MS,
                 clock: Callable[[], float] = time.perf_counter,
                 wanted: Callable[[str], bool] = lambda text: bool(text.strip())) -> None:
        """`wanted(text)`: whether there is anything to search (by default, text that is not
        blank; the window also searches a blank query while a filter is chosen)."""
        super().__init__(parent)
        self._current_text, self._run, self._clock = current_text, run, clock
        self._wanted = wanted
        self.generation = 0
        self.in_flight = False
        self._again = False
        self._last_start = float("-inf")
        self._quiet_s = debounce_ms / 1000
        self.timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self.timer.timeout.connect(self.dispatch)

    def typed(self, text: str) -> int:
        """A new query was typed: search at once after a pause, else after the burst;
        return its generation."""
        self.generation += 1
        if not self._wanted(text):
            self.timer.stop()
        elif (self._clock() - self._last_start >= self._quiet_s and not self.in_flight
              and not self.timer.isActive()):
            self.dispatch()
        else:
            self.timer.start()
        return self.generation

    def supersede(self) -> int:
        """Make a new generation without searching (another list takes the view); return it."""
        self.timer.stop()
        self.generation += 1
        return self.generation

    def later(self) -> None:
        """Run the current query again after the debounce (the notes changed)."""
        if self._wanted(self._current_text()):
            self.timer.start()

    def now(self) -> None:
        """Run the current query without waiting."""
        self.timer.stop()
        self.dispatch()

    def dispatch(self) -> None:
        """Start the current query, or, while one runs, once that one has finished."""
        if self.in_flight:
            self._again = True
            return
        query = self._current_text()
        if not self._wanted(query):
            return
        self.in_flight, self._again = True, False
        self._last_start = self._clock()
        self._run(query, self.generation)

    def finished(self) -> None:
        """The running search ended (answered or failed): start the one typed meanwhile."""
        self.in_flight = False
        if self._again:
            self.dispatch()

    def is_current(self, generation: int) -> bool:
        """True while nothing newer has been typed or shown since `generation`."""
        return generation == self.generation


class ReadAhead(QObject):
    """Reads ahead what makes a first search slow (`warm(seconds) -> done`, Library.warm) in
    short slices on a worker while no search runs, until done; `start()` again when the notes
    change (kept postings are patched, new common words read)."""

    def __init__(self, parent: QObject, dispatcher: SearchDispatcher,
                 warm: Callable[[float], bool]) -> None:
        super().__init__(parent)
        self._dispatcher, self._warm = dispatcher, warm
        self.running = self.done = False
        self._again = False
        self.timer = QTimer(self, singleShot=True, interval=READ_AHEAD_PAUSE_MS)
        self.timer.timeout.connect(self._slice)

    def start(self) -> None:
        """Read ahead until done (again, if it had finished)."""
        self.done = False
        if self.running:
            self._again = True
        elif not self.timer.isActive():
            self.timer.start()

    def _slice(self) -> None:
        if self._dispatcher.in_flight:
            self.timer.start()  # a search runs: after it
            return
        self.running, self._again = True, False
        Op(self, lambda: self._warm(READ_AHEAD_SLICE_S), self._sliced).failure(
            self._failed).run()

    def _sliced(self, done: bool) -> None:
        self.running = False
        if done and not self._again:
            self.done = True
        else:
            self.timer.start()

    def _failed(self, error: BaseException) -> None:
        # Reading ahead only saves time; a search reads what it needs itself.
        self.running = False
        log.warning("reading ahead for searches stopped: %s", error)
