"""The desktop app's entry point: single instance, first run, window, tray and indexing."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from notesearch.core.config import sample_notes_folder
from notesearch.core.library import Library
from notesearch.gui import operations
from notesearch.gui.health import HealthDialog
from notesearch.gui.hotkey import GlobalHotkey
from notesearch.gui.indexing import IndexingController
from notesearch.gui.operations import Op
from notesearch.gui.search_window import SearchWindow
from notesearch.gui.settings_dialog import SettingsDialog
from notesearch.gui.single_instance import NO_DISPLAY, SingleInstance, display_available
from notesearch.gui.tray import Tray
from notesearch.gui.welcome import WelcomeDialog
from notesearch.platform import autostart

log = logging.getLogger(__name__)
ICON_PATH = Path(__file__).resolve().parent / "icons" / "notesearch.svg"


def app_icon() -> QIcon:
    return QIcon(str(ICON_PATH))


def apply_color_scheme() -> None:
    """Follow the system's light/dark choice (Qt does); NOTESEARCH_COLOR_SCHEME overrides."""
    wanted = os.environ.get("NOTESEARCH_COLOR_SCHEME", "").lower()
    schemes = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}
    hints = QGuiApplication.styleHints()
    if wanted in schemes and hasattr(hints, "setColorScheme"):  # Qt 6.8+
        hints.setColorScheme(schemes[wanted])
    match_palette_to_scheme()


def match_palette_to_scheme() -> None:
    """Use a dark palette when the scheme is dark but the platform theme gave a light one.

    Desktops with a Qt platform theme (Windows, macOS, GNOME, KDE) supply their own dark
    palette; bare X11 sessions do not, and would show light widgets in a dark session.
    """
    app = QApplication.instance()
    # Platforms that cannot switch their theme ignore setColorScheme: honour the override here.
    wanted = os.environ.get("NOTESEARCH_COLOR_SCHEME", "").lower()
    dark = wanted == "dark" or (wanted != "light" and QGuiApplication.styleHints().colorScheme()
                                == Qt.ColorScheme.Dark)
    if not isinstance(app, QApplication) or not dark:
        return
    if app.palette().color(QPalette.ColorRole.Window).lightness() < 128:
        return  # the platform's palette is already dark
    app.setStyle("Fusion")
    app.setPalette(dark_palette())


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2d30", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1f22", QPalette.ColorRole.AlternateBase: "#26282b",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#35373b",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3574f0",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#6ea8ff",
        QPalette.ColorRole.ToolTipBase: "#35373b", QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8c8f94", QPalette.ColorRole.Mid: "#4a4d52",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7d82"))
    return palette


def prepare_folders(library: Library, chosen: list[Path], provider: str) -> None:
    """Worker thread: add the first-run choice, or the sample notes when no folder exists."""
    for folder in chosen:
        library.add_folder(folder)
    if provider != library.settings.provider:
        library.reload_settings(library.settings.with_options(provider))
    if not library.folders():
        library.add_folder(sample_notes_folder())


