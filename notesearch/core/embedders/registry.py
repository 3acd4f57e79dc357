"""Builds the embedder a library's settings ask for."""

from __future__ import annotations

from notesearch.core.embedders import Embedder
from notesearch.core.errors import NotesearchError

LOCAL_MODELS = {"e5-small": "multilingual-e5-small (default; ~100 languages, offline)"}
PROVIDERS = ("local", "openai")


def create_embedder(
    provider: str = "local",
    local_model: str = "e5-small",
    openai_model: str = "text-embedding-3-small",
    openai_base_url: str | None = None,
) -> Embedder:
    """Return a ready embedder; raises EmbedderUnavailable/KeyMissing with a user-facing reason."""
    if provider == "local":
        if local_model != "e5-small":
            raise NotesearchError(f"Unknown local model {local_model!r}; choose one of "
                                  + ", ".join(LOCAL_MODELS))
        from notesearch.core.embedders.local_e5 import E5Embedder

        return E5Embedder()
    if provider == "openai":
        from notesearch.core.embedders.openai_api import OpenAIEmbedder

        return OpenAIEmbedder(model=openai_model, base_url=openai_base_url or None)
    raise NotesearchError(f"Unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
