"""Search-as-you-type latency at 10k/100k/300k chunks, beside the bare model's query embedding.

Builds a library per size: the bundled sample notes indexed for real, topped up with synthetic
notes (text drawn from real sentences, random unit vectors) to the target chunk count. Then runs
distinct 1-8 word queries (no cache hits) through Library.search(as_you_type=True) and reports
p50/p95 of the whole call, of everything except the query embedding, of keyword-only search,
of the vector stage, and numpy brute force on the same matrix. Then types --typed of the
queries one character at a time, as a person does in the search box, and reports the same
figures per keystroke (what is read for one keystroke is kept for the next). Usage:

    python benchmarks/search_latency.py [--sizes 10000 100000 300000] [--queries 200] [--typed 40]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from notesearch.core.config import Settings, sample_notes_folder  # noqa: E402
from notesearch.core.embedders.local_e5 import E5Embedder  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.store import NoteFields, NoteRecord, StoredChunk  # noqa: E402

EVAL = eval_root() / "ir"


def sentences() -> list[str]:
    """Real sentences to fill synthetic notes and to draw queries from."""
    source = EVAL / "npl-vaswani" / "corpus.jsonl"
    texts = []
    if source.exists():
        texts = [json.loads(line)["text"] for line in source.open(encoding="utf-8")]
    else:
        texts = [p.read_text(encoding="utf-8") for p in sample_notes_folder().rglob("*.md")]
    return [t.strip() for t in texts if len(t.strip()) > 40]


def build(home: Path, size: int, embedder: E5Embedder, texts: list[str]) -> Library:
    library = Library(home=home, settings=Settings(), embedder=embedder)
    if library.store.counts()["chunks"] >= size:
        return library
    library.add_folder(sample_notes_folder())
    library.index()
    store = library.store
    space = store.active_space()
    folder_id = store.folders()[0][0]
    have = store.counts()["chunks"]
    rng = np.random.default_rng(0)
    batch = 2000
    for start in range(have, size, batch):
        count = min(batch, size - start)
        vectors = rng.standard_normal((count, embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        hashes = []
        with library.conn:
            for i in range(count):
                n = start + i
                text = texts[n % len(texts)]
                digest = f"synthetic-{n}"
                hashes.append(digest)
                record = NoteRecord(folder_id, f"/synthetic/{n}.md", f"Synthetic {n}", 1, 1,
                                    digest, [], [], [], False, NoteFields(body=text))
                store.write_note(record, [StoredChunk(0, "", 1, 1, 0, text, digest)])
            store.add_embeddings(space.id, hashes, vectors)
    return library


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"


def make_queries(texts: list[str], count: int) -> list[str]:
    rng = random.Random(1)
    queries: set[str] = set()
    while len(queries) < count:
        words = re.findall(r"[a-z]+", rng.choice(texts).lower())
        if len(words) < 8:
            continue
        length = rng.randint(1, 8)
        start = rng.randrange(0, len(words) - length)
        queries.add(" ".join(words[start:start + length]))
    return sorted(queries)


class TimedEmbedder:
    """Wraps the real embedder and records how long each query embedding took inside a search.

    Subtracting a separately timed model call from the search's total would add the model's
    own jitter to the figure; timing the call the search itself makes does not.
    """

    def __init__(self, inner: E5Embedder) -> None:
        self.inner = inner
        self.last_ms = 0.0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed_query(self, text: str) -> np.ndarray:
        start = time.perf_counter()
        vector = self.inner.embed_query(text)
        self.last_ms = (time.perf_counter() - start) * 1000
        return vector


STAGES = ("total", "model", "non_model", "words_only", "vector", "numpy",
          "words", "fuse", "results")


def measure(library: Library, embedder: E5Embedder, queries: list[str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in STAGES}
    searcher = library.searcher()
    timed = TimedEmbedder(embedder)
    searcher.embedder = timed
    matrix = library.vectors.matrix
    for query in queries:
        searcher.query_cache._items.clear()  # distinct queries: never a cache hit
        start = time.perf_counter()
        response = searcher.search(query, k=10, as_you_type=True)
        total = (time.perf_counter() - start) * 1000
        times["total"].append(total)
        times["model"].append(timed.last_ms)
        times["non_model"].append(total - timed.last_ms)
        times["vector"].append(response.timings_ms["meaning"] - timed.last_ms)
        for stage in ("words", "fuse", "results"):
            times[stage].append(response.timings_ms[stage])
        start = time.perf_counter()
        searcher.search(query, k=10, mode="words", as_you_type=True)
        times["words_only"].append((time.perf_counter() - start) * 1000)
        vector = searcher.query_cache.get(embedder, query)
        start = time.perf_counter()
        scores = matrix @ vector
        np.argpartition(-scores, 100)[:100]
        times["numpy"].append((time.perf_counter() - start) * 1000)
    return times


def measure_typing(library: Library, embedder: E5Embedder,
                   queries: list[str]) -> dict[str, list[float]]:
    """Search every prefix of each query, as typed, and time each keystroke's search."""
    times: dict[str, list[float]] = {k: [] for k in ("total", "non_model", "words")}
    searcher = library.searcher()
    timed = TimedEmbedder(embedder)
    searcher.embedder = timed
    for query in queries:
        for end in range(1, len(query) + 1):
            timed.last_ms = 0.0
            start = time.perf_counter()
            response = searcher.search(query[:end], k=10, as_you_type=True)
            total = (time.perf_counter() - start) * 1000
            times["total"].append(total)
            times["non_model"].append(total - timed.last_ms)
            times["words"].append(response.timings_ms.get("words", 0.0))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 300_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--typed", type=int, default=40)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-latency"))
    args = parser.parse_args()
    embedder = E5Embedder()
    texts = sentences()
    queries = make_queries(texts, args.queries)
    embedder.embed_query("warm up")
    for size in args.sizes:
        library = build(args.work / str(size), size, embedder, texts)
        library.search("warm up", k=10)
        times = measure(library, embedder, queries)
        print(f"\n{library.store.counts()['chunks']:,} chunks, {len(queries)} distinct queries")
        for name, label in (("total", "end to end"), ("model", "bare model query embedding"),
                            ("non_model", "everything but the model"),
                            ("words_only", "keyword-only search"),
                            ("vector", "vector stage (numpy matmul + top-k + rows)"),
                            ("numpy", "numpy brute force alone"),
                            ("words", "  of which: keyword list"),
                            ("fuse", "  of which: fusion"),
                            ("results", "  of which: rows and snippets")):
            print(f"  {label:44} {percentiles(times[name])}")
        typing = measure_typing(library, embedder, queries[:: max(1, len(queries) // args.typed)]
                                [:args.typed])
        print(f"  typed one character at a time ({len(typing['total'])} keystrokes):")
        for name, label in (("total", "end to end"), ("non_model", "everything but the model"),
                            ("words", "  of which: keyword list")):
            print(f"  {label:44} {percentiles(typing[name])}")
        library.close()


if __name__ == "__main__":
    main()
