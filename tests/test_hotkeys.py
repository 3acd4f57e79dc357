"""Global hotkeys: parsing, per-platform mappings, and real X11 grabs under Xvfb."""

from __future__ import annotations

import ctypes
import ctypes.wintypes as wintypes
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notesearch.platform import hotkeys
from notesearch.platform.hotkeys import (
    ALT,
    CTRL,
    FUNCTION_KEYS,
    SHIFT,
    SUPER,
    Hotkey,
    HotkeyError,
    macos,
    parse_hotkey,
    wayland,
    windows,
)

ALL_KEYS = [
    *"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    *FUNCTION_KEYS,
    *hotkeys._NAMED_KEYSYMS,
]

# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "modifiers", "key"),
    [
        ("Ctrl+Alt+Space", {CTRL, ALT}, "Space"),
        ("ctrl + alt + space", {CTRL, ALT}, "Space"),
        ("Alt+Control+k", {CTRL, ALT}, "K"),
        ("Super+Shift+enter", {SUPER, SHIFT}, "Return"),
        ("Cmd+Option+N", {SUPER, ALT}, "N"),
        ("Win+PgDn", {SUPER}, "PageDown"),
        ("Ctrl+`", {CTRL}, "Grave"),
        ("Ctrl+Shift+/", {CTRL, SHIFT}, "Slash"),
        ("F12", set(), "F12"),
        ("Shift+f5", {SHIFT}, "F5"),
        ("Ctrl+1", {CTRL}, "1"),
    ],
)
def test_parse_valid(text: str, modifiers: set[str], key: str) -> None:
    assert parse_hotkey(text) == Hotkey(frozenset(modifiers), key)


def test_str_is_canonical_and_round_trips() -> None:
    hotkey = parse_hotkey("space+alt+ctrl")
    assert str(hotkey) == "Ctrl+Alt+Space"
    assert parse_hotkey(str(hotkey)) == hotkey
    assert str(parse_hotkey("super+shift+ctrl+alt+a")) == "Ctrl+Alt+Shift+Super+A"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Ctrl+", "empty part"),
        ("Ctrl++A", "empty part"),
        ("Ctrl+Alt", "only modifiers"),
        ("Ctrl+Banana", "Unknown key 'Banana'"),
        ("Ctrl+A+B", "two keys"),
        ("Ctrl+Ctrl+A", "Ctrl twice"),
        ("A", "steal normal typing"),
        ("Shift+A", "steal normal typing"),
        ("Space", "steal normal typing"),
        ("Ctrl+F25", "Unknown key"),
    ],
)
def test_parse_rejects_with_clear_message(text: str, message: str) -> None:
    with pytest.raises(HotkeyError, match=re.escape(message)):
        parse_hotkey(text)


def test_keysym_names() -> None:
    assert hotkeys.keysym_name("A") == "a"
    assert hotkeys.keysym_name("7") == "7"
    assert hotkeys.keysym_name("Space") == "space"
    assert hotkeys.keysym_name("PageUp") == "Page_Up"
    assert hotkeys.keysym_name("F11") == "F11"


def test_every_key_has_a_real_x_keysym() -> None:
    xk = pytest.importorskip("Xlib.XK")
    for key in ALL_KEYS:
        assert xk.string_to_keysym(hotkeys.keysym_name(key)), key


