"""Reading one note's Markdown: front matter, Logseq properties, title, tags, links, headings."""

from __future__ import annotations

import datetime
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import unquote

import yaml

from notesearch.core.canvas import is_canvas
from notesearch.core.notes import MARKDOWN_EXTENSIONS, NOTE_EXTENSIONS
from notesearch.core.orgmode import is_org
from notesearch.core.prose import (
    DESCRIPTION_KEYS,
    blank_data,
    blank_templater,
    fenced_blocks,
    fenced_runs,
    plain_markdown,
)

_ATTACHMENTS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif",
    ".pdf", ".mp3", ".mp4", ".m4a", ".wav", ".ogg", ".webm", ".mov", ".mkv", ".zip",
    ".excalidraw", ".canvas", ".csv", ".docx", ".xlsx", ".pptx",
})


@dataclass
class Heading:
    """An ATX heading; `line` is 1-based in the original file (front matter included)."""

    level: int
    text: str
    line: int
    #: Written inside a list item ("- # Usage"): a Logseq heading block, which titles a part
    #: of its page, never the page.
    in_list: bool = field(default=False, compare=False)


@dataclass
class ParsedNote:
    """What the indexer needs from one note."""

    title: str
    body: str
    body_start_line: int
    tags: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    properties: dict[str, object] = field(default_factory=dict)
    private: bool = False
    headings: list[Heading] = field(default_factory=list)
    #: What the note says it is about, from `description:`/`desc:`/`summary:` (plain text),
    #: then the words of its other properties (what the keyword index searches).
    description: str = ""
    #: The description-like property alone, one line of at most 500 characters ("" if none):
    #: the excerpt of a note whose passage does not say the words that found it.
    summary: str = ""


# The C loader is ~20x faster; front matter on thousands of notes made parsing YAML-bound.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TEXT_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # every value a string

