"""A list model over search (or similar-notes) results, exposing each field as a role."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from notesearch.core.config import sample_notes_folder
from notesearch.core.markdown import without_notion_id
from notesearch.core.search import Result

ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class ResultItem:
    """A result plus what the GUI shows beside it, worked out on the worker thread."""

    result: Result
    folder: str  # the note's folder, relative to its library folder, for display
    vault: Path | None = None  # the Obsidian vault holding the note, if any
    snippet: str = ""  # the passage excerpt as plain text (Markdown markup removed)
    highlights: tuple[tuple[int, int], ...] = ()  # matched words within `snippet`
    title: str = ""  # what the row is called: the note's title, with its file name if shared

    @property
    def path(self) -> Path:
        return Path(self.result.path)


def find_vault(path: Path) -> Path | None:
    """Return the nearest folder above `path` holding `.obsidian` (touches the disk)."""
    for parent in path.parents:
        if (parent / ".obsidian").is_dir():
            return parent
    return None


def make_items(results: list[Result], roots: list[Path]) -> list[ResultItem]:
    """Wrap results for the view; call on a worker thread (it looks for vault folders)."""
    items = []
    vaults: dict[Path, Path | None] = {}  # results often share folders: look each up once
    titles = Counter(result.title.casefold() for result in results)
    for result in results:
        path = Path(result.path)
        if path.parent not in vaults:
            vaults[path.parent] = find_vault(path)
        text, spans = result.snippet.text, result.snippet.highlights  # as a reader sees it
        # Two notes with one title ("meeting" and "meeting (copy)") must not look the same.
        title = (f"{result.title} · {path.name}" if titles[result.title.casefold()] > 1
                 else result.title)
        items.append(ResultItem(result, folder_label(path, roots), vaults[path.parent],
                                text, spans, title))
    return items


def root_name(root: Path) -> str:
    """How a library folder is named to the user: its name ("Sample notes" for the samples)."""
    return "Sample notes" if root == sample_notes_folder() else root.name or str(root)


def folder_label(path: Path, roots: list[Path]) -> str:
    """'root-name/sub/folder' for a note under one of `roots`, else its parent folder; a
    Notion export's folders by their names, not their ids ("Projects", not "Projects
    b3eccf37…": a fresh-user trial saw the ids under every page's title)."""
    for root in roots:
        if path.is_relative_to(root):
            parts = (root_name(root), *map(without_notion_id,
                                           path.parent.relative_to(root).parts))
            return "/".join(p for p in parts if p)
    return str(path.parent)


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1
    PATH = Qt.ItemDataRole.UserRole + 2
    FOLDER = Qt.ItemDataRole.UserRole + 3
    SNIPPET = Qt.ItemDataRole.UserRole + 4
    HIGHLIGHTS = Qt.ItemDataRole.UserRole + 5
    SCORE = Qt.ItemDataRole.UserRole + 6
    RELEVANCE = Qt.ItemDataRole.UserRole + 7  # confidence (search) or share of best (similar)
    STRENGTH = Qt.ItemDataRole.UserRole + 10  # similar notes: how close, in words
    MATCH = Qt.ItemDataRole.UserRole + 8
    LINE = Qt.ItemDataRole.UserRole + 9


MATCH_LABELS = {"meaning": "meaning", "words": "words", "both": "meaning + words"}


class ResultsModel(QAbstractListModel):
    """Results in rank order; replaced wholesale on each answer (lists are short)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[ResultItem] = []
        self._best = 0.0
        #: Similar-notes lists show raw cosine scores; search lists show relative relevance.
        self.show_scores = False

    def set_items(self, items: list[ResultItem], show_scores: bool = False) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.show_scores = show_scores
        self._best = max((i.result.score for i in items), default=0.0)
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def items(self) -> list[ResultItem]:
        return list(self._items)

    def item(self, row: int) -> ResultItem | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        result = item.result
        if role == Qt.ItemDataRole.DisplayRole:
            return item.title or result.title
        if role == Role.PATH:
            return result.path
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{result.path}\n{self._judged(result)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{result.title}, in {item.folder}, matched by {MATCH_LABELS[result.match]}"
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return item.snippet
        return self._role_value(item, role)

    def _judged(self, result: Result) -> str:
        """The bars in words, for the tooltip: a search result's confidence as a percentage
        (a fresh-user trial could not tell 90% from 29% by the bars), a similar note's
        closeness as said beside it."""
        if self.show_scores:
            return f"{result.strength or 'similar'} (cosine {result.score:.2f})"
        return (f"{round(result.confidence * 100)}% likely the note you mean; "
                f"found by {MATCH_LABELS[result.match]}")

    def _role_value(self, item: ResultItem, role: int) -> object:
        result = item.result
        values: dict[int, object] = {
            Role.ITEM: item,
            Role.FOLDER: item.folder,
            Role.SNIPPET: item.snippet,
            Role.HIGHLIGHTS: item.highlights,
            Role.SCORE: result.score,
            Role.STRENGTH: result.strength,
            # Search results carry a calibrated confidence, the same scale for every query,
            # so weak matches show weak bars; similar-notes lists scale to their best.
            Role.RELEVANCE: (result.confidence if not self.show_scores
                             else result.score / self._best if self._best > 0 else 0.0),
            Role.MATCH: result.match,
            Role.LINE: result.line,
        }
        return values.get(role)

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        names.update({role.value: QByteArray(role.name.lower().encode()) for role in Role})
        return names
