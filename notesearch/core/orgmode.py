"""Reading an Org file (Emacs Org mode, Org-roam, a Logseq graph kept in Org) as Markdown.

Org writes a note's title and tags as `#+title:` and `#+filetags:` keywords, headings as
`*` stars, code between `#+begin_src` and `#+end_src`, links as `[[target][label]]`, and
keeps bookkeeping in drawers (`:PROPERTIES:` … `:END:`) and planning lines (`SCHEDULED:`).
`org_markdown` turns that into the Markdown the rest of the pipeline reads, **line for
line**: the n-th line of the result comes from the n-th line of the file, so a result's
line opens the file at the right place in the person's editor. The keywords that say what
a note is (title, tags, aliases, description) become its front matter, a headline's
properties lines of their words; bookkeeping drawers, planning lines, comments and export
settings become empty lines. A page of a Logseq graph (which writes every block as a
headline) is an outline: its headlines become nested list items rather than headings, as
Logseq's Markdown pages have them.

Syntax as the Org manual describes it (orgmode.org/manual: "Document Structure",
"Markup for Rich Contents", "Hyperlinks", "Properties and Columns"); Org-roam's aliases
(`ROAM_ALIASES`) as org-roam.readthedocs.io describes them.
"""

from __future__ import annotations

import bisect
import re
import shlex
from dataclasses import dataclass

import yaml

#: A file with these endings is an Org file (notes.NOTE_EXTENSIONS lists it as a note).
ORG_EXTENSIONS = (".org",)
#: Markdown has six heading levels; deeper Org headlines become the sixth.
_DEEPEST = 6

_HEADLINE = re.compile(r"^(\*+)[ \t]+(.*?)\s*$")
_KEYWORD = re.compile(r"^\s*#\+([A-Za-z_][\w-]*):[ \t]*(.*?)\s*$")
_BEGIN = re.compile(r"^\s*#\+begin_(\w+)[ \t]*(.*?)\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*#\+end_(\w+)\s*$", re.IGNORECASE)
_DRAWER = re.compile(r"^\s*:([A-Za-z][\w-]*):\s*$")
_DRAWER_END = re.compile(r"^\s*:END:\s*$", re.IGNORECASE)
_PROPERTY = re.compile(r"^\s*:([A-Za-z][\w-]*?)\+?:[ \t]*(.*?)\s*$")
_PLANNING = re.compile(r"^\s*(?:(?:SCHEDULED|DEADLINE|CLOSED):\s*[<\[].*)+$")
_COMMENT = re.compile(r"^\s*#(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"^\s*(?:[-+*]|\d+[.)])[ \t]")
_FIXED_WIDTH = re.compile(r"^(\s*):(?:[ \t]|$)")
#: A headline's priority cookie ("[#A]") and statistics cookie ("[2/5]", "[40%]").
_COOKIE = re.compile(r"\[#[A-Za-z0-9]\][ \t]*|[ \t]*\[\d*(?:/\d*|%)\]")
#: A headline's tags at its end: "  :work:urgent:".
_HEADLINE_TAGS = re.compile(r"[ \t]+:((?:[\w@#%]+:)+)$")
_LINK = re.compile(r"\[\[((?:[^\[\]\\]|\\.)+)\](?:\[([^\[\]]+)\])?\]")
_FOOTNOTE_DEFINITION = re.compile(r"^\[fn:([\w-]+)\][ \t]*")
_FOOTNOTE = re.compile(r"\[fn:([\w-]*):([^\[\]]*)\]|\[fn:([\w-]+)\]")
#: Org's emphasis: a marker after the line's start, a space or opening punctuation, text
#: that neither begins nor ends with a space, the same marker before a space, closing
#: punctuation or the line's end. A run is at most 300 characters, so that a long line of
#: markers that never close is read in linear time.
_EMPHASIS = re.compile(r"(?<![^\s\-({'\"])([*/=~+])(\S(?:.{0,300}?\S)??)\1"
                       r"(?=[\s\-.,;:!?')}\[\"\\]|$)")
