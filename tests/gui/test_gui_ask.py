"""The Ask panel in the real window: offline citations, a streamed answer, Stop, what was sent."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl

from notesearch.core.embedders.openai_api import NO_KEY_PLACEHOLDER
from notesearch.gui.indexing import IndexingController
from notesearch.gui.search_window import SearchWindow
from tests.fake_openai import FakeOpenAI

QUESTION = "how many parts browns to greens in compost?"


def window_for(qtbot, library, chat: FakeOpenAI | None = None,  # noqa: ANN001
               confirmed: bool = False) -> SearchWindow:
    """The search window; with `chat`, Ask answers with that server's chat model (the user
    already agreed to sending when `confirmed`)."""
    library.settings.ask_with_chat = chat is not None
    if chat is not None:
        library.settings.chat_confirmed = confirmed
        library.settings.chat_options = {"model": "test-chat", "base_url": chat.base_url}
    window = SearchWindow(library, IndexingController(library))
    qtbot.addWidget(window)
    window.present()
    return window


def ask(qtbot, window: SearchWindow, question: str = QUESTION) -> None:  # noqa: ANN001
    window.field.setText(question)
    qtbot.keyClick(window.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.ask_panel.answer is not None, timeout=60_000)


def test_offline_answer_shows_passages_and_a_citation_opens_the_note(qtbot, library):  # noqa: ANN001
    window = window_for(qtbot, library)
    window.field.setText(QUESTION)  # as typed: the results come first, with their count
    qtbot.waitUntil(lambda: window.filter_bar.count_label.text() != "", timeout=30_000)
    ask(qtbot, window)
    shown = window.ask_panel.browser.toPlainText()
    assert window.ask_panel.isVisible() and not window.view.isVisible()
    assert window.filter_bar.count_label.text() == ""  # no "20 best matches" over the answer
    assert "From your notes" in shown and "[1] Composting" in shown and "2–3 parts" in shown
    window.ask_panel.browser.anchorClicked.emit(QUrl("#cite-1"))
    qtbot.waitUntil(lambda: window.preview.rendered is not None, timeout=10_000)
    assert window.preview.item.path.name == "Composting.md"
    assert "browns" in window.preview.toPlainText()
    # Editing the question goes back to live results.
    window.field.setText("compost")
    assert not window.ask_panel.isVisible()


def test_after_asking_with_the_button_typing_goes_on_in_the_search_field(qtbot, library):  # noqa: ANN001, E501
    """A fresh-user trial: after clicking Ask, Ctrl+A selected the answer and what was typed
    next went nowhere. The field keeps the keyboard: Ctrl+A and typing edit the question,
    which goes back to live results."""
    from PySide6.QtWidgets import QApplication

    window = window_for(qtbot, library)
    window.field.setText(QUESTION)
    qtbot.mouseClick(window.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.ask_panel.answer is not None, timeout=60_000)
    assert QApplication.focusWidget() is window.field
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(QApplication.focusWidget(), "compost")
    assert window.field.text() == "compost" and not window.ask_panel.isVisible()


def test_chat_answer_streams_into_the_window_after_the_user_agrees(qtbot, library):  # noqa: ANN001
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        server.chat_delay = 0.02
        window = window_for(qtbot, library, chat=server, confirmed=False)
        panel = window.ask_panel
        updates: list[str] = []
        panel._bridge.text.connect(lambda _: updates.append(panel.browser.toPlainText()))
        window.field.setText(QUESTION)
        window.ask_button.click()
        qtbot.waitUntil(panel.confirm_bar.isVisible, timeout=60_000)
        assert "tokens of your notes" in panel.confirm_label.text()
        assert not server.chat_requests  # nothing leaves before the user agrees
        panel.send_button.click()
        qtbot.waitUntil(lambda: panel.answer is not None, timeout=30_000)
        assert len(updates) > 3 and len(set(updates)) > 3  # the text grew piece by piece
        shown = panel.browser.toPlainText()
        assert "Your notes say:" in shown and "Sources" in shown
        assert panel.sent_button.isVisible() and panel.answer.sent
        assert panel.answer.sent == server.chat_requests[0].body["messages"]


def test_stop_cuts_a_streaming_answer_short(qtbot, library):  # noqa: ANN001
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        server.chat_delay = 0.2
        window = window_for(qtbot, library, chat=server, confirmed=True)
        panel = window.ask_panel
        window.field.setText(QUESTION)
        window.ask_button.click()
        qtbot.waitUntil(lambda: "Your" in panel.browser.toPlainText(), timeout=60_000)
        panel.stop_button.click()
        qtbot.waitUntil(lambda: panel.answer is not None, timeout=10_000)
        assert panel.status.text() == "Stopped: the answer is as far as it got."
        assert not panel.answer.text.endswith("[1].")


def test_a_question_the_notes_do_not_answer_says_so_once(qtbot, library):  # noqa: ANN001
    """A fresh user's trial: "Not found in your notes. The closest passages:" was followed by a
    "From your notes" heading, and the CLI said it in other words. One sentence, once."""
    from notesearch.core.ask import CLOSEST_PASSAGES

    window = window_for(qtbot, library)
    question = "what is the boiling point of mercury on mars?"
    window.field.setText(question)
    ask(qtbot, window, question)
    shown = window.ask_panel.browser.toPlainText()
    assert CLOSEST_PASSAGES in shown and "From your notes" not in shown


def test_an_ask_passage_shows_no_logseq_bookkeeping(qtbot) -> None:  # noqa: ANN001
    """A fresh user's trial: an Ask passage read "…logseq.order-list-type:: number • You
    can right click…", and such a line could be marked as an answering sentence."""
    from notesearch.core.ask import Passage, Sentence, sentence_spans
    from notesearch.gui.ask_panel import _marked_text

    text = ("- To create a card:\n\t- Add #card to any block.\n"
            "\t  logseq.order-list-type:: number\n\t- Right click the bullet to make a card.\n"
            "\t  id:: 64b7f1c2-0d3e-4b8a-9f5e-2c1d0a9b8e7f\n")
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["To create a card:", "Add #card to any block.",
                                            "Right click the bullet to make a card."]
    a, b = spans[1]
    shown = _marked_text(Passage(1, 1, "/n/Flashcards.md", "Flashcards", "", 1, 5, text, 0.9,
                                 False, sentences=(Sentence(a, b, 2, 0.9),)))
    assert "<b>Add #card to any block.</b>" in shown and "Right click the bullet" in shown
    assert "logseq.order-list-type" not in shown and "id::" not in shown
