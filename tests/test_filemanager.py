"""File-manager integration: files written into a temporary HOME, run where possible."""

from __future__ import annotations

import argparse
import os
import plistlib
import shutil
import stat
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from notesearch.platform import filemanager as fm

USER_UCA = """<?xml version="1.0" encoding="UTF-8"?>
<actions>
<!-- my own actions, keep them -->
<action>
\t<icon>utilities-terminal</icon>
\t<name>Open Terminal Here</name>
\t<unique-id>1700000000000000-1</unique-id>
\t<command>exo-open --working-directory %f --launch TerminalEmulator</command>
\t<description>Example for a custom action</description>
\t<patterns>*</patterns>
\t<startup-notify/>
\t<directories/>
</action>
</actions>
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (with content) and directory under root."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _wait_for(path: Path, lines: int) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    return path.read_text().splitlines() if path.exists() else []


def test_install_writes_all_linux_entries(home: Path, recorder) -> None:
    command, _ = recorder
    written = fm.install(home, command, system="linux")
    share = home / ".local/share"
    expected = [
        share / "nautilus/scripts/Find similar notes",
        share / "kio/servicemenus/notesearch-similar.desktop",
        share / "applications/notesearch-similar.desktop",
        home / ".config/Thunar/uca.xml",
        share / "notesearch/integration.json",
    ]
    assert written == expected
    assert all(p.is_file() for p in expected)


def test_nautilus_script_content_and_mode(home: Path, recorder) -> None:
    command, _ = recorder
    fm.install(home, command, system="linux")
    path = fm.nautilus_script_path(home)
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS" in text
    assert "'" + command[0] + "' similar --show \"$f\"" in text
    assert path.stat().st_mode & stat.S_IXUSR


def test_nautilus_script_runs_command_for_each_selected_file(
    home: Path, recorder, tmp_path: Path
) -> None:
    command, log = recorder
    fm.install(home, command, system="linux")
    notes = [tmp_path / "a note.md", tmp_path / "it's $HOME.txt"]
    env = {**os.environ, "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS": "\n".join(map(str, notes)) + "\n"}
    subprocess.run([str(fm.nautilus_script_path(home))], env=env, check=True, timeout=10)
    assert log.read_text().splitlines() == [
        "similar", "--show", str(notes[0]), "similar", "--show", str(notes[1]),
    ]  # fmt: skip


def test_nautilus_script_falls_back_to_arguments(home: Path, recorder, tmp_path: Path) -> None:
    command, log = recorder
    fm.install(home, command, system="linux")
    env = {k: v for k, v in os.environ.items() if k != "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS"}
    subprocess.run(
        [str(fm.nautilus_script_path(home)), "x y.md"], env=env, cwd=tmp_path, check=True
    )
    assert log.read_text().splitlines() == ["similar", "--show", "x y.md"]


def test_dolphin_service_menu(home: Path, recorder) -> None:
    command, _ = recorder
    fm.install(home, command, system="linux")
    path = fm.dolphin_menu_path(home)
    text = path.read_text()
    assert "Type=Service\n" in text
    assert "MimeType=text/markdown;text/plain;\n" in text
    assert "Actions=notesearchFindSimilar;\n" in text
    assert "[Desktop Action notesearchFindSimilar]\n" in text
    assert f"Exec={fm.desktop_exec(command)}\n" in text
    # KDE Frameworks >= 5.83 ignores service menus in the user dir that aren't executable.
    assert path.stat().st_mode & stat.S_IXUSR


def test_desktop_entry_content(home: Path, recorder) -> None:
    command, _ = recorder
    fm.install(home, command, system="linux")
    text = fm.desktop_entry_path(home).read_text()
    for line in (
        "Type=Application",
        "Name=Find similar notes",
        "Icon=notesearch",
        "NoDisplay=true",
        "MimeType=text/markdown;text/plain;",
        'Exec="' + command[0].replace("$", "\\\\$") + '" similar --show %f',
    ):
        assert line + "\n" in text


def test_desktop_exec_quoting_rules() -> None:
    assert fm.desktop_exec_arg("/usr/bin/notesearch") == "/usr/bin/notesearch"
    assert fm.desktop_exec_arg("/opt/my app/ns") == '"/opt/my app/ns"'
    assert fm.desktop_exec_arg('a"b') == '"a\\"b"'
    assert fm.desktop_exec_arg("$HOME") == '"\\$HOME"'
    assert fm.desktop_exec_arg("50%") == "50%%"
    assert fm.desktop_exec_arg("") == '""'
    # Backslash: escaped once by the quoting rule, again by the string rule.
    assert fm.desktop_exec(["a\\b"]) == '"a\\\\\\\\b" similar --show %f'


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
def test_desktop_entry_passes_desktop_file_validate(home: Path, recorder) -> None:
    command, _ = recorder
    fm.install(home, [*command, "50% off", 'quote"d', "back\\slash"], system="linux")
    # The Dolphin menu is Type=Service, a KDE extension the freedesktop validator rejects.
    result = subprocess.run(
        ["desktop-file-validate", str(fm.desktop_entry_path(home))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout


@pytest.mark.skipif(not shutil.which("gio"), reason="gio (libglib2.0-bin) absent")
def test_desktop_entry_exec_is_understood_by_glib(home: Path, recorder, tmp_path: Path) -> None:
    command, log = recorder
    fm.install(home, [*command, "50% off", "back\\slash"], system="linux")
    note = tmp_path / "my note's.md"
    note.write_text("# hi\n")
    subprocess.run(
        ["gio", "launch", str(fm.desktop_entry_path(home)), str(note)], check=True, timeout=10
    )
    assert _wait_for(log, 5) == ["50% off", "back\\slash", "similar", "--show", str(note)]


def test_thunar_action_added_to_new_file(home: Path, recorder, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "no-system-config"))
    command, _ = recorder
    fm.install(home, command, system="linux")
    root = ET.parse(fm.thunar_uca_path(home)).getroot()
    (action,) = root.findall("action")
    assert action.findtext("unique-id") == fm.THUNAR_ID
    assert action.findtext("name") == "Find similar notes"
    assert action.findtext("command") == f"'{command[0]}' similar --show %f"
    assert action.findtext("patterns") == "*.md;*.markdown;*.txt;*.canvas;*.org"
    assert action.find("text-files") is not None


def test_thunar_merge_keeps_user_actions(home: Path, recorder) -> None:
    command, _ = recorder
    uca = fm.thunar_uca_path(home)
    uca.parent.mkdir(parents=True)
    uca.write_text(USER_UCA)
    fm.install(home, command, system="linux")
    fm.install(home, command, system="linux")  # re-install must not duplicate
    text = uca.read_text()
    ids = [a.findtext("unique-id") for a in ET.fromstring(text).findall("action")]
    assert ids == ["1700000000000000-1", fm.THUNAR_ID]
    assert "my own actions, keep them" in text

    fm.uninstall(home, system="linux")
    text = uca.read_text()
    ids = [a.findtext("unique-id") for a in ET.fromstring(text).findall("action")]
    assert ids == ["1700000000000000-1"]
    assert "my own actions, keep them" in text
    assert "<startup-notify" in text and "<directories" in text


def test_thunar_seeds_from_system_default_and_removes_it_again(
    home: Path, recorder, monkeypatch, tmp_path: Path
) -> None:
    system = tmp_path / "etc-xdg"
    (system / "Thunar").mkdir(parents=True)
    (system / "Thunar/uca.xml").write_text(USER_UCA)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(system))
    command, _ = recorder
    fm.install(home, command, system="linux")
    # Thunar stops reading its default file once the user has one: keep its actions.
    root = ET.parse(fm.thunar_uca_path(home)).getroot()
    assert [a.findtext("unique-id") for a in root] == ["1700000000000000-1", fm.THUNAR_ID]
    fm.uninstall(home, system="linux")
    assert not fm.thunar_uca_path(home).exists()


def test_thunar_file_we_created_stays_if_user_added_actions(
    home: Path, recorder, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    command, _ = recorder
    fm.install(home, command, system="linux")
    uca = fm.thunar_uca_path(home)
    uca.write_text(uca.read_text().replace("</actions>", USER_UCA.split("-->")[1]))
    fm.uninstall(home, system="linux")
    root = ET.parse(uca).getroot()
    assert [a.findtext("unique-id") for a in root.iter("action")] == ["1700000000000000-1"]


def test_uninstall_removes_exactly_what_install_added(
    home: Path, recorder, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    command, _ = recorder
    (home / ".local/share/applications").mkdir(parents=True)
    (home / ".local/share/applications/other.desktop").write_text("[Desktop Entry]\n")
    (home / ".config/Thunar").mkdir(parents=True)
    (home / ".config/Thunar/uca.xml").write_text(USER_UCA)
    before = _snapshot(home)
    fm.install(home, command, system="linux")
    assert _snapshot(home) != before
    removed = fm.uninstall(home, system="linux")
    after = _snapshot(home)
    assert set(after) == set(before)
    assert after[".local/share/applications/other.desktop"] == b"[Desktop Entry]\n"
    # uca.xml is re-serialised, so compare its meaning rather than its bytes.
    assert ET.canonicalize(after[".config/Thunar/uca.xml"].decode(), strip_text=True) == (
        ET.canonicalize(USER_UCA, strip_text=True)
    )
    assert fm.manifest_path(home) in removed
    assert home / ".local/share/applications" not in removed  # it existed before


def test_install_leaves_a_foreign_file_alone(home: Path, recorder) -> None:
    command, _ = recorder
    script = fm.nautilus_script_path(home)
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\necho mine\n")
    written = fm.install(home, command, system="linux")
    assert script not in written
    fm.uninstall(home, system="linux")
    assert script.read_text() == "#!/bin/sh\necho mine\n"


def test_status_reports_each_entry(home: Path, recorder) -> None:
    command, _ = recorder
    keys = {"nautilus", "dolphin", "thunar", "open_with"}
    assert fm.status(home, system="linux") == dict.fromkeys(keys, False)
    fm.install(home, command, system="linux")
    assert fm.status(home, system="linux") == dict.fromkeys(keys, True)
    fm.dolphin_menu_path(home).unlink()
    assert fm.status(home, system="linux")["dolphin"] is False
    fm.uninstall(home, system="linux")
    assert fm.status(home, system="linux") == dict.fromkeys(keys, False)


def test_given_home_wins_over_xdg_environment(home: Path, recorder, monkeypatch, tmp_path):
    elsewhere = tmp_path / "real-user-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(elsewhere))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere))
    command, _ = recorder
    written = fm.install(home, command, system="linux")
    assert all(home in p.parents for p in written)
    assert not elsewhere.exists()


def test_xdg_environment_used_for_the_real_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert fm.desktop_entry_path() == tmp_path / "data/applications/notesearch-similar.desktop"
    assert fm.thunar_uca_path() == tmp_path / "config/Thunar/uca.xml"


def test_default_command_is_absolute() -> None:
    command = fm.default_command()
    assert Path(command[0]).is_absolute()


# ------------------------------------------------------------------ Windows


class MemoryRegistry:
    """In-memory stand-in for HKEY_CURRENT_USER (winreg does not exist on Linux)."""

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, str]] = {}

    def _create(self, key: str) -> None:
        parts = key.split("\\")
        for n in range(1, len(parts) + 1):
            self.keys.setdefault("\\".join(parts[:n]), {})

    def key_exists(self, key: str) -> bool:
        return key in self.keys

    def set_value(self, key: str, name: str, value: str) -> None:
        self._create(key)
        self.keys[key][name] = value

    def delete_value(self, key: str, name: str) -> None:
        self.keys[key].pop(name, None)

    def is_empty(self, key: str) -> bool:
        children = [k for k in self.keys if k.startswith(key + "\\")]
        return not children and not self.keys[key]

    def delete_key(self, key: str) -> None:
        assert self.is_empty(key), "winreg.DeleteKey fails on keys with subkeys"
        del self.keys[key]


def test_windows_registry_entries(home: Path) -> None:
    registry = MemoryRegistry()
    exe = r"C:\Program Files\notesearch\notesearch.exe"
    written = fm.install(home, [exe], system="win32", registry=registry)
    for ext in (".md", ".markdown", ".txt"):
        key = rf"Software\Classes\SystemFileAssociations\{ext}\shell\notesearch.similar"
        assert registry.keys[key] == {"": "Find similar notes", "Icon": exe}
        assert registry.keys[key + r"\command"] == {
            "": f'"{exe}" similar --show "%1"'
        }
        assert Path("HKEY_CURRENT_USER", *key.split("\\")) in written
    assert fm.status(home, system="win32", registry=registry) == {"explorer": True}
    assert fm.manifest_path(home, "win32").is_file()


def test_windows_command_quotes_every_part() -> None:
    command = [r"C:\Python 3\python.exe", "-m", "notesearch"]
    assert fm.windows_command(command) == (
        '"C:\\Python 3\\python.exe" "-m" "notesearch" similar --show "%1"'
    )


def test_windows_uninstall_keeps_foreign_keys(home: Path) -> None:
    registry = MemoryRegistry()
    registry.set_value(r"Software\Classes\SystemFileAssociations\.txt\shell\edit", "", "Edit")
    before = {k: dict(v) for k, v in registry.keys.items()}
    fm.install(home, [r"C:\ns.exe"], system="win32", registry=registry)
    fm.uninstall(home, system="win32", registry=registry)
    assert registry.keys == before
    assert fm.status(home, system="win32", registry=registry) == {"explorer": False}
    assert not fm.manifest_path(home, "win32").exists()


# -------------------------------------------------------------------- macOS


def test_macos_quick_action_bundle(home: Path) -> None:
    command = ["/Applications/note search/notesearch"]
    fm.install(home, command, system="darwin")
    contents = home / "Library/Services/Find Similar Notes.workflow/Contents"
    info = plistlib.loads((contents / "Info.plist").read_bytes())
    (service,) = info["NSServices"]
    assert service["NSMenuItem"] == {"default": "Find Similar Notes"}
    assert service["NSMessage"] == "runWorkflowAsService"
    assert "net.daringfireball.markdown" in service["NSSendFileTypes"]
    document = plistlib.loads((contents / "document.wflow").read_bytes())
    (entry,) = document["actions"]
    params = entry["action"]["ActionParameters"]
    assert params["inputMethod"] == 1  # files as arguments
    assert "'/Applications/note search/notesearch' similar --show \"$f\"" in params[
        "COMMAND_STRING"
    ]
    assert document["workflowMetaData"]["workflowTypeIdentifier"] == (
        "com.apple.Automator.servicesMenu"
    )
    assert fm.status(home, system="darwin") == {"finder": True}


@pytest.mark.skipif(not shutil.which("sh"), reason="needs a POSIX shell")
def test_macos_shell_script_runs(home: Path, recorder, tmp_path: Path) -> None:
    command, log = recorder
    script = fm.mac_shell_script(command)
    subprocess.run(["sh", "-c", script, "sh", "a b.md", "c.txt"], check=True)
    assert log.read_text().splitlines() == [
        "similar", "--show", "a b.md", "similar", "--show", "c.txt",
    ]  # fmt: skip


def test_macos_uninstall_removes_bundle(home: Path) -> None:
    before = _snapshot(home)
    fm.install(home, ["/usr/local/bin/notesearch"], system="darwin")
    fm.uninstall(home, system="darwin")
    assert _snapshot(home) == before


# ---------------------------------------------------------------------- CLI


def _cli() -> argparse.ArgumentParser:
    from notesearch.cli import build_parser

    return build_parser()


def test_cli_install_status_uninstall(home: Path, capsys) -> None:
    parser = _cli()
    args = parser.parse_args(["integrate", "install", "--home", str(home)])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {fm.desktop_entry_path(home)}" in out

    args = parser.parse_args(["integrate", "status", "--home", str(home)])
    args.run(args)
    assert "nautilus: installed" in capsys.readouterr().out

    args = parser.parse_args(["integrate", "uninstall", "--home", str(home)])
    args.run(args)
    assert f"removed {fm.desktop_entry_path(home)}" in capsys.readouterr().out
    assert not fm.desktop_entry_path(home).exists()


def test_cli_hides_home_option(capsys) -> None:
    with pytest.raises(SystemExit):
        _cli().parse_args(["integrate", "--help"])
    out = capsys.readouterr().out
    assert "--home" not in out and "install" in out
