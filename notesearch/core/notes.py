"""Finding note files under a folder, honouring ignore rules, and reading them as text safely."""

from __future__ import annotations

import codecs
import errno
import hashlib
import logging
import os
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pathspec

from notesearch.core.canvas import CANVAS_EXTENSIONS, canvas_markdown, is_canvas
from notesearch.core.errors import SkipFile
from notesearch.core.joplin import is_joplin_item, joplin_markdown
from notesearch.core.orgmode import ORG_EXTENSIONS, is_org, org_markdown

log = logging.getLogger(__name__)

#: Which files are notes, decided here only (discovery, watcher, parser, preview and the
#: file-manager menus all read these): Markdown, plain text, Obsidian canvases and Org files.
MARKDOWN_EXTENSIONS = (".md", ".markdown")
NOTE_EXTENSIONS = (*MARKDOWN_EXTENSIONS, ".txt", *CANVAS_EXTENSIONS, *ORG_EXTENSIONS)
#: Notes whose text (after `note_source`) is Markdown: rendered as such in the preview.
READ_AS_MARKDOWN = (*MARKDOWN_EXTENSIONS, *CANVAS_EXTENSIONS, *ORG_EXTENSIONS)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

IGNORE_FILES = (".gitignore", ".notesearchignore")
# Folder names that hold app state, trash or dependencies rather than notes, at any depth.
_ALWAYS_SKIPPED_NAMES = frozenset({".git", ".obsidian", ".trash", "node_modules"})
# Logseq keeps backups and deleted pages under its own folder; only skipped there, because a
# user's own folder called "bak" elsewhere may well hold notes.
_LOGSEQ_SKIPPED = frozenset({"bak", ".recycle"})


@dataclass(frozen=True)
class Skipped:
    """A path discovery could not use, with the reason shown to the user."""

    path: Path
    reason: str


def _compile(lines: Iterable[str]) -> pathspec.PathSpec | None:
    cleaned = [line.rstrip("\r\n") for line in lines]
    spec = pathspec.GitIgnoreSpec.from_lines(cleaned)
    return spec if len(spec) else None


def _decision(spec: pathspec.PathSpec, rel: str) -> bool | None:
    """True/False when a pattern in `spec` decides `rel` (last match wins), None when none does."""
    return spec.check_file(rel).include


