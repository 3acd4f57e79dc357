"""Tests for notesearch.core.secrets against a real gnome-keyring on a private D-Bus bus."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from pytest import MonkeyPatch

from notesearch.core import secrets
from notesearch.core.errors import KeyringUnavailable
from tests.fixtures_keyring import RealKeyring

TEST_KEY = "sk-test-notesearch-0123456789abcdefSECRET"
PROVIDERS = ("openai", "openai@example.test:8080")


class FakePlaintextKeyring(KeyringBackend):
    """Stands in for keyrings.alt's plaintext file backend; records what it was asked to store."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.stored.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.stored[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.stored.pop((service, username), None)


# secrets.py refuses backends by module, exactly as the real keyrings.alt would be named.
FakePlaintextKeyring.__module__ = "keyrings.alt.file"


@contextmanager
def using_backend(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def kr(real_keyring: RealKeyring) -> Iterator[RealKeyring]:
    """The real keyring, emptied of our entries before and after each test."""
    with using_backend(real_keyring.backend):
        for provider in PROVIDERS:
            secrets.clear_api_key(provider)
        yield real_keyring
        for provider in PROVIDERS:
            secrets.clear_api_key(provider)


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_round_trip_in_real_keyring(kr: RealKeyring) -> None:
    assert secrets.get_api_key() is None
    secrets.set_api_key(TEST_KEY)
    assert secrets.get_api_key() == TEST_KEY
    # Stored under our service name in the real Secret Service, not somewhere private.
    assert kr.backend.get_password(secrets.SERVICE, "openai") == TEST_KEY
    secrets.set_api_key(TEST_KEY + "-new")
    assert secrets.get_api_key() == TEST_KEY + "-new"
    assert secrets.clear_api_key() is True
    assert secrets.get_api_key() is None
    assert secrets.clear_api_key() is False


def test_providers_are_separate(kr: RealKeyring) -> None:
    secrets.set_api_key(TEST_KEY, provider=PROVIDERS[1])
    assert secrets.get_api_key("openai") is None
    assert secrets.get_api_key(PROVIDERS[1]) == TEST_KEY


def test_key_is_stripped_and_empty_rejected(kr: RealKeyring) -> None:
    secrets.set_api_key(f"  {TEST_KEY}\n")
    assert secrets.get_api_key() == TEST_KEY
    with pytest.raises(ValueError):
        secrets.set_api_key("   ")


def test_environment_wins_and_is_never_saved(kr: RealKeyring, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-123456")
    assert secrets.get_api_key() == "sk-from-env-123456"
    assert kr.backend.get_password(secrets.SERVICE, "openai") is None
    secrets.set_api_key(TEST_KEY)
    assert secrets.get_api_key() == "sk-from-env-123456"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert secrets.get_api_key() == TEST_KEY


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_key_never_lands_in_a_plain_file(kr: RealKeyring, tmp_path: Path) -> None:
    secrets.set_api_key(TEST_KEY)
    keyring_files = list((kr.home / ".local/share/keyrings").glob("*.keyring"))
    assert keyring_files, "gnome-keyring should have written its (encrypted) keyring file"
    assert _files_containing(kr.home, TEST_KEY.encode()) == []
    assert _files_containing(tmp_path, TEST_KEY.encode()) == []
    assert secrets.get_api_key() == TEST_KEY


def test_status_names_the_backend(kr: RealKeyring) -> None:
    status = secrets.keyring_status()
    assert "SecretService" in status
    assert TEST_KEY not in status


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_no_keyring_is_a_helpful_error(backend: KeyringBackend) -> None:
    with using_backend(backend):
        with pytest.raises(KeyringUnavailable) as info:
            secrets.set_api_key(TEST_KEY)
        message = str(info.value)
        assert "gnome-keyring" in message and "KWallet" in message
        assert "OPENAI_API_KEY" in message
        assert TEST_KEY not in _full_text(info.value)
        with pytest.raises(KeyringUnavailable):
            secrets.get_api_key()
        with pytest.raises(KeyringUnavailable):
            secrets.clear_api_key()
        assert "No secure keyring" in secrets.keyring_status()


def test_environment_key_works_without_keyring(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-123456")
    with using_backend(fail.Keyring()):
        assert secrets.get_api_key() == "sk-from-env-123456"


def test_plaintext_backend_is_refused() -> None:
    plain = FakePlaintextKeyring()
    with using_backend(plain), pytest.raises(KeyringUnavailable, match="keeps secrets in a file"):
        secrets.set_api_key(TEST_KEY)
    assert plain.stored == {}


def test_chainer_never_writes_to_plaintext(kr: RealKeyring, monkeypatch: MonkeyPatch) -> None:
    plain = FakePlaintextKeyring()
    # The plaintext backend comes first, as it would if its priority were higher.
    monkeypatch.setattr(ChainerBackend, "backends", [plain, kr.backend])
    with using_backend(ChainerBackend()):
        secrets.set_api_key(TEST_KEY)
        assert secrets.get_api_key() == TEST_KEY
    assert plain.stored == {}
    assert kr.backend.get_password(secrets.SERVICE, "openai") == TEST_KEY


def test_chainer_with_only_plaintext_is_refused(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(ChainerBackend, "backends", [FakePlaintextKeyring()])
    with using_backend(ChainerBackend()), pytest.raises(KeyringUnavailable):
        secrets.set_api_key(TEST_KEY)


def test_unreachable_secret_service_is_keyring_unavailable(kr: RealKeyring,
                                                           monkeypatch: MonkeyPatch) -> None:
    # The real backend, but the session bus is gone (as outside a desktop session).
    with monkeypatch.context() as patch:
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={kr.home}/no-such-bus")
        with pytest.raises(KeyringUnavailable) as info:
            secrets.set_api_key(TEST_KEY)
        status = secrets.keyring_status()
    assert "gnome-keyring" in str(info.value)
    assert TEST_KEY not in _full_text(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert "No secure keyring" in status
