"""Runs core calls off the GUI thread and hands their outcome back to it (as Anki's QueryOp)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)

log = logging.getLogger(__name__)

ErrorHandler = Callable[[BaseException], None]

# Searches and short look-ups; two threads so one slow call never queues the next keystroke.
_quick_pool: QThreadPool | None = None
# Long work (indexing, watcher start/stop) gets its own pool so it never starves searches.
_long_pool: QThreadPool | None = None
_error_handler: ErrorHandler | None = None
# Ops alive until delivered: Python would otherwise collect the signal carrier mid-flight.
_running: set[Op] = set()


def quick_pool() -> QThreadPool:
    global _quick_pool
    if _quick_pool is None:
        _quick_pool = QThreadPool()
        _quick_pool.setMaxThreadCount(2)
        _quick_pool.setExpiryTimeout(-1)  # keep threads: each owns a cached DB connection
    return _quick_pool


def long_pool() -> QThreadPool:
    global _long_pool
    if _long_pool is None:
        _long_pool = QThreadPool()
        _long_pool.setMaxThreadCount(2)
        _long_pool.setExpiryTimeout(-1)
    return _long_pool


def set_error_handler(handler: ErrorHandler | None) -> None:
    """Choose the one place where failures without their own handler are shown."""
    global _error_handler
    _error_handler = handler


def show_error(error: BaseException) -> None:
    """Show an error through the installed handler (logged when there is none)."""
    if _error_handler is not None:
        _error_handler(error)
    else:
        log.error("operation failed: %s", error)


def wait_for_all(timeout_ms: int = 30_000) -> bool:
    """Block until both pools are idle (for shutdown and tests)."""
    done = True
    for pool in (_quick_pool, _long_pool):
        if pool is not None:
            done = pool.waitForDone(timeout_ms) and done
    return done


class _Carrier(QObject):
    """Lives on the GUI thread; its queued signals carry a worker's outcome back there.

    The receiving slots belong to this QObject (not to a plain Python callable) so Qt knows
    the receiver's thread and queues the call onto the GUI thread.
    """

    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, op: Op) -> None:
        super().__init__()
        self.op = op
        self.succeeded.connect(self._on_succeeded)
        self.failed.connect(self._on_failed)

    @Slot(object)
    def _on_succeeded(self, value: object) -> None:
        self.op._deliver_success(value)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        self.op._deliver_failure(error)  # type: ignore[arg-type]


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], carrier: _Carrier) -> None:
        super().__init__()
        self.fn, self.carrier = fn, carrier

    def run(self) -> None:
        try:
            value = self.fn()
        except BaseException as error:  # noqa: BLE001 - every failure must reach the GUI
            log.debug("operation failed:\n%s", traceback.format_exc())
            self.carrier.failed.emit(error)
        else:
            self.carrier.succeeded.emit(value)


class Op:
    """`Op(parent, fn, on_success).failure(on_error).run()`: fn runs on a pool thread.

    on_success/on_error run on the GUI thread, and only while `parent` still exists, so a
    closed dialog never receives a late answer. Without `.failure`, errors go to show_error.
    """

    def __init__(self, parent: QObject | None, fn: Callable[[], Any],
                 on_success: Callable[[Any], None] | None = None) -> None:
        self.parent, self.fn, self.on_success = parent, fn, on_success
        self.on_error: ErrorHandler | None = None
        self.pool: QThreadPool | None = None
        self._carrier: _Carrier | None = None

    def failure(self, on_error: ErrorHandler) -> Op:
        self.on_error = on_error
        return self

    def long(self) -> Op:
        """Run on the pool for long work (indexing) instead of the quick one."""
        self.pool = long_pool()
        return self

    def run(self) -> Op:
        carrier = self._carrier = _Carrier(self)
        # Owned by Qt (parented on the GUI thread) rather than by Python: the pool thread holds
        # the last Python reference for a moment after emitting, and dropping it there must not
        # destroy a QObject that lives on the GUI thread. It is deleted with deleteLater.
        app = QCoreApplication.instance()
        if app is not None:
            carrier.setParent(app)
        _running.add(self)
        (self.pool or quick_pool()).start(_Runnable(self.fn, carrier))
        return self

    def _parent_alive(self) -> bool:
        return self.parent is None or shiboken6.isValid(self.parent)

    def _release(self) -> None:
        # Deferred: dropping the last reference inside the carrier's own slot would delete
        # the QObject while Qt is still delivering to it.
        def forget() -> None:
            _running.discard(self)
            if self._carrier is not None and self._carrier.parent() is not None:
                self._carrier.deleteLater()

        QTimer.singleShot(0, forget)

    def _deliver_success(self, value: Any) -> None:
        self._release()
        if self.on_success is not None and self._parent_alive():
            self.on_success(value)

    def _deliver_failure(self, error: BaseException) -> None:
        self._release()
        if not self._parent_alive():
            return
        (self.on_error or show_error)(error)