_MARKDOWN_EMPHASIS = {"*": "**", "/": "*", "+": "~~", "=": "`", "~": "`"}
_TABLE_RULE = re.compile(r"^\s*\|[-+|: ]*-[-+|: ]*\|?\s*$")
_SCHEME = re.compile(r"^(?:https?|ftp|mailto|news|doi):", re.IGNORECASE)
_IMAGE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|bmp|tiff?)$", re.IGNORECASE)
_CODE_BLOCKS = frozenset({"src", "example", "export"})
#: A target or radio target: "<<Kyoto trip>>", "<<<Kyoto>>>" (its words are the text's).
_TARGET = re.compile(r"<<<?([^<>\n]+?)>>>?")
#: Headline properties that are Org's or Org-roam's bookkeeping, not what the note says.
_BOOKKEEPING = frozenset({
    "id", "custom_id", "category", "visibility", "style", "ordered", "noblocking",
    "cookie_data", "logging", "collapsed", "heading", "last_repeat", "effort", "created",
    "roam_exclude", "attach_dir", "attach_dir_inherit", "clock_modeline_total",
    "repeat_to_state", "todo", "unnumbered", "alt_title"})
_BOOKKEEPING_PREFIXES = ("archive_", "export_", "header-args", "html_", "latex_", "table_")
#: A property value that is no words: a timestamp, a uuid, a number.
_NOT_WORDS = re.compile(r"^(?:[<\[]\d{4}-\d\d-\d\d[^>\]]*[>\]]|[0-9a-fA-F-]{32,36}|[\d.:%/-]+)$")

#: File keywords and file-level properties that say what a note is, by the Markdown page
#: property `markdown.parse_note` reads them as. Others (`#+startup:`, `#+options:`, `:ID:`)
#: are settings and bookkeeping.
_PAGE_PROPERTIES = {
    "title": "title", "subtitle": "description", "description": "description",
    "filetags": "tags", "tags": "tags", "roam_tags": "tags",
    "alias": "aliases", "aliases": "aliases", "roam_alias": "aliases", "roam_aliases": "aliases",
    "author": "author", "keywords": "keywords", "category": "category",
    "private": "private",
}


def is_org(name: str) -> bool:
    """Whether the file `name` (a path or file name) is an Org file, by its ending."""
    return name.lower().endswith(ORG_EXTENSIONS)


@dataclass
class _State:
    """Where the reader is: inside a block (its kind), a drawer (its name), or a quote."""

    block: str | None = None
    drawer: str | None = None
    #: How far the open block's `#+begin_` line is indented: its lines are shown less that.
    block_indent: int = 0


def org_markdown(text: str, outline: bool = False) -> str:
    """Return the Org document `text` as Markdown with the same number of lines, each line
    from the same line of `text`:
    - the file's title, tags, aliases and description as YAML front matter at the top
      (as Logseq's `key:: value` page properties when the header has too few lines);
    - headlines as headings, or with `outline` (a page of a Logseq graph, which writes
      every block as a headline) as nested `- ` items;
    - a headline's properties (`:AUTHOR: …`) as `author:: …` lines, but for Org's and
      Org-roam's bookkeeping (`_BOOKKEEPING`, ids and timestamps);
    - source, example and export blocks as fenced code; quotes as `> ` lines;
    - `[[target][label]]` links as Markdown links: a note's as a `[[wikilink|label]]`, an
      Org-roam `id:` link as its label; `<<targets>>` as their words;
    - `*bold*`, `/italic/`, `+strike+`, `=verbatim=` and `~code~` as Markdown writes them,
      footnotes as `[^n]`, `#+caption:` as its words;
    - other drawers, planning lines, comments and other keywords as empty lines;
    - a drawer or block left open (no `:END:` or `#+end_` before the next headline) as
      text, as Org reads it: its opening line empty, the lines after it as any others;
    - the indentation Org puts under headlines taken away (it would read as code).
    Never raises."""
    lines = text.split("\n")
    closed = _closed_openers(lines)
    start = _header_end(lines, closed)
    body = _body(lines[start:], {i - start for i in closed if i >= start}, outline)
    return "\n".join(_header(lines[:start]) + body)


