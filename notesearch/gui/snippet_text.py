"""Turns a passage excerpt's Markdown markup into plain reading text, keeping highlights aligned."""

from __future__ import annotations

import bisect
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
    """Return the excerpt without Markdown markup, and its highlight spans moved to match."""
    pieces: list[str] = []
    removed_at: list[int] = []  # original positions where characters were dropped...
    removed_total: list[int] = []  # ...and how many had been dropped up to and including each
    last = dropped = 0
    for match in _MARKUP.finditer(text):
        start, end = match.span()
        kind = match.lastgroup or ""
        if kind == "checkbox":
            replacement = "☑" if match.group().lower() == "[x]" else "☐"
        else:
            replacement = _SWAPS.get(kind, "")
        pieces.append(text[last:start] + replacement)
        dropped += (end - start) - len(replacement)
        removed_at.append(end)
        removed_total.append(dropped)
        last = end
    pieces.append(text[last:])
    if not removed_at:
        return text, spans

    def moved(position: int) -> int:
        i = bisect.bisect_right(removed_at, position) - 1
        return position - (removed_total[i] if i >= 0 else 0)

    plain = "".join(pieces)
    new_spans = tuple((moved(a), moved(b)) for a, b in spans if moved(b) > moved(a))
    return plain, new_spans
