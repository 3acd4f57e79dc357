"""What can be done with a note: open, open at line in an editor, reveal, copy, find similar."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from notesearch.gui.operations import Op
from notesearch.gui.results_model import ResultItem

log = logging.getLogger(__name__)

#: Editor command templates; {path} and {line} are filled in per argument, so spaces are safe.
EDITOR_PRESETS: dict[str, str] = {
    "VS Code": "code --goto {path}:{line}",
    "VSCodium": "codium --goto {path}:{line}",
    "Sublime Text": "subl {path}:{line}",
    "Zed": "zed {path}:{line}",
    "Kate": "kate --line {line} {path}",
    "gedit": "gedit +{line} {path}",
    "Emacs": "emacs +{line} {path}",
    "Vim in a terminal": "x-terminal-emulator -e vim +{line} {path}",
    "Neovim in a terminal": "x-terminal-emulator -e nvim +{line} {path}",
    "Notepad++": "notepad++ -n{line} {path}",
    "JetBrains IDE": "idea --line {line} {path}",
}

SHORTCUT_REVEAL = QKeySequence("Ctrl+R")
SHORTCUT_COPY_LINK = QKeySequence("Ctrl+L")
SHORTCUT_COPY_PATH = QKeySequence("Ctrl+Shift+C")
SHORTCUT_SIMILAR = QKeySequence("Ctrl+M")
SHORTCUT_EDITOR = QKeySequence("Ctrl+E")


# -- replaceable openers: tests swap these attributes to capture requests ------------------
def open_url(url: QUrl) -> bool:
    """Hand a URL to the desktop (file:// opens the default app, obsidian:// opens Obsidian)."""
    return QDesktopServices.openUrl(url)


def launch(argv: list[str]) -> bool:
    """Start a program detached from us, so closing notesearch never closes the editor;
    False when it cannot be started (not installed, not executable)."""
    options: dict = {"start_new_session": True} if sys.platform != "win32" else {
        "creationflags": getattr(subprocess, "DETACHED_PROCESS", 0)}
    try:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **options)
    except (OSError, ValueError):
        return False
    return True


def _say_nothing_opens(message: str) -> None:
    log.warning("%s", message)


#: Told, in a sentence, when no program could open a note or its folder (the window shows it
#: with a way to Settings); see set_failure_handler.
_report_failure: Callable[[str], None] = _say_nothing_opens


def set_failure_handler(handler: Callable[[str], None]) -> None:
    """Route "nothing could open this" messages to the window (the one place they appear)."""
    global _report_failure
    _report_failure = handler


# -- building requests ----------------------------------------------------------------------
def editor_argv(command: str, path: Path, line: int) -> list[str]:
    """Split a command template and fill {path}/{line} inside each argument."""
    argv = shlex.split(command, posix=sys.platform != "win32")
    return [arg.replace("{path}", str(path)).replace("{line}", str(max(1, line))) for arg in argv]


def obsidian_url(path: Path) -> QUrl:
    """obsidian://open?path=… opens a note by absolute path in whichever vault holds it."""
    return QUrl("obsidian://open?path=" + quote(str(path), safe=""))


def wikilink(path: Path) -> str:
    """[[name]] as Obsidian and most wiki-style tools link notes: by file name, no suffix."""
    return f"[[{path.stem}]]"


# -- doing ----------------------------------------------------------------------------------
def open_note(path: Path) -> bool:
    """Open the note in the desktop's default app for its type; say so when there is none."""
    if open_url(QUrl.fromLocalFile(str(path))):
        return True
    _report_failure(f"No program on this computer opens “{path.name}”: choose an editor in "
                    f"Settings (Editor and app), or set a default app for {path.suffix} files.")
    return False


def open_in_editor(path: Path, line: int, command: str) -> bool:
    """Open at `line` with the user's editor command; without one, the default app."""
    if not command.strip():
        return open_note(path)
    argv = editor_argv(command, path, line)
    if launch(argv):
        return True
    _report_failure(f"The editor “{argv[0] if argv else command}” could not be started: "
                    "check the command in Settings (Editor and app).")
    return False


def open_in_obsidian(path: Path) -> bool:
    return open_url(obsidian_url(path))


def reveal(path: Path) -> None:
    """Show the note selected in the file manager (its folder where selecting is impossible)."""
    if sys.platform in ("darwin", "win32"):
        argv = (["open", "-R", str(path)] if sys.platform == "darwin"
                else ["explorer", f"/select,{path}"])
        if not launch(argv):
            _folder_failed(path)
    else:
        # The D-Bus look-up may wait on the bus, so it runs off the GUI thread; the fallback
        # (opening the folder) must run on it, as QDesktopServices is GUI-thread only.
        def fall_back(shown: bool) -> None:
            if not shown and not open_url(QUrl.fromLocalFile(str(path.parent))):
                _folder_failed(path)

        Op(None, lambda: _reveal_freedesktop(path), fall_back).run()


def _folder_failed(path: Path) -> None:
    _report_failure(f"No file manager answered to show “{path.name}”; its folder is "
                    f"{path.parent}.")


def _reveal_freedesktop(path: Path) -> bool:
    """Ask the desktop's FileManager1 service to select the file; False when none answers."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusMessage
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    interface = bus.interface()
    if interface is None or not interface.isServiceRegistered(
            "org.freedesktop.FileManager1").value():
        return False
    message = QDBusMessage.createMethodCall(
        "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
        "org.freedesktop.FileManager1", "ShowItems")
    message.setArguments([[QUrl.fromLocalFile(str(path)).toString()], ""])
    return bus.send(message)  # asynchronous: never waits for the file manager


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


# -- the menu -------------------------------------------------------------------------------
def build_menu(parent: QWidget, item: ResultItem, editor_command: str,
               on_similar: Callable[[ResultItem], None]) -> QMenu:
    """The context menu for one note, used for results, similar notes and the preview."""
    menu = QMenu(parent)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one menu per right-click
    menu.setAccessibleName(f"Actions for {item.result.title}")
    path, line = item.path, item.result.line
    menu.addAction("Open", lambda: open_note(path))
    editor = f"Open at line {line} in editor"
    if not editor_command.strip():
        editor += " (set the editor in Settings)"
    menu.addAction(editor, lambda: open_in_editor(path, line, editor_command)).setShortcut(
        SHORTCUT_EDITOR)
    if item.vault is not None:
        menu.addAction(f"Open in Obsidian ({item.vault.name})", lambda: open_in_obsidian(path))
    menu.addAction("Reveal in folder", lambda: reveal(path)).setShortcut(SHORTCUT_REVEAL)
    menu.addSeparator()
    menu.addAction("Copy path", lambda: copy_text(str(path))).setShortcut(SHORTCUT_COPY_PATH)
    menu.addAction(f"Copy link {wikilink(path)}", lambda: copy_text(wikilink(path))).setShortcut(
        SHORTCUT_COPY_LINK)
    menu.addSeparator()
    menu.addAction("Find similar notes", lambda: on_similar(item)).setShortcut(SHORTCUT_SIMILAR)
    # The keys are shown here but belong to the window's own shortcuts: live on the menu's
    # actions too (the Note menu keeps them), each key had two owners and Qt ran neither
    # ("Ambiguous shortcut overload"), for the rest of the session.
    for action in menu.actions():
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    return menu
