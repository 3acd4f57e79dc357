"""Every benchmark runs, at a tiny size, on a tiny evaluation set: none can silently break.

(benchmarks/fusion_sweep.py, cited in the README, once raised TypeError for months.) The
figures are not checked here, only that each script runs to its report.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from notesearch.core.embedders.local import ORT_PLATFORMS

ROOT = Path(__file__).resolve().parent.parent
NOTES = {
    "kites.md": "# Kites\nFlying kites on a windy beach in spring.\n",
    "bread.md": "# Sourdough\nA loaf needs a lively starter and a long, cool rise.\n",
    "tomatoes.md": "# Tomato blight\nBrown spots on the leaves mean early blight.\n",
    "bikes.md": "# Bicycle repair\nPatch an inner tube: find the leak under water.\n",
    "tax.md": "# Taxes\nKeep receipts for the yearly return in one folder.\n",
    "tea.md": "# Tea\nGreen tea wants water below boiling, about 80 degrees.\n",
}
QUERIES = [("t1", "kites", "kites.md", "keyword"),
           ("t2", "sourdough starter", "bread.md", "fragment"),
           ("t3", "my plants have stained foliage", "tomatoes.md", "paraphrase"),
           ("t4", "how do I fix a flat tyre", "bikes.md", "question")]


@pytest.fixture(scope="module")
def tiny_eval(tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    """(evaluation folder, work folder): one vault already unpacked, its queries, one IR set."""
    root = tmp_path_factory.mktemp("eval")
    work = tmp_path_factory.mktemp("work")
    vault = work / "vaults" / "tiny"
    vault.mkdir(parents=True)
    for name, text in NOTES.items():
        (vault / name).write_text(text, encoding="utf-8")
    (root / "known-item").mkdir()
    rows = ["qid\tquery\ttarget\tkind"] + ["\t".join(q) for q in QUERIES]
    (root / "known-item" / "tiny.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["qid\tquery\ttarget\tkind", "e1\tlist the files in a folder\tls.md\tquestion"]
    (root / "known-item" / "elsewhere.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ir = root / "ir" / "tiny"
    ir.mkdir(parents=True)
    with (ir / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for name, text in NOTES.items():
            title, _, body = text.partition("\n")
            corpus.write(json.dumps({"_id": name, "title": title[2:], "text": body}) + "\n")
    with (ir / "queries.jsonl").open("w", encoding="utf-8") as queries:
        for qid, query, _, _ in QUERIES:
            queries.write(json.dumps({"_id": qid, "text": query}) + "\n")
    qrels = ["query-id\tcorpus-id\tscore"] + [f"{q[0]}\t{q[2]}\t1" for q in QUERIES]
    (ir / "qrels.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return root, work


def run(script: str, *args: str, eval_root: Path, timeout: float = 300) -> str:
    env = {**os.environ, "NOTESEARCH_EVAL": str(eval_root), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_known_item_fit_fusion_and_embed_order(tiny_eval) -> None:  # noqa: ANN001
    eval_root, work = tiny_eval
    out = run("known_item.py", "--vaults", "tiny", "--work", str(work), "--absent-from",
              "elsewhere", eval_root=eval_root)
    assert "tiny: MRR@10 / hit@10 (words | meaning | hybrid)" in out
    assert "paraphrase" in out and "calibration" in out
    assert "queries asked of a vault without their note" in out
    out = run("fit_fusion.py", "--vaults", "tiny", "--work", str(work), eval_root=eval_root)
    assert "fitted on all" in out
    # Small libraries cut from the vault: each holds the notes its group of queries means.
    out = run("known_item.py", "--vaults", "tiny", "--work", str(work), "--small", "3",
              "--group", "2", "--absent-from", "elsewhere", eval_root=eval_root)
    assert '"notes": 3' in out and "tiny notes-1:" in out
    assert "tiny: MRR@10 / hit@10 (words | meaning | hybrid)" in out
    out = run("fit_fusion.py", "--vaults", "tiny", "--work", str(work), "--small", "3",
              eval_root=eval_root)
    assert "fitted on all" in out
    out = run("embed_order.py", "--vaults", "tiny", "--work", str(work), "--timed-batches",
              "1", eval_root=eval_root)
    assert "targets searchable by meaning" in out


def test_fit_fusion_fits_one_coefficient_with_the_others_held() -> None:
    """fit_fusion.py --translated fits hybrid's `foreign` input alone (the development vaults
    have no such candidate): on candidates drawn from a known model it finds the last
    coefficient and leaves the others as given (so does --scattered, for its input)."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from benchmarks.fit_fusion import fit_one

    rng = np.random.default_rng(0)
    held, true_last = (-1.0, 2.0, 0.0), 1.5
    rows = []
    for _ in range(400):
        x = np.column_stack([np.ones(20), rng.normal(size=20), rng.integers(0, 2, 20)])
        p = 1 / (1 + np.exp(-(x @ np.array([*held[:2], true_last]))))
        rows.append(("kind", x.astype(float), (rng.random(20) < p).astype(float)))
    beta = fit_one(rows, held, 2)
    assert beta[:2].tolist() == [-1.0, 2.0]
    assert abs(beta[2] - true_last) < 0.2, beta
    first = fit_one([(kind, x[:, ::-1].copy(), y) for kind, x, y in rows], held[::-1], 0)
    assert first[1:].tolist() == [2.0, -1.0] and abs(first[0] - true_last) < 0.2, first


