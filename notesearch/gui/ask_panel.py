"""The Ask panel: an answer from the notes, streamed, with citations that open the passage."""

from __future__ import annotations

import html
import json
import re
import threading

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from notesearch.core.ask import CLOSEST_PASSAGES, Answer, Passage, sentence_spans
from notesearch.core.library import Library
from notesearch.core.prose import blank_markup, plain_markdown
from notesearch.core.search import Filters
from notesearch.gui.operations import Op

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


class _Bridge(QObject):
    """Carries what the worker thread learns to the GUI thread (queued signals)."""

    text = Signal(str)
    confirm = Signal(int, str)
    sending = Signal(str)


class AskPanel(QWidget):
    """Shows one question's answer: the chat model's text as it streams (citations as links),
    then the cited passages with their answering sentences marked. Runs the question on a
    worker; Stop cancels it; a first remote call waits for the user's go-ahead."""

    #: A citation was clicked: show this passage (a core.ask.Passage) in the preview.
    cited = Signal(object)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.answer: Answer | None = None
        self.question = ""
        self._streamed = ""
        self._generation = 0
        self._cancel = threading.Event()
        self._decision: tuple[threading.Event, list[bool]] | None = None
        self._bridge = _Bridge(self)
        self._bridge.text.connect(self._on_text)
        self._bridge.confirm.connect(self._on_confirm)
        self._bridge.sending.connect(self._set_status)
        self._build()

    def _build(self) -> None:
        self.browser = QTextBrowser(openLinks=False)
        self.browser.setAccessibleName("Answer")
        self.browser.anchorClicked.connect(self._on_link)
        self.status = QLabel(wordWrap=True)
        self.status.setAccessibleName("Answer status")
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.sent_button = QPushButton("Show what was sent")
        self.sent_button.clicked.connect(self.show_sent)
        self.confirm_label = QLabel(wordWrap=True)
        self.send_button = QPushButton("Send")
        self.decline_button = QPushButton("Passages only")
        self.remember = QCheckBox("Don't ask again")
        self.send_button.clicked.connect(lambda: self._decide(True))
        self.decline_button.clicked.connect(lambda: self._decide(False))
        self.confirm_bar = QWidget()
        bar = QHBoxLayout(self.confirm_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        for widget in (self.confirm_label, self.remember, self.decline_button, self.send_button):
            bar.addWidget(widget, 1 if widget is self.confirm_label else 0)
        self.confirm_bar.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.sent_button)
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.confirm_bar)
        layout.addWidget(self.browser, 1)
        layout.addLayout(buttons)
        self.stop_button.hide()
        self.sent_button.hide()

    # -- running ------------------------------------------------------------------------------
    def ask(self, question: str, filters: Filters) -> None:
        """Answer `question` (any answer still arriving is stopped and dropped)."""
        self.stop()
        self._generation += 1
        generation = self._generation
        self._cancel = threading.Event()
        cancel = self._cancel
        self.question, self.answer, self._streamed = question, None, ""
        self.browser.setHtml(f"<p><i>Looking in your notes for “{html.escape(question)}”…</i></p>")
        self._set_status("")
        self.sent_button.hide()
        self.stop_button.show()

        def work() -> Answer:
            return self.library.ask(
                question, filters,
                on_text=lambda piece: self._from_worker(generation, piece),
                cancelled=cancel.is_set,
                confirm=lambda tokens, where: self._confirm_from_worker(tokens, where, cancel))

        Op(self, work, lambda answer: self._on_answer(generation, answer)).failure(
            lambda error: self._on_failed(generation, error)).long().run()

    def stop(self) -> None:
        """Cancel the answer being written (what arrived stays)."""
        self._cancel.set()
        if self._decision is not None:
            self._decide(False)

    def _from_worker(self, generation: int, piece: str) -> None:
        if generation == self._generation:
            self._bridge.text.emit(piece)

    def _confirm_from_worker(self, tokens: int, where: str, cancel: threading.Event) -> bool:
        """Worker thread: go ahead at once once the user said so for good; else ask on the
        GUI thread and wait for the answer (or a cancel)."""
        if self.library.settings.chat_confirmed:
            self._bridge.sending.emit(f"Sending about {tokens:,} tokens of your notes to "
                                      f"{where}…")
            return True
        decided, holder = threading.Event(), [False]
        self._decision = (decided, holder)
        self._bridge.confirm.emit(tokens, where)
        while not decided.wait(0.1):
            if cancel.is_set():
                return False
        return holder[0]

    def _on_confirm(self, tokens: int, where: str) -> None:
        self.confirm_label.setText(
            f"Send about {tokens:,} tokens of your notes (the passages below the question, no "
            f"private notes) to {where} to write an answer?")
        self.remember.setChecked(False)
        self.confirm_bar.show()
        self.send_button.setFocus()

    def _decide(self, send: bool) -> None:
        if self._decision is None:
            return
        decided, holder = self._decision
        self._decision = None
        holder[0] = send
        if send and self.remember.isChecked():
            self.library.settings.chat_confirmed = True
            self.library.settings.save(self.library.home)
        self.confirm_bar.hide()
        decided.set()

    def _on_text(self, piece: str) -> None:
        self._streamed += piece
        self._render()

    def _on_answer(self, generation: int, answer: Answer) -> None:
        if generation != self._generation:
            return
        self.answer = answer
        self.stop_button.hide()
        self.sent_button.setVisible(bool(answer.sent))
        self._set_status(answer.problem or "")
        self._render()

    def _on_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.stop_button.hide()
        self._set_status(str(error))
        self.browser.setHtml(f"<p>{html.escape(str(error))}</p>")

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

    # -- showing ------------------------------------------------------------------------------
    def _render(self) -> None:
        answer = self.answer
        text = answer.text if answer is not None else self._streamed
        parts = [f"<h3>{html.escape(self.question)}</h3>"]
        if text:
            parts.append(f"<p>{_linked(text)}</p>")
        if answer is None:
            self.browser.setHtml("".join(parts) + ("" if text else "<p><i>Writing…</i></p>"))
            return
        if not answer.passages:
            parts.append("<p>Nothing in your notes matches this question.</p>")
        elif not answer.found and not text:
            parts.append(f"<p><b>{html.escape(CLOSEST_PASSAGES)}</b></p>")
        elif answer.withheld_private:
            parts.append(f"<p><small>{answer.withheld_private} private note(s) were not sent."
                         "</small></p>")
        # Under "the closest passages" a heading of their own said it twice.
        parts.append(_passages_html(answer.passages, bool(text),
                                    titled=bool(text) or answer.found))
        self.browser.setHtml("".join(parts))

    def _on_link(self, url: QUrl) -> None:
        if self.answer is None or not url.fragment().startswith("cite-"):
            return
        number = int(url.fragment().removeprefix("cite-"))
        for passage in self.answer.passages:
            if passage.number == number:
                self.cited.emit(passage)

    def show_sent(self) -> None:
        """Show exactly what the chat model was sent (the messages, as JSON)."""
        if self.answer is None or not self.answer.sent:
            return
        box = QMessageBox(self)
        box.setWindowTitle("What was sent")
        box.setText(f"Sent to {self.answer.model} (about {self.answer.tokens:,} tokens "
                    "with the answer):")
        box.setDetailedText(json.dumps(self.answer.sent, ensure_ascii=False, indent=2))
        box.open()


