"""Saving Settings with "Launch at login" adds or removes the real login entry."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QApplication

from notesearch.gui.app import App
from notesearch.gui.single_instance import SingleInstance


def test_launch_at_login_setting_writes_and_removes_the_autostart_entry(
        qtbot, library, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    instance = SingleInstance(name=f"notesearch-autostart-test-{os.getpid()}")
    app = App(QApplication.instance(), library, instance)
    entry = Path(tmp_path / ".config" / "autostart" / "notesearch.desktop")
    try:
        library.settings.launch_at_login = True
        app._settings_saved(reindex=False)
        qtbot.waitUntil(entry.exists, timeout=10_000)
        text = entry.read_text(encoding="utf-8")
        assert "Exec=" in text and "hidden" in text
        library.settings.launch_at_login = False
        app._settings_saved(reindex=False)
        qtbot.waitUntil(lambda: not entry.exists(), timeout=10_000)
    finally:
        app.hotkey.unregister()
        app.indexing.shutdown()
        instance.close()
        app.window.close()
