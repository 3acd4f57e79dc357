"""Text for keyword search: CJK bigrams for FTS5, query building, and highlighting in snippets."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple, cast
from urllib.parse import unquote

import apsw
import numpy as np

#: The keyword index's tokenizer: `scriptstem` (register_tokenizer: Snowball stemmers by
#: script, below) over FTS5's Porter stemming over unicode61, so "backlink" finds
#: "backlinks". Porter against plain unicode61 (benchmarks/retrieval.py, keyword-only
#: nDCG@10): SciFact 0.632 -> 0.663, NPL 0.346 -> 0.413, Cranfield 0.326 -> 0.333; hybrid SciFact
#: 0.719 -> 0.737, NPL 0.435 -> 0.469. Combining marks (Mn, Mc) are letters of their word:
#: unicode61's default ("L* N* Co") split Hindi, Bengali, Tamil, Thai, Burmese ... at every
#: vowel sign, "हिन्दी में नोट्स" into seven single consonants that matched any note in the
#: script. Variation selectors (U+FE0E, U+FE0F: text or emoji style) are Mn too, and stay
#: separators. remove_diacritics still takes accents off Latin letters, written apart or not.
FTS_TOKENIZER = (STEMMING_TOKENIZER := "scriptstem",
                 ("porter", "unicode61", "remove_diacritics", "2", "categories",
                  "L* N* Co Mn Mc", "separators", "\ufe0e\ufe0f"))
#: The same as the `tokenize` option of an FTS5 table, to be written in double quotes.
FTS_TOKENIZE_OPTION = ("scriptstem porter unicode61 remove_diacritics 2 categories "
                       "'L* N* Co Mn Mc' separators '\ufe0e\ufe0f'")

#: Scripts whose words are stemmed by the Snowball stemmer of the language most written in
#: them (Porter, through FTS5's own tokenizer, stems English): "бюджета" and "бюджету" are
#: "бюджет", "बैठकों" is "बैठक". Latin script is left to Porter alone: its languages cannot
#: be told apart word by word. Cyrillic by Russian's rules, Devanagari by Hindi's.
_SCRIPT_STEMMERS = (("\u0400", "\u04ff", "russian"), ("\u0370", "\u03ff", "greek"),
                    ("\u0530", "\u058f", "armenian"), ("\u0900", "\u097f", "hindi"),
                    ("\u0b80", "\u0bff", "tamil"))


@lru_cache(maxsize=65536)
def _script_stem(token: str) -> str:
    """Return `token` stemmed by its script's Snowball stemmer (_SCRIPT_STEMMERS), or as it
    is. Cached: a library's vocabulary repeats, and a pure-Python stemmer takes ~25 us."""
    first = token[0]
    for low, high, language in _SCRIPT_STEMMERS:
        if low <= first <= high:
            return _stemmer(language).stemWord(token)
    return token


@cache
def _stemmer(language: str):  # noqa: ANN202 (snowballstemmer has no type hints)
    import snowballstemmer

    return snowballstemmer.stemmer(language)


def _stemming_tokenizer(conn: apsw.Connection, args: list[str]):  # noqa: ANN202
    """The FTS5 tokenizer factory behind FTS_TOKENIZER (whose arguments, Porter over
    unicode61, are `args`): _tokenize's. It holds nothing of `conn`: a tokenizer of the
    library's own connection, kept in here, made a cycle that kept the connection from
    being closed at exit, which left its write-ahead log behind."""
    if tuple(args) != FTS_TOKENIZER[1]:
        raise ValueError(f"{STEMMING_TOKENIZER} wraps only {' '.join(FTS_TOKENIZER[1])}")

    def tokenize(utf8: bytes, flags: int, locale: str | None) -> list[tuple[int, int, str]]:
        return _tokenize_utf8(utf8, flags)

    return tokenize


