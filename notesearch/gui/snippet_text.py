"""Turns a passage excerpt's Markdown markup into plain reading text, keeping highlights aligned."""

from __future__ import annotations

import re

# Each alternative is markup to drop or swap for a same-sized symbol; the words stay put, so
# highlight spans can be moved by the number of characters removed before them.
_MARKUP = re.compile(
    r"(?P<table_rule>\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?\s*)?)"
    r"|(?P<wiki_target>\[\[[^\]|]*\|)"
    r"|(?P<wiki_open>\[\[)|(?P<wiki_close>\]\])"
    r"|(?P<link_url>\]\([^)\s]*\))"
    r"|(?P<checkbox>\[[ xX]\])"
    r"|(?P<link_open>\[(?=[^\]]*\]\())"
    r"|(?P<heading>(?:(?<=\s)|^)#{1,6}\s)"
    r"|(?P<emphasis>\*\*|__|~~|`+)"
    r"|(?P<bullet>(?:(?<=\s)|^)[-*+](?=\s))"
    r"|(?P<pipe>(?<=\s)\|(?=\s|$))"
)
_SWAPS = {"bullet": "•", "pipe": "·"}


def plain_snippet(text: str, spans: tuple[tuple[int, int], ...]
                  ) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Return the excerpt without Markdown markup, and its highlight spans moved to match.

    Each kept character remembers where it lands; a highlight covers the kept characters of
    its span, and one that fell wholly inside removed markup (a word in a link's URL) is
    dropped rather than drawn on whatever text follows.
    """
    pieces: list[str] = []
    landing: list[int] = [-1] * (len(text) + 1)  # original offset -> plain offset, -1 removed
    last = out = 0
    for match in _MARKUP.finditer(text):
        start, end = match.span()
        kind = match.lastgroup or ""
        if kind == "checkbox":
            replacement = "☑" if match.group().lower() == "[x]" else "☐"
        else:
            replacement = _SWAPS.get(kind, "")
        for index in range(last, start):
            landing[index] = out + index - last
        out += start - last
        pieces.append(text[last:start] + replacement)
        out += len(replacement)
        last = end
    for index in range(last, len(text)):
        landing[index] = out + index - last
    pieces.append(text[last:])
    plain = "".join(pieces)
    moved = []
    for a, b in spans:
        kept = [landing[i] for i in range(a, min(b, len(text))) if landing[i] >= 0]
        if kept:
            moved.append((kept[0], kept[-1] + 1))
    return plain, tuple(moved)
