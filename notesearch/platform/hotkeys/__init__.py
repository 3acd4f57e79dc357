"""Global hotkeys: parse shortcut text and pick the backend for this platform and session.

The shortcut text and shared types live in `keys` (the backends import them from there, so
the package and its backends import each other in one direction only); they are re-exported
here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from notesearch.platform.hotkeys.keys import (  # noqa: F401 - re-exported
    _KEY_ALIASES,
    _MODIFIER_ALIASES,
    _NAMED_KEYSYMS,
    ALT,
    CTRL,
    FUNCTION_KEYS,
    MANUAL_COMMAND,
    MODIFIER_ORDER,
    SHIFT,
    SUPER,
    GlobalHotkey,
    Hotkey,
    HotkeyError,
    _canonical_key,
    _check_usable,
    _split,
    keysym_name,
    parse_hotkey,
)

_unsupported_reason: str | None = None


def unsupported_reason() -> str | None:
    """Why the last create_backend() call returned None, or None if it found a backend."""
    return _unsupported_reason


def choose_backend(platform: str, env: Mapping[str, str]) -> str:
    """Name the backend for a platform and session environment: windows/macos/wayland/x11/none."""
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    session = env.get("XDG_SESSION_TYPE", "").lower()
    # XGrabKey through XWayland only sees keys aimed at X windows, so it is no
    # global hotkey on Wayland even though DISPLAY is set there.
    if session == "wayland" or (session != "x11" and env.get("WAYLAND_DISPLAY")):
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


def _make(kind: str) -> GlobalHotkey:
    """Instantiate a backend by name; raises HotkeyError when it cannot work here."""
    if kind == "windows":
        from notesearch.platform.hotkeys.windows import WindowsHotkey

        return WindowsHotkey()
    if kind == "macos":
        from notesearch.platform.hotkeys.macos import MacHotkey

        return MacHotkey()
    if kind == "wayland":
        from notesearch.platform.hotkeys import wayland

        wayland.check_portal()
        return wayland.PortalHotkey()
    try:
        from notesearch.platform.hotkeys.x11 import X11Hotkey
    except ImportError as exc:
        raise HotkeyError(f"python-xlib is not installed ({exc}).") from exc
    return X11Hotkey()


def create_backend(
    platform: str | None = None, env: Mapping[str, str] | None = None
) -> GlobalHotkey | None:
    """The hotkey backend for this session, or None (see unsupported_reason())."""
    global _unsupported_reason
    kind = choose_backend(platform or sys.platform, os.environ if env is None else env)
    if kind == "none":
        _unsupported_reason = "No graphical session was found (neither DISPLAY nor Wayland)."
        return None
    try:
        backend = _make(kind)
    except HotkeyError as exc:
        _unsupported_reason = str(exc)
        return None
    _unsupported_reason = None
    return backend