def _script_stemmed(tokens: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Return (start, end, token) tokens with _script_stem applied to those not ASCII."""
    return [(a, b, t if t.isascii() else _script_stem(t)) for a, b, t in tokens]


def register_tokenizer(conn: apsw.Connection) -> None:
    """Make the keyword index's tokenizer (FTS_TOKENIZER) known to `conn`: every connection
    that reads or writes the keyword index needs it."""
    conn.register_fts5_tokenizer(STEMMING_TOKENIZER, _stemming_tokenizer)


def _mark_class() -> str:
    """The combining marks the index keeps in words (FTS_TOKENIZER), as regular-expression
    ranges: Mn and Mc from U+0300 to U+1FFF (Greek to Khmer, and the extended diacritics)
    and U+A000 to U+ABFF (scripts of India and South-East Asia added later); variation
    selectors and enclosing marks are left out, as the index leaves them out. (Scanning the
    whole plane took 19 ms at every start.)"""
    spans: list[tuple[int, int]] = []
    for low, high in ((0x300, 0x2000), (0xA000, 0xAC00), (0xFE20, 0xFE30)):
        for code in range(low, high):
            if unicodedata.category(chr(code)) in ("Mn", "Mc"):
                if spans and spans[-1][1] == code - 1:
                    spans[-1] = (spans[-1][0], code)
                else:
                    spans.append((code, code))
    return "".join(f"{chr(a)}-{chr(b)}" if b > a else chr(a) for a, b in spans)


# Scripts written without spaces between words: FTS5's unicode61 tokenizer would make a whole
# sentence one token, so runs of these become overlapping character bigrams (as CJK BM25 does).
# Hangul is written with spaces, but particles stick to nouns ("노트를" is "노트" + "를"):
# bigrams let "노트" find it. Thai, Lao, Burmese and Khmer are written without spaces too.
_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\uac00-\ud7af"  # Hangul syllables
)
_UNSPACED = (_CJK
             + "\u0e00-\u0e7f"  # Thai
             + "\u0e80-\u0eff"  # Lao
             + "\u1000-\u109f"  # Myanmar
             + "\u1780-\u17ff")  # Khmer
_MARK = _mark_class()
_CJK_RUN = re.compile(f"[{_UNSPACED}]+")
# A word is a run of a script without spaces, or a run of other letters, digits and the
# marks that belong to them: "用Python写" is three pieces, "हिन्दी" one.
_WORD_CHAR = rf"(?:(?![{_UNSPACED}])(?:[^\W_]|[{_MARK}]))"
_WORD = re.compile(rf"[{_UNSPACED}]+|{_WORD_CHAR}+", re.UNICODE)
_IS_CJK = re.compile(f"[{_UNSPACED}]")  # a term of a script without spaces: a bigram
_IS_CJK_SCRIPT = re.compile(f"[{_CJK}]")  # Chinese, Japanese, Korean (script groups)


def normalise(text: str) -> str:
    """Return text as both the index and queries see it: NFKC (full-width "ＨＤＭＩ" is
    "HDMI", ligatures split), full case folding ("İstanbul" is "istanbul", "Straße" is
    "strasse"), and the folds of _FOLDS and han_folds() (traditional Chinese characters as
    simplified ones).

    Lengths may change (a ligature becomes two letters); see `normalise_with_offsets`.
    """
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    # "İ" folds to "i" + a combining dot that no precomposed letter absorbs; the index drops
    # diacritics anyway, and a dot left in would split the word in two.
    return folded.replace("i\u0307", "i").translate(_folds())


#: Hebrew points and cantillation, Arabic short vowels (harakat), Quranic marks and the
#: tatweel (a stretch of the joining line): written in teaching, scripture and poetry, left
#: out in everyday writing, so a word is searched without them ("בְּרֵאשִׁית" is "בראשית",
#: "كَتَبَ" is "كتب"), as Arabic and Hebrew search commonly does. Other scripts' vowel signs
#: (Devanagari's, Thai's) are letters of their words and stay.
_POINTING: dict[int, str | None] = dict.fromkeys(
    [*range(0x0591, 0x05BE), 0x05BF, 0x05C1, 0x05C2, 0x05C4, 0x05C5, 0x05C7,
     *range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0640, 0x0670,
     *range(0x06D6, 0x06DD), *range(0x06DF, 0x06E5), 0x06E7, 0x06E8, *range(0x06EA, 0x06EE)])


def unpointed(text: str) -> str:
    """Return `text` without Hebrew points and Arabic short vowels (_POINTING), as the
    embedding model reads it: a fully vowelled Arabic grammar note came out close to any
    short query ("Klausur", "azafran" and "Vertrag" found it first among 41 notes), and
    without its vowels it no longer did, while still first for questions about it."""
    return text if text.isascii() else text.translate(_POINTING)


#: Letters the index's remove_diacritics leaves as they are, because Unicode does not
#: decompose them (a stroke, a ligature) or because it folds Latin only: typed without, as
#: people type them on a keyboard that lacks them ("Da Lat" for "Đà Lạt", "Lodz" for
#: "Łódź", "Igdir" for "Iğdır", "свекла" for "свёкла", as Russian is mostly printed).
#: Lowercase only: normalise folds case first. The same letters as Lucene's ASCII
#: folding, but for "ё", which Russian search engines fold to "е".
_LETTERS = {"đ": "d", "ł": "l", "ø": "o", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae",
            "œ": "oe", "ё": "е"}
_FOLDS: dict[int, str | None] = {**_POINTING, **{ord(a): b for a, b in _LETTERS.items()}}
_ALL_FOLDS: dict[int, str | None] | None = None  # _FOLDS and han_folds(), once built


def han_folds() -> dict[int, str]:
    """Return traditional Chinese characters -> their simplified forms (4,000-odd entries,
    one character to one), as OpenCC's "t2s" table converts them one at a time, kept where
    the simplified form is in the blocks that are indexed as bigrams (a rare character
    whose simplified form lies outside them stays as written). Folded in index and query
    alike, "紅燒肉" finds "红烧肉" and back; a fresh-user trial's query in traditional
    characters found its simplified note by meaning alone, shown under "no good match".
    Japanese kanji fold too, the same in notes and queries. Empty, with a warning logged,
    when OpenCC cannot be loaded. Built once, on the first text not ASCII: 10-30 ms with
    OpenCC's import."""
    try:
        import opencc
    except ImportError as error:  # a declared dependency: only a broken install lacks it
        logging.getLogger(__name__).warning(
            "traditional and simplified Chinese are searched apart: %s", error)
        return {}
    han = [chr(code) for low, high in _HAN_BLOCKS for code in range(low, high + 1)]
    converted = opencc.OpenCC("t2s").convert("\n".join(han)).split("\n")
    if len(converted) != len(han):  # each character alone: never a phrase, nor split
        return {}
    return {ord(a): b for a, b in zip(han, converted, strict=True)
            if b != a and len(b) == 1 and any(low <= ord(b) <= high for low, high in _HAN_BLOCKS)}


#: The Han blocks of _CJK: extension A, unified ideographs, compatibility ideographs.
_HAN_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _folds() -> dict[int, str | None]:
    """The table normalise translates by: _FOLDS and han_folds()."""
    global _ALL_FOLDS
    if _ALL_FOLDS is None:
        _ALL_FOLDS = {**_FOLDS, **han_folds()}
    return _ALL_FOLDS


def normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """Return normalise(text) and, for each of its characters, the offset in `text` it came from.

    Normalising character by character keeps offsets exact for highlighting; combining marks
    are folded with the character before them. ASCII stretches, most of most notes, are
    lowered whole (a passage of mixed text went from 1.4 ms to about 0.1 ms), and so are runs
    of CJK, which normalise to themselves.
    """
    if text.isascii():
        return text.lower(), list(range(len(text)))
    table = _one_for_one(text)
    if table is not None:  # every character folds to one character: no offsets move
        return text.translate(table), list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    done = 0
    for match in _NON_ASCII_RUN.finditer(text):
        start, end = match.span()
        if start > done and unicodedata.combining(text[start]):
            start -= 1  # the mark belongs with the ASCII letter before it
        out.append(text[done:start].lower())
        origin.extend(range(done, start))
        _normalise_each(text, start, end, out, origin)
        done = end
    out.append(text[done:].lower())
    origin.extend(range(done, len(text)))
    return "".join(out), origin


_FOLDS_TO: dict[str, str | None] = {}  # character -> the one character it folds to, or None
_FOLDS_TO_ITSELF: set[str] = set()
_JAMO = ("\u1100-\u11ff", "\u3130-\u318f", "\ua960-\ua97f", "\ud7b0-\ud7ff")
_JAMO_RE = re.compile(f"[{''.join(_JAMO)}]")


def _one_for_one(text: str) -> dict[int, str] | None:
    """Return a str.translate table normalising `text`, or None when some character of it
    does not fold to exactly one character on its own (a ligature, a mark that combines with
    the one before it, Hangul jamo): then offsets move and the slow path is needed.

    Most text in any script passes (a page of Chinese with its punctuation folds in one C
    call instead of character by character: 0.1 s of snippets per search at 100 results)."""
    table: dict[int, str] = {}
    for char in set(text) - _FOLDS_TO_ITSELF:  # a set difference in C: most are known
        if char not in _FOLDS_TO:
            _FOLDS_TO[char] = _fold_alone(char)
        folded = _FOLDS_TO[char]
        if folded is None:
            return None
        if folded == char:
            _FOLDS_TO_ITSELF.add(char)
        else:
            table[ord(char)] = folded
    return table


def _fold_alone(char: str) -> str | None:
    """The one character `char` normalises to, or None when it is not one, or when `char`
    could combine with a neighbour (marks, jamo) under NFKC."""
    if unicodedata.category(char).startswith("M") or _JAMO_RE.match(char):
        return None
    folded = normalise(char)
    if len(folded) != 1 or unicodedata.category(folded).startswith("M"):
        return None
    return folded


def _normalise_each(text: str, start: int, end: int, out: list[str], origin: list[int]) -> None:
    """Normalise text[start:end] one character (with its combining marks) at a time."""
    begin = start
    for index in range(start + 1, end + 1):
        if index < end and unicodedata.combining(text[index]):
            continue
        piece = _normalise_piece(text[begin:index])
        out.append(piece)
        origin.extend([begin] * len(piece))
        begin = index


# Characters that normalise to themselves one for one: ASCII (only lower-cased), CJK
# ideographs, Hangul syllables and kana letters. Runs of anything else take the slow path; a
# passage of Chinese went from one character at a time (0.4 s for 100 results) to a slice.
_NON_ASCII_RUN = re.compile(
    r"[^\x00-\x7f\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]+")


@lru_cache(maxsize=8192)
def _normalise_piece(piece: str) -> str:
    return normalise(piece)


PREFIX_MIN_LETTERS = 3

# Words so common in questions that matching them says nothing about a note.
_STOPWORD_TEXT = """
a an and are as at be but by can do does did for from how i if in into is it its me my of on or
our so that the their them then there these they this to was we what when where which who why
will with you your
怎么 么做 么样 什么 么是 是什 如何 为什 哪里 哪些 哪个 可以 一下 我们 你们 他们 这个 那个 的是
"""
# Chinese question and function words are listed as the bigrams a query is split into.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# The same for languages the word lists tell (lexicon.py): articles, pronouns, prepositions,
# conjunctions, auxiliaries and question words, as the English list above. German "der",
# "zu", "mit" and French "les", "de" were searched and marked in German and French queries
# (a fresh-user trial). Dropped only from a query decidedly in that language
# (query_stopwords): "die", "den", "son", "con", "also", "over" are English words too.
_LANGUAGE_STOPWORD_TEXT = {
    "de": """der die das den dem des ein eine einen einem einer eines und oder aber als an
        auf aus bei beim bis durch für gegen in im ins mit nach ohne über um unter von vom
        vor zu zum zur zwischen am ist sind war waren wird werden kann können ich du er sie
        es wir ihr mein meine dein deine sein seine ihre unser man sich mich mir dich dir uns
        euch wie was wann wo warum welche welcher welches wer dass ob wenn so da dann""",
    "fr": """le la les l un une des du de d au aux et ou mais donc car ni que qui quoi quel
        quelle quels quelles comment pourquoi quand où est sont été être a ai as avez ont
        avoir je j tu il elle on nous vous ils elles me m te t se s mon ma mes ton ta tes son
        sa ses notre nos votre vos leur leurs ce c cet cette ces dans en sur sous par pour
        avec sans chez entre vers y qu""",
    "es": """el la los las lo un una unos unas y e o u pero que qué quien quién cual cuál
        como cómo cuando cuándo donde dónde por para porque con sin en de del al a es son
        ser está están estar era fue ha han hay yo tú tu él ella nosotros vosotros ellos
        ellas mi mis su sus nuestro nuestra se me te le les nos este esta estos estas ese
        esa esos esas sobre entre hasta desde""",
    "it": """il lo la i gli le l un uno una e ed o ma che chi cui come quando dove perché
        quale quali di d del dello della dei degli delle a al allo alla ai agli alle da dal
        dallo dalla dai in nel nello nella nei negli nelle con su sul sullo sulla per tra
        fra è sono essere ha hanno ho io tu lui lei noi voi loro mio mia miei mie tuo tua
        suo sua suoi sue nostro vostro si mi ti ci vi questo questa questi queste quello
        quella""",
    "nl": """de het een en of maar dat die dit deze wat wie waar wanneer waarom hoe welke
        van in op aan met voor naar bij door uit om tot te als is zijn was waren wordt
        worden heeft hebben ik jij je hij zij ze wij we jullie mijn jouw haar ons onze hun
        er zich""",
    "pt": """o a os as um uma uns umas e ou mas que quem qual quais como quando onde porque
        por para com sem em de do da dos das no na nos nas ao aos à às pelo pela pelos pelas
        é são ser está estão estar era foi tem têm há eu tu ele ela nós eles elas meu minha
        seu sua seus suas nosso nossa se me te lhe este esta isto esse essa isso aquele
        aquela sobre entre até desde""",
    "ru": """и в во на с со к ко по о об от до из за для у без над под при что кто как где
        когда почему какой какая какие какое это этот эта эти тот та те то я ты он она оно
        мы вы они мой моя моё мои твой его её их наш ваш свой себя а но или ли же бы был
        была было были есть быть""",
}
_DIGRAPHS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _stopword_set(language: str, words: str) -> frozenset[str]:
    """STOPWORDS and `language`'s own, German's also as typed without umlauts ("fuer")."""
    own = {normalise(word) for word in words.split()}
    if language == "de":
        own |= {word.translate(_DIGRAPHS) for word in own}
    return STOPWORDS | own


#: Each language's stopwords, with the English ones (STOPWORDS) that every query drops.
LANGUAGE_STOPWORDS = {language: _stopword_set(language, words)
                      for language, words in _LANGUAGE_STOPWORD_TEXT.items()}


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def unspaced_runs(text: str) -> list[str]:
    """Return the runs of `text` in scripts written without spaces (CJK, Thai, Lao, Burmese,
    Khmer), which the index holds as bigrams."""
    return _CJK_RUN.findall(text)


def fts_text(text: str) -> str:
    """Return `text` rewritten for the FTS index: normalised, runs of scripts without spaces
    (CJK, Thai, ...) as bigrams set apart by spaces (so "用Python写" indexes "Python" as a
    word of its own)."""
    return _CJK_RUN.sub(lambda m: " " + " ".join(_bigrams(m.group())) + " ", normalise(text))


#: A clitic an apostrophe joins to a word: English endings ("can't", "it's", "we'll") and
#: French elided words before one ("l'eau", "qu'il"). Searched, "t" of "can't" matched the
#: "t" of every "doesn't" and was marked there (a fresh-user trial).
_CLITIC = re.compile(r"(?<=[^\W\d_])['\u2019](?:t|s|d|ll|re|ve|m)\b"
                     r"|\b(?:[cdjlmnst]|qu)['\u2019](?=[^\W\d_])")


def query_words(query: str) -> str:
    """Return the query normalised, its clitics ("n't", "'s", "l'") set apart as spaces."""
    return _CLITIC.sub(" ", normalise(query))


def query_terms(query: str) -> list[str]:
    """Return the lower-cased search terms of a query (CJK as bigrams), stopwords and
    clitics removed.

    If every word is a stopword, they are kept: a search for "the who" still means something.
    """
    pieces: list[str] = []
    for word in _WORD.findall(query_words(query)):
        pieces.extend(_bigrams(word) if _IS_CJK.match(word) else [word])
    stopwords = query_stopwords(query)
    kept = [p for p in pieces if p not in stopwords] or pieces
    return list(dict.fromkeys(kept))


def query_stopwords(query: str) -> frozenset[str]:
    """Return the words `query_terms` drops from `query`: STOPWORDS, and those of the language
    the query is decidedly written in (LANGUAGE_STOPWORDS, lexicon.query_language; none
    while another thread reads the word lists)."""
    from notesearch.core.lexicon import query_language  # lazy: the lexicon is built on this

    language = query_language(query)
    return LANGUAGE_STOPWORDS.get(language, STOPWORDS) if language else STOPWORDS


_local = threading.local()


def _tokenize(text: str, flags: int) -> list[tuple[int, int, str]]:
    """Run the index's own tokenizer (FTS_TOKENIZER) over text; byte offsets."""
    return _tokenize_utf8(text.encode("utf-8"), flags)


def _tokenize_utf8(utf8: bytes, flags: int) -> list[tuple[int, int, str]]:
    """FTS_TOKENIZER over UTF-8 bytes: FTS5's Porter over unicode61 through apsw, then the
    script stemmers; the same for the index (through register_tokenizer) and for queries,
    highlights and spelling here.

    FTS5's half runs on a private in-memory connection per thread (no lock shared with
    database work) that has no Python tokenizer registered: one that had was torn down with
    a Qt worker thread's Python state, which crashed CPython 3.11."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        _local.conn = apsw.Connection(":memory:")
        inner = FTS_TOKENIZER[1]
        tokenizer = _local.tokenizer = _local.conn.fts5_tokenizer(inner[0], list(inner[1:]))
    tokens = cast(list[tuple[int, int, str]], tokenizer(utf8, flags, None))
    return tokens if utf8.isascii() else _script_stemmed(tokens)


@lru_cache(maxsize=4096)
def stem(term: str) -> str:
    """Return a query term as the keyword index stores it (lower-cased, unaccented, stemmed)."""
    tokens = _tokenize(term, apsw.FTS5_TOKENIZE_QUERY)
    return tokens[0][2] if tokens else term


def stems(words: Sequence[str]) -> list[str]:
    """Return `stem` of each of `words` (single words), tokenized in one call: spelling
    stems the ~500 strings one edit from a typed word, and one call each cost 1-2 ms."""
    joined = " ".join(words)
    tokens = _tokenize(joined, apsw.FTS5_TOKENIZE_QUERY)
    if len(tokens) == len(words):
        # Where each word starts in the joined text's bytes, and where each token does.
        sizes = map(len, words) if joined.isascii() else (len(w.encode()) for w in words)
        after = np.cumsum(np.fromiter(sizes, np.int64, len(words)) + 1)  # word i + 1 starts
        if np.array_equal(np.fromiter((t[0] for t in tokens), np.int64, len(tokens)),
                          np.r_[0, after[:-1]]):
            return [token[2] for token in tokens]
    return [stem(word) for word in words]  # a word the tokenizer split or dropped


def written_words(text: str) -> list[str]:
    """Return the words of `text` as written, normalised (not stemmed), in order: one
    regular expression, where word_tokens runs the index's tokenizer over the text."""
    return _WORD.findall(normalise(text))


def word_tokens(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, stem) for each word of `text`, in character offsets of `text`.

    Words are read as the index reads them (normalised, stemmed), so "ＨＤＭＩ" yields "hdmi"
    at the offsets of the full-width letters.
    """
    return list(_read_words(text).tokens)


@dataclass(frozen=True)
class _Words:
    """A text read as the index reads it: its words, and its normalised form for prefixes."""

    tokens: tuple[tuple[int, int, str], ...]  # (start, end, stem), offsets in the text
    folded: str  # normalise(text)
    starts: tuple[int, ...]  # where each word starts in `folded`
    #: Offset in `folded` -> offset in the text (one past the end appended); None for ASCII
    #: text, where they are equal and no CJK term can match.
    origin: list[int] | None


WORDS_CACHE = 256  # texts whose words are kept: the passages shown for the last keystrokes


@lru_cache(maxsize=WORDS_CACHE)
def _read_words(text: str) -> _Words:
    """Read `text` into words once: a passage shown at one keystroke is usually shown at the
    next, and reading it (tokenizing, normalising) was most of a result's cost."""
    if text.isascii():
        tokens = _tokenize(text, apsw.FTS5_TOKENIZE_DOCUMENT)
        return _Words(tuple(tokens), text.lower(), tuple(a for a, _, _ in tokens), None)
    folded, origin = normalise_with_offsets(text)
    origin.append(len(text))
    # Keep CJK runs apart from Latin words, as the index does (bigrams are matched apart).
    folded_tokens = _char_tokens(folded)
    return _Words(tuple((origin[a], origin[b] if b < len(origin) else len(text), token)
                        for a, b, token in folded_tokens),
                  folded, tuple(a for a, _, _ in folded_tokens), origin)


def _char_tokens(text: str) -> list[tuple[int, int, str]]:
    """Tokenize normalised text; return (start, end, stem) in character offsets."""
    spaced = _CJK_RUN.sub(lambda m: " " * len(m.group()), text)  # same length, CJK blanked
    tokens = _tokenize(spaced, apsw.FTS5_TOKENIZE_DOCUMENT)
    if spaced.isascii():
        return tokens
    # FTS5 reports UTF-8 byte offsets; a byte's character offset is the number of characters
    # begun before it (bytes that are not continuation bytes 10xxxxxx).
    data = np.frombuffer(spaced.encode("utf-8"), dtype=np.uint8)
    begun = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80))).tolist()
    return [(begun[a], begun[b], token) for a, b, token in tokens]


