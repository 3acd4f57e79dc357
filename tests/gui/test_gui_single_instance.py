"""One instance: later starts deliver their arguments; a crashed instance's socket is reclaimed."""

from __future__ import annotations

import os
import socket as pysocket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from notesearch.gui import single_instance
from notesearch.gui.single_instance import SingleInstance, decode, encode


@pytest.fixture
def name(tmp_path: Path) -> str:
    return str(tmp_path / "ns.sock")


def deliver_from_another_process(args: list[str], name: str) -> subprocess.Popen:
    """A second start is another process; this one's GUI thread must keep serving meanwhile.

    (Delivering from a thread of this process instead put a QLocalSocket on a non-Qt thread
    and crashed the interpreter now and then; that never happens in real use.)
    """
    code = ("import sys; from notesearch.gui.single_instance import deliver; "
            "sys.exit(0 if deliver(sys.argv[2:], sys.argv[1]) else 3)")
    return subprocess.Popen([sys.executable, "-c", code, name, *args],
                            cwd=Path(__file__).resolve().parents[2])


def test_second_start_delivers_its_arguments(qtbot, name):  # noqa: ANN001
    first = SingleInstance(name)
    assert first.claim([])
    received: list[list[str]] = []
    first.message.connect(received.append)
    second = deliver_from_another_process(["similar", "/notes/a.md"], name)
    qtbot.waitUntil(lambda: second.poll() is not None and bool(received), timeout=30_000)
    assert second.returncode == 0  # the running instance acknowledged
    assert received == [["similar", "/notes/a.md"]]
    first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")
def test_stale_socket_after_a_crash_is_reclaimed(qtbot, name):  # noqa: ANN001
    crashed = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    crashed.bind(name)  # bound, never listening, file left behind: as after a crash
    crashed.close()
    assert os.path.exists(name)
    instance = SingleInstance(name)
    assert instance.claim(["show"])
    assert instance.server.isListening()
    assert stat.S_IMODE(os.stat(name).st_mode) & 0o077 == 0  # only this user may connect
    instance.close()


def test_messages_are_validated() -> None:
    assert decode(encode(["toggle"])) == ["toggle"]
    assert decode(b"not json\n") is None
    assert decode(b'{"args": [1, 2]}\n') is None


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files")
def test_send_to_app_starts_the_app_when_none_runs(tmp_path, monkeypatch):  # noqa: ANN001
    from notesearch.gui import single_instance

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("NOTESEARCH_HOME", str(tmp_path / "home"))
    started: list[list[str]] = []
    listeners: list[pysocket.socket] = []

    def fake_start(args: list[str]) -> None:
        started.append(args)  # stands in for the new app: it comes up listening
        listener = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
        listener.bind(single_instance.socket_name())
        listener.listen()
        listeners.append(listener)

    monkeypatch.setattr(single_instance, "start_app", fake_start)
    assert single_instance.send_to_app(["similar", "/notes/a.md"]) == 0
    assert started == [["similar", "/notes/a.md"]]
    assert single_instance.socket_name().startswith(str(tmp_path))
    assert single_instance.app_command(["show"])[1:] == ["-m", "notesearch.gui.app", "show"]
    for listener in listeners:
        listener.close()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11/Wayland displays")
def test_showing_the_app_without_a_display_says_so_at_once(tmp_path):  # noqa: ANN001
    """`notesearch show` over SSH: it waited 20 s, then said only "did not come up"."""
    import time

    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_RUNTIME_DIR=str(tmp_path), NOTESEARCH_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    shown = subprocess.run([sys.executable, "-m", "notesearch", "show"], env=env,
                           capture_output=True, text=True, timeout=60,
                           cwd=Path(__file__).parents[2])
    assert shown.returncode == 1
    assert "no display to show the app on" in shown.stderr
    assert time.monotonic() - started < 10


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11/Wayland displays")
def test_the_app_names_a_display_it_cannot_reach_instead_of_aborting(tmp_path):  # noqa: ANN001
    """A user's report: with DISPLAY set but no X server there, `notesearch-app` aborted
    (status 134) with Qt's message that libxcb-cursor0 is needed, which was installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=":97", XDG_RUNTIME_DIR=str(tmp_path), NOTESEARCH_HOME=str(tmp_path / "h"))
    assert not (single_instance.X11_SOCKETS / "X97").exists()
    started = subprocess.run([sys.executable, "-m", "notesearch.gui.app"], env=env,
                             capture_output=True, text=True, timeout=60,
                             cwd=Path(__file__).parents[2])
    assert started.returncode == 1
    assert "no display to show the app on" in started.stderr
    assert "xvfb-run" in started.stderr


def test_a_local_display_counts_when_its_socket_is_there(tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(single_instance, "X11_SOCKETS", tmp_path)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":5.0")
    assert not single_instance.display_available()
    server = pysocket.socket(pysocket.AF_UNIX)
    server.bind(str(tmp_path / "X5"))  # a listening X server's socket, as Xvfb makes one
    try:
        assert single_instance.display_available()
        monkeypatch.setenv("DISPLAY", "workstation:10.0")  # forwarded over SSH: trusted
        assert single_instance.display_available()
    finally:
        server.close()