# -- patterns ---------------------------------------------------------------------------------
# Up to three spaces as in CommonMark, or inside a list item (Logseq writes "- ## Heading").
_HEADING = re.compile(r"^(?: {0,3}|\s*[-*+]\s+)(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_PROPERTY = re.compile(r"^\s*(?:[-*]\s+)?([A-Za-z][\w-]*)::[ \t]*(.*?)\s*$")
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
_URL = re.compile(r"<?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s>]*>?")
_WIKILINK = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_LOGSEQ_TAG = re.compile(r"#\[\[([^\[\]\n]+?)\]\]")
_MD_LINK = re.compile(r"\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)")
# A tag starts after whitespace or opening punctuation (so not "page#frag", "&#12;", "C#"),
# and with a letter, digit or "_" (a route such as "#/page/" in a query's code is no tag).
_TAG = re.compile(r"(?<![\w/#&@:.\\\-\])])#(\w[\w/\-]*)")
# Bear's tag of several words, closed by a "#": "#book notes#", "#work/weekly meetings#" (the
# closing "#" right after a word, and no word or "#" after it).
_MULTIWORD_TAG = re.compile(r"(?<![\w/#&@:.\\\-\])])#(\w[\w/\-]*(?: [\w/\-]+){1,5})#(?![\w#])")
# Logseq's task priorities, "[#A]" to "[#C]": no tags.
_PRIORITY = re.compile(r"\[#[A-C]\]")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


# -- front matter -----------------------------------------------------------------------------
@dataclass
class _FrontMatter:
    data: dict[str, object]
    lines: int  # how many lines of the file it spans (0: none, the block stays text)
    #: A closed "---" block that could not be read as a mapping mentions privacy: fail closed.
    unreadable_private: bool = False
    #: Lines of such a block, kept as text: a heading after it still opens the note.
    unread_lines: int = 0


def _split_front_matter(lines: list[str]) -> _FrontMatter:
    """Return the front matter and the number of lines it spans ({}, 0 when none is usable)."""
    if not lines or lines[0].rstrip() != "---":
        return _FrontMatter({}, 0)
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        return _FrontMatter({}, 0)  # never closed: an opening thematic break, not front matter
    block = "\n".join(lines[1:end])
    data = _load_yaml(block)
    if data is None:
        return _FrontMatter({}, end + 1)
    if data is _MALFORMED or not isinstance(data, dict):
        # Keep the block as ordinary text rather than lose the note ("---\ntext\n---" is a
        # rule and a setext heading). But a broken block that names privacy may have meant
        # "private: true", and a wrong guess would send a private note away.
        return _FrontMatter({}, 0, unreadable_private=_MENTIONS_PRIVATE.search(block) is not None,
                            unread_lines=end + 1)
    # _plain turns a dict into a dict with string keys.
    return _FrontMatter(cast(dict[str, object], _plain(data, {}, set())), end + 1)


_MENTIONS_PRIVATE = re.compile(r"private", re.IGNORECASE)


_MALFORMED = object()


def _load_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except (ValueError, TypeError, OverflowError):
        pass  # valid YAML with an impossible value, e.g. "date: 2024-13-45": read as text
    except (yaml.YAMLError, RecursionError):
        return _MALFORMED
    try:
        return yaml.load(text, Loader=_YAML_TEXT_LOADER)
    except (yaml.YAMLError, RecursionError, ValueError):
        return _MALFORMED


def _plain(value: object, seen: dict[int, object], active: set[int]) -> object:
    """YAML values as JSON-friendly data: string keys, dates as ISO text, no cycles.

    `seen` shares results between YAML aliases, so "billion laughs" documents stay small;
    a value that contains itself (`a: &x [*x]`) has the inner reference replaced by None.
    """
    key = id(value)
    if key in seen:
        return seen[key]
    if key in active:
        return None
    active.add(key)
    if isinstance(value, dict):
        result: object = {str(k): _plain(v, seen, active) for k, v in value.items()}
    elif isinstance(value, list | tuple | set):
        result = [_plain(v, seen, active) for v in value]
    elif isinstance(value, datetime.date | datetime.datetime):
        result = value.isoformat()
    elif isinstance(value, bytes):
        result = value.decode("utf-8", "replace")
    else:
        result = value
    active.discard(key)
    seen[key] = result
    return result


# -- Logseq properties ------------------------------------------------------------------------
#: A page of a Notion export: its file named "<title> <32 hex digits>.md" (its folder too).
_NOTION_ID = re.compile(r" [0-9a-f]{32}$")
#: A line of the property block Notion writes under a page's title: "Status: Done",
#: "Last edited time: March 3, 2024 4:12 PM".
_NOTION_PROPERTY = re.compile(r"^([^\W\d_][\w ]{0,39}): (\S.*?)\s*$")


def without_notion_id(name: str) -> str:
    """A Notion export's file or folder name as Notion shows it: "Projects b3ec…aba" ->
    "Projects" (other names as they are)."""
    return _NOTION_ID.sub("", name)


def is_notion_page(file_name: str) -> bool:
    """Whether the file is a page of a Notion export, by its name ("Trip 8f3a….md")."""
    stem, ext = os.path.splitext(os.path.basename(file_name))
    return ext.lower() in MARKDOWN_EXTENSIONS and _NOTION_ID.search(stem) is not None


def _notion_properties(lines: list[str]) -> dict[str, object]:
    """Take the property block Notion writes between a page's "# Title" and its text (lines
    of "Key: value", then a blank line) out of `lines` (left empty: line numbers are kept),
    and return it, keys lower-cased, "Tags" as a list (Notion separates a multi-select's
    items with ", "). It is the page's front matter: a fresh-user trial's excerpts opened
    on "Status: Done Owner: Marcus Lee Due: June 15, 2024 Priority: Medium…", and a page
    holding only properties came close to many queries by meaning."""
    at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if at is None or not lines[at].startswith("# "):
        return {}
    start = at + 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and _NOTION_PROPERTY.match(lines[end]):
        end += 1
    if end == start or (end < len(lines) and lines[end].strip()):
        return {}  # no block, or a paragraph that opens with "Word: …"
    props: dict[str, object] = {}
    for index in range(start, end):
        match = _NOTION_PROPERTY.match(lines[index])
        assert match is not None  # matched above
        key, value = match.group(1).strip().lower(), match.group(2)
        props.setdefault(key, [v.strip() for v in value.split(", ") if v.strip()]
                         if key in ("tags", "tag") else value)
        lines[index] = ""
    return props


def _logseq_properties(lines: list[str]) -> dict[str, str]:
    """`key:: value` lines at the top of the page (Logseq's page properties block)."""
    props: dict[str, str] = {}
    started = False
    for line in lines:
        if not line.strip():
            if started:
                break
            continue
        match = _PROPERTY.match(line)
        if not match:
            break
        started = True
        props.setdefault(match.group(1).lower(), match.group(2))
    return props


# -- value helpers ----------------------------------------------------------------------------
def _as_list(value: object) -> list[str]:
    """A list-valued property from a YAML list, or a comma/space separated string."""
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, list):
        # Items of a YAML list are whole tags, even with spaces in them.
        return [str(v).strip().strip("#").strip() for v in value
                if v is not None and str(v).strip().strip("#").strip()]
    items: list[str] = []
    # Logseq writes "tags:: [[two words]], other": bracketed names are whole, in place.
    for index, part in enumerate(_WIKILINK.split(str(value))):
        if index % 2:
            items.append(part)
        else:
            items.extend(part.split("," if "," in part else None))
    return [i.strip().strip("#").strip() for i in items if i.strip().strip("#").strip()]


