"""First run: choose notes folders or the sample notes; the local model works offline."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from notesearch.core.config import sample_notes_folder
from notesearch.core.embedders.registry import DEFAULT_PROVIDER, providers
from notesearch.gui.operations import Op


def check_local_model() -> str:
    """Embed one query with the local model, offline; raise with the reason when it can't."""
    from notesearch.core.config import Settings
    from notesearch.core.embedders.registry import create_embedder

    embedder = create_embedder(Settings())
    vector = embedder.embed_query("does the local model work offline?")
    return f"{embedder.model_id}, {len(vector)} dimensions"


class WelcomeDialog(QDialog):
    """Returns the chosen folders (or the sample notes) and the embedding provider chosen
    (the local model unless the user opts into another)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to notesearch")
        self.setAccessibleName("Welcome")
        self.use_samples = False
        intro = QLabel("<h2>Find your notes by what they mean</h2>"
                       "<p>notesearch reads your Markdown and text notes and finds them by "
                       "meaning and by words. Choose the folders that hold your notes, or start "
                       "with a few sample notes to try it out. Indexing runs in the background; "
                       "you can search right away.</p>", wordWrap=True)
        self.folder_list = QListWidget()
        self.folder_list.setAccessibleName("Chosen notes folders")
        self.folder_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 7)
        add = QPushButton("Add notes folder…")
        add.setAccessibleName("Add notes folder")
        add.clicked.connect(self.choose_folder)
        self.model_status = QLabel("Checking the built-in model…", wordWrap=True)
        self.model_status.setAccessibleName("Local model status")
        self.provider_combo = QComboBox()
        self.provider_combo.setAccessibleName("Meaning search provider")
        for choice in providers():
            self.provider_combo.addItem(f"{choice.label}: {choice.description}", choice.name)
        self.provider_combo.setCurrentIndex(max(0, self.provider_combo.findData(
            DEFAULT_PROVIDER)))
        provider_note = QLabel("Another provider is opt-in; its server, model and key are set "
                               "in Settings.", wordWrap=True)
        provider_note.setEnabled(False)
        self.sample_button = QPushButton("Try the sample notes")
        self.sample_button.setAccessibleName("Start with the sample notes")
        self.sample_button.clicked.connect(self.start_with_samples)
        self.start_button = QPushButton("Start")
        self.start_button.setAccessibleName("Start with the chosen folders")
        self.start_button.setDefault(True)
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Your notes folders:"))
        layout.addWidget(self.folder_list)
        layout.addLayout(row)
        layout.addWidget(self.model_status)
        provider_row = QHBoxLayout()
        provider_row.addWidget(QLabel("Meaning search with:"))
        provider_row.addWidget(self.provider_combo, 1)
        layout.addLayout(provider_row)
        layout.addWidget(provider_note)
        layout.addStretch(1)  # extra height goes below the content, not between its lines
        layout.addLayout(buttons)
        self.resize(620, 380)
        Op(self, check_local_model, self._model_ok).failure(self._model_failed).run()

    def _model_ok(self, detail: str) -> None:
        self.model_status.setText(f"✔ The built-in model works on this computer, offline: "
                                  f"nothing leaves your machine ({detail}).")

    def _model_failed(self, error: BaseException) -> None:
        self.model_status.setText(f"✘ The built-in model cannot run here: {error}")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a notes folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        if not self.folder_list.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folder_list.addItem(folder)
        self.start_button.setEnabled(True)

    def start_with_samples(self) -> None:
        self.use_samples = True
        self.accept()

    def folders(self) -> list[Path]:
        if self.use_samples:
            return [sample_notes_folder()]
        return [Path(self.folder_list.item(i).text()) for i in range(self.folder_list.count())]

    @property
    def provider(self) -> str:
        """The name of the embedding provider chosen (see embedders/registry.py)."""
        return str(self.provider_combo.currentData())