def test_retrieval(tiny_eval, tmp_path) -> None:  # noqa: ANN001
    out = run("retrieval.py", "--sets", "tiny", "--work", str(tmp_path), eval_root=tiny_eval[0])
    report = json.loads(out.strip().splitlines()[-1])
    assert set(report) >= {"words", "meaning", "hybrid"}


def test_indexing(tiny_eval) -> None:  # noqa: ANN001
    eval_root, work = tiny_eval
    out = run("indexing.py", "--vaults", "tiny", "--work", str(work),
              "--sample", "4", "--engines", "auto", "--compare", eval_root=eval_root)
    assert "peak RSS" in out and "bare engines interleaved" in out


def test_search_latency(tmp_path, sample_index) -> None:  # noqa: ANN001
    (tmp_path / "120").mkdir()  # the sample notes' vectors, kept by text: nothing to embed
    shutil.copy(sample_index / "home" / "library.db", tmp_path / "120" / "library.db")
    # One query typed letter by letter is enough to run that path (two took ~2 s more).
    out = run("search_latency.py", "--sizes", "120", "--queries", "5", "--typed", "1",
              "--work", str(tmp_path), "--under-load", "--query-engines",
              eval_root=tmp_path / "none")
    assert "5 distinct queries" in out and "typed one character at a time" in out
    assert "while another process embeds" in out and "over the bare model's p95" in out
    assert "over the reference's p95" in out
    if (platform.system(), platform.machine().lower()) in ORT_PLATFORMS:
        assert "queries embedded by: onnxruntime" in out
        assert "queries on either engine, interleaved" in out


def test_watch_latency(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "tea.md").write_text(NOTES["tea.md"], encoding="utf-8")
    out = run("watch_latency.py", "--saves", "2", "--notes", str(tmp_path / "notes"),
              eval_root=tmp_path / "none")
    assert "words" in out and "meaning" in out


def test_gui_responsiveness(tmp_path) -> None:  # noqa: ANN001
    out = run("gui_responsiveness.py", "--notes", "40", "--seconds", "3", "--idle-seconds", "1",
              eval_root=tmp_path / "none")
    assert "measured 3 s while indexing" in out and "baseline" in out


def test_similar_notes(tmp_path, sample_index) -> None:  # noqa: ANN001
    (tmp_path / "home").mkdir()  # a copy: the shared index stays as it is
    shutil.copy(sample_index / "home" / "library.db", tmp_path / "home" / "library.db")
    out = run("similar_notes.py", "--libraries", str(tmp_path / "home"),
              eval_root=tmp_path / "none")
    assert "no evaluation vaults" in out
    row = next(line for line in out.splitlines() if line.startswith("home "))
    notes, recall, mrr, _ = map(float, row.split()[1:])
    assert notes >= 5 and 0 < recall <= 1 and 0 < mrr <= 1  # the sample notes link each other