class IgnoreRules:
    """Which paths under one root folder are not notes: built-ins, ignore files, user patterns.

    Precedence follows git: a deeper ignore file overrides a shallower one, and the last matching
    pattern in a file wins. The user's exclude patterns (negations allowed) override all ignore
    files. When include patterns are given, only files matching one of them are kept.
    """

    def __init__(self, root: Path, include: Iterable[str] = (),
                 exclude: Iterable[str] = ()) -> None:
        self.root = Path(os.path.abspath(root))
        self._root_str = str(self.root)
        self._include = _compile(include)
        self._exclude = _compile(exclude)
        # rel dir ("" for the root) -> compiled patterns of that folder's ignore files, or None
        self._specs: dict[str, pathspec.PathSpec | None] = {}

    def is_ignored(self, path: Path, is_dir: bool) -> bool:
        """Whether `path` (absolute, or relative to the root) should be left out of the index.

        Folders above `path` count too: a note inside `.obsidian/` or an ignored folder is
        ignored. Paths outside the root are ignored (they are not this folder's notes).
        """
        full = os.path.join(self._root_str, path)
        rel = os.path.relpath(full, self._root_str)
        if rel == ".":
            return False  # the root itself is what the user asked for, even if hidden
        if rel.startswith(".." + os.sep) or rel == "..":
            return True
        parts = rel.split(os.sep)
        for depth in range(1, len(parts)):
            if self.is_ignored_rel("/".join(parts[:depth]), is_dir=True):
                return True
        return self.is_ignored_rel("/".join(parts), is_dir)

    def is_ignored_rel(self, rel: str, is_dir: bool) -> bool:
        """Judge one '/'-separated path relative to the root, assuming its folders are kept.

        This is discover's fast path: it prunes ignored folders, so parents need no re-check.
        """
        parent, _, name = rel.rpartition("/")
        if self._builtin_skip(parent, name):
            return True
        if self._ignored_by_files(rel, is_dir):
            return True
        if not is_dir and self._include is not None:
            return not self._include.match_file(rel)
        return False

    @staticmethod
    def _builtin_skip(parent: str, name: str) -> bool:
        if name.startswith(".") or name in _ALWAYS_SKIPPED_NAMES:
            return True
        return name in _LOGSEQ_SKIPPED and parent.rpartition("/")[2] == "logseq"

    def _ignored_by_files(self, rel: str, is_dir: bool) -> bool:
        target = rel + "/" if is_dir else rel
        if self._exclude is not None:
            decided = _decision(self._exclude, target)
            if decided is not None:
                return decided
        # Walk from the deepest folder up to the root: the first ignore file that has an
        # opinion wins, as in git.
        parts = rel.split("/")
        for depth in range(len(parts) - 1, -1, -1):
            base = "/".join(parts[:depth])
            spec = self._spec_for(base)
            if spec is None:
                continue
            decided = _decision(spec, "/".join(parts[depth:]) + ("/" if is_dir else ""))
            if decided is not None:
                return decided
        return False

    def _spec_for(self, rel_dir: str) -> pathspec.PathSpec | None:
        if rel_dir not in self._specs:
            self._specs[rel_dir] = self._load(rel_dir)
        return self._specs[rel_dir]

    def _load(self, rel_dir: str) -> pathspec.PathSpec | None:
        folder = os.path.join(self._root_str, rel_dir) if rel_dir else self._root_str
        lines: list[str] = []
        for name in IGNORE_FILES:  # .notesearchignore last, so its patterns win over .gitignore
            try:
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    lines.extend(f.read().splitlines())
            except OSError:
                continue  # absent or unreadable: an ignore file we cannot read ignores nothing
        return _compile(lines) if lines else None


#: Why a file whose name is not UTF-8 is left out: SQLite, the models and every front end
#: hold paths as Unicode text, and such a name cannot be written there without changing it.
BAD_NAME_REASON = "file name is not valid UTF-8 (rename it to index this note)"
BAD_FOLDER_NAME_REASON = "folder name is not valid UTF-8 (rename it to index its notes)"


def in_obsidian_vault(path: Path) -> bool:
    """True when a folder holding the note `path` (up to the file system's root) has an
    `.obsidian` settings folder: an Obsidian vault, which names every note by its file."""
    return _held_above(os.path.dirname(os.path.abspath(path)), ".obsidian")


def in_logseq_graph(path: str | Path) -> bool:
    """True when a folder holding the note `path` (up to the file system's root) holds
    `logseq/config.edn`: a Logseq graph, whose pages are outlines of blocks."""
    return _held_above(os.path.dirname(os.path.abspath(path)), os.path.join("logseq",
                                                                           "config.edn"))


@lru_cache(maxsize=4096)
def _held_above(folder: str, marker: str) -> bool:
    """Whether `folder`, or a folder above it, holds `marker` (a relative path)."""
    if os.path.exists(os.path.join(folder, marker)):
        return True
    parent = os.path.dirname(folder)
    return parent != folder and _held_above(parent, marker)


def has_undecodable_name(path: str | Path) -> bool:
    """True when a path holds bytes that are not UTF-8 (kept by Python as lone surrogates)."""
    try:
        str(path).encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def display_path(path: str | Path) -> str:
    """Return a path as text that can be stored and shown: bad bytes become U+FFFD."""
    text = str(path)
    if not has_undecodable_name(text):
        return text
    return os.fsencode(text).decode("utf-8", "replace")


def os_reason(error: OSError) -> str:
    """Return a short user-facing reason for an OS error on a file."""
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "vanished while reading"
    if error.errno == errno.ELOOP:  # links that point at each other, met by stat or open
        return "symlink loop"
    return f"could not be read ({error.strerror or error})"


