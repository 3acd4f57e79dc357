"""Similar notes on real vaults, judged by the notes' own links: how many of the notes a note
links to, or is linked from, come among its ten most similar.

A note's wikilinks ([[target]], [[label|target]]) name the notes its writer thought related;
"find similar notes" should surface them without being told. For every note with at least
one link to another note of the vault (resolved by file name, title or alias, as the tools
that wrote them do: Foam and Dendron by file name, Logseq by page title), the similar notes
of the real Library are compared with its linked notes: recall@10 (the share of its linked
notes in the top ten), MRR@10 (1 / the rank of the first linked note), and how often a long
note (over LONG_CHUNKS chunks) comes first. A proxy: a note may be like one it never links.
Vaults come from benchmarks/known_item.py's cache. Usage:

    python benchmarks/similar_notes.py [--vaults foam-docs dendron-site] [--work DIR]
        [--libraries HOME:NOTES_ROOT ...] [--notes 300]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.known_item import EVAL, open_indexed, unpack  # noqa: E402
from notesearch.core.library import Library  # noqa: E402

LINK = re.compile(r"\[\[([^\]|#^]+)(?:[#^][^\]|]*)?(?:\|([^\]#^]+))?[^\]]*\]\]")
#: Notes of more chunks than this count as long (changelogs, transcripts, index pages).
LONG_CHUNKS = 30


def _key(text: str) -> str:
    return " ".join(text.strip().lower().replace("___", "/").split())


def linked_notes(library: Library) -> dict[int, set[int]]:
    """Return note id -> ids of the notes it links to or is linked from (itself excluded)."""
    by_key: dict[str, int] = {}
    rows = library.conn.execute("SELECT id, path, title, aliases FROM notes").fetchall()
    for note_id, path, title, aliases in rows:
        for name in (Path(path).stem, title, *json.loads(aliases)):
            by_key.setdefault(_key(name), note_id)
    links: dict[int, set[int]] = {}
    for note_id, path, _, _ in rows:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in LINK.finditer(text):
            # Dendron writes [[label|target]], Foam and Logseq [[target]].
            target = by_key.get(_key(match.group(2) or match.group(1)))
            if target is None and match.group(2):
                target = by_key.get(_key(match.group(1)))
            if target is not None and target != note_id:
                links.setdefault(note_id, set()).add(target)
                links.setdefault(target, set()).add(note_id)
    return links


def measure(library: Library, notes: int) -> dict[str, float]:
    """Return recall@10, MRR@10 and the share of long notes first over up to `notes` notes
    with links (a fixed random sample)."""
    links = linked_notes(library)
    chunks = dict(library.conn.execute("SELECT note_id, COUNT(*) FROM chunks GROUP BY note_id"))
    paths = dict(library.conn.execute("SELECT id, path FROM notes"))
    ids = sorted(links)
    random.Random(1).shuffle(ids)
    recall, mrr, long_first = [], [], []
    searcher = library.searcher()
    for note_id in ids[:notes]:
        results = searcher.similar_to_note(note_id, 10)
        if not results:
            continue
        found = [r.note_id in links[note_id] for r in results]
        recall.append(sum(found) / min(10, len(links[note_id])))
        mrr.append(next((1 / (i + 1) for i, hit in enumerate(found) if hit), 0.0))
        long_first.append(chunks.get(results[0].note_id, 0) > LONG_CHUNKS)
    del paths
    return {"notes": len(recall), "recall@10": statistics.fmean(recall) if recall else 0.0,
            "mrr@10": statistics.fmean(mrr) if mrr else 0.0,
            "long first": statistics.fmean(long_first) if long_first else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vaults", nargs="*", default=["foam-docs", "dendron-site"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/notesearch-known-item"))
    parser.add_argument("--libraries", nargs="*", default=[],
                        help="also measure these libraries (an indexed vault's home)")
    parser.add_argument("--notes", type=int, default=300)
    args = parser.parse_args()
    libraries: list[tuple[str, Library]] = []
    if (EVAL / "vaults").is_dir():
        for vault in args.vaults:
            library, _ = open_indexed(vault, unpack(vault, args.work), args.work)
            libraries.append((vault, library))
    else:
        print("no evaluation vaults; measuring --libraries only")
    libraries += [(Path(home).name, Library(home=Path(home))) for home in args.libraries]
    print(f"{'library':24} {'notes':>6} {'recall@10':>10} {'MRR@10':>8} {'long note first':>16}")
    for name, library in libraries:
        figures = measure(library, args.notes)
        print(f"{name:24} {figures['notes']:6d} {figures['recall@10']:10.3f} "
              f"{figures['mrr@10']:8.3f} {figures['long first']:16.3f}")
        library.close()


if __name__ == "__main__":
    main()
