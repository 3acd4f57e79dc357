"""Drives the real app under a display (Xvfb) and saves screenshots of its windows here."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

HERE = Path(__file__).resolve().parent


def wait_until(condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
    """Process events until `condition` holds (the app keeps running meanwhile)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(ms: int = 400) -> None:
    import time

    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def grab(widget: QWidget, name: str, suffix: str) -> None:
    path = HERE / f"{name}{suffix}.png"
    widget.grab().save(str(path))
    print(f"saved {path}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dark", action="store_true", help="dark colour scheme (Qt 6.8+)")
    parser.add_argument("--scale", default="", help="QT_SCALE_FACTOR, e.g. 1.5")
    options = parser.parse_args()
    if options.dark:
        os.environ["NOTESEARCH_COLOR_SCHEME"] = "dark"
    if options.scale:
        os.environ["QT_SCALE_FACTOR"] = options.scale
    suffix = ("-dark" if options.dark else "") + (f"-{options.scale}x" if options.scale else "")
    root = Path(tempfile.mkdtemp(prefix="ns-shots-"))
    os.environ["NOTESEARCH_HOME"] = str(root / "home")
    try:
        return run(root, suffix)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, suffix: str) -> int:
    from notesearch.core.config import sample_notes_folder
    from notesearch.core.library import Library
    from notesearch.gui.app import App, make_qapp
    from notesearch.gui.indexing import State
    from notesearch.gui.settings_dialog import SettingsDialog
    from notesearch.gui.single_instance import SingleInstance
    from notesearch.gui.welcome import WelcomeDialog

    qapp = make_qapp()
    welcome = WelcomeDialog()
    welcome.show()
    wait_until(lambda: welcome.model_status.text().startswith(("✔", "✘")))
    settle()
    grab(welcome, "welcome", suffix)
    welcome.close()
    instance = SingleInstance(name=str(root / "app.sock"))
    instance.claim([])
    library = Library()
    library.reload_settings(dataclasses.replace(library.settings,
                                                editor_command="code --goto {path}:{line}"))
    library.add_folder(sample_notes_folder())
    app = App(qapp, library, instance)
    app.start(["show"], None)
    window = app.window
    window.resize(1100, 700)
    wait_until(lambda: app.indexing.state is State.UP_TO_DATE, 300)
    wait_until(lambda: window.examples_known)
    settle()
    grab(window, "start", suffix)  # the hint, with the example queries as links
    window.field.setText("brown spots on tomato leaves")
    wait_until(lambda: window.shown_generation == window.generation
               and window.model.rowCount() > 0)
    wait_until(lambda: window.preview.rendered is not None)
    settle()
    grab(window, "search", suffix)
    window.field.setText("红烧肉 豆腐")  # CJK rows and a tinted numbered list in the preview
    wait_until(lambda: window.shown_generation == window.generation
               and window.model.rowCount() > 0)
    wait_until(lambda: window.preview.rendered is not None)
    settle()
    grab(window, "chinese", suffix)
    window.field.setText("flibbertigibbet quantum marmalade")
    wait_until(lambda: window.shown_generation == window.generation
               and window.model.rowCount() > 0)
    wait_until(lambda: window.preview.rendered is not None)
    settle()
    grab(window, "no-match", suffix)
    meeting = str(sample_notes_folder() / "work" / "meetings" / "meeting-2024-05-02.md")
    window.show_similar(meeting)
    wait_until(lambda: window.mode == "similar" and window.model.rowCount() > 0
               and window.shown_generation == window.generation)
    wait_until(lambda: window.preview.rendered is not None)
    settle()
    grab(window, "similar", suffix)
    window.leave_similar()
    window.field.setText("how many parts browns to greens in compost?")
    window.ask()  # offline: the passages, answering sentences marked
    wait_until(lambda: window.ask_panel.answer is not None)
    window.ask_panel.cited.emit(window.ask_panel.answer.passages[0])  # the citation clicked
    wait_until(lambda: window.preview.rendered is not None)
    settle()
    grab(window, "ask", suffix)
    shoot_streaming(window, library, suffix)
    dialog = SettingsDialog(library, window)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)  # the model tab: one form per provider, key, Test
    dialog.run_test()  # one real embedding with the local model
    wait_until(lambda: dialog.test_button.isEnabled())
    settle(800)
    grab(dialog, "settings", suffix)
    dialog.close()
    QTimer.singleShot(0, app.quit)
    qapp.exec()
    return 0


def shoot_streaming(window, library, suffix: str) -> None:  # noqa: ANN001
    """Ask with a chat model, caught mid-answer. The model is the test suite's local server
    speaking the chat-completions API (tests/fake_openai.py), streaming a grounded reply."""
    sys.path.insert(0, str(HERE.parent.parent))
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI(key="notesearch-no-key") as server:
        server.chat_delay = 0.25
        server.chat_reply = ("Aim for about 2–3 parts browns (cardboard, dry leaves, straw) to "
                             "1 part greens (veg scraps, coffee grounds) by volume [1]. If the "
                             "heap is wet and smelly, add browns; if it is dry, add greens and "
                             "water [1].")
        library.settings.ask_with_chat = True
        library.settings.chat_confirmed = True
        library.settings.chat_options = {"model": "llama3.2", "base_url": server.base_url}
        window.ask()
        panel = window.ask_panel
        wait_until(lambda: len(panel._streamed) > 90)
        settle(100)
        grab(window, "ask-streaming", suffix)
        wait_until(lambda: panel.answer is not None)
        library.settings.ask_with_chat = False


if __name__ == "__main__":
    sys.exit(main())
