"""Hotkey text and the types every backend shares: parsing, canonical names, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

CTRL = "Ctrl"
ALT = "Alt"
SHIFT = "Shift"
SUPER = "Super"
# Canonical display order, the one most desktops use when they print a shortcut.
MODIFIER_ORDER = (CTRL, ALT, SHIFT, SUPER)

_MODIFIER_ALIASES = {
    "ctrl": CTRL,
    "control": CTRL,
    "ctl": CTRL,
    "alt": ALT,
    "option": ALT,
    "opt": ALT,
    "shift": SHIFT,
    "super": SUPER,
    "meta": SUPER,
    "win": SUPER,
    "windows": SUPER,
    "logo": SUPER,
    "cmd": SUPER,
    "command": SUPER,
}

# Canonical key name -> X11/xkb keysym name. The keysym names double as the key
# names of the XDG shortcuts spec used by the GlobalShortcuts portal.
_NAMED_KEYSYMS = {
    "Space": "space",
    "Return": "Return",
    "Tab": "Tab",
    "Escape": "Escape",
    "Backspace": "BackSpace",
    "Delete": "Delete",
    "Insert": "Insert",
    "Home": "Home",
    "End": "End",
    "PageUp": "Page_Up",
    "PageDown": "Page_Down",
    "Left": "Left",
    "Right": "Right",
    "Up": "Up",
    "Down": "Down",
    "Minus": "minus",
    "Equal": "equal",
    "Comma": "comma",
    "Period": "period",
    "Slash": "slash",
    "Backslash": "backslash",
    "Semicolon": "semicolon",
    "Apostrophe": "apostrophe",
    "BracketLeft": "bracketleft",
    "BracketRight": "bracketright",
    "Grave": "grave",
}

_KEY_ALIASES = {
    "enter": "Return",
    "esc": "Escape",
    "del": "Delete",
    "ins": "Insert",
    "pgup": "PageUp",
    "page_up": "PageUp",
    "prior": "PageUp",
    "pgdn": "PageDown",
    "pgdown": "PageDown",
    "page_down": "PageDown",
    "next": "PageDown",
    "arrowleft": "Left",
    "arrowright": "Right",
    "arrowup": "Up",
    "arrowdown": "Down",
    "backtick": "Grave",
    "quote": "Apostrophe",
    "-": "Minus",
    "=": "Equal",
    ",": "Comma",
    ".": "Period",
    "/": "Slash",
    "\\": "Backslash",
    ";": "Semicolon",
    "'": "Apostrophe",
    "[": "BracketLeft",
    "]": "BracketRight",
    "`": "Grave",
}

FUNCTION_KEYS = tuple(f"F{n}" for n in range(1, 25))

MANUAL_COMMAND = "notesearch toggle"


class HotkeyError(Exception):
    """A shortcut that cannot be parsed or registered; the message is shown to the user."""


@dataclass(frozen=True)
class Hotkey:
    """One key plus modifiers, e.g. Ctrl+Alt+Space; key uses the canonical names above."""

    modifiers: frozenset[str]
    key: str

    def __str__(self) -> str:
        mods = [m for m in MODIFIER_ORDER if m in self.modifiers]
        return "+".join([*mods, self.key])


class GlobalHotkey(Protocol):
    """A system-wide shortcut; the callback may run on a non-GUI thread, so marshal it."""

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> None: ...

    def unregister(self) -> None: ...


def _canonical_key(text: str) -> str | None:
    """The canonical key name for text, or None when it is not a supported key."""
    if len(text) == 1 and text.isascii() and text.isalnum():
        return text.upper()
    lowered = text.lower()
    if lowered in _KEY_ALIASES:
        return _KEY_ALIASES[lowered]
    for name in (*_NAMED_KEYSYMS, *FUNCTION_KEYS):
        if name.lower() == lowered:
            return name
    return None


def _split(text: str) -> list[str]:
    parts = [p.strip() for p in text.split("+")]
    if not text.strip():
        raise HotkeyError("The shortcut is empty; type something like Ctrl+Alt+Space.")
    if any(not p for p in parts):
        raise HotkeyError(f"'{text}' has an empty part; separate keys with a single '+'.")
    return parts


def _check_usable(hotkey: Hotkey, text: str) -> None:
    # Without Ctrl/Alt/Super the shortcut would swallow ordinary typing everywhere.
    if hotkey.key in FUNCTION_KEYS or hotkey.modifiers - {SHIFT}:
        return
    raise HotkeyError(
        f"'{text}' would steal normal typing; add Ctrl, Alt or Super (or use F1–F24)."
    )


def parse_hotkey(text: str) -> Hotkey:
    """Parse 'Ctrl+Alt+Space'-style text (case-insensitive, common aliases accepted)."""
    modifiers: set[str] = set()
    key: str | None = None
    for part in _split(text):
        modifier = _MODIFIER_ALIASES.get(part.lower())
        if modifier is not None:
            if modifier in modifiers:
                raise HotkeyError(f"'{text}' names {modifier} twice.")
            modifiers.add(modifier)
            continue
        canonical = _canonical_key(part)
        if canonical is None:
            raise HotkeyError(
                f"Unknown key '{part}' in '{text}'; use a letter, digit, F1–F24, Space, "
                "Return, Tab, Escape, arrows, Home/End/PageUp/PageDown or punctuation."
            )
        if key is not None:
            raise HotkeyError(f"'{text}' has two keys ({key} and {canonical}); use one.")
        key = canonical
    if key is None:
        raise HotkeyError(f"'{text}' has only modifiers; add a key such as Space.")
    hotkey = Hotkey(frozenset(modifiers), key)
    _check_usable(hotkey, text)
    return hotkey


def keysym_name(key: str) -> str:
    """The X11/xkb keysym name of a canonical key name (letters lower-case, as xkb wants)."""
    if len(key) == 1:
        return key.lower()
    return _NAMED_KEYSYMS.get(key, key)
