"""Tests for OpenAIEmbedder: the real openai client talking HTTP to a fake local server."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import numpy as np
import openai
import pytest
from keyring.backends import fail

from notesearch.core import secrets
from notesearch.core.embedders import Embedder
from notesearch.core.embedders.openai_api import (
    MAX_BATCH_INPUTS,
    MAX_BATCH_TOKENS,
    MAX_RETRY_WAIT,
    NO_KEY_PLACEHOLDER,
    OpenAIEmbedder,
    estimate_tokens,
    key_provider,
)
from notesearch.core.errors import (
    EmbedderError,
    EmbedderUnavailable,
    KeyMissing,
    KeyRejected,
    KeyringUnavailable,
    RateLimited,
)
from tests.fake_openai import FakeOpenAI, closed_port_url, fake_embedding
from tests.fixtures_keyring import RealKeyring

MODEL = "test-embed"  # unknown to the embedder, so the fake's 64 dimensions are used


class SleepRecorder:
    """Stands in for time.sleep where the test only needs to see the waits asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def using_backend(backend: keyring.backend.KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def make(fake: FakeOpenAI, **options: object) -> OpenAIEmbedder:
    settings: dict = {"model": MODEL, "base_url": fake.base_url, "api_key": fake.key,
                      "timeout": 2.0, "max_attempts": 3, "sleep": SleepRecorder()}
    settings.update(options)
    return OpenAIEmbedder(**settings)


def expected(texts: list[str], dim: int = 64) -> np.ndarray:
    rows = np.vstack([fake_embedding(text, dim) for text in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def full_text(exc: BaseException) -> str:
    """Everything a log or crash report could show about `exc`."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc.args)


def as_official(embedder: OpenAIEmbedder, fake: FakeOpenAI, key: str) -> OpenAIEmbedder:
    """Aim an embedder built for api.openai.com at the fake server (tests never go online)."""
    embedder._http = openai.OpenAI(api_key=key, base_url=fake.base_url, timeout=2.0,
                                   max_retries=0)
    return embedder


# --- identity and metadata -------------------------------------------------------------


def test_official_metadata_needs_no_network() -> None:
    small = OpenAIEmbedder(api_key="sk-unused-000000")
    assert isinstance(small, Embedder)
    assert small.model_id == "openai:text-embedding-3-small"
    assert (small.dim, small.max_tokens, small.is_remote) == (1536, 8191, True)
    large = OpenAIEmbedder("text-embedding-3-large", api_key="sk-unused-000000")
    assert (large.dim, large.model_id) == (3072, "openai:text-embedding-3-large")
    assert OpenAIEmbedder("text-embedding-ada-002", api_key="sk-unused-000000").dim == 1536
    short = OpenAIEmbedder(api_key="sk-unused-000000", dimensions=256)
    assert (short.dim, short.model_id) == (256, "openai:text-embedding-3-small@256d")
    assert "sk-unused" not in repr(small)


def test_custom_server_metadata(fake_openai: FakeOpenAI) -> None:
    embedder = make(fake_openai)
    assert embedder.model_id == f"openai@{fake_openai.host}:{MODEL}"
    assert embedder.is_remote is True  # localhost too: the caller decides privacy
    assert embedder.max_tokens == 512
    assert make(fake_openai, model="text-embedding-3-small").max_tokens == 8191
    other = OpenAIEmbedder(MODEL, base_url="http://user:pw@LocalHost:11434/v1", api_key="x")
    assert other.model_id == f"openai@localhost:11434:{MODEL}"
    assert fake_openai.requests == []


def test_dim_of_unknown_model_is_probed_once(fake_openai: FakeOpenAI) -> None:
    embedder = make(fake_openai)
    assert isinstance(embedder, Embedder)  # probes on Python 3.11 (hasattr on `dim`)
    assert embedder.dim == 64
    assert embedder.dim == 64
    assert len(fake_openai.requests) == 1


def test_dimensions_are_sent_and_honoured(fake_openai: FakeOpenAI) -> None:
    embedder = make(fake_openai, dimensions=16)
    vectors = embedder.embed_documents(["alpha beta", "gamma"])
    assert vectors.shape == (2, 16)
    assert fake_openai.requests[0].body["dimensions"] == 16
    np.testing.assert_allclose(vectors, expected(["alpha beta", "gamma"], 16), atol=1e-6)


def test_count_tokens_is_conservative() -> None:
    assert estimate_tokens("a" * 300) == 100
    # Non-ASCII counts double: a 3-byte CJK character costs 2.
    assert estimate_tokens("日本語") == 6
    assert estimate_tokens("") == 1
    embedder = OpenAIEmbedder(api_key="sk-unused-000000")
    english = "The quick brown fox jumps over the lazy dog. " * 20
    assert embedder.count_tokens(english) >= len(english.split())


# --- embedding ---------------------------------------------------------------------------


def test_batches_come_back_in_order_and_normalised(fake_openai: FakeOpenAI) -> None:
    fake_openai.reverse_data = True  # the client must sort by `index`
    texts = [f"note {i} about topic {i % 7}" for i in range(MAX_BATCH_INPUTS * 2 + 5)]
    vectors = make(fake_openai).embed_documents(texts)
    assert [len(r.inputs) for r in fake_openai.requests] == [MAX_BATCH_INPUTS,
                                                             MAX_BATCH_INPUTS, 5]
    assert fake_openai.inputs == texts
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, expected(texts), atol=1e-6)


def test_token_budget_splits_requests(fake_openai: FakeOpenAI) -> None:
    texts = [f"{i} " + "word " * 600 for i in range(700)]  # ~1000 estimated tokens each
    make(fake_openai).embed_documents(texts)
    budgets = [sum(estimate_tokens(t) for t in r.inputs) for r in fake_openai.requests]
    assert len(budgets) == 3 and max(budgets) <= MAX_BATCH_TOKENS
    assert fake_openai.inputs == texts


def test_similar_texts_are_close(fake_openai: FakeOpenAI) -> None:
    embedder = make(fake_openai)
    docs = embedder.embed_documents(["tomato soup recipe", "planting tomato seeds"])
    query = embedder.embed_query("tomato soup")
    assert query.shape == (64,)
    assert float(docs[0] @ query) > float(docs[1] @ query)


def test_base64_is_requested_and_decoded(fake_openai: FakeOpenAI) -> None:
    vectors = make(fake_openai).embed_documents(["one two", "three"])
    assert fake_openai.requests[0].body["encoding_format"] == "base64"
    np.testing.assert_allclose(vectors, expected(["one two", "three"]), atol=1e-6)


def test_float_answers_are_accepted(fake_openai: FakeOpenAI) -> None:
    fake_openai.float_only = True  # like compatible servers that ignore encoding_format
    vectors = make(fake_openai).embed_documents(["one two", "three"])
    np.testing.assert_allclose(vectors, expected(["one two", "three"]), atol=1e-6)


def test_empty_texts(fake_openai: FakeOpenAI) -> None:
    embedder = make(fake_openai, dimensions=8)
    assert embedder.embed_documents([]).shape == (0, 8)
    assert fake_openai.requests == []
    # The API rejects "", so it is sent as a space rather than failing the batch.
    assert embedder.embed_documents(["", "x"]).shape == (2, 8)
    assert fake_openai.inputs == [" ", "x"]


# --- keys --------------------------------------------------------------------------------


def test_missing_key_is_key_missing(real_keyring: RealKeyring) -> None:
    with using_backend(real_keyring.backend):
        secrets.clear_api_key()
        with pytest.raises(KeyMissing, match="notesearch key set"):
            OpenAIEmbedder()


def test_official_key_comes_from_env_or_keyring(real_keyring: RealKeyring,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with using_backend(real_keyring.backend):
        secrets.set_api_key("sk-stored-in-keyring-1234")
        try:
            assert OpenAIEmbedder()._key == "sk-stored-in-keyring-1234"
            monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-5678")
            assert OpenAIEmbedder()._key == "sk-from-env-5678"
        finally:
            secrets.clear_api_key()


def test_official_without_keyring_says_how_to_fix() -> None:
    with using_backend(fail.Keyring()), pytest.raises(KeyringUnavailable, match="gnome-keyring"):
        OpenAIEmbedder()


def test_custom_server_key_from_its_own_keyring_entry(real_keyring: RealKeyring,
                                                      fake_openai: FakeOpenAI) -> None:
    provider = key_provider(fake_openai.base_url)
    assert provider == f"openai@{fake_openai.host}"
    with using_backend(real_keyring.backend):
        secrets.set_api_key(fake_openai.key, provider=provider)
        try:
            embedder = make(fake_openai, api_key=None)
            assert embedder.embed_query("hello").shape == (64,)
        finally:
            secrets.clear_api_key(provider)
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {fake_openai.key}"


def test_openai_key_is_never_sent_to_a_custom_server(real_keyring: RealKeyring,
                                                     fake_openai: FakeOpenAI) -> None:
    with using_backend(real_keyring.backend):
        secrets.set_api_key(fake_openai.key)  # stored as the OpenAI key
        try:
            embedder = make(fake_openai, api_key=None)
            with pytest.raises(KeyRejected):
                embedder.embed_query("hello")
        finally:
            secrets.clear_api_key()
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {NO_KEY_PLACEHOLDER}"


def test_custom_server_works_without_any_keyring(fake_openai: FakeOpenAI) -> None:
    with using_backend(fail.Keyring()):
        embedder = make(fake_openai, api_key=None)
    assert embedder._key == NO_KEY_PLACEHOLDER


def test_rejected_key_is_not_retried_and_never_shown(fake_openai: FakeOpenAI) -> None:
    wrong = "sk-proj-WRONGkey0123456789abcdefghij"
    embedder = as_official(OpenAIEmbedder(api_key=wrong), fake_openai, wrong)
    with pytest.raises(KeyRejected) as info:
        embedder.embed_documents(["hello"])
    assert str(info.value).startswith("The OpenAI API key was rejected (HTTP 401).")
    assert len(fake_openai.requests) == 1
    # The fake echoes the wrong key in its error body; none of it may reach our error.
    assert wrong not in full_text(info.value) and "WRONGkey" not in full_text(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_key_never_reaches_debug_logs(fake_openai: FakeOpenAI,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make(fake_openai).embed_query("logged")
    with pytest.raises(KeyRejected):
        make(fake_openai, api_key="sk-wrong-key-0000000000").embed_query("x")
    assert caplog.records, "the SDK should have logged its requests at DEBUG"
    assert fake_openai.key not in caplog.text and "sk-wrong-key" not in caplog.text


def test_403_is_key_rejected(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(403)
    with pytest.raises(KeyRejected, match="HTTP 403"):
        make(fake_openai).embed_query("x")
    assert len(fake_openai.requests) == 1


def test_server_messages_are_scrubbed_of_the_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(400, message=f"Bad request from {fake_openai.key}; also sk-abcdefghijk")
    with pytest.raises(EmbedderError) as info:
        make(fake_openai).embed_query("x")
    assert type(info.value) is EmbedderError and "HTTP 400" in str(info.value)
    assert fake_openai.key not in full_text(info.value)
    assert "sk-abcdefghijk" not in str(info.value)
    assert len(fake_openai.requests) == 1  # 4xx is not retried


# --- retries -----------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, 1)  # with Retry-After: 1
    embedder = make(fake_openai, sleep=time.sleep)
    start = time.monotonic()
    vectors = embedder.embed_documents(["after the wait"])
    waited = fake_openai.requests[1].received_at - fake_openai.requests[0].received_at
    assert time.monotonic() - start >= 1.0 and waited >= 1.0
    assert len(fake_openai.requests) == 2
    np.testing.assert_allclose(vectors, expected(["after the wait"]), atol=1e-6)


def test_retry_after_ms_wins_and_long_waits_are_capped(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, 1, headers={"retry-after-ms": "50", "Retry-After": "7"})
    fake_openai.fail_next(429, 1, headers={"Retry-After": "3600"})
    sleep = SleepRecorder()
    make(fake_openai, sleep=sleep).embed_query("x")
    assert sleep.waits == [0.05, MAX_RETRY_WAIT]


def test_persistent_429_is_rate_limited(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, 10, headers={})
    sleep = SleepRecorder()
    with pytest.raises(RateLimited, match="after 3 attempts"):
        make(fake_openai, sleep=sleep).embed_query("x")
    assert len(fake_openai.requests) == 3 and len(sleep.waits) == 2


def test_no_quota_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, 1, code="insufficient_quota")
    with pytest.raises(RateLimited, match="quota"):
        make(fake_openai).embed_query("x")
    assert len(fake_openai.requests) == 1


def test_500_then_success(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(500, 2)
    sleep = SleepRecorder()
    assert make(fake_openai, sleep=sleep).embed_query("x").shape == (64,)
    assert len(fake_openai.requests) == 3
    assert len(sleep.waits) == 2 and all(0 < w <= 8 for w in sleep.waits)


def test_persistent_500_is_unavailable_after_max_attempts(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(500, 10)
    sleep = SleepRecorder()
    with pytest.raises(EmbedderUnavailable) as info:
        make(fake_openai, sleep=sleep, max_attempts=4).embed_query("x")
    assert "could not reach" in str(info.value) and "HTTP 500" in str(info.value)
    assert len(fake_openai.requests) == 4
    # Exponential backoff with jitter: each wait within [half, full] of 0.5 s * 2^n.
    assert [0.25 * 2**n <= w <= 0.5 * 2**n for n, w in enumerate(sleep.waits)] == [True] * 3


def test_hang_times_out_as_unavailable(fake_openai: FakeOpenAI) -> None:
    fake_openai.hang_next(count=2, seconds=5)
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable, match="could not reach") as info:
        make(fake_openai, timeout=0.3, max_attempts=2).embed_query("x")
    assert time.monotonic() - start < 3
    assert "0.3 s" in str(info.value)
    assert len(fake_openai.requests) == 2


def test_connection_refused_is_unavailable() -> None:
    """Nothing listens on this machine's port and nothing ever answered there: said at once,
    without the retries' wait (a stopped Ollama took 5 attempts, about 5 s)."""
    sleep = SleepRecorder()
    embedder = OpenAIEmbedder(MODEL, base_url=closed_port_url(), api_key="sk-x-000000",
                              timeout=1.0, max_attempts=2, sleep=sleep)
    with pytest.raises(EmbedderUnavailable, match="could not reach") as info:
        embedder.embed_query("x")
    assert "server is running" in str(info.value)
    assert sleep.waits == []


def test_a_server_that_answered_before_is_retried_when_it_stops_answering() -> None:
    """It may be restarting: a batch mid-index waits through a short outage."""
    sleep = SleepRecorder()
    with FakeOpenAI() as server:
        embedder = make(server, max_attempts=3, sleep=sleep)
        embedder.embed_documents(["kites"])
        server.hang_up = True
        with pytest.raises(EmbedderUnavailable, match="3 attempts failed to connect"):
            embedder.embed_documents(["kites again"])
    assert len(sleep.waits) == 2


_GOOD = {"object": "embedding", "index": 0, "embedding": [0.5, 0.5, 0.5, 0.5]}


@pytest.mark.parametrize("body", [
    {"object": "list", "data": {"0": _GOOD}},
    {"object": "list", "data": None},
    {"object": "list"},
    {"object": "list", "data": "vectors"},
    {"object": "list", "data": [{"object": "embedding", "embedding": [0.1, 0.2]}]},
    {"object": "list", "data": [{**_GOOD, "index": "0"}]},
    {"object": "list", "data": [{**_GOOD, "embedding": None}]},
    {"object": "list", "data": [{**_GOOD, "embedding": "not base64 at all!"}]},
    {"object": "list", "data": [{**_GOOD, "embedding": "AAAAAAA="}]},  # 5 bytes
    {"object": "list", "data": [{**_GOOD, "embedding": ["0.1", "0.2"]}]},
    {"object": "list", "data": [{**_GOOD, "embedding": [[0.1, 0.2]]}]},
    {"object": "list", "data": [{**_GOOD, "embedding": []}]},
    {"object": "list", "data": [{**_GOOD, "embedding": [0.1, float("nan")]}]},
    {"object": "list", "data": [_GOOD, {**_GOOD, "index": 1}]},  # two vectors for one text
    {"object": "list", "data": ["just a string"]},
    [1, 2, 3],
    "a plain string",
])
def test_every_malformed_answer_is_a_clear_embedder_error(fake_openai: FakeOpenAI,
                                                          body: object) -> None:
    """A 200 answer of the wrong shape is an EmbedderError naming the server, never a
    TypeError; the next, well-formed answer is read as usual."""
    embedder = make(fake_openai)
    fake_openai.answer_next(body)
    with pytest.raises(EmbedderError) as info:
        embedder.embed_query("x")
    assert fake_openai.host in str(info.value) or "could not read" in str(info.value)
    assert embedder.embed_query("x").shape == (64,)
