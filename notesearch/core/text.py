"""Text for keyword search: CJK bigrams for FTS5, query building, and highlighting in snippets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Scripts written without spaces between words: FTS5's unicode61 tokenizer would make a whole
# sentence one token, so runs of these become overlapping character bigrams (as CJK BM25 does).
_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_IS_CJK = re.compile(f"[{_CJK}]")
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


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def fts_text(text: str) -> str:
    """Return `text` rewritten for the FTS index: CJK runs become space-separated bigrams."""
    return _CJK_RUN.sub(lambda m: " ".join(_bigrams(m.group())) + " ", text)


def query_terms(query: str) -> list[str]:
    """Return the lower-cased search terms of a query (CJK as bigrams), stopwords removed.

    If every word is a stopword, they are kept: a search for "the who" still means something.
    """
    pieces: list[str] = []
    for word in _WORD.findall(query.lower()):
        pieces.extend(_bigrams(word) if _IS_CJK.match(word) else [word])
    kept = [p for p in pieces if p not in STOPWORDS] or pieces
    return list(dict.fromkeys(kept))


def fts_query(query: str, prefix_last: bool = False,
              keep: Callable[[list[str]], list[str]] | None = None) -> str | None:
    """Return an FTS5 MATCH expression (terms OR-ed, quoted), or None when nothing is searchable.

    With `prefix_last`, the last term also matches as a prefix, for search as you type.
    `keep` may narrow the terms (e.g. drop ones too common to be worth their cost).
    """
    terms = query_terms(query)
    if keep is not None and terms:
        kept = keep(terms)
        prefix_last = prefix_last and kept[-1:] == terms[-1:]
        terms = kept
    if not terms:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    # A prefix of one or two letters matches most of the index and cost 100-200 ms at 10k
    # notes; from three letters on it narrows quickly.
    if (prefix_last and not query.endswith(" ") and not _IS_CJK.match(terms[-1])
            and len(terms[-1]) >= PREFIX_MIN_LETTERS):
        quoted[-1] += "*"
    return " OR ".join(quoted)


@dataclass(frozen=True)
class Snippet:
    """A passage excerpt and the [start, end) character spans of matched terms within it."""

    text: str
    highlights: tuple[tuple[int, int], ...]
    #: Offset of the excerpt's first character within the passage it came from.
    offset: int = 0


def _term_pattern(terms: list[str], prefix_last: bool) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = []
    last = terms[-1]
    # Longest first, so "api keys" prefers "keys" over a shorter term inside it.
    for term in sorted(terms, key=len, reverse=True):
        escaped = re.escape(term)
        if _IS_CJK.match(term):
            alternatives.append(escaped)
        else:
            tail = r"\w*" if prefix_last and term == last else r""
            alternatives.append(rf"\b{escaped}{tail}")
    return re.compile("|".join(alternatives), re.IGNORECASE)


def find_terms(text: str, query: str, prefix_last: bool = False) -> list[tuple[int, int]]:
    """Return the spans of `query`'s terms in `text`, in order."""
    pattern = _term_pattern(query_terms(query), prefix_last)
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text)]


def make_snippet(passage: str, query: str, width: int = 240, prefix_last: bool = False) -> Snippet:
    """Return the `width`-character window of `passage` holding most matched terms, highlighted."""
    passage = " ".join(passage.split())
    spans = find_terms(passage, query, prefix_last)
    if len(passage) <= width:
        return Snippet(passage, tuple(spans))
    start = _densest_window(spans, width, len(passage))
    # Start at a word boundary so the excerpt does not open mid-word.
    if start > 0:
        space = passage.find(" ", start, start + 20)
        start = space + 1 if space != -1 else start
    end = min(len(passage), start + width)
    excerpt = passage[start:end]
    inside = tuple((a - start, b - start) for a, b in spans if a >= start and b <= end)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(passage) else ""
    shift = len(prefix)
    return Snippet(prefix + excerpt + suffix,
                   tuple((a + shift, b + shift) for a, b in inside), start)


def _densest_window(spans: list[tuple[int, int]], width: int, length: int) -> int:
    """Return the start of the window that covers the most spans (0 when there are none)."""
    if not spans:
        return 0
    best_start, best_count = 0, -1
    right = 0
    for left, (a, _) in enumerate(spans):
        right = max(right, left)
        while right + 1 < len(spans) and spans[right + 1][1] - a <= width:
            right += 1
        if right - left + 1 > best_count:
            best_count, best_start = right - left + 1, a
    # Give the first match some leading context.
    return max(0, min(best_start - width // 5, length - width))