def _names_list(value: object) -> list[str]:
    """Aliases: a YAML list, or a comma separated string (spaces belong to the alias)."""
    if isinstance(value, list):
        return [s for v in value for s in _names_list(v)]
    if value is None or isinstance(value, bool):
        return []
    items: list[str] = []
    for index, part in enumerate(_WIKILINK.split(str(value))):
        items.extend([part] if index % 2 else part.split(","))
    return [i.strip() for i in items if i.strip()]


_NOT_PRIVATE = frozenset({"false", "no", "0", "off", "none", "null", ""})


def is_private(properties: Mapping[str, object]) -> bool:
    """Whether a note's metadata marks it private (never sent to a remote provider).

    The key matches in any case ("Private: true"). Fail closed: any value other than a clear
    no (false, no, 0, off, empty) counts as private, so "private: [true]" or "private: maybe"
    keep the note at home.
    """
    for key, value in properties.items():
        if key.strip().lower() != "private":
            continue
        if value is None or value is False:
            continue
        if isinstance(value, bool | int | float | str) and \
                str(value).strip().lower() in _NOT_PRIVATE:
            continue
        return True
    return False


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def plain_inline(text: str) -> str:
    """Heading text for display: as a reader sees it (prose.plain_markdown)."""
    return " ".join(plain_markdown(text, symbols=False)[0].split())


# -- body scanning ----------------------------------------------------------------------------
@dataclass
class _BodyScan:
    headings: list[Heading] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def is_heading(line: str) -> bool:
    """True when `line` is an ATX heading, also one written as a list item ("- ## Usage")."""
    return "#" in line and _HEADING.match(line) is not None


def heading_of(line: str) -> tuple[int, str] | None:
    """Return (level 1..6, text as a reader sees it) of the heading `line` is (is_heading),
    or None."""
    heading = _HEADING.match(line) if "#" in line else None
    return (len(heading.group(1)), plain_inline(heading.group(2) or "")) if heading else None


def without_headings(text: str) -> str:
    """Return `text` less its heading lines (is_heading), those inside fenced code kept (a
    shell comment there is code, not a heading)."""
    return "\n".join(run if fenced else "\n".join(line for line in run.split("\n")
                                                  if not is_heading(line))
                     for fenced, run in fenced_runs(text))


def _scan_body(lines: list[str], first_line: int) -> _BodyScan:
    """One pass over the body outside fenced code: headings, inline tags and links."""
    scan = _BodyScan()
    code = {index for opened, closed, _ in fenced_blocks(lines)
            for index in range(opened, closed + 1)}
    for index, line in enumerate(lines):
        if index in code:
            continue
        if "#" in line:
            heading = heading_of(line)
            if heading:
                scan.headings.append(Heading(*heading, first_line + index,
                                             in_list=line.lstrip()[:1] in "-*+"))
        if "#" in line or "[" in line:
            _scan_inline(line, scan)
    return scan


def _scan_inline(line: str, scan: _BodyScan) -> None:
    line = _INLINE_CODE.sub(" ", line)
    if "[" in line:
        scan.tags.extend(t.strip() for t in _LOGSEQ_TAG.findall(line))
        for inner in _WIKILINK.findall(line):
            note = _wikilink_target(inner)
            if note:
                scan.links.append(note)
        for target in _MD_LINK.findall(line) + _REF_DEF.findall(line):
            note = _local_note_target(target)
            if note:
                scan.links.append(note)
        line = _MD_LINK.sub("]", line)  # "[x](#anchor)" is a link, not a tag
    if "#" in line:
        line = _PRIORITY.sub(" ", _URL.sub(" ", line))
        if line.count("#") > 1:
            scan.tags.extend(t.rstrip("/") for t in _MULTIWORD_TAG.findall(line)
                             if _HAS_LETTER.search(t))
            line = _MULTIWORD_TAG.sub(" ", line)
        scan.tags.extend(t.rstrip("/") for t in _TAG.findall(line) if _HAS_LETTER.search(t))


