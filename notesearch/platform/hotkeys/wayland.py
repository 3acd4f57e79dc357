"""Wayland global hotkey through the xdg-desktop-portal GlobalShortcuts interface.

Checked against the portal docs (org.freedesktop.portal.GlobalShortcuts v1/v2:
CreateSession(a{sv}) with handle_token/session_handle_token, BindShortcuts(o, a(sa{sv}),
s, a{sv}) with description/preferred_trigger, signal Activated(o, s, t, a{sv});
org.freedesktop.portal.Request: the handle is /org/freedesktop/portal/desktop/request/
SENDER/TOKEN with SENDER the unique name minus ':' and '.'→'_', Response(u, a{sv})
with 0=success, 1=cancelled, 2=other) and the XDG shortcuts spec for trigger text
(CTRL, ALT, SHIFT, LOGO joined by '+' before an xkb keysym name).

Uses jeepney (pure-Python D-Bus) rather than QtDBus: PySide6's QDBusArgument cannot
marshal the a(sa{sv}) that BindShortcuts takes (no qDBusRegisterMetaType in Python;
an untyped array aborts the process). Only failure paths run for real here; no
portal backend exists on this machine.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable

from jeepney import (
    DBusAddress,
    DBusErrorResponse,
    MatchRule,
    Properties,
    message_bus,
    new_method_call,
)
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import unwrap_msg

from notesearch.platform.hotkeys.keys import (
    ALT,
    CTRL,
    MANUAL_COMMAND,
    SHIFT,
    SUPER,
    Hotkey,
    HotkeyError,
    keysym_name,
)

log = logging.getLogger(__name__)

PORTAL_BUS = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS_IFACE = "org.freedesktop.portal.GlobalShortcuts"
REQUEST_IFACE = "org.freedesktop.portal.Request"
SESSION_IFACE = "org.freedesktop.portal.Session"
REGISTRY_IFACE = "org.freedesktop.host.portal.Registry"
SHORTCUT_ID = "toggle"
CALL_TIMEOUT = 5.0
POLL_SECONDS = 0.5

_TRIGGER_MODIFIERS = ((CTRL, "CTRL"), (ALT, "ALT"), (SHIFT, "SHIFT"), (SUPER, "LOGO"))
_RESPONSES = {1: "was cancelled", 2: "failed"}


def manual_binding_message(reason: str) -> str:
    """User-facing text: why the portal can't be used and the command to bind by hand."""
    return (
        f"{reason} Global shortcuts need the desktop's help on Wayland: open your desktop's "
        f"keyboard settings, add a custom shortcut and set its command to "
        f"'{MANUAL_COMMAND}'."
    )


def sender_element(unique_name: str) -> str:
    """The SENDER part of portal object paths: ':1.42' -> '1_42'."""
    return unique_name.lstrip(":").replace(".", "_")


def new_token() -> str:
    """A fresh handle token; must be a valid object path element ([A-Za-z0-9_])."""
    return f"notesearch_{secrets.token_hex(8)}"


def request_path(unique_name: str, token: str) -> str:
    """Where the portal will put the Request object for a call made with handle_token."""
    return f"{PORTAL_PATH}/request/{sender_element(unique_name)}/{token}"


def session_path(unique_name: str, token: str) -> str:
    """Where the portal will put the Session object created with session_handle_token."""
    return f"{PORTAL_PATH}/session/{sender_element(unique_name)}/{token}"


def portal_trigger(hotkey: Hotkey) -> str:
    """The hotkey as XDG shortcuts-spec text, e.g. 'CTRL+ALT+space'."""
    mods = [name for modifier, name in _TRIGGER_MODIFIERS if modifier in hotkey.modifiers]
    return "+".join([*mods, keysym_name(hotkey.key)])


def shortcuts_argument(hotkey: Hotkey, description: str) -> list[tuple[str, dict]]:
    """The a(sa{sv}) BindShortcuts argument, in jeepney's (signature, value) variant form."""
    options = {
        "description": ("s", description),
        "preferred_trigger": ("s", portal_trigger(hotkey)),
    }
    return [(SHORTCUT_ID, options)]


def response_error(code: int, what: str) -> HotkeyError | None:
    """A HotkeyError for a non-zero Request::Response code, None on success."""
    if code == 0:
        return None
    outcome = _RESPONSES.get(code, f"failed with code {code}")
    return HotkeyError(f"The desktop's global-shortcuts dialog {outcome} ({what}).")


def _address(path: str = PORTAL_PATH, interface: str = SHORTCUTS_IFACE) -> DBusAddress:
    return DBusAddress(path, bus_name=PORTAL_BUS, interface=interface)


def _connect() -> DBusConnection:
    try:
        return open_dbus_connection(bus="SESSION")
    except (OSError, KeyError, ValueError) as exc:
        raise HotkeyError(manual_binding_message(f"No D-Bus session bus ({exc}).")) from exc


def _check_version(conn: DBusConnection) -> int:
    msg = Properties(_address()).get("version")
    try:
        reply = unwrap_msg(conn.send_and_get_reply(msg, timeout=CALL_TIMEOUT))
    except (DBusErrorResponse, TimeoutError) as exc:
        reason = "This desktop has no xdg-desktop-portal GlobalShortcuts interface."
        raise HotkeyError(manual_binding_message(reason)) from exc
    return int(reply[0][1])


