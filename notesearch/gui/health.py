"""Index health: what the index holds, and the files skipped or failed, with a Retry button."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from notesearch.core.indexer import IndexSummary
from notesearch.core.library import Library, Status
from notesearch.gui.operations import Op
from notesearch.gui.results_model import root_name


def status_text(status: Status) -> str:
    lines = [f"{status.notes:,} notes in {len(status.folders)} folder"
             f"{'s' if len(status.folders) != 1 else ''} ({status.chunks:,} passages)."]
    lines += [f"  {root_name(Path(folder))}: {notes:,} notes ({folder})"
              for folder, notes in status.folder_notes]
    when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(status.last_indexed))
            if status.last_indexed else "not yet")
    lines.append(f"Last read in full: {when}. Database: {status.database_bytes / 1e6:,.1f} MB.")
    if status.model_id:
        lines.append(f"Model: {status.model_id}.")
    if status.active_model_id and status.active_model_id != status.model_id:
        lines.append(f"Answering with {status.active_model_id} until re-embedding completes.")
    if status.pending_chunks:
        lines.append(f"{status.pending_chunks:,} passages ({status.notes_not_embedded:,} notes) "
                     "are waiting to be embedded; they match by words until then.")
    if status.embedder_problem:
        lines.append(f"Meaning search unavailable: {status.embedder_problem}")
    skipped = len(status.skipped)
    lines.append(f"{skipped} file{'s' if skipped != 1 else ''} skipped or failed."
                 if skipped else "No files were skipped.")
    return "\n".join(lines)


class HealthDialog(QDialog):
    """Lists skipped files with their reasons; Retry re-reads them through the library."""

    retried = Signal(object)  # IndexSummary: the caller embeds whatever became readable

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Index health")
        self.setAccessibleName("Index health")
        self.summary = QLabel("Checking…", wordWrap=True)
        self.summary.setAccessibleName("Index summary")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Skipped and failed files")
        self.tree.setHeaderLabels(["File", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.retry_button = QPushButton("Retry selected")
        self.retry_button.setAccessibleName("Retry selected files")
        self.retry_button.clicked.connect(self.retry_selected)
        self.retry_all_button = QPushButton("Retry all")
        self.retry_all_button.setAccessibleName("Retry all files")
        self.retry_all_button.clicked.connect(self.retry_all)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.retry_all_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(760, 440)
        self.reload()

    def reload(self) -> None:
        Op(self, self.library.status, self._show).run()

    def _show(self, status: Status) -> None:
        self.summary.setText(status_text(status))
        self.tree.clear()
        for path, reason in status.skipped:
            item = QTreeWidgetItem([path, reason])
            item.setToolTip(0, path)
            item.setToolTip(1, reason)
            self.tree.addTopLevelItem(item)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), self.width() // 2))
        has_items = self.tree.topLevelItemCount() > 0
        # Nothing skipped: the summary says so, and an empty table with its Retry buttons
        # would only look like something failed to load (a fresh-user trial).
        for widget in (self.tree, self.retry_button, self.retry_all_button):
            widget.setVisible(has_items)
        self.retry_button.setEnabled(has_items)
        self.retry_all_button.setEnabled(has_items)

    def paths(self, selected_only: bool) -> list[Path]:
        items = (self.tree.selectedItems() if selected_only else
                 [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())])
        return [Path(item.text(0)) for item in items if item is not None]

    def retry_selected(self) -> None:
        self._retry(self.paths(selected_only=True))

    def retry_all(self) -> None:
        self._retry(self.paths(selected_only=False))

    def _retry(self, paths: list[Path]) -> None:
        if not paths:
            return
        self.retry_button.setEnabled(False)
        self.retry_all_button.setEnabled(False)
        self.summary.setText(f"Retrying {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        Op(self, lambda: self.library.update_paths(paths), self._retried).run()

    def _retried(self, summary: IndexSummary) -> None:
        self.retried.emit(summary)
        self.reload()
