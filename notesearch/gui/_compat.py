"""Works around PySide6 6.12.0 releasing references to None/True/False on Python 3.11."""

from __future__ import annotations

import ctypes
import sys

import PySide6

# PySide6 6.12.0 treats None, True and False as immortal (true only from Python 3.12): each
# void Qt call, and each None returned from a model's data(), drops a reference it never took.
# On Python 3.11 the count reaches zero within minutes of use and the interpreter aborts
# ("deallocating None"). 6.11.x does not do this. Until a fixed release is required, give
# these singletons counts so large they cannot run out, as 3.12 does by making them immortal.
_BALLAST = 1 << 48


def protect_none() -> None:
    """Apply the workaround once, only where the bug exists."""
    if sys.version_info >= (3, 12) or not PySide6.__version__.startswith("6.12."):
        return
    for singleton in (None, True, False):
        if sys.getrefcount(singleton) < _BALLAST:
            ctypes.c_ssize_t.from_address(id(singleton)).value += _BALLAST
