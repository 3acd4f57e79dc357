"""The row under the search field: folder and tag filters, sort order and the result count."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from notesearch.core.search import NO_FILTERS, Filters
from notesearch.gui.results_model import folder_label

SORTS = (("relevance", "Best match first"), ("modified", "Newest first"))


class FilterBar(QWidget):
    """Narrows and orders the results; the query's own `tag:` and `in:` words still apply.

    `changed` is emitted when the user picks another folder, tag or order.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder_combo = self._combo("Folder filter", "All folders")
        self.tag_combo = self._combo("Tag filter", "Any tag")
        self.sort_combo = QComboBox()
        self.sort_combo.setAccessibleName("Sort results")
        for key, label in SORTS:
            self.sort_combo.addItem(label, key)
        self.sort_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Result count")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, combo in (("In:", self.folder_combo), ("Tag:", self.tag_combo),
                             ("Sort:", self.sort_combo)):
            layout.addWidget(QLabel(label))
            layout.addWidget(combo)
        layout.addStretch(1)
        layout.addWidget(self.count_label)

    def _combo(self, name: str, everything: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.addItem(everything, None)
        combo.setMinimumContentsLength(12)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        return combo

    def set_folders(self, folders: list[Path], roots: list[Path]) -> None:
        """Offer these folders (library folders, `roots`, and folders under them), labelled
        from their library folder; keep the choice while it is still offered."""
        self._refill(self.folder_combo, [(folder_label(f / "_", roots), str(f))
                                         for f in folders])

    def set_tags(self, tags: list[tuple[str, int]]) -> None:
        """Offer these tags, most used first, each with how many notes carry it."""
        self._refill(self.tag_combo, [(f"#{tag} ({count:,})", tag) for tag, count in tags])

    def _refill(self, combo: QComboBox, items: list[tuple[str, str]]) -> None:
        chosen = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for label, data in items:
            combo.addItem(label, data)
        index = combo.findData(chosen) if chosen is not None else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)
        if index < 0:  # the folder or tag chosen is gone: every note again
            self.changed.emit()

    def filters(self) -> Filters:
        """The filters chosen here (the query may add its own)."""
        folder, tag = self.folder_combo.currentData(), self.tag_combo.currentData()
        if folder is None and tag is None:
            return NO_FILTERS
        return Filters(folder=folder, tags=(tag,) if tag else ())

    @property
    def newest_first(self) -> bool:
        return self.sort_combo.currentData() == "modified"

    def show_count(self, shown: int, limit: int | None, good: int | None = None) -> None:
        """Say how many results are listed ("20 best matches" when the list is full), and
        how many of them are good matches when not all are (`good`: results at or above
        "no good match"): a fresh-user trial read "20 best matches" over 1-4 relevant ones."""
        if good is not None and good < shown:
            self.count_label.setText(f"{good} good match{'es' if good != 1 else ''} of {shown}"
                                     if good else f"{shown} closest notes")
        elif limit is not None and shown >= limit:
            self.count_label.setText(f"{shown} best matches")
        else:
            self.count_label.setText(f"{shown} result{'s' if shown != 1 else ''}" if shown
                                     else "")
