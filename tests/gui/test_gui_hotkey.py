"""The global hotkey from Settings toggles the window: a real X11 grab under Xvfb."""

from __future__ import annotations

import os
import subprocess

from notesearch.gui.hotkey import GlobalHotkey
from tests.test_hotkeys import xvfb  # noqa: F401 - a fixture: a private Xvfb server


def test_pressing_the_hotkey_emits_on_the_gui_thread(qtbot, xvfb, monkeypatch):  # noqa: ANN001, F811
    monkeypatch.setenv("DISPLAY", xvfb)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    hotkey = GlobalHotkey()
    with qtbot.waitSignal(hotkey.status, timeout=10_000) as status:
        hotkey.register("Ctrl+Alt+K")
    assert status.args[0].startswith("Press Ctrl+Alt+K"), status.args[0]
    try:
        with qtbot.waitSignal(hotkey.pressed, timeout=5000):
            subprocess.run(["xdotool", "key", "ctrl+alt+k"], check=True, timeout=10,
                           env={**os.environ, "DISPLAY": xvfb})
    finally:
        hotkey.unregister()
