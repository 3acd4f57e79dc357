"""The global show/hide hotkey: registers the user's shortcut with the platform backend."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from notesearch.gui.operations import Op

if TYPE_CHECKING:
    from notesearch.platform.hotkeys.keys import GlobalHotkey as HotkeyBackend

log = logging.getLogger(__name__)


class GlobalHotkey(QObject):
    """Emits `pressed` on the GUI thread whenever the system-wide shortcut is pressed."""

    pressed = Signal()
    #: A sentence for the status bar: registered, or why not.
    status = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend: HotkeyBackend | None = None
        self.text = ""

    def register(self, text: str) -> None:
        """(Re)register `text`, e.g. "Ctrl+Alt+Space"; empty text just unregisters."""
        if text == self.text and self._backend is not None:
            return
        self.text = text
        # Backends talk to the X server or a D-Bus portal, which may wait: not on this thread.
        Op(self, lambda: self._register(text), self.status.emit).failure(
            lambda error: self.status.emit(f"Global hotkey unavailable: {error}")).run()

    def _register(self, text: str) -> str:
        from notesearch.platform.hotkeys import (
            create_backend,
            parse_hotkey,
            unsupported_reason,
        )

        self.unregister()
        if not text:
            return "No global hotkey set."
        hotkey = parse_hotkey(text)
        backend = create_backend()
        if backend is None:
            return f"Global hotkey unavailable: {unsupported_reason()}"
        # The backend calls back on its own thread; a signal carries it to the GUI thread.
        backend.register(hotkey, self.pressed.emit)
        self._backend = backend
        return f"Press {hotkey} anywhere to show or hide notesearch."

    def unregister(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            try:
                backend.unregister()
            except Exception:  # noqa: BLE001 - a failed release must not stop the app quitting
                log.exception("releasing the global hotkey failed")