def mostly_cjk(text: str) -> bool:
    """True when most of `text`'s letters are Chinese, Japanese or Korean characters."""
    letters = sum(ch.isalpha() for ch in text)
    return letters > 0 and len(_IS_CJK_SCRIPT.findall(text)) * 2 > letters


#: Script groups of passages and queries (`script_group`), each centred on its own mean in a
#: meaning search (vectors.Centring). Stored with each vector (embeddings.script).
SCRIPT_OTHER, SCRIPT_CJK = 0, 1


def script_group(text: str) -> int:
    """Return the script group of `text`: SCRIPT_CJK when most of its letters are Chinese,
    Japanese or Korean characters (mostly_cjk), else SCRIPT_OTHER (Latin, Cyrillic, ..., or
    no letters at all)."""
    return SCRIPT_CJK if mostly_cjk(text) else SCRIPT_OTHER


def is_cjk(term: str) -> bool:
    """True when a term is written in a script without spaces (it is a bigram): Chinese,
    Japanese, Korean, and Thai, Lao, Burmese, Khmer."""
    return _IS_CJK.match(term) is not None


def typed_prefix(query: str) -> str | None:
    """Return the query's last term when it is a word still being typed, else None.

    That is the last word of the query as typed (no space after it), of PREFIX_MIN_LETTERS or
    more, not CJK (bigrams are whole already) and not a stopword: in "theory of" the word
    being typed is "of", and "theory" is finished, so nothing is matched as a prefix.
    """
    if not query or query[-1].isspace():
        return None
    words = _WORD.findall(normalise(query.rsplit(None, 1)[-1]))
    terms = query_terms(query)
    if not words or not terms or words[-1] != terms[-1]:
        return None
    last = words[-1]
    stopwords = query_stopwords(query)
    if _IS_CJK.match(last) or len(last) < PREFIX_MIN_LETTERS or last in stopwords:
        return None
    # FTS5 stems a prefix before matching it: "cos" is searched as "co"* and "thes" as
    # "the"*, which match most notes (6,200 and 8,500 of 10k, 16-20 ms). The rule holds for
    # what is searched.
    searched = stem(last)
    if len(searched) < PREFIX_MIN_LETTERS or searched in stopwords:
        return None
    return last


