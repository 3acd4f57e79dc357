"""Splitting a parsed note into heading-aware chunks that fit an embedding model's token budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from notesearch.core.markdown import ParsedNote, without_headings
from notesearch.core.prose import embedding_text, has_words
from notesearch.core.text import fence_marker, fenced_blocks

CONTEXT_SEPARATOR = " › "
# Context lines are for orientation; a pathological title must not eat the token budget.
_MAX_TITLE_CHARS = 80
_MAX_HEADING_CHARS = 60
# Sentence ends: Latin punctuation followed by space, or CJK punctuation (no space follows it).
_SENTENCE_CUT = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")
# A list item's first line: its indent, then a bullet and a space (or nothing: "-" alone).
_LIST_ITEM = re.compile(r"([ \t]*)[-*+](?:[ \t]|$)")


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of a note; lines are 1-based and inclusive in the original file."""

    seq: int
    text: str
    heading_path: tuple[str, ...]
    start_line: int
    end_line: int


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())  # a multi-line YAML title must stay on the context line
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chunk_context(title: str, heading_path: tuple[str, ...]) -> str:
    """The line that starts every chunk: "Title › Heading › Subheading" and a newline."""
    headings = [h for h in heading_path if h.strip()]
    if headings and headings[0].strip().casefold() == title.strip().casefold():
        headings = headings[1:]  # the H1 usually is the title; saying it twice wastes tokens
    parts = [_shorten(title, _MAX_TITLE_CHARS)] + [_shorten(h, _MAX_HEADING_CHARS)
                                                   for h in headings]
    return CONTEXT_SEPARATOR.join(p for p in parts if p) + "\n"


class _Counter:
    """Token counts without the tokenizer's fixed overhead, each distinct text counted once.

    Real tokenizers cost time in proportion to the text (E5's: ~2.5 µs a character), so the
    chunker counts every line once, adds line costs up to estimate larger spans (exact for
    WordPiece, whose tokens never cross whitespace), and counts for real only the candidate
    chunks it is about to return.
    """

    def __init__(self, count_tokens: Callable[[str], int]) -> None:
        self._count = count_tokens
        self._memo: dict[str, int] = {}
        self.overhead = count_tokens("")

    def count(self, text: str) -> int:
        known = self._memo.get(text)
        if known is None:
            known = self._memo[text] = self._count(text)
        return known

    def cost(self, text: str) -> int:
        return max(0, self.count(text) - self.overhead)


@dataclass
class _Section:
    path: tuple[str, ...]
    start: int  # body line index of the first non-blank line
    end: int  # body line index of the last non-blank line, inclusive


@dataclass
class _Piece:
    text: str
    start: int
    end: int
    cost: int  # estimated tokens, without the counter's overhead
    partial: bool = False  # a part of one long line


@dataclass
class _Span:
    text: str
    start: int
    end: int


class _Note:
    """One note being chunked: its lines, the counter, and estimated token costs of lines."""

    def __init__(self, parsed: ParsedNote, counter: _Counter, max_tokens: int,
                 overlap_lines: int) -> None:
        self.title = parsed.title
        self.lines = parsed.body.split("\n")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_lines = overlap_lines
        self._prefix: list[int] | None = None
        self.heading_lines = {h.line - parsed.body_start_line for h in parsed.headings}
        #: Each line inside a fenced code block, its closing fence line included -> the
        #: block's (opening line, closing line, whether a fence closes it).
        self.fenced: dict[int, tuple[int, int, bool]] = {}
        #: The lines that open or close a fenced block.
        self.fence_lines: set[int] = set()
        for block in fenced_blocks(self.lines):
            opened, closed, _ = block
            self.fenced.update(dict.fromkeys(range(opened + 1, closed + 1), block))
            self.fence_lines.update((opened, closed) if block[2] else (opened,))

    def only_headings(self, pieces: list[_Piece]) -> bool:
        return all(not p.partial and all(i in self.heading_lines or not self.lines[i].strip()
                                         for i in range(p.start, p.end + 1)) for p in pieces)

    def text(self, start: int, end: int) -> str:
        return "\n".join(self.lines[start : end + 1])

    def cost(self, start: int, end: int) -> int:
        """Estimated tokens of lines start..end: the sum of the lines' own counts."""
        if self._prefix is None:
            self._prefix = self._line_prefix_sums()
        return self._prefix[end + 1] - self._prefix[start]

    def _line_prefix_sums(self) -> list[int]:
        # A line this long is over budget whatever the tokenizer; counting it would only cost.
        hopeless = self.max_tokens * 32
        sums = [0]
        for line in self.lines:
            if not line.strip():
                cost = 0
            elif len(line) > hopeless:
                cost = len(line)
            else:
                cost = self.counter.cost(line)
            sums.append(sums[-1] + cost)
        return sums

    def fits(self, context: str, body: str) -> bool:
        return self.counter.count(context + body) <= self.max_tokens

    def context_cost(self, path: tuple[str, ...]) -> int:
        return self.counter.cost(chunk_context(self.title, path))


