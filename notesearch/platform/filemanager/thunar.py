"""Thunar (Xfce): a custom action merged into the user's uca.xml, every other action kept."""

from __future__ import annotations

import hashlib
import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from notesearch.core.notes import NOTE_EXTENSIONS
from notesearch.platform.filemanager.common import LABEL, MARKER, config_home, make_dirs

THUNAR_ID = "notesearch-find-similar"


def thunar_uca_path(home: Path | None = None) -> Path:
    return config_home(home) / "Thunar/uca.xml"


def thunar_action(command: list[str]) -> ET.Element:
    """Our <action> for Thunar's uca.xml; Thunar substitutes a quoted path for %f."""
    action = ET.Element("action")
    for tag, text in (
        ("icon", "notesearch"),
        ("name", LABEL),
        ("submenu", ""),
        ("unique-id", THUNAR_ID),
        ("command", f"{shlex.join(command)} similar --show %f"),
        ("description", f"Show notes similar to this file in notesearch ({MARKER})"),
        ("range", "*"),
        ("patterns", ";".join("*" + extension for extension in NOTE_EXTENSIONS)),
    ):
        ET.SubElement(action, tag).text = text
    ET.SubElement(action, "text-files")
    return action


def _read_xml(path: Path) -> ET.ElementTree[ET.Element]:
    # Keep the user's comments: the default parser drops them.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.parse(path, parser)


def _system_uca() -> Path | None:
    """Thunar's shipped default uca.xml, which it uses while the user has none."""
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    for directory in dirs.split(":"):
        candidate = Path(directory) / "Thunar/uca.xml"
        if directory and candidate.is_file():
            return candidate
    return None


def _load_uca(path: Path) -> tuple[ET.ElementTree[ET.Element], bool]:
    """The user's uca.xml (or a copy of the default one) and whether we are creating it."""
    if path.exists():
        return _read_xml(path), False
    seed = _system_uca()
    if seed is not None:
        return _read_xml(seed), True
    return ET.ElementTree(ET.Element("actions")), True


def _ours(root: ET.Element) -> list[ET.Element]:
    return [a for a in root.findall("action") if a.findtext("unique-id") == THUNAR_ID]


def _serialise(tree: ET.ElementTree[ET.Element]) -> bytes:
    return ET.tostring(tree.getroot(), encoding="unicode").encode() + b"\n"


def _xml_bytes(tree: ET.ElementTree[ET.Element]) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _serialise(tree)


def _fingerprint(tree: ET.ElementTree[ET.Element]) -> str:
    """Hash of the document ignoring layout, so re-serialising doesn't count as a change."""
    canonical = ET.canonicalize(_serialise(tree).decode(), with_comments=True, strip_text=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _append_action(root: ET.Element, action: ET.Element) -> None:
    ET.indent(action, space="\t", level=1)
    if len(root):
        action.tail = root[-1].tail or "\n"
        root[-1].tail = "\n\t"
    else:
        root.text, action.tail = "\n\t", "\n"
    root.append(action)


def install_thunar(path: Path, command: list[str], created_dirs: list[str]) -> dict[str, Any]:
    """Merge our action into uca.xml, keeping every other action; returns manifest data."""
    tree, creating = _load_uca(path)
    root = tree.getroot()
    for old in _ours(root):
        root.remove(old)
    baseline = _fingerprint(tree) if creating else None
    _append_action(root, thunar_action(command))
    make_dirs(path.parent, created_dirs)
    path.write_bytes(_xml_bytes(tree))
    return {"file": str(path), "created_with_sha256": baseline}


def uninstall_thunar(record: dict[str, Any]) -> list[Path]:
    """Remove only our action; delete the file if we created it and it is otherwise unchanged."""
    path = Path(record["file"])
    if not path.exists():
        return []
    tree = _read_xml(path)
    for action in _ours(tree.getroot()):
        tree.getroot().remove(action)
    if record.get("created_with_sha256") == _fingerprint(tree):
        path.unlink()
    else:
        path.write_bytes(_xml_bytes(tree))
    return [path]


def thunar_installed(path: Path) -> bool:
    try:
        return bool(_ours(_read_xml(path).getroot()))
    except (OSError, ET.ParseError):
        return False
