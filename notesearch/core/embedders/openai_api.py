"""Embeddings from OpenAI or an OpenAI-compatible server, with our own batching and backoff."""

from __future__ import annotations

import base64
import binascii
import copy
import email.utils
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from notesearch.core import secrets
from notesearch.core.embedders.registry import Option, Provider
from notesearch.core.errors import (
    EmbedderError,
    KeyMissing,
    KeyRejected,
    KeyringUnavailable,
    RateLimited,
    Unreachable,
)

if TYPE_CHECKING:
    import openai

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_HOST = "api.openai.com"
#: Native output sizes of OpenAI's embedding models.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
OPENAI_MAX_TOKENS = 8191
#: Compatible servers often run BERT-sized models; 512 is safe for nearly all of them.
COMPATIBLE_MAX_TOKENS = 512
MAX_BATCH_INPUTS = 2048
MAX_BATCH_TOKENS = 300_000
MAX_RETRY_WAIT = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
#: Sent to custom servers that need no key: the SDK refuses to build a client without one.
NO_KEY_PLACEHOLDER = "notesearch-no-key"

_RETRYABLE = frozenset({"rate", "server", "timeout", "connect"})
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-*.]{6,}")


@dataclass(frozen=True)
class _Failure:
    """Why one request failed; holds no SDK exception so nothing key-bearing is chained."""

    kind: str  # auth, quota, rate, server, timeout, connect, client, response
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def is_official(base_url: str | None) -> bool:
    """True when `base_url` is OpenAI's own API (None means the default)."""
    return base_url is None or (urlsplit(base_url).hostname or "").lower() == OPENAI_HOST


#: Host names of this machine: a refused connection there means nothing listens (and the
#: MCP server's HTTP transport answers to these names only).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def server_host(base_url: str) -> str:
    """host[:port] of `base_url`, without any user:password part."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def key_provider(base_url: str | None) -> str:
    """The secrets provider name whose key is sent to `base_url`.

    OpenAI's key is only ever sent to OpenAI: a custom server gets its own keyring entry
    ("openai@host:port"), so pointing notesearch at a third-party server cannot leak it.
    """
    return "openai" if is_official(base_url) else f"openai@{server_host(base_url or '')}"


def estimate_tokens(text: str) -> int:
    """A conservative token count without tiktoken (kept out to stay small and offline).

    English BPE averages ~4 bytes a token, so bytes/3 over-counts it. Non-ASCII bytes count
    double: a CJK character (3 bytes) may cost 2 tokens, and over-counting only makes chunks
    a little smaller, while under-counting would make the API reject them.
    """
    raw = text.encode("utf-8")
    non_ascii = len(raw) - len(text.encode("ascii", "ignore"))
    return max(1, math.ceil((len(raw) + non_ascii) / 3))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, then Retry-After), or None."""
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        if value.strip().replace(".", "", 1).isdigit():
            return max(0.0, float(value))
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or "")[:300]


def _to_vector(raw: Any) -> np.ndarray:
    """One embedding from the wire: base64 of little-endian float32, or a list of floats."""
    if isinstance(raw, str):
        data = base64.b64decode(raw, validate=True)
        if len(data) % 4:
            raise ValueError("a base64 'embedding' is not whole float32 numbers")
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw):
        raise TypeError("an 'embedding' list holds something other than numbers")
    return np.asarray(raw, dtype=np.float32)


