"""While 10,000 synthetic notes index, measure GUI-thread stalls and keystroke → results painted.

Usage: python benchmarks/gui_responsiveness.py [--notes 10000] [--seconds 120]
Runs offscreen unless a display is set. Targets: longest stall < 50 ms; keystroke → painted
p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notesearch.core.library import Library  # noqa: E402
from notesearch.gui.app import make_qapp  # noqa: E402
from notesearch.gui.indexing import IndexingController  # noqa: E402
from notesearch.gui.search_window import SearchWindow  # noqa: E402

HEARTBEAT_MS = 5
KEY_INTERVAL_MS = 150  # a brisk typist; slower than the debounce, so each key gets results
_WORDS = (
    "garden tomato compost seedling harvest pruning orchard soil engine gearbox brake tyre "
    "battery invoice budget meeting deadline roadmap backlog release deploy database backup "
    "password token rotation recipe flour butter oven simmer garlic onion travel passport "
    "train ticket hotel museum running training interval marathon sleep caffeine novel "
    "chapter author poetry network router wifi firmware printer kitchen window ceiling paint"
)
VOCABULARY = _WORDS.split()
QUERIES = ["tomato harvest", "password rotation", "marathon training", "database backup",
           "train ticket", "router firmware", "garlic recipe", "release deadline"]


def make_vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Pronounceable made-up words: a vocabulary as large as real notes have."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words = set()
    while len(words) < size:
        length = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length)))
    ordered = sorted(words)  # sets have no stable order; sort, then shuffle by the seed
    rng.shuffle(ordered)
    return ordered


def make_notes(folder: Path, count: int, seed: int = 1) -> None:
    """Write `count` notes of ~150 words in 100 folders (deterministic).

    Word frequencies follow Zipf's law over a large vocabulary, with topic words mixed in,
    so keyword search sees realistic posting-list lengths rather than every word everywhere.
    """
    rng = random.Random(seed)
    vocabulary = make_vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    for n in range(count):
        sub = folder / f"area-{n % 100:02}"
        sub.mkdir(parents=True, exist_ok=True)
        topic = rng.sample(VOCABULARY, 3)
        words = rng.choices(vocabulary, weights, k=150)
        for position in rng.sample(range(150), 8):
            words[position] = rng.choice(topic)
        body = "\n\n".join(" ".join(words[i:i + 50]) for i in range(0, 150, 50))
        (sub / f"note-{n:05}.md").write_text(f"# Note {n}: {' and '.join(topic)}\n\n{body}\n")


class Probe(QObject):
    """Measures heartbeat gaps, and the time from each keystroke to its results painted."""

    def __init__(self, window: SearchWindow) -> None:
        super().__init__()
        self.window = window
        self.gaps: list[float] = []
        self.latencies: list[float] = []
        self.key_times: dict[int, float] = {}
        self.awaiting_paint: int | None = None
        self._last = time.perf_counter()
        self.heartbeat = QTimer(self, interval=HEARTBEAT_MS)
        self.heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        self.heartbeat.timeout.connect(self._beat)
        window.results_shown.connect(self._shown)
        window.view.viewport().installEventFilter(self)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.heartbeat.start()

    def reset(self) -> None:
        self.gaps, self.latencies, self.key_times = [], [], {}
        self.awaiting_paint = None
        self._last = time.perf_counter()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000 - HEARTBEAT_MS)
        self._last = now

    def keystroke(self, key: str) -> None:
        QTest.keyClick(self.window.field, key)  # textChanged bumps the generation
        self.key_times[self.window.generation] = time.perf_counter()

    def _shown(self, generation: int) -> None:
        if generation in self.key_times:
            self.awaiting_paint = generation

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self.awaiting_paint is not None:
            generation, self.awaiting_paint = self.awaiting_paint, None
            # A zero timer fires once this paint has finished.
            QTimer.singleShot(0, lambda: self.latencies.append(
                (time.perf_counter() - self.key_times[generation]) * 1000))
        return False


class Typist:
    """Types the queries letter by letter, clears, and starts over."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.text = ""
        self.query = 0
        self.timer = QTimer(interval=KEY_INTERVAL_MS)
        self.timer.timeout.connect(self._next)

    def _next(self) -> None:
        target = QUERIES[self.query % len(QUERIES)]
        if self.text == target:
            self.probe.window.field.clear()
            self.text = ""
            self.query += 1
            return
        char = target[len(self.text)]
        self.text += char
        self.probe.keystroke(char)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to measure")
    parser.add_argument("--idle-seconds", type=float, default=30.0,
                        help="then measure this long with indexing stopped: the machine's floor")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ns-gui-bench-"))
    try:
        return run(root, args.notes, args.seconds, args.idle_seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, count: int, seconds: float, idle_seconds: float) -> int:
    start = time.perf_counter()
    make_notes(root / "notes", count)
    print(f"generated {count:,} notes in {time.perf_counter() - start:.1f} s")
    qapp = make_qapp()
    library = Library(home=root / "home")
    library.add_folder(root / "notes")
    controller = IndexingController(library)
    window = SearchWindow(library, controller)
    window.present()
    probe, phases = Probe(window), set()
    controller.progress.connect(lambda p: phases.add(p.phase))
    typist = Typist(probe)
    controller.start()
    probe.start()
    typist.timer.start()
    results: list[str] = []

    def end_indexing_phase() -> None:
        last = controller.last_progress
        results.append(summary(probe, f"measured {seconds:.0f} s while indexing (phases seen: "
                               f"{', '.join(sorted(phases))}; last progress: "
                               f"{last.phase if last else '-'} {last.done if last else 0:,}/"
                               f"{last.total if last else 0:,})"))
        controller.shutdown()
        probe.reset()  # same window, same index, indexing stopped: the machine's own floor
        QTimer.singleShot(int(idle_seconds * 1000), end_idle_phase)

    def end_idle_phase() -> None:
        results.append(summary(probe, f"measured {idle_seconds:.0f} s with indexing stopped "
                               "(baseline)"))
        qapp.quit()

    QTimer.singleShot(int(seconds * 1000), end_indexing_phase)
    qapp.exec()
    print("\n".join(results))
    typist.timer.stop()
    probe.heartbeat.stop()
    library.close()
    return 0


def summary(probe: Probe, title: str) -> str:
    gaps, latencies = probe.gaps[1:], probe.latencies
    lines = [title]
    if hasattr(os, "getloadavg"):
        # Other work on the machine inflates every figure; say how busy it was.
        lines.append(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    lines.append(f"  GUI thread: {len(gaps):,} heartbeats, longest stall {max(gaps):.1f} ms, "
                 f"p99 {percentile(gaps, 0.99):.1f} ms (target: longest < 50 ms)")
    if latencies:
        lines.append(f"  keystroke → results painted: {len(latencies)} of "
                     f"{len(probe.key_times)} keystrokes painted; p50 "
                     f"{statistics.median(latencies):.1f} ms, p95 "
                     f"{percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms "
                     "(target: p95 < 100 ms)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