def test_the_held_out_trial_queries_load() -> None:
    """`known_item.py --trials` reads benchmarks/trials: one file for each trial vault, every
    query with a target note and a kind (a malformed line would drop or merge queries)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import known_item

    for vault in known_item.TRIAL_VAULTS:
        queries = known_item.load_queries(vault)
        assert len(queries) == 40
        assert len({q["qid"] for q in queries}) == 40
        for query in queries:
            assert query["query"].strip() and query["kind"]
            assert all(t.endswith(".md") and not t.startswith("/") for t in query["targets"])


def test_known_item_over_translated_pages(tmp_path) -> None:
    """`known_item.py --translated`: tldr-pages' English queries over a library of its pages
    in another language beside English ones, each query meaning the translated page."""
    root, work = tmp_path / "eval", tmp_path / "work"
    (root / "known-item").mkdir(parents=True)
    rows = ["qid\tquery\ttarget\tkind",
            "t1\tcopy files to another folder\tpages/common/cp.md\tquestion",
            "t2\tshow the calendar\tpages/common/cal.md\tkeyword"]
    (root / "known-item" / "tldr-pages.tsv").write_text("\n".join(rows) + "\n")
    rows = ["qid\tquery\ttarget\tkind", "e1\tlist the files in a folder\tls.md\tquestion"]
    (root / "known-item" / "elsewhere.tsv").write_text("\n".join(rows) + "\n")
    vault = work / "vaults" / "tldr-pages"
    pages = {"pages/common/cp.md": "# cp\n\n> Copy files and directories.\n",
             "pages/common/ls.md": "# ls\n\n> List directory contents.\n",
             "pages.de/common/cp.md": "# cp\n\n> Kopiere Dateien und Verzeichnisse.\n",
             "pages.de/common/rm.md": "# rm\n\n> Lösche Dateien oder Verzeichnisse.\n"}
    for rel, text in pages.items():
        (vault / rel).parent.mkdir(parents=True, exist_ok=True)
        (vault / rel).write_text(text, encoding="utf-8")
    out = run("known_item.py", "--translated", "de", "--work", str(work), "--absent-from",
              "elsewhere", eval_root=root)
    # The German page of cp, the German rm and the English ls; not the English cp, nor a
    # query whose command has no German page.
    copied = sorted(str(p.relative_to(work / "translated" / "de-s1" / "notes"))
                    for p in (work / "translated" / "de-s1" / "notes").rglob("*.md"))
    assert copied == ["pages.de/common/cp.md", "pages.de/common/rm.md", "pages/common/ls.md"]
    assert "tldr-pages.de: MRR@10 / hit@10 (words | meaning | hybrid)" in out
    assert "question       ( 1)" in out and "keyword" not in out.split("calibration")[0]


def test_known_item_over_our_own_bilingual_notes(tmp_path) -> None:
    """`known_item.py --bilingual` needs nothing from ../shared/eval: German and English
    notes and queries helper sessions wrote, kept in the repository (every target a note of
    its vault). German typed without umlauts, and English and German queries about notes in the
    other language, find their notes (the trial's findings, fixed on 2026-12-03)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import known_item

    for vault, count in (("bilingual-notes", 41), ("german-english-notes", 55)):
        queries = known_item.load_queries(vault)
        assert len(queries) == len({q["qid"] for q in queries}) == count
        assert all((known_item.WRITTEN / vault / t).is_file()
                   for q in queries for t in q["targets"])
        assert all(q["targets"] or q["kind"] == "absent" for q in queries)
    out = run("known_item.py", "--bilingual", "--work", str(tmp_path / "work"),
              eval_root=tmp_path / "none")
    for vault in known_item.WRITTEN_VAULTS:
        # Each vault's own table: the lines after its heading, up to the blank line.
        block = out.split(f"\n{vault}: MRR@10 / hit@10 (words | meaning | hybrid)\n")[1]
        rows = block.split("\n\n")[0].splitlines()
        hybrid = {row.split("(")[0].strip(): row.rsplit("|", 1)[1].split("/") for row in rows}
        assert float(hybrid["german-no-umlauts"][0]) == 1.0, vault  # every one first
        assert float(hybrid["all"][1].split()[0]) >= 0.9, vault  # hit@10
    assert "queries asked of a vault without their note" in out
