"""Ask's citations: how often the cited passage holds the answer (precision@1 and @3).

Two sets, each through the real library and `core.ask`:
- CMRC 2018 (dev), ../shared/eval/ir/cmrc2018-dev-zh: each paragraph a note, each question
  answered by a span of one paragraph. A cited passage holds the answer when its text contains
  the answer span; the answering sentence is right when the sentence marked first in the first
  passage contains it. The spans are not in the shared set: pass `--cmrc-answers` the
  SQuAD-style `cmrc2018_dev.json` of ymcui/cmrc2018; without it CMRC is skipped.
- Question-kind queries of the known-item set (foam-docs, dendron-site, tldr-pages): a cited
  passage holds the answer when it comes from a target note.
Every scorer of answering sentences (words, meaning, both) is run, and the share of questions
reported as found (and of made-up questions wrongly reported as found). Usage:

    python benchmarks/ask.py [--work DIR] [--cmrc-answers FILE] [--max-questions N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from benchmarks.known_item import (  # noqa: E402
    FOLDERS,
    KIND_FOLDER,
    NONSENSE,
    load_queries,
    open_indexed,
    unpack,
)
from benchmarks.retrieval import write_notes  # noqa: E402
from notesearch.core.ask import answers, find_passages, mark_answers  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.search import Filters  # noqa: E402

EVAL = eval_root()
SCORERS = ("words", "meaning", "both")
VAULTS = ["foam-docs", "dendron-site", "tldr-pages"]


def cmrc_questions(answers_file: Path) -> list[dict]:
    """Return CMRC dev questions: {question, answers (list of spans)}."""
    data = json.loads(answers_file.read_text(encoding="utf-8"))
    return [{"question": qa["question"], "answers": {a["text"] for a in qa["answers"]}}
            for article in data["data"] for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]]


def cmrc_library(work: Path) -> Library:
    name = "cmrc2018-dev-zh"
    corpus = [json.loads(line) for line in
              (EVAL / "ir" / name / "corpus.jsonl").open(encoding="utf-8")]
    notes = work / "ir" / name / "notes"
    write_notes(corpus, notes)
    library = Library(home=work / "ir" / name / "home", settings=Settings())
    library.add_folder(notes)
    library.index()
    library.prepare_for_queries(wait=True)  # queries on the engine the app's use
    return library


def run_cmrc(library: Library, questions: list[dict]) -> dict:
    """Citation precision@1/@3 and answering-sentence accuracy per scorer."""
    searcher = library.searcher()
    totals = {s: {"p@1": 0, "p@3": 0, "sentence@1": 0, "found": 0} for s in SCORERS}
    start = time.monotonic()
    for item in questions:
        found = find_passages(searcher, item["question"])
        passages, response = found.passages, found.response
        for scorer in SCORERS:
            marked = mark_answers(searcher, item["question"], passages, scorer)
            holds = [any(a in p.text for a in item["answers"]) for p in marked]
            row = totals[scorer]
            row["p@1"] += bool(holds[:1] and holds[0])
            row["p@3"] += any(holds[:3])
            first = marked[0].sentences[0] if marked and marked[0].sentences else None
            row["sentence@1"] += bool(first and any(
                a in marked[0].text[first.start:first.end] for a in item["answers"]))
            row["found"] += answers(response, marked)
    n = len(questions)
    return {"questions": n, "seconds_per_question": round((time.monotonic() - start) / n, 3),
            **{s: {k: round(v / n, 3) for k, v in row.items()} for s, row in totals.items()}}


def run_known_item(library: Library, vault: str, root: Path) -> dict:
    """Citation precision@1/@3 on the vault's question-kind queries (passage from a target)."""
    searcher = library.searcher()
    questions = [q for q in load_queries(vault) if q["kind"] == "question"]
    folder = KIND_FOLDER.get(vault, {}).get("*")
    filters = Filters(folder=str((root / folder).resolve())) if folder else Filters()
    p1 = p3 = found = 0
    for item in questions:
        found_ = find_passages(searcher, item["query"], filters)
        response = found_.response
        passages = mark_answers(searcher, item["query"], found_.passages)
        hits = [str(Path(p.path).relative_to(root.resolve())) in item["targets"]
                for p in passages]
        p1 += bool(hits[:1] and hits[0])
        p3 += any(hits[:3])
        found += answers(response, passages)
    made_up = sum(answers(*reversed(_marked(searcher, q))) for q in NONSENSE)
    n = len(questions)
    return {"questions": n, "p@1": round(p1 / n, 3), "p@3": round(p3 / n, 3),
            "found": round(found / n, 3), "made_up_found": f"{made_up} of {len(NONSENSE)}"}


def _marked(searcher, question: str) -> tuple:  # noqa: ANN001
    found = find_passages(searcher, question)
    return mark_answers(searcher, question, found.passages), found.response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-ask"),
                        help="where vaults and libraries are cached between runs")
    parser.add_argument("--cmrc-answers", type=Path,
                        help="ymcui/cmrc2018 squad-style-data/cmrc2018_dev.json")
    parser.add_argument("--vaults", nargs="*", default=VAULTS)
    parser.add_argument("--max-questions", type=int, help="CMRC: the first N questions only")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"no evaluation data at {EVAL}; nothing to measure")
        return
    if args.cmrc_answers and args.cmrc_answers.is_file():
        library = cmrc_library(args.work)
        questions = cmrc_questions(args.cmrc_answers)[: args.max_questions or None]
        print("cmrc2018-dev-zh:", json.dumps(run_cmrc(library, questions)), flush=True)
        library.close()
    else:
        print("cmrc2018-dev-zh: skipped (no --cmrc-answers file)")
    for vault in args.vaults:
        if not (EVAL / "known-item" / f"{vault}.tsv").is_file():
            continue
        root = unpack(vault, args.work)
        library, _ = open_indexed(vault, root, args.work)
        print(f"{vault} (question kind):", json.dumps(run_known_item(library, vault, root)),
              flush=True)
        library.close()


if __name__ == "__main__":
    assert FOLDERS  # the vault layout known_item.py indexes by
    main()
