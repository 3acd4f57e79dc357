"""Per-user 'Find similar notes' entries for file managers, one module each: Nautilus,
Dolphin, Thunar and "Open With" (Linux), Finder (macOS), Explorer (Windows). install()
records what it wrote in a manifest, so uninstall() removes exactly that."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from notesearch.platform.filemanager.common import (
    LABEL,
    MANIFEST_NAME,
    data_home,
    default_command,
    desktop_exec,
    desktop_exec_arg,
    home_dir,
    make_dirs,
    owned,
    remove_dirs,
    system_kind,
    write_owned,
)
from notesearch.platform.filemanager.dolphin import dolphin_menu_path, dolphin_service_menu
from notesearch.platform.filemanager.explorer import (
    WINDOWS_EXTENSIONS,
    Registry,
    WinRegistry,
    install_windows,
    uninstall_windows,
    verb_key,
    windows_command,
)
from notesearch.platform.filemanager.finder import _mac_files, mac_shell_script, mac_workflow_path
from notesearch.platform.filemanager.nautilus import nautilus_script, nautilus_script_path
from notesearch.platform.filemanager.open_with import desktop_entry, desktop_entry_path
from notesearch.platform.filemanager.thunar import (
    THUNAR_ID,
    install_thunar,
    thunar_installed,
    thunar_uca_path,
    uninstall_thunar,
)

__all__ = ["LABEL", "THUNAR_ID", "default_command", "desktop_entry_path", "desktop_exec",
           "desktop_exec_arg", "dolphin_menu_path", "install", "mac_shell_script",
           "manifest_path", "nautilus_script_path", "status", "thunar_uca_path", "uninstall",
           "windows_command"]


def manifest_path(home: Path | None = None, system: str | None = None) -> Path:
    """Where the record of what install() wrote lives."""
    kind = system_kind(system)
    if kind == "darwin":
        return home_dir(home) / "Library/Application Support/notesearch" / MANIFEST_NAME
    if kind == "win32":
        appdata = os.environ.get("APPDATA", "") if home is None else ""
        base = Path(appdata) if appdata else home_dir(home) / "AppData/Roaming"
        return base / "notesearch" / MANIFEST_NAME
    return data_home(home) / "notesearch" / MANIFEST_NAME


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(path: Path, manifest: dict[str, Any], created_dirs: list[str]) -> None:
    make_dirs(path.parent, created_dirs)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _merge_previous(manifest: dict[str, Any], previous: dict[str, Any]) -> None:
    """Re-installing keeps what earlier installs created, so uninstall still finds it."""
    manifest["dirs"] = sorted(set(previous.get("dirs", [])) | set(manifest["dirs"]))
    manifest["registry_keys"] = list(
        dict.fromkeys(previous.get("registry_keys", []) + manifest["registry_keys"])
    )
    old_thunar = previous.get("thunar")
    if old_thunar and manifest.get("thunar"):
        manifest["thunar"]["created_with_sha256"] = old_thunar.get("created_with_sha256")


def _linux_files(home: Path | None, command: list[str]) -> list[tuple[Path, bytes, bool]]:
    return [
        (nautilus_script_path(home), nautilus_script(command).encode(), True),
        (dolphin_menu_path(home), dolphin_service_menu(command).encode(), True),
        (desktop_entry_path(home), desktop_entry(command).encode(), False),
    ]


def install(
    home: Path | None = None,
    command: list[str] | None = None,
    *,
    system: str | None = None,
    registry: Registry | None = None,
) -> list[Path]:
    """Add the menu entries for this user; returns the files written (registry keys on
    Windows are reported as paths starting with HKEY_CURRENT_USER)."""
    command = list(command or default_command())
    kind = system_kind(system)
    manifest: dict[str, Any] = {"version": 1, "command": command, "files": [], "dirs": []}
    manifest["registry_keys"], written = [], []
    if kind == "win32":
        registry = registry or WinRegistry()
        manifest["registry_keys"] = install_windows(registry, command)
        written = [Path("HKEY_CURRENT_USER", *verb_key(e).split("\\")) for e in WINDOWS_EXTENSIONS]
    else:
        files = _linux_files(home, command) if kind == "linux" else _mac_files(home, command)
        for path, data, executable in files:
            if write_owned(path, data, executable, manifest["dirs"]):
                manifest["files"].append(str(path))
                written.append(path)
    if kind == "linux":
        manifest["thunar"] = install_thunar(thunar_uca_path(home), command, manifest["dirs"])
        written.append(thunar_uca_path(home))
    target = manifest_path(home, kind)
    _merge_previous(manifest, _read_manifest(target))
    _write_manifest(target, manifest, manifest["dirs"])
    return [*written, target]


def uninstall(
    home: Path | None = None, *, system: str | None = None, registry: Registry | None = None
) -> list[Path]:
    """Remove exactly what install() recorded; returns what was removed or edited."""
    kind = system_kind(system)
    target = manifest_path(home, kind)
    manifest = _read_manifest(target)
    removed: list[Path] = []
    for name in manifest.get("files", []):
        path = Path(name)
        if owned(path):
            path.unlink()
            removed.append(path)
    if manifest.get("thunar"):
        removed += uninstall_thunar(manifest["thunar"])
    if manifest.get("registry_keys"):
        registry = registry or WinRegistry()
        keys = uninstall_windows(registry, manifest["registry_keys"])
        removed += [Path("HKEY_CURRENT_USER", *k.split("\\")) for k in keys]
    if target.exists():
        target.unlink()
        removed.append(target)
    return removed + remove_dirs(manifest.get("dirs", []))


def status(
    home: Path | None = None, *, system: str | None = None, registry: Registry | None = None
) -> dict[str, bool]:
    """Which integrations are currently present for this user."""
    kind = system_kind(system)
    if kind == "win32":
        registry = registry or WinRegistry()
        return {"explorer": all(registry.key_exists(verb_key(e)) for e in WINDOWS_EXTENSIONS)}
    if kind == "darwin":
        return {"finder": owned(mac_workflow_path(home) / "Contents/document.wflow")}
    return {
        "nautilus": owned(nautilus_script_path(home)),
        "dolphin": owned(dolphin_menu_path(home)),
        "thunar": thunar_installed(thunar_uca_path(home)),
        "open_with": owned(desktop_entry_path(home)),
    }
