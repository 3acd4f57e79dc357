"""Save -> searchable latency through the real watcher: p50/p95 over repeated edits.

Indexes the bundled sample notes into a temporary library, starts FolderWatcher, then saves
notes (new files, edits, atomic renames) one at a time and polls search until each change is
found by words and by meaning. `--big-note LINES` first drops in one long note (6000 lines:
about a thousand passages, minutes of embedding on two cores) and times the saves while its
passages are being embedded; by meaning is then not timed (the library is not whole until the
big note is). Usage:

    python benchmarks/watch_latency.py [--saves 30] [--notes DIR] [--big-note LINES] [--pause S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notesearch.core.config import Settings, sample_notes_folder  # noqa: E402
from notesearch.core.library import Library  # noqa: E402
from notesearch.core.watcher import FolderWatcher  # noqa: E402


def wait_until(predicate, start: float, limit: float = 30.0) -> float:
    """Poll until `predicate()`; return seconds since `start` (inf when it never happened)."""
    while time.perf_counter() - start < limit:
        if predicate():
            return time.perf_counter() - start
        time.sleep(0.01)
    return float("inf")


def save(path: Path, text: str, atomic: bool) -> None:
    if atomic:  # how many editors save: write a temporary file, then rename it over the note
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    else:
        path.write_text(text, encoding="utf-8")


def big_note(lines: int) -> str:
    """A long note of distinct lines (identical passages would share one vector)."""
    return "# Tide log\n\n" + "\n\n".join(
        f"Tide log entry {i}: station {i % 97} measured {i * 7 % 113} centimetres of water "
        f"at dawn, wind {i % 13} knots." for i in range(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--notes", type=Path, default=sample_notes_folder(),
                        help="the notes the library starts with (default: the sample notes)")
    parser.add_argument("--big-note", type=int, default=0, metavar="LINES",
                        help="time the saves while a note of this many lines is embedded")
    parser.add_argument("--pause", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long after each save is found (as a person writing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "notes"
        shutil.copytree(args.notes, notes)
        library = Library(home=Path(tmp) / "home", settings=Settings())
        library.add_folder(notes)
        library.index()
        watcher = FolderWatcher(library)
        watcher.start()
        words, meaning = [], []
        try:
            if args.big_note:
                (notes / "tide log.md").write_text(big_note(args.big_note), encoding="utf-8")
                wait_until(lambda: bool(library.search("centimetres", k=1, mode="words")
                                        .results), time.perf_counter(), 300)
                print(f"big note read; {library.status().pending_chunks} passages to embed")
            for i in range(args.saves):
                word = f"zqx{i}marker"
                path = notes / "inbox" / f"capture-{i % 5}.md"
                path.parent.mkdir(exist_ok=True)
                text = f"# Capture {i}\nA quick thought about {word} and the garden.\n"
                start = time.perf_counter()
                save(path, text, atomic=i % 2 == 1)

                def found(word: str = word, path: Path = path) -> bool:
                    results = library.search(word, k=3, mode="words").results
                    return any(r.path == str(path) for r in results)

                words.append(wait_until(found, start))
                time.sleep(args.pause)
                if args.big_note:
                    continue
                # Searchable by meaning once every chunk of the library has its vector.
                meaning.append(wait_until(
                    lambda word=word: library.search(word, k=1).notes_not_embedded == 0, start))
            if args.big_note:
                print(f"after the last save: {library.status().pending_chunks} passages "
                      f"of the big note still to embed")
        finally:
            watcher.stop()
            library.close()
    for name, values in (("words", words), ("meaning", meaning)):
        if not values:
            continue
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"save -> searchable by {name:8} p50 {statistics.median(values):5.2f} s  "
              f"p95 {p95:5.2f} s  ({len(values)} saves)")


if __name__ == "__main__":
    main()
