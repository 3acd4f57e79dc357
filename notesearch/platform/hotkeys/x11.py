"""X11 global hotkey: XGrabKey on the root window, events read by a stoppable thread.

Checked against the Xlib manual (XGrabKey: BadAccess when another client holds the
same key+modifiers; grabs match modifiers exactly, so lock-key variants need their own
grabs) and python-xlib's Window.grab_key / error.CatchError. Tested for real under Xvfb.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable

from Xlib import XK, X, error
from Xlib.display import Display

from notesearch.platform.hotkeys.keys import (
    ALT,
    CTRL,
    SHIFT,
    SUPER,
    Hotkey,
    HotkeyError,
    keysym_name,
)

log = logging.getLogger(__name__)

MODIFIER_MASKS = {CTRL: X.ControlMask, ALT: X.Mod1Mask, SHIFT: X.ShiftMask, SUPER: X.Mod4Mask}
_RELEVANT = X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod4Mask


def modifier_mask(hotkey: Hotkey) -> int:
    """The X modifier mask for a hotkey's modifiers (Alt=Mod1, Super=Mod4 as on all desktops)."""
    mask = 0
    for modifier in hotkey.modifiers:
        mask |= MODIFIER_MASKS[modifier]
    return mask


def lock_variants(mask: int, numlock: int) -> list[int]:
    """mask combined with every CapsLock/NumLock state, since grabs match modifiers exactly."""
    return [mask, mask | X.LockMask, mask | numlock, mask | X.LockMask | numlock]


def numlock_mask(display: Display) -> int:
    """The modifier bit NumLock sits on (usually Mod2), read from the server's mapping."""
    keycode = display.keysym_to_keycode(XK.string_to_keysym("Num_Lock"))
    if keycode:
        for index, keycodes in enumerate(display.get_modifier_mapping()):
            if keycode in keycodes:
                return 1 << index
    return X.Mod2Mask


def _open(display_name: str | None) -> Display:
    try:
        return Display(display_name)
    except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
        raise HotkeyError(f"Cannot connect to the X display: {exc}") from exc


def _keycode(display: Display, hotkey: Hotkey) -> int:
    keysym = XK.string_to_keysym(keysym_name(hotkey.key))
    keycode = display.keysym_to_keycode(keysym) if keysym else 0
    if not keycode:
        raise HotkeyError(f"The key {hotkey.key} is not on this keyboard layout.")
    return keycode


class X11Hotkey:
    """One global hotkey on an X11 display, on its own connection and reader thread."""

    def __init__(self, display_name: str | None = None) -> None:
        self._display_name = display_name
        self._display: Display | None = None
        self._thread: threading.Thread | None = None
        self._wake_w: int | None = None
        self._grabs: list[int] = []
        self._keycode = 0
        self._mask = 0
        self._callback: Callable[[], None] = lambda: None
        self._last_release = -1

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Grab hotkey on the root window; raises HotkeyError if another client holds it."""
        self.unregister()
        display = _open(self._display_name)
        try:
            self._keycode = _keycode(display, hotkey)
            self._mask = modifier_mask(hotkey)
            self._grab_all(display, hotkey)
        except HotkeyError:
            display.close()
            raise
        self._display, self._callback = display, callback
        self._start_reader()

    def _grab_all(self, display: Display, hotkey: Hotkey) -> None:
        root = display.screen().root
        catcher = error.CatchError(error.BadAccess)
        masks = lock_variants(self._mask, numlock_mask(display))
        for mask in masks:
            root.grab_key(
                self._keycode, mask, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher
            )
        # Errors arrive asynchronously; sync() makes the server answer before we go on.
        display.sync()
        if catcher.get_error() is not None:
            for mask in masks:
                root.ungrab_key(self._keycode, mask)
            display.sync()
            raise HotkeyError(
                f"{hotkey} is already taken by another application; "
                "choose a different shortcut or free it in that application."
            )
        self._grabs = masks

    def _start_reader(self) -> None:
        wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._read_events, args=(wake_r,), name="x11-hotkey", daemon=True
        )
        self._thread.start()

    def _read_events(self, wake_r: int) -> None:
        display = self._display
        assert display is not None
        try:
            while True:
                while display.pending_events():
                    self._handle(display.next_event())
                readable, _, _ = select.select([display.fileno(), wake_r], [], [])
                if wake_r in readable:
                    return
        except error.ConnectionClosedError:
            log.warning("X connection closed; the global hotkey stopped working")
        finally:
            os.close(wake_r)

    def _handle(self, event: object) -> None:
        kind, detail = getattr(event, "type", None), getattr(event, "detail", None)
        if detail != self._keycode:
            return
        if kind == X.KeyRelease:
            self._last_release = event.time  # type: ignore[attr-defined]
        elif kind == X.KeyPress and self._is_ours(event):
            self._fire()

    def _is_ours(self, event: object) -> bool:
        # Auto-repeat sends a release and a press with the same timestamp: fire once per hold.
        if event.time == self._last_release:  # type: ignore[attr-defined]
            return False
        return (event.state & _RELEVANT) == self._mask  # type: ignore[attr-defined]

    def _fire(self) -> None:
        try:
            self._callback()
        except Exception:  # a broken callback must not kill the reader thread
            log.exception("hotkey callback failed")

    def unregister(self) -> None:
        """Stop the reader thread, release the grabs and close the connection."""
        if self._display is None:
            return
        if self._wake_w is not None:
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._wake_w is not None:
            os.close(self._wake_w)
        self._release(self._display)
        self._display, self._thread, self._wake_w = None, None, None

    def _release(self, display: Display) -> None:
        try:
            root = display.screen().root
            for mask in self._grabs:
                root.ungrab_key(self._keycode, mask)
            display.close()  # closing also drops grabs server-side; ungrab is for clarity
        except error.ConnectionClosedError:
            pass
        self._grabs = []