_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
#: The letters a typo in a Cyrillic or Greek word may be missing or replaced by: "бюжета"
#: lacked the "д" of "бюджета", which no letter of a-z or of the word itself supplied.
#: (Russian, Ukrainian and Belarusian letters; ё is folded to е by normalise.)
_OTHER_ALPHABETS = (("\u0400", "\u04ff", "абвгдежзийклмнопрстуфхцчшщъыьэюяіїєґў"),
                    ("\u0370", "\u03ff", "αβγδεζηθικλμνξοπρστυφχψω"))


def _alphabet(word: str) -> str:
    """The letters one_edit_away tries in `word`: its script's, or a-z."""
    first = word[:1]
    return next((letters for low, high, letters in _OTHER_ALPHABETS if low <= first <= high),
                _ALPHABET)
SPELL_MIN_LETTERS = 4  # shorter words have too many neighbours one edit away to guess


def one_edit_away(word: str) -> set[str]:
    """Return the words `word` may be a typo of, one edit away, keeping its first letter: a
    letter it lacks inserted, two neighbours swapped, and, where a finger could have made
    the slip, a letter it has too many deleted or a letter replaced (Damerau-Levenshtein
    distance 1, the slips of most typos: Damerau, 1964).

    The first letter stays (swapping the first two is allowed): people rarely mistype it,
    and without that rule "knitting" became "initting", whose stem "init" is a common word.
    Insertions and replacements use the alphabet of the word's script (a-z, Cyrillic's,
    Greek's) and the word's own letters. In a word of a-z a letter too many must double
    or sit on a key beside a neighbouring letter's, and a letter replaced beside the one
    meant (`_keys_apart`; QWERTY, QWERTZ and AZERTY): a keyboard's typos cluster on
    neighbouring keys (Kernighan, Church and Gale, 1990). A vowel too many beside a vowel
    is a slip of spelling, not of the keyboard, and is corrected too ("baise",
    "bacteriophagaes"). An English word no note of a
    multilingual library held was otherwise searched as another ("lease" as "leave",
    "pork" as the Spanish "por").

    German's ae, oe, ue for ä, ö, ü count as one edit too (`umlaut_spellings`).
    """
    letters = sorted(set(_alphabet(word)) | set(word))
    keyboard = _alphabet(word) is _ALPHABET
    splits = [(word[:i], word[i:]) for i in range(1, len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits
               if b and not (keyboard and _keys_apart(b[0], a[-1:] + b[1:2])
                             and not _vowel_beside_vowel(b[0], a[-1:] + b[1:2]))}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in [("", word)] + splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters
                if not (keyboard and _keys_apart(b[0], c))}
    inserts = {a + c + b for a, b in splits for c in letters}
    return (deletes | swaps | replaces | inserts | umlaut_spellings(word)) - {word}


