"""Fit the fusion's logistic coefficients on known-item queries, and check them across vaults.

For every query of the development set (../shared/eval/known-item), the real search gathers
its candidate notes with their features (notesearch.core.fusion.Evidence); the note the query
means is the positive example, every other candidate a negative. A logistic regression (L2,
Newton's method) is fitted on all vaults but one and scored, as MRR@10 of the ranking it
gives, on the one left out; then on all vaults together, which gives the coefficients to put
in fusion.COEFFICIENTS. Libraries come from benchmarks/known_item.py's cache; `--small N`
adds its small libraries (`known_item.py --small N`), so that the fit also sees libraries of a
first folder's size. `--translated` fits hybrid's `foreign` input (which no development
vault has) on the development set and known_item.py's libraries of tldr-pages' translations
beside English pages, the other coefficients held as they are, and scores each language with
the fit of the others. `--scattered` fits hybrid's `scattered` input the same way on the
development set alone, each vault scored with the fit of the other two. Usage:

    python benchmarks/fit_fusion.py [--work DIR] [--vaults ...] [--small NOTES] [--translated]
        [--scattered]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.known_item import (  # noqa: E402
    ABSENT_FROM,
    DEFAULT_VAULTS,
    EVAL,
    KIND_FOLDER,
    TRANSLATED,
    load_queries,
    open_indexed,
    small_libraries,
    translated_libraries,
    unpack,
)
from notesearch.core.fusion import COEFFICIENTS  # noqa: E402
from notesearch.core.search import Filters  # noqa: E402

L2 = 1.0  # ridge on the coefficients (not the intercept): 150 positives fit 6 numbers


MODELS = ("hybrid", "words", "meaning")
Rows = list[tuple[str, np.ndarray, np.ndarray]]


def collect(vault: str, work: Path, small: int | None = None) -> dict[str, Rows]:
    """Return model -> (kind, features, labels) per query; a feature row per candidate.
    With `small`, the queries are asked of the whole vault and again of small libraries of
    that many notes cut from it (known_item.small_libraries), as a first folder often is."""
    root = unpack(vault, work)
    out = collect_library(vault, root, work, load_queries(vault))
    for copy, home, asked in (small_libraries(vault, root, work, small, 10, 1) if small
                              else []):
        for model, rows in collect_library(vault, copy, work, asked, home).items():
            out[model] += rows
    return out


def collect_library(vault: str, root: Path, work: Path, queries: list[dict],
                    home: Path | None = None) -> dict[str, Rows]:
    """`collect` for one library (the vault's own, or a small one in `home`)."""
    library, _ = open_indexed(vault, root, work, home=home)
    searcher = library.searcher()
    paths = {n: str(Path(p).relative_to(root.resolve()))
             for n, p in library.conn.execute("SELECT id, path FROM notes")}
    out: dict[str, Rows] = {model: [] for model in MODELS}
    for item in queries:
        folders = KIND_FOLDER.get(vault, {})
        folder = folders.get(item["kind"], folders.get("*"))
        filters = Filters(folder=str((root / folder).resolve())) if folder else Filters()
        for model in MODELS:
            evidence = searcher.candidate_evidence(item["query"], 10, filters, mode=model)
            labels = np.array([paths[e.note_id] in item["targets"] for e in evidence], float)
            width = len(COEFFICIENTS[model])
            features = (np.array([e.features(model) for e in evidence]) if evidence
                        else np.zeros((0, width)))
            out[model].append((item["kind"], features, labels))
    library.close()
    return out


def collect_translated(work: Path) -> dict[str, Rows]:
    """Return library label -> its hybrid rows, for known_item.py --translated's libraries:
    its queries, then the queries it lacks the note of (ABSENT_FROM, kind "absent": every
    candidate a negative), as known_item.py asks them."""
    root = unpack("tldr-pages", work)
    absent = [{**item, "kind": "absent", "targets": set()}
              for source in ABSENT_FROM["tldr-pages"] for item in load_queries(source)]
    return {label: collect_library("translated", copy, work, asked + absent, home)["hybrid"]
            for label, copy, home, asked in translated_libraries(root, work, TRANSLATED, 1)}


#: Positions of hybrid's inputs fitted alone, the others held (fusion.feature_matrix's order).
FOREIGN, SCATTERED = 7, 8


def fit_one(rows: Rows, held: tuple[float, ...], index: int) -> np.ndarray:
    """Return `held` with the coefficient at `index` fitted (L2, Newton's method), the others
    held as they are: their product is an offset."""
    x = np.vstack([f for _, f, _ in rows if len(f)])
    y = np.concatenate([lab for _, f, lab in rows if len(f)])
    others = np.asarray(held, dtype=float).copy()
    others[index] = 0.0
    offset = x @ others
    column = x[:, index]
    value = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(offset + column * value, -50, 50)))
        step = (column @ (y - p) - L2 * value) / (column ** 2 @ (p * (1 - p)) + L2)
        value += step
        if abs(step) < 1e-6:
            break
    fitted = np.asarray(held, dtype=float).copy()
    fitted[index] = value
    return fitted


def report_scattered(data: dict[str, dict[str, Rows]]) -> None:
    """Fit hybrid's `scattered` coefficient (fit_one) on the development set, the others
    held; score each vault with the fit of the other two."""
    held = COEFFICIENTS["hybrid"]
    print("\nhybrid's scattered input, fitted with the others held (--scattered):")
    for vault in data:
        train = [r for other in data if other != vault for r in data[other]["hybrid"]]
        beta = fit_one(train, held, SCATTERED)
        print(f"  {vault:22} in use {mrr(data[vault]['hybrid'], np.asarray(held))['all']:.3f}, "
              f"fitted without it {mrr(data[vault]['hybrid'], beta)['all']:.3f} "
              f"(scattered {beta[SCATTERED]:.2f})")
    beta = fit_one([r for vault in data for r in data[vault]["hybrid"]], held, SCATTERED)
    print(f"  fitted on all: scattered {beta[SCATTERED]:.2f}")


