"""Ask: the passages likeliest to answer a question, cited, with the answering sentences marked."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import numpy as np

from notesearch.core.chat import UsageLog
from notesearch.core.errors import ChatError, EmbedderError
from notesearch.core.prose import blank_markup, embedding_text
from notesearch.core.search import (
    NO_FILTERS,
    Filters,
    Searcher,
    SearchResponse,
    valid_text,
    worth_showing,
)
from notesearch.core.store import PassageRow
from notesearch.core.text import (
    is_cjk,
    normalise,
    query_terms,
    stem,
    unspaced_runs,
    word_tokens,
)
from notesearch.core.tokens import estimate_tokens

#: Notes whose passages are weighed, from the hybrid search for the question.
NOTES = 8
#: Passages cited, and at most this many from one note (one long note must not fill them).
PASSAGES = 5
PER_NOTE = 2
#: How a sentence is scored as an answer: by the question's words it holds (idf-weighted),
#: by its embedding's cosine to the question's, or both added. Measured with benchmarks/ask.py
#: on the first 200 CMRC 2018 dev questions (the sentence marked first holds the answer
#: span): words 0.645, meaning 0.53, both 0.675; "both" embeds each candidate sentence (about
#: 50 a question, kept in the searcher's cache).
SentenceScorer = Literal["words", "meaning", "both"]
DEFAULT_SCORER: SentenceScorer = "both"
#: Below this share of the question's (idf-weighted) words in the best sentence, and with a
#: weak best note, the notes are taken not to answer (benchmarks/ask.py).
FOUND_MIN = 0.3
#: A best note at this confidence or more answers by itself (the search's own "no good
#: match" is 0.25: a note one chance in three of being the one meant is no answer to cite).
CONFIDENT_NOTE = 0.5

#: What the model says, and we show, when the passages hold no answer.
NOT_FOUND = "Not found in your notes."
#: What the app and the CLI say above the passages when the notes seem not to answer.
CLOSEST_PASSAGES = "Nothing in your notes seems to answer this; the closest passages:"
INSTRUCTIONS = (
    "You answer questions from the user's own notes. Use only the numbered passages below; "
    "do not use outside knowledge. After each claim, cite the passages that support it as "
    f"[1], [2]. If the passages do not answer the question, reply exactly: {NOT_FOUND}")
# A sentence ends at CJK or Latin end punctuation (with any closing quotes or brackets), at a
# full stop before white space, or at a line break (Markdown lists and headings are units).
# A full stop after a number ("1. ", "v2. ") is a list marker or a version more often than
# a sentence end. A colon ends none: "Secret word: quixotic-pelican" is one line's answer
# (it was cut to "Secret word:"), and one at a line's end ends it with the line. Nor does the
# full stop of "e.g.", "i.e.", "cf." or "vs." ("To review some of your cards e.g." was bolded).
_SENTENCE_END = re.compile(r"[。！？!?；]+[”’」』）)\"']*"
                           r"|(?<!\d)(?<!\b[eE]\.[gG])(?<!\b[iI]\.[eE])(?<!\b[cC]f)(?<!\b[vV]s)"
                           r"[.;](?=\s)|\n")
_MARKUP = re.compile(r"[\s>#*+\-|]*(?:\d+[.)]\s+)?(?:\[[ xX]\]\s*)?")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage that answers the question: character offsets into
    `Passage.text`, the file line it is on (1-based), its score (what sentences are ranked
    by: see SentenceScorer) and the share (0..1) of the question's idf-weighted words it
    holds."""

    start: int
    end: int
    line: int
    score: float
    words: float = 0.0
    #: How many of the question's terms it holds, of how many the question has.
    terms: int = 0
    of: int = 0


@dataclass
class Passage:
    """A cited passage: where it is (note, lines), what it says, how well it answers."""

    #: The citation number, 1-based, as "[1]" in an answer.
    number: int
    note_id: int
    path: str
    title: str
    heading: str
    #: First and last line of the passage in the note's file, 1-based.
    line: int
    end_line: int
    #: The passage as written in the file.
    text: str
    #: Higher is likelier to answer (cosine plus keyword and note evidence; not a probability).
    score: float
    private: bool
    #: Its sentences that answer best, best first (at most two).
    sentences: tuple[Sentence, ...] = ()

    @property
    def section(self) -> str:
        """The passage's heading path without the note's title at its head ("" for none)."""
        heading = self.heading
        if heading.startswith(self.title):
            heading = heading[len(self.title):].lstrip(" ›")
        return heading

    @property
    def citation(self) -> str:
        """Where to read it: "path:line-end_line"."""
        return f"{self.path}:{self.line}-{self.end_line}"

    def to_json(self) -> dict:
        return {"number": self.number, "path": self.path, "title": self.title,
                "heading": self.heading, "line": self.line, "end_line": self.end_line,
                "text": self.text, "score": round(self.score, 4),
                "answer_sentences": [{"text": self.text[s.start:s.end], "line": s.line,
                                      "score": round(s.score, 3)} for s in self.sentences]}