def _closed_openers(lines: list[str]) -> set[int]:
    """The indices of the lines opening a drawer or a block that a line closes before the
    next headline (found by bisection: a file of unclosed openers is read in n log n)."""
    headlines = [i for i, line in enumerate(lines) if _HEADLINE.match(line)]
    drawer_ends = [i for i, line in enumerate(lines) if _DRAWER_END.match(line)]
    block_ends: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        if closing := _END.match(line):
            block_ends.setdefault(closing.group(1).lower(), []).append(index)
    closed: set[int] = set()
    for index, line in enumerate(lines):
        begin = _BEGIN.match(line)
        if begin:
            ends = block_ends.get(begin.group(1).lower(), [])
        elif _DRAWER.match(line) and not _DRAWER_END.match(line):
            ends = drawer_ends
        else:
            continue
        after = bisect.bisect_right(ends, index)
        headline = bisect.bisect_right(headlines, index)
        if after < len(ends) and (headline == len(headlines)
                                  or ends[after] < headlines[headline]):
            closed.add(index)
    return closed


# -- the file's header: keywords and the file-level drawer -------------------------------------
def _header_end(lines: list[str], closed: set[int]) -> int:
    """How many lines open the file before its first headline or text: keywords, the
    file-level property drawer (when closed), comments and empty lines."""
    drawer = False
    for index, line in enumerate(lines):
        if drawer:
            drawer = _DRAWER_END.match(line) is None
            continue
        if _DRAWER.match(line) and not _DRAWER_END.match(line):
            if index not in closed:
                return index
            drawer = True
        elif not (not line.strip() or (_KEYWORD.match(line) and not _BEGIN.match(line))
                  or _COMMENT.match(line)):
            return index
    return len(lines)


def _header(lines: list[str]) -> list[str]:
    """The header's page properties as YAML front matter when it fits in as many lines as
    `lines` (it is then no text of the note: excerpts never show it; a mapping on one line
    when three lines are all there are), else as Logseq's `key:: value` lines, then empty
    lines up to as many lines as `lines`."""
    properties: dict[str, str | list[str]] = {}
    drawer = False
    for line in lines:
        if drawer:
            drawer = _DRAWER_END.match(line) is None
            match = _PROPERTY.match(line) if drawer else None
            if match:
                _add_property(properties, match.group(1), match.group(2))
            continue
        if _DRAWER.match(line) and not _DRAWER_END.match(line):
            drawer = True
        elif match := _KEYWORD.match(line):
            _add_property(properties, match.group(1), match.group(2))
    shown: list[str] = []
    if properties:
        # One key a line, a list in brackets: as short as front matter can be.
        front = [yaml.safe_dump({key: value}, allow_unicode=True, width=1 << 20,
                                default_flow_style=None if isinstance(value, list) else False
                                ).rstrip("\n")
                 for key, value in properties.items()]
        if len(front) + 2 > len(lines) >= 3:  # all on one line: {title: …, tags: […]}
            front = [yaml.safe_dump(properties, allow_unicode=True, sort_keys=False,
                                    default_flow_style=True, width=1 << 20).rstrip("\n")]
        shown = ["---", *front, "---"] if len(front) + 2 <= len(lines) else [
            f"{key}:: {', '.join(value) if isinstance(value, list) else value}"
            for key, value in properties.items()]
    return shown + [""] * (len(lines) - len(shown))


def _add_property(properties: dict[str, str | list[str]], key: str, value: str) -> None:
    """Keep the keyword or property `key` when it says what the note is, as front matter
    holds it (tags and aliases as lists of names, the first title or description)."""
    name = _PAGE_PROPERTIES.get(key.lower())
    if name is None or not value:
        return
    if name in ("tags", "aliases"):
        names = _names(value, name)
        held = properties.get(name, [])
        properties[name] = [*held, *names] if isinstance(held, list) else names
    elif name not in properties:
        properties[name] = _inline(value) if name in ("title", "description") else value


