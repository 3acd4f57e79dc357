"""How soon the notes a person searches become searchable by meaning, by embedding order.

For each known-item vault: read it into a fresh library (keyword index only), take the
chunks still to embed in the order the indexer embeds them (store.pending_chunks, then
indexer.embedding_batches) and in the order it used before (by position in the scan,
windows of 1,024 sorted by length), and time each order's batches with a cost model of the
real local model fitted in the same run (seconds per batch from its chunks' token counts,
least squares over batches embedded for real). Reports the share of the vault's known-item
targets fully embedded after 1, 5 and 15 minutes, and the time until 50% and 100% of its
notes are. Usage:

    python benchmarks/embed_order.py [--vaults foam-docs dendron-site tldr-pages]
                                     [--work DIR] [--timed-batches 10]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from benchmarks.known_item import DEFAULT_VAULTS, FOLDERS, load_queries, unpack  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.embedders.local_e5 import E5Embedder  # noqa: E402
from notesearch.core.indexer import SORT_WINDOW, embedding_batches  # noqa: E402
from notesearch.core.library import Library  # noqa: E402

MINUTES = (1, 5, 15)
Batch = list[tuple[str, str]]


def old_order(library: Library, space_id: int) -> list[tuple[str, str]]:
    """The chunks to embed in the order used before this change: by position in the scan."""
    return list(library.conn.execute(
        """SELECT c.hash, MIN(c.text) FROM chunks c WHERE c.hash != '' AND NOT EXISTS
           (SELECT 1 FROM embeddings e WHERE e.space_id = ? AND e.hash = c.hash)
           GROUP BY c.hash ORDER BY MIN(c.id)""", (space_id,)))


def features(batch: Batch, embedder: E5Embedder) -> list[float]:
    lengths = [embedder.count_tokens(text) for _, text in batch]
    # Attention makes a chunk's cost grow faster than its length (MODELS.md).
    return [1.0, float(sum(lengths)), sum(n * n for n in lengths) / 1000]


def fit_cost(batches: list[Batch], embedder: E5Embedder, timed: int) -> np.ndarray:
    """Seconds per batch = x . beta, fitted on `timed` batches embedded for real."""
    rng = random.Random(0)
    chosen = rng.sample(batches, min(timed, len(batches)))
    rows, seconds = [], []
    for batch in chosen:
        start = time.perf_counter()
        embedder.embed_documents([text for _, text in batch])
        seconds.append(time.perf_counter() - start)
        rows.append(features(batch, embedder))
    beta, *_ = np.linalg.lstsq(np.array(rows), np.array(seconds), rcond=None)
    return beta


def finish_times(batches: list[Batch], cost: dict[int, float]) -> dict[str, float]:
    """Seconds from the start until each chunk hash has its vector."""
    done, clock = {}, 0.0
    for index, batch in enumerate(batches):
        clock += cost[index]
        for digest, _ in batch:
            done.setdefault(digest, clock)
    return done


def note_times(library: Library, done: dict[str, float]) -> dict[str, float]:
    """Seconds until each note (by path) has all its chunks embedded."""
    times: dict[str, float] = {}
    for path, digest in library.conn.execute(
            "SELECT n.path, c.hash FROM chunks c JOIN notes n ON n.id = c.note_id "
            "WHERE c.hash != ''"):
        times[path] = max(times.get(path, 0.0), done.get(digest, float("inf")))
    return times


def report(label: str, notes: dict[str, float], targets: set[str]) -> None:
    found = [notes[t] for t in targets if t in notes]
    shares = [sum(1 for t in found if t <= m * 60) / max(1, len(found)) for m in MINUTES]
    ordered = sorted(notes.values())
    half, full = ordered[len(ordered) // 2] / 60, ordered[-1] / 60
    cells = "  ".join(f"{m:>2} min {s:5.0%}" for m, s in zip(MINUTES, shares, strict=True))
    print(f"  {label:8} targets searchable by meaning: {cells}  | notes 50% at {half:5.1f} min, "
          f"100% at {full:5.1f} min")


def run(vault: str, work: Path, embedder: E5Embedder, timed: int) -> None:
    root = unpack(vault, work)
    home = work / "order" / vault
    shutil.rmtree(home, ignore_errors=True)
    library = Library(home=home, settings=Settings(), embedder=embedder)
    for folder in FOLDERS.get(vault, ["."]):
        library.add_folder((root / folder).resolve())
    library.scan()
    space = library.store.space_for(embedder.model_id, embedder.dim)
    orders = {"before": embedding_batches(old_order(library, space.id), SORT_WINDOW,
                                          SORT_WINDOW),
              "now": embedding_batches(library.store.pending_chunks(space.id, True, 10**7))}
    beta = fit_cost(orders["now"], embedder, timed)
    targets = {str((root / t).resolve()) for q in load_queries(vault) for t in q["targets"]}
    print(f"\n{vault}: {library.store.counts()['notes']:,} notes, "
          f"{sum(len(b) for b in orders['now']):,} chunks to embed; cost model (s/batch) = "
          f"{beta[0]:.2f} + {beta[1]:.4f}/token + {beta[2]:.4f}/(1000 token^2)")
    for label, batches in orders.items():
        cost = {i: max(0.0, float(np.dot(features(b, embedder), beta)))
                for i, b in enumerate(batches)}
        report(label, note_times(library, finish_times(batches, cost)), targets)
    library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*", default=DEFAULT_VAULTS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-known-item"))
    parser.add_argument("--timed-batches", type=int, default=10,
                        help="batches embedded for real to fit the cost model")
    args = parser.parse_args()
    if not (eval_root() / "known-item").is_dir():
        print("no known-item set; nothing to measure")
        return
    embedder = E5Embedder()
    for vault in args.vaults:
        run(vault, args.work, embedder, args.timed_batches)


if __name__ == "__main__":
    main()
