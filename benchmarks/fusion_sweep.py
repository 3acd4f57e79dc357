"""Compare fusion settings on the libraries retrieval.py built: nDCG@10 per set and setting.

Runs each query's keyword and vector lists once through the real Searcher, then fuses them under
each setting, so a sweep costs one search per query. Usage (after retrieval.py):

    python benchmarks/fusion_sweep.py [--sets cranfield ...] [--max-queries N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.retrieval import DEFAULT_SETS, file_name, load_set, ndcg_at  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.search import Fusion, fuse  # noqa: E402

SETTINGS = [Fusion(method, w, cov) for method in ("rrf", "score") for cov in (False, True)
            for w in (0.3, 0.4, 0.5, 0.6, 0.7)]


def label(fusion: Fusion) -> str:
    coverage = "+coverage" if fusion.use_coverage else ""
    return f"{fusion.method}{coverage} w={fusion.meaning_weight}"


def sweep(name: str, work: Path, max_queries: int | None) -> dict[str, float]:
    corpus, queries, qrels = load_set(name)
    doc_of = {file_name(d["_id"])[:-3]: str(d["_id"]) for d in corpus}
    library = Library(home=work / name / "home", settings=Settings())
    searcher = library.searcher()
    path_of = dict(library.conn.execute("SELECT id, path FROM notes"))
    qids = [q for q in queries if q in qrels][: max_queries or None]
    totals = {label(f): 0.0 for f in SETTINGS}
    totals["words only"] = totals["meaning only"] = 0.0
    for qid in qids:
        query = queries[qid]
        words = searcher._keyword_hits(query, None, False)
        meaning = searcher._vector_hits(query, None)
        coverage = searcher._coverage(query, words, False)
        for fusion in SETTINGS:
            ranked = fuse(words, meaning, 10, coverage, fusion)
            docs = [doc_of[Path(path_of[f.note_id]).stem] for f in ranked]
            totals[label(fusion)] += ndcg_at(docs, qrels[qid])
        for name, only in (("words only", Fusion("score", 0.0, False)),
                           ("meaning only", Fusion("score", 1.0, False))):
            ranked = fuse(words, meaning, 10, coverage, only)
            docs = [doc_of[Path(path_of[f.note_id]).stem] for f in ranked]
            totals[name] += ndcg_at(docs, qrels[qid])
    library.close()
    return {k: v / len(qids) for k, v in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=DEFAULT_SETS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-bench"))
    parser.add_argument("--max-queries", type=int)
    args = parser.parse_args()
    for name in args.sets:
        if not (args.work / name / "home").exists():
            print(f"{name}: not built yet (run benchmarks/retrieval.py first)")
            continue
        for setting, value in sweep(name, args.work, args.max_queries).items():
            print(f"{name:18} {setting:22} nDCG@10 {value:.4f}")


if __name__ == "__main__":
    main()
