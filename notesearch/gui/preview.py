"""The selected note rendered as Markdown, scrolled to the matching passage, highlighted."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtGui import QTextDocument as _QTextDocument
from PySide6.QtWidgets import QMenu, QTextBrowser, QTextEdit, QWidget

from notesearch.core.errors import SkipFile
from notesearch.core.notes import READ_AS_MARKDOWN, decode, note_source
from notesearch.core.prose import display_text, plain_markdown, preview_markdown
from notesearch.core.text import find_terms
from notesearch.gui.operations import Op
from notesearch.gui.results_model import ResultItem

MAX_PREVIEW_CHARS = 300_000  # beyond this the preview shows the start: layout cost grows fast
_FRONT_MATTER = re.compile(r"\A---\r?\n.*?\r?\n(---|\.\.\.)\r?\n", re.DOTALL)


class _QuietDocument(_QTextDocument):
    """A document that loads no images or other resources (that would be disk work)."""

    def loadResource(self, kind: int, name: QUrl | str) -> object:  # noqa: N802 - Qt override
        return None


@dataclass
class Rendered:
    """A note laid out on a worker thread: document plus where the passage and terms are."""

    document: _QTextDocument
    passage: tuple[int, int] | None  # document positions of the matching passage
    terms: list[tuple[int, int]]  # document positions of matched query words


def plain_fragment(line: str) -> str:
    """A source Markdown line reduced to the plain text the rendered document shows."""
    return " ".join(plain_markdown(line, symbols=False)[0].split())


def read_note(path: Path) -> str:
    """The note's text for display (front matter dropped); runs on a worker thread."""
    data = path.read_bytes()
    try:
        text = decode(data)  # as the index read it: UTF-16 and older encodings too
    except SkipFile:
        text = data.decode("utf-8", errors="replace")
    # A canvas or an Org file as the index read it (its cards; Org as Markdown), so that
    # its passages' lines are found; a canvas being written is shown as it is until whole.
    with contextlib.suppress(SkipFile):
        text = note_source(str(path), text.replace("\r\n", "\n"))
    return text[: MAX_PREVIEW_CHARS * 4].lstrip("\ufeff")


def render(path: Path, line: int, end_line: int, query: str, font: QFont) -> Rendered:
    """Parse Markdown and locate the passage; worker thread (QTextDocument is reentrant)."""
    source = display_text(read_note(path))  # line numbers are kept
    lines = source.splitlines()
    passage_lines = lines[max(0, line - 1): max(line, end_line)]
    body = _FRONT_MATTER.sub("", source, count=1)[:MAX_PREVIEW_CHARS]
    if path.suffix.lower() in READ_AS_MARKDOWN:
        body = preview_markdown(body)
    document = _QuietDocument()
    document.setDefaultFont(font)
    if path.suffix.lower() in READ_AS_MARKDOWN:
        document.setMarkdown(body)
        wrap_code_lines(document)
    else:
        document.setPlainText(body)
    front = _FRONT_MATTER.match(source)
    shown_from = front.group(0).count("\n") if front else 0
    passage = locate_passage(document, passage_lines, lines[shown_from: max(0, line - 1)])
    terms = locate_terms(document, query) if query.strip() else []
    # Hand the document to the GUI thread, which will display it.
    app = QCoreApplication.instance()
    assert app is not None  # the GUI that asked for the preview is running
    document.moveToThread(app.thread())
    return Rendered(document, passage, terms)


def wrap_code_lines(document: _QTextDocument) -> None:
    """Let a code block's long lines wrap at the preview's edge, as prose does. Qt's
    Markdown reader makes them unbreakable, and one pasted 400-character command scrolled
    the whole note sideways (a fresh-user trial), its prose with it."""
    cursor = QTextCursor(document)
    block = document.begin()
    while block.isValid():
        form = block.blockFormat()
        if form.nonBreakableLines():
            form.setNonBreakableLines(False)
            cursor.setPosition(block.position())
            cursor.setBlockFormat(form)
        block = block.next()


PASSAGE_REACH = 4000  # characters around its most telling line within which a passage lies