# ------------------------------------------------------------ backend choice


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("win32", {}, "windows"),
        ("darwin", {"DISPLAY": ":0"}, "macos"),
        ("linux", {"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "x11"),
        ("linux", {"DISPLAY": ":0"}, "x11"),
        ("linux", {"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "wayland"),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "wayland"),
        (
            "linux",
            {"XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":1"},
            "x11",
        ),
        ("linux", {}, "none"),
        ("freebsd14", {"DISPLAY": ":0"}, "x11"),
    ],
)
def test_choose_backend(platform: str, env: dict[str, str], expected: str) -> None:
    assert hotkeys.choose_backend(platform, env) == expected


def test_create_backend_without_session_explains() -> None:
    assert hotkeys.create_backend("linux", {}) is None
    assert "No graphical session" in (hotkeys.unsupported_reason() or "")


def test_create_backend_on_wayland_without_bus_explains(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    assert hotkeys.create_backend("linux", {"XDG_SESSION_TYPE": "wayland"}) is None
    reason = hotkeys.unsupported_reason() or ""
    assert "'notesearch toggle'" in reason


@pytest.fixture
def session_bus(monkeypatch) -> Iterator[str]:
    """A real, private D-Bus session bus with no portal on it."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("dbus-daemon absent")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    address = proc.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    proc.terminate()
    proc.wait(timeout=5)


def test_wayland_without_portal_tells_user_the_command(session_bus: str) -> None:
    with pytest.raises(HotkeyError, match="notesearch toggle") as info:
        wayland.PortalHotkey().register(parse_hotkey("Ctrl+Alt+Space"), lambda: None)
    assert "no xdg-desktop-portal GlobalShortcuts" in str(info.value)
    assert hotkeys.create_backend("linux", {"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert "notesearch toggle" in (hotkeys.unsupported_reason() or "")


# ------------------------------------------------------------------ wayland


def test_portal_paths_follow_request_naming() -> None:
    assert wayland.sender_element(":1.42") == "1_42"
    assert wayland.request_path(":1.42", "tok") == (
        "/org/freedesktop/portal/desktop/request/1_42/tok"
    )
    assert wayland.session_path(":1.7", "s1") == "/org/freedesktop/portal/desktop/session/1_7/s1"


def test_tokens_are_unique_path_elements() -> None:
    tokens = {wayland.new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", t) for t in tokens)


def test_portal_trigger_text() -> None:
    assert wayland.portal_trigger(parse_hotkey("Ctrl+Alt+Space")) == "CTRL+ALT+space"
    assert wayland.portal_trigger(parse_hotkey("Super+Shift+N")) == "SHIFT+LOGO+n"
    assert wayland.portal_trigger(parse_hotkey("Ctrl+PgUp")) == "CTRL+Page_Up"


def test_bind_shortcuts_body_marshals_as_declared() -> None:
    from jeepney import new_method_call
    from jeepney.low_level import Parser

    body = ("/org/freedesktop/portal/desktop/session/1_2/t", [], "", {"handle_token": ("s", "x")})
    body[1].extend(wayland.shortcuts_argument(parse_hotkey("Ctrl+Alt+Space"), "Show it"))
    msg = new_method_call(wayland._address(), "BindShortcuts", "oa(sa{sv})sa{sv}", body)
    parser = Parser()
    parser.add_data(msg.serialise(serial=1))
    (decoded,) = parser.get_next_message().body[1]
    assert decoded == (
        "toggle",
        {"description": ("s", "Show it"), "preferred_trigger": ("s", "CTRL+ALT+space")},
    )


def test_response_codes() -> None:
    assert wayland.response_error(0, "x") is None
    assert "was cancelled" in str(wayland.response_error(1, "binding"))
    assert "failed" in str(wayland.response_error(2, "binding"))
    assert "code 7" in str(wayland.response_error(7, "binding"))


def test_manual_binding_message() -> None:
    text = wayland.manual_binding_message("No portal.")
    assert text.startswith("No portal. ")
    assert "'notesearch toggle'" in text and "keyboard settings" in text


# ------------------------------------------------------------------ windows


def test_windows_modifier_flags() -> None:
    flags = windows.modifier_flags(parse_hotkey("Ctrl+Alt+Space"))
    assert flags == windows.MOD_CONTROL | windows.MOD_ALT | windows.MOD_NOREPEAT == 0x4003
    assert windows.modifier_flags(parse_hotkey("Shift+Win+A")) == 0x4000 | 0x4 | 0x8


@pytest.mark.parametrize(
    ("key", "vk"),
    [
        ("A", 0x41), ("Z", 0x5A), ("0", 0x30), ("9", 0x39), ("F1", 0x70), ("F12", 0x7B),
        ("F24", 0x87), ("Space", 0x20), ("Return", 0x0D), ("Escape", 0x1B),
        ("PageUp", 0x21), ("PageDown", 0x22), ("Left", 0x25), ("Down", 0x28),
        ("Delete", 0x2E), ("Semicolon", 0xBA), ("Grave", 0xC0), ("Apostrophe", 0xDE),
    ],
)  # fmt: skip
def test_windows_virtual_keys(key: str, vk: int) -> None:
    assert windows.virtual_key(key) == vk


def test_windows_maps_every_key() -> None:
    codes = {key: windows.virtual_key(key) for key in ALL_KEYS}
    assert len(set(codes.values())) == len(codes)


def _msg(message: int, wparam: int, lparam: int = 0) -> wintypes.MSG:
    msg = wintypes.MSG()
    msg.message, msg.wParam, msg.lParam = message, wparam, lparam
    return msg


def test_windows_message_parsing() -> None:
    lparam = (0x20 << 16) | (windows.MOD_CONTROL | windows.MOD_ALT)  # HIWORD vk, LOWORD mods
    assert windows.hotkey_id_of(_msg(windows.WM_HOTKEY, 7, lparam)) == 7
    assert windows.hotkey_id_of(_msg(0x0100, 7)) is None  # WM_KEYDOWN


def test_windows_event_filter_dispatches_by_id() -> None:
    fired: list[int] = []
    event_filter = windows.HotkeyEventFilter()
    event_filter.callbacks[5] = lambda: fired.append(5)
    hit = _msg(windows.WM_HOTKEY, 5)
    other = _msg(windows.WM_HOTKEY, 6)
    assert event_filter.nativeEventFilter(b"windows_dispatcher_MSG", ctypes.addressof(hit)) == (
        True, 0,
    )  # fmt: skip
    assert event_filter.nativeEventFilter(b"windows_generic_MSG", ctypes.addressof(other)) == (
        False, 0,
    )  # fmt: skip
    assert event_filter.nativeEventFilter(b"xcb_generic_event_t", ctypes.addressof(hit))[0] is False
    assert fired == [5]


def test_windows_backend_refuses_elsewhere() -> None:
    if os.name == "nt":
        pytest.skip("only meaningful off Windows")
    with pytest.raises(HotkeyError, match="only works on Windows"):
        windows.WindowsHotkey()


# -------------------------------------------------------------------- macOS


def test_macos_modifiers() -> None:
    assert macos.carbon_modifiers(parse_hotkey("Cmd+Shift+A")) == 0x100 | 0x200
    assert macos.carbon_modifiers(parse_hotkey("Ctrl+Option+Space")) == 0x1000 | 0x800


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("A", 0x00), ("S", 0x01), ("Z", 0x06), ("Q", 0x0C), ("1", 0x12), ("5", 0x17),
        ("0", 0x1D), ("Space", 0x31), ("Return", 0x24), ("Escape", 0x35), ("Tab", 0x30),
        ("F1", 0x7A), ("F5", 0x60), ("F12", 0x6F), ("F20", 0x5A), ("Left", 0x7B),
        ("Up", 0x7E), ("Grave", 0x32), ("Delete", 0x75), ("Backspace", 0x33),
    ],
)  # fmt: skip
def test_macos_key_codes(key: str, code: int) -> None:
    assert macos.key_code(key) == code


def test_macos_maps_every_key_a_mac_has() -> None:
    mac_keys = [k for k in ALL_KEYS if k not in ("F21", "F22", "F23", "F24")]
    codes = [macos.key_code(k) for k in mac_keys]
    assert len(set(codes)) == len(codes)
    with pytest.raises(HotkeyError, match="no F21 key"):
        macos.key_code("F21")


def test_macos_four_char_codes() -> None:
    assert macos.fourcc("keyb") == 0x6B657962
    assert macos.fourcc("----") == 0x2D2D2D2D
    assert ctypes.sizeof(macos.EventHotKeyID) == 8


def test_macos_backend_refuses_elsewhere() -> None:
    if os.uname().sysname == "Darwin":
        pytest.skip("only meaningful off macOS")
    with pytest.raises(HotkeyError, match="only works on macOS"):
        macos.MacHotkey()


# ---------------------------------------------------------------- X11, real


def _free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(
            f"/tmp/.X{number}-lock"
        ).exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A real Xvfb server; -noreset so it survives our connections closing."""
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.skip("Xvfb or xdotool not installed")
    pytest.importorskip("Xlib")
    number = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket.exists():
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def _xdotool(display: str, *args: str) -> None:
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()
        self.threads: set[str] = set()

    def __call__(self) -> None:
        self.count += 1
        self.threads.add(threading.current_thread().name)
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        fired = self.event.wait(timeout)
        self.event.clear()
        return fired


@pytest.fixture
def x11(xvfb: str):
    from notesearch.platform.hotkeys.x11 import X11Hotkey

    backends: list[X11Hotkey] = []

    def make() -> X11Hotkey:
        backends.append(X11Hotkey(xvfb))
        return backends[-1]

    yield make
    for backend in backends:
        backend.unregister()


def _lock_state(display_name: str) -> int:
    from Xlib.display import Display

    display = Display(display_name)
    try:
        return display.screen().root.query_pointer().mask
    finally:
        display.close()


def test_x11_hotkey_fires(xvfb: str, x11) -> None:
    counter = Counter()
    x11().register(parse_hotkey("Ctrl+Alt+Space"), counter)
    _xdotool(xvfb, "key", "ctrl+alt+space")
    assert counter.wait(), "callback did not fire"
    assert counter.threads == {"x11-hotkey"}
    _xdotool(xvfb, "key", "ctrl+space")  # different modifiers: not ours
    assert not counter.wait(0.5)
    assert counter.count == 1


def test_x11_second_grab_reports_clash(xvfb: str, x11) -> None:
    x11().register(parse_hotkey("Ctrl+Alt+Space"), lambda: None)
    with pytest.raises(HotkeyError, match=r"^Ctrl\+Alt\+Space is already taken by another app"):
        x11().register(parse_hotkey("Ctrl+Alt+Space"), lambda: None)


def test_x11_fires_with_capslock_and_numlock_on(xvfb: str, x11) -> None:
    from Xlib import X

    counter = Counter()
    x11().register(parse_hotkey("Ctrl+Alt+Space"), counter)
    for lock_key, mask in (("Caps_Lock", X.LockMask), ("Num_Lock", X.Mod2Mask)):
        _xdotool(xvfb, "key", lock_key)  # press+release toggles the lock on
        try:
            assert _lock_state(xvfb) & mask, f"{lock_key} did not turn on"
            _xdotool(xvfb, "key", "ctrl+alt+space")
            assert counter.wait(), f"callback did not fire with {lock_key} on"
        finally:
            _xdotool(xvfb, "key", lock_key)
        assert not _lock_state(xvfb) & mask


def test_x11_unregister_releases_the_grab(xvfb: str, x11) -> None:
    first, second = Counter(), Counter()
    backend = x11()
    backend.register(parse_hotkey("Super+F9"), first)
    backend.unregister()
    x11().register(parse_hotkey("Super+F9"), second)  # would clash if still grabbed
    _xdotool(xvfb, "key", "super+F9")
    assert second.wait()
    assert first.count == 0


def test_x11_survives_a_failing_callback(xvfb: str, x11) -> None:
    counter = Counter()

    def flaky() -> None:
        counter()
        if counter.count == 1:
            raise RuntimeError("boom")

    x11().register(parse_hotkey("Ctrl+Shift+K"), flaky)
    _xdotool(xvfb, "key", "ctrl+shift+k")
    assert counter.wait()
    _xdotool(xvfb, "key", "ctrl+shift+k")
    assert counter.wait()
    assert counter.count == 2


def test_create_backend_picks_x11(xvfb: str, monkeypatch) -> None:
    from notesearch.platform.hotkeys.x11 import X11Hotkey

    monkeypatch.setenv("DISPLAY", xvfb)
    backend = hotkeys.create_backend("linux", {"DISPLAY": xvfb, "XDG_SESSION_TYPE": "x11"})
    assert isinstance(backend, X11Hotkey)
    assert hotkeys.unsupported_reason() is None
    counter = Counter()
    backend.register(parse_hotkey("Ctrl+Alt+J"), counter)
    try:
        _xdotool(xvfb, "key", "ctrl+alt+j")
        assert counter.wait()
    finally:
        backend.unregister()
