"""Progress reports and cancellation shared by long operations (indexing, embedding)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One report: which phase, how far, and the estimated seconds left (None when unknown)."""

    phase: str  # "scanning" | "reading" | "embedding" | "done"
    done: int
    total: int
    eta_seconds: float | None = None
    detail: str = ""
    #: While embedding: notes all of whose passages have a vector, of those waiting for one.
    notes_done: int = 0
    notes_total: int = 0


ProgressCallback = Callable[[Progress], None]


def format_eta(seconds: float | None) -> str:
    """Return " · ETA 3 min" (or "< 1 min", "1 h 5 min"), or "" when the time is unknown; the
    one wording the command line and the app share."""
    if seconds is None:
        return ""
    if seconds < 60:
        return " · ETA < 1 min"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f" · ETA {minutes} min"
    return f" · ETA {minutes // 60} h {minutes % 60} min"


class Control:
    """Lets another thread pause, resume or cancel an operation between units of work."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused worker so it can see the cancellation

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> bool:
        """Block while paused; return False when the operation should stop."""
        self._running.wait()
        return not self._cancel.is_set()


class RateMeter:
    """Turns done/total over time into throttled Progress reports with an ETA.

    The ETA is the work left at the rate measured so far. Work is counted in items, or, given
    `work_total` and each update's `work_done`, in units of cost (for embedding, what a
    passage costs the model, which grows faster than its length: tokens.embedding_cost);
    items of unequal cost done in an order (short notes first) would otherwise make the
    first minutes' rate promise far too early an end.
    """

    def __init__(self, phase: str, total: int, callback: ProgressCallback | None,
                 interval: float = 0.2, work_total: float | None = None) -> None:
        self.phase, self.total, self.callback, self.interval = phase, total, callback, interval
        self.work_total = work_total
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, detail: str = "", force: bool = False,
               work_done: float | None = None, notes: tuple[int, int] = (0, 0)) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval and done < self.total:
            return
        self._last = now
        elapsed = now - self.start
        if self.work_total is not None and work_done is not None:
            left, rate_done = self.work_total - work_done, work_done
        else:
            left, rate_done = float(self.total - done), float(done)
        eta = left * elapsed / rate_done if rate_done > 0 and elapsed > 0.5 else None
        self.callback(Progress(self.phase, done, self.total, eta, detail, *notes))
