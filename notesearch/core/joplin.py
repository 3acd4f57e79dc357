"""Reading an item of a Joplin RAW export ("Export > RAW - Joplin Export Directory") as a note.

Joplin's RAW export writes every item of a profile as a file named by its 32-hex id: a note
is its title on the first line, its Markdown body, then a block of `key: value` lines
(`id`, `parent_id`, `created_time`, …, ending with `type_: 1`); notebooks (`type_: 2`),
tags (5), a tag's link to a note (6) and other records are files of the same shape with no
text of their own. A note's title and body are what a person wrote; the block is Joplin's
bookkeeping. A fresh-user trial found every Joplin note titled by its id, the block shown
as excerpts and searched ("todo" found `is_todo: 0` in every note), and the records of
notebooks and tags in 41 of 57 result lists.
"""

from __future__ import annotations

import re

from notesearch.core.errors import SkipFile

#: An item's file name: its id.
_ITEM_NAME = re.compile(r"(?:^|[\\/])[0-9a-f]{32}\.md$")
#: A line of the item's block of properties.
_FIELD = re.compile(r"^[a-z][a-z_]*: ?.*$")
_ID = re.compile(r"^id: [0-9a-f]{32}$")
_TYPE = re.compile(r"^type_: (\d+)\s*$")
#: Joplin's item types (BaseModel.TYPE_*) a person would recognise, for a skipped file's reason.
_KINDS = {2: "notebook", 3: "setting", 4: "attachment", 5: "tag", 6: "tag's link to a note",
          9: "note's revision", 13: "revision"}
NOTE_TYPE = 1


def is_item_name(name: str) -> bool:
    """Whether the file `name` (a path or file name) is named as a Joplin RAW export names
    its items: a 32-hex id, ".md"."""
    return _ITEM_NAME.search(name) is not None


def is_joplin_item(name: str, text: str) -> bool:
    """Whether the file `name` holding `text` is an item of a Joplin RAW export: named by
    its id (`is_item_name`), its text ending in a block of properties with that id and,
    last, its type."""
    return is_item_name(name) and _block(text.rstrip("\n").split("\n")) is not None


def _block(lines: list[str]) -> int | None:
    """The index of the first line of the properties block ending `lines` (after a blank
    line, holding `id: <hex>`, its last line `type_: N`), or None when there is none."""
    if not lines or _TYPE.match(lines[-1]) is None:
        return None
    start = len(lines) - 1
    while start > 0 and _FIELD.match(lines[start - 1]):
        start -= 1
    if start > 0 and lines[start - 1].strip():
        return None  # a note of its own that ends in "type_: 1" is no export's item
    return start if any(_ID.match(line) for line in lines[start:]) else None


def joplin_markdown(text: str) -> str:
    """Return a Joplin RAW item's note as Markdown: its title as a "# " heading on the first
    line, its body, and the properties block left as empty lines (line numbers are kept).

    Raises SkipFile for an item that is not a note (a notebook, a tag, a tag's link), with
    the reason shown to the user."""
    lines = text.split("\n")
    trailing = len(lines) - len(text.rstrip("\n").split("\n"))
    body = lines[:len(lines) - trailing]
    start = _block(body)
    if start is None:
        return text
    kind = _TYPE.match(body[-1])
    assert kind is not None  # _block found it
    if int(kind.group(1)) != NOTE_TYPE:
        what = _KINDS.get(int(kind.group(1)), "record")
        raise SkipFile(f"a Joplin {what}, not a note (an item of a Joplin RAW export)")
    out = body[:start] + [""] * (len(body) - start) + [""] * trailing
    if start > 0 and out[0].strip():
        out[0] = "# " + out[0].strip()
    return "\n".join(out)
