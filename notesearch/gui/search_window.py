"""The main window: search field, live ranked results, preview, similar notes, status bar."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from notesearch.core.ask import Passage
from notesearch.core.config import SAMPLE_QUERIES, sample_notes_folder
from notesearch.core.fusion import WEAK_MATCH
from notesearch.core.library import Library
from notesearch.core.query import SYNTAX_HELP
from notesearch.core.search import NO_FILTERS, Filters, Result, SearchResponse, worth_showing
from notesearch.core.text import Snippet
from notesearch.gui import actions
from notesearch.gui.ask_panel import AskPanel
from notesearch.gui.dispatch import ReadAhead, SearchDispatcher
from notesearch.gui.filter_bar import FilterBar
from notesearch.gui.indexing import IndexingController, State, pause_label
from notesearch.gui.operations import Op
from notesearch.gui.preview import NotePreview
from notesearch.gui.results_delegate import ResultDelegate
from notesearch.gui.results_model import ResultItem, ResultsModel, make_items

PREFIX_MIN_CHARS = 3  # "t*" expands to every word starting with t: slow, and says little
RESULTS = 20
SIMILAR = 15


def prefix_last_word(query: str) -> bool:
    """Match the word being typed as a prefix once it has a few letters (or is CJK)."""
    if query.endswith((" ", "\t")):
        return False
    last = query.split()[-1] if query.split() else ""
    return len(last) >= PREFIX_MIN_CHARS or any(ord(c) > 0x2E80 for c in last)


class SearchWindow(QMainWindow):
    """Keyboard first: the field keeps focus; ↑/↓, Enter, Esc and shortcuts act on results."""

    results_shown = Signal(int)  # generation whose results were just put in the model
    settings_requested = Signal()
    health_requested = Signal()
    quit_requested = Signal()

    def __init__(self, library: Library, indexing: IndexingController,
                 hide_on_close: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.library, self.indexing = library, indexing
        self.hide_on_close = hide_on_close
        self.shown_generation = 0  # the generation whose list is on screen (see dispatch.py)
        self.mode = "search"  # or "similar", or "ask"
        self.similar_of: ResultItem | str | None = None
        self.last_response: SearchResponse | None = None
        self.setWindowTitle("notesearch")
        self.setAccessibleName("notesearch")
        self._build()
        self._connect()
        self.read_ahead.start()
        self.resize(1040, 660)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        self.field = QLineEdit(placeholderText="Search your notes by meaning or by words…")
        self.field.setAccessibleName("Search")
        self.field.setAccessibleDescription("Results appear while you type. Up and down move, "
                                            "Enter opens, Escape clears.")
        self.field.setClearButtonEnabled(True)
        font = self.field.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.field.setFont(font)
        self.banner = QLabel(wordWrap=True)
        self.banner.setAccessibleName("Search information")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.banner.linkActivated.connect(lambda _: self.settings_requested.emit())
        self.banner.hide()
        self.model = ResultsModel(self)
        self.view = QListView()
        self.view.setAccessibleName("Results")
        self.view.setModel(self.model)
        self.view.setItemDelegate(ResultDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setAccessibleName("No results")
        # Enabled (a disabled label was light grey on light grey), links for the examples.
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.empty.linkActivated.connect(self._try_example)
        self.preview = NotePreview(menu_for=self.menu_for)
        self.ask_panel = AskPanel(self.library)
        self.ask_panel.cited.connect(self.show_passage)
        self.ask_panel.hide()
        self.ask_button = QPushButton("Ask")
        self.ask_button.setAccessibleName("Ask your notes")
        self.ask_button.setToolTip("Answer the question in the search field from your notes, "
                                   "citing them (Ctrl+Enter)")
        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view)
        left_layout.addWidget(self.empty)
        left_layout.addWidget(self.ask_panel)
        splitter.addWidget(left)
        splitter.addWidget(self.preview)
        splitter.setSizes([460, 580])
        self.filter_bar = FilterBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        field_row = QHBoxLayout()
        field_row.addWidget(self.field, 1)
        field_row.addWidget(self.ask_button)
        layout.addLayout(field_row)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_menus()
        self.examples: tuple[str, ...] = ()
        self.examples_known = False  # set once the library has been asked (worker thread)
        self._show_hint()
        Op(self, self._sample_examples, self._set_examples).run()
        self.refresh_filters()
        actions.set_failure_handler(self.show_cannot_open)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel("Starting…")
        self.state_label.setAccessibleName("Indexing status")
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Indexing progress")
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.pause_button = QToolButton()
        self.pause_button.setText(pause_label(False, False))
        self.pause_button.setAccessibleName("Pause or resume indexing")
        self.health_button = QToolButton()
        self.health_button.setText("Index health…")
        self.health_button.setAccessibleName("Index health")
        # Short notices ("Copied …", the hotkey's state) get a label of their own: the status
        # bar's own temporary message hid the indexing state and its buttons while it showed
        # (8 s at start, when people look for the indexing progress).
        self.notice_label = QLabel()
        self.notice_label.setAccessibleName("Notice")
        # The notice shares only the room the indexing state leaves (up to its own text's
        # width, set in `notify`): beside "Embedding 96 / 837 passages · by notesearch index
        # (pid 25774); waiting for it", the hotkey's hint cut the state to "(pid 2577" (a
        # trial's screenshot, 1040 px wide).
        self.notice_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.notice_timer = QTimer(self, singleShot=True)
        self.notice_timer.timeout.connect(self.notice_label.clear)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.state_label, 1)
        row.addWidget(self.notice_label, 1)
        row.addWidget(self.progress_bar)
        row.addWidget(self.pause_button)
        row.addWidget(self.health_button)
        bar.addWidget(box, 1)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&Notesearch")
        self.pause_action = QAction("&" + pause_label(False, False), self)
        menu.addAction("&Settings…", QKeySequence.StandardKey.Preferences,
                       self.settings_requested.emit)
        menu.addAction("Index &health…", self.health_requested.emit)
        menu.addAction(self.pause_action)
        menu.addSeparator()
        menu.addAction("&Hide window", self.hide)
        menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.quit_requested.emit)
        self.note_menu = self.menuBar().addMenu("N&ote")
        self.note_menu.aboutToShow.connect(self._fill_note_menu)

    def _connect(self) -> None:
        self.dispatcher = SearchDispatcher(self, self.field.text, self._run_search,
                                           wanted=self._wanted)
        self.read_ahead = ReadAhead(self, self.dispatcher, self.library.warm)
        self.field.textChanged.connect(self._on_text)
        self.filter_bar.changed.connect(self._filters_changed)
        self.field.installEventFilter(self)
        self.view.installEventFilter(self)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.activated.connect(lambda index: self.open_current())
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.pause_button.clicked.connect(self.indexing.toggle_pause)
        self.pause_action.triggered.connect(self.indexing.toggle_pause)
        self.health_button.clicked.connect(self.health_requested.emit)
        self.indexing.state_changed.connect(self._on_state)
        self.indexing.progress.connect(self._on_progress)
        self.indexing.notes_changed.connect(self.refresh)
        self.indexing.notes_changed.connect(self.refresh_filters)
        shortcuts = {
            actions.SHORTCUT_REVEAL: self.reveal_current,
            actions.SHORTCUT_COPY_LINK: self.copy_link,
            actions.SHORTCUT_COPY_PATH: self.copy_path,
            actions.SHORTCUT_EDITOR: self.open_current_in_editor,
            actions.SHORTCUT_SIMILAR: self.similar_current,
        }
        for keys, slot in shortcuts.items():
            QShortcut(keys, self, slot)
        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_search)
        self.ask_button.clicked.connect(self.ask)

    # -- searching ----------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """The newest query's (or list's) generation; older answers are dropped."""
        return self.dispatcher.generation

    def _on_text(self, text: str) -> None:
        if self.mode == "ask":
            self.leave_ask()
        self.mode, self.similar_of = "search", None
        generation = self.dispatcher.typed(text)
        if not self._wanted(text):
            self._show_items([], generation)
            self._show_hint()

    def refresh(self) -> None:
        """Run the current query again (notes changed on disk or in the index)."""
        self.read_ahead.start()
        if self.mode == "similar" and self.similar_of is not None:
            self.show_similar(self.similar_of)
        else:
            self.dispatcher.later()

    def _run_search(self, query: str, generation: int) -> None:
        filters, newest_first = self.filter_bar.filters(), self.filter_bar.newest_first
        Op(self, lambda: self._search(query, filters, newest_first),
           lambda answer: self._on_answer(generation, answer)).failure(
            self._on_search_failed).run()

    def _wanted(self, text: str) -> bool:
        """Whether there is anything to search: words typed, or, with nothing typed, a folder
        or tag chosen in the filter row, whose notes are listed as `notesearch search --tag T`
        lists them (a fresh-user trial chose a tag and saw only the hint)."""
        return bool(text.strip()) or bool(self.filter_bar.filters())

    def _filters_changed(self) -> None:
        if self.mode != "search":
            return
        generation = self.dispatcher.supersede()
        if self._wanted(self.field.text()):
            self.dispatcher.now()
        else:
            self._show_items([], generation)
            self._show_hint()

    def refresh_filters(self) -> None:
        """Offer the library's folders and tags in the filter row (read on a worker)."""
        Op(self, lambda: (self.library.browse_folders(), self.library.folders(),
                          self.library.tags()), self._set_filter_choices).run()

    def _set_filter_choices(self, choices: tuple[list[Path], list[Path],
                                                 list[tuple[str, int]]]) -> None:
        folders, roots, tags = choices
        self.filter_bar.set_folders(folders, roots)
        self.filter_bar.set_tags(tags)

    def _search(self, query: str, filters: Filters = NO_FILTERS, newest_first: bool = False
                ) -> tuple[SearchResponse, list[ResultItem]]:
        """Worker thread: the search plus the per-result disk look-ups the view needs; with
        `newest_first`, the best matches ordered by when their notes were last modified."""
        response = self.library.search(query, RESULTS, filters,
                                       as_you_type=prefix_last_word(query))
        results = worth_showing(response.results)
        if newest_first:
            results = sorted(results, key=lambda r: -r.modified)
        return response, make_items(results, self.library.folders())

    def _on_answer(self, generation: int, answer: tuple[SearchResponse, list[ResultItem]]) -> None:
        self.dispatcher.finished()
        if not self.dispatcher.is_current(generation) or self.mode != "search":
            return  # a newer keystroke (or a similar-notes list) owns the view now
        response, items = answer
        self.last_response = response
        self._show_items(items, generation)
        self._show_search_notes(response, items)

    def _on_search_failed(self, error: BaseException) -> None:
        self.dispatcher.finished()
        self._set_banner(f"Search failed: {error}", warning=True)

    def _show_items(self, items: list[ResultItem], generation: int,
                    show_scores: bool = False) -> None:
        self.model.set_items(items, show_scores)
        self.shown_generation = generation
        self.filter_bar.show_count(len(items), RESULTS if self.mode == "search" else None,
                                   self._good(items) if self.mode == "search" else None)
        self.view.setVisible(bool(items))
        self.empty.setVisible(not items)
        if items:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollToTop()
        else:
            self.preview.show_item(None)
        self.results_shown.emit(generation)

    def _show_search_notes(self, response: SearchResponse, items: list[ResultItem]) -> None:
        notes = [response.spelling_note()] if response.corrections else []
        if response.weak:
            notes.append("No good match: these are only the closest notes.")
        if response.meaning_unavailable:
            notes.append(f"Matching by words only: {response.meaning_unavailable}")
        elif response.notes_not_embedded:
            count = response.notes_not_embedded
            notes.append(f"{count:,} note{'s' if count != 1 else ''} still being indexed "
                         f"{'matches' if count == 1 else 'match'} by words only for now.")
        if notes:
            self._set_banner(" ".join(notes))
        else:
            self.banner.hide()
        if not items:
            self.empty.setTextFormat(Qt.TextFormat.PlainText)
            self.empty.setText(response.filter_note or f"No notes match “{response.query}”.")

    def _sample_examples(self) -> tuple[str, ...]:
        """Example queries while the bundled sample notes are in the library (worker thread)."""
        sample = sample_notes_folder()
        return SAMPLE_QUERIES if sample in self.library.folders() else ()

    def _set_examples(self, examples: tuple[str, ...]) -> None:
        self.examples, self.examples_known = examples, True
        if not self._wanted(self.field.text()) and self.mode == "search":
            self._show_hint()

    def _show_hint(self) -> None:
        self.banner.hide()
        help_text = html.escape(
            "Type to search. Results appear as you type: ↑/↓ to move, Enter to open, Ctrl+R "
            "to reveal, Ctrl+L to copy a [[link]], Ctrl+M for similar notes, Esc to clear.")
        syntax = html.escape(f"Narrow a search with {SYNTAX_HELP}.")
        tries = "".join(f'<br><a href="{n}">“{html.escape(example)}”</a>'
                        for n, example in enumerate(self.examples))
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setText(f"{help_text}<br><br>{syntax}"
                           + (f"<br><br>Try:{tries}" if tries else ""))
        self.view.setVisible(self.model.rowCount() > 0)
        self.empty.setVisible(self.model.rowCount() == 0)

    def _try_example(self, link: str) -> None:
        """Search for an example query the hint offers (its link is its number)."""
        if link.isdigit() and int(link) < len(self.examples):
            self.field.setText(self.examples[int(link)])
            self.focus_search()

    def refresh_examples(self) -> None:
        """Ask again whether the sample notes are in the library (their folder was just
        added on a first run, after the window was made)."""
        Op(self, self._sample_examples, self._set_examples).run()
        self.refresh_filters()

    def _set_banner(self, text: str, warning: bool = False) -> None:
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setText(text)
        self.banner.setStyleSheet("color: palette(link);" if not warning else
                                  "color: #c0392b; font-weight: bold;")
        self.banner.show()

    def show_cannot_open(self, message: str) -> None:
        """Say that no program could open a note, with a link to the editor setting."""
        self._set_banner(message, warning=True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setText(f"{html.escape(message)} <a href=\"settings\">Open Settings…</a>")

    def show_error(self, error: BaseException) -> None:
        """The one place where failed operations without their own handler are reported."""
        self._set_banner(str(error) or type(error).__name__, warning=True)

    # -- similar notes ------------------------------------------------------------------------
    def show_similar(self, target: ResultItem | str) -> None:
        """List the notes most like `target` (a result, or a path from the command line)."""
        path = Path(target.result.path if isinstance(target, ResultItem) else target)
        title = target.result.title if isinstance(target, ResultItem) else path.stem
        generation = self.dispatcher.supersede()
        if self.mode == "ask":
            self.leave_ask()
        self.mode, self.similar_of = "similar", target
        self._set_banner(_similar_banner(title, 0))

        def work() -> tuple[list[ResultItem], str, int]:
            items = make_items(self.library.similar(path, SIMILAR), self.library.folders())
            return (items, "" if items else self.library.why_no_similar(path),
                    self.library.searcher().notes_not_embedded())

        Op(self, work, lambda found: self._on_similar(generation, title, *found)).run()

    def _on_similar(self, generation: int, title: str, items: list[ResultItem],
                    why_none: str, waiting: int) -> None:
        if not self.dispatcher.is_current(generation):
            return
        self._show_items(items, generation, show_scores=True)
        if waiting:  # (a fresh-user trial asked for similar notes midway through embedding)
            self._set_banner(_similar_banner(title, waiting))
        if not items:
            self.empty.setTextFormat(Qt.TextFormat.PlainText)
            self.empty.setText(f"No similar notes for “{title}”: {why_none}.")

    def similar_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.show_similar(item)

    def leave_similar(self) -> None:
        self.mode, self.similar_of = "search", None
        generation = self.dispatcher.supersede()
        self.banner.hide()
        if self._wanted(self.field.text()):
            self.dispatcher.now()
        else:
            self._show_items([], generation)
            self._show_hint()

    # -- the current result -------------------------------------------------------------------
    def current_item(self) -> ResultItem | None:
        index = self.view.currentIndex()
        return self.model.item(index.row()) if index.isValid() else None

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.model.item(current.row()) if current.isValid() else None
        self.preview.show_item(item, self._highlighted() if self.mode == "search" else "")

    def _highlighted(self) -> str:
        """The words the preview marks: those the shown results' excerpts mark (a corrected
        spelling's, "blight" for "bligth"), else the query as typed."""
        response = self.last_response
        return response.highlighted if response is not None and response.highlighted \
            else self.field.text()

    def move_selection(self, step: int) -> None:
        rows = self.model.rowCount()
        if not rows:
            return
        row = max(0, min(rows - 1, self.view.currentIndex().row() + step))
        self.view.selectionModel().setCurrentIndex(
            self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def open_current(self) -> None:
        item = self.current_item()
        if item is not None:
            actions.open_note(item.path)

    def open_current_in_editor(self) -> None:
        item = self.current_item()
        if item is not None:
            actions.open_in_editor(item.path, item.result.line,
                                   self.library.settings.editor_command)

    def reveal_current(self) -> None:
        item = self.current_item()
        if item is not None:
            actions.reveal(item.path)

    def copy_link(self) -> None:
        item = self.current_item()
        if item is not None:
            actions.copy_text(actions.wikilink(item.path))
            self.notify(f"Copied {actions.wikilink(item.path)}", 3000)

    def copy_path(self) -> None:
        item = self.current_item()
        if item is not None:
            actions.copy_text(str(item.path))
            self.notify("Copied the note's path", 3000)

    def menu_for(self, item: ResultItem) -> QMenu:
        return actions.build_menu(self, item, self.library.settings.editor_command,
                                  self.show_similar)

    def _context_menu(self, point: QPoint) -> None:
        index = self.view.indexAt(point)
        item = self.model.item(index.row()) if index.isValid() else None
        if item is None:
            return
        self.view.setCurrentIndex(index)
        self.menu_for(item).exec(self.view.viewport().mapToGlobal(point))

    def _fill_note_menu(self) -> None:
        self.note_menu.clear()
        item = self.current_item()
        if item is None:
            self.note_menu.addAction("No note selected").setEnabled(False)
            return
        source = self.menu_for(item)
        for action in source.actions():
            action.setParent(self.note_menu)
            self.note_menu.addAction(action)
        source.deleteLater()

    # -- asking -------------------------------------------------------------------------------
    def ask(self) -> None:
        """Answer the field's text as a question from the notes (the Ask panel replaces the
        results until the question is edited or Esc is pressed)."""
        question = self.field.text().strip()
        if not question:
            return
        self.dispatcher.supersede()  # a search still running must not replace the answer
        self.mode = "ask"
        self.view.hide()
        self.empty.hide()
        self.banner.hide()
        self.ask_panel.show()
        self.filter_bar.show_count(0, None)  # the results' count is not the answer's
        self.preview.show_item(None)
        self.ask_panel.ask(question, self.filter_bar.filters())
        # The next keys edit the question (a fresh-user trial: after a click on Ask, Ctrl+A
        # and typing went to the button).
        self.field.setFocus()

    def leave_ask(self) -> None:
        self.ask_panel.stop()
        self.ask_panel.hide()
        self.mode = "search"
        self.view.setVisible(self.model.rowCount() > 0)
        self.empty.setVisible(self.model.rowCount() == 0)
        self.filter_bar.show_count(self.model.rowCount(), RESULTS,
                                   self._good(self.model.items()))

    @staticmethod
    def _good(items: list[ResultItem]) -> int:
        """How many search results are good matches (confidence at WEAK_MATCH or more)."""
        return sum(item.result.confidence >= WEAK_MATCH for item in items)

    def show_passage(self, passage: Passage) -> None:
        """Show a cited passage in the preview, the note scrolled to its lines."""
        result = Result(passage.note_id, passage.path, passage.title, passage.score, "both",
                        passage.line, passage.end_line, passage.heading, Snippet("", ()), -1)
        self.preview.show_item(ResultItem(result, folder="", title=passage.title))

    def focus_search(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    # -- keys -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and self._key(event):  # type: ignore[arg-type]
            return True
        return super().eventFilter(watched, event)

    def _key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        plain = mods & ~Qt.KeyboardModifier.KeypadModifier
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                plain == Qt.KeyboardModifier.ControlModifier:
            self.ask()  # Ctrl+Enter asks the field's text as a question
            return True
        if plain:
            return False
        steps: dict[int, int] = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 5,
                 Qt.Key.Key_PageUp: -5}
        if key in steps:
            self.move_selection(steps[key])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_current()
            return True
        if key == Qt.Key.Key_Escape:
            self.escape()
            return True
        return False

    def escape(self) -> None:
        """Leave the answer or the similar list, else clear the field, else hide the window."""
        if self.mode == "ask":
            self.leave_ask()
            self.refresh()
        elif self.mode == "similar":
            self.leave_similar()
        elif self.field.text():
            self.field.clear()
        else:
            self.hide()
        self.field.setFocus()

    # -- status -------------------------------------------------------------------------------
    def _on_state(self, state: State, message: str) -> None:
        short = message if len(message) < 110 else message[:107] + "…"
        self.state_label.setText(short)
        self.state_label.setToolTip(message)
        paused = state is State.PAUSED
        # Once up to date there is nothing to index, but changes are still watched for: the
        # button says what it would pause.
        watching = state is State.UP_TO_DATE
        # The button and the menu say the same words (a fresh-user trial met three names).
        self.pause_button.setText(pause_label(paused, watching))
        self.pause_action.setText("&" + pause_label(paused, watching))
        self.progress_bar.setVisible(state in (State.INDEXING, State.PAUSED)
                                     and self.indexing.running)

    def notify(self, text: str, ms: int) -> None:
        """Show a short notice beside the indexing state for `ms` milliseconds."""
        self.notice_label.setText(text)
        self.notice_label.setMaximumWidth(self.notice_label.sizeHint().width())
        self.notice_timer.start(ms)

    def _on_progress(self, progress) -> None:  # noqa: ANN001 - core Progress
        self.progress_bar.setRange(0, max(1, progress.total))
        self.progress_bar.setValue(progress.done)
        self.progress_bar.setVisible(True)

    # -- window -------------------------------------------------------------------------------
    def present(self) -> None:
        """Show, raise and focus the window with the search field ready."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()
        self.focus_search()

    def toggle(self) -> None:
        if self.isVisible() and self.isActiveWindow():
            self.hide()
        else:
            self.present()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.hide_on_close():
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.quit_requested.emit()


def _similar_banner(title: str, waiting: int) -> str:
    """The banner over a similar-notes list; `waiting`: notes not embedded, so not compared."""
    banner = f"Notes similar to “{title}” — Esc returns to your search."
    if waiting:
        banner += (f" {waiting:,} {'note' if waiting == 1 else 'notes'} still being indexed "
                   f"{'is' if waiting == 1 else 'are'} not compared yet.")
    return banner
