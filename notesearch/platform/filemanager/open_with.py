"""Any freedesktop file manager: a hidden application entry that "Open With" offers."""

from __future__ import annotations

from pathlib import Path

from notesearch.platform.filemanager.common import (
    LABEL,
    MIME_TYPES,
    data_home,
    desktop_exec,
    desktop_header,
)


def desktop_entry_path(home: Path | None = None) -> Path:
    return data_home(home) / "applications/notesearch-similar.desktop"


def desktop_entry(command: list[str]) -> str:
    """A hidden application entry so 'Open With' offers notesearch for notes."""
    return (
        desktop_header()
        + "[Desktop Entry]\n"
        + "Type=Application\n"
        + f"Name={LABEL}\n"
        + "Comment=Show notes similar to this file in notesearch\n"
        + "Icon=notesearch\n"
        + f"Exec={desktop_exec(command)}\n"
        + "Terminal=false\n"
        + "NoDisplay=true\n"
        + f"MimeType={';'.join(MIME_TYPES)};\n"
    )