def _extension_matcher(extensions: Iterable[str]) -> tuple[str, ...]:
    return tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)


def _is_loop(link_path: str, target: str) -> bool:
    """A symlink is a loop when it points at one of the folders that contain it."""
    parent = os.path.realpath(os.path.dirname(link_path))
    return parent == target or parent.startswith(target.rstrip(os.sep) + os.sep)


def discover(root: Path, rules: IgnoreRules | None = None,
             extensions: Iterable[str] = NOTE_EXTENSIONS) -> Iterator[Path | Skipped]:
    """Yield absolute paths of notes under `root`, or Skipped for what could not be walked.

    Real folders are walked before symlinked ones, and real files yielded before symlinked
    ones, so that a note reachable both ways is reported once, under its real path; each
    folder and each file (by device and inode) is listed once.
    """
    root_str = os.path.abspath(root)
    if rules is None:
        rules = IgnoreRules(Path(root_str))
    wanted = _extension_matcher(extensions)
    try:
        info = os.stat(root_str)
    except FileNotFoundError:
        yield Skipped(Path(root_str), "folder not found")
        return
    except OSError as error:
        yield Skipped(Path(root_str), os_reason(error))
        return
    visited = {(info.st_dev, info.st_ino)}
    pending: list[tuple[str, str]] = [(root_str, "")]  # (absolute dir, dir relative to root)
    deferred_links: list[tuple[str, str]] = []
    linked_files: list[Path] = []
    seen_files: set[tuple[int, int]] = set()
    while pending or deferred_links:
        if not pending:
            yield from _enter_link(deferred_links.pop(0), visited, pending)
            continue
        folder, rel = pending.pop()
        for item in _scan_folder(folder, rel, rules, wanted, pending, deferred_links, visited):
            if isinstance(item, Path) and os.path.islink(item):
                linked_files.append(item)  # after every real file: the file is its real path
            elif not isinstance(item, Path) or _remember(item, seen_files):
                yield item  # (a second hard link to a file already listed is not)
    # A note file linked from elsewhere in the folder is one note, under its real path; a
    # link to a file outside the folder is indexed under the link's path.
    for link in linked_files:
        if _remember(link, seen_files):
            yield link


def _remember(path: Path, seen: set[tuple[int, int]]) -> bool:
    """Add the file's identity (device, inode) to `seen`; False if it was there already."""
    try:
        info = os.stat(path)
    except OSError:
        return True  # it vanished: reading it will say so
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _enter_link(link: tuple[str, str], visited: set[tuple[int, int]],
                pending: list[tuple[str, str]]) -> Iterator[Skipped]:
    """Queue a symlinked folder for walking unless its target was already walked."""
    path, rel = link
    try:
        info = os.stat(path)
    except OSError as error:
        yield Skipped(Path(path), os_reason(error))
        return
    key = (info.st_dev, info.st_ino)
    if key in visited:
        if _is_loop(path, os.path.realpath(path)):
            yield Skipped(Path(path), "symlink loop")
        # else: a second link to a folder already indexed; its notes are already listed
        return
    visited.add(key)
    pending.append((path, rel))


def _scan_folder(folder: str, rel: str, rules: IgnoreRules, wanted: tuple[str, ...],
                 pending: list[tuple[str, str]], deferred_links: list[tuple[str, str]],
                 visited: set[tuple[int, int]]) -> Iterator[Path | Skipped]:
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError as error:
        yield Skipped(Path(folder), os_reason(error))
        return
    subdirs: list[tuple[str, str]] = []
    for entry in entries:
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        try:
            yield from _classify(entry, child_rel, rules, wanted, subdirs, deferred_links)
        except OSError as error:  # e.g. the entry vanished between listing and stat
            yield Skipped(Path(entry.path), os_reason(error))
    for path, _ in subdirs:
        # Remember real folders so that a symlink pointing back at one is recognised later.
        try:
            info = os.stat(path, follow_symlinks=False)
            visited.add((info.st_dev, info.st_ino))
        except OSError:
            pass  # it vanished; scanning it will report that
    # Reversed so that popping from the stack walks folders in listing order.
    pending.extend(reversed(subdirs))