def report_translated(data: dict[str, dict[str, Rows]], work: Path) -> None:
    """Fit hybrid's `foreign` coefficient (fit_one) on the development set and the
    translated libraries; score each language with the fit of the other languages.

    Each library's absent queries are thinned to as many as its own (`even`): half the
    queries ask for a note the library lacks. The known-item queries alone fit 1.79, and
    then 88 more of 720 absent queries came first at a foreign note above "no good match"
    (README, "Notes in two languages"); all 90 absent queries a library fit 0.28, which
    ranks as before."""
    translated = {label: even(rows) for label, rows in collect_translated(work).items()}
    development = [r for vault in data for r in data[vault]["hybrid"]]
    held = COEFFICIENTS["hybrid"]
    print("\nhybrid's foreign input, fitted with the others held (--translated):")
    for label, rows in translated.items():
        others = [r for other, kept in translated.items() if other != label for r in kept]
        beta = fit_one(development + others, held, FOREIGN)
        known = [r for r in rows if r[0] != "absent"]
        print(f"  {label:22} in use {mrr(known, np.asarray(held))['all']:.2f}, fitted "
              f"without it {mrr(known, beta)['all']:.2f} (foreign {beta[FOREIGN]:.2f})")
    every = [r for rows in translated.values() for r in rows]
    beta = fit_one(development + every, held, FOREIGN)
    known = fit_one(development + [r for r in every if r[0] != "absent"], held, FOREIGN)
    print(f"  fitted on all: foreign {beta[FOREIGN]:.2f}; on their own queries only (none "
          f"absent): {known[FOREIGN]:.2f}")


def even(rows: Rows) -> Rows:
    """`rows` with their absent queries thinned, evenly spaced, to as many as the others."""
    known = [r for r in rows if r[0] != "absent"]
    absent = [r for r in rows if r[0] == "absent"]
    step = max(1, len(absent) // max(len(known), 1))
    return known + absent[::step][:len(known)]


def fit(rows: Rows, start: tuple[float, ...]) -> np.ndarray:
    """Return logistic coefficients maximising the penalised likelihood (Newton steps)."""
    x = np.vstack([f for _, f, _ in rows if len(f)])
    y = np.concatenate([lab for _, f, lab in rows if len(f)])
    beta = np.array(start, dtype=float)
    penalty = np.full(len(beta), L2)
    # The intercept is all but unpenalised; a trace keeps the Newton step solvable when the
    # queries separate perfectly (p(1 - p) -> 0; a tiny set, as in the smoke test).
    penalty[0] = 1e-6
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -50, 50)))
        gradient = x.T @ (y - p) - penalty * beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-6:
            break
    return beta


def mrr(rows: Rows, beta: np.ndarray) -> dict[str, float]:
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


def fit_calibration(rows: Rows, beta: np.ndarray) -> tuple[float, float]:
    """Return Platt (slope, intercept) mapping the top candidate's log-odds to P(right)."""
    tops = [(float((f @ beta).max()), float(lab[int(np.argmax(f @ beta))]))
            for _, f, lab in rows if len(f)]
    x = np.array([[t, 1.0] for t, _ in tops])
    y = np.array([right for _, right in tops])
    ab = np.array([1.0, 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ ab, -50, 50)))
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.eye(2) * 1e-3
        step = np.linalg.solve(hessian, x.T @ (y - p) - 1e-3 * ab)
        ab += step
        if np.abs(step).max() < 1e-6:
            break
    return float(ab[0]), float(ab[1])


def report(label: str, scores: dict[str, float]) -> None:
    print(f"  {label:22}", ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*", default=DEFAULT_VAULTS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-known-item"))
    parser.add_argument("--small", type=int, metavar="NOTES",
                        help="also fit on small libraries of this many notes cut from each vault")
    parser.add_argument("--translated", action="store_true",
                        help="fit hybrid's foreign input on tldr-pages' translations too")
    parser.add_argument("--scattered", action="store_true",
                        help="fit hybrid's scattered input alone, the others held")
    args = parser.parse_args()
    if not (EVAL / "known-item").is_dir():
        print("no known-item set; nothing to fit")
        return
    data = {vault: collect(vault, args.work, args.small) for vault in args.vaults}
    for model in MODELS:
        current = np.array(COEFFICIENTS[model])
        print(f"\n{model}: current {np.round(current, 2).tolist()}")
        for vault in data:
            report(f"{vault} (current)", mrr(data[vault][model], current))
        # What fusion.CALIBRATION holds: the rescaling of the coefficients in use.
        slope, intercept = fit_calibration([r for v in data for r in data[v][model]], current)
        print(f"  calibration of the current coefficients: slope {slope:.2f}, "
              f"intercept {intercept:.2f}")
        for held_out in (data if len(data) > 1 else []):
            train = [r for v in data if v != held_out for r in data[v][model]]
            beta = fit(train, COEFFICIENTS[model])
            report(f"{held_out} (held out)", mrr(data[held_out][model], beta))
        beta = fit([r for v in data for r in data[v][model]], COEFFICIENTS[model])
        print(f"  fitted on all: {np.round(beta, 2).tolist()}")
        slope, intercept = fit_calibration([r for v in data for r in data[v][model]], beta)
        print(f"  calibration of the top result: slope {slope:.2f}, intercept {intercept:.2f}")
        for vault in data:
            report(vault, mrr(data[vault][model], beta))
    if args.translated:
        report_translated(data, args.work)
    if args.scattered:
        report_scattered(data)


if __name__ == "__main__":
    main()
