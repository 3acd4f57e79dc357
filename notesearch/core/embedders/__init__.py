"""The embedder interface every provider implements, and the registry that builds one by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


def may_see_private_notes(embedder: Embedder) -> bool:
    """The privacy rule, in one place: notes marked private (or whose front matter cannot be
    read) are embedded only by a provider that keeps texts on this machine."""
    return not embedder.is_remote


def is_whole_word(embedder: Embedder | None, word: str) -> bool:
    """True when the local model's vocabulary holds `word` as a single token, as it holds
    common words of every language it learnt ("morning", "trial") and seldom a typo ("botom",
    "grpah" are two tokens of multilingual-e5-small's 250k). False for a remote model (its
    token count here is an estimate) or no model.

    Spelling uses it: a real word that no note holds is not a typo of one that some note
    does ("morning" is not "moreing", which searched "more")."""
    if embedder is None or embedder.is_remote or not word:
        return False
    return embedder.count_tokens(word) <= embedder.count_tokens("a")


def prepare_for_queries(embedder: Embedder | None, wait: bool = False) -> None:
    """Let a provider load, in the background, what answers many queries faster (the local
    model's onnxruntime query session, local_ort.OrtE5Embedder.prepare_queries); nothing for
    the others. For processes that answer many searches: a one-shot search skips it.
    `wait`: return once it is loaded (benchmarks measure what the app runs)."""
    prepare = getattr(embedder, "prepare_queries", None)
    if prepare is not None:
        prepare(wait=wait)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of one fixed vector space."""

    #: Identifies the vector space, e.g. "local:multilingual-e5-small-q4"; stored in the database.
    model_id: str
    #: Longest input, in the model's tokens, that is embedded without truncation or windowing.
    max_tokens: int
    #: True when texts leave the machine (notes marked private are never sent).
    is_remote: bool

    @property
    def dim(self) -> int:
        """Vector dimension (read-only: a remote model's may be learnt on first use)."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts), dim) float32 array of unit vectors for passages."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (dim,) float32 unit vector for a search query."""
        ...

    def count_tokens(self, text: str) -> int:
        """Return how many model tokens `text` costs as a passage (for chunking to budget)."""
        ...
