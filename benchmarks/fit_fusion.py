"""Fit the fusion's logistic coefficients on known-item queries, and check them across vaults.

For every query of the development set (../shared/eval/known-item), the real search gathers
its candidate notes with their features (notesearch.core.fusion.Evidence); the note the query
means is the positive example, every other candidate a negative. A logistic regression (L2,
Newton's method) is fitted on all vaults but one and scored, as MRR@10 of the ranking it
gives, on the one left out; then on all vaults together, which gives the coefficients to put
in fusion.COEFFICIENTS. Libraries come from benchmarks/known_item.py's cache. Usage:

    python benchmarks/fit_fusion.py [--work DIR] [--vaults ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.known_item import (  # noqa: E402
    DEFAULT_VAULTS,
    EVAL,
    KIND_FOLDER,
    load_queries,
    open_indexed,
    unpack,
)
from notesearch.core.fusion import COEFFICIENTS  # noqa: E402
from notesearch.core.search import Filters  # noqa: E402

L2 = 1.0  # ridge on the coefficients (not the intercept): 150 positives fit 6 numbers


def collect(vault: str, work: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (kind, features, labels) per query; each row of features is one candidate."""
    root = unpack(vault, work)
    library, _ = open_indexed(vault, root, work)
    searcher = library.searcher()
    out = []
    for item in load_queries(vault):
        folders = KIND_FOLDER.get(vault, {})
        folder = folders.get(item["kind"], folders.get("*"))
        filters = Filters(folder=str((root / folder).resolve())) if folder else Filters()
        evidence = searcher.candidate_evidence(item["query"], 10, filters)
        paths = dict(library.conn.execute("SELECT id, path FROM notes"))
        labels = np.array([str(Path(paths[e.note_id]).relative_to(root.resolve()))
                           in item["targets"] for e in evidence], dtype=float)
        features = np.array([e.features() for e in evidence]) if evidence else np.zeros((0, 6))
        out.append((item["kind"], features, labels))
    library.close()
    return out


def fit(rows: list[tuple[str, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Return logistic coefficients maximising the penalised likelihood (Newton steps)."""
    x = np.vstack([f for _, f, _ in rows if len(f)])
    y = np.concatenate([lab for _, f, lab in rows if len(f)])
    beta = np.array(COEFFICIENTS, dtype=float)
    penalty = np.full(len(beta), L2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -50, 50)))
        gradient = x.T @ (y - p) - penalty * beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-6:
            break
    return beta


def mrr(rows: list[tuple[str, np.ndarray, np.ndarray]], beta: np.ndarray) -> dict[str, float]:
    """Return MRR@10 per kind (and "all") of ranking each query's candidates by x @ beta."""
    by_kind: dict[str, list[float]] = {}
    for kind, features, labels in rows:
        value = 0.0
        if len(features):
            order = np.argsort(-(features @ beta))[:10]
            hits = np.nonzero(labels[order])[0]
            value = 1.0 / (hits[0] + 1) if len(hits) else 0.0
        for key in (kind, "all"):
            by_kind.setdefault(key, []).append(value)
    return {k: float(np.mean(v)) for k, v in sorted(by_kind.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*", default=DEFAULT_VAULTS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-known-item"))
    args = parser.parse_args()
    if not (EVAL / "known-item").is_dir():
        print("no known-item set; nothing to fit")
        return
    data = {vault: collect(vault, args.work) for vault in args.vaults}
    print("current coefficients:", np.round(COEFFICIENTS, 2).tolist())
    for vault, rows in data.items():
        print(f"  {vault:14} MRR@10 {mrr(rows, np.array(COEFFICIENTS))}")
    for held_out in (data if len(data) > 1 else []):
        train = [r for v, rows in data.items() if v != held_out for r in rows]
        beta = fit(train)
        print(f"fitted without {held_out}: {np.round(beta, 2).tolist()}")
        scores = mrr(data[held_out], beta)
        print(f"  on {held_out:14}", ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    beta = fit([r for rows in data.values() for r in rows])
    print("fitted on all:", np.round(beta, 2).tolist())
    for vault, rows in data.items():
        print(f"  {vault:14} {', '.join(f'{k} {v:.2f}' for k, v in mrr(rows, beta).items())}")


if __name__ == "__main__":
    main()
