"""API keys kept only in the OS keyring (or read from the environment), never on disk."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from notesearch.core.errors import KeyringUnavailable

SERVICE = "notesearch"

#: Environment variables that override the keyring per provider; they are never saved.
ENV_VARS = {"openai": "OPENAI_API_KEY"}

# Backends that would keep the key in a file next to the user's data, or not at all.
# Refused even if the user configured them: a key in a file is a key that leaks.
_REFUSED_PREFIXES = (
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyrings.alt",
    "keyrings.cryptfile",
)

T = TypeVar("T")


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Errors a backend may raise when the keyring is missing, locked or unreachable."""
    # OSError: the Secret Service backend lets socket failures (no bus at the address
    # in DBUS_SESSION_BUS_ADDRESS) escape unwrapped, as it does for the two below.
    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError]
    try:
        from secretstorage.exceptions import SecretStorageException

        errors.append(SecretStorageException)
    except ImportError:
        pass
    try:
        from jeepney.wrappers import DBusErrorResponse

        errors.append(DBusErrorResponse)
    except ImportError:
        pass
    return tuple(errors)


_BACKEND_ERRORS = _backend_errors()


def _backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _display_name(backend: KeyringBackend) -> str:
    """keyring's human name for a backend, e.g. "SecretService Keyring"."""
    return str(getattr(backend, "name", "") or _backend_name(backend))


def _is_refused(backend: KeyringBackend) -> bool:
    return _backend_name(backend).startswith(_REFUSED_PREFIXES)


def _fix_hint() -> str:
    """How to get a working keyring on this platform, as a sentence for the user."""
    if sys.platform == "darwin":
        return "Unlock the login keychain in Keychain Access, or set OPENAI_API_KEY."
    if sys.platform == "win32":
        return "Make sure Windows Credential Manager is available, or set OPENAI_API_KEY."
    return ("Install and unlock a Secret Service keyring such as GNOME Keyring "
            "(package gnome-keyring) or KWallet, inside a desktop session with D-Bus, "
            "or set the OPENAI_API_KEY environment variable instead.")


def _unavailable(reason: str) -> KeyringUnavailable:
    return KeyringUnavailable(f"No secure keyring is available to store the API key: {reason}. "
                              f"{_fix_hint()}")


def _secure_backend() -> KeyringBackend:
    """The active backend, or the best secure one inside a chainer; refuses file/null ones."""
    backend = keyring.get_keyring()
    if isinstance(backend, ChainerBackend):
        # A chainer writes to the first backend that accepts, which may be a plaintext
        # file; pick the best secure one ourselves so that can never happen.
        secure = [b for b in backend.backends if not _is_refused(b)]
        if not secure:
            raise _unavailable("only insecure or no keyring backends are installed")
        return secure[0]
    if _is_refused(backend):
        raise _unavailable(_refusal_reason(backend))
    return backend


def _refusal_reason(backend: KeyringBackend) -> str:
    name = _backend_name(backend)
    if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return "no OS keyring was found on this system"
    return f"the configured backend {name} is not a secure OS keyring (it keeps secrets in a file)"


def _call(action: Callable[[KeyringBackend], T], secret: str | None = None) -> T:
    """Run `action` on the secure backend, turning backend failures into KeyringUnavailable."""
    backend = _secure_backend()
    try:
        return action(backend)
    except _BACKEND_ERRORS as exc:
        failure = exc
    # Raised outside the except block so the backend's exception is not chained on.
    reason = (f"the {_display_name(backend)} could not be used "
              f"({type(failure).__name__}: {failure})")
    if secret:
        reason = reason.replace(secret, "***")
    raise _unavailable(reason)


def _env_value(provider: str) -> str | None:
    name = ENV_VARS.get(provider)
    value = os.environ.get(name, "").strip() if name else ""
    return value or None


def get_api_key(provider: str = "openai") -> str | None:
    """The key for `provider`: its environment variable if set, else the keyring's, else None.

    Raises KeyringUnavailable when the environment has none and no secure keyring works.
    """
    from_env = _env_value(provider)
    if from_env:
        return from_env
    return _call(lambda backend: backend.get_password(SERVICE, provider))


def set_api_key(key: str, provider: str = "openai") -> None:
    """Store `key` for `provider` in the OS keyring (replacing any previous one)."""
    key = key.strip()
    if not key:
        raise ValueError("The API key is empty.")
    _call(lambda backend: backend.set_password(SERVICE, provider, key), secret=key)


def clear_api_key(provider: str = "openai") -> bool:
    """Remove the stored key for `provider`; True if one was removed, False if none was stored."""

    def delete(backend: KeyringBackend) -> bool:
        if backend.get_password(SERVICE, provider) is None:
            return False
        backend.delete_password(SERVICE, provider)
        return True

    return _call(delete)


def keyring_status() -> str:
    """A sentence for the user naming the keyring backend in use, or why there is none."""
    try:
        backend = _secure_backend()
        # Reading proves the keyring is reachable and unlocked, not merely installed.
        _call(lambda chosen: chosen.get_password(SERVICE, "openai"))
    except KeyringUnavailable as exc:
        return str(exc)
    return (f"API keys are stored in the OS keyring: {_display_name(backend)} "
            f"({_backend_name(backend)}).")