@dataclass
class Retrieval:
    """The passages found for a question, the note search they came from, and how many of
    its notes were left out as private."""

    passages: list[Passage]
    response: SearchResponse
    withheld_private: int = 0


@dataclass
class Answer:
    """What Ask shows: the cited passages and, with a chat model, its answer."""

    question: str
    passages: list[Passage]
    #: False when the notes do not seem to hold an answer ("not found in your notes").
    found: bool
    #: The chat model's answer, citing passages as [1], [2]; "" when answered offline.
    text: str = ""
    #: The chat model that wrote `text` (provider:model), "" offline.
    model: str = ""
    #: Notes left out because they are private and the chat model is remote.
    withheld_private: int = 0
    notes_not_embedded: int = 0
    meaning_unavailable: str | None = None
    #: What was sent to a chat model (the messages), for "Show what was sent".
    sent: list[dict[str, str]] = field(default_factory=list)
    #: Why the chat model's answer is missing or cut short (a sentence), else None.
    problem: str | None = None
    #: Tokens the chat call cost (the prompt's estimate plus the answer's), 0 offline.
    tokens: int = 0

    def to_json(self) -> dict:
        data: dict[str, object] = {"question": self.question, "found": self.found,
                                   "passages": [p.to_json() for p in self.passages]}
        if self.text:
            data["answer"] = self.text
            data["model"] = self.model
        if self.withheld_private:
            data["withheld_private"] = self.withheld_private
        if self.notes_not_embedded:
            data["notes_not_embedded"] = self.notes_not_embedded
        if self.meaning_unavailable:
            data["meaning_unavailable"] = self.meaning_unavailable
        if self.problem:
            data["problem"] = self.problem
        return data


def ask_offline(searcher: Searcher, question: str, filters: Filters = NO_FILTERS,
                scorer: SentenceScorer = DEFAULT_SCORER) -> Answer:
    """Answer extractively: the passages likeliest to answer, their answering sentences
    marked, and whether the notes seem to answer at all. Raises nothing for bad input (an
    empty question gives no passages)."""
    found = find_passages(searcher, question, filters)
    passages = mark_answers(searcher, question, found.passages, scorer)
    return Answer(question, passages, answers(found.response, passages),
                  notes_not_embedded=found.response.notes_not_embedded,
                  meaning_unavailable=found.response.meaning_unavailable)


def answers(response: SearchResponse, passages: Sequence[Passage]) -> bool:
    """True when the passages seem to hold an answer: a confident best note, or a sentence
    holding most of the question's words, two of them at least (all, of a one-term
    question). One rare word was not enough: on a real vault "what is the capital of
    Australia?" was answered by a timeline's bare line "Australia", and "how do I bake
    sourdough bread?" by a passage on barley bread, while search said "No good match"."""
    if not passages:
        return False
    best = max((r.confidence for r in response.results), default=0.0)
    return best >= CONFIDENT_NOTE or any(
        s.words >= FOUND_MIN and s.terms >= min(2, s.of)
        for p in passages for s in p.sentences)


def find_passages(searcher: Searcher, question: str, filters: Filters = NO_FILTERS,
                  k: int = PASSAGES, per_note: int = PER_NOTE, notes: int = NOTES,
                  include_private: bool = True) -> Retrieval:
    """Return up to k passages likeliest to answer `question`, best first, numbered from 1,
    at most `per_note` from one note, with the note search they came from.

    The notes are the hybrid search's first `notes`; each of their chunks is scored by its
    cosine to the question, its BM25 share and its note's confidence (see _passage_score).
    `include_private=False` leaves out notes marked private (for a remote chat model).
    """
    question = valid_text(question).strip()
    response = searcher.search(question, k=notes, filters=filters)
    if not response.results:
        return Retrieval([], response)
    # Beside a good match, a note at 0% is no source, whatever list found it.
    confidence = {r.note_id: r.confidence
                  for r in worth_showing(response.results, keep_words=False)}
    rows = searcher.store.passages_of(list(confidence))
    withheld = len({row.note_id for row in rows if row.private and not include_private})
    # Chunks with no words of their own (hash "") are never cited.
    rows = [row for row in rows if row.hash and (include_private or not row.private)]
    vector, _ = searcher.query_vector(question)
    cosine = searcher.chunk_similarities(vector, [r.hash for r in rows]) if vector is not None \
        else {}
    bm25 = searcher.chunk_bm25(question, [r.chunk_id for r in rows])
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    scored = sorted(rows, key=lambda r: -_passage_score(
        cosine.get(r.hash), bm25.get(r.chunk_id, 0.0) / top_bm25, confidence[r.note_id]))
    chosen: list[PassageRow] = []
    taken: dict[int, int] = {}
    for row in scored:
        if taken.get(row.note_id, 0) < per_note:
            chosen.append(row)
            taken[row.note_id] = taken.get(row.note_id, 0) + 1
        if len(chosen) == k:
            break
    passages = [_passage(n, row, _passage_score(cosine.get(row.hash),
                                                bm25.get(row.chunk_id, 0.0) / top_bm25,
                                                confidence[row.note_id]))
                for n, row in enumerate(chosen, 1)]
    return Retrieval(passages, response, withheld)