def locate_passage(document: _QTextDocument, passage_lines: list[str],
                   lines_before: Sequence[str] = ()) -> tuple[int, int] | None:
    """Find the rendered span of the passage's lines, as (first, last) document positions.

    Anchored on the passage's longest line, at the occurrence that the source lines before
    it (`lines_before`, the shown lines above the passage) say it is: a journal repeats
    "Ran 5 km" or "Baked the sourdough again" in many entries, and the first occurrence had
    put the preview on another day's entry. Without such a count (an occurrence the
    rendering dropped), the occurrence with the most of the passage's lines near it: a
    heading's words also appear in a long note's table of contents. The other lines are
    looked for outwards from the anchor, each beyond the one before, so that a line
    repeated elsewhere does not stretch the tint over other entries."""
    fragments = [f for f in (plain_fragment(raw)[:60] for raw in passage_lines) if len(f) >= 3]
    if not fragments:
        return None
    at = max(range(len(fragments)), key=lambda i: len(fragments[i]))
    anchor = fragments[at]
    found: list[QTextCursor] = []
    cursor = document.find(anchor, 0)
    while not cursor.isNull() and len(found) < _MAX_OCCURRENCES:
        found.append(cursor)
        cursor = document.find(anchor, cursor.selectionEnd())
    if not found:
        return None
    nth = _occurrences_before(anchor, list(lines_before) + passage_lines[:_line_of(
        passage_lines, anchor, at)])
    if nth < len(found):
        span = _span_around(document, fragments, at, found[nth])
    else:
        span = max((_span_around(document, fragments, at, c) for c in found),
                   key=lambda s: s[0])
    return span[1], span[2]


#: Occurrences of the anchor line looked through (a note is at most MAX_PREVIEW_CHARS).
_MAX_OCCURRENCES = 2000


def _line_of(passage_lines: list[str], anchor: str, fallback: int) -> int:
    """The index in `passage_lines` of the line whose text is the anchor."""
    for index, raw in enumerate(passage_lines):
        if anchor in plain_fragment(raw):
            return index
    return fallback


def _occurrences_before(anchor: str, lines: Sequence[str]) -> int:
    """How often `anchor` stands in the shown text of `lines` (a source line's plain text
    is worked out only when it holds the anchor's longest word: a long note has thousands)."""
    probe = max(anchor.split(), key=len)
    return sum(plain_fragment(raw).count(anchor) for raw in lines if probe in raw)


def _span_around(document: _QTextDocument, fragments: list[str], at: int,
                 anchor: QTextCursor) -> tuple[int, int, int]:
    """(how many fragments lie within PASSAGE_REACH of the anchor, first block, last block).

    The lines before the anchor's are looked for backwards from it, each before the last
    one found, and the lines after forwards, each after."""
    low = max(0, anchor.selectionStart() - PASSAGE_REACH)
    high = anchor.selectionEnd() + PASSAGE_REACH
    first = last = anchor.block()
    found = 1
    position = anchor.selectionStart()
    for fragment in reversed(fragments[:at]):
        cursor = document.find(fragment, position, _QTextDocument.FindFlag.FindBackward)
        if cursor.isNull() or cursor.selectionStart() < low:
            continue
        found += 1
        first, position = cursor.block(), cursor.selectionStart()
    position = anchor.selectionEnd()
    for fragment in fragments[at + 1:]:
        cursor = document.find(fragment, position)
        if cursor.isNull() or cursor.selectionStart() > high:
            continue
        found += 1
        last, position = cursor.block(), cursor.selectionEnd()
    return found, first.position(), last.position() + max(0, last.length() - 1)


def locate_terms(document: _QTextDocument, query: str, limit: int = 500) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    block = document.begin()
    while block.isValid() and len(spans) < limit:
        base = block.position()
        spans += [(base + a, base + b) for a, b in find_terms(block.text(), query, True)]
        block = block.next()
    return spans[:limit]