#: German's spelling of ä, ö, ü without those keys (DIN 5007-2): "Rueckenschmerzen",
#: "Gruesse" found no note of "Rückenschmerzen" or "Grüße" (a fresh-user trial). Not "ue"
#: after "q", as in "Quelle".
_UMLAUT_DIGRAPH = re.compile("(?<!q)ue|ae|oe")
_UMLAUTS = {"ae": "ä", "oe": "ö", "ue": "ü"}


def with_umlauts(word: str) -> str:
    """`word` with every ae, oe, ue as ä, ö, ü ("fuer" -> "für"; "Feuer" -> "feür" too: for
    telling a language, where the word as typed is tried first)."""
    return _UMLAUT_DIGRAPH.sub(lambda m: _UMLAUTS[m.group()], word)


def umlaut_spellings(word: str) -> set[str]:
    """`word` with each of its ae, oe, ue as ä, ö, ü, and with all of them so."""
    found = list(_UMLAUT_DIGRAPH.finditer(word))
    spelt = {word[:m.start()] + _UMLAUTS[m.group()] + word[m.end():] for m in found}
    if len(found) > 1:
        spelt.add(with_umlauts(word))
    return spelt


#: Letters on neighbouring keys (a row's neighbours and the keys above and below), on QWERTY
#: with QWERTZ's and AZERTY's moved keys.
_NEIGHBOUR_KEYS = {
    "q": "wasz", "w": "qeasz", "e": "wrsdz", "r": "etdf", "t": "ryfgz", "y": "tughasx",
    "u": "yihjz", "i": "uojk", "o": "ipkl", "p": "olm", "a": "qwszy", "s": "adwezxqy",
    "d": "sferxc", "f": "dgrtcv", "g": "fhtyvbz", "h": "gjyubnz", "j": "hkuinm", "k": "jliom",
    "l": "kopm", "z": "asxtughyweq", "x": "zcsdyw", "c": "xvdf", "v": "cbfg", "b": "vngh",
    "n": "bmhj", "m": "njklp",
}


def _vowel_beside_vowel(letter: str, others: str) -> bool:
    """True when `letter` is a vowel and so is one of `others` (its neighbours)."""
    return letter in "aeiou" and any(other in "aeiou" for other in others)


def _keys_apart(letter: str, others: str) -> bool:
    """True when `letter` is none of `others` and on no key beside any of theirs."""
    return all(letter != other and other not in _NEIGHBOUR_KEYS.get(letter, "")
               for other in others)


def replace_term(query: str, word: str, replacement: str) -> str:
    """Return `query` with each whole-word occurrence of `word` (compared normalised)
    replaced by `replacement`."""
    return "".join(replacement if piece.isalnum() and normalise(piece) == word else piece
                   for piece in re.split(rf"({_WORD_CHAR}+)", query))


@lru_cache(maxsize=4096)
def phrase_key(phrase: str) -> tuple[tuple[str, ...], bool]:
    """Return what an FTS5 phrase written by `quote_term` (with "*" when a prefix) matches:
    its words as the index stores them, and whether the last is a prefix. "used", "using"
    and "use" give one key, as do the prefixes "electrical"* and "electr"*."""
    prefix = phrase.endswith("*")
    inner = (phrase[:-1] if prefix else phrase)[1:-1].replace('""', '"')
    words = tuple(token[2] for token in _tokenize(inner, apsw.FTS5_TOKENIZE_QUERY))
    return (words or (phrase,)), prefix


#: Endings Porter stemming takes off a word, tried on a stem to find a word typed as it.
_STEM_ENDINGS = ("", "e", "s", "es", "ing", "ed", "ate", "al", "ion", "le")


def word_for_stem(indexed: str) -> str | None:
    """Return a word the query tokenizer turns into the indexed stem `indexed`, or None.

    A stem is often not its own stem ("puls", of "pulse", stems to "pul"), so it cannot be
    searched as written; the stem with one of a few endings put back (or its "i" as "y",
    "happi" from "happy") usually is such a word: every stem in 100+ notes of dendron-site,
    tldr-pages and a 100k-passage library has one."""
    tried = [indexed + ending for ending in _STEM_ENDINGS]
    if indexed.endswith("i"):
        tried.append(indexed[:-1] + "y")
    return next((word for word in tried
                 if phrase_key(quote_term(word)) == ((indexed,), False)), None)


def quote_term(term: str) -> str:
    """Return a term as an FTS5 string (a phrase when it holds several words)."""
    return '"' + term.replace('"', '""') + '"'


#: Narrows a query's terms: called with the terms and the prefix that will be searched for the
#: last one (None when it is a finished word).
Keep = Callable[[list[str], str | None], list[str]]


def fts_query(query: str, prefix_last: bool = False,
              keep: Keep | None = None,
              widen_prefix: Callable[[str], str] | None = None) -> str | None:
    """Return an FTS5 MATCH expression (the phrases of `fts_phrases` OR-ed), or None when
    nothing is searchable."""
    phrases = fts_phrases(query, prefix_last, keep, widen_prefix)
    return " OR ".join(phrases) if phrases else None


def fts_phrases(query: str, prefix_last: bool = False,
                keep: Keep | None = None,
                widen_prefix: Callable[[str], str] | None = None) -> list[str]:
    """Return the FTS5 phrases a query is searched by: its terms, quoted, then its
    neighbouring word pairs (see adjacent_pairs); empty when nothing is searchable.

    With `prefix_last`, the word still being typed matches as a prefix (see typed_prefix).
    `keep` may narrow the terms (e.g. drop ones too common to be worth their cost);
    `widen_prefix` may shorten that prefix (see Searcher._matching_prefix).
    """
    terms = query_terms(query)
    prefix = typed_prefix(query) if prefix_last else None
    searched = widen_prefix(prefix) if prefix is not None and widen_prefix else prefix
    if keep is not None and terms:
        kept = keep(terms, searched)
        prefix = prefix if kept[-1:] == terms[-1:] else None
        terms = kept
    if not terms:
        return []
    quoted = [term_expression(t, alone=len(terms) == 1) for t in terms]
    # A prefix of one or two letters matches most of the index and cost 100-200 ms at 10k
    # notes; from three letters on it narrows quickly (see typed_prefix).
    if prefix is not None and searched is not None:
        quoted[-1] = quote_term(searched) + "*"
    kept_terms = set(terms)
    # A word still being typed is not yet part of a phrase.
    typed = query if prefix is None else query.rsplit(None, 1)[0]
    phrases = [p for p in adjacent_pairs(typed)
               if all(word in kept_terms for word in p.split())]
    return quoted + [quote_term(p) for p in phrases]