def _common_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        while path[:length] != first[:length]:
            length -= 1
    return first[:length]


def _sections(parsed: ParsedNote, lines: list[str]) -> list[_Section]:
    """Split the body at headings; each section knows its heading path; blank ones dropped.

    A heading written as a list item ("- ## Beta 0.8.16", a Logseq heading block) titles only
    that item's children: the next item indented no deeper ends its part of the note, so the
    bullets after it ("- [[Dec 29th, 2022]]" in Logseq's changelog) are not filed under it."""
    by_line = {h.line - parsed.body_start_line: h for h in parsed.headings}
    bounds: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    # Open headings: level, text, and the indent of the list item it is written in (or None).
    stack: list[tuple[int, str, int | None]] = []
    for index, line in enumerate(lines):
        heading = by_line.get(index)
        closed = _close_list_headings(stack, line) if heading or _any_in_list(stack) else False
        if heading is not None:
            indent = _list_indent(line) if heading.in_list else None
            # In an outline the items it sits in are its parents, whatever their levels.
            while stack and stack[-1][0] >= heading.level and (
                    indent is None or stack[-1][2] is None):
                stack.pop()
            stack.append((heading.level, heading.text, indent))
        if heading is not None or closed:
            bounds.append((index, tuple(text for _, text, _ in stack)))
    sections = []
    for (begin, path), (end, _) in pairwise([*bounds, (len(lines), ())]):
        section = _trimmed(lines, begin, end - 1, path)
        if section:
            sections.append(section)
    return sections


def _any_in_list(stack: list[tuple[int, str, int | None]]) -> bool:
    return any(indent is not None for _, _, indent in stack)


def _list_indent(line: str) -> int | None:
    """The indent of the list item `line` opens (tabs as four columns), or None."""
    item = _LIST_ITEM.match(line)
    return len(item.group(1).expandtabs(4)) if item else None


def _close_list_headings(stack: list[tuple[int, str, int | None]], line: str) -> bool:
    """Pop the headings written as list items that `line`, an item no deeper, ends."""
    indent = _list_indent(line)
    if indent is None:
        return False
    for depth, (_, _, own) in enumerate(stack):
        if own is not None and indent <= own:
            del stack[depth:]
            return True
    return False


def _trimmed(lines: list[str], start: int, end: int, path: tuple[str, ...]) -> _Section | None:
    while start <= end and not lines[start].strip():
        start += 1
    while end >= start and not lines[end].strip():
        end -= 1
    return _Section(path, start, end) if start <= end else None


def _merge_short(sections: list[_Section], note: _Note) -> list[_Section]:
    """Join a short section with the sections after it under the same parent heading.

    A group keeps growing only while it is short (under a third of the budget) and the whole
    group, with its context line, is estimated to fit; so a note is not shredded into tiny
    chunks. A tiny group followed by a long subsection (a heading and a line, then "###
    Details") leads that subsection instead, under the subsection's heading path, which
    names the tiny group's heading too. A group that turns out too long is split later.
    """
    merged: list[_Section] = []
    i = 0
    while i < len(sections):
        group = sections[i]
        cost = note.cost(group.start, group.end)
        parent = group.path[:-1]
        j = i + 1
        while j < len(sections) and cost < note.max_tokens // 3:
            nxt = sections[j]
            if nxt.path[: len(parent)] != parent:
                break
            path = _common_path([group.path, nxt.path])
            total = note.cost(group.start, nxt.end)
            if note.counter.overhead + note.context_cost(path) + total > note.max_tokens:
                if cost <= note.max_tokens // 8 and nxt.path[: len(group.path)] == group.path:
                    group, j = _Section(nxt.path, group.start, nxt.end), j + 1
                break
            group, cost = _Section(path, group.start, nxt.end), total
            j += 1
        merged.append(group)
        i = j
    return merged


