"""Explorer (Windows): a verb on note file types under HKEY_CURRENT_USER."""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Protocol

from notesearch.core.notes import NOTE_EXTENSIONS
from notesearch.platform.filemanager.common import LABEL

WINDOWS_EXTENSIONS = NOTE_EXTENSIONS
WINDOWS_VERB = "notesearch.similar"
CLASSES = r"Software\Classes\SystemFileAssociations"


def windows_command(command: list[str]) -> str:
    """Explorer verb command line: every argv part quoted, then the file as "%1"."""
    return " ".join(f'"{a}"' for a in command) + ' similar --show "%1"'


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations install needs; winreg-backed on Windows."""

    def key_exists(self, key: str) -> bool: ...

    def set_value(self, key: str, name: str, value: str) -> None: ...

    def delete_value(self, key: str, name: str) -> None: ...

    def is_empty(self, key: str) -> bool: ...

    def delete_key(self, key: str) -> None: ...


class WinRegistry:
    """Registry on HKEY_CURRENT_USER via winreg (Windows only)."""

    def __init__(self) -> None:
        import winreg  # only exists on Windows

        # A plain module to the type checker: typeshed declares winreg's contents for win32
        # only, and this module is checked on every platform.
        self._winreg: ModuleType = winreg

    def key_exists(self, key: str) -> bool:
        try:
            self._winreg.OpenKey(self._winreg.HKEY_CURRENT_USER, key).Close()
        except OSError:
            return False
        return True

    def set_value(self, key: str, name: str, value: str) -> None:
        with self._winreg.CreateKey(self._winreg.HKEY_CURRENT_USER, key) as handle:
            self._winreg.SetValueEx(handle, name, 0, self._winreg.REG_SZ, value)

    def delete_value(self, key: str, name: str) -> None:
        access = self._winreg.KEY_SET_VALUE
        handle = self._winreg.OpenKey(self._winreg.HKEY_CURRENT_USER, key, 0, access)
        with handle, contextlib.suppress(FileNotFoundError):
            self._winreg.DeleteValue(handle, name)

    def is_empty(self, key: str) -> bool:
        with self._winreg.OpenKey(self._winreg.HKEY_CURRENT_USER, key) as handle:
            subkeys, values, _ = self._winreg.QueryInfoKey(handle)
        return subkeys == 0 and values == 0

    def delete_key(self, key: str) -> None:
        self._winreg.DeleteKey(self._winreg.HKEY_CURRENT_USER, key)


def verb_key(extension: str) -> str:
    return rf"{CLASSES}\{extension}\shell\{WINDOWS_VERB}"


def registry_entries(command: list[str]) -> list[tuple[str, str, str]]:
    """(key, value name, data) triples to write; '' names the key's default value."""
    entries = []
    for extension in WINDOWS_EXTENSIONS:
        key = verb_key(extension)
        entries += [
            (key, "", LABEL),
            (key, "Icon", command[0]),
            (rf"{key}\command", "", windows_command(command)),
        ]
    return entries


def _missing_ancestors(registry: Registry, key: str) -> list[str]:
    """Keys between Software\\Classes and key that don't exist yet (we will create them)."""
    parts = key.split("\\")
    chain = ["\\".join(parts[:n]) for n in range(3, len(parts) + 1)]
    return [k for k in chain if not registry.key_exists(k)]


def install_windows(registry: Registry, command: list[str]) -> list[str]:
    """Write the Explorer verbs; returns every key created, for uninstall."""
    created: list[str] = []
    for key, name, value in registry_entries(command):
        created += [k for k in _missing_ancestors(registry, key) if k not in created]
        registry.set_value(key, name, value)
    return created


def uninstall_windows(registry: Registry, created: list[str]) -> list[str]:
    """Delete our values, then the keys we created, deepest first, while they are empty."""
    for key, name, _ in registry_entries(["unused"]):
        if registry.key_exists(key):
            registry.delete_value(key, name)
    removed = []
    for key in sorted(created, key=lambda k: k.count("\\"), reverse=True):
        if registry.key_exists(key) and registry.is_empty(key):
            registry.delete_key(key)
            removed.append(key)
    return removed