def term_expression(term: str, alone: bool) -> str:
    """Return the FTS5 expression of one query term: the term quoted; a CJK character that
    is the query's only term (`alone`) as a prefix, so that it finds the bigrams it begins
    ("笔" finds 笔记): the index holds bigrams, and the first character typed into the search
    box found no note by its words. In a longer query ("在2003年") a lone character stays
    itself: as a prefix it would read most of a Chinese index for little."""
    quoted = quote_term(term)
    return quoted + "*" if alone and len(term) == 1 and _IS_CJK.match(term) else quoted


MAX_PHRASE_WORDS = 12  # neighbouring pairs are looked for among a query's first words only
_LATIN_WORDS = re.compile(rf"{_WORD_CHAR}+(?:['’]{_WORD_CHAR}+)*", re.UNICODE)


def adjacent_pairs(query: str) -> list[str]:
    """Return the query's neighbouring word pairs ("drafts pro", "sqlite vec"), as phrases.

    BM25 over single words ranks a note that holds "sqlite" often and "vec" once above the
    note that names "sqlite-vec"; an extra phrase per pair of words typed side by side (FTS5
    sums its BM25 with the words') lifts the note that holds them together. Stopwords break a
    pair; CJK terms are bigrams already.
    """
    words = [w for w in _LATIN_WORDS.findall(query_words(query)) if not _IS_CJK.search(w)]
    stopwords = query_stopwords(query)
    pairs: list[str] = []
    for first, second in zip(words[:MAX_PHRASE_WORDS], words[1:MAX_PHRASE_WORDS], strict=False):
        if first in stopwords or second in stopwords:
            continue
        pairs.append(f"{first} {second}")
    return list(dict.fromkeys(pairs))


@dataclass(frozen=True)
class Snippet:
    """A passage excerpt and the [start, end) character spans of matched terms within it."""

    text: str
    highlights: tuple[tuple[int, int], ...]
    #: Offset of the excerpt's first character within the passage it came from.
    offset: int = 0


class _MatchPlan(NamedTuple):
    """What find_terms looks for in a passage."""

    stems: frozenset[str]  # the query's words, as the index stems them
    prefix: str | None  # the word still being typed
    cjk: re.Pattern[str] | None  # every place a CJK term starts
    #: How a word that may match begins, in lower-cased ASCII text: with a stem less its
    #: last letter (Porter's stems differ from their word at most there: "happi" of
    #: "happy", "file" of "filing"; so on 23,152 word-stem pairs of four vaults) or with the
    #: typed prefix. Looked for with str.find: a pattern of them, compiled for every new
    #: query, cost 0.26 ms a keystroke.
    ascii_starts: tuple[str, ...]
    #: The query's runs of scripts without spaces, whole (see _kept_run).
    runs: frozenset[str] = frozenset()


_ASCII_TOKEN = re.compile("[a-z0-9]+")  # a token of ASCII text, as unicode61 splits it


@lru_cache(maxsize=256)
def _match_plan(query: str, prefix_last: bool) -> _MatchPlan:
    """Return what find_terms looks for: word stems, a typed prefix, a CJK pattern."""
    terms = query_terms(query)
    words = [t for t in terms if not _IS_CJK.match(t)]
    prefix = typed_prefix(query) if prefix_last else None
    cjk = [re.escape(t) for t in sorted(terms, key=len, reverse=True) if _IS_CJK.match(t)]
    stems = frozenset(stem(t) for t in words)
    starts = {s[:max(1, len(s) - 1)] for s in stems if s.isascii()}
    if prefix is not None and prefix.isascii():
        starts.add(prefix)
    # Every place a bigram starts, overlaps included (a lookahead): "咖啡因" holds 咖啡 and 啡因.
    return _MatchPlan(stems, prefix, re.compile(f"(?=({'|'.join(cjk)}))") if cjk else None,
                      tuple(sorted(starts)), frozenset(unspaced_runs(normalise(query))))


#: Fewest characters of a matched run of Thai, Lao, Burmese or Khmer worth marking, and of
#: a run of kana or Hangul alone (one starting a Korean word excepted).
SYLLABIC_RUN_MIN = 3
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


def _kept_run(run: str, whole: frozenset[str], word_start: bool) -> bool:
    """Whether a matched run of a script without spaces is marked (`whole`: the query's
    runs; `word_start`: nothing of the run's script stands before it).

    A pair of Chinese characters is most often a word, and so is a run holding one. A
    pair of kana is most often not: "ノート" (notes) marked the "ート" of "アンケート"
    (survey), "ぼんさい" the "さい" of "うるさい". Nor is a pair of Hangul syllables inside a
    word, often a particle: "서울에서" marked the "에서" of "집에서", "노트를" the "트를" of
    "매트를". In Thai, Lao, Burmese and Khmer two or three characters are a syllable at most
    (a consonant and its vowel sign), and "งบประมาณ" (budget) marked the "ประ" of every
    "ประชุม" (meeting). Such a run is marked when it is a whole run of the query, or holds
    SYLLABIC_RUN_MIN characters (Thai and the like: and half of the query's longest run),
    or, of Hangul, begins a word."""
    if run in whole or _HAN.search(run) is not None:
        return True
    if _IS_CJK_SCRIPT.match(run) is not None:  # kana or Hangul alone
        return len(run) >= SYLLABIC_RUN_MIN or (word_start and _HANGUL.match(run) is not None)
    longest = max((len(w) for w in whole if _IS_CJK_SCRIPT.match(w) is None), default=0)
    return len(run) >= max(SYLLABIC_RUN_MIN, (longest + 1) // 2)


def find_terms(text: str, query: str, prefix_last: bool = False) -> list[tuple[int, int]]:
    """Return the spans of `query`'s terms in `text`, in order.

    Words match as the keyword index matches them, by stem ("backlinks" for "backlink"); with
    `prefix_last`, the last term also matches words it begins (it is still being typed).
    CJK terms (bigrams) match as substrings, and overlapping or touching ones read as one
    span: "咖啡因" for 咖啡 and 啡因, where taking them one after another highlighted
    "【咖啡】因" and "【和咖】【啡因】".
    """
    stems, prefix, cjk, ascii_starts, runs = _match_plan(query, prefix_last)
    if not stems and cjk is None:
        return []
    if text.isascii():
        return _ascii_spans(text.lower(), stems, prefix, ascii_starts)
    blanked = _blank_separators(text)
    if blanked is not None:  # curly quotes, dashes, emoji: its words are ASCII all the same
        return _ascii_spans(blanked.lower(), stems, prefix, ascii_starts)
    words = _read_words(text)
    spans: list[tuple[int, int]] = []
    if stems:
        folded = words.folded
        for (start, end, token), at in zip(words.tokens, words.starts, strict=True):
            # (A token that maps back to no character marks nothing: empty highlights
            # printed bare terminal codes.)
            if end > start and (token in stems or (prefix and folded.startswith(prefix, at))):
                spans.append((start, end))
    origin = words.origin
    if cjk is not None and origin is not None:
        folded = words.folded
        matched: list[list[int]] = []
        for match in cjk.finditer(folded):
            a, b = match.start(), match.start() + len(match.group(1))
            # Touching pairs are one word in Chinese ("数据" + "分析"); in Thai a syllable of
            # the next word begins there ("ใหม่" then the "ให" of "ให้": "ใหม่ให" was marked).
            if matched and (a < matched[-1][1] or (a == matched[-1][1]
                                                   and _IS_CJK_SCRIPT.match(match.group(1)))):
                matched[-1][1] = max(matched[-1][1], b)
            else:
                matched.append([a, b])
        spans.extend((origin[a], origin[b]) for a, b in matched
                     if _kept_run(folded[a:b], runs,
                                  a == 0 or _HANGUL.match(folded[a - 1]) is None))
        spans.sort()
    return spans


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=4096)
def _only_separates(char: str) -> bool:
    """True when `char` (not ASCII) can only stand between words: no letter, digit, mark or
    private-use character, and none after normalising ("™" reads "tm")."""
    category = unicodedata.category(char)
    return (category[0] not in "LNM" and category != "Co"
            and not any(c.isalnum() for c in normalise(char)))