def check_portal() -> None:
    """Raise HotkeyError (with the manual-binding advice) unless the portal is reachable."""
    conn = _connect()
    try:
        _check_version(conn)
    finally:
        conn.close()


class PortalHotkey:
    """One shortcut bound through the portal; the callback runs on a background thread."""

    def __init__(self, app_id: str | None = None, description: str = "Show or hide notesearch"):
        self._app_id = app_id
        self._description = description
        self._conn: DBusConnection | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._session: str | None = None
        self._callback: Callable[[], None] = lambda: None
        self.error: HotkeyError | None = None  # set if the asynchronous binding failed

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Check the portal now, then bind and listen on a thread (binding may show a dialog)."""
        self.unregister()
        conn = _connect()
        try:
            self._register_app(conn)
            _check_version(conn)
        except HotkeyError:
            conn.close()
            raise
        self._conn, self._callback, self.error = conn, callback, None
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(hotkey,), name="portal-hotkey", daemon=True
        )
        self._thread.start()

    def _register_app(self, conn: DBusConnection) -> None:
        # Host (non-Flatpak) apps must name themselves first, or the portal sees app id "".
        if not self._app_id:
            return
        address = _address(interface=REGISTRY_IFACE)
        msg = new_method_call(address, "Register", "sa{sv}", (self._app_id, {}))
        try:
            unwrap_msg(conn.send_and_get_reply(msg, timeout=CALL_TIMEOUT))
        except (DBusErrorResponse, TimeoutError) as exc:
            log.info("portal app registration unavailable: %s", exc)

    def _run(self, hotkey: Hotkey) -> None:
        try:
            self._session = self._create_session()
            self._bind(hotkey)
            self._listen()
        except (HotkeyError, DBusErrorResponse, TimeoutError, OSError) as exc:
            if not self._stop.is_set():
                self.error = exc if isinstance(exc, HotkeyError) else HotkeyError(str(exc))
                log.warning("global shortcut via portal failed: %s", self.error)

    def _request(self, method: str, signature: str, body: tuple, what: str) -> dict:
        """Call a portal method that answers through a Request object's Response signal."""
        conn = self._conn
        assert conn is not None
        token = new_token()
        rule = MatchRule(
            type="signal", interface=REQUEST_IFACE, member="Response",
            path=request_path(conn.unique_name, token),
        )  # fmt: skip
        # Subscribe before calling so a fast Response cannot be missed.
        unwrap_msg(conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT))
        body[-1]["handle_token"] = ("s", token)
        with conn.filter(rule) as queue:
            call = new_method_call(_address(), method, signature, body)
            unwrap_msg(conn.send_and_get_reply(call, timeout=CALL_TIMEOUT))
            code, results = self._wait(queue).body
        error = response_error(code, what)
        if error is not None:
            raise error
        return results

    def _wait(self, queue: deque):
        """Next message in queue; polls so unregister() can stop a pending wait."""
        assert self._conn is not None
        while not self._stop.is_set():
            try:
                return self._conn.recv_until_filtered(queue, timeout=POLL_SECONDS)
            except TimeoutError:
                continue
        raise HotkeyError("stopped")

    def _create_session(self) -> str:
        token = new_token()
        options = {"session_handle_token": ("s", token)}
        results = self._request("CreateSession", "a{sv}", (options,), "creating a session")
        # v1 portals return the handle as a string inside a variant; fall back to the
        # predictable path when it is missing.
        handle = results.get("session_handle", (None, None))[1]
        assert self._conn is not None
        return str(handle or session_path(self._conn.unique_name, token))

    def _bind(self, hotkey: Hotkey) -> None:
        body: tuple[str | None, list[tuple[str, dict]], str, dict[str, tuple[str, str]]] = (
            self._session, shortcuts_argument(hotkey, self._description), "", {})
        self._request("BindShortcuts", "oa(sa{sv})sa{sv}", body, "binding the shortcut")

    def _listen(self) -> None:
        conn = self._conn
        assert conn is not None
        rule = MatchRule(
            type="signal", interface=SHORTCUTS_IFACE, member="Activated", path=PORTAL_PATH
        )
        unwrap_msg(conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT))
        with conn.filter(rule, bufsize=16) as queue:
            while not self._stop.is_set():
                session, shortcut_id = self._wait(queue).body[:2]
                if session == self._session and shortcut_id == SHORTCUT_ID:
                    self._fire()

    def _fire(self) -> None:
        try:
            self._callback()
        except Exception:  # a broken callback must not end the listener
            log.exception("hotkey callback failed")

    def unregister(self) -> None:
        """Stop listening, close the portal session and the bus connection."""
        if self._conn is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._session:
            close = new_method_call(_address(self._session, SESSION_IFACE), "Close")
            # The portal also ends the session when our connection closes.
            with contextlib.suppress(TimeoutError, OSError):
                self._conn.send_and_get_reply(close, timeout=CALL_TIMEOUT)
        self._conn.close()
        self._conn, self._thread, self._session = None, None, None
