"""Launch at login: real files in a temporary HOME (Linux, macOS), a memory Run key (Windows)."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from notesearch.platform import autostart
from tests.test_filemanager import MemoryRegistry

APP = r"C:\Program Files\notesearch\notesearch-app.exe"


class RunKeyRegistry(MemoryRegistry):
    """filemanager's in-memory HKEY_CURRENT_USER, plus the one read autostart needs."""

    def get_value(self, key: str, name: str) -> str | None:
        return self.keys.get(key, {}).get(name)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _set_key(path: Path, key: str, value: str) -> None:
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{key}=")]
    path.write_text("\n".join([*lines, f"{key}={value}"]) + "\n")


# -------------------------------------------------------------------- Linux


def test_linux_enable_writes_an_xdg_autostart_entry(home: Path) -> None:
    command = ["/opt/note search/notesearch-app", "hidden"]
    written = autostart.enable(home, command, system="linux")
    assert written == home / ".config/autostart/notesearch.desktop"
    text = written.read_text()
    assert '\nExec="/opt/note search/notesearch-app" hidden\n' in text
    assert "\nX-GNOME-Autostart-enabled=true\n" in text
    assert "\nType=Application\n" in text
    assert autostart.is_enabled(home, system="linux")


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
def test_linux_entry_passes_desktop_file_validate(home: Path) -> None:
    path = autostart.enable(home, ["/opt/a b/app", "50%", 'q"uote', "back\\slash"],
                            system="linux")
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout


@pytest.mark.skipif(not shutil.which("gio"), reason="gio (libglib2.0-bin) absent")
def test_linux_entry_runs_the_command_as_given(home: Path, recorder) -> None:
    """GLib is what GNOME's session uses to launch autostart entries."""
    command, log = recorder
    path = autostart.enable(home, [*command, "hidden", "50% off", "back\\slash"], system="linux")
    subprocess.run(["gio", "launch", str(path)], check=True, timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(log.read_text().splitlines()
                                               if log.exists() else []) < 3:
        time.sleep(0.05)
    assert log.read_text().splitlines() == ["hidden", "50% off", "back\\slash"]


@pytest.mark.parametrize(("key", "value"), [("X-GNOME-Autostart-enabled", "false"),
                                            ("Hidden", "true")])
def test_linux_entry_switched_off_by_the_desktop_counts_as_disabled(
        home: Path, key: str, value: str) -> None:
    path = autostart.enable(home, ["/usr/bin/notesearch-app", "hidden"], system="linux")
    _set_key(path, key, value)
    assert not autostart.is_enabled(home, system="linux")
    autostart.enable(home, ["/usr/bin/notesearch-app", "hidden"], system="linux")
    assert autostart.is_enabled(home, system="linux")


def test_linux_disable_removes_the_entry(home: Path) -> None:
    path = autostart.enable(home, ["/usr/bin/notesearch-app", "hidden"], system="linux")
    assert autostart.disable(home, system="linux") == [path]
    assert not path.exists()
    assert not autostart.is_enabled(home, system="linux")
    assert autostart.disable(home, system="linux") == []


def test_linux_garbage_entry_is_not_enabled(home: Path) -> None:
    path = autostart.linux_autostart_path(home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe not a desktop file")
    assert not autostart.is_enabled(home, system="linux")


def test_linux_xdg_config_home_used_for_the_real_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert autostart.linux_autostart_path() == tmp_path / "cfg/autostart/notesearch.desktop"


# -------------------------------------------------------------------- macOS


def test_macos_launch_agent(home: Path) -> None:
    command = ["/Applications/notesearch.app/Contents/MacOS/notesearch-app", "hidden"]
    path = autostart.enable(home, command, system="darwin")
    assert path == home / "Library/LaunchAgents/org.notesearch.app.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "org.notesearch.app"
    assert agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] is False
    assert autostart.is_enabled(home, system="darwin")
    if shutil.which("plutil"):  # only on a Mac
        subprocess.run(["plutil", "-lint", str(path)], check=True)


def test_macos_disabled_key_and_disable(home: Path) -> None:
    path = autostart.enable(home, ["/x/notesearch-app", "hidden"], system="darwin")
    agent = plistlib.loads(path.read_bytes())
    path.write_bytes(plistlib.dumps({**agent, "Disabled": True}))
    assert not autostart.is_enabled(home, system="darwin")
    assert autostart.disable(home, system="darwin") == [path]
    assert not path.exists()
    assert not autostart.is_enabled(home, system="darwin")


# ------------------------------------------------------------------ Windows


def test_windows_run_value(home: Path) -> None:
    registry = RunKeyRegistry()
    registry.set_value(autostart.RUN_KEY, "SomeoneElse", r"C:\other.exe")
    written = autostart.enable(home, [APP, "hidden"], system="win32", registry=registry)
    assert registry.keys[autostart.RUN_KEY]["notesearch"] == f'"{APP}" hidden'
    assert written == Path("HKEY_CURRENT_USER", *autostart.RUN_KEY.split("\\"), "notesearch")
    assert autostart.is_enabled(home, system="win32", registry=registry)

    assert autostart.disable(home, system="win32", registry=registry) == [written]
    assert not autostart.is_enabled(home, system="win32", registry=registry)
    # Other programs' entries in the shared Run key stay, and so does the key.
    assert registry.keys[autostart.RUN_KEY] == {"SomeoneElse": r"C:\other.exe"}
    assert autostart.disable(home, system="win32", registry=registry) == []


def test_windows_disable_without_run_key(home: Path) -> None:
    registry = RunKeyRegistry()
    assert autostart.disable(home, system="win32", registry=registry) == []
    assert not autostart.is_enabled(home, system="win32", registry=registry)


# ------------------------------------------------------------- the command


def test_default_command_starts_the_app_hidden() -> None:
    command = autostart.default_command()
    assert Path(command[0]).is_absolute()
    assert command[-1] == "hidden"


def test_the_app_understands_the_start_argument() -> None:
    pytest.importorskip("PySide6")
    from notesearch.gui.single_instance import COMMANDS

    assert autostart.START_ARGS[0] in COMMANDS


def test_frozen_command_is_the_gui_program_beside_the_cli(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "notesearch").touch()
    (tmp_path / "notesearch-app").touch()
    monkeypatch.setattr("sys.frozen", True, raising=False)
    monkeypatch.setattr("sys.executable", str(tmp_path / "notesearch"))
    assert autostart.default_command() == [str(tmp_path / "notesearch-app"), "hidden"]


def test_enable_leaves_no_temporary_file(home: Path) -> None:
    path = autostart.enable(home, ["/usr/bin/notesearch-app", "hidden"], system="linux")
    assert sorted(os.listdir(path.parent)) == ["notesearch.desktop"]