def _linked(text: str) -> str:
    """The answer as HTML, its "[n]" citations turned into links to the passages."""
    def link(match: re.Match[str]) -> str:
        numbers = [n.strip() for n in match.group(1).split(",")]
        return "[" + ", ".join(f'<a href="#cite-{n}">{n}</a>' for n in numbers) + "]"

    return _CITATION.sub(link, html.escape(text)).replace("\n", "<br>")


def _passages_html(passages: list[Passage], answered: bool, titled: bool = True) -> str:
    rows = ([] if not titled else
            ["<p><b>Sources</b></p>" if answered else "<p><b>From your notes</b></p>"])
    for passage in passages:
        where = html.escape(passage.title + (f" › {heading}" if (heading := passage.section)
                                             else ""))
        rows.append(f'<p><a href="#cite-{passage.number}">[{passage.number}] {where}</a> '
                    f'<small>line {passage.line}–{passage.end_line}</small><br>'
                    f"{_marked_text(passage)}</p>")
    return "".join(rows)


def _marked_text(passage: Passage, width: int = 420) -> str:
    """The answering sentences in bold, with the sentence before and after them, as a
    reader sees them (Markdown marks removed: prose.plain_markdown; URLs, HTML and Logseq
    bookkeeping lines blanked in place: prose.blank_markup)."""
    spans = sentence_spans(passage.text)
    if not spans:
        return ""
    marked = sorted((s.start, s.end) for s in passage.sentences)
    if marked:
        first = next((i for i, (a, b) in enumerate(spans) if b > marked[0][0]), 0)
        last = max(i for i, (a, b) in enumerate(spans) if a < marked[-1][1])
    else:
        first = last = 0
    start = spans[max(0, first - 1)][0]
    end = spans[min(len(spans) - 1, last + 1)][1]
    plain, bold = plain_markdown(blank_markup(passage.text)[start:end],
                                 tuple((a - start, b - start) for a, b in marked))
    plain = plain.replace("\n", " ")  # (runs of blanks collapse when the HTML is laid out)
    out, at = [], 0
    for a, b in bold:
        out += [html.escape(plain[at:a]), "<b>" + html.escape(plain[a:b]) + "</b>"]
        at = b
    out.append(html.escape(plain[at:]))
    text = "".join(out)
    if not bold and len(plain) > width:
        text = html.escape(plain[:width]) + "…"
    return ("…" if start > 0 else "") + text + ("…" if end < len(passage.text) else "")