def _names(value: str, name: str) -> list[str]:
    """Tags or aliases as Org writes them: ":work:emacs:" (filetags), "a, b" (Logseq),
    "a b" (roam_tags), "\"Big Name\" other" (Org-roam's aliases, quoted when of several
    words)."""
    if name == "tags" and value.startswith(":") and value.endswith(":"):
        return [tag for tag in value.split(":") if tag]
    if "," in value:
        return [item.strip() for item in value.split(",") if item.strip()]
    if name == "aliases" and '"' not in value:
        return [value]  # #+alias: Big Name
    try:
        return shlex.split(value)
    except ValueError:
        return value.replace('"', "").split()


# -- the body -----------------------------------------------------------------------------------
def _body(lines: list[str], closed: set[int], outline: bool) -> list[str]:
    """The lines after the header as Markdown, one for one (`closed`: the indices of the
    drawers and blocks that close)."""
    indent = _section_indents(lines)
    state = _State()
    return [_line(line[min(indent[i], _indent(line)):] if indent[i] else line, state, outline,
                  i in closed)
            for i, line in enumerate(lines)]


def _line(line: str, state: _State, outline: bool, closes: bool) -> str:
    """One line as Markdown, given and updating where the reader is (`closes`: the line
    opens a drawer or block that closes)."""
    if state.block in _CODE_BLOCKS:
        if (end := _END.match(line)) and end.group(1).lower() == state.block:
            state.block = None
            return "```"
        line = line[min(state.block_indent, _indent(line)):]
        # Org escapes a code line that would read as a headline or keyword with a comma.
        return line[1:] if line.startswith((",*", ",#+")) else line
    if state.drawer is not None:
        if _DRAWER_END.match(line):
            state.drawer = None
        elif state.drawer == "properties" and (match := _PROPERTY.match(line)):
            return _property_line(match.group(1), match.group(2))
        return ""
    if state.block is not None and _END.match(line):
        state.block = None
        return ""
    if state.block == "comment":
        return ""
    if begin := _BEGIN.match(line):
        if not closes:
            return ""
        state.block_indent = _indent(line)
        return _begin(begin.group(1).lower(), begin.group(2), state)
    if drawer := _DRAWER.match(line):
        if closes and not _DRAWER_END.match(line):
            state.drawer = drawer.group(1).lower()
        return ""
    if keyword := _KEYWORD.match(line):
        return _inline(keyword.group(2)) if keyword.group(1).lower() == "caption" else ""
    if _COMMENT.match(line) or _PLANNING.match(line):
        return ""
    headline = _HEADLINE.match(line)
    if headline:
        return _headline(len(headline.group(1)), headline.group(2), outline)
    # Text indented under its headline would read as an indented code block in Markdown;
    # a list keeps its items' nesting.
    shown = _text(line if _LIST_ITEM.match(line) else line.lstrip(" \t"))
    return "> " + shown if state.block == "quote" else shown


def _property_line(key: str, value: str) -> str:
    """A headline's property as a `key:: value` line (its words searched, shown as "key:
    value"), or "" for bookkeeping: Org's and Org-roam's own keys, ids and timestamps."""
    key = key.lower()
    if (not value or key in _BOOKKEEPING or key.startswith(_BOOKKEEPING_PREFIXES)
            or _NOT_WORDS.match(value)):
        return ""
    return f"{key}:: {_inline(value)}"


def _begin(kind: str, arguments: str, state: _State) -> str:
    """The Markdown line for `#+begin_<kind> <arguments>`, entering that block."""
    state.block = kind
    if kind == "src":
        language = arguments.split()[0] if arguments.split() else ""
        return "```" + language
    return "```" if kind in _CODE_BLOCKS else ""


