"""Index health with Retry, the first-run welcome, the tray fallback and the delegate's sizing."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QStyleOptionViewItem, QSystemTrayIcon

from notesearch.core.config import sample_notes_folder
from notesearch.core.library import Library
from notesearch.gui.app import app_icon
from notesearch.gui.health import HealthDialog
from notesearch.gui.indexing import IndexingController
from notesearch.gui.results_delegate import ResultDelegate
from notesearch.gui.search_window import SearchWindow
from notesearch.gui.tray import Tray
from notesearch.gui.welcome import WelcomeDialog


def test_health_lists_skipped_files_and_retry_reindexes_them(qtbot, tmp_path, e5):  # noqa: ANN001
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "fine.md").write_text("# Fine\n\nA readable note.\n")
    broken = notes / "garbled.md"
    broken.write_bytes(bytes(range(0x80, 0x100)) * 4)  # text in no encoding
    library = Library(home=tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.scan()
    dialog = HealthDialog(library)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=10_000)
    # The state of the library: notes per folder, when it was last read, its size on disk.
    assert f"  notes: 1 notes ({notes.resolve()})" in dialog.summary.text()
    assert "Last read in full: 20" in dialog.summary.text()
    assert " MB." in dialog.summary.text()
    row = dialog.tree.topLevelItem(0)
    assert Path(row.text(0)) == broken and not dialog.tree.isHidden()
    assert "not text in UTF-8 or any other encoding" in row.text(1)
    broken.write_text("# Café\n\nNow it is UTF-8.\n")  # the user fixes the file
    with qtbot.waitSignal(dialog.retried, timeout=10_000):
        qtbot.mouseClick(dialog.retry_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 0, timeout=10_000)
    assert "No files were skipped" in dialog.summary.text()
    # Nothing to list: no empty table and Retry buttons beside that sentence.
    assert dialog.tree.isHidden() and dialog.retry_all_button.isHidden()
    assert library.store.note_id(str(broken)) is not None
    library.close()


def test_welcome_offers_the_sample_notes_and_shows_the_model_works_offline(qtbot):  # noqa: ANN001
    dialog = WelcomeDialog()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model_status.text().startswith(("✔", "✘")), timeout=30_000)
    assert dialog.model_status.text().startswith("✔")
    assert "offline" in dialog.model_status.text()
    assert dialog.provider == "local"  # any other provider is opt-in
    offered = [dialog.provider_combo.itemData(i) for i in range(dialog.provider_combo.count())]
    assert offered == ["local", "openai", "ollama"]
    assert not dialog.start_button.isEnabled()  # nothing chosen yet
    qtbot.mouseClick(dialog.sample_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == WelcomeDialog.DialogCode.Accepted
    assert dialog.folders() == [sample_notes_folder()]


def test_without_a_tray_closing_the_window_quits(qtbot, library):  # noqa: ANN001
    controller = IndexingController(library)
    tray = Tray(app_icon(), controller)
    assert tray.available == QSystemTrayIcon.isSystemTrayAvailable()
    window = SearchWindow(library, controller, hide_on_close=lambda: tray.available)
    qtbot.addWidget(window)
    window.present()
    with qtbot.waitSignal(window.quit_requested, timeout=2000, raising=not tray.available):
        window.close()
    assert window.isVisible() == tray.available


def test_rows_grow_with_the_font_for_high_dpi_and_large_text(qtbot) -> None:  # noqa: ANN001
    delegate = ResultDelegate()
    heights = []
    for size in (10, 15, 20):  # 100 %, 150 %, 200 %
        option = QStyleOptionViewItem()
        option.font = QFont("Sans", size)
        heights.append(delegate.sizeHint(option, None).height())
    assert heights[0] < heights[1] < heights[2]
    assert 1.7 < heights[2] / heights[0] < 2.3


def test_a_row_of_chinese_has_room_for_its_lines(qtbot) -> None:  # noqa: ANN001
    """Chinese comes from a fallback font with taller lines than the Latin font's metrics:
    rows of it overlapped the line below and were unevenly spaced. A row is sized for the
    lines its text really takes (with a CJK font installed, as the screenshots have)."""
    from PySide6.QtGui import QTextLayout

    from notesearch.gui.results_delegate import SNIPPET_LINES, line_height

    font = QFont("Sans", 10)
    layout = QTextLayout("红烧肉做法 妈妈的版本 ok", font)
    layout.beginLayout()
    cjk = layout.createLine()
    layout.endLayout()
    assert line_height(font) >= cjk.height()
    option = QStyleOptionViewItem()
    option.font = font
    title = QFont(font)
    title.setBold(True)
    needed = cjk.height() * (SNIPPET_LINES + 2)  # title, folder, the passage's lines
    assert ResultDelegate().sizeHint(option, None).height() >= needed


def test_a_tinted_list_item_in_the_preview_keeps_its_number(qtbot) -> None:  # noqa: ANN001
    """The passage tint had no foreground, so Qt drew the markers of tinted list items with
    no pen: squares instead of "2." and "•"."""
    from PySide6.QtGui import QColor

    from notesearch.gui.preview import NotePreview

    preview = NotePreview()
    qtbot.addWidget(preview)
    preview.setMarkdown("1. one\n2. two\n")
    selection = preview._selection(0, 7, QColor("blue"), full_width=True)
    assert selection.format.foreground().style() != Qt.BrushStyle.NoBrush


def test_app_icon_loads() -> None:
    assert not app_icon().isNull()
    assert not app_icon().pixmap(64, 64).isNull()


def test_notes_in_an_obsidian_vault_offer_an_obsidian_link(qtbot, tmp_path, opened):  # noqa: ANN001
    from notesearch.core.search import Result
    from notesearch.core.text import Snippet
    from notesearch.gui import actions
    from notesearch.gui.results_model import make_items

    vault = tmp_path / "My Vault"
    (vault / ".obsidian").mkdir(parents=True)
    note = vault / "daily" / "2024-05-02 plan.md"
    result = Result(1, str(note), "Plan", 0.9, "both", 3, 5, "", Snippet("plan", ()), 1)
    [item] = make_items([result], [vault])
    assert item.vault == vault and item.folder == "My Vault/daily"
    menu = actions.build_menu(None, item, "", lambda _: None)
    entry = next(a for a in menu.actions() if a.text().startswith("Open in Obsidian"))
    entry.trigger()
    assert bytes(opened[0].toEncoded()).decode() == ("obsidian://open?path="
                                    + str(note).replace("/", "%2F").replace(" ", "%20"))
    assert actions.editor_argv("gedit +{line} {path}", note, 3) == ["gedit", "+3", str(note)]


def test_a_library_made_with_the_cli_opens_without_the_welcome(tmp_path):
    """After `notesearch index ~/notes` the app used to greet the user with the first-run
    welcome and an empty folder list (it keyed on a flag only the app sets)."""
    import subprocess
    import sys

    from notesearch.gui.app import needs_welcome

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\nSomething to find.\n")
    home = tmp_path / "home"
    assert needs_welcome(Library(home=home))  # nothing there yet
    done = subprocess.run([sys.executable, "-m", "notesearch", "index", "--no-embed", str(notes)],
                          env={**os.environ, "NOTESEARCH_HOME": str(home)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    library = Library(home=home)
    assert not needs_welcome(library)
    library.close()


def test_two_notes_of_one_title_still_differ_when_their_row_is_narrow(qtbot) -> None:  # noqa: ANN001
    """"Planning meeting 2024-05-02 · meeting-2…" showed for both the note and its copy:
    the file name's end, where they differ, was cut off."""
    from PySide6.QtGui import QFontMetricsF

    from notesearch.gui.results_delegate import elided_title

    fm = QFontMetricsF(QFont("Sans", 10))
    titles = ["Planning meeting 2024-05-02 · meeting-2024-05-02.md",
              "Planning meeting 2024-05-02 · meeting-2024-05-02 (copy).md"]
    width = fm.horizontalAdvance(titles[0]) * 0.6
    shown = [elided_title(fm, title, width) for title in titles]
    assert shown[0] != shown[1] and shown[1].endswith("(copy).md"), shown
    assert elided_title(fm, "A plain long title " * 5, width).endswith("…")
