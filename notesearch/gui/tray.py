"""The tray icon: Show, Pause/Resume indexing, Settings, Quit; absent trays are tolerated."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from notesearch.gui.indexing import IndexingController, State, pause_label


class Tray(QObject):
    """Owns the tray icon when the desktop has a tray; `available` says whether it does."""

    show_requested = Signal()
    toggle_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, indexing: IndexingController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.indexing = indexing
        self.icon: QSystemTrayIcon | None = None
        self.told_about_hiding = False
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return  # closing the window then quits instead of hiding it (see app.py)
        self.menu = QMenu()
        self.menu.setAccessibleName("notesearch tray menu")
        self.menu.addAction("Show notesearch", self.show_requested.emit)
        self.pause_action = self.menu.addAction("Pause indexing", indexing.toggle_pause)
        self.menu.addAction("Settings…", self.settings_requested.emit)
        self.menu.addSeparator()
        self.menu.addAction("Quit", self.quit_requested.emit)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("notesearch")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        indexing.state_changed.connect(self._on_state)
        self.icon.show()

    @property
    def available(self) -> bool:
        return self.icon is not None

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.toggle_requested.emit()

    def _on_state(self, state: State, message: str) -> None:
        if self.icon is None:
            return
        self.pause_action.setText(pause_label(state is State.PAUSED,
                                              state is State.UP_TO_DATE))
        self.icon.setToolTip(f"notesearch — {message}")

    def note_hidden(self) -> None:
        """Say once that the app keeps running in the tray, so closing isn't mistaken for quit."""
        if self.icon is not None and not self.told_about_hiding:
            self.told_about_hiding = True
            self.icon.showMessage("notesearch is still running",
                                  "It keeps your notes indexed. Use the tray icon to show it "
                                  "or quit.", QSystemTrayIcon.MessageIcon.Information, 4000)