class NotePreview(QTextBrowser):
    """Read-only rendered note; right-click offers the same actions as a result."""

    def __init__(self, parent: QWidget | None = None,
                 menu_for: Callable[[ResultItem], QMenu] | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Note preview")
        self.setOpenLinks(False)  # links open through our actions, not by navigating here
        self.anchorClicked.connect(self._open_link)
        self.menu_for = menu_for
        self.item: ResultItem | None = None
        self._generation = 0
        self._document: _QTextDocument | None = None
        self.rendered: Rendered | None = None
        self.setPlaceholderText("Select a note to preview it.")
        # A line with no space to wrap at (a URL, a hash) breaks anywhere rather than scroll.
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)

    def show_item(self, item: ResultItem | None, query: str = "") -> None:
        """Render `item` (None clears); a newer call makes any older render's answer void."""
        self._generation += 1
        generation = self._generation
        self.item = item
        if item is None:
            self.clear()
            self.rendered = None
            return
        result, font = item.result, QFont(self.font())
        Op(self, lambda: render(item.path, result.line, result.end_line, query, font),
           lambda rendered: self._show(generation, rendered)).failure(
            lambda error: self._failed(generation, error)).run()

    def _show(self, generation: int, rendered: Rendered) -> None:
        if generation != self._generation:
            return
        self._document = rendered.document  # keep it alive: the view does not own it
        self.rendered = rendered
        self.setDocument(rendered.document)
        self._highlight(rendered)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self.setPlainText(f"This note cannot be shown: {error}")

    def _highlight(self, rendered: Rendered) -> None:
        selections = []
        palette = self.palette()
        accent = palette.color(QPalette.ColorRole.Highlight)
        if rendered.passage is not None:
            tint = QColor(accent)
            tint.setAlphaF(0.13)
            selections.append(self._selection(*rendered.passage, tint, full_width=True))
        word = QColor(accent)
        word.setAlphaF(0.38)
        selections += [self._selection(a, b, word) for a, b in rendered.terms]
        self.setExtraSelections(selections)
        self._scroll_to(rendered)

    def _selection(self, start: int, end: int, color: QColor,
                   full_width: bool = False) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setBackground(color)
        # Without a foreground Qt draws a selected list item's marker with no pen: numbers
        # and bullets came out as empty squares in the tinted passage.
        fmt.setForeground(self.palette().color(QPalette.ColorRole.Text))
        if full_width:
            fmt.setProperty(QTextCharFormat.Property.FullWidthSelection, True)
        selection.cursor, selection.format = cursor, fmt
        return selection

    def _scroll_to(self, rendered: Rendered) -> None:
        """Put the passage (else the first matched word) a little below the top."""
        target = rendered.passage[0] if rendered.passage else (
            rendered.terms[0][0] if rendered.terms else 0)
        layout = self.document().documentLayout()
        top = layout.blockBoundingRect(self.document().findBlock(target)).top()
        height = self.viewport().height()
        y = max(0.0, top - height * 0.15)
        # Start the view at the top of the block there, so no heading is cut in half at the
        # window's edge (unless that block is so tall it would push the passage far down).
        above = self.document().findBlock(layout.hitTest(QPointF(0, y),
                                                         Qt.HitTestAccuracy.FuzzyHit))
        start = layout.blockBoundingRect(above).top() if above.isValid() else y
        self.verticalScrollBar().setValue(int(start if top - start < height * 0.5 else y))

    def passage_visible(self) -> bool:
        """True when the highlighted passage's first line is on screen (for tests)."""
        if self.rendered is None or self.rendered.passage is None:
            return False
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.rendered.passage[0])
        rect = self.cursorRect(cursor)
        return self.viewport().rect().contains(rect.center())

    def _open_link(self, url: QUrl) -> None:
        from notesearch.gui import actions

        if url.isRelative() and self.item is not None:
            url = QUrl.fromLocalFile(str(self.item.path.parent / url.toString()))
        actions.open_url(url)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt override
        if self.item is None or self.menu_for is None:
            super().contextMenuEvent(event)
            return
        menu = self.menu_for(self.item)
        if self.textCursor().hasSelection():
            # With no action to go before (None), Qt appends; the stub does not allow None.
            menu.insertAction(menu.actions()[0] if menu.actions() else None,  # type: ignore[arg-type]
                              menu.addAction("Copy selected text", self.copy))
            menu.insertSeparator(menu.actions()[1])
        menu.exec(event.globalPos())
