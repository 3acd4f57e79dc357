"""Settings: folders, include/exclude patterns, provider and model, API key, editor, app."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from notesearch.core import secrets
from notesearch.core.chat import CHAT_OPTIONS
from notesearch.core.config import Settings
from notesearch.core.embedders.openai_api import key_provider
from notesearch.core.embedders.registry import Option, Provider, provider, providers
from notesearch.core.library import Library
from notesearch.gui.actions import EDITOR_PRESETS
from notesearch.gui.operations import Op

TEST_TEXT = "notesearch connection test"
TEST_TIMEOUT = 20.0  # seconds the Test button waits for a remote provider


def test_embedding(settings: Settings, api_key: str) -> str:
    """Make one real embedding call with these settings (and a key not yet stored, if
    given); return a success sentence or raise with the exact failure."""
    start = time.monotonic()
    chosen = provider(settings.provider)
    options = chosen.options_from(settings)
    if api_key.strip():
        options["api_key"] = api_key.strip()
    embedder = chosen.build(options)
    quick = getattr(embedder, "for_queries", None)
    if quick is not None:
        embedder = quick(TEST_TIMEOUT)  # one attempt: the user is waiting for the answer
    vector = embedder.embed_documents([TEST_TEXT])[0]
    seconds = time.monotonic() - start
    return (f"It works: {embedder.model_id} returned a {len(vector)}-dimensional vector "
            f"in {seconds:.2f} s.")


class ProviderForm(QWidget):
    """One provider's choice in Settings: a radio button, then its options and, when it takes
    one, its API key, all made from its declaration in the registry."""

    def __init__(self, provider: Provider, group: QButtonGroup, parent: QWidget) -> None:
        super().__init__(parent)
        self.provider = provider
        self.radio = QRadioButton(f"{provider.label}: {provider.description}")
        self.radio.setAccessibleName(f"Use {provider.label}")
        group.addButton(self.radio)
        self.box = QWidget()
        form = QFormLayout(self.box)
        form.setContentsMargins(24, 0, 0, 0)
        self.edits: dict[str, QComboBox | QLineEdit] = {}
        for option in provider.options:
            edit = self._edit_for(option)
            edit.setAccessibleName(f"{provider.label} {option.label.lower()}")
            self.edits[option.name] = edit
            form.addRow(f"{option.label}:", edit)
        self.key_edit: QLineEdit | None = None
        self.key_status = QLabel(wordWrap=True)
        if provider.key_entry(self._defaults()) is not None:
            self._add_key_row(form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.radio)
        layout.addWidget(self.box)
        self.radio.toggled.connect(self.box.setEnabled)
        self.box.setEnabled(False)

    def _edit_for(self, option: Option) -> QComboBox | QLineEdit:
        if not option.choices:
            return QLineEdit(placeholderText=option.placeholder)
        combo = QComboBox(editable=not option.closed)
        for choice in option.choices:
            combo.addItem(option.notes.get(choice, choice), choice)
        return combo

    def _add_key_row(self, form: QFormLayout) -> None:
        self.key_edit = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setPlaceholderText("Paste a key to store it in the OS keyring")
        self.key_status.setAccessibleName("API key status")
        self.forget_button = QPushButton("Forget stored key")
        self.forget_button.setAccessibleName("Forget stored key")
        row = QHBoxLayout()
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.forget_button)
        form.addRow("API key:", row)
        form.addRow("", self.key_status)

    def _defaults(self) -> dict[str, str]:
        return {o.name: o.default for o in self.provider.options}

    def load(self, settings: Settings) -> None:
        stored = settings.provider_options.get(self.provider.name, {})
        for option in self.provider.options:
            value = stored.get(option.name, option.default)
            edit = self.edits[option.name]
            if isinstance(edit, QLineEdit):
                edit.setText(value)
                continue
            index = edit.findData(value)
            if index >= 0:
                edit.setCurrentIndex(index)
            elif edit.isEditable():
                edit.setCurrentText(value)

    def values(self) -> dict[str, str]:
        """The options as entered (a typed value, or the data of the chosen item)."""
        values = {}
        for name, edit in self.edits.items():
            if isinstance(edit, QLineEdit):
                values[name] = edit.text().strip()
                continue
            index = edit.currentIndex()
            typed = edit.currentText().strip()
            chosen = edit.itemData(index) if index >= 0 and edit.itemText(index) == typed else None
            values[name] = chosen or typed
        return values

    def key_entry(self) -> str | None:
        """The keyring entry this provider's key goes to, for the options entered."""
        options = {**self._defaults(), **{k: v for k, v in self.values().items() if v}}
        return self.provider.key_entry(options)