def _passage_score(cosine: float | None, bm25_share: float, note_confidence: float) -> float:
    """A passage's likelihood of answering, for ordering only: its cosine to the question
    (0.8 when it has no vector yet: an unembedded passage is judged by its words), plus
    its share of the best BM25 among the candidates and its note's confidence, both 0..1."""
    return (0.8 if cosine is None else cosine) + 0.1 * bm25_share + 0.1 * note_confidence


def _passage(number: int, row: PassageRow, score: float) -> Passage:
    body = row.text[row.context_len:].lstrip("\n")
    return Passage(number, row.note_id, row.path, row.title, row.heading, row.start_line,
                   row.end_line, body, score, row.private)


# -- the chat model's prompt and answer -------------------------------------------------
def build_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """Return the chat messages that ask `question` of `passages` (each numbered, with its
    title and where it is); nothing else from the notes is sent."""
    blocks = [f"[{p.number}] {p.title} ({p.citation})\n{p.text.strip()}" for p in passages]
    return [{"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": "Passages:\n\n" + "\n\n".join(blocks)
             + f"\n\nQuestion: {question}"}]


def estimate_prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    """Return an estimate, never far below the truth, of the tokens `messages` cost
    (tokens.estimate_tokens of each, plus 4 a message for the chat format)."""
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


def says_not_found(answer: str) -> bool:
    """True when the model's answer is the not-found reply (some models add a sentence)."""
    return answer.strip().lower().startswith(NOT_FOUND.lower().rstrip("."))


def cited_numbers(answer: str) -> list[int]:
    """Return the passage numbers an answer cites ("[2]", "[1, 3]"), in order of first use."""
    numbers: list[int] = []
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer):
        for number in (int(n) for n in group.split(",")):
            if number not in numbers:
                numbers.append(number)
    return numbers


# -- sentences ------------------------------------------------------------------------------
def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) character spans of the sentences of `text`, markup and white
    space trimmed; spans with no letter or digit outside URLs and HTML tags are left out,
    and a "?" or "." inside a URL ends no sentence."""
    text = blank_markup(text)
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        lead = _MARKUP.match(text, a)
        a = lead.end() if lead else a
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a and any(ch.isalnum() for ch in text[a:b]):
            out.append((a, b))
    return out


def terms_of(text: str) -> set[str]:
    """Return the terms of `text` as the keyword index matches them: word stems, and CJK
    bigrams (single characters for one-character runs)."""
    terms = {token for _, _, token in word_tokens(text)}
    for run in unspaced_runs(normalise(text)):
        terms.update([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
    return terms


def question_terms(question: str) -> set[str]:
    """Return the question's terms (stopwords dropped), in the form `terms_of` gives."""
    return {term if is_cjk(term) else stem(term) for term in query_terms(question)}


def mark_answers(searcher: Searcher, question: str, passages: list[Passage],
                 scorer: SentenceScorer = DEFAULT_SCORER) -> list[Passage]:
    """Return the passages with their best one or two answering sentences marked (scores
    0..1 by the question's idf-weighted words; with "meaning" or "both", the cosine of the
    sentence's embedding to the question's is used or added)."""
    wanted = question_terms(question)
    found = [(p, a, b) for p in passages for a, b in sentence_spans(p.text)]
    if not found or not wanted:
        return passages
    sets = [terms_of(p.text[a:b]) & wanted for p, a, b in found]
    weight = _idf(wanted, sets)
    total = sum(weight.values()) or 1.0
    shares = np.array([sum(weight[t] for t in terms) / total for terms in sets])
    scores = shares
    if scorer != "words":
        cosines = _sentence_cosines(searcher, question, [p.text[a:b] for p, a, b in found])
        if cosines is not None:
            scores = cosines if scorer == "meaning" else shares + cosines
    marked: dict[int, list[Sentence]] = {}
    for (passage, a, b), score, share, held in zip(found, scores.tolist(), shares.tolist(),
                                                   sets, strict=True):
        line = passage.line + passage.text.count("\n", 0, a)
        marked.setdefault(passage.number, []).append(
            Sentence(a, b, line, score, share, len(held), len(wanted)))
    out = []
    for passage in passages:
        best = sorted(marked.get(passage.number, []), key=lambda s: -s.score)
        # By words alone a sentence with none of the question's words is no answer; with
        # meaning, the closest sentence is marked even when it shares none (a paraphrase).
        best = [s for s in best[:2] if (s.words > 0 or scorer != "words")
                and s.score >= best[0].score * 0.8]
        out.append(replace(passage, sentences=tuple(best)))
    return out