def _classify(entry: os.DirEntry[str], rel: str, rules: IgnoreRules, wanted: tuple[str, ...],
              subdirs: list[tuple[str, str]],
              deferred_links: list[tuple[str, str]]) -> Iterator[Path | Skipped]:
    if entry.is_dir():
        if rules.is_ignored_rel(rel, is_dir=True):
            return  # pruned: we never look inside
        if has_undecodable_name(entry.name):
            yield Skipped(Path(entry.path), BAD_FOLDER_NAME_REASON)
            return
        if entry.is_symlink():
            deferred_links.append((entry.path, rel))
        else:
            subdirs.append((entry.path, rel))
        return
    if not entry.name.lower().endswith(wanted):
        return
    if entry.is_file():
        if not rules.is_ignored_rel(rel, is_dir=False):
            if has_undecodable_name(entry.name):
                yield Skipped(Path(entry.path), BAD_NAME_REASON)
            else:
                yield Path(entry.path)
    elif entry.is_symlink() and not rules.is_ignored_rel(rel, is_dir=False):
        yield Skipped(Path(entry.path), "broken symlink")
    elif not rules.is_ignored_rel(rel, is_dir=False):
        # A pipe, socket or device named like a note: reading it could block forever.
        yield Skipped(Path(entry.path), "not a regular file (a pipe, socket or device)")


def _human_size(size: float) -> str:
    if size < 1024:
        return f"{int(size)} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _limit_text(max_bytes: int) -> str:
    # "5 MB" rather than "5.0 MB" for the round limits users actually configure.
    text = _human_size(max_bytes)
    return text.replace(".0 ", " ")


