"""Reading an Obsidian canvas (JSON Canvas 1.0, jsoncanvas.org) as the Markdown of its cards.

A canvas is a JSON file of cards ("nodes") on a board: text cards hold Markdown the person
wrote, file cards show a note or attachment, link cards a web page, and groups frame cards
under a label; edges join cards and may carry a label. Its words are in those fields, not in
the ids, coordinates and colours around them. `canvas_markdown` returns them as one Markdown
text, a card at a time, top to bottom and left to right as the board reads, each group's
label a heading above the cards inside it; that text is what is chunked, embedded, shown in
excerpts and previewed, so a result's line numbers are lines of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from notesearch.core.errors import SkipFile

#: A file with these endings is a canvas (notes.NOTE_EXTENSIONS lists it as a note).
CANVAS_EXTENSIONS = (".canvas",)
#: Of the card an edge points to, this many characters say what it is, beside the label.
_TARGET_CHARS = 80
#: The deepest heading a group's label becomes (Markdown has six levels).
_DEEPEST = 6


@dataclass
class _Card:
    """One node of the board, with the cards a group frames."""

    node: dict[str, Any]
    x: float
    y: float
    width: float
    height: float
    inside: list[_Card] = field(default_factory=list)

    def contains(self, other: _Card) -> bool:
        """Whether `other`'s centre lies within this card's frame."""
        cx, cy = other.x + other.width / 2, other.y + other.height / 2
        return self.x <= cx <= self.x + self.width and self.y <= cy <= self.y + self.height


def is_canvas(name: str) -> bool:
    """Whether the file `name` (a path or file name) is a canvas, by its ending."""
    return name.lower().endswith(CANVAS_EXTENSIONS)


def canvas_markdown(text: str) -> str:
    """Return the canvas document `text` (JSON) as Markdown: text cards as written, file
    cards as embeds (`![[path|name]]`), link cards as their URL, group labels as headings over
    the cards within them, edge labels as "label → card" lines under the card they leave.

    Cards are read in rows: by their top edge, then their left edge. A card belongs to the
    smallest group whose frame holds its centre. Raises SkipFile when `text` is not a canvas
    (not JSON, or no list of nodes), with the reason shown to the user."""
    try:
        document = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise SkipFile(f"not a readable canvas (invalid JSON at line {error.lineno})") from error
    if not isinstance(document, dict) or not isinstance(document.get("nodes", []), list):
        raise SkipFile("not a readable canvas (no list of cards)")
    cards = [card for card in map(_card, document.get("nodes", [])) if card is not None]
    edges = [e for e in document.get("edges", []) or [] if isinstance(e, dict)]
    by_id = {str(card.node.get("id")): card for card in cards}
    labels = _edge_labels(edges, by_id)
    blocks: list[str] = []
    for card, depth in _reading_order(cards):
        block = _card_text(card, depth)
        if block:
            blocks.append(block)
        blocks.extend(labels.get(str(card.node.get("id")), []))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _card(node: object) -> _Card | None:
    """The node as a card, or None when it is not an object with a place on the board."""
    if not isinstance(node, dict):
        return None
    try:
        return _Card(node, float(node.get("x", 0)), float(node.get("y", 0)),
                     float(node.get("width", 0)), float(node.get("height", 0)))
    except (TypeError, ValueError):
        return None


def _reading_order(cards: list[_Card]) -> list[tuple[_Card, int]]:
    """Every card once, with how many groups frame it: top-level cards and groups in rows,
    each group followed by the cards it frames, in rows too."""
    groups = sorted((c for c in cards if c.node.get("type") == "group"),
                    key=lambda g: g.width * g.height)
    top: list[_Card] = []
    for card in cards:
        frame = next((g for g in groups if g is not card and g.contains(card)
                      and g.width * g.height > card.width * card.height), None)
        (frame.inside if frame is not None else top).append(card)
    out: list[tuple[_Card, int]] = []

    def visit(level: list[_Card], depth: int) -> None:
        for card in sorted(level, key=lambda c: (c.y, c.x)):
            out.append((card, depth))
            visit(card.inside, depth + 1)

    visit(top, 0)
    return out


def _card_text(card: _Card, depth: int) -> str:
    """What a card says, as Markdown ("" for a card with nothing to read)."""
    node = card.node
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "").strip()
    if kind == "file" and node.get("file"):
        # Shown by its name, as the board shows it, and linked by its path.
        return f"![[{node['file']}{node.get('subpath') or ''}|{_summary(card)}]]"
    if kind == "link" and node.get("url"):
        return f"<{node['url']}>"
    if kind == "group" and str(node.get("label") or "").strip():
        return "#" * min(depth + 1, _DEEPEST) + " " + " ".join(str(node["label"]).split())
    return ""


def _edge_labels(edges: list[dict[str, Any]], by_id: dict[str, _Card]) -> dict[str, list[str]]:
    """Map a card's id -> one "label → card it points to" line for each labelled edge
    leaving it (an edge's label is words the person wrote about how two cards relate)."""
    out: dict[str, list[str]] = {}
    for edge in edges:
        label = " ".join(str(edge.get("label") or "").split())
        source = str(edge.get("fromNode"))
        if not label or source not in by_id:
            continue
        target = by_id.get(str(edge.get("toNode")))
        said = _summary(target) if target is not None else ""
        out.setdefault(source, []).append(f"{label} → {said}" if said else label)
    return out


def _summary(card: _Card) -> str:
    """A card named in a line: its first line of text (heading marks dropped), its file's
    name, its URL or its group's label, cut to _TARGET_CHARS."""
    node = card.node
    said = (node.get("text") or node.get("file") or node.get("url") or node.get("label") or "")
    first = next((line for line in str(said).splitlines() if line.strip()), "")
    first = first.lstrip("#").strip()
    if node.get("type") == "file":
        first = os.path.splitext(first.rsplit("/", 1)[-1])[0]
    return first[:_TARGET_CHARS]
