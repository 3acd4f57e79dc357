"""When the search box's query runs: debouncing, one search in flight, stale answers dropped."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

#: A burst of keys closer together than this becomes one query (the trailing edge); the first
#: key after a pause this long searches at once (the leading edge).
DEBOUNCE_MS = 60


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
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self._current_text, self._run, self._clock = current_text, run, clock
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
        if not text.strip():
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
        if self._current_text().strip():
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
        if not query.strip():
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