class App:
    """Wires the library, indexing controller, window, tray and single-instance server."""

    def __init__(self, qapp: QApplication, library: Library, instance: SingleInstance) -> None:
        self.qapp, self.library, self.instance = qapp, library, instance
        self.indexing = IndexingController(library)
        self.hotkey = GlobalHotkey()
        self.tray = Tray(app_icon(), self.indexing)
        self.window = SearchWindow(library, self.indexing, hide_on_close=self._hide_on_close)
        self.window.setWindowIcon(app_icon())
        operations.set_error_handler(self.window.show_error)
        self._connect()

    def _connect(self) -> None:
        w, t = self.window, self.tray
        w.settings_requested.connect(self.open_settings)
        w.health_requested.connect(self.open_health)
        w.quit_requested.connect(self.quit)
        t.show_requested.connect(w.present)
        t.toggle_requested.connect(w.toggle)
        t.settings_requested.connect(self.open_settings)
        t.quit_requested.connect(self.quit)
        self.instance.message.connect(self.handle)
        self.hotkey.pressed.connect(w.toggle)
        self.hotkey.status.connect(lambda text: w.notify(text, 8000))
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._scheme_changed)

    def _scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        match_palette_to_scheme()
        self.window.update()

    def _hide_on_close(self) -> bool:
        if self.tray.available:
            self.tray.note_hidden()
            return True
        return False  # no tray to come back from: closing quits

    def start(self, args: list[str], first_run: tuple[list[Path], str] | None) -> None:
        chosen, provider = first_run or ([], self.library.settings.provider)
        def prepared(_: object) -> None:
            self.indexing.start()
            self.window.refresh_examples()  # the sample notes may have just been added

        Op(self.window, lambda: prepare_folders(self.library, chosen, provider),
           prepared).run()
        self.hotkey.register(self.library.settings.hotkey)
        self.handle(args or ["show"])

    def handle(self, args: list[str]) -> None:
        """Act on a command from the command line or another instance."""
        command = args[0] if args else "show"
        if command == "toggle":
            self.window.toggle()
        elif command == "similar" and len(args) > 1:
            self.window.present()
            self.window.show_similar(args[1])
        elif command == "hidden":
            if not self.tray.available:
                self.window.present()
        else:
            self.window.present()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.library, self.window)
        dialog.saved.connect(self._settings_saved)
        self._show_dialog(dialog)

    def _settings_saved(self, reindex: bool) -> None:
        if reindex:
            self.indexing.start()  # the old index keeps answering until the new one is done
        self.hotkey.register(self.library.settings.hotkey)
        self._apply_launch_at_login()

    def _apply_launch_at_login(self) -> None:
        """Add or remove the login entry to match Settings (a file write, so off-thread)."""
        wanted = self.library.settings.launch_at_login

        def apply() -> None:
            if wanted != autostart.is_enabled():
                (autostart.enable if wanted else autostart.disable)()

        Op(self.window, apply, lambda _: None).run()

    def open_health(self) -> None:
        dialog = HealthDialog(self.library, self.window)
        dialog.retried.connect(lambda _: self.indexing.start())
        self._show_dialog(dialog)

    def _show_dialog(self, dialog) -> None:  # noqa: ANN001 - any QDialog
        self.window.present()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def quit(self) -> None:
        self.hotkey.unregister()
        self.indexing.shutdown()
        operations.wait_for_all(10_000)
        self.instance.close()
        self.qapp.quit()


def make_qapp() -> QApplication:
    # The instance, when there is one already (a test's), is a QApplication too.
    qapp = cast("QApplication | None", QApplication.instance()) or QApplication(sys.argv[:1])
    qapp.setApplicationName("notesearch")
    qapp.setApplicationDisplayName("notesearch")
    qapp.setDesktopFileName("notesearch")
    qapp.setWindowIcon(app_icon())
    qapp.setQuitOnLastWindowClosed(False)  # the tray keeps the app (and watching) alive
    apply_color_scheme()
    return qapp


def needs_welcome(library: Library) -> bool:
    """The first-run welcome is for a library with no folders yet: one made with the CLI
    (`notesearch index ~/notes`) opens straight on its notes."""
    return not library.folders()


def run_welcome(library: Library) -> tuple[list[Path], str] | None:
    """Show the first-run dialog; None when the user closed it (sample notes then)."""
    dialog = WelcomeDialog()
    dialog.setWindowIcon(app_icon())
    accepted = dialog.exec() == WelcomeDialog.DialogCode.Accepted
    return (dialog.folders(), dialog.provider) if accepted else None


def quit_on_signals(app: App) -> None:
    """Quit cleanly on SIGTERM/SIGINT (logout, kill): stop the indexer, free the socket."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: app.quit())
    # Python runs signal handlers only between bytecodes; while Qt's loop waits in C++ none
    # run, so a slow timer hands control back now and then.
    ticker = QTimer(app.window, interval=500)
    ticker.timeout.connect(lambda: None)
    ticker.start()


def main(argv: list[str] | None = None) -> int:
    """Run the app; `notesearch-app [show|toggle|hidden|similar PATH]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if os.environ.get("NOTESEARCH_DEBUG") else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not display_available():
        print(f"notesearch-app: {NO_DISPLAY}", file=sys.stderr)
        return 1
    qapp = make_qapp()
    instance = SingleInstance()
    if not instance.claim(args):
        return 0  # the running app got our request
    early: list[list[str]] = []  # requests from other starts while the welcome is open
    instance.message.connect(early.append)
    # Opening the library creates or migrates the database: a one-off before any window.
    library = Library()
    first_run = run_welcome(library) if needs_welcome(library) else None
    instance.message.disconnect(early.append)
    app = App(qapp, library, instance)
    app.start(args, first_run)
    for message in early:
        app.handle(message)
    quit_on_signals(app)
    code = qapp.exec()
    library.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
