"""Pytest fixture `real_keyring`: a private D-Bus bus plus gnome-keyring, as a real keyring."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

APT_HINT = "apt-get install -y --no-install-recommends gnome-keyring dbus-daemon"
SECRETS_BUS_NAME = "org.freedesktop.secrets"
START_TIMEOUT = 15.0

# A bus of our own with no service directories, so nothing on it is auto-activated:
# the only Secret Service answering is the daemon this fixture starts.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class RealKeyring:
    """What the fixture set up; `home` holds every file the keyring daemon writes."""

    backend: KeyringBackend
    home: Path
    bus_address: str
    password: str


def _require_tools() -> dict[str, str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("real_keyring drives gnome-keyring over D-Bus and runs on Linux only")
    pytest.importorskip("secretstorage", reason="SecretStorage (test extra) is not installed")
    tools = {name: shutil.which(name) for name in ("dbus-daemon", "gnome-keyring-daemon")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"real_keyring needs {', '.join(missing)}; install with: {APT_HINT}")
    return {name: str(path) for name, path in tools.items()}


def _private_dirs(root: Path) -> dict[str, str]:
    """Environment for the daemons: a throwaway HOME so the user's keyring is never touched."""
    home, run = root / "home", root / "run"
    run.mkdir(mode=0o700, parents=True)
    dirs = {"HOME": home, "XDG_RUNTIME_DIR": run, "XDG_DATA_HOME": home / ".local/share",
            "XDG_CONFIG_HOME": home / ".config", "XDG_CACHE_HOME": home / ".cache"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


def _start_bus(dbus_daemon: str, root: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    config = root / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=root / "run" / "bus"))
    proc = subprocess.Popen(
        [dbus_daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
    address = proc.stdout.readline().strip() if proc.stdout else ""
    if not address:
        _stop(proc)
        pytest.fail("dbus-daemon did not start (it printed no bus address)")
    return proc, address


def _start_keyring_daemon(gkd: str, env: dict[str, str], password: str,
                          log: Path) -> subprocess.Popen:
    # --unlock reads the login keyring password from stdin; on a fresh HOME it creates
    # that keyring, unlocked, so no desktop prompt is ever needed.
    with log.open("wb") as log_file:
        proc = subprocess.Popen([gkd, "--foreground", "--unlock", "--components=secrets"],
                                stdin=subprocess.PIPE, stdout=log_file, stderr=log_file,
                                env=env)
    assert proc.stdin is not None
    proc.stdin.write(password.encode("utf-8"))
    proc.stdin.close()
    return proc


def _wait_for_secret_service(proc: subprocess.Popen, log: Path) -> None:
    """Block until the daemon owns the bus name and its default collection is unlocked."""
    import secretstorage

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gnome-keyring-daemon exited early: {log.read_text(errors='replace')}")
        if _collection_ready(secretstorage):
            return
        time.sleep(0.1)
    pytest.fail(f"gnome-keyring-daemon did not become ready in {START_TIMEOUT:.0f} s")


def _collection_ready(secretstorage) -> bool:
    try:
        conn = secretstorage.dbus_init()
    except secretstorage.exceptions.SecretStorageException:
        return False
    try:
        if not secretstorage.check_service_availability(conn):
            return False
        return not secretstorage.get_default_collection(conn).is_locked()
    except secretstorage.exceptions.SecretStorageException:
        return False
    finally:
        conn.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture(scope="session")
def real_keyring() -> Iterator[RealKeyring]:
    """A real Secret Service keyring on a private bus, active as keyring's backend."""
    tools = _require_tools()
    from keyring.backends import SecretService

    # A short path under the temp dir: D-Bus unix socket paths must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="ns-keyring-"))
    saved_env = {name: os.environ.get(name) for name in ("DBUS_SESSION_BUS_ADDRESS",)}
    previous_backend = keyring.get_keyring()
    procs: list[subprocess.Popen] = []
    try:
        env = {**os.environ, **_private_dirs(root)}
        bus, address = _start_bus(tools["dbus-daemon"], root, env)
        procs.append(bus)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        # secretstorage in this process finds the bus through this variable.
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        password = "notesearch-test-keyring-password"
        log = root / "gnome-keyring.log"
        procs.append(_start_keyring_daemon(tools["gnome-keyring-daemon"], env, password, log))
        _wait_for_secret_service(procs[-1], log)
        backend = SecretService.Keyring()
        keyring.set_keyring(backend)
        yield RealKeyring(backend=backend, home=root / "home", bus_address=address,
                          password=password)
    finally:
        keyring.set_keyring(previous_backend)
        for proc in reversed(procs):
            _stop(proc)
        _restore_env(saved_env)
        shutil.rmtree(root, ignore_errors=True)


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