def _headline(level: int, text: str, outline: bool) -> str:
    """A headline as a Markdown heading, or as a list item `level` deep in an outline; its
    tags as #tags, its priority and statistics cookies left out."""
    tags = _HEADLINE_TAGS.search(text)
    if tags:
        text = text[:tags.start()] + "".join(
            f" #{tag}" for tag in tags.group(1).split(":") if tag)
    text = _inline(_COOKIE.sub("", text).strip())
    if outline:
        return "  " * (level - 1) + "- " + text
    return "#" * min(level, _DEEPEST) + " " + text


def _text(line: str) -> str:
    """A line of text (a paragraph's, a list item's, a table's) as Markdown."""
    if fixed := _FIXED_WIDTH.match(line):
        return line[fixed.end():]
    if _TABLE_RULE.match(line):
        return line.replace("+", "|")
    line = _FOOTNOTE_DEFINITION.sub(lambda m: f"[^{m.group(1)}]: ", line)
    line = line[:-2].rstrip() if line.endswith("\\\\") else line  # a forced line break
    return _inline(line)


def _inline(text: str) -> str:
    """Links, footnote references, targets and emphasis of one line as Markdown."""
    if "[" in text:
        text = _LINK.sub(_link, text)
        text = _FOOTNOTE.sub(_footnote, text)
    if "<<" in text:
        text = _TARGET.sub(r"\1", text)
    return _EMPHASIS.sub(_emphasis, text) if any(m in text for m in "*/=~+") else text


def _link(match: re.Match[str]) -> str:
    """An Org link as Markdown: a note's as a wikilink, a web page's or file's as a link,
    an image as an image, a link into this file or to an Org-roam id as its label."""
    target, label = match.group(1).replace("\\]", "]").replace("\\[", "["), match.group(2)
    kind, _, rest = target.partition(":")
    if kind.lower() in ("id", "roam") and rest:
        return f"[[{label}]]" if label else (f"[[{rest}]]" if kind.lower() == "roam" else "")
    if _SCHEME.match(target):
        return f"[{label}]({target})" if label else target
    if target.startswith(("*", "#")):
        return label or target.lstrip("*#").strip()
    path = rest if kind.lower() in ("file", "attachment") else target
    path = path.split("::", 1)[0]
    if _IMAGE.search(path):
        return f"![{label or ''}]({path})"
    if is_org(path) or path.lower().endswith((".md", ".markdown")):
        name = path.rsplit(".", 1)[0].removeprefix("./")
        return f"[[{name}|{label}]]" if label else f"[[{name}]]"
    if path != target or "/" in path:
        return f"[{label or path}]({path})"
    return f"[[{target}|{label}]]" if label else f"[[{target}]]"  # Logseq's page reference


def _footnote(match: re.Match[str]) -> str:
    """`[fn:1]` as `[^1]`; an inline definition, `[fn::text]` or `[fn:name:text]`, as its
    text in parentheses."""
    if match.group(3) is not None:
        return f"[^{match.group(3)}]"
    return f" ({match.group(2).strip()})" if match.group(2).strip() else ""


def _emphasis(match: re.Match[str]) -> str:
    """One emphasised run as Markdown writes it."""
    mark = _MARKDOWN_EMPHASIS[match.group(1)]
    inner = match.group(2) if mark == "`" else _inline(match.group(2))
    return f"{mark}{inner}{mark}"


# -- shape of the body --------------------------------------------------------------------------
def _section_indents(lines: list[str]) -> list[int]:
    """For each line, the indentation Org's "adapted indentation" puts under its headline:
    the least indentation of the section's lines with text, so that text indented under a
    headline does not read as an indented code block."""
    indents = [0] * len(lines)
    start = 0
    for end in [i for i, line in enumerate(lines) if _HEADLINE.match(line)] + [len(lines)]:
        section = range(start, end)
        least = min((_indent(lines[i]) for i in section
                     if lines[i].strip() and not _HEADLINE.match(lines[i])), default=0)
        for i in section:
            indents[i] = least
        start = end
    return indents


def _indent(line: str) -> int:
    """The number of spaces and tabs a line begins with."""
    return len(line) - len(line.lstrip(" \t"))
