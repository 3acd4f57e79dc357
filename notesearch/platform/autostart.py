"""Launch the app at login for this user: XDG autostart, the Windows Run key, a LaunchAgent."""

from __future__ import annotations

import configparser
import logging
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from notesearch.platform.filemanager.common import (
    config_home,
    desktop_exec_arg,
    desktop_string,
    home_dir,
    system_kind,
)
from notesearch.platform.filemanager.explorer import Registry, WinRegistry

log = logging.getLogger(__name__)

APP_ID = "org.notesearch.app"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "notesearch"
#: The app's own command for "start quietly": to the tray when there is one, else the window.
START_ARGS = ["hidden"]


class RunRegistry(Registry, Protocol):
    """filemanager's HKEY_CURRENT_USER interface plus reading one value back."""

    def get_value(self, key: str, name: str) -> str | None: ...


class WinRunRegistry(WinRegistry):
    """WinRegistry that can also read a string value (is_enabled needs it)."""

    def get_value(self, key: str, name: str) -> str | None:
        try:
            with self._winreg.OpenKey(self._winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = self._winreg.QueryValueEx(handle, name)
        except OSError:
            return None
        return value if isinstance(value, str) else None


# ----------------------------------------------------------------- locations


def linux_autostart_path(home: Path | None = None) -> Path:
    return config_home(home) / "autostart" / "notesearch.desktop"


def mac_launch_agent_path(home: Path | None = None) -> Path:
    return home_dir(home) / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def default_command() -> list[str]:
    """Absolute argv that starts the app quietly, for the way notesearch is installed."""
    if getattr(sys, "frozen", False):
        # The PyInstaller bundle has both programs side by side; the CLI may be the caller.
        exe = Path(sys.executable)
        app = exe.with_name("notesearch-app" + exe.suffix)
        return [str(app if app.exists() else exe), *START_ARGS]
    script = shutil.which("notesearch-app")
    if script:
        return [os.path.abspath(script), *START_ARGS]
    return [sys.executable, "-m", "notesearch.gui.app", *START_ARGS]


# ------------------------------------------------------------ file contents


def desktop_entry(command: list[str]) -> str:
    """The XDG autostart entry (a normal application .desktop file in ~/.config/autostart)."""
    exec_line = desktop_string(" ".join(desktop_exec_arg(a) for a in command))
    return (
        "# Written by notesearch (Settings > Launch at login); delete it to stop that.\n"
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=notesearch\n"
        "Comment=Find your notes by meaning\n"
        f"Exec={exec_line}\n"
        "Icon=notesearch\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
        # GNOME's Startup Applications toggles this key instead of deleting the file.
        "X-GNOME-Autostart-enabled=true\n"
        # Start once the panel is up, so the tray icon has somewhere to go (KDE Plasma).
        "X-KDE-autostart-after=panel\n"
    )


def launch_agent(command: list[str]) -> bytes:
    """A per-user LaunchAgent that runs the app once at login (not kept alive after a quit)."""
    return plistlib.dumps({
        "Label": APP_ID,
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": False,
        # Interactive: launchd must not throttle a GUI app; Aqua: only for graphical logins,
        # never for an ssh session.
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    })


def windows_command(command: list[str]) -> str:
    """The Run value: one command line, quoted the way Windows' argv parser reads it back."""
    return subprocess.list2cmdline(command)


# ------------------------------------------------------------------ the API


def enable(
    home: Path | None = None,
    command: list[str] | None = None,
    *,
    system: str | None = None,
    registry: RunRegistry | None = None,
) -> Path:
    """Start the app at this user's next login; returns what was written."""
    command = list(command or default_command())
    kind = system_kind(system)
    if kind == "win32":
        registry = registry or WinRunRegistry()
        registry.set_value(RUN_KEY, RUN_VALUE, windows_command(command))
        return Path("HKEY_CURRENT_USER", *RUN_KEY.split("\\"), RUN_VALUE)
    if kind == "darwin":
        path, data = mac_launch_agent_path(home), launch_agent(command)
    else:
        path, data = linux_autostart_path(home), desktop_entry(command).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: the session manager never reads half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def disable(
    home: Path | None = None,
    command: list[str] | None = None,
    *,
    system: str | None = None,
    registry: RunRegistry | None = None,
) -> list[Path]:
    """Stop starting the app at login; returns what was removed (nothing if it was off).

    `command` is accepted for symmetry with enable() and ignored: the entry is found by name.
    """
    del command
    kind = system_kind(system)
    if kind == "win32":
        registry = registry or WinRunRegistry()
        if registry.get_value(RUN_KEY, RUN_VALUE) is None:
            return []
        registry.delete_value(RUN_KEY, RUN_VALUE)
        return [Path("HKEY_CURRENT_USER", *RUN_KEY.split("\\"), RUN_VALUE)]
    path = mac_launch_agent_path(home) if kind == "darwin" else linux_autostart_path(home)
    try:
        path.unlink()
    except FileNotFoundError:
        return []
    return [path]


def is_enabled(
    home: Path | None = None,
    command: list[str] | None = None,
    *,
    system: str | None = None,
    registry: RunRegistry | None = None,
) -> bool:
    """Whether the app will start at the next login (an entry exists and is not switched off).

    `command` is ignored: an entry pointing at an older install still counts as enabled, and
    enable() rewrites it with the current command.
    """
    del command
    kind = system_kind(system)
    if kind == "win32":
        registry = registry or WinRunRegistry()
        return bool(registry.get_value(RUN_KEY, RUN_VALUE))
    if kind == "darwin":
        return _launch_agent_enabled(mac_launch_agent_path(home))
    return _desktop_entry_enabled(linux_autostart_path(home))


def _desktop_entry_enabled(path: Path) -> bool:
    """Honour the keys the XDG autostart spec and GNOME use to switch an entry off."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign] # keys are case-sensitive
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        log.warning("unreadable autostart entry %s: %s", path, error)
        return False
    if not parser.has_section("Desktop Entry"):
        return False
    entry = parser["Desktop Entry"]
    return (
        entry.get("Hidden", "false").strip().lower() != "true"
        and entry.get("X-GNOME-Autostart-enabled", "true").strip().lower() != "false"
    )


def _launch_agent_enabled(path: Path) -> bool:
    try:
        data = plistlib.loads(path.read_bytes())
    except FileNotFoundError:
        return False
    except (OSError, plistlib.InvalidFileException, ValueError) as error:
        log.warning("unreadable launch agent %s: %s", path, error)
        return False
    return isinstance(data, dict) and bool(data.get("RunAtLoad")) and not data.get("Disabled")
