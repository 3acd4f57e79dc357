"""Tests for finding note files and reading them, on real files in a temporary folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from notesearch.core.errors import SkipFile
from notesearch.core.notes import IgnoreRules, Skipped, content_hash, discover, read_text


def write(path: Path, text: str = "note\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def found_notes(root: Path, rules: IgnoreRules | None = None) -> set[str]:
    """Discovered notes as '/'-separated paths relative to root."""
    return {p.relative_to(root).as_posix() for p in discover(root, rules)
            if isinstance(p, Path)}


def skipped(root: Path) -> list[Skipped]:
    return [s for s in discover(root) if isinstance(s, Skipped)]


# -- discovery ----------------------------------------------------------------------------------
def test_finds_notes_by_extension_case_insensitively(tmp_path: Path) -> None:
    for name in ("a.md", "b.MD", "c.markdown", "d.txt", "sub/deep/e.Md", "f.pdf", "g.mdx", "h"):
        write(tmp_path / name)
    assert found_notes(tmp_path) == {"a.md", "b.MD", "c.markdown", "d.txt", "sub/deep/e.Md"}


def test_yields_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "notes/a.md")
    monkeypatch.chdir(tmp_path)
    [path] = list(discover(Path("notes")))
    assert path == tmp_path / "notes/a.md"
    assert path.is_absolute()


def test_app_folders_hidden_and_logseq_backups_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "keep.md")
    for name in (".obsidian/workspace.md", ".git/x.md", ".trash/old.md", ".hidden/n.md",
                 ".secret.md", "node_modules/pkg/readme.md", "logseq/bak/pages/p.md",
                 "logseq/.recycle/p.md"):
        write(tmp_path / name)
    write(tmp_path / "logseq/custom.md")
    write(tmp_path / "projects/bak/kept.md")  # "bak" only means backups inside logseq/
    assert found_notes(tmp_path) == {"keep.md", "logseq/custom.md", "projects/bak/kept.md"}


def test_hidden_root_folder_itself_is_walked(tmp_path: Path) -> None:
    root = tmp_path / ".notes"
    write(root / "a.md")
    assert found_notes(root) == {"a.md"}


def test_gitignore_and_notesearchignore(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "drafts/\n*.tmp.md\n")
    write(tmp_path / ".notesearchignore", "private.md\n# a comment\n")
    for name in ("a.md", "drafts/d.md", "x.tmp.md", "private.md", "sub/private.md"):
        write(tmp_path / name)
    assert found_notes(tmp_path) == {"a.md"}


def test_nested_ignore_file_applies_to_its_subtree_only(tmp_path: Path) -> None:
    write(tmp_path / "work/.gitignore", "/scratch.md\nlogs/\n")
    for name in ("scratch.md", "work/scratch.md", "work/deeper/scratch.md", "work/logs/l.md",
                 "logs/top.md"):
        write(tmp_path / name)
    # "/scratch.md" is anchored to work/, and "logs/" only matches under work/.
    assert found_notes(tmp_path) == {"scratch.md", "work/deeper/scratch.md", "logs/top.md"}


def test_deeper_ignore_file_can_unignore(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.txt\n")
    write(tmp_path / "keep/.notesearchignore", "!*.txt\n")
    write(tmp_path / "a.txt")
    write(tmp_path / "keep/b.txt")
    assert found_notes(tmp_path) == {"keep/b.txt"}


def test_user_exclude_and_include_patterns(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "archive/\n")
    for name in ("journal/2024.md", "journal/todo.txt", "ideas/i.md", "archive/old.md"):
        write(tmp_path / name)
    rules = IgnoreRules(tmp_path, exclude=["ideas/"])
    assert found_notes(tmp_path, rules) == {"journal/2024.md", "journal/todo.txt"}
    rules = IgnoreRules(tmp_path, include=["*.md"])
    assert found_notes(tmp_path, rules) == {"journal/2024.md", "ideas/i.md"}
    # A user's negated exclude pattern overrides the .gitignore file.
    rules = IgnoreRules(tmp_path, exclude=["!archive/"])
    assert "archive/old.md" in found_notes(tmp_path, rules)


def test_is_ignored_checks_parent_folders(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "drafts/\n")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored(tmp_path / "drafts/sub/a.md", is_dir=False)
    assert rules.is_ignored(tmp_path / ".obsidian/plugins/x.md", is_dir=False)
    assert rules.is_ignored(tmp_path / "drafts", is_dir=True)
    assert not rules.is_ignored(tmp_path / "notes/a.md", is_dir=False)
    assert not rules.is_ignored(tmp_path, is_dir=True)
    assert rules.is_ignored(tmp_path.parent / "elsewhere.md", is_dir=False)


def test_symlink_loop_is_reported_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "a/note.md")
    os.symlink(tmp_path / "a", tmp_path / "a/loop")  # a/loop -> a
    items = list(discover(tmp_path))
    notes = [i for i in items if isinstance(i, Path)]
    assert notes == [tmp_path / "a/note.md"]
    assert Skipped(tmp_path / "a/loop", "symlink loop") in items
    # Links that point at each other, a folder's and a note's, are called the same.
    os.symlink(tmp_path / "b2", tmp_path / "b1")
    os.symlink(tmp_path / "b1", tmp_path / "b2")
    os.symlink(tmp_path / "c.md", tmp_path / "c.md.tmp")
    os.replace(tmp_path / "c.md.tmp", tmp_path / "c.md")  # c.md -> itself
    items = list(discover(tmp_path))
    reasons = {i.path.name: i.reason for i in items if isinstance(i, Skipped)}
    assert reasons == {"loop": "symlink loop", "b1": "symlink loop", "b2": "symlink loop",
                       "c.md": "symlink loop"}, reasons


def test_symlinked_folder_outside_root_is_followed_once(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "shared.md")
    root = tmp_path / "root"
    write(root / "own.md")
    os.symlink(outside, root / "link1")
    os.symlink(outside, root / "link2")  # the same folder twice: listed only once
    found = found_notes(root)
    assert "own.md" in found
    assert len(found & {"link1/shared.md", "link2/shared.md"}) == 1
    assert len(found) == 2


def test_real_path_wins_over_symlink_to_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "z/deep/n.md")
    os.symlink(tmp_path / "z/deep", tmp_path / "a_link")  # listed before "z"
    assert found_notes(tmp_path) == {"z/deep/n.md"}


def test_broken_symlink_note_is_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "missing.md", tmp_path / "dangling.md")
    assert skipped(tmp_path) == [Skipped(tmp_path / "dangling.md", "broken symlink")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_unreadable_folder_is_reported_and_walk_continues(tmp_path: Path) -> None:
    write(tmp_path / "ok.md")
    locked = tmp_path / "locked"
    write(locked / "secret.md")
    locked.chmod(0)
    try:
        items = list(discover(tmp_path))
    finally:
        locked.chmod(0o755)
    assert tmp_path / "ok.md" in items
    assert Skipped(locked, "permission denied") in items


def test_missing_root_is_reported(tmp_path: Path) -> None:
    assert list(discover(tmp_path / "nope")) == [
        Skipped(tmp_path / "nope", "folder not found")]


def test_discovering_40k_files_is_fast(tmp_path: Path) -> None:
    for d in range(200):
        folder = tmp_path / f"dir{d:03}"
        folder.mkdir()
        for f in range(200):
            os.close(os.open(folder / f"note{f:03}.md", os.O_CREAT | os.O_WRONLY, 0o644))
    start = time.perf_counter()
    count = sum(1 for item in discover(tmp_path) if isinstance(item, Path))
    elapsed = time.perf_counter() - start
    assert count == 40_000
    assert elapsed < 3.0, f"took {elapsed:.2f}s"


# -- reading ------------------------------------------------------------------------------------
def test_reads_utf8_and_returns_raw_bytes(tmp_path: Path) -> None:
    raw = "Café ☕ 读书笔记\n".encode()
    path = tmp_path / "n.md"
    path.write_bytes(raw)
    assert read_text(path) == ("Café ☕ 读书笔记\n", raw)


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf# Title\n")
    text, raw = read_text(path)
    assert text == "# Title\n"
    assert raw.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, encoding: str) -> None:
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    path = tmp_path / "u16.txt"
    path.write_bytes(bom + "Hello 世界\r\nline two\r\n".encode(encoding))
    assert read_text(path)[0] == "Hello 世界\nline two\n"


def test_crlf_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "win.md"
    path.write_bytes(b"one\r\ntwo\r\n\r\nthree")
    assert read_text(path)[0] == "one\ntwo\n\nthree"


def test_binary_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(SkipFile, match=r"^binary file \(contains NUL bytes\)$"):
        read_text(path)


def test_a_note_padded_with_nul_bytes_is_read(tmp_path: Path) -> None:
    """A real vault's "Magic Numbers (in computer science).md": 260 characters of text,
    then NUL bytes up to 4,096 (`file` calls it ASCII text). It was skipped as binary."""
    text = "# Magic numbers\nConstants with unexplained meaning, like 0xCAFEBABE.\n"
    path = tmp_path / "Magic Numbers (in computer science).md"
    path.write_bytes(text.encode() + b"\x00" * (4096 - len(text)))
    assert read_text(path)[0] == text
    inside = tmp_path / "inside.md"
    inside.write_bytes(b"text\x00more text")  # a NUL inside the text: still binary
    with pytest.raises(SkipFile, match="binary"):
        read_text(inside)


@pytest.mark.parametrize(("text", "encoding"), [
    ("Grüße aus Köln", "latin-1"),  # short: the same bytes in cp1250, cp1252 is preferred
    ("Réunion : budget, priorités – l’été", "cp1252"),
    ("# 读书笔记\n\n今天读了《百年孤独》，叙事手法非常独特。", "gbk"),
    ("今日は会議がありました。予算について話し合いました。", "shift_jis"),
    ("Привет, это заметка о встрече с командой.", "cp1251"),
    ("Zażółć gęślą jaźń. Spotkanie w środę.", "cp1250"),
])
def test_note_in_an_older_encoding_is_read(tmp_path: Path, text: str, encoding: str) -> None:
    """Notepad's "ANSI" and older Chinese and Japanese editors save in the system's code
    page; such a note had been skipped as "not valid UTF-8" and was missing from search."""
    path = tmp_path / "old.txt"
    path.write_bytes(text.encode(encoding))
    assert read_text(path)[0] == text


def test_utf8_with_a_broken_character_keeps_the_rest(tmp_path: Path) -> None:
    """A sync that cut one character in two must not turn a Chinese note into mojibake."""
    text = "会议记录：讨论了下季度的预算和人员安排。" * 3
    data = text.encode("utf-8")
    path = tmp_path / "cut.md"
    path.write_bytes(data[:10] + data[11:])  # one byte of the fourth character lost
    read = read_text(path)[0]
    assert read.count("\ufffd") == 1
    assert read.replace("\ufffd", "").endswith(text[4:])


def test_undecodable_bytes_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 4)  # no NUL, but text in no encoding
    with pytest.raises(SkipFile, match="^not text in UTF-8 or any other encoding$"):
        read_text(path)


def test_odd_length_utf16_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "broken16.txt"
    path.write_bytes(b"\xff\xfeH\x00i")
    with pytest.raises(SkipFile, match="^not valid UTF-8 or UTF-16 text$"):
        read_text(path)


def test_file_over_limit_is_skipped_with_sizes(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * (3 * 1024 * 1024 + 300 * 1024))
    with pytest.raises(SkipFile, match=r"^larger than 2 MB limit \(3\.3 MB\)$"):
        read_text(path, max_bytes=2 * 1024 * 1024)
    assert read_text(path, max_bytes=4 * 1024 * 1024)[0].startswith("xxx")


def test_small_limit_reports_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "n.md", "a" * 200)
    with pytest.raises(SkipFile, match=r"^larger than 100 bytes limit \(200 bytes\)$"):
        read_text(path, max_bytes=100)


def test_vanished_file(tmp_path: Path) -> None:
    with pytest.raises(SkipFile, match="^vanished while reading$"):
        read_text(tmp_path / "gone.md")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    with pytest.raises(SkipFile, match="^is a folder, not a file$"):
        read_text(tmp_path / "folder.md")


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(SkipFile, match="^not a regular file$"):
        read_text(fifo)  # opening a FIFO would block forever


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.md")
    path.chmod(0)
    with pytest.raises(SkipFile, match="^permission denied$"):
        read_text(path)


def test_content_hash_is_stable_and_distinguishes() -> None:
    assert content_hash("abc") == content_hash(b"abc")
    assert len(content_hash(b"abc")) == 32
    assert content_hash(b"abc") != content_hash(b"abd")
    assert content_hash("读书") == content_hash("读书".encode())


def test_a_note_reachable_through_a_link_is_one_note(tmp_path):
    root = tmp_path / "vault"
    (root / "projects").mkdir(parents=True)
    (root / "areas").mkdir()
    real = root / "projects" / "roadmap.md"
    real.write_text("# Roadmap\n")
    (root / "areas" / "roadmap.md").symlink_to(real)  # a link inside the vault, seen first
    (root / "aaa-link.md").symlink_to(real)
    os.link(real, root / "areas" / "hard.md")  # a second name for the same file
    outside = tmp_path / "elsewhere.md"
    outside.write_text("# Elsewhere\n")
    (root / "outside-link.md").symlink_to(outside)  # the only way to reach that file
    found = sorted(str(p.relative_to(root)) for p in discover(root) if isinstance(p, Path))
    assert found == ["outside-link.md", "projects/roadmap.md"] or found == [
        "areas/hard.md", "outside-link.md"]


def test_utf16_without_a_bom_is_read_and_a_pipe_is_skipped_with_a_reason(tmp_path):
    (tmp_path / "le.md").write_bytes("# Notes\nCafé au lait, twice.".encode("utf-16-le"))
    (tmp_path / "be.txt").write_bytes("Thé vert, trois fois.".encode("utf-16-be"))
    (tmp_path / "binary.md").write_bytes(bytes(range(256)) * 4)
    os.mkfifo(tmp_path / "pipe.md")
    assert read_text(tmp_path / "le.md")[0] == "# Notes\nCafé au lait, twice."
    assert read_text(tmp_path / "be.txt")[0] == "Thé vert, trois fois."
    with pytest.raises(SkipFile, match="binary"):
        read_text(tmp_path / "binary.md")
    skipped = {s.path.name: s.reason for s in discover(tmp_path) if isinstance(s, Skipped)}
    assert "regular file" in skipped["pipe.md"]