def _blank_separators(text: str) -> str | None:
    """Return `text` with each non-ASCII character a space, when all of them only separate
    words (see _only_separates), else None. Its words and their offsets are then those of
    the text; reading it as non-ASCII text cost 0.2 ms an excerpt."""
    others = set(_NON_ASCII.findall(text))
    if not all(_only_separates(char) for char in others):
        return None
    return text.translate({ord(char): " " for char in others})


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _ascii_spans(folded: str, stems: frozenset[str], prefix: str | None,
                 starts: tuple[str, ...]) -> list[tuple[int, int]]:
    """find_terms for ASCII text (`folded`: lower-cased): only the words that begin as a
    match may are stemmed, where reading every word with the tokenizer cost 0.03-0.05 ms an
    excerpt. CJK terms cannot occur in ASCII text."""
    spans: set[tuple[int, int]] = set()
    for start in starts:
        at = folded.find(start)
        while at != -1:
            if at == 0 or folded[at - 1] not in _WORD_CHARS:  # a word begins here
                token = _ASCII_TOKEN.match(folded, at)
                if token is not None and (stem(token.group()) in stems
                                          or (prefix and folded.startswith(prefix, at))):
                    spans.add(token.span())
            at = folded.find(start, at + 1)
    return sorted(spans)


_LIST_MARKER = re.compile(r"^([ \t]*)[-*+](?=[ \t])", re.MULTILINE)
# A heading line with text after it, not a list (a heading that ends the passage, or one
# whose list follows with its "•", needs no mark).
_HEADING_LINE = re.compile(r"^([ \t]*#{1,6}[ \t]+\S.*?)[ \t]*$(?=\n\s*(?![-*+][ \t])\S)",
                           re.MULTILINE)
_QUOTE_MARKER = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)


# A fenced code block's opening line (its marker, its info string's first word), also as
# the first line of a list item (Logseq writes code blocks so): the one rule for what is
# fenced code, which the chunker, prose.py (excerpts, the model's text, the preview) and
# excerpts' one line use.
FENCE = re.compile(r"^\s*(?:[-*+]\s+)?(`{3,}|~{3,})\s*([\w:-]*)")


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker) and not stripped.strip(marker[0]).strip()


def fence_end(lines: list[str], opened: int, marker: str) -> int:
    """The index of the line closing the code fence opened at `opened` with `marker`, or the
    last line when none does (a fence left open runs to the end)."""
    return next((i for i in range(opened + 1, len(lines)) if _closes(lines[i], marker)),
                len(lines) - 1)


def fenced_blocks(lines: list[str]) -> list[tuple[int, int, bool]]:
    """Return the fenced code blocks of `lines` as (index of the opening fence line, index of
    its closing line, whether a fence closes it), in order; a fence left open runs to the last
    line, which is then not a closing fence."""
    blocks: list[tuple[int, int, bool]] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index]) if "`" in lines[index] or "~" in lines[index] \
            else None
        if fence is None:
            index += 1
            continue
        end = fence_end(lines, index, fence.group(1))
        blocks.append((index, end, end > index and _closes(lines[end], fence.group(1))))
        index = end + 1
    return blocks


def fence_marker(line: str) -> str:
    """Return what closes the fenced block `line` opens: its indent and its run of backticks
    or tildes ("  ```" for "  ```yaml", "```" for "- ```nginx"); "" when `line` opens none."""
    fence = FENCE.match(line)
    return line[:len(line) - len(line.lstrip())] + fence.group(1) if fence else ""


# Inline code, on one line: `…`, ``…``. What it holds is what the person typed, to be shown
# as written (prose.plain_markdown), and an excerpt's edge never cuts it (_around_code).
CODE_SPAN = re.compile(r"(`+)(?!`)[^\n]+?(?<!`)\1(?!`)")


def code_spans(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) offsets of `text`'s inline code spans, backticks included."""
    return [m.span() for m in CODE_SPAN.finditer(text)] if "`" in text else []


# TeX math as Markdown editors take it (Obsidian, Pandoc's rule): "$$…$$", or "$…$" whose
# dollars hug what they hold and whose closing one no digit follows, so "$5 and $10" is
# no math. What it holds reads as written (prose.plain_markdown), as inline code does.
MATH_SPAN = re.compile(r"\$\$(?:[^$]|\$(?!\$))+?\$\$"
                       r"|(?<![\\$\w])\$(?=[^\s$])[^$\n]*?(?<=[^\s\\$])\$(?![\w$])")


def math_spans(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) offsets of `text`'s TeX math, dollars included."""
    return [m.span() for m in MATH_SPAN.finditer(text)] if "$" in text else []


def make_snippet(passage: str, query: str, width: int = 240, prefix_last: bool = False) -> Snippet:
    """Return the `width`-character window of `passage` holding most matched terms, highlighted."""
    # A list item's marker becomes "•" while it still starts a line: on the one line of an
    # excerpt a "-" could no longer be told from a dash ("1 - 600 seconds" read "1 • 600").
    # A quote's ">" goes while it still starts a line (on one line it reads as "greater").
    passage = _one_line(passage)
    spans = find_terms(passage, query, prefix_last)
    if len(passage) <= width:
        return Snippet(passage, tuple(spans))
    start = _densest_window(spans, width, len(passage))
    # Start at a word boundary so the excerpt does not open mid-word.
    if start > 0:
        space = passage.find(" ", start, start + 20)
        start = space + 1 if space != -1 else start
    end = min(len(passage), start + width)
    start, end, reopen, reclose = _around_code(passage, *_around_wikilinks(passage, start, end))
    excerpt = passage[start:end]
    inside = tuple((a - start, b - start) for a, b in spans if a >= start and b <= end)
    prefix = ("…" if start > 0 else "") + reopen
    suffix = reclose + ("…" if end < len(passage) else "")
    shift = len(prefix)
    return Snippet(prefix + excerpt + suffix,
                   tuple((a + shift, b + shift) for a, b in inside), start)


#: How far an excerpt's edge moves to take in a [[wikilink]] or inline code it would cut.
WIKILINK_REACH = 60


