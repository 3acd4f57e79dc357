"""Paints one result: title, folder, best passage with matched words highlighted, cues."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import cast

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from notesearch.gui.results_model import ModelIndex, Role

SNIPPET_LINES = 2
METER_SEGMENTS = 4
MATCH_MARKS = {"meaning": "meaning", "words": "words", "both": "both"}


def _blend(a: QColor, b: QColor, amount: float) -> QColor:
    """Mix two colours, so derived tints follow the palette in light and dark themes."""
    return QColor.fromRgbF(*(x * (1 - amount) + y * amount for x, y in
                             zip(_rgb(a), _rgb(b), strict=True)))


def _rgb(color: QColor) -> tuple[float, ...]:
    """Red, green and blue, 0 to 1 (getRgbF's stub declares only `object`)."""
    return cast(tuple[float, ...], color.getRgbF())[:3]


@lru_cache(maxsize=32)
def _line_height(font_key: str) -> float:
    """The height of a line in this font, CJK included: Chinese, Japanese and Korean come
    from a fallback font whose lines are taller than the Latin font's metrics say (rows
    of Chinese overlapped the line under them)."""
    font = QFont()
    font.fromString(font_key)
    layout = QTextLayout("Ag国한あ", font)
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    return max(QFontMetricsF(font).lineSpacing(), line.height() if line.isValid() else 0.0)


def line_height(font: QFont) -> float:
    return _line_height(font.toString())


def _wrapping() -> QTextOption:
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    return option


def visible_excerpt(text: str, spans: tuple[tuple[int, int], ...], font: QFont,
                    width: float) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Return the excerpt and its highlight spans as a row shows them in SNIPPET_LINES lines
    of `width` pixels: when the first matched word would wrap below them (a short passage
    is shown whole, its match at the end), the text starts "…" as many lines above that
    word's line as still leave the word in sight. Lines are measured as the row draws them
    (`shown_lines`): measured in plain weight, three bold words had wrapped a fresh-user
    trial's match onto a third line, out of sight.
    """
    if not spans or width <= 0:
        return text, spans
    starts = [start for start, _ in shown_lines(text, spans, font, width)]
    first = max(i for i, start in enumerate(starts) if start <= spans[0][0])
    if first < SNIPPET_LINES:
        return text, spans
    for above in range(SNIPPET_LINES - 1, -1, -1):  # the most context that still fits
        cut = starts[first - above]
        shift = 1 - cut  # "…" takes the place of the text before `cut`
        shown = "…" + text[cut:]
        moved = tuple((a + shift, b + shift) for a, b in spans if a >= cut)
        lines = shown_lines(shown, moved, font, width, SNIPPET_LINES)
        end = lines[-1][0] + lines[-1][1] if lines else 0
        if above == 0 or moved[0][1] <= end:
            return shown, moved
    return text, spans  # (not reached: above == 0 always returns)


def shown_lines(text: str, spans: tuple[tuple[int, int], ...], font: QFont, width: float,
                limit: int | None = None) -> list[tuple[int, int]]:
    """Return (start, length) of each line of `text` as a row draws it: wrapped to `width`
    pixels, the highlighted spans in bold, the last of the row's lines narrower by the "…"
    that may follow it; the first `limit` lines, or all."""
    layout = QTextLayout(text, font)
    layout.setTextOption(_wrapping())
    layout.setFormats(_bold(spans))
    layout.beginLayout()
    lines: list[tuple[int, int]] = []
    while (limit is None or len(lines) < limit) and (line := layout.createLine()).isValid():
        line.setLineWidth(line_width(len(lines), width, font))
        lines.append((line.textStart(), line.textLength()))
    layout.endLayout()
    return lines


def line_width(number: int, width: float, font: QFont) -> float:
    """The width of a row's excerpt line `number` (from 0): the last of SNIPPET_LINES leaves
    room for the "…" that says more of the passage follows."""
    ellipsis = QFontMetricsF(font).horizontalAdvance("…") if number == SNIPPET_LINES - 1 else 0
    return width - ellipsis


def _bold(spans: tuple[tuple[int, int], ...]) -> list[QTextLayout.FormatRange]:
    """A bold format range per span: highlighted words are drawn bold (wider)."""
    formats = []
    for start, end in spans:
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        item = QTextLayout.FormatRange()
        item.start, item.length, item.format = start, end - start, fmt
        formats.append(item)
    return formats


class ResultDelegate(QStyledItemDelegate):
    """All sizes derive from font metrics, so rows scale with the font and screen DPI."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        fm = QFontMetricsF(option.font)
        pad = fm.height() * 0.45
        title = line_height(self._title_font(option.font))
        small = line_height(self._small_font(option.font))
        height = pad * 2 + title + small + line_height(option.font) * SNIPPET_LINES + pad * 0.5
        return QSize(int(fm.averageCharWidth() * 40), math.ceil(height))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # the style draws only the background and selection; we draw the rest
        style = opt.widget.style() if opt.widget else None
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        group = (QPalette.ColorGroup.Active if opt.state & QStyle.StateFlag.State_Active
                 else QPalette.ColorGroup.Inactive)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        fg = opt.palette.color(group, text_role)
        self._draw(painter, opt, index, fg, selected)
        painter.restore()

    # -- parts ------------------------------------------------------------------------------
    def _draw(self, painter: QPainter, opt: QStyleOptionViewItem, index: ModelIndex,
              fg: QColor, selected: bool) -> None:
        fm = QFontMetricsF(opt.font)
        pad = fm.height() * 0.45
        rect = QRectF(opt.rect).adjusted(pad * 1.5, pad, -pad * 1.5, -pad)
        cues_width = self._draw_cues(painter, opt, index, rect, fg, selected)
        title_font = self._title_font(opt.font)
        title_fm = QFontMetricsF(title_font)
        painter.setFont(title_font)
        painter.setPen(fg)
        title_rect = QRectF(rect.left(), rect.top(), rect.width() - cues_width - pad,
                            line_height(title_font))
        title = elided_title(title_fm, index.data(Qt.ItemDataRole.DisplayRole) or "",
                             title_rect.width())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         title)
        small_font = self._small_font(opt.font)
        small_fm = QFontMetricsF(small_font)
        painter.setFont(small_font)
        painter.setPen(_blend(fg, opt.palette.color(QPalette.ColorRole.Base), 0.4))
        folder_rect = QRectF(rect.left(), title_rect.bottom(), rect.width(),
                             line_height(small_font))
        folder = small_fm.elidedText(index.data(Role.FOLDER) or "",
                                     Qt.TextElideMode.ElideMiddle, folder_rect.width())
        painter.drawText(folder_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         folder)
        top = folder_rect.bottom() + pad * 0.35
        self._draw_snippet(painter, opt, index, QRectF(rect.left(), top, rect.width(),
                                                        rect.bottom() - top), fg, selected)

    def _draw_cues(self, painter: QPainter, opt: QStyleOptionViewItem, index: ModelIndex,
                   rect: QRectF, fg: QColor, selected: bool) -> float:
        """Draw the relevance meter (or score) and the match mark at the top right."""
        small_font = self._small_font(opt.font)
        fm = QFontMetricsF(small_font)
        painter.setFont(small_font)
        height = fm.height()
        right = rect.right()
        accent = opt.palette.color(QPalette.ColorRole.Highlight)
        if selected:
            accent = fg
        model = index.model()
        if getattr(model, "show_scores", False):
            text = index.data(Role.STRENGTH) or f"{index.data(Role.SCORE):.2f}"
            width = fm.horizontalAdvance(text)
            painter.setPen(fg)
            painter.drawText(QRectF(right - width, rect.top(), width, height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            right -= width + fm.averageCharWidth() * 1.5
        else:
            right = self._draw_meter(painter, index.data(Role.RELEVANCE) or 0.0, right,
                                     rect.top(), height, accent, fg)
        mark = MATCH_MARKS.get(index.data(Role.MATCH) or "", "")
        if mark:
            right = self._draw_mark(painter, mark, right, rect.top(), fm, accent, fg, selected)
        return rect.right() - right

    @staticmethod
    def _draw_meter(painter: QPainter, relevance: float, right: float, top: float,
                    height: float, accent: QColor, fg: QColor) -> float:
        """Four bars rising in height, filled by relevance relative to the best result."""
        bar = max(2.0, height * 0.18)
        gap = bar * 0.6
        filled = max(1, math.ceil(relevance * METER_SEGMENTS - 1e-9))
        empty = QColor(fg)
        empty.setAlphaF(0.18)
        left = right - METER_SEGMENTS * bar - (METER_SEGMENTS - 1) * gap
        painter.setPen(Qt.PenStyle.NoPen)
        for i in range(METER_SEGMENTS):
            h = height * (0.35 + 0.55 * (i + 1) / METER_SEGMENTS)
            x = left + i * (bar + gap)
            painter.setBrush(accent if i < filled else empty)
            painter.drawRoundedRect(QRectF(x, top + height * 0.92 - h, bar, h), bar / 3, bar / 3)
        return left - height * 0.5

    @staticmethod
    def _draw_mark(painter: QPainter, mark: str, right: float, top: float, fm: QFontMetricsF,
                   accent: QColor, fg: QColor, selected: bool) -> float:
        width = fm.horizontalAdvance(mark) + fm.averageCharWidth() * 1.6
        box = QRectF(right - width, top + 1, width, fm.height() - 2)
        border = QColor(accent)
        border.setAlphaF(0.7)
        fill = QColor(accent)
        fill.setAlphaF(0.12 if not selected else 0.25)
        painter.setPen(border)
        painter.setBrush(fill)
        painter.drawRoundedRect(box, box.height() / 2, box.height() / 2)
        painter.setPen(fg)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, mark)
        return box.left() - fm.averageCharWidth()

    def _draw_snippet(self, painter: QPainter, opt: QStyleOptionViewItem, index: ModelIndex,
                      rect: QRectF, fg: QColor, selected: bool) -> None:
        text = index.data(Role.SNIPPET) or ""
        if not text:
            return
        text, spans = visible_excerpt(text, tuple(index.data(Role.HIGHLIGHTS) or ()), opt.font,
                                      rect.width())
        layout = QTextLayout(text, opt.font)
        layout.setTextOption(_wrapping())
        layout.setFormats(self._highlight_formats(spans, opt, fg, selected))
        painter.setPen(fg)
        step = line_height(opt.font)  # one spacing for Latin and CJK lines alike
        layout.beginLayout()
        last_line = None
        for number in range(SNIPPET_LINES):
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(line_width(number, rect.width(), opt.font))
            line.setPosition(QPointF(0, number * step + (step - line.height()) / 2))
            last_line = line
        layout.endLayout()
        layout.draw(painter, rect.topLeft())
        if last_line is not None and last_line.textStart() + last_line.textLength() < len(text):
            # More passage than fits: say so instead of cutting a word silently.
            painter.setFont(opt.font)
            painter.drawText(QPointF(rect.left() + last_line.naturalTextWidth(),
                                     rect.top() + last_line.y() + last_line.ascent()), "…")

    @staticmethod
    def _highlight_formats(spans: tuple[tuple[int, int], ...], opt: QStyleOptionViewItem,
                           fg: QColor, selected: bool) -> list[QTextLayout.FormatRange]:
        formats = _bold(spans)  # as visible_excerpt measured them
        background = QColor(opt.palette.color(QPalette.ColorRole.Highlight))
        background.setAlphaF(0.28)
        for item in formats:
            fmt = QTextCharFormat(item.format)
            fmt.setForeground(fg)
            if selected:
                fmt.setFontUnderline(True)  # a tint would vanish on the selection colour
            else:
                fmt.setBackground(background)
            item.format = fmt
        return formats

    @staticmethod
    def _title_font(base: QFont) -> QFont:
        font = QFont(base)
        font.setBold(True)
        font.setPointSizeF(base.pointSizeF() * 1.08 if base.pointSizeF() > 0 else 10)
        return font

    @staticmethod
    def _small_font(base: QFont) -> QFont:
        font = QFont(base)
        if base.pointSizeF() > 0:
            font.setPointSizeF(base.pointSizeF() * 0.88)
        return font


def elided_title(fm: QFontMetricsF, title: str, width: float) -> str:
    """Return `title` cut to `width`. A title made unique by its file name ("Planning
    meeting · meeting (copy).md", see results_model.make_items) loses its middle, so the file
    name's end, where two such notes differ, stays in view; others lose their end."""
    mode = Qt.TextElideMode.ElideMiddle if " · " in title else Qt.TextElideMode.ElideRight
    return fm.elidedText(title, mode, width)