def has_multiword_tag(text: str) -> bool:
    """Whether `text` holds a tag of several words as Bear writes them ("#book notes#")."""
    return _MULTIWORD_TAG.search(text) is not None


def _wikilink_target(inner: str) -> str | None:
    """[[Target|alias]], [[Target#Heading]] and [[Target#^block]] all point at "Target"."""
    target = inner.split("|", 1)[0].split("#", 1)[0].strip()
    stem, ext = os.path.splitext(target)
    if ext.lower() in MARKDOWN_EXTENSIONS:
        return stem
    # Embedded images and documents are attachments, not notes. Other dots stay: Dendron's
    # [[dev.python.tips]] is a note name.
    return None if ext.lower() in _ATTACHMENTS else target or None


def _local_note_target(target: str) -> str | None:
    """"notes/My%20Note.md#part" -> "notes/My Note"; None for URLs and non-note files."""
    target = target.strip("<>").strip()
    if not target or _SCHEME.match(target):
        return None
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    stem, ext = os.path.splitext(path)
    if ext.lower() not in MARKDOWN_EXTENSIONS:
        return None
    return stem.removeprefix("./") or None


# -- title ------------------------------------------------------------------------------------
def name_title(file_name: str) -> str:
    """The file name without a note extension; Dendron's "a.b.c" names stay whole."""
    base = os.path.basename(file_name)
    stem, ext = os.path.splitext(base)
    name = stem if ext.lower() in NOTE_EXTENSIONS else base
    # Notion's export names a page "<title> <32 hex digits>".
    name = without_notion_id(name) if ext.lower() in MARKDOWN_EXTENSIONS else name
    # Logseq writes namespace "a/b" as "a___b" and escapes characters such as "?" as %3F.
    if "___" in name:
        name = name.replace("___", "/")
    if "%" in name:
        name = unquote(name)
    return unicodedata.normalize("NFC", name)  # macOS writes names decomposed


def _choose_title(front: dict[str, object], props: dict[str, str], headings: list[Heading],
                  file_name: str, first_line: int | None, named_by_file: bool) -> str:
    """The front matter's (or Logseq's title::) title, else a level-1 heading that opens
    the note (`first_line`: the body's first line with text), else the file's name.

    A heading further down names a part of the note, and one opening an Obsidian note
    (`named_by_file`) does too: Obsidian names every note by its file. In a real vault of
    2,720 notes 642 had been titled by such headings ("Stream Ciphers.md" as "Examples",
    "How to make slime.md" as "Ingredients"), and a search for a note's own name missed it.
    """
    for candidate in (front.get("title"), props.get("title")):
        if candidate is not None and str(candidate).strip():
            return str(candidate).strip()
    # A Logseq page is named by its file (or title::): its "# Usage" headings, in a block or
    # below its properties, are parts of it (five pages of the Logseq docs were all titled
    # "Usage"). Page properties (`key:: value` at the top) say a page is Logseq's.
    opening = headings[0] if headings and not props and not named_by_file else None
    if (opening is not None and opening.line == first_line and opening.level == 1
            and opening.text and not opening.in_list):
        return opening.text
    return name_title(file_name)


def _first_text_line(lines: list[str], first_line: int) -> int | None:
    """The 1-based file line of the first of `lines` (which start at `first_line`) with text."""
    return next((first_line + i for i, line in enumerate(lines) if line.strip()), None)


