"""The search box's dispatch rules, checked without a window (real QTimer, a set clock)."""

from __future__ import annotations

from PySide6.QtCore import QObject

from notesearch.gui.dispatch import DEBOUNCE_MS, READ_AHEAD_PAUSE_MS, ReadAhead, SearchDispatcher


class Box:
    """The text a person has typed, the searches started, and a clock the test moves."""

    def __init__(self) -> None:
        self.text, self.runs, self.now = "", [], 100.0

    def dispatcher(self, parent: QObject) -> SearchDispatcher:
        return SearchDispatcher(parent, lambda: self.text, lambda q, g: self.runs.append((q, g)),
                                clock=lambda: self.now)

    def type(self, dispatcher: SearchDispatcher, text: str, after_ms: float = 10) -> int:
        self.now += after_ms / 1000
        self.text = text
        return dispatcher.typed(text)


def test_the_first_key_after_a_pause_searches_at_once_and_a_burst_searches_once(qtbot) -> None:  # noqa: ANN001
    parent, box = QObject(), Box()
    dispatcher = box.dispatcher(parent)
    first = box.type(dispatcher, "t", after_ms=1000)
    assert box.runs == [("t", first)]  # the leading edge: no wait
    dispatcher.finished()
    for text in ("to", "tom", "toma"):
        box.type(dispatcher, text)  # 10 ms apart: one burst
    assert len(box.runs) == 1 and dispatcher.timer.isActive()
    qtbot.waitUntil(lambda: len(box.runs) == 2, timeout=DEBOUNCE_MS * 20)
    assert box.runs[1] == ("toma", dispatcher.generation)  # the trailing edge, newest text


def test_one_search_at_a_time_and_the_newest_query_runs_next(qtbot) -> None:  # noqa: ANN001
    parent, box = QObject(), Box()
    dispatcher = box.dispatcher(parent)
    old = box.type(dispatcher, "bread", after_ms=1000)
    for text in ("bread r", "bread ri", "bread rise"):
        box.type(dispatcher, text, after_ms=500)  # slow typing, but a search is running
    qtbot.wait(DEBOUNCE_MS * 3)
    assert box.runs == [("bread", old)]  # nothing piles up behind the running search
    assert not dispatcher.is_current(old)  # its answer will be dropped
    dispatcher.finished()
    assert box.runs[-1] == ("bread rise", dispatcher.generation) and len(box.runs) == 2
    dispatcher.finished()
    assert len(box.runs) == 2 and not dispatcher.in_flight


def test_clearing_the_box_or_showing_another_list_makes_answers_stale(qtbot) -> None:  # noqa: ANN001
    parent, box = QObject(), Box()
    dispatcher = box.dispatcher(parent)
    asked = box.type(dispatcher, "kites", after_ms=1000)
    box.type(dispatcher, "kitesx")  # within the burst: waits for the timer
    cleared = box.type(dispatcher, "")
    assert not dispatcher.timer.isActive() and dispatcher.is_current(cleared)
    dispatcher.finished()
    assert box.runs == [("kites", asked)]  # the empty box runs no search
    box.text = "kites"
    similar = dispatcher.supersede()
    assert not dispatcher.is_current(asked) and dispatcher.is_current(similar)
    assert len(box.runs) == 1
    dispatcher.now()
    assert box.runs[-1] == ("kites", similar)


def test_reading_ahead_runs_in_slices_between_searches_and_again_when_notes_change(
        qtbot) -> None:  # noqa: ANN001
    parent, box = QObject(), Box()
    dispatcher = box.dispatcher(parent)
    slices: list[float] = []
    left = [3]  # three slices of work, then done

    def warm(seconds: float) -> bool:
        slices.append(seconds)
        left[0] -= 1
        return left[0] <= 0

    read_ahead = ReadAhead(parent, dispatcher, warm)
    box.type(dispatcher, "kites", after_ms=1000)  # a search is running
    read_ahead.start()
    qtbot.wait(READ_AHEAD_PAUSE_MS * 4)
    assert slices == []  # it waits for the search
    dispatcher.finished()
    qtbot.waitUntil(lambda: read_ahead.done, timeout=5000)
    assert len(slices) == 3 and all(0 < s <= 0.05 for s in slices)
    left[0] = 1  # the notes changed: one more slice of work
    read_ahead.start()
    qtbot.waitUntil(lambda: read_ahead.done and len(slices) == 4, timeout=5000)
