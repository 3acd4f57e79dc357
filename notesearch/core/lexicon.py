"""Words of twelve languages and how common each is, from pyspellchecker's frequency lists."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterable
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from .text import (
    SCRIPT_CJK,
    SCRIPT_OTHER,
    mostly_cjk,
    normalise,
    query_terms,
    with_umlauts,
    written_words,
)

log = logging.getLogger(__name__)

#: Overrides the folder the built word lists are cached in (tests point it at one folder).
CACHE_ENV = "NOTESEARCH_WORDS_CACHE"
#: Bumped whenever what is built here changes, so old caches are built again.
BUILD_FORMAT = 2
#: Bits of a word's frequency code per language: 0 = not in that language's list, else
#: 1 + log2(count / the list's smallest count), at most 15.
_CODE_BITS = 4
#: How many times likelier under one language than under any other a text must be to be
#: called that language's (a natural-log margin): about three words that only it has.
LANGUAGE_MARGIN = math.log(1000.0)
#: The log-probability of a word no list holds, under any language: below every list's
#: rarest word (English's, the largest corpus, is about 3e-8).
_UNLISTED = math.log(1e-8)


class Lexicon:
    """The words of pyspellchecker's lists (OpenSubtitles word counts topped up from
    dictionaries: Arabic, Basque, Dutch, English, French, German, Italian, Latvian, Persian,
    Portuguese, Russian, Spanish; 1.8 million terms, normalised as query terms are), each a
    64-bit digest beside its frequency codes, memory-mapped from the cache (a set of the
    strings took about 130 MB)."""

    def __init__(self, digests: np.ndarray, codes: np.ndarray, languages: list[str],
                 floors: np.ndarray) -> None:
        """`digests` (n,) uint64 sorted; `codes` (n,) uint64, _CODE_BITS a language in the
        order of `languages`; `floors` (languages,) the log-probability of a word at code 1
        in each language's list (its smallest count over its total)."""
        self._digests = digests
        self._codes = codes
        self.languages = tuple(languages)
        self._floors = floors

    def __len__(self) -> int:
        return int(self._digests.size)

    def __contains__(self, term: object) -> bool:
        """True when `term` (a query term: text.query_terms's form) is in some list."""
        return isinstance(term, str) and self._packed(term) != 0

    def languages_of(self, term: str) -> set[str]:
        """The languages whose lists hold `term` (empty for a word of none)."""
        packed = self._packed(term)
        return {language for i, language in enumerate(self.languages)
                if (packed >> (_CODE_BITS * i)) & 0xF}

    def frequency_code(self, term: str, language: str) -> int:
        """Return `term`'s frequency code in `language`'s list: 0 when the list lacks it (or
        there is no such list), else 1 + log2(its count / the list's smallest), at most 15."""
        if language not in self.languages:
            return 0
        return (self._packed(term) >> (_CODE_BITS * self.languages.index(language))) & 0xF

    def language_of(self, words: Iterable[str]) -> str | None:
        """Return the language a text's `words` (text.written_words: stopwords included, as
        they tell languages apart best) are written in: the likeliest by their frequencies
        (a unigram naive Bayes), when it is LANGUAGE_MARGIN likelier than any other and its
        list holds at least half of the words; else None (too few words, a language of
        none of the lists, Chinese)."""
        codes = self._codes_of(words)
        if codes.shape[0] == 0:
            return None
        scores = self._scores(codes)
        best, second = np.argsort(scores)[::-1][:2]
        if (scores[best] - scores[second] < LANGUAGE_MARGIN
                or np.count_nonzero(codes[:, best]) * 2 < codes.shape[0]):
            return None
        return self.languages[int(best)]

    def is_foreign(self, words: Iterable[str], language: str) -> bool:
        """True when `words` (a query's terms) are LANGUAGE_MARGIN likelier under some other
        language than under `language`: "root canal treatment" to German, not "constat
        amiable" (French, but each word English too) to English."""
        if language not in self.languages:
            return False
        codes = self._codes_of(words)
        if codes.shape[0] == 0:
            return False
        scores = self._scores(codes)
        return bool(scores.max() - scores[self.languages.index(language)] >= LANGUAGE_MARGIN)

    def _codes_of(self, words: Iterable[str]) -> np.ndarray:
        """(words, languages) frequency codes of the alphabetic words, looked up at once."""
        digests = b"".join(_digest_bytes(word) for word in words if word.isalpha())
        if not digests:
            return np.zeros((0, len(self.languages)), dtype=np.int64)
        keys = np.frombuffer(digests, dtype="<u8").astype(np.uint64)
        at = np.minimum(np.searchsorted(self._digests, keys), self._digests.size - 1)
        packed = np.where(self._digests[at] == keys, self._codes[at], np.uint64(0))
        shifts = np.arange(len(self.languages), dtype=np.uint64) * np.uint64(_CODE_BITS)
        return ((packed[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.int64)

    def _scores(self, codes: np.ndarray) -> np.ndarray:
        """(languages,) log-likelihood of words with these codes under each language; a word
        not in a list is as rare under every language (_UNLISTED), as a list's own floor
        would favour the smallest corpus's language."""
        listed = self._floors + math.log(2.0) * (codes - 1)
        return np.where(codes > 0, listed, _UNLISTED).sum(axis=0)

    def _packed(self, term: str) -> int:
        if not term:
            return 0
        key = np.uint64(_digest(term))
        at = int(np.searchsorted(self._digests, key))
        if at < self._digests.size and self._digests[at] == key:
            return int(self._codes[at])
        return 0


_lock = threading.Lock()
_loaded: Lexicon | None = None
_failed = False


def lexicon(wait: bool = True) -> Lexicon | None:
    """Return the lexicon, mapped from its cache (a few ms) or built there at first use
    (5-10 s, once); None when pyspellchecker is not installed or its lists or the cache
    cannot be read (then no word counts as known). Thread-safe; later calls return the
    same one. `wait=False`: None at once while another thread is reading or building it (a
    keystroke does not wait seconds for the lists the app's read-ahead is building)."""
    global _loaded, _failed
    if _loaded is not None or _failed:
        return _loaded
    if not _lock.acquire(blocking=wait):
        return None
    try:
        if _loaded is None and not _failed:
            try:
                _loaded = _load()
            except (OSError, ValueError, metadata.PackageNotFoundError) as error:
                log.warning("word lists unavailable (%s): words judged by the model's"
                            " vocabulary alone", error)
                _failed = True
        return _loaded
    finally:
        _lock.release()


#: Each language's group in meaning search (vectors.Centring: passages are centred on their
#: own language's mean), kept with each vector (embeddings.script) beside text.SCRIPT_OTHER,
#: text.SCRIPT_CJK and the groups of _SCRIPTS (14-17); fixed here, so that a list
#: pyspellchecker adds moves none of them.
LANGUAGE_GROUPS = {"ar": 2, "de": 3, "en": 4, "es": 5, "eu": 6, "fa": 7, "fr": 8, "it": 9,
                   "lv": 10, "nl": 11, "pt": 12, "ru": 13}


#: Scripts that make a group of their own, whatever the language (most of a text's letters
#: in them): Cyrillic is Russian's group (its list is short, 20k words, and most Russian
#: passages were told of no language), Arabic script that of Arabic unless the lists tell
#: Persian; the rest have no lists.
_SCRIPTS = ((re.compile("[\u0400-\u052f]"), LANGUAGE_GROUPS["ru"]),
            (re.compile("[\u0600-\u06ff\u0750-\u077f]"), LANGUAGE_GROUPS["ar"]),
            (re.compile("[\u0370-\u03ff\u1f00-\u1fff]"), 14),  # Greek
            (re.compile("[\u0590-\u05ff]"), 15),  # Hebrew
            (re.compile("[\u0900-\u097f]"), 16),  # Devanagari
            (re.compile("[\u0e00-\u0e7f]"), 17))  # Thai


def language_group(text: str, wait: bool = True, query: bool = False) -> int:
    """Return the group `text` (a passage or a query) is centred in: text.SCRIPT_CJK when
    most of its letters are Chinese, Japanese or Korean; a script's group (_SCRIPTS) when
    most are of it; else its language's LANGUAGE_GROUPS entry when the word lists tell it
    (Lexicon.language_of), else text.SCRIPT_OTHER (too few words, a language of none of
    the lists, or no lists; `wait`: see `lexicon`). `query`: the language as
    query_language keeps it for the query's keystroke (never waiting)."""
    if mostly_cjk(text):
        return SCRIPT_CJK
    script = _script_group(text)
    if script is not None and script != LANGUAGE_GROUPS["ar"]:
        return script
    if query:
        language = query_language(text)
    else:
        words = lexicon(wait)
        language = words.language_of(written_words(text)) if words is not None else None
    if script is not None:  # Arabic script: Persian when the lists say so
        return LANGUAGE_GROUPS["fa"] if language == "fa" else script
    return LANGUAGE_GROUPS.get(language, SCRIPT_OTHER) if language else SCRIPT_OTHER


def _script_group(text: str) -> int | None:
    """The _SCRIPTS group most of `text`'s letters are written in, or None."""
    if text.isascii():
        return None
    letters = sum(char.isalpha() for char in text)
    for pattern, group in _SCRIPTS:
        if len(pattern.findall(text)) * 2 > letters > 0:
            return group
    return None


_query_languages: dict[str, str | None] = {}


def query_language(query: str) -> str | None:
    """Return the language a query is decidedly written in (Lexicon.language_of over its
    words, stopwords included), or None: undecided, or the lists not read yet or being read
    by another thread (a keystroke does not wait). Kept for the last 1,024 queries (about
    50 µs each)."""
    words = lexicon(wait=False)
    if words is None:
        return None
    known = _query_languages.get(query, "")
    if known != "":
        return known
    if len(_query_languages) >= 1024:
        _query_languages.clear()
    written = written_words(query)
    # Cyrillic the lists do not tell (Russian's is short) is taken for Russian, as its
    # passages are grouped (language_group).
    language = words.language_of(written) or (
        "ru" if _script_group(query) == LANGUAGE_GROUPS["ru"] else None)
    if language is None and any(w != with_umlauts(w) for w in written):
        # German typed without umlaut keys ("fuer den Ruecken"), its words as unlisted as
        # made-up ones: each word no list holds is tried with its umlauts.
        restored = [w if w in words else with_umlauts(w) for w in written]
        language = "de" if words.language_of(restored) == "de" else None
    _query_languages[query] = language
    return language


def leaves_language(typed: str, corrected: str, language: str | None) -> bool:
    """True when the query is decidedly in `language` (query_language), `typed` is a word
    of it and `corrected` is not: a real word of the language the person writes,
    "corrected" into another's ("tipps" into "tips" in a German query). False for a query
    of no decided language (a word alone: the lists hold noise, "fuer" is in Spanish's) or
    without the word lists."""
    words = lexicon(wait=False)
    if words is None or language is None:
        return False
    return (language in words.languages_of(typed)
            and language not in words.languages_of(corrected))


#: A word its language's list holds at this code or more (a count at least 4 times the
#: list's rarest) is a word of the language, never a typo to correct: "chord" (code 7) had
#: been searched as "chore". Of 2,966 one-edit typos of foam-docs' and dendron-site's
#: commonest words that no note holds, 38 are English words at 3 or more ("election",
#: "asks"), and none of the development set's nine typos is listed at all.
COMMON_CODE = 3


def is_common_word(term: str, language: str | None) -> bool:
    """True when the word lists hold `term` as a word of `language` (a query's language,
    query_language; English when undecided) at COMMON_CODE or more. False without the lists,
    or while another thread reads them (for searches)."""
    words = lexicon(wait=False)
    return words is not None and words.frequency_code(term, language or "en") >= COMMON_CODE


def is_known(term: str) -> bool:
    """True when `term` is a word of one of the lexicon's languages (False without it, or
    while another thread reads it: for searches)."""
    known = lexicon(wait=False)
    return known is not None and term in known


def cache_dir() -> Path:
    """$NOTESEARCH_WORDS_CACHE, else the user cache folder (~/.cache/notesearch/words)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("notesearch", appauthor=False)) / "words"


def _digest(term: str) -> int:
    """A digest stable across processes (Python's hash() is salted per process)."""
    return int.from_bytes(_digest_bytes(term), "little")


def _digest_bytes(term: str) -> bytes:
    return hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()


def _paths() -> tuple[Path, Path]:
    stem = f"words-{metadata.version('pyspellchecker')}-{BUILD_FORMAT}"
    folder = cache_dir()
    return folder / f"{stem}.npy", folder / f"{stem}.json"


def _load() -> Lexicon:
    table_path, header_path = _paths()
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
        table = np.load(table_path, mmap_mode="r", allow_pickle=False)
        if table.ndim == 2 and table.shape[0] == 2 and table.dtype == np.uint64:
            return Lexicon(table[0], table[1], header["languages"],
                           np.array(header["floors"], dtype=np.float64))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or damaged: built again below
    table, languages, floors = _build()
    try:
        table_path.parent.mkdir(parents=True, exist_ok=True)
        partial = table_path.with_suffix(".part")
        with open(partial, "wb") as handle:
            np.save(handle, table, allow_pickle=False)
        os.replace(partial, table_path)
        header_path.write_text(json.dumps({"languages": languages, "floors": floors.tolist()}),
                               encoding="utf-8")
    except OSError as error:
        log.warning("cannot cache the word lists in %s: %s", table_path.parent, error)
    return Lexicon(table[0], table[1], languages, floors)


def _build() -> tuple[np.ndarray, list[str], np.ndarray]:
    """Every list's words as query terms: a (2, n) uint64 table of sorted digests and their
    frequency codes, the languages in code order, and each list's floor log-probability."""
    folder = resources.files("spellchecker") / "resources"
    entries = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".json.gz")),
                     key=lambda entry: entry.name)
    languages: list[str] = []
    floors: list[float] = []
    digests: list[bytes] = []
    codes: list[np.ndarray] = []
    for index, entry in enumerate(entries):
        with entry.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
            counts: dict[str, int] = json.load(text)
        smallest = min(counts.values())
        languages.append(entry.name.removesuffix(".json.gz"))
        floors.append(math.log(smallest / sum(counts.values())))
        kept = [(term, count) for term, count in ((_as_term(w), c) for w, c in counts.items())
                if term]
        digests.extend(_digest_bytes(term) for term, _ in kept)
        steps = np.log2(np.array([count for _, count in kept], dtype=np.float64) / smallest)
        code = 1 + np.clip(steps, 0, 14).astype(np.uint64)
        codes.append(code << np.uint64(_CODE_BITS * index))
    keys = np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)
    packed = np.concatenate(codes)
    order = np.argsort(keys, kind="stable")
    keys, packed = keys[order], packed[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    # Two words of one list may be one term ("Straße", "strasse"): their codes' OR may
    # exceed either, harmlessly (a code is a coarse frequency).
    merged = np.bitwise_or.reduceat(packed, starts)
    return np.stack([keys[starts], merged]), languages, np.array(floors)


def _as_term(word: str) -> str | None:
    """`word` as the query term it would be ("Straße" is "strasse", "ёлка" is "елка"), or
    None when it is none or several ("aujourd'hui")."""
    folded = normalise(word)
    if folded.isalpha():
        return folded  # most entries: a single word is its own term, stopword or not
    terms = query_terms(word)
    return terms[0] if len(terms) == 1 else None
