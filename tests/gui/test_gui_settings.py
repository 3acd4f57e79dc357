"""Settings: the API key goes to the OS keyring only, and Test makes one real call."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from notesearch.core import secrets
from notesearch.core.config import Settings
from notesearch.core.library import Library
from notesearch.gui.settings_dialog import SettingsDialog


@pytest.fixture
def fresh_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    library = Library(home=tmp_path / "home")
    yield library
    library.close()


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()
            and needle.encode() in p.read_bytes()]


def test_key_is_stored_in_the_keyring_and_never_on_disk(qtbot, real_keyring, fresh_library,
                                                        tmp_path):  # noqa: ANN001
    key = "sk-test-" + "7" * 40
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    dialog.openai_radio.setChecked(True)
    assert dialog.key_edit.echoMode() == dialog.key_edit.EchoMode.Password
    qtbot.keyClicks(dialog.key_edit, key)
    with qtbot.waitSignal(dialog.saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert secrets.get_api_key("openai") == key
    assert dialog.key_edit.text() == ""
    assert Settings.load(fresh_library.home).provider == "openai"
    assert files_containing(tmp_path, key) == []


def test_test_button_reports_success_and_the_exact_failure(qtbot, fake_openai,
                                                           fresh_library):  # noqa: ANN001
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    dialog.openai_radio.setChecked(True)
    dialog.base_url_edit.setText(fake_openai.base_url)
    dialog.key_edit.setText(fake_openai.key)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=15_000)
    assert dialog.test_result.text().startswith("✔ It works"), dialog.test_result.text()
    assert len(fake_openai.requests) == 1
    dialog.key_edit.setText("sk-wrong-key")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=15_000)
    assert dialog.test_result.text().startswith("✘"), dialog.test_result.text()
    assert "rejected the API key" in dialog.test_result.text()
    assert "sk-wrong-key" not in dialog.test_result.text()


def test_folders_and_patterns_are_saved(qtbot, fresh_library, tmp_path):  # noqa: ANN001
    folder = tmp_path / "my notes"
    folder.mkdir()
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    dialog.add_folder(str(folder))
    dialog.exclude_edit.setPlainText("archive/\n*.draft.md\n")
    dialog.editor_combo.setCurrentText("code --goto {path}:{line}")
    with qtbot.waitSignal(dialog.saved, timeout=15_000) as blocker:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [True]  # folders changed: the index needs a run
    assert fresh_library.folders() == [folder]
    saved = Settings.load(fresh_library.home)
    assert saved.exclude == ["archive/", "*.draft.md"]
    assert saved.editor_command == "code --goto {path}:{line}"
