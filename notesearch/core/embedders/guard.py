"""Query embedding from a remote provider that never holds a search up for long."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from notesearch.core.embedders import Embedder
from notesearch.core.errors import EmbedderError, KeyMissing, KeyRejected

log = logging.getLogger(__name__)

#: Longest a search waits for a remote provider's query vector, in seconds. A search answers
#: by words at once after that; the indexer has its own, longer patience.
QUERY_TIMEOUT = 1.0
FIRST_RETRY = 1.0  # seconds before the first background retry
MAX_RETRY = 60.0  # the backoff doubles up to this
#: A rejected or missing key is tried again by a search after this many seconds (the key may
#: have been stored meanwhile, say by `notesearch key set`); such an answer comes at once.
KEY_RECHECK = 30.0


class GuardedQueries:
    """Wraps an embedder for searching: each query gets one attempt of at most QUERY_TIMEOUT
    seconds, and after a failure every search fails at once (with the same message) while a
    background thread retries with exponential backoff (FIRST_RETRY doubling to MAX_RETRY)
    until the provider answers again.

    `quick` is the provider configured for one short attempt (e.g.
    `OpenAIEmbedder.for_queries()`); `clock` and `sleep` are for tests.
    """

    is_remote = True

    def __init__(self, quick: Embedder, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.quick = quick
        self.model_id: str = quick.model_id
        self.max_tokens: int = quick.max_tokens
        self._sleep = sleep
        self._lock = threading.Lock()
        self._failure: EmbedderError | None = None
        self._prober: threading.Thread | None = None
        self._closed = threading.Event()
        self._failed_at = 0.0
        self.retries = 0  # background attempts made (for status and tests)

    @property
    def dim(self) -> int:
        return self.quick.dim

    @property
    def failure(self) -> EmbedderError | None:
        """The fault meaning search is waiting out, or None when the provider answers."""
        return self._failure

    def count_tokens(self, text: str) -> int:
        return self.quick.count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.quick.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """Return the query's vector, or raise EmbedderError within about QUERY_TIMEOUT."""
        with self._lock:
            failure = self._failure
            if (isinstance(failure, KeyRejected | KeyMissing)
                    and time.monotonic() - self._failed_at > KEY_RECHECK):
                failure = self._failure = None
        if failure is not None:
            raise failure
        try:
            return self.quick.embed_query(text)
        except EmbedderError as error:
            raise self._failed(error, text) from None


    def close(self) -> None:
        """Stop retrying (the library built another embedder: a new key, another server)."""
        self._closed.set()

    def _failed(self, error: EmbedderError, text: str) -> EmbedderError:
        """Remember the fault, start the background retry, return the error to raise.

        A rejected or missing key is remembered but not retried: only a new key helps, and
        storing one builds a new guard (Library.credentials_changed)."""
        with self._lock:
            if isinstance(error, KeyRejected | KeyMissing):
                self._failure, self._failed_at = error, time.monotonic()
                return error
            failure = self._failure = _retrying(error)
            if self._prober is None or not self._prober.is_alive():
                self._prober = threading.Thread(target=self._retry, args=(text,),
                                                name="query-embedder-retry", daemon=True)
                self._prober.start()
        return failure

    def _retry(self, text: str) -> None:
        delay = FIRST_RETRY
        while not self._closed.is_set():
            self._sleep(delay)
            if self._closed.is_set():
                return
            self.retries += 1
            try:
                self.quick.embed_query(text)
            except EmbedderError as error:
                with self._lock:
                    self._failure = _retrying(error)
                delay = min(MAX_RETRY, delay * 2)
                continue
            with self._lock:
                self._failure = None
            log.info("the embedding provider answers again after %d retries", self.retries)
            return


def _retrying(error: EmbedderError) -> EmbedderError:
    """The same kind of error, saying that meaning search comes back by itself."""
    message = str(error).rstrip()
    if "retrying in the background" not in message:
        message += " Matching by words until it answers; retrying in the background."
    return type(error)(message)
