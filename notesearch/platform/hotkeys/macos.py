"""macOS global hotkey: Carbon RegisterEventHotKey through ctypes (no Accessibility needed).

Checked against Carbon's HIToolbox headers: Events.h (kVK_* virtual key codes, which are
US-ANSI key positions, and the modifier bits cmdKey=1<<8, shiftKey=1<<9,
optionKey=1<<11, controlKey=1<<12) and CarbonEvents.h (RegisterEventHotKey,
EventHotKeyID {OSType signature; UInt32 id}, kEventClassKeyboard='keyb',
kEventHotKeyPressed=5, kEventParamDirectObject='----', typeEventHotKeyID='hkid',
kEventHotKeyExclusive=1, eventHotKeyExistsErr=-9878). The handler runs on the main
thread from the application's run loop, which Qt's Cocoa event loop drives. Only the
mappings are tested off macOS.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

from notesearch.platform.hotkeys.keys import ALT, CTRL, SHIFT, SUPER, Hotkey, HotkeyError

CMD_KEY = 1 << 8
SHIFT_KEY = 1 << 9
OPTION_KEY = 1 << 11
CONTROL_KEY = 1 << 12

_MODIFIER_BITS = {SUPER: CMD_KEY, SHIFT: SHIFT_KEY, ALT: OPTION_KEY, CTRL: CONTROL_KEY}

KVK_CODES = {
    "A": 0x00, "S": 0x01, "D": 0x02, "F": 0x03, "H": 0x04, "G": 0x05, "Z": 0x06,
    "X": 0x07, "C": 0x08, "V": 0x09, "B": 0x0B, "Q": 0x0C, "W": 0x0D, "E": 0x0E,
    "R": 0x0F, "Y": 0x10, "T": 0x11, "1": 0x12, "2": 0x13, "3": 0x14, "4": 0x15,
    "6": 0x16, "5": 0x17, "Equal": 0x18, "9": 0x19, "7": 0x1A, "Minus": 0x1B,
    "8": 0x1C, "0": 0x1D, "BracketRight": 0x1E, "O": 0x1F, "U": 0x20,
    "BracketLeft": 0x21, "I": 0x22, "P": 0x23, "Return": 0x24, "L": 0x25, "J": 0x26,
    "Apostrophe": 0x27, "K": 0x28, "Semicolon": 0x29, "Backslash": 0x2A,
    "Comma": 0x2B, "Slash": 0x2C, "N": 0x2D, "M": 0x2E, "Period": 0x2F, "Tab": 0x30,
    "Space": 0x31, "Grave": 0x32, "Backspace": 0x33, "Escape": 0x35,
    "F17": 0x40, "F18": 0x4F, "F19": 0x50, "F20": 0x5A, "F5": 0x60, "F6": 0x61,
    "F7": 0x62, "F3": 0x63, "F8": 0x64, "F9": 0x65, "F11": 0x67, "F13": 0x69,
    "F16": 0x6A, "F14": 0x6B, "F10": 0x6D, "F12": 0x6F, "F15": 0x71,
    "Insert": 0x72,  # kVK_Help sits where Insert is on PC keyboards
    "Home": 0x73, "PageUp": 0x74, "Delete": 0x75, "F4": 0x76, "End": 0x77,
    "F2": 0x78, "PageDown": 0x79, "F1": 0x7A, "Left": 0x7B, "Right": 0x7C,
    "Down": 0x7D, "Up": 0x7E,
}  # fmt: skip

EVENT_HOTKEY_EXISTS_ERR = -9878
EVENT_HOTKEY_EXCLUSIVE = 1
EVENT_HOTKEY_PRESSED = 5
NO_ERR = 0
HOTKEY_ID = 1


def fourcc(code: str) -> int:
    """A Carbon OSType (four ASCII characters, big-endian) as an integer."""
    return int.from_bytes(code.encode("ascii"), "big")


SIGNATURE = fourcc("NSrc")


def carbon_modifiers(hotkey: Hotkey) -> int:
    """Carbon modifier bits; Super means the Command key."""
    bits = 0
    for modifier in hotkey.modifiers:
        bits |= _MODIFIER_BITS[modifier]
    return bits


def key_code(key: str) -> int:
    """The kVK_ virtual key code of a canonical key name; HotkeyError if Macs lack the key."""
    try:
        return KVK_CODES[key]
    except KeyError:
        raise HotkeyError(f"Mac keyboards have no {key} key; choose another shortcut.") from None


class EventHotKeyID(ctypes.Structure):
    _fields_ = [("signature", ctypes.c_uint32), ("id", ctypes.c_uint32)]


class EventTypeSpec(ctypes.Structure):
    _fields_ = [("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32)]


# OSStatus (*)(EventHandlerCallRef, EventRef, void *userData)
EventHandlerProc = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)


def _load_carbon() -> ctypes.CDLL:
    if sys.platform != "darwin":
        raise HotkeyError("The macOS hotkey backend only works on macOS.")
    carbon = ctypes.CDLL("/System/Library/Frameworks/Carbon.framework/Carbon")
    carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
    carbon.InstallEventHandler.argtypes = [
        ctypes.c_void_p, EventHandlerProc, ctypes.c_ulong, ctypes.POINTER(EventTypeSpec),
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
    ]  # fmt: skip
    carbon.RegisterEventHotKey.argtypes = [
        ctypes.c_uint32, ctypes.c_uint32, EventHotKeyID, ctypes.c_void_p, ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_void_p),
    ]  # fmt: skip
    carbon.GetEventParameter.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_ulong,
        ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    carbon.UnregisterEventHotKey.argtypes = [ctypes.c_void_p]
    carbon.RemoveEventHandler.argtypes = [ctypes.c_void_p]
    return carbon


class MacHotkey:
    """One global hotkey via Carbon; register() must run on the main (Qt GUI) thread."""

    def __init__(self) -> None:
        self._carbon = _load_carbon()
        self._hotkey_ref = ctypes.c_void_p()
        self._handler_ref = ctypes.c_void_p()
        self._proc: object = None  # keeps the C callback alive while registered
        self._callback: Callable[[], None] = lambda: None

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Install the event handler and register the hotkey exclusively."""
        self.unregister()
        self._callback = callback
        self._install_handler()
        status = self._carbon.RegisterEventHotKey(
            key_code(hotkey.key), carbon_modifiers(hotkey), EventHotKeyID(SIGNATURE, HOTKEY_ID),
            self._carbon.GetApplicationEventTarget(), EVENT_HOTKEY_EXCLUSIVE,
            ctypes.byref(self._hotkey_ref),
        )  # fmt: skip
        if status != NO_ERR:
            self.unregister()
            if status == EVENT_HOTKEY_EXISTS_ERR:
                raise HotkeyError(f"{hotkey} is already taken by another application.")
            raise HotkeyError(f"macOS refused the shortcut {hotkey} (OSStatus {status}).")

    def _install_handler(self) -> None:
        spec = EventTypeSpec(fourcc("keyb"), EVENT_HOTKEY_PRESSED)
        self._proc = EventHandlerProc(self._on_event)
        self._carbon.InstallEventHandler(
            self._carbon.GetApplicationEventTarget(), self._proc, 1, ctypes.byref(spec),
            None, ctypes.byref(self._handler_ref),
        )  # fmt: skip

    def _on_event(self, _call_ref: int, event: int, _user: int) -> int:
        hotkey_id = EventHotKeyID()
        self._carbon.GetEventParameter(
            event, fourcc("----"), fourcc("hkid"), None, ctypes.sizeof(hotkey_id), None,
            ctypes.byref(hotkey_id),
        )  # fmt: skip
        if hotkey_id.signature == SIGNATURE and hotkey_id.id == HOTKEY_ID:
            self._callback()
        return NO_ERR

    def unregister(self) -> None:
        """Unregister the hotkey and remove the handler."""
        if self._hotkey_ref:
            self._carbon.UnregisterEventHotKey(self._hotkey_ref)
            self._hotkey_ref = ctypes.c_void_p()
        if self._handler_ref:
            self._carbon.RemoveEventHandler(self._handler_ref)
            self._handler_ref = ctypes.c_void_p()
        self._proc = None
