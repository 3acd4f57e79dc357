"""The words a person wrote, apart from the data that travels with them in a note.

Two layers: `blank_data` removes whole blocks that are data (an Excalidraw drawing's compressed
JSON inside a `%%` comment, base64 runs, inline images as data URIs) from a note before it is
chunked, so they are neither indexed by words nor embedded; `embedding_text` turns a chunk into
what the model reads (link targets, URLs, HTML tags and block ids dropped, link texts kept), and
`display_text` a whole note into what the preview shows (the same, but links kept).

Why: a model reads `https://marketplace.visualstudio.com/items?itemName=…` as dozens of word
pieces with no meaning, which pulls the chunk's vector towards every other chunk full of URLs;
a drawing's base64 came out close to many unrelated queries on a real Chinese vault.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache, partial

from notesearch.core.text import (
    CODE_SPAN,
    FENCE,
    code_spans,
    fence_end,
    fenced_blocks,
    fts_text,
    math_spans,
    unpointed,
)

# Fenced blocks whose info string says they hold a drawing's data rather than code to read.
#: Fenced blocks that hold a plugin's data, by their info string: Excalidraw's drawings, and
#: the DB Folder plugin's settings ("yaml:dbfolder": 16 notes of a real Obsidian vault, whose
#: column settings matched "creating" as prose).
_DATA_FENCES = frozenset({"compressed-json", "excalidraw", "excalidraw-json", "yaml:dbfolder"})
# An opening fence's info string ("```bash", "~~~ {.python}"), for excerpts to leave out.
_FENCE_INFO = re.compile(r"^([ \t]*(?:`{3,}|~{3,}))[ \t]*[^\s`~][^\n`]*$", re.MULTILINE)
# A run of base64 (or hex) with no spaces, long enough that it cannot be a word.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{80,}")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]*")
_COMMENT_FENCE = "%%"
#: The line opening an Obsidian comment block of a plugin's data: "%%" alone (Excalidraw's
#: drawing) or tagged "%% kanban:settings" (the Kanban plugin's board settings, whose JSON
#: line, long key names and all, showed in a real vault's excerpts).
_COMMENT_OPEN = re.compile(r"^\s*%%(?:\s+[\w-]+:[\w-]+)?\s*$")


#: The line the Excalidraw plugin writes atop every drawing for readers without the plugin
#: ("==⚠ Switch to EXCALIDRAW VIEW in the MORE OPTIONS menu of this document. ⚠=="). In
#: English, it made each drawing of a Chinese vault the closest note to English questions.
_DRAWING_BANNER = re.compile(r"^\s*==\s*⚠\s*Switch to EXCALIDRAW VIEW\b")
#: A drawing's own section headings, and its lines naming embedded files by their 40-digit
#: ids ("81f90b…: [[Pasted Image 2022….png]]"): the plugin's structure, not the words drawn.
_DRAWING_SECTION = re.compile(
    r"^\s*#{1,6}\s+(?:Text Elements|Embedded files|Element Links|Drawing)\s*$", re.IGNORECASE)
_DRAWING_FILE = re.compile(r"^\s*[0-9a-f]{8,40}:\s*(?:!?\[\[.*\]\]|\$\$.*\$\$|\S+://\S+)\s*$")


def blank_data(lines: list[str], drawing: bool = False) -> list[str]:
    """Return `lines` with data blocks replaced by empty lines (line numbers are kept).

    Blanked: Obsidian comment blocks that start with a line of `%%` (Excalidraw keeps its
    compressed drawing there) or of a plugin's tag (`%% kanban:settings`), fenced blocks
    tagged as drawing data, data URIs, runs of 80+ base64 characters, lines that are JSON
    dumps (is_data_dump) and PGP armour (`-----BEGIN PGP MESSAGE-----` to its END line, as
    Org's encrypted entries keep it), in code blocks or not; Excalidraw's banner line, and in a
    `drawing` (front matter `excalidraw-plugin:`) its section headings and embedded-file
    lines, leaving the words drawn. Ordinary code blocks stay: code is what people search
    for.
    """
    out = list(lines)
    index = 0
    while index < len(out):
        line = out[index]
        stripped = line.strip()
        if _DRAWING_BANNER.match(line) or drawing and (_DRAWING_SECTION.match(line)
                                                       or _DRAWING_FILE.match(line)):
            out[index] = ""
            index += 1
            continue
        if stripped.startswith("-----BEGIN PGP") and (
                end := _closing(out, index + 1, lambda s: s.lstrip().startswith("-----END PGP"))
        ) is not None:
            _blank(out, index, end)
            index = end + 1
            continue
        if stripped.startswith(_COMMENT_FENCE) and _COMMENT_OPEN.match(line):
            end = _closing(out, index + 1, lambda s: s.strip() == _COMMENT_FENCE)
            if end is not None:
                _blank(out, index, end)
                index = end + 1
                continue
        fence = FENCE.match(line)
        if fence:
            end = fence_end(out, index, fence.group(1))
            if fence.group(2).lower() in _DATA_FENCES:
                _blank(out, index, end)
            else:
                for inside in range(index + 1, end):
                    if is_data_dump(out[inside]):
                        out[inside] = ""
            index = end + 1
            continue
        if is_data_dump(line):
            out[index] = ""
            index += 1
            continue
        if "data:" in line:
            line = out[index] = _DATA_URI.sub(" ", line)
        if len(line) >= 80 and _BASE64_RUN.search(line):
            out[index] = _BASE64_RUN.sub(_keep_words, line)
        index += 1
    return out


#: A command of Obsidian's Templater plugin, run when a template is used: `<% tp.file.title %>`,
#: `<%* await tp.file.move(…) %>` (JavaScript, over lines maybe), with `<%-`, `<%_`, `<%+`,
#: `-%>` and `_%>` variants; at most 2,000 characters, so that a lone "<%" stays text.
_TEMPLATER = re.compile(r"<%(?:(?!%>)[\s\S]){0,2000}%>")


def blank_templater(lines: list[str]) -> list[str]:
    """Return `lines` with Templater commands outside code blanked (each character but a
    newline a space: line numbers and columns are kept).

    A template's commands are code its plugin runs, not what the note says: a fresh-user
    trial's templates came close to unrelated queries and showed `<% tp.date.now("dddd, D
    MMMM YYYY") %>` as their excerpt, and a command in front matter
    (`interviewee: "<% tp.system.prompt("Who?") %>"`) made it unreadable YAML, shown as
    text. A command in a fenced block or inline code (a note about Templater, or about
    ERB's `<%= … %>`) is kept."""
    if not any("<%" in line for line in lines):
        return lines
    out = list(lines)
    start = 0
    for fence_start, fence_close, _ in [*fenced_blocks(lines), (len(lines), len(lines), True)]:
        if any("<%" in line for line in out[start:fence_start]):
            text = "\n".join(out[start:fence_start])
            out[start:fence_start] = _TEMPLATER.sub(
                partial(_outside_code, code=code_spans(text)), text).split("\n")
        start = fence_close + 1
    return out


#: Characters that make up most of a JSON dump and little of prose or code.
_DUMP_MARKS = frozenset('{}[]":,')
DUMP_MIN_CHARS = 120


def is_data_dump(line: str) -> bool:
    """True when `line` is a machine's JSON record rather than something a person wrote: at
    least DUMP_MIN_CHARS long, opening with { or [, a fifth or more of it braces, brackets,
    quotes, colons and commas. A query result pasted into the Logseq docs came out close
    to unrelated queries ("creme brulee", "dentist appointment"); on four real vaults (22k
    passages) three passages hold such a line, and no code or prose does."""
    text = line.strip()
    if len(text) < DUMP_MIN_CHARS or text[0] not in "[{":
        return False
    return sum(ch in _DUMP_MARKS for ch in text) * 5 >= len(text)


def _keep_words(match: re.Match[str]) -> str:
    """Blank a long run unless it is made of words (a long snake_case or URL-ish name)."""
    run = match.group()
    letters = sum(c.isalpha() for c in run)
    # Base64 mixes cases and digits evenly; a real identifier has long lower-case stretches.
    return " " if _looks_encoded(run, letters) else run


def _looks_encoded(run: str, letters: int) -> bool:
    upper = sum(c.isupper() for c in run)
    digits = sum(c.isdigit() for c in run)
    return letters > 0 and upper / letters > 0.2 and digits > len(run) / 40


def _closing(lines: list[str], start: int, is_end) -> int | None:
    for index in range(start, len(lines)):
        if is_end(lines[index]):
            return index
    return None


def fenced_runs(text: str) -> list[tuple[bool, str]]:
    """Return `text` cut into runs of whole lines, each (in a fenced code block or not,
    the run's text), in order: joined with newlines they give `text` back. A fence left
    open runs to the end (a passage may end inside one)."""
    lines = text.split("\n")
    runs: list[tuple[bool, str]] = []
    start = 0
    for opened, closed, _ in fenced_blocks(lines):
        if opened > start:
            runs.append((False, "\n".join(lines[start:opened])))
        runs.append((True, "\n".join(lines[opened:closed + 1])))
        start = closed + 1
    if start < len(lines):
        runs.append((False, "\n".join(lines[start:])))
    return runs


def _blank(lines: list[str], start: int, end: int) -> None:
    for index in range(start, end + 1):
        lines[index] = ""


_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\((?:<[^>\n]*>|[^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
# Logseq writes a block's first line after its bullet ("- #+BEGIN_QUOTE"): the bullet stays.
_ORG_MARKER = re.compile(r"^(\s*(?:[-*]\s+)?)#\+(?:BEGIN|END)_\w+.*$",
                         re.MULTILINE | re.IGNORECASE)
_REF_DEF = re.compile(r"^\s{0,3}\[(?!\^)[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)
_URL = re.compile(r"<?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s>)\]|]*>?")
# An embed's opening tag, and what it holds up to its closing tag when it has one (never past
# the opening of another embed of its kind).
_IFRAME = re.compile(r"<(iframe|video|audio|object|embed|script|style)\b[^>]*>"
                     r"(?:(?:(?!<\1\b).)*?</\1\s*>)?", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][\w-]*(?:\s[^<>]*)?/?>")
# A block id ends its line, after a space or, in Chinese text written without spaces, glued to
# the sentence (WeChat Reading's highlights end "…福报”。^3-2146-2261": 495 lines of a real
# vault, shown in excerpts); after a letter or digit it is an exponent ("2^1024").
_BLOCK_ID = re.compile(r"(?<![A-Za-z0-9])\^[A-Za-z0-9-]{3,}\s*$", re.MULTILINE)
_HICCUP = re.compile(r"\[:(?:img|video|iframe|audio)\b[^\n]*")
# A Logseq block reference, "((65c6e2a0-9b1d-4f2e-8a3c-5d6e7f8a9b0c))".
_BLOCK_REF = re.compile(r"[ \t]?\(\([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\)\)")
_PROPERTY = re.compile(r"^\s*(?:[-*]\s+)?(?:id|collapsed|created[-_]at|updated[-_]at|heading|"
                       r"background-color|card-[\w-]+|logseq\.[\w.-]+)::.*$",
                       re.MULTILINE | re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
#: An HTML character reference ("&amp;", "&lt;", "&#8217;"), as rich-text exports write them.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


#: HTML tags, then URLs: a URL in a tag's attribute matched first took the tag's ">" with it,
#: and the model read '<a href="' and '" title="Documentation">' (133 of foam-docs' 918 chunks).
_TAGS_THEN_URLS = (_TAG, _URL)
# A Markdown link's target with its title: `](https://… "分享链接")`. Blanked for Ask, which
# showed `]( "分享链接")` as an answering sentence; the link's words stay.
_LINK_TARGET = re.compile(r"\]\((?:<[^>\n]*>|[^)\s]*)(?:\s+\"[^\"\n]*\")?\)")


def keyword_text(text: str) -> str:
    """Return `text` as the keyword index holds it (text.fts_text), less its HTML tags and
    images' file paths outside code, its character references read (`_keyword_prose`): a
    fresh-user trial's Notion pages wrap callouts in `<aside>`, and "aside", a word no
    reader sees, found six of them at 88–95%; another's "image.png" and "_resources" found
    Evernote notes whose excerpts showed neither. What a tag holds stays, an image's alt
    text too, and code as written (a note about HTML)."""
    if not any(mark in text for mark in ("<", "&", "![")):
        return fts_text(text)
    return fts_text("\n".join(_keyword_prose(run) if not in_code else run
                              for in_code, run in fenced_runs(text)))


def _keyword_prose(run: str) -> str:
    """keyword_text of a run of lines outside fenced code: HTML tags and images' file paths
    (`![chart](_resources/scan_0001.png)`: its alt text stays) blanked, character
    references as their characters; inline code as written."""
    code = code_spans(run)
    if "<" in run:
        run = _TAG.sub(partial(_outside_code, code=code), run)
    if "![" in run:
        run = _IMAGE.sub(partial(_outside_code, code=code, keep=1), run)
    if "&" in run:  # last: a reference's character is shorter than it, and offsets move
        run = _ENTITY.sub(partial(_outside_code, code=code, read=True), run)
    return run


def _outside_code(match: re.Match[str], code: list[tuple[int, int]], keep: int = 0,
                  read: bool = False) -> str:
    """`match` as written inside inline code (`code`: code_spans of the text matched);
    outside, with `read` its character reference read, else blanked: its group `keep`,
    when given, then spaces for the rest but its newlines (line numbers and the text's
    offsets are kept)."""
    if code and _within_code(code, *match.span()):
        return match.group()
    if read:
        return html.unescape(match.group())
    kept = match.group(keep) if keep else ""
    return kept + re.sub(r"[^\n]", " ", match.group()[len(kept):])


def keyword_body(text: str, context_len: int) -> str:
    """Return what the keyword index holds in a chunk's body column: the file's own text
    (`keyword_text`). The context line (title › headings) stays out: it would give every
    chunk of a note the title's words, and the best keyword passage could then be one that
    never says them."""
    return keyword_text(text[context_len:])


def blank_markup(text: str) -> str:
    """Return `text` with its URLs, HTML tags, Markdown link targets and Logseq bookkeeping
    lines (`id::`, `logseq.order-list-type::`) replaced by spaces, every other character
    where it was (offsets still point into `text`): for finding the prose's sentences, and
    for showing Ask's passages without them."""
    if not any(mark in text for mark in ("://", "<", "](", "::")):
        return text
    for pattern in (*_TAGS_THEN_URLS, _LINK_TARGET, _PROPERTY):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def embedding_text(text: str, code_as_written: bool = False) -> str:
    """Return the text of a chunk as the embedding model should read it.

    Links keep their words and lose their targets (`[Code Spell Checker](https://…)` reads
    "Code Spell Checker"), bare URLs, HTML tags, embedded players, Logseq's bookkeeping
    properties (`id::`, `collapsed::`), hiccup images, `#+BEGIN_…` markers, `^block-ids`
    and Logseq block references (`((uuid))`: their vectors follow when a note is next
    read) go. `[[wikilinks]]` stay as written: the model reads them well, and a chunk left as it
    was keeps the vector it already has. Returns "" when nothing but such markup is left.
    With `code_as_written` (an excerpt, snippet_text), code, inline or in a fenced block, is
    left as it is (a note about Markdown that says "add the shortcode `[]()`" must not lose
    it), HTML comments go, and an image's alt text that is only a file name. The model reads
    code as before (on tldr-pages 667 of 13,426 chunks would read differently: commands'
    URLs), so no passage needs embedding again.
    """
    if not code_as_written:
        text = unpointed(text)
    if not any(mark in text for mark in ("](", "://", "<", "^", "::", "[:", "]:", "#+", "((",
                                         "&")):
        return text
    text, kept = _set_code_aside(text) if code_as_written else (text, [])
    if code_as_written and "<!--" in text:
        # An excerpt shows what a reader sees, and no reader sees "<!-- omit in toc -->"
        # (foam-docs); the model reads comments as before, so no passage needs embedding again.
        text = _HTML_COMMENT.sub(" ", text)
    # Each rule runs only when the text holds what every match of it must (a substring test
    # is far cheaper than a scan): a result's excerpt is cleaned at every keystroke.
    if "<" in text:
        text = _IFRAME.sub(" ", text)
    if "](" in text:
        text = _IMAGE.sub(_shown_alt if code_as_written else (lambda m: m.group(1)), text)
        text = _LINK.sub(lambda m: m.group(1), text)
    if "]:" in text:
        text = _REF_DEF.sub("", text)
    if "#+" in text:
        text = _ORG_MARKER.sub(r"\1", text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "://" in text:
        text = _URL.sub(_shown_url if code_as_written else " ", text)
        if code_as_written and "[[" in text:
            # An excerpt showed "Publishing — ! Search and Filtering" (a fresh-user trial):
            # the "!" of an embedded `dendron://` note. The model reads it as before.
            text = _EMPTY_WIKILINK.sub("", text)
            # Dendron writes a link's label first, "[[prioritySymbols|dendron://site/…]]":
            # with the URL gone, the label is what is left to show (the excerpt had shown
            # the empty side, an empty list of links).
            text = _HALF_WIKILINK.sub(lambda m: f"[[{m.group(1) or m.group(2)}]]", text)
    if "[:" in text:
        text = _HICCUP.sub(" ", text)
    if "::" in text:
        text = _PROPERTY.sub("", text)
    if "^" in text:
        text = _BLOCK_ID.sub("", text)
    if "((" in text:
        # A Logseq block reference reads as its uuid: "想起 ((65c6e2a0-…)) 外婆的话" (a
        # fresh-user trial). The block it stands for is found in its own note.
        text = _BLOCK_REF.sub("", text)
    if "&" in text:
        # Last, so that an escaped tag ("&lt;div&gt;", a note about HTML) is not taken for one.
        text = _unescaped(text)
    return _tidy_lines(_put_code_back(text, kept))


def _unescaped(text: str) -> str:
    """`text` with its HTML character references as their characters: an Evernote export's
    receipt read "METRO CASH &amp; CARRY" in a fresh-user trial, and "&lt;" found a note."""
    return _ENTITY.sub(lambda m: html.unescape(m.group()), text)


#: Web addresses an excerpt shows (others, "dendron://…", "obsidian://…", are the tools').
_WEB_SCHEMES = ("http://", "https://", "ftp://")
#: The longest address an excerpt shows whole; a longer one shows its host and path's start.
_URL_CHARS = 40


def _shown_url(match: re.Match[str]) -> str:
    """A bare web address as an excerpt shows it, as browsers do: without its scheme and
    "www.", cut with "…" past _URL_CHARS ("192.168.178.1", "github.com/foambubble/foam/…");
    punctuation that ends the sentence stays after it. Another scheme's address goes.

    Excerpts had left bare addresses out, and a fresh user read "Admin page: (password on
    the sticker)" in a note that gives the router's address (a search for the address found
    the note and showed no trace of it)."""
    url = match.group().strip("<>")
    lower = url.lower()
    if not lower.startswith(_WEB_SCHEMES):
        return " "
    after = url[len(url.rstrip(".,;:!?")):]
    shown = url[lower.index("://") + 3:len(url) - len(after)]
    shown = shown[4:] if shown.lower().startswith("www.") else shown
    if len(shown) > _URL_CHARS:
        shown = shown[:_URL_CHARS].rsplit("/", 1)[0] + "/…"
    return shown + after


# An image's alt text that is only its file's name or path, as Logseq and Obsidian fill it in
# ("![../assets/sidebar-make-a-flashcard.png](../assets/…)"): no words a person wrote.
_FILE_ALT = re.compile(r"\s*(?:\S*[/\\]\S*|.*\.(?:png|jpe?g|gif|svg|webp|bmp|tiff?|heic|avif))\s*",
                       re.IGNORECASE)


def _shown_alt(image: re.Match[str]) -> str:
    """An image in an excerpt: its alt text, unless that is only a file name or path."""
    alt = image.group(1)
    return "" if _FILE_ALT.fullmatch(alt) else alt


def _tidy_lines(text: str) -> str:
    """Return `text` with runs of spaces and tabs made one space, lines right-trimmed, and
    the whole stripped."""
    if "  " in text or "\t" in text:
        return "\n".join(_SPACES.sub(" ", line).rstrip() for line in text.split("\n")).strip()
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


_CODE_MARK = re.compile("\ue000(\\d+)\ue001")


def _set_code_aside(text: str) -> tuple[str, list[str]]:
    """Return `text` with each fenced code block and inline code span replaced by a mark no
    rule here matches (private-use characters around its number), and what they held, for
    _put_code_back."""
    if "`" not in text and "~~~" not in text:
        return text, []
    kept: list[str] = []

    def mark(code: str) -> str:
        kept.append(code)
        return f"\ue000{len(kept) - 1}\ue001"

    return "\n".join(mark(run) if code else CODE_SPAN.sub(lambda m: mark(m.group()), run)
                     for code, run in fenced_runs(text)), kept


def _put_code_back(text: str, kept: list[str]) -> str:
    def code(match: re.Match[str]) -> str:
        number = int(match.group(1))  # (a note's own private-use characters stay as they are)
        return kept[number] if number < len(kept) else match.group()

    return _CODE_MARK.sub(code, text) if kept else text


# Empty parentheses not attached to a word ("f()" in a note about code stays; so do task
# boxes, "[ ]").
_EMPTY_BRACKETS = re.compile(r"(?<![\w)\]])\(\s*\)")
_SPACE_BEFORE_CLOSE = re.compile(r"(?<=\S)[ \t]+\)")
# A wikilink or embed whose target was a URL ("![[dendron://site/note]]"), left empty.
_EMPTY_WIKILINK = re.compile(r"!?\[\[\s*\]\]")
# The block part of a link to a block ("[[IRS 2023#^reembolso]]").
_BLOCK_LINK = re.compile(r"(\[\[[^\]|#\n]*)#\^[\w-]+")
# A wikilink one side of whose "|" was a URL, left empty: "[[label| ]]" or "[[ |label]]".
_HALF_WIKILINK = re.compile(r"\[\[(?:([^\]|\n]*[^\]|\s])\|\s*|\s*\|([^\]|\n]*[^\]|\s])\s*)\]\]")


# An HTML comment, also one left open at a passage's end.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_EMPTY_ITEM = re.compile(r"^[ \t]*[-*+][ \t]*(?:\n|\Z)", re.MULTILINE)


# Access tokens by their issuers' published prefixes (GitHub, GitLab, Slack, OpenAI,
# Anthropic, Stripe, AWS, Google), with the random part that follows.
_SECRET = re.compile(r"\b(gh[pousr]_|github_pat_|glpat-|xox[abprs]-|sk-(?:proj-|ant-)?|"
                     r"[sr]k_(?:live|test)_|AKIA|AIza)[A-Za-z0-9_\-]{16,}")


@lru_cache(maxsize=512)
def snippet_text(text: str) -> str:
    """Return a chunk's text as a result's excerpt shows it: as `embedding_text` has it, but
    with code (inline and fenced blocks) as written, no HTML comments and no image alt
    text that is only a file's name, less what a removed URL leaves: empty parentheses
    ("(see https://…)" reads "(see)", not "(see )"), wikilinks (an embedded `dendron://`
    note) and list items ("- https://…" read "- - -" in a list of links), and with access
    tokens shown by their prefix only ("ghp_••••": a fresh-user trial saw a GitHub token in
    full in a result list, for a query about pizza). The last 512 are kept: a passage shown
    at one keystroke is mostly shown at the next."""
    text = embedding_text(text, code_as_written=True)
    text = _SECRET.sub(r"\1••••", text)
    if "#^" in text:  # a link to a block of a note reads as the note's name, as in Obsidian
        text = _BLOCK_LINK.sub(r"\1", text)
    if "```" in text or "~~~" in text:
        # On an excerpt's one line "```bash" read "Fix: bash git lfs install" (a fresh-user
        # trial): the language is not part of the command.
        text = _FENCE_INFO.sub(r"\1", text)
    if "\n-" in text or "\n*" in text or "\n+" in text or text[:1] in "-*+":
        text = _EMPTY_ITEM.sub("", text)
    if "(" not in text:
        return text
    text = "\n".join(run if in_code else _without_empty_brackets(run)
                     for in_code, run in fenced_runs(text))
    return _tidy_lines(text)


def _without_empty_brackets(run: str) -> str:
    """The parentheses a removed URL leaves, outside inline code: "(see )" reads "(see)",
    "( )" nothing; code's own stay (a fresh-user trial's `(lambda () …)` lost its "()")."""
    for pattern, replacement in ((_EMPTY_BRACKETS, ""), (_SPACE_BEFORE_CLOSE, ")")):
        run = pattern.sub(partial(_unless_code, code=code_spans(run), replacement=replacement),
                          run)
    return run


def _unless_code(match: re.Match[str], code: list[tuple[int, int]], replacement: str) -> str:
    """`match` as written inside inline code (`code`: code_spans of the text), else
    `replacement`."""
    return match.group() if code and _within_code(code, *match.span()) else replacement


# Properties written at the head of a passage ("alias:: docker build" then "tags:: docker",
# as a Logseq page opens), each on a line of its own.
_PAGE_PROPERTIES = re.compile(r"\A(?:[ \t]*[A-Za-z][\w-]*::[^\n]*(?:\n|\Z))+")


#: Properties that describe a note in prose ("description:: Allows locking whiteboard
#: elements"): its summary (markdown._summary), kept in excerpts.
DESCRIPTION_KEYS = ("description", "desc", "summary", "subtitle", "excerpt", "abstract")


def without_page_properties(text: str) -> str:
    """Return `text` less the properties at its head (`key:: value` lines) but its
    description (DESCRIPTION_KEYS) when words of its own follow them, else `text` itself:
    for excerpts (search.Searcher._result, which shows them when only they hold the
    query's words)."""
    head = _PAGE_PROPERTIES.match(text) if "::" in text else None
    if head is None or not has_words(text[head.end():]):
        return text
    kept = [line for line in text[:head.end()].split("\n")
            if line.split("::", 1)[0].strip().lower() in DESCRIPTION_KEYS]
    return "\n".join([*kept, text[head.end():].lstrip("\n")])


def display_text(text: str) -> str:
    """Return a whole note as the preview should show it: the prose and its links, without
    the data and bookkeeping a note tool keeps in the file.

    Dropped as in `embedding_text`: data blocks (`blank_data`), embedded players and
    iframes, hiccup images, Logseq's bookkeeping properties, `#+BEGIN_…` markers and
    `^block-ids`, but not in fenced code blocks (a fresh-user trial: the page teaching
    block anchors showed its example `… finding from the experiment. ^key-finding`
    without the anchor). Links, images and other properties (`tags::`, `alias::`) stay:
    they are what the person wrote. Line count is kept (removed lines are left empty).
    """
    text = "\n".join(blank_data(text.split("\n")))
    if not any(mark in text for mark in ("<", "^", "::", "[:", "#+")):
        return text
    return "\n".join(run if code else _without_bookkeeping(run)
                     for code, run in fenced_runs(text))


def _without_bookkeeping(text: str) -> str:
    """display_text's rules, for text outside code blocks; line count kept."""
    text = _IFRAME.sub(lambda m: "\n" * m.group().count("\n"), text)
    text = _HICCUP.sub("", text)
    text = _ORG_MARKER.sub(r"\1", text)
    text = _PROPERTY.sub("", text)
    return "\n".join(_BLOCK_ID.sub("", line) for line in text.split("\n"))


# Logseq's heading blocks ("\t- ## Usage"): Qt draws a list item holding a heading as an
# empty bullet. The item stays (its children are indented under it; without it they read as
# a code block) and shows its heading in bold.
_HEADING_BLOCK = re.compile(r"^([ \t]*[-*+][ \t]+)#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
# A wikilink with its alias, if any: the alias (or the target) is what a reader sees.
_WIKILINK_SHOWN = re.compile(r"\[\[(?:[^\]|\n]*\|)?([^\]\n]*)\]\]")


#: A Logseq property's mark, `type:: Feature`: a reader sees "type: Feature", as Logseq shows
#: it (excerpts and the preview alike; `std::vector` has no space after it).
_PROPERTY_MARK = r"(?<=\w)::(?=[ \t])"


# Obsidian's and Logseq's highlight, "==words==", on one line: Qt's Markdown has none, so the
# preview shows the words, as excerpts do (_READER_MARKUP's "mark"). Word characters and "="
# around it rule out code ("a === b", "x==y").
_HIGHLIGHT = re.compile(r"(?<![=\w])==(?=[^\s=])([^\n]+?)(?<=[^\s=])==(?![=\w])")
# Logseq's size of an image, written right after it: "![a.png](a.png){:height 402, :width 326}".
_IMAGE_SIZE = re.compile(r"(!\[[^\]\n]*\]\([^)\n]*\))\{:[^}\n]*\}")


def preview_markdown(markdown: str) -> str:
    """Return a Markdown note (after `display_text`) as the preview lays it out, line count
    kept: a heading block in bold as the list item it is; a wikilink as its words, as
    `plain_markdown` reads it (Qt showed "[[Left sidebar]]" as written, so a cited passage
    holding one was never found and tinted); an image by its name (images are not loaded:
    disk work on every preview, and Qt drew a broken-file icon for each); a Logseq property
    as "type: Feature", as excerpts read it; "==highlighted==" words and an image's Logseq size
    (`{:height 402, :width 326}`) as a reader sees them (a fresh-user trial saw both raw).
    Fenced code blocks stay as written."""
    if "```" in markdown or "~~~" in markdown:
        return "\n".join(run if code else _laid_out(run) for code, run in fenced_runs(markdown))
    return _laid_out(markdown)


def _laid_out(markdown: str) -> str:
    """preview_markdown's rules, for text outside code blocks."""
    if "==" in markdown:
        markdown = _HIGHLIGHT.sub(r"\1", markdown)
    if "{:" in markdown:
        markdown = _IMAGE_SIZE.sub(r"\1", markdown)
    markdown = _HEADING_BLOCK.sub(lambda m: f"{m.group(1)}**{m.group(2)}**" if m.group(2)
                                  else m.group(1), markdown)
    markdown = _WIKILINK_SHOWN.sub(r"\1", markdown)
    markdown = re.sub(_PROPERTY_MARK, ":", markdown) if "::" in markdown else markdown
    return _IMAGE.sub(lambda m: f"*[image: {m.group(1) or 'untitled'}]*", markdown)


_WORD = re.compile(r"[^\W_]", re.UNICODE)


def has_words(text: str) -> bool:
    """True when `text` holds at least one letter or digit (a page of "-" does not)."""
    return _WORD.search(text) is not None


# Markdown markup that a reader does not see, each alternative dropped or swapped for a symbol
# of its own; the words stay put, so highlight spans can be moved by what was removed before
# them. "ordinal" and "quote" are structure at a line's start; single * and _ are emphasis
# only at a word's edge (snake_case and 2*3 keep theirs).
_READER_MARKUP = re.compile(
    # Every alternative starts with one of these characters: testing one class first lets the
    # engine pass over a word's letters instead of trying fifteen alternatives at each (2.4×
    # faster on 14,097 real excerpts, output identical).
    r"(?=[|\s:\-\[\]!#>\d*_~`=+\\])(?:"
    # A backslash escape ("\\*", "\\_", "\\["): the character as written, not markup.
    r"(?P<escape>\\[!-/:-@\[-`{-~])"
    # A table's rule, with the pipes beside it: in an excerpt on one line it stands
    # between the header's cells and the first row's, one mark ("Water · Monstera").
    r"|(?P<table_rule>(?:\|[ \t]*)*(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?\s*)?(?:[ \t]*\|)*)"
    # An Obsidian callout's type ("> [!warning]- Open risk"): its title stays.
    r"|(?P<callout>\[![A-Za-z][\w-]*\][+-]?[ \t]?)"
    # A footnote's mark ("[^1]"), also where its text is given ("[^1]: Source …").
    r"|(?P<footnote>\[\^[\w-]+\]:?[ \t]?)"
    r"|(?P<wiki_target>!?\[\[[^\]|]*\|)"
    r"|(?P<wiki_open>!?\[\[)|(?P<wiki_close>\]\])"
    r"|(?P<link_url>\]\([^)\s]*\))"
    r"|(?P<checkbox>\[[ xX]\])"
    r"|(?P<link_open>!?\[(?=[^\]]*\]\())"
    r"|(?P<heading>(?:(?<=[\s…])|^)#{1,6}\s)"
    r"|(?P<quote>(?:(?<=\n)|^)[ \t]*>[ \t]?)"
    r"|(?P<ordinal>(?:(?<=\n)|^)[ \t]*\d+[.)](?=\s))"
    r"|(?P<emphasis>\*\*|__|~~|`+)"
    r"|(?P<mark>(?<![\w=])==(?=[^\s=])|(?<=[^\s=])==(?![\w=]))"
    r"|(?P<bullet>(?:(?<=\n)|^)[ \t]*[-*+](?=\s))"
    # A single "*" or "_" that may open or close emphasis; only pairs are markup (_unpaired).
    r"|(?P<edge>(?<!\*)[*_](?=[^\s*_])|(?<=[^\s*_])[*_](?!\*))"
    r"|(?P<row_edge>^\|[ \t]?)"  # a table row's first pipe, as an excerpt opens on one
    # A pipe between cells, and the empty cells or row's end beside it ("| |": one mark).
    r"|(?P<pipe>(?<=\s)\|(?:[ \t]+\|)*(?=\s|$))"
    rf"|(?P<property>{_PROPERTY_MARK})"
    r")"
)
_SYMBOLS = {"bullet": "•", "pipe": "·"}
_ROW_END = re.compile(r"[ \t]*(?:\n|$)")
#: A character every alternative of _READER_MARKUP but "ordinal" (which keeps what it
#: matches) needs, or a list item's marker.
_MARKUP_HINT = re.compile(r"[\[\]*_~`#>|=\\]|(?:^|\n)[ \t]*[-*+](?=\s)|\w::")


def plain_markdown(text: str, spans: tuple[tuple[int, int], ...] = (), symbols: bool = True
                   ) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Return Markdown as a reader sees it, and `spans` (highlights, offsets into `text`)
    moved to match. The one Markdown-to-plain-text rule: snippets, headings and the
    preview's passage finder all use it.

    Links keep their words ([text](url), [[target|alias]] read "text", "alias"), emphasis
    and code marks, heading marks, quote marks and table rules go, and a Logseq property
    reads "type: Feature" (written `type:: Feature`). With `symbols`, list
    bullets, table pipes and checkboxes become •, · and ☐/☑ and list numbers stay (a snippet
    on one line keeps its structure); without, they go, as in rendered text. A highlight
    that fell wholly inside removed markup (a word in a URL) is dropped.
    """
    if _MARKUP_HINT.search(text) is None:
        return text, tuple(spans)  # (most excerpts: the full pattern costs 0.2 ms each)
    pieces: list[str] = []
    # The stretches of `text` kept as they were: (start, end, where they start in the plain
    # text). A map of every character cost 0.25 ms an excerpt, 2.5 ms a search of ten.
    kept: list[tuple[int, int, int]] = []
    last = out = 0
    code = sorted(code_spans(text) + math_spans(text)) if "$" in text else code_spans(text)
    # Inline code and TeX math read as written: only code's backticks go. (Emphasis and
    # escapes had made "\\hat w_{\\text{ridge}}" read "\\hat w{\\text{ridge}}" and
    # "\\|w\\|_2" read "|w|2": a fresh-user trial's lecture notes.)
    matches = [m for m in _READER_MARKUP.finditer(text)
               if not (code and _within_code(code, *m.span()))]
    literal = _unpaired(text, [m for m in matches if m.lastgroup == "edge"])
    for match in matches:
        start, end = match.span()
        if literal and start in literal:
            continue
        replacement = _replacement(match, symbols)
        if start > last:
            kept.append((last, start, out))
        out += start - last
        pieces.append(text[last:start] + replacement)
        out += len(replacement)
        last = end
    if last < len(text):
        kept.append((last, len(text), out))
    pieces.append(text[last:])
    return "".join(pieces), tuple(moved for a, b in spans
                                  if (moved := _moved(kept, a, min(b, len(text)))))


def _unpaired(text: str, edges: list[re.Match[str]]) -> set[int]:
    """Return the offsets of the single "*" and "_" marks in `edges` inside a word ("2*3")
    that pair with no other on their line: a reader sees those as written (CommonMark's
    flanking rules, simplified: a "*" opens before a non-space and closes after one, inside
    a word too; a "_" not inside a word). "dial #991*15901590* from a phone" had lost its
    second star only and read as another code. A mark at a word's edge goes unpaired too:
    an excerpt is cut from its passage, and its pair may lie outside it."""
    if not edges:
        return set()
    literal: set[int] = set()
    opened: dict[tuple[int, str], list[int]] = {}
    for match in edges:
        at = match.start()
        mark = text[at]
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        stack = opened.setdefault((text.count("\n", 0, at), mark), [])
        if stack and not before.isspace() and (mark == "*" or not after.isalnum()):
            stack.pop()  # closes the last one opened
        elif not after.isspace() and (mark == "*" or not before.isalnum()):
            stack.append(at)
        elif before.isalnum() and after.isalnum():
            literal.add(at)
    for stack in opened.values():
        literal.update(at for at in stack if text[at - 1: at].isalnum())
    return literal


def _moved(kept: list[tuple[int, int, int]], a: int, b: int) -> tuple[int, int] | None:
    """Where the kept characters of text[a:b] stand in the plain text: from the first to
    one past the last (None when all of them were markup)."""
    inside = [(max(a, start), min(b, end), at - start) for start, end, at in kept
              if start < b and a < end]
    if not inside:
        return None
    return inside[0][0] + inside[0][2], inside[-1][1] + inside[-1][2]


def _within_code(code: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when [start, end) lies inside a code span, short of its backticks."""
    return any(a < start and end < b for a, b in code)


def _replacement(match: re.Match[str], symbols: bool) -> str:
    kind = match.lastgroup or ""
    if kind == "bullet":  # a list item's marker; its indentation stays
        return match.group()[:-1] + ("•" if symbols else "")
    if kind == "property":  # Logseq's "type:: Feature" reads "type: Feature", as it shows it
        return ":"
    if kind == "escape":
        return match.group()[1]
    if not symbols:
        return ""
    if kind == "pipe" and _ROW_END.match(match.string, match.end()):
        return ""  # a row's last pipe: the next row's first is the mark between them
    if kind == "table_rule":  # one mark between two rows, unless on a line of its own
        return "·" if match.start() and match.string[match.start() - 1] != "\n" else ""
    if kind == "checkbox":
        return "☑" if match.group().lower() == "[x]" else "☐"
    if kind == "ordinal":
        return match.group()
    return _SYMBOLS.get(kind, "")
