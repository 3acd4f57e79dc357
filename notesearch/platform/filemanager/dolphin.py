"""Dolphin (KDE): a service menu."""

from __future__ import annotations

from pathlib import Path

from notesearch.platform.filemanager.common import (
    LABEL,
    MIME_TYPES,
    data_home,
    desktop_exec,
    desktop_header,
)


def dolphin_menu_path(home: Path | None = None) -> Path:
    return data_home(home) / "kio/servicemenus/notesearch-similar.desktop"


def dolphin_service_menu(command: list[str]) -> str:
    """A KDE service menu (KF5 >= 5.85 / KF6 location; KF5 older reads ServiceTypes)."""
    return (
        desktop_header()
        + "[Desktop Entry]\n"
        + "Type=Service\n"
        + f"MimeType={';'.join(MIME_TYPES)};\n"
        + "X-KDE-ServiceTypes=KonqPopupMenu/Plugin\n"
        + "Actions=notesearchFindSimilar;\n"
        + "\n[Desktop Action notesearchFindSimilar]\n"
        + f"Name={LABEL}\n"
        + "Icon=notesearch\n"
        + f"Exec={desktop_exec(command)}\n"
    )