def _idf(wanted: set[str], sets: list[set[str]]) -> dict[str, float]:
    """Inverse document frequency of each question term over the candidate sentences: a
    term every sentence holds says little about which one answers."""
    n = len(sets)
    return {t: math.log(1 + n / (1 + sum(t in s for s in sets))) for t in wanted}


def _sentence_cosines(searcher: Searcher, question: str,
                      sentences: list[str]) -> np.ndarray | None:
    vector, _ = searcher.query_vector(question)
    if vector is None or searcher.embedder is None:
        return None
    texts = [embedding_text(s) or s for s in sentences]
    try:
        return searcher.passage_vectors(texts) @ np.asarray(vector, np.float32)
    except EmbedderError:
        return None  # the sentences are then scored by their words alone


def ask_chat(searcher: Searcher, question: str, chat: ChatModel, budget: Budget,
             filters: Filters = NO_FILTERS, on_text: Callable[[str], None] = lambda _: None,
             cancelled: Callable[[], bool] = lambda: False,
             confirm: Callable[[int, str], bool] = lambda tokens, where: True) -> Answer:
    """Answer with a chat model from the passages found, streaming its text to `on_text`.

    Private notes never reach a remote model (they are left out of the passages and counted
    in `withheld_private`). Before the call, `confirm(estimated tokens, where)` may decline
    it; the daily budget may refuse it. A fault never raises: the answer keeps the passages
    (marked offline, so they still answer) and says in `problem` what went wrong, with any
    text that arrived before a stream broke.
    """
    found = find_passages(searcher, question, filters, include_private=not chat.is_remote)
    passages = mark_answers(searcher, question, found.passages)
    answer = Answer(question, passages, answers(found.response, passages),
                    withheld_private=found.withheld_private,
                    notes_not_embedded=found.response.notes_not_embedded,
                    meaning_unavailable=found.response.meaning_unavailable)
    if not passages:
        answer.found = False
        return answer
    answer.sent = build_messages(question, passages)
    estimate = estimate_prompt_tokens(answer.sent)
    refusal = budget.refusal(estimate)
    if refusal:
        answer.problem = refusal
        return answer
    if not confirm(estimate, chat.where):
        answer.problem = "Not sent: the passages are shown instead."
        return answer
    pieces: list[str] = []
    try:
        for piece in chat.stream(answer.sent, cancelled):
            pieces.append(piece)
            on_text(piece)
    except ChatError as error:
        answer.problem = str(error)
    answer.text, answer.model = "".join(pieces), chat.name
    if cancelled() and answer.problem is None:
        answer.problem = "Stopped: the answer is as far as it got."
    answer.tokens = estimate + estimate_tokens(answer.text)
    budget.spend(answer.tokens)
    if answer.text and answer.problem is None:
        answer.found = not says_not_found(answer.text)
    return answer


class ChatModel(Protocol):
    """What Ask needs of a chat model (chat.OpenAIChat is one)."""

    name: str
    is_remote: bool

    @property
    def where(self) -> str:
        """Where the text goes, as a sentence fragment ("OpenAI", "the chat server at h")."""
        ...

    def stream(self, messages: Sequence[dict[str, str]],
               cancelled: Callable[[], bool]) -> Iterator[str]:
        """Yield the answer piece by piece; raises ChatError with a sentence."""
        ...


@dataclass
class Budget:
    """The daily token budget for remote chat models: `limit` tokens a day (0: none),
    counted in `log` (a chat.UsageLog)."""

    limit: int
    log: UsageLog | None = None

    def refusal(self, tokens: int) -> str | None:
        """Return why a call of `tokens` may not be made today, or None."""
        if not self.limit or self.log is None:
            return None
        used = self.log.used_today()
        if used + tokens > self.limit:
            return (f"Today's chat budget is spent ({used:,} of {self.limit:,} tokens used; "
                    f"this question needs about {tokens:,}). Raise it in Settings, or read the "
                    "passages below.")
        return None

    def spend(self, tokens: int) -> None:
        if self.log is not None and tokens:
            self.log.add(tokens)