def _around_code(passage: str, start: int, end: int) -> tuple[int, int, str, str]:
    """Return (start, end) moved so that no inline code is cut in two, and the fences to
    put before and after the window when it cuts a fenced block ("" when it does not).

    An edge inside inline code moves outwards to take it in, by at most WIKILINK_REACH,
    else inwards to leave it out. An excerpt that opened inside "`openssl … -showcerts`"
    paired its backticks the wrong way, and the pipes of the next command read "echo ·
    openssl" (a fresh-user trial). A fenced block (three backticks or more) is cut where the
    window falls, and the excerpt opens or closes the fence again, so that what it shows is
    still code: moved inwards, a traceback longer than the window had left the excerpt "…",
    and opened inside a block, "-name '*.log'" read "-name '.log'" (a fresh-user trial)."""
    reopen = reclose = ""
    for a, b in code_spans(passage):
        fence = passage[a:a + 3] == "```"
        if a < start and end < b:
            if fence:
                reopen = reclose = _run_at(passage, a)
            break  # one span holds the whole window: nothing to take in or leave out
        if a < start < b:
            if fence:
                reopen = _run_at(passage, a)
            else:
                start = a if start - a <= WIKILINK_REACH else min(b, end)
        if a < end < b:
            if fence:
                reclose = _run_at(passage, a)
            else:
                end = b if b - end <= WIKILINK_REACH else max(a, start)
    return start, end, reopen, reclose


def _run_at(text: str, at: int) -> str:
    """The run of backticks that starts at `at`."""
    end = at
    while end < len(text) and text[end] == "`":
        end += 1
    return text[at:end]


def _around_wikilinks(passage: str, start: int, end: int) -> tuple[int, int]:
    """Return (start, end) moved so that no [[wikilink]] is cut in two where it can be helped:
    an edge inside one moves outwards to take it in, by at most WIKILINK_REACH, and never
    falls between the two brackets of a "[[" or "]]" (a lone "]" showed: "… • Thanks]…", a
    fresh-user trial on the Logseq docs; a lone pair is dropped as markup)."""
    if passage[end - 1:end + 1] == "]]" or passage[end - 1:end + 1] == "[[":
        end += 1 if passage[end] == "]" else -1
    if passage[start - 1:start + 1] == "[[" or passage[start - 1:start + 1] == "]]":
        start += -1 if passage[start] == "[" else 1
    opened = passage.rfind("[[", start, end)
    if opened != -1 and passage.rfind("]]", opened, end) == -1:
        closed = passage.find("]]", end, end + WIKILINK_REACH)
        end = closed + 2 if closed != -1 else end
    closed = passage.find("]]", start, end)
    if closed != -1 and passage.find("[[", start, closed) == -1:
        opened = passage.rfind("[[", max(0, start - WIKILINK_REACH), start)
        start = opened if opened != -1 else start
    return start, end


@lru_cache(maxsize=512)
def _one_line(passage: str) -> str:
    """Return `passage` on one line, list markers as "•", quote markers gone, outside fenced
    code (see make_snippet); the last 512 are kept, as a passage recurs from keystroke to
    keystroke. A heading is followed by " —": on one line "### Another approach I found"
    and the text under it read as one sentence ("Another approach I found I found another
    approach"). A fenced block stays code between backtick fences, without its language
    name ("```bash find …" had read "bash find …")."""
    marked = _QUOTE_MARKER.sub("", passage) if ">" in passage else passage
    if "#" in marked:
        marked = _HEADING_LINE.sub(r"\1 —", marked)
    marked = _LIST_MARKER.sub(r"\1•", marked)
    if "```" in passage or "~~~" in passage:
        # Code reads as written: a YAML list's "- pgdata:/var/lib/…" is no bullet. (Each
        # rule above works within a line, so the lines stay where they were.)
        lines, written = marked.split("\n"), passage.split("\n")
        for opened, closed, closes in fenced_blocks(written):
            run = fence_marker(written[opened]).strip()
            fence = run if run.startswith("`") else "```"
            lines[opened] = _FENCE_OPENING.sub(fence, lines[opened], count=1)
            lines[opened + 1:closed + (not closes)] = written[opened + 1:closed + (not closes)]
            if closes:
                lines[closed] = fence
        marked = "\n".join(lines)
    return " ".join(marked.split())


#: An opening fence and its language name, as _one_line writes it: "```" alone.
_FENCE_OPENING = re.compile(r"(`{3,}|~{3,})\s*[\w:+.#-]*")


def _densest_window(spans: list[tuple[int, int]], width: int, length: int) -> int:
    """Return the start of the window that covers the most spans (0 when there are none)."""
    if not spans:
        return 0
    # The window opens a fifth of its width before its first match (leading context), so
    # only the rest of it is counted: counting the whole width chose windows whose last
    # matches fell past the excerpt's end ("Valid intervals are 1 - 600 seconds" was cut).
    lead = width // 5
    best_start, best_count = 0, -1
    right = 0
    for left, (a, _) in enumerate(spans):
        right = max(right, left)
        while right + 1 < len(spans) and spans[right + 1][1] - a <= width - lead:
            right += 1
        if right - left + 1 > best_count:
            best_count, best_start = right - left + 1, a
    return max(0, min(best_start - lead, length - width))


# -- the keyword index's columns -----------------------------------------------------------
def fts_title(title: str, aliases: Sequence[str]) -> str:
    """Return what the keyword index holds in the title column of a note's first chunk.

    Only the first chunk carries it: FTS5's bm25 normalises by a row's total length, so a title
    on every chunk made the shortest chunk of a note win whether or not it says the words.
    """
    return fts_text(" ".join([title, *aliases]))


_NAME_SPLIT = re.compile(r"[._\-/\\\s]+|___")


def fts_names(path: str) -> str:
    """Return the words of a note's file name and folder, for the note-level keyword index.

    Dendron's hierarchy names ("dendron.topic.publish.seo.md"), Logseq's namespaces
    ("Community___Sprint.md") and kebab-case names are where a note names its subject.
    """
    folder = path.replace("\\", "/").rpartition("/")[0]
    stem = name_stem(path)
    parent = folder.rpartition("/")[2]
    return fts_text(" ".join(_NAME_SPLIT.split(unquote(stem)) + [parent, *date_words(stem)]))


def name_stem(path: str) -> str:
    """Return a note's file name without its extension ("2024_04_21" of ".../2024_04_21.md")."""
    name = path.replace("\\", "/").rpartition("/")[2]
    return name.rsplit(".", 1)[0] if "." in name else name


#: A file name that is a date, as daily notes are named: Logseq's "2024_04_21", Obsidian's
#: and Foam's "2024-04-21", Dendron's "2024.04.21" (the end of "daily.journal.2024.04.21").
_DATE_NAME = re.compile(
    r"(?:^|[._-])((?:19|20)\d\d)[._-](0[1-9]|1[0-2])[._-](0[1-9]|[12]\d|3[01])$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def date_words(stem: str) -> list[str]:
    """Return the words a person searches a daily note's date by, when the file name `stem`
    ends in one ("2024_04_21": "April", "Apr", "21", "2024年4月21日"), else []. A fresh-user
    trial on a Logseq graph found "what did I do on April 21 2024" and "4月21日" nothing:
    only "2024-04-21", the file name's own digits."""
    found = _DATE_NAME.search(stem)
    if found is None:
        return []
    year, month, day = (int(part) for part in found.groups())
    name = _MONTHS[month - 1]
    return [name, name[:3], str(day), str(year), f"{year}年{month}月{day}日"]
