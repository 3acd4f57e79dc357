"""One app per user and library: later starts (and `notesearch show`) message the running one."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from notesearch.core.config import library_home

log = logging.getLogger(__name__)

CONNECT_MS = 500
REPLY_MS = 3000
START_WAIT_SECONDS = 20.0
COMMANDS = ("show", "toggle", "similar", "hidden")


def socket_name(home: Path | None = None) -> str:
    """A name only this user's processes for this library use.

    In $XDG_RUNTIME_DIR (private to the user) when there is one; otherwise a name with the
    user in it (Qt places it in the temp folder; UserAccessOption restricts the file).
    """
    digest = hashlib.sha256(str(home or library_home()).encode()).hexdigest()[:12]
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform != "win32" and runtime and Path(runtime).is_dir():
        return str(Path(runtime) / f"notesearch-{digest}.sock")
    user = "".join(c for c in getpass.getuser() if c.isalnum()) or "user"
    return f"notesearch-{user}-{digest}"


def encode(args: list[str]) -> bytes:
    return (json.dumps({"args": args}) + "\n").encode("utf-8")


def decode(line: bytes) -> list[str] | None:
    try:
        args = json.loads(line.decode("utf-8")).get("args")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return None
    return args


def deliver(args: list[str], name: str | None = None) -> bool:
    """Send `args` to a running instance; True when it acknowledged them."""
    socket = QLocalSocket()
    socket.connectToServer(name or socket_name())
    if not socket.waitForConnected(CONNECT_MS):
        return False
    socket.write(encode(args))
    socket.flush()
    socket.waitForBytesWritten(REPLY_MS)
    acknowledged = False
    deadline = time.monotonic() + REPLY_MS / 1000
    while time.monotonic() < deadline and not socket.canReadLine():
        if not socket.waitForReadyRead(100) and socket.state() != \
                QLocalSocket.LocalSocketState.ConnectedState:
            break
    if socket.canReadLine():
        acknowledged = bytes(socket.readLine().data()).strip() == b"ok"
    socket.disconnectFromServer()
    return acknowledged


class SingleInstance(QObject):
    """The running app's end: listens and emits `message` with the arguments it receives."""

    message = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or socket_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)

    def claim(self, args: list[str]) -> bool:
        """Become the instance (True), or hand `args` to the running one (False)."""
        if deliver(args or ["show"], self.name):
            return False
        # Nobody answered: a socket file left by a crash must go before we can listen.
        QLocalServer.removeServer(self.name)
        if not self.server.listen(self.name):
            log.warning("single-instance socket unavailable: %s", self.server.errorString())
        return True

    def close(self) -> None:
        self.server.close()

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        args = decode(bytes(socket.readLine().data()))
        socket.write(b"ok\n" if args is not None else b"error\n")
        socket.flush()
        socket.disconnectFromServer()
        if args is not None:
            self.message.emit(args)


def app_command(args: list[str]) -> list[str]:
    """How to start the app: this interpreter running the app module (works from a venv)."""
    return [sys.executable, "-m", "notesearch.gui.app", *args]


def start_app(args: list[str]) -> None:
    """Start the app detached, with `args` for it to act on once it is up."""
    options: dict = {"start_new_session": True} if sys.platform != "win32" else {
        "creationflags": getattr(subprocess, "DETACHED_PROCESS", 0)
        | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    subprocess.Popen(app_command(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, close_fds=True, **options)


def send_to_app(args: list[str]) -> int:
    """For the CLI: deliver `show`, `toggle` or `similar PATH`, starting the app if needed.

    Returns a process exit code: 0 once the running (or newly started) app has the request.
    """
    if not args or args[0] not in COMMANDS:
        print(f"notesearch: unknown app command {args!r}", file=sys.stderr)
        return 2
    if QCoreApplication.instance() is None:
        _app = QCoreApplication([])  # noqa: F841 - QLocalSocket wants an application object
    name = socket_name()
    if deliver(args, name):
        return 0
    if not display_available():
        print(f"notesearch: {NO_DISPLAY}", file=sys.stderr)
        return 1
    start_app(args)  # the new instance acts on `args` itself once its window is up
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _answers(name):
            return 0
        time.sleep(0.2)
    print("notesearch: started the app, but it did not come up; run `notesearch-app` to "
          "see why.", file=sys.stderr)
    return 1


#: Where a local X server listens (display ":0" at X11_SOCKETS/X0).
X11_SOCKETS = Path("/tmp/.X11-unix")


def display_available() -> bool:
    """False on Linux and other X11/Wayland systems when no display can be reached and Qt
    was not told to use another platform plugin (QT_QPA_PLATFORM): the app could not open a
    window (Qt aborts, naming a library that is in fact installed), and waiting
    START_WAIT_SECONDS for it would tell the person nothing.

    A local X display (":0", "unix:0.0") counts when its socket exists; a remote one
    ("host:10.0", SSH forwarding) and a Wayland socket are taken on trust."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    if os.environ.get("WAYLAND_DISPLAY"):
        return True
    display = os.environ.get("DISPLAY", "")
    host, _, number = display.rpartition(":")
    if not number:
        return False
    if host not in ("", "unix"):
        return True
    return (X11_SOCKETS / f"X{number.split('.')[0]}").exists()


NO_DISPLAY = ("there is no display to show the app on (DISPLAY and WAYLAND_DISPLAY are unset "
              "or name no running display server: a console or SSH session?). Run it on the "
              "desktop, under `xvfb-run`, or use the command line: `notesearch --help`.")


def _answers(name: str) -> bool:
    socket = QLocalSocket()
    socket.connectToServer(name)
    connected = socket.waitForConnected(CONNECT_MS)
    socket.abort()
    return connected
