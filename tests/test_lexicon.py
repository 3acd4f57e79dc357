"""The word lists: which words are words, and which language a text or a query is in."""

from __future__ import annotations

import pytest

from notesearch.core import lexicon as lexicon_module
from notesearch.core.lexicon import lexicon
from notesearch.core.text import query_terms, written_words


@pytest.fixture(scope="module")
def words():
    words = lexicon()
    assert words is not None, "pyspellchecker's lists are a dependency"
    return words


def test_real_words_of_many_languages_are_known_and_made_up_ones_are_not(words):
    # Words the model's vocabulary splits (and so took for made up) are words all the same.
    for word in ("potato", "renovation", "lease", "strasse", "kaution", "aubergine"):
        assert word in words, word
    for word in ("zorblax", "plorbit", "fnarg", "qwzx", ""):
        assert word not in words, word
    assert words.languages_of("potato") >= {"en"}
    assert "de" not in words.languages_of("treatment")


def test_a_passage_is_in_the_language_most_of_its_words_are(words):
    german = written_words("Ich war gestern beim Zahnarzt, die Wurzelbehandlung hat lange "
                           "gedauert und die Versicherung zahlt nur die Hälfte.")
    assert words.language_of(german) == "de"
    french = written_words("Tailler les rosiers à la fin de l'hiver, au-dessus d'un bourgeon.")
    assert words.language_of(french) == "fr"
    # Chinese with a command in it, or a heading alone: no language to tell.
    assert words.language_of(written_words("使用 git 命令来提交更改")) is None
    assert words.language_of(written_words("Kosten")) is None


def test_a_query_is_foreign_to_a_language_only_when_decidedly_another(words):
    assert words.is_foreign(query_terms("root canal treatment"), "de")
    assert words.is_foreign(query_terms("Spanish potato omelette"), "es")
    assert not words.is_foreign(query_terms("root canal treatment"), "en")
    # Words English shares: not decided, so not foreign.
    assert not words.is_foreign(query_terms("constat amiable"), "en")
    assert not words.is_foreign(query_terms("pasteles de nata"), "pt")
    # A made-up word is of no language, so foreign to none.
    assert not words.is_foreign(query_terms("zorblax"), "de")


def test_the_lists_are_built_once_and_a_damaged_cache_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv(lexicon_module.CACHE_ENV, str(tmp_path))
    built = lexicon_module._load()
    table, header = lexicon_module._paths()
    assert table.is_file() and header.is_file()
    again = lexicon_module._load()  # mapped from the cache
    assert len(again) == len(built) and "potato" in again
    table.write_bytes(b"not a table")
    rebuilt = lexicon_module._load()
    assert "potato" in rebuilt and "zorblax" not in rebuilt


def test_a_search_does_not_wait_for_word_lists_another_thread_is_building(monkeypatch):
    """The app's read-ahead builds the lists at first use (seconds, once): meanwhile a
    keystroke goes on without them, where indexing waits for them."""
    import threading
    import time

    from notesearch.core.lexicon import language_group
    from notesearch.core.text import SCRIPT_OTHER

    monkeypatch.setattr(lexicon_module, "_loaded", None)
    building = threading.Lock()
    monkeypatch.setattr(lexicon_module, "_lock", building)
    german = "Die Versicherung zahlt nur die Hälfte der Krone, sagte der Zahnarzt."
    held = threading.Event()

    def read_ahead() -> None:  # holds the lock for 3 s, as a build would
        with building:
            held.set()
            time.sleep(3)

    worker = threading.Thread(target=read_ahead)
    worker.start()
    held.wait()
    start = time.monotonic()
    assert lexicon(wait=False) is None
    assert language_group(german, wait=False) == SCRIPT_OTHER
    assert not lexicon_module.is_known("potato")
    assert time.monotonic() - start < 1.0
    worker.join()
    assert language_group(german) == lexicon_module.LANGUAGE_GROUPS["de"]


def test_a_passage_mostly_in_a_script_of_its_own_is_grouped_by_the_script(words):
    # Russian's list is short (most Russian passages were told of no language, and so were
    # centred with the English-less rest); Greek and Hebrew have no list at all.
    from notesearch.core.lexicon import LANGUAGE_GROUPS, language_group
    from notesearch.core.text import SCRIPT_OTHER

    russian = "Показать список всех запущенных процессов и их идентификаторы"
    assert language_group(russian) == LANGUAGE_GROUPS["ru"]
    greek = "Εμφάνιση της λίστας όλων των διεργασιών που εκτελούνται"
    hebrew = "הצג את רשימת כל התהליכים הפועלים"
    groups = {language_group(greek), language_group(hebrew)}
    assert len(groups) == 2 and not groups & {SCRIPT_OTHER, *LANGUAGE_GROUPS.values()}
    # A few Cyrillic words in an English passage leave it English.
    assert language_group("The command prints the processes; in Russian it is called "
                          "Показать процессы and works the same way everywhere.") \
        == LANGUAGE_GROUPS["en"]


def test_a_querys_language_is_told_only_when_decided(words):
    from notesearch.core.lexicon import query_language

    assert query_language("Übungen für den unteren Rücken") == "de"
    assert query_language("recette de la tarte aux pommes") == "fr"
    assert query_language("how do I make a query") == "en"
    # English and German alike, or too short to tell: no language, so no stopwords of one.
    assert query_language("die hard") != "de"
    assert query_language("der Pate") is None
    # Russian's list is short: Cyrillic it does not tell is taken for Russian.
    assert query_language("что такое рекурсия в программировании") == "ru"
    # Its function words are dropped, German's also as typed without umlauts; and German
    # typed without umlaut keys throughout is German too (a CLI trial: "fuer" was searched
    # as "für" there, a correction shown for a word the query should drop).
    assert query_terms("Übungen fuer den unteren Rücken") == ["übungen", "unteren", "rücken"]
    assert query_language("Rueckenschmerzen Uebungen fuer den Ruecken") == "de"
    assert query_terms("Rueckenschmerzen Uebungen fuer den Ruecken") == [
        "rueckenschmerzen", "uebungen", "ruecken"]
    assert query_language("blue queue for the true believers") == "en"
    assert query_terms("что такое рекурсия в программировании") == [
        "такое", "рекурсия", "программировании"]
