"""Indexing throughput on real vaults against the bare model, the unchanged re-run, peak memory.

For each vault in ../shared/eval/vaults: unpack it, index it with the real Library (notes/s for
reading, chunks/s for embedding), then embed a sample of the same chunks with the bare model in
the same batches and report the pipeline's overhead; then run the index again on the unchanged
vault (time, embeddings made). Usage:

    python benchmarks/indexing.py [--vaults blacklightpy-vaultofknowledge tldr-pages]
                                  [--no-embed]   # reading and keyword index only
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.indexer import EMBED_BATCH  # noqa: E402
from notesearch.core.library import Library  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"


def unpack(name: str, work: Path) -> Path:
    target = work / "vaults" / name
    if not target.exists():
        subprocess.run(["bash", str(SHARED / "unpack.sh"), name, str(work / "vaults")],
                       check=True, capture_output=True)
    return target


def bare_model_rate(library: Library, sample: int) -> tuple[float, int]:
    """Return chunks/s of embed_documents alone on a sample of the library's chunks."""
    texts = [r[0] for r in library.conn.execute(
        "SELECT text FROM chunks GROUP BY hash ORDER BY MIN(id) LIMIT ?", (sample,))]
    texts.sort(key=len)  # the same ordering the indexer uses within its windows
    embedder = library.embedder()
    start = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        embedder.embed_documents(texts[i:i + EMBED_BATCH])
    return len(texts) / (time.perf_counter() - start), len(texts)


def run(name: str, work: Path, embed: bool, sample: int) -> None:
    folder = unpack(name, work)
    home = work / "homes" / name
    if home.exists():
        subprocess.run(["rm", "-rf", str(home)], check=True)
    library = Library(home=home, settings=Settings())
    library.add_folder(folder)
    start = time.perf_counter()
    scan = library.scan()
    scan_seconds = time.perf_counter() - start
    notes = library.store.counts()
    print(f"\n{name}: {notes['notes']:,} notes, {notes['chunks']:,} chunks, "
          f"{len(scan.skipped)} skipped")
    print(f"  read + chunk + keyword index: {scan_seconds:6.1f} s "
          f"({notes['notes'] / scan_seconds:,.0f} notes/s)")
    if embed:
        start = time.perf_counter()
        embedded = library.embed()
        seconds = time.perf_counter() - start
        pipeline = embedded.chunks_embedded / seconds
        model = embedded.model_seconds
        print(f"  embedding: {embedded.chunks_embedded:,} chunks in {seconds:,.0f} s = "
              f"{pipeline:.1f} chunks/s; {model:,.0f} s of it inside the model "
              f"({embedded.chunks_embedded / model:.1f} chunks/s): pipeline overhead "
              f"{100 * (seconds - model) / model:+.1f}%")
        if sample:
            bare, count = bare_model_rate(library, sample)
            print(f"  bare model alone on {count} of the same chunks: {bare:.1f} chunks/s")
    start = time.perf_counter()
    again = library.index() if embed else library.scan()
    print(f"  unchanged re-run: {time.perf_counter() - start:.2f} s, "
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
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"no evaluation data at {SHARED}; nothing to measure")
        return
    for name in args.vaults:
        run(name, args.work, not args.no_embed, args.sample)


if __name__ == "__main__":
    main()
