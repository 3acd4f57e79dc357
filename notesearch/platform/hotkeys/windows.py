"""Windows global hotkey: RegisterHotKey plus a Qt native event filter for WM_HOTKEY.

Checked against the Win32 docs: RegisterHotKey(hWnd, id, fsModifiers, vk) with
MOD_ALT=0x1, MOD_CONTROL=0x2, MOD_SHIFT=0x4, MOD_WIN=0x8, MOD_NOREPEAT=0x4000; with
hWnd NULL, WM_HOTKEY (0x0312) is posted to the registering thread's queue with
wParam=id, LOWORD(lParam)=modifiers, HIWORD(lParam)=vk; ERROR_HOTKEY_ALREADY_REGISTERED
is 1409; ids for applications are 0x0000-0xBFFF. Virtual-key codes from the
"Virtual-Key Codes" table (OEM punctuation codes are the US-layout positions). Qt hands
thread messages to native event filters as "windows_dispatcher_MSG". Only the mapping
and message parsing are tested off Windows.
"""

from __future__ import annotations

import ctypes
import ctypes.wintypes as wintypes
import sys
from collections.abc import Callable

from PySide6.QtCore import QAbstractNativeEventFilter, QByteArray, QCoreApplication

from notesearch.platform.hotkeys.keys import ALT, CTRL, SHIFT, SUPER, Hotkey, HotkeyError

MOD_ALT = 0x0001
MOD_CONTROL = 0x0002
MOD_SHIFT = 0x0004
MOD_WIN = 0x0008
MOD_NOREPEAT = 0x4000
WM_HOTKEY = 0x0312
ERROR_HOTKEY_ALREADY_REGISTERED = 1409
HOTKEY_ID = 0x4E53  # any id below 0xC000 is ours to pick; 'NS'

_MOD_FLAGS = {CTRL: MOD_CONTROL, ALT: MOD_ALT, SHIFT: MOD_SHIFT, SUPER: MOD_WIN}

_NAMED_VK = {
    "Backspace": 0x08,
    "Tab": 0x09,
    "Return": 0x0D,
    "Escape": 0x1B,
    "Space": 0x20,
    "PageUp": 0x21,  # VK_PRIOR
    "PageDown": 0x22,  # VK_NEXT
    "End": 0x23,
    "Home": 0x24,
    "Left": 0x25,
    "Up": 0x26,
    "Right": 0x27,
    "Down": 0x28,
    "Insert": 0x2D,
    "Delete": 0x2E,
    "Semicolon": 0xBA,  # VK_OEM_1
    "Equal": 0xBB,  # VK_OEM_PLUS
    "Comma": 0xBC,
    "Minus": 0xBD,
    "Period": 0xBE,
    "Slash": 0xBF,  # VK_OEM_2
    "Grave": 0xC0,  # VK_OEM_3
    "BracketLeft": 0xDB,  # VK_OEM_4
    "Backslash": 0xDC,  # VK_OEM_5
    "BracketRight": 0xDD,  # VK_OEM_6
    "Apostrophe": 0xDE,  # VK_OEM_7
}

WINDOWS_EVENT_TYPES = (b"windows_dispatcher_MSG", b"windows_generic_MSG")


def modifier_flags(hotkey: Hotkey) -> int:
    """fsModifiers for RegisterHotKey; MOD_NOREPEAT so holding the keys fires once."""
    flags = MOD_NOREPEAT
    for modifier in hotkey.modifiers:
        flags |= _MOD_FLAGS[modifier]
    return flags


def virtual_key(key: str) -> int:
    """The VK_ code of a canonical key name (letters and digits are their ASCII codes)."""
    if len(key) == 1:
        return ord(key.upper())
    if key.startswith("F") and key[1:].isdigit():
        return 0x70 + int(key[1:]) - 1  # VK_F1 = 0x70 ... VK_F24 = 0x87
    return _NAMED_VK[key]


def hotkey_id_of(msg: wintypes.MSG) -> int | None:
    """The hotkey id carried by a WM_HOTKEY message, or None for any other message."""
    if msg.message != WM_HOTKEY:
        return None
    return int(msg.wParam)


class HotkeyEventFilter(QAbstractNativeEventFilter):
    """Calls the callback registered for a hotkey id when its WM_HOTKEY arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: dict[int, Callable[[], None]] = {}

    def nativeEventFilter(  # noqa: N802
        self, eventType: QByteArray | bytes | bytearray | memoryview, message: int  # noqa: N803
    ) -> tuple[bool, int]:
        # bytes() reads a QByteArray through the buffer protocol, which its stubs leave out.
        if bytes(eventType) not in WINDOWS_EVENT_TYPES or not message:  # type: ignore[arg-type]
            return False, 0
        hotkey_id = hotkey_id_of(wintypes.MSG.from_address(int(message)))
        callback = self.callbacks.get(hotkey_id) if hotkey_id is not None else None
        if callback is None:
            return False, 0
        callback()
        return True, 0


def _user32() -> ctypes.WinDLL:  # type: ignore[name-defined]
    if sys.platform != "win32":
        raise HotkeyError("The Windows hotkey backend only works on Windows.")
    return ctypes.WinDLL("user32", use_last_error=True)


class WindowsHotkey:
    """One global hotkey; register() must run on the Qt GUI thread, which receives it."""

    def __init__(self) -> None:
        self._user32 = _user32()
        self._filter: HotkeyEventFilter | None = None

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """RegisterHotKey for this thread; raises HotkeyError if another app has it."""
        self.unregister()
        ok = self._user32.RegisterHotKey(
            None, HOTKEY_ID, modifier_flags(hotkey), virtual_key(hotkey.key)
        )
        if not ok:
            code = ctypes.get_last_error()  # type: ignore[attr-defined]
            if code == ERROR_HOTKEY_ALREADY_REGISTERED:
                raise HotkeyError(f"{hotkey} is already taken by another application.")
            raise HotkeyError(f"Windows refused the shortcut {hotkey} (error {code}).")
        self._filter = HotkeyEventFilter()
        self._filter.callbacks[HOTKEY_ID] = callback
        app = QCoreApplication.instance()
        assert app is not None, "register() runs on the Qt GUI thread, under an application"
        app.installNativeEventFilter(self._filter)

    def unregister(self) -> None:
        """Release the hotkey and remove the event filter."""
        if self._filter is None:
            return
        self._user32.UnregisterHotKey(None, HOTKEY_ID)
        app = QCoreApplication.instance()
        if app is not None:
            app.removeNativeEventFilter(self._filter)
        self._filter = None