def _paragraphs(lines: list[str], section: _Section) -> list[tuple[int, int]]:
    """Runs of non-blank lines in a section, as inclusive body line index ranges."""
    runs: list[tuple[int, int]] = []
    begin: int | None = None
    for index in range(section.start, section.end + 1):
        if lines[index].strip():
            if begin is None:
                begin = index
        elif begin is not None:
            runs.append((begin, index - 1))
            begin = None
    if begin is not None:
        runs.append((begin, section.end))
    return runs


def _soft_end(text: str, start: int, end: int) -> int:
    """Move a cut back to just after whitespace, when there is some in the second half."""
    if end >= len(text):
        return len(text)
    space = max(text.rfind(" ", start + (end - start) // 2, end),
                text.rfind("\t", start + (end - start) // 2, end))
    return space + 1 if space > start else end


def _split_chars(text: str, cost: int, counter: _Counter, budget: int) -> list[tuple[str, int]]:
    """Cut text with no usable boundaries into (part, cost) that fit, sizing by characters.

    The characters-per-token ratio is re-learnt from each part counted, so a change of
    script midway (prose, then base64) costs a retry or two rather than many.
    """
    chars_per_token = len(text) / max(1, cost)
    parts: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        size = max(1, int(budget * chars_per_token * 0.9))
        while True:
            end = _soft_end(text, pos, min(len(text), pos + size))
            part_cost = counter.cost(text[pos:end])
            if part_cost <= budget or end - pos == 1:
                break
            # Shrink in proportion to the overshoot, and always by at least one character.
            size = max(1, min(end - pos - 1, int((end - pos) * budget / part_cost * 0.95)))
        if part_cost <= budget:  # a lone character over budget is dropped rather than loop
            parts.append((text[pos:end], part_cost))
            chars_per_token = (end - pos) / max(1, part_cost)
        pos = end
    return parts


def _split_line(note: _Note, index: int, budget: int) -> list[_Piece]:
    """Pieces of one over-long line: sentences, or character runs for a giant sentence."""
    line = note.lines[index]
    hopeless = note.max_tokens * 32
    pieces: list[_Piece] = []
    cuts = [0] + [m.end() for m in _SENTENCE_CUT.finditer(line)] + [len(line)]
    for begin, end in pairwise(cuts):
        sentence = line[begin:end]
        if not sentence.strip():
            continue
        cost = len(sentence) if len(sentence) > hopeless else note.counter.cost(sentence)
        if cost <= budget:
            pieces.append(_Piece(sentence, index, index, cost, partial=True))
            continue
        for part, part_cost in _split_chars(sentence, cost, note.counter, budget):
            pieces.append(_Piece(part, index, index, part_cost, partial=True))
    return pieces


def _atomic_pieces(note: _Note, section: _Section, budget: int) -> list[_Piece]:
    """Paragraphs that fit; longer ones as lines; longer lines as sentences or characters."""
    pieces: list[_Piece] = []
    for start, end in _paragraphs(note.lines, section):
        cost = note.cost(start, end)
        if cost <= budget:
            pieces.append(_Piece(note.text(start, end), start, end, cost))
            continue
        for index in range(start, end + 1):
            line_cost = note.cost(index, index)
            if line_cost <= budget:
                pieces.append(_Piece(note.lines[index], index, index, line_cost))
            else:
                pieces.extend(_split_line(note, index, budget))
    return pieces


def _join(pieces: list[_Piece]) -> str:
    parts = [pieces[0].text]
    for before, after in pairwise(pieces):
        if after.start == before.end and (before.partial or after.partial):
            parts.append("")  # two parts of one line: their own whitespace is kept
        elif after.start > before.end + 1:
            parts.append("\n\n")
        else:
            parts.append("\n")
        parts.append(after.text)
    return "".join(parts).strip()


def _text(group: list[_Piece], note: _Note) -> str:
    """The text of a chunk of `group`'s pieces: joined, and a fenced code block it starts or
    ends inside opened or closed again. A chunk that began inside a YAML block and ended
    under it read its prose as code, and its excerpt showed the `dendron://` targets of the
    links under it instead of their labels (dendron-site: 257 of 5,997 passages). The
    opening fence so added counts as the line above the chunk's first (`_opens_inside`), so
    that line numbers counted through the text still fall on the file's lines."""
    text = _join(group)
    if _opens_inside(group, note):
        text = note.lines[note.fenced[group[0].start][0]].rstrip() + "\n" + text
    if _closes_inside(group, note):
        text += "\n" + fence_marker(note.lines[note.fenced[group[-1].end + 1][0]])
    return text


def _opens_inside(group: list[_Piece], note: _Note) -> bool:
    """Whether the chunk of `group` begins inside a fenced block (after its opening line)."""
    return group[0].start in note.fenced


def _closes_inside(group: list[_Piece], note: _Note) -> bool:
    """Whether the chunk of `group` ends inside a fenced block that a fence closes (the
    closing fence so added counts as the line below the chunk's last)."""
    block = note.fenced.get(group[-1].end + 1)
    return block is not None and block[2]


def _overlap(previous: _Piece, note: _Note, budget: int) -> _Piece | None:
    """The last lines of the previous chunk, repeated so a thought cut in two is findable;
    never a code fence's line (a closing fence repeated opened a block in the next chunk)."""
    if note.overlap_lines <= 0 or previous.partial:
        return None
    start = max(previous.start, previous.end - note.overlap_lines + 1)
    if any(line in note.fence_lines for line in range(start, previous.end + 1)):
        return None
    cost = note.cost(start, previous.end)
    if cost > budget // 4:
        return None  # a long line repeated would crowd out new text
    return _Piece(note.text(start, previous.end), start, previous.end, cost)


def _pack(pieces: list[_Piece], note: _Note, context: str, budget: int) -> list[_Span]:
    """Greedily fill chunks with consecutive pieces by estimate; count each chunk for real.

    `scale` learns how far real counts of this note's chunks run above the summed estimates
    (tokenizers that are not additive over lines), so that few chunks need a second count.
    """
    spans: list[_Span] = []
    context_tokens = note.counter.count(context)
    i = 0
    scale = 1.0
    previous: _Piece | None = None
    while i < len(pieces):
        lead = _overlap(previous, note, budget) if previous else None
        group = [lead] if lead and (lead.cost + pieces[i].cost) * scale <= budget else []
        cost = sum(p.cost for p in group)
        j = i
        while j < len(pieces) and (j == i or (cost + pieces[j].cost) * scale <= budget):
            group.append(pieces[j])
            cost += pieces[j].cost
            j += 1
        group, kept = _verified(group, j - i, note, context)
        if kept == 0:
            finer = _refine(pieces[i], note, budget)
            if len(finer) > 1:  # estimates were wrong for this piece: retry with smaller ones
                pieces[i : i + 1] = finer
                continue
            kept = 1  # one token that cannot be cut: chunk_note drops the context instead
        text = _text(group, note)
        estimate = sum(p.cost for p in group)
        if estimate:
            actual = note.counter.count(context + text) - context_tokens  # memoised count
            scale = min(4.0, max(1.0, actual / estimate * 1.02))
        if not (i + kept < len(pieces) and note.only_headings(group)):
            # A chunk of nothing but headings repeats its context line; the headings reach
            # the next chunk as its overlap instead.
            spans.append(_Span(text, group[0].start - _opens_inside(group, note),
                               group[-1].end + _closes_inside(group, note)))
        previous, i = group[-1], i + kept
    return spans


def _verified(group: list[_Piece], new: int, note: _Note,
              context: str) -> tuple[list[_Piece], int]:
    """Drop trailing pieces, then the overlap, until the real count fits.

    Returns the group and how many new (non-overlap) pieces it kept, 0 when even one piece
    is too long. Costs are estimates (sums of line counts), which tokenizers that merge
    across newlines or normalise text do not honour exactly.
    """
    while True:
        over = note.counter.count(context + _text(group, note)) - note.max_tokens
        if over <= 0:
            return group, new
        if new > 1:
            # Drop enough pieces to cover the overshoot in one go, keeping at least one.
            dropped = 0
            while new > 1 and dropped < over:
                dropped += group.pop().cost
                new -= 1
        elif len(group) > 1:
            group = group[1:]  # the overlap goes before the only new piece does
        else:
            return group, 0


def _refine(piece: _Piece, note: _Note, budget: int) -> list[_Piece]:
    """Smaller pieces for one whose estimate fitted but whose real count did not."""
    if piece.start < piece.end:
        finer: list[_Piece] = []
        for index in range(piece.start, piece.end + 1):
            cost = note.cost(index, index)
            if not note.lines[index].strip():
                continue
            if cost <= budget:
                finer.append(_Piece(note.lines[index], index, index, cost))
            else:
                finer.extend(_split_line(note, index, budget))
        return finer
    # One line, or part of one: cut it by characters aiming below its own real cost.
    actual = note.counter.cost(piece.text)
    target = max(1, min(budget * 4 // 5, actual - 1))
    return [_Piece(text, piece.start, piece.end, cost, partial=True)
            for text, cost in _split_chars(piece.text, actual, note.counter, target)]


def _chunk_section(section: _Section, note: _Note) -> list[_Span]:
    context = chunk_context(note.title, section.path)
    if note.counter.overhead + note.context_cost(section.path) > note.max_tokens // 2:
        context = ""  # a tiny budget is better spent on the note's own words
    budget = note.max_tokens - note.counter.overhead - note.counter.cost(context)
    if note.cost(section.start, section.end) <= budget:
        text = note.text(section.start, section.end)
        if note.fits(context, text):
            return [_Span(text, section.start, section.end)]
    pieces = _atomic_pieces(note, section, budget)
    return _pack(pieces, note, context, budget)


def _title_only(parsed: ParsedNote, counter: _Counter, max_tokens: int) -> Chunk:
    """An empty note still gets a chunk, so it can be found by its title."""
    text = _shorten(parsed.title, _MAX_TITLE_CHARS)
    while text and counter.count(text) > max_tokens:
        text = text[: len(text) // 2]
    return Chunk(0, text, (), 1, 1)


def _whole_note(sections: list[_Section], note: _Note) -> _Section | None:
    """The whole body as one section when it fits; a short note is exactly one chunk."""
    whole = _Section(_common_path([s.path for s in sections]), sections[0].start,
                     sections[-1].end)
    context = chunk_context(note.title, whole.path)
    text = note.text(whole.start, whole.end)
    # Beyond ~8 characters a token no real tokenizer fits the budget; estimate before counting
    # so that a long note is not tokenized whole for nothing.
    if len(text) > note.max_tokens * 8:
        estimate = note.counter.overhead + note.context_cost(whole.path)
        if estimate + note.cost(whole.start, whole.end) > note.max_tokens:
            return None
    return whole if note.fits(context, text) else None


def chunk_note(parsed: ParsedNote, count_tokens: Callable[[str], int], max_tokens: int = 256,
               overlap_lines: int = 1) -> list[Chunk]:
    """Split a note into chunks of at most `max_tokens` (context line included), in order."""
    counter = _Counter(count_tokens)
    if max_tokens - counter.overhead < 8:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for text")
    note = _Note(parsed, counter, max_tokens, overlap_lines)
    sections = _sections(parsed, note.lines)
    if not sections:
        return [_title_only(parsed, counter, max_tokens)]
    offset = parsed.body_start_line
    whole = _whole_note(sections, note)
    if whole:
        text = chunk_context(parsed.title, whole.path) + note.text(whole.start, whole.end)
        return [Chunk(0, text, whole.path, whole.start + offset, whole.end + offset)]
    chunks: list[Chunk] = []
    for group in _merge_short(sections, note):
        context = chunk_context(parsed.title, group.path)
        for span in _chunk_section(group, note):
            # Normally counted already (memoised); a lone piece may only fit without context.
            text = context + span.text if note.fits(context, span.text) else span.text
            chunks.append(Chunk(len(chunks), text, group.path, span.start + offset,
                                span.end + offset))
    return chunks


def headings_alone(chunks: list[tuple[str, int]]) -> list[bool]:
    """For a note's chunks ((text, context length) pairs, in order), say which hold words
    only in their headings while another chunk of the note holds words of its own: such a
    chunk gets no vector (store.NO_VECTOR). A FAQ's "## Publishing" over an embed, then
    "## Search and Filtering" over its own subheading, made a passage of four heading words
    that came out close to unrelated queries: first by meaning for "Japanese kanji
    flashcards study plan" at 50% in a fresh-user trial. The headings stay findable by
    words, and head the passages under them. A note that is all headings (an outline, a
    template) keeps its vectors."""
    alone = [not has_words(embedding_text(without_headings(text[context_len:])))
             for text, context_len in chunks]
    return alone if not all(alone) else [False] * len(alone)