def parse_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class SettingsDialog(QDialog):
    """Edits a copy of the settings; Save applies everything on a worker thread."""

    #: Emitted after saving; True when the index needs a run (folders, patterns or model).
    saved = Signal(bool)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.original = dataclasses.replace(library.settings)
        self.setWindowTitle("notesearch settings")
        self.setAccessibleName("Settings")
        self.folders_at_open: list[str] = []
        tabs = self.tabs = QTabWidget()
        tabs.setAccessibleName("Settings sections")
        tabs.addTab(self._folders_tab(), "Folders")
        tabs.addTab(self._model_tab(), "Search model")
        tabs.addTab(self._ask_tab(), "Ask")
        tabs.addTab(self._app_tab(), "Editor and app")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.error_label = QLabel(wordWrap=True)
        self.error_label.setAccessibleName("Settings problem")
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(640, 520)
        self._load()

    # -- tabs ---------------------------------------------------------------------------------
    def _folders_tab(self) -> QWidget:
        tab = QWidget()
        self.folder_list = QListWidget()
        self.folder_list.setAccessibleName("Notes folders")
        add = QPushButton("Add folder…")
        add.setAccessibleName("Add folder")
        add.clicked.connect(self.choose_folder)
        remove = QPushButton("Remove")
        remove.setAccessibleName("Remove folder")
        remove.clicked.connect(self.remove_selected_folder)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        self.include_edit = QPlainTextEdit()
        self.include_edit.setAccessibleName("Include patterns")
        self.include_edit.setPlaceholderText("e.g. *.md (one per line; empty: every note)")
        self.exclude_edit = QPlainTextEdit()
        self.exclude_edit.setAccessibleName("Exclude patterns")
        self.exclude_edit.setPlaceholderText("e.g. archive/ or *.draft.md (gitignore syntax)")
        for edit in (self.include_edit, self.exclude_edit):
            edit.setMaximumHeight(edit.fontMetrics().lineSpacing() * 5)
        form = QFormLayout()
        form.addRow("Include:", self.include_edit)
        form.addRow("Exclude:", self.exclude_edit)
        layout = QVBoxLayout(tab)
        layout.addWidget(QLabel("Folders with your notes (Markdown and text files):"))
        layout.addWidget(self.folder_list)
        layout.addLayout(row)
        self.keep_samples_check = QCheckBox("Keep the sample notes when I add a folder of my own")
        self.keep_samples_check.setAccessibleName("Keep the sample notes")
        layout.addWidget(self.keep_samples_check)
        layout.addLayout(form)
        return tab

    def _model_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        group = QButtonGroup(tab)
        self.forms: dict[str, ProviderForm] = {}
        for declared in providers():
            form = self.forms[declared.name] = ProviderForm(declared, group, tab)
            form.radio.toggled.connect(self._provider_changed)
            for edit in form.edits.values():
                signal = (edit.editingFinished if isinstance(edit, QLineEdit)
                          else edit.currentTextChanged)
                signal.connect(self.refresh_key_status)
            if form.key_edit is not None:
                form.forget_button.clicked.connect(lambda _=False, f=form: self.forget_key(f))
            layout.addWidget(form)
        self.test_button = QPushButton("Test")
        self.test_button.setAccessibleName("Test the model with one real call")
        self.test_button.clicked.connect(self.run_test)
        self.test_result = QLabel(wordWrap=True)
        self.test_result.setAccessibleName("Test result")
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        layout.addLayout(test_row)
        note = QLabel("Changing the model re-embeds your notes in the background; the current "
                      "index keeps answering until the new one is complete.", wordWrap=True)
        note.setEnabled(False)
        layout.addWidget(note)
        layout.addStretch(1)
        return tab

    def form(self, provider: str) -> ProviderForm:
        """Return the Settings form of the provider called `provider`."""
        return self.forms[provider]

    def chosen_form(self) -> ProviderForm:
        return next((f for f in self.forms.values() if f.radio.isChecked()),
                    next(iter(self.forms.values())))

    def _ask_tab(self) -> QWidget:
        tab = QWidget()
        self.chat_check = QCheckBox("Answer questions with a chat model")
        self.chat_model_edit = QComboBox(editable=True)
        self.chat_model_edit.addItems(list(CHAT_OPTIONS[0].choices))
        self.chat_url_edit = QLineEdit(placeholderText=CHAT_OPTIONS[1].placeholder)
        self.chat_key_edit = QLineEdit(echoMode=QLineEdit.EchoMode.Password,
                                       placeholderText="stored in the OS keyring; blank: keep")
        self.chat_budget = QSpinBox(minimum=0, maximum=10_000_000, singleStep=10_000)
        self.chat_budget.setSuffix(" tokens a day")
        self.chat_budget.setSpecialValueText("no limit")
        about = QLabel("Without a chat model (the default), Ask shows the passages that answer, "
                       "with the answering sentences marked, and nothing leaves this computer. "
                       "With one, only the passages found are sent, never notes marked "
                       "private; the app asks before the first time.", wordWrap=True)
        form = QFormLayout(tab)
        form.addRow("", self.chat_check)
        form.addRow("Chat model:", self.chat_model_edit)
        form.addRow("Base URL:", self.chat_url_edit)
        form.addRow("API key:", self.chat_key_edit)
        form.addRow("Daily budget:", self.chat_budget)
        form.addRow(about)
        return tab

    def _app_tab(self) -> QWidget:
        tab = QWidget()
        self.editor_combo = QComboBox(editable=True)
        self.editor_combo.setAccessibleName("Editor command")
        self.editor_combo.addItem("")
        for name, command in EDITOR_PRESETS.items():
            self.editor_combo.addItem(command, name)
            self.editor_combo.setItemData(self.editor_combo.count() - 1, name,
                                          Qt.ItemDataRole.ToolTipRole)
        editor_line = self.editor_combo.lineEdit()
        assert editor_line is not None  # an editable combo box has one
        editor_line.setPlaceholderText("e.g. code --goto {path}:{line} (empty: the default app)")
        self.login_check = QCheckBox("Start notesearch when I log in")
        self.login_check.setAccessibleName("Launch at login")
        self.hotkey_edit = QKeySequenceEdit()
        self.hotkey_edit.setAccessibleName("Global hotkey")
        self.hotkey_edit.setMaximumSequenceLength(1)
        self.mcp_private_check = QCheckBox(
            "Let AI assistants (notesearch mcp) read notes marked private")
        self.mcp_private_check.setAccessibleName("AI assistants may read private notes")
        mcp_note = QLabel("Off: assistants never see notes with private: true; on: they can "
                          "search and read them, and may send them to their own servers.",
                          wordWrap=True)
        mcp_note.setEnabled(False)
        form = QFormLayout(tab)
        form.addRow("Open notes in:", self.editor_combo)
        form.addRow("", QLabel("{path} and {line} are replaced by the note and its matching line."))
        form.addRow("Show/hide hotkey:", self.hotkey_edit)
        form.addRow("", self.login_check)
        form.addRow("", self.mcp_private_check)
        form.addRow("", mcp_note)
        return tab

    # -- loading ------------------------------------------------------------------------------
    def _load(self) -> None:
        s = self.original
        self.include_edit.setPlainText("\n".join(s.include))
        self.exclude_edit.setPlainText("\n".join(s.exclude))
        for form in self.forms.values():
            form.load(s)
        chosen = self.forms.get(s.provider) or next(iter(self.forms.values()))
        chosen.radio.setChecked(True)
        self.editor_combo.setCurrentText(s.editor_command)
        self.login_check.setChecked(s.launch_at_login)
        self.keep_samples_check.setChecked(s.keep_sample_notes)
        self.mcp_private_check.setChecked(s.mcp_allow_private)
        self.hotkey_edit.setKeySequence(QKeySequence(s.hotkey))
        self.chat_check.setChecked(s.ask_with_chat)
        self.chat_model_edit.setCurrentText(s.chat_options.get("model")
                                            or CHAT_OPTIONS[0].default)
        self.chat_url_edit.setText(s.chat_options.get("base_url", ""))
        self.chat_budget.setValue(s.chat_daily_tokens)
        self._provider_changed()
        Op(self, lambda: [str(f) for f in self.library.folders()], self._show_folders).run()
        self.refresh_key_status()

    def _show_folders(self, folders: list[str]) -> None:
        self.folders_at_open = folders
        self.folder_list.clear()
        self.folder_list.addItems(folders)

    def _provider_changed(self) -> None:
        self.test_result.clear()

    def refresh_key_status(self) -> None:
        """Say, for each provider that takes a key, whether one is stored (read off the UI
        thread: a keyring may be slow to answer)."""
        for form in self.forms.values():
            entry = form.key_entry()
            if form.key_edit is None or entry is None:
                continue

            def look(entry: str = entry) -> str:
                try:
                    stored = secrets.get_api_key(entry) is not None
                except secrets.KeyringUnavailable as error:
                    return str(error)
                return ("A key is stored in the OS keyring." if stored
                        else "No key stored yet.")

            Op(self, look, form.key_status.setText).run()

    # -- actions ------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a notes folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        existing = {self.folder_list.item(i).text() for i in range(self.folder_list.count())}
        if folder not in existing:
            self.folder_list.addItem(folder)

    def remove_selected_folder(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))

    def folders(self) -> list[str]:
        return [self.folder_list.item(i).text() for i in range(self.folder_list.count())]

    def edited_settings(self) -> Settings:
        chosen = self.chosen_form()
        options = {k: v for k, v in chosen.values().items() if v}
        return dataclasses.replace(
            self.original.with_options(chosen.provider.name, **options),
            include=parse_patterns(self.include_edit.toPlainText()),
            exclude=parse_patterns(self.exclude_edit.toPlainText()),
            editor_command=self.editor_combo.currentText().strip(),
            launch_at_login=self.login_check.isChecked(),
            keep_sample_notes=self.keep_samples_check.isChecked(),
            mcp_allow_private=self.mcp_private_check.isChecked(),
            hotkey=self.hotkey_edit.keySequence().toString(
                QKeySequence.SequenceFormat.PortableText),
            ask_with_chat=self.chat_check.isChecked(),
            chat_options={"model": self.chat_model_edit.currentText().strip(),
                          "base_url": self.chat_url_edit.text().strip()},
            chat_daily_tokens=self.chat_budget.value(),
        )

    def run_test(self) -> None:
        settings = self.edited_settings()
        key_edit = self.chosen_form().key_edit
        key = key_edit.text() if key_edit is not None else ""
        self.test_button.setEnabled(False)
        self.test_result.setText("Testing…")
        Op(self, lambda: test_embedding(settings, key),
           self._test_done).failure(self._test_failed).run()

    def _test_done(self, message: str) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText("✔ " + message)

    def _test_failed(self, error: BaseException) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText(f"✘ {error}")

    def forget_key(self, form: ProviderForm) -> None:
        entry = form.key_entry()
        if entry is None:
            return

        def forget() -> bool:
            removed = secrets.clear_api_key(entry)
            self.library.credentials_changed()  # searches stop using the old key at once
            return removed

        Op(self, forget,
           lambda removed: form.key_status.setText(
               "The stored key was removed." if removed else "No key was stored.")).failure(
            lambda error: form.key_status.setText(str(error))).run()

    def save(self) -> None:
        """Apply on a worker: the key to the keyring only, folders and settings to the library.

        Folders change by what the user added and removed here, not by the list as it stands:
        a Save before the library's folders had arrived used to remove every folder.
        """
        settings = self.edited_settings()
        form = self.chosen_form()
        key = form.key_edit.text().strip() if form.key_edit is not None else ""
        entry = form.key_entry() if key else None
        chosen, shown = self.folders(), self.folders_at_open
        added = [f for f in chosen if f not in shown]
        removed = [f for f in shown if f not in chosen]
        chat_key = self.chat_key_edit.text().strip()
        chat_entry = key_provider(settings.chat_options["base_url"] or None)
        self.save_button.setEnabled(False)
        Op(self, lambda: self._apply(settings, key, entry, added, removed,
                                     (chat_key, chat_entry)),
           self._saved).failure(self._save_failed).run()

    def _apply(self, settings: Settings, key: str, entry: str | None, added: list[str],
               removed: list[str], chat_key: tuple[str, str] = ("", "")) -> bool:
        if key and entry:
            secrets.set_api_key(key, entry)
        if chat_key[0]:
            secrets.set_api_key(*chat_key)
        # Settings first: whether the sample notes stay is decided when a folder is added.
        needs_index = self.library.reload_settings(settings, key_changed=bool(key))
        current = {str(f) for f in self.library.folders()}
        added = [f for f in added if f not in current]
        removed = [f for f in removed if f in current]
        for folder in added:
            self.library.add_folder(Path(folder))
        for folder in removed:
            self.library.remove_folder(Path(folder))
        return needs_index or bool(added or removed)

    def _saved(self, reindex: bool) -> None:
        for form in self.forms.values():
            if form.key_edit is not None:
                form.key_edit.clear()  # the key is in the keyring now; not kept in a widget
        self.chat_key_edit.clear()
        self.saved.emit(reindex)
        self.accept()

    def _save_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.error_label.setText(f"Not saved: {error}")
        self.error_label.show()