# -- entry point ------------------------------------------------------------------------------
def parse_note(text: str, file_name: str, named_by_file: bool = False) -> ParsedNote:
    """Parse a note's text (newlines already "\\n"); never raises for odd content.

    `named_by_file`: the note is in an Obsidian vault, whose notes are named by their files
    (notes.in_obsidian_vault), so no heading titles it."""
    # A canvas is named by its file, as Obsidian shows it; its cards' headings are parts.
    # So is an Org file without #+title (Org's own export does so): "* Inbox" opens many.
    named_by_file = named_by_file or is_canvas(file_name) or is_org(file_name)
    lines = blank_templater(text.split("\n"))  # front matter too: it must read as YAML
    front_matter = _split_front_matter(lines)
    front, skip = front_matter.data, front_matter.lines
    drawing = "excalidraw-plugin" in front
    body_lines = blank_data(lines[skip:], drawing)
    logseq = _logseq_properties(body_lines)
    props: dict[str, object] = dict(logseq)
    if is_notion_page(file_name):
        props.update(_notion_properties(body_lines))  # (taken out of body_lines)
    scan = _scan_body(body_lines, skip + 1)
    properties: dict[str, object] = dict(front)
    for key, value in props.items():
        properties.setdefault(key, value)
    tags = (_as_list(front.get("tags", front.get("tag")))
            + _as_list(props.get("tags", props.get("tag"))) + scan.tags)
    aliases = (_names_list(front.get("aliases", front.get("alias")))
               + _names_list(props.get("alias", props.get("aliases"))))
    private = front_matter.unreadable_private or is_private(front) or is_private(props)
    return ParsedNote(
        # A drawing is named by its file, as Excalidraw and Obsidian show it: its headings
        # are the plugin's, and a title copied from them in front matter named three
        # drawings of a real vault "Text Elements".
        title=name_title(file_name) if drawing else _choose_title(
            front, logseq, scan.headings, file_name,
            _first_text_line(body_lines[front_matter.unread_lines:],
                             skip + front_matter.unread_lines + 1), named_by_file),
        body="\n".join(body_lines),
        body_start_line=skip + 1,
        tags=_unique([t.lower() for t in tags if t]),
        links=_unique([link for link in scan.links if link]),
        aliases=_unique(aliases),
        properties=properties,
        private=private,
        headings=scan.headings,
        description=_description(properties),
        summary=_summary(properties),
    )


_DESCRIPTION_KEYS = DESCRIPTION_KEYS
_MAX_DESCRIPTION = 500


def _description(properties: dict[str, object]) -> str:
    """The first short description-like property, as one line of text, then the words of
    the note's other properties (see _property_words)."""
    lowered = {str(k).lower(): v for k, v in properties.items()}
    return " ".join([_summary(properties), _property_words(lowered)]).strip()


def _summary(properties: dict[str, object]) -> str:
    """The first description-like property (_DESCRIPTION_KEYS), as one line of at most
    _MAX_DESCRIPTION characters, or ""."""
    lowered = {str(k).lower(): v for k, v in properties.items()}
    for key in _DESCRIPTION_KEYS:
        value = lowered.get(key)
        if isinstance(value, str | int | float) and str(value).strip():
            return " ".join(str(value).split())[:_MAX_DESCRIPTION]
    return ""


#: Properties whose words are indexed elsewhere (title, aliases, the description) or are
#: bookkeeping rather than what a note is about. Tags are words of the note: a fresh-user
#: trial's `tags: [recipe, chinese]` filtered by #chinese but a search for "chinese" did not
#: find the note (a #tag in the text was found, being text).
_NOT_WORDS = frozenset({"title", "alias", "aliases", "id", "uid", "private",
                        "cssclass", "cssclasses", "excalidraw-plugin", "permalink", "layout",
                        "template", "collapsed", "publish", "position", *_DESCRIPTION_KEYS})
_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$"
                         # Notion's: "March 3, 2024 4:12 PM"
                         r"|^[A-Z][a-z]+ \d{1,2}, \d{4}(?: \d{1,2}:\d{2} [AP]M)?$")
_MAX_PROPERTY_WORDS = 1000


def _property_words(lowered: dict[str, object]) -> str:
    """The text values of a note's other properties (`director: 萨姆·门德斯`, `genre: 剧情,
    战争`), as one line: a note can keep what it is about there. A real vault's 699 film
    notes, imported from Douban, held their director, actors and genre only in front matter,
    and a search for two actors did not find the film. Numbers, dates, URLs and values with
    no letter are left out."""
    words: list[str] = []
    for key, value in lowered.items():
        if key in _NOT_WORDS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            text = " ".join(item.split())
            if (text and "://" not in text and not _DATE_VALUE.match(text)
                    and any(ch.isalpha() for ch in text)):
                words.append(text)
    return " ".join(words)[:_MAX_PROPERTY_WORDS]