def _vectors_of(response: Any, expected: int) -> list[np.ndarray]:
    """Return the `expected` vectors of an embeddings answer, by their `index`; raise
    TypeError or ValueError (with what is wrong) for any other shape."""
    data = getattr(response, "data", None)
    if not isinstance(data, list):
        raise TypeError(f"'data' is {type(data).__name__}, not a list")
    by_index: dict[int, np.ndarray] = {}
    for item in data:
        index = getattr(item, "index", None) if not isinstance(item, dict) else item.get("index")
        raw = (getattr(item, "embedding", None) if not isinstance(item, dict)
               else item.get("embedding"))
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("an item has no whole-number 'index'")
        if not isinstance(raw, str | list):
            raise TypeError(f"an 'embedding' is {type(raw).__name__}")
        vector = _to_vector(raw)
        if vector.ndim != 1 or not len(vector) or not np.isfinite(vector).all():
            raise ValueError("an 'embedding' is not a list of finite numbers")
        by_index[index] = vector
    if sorted(by_index) != list(range(expected)) or len(data) != expected:
        raise ValueError(f"{len(data)} vectors came back for {expected} texts")
    return [by_index[i] for i in range(expected)]


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)  # no overflow
    # A zero vector has no direction; leave it zero rather than produce NaNs.
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class OpenAIEmbedder:
    """The Embedder protocol over the OpenAI embeddings API (or a compatible server).

    `is_remote` is True even for a server on localhost: notesearch cannot know where a
    "local" server sends texts, so private notes are withheld from every HTTP embedder.
    """

    is_remote: bool = True

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None,
                 api_key: str | None = None, dimensions: int | None = None,
                 timeout: float = 30.0, max_attempts: int = 5, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        # Explicit, so the SDK's OPENAI_BASE_URL variable can't silently switch servers.
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self.official = is_official(base_url)
        self.host = server_host(self.base_url)
        self.on_this_machine = (urlsplit(self.base_url).hostname or "").lower() in LOOPBACK_HOSTS
        #: Whether this server has answered in this process (see _request).
        self.answered = False
        self.dimensions = dimensions
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._sleep = sleep
        self.model_id = self._make_model_id()
        self.max_tokens = (OPENAI_MAX_TOKENS if self.official or model in KNOWN_DIMS
                           else COMPATIBLE_MAX_TOKENS)
        self._dim: int | None = dimensions or KNOWN_DIMS.get(model)
        self._key = self._resolve_key(api_key)
        # The SDK is imported and its client made at the first request: importing it takes
        # 1.8 s here (its types are built at import), which `status`, Settings and the
        # provider list would otherwise pay without sending anything.
        self._http: openai.OpenAI | None = None
        self._parent: OpenAIEmbedder | None = None

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model_id={self.model_id!r})"  # never the key

    def for_queries(self, timeout: float) -> OpenAIEmbedder:
        """Return a copy of this embedder that makes one attempt of at most `timeout`
        seconds (for searches, which must not wait on a failing server)."""
        quick = copy.copy(self)
        quick.timeout, quick.max_attempts = timeout, 1
        quick._http, quick._parent = None, self  # shares the parent's connection pool
        return quick

    @property
    def _client(self) -> openai.OpenAI:
        """The SDK client, made on first use (see __init__)."""
        if self._http is None:
            if self._parent is not None:
                self._http = self._parent._client.with_options(timeout=self.timeout,
                                                               max_retries=0)
            else:
                import openai

                self._http = openai.OpenAI(api_key=self._key, base_url=self.base_url,
                                           timeout=self.timeout, max_retries=0)
        return self._http

    def _make_model_id(self) -> str:
        # Different servers (or output sizes) give different vector spaces; never mix them.
        prefix = "openai" if self.official else f"openai@{self.host}"
        model_id = f"{prefix}:{self.model}"
        if self.dimensions and self.dimensions != KNOWN_DIMS.get(self.model):
            model_id += f"@{self.dimensions}d"
        return model_id

    def _resolve_key(self, api_key: str | None) -> str:
        if api_key:
            return api_key
        if self.official:
            key = secrets.get_api_key(key_provider(None))
            if not key:
                raise KeyMissing("No OpenAI API key is stored. Add one with `notesearch key set` "
                                 "or in Settings, or set the OPENAI_API_KEY environment variable.")
            return key
        try:
            key = secrets.get_api_key(key_provider(self.base_url))
        except KeyringUnavailable:
            key = None  # local servers rarely need a key; a missing keyring must not block them
        return key or NO_KEY_PLACEHOLDER

    @property
    def dim(self) -> int:
        """Vector size; for unknown models learnt from one probe request on first use."""
        if self._dim is None:
            self.embed_query("dimension probe")
        assert self._dim is not None
        return self._dim

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def embed_query(self, text: str) -> np.ndarray:
        # OpenAI models embed queries and passages alike.
        return self.embed_documents([text])[0]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._embed_batch(batch) for batch in self._batches(texts)])

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self._http is not None and self._parent is None:
            self._http.close()

    def _batches(self, texts: list[str]) -> Iterator[list[str]]:
        """Consecutive slices within the API's per-request input and token limits."""
        batch: list[str] = []
        budget = 0
        for text in texts:
            cost = estimate_tokens(text)
            if batch and (len(batch) == MAX_BATCH_INPUTS or budget + cost > MAX_BATCH_TOKENS):
                yield batch
                batch, budget = [], 0
            batch.append(text)
            budget += cost
        if batch:
            yield batch

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        # The API rejects empty strings; a space embeds as "nothing" without failing the batch.
        response = self._request([text or " " for text in batch])
        return self._decode(response, len(batch))

    def _decode(self, response: Any, expected: int) -> np.ndarray:
        """Return the answer's vectors in input order, normalised; raise EmbedderError for
        any answer that is not `expected` finite vectors of one size (the SDK does not check
        the shape of a 200 answer)."""
        try:
            vectors = _vectors_of(response, expected)
        except (TypeError, ValueError, AttributeError, binascii.Error) as error:
            raise EmbedderError(f"The embedding server at {self.host} sent an answer "
                                f"notesearch could not read ({error}).") from None
        sizes = {len(vector) for vector in vectors}
        if len(sizes) != 1 or (self._dim is not None and sizes != {self._dim}):
            raise EmbedderError(f"The embedding server at {self.host} returned vectors of size "
                                f"{sorted(sizes)}, expected {self._dim}.")
        self._dim = sizes.pop()
        return _normalise(np.vstack(vectors))

    def _request(self, inputs: list[str]) -> Any:
        """One embeddings call with retries; raises our errors outside any except block."""
        failure = _Failure("connect")
        attempt = 0
        for attempt in range(1, self.max_attempts + 1):
            response, failure = self._attempt(inputs)
            if response is not None:
                self.answered = True
                return response
            if failure.kind not in _RETRYABLE or attempt == self.max_attempts:
                break
            if failure.kind == "connect" and self.on_this_machine and not self._ever_answered:
                # Nothing listens on this machine's port and never did here: the server is
                # not running, and retrying only delayed saying so (5 attempts: about 5 s
                # before "Is Ollama running?"). One that answered before may be restarting.
                break
            self._sleep(self._backoff(failure, attempt))
        raise self._error(failure, attempt)

    @property
    def _ever_answered(self) -> bool:
        """Whether this server answered this embedder or the one it was copied from."""
        return self.answered or (self._parent is not None and self._parent.answered)

    def _attempt(self, inputs: list[str]) -> tuple[Any, _Failure]:
        import openai  # already loaded by self._client; the exception classes come from it

        options: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        try:
            response = self._client.embeddings.create(
                model=self.model, input=inputs, encoding_format="base64", **options)
            return response, _Failure("ok")
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            return None, _Failure("auth", exc.status_code)
        except openai.RateLimitError as exc:
            kind = "quota" if exc.code == "insufficient_quota" else "rate"
            return None, _Failure(kind, 429, _retry_after(exc.response.headers))
        except openai.APITimeoutError:
            return None, _Failure("timeout")
        except openai.APIConnectionError:
            return None, _Failure("connect")
        except openai.APIStatusError as exc:
            retry = exc.status_code >= 500 or exc.status_code in (408, 409)
            return None, _Failure("server" if retry else "client", exc.status_code,
                                  detail=self._scrub(_error_message(exc)))
        except (openai.OpenAIError, ValueError, TypeError):
            return None, _Failure("response")

    def _backoff(self, failure: _Failure, attempt: int) -> float:
        if failure.retry_after is not None:
            return min(failure.retry_after, MAX_RETRY_WAIT)
        # Exponential with jitter, so many clients hit by one outage don't retry in lockstep.
        return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _scrub(self, text: str) -> str:
        """`text` with our key, and anything shaped like an OpenAI key, blanked out."""
        if self._key and self._key != NO_KEY_PLACEHOLDER:
            text = text.replace(self._key, "***")
        return _KEY_PATTERN.sub("***", text)

    def _error(self, failure: _Failure, attempts: int) -> EmbedderError:
        where = "OpenAI" if self.official else f"the embedding server at {self.host}"
        subject = where[:1].upper() + where[1:]
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        kind = failure.kind
        if kind == "auth":
            return self._auth_error(failure.status)
        if kind == "quota":
            return RateLimited("OpenAI refused the request because the account has no quota "
                               "left (HTTP 429 insufficient_quota). Check the plan and billing "
                               "at https://platform.openai.com/account/billing.")
        if kind == "rate":
            return RateLimited(f"{subject} kept answering 429 Too Many Requests after {tries}. "
                               "Try again in a few minutes.")
        if kind == "server":
            return Unreachable(f"Notesearch could not reach a working embedding service: "
                                       f"{where} answered HTTP {failure.status} after {tries}. "
                                       "Try again later.")
        if kind == "timeout":
            return Unreachable(f"Notesearch could not reach {where}: no answer within "
                                       f"{self.timeout:g} s after {tries}. Check your network "
                                       "connection.")
        if kind == "connect":
            hint = "" if self.official else " and that the server is running"
            return Unreachable(f"Notesearch could not reach {where} ({tries} failed to "
                                       f"connect). Check your network connection{hint}.")
        if kind == "client":
            detail = f": {failure.detail}" if failure.detail else "."
            return EmbedderError(f"{subject} refused the embedding request "
                                 f"(HTTP {failure.status}){detail}")
        return EmbedderError(f"{subject} sent an answer notesearch could not read.")

    def _auth_error(self, status: int | None) -> KeyRejected:
        if self.official:
            return KeyRejected(f"The OpenAI API key was rejected (HTTP {status}). Store a valid "
                               "key with `notesearch key set` or in Settings, or check "
                               "OPENAI_API_KEY.")
        return KeyRejected(f"The embedding server at {self.host} rejected the API key "
                           f"(HTTP {status}). Store the right key for that server.")


def _build(options: Mapping[str, str]) -> OpenAIEmbedder:
    return OpenAIEmbedder(model=options["model"], base_url=options["base_url"] or None,
                          api_key=options.get("api_key") or None)


PROVIDER = Provider(
    name="openai",
    label="OpenAI or a compatible server (opt-in)",
    description="note text is sent to the server to be embedded; private notes never are",
    remote=True,
    options=(Option("model", "Model", "text-embedding-3-small", tuple(KNOWN_DIMS)[:2]),
             Option("base_url", "Base URL", "", placeholder=f"{OPENAI_BASE_URL} (default)")),
    build=_build,
    key_entry=lambda options: key_provider(options["base_url"] or None),
)