def _too_large(size: int, max_bytes: int) -> SkipFile:
    return SkipFile(f"larger than {_limit_text(max_bytes)} limit ({_human_size(size)})")


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise SkipFile("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            # A pipe or device would block or never end; notes are regular files.
            raise SkipFile("not a regular file")
        if info.st_size > max_bytes:
            raise _too_large(info.st_size, max_bytes)
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the file may have grown since stat
    except IsADirectoryError as error:
        raise SkipFile("is a folder, not a file") from error
    except OSError as error:
        raise SkipFile(os_reason(error)) from error
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    return data


def _utf16_without_bom(data: bytes) -> str | None:
    """Return the byte order ("utf-16-le"/"-be") of BOM-less UTF-16 text, or None.

    Text that is mostly Latin script has a zero in every other byte: in odd positions for
    little-endian, even ones for big-endian; binary files have zeros scattered both ways.
    """
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even = sample[0::2].count(0) / (len(sample) / 2)
    odd = sample[1::2].count(0) / (len(sample) / 2)
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


#: Older encodings a note that is not UTF-8 may be in, the most used first: Windows' Western
#: code page (Notepad's "ANSI" on most Western systems), then the Chinese, Japanese, Korean
#: and traditional Chinese ones, then the other Windows code pages. A short text fits several
#: equally ("Grüße" is the same bytes in cp1252 and cp1250; four bytes of GBK are also Big5):
#: then the first of these wins.
_LEGACY_ENCODINGS = ("cp1252", "gb18030", "cp932", "cp949", "big5", "cp1251", "cp1250",
                     "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
                     "koi8_r")
#: How much more "chaos" (charset-normalizer's share of implausible characters, 0-1) than the
#: most plausible reading an encoding on the list above may show and still be chosen.
_CHAOS_SLACK = 0.01


def _legacy_decode(data: bytes) -> str | None:
    """Text decoded by the most likely non-Unicode encoding, or None when no encoding reads
    `data` as plausible text (then it is binary or damaged).

    charset-normalizer (Ousret's detector, which `requests` uses) measures how plausible each
    encoding's reading is; among the readings as plausible as the best, the more common
    encoding is taken, as short notes are told apart poorly by statistics alone."""
    from charset_normalizer import from_bytes  # only for the rare note that is not UTF-8

    # UTF-16 and UTF-8 have been tried already: a guess of them here is a misreading.
    matches = [m for m in from_bytes(data) if not m.encoding.startswith("utf")]
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    plausible = [m for m in matches if m.chaos <= least + _CHAOS_SLACK]
    for encoding in _LEGACY_ENCODINGS:
        if any(encoding in m.could_be_from_charset for m in plausible):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            log.info("read a note as %s (it is not UTF-8)", encoding)
            return text
    return str(plausible[0])


def _damaged_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few broken sequences (a sync cut a character in two), each shown
    as U+FFFD, or None when the invalid bytes are what the file is made of (an older
    encoding: its accented letters are almost never valid UTF-8 sequences)."""
    text = data.decode("utf-8-sig", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - broken
    return text if valid >= 4 * broken else None


def _utf8_or_legacy(data: bytes) -> str:
    """UTF-8 (a BOM dropped), else the most likely older encoding; SkipFile if none fits."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        damaged = _damaged_utf8(data)
        if damaged is not None:
            return damaged
        legacy = _legacy_decode(data)
        if legacy is None:
            raise SkipFile("not text in UTF-8 or any other encoding") from None
        return legacy


def decode(data: bytes) -> str:
    """Return the text of a note's bytes: UTF-8 (a BOM dropped), UTF-16 with or without BOM,
    else the most likely older encoding (Windows-1252, GBK, Shift JIS, ...).

    Raises SkipFile (with the reason shown to the user) for binary or undecodable data."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")  # the codec reads the BOM for byte order and drops it
        elif b"\x00" in data and (order := _utf16_without_bom(data)):
            text = data.decode(order)
        else:
            # NULs only at the end are padding, as some tools leave a file they preallocated
            # (a real vault's 260-character note padded to 4,096 bytes was skipped whole).
            data = data.rstrip(b"\x00")
            if b"\x00" in data:
                raise SkipFile("binary file (contains NUL bytes)")
            text = _utf8_or_legacy(data)
    except UnicodeDecodeError as error:
        raise SkipFile("not valid UTF-8 or UTF-16 text") from error
    if "\x00" in text:  # e.g. UTF-32, whose BOM starts like UTF-16's
        raise SkipFile("binary file (contains NUL bytes)")
    return text


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, bytes]:
    """Return (the note's text in Unicode NFC, "\\r\\n" turned into "\\n", a canvas's as the
    Markdown of its cards (`note_source`); raw bytes); raise only SkipFile.

    NFC: an accent written as a separate mark (as macOS and some editors do) and the
    precomposed letter become one text, so "#café" is one tag and "café" one word.
    """
    data = _read_bytes(path, max_bytes)
    text = unicodedata.normalize("NFC", decode(data).replace("\r\n", "\n"))
    return note_source(str(path), text), data


def note_source(name: str, text: str) -> str:
    """The text of the note file `name` (its path) as it is indexed, searched and previewed:
    a canvas's JSON as the Markdown of its cards (canvas.canvas_markdown, which raises
    SkipFile for a file that is no canvas), an Org file as Markdown line for line
    (orgmode.org_markdown; an outline of items in a Logseq graph, `in_logseq_graph`), an
    item of a Joplin RAW export as its note's title and body (joplin.joplin_markdown,
    which raises SkipFile for a notebook's or tag's record), any other note as written."""
    if is_canvas(name):
        return canvas_markdown(text)
    if is_org(name):
        return org_markdown(text, outline=in_logseq_graph(name))
    return joplin_markdown(text) if is_joplin_item(name, text) else text


def content_hash(data: bytes | str) -> str:
    """Hex BLAKE2b-128 of bytes, or of a string's UTF-8 encoding."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()
