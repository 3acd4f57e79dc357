"""`notesearch mcp`: the library as a Model Context Protocol server for AI assistants."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from notesearch import __version__
from notesearch.core.ask import Passage, answers, find_passages, mark_answers
from notesearch.core.config import DB_NAME, Settings, library_home
from notesearch.core.embedders.openai_api import LOOPBACK_HOSTS
from notesearch.core.errors import NotesearchError, SkipFile
from notesearch.core.library import Library
from notesearch.core.markdown import parse_note
from notesearch.core.notes import IgnoreRules, read_text
from notesearch.core.search import Filters, Result

log = logging.getLogger(__name__)

#: Most results one call returns: an assistant's context is better spent on a few good notes.
MAX_RESULTS = 50
#: Most lines get_note returns at once; a longer note is read in ranges (5 MB notes exist).
MAX_LINES = 2000
#: What the HTTP transport serves on unless told otherwise (any free port will do).
DEFAULT_PORT = 8765
T = TypeVar("T")
Lifespan = AbstractAsyncContextManager[None]


# -- what a tool returns ----------------------------------------------------------------------
class NoteHit(BaseModel):
    """One note in a tool's results, with the passage that matched."""

    path: str = Field(description="The note's absolute path; pass it to get_note to read it.")
    title: str
    line: int = Field(description="First line of the matching passage (1-based).")
    end_line: int = Field(description="Last line of the matching passage (inclusive).")
    heading: str = Field(description="The headings above the passage, outermost first.")
    snippet: str = Field(description="The matching passage, shortened.")
    score: float = Field(description="search: the confidence (0..1) that this is the note "
                                     "meant; similar: cosine similarity (-1..1).")
    match: str = Field(description="Which list found it: meaning, words or both.")
    strength: str = Field("", description="similar only: how close, in words (very similar, "
                                          "similar, related, loosely related).")
    tags: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, result: Result, similar: bool = False) -> NoteHit:
        """The client's view of a core search result."""
        return cls(path=result.path, title=result.title, line=result.line,
                   end_line=result.end_line, heading=result.heading,
                   snippet=result.snippet.text,
                   score=round(result.score if similar else result.confidence, 4),
                   match=result.match, strength=result.strength, tags=list(result.tags))


class SearchAnswer(BaseModel):
    """The notes that best answer a query, best first."""

    query: str
    results: list[NoteHit]
    no_good_match: bool = Field(description="True when even the best result is unlikely to "
                                            "be the note meant (confidence under 0.25).")
    corrections: dict[str, str] = Field(
        default_factory=dict, description="Words no note has, and the word searched instead.")
    notes_not_embedded: int = Field(0, description="Notes not embedded yet: they can only "
                                                   "match by words.")
    meaning_unavailable: str | None = Field(None, description="Why meaning search did not "
                                                              "take part, when it did not.")


class SimilarAnswer(BaseModel):
    """The notes most like a note or a text, closest first."""

    like: str = Field(description="The note's path, or 'text'.")
    results: list[NoteHit]


class NoteText(BaseModel):
    """A note's text, or a range of its lines."""

    path: str
    title: str
    start_line: int = Field(description="First line returned (1-based).")
    end_line: int = Field(description="Last line returned (inclusive).")
    total_lines: int
    text: str
    truncated: bool = Field(False, description=f"True when the range asked for was longer than "
                                               f"{MAX_LINES} lines and was cut there.")


class AnswerSentence(BaseModel):
    text: str
    line: int = Field(description="The line of the note it is on (1-based).")


class CitedPassage(BaseModel):
    """A passage likely to answer the question, cited by note and line range."""

    number: int = Field(description="Its citation number: [1], [2], ...")
    path: str
    title: str
    heading: str
    line: int = Field(description="First line of the passage (1-based).")
    end_line: int = Field(description="Last line of the passage (inclusive).")
    text: str = Field(description="The passage as written in the note.")
    answer_sentences: list[AnswerSentence] = Field(
        description="The passage's sentences that answer best, best first (at most two).")

    @classmethod
    def of(cls, passage: Passage) -> CitedPassage:
        """The client's view of a core Ask passage."""
        return cls(number=passage.number, path=passage.path, title=passage.title,
                   heading=passage.heading, line=passage.line, end_line=passage.end_line,
                   text=passage.text,
                   answer_sentences=[AnswerSentence(text=passage.text[s.start:s.end],
                                                    line=s.line) for s in passage.sentences])


class AskAnswer(BaseModel):
    """The passages of the notes likeliest to answer a question, best first."""

    question: str
    found: bool = Field(description="False when the notes do not seem to hold an answer: "
                                    "say so rather than answer from the passages.")
    passages: list[CitedPassage]
    notes_not_embedded: int = Field(0, description="Notes not embedded yet: they can only "
                                                   "match by words.")
    meaning_unavailable: str | None = None


class FolderCount(BaseModel):
    path: str
    notes: int


class SkippedFile(BaseModel):
    path: str
    reason: str


class LibraryStatus(BaseModel):
    """What the library holds, what is still to do, and what clients may see."""

    home: str
    folders: list[FolderCount]
    notes: int
    passages: int
    last_indexed: str | None = Field(description="When the folders were last read, local "
                                                 "time (YYYY-MM-DD HH:MM), or null.")
    model: str | None = Field(description="The embedding model configured.")
    answering_with: str | None = Field(description="The model whose vectors answer now "
                                                   "(differs while re-embedding).")
    passages_waiting: int = Field(description="Passages not embedded yet.")
    notes_not_embedded: int
    problems: list[str] = Field(description="Why meaning search is off or embedding stopped, "
                                            "and other notices, in sentences.")
    skipped: list[SkippedFile] = Field(description="Files that could not be indexed, and why.")
    private_notes_shared: bool = Field(description="Whether this server returns notes marked "
                                                   "private (a setting in the app).")


# -- privacy ----------------------------------------------------------------------------------
class Gate:
    """Which notes a client may see, decided in one place (`withheld`), from the settings as
    they are at the start of each tool call."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.allow_private = settings.mcp_allow_private
        self.private_ids: set[int] = (set() if self.allow_private
                                      else library.store.private_note_ids())
        # The ignore rules of each folder as the settings say now: a pattern added since the
        # last index run hides its notes at once, before the indexer has removed them.
        self.rules = [IgnoreRules(folder, settings.include, settings.exclude)
                      for folder in library.folders()]

    def withheld(self, path: str, note_id: int | None = None,
                 marked_private: bool = False) -> str | None:
        """Return why the note at `path` (absolute) is kept from clients, or None when they
        may see it: outside every library folder, left out by an ignore or exclude pattern,
        or private (stored as private under `note_id`, or `marked_private` in its current
        text) unless the settings allow private notes. Any tool that returns notes or their
        text (search, similar, get_note, ask) passes them through here."""
        normal = os.path.abspath(path)
        rules = next((r for r in self.rules if Path(normal).is_relative_to(r.root)), None)
        if rules is None:
            return "it is outside the library's folders"
        if rules.is_ignored(Path(normal), is_dir=False):
            return "it is left out by the library's ignore or exclude patterns"
        if not self.allow_private and (marked_private or note_id in self.private_ids):
            return ("it is marked private (to share private notes with assistants, allow it "
                    "in the app's Settings)")
        return None

    def visible(self, results: list[Result]) -> list[Result]:
        """The results a client may see, in their order."""
        return [r for r in results if self.withheld(r.path, r.note_id) is None]

    def slack(self) -> int:
        """How many more results to ask the core for, so that k remain once private notes
        are taken out (bounded: a library of thousands of private notes asks for 100 more)."""
        return min(len(self.private_ids), 100) + 10


# -- the tools --------------------------------------------------------------------------------
class NoteTools:
    """The tools' work over a library opened read-only on first use.

    Every call runs on one worker thread, one at a time: the library keeps a connection and
    a searcher per thread, and the local model uses both cores for a single query anyway.
    """

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or library_home()
        self._library: Library | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notesearch-mcp")

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` on the library's thread; NotesearchError becomes a tool error."""
        try:
            return await asyncio.wrap_future(self._worker.submit(work))
        except NotesearchError as error:
            raise ToolError(str(error)) from error

    def close(self) -> None:
        """Close the library's connection (on its thread) and stop the worker."""
        if self._library is not None:
            self._worker.submit(self._library.close).result()
        self._worker.shutdown()

    def _open(self) -> tuple[Library, Gate]:
        if self._library is None:
            # Opening would create an empty library; say what to do instead.
            if not (self.home / DB_NAME).exists():
                raise NotesearchError(
                    f"There is no notesearch library in {self.home} yet: index a folder first "
                    "(`notesearch index ~/notes`, or add a folder in the notesearch app).")
            # Read-only, so the server answers while the app or `notesearch watch` indexes;
            # vectors in memory, as the server answers many searches.
            self._library = Library(self.home, reading_only=True)
            self._library.prepare_for_queries()
        library = self._library
        settings = Settings.load(self.home)
        chosen = (settings.provider, settings.provider_options)
        if chosen != (library.settings.provider, library.settings.provider_options):
            library.credentials_changed()  # another model chosen in the app: answer with it
        library.settings = settings
        return library, Gate(library, settings)

    def search(self, query: str, k: int, mode: Literal["hybrid", "meaning", "words"],
               folder: str | None, tags: list[str]) -> SearchAnswer:
        library, gate = self._open()
        filters = Filters(self._folder(library, folder), tuple(tags))
        response = library.search(query, k + gate.slack(), filters, mode)
        shown = replace(response, results=gate.visible(response.results)[:k])
        return SearchAnswer(query=query, results=[NoteHit.of(r) for r in shown.results],
                            no_good_match=shown.weak, corrections=shown.corrections,
                            notes_not_embedded=shown.notes_not_embedded,
                            meaning_unavailable=shown.meaning_unavailable)

    def _folder(self, library: Library, folder: str | None) -> str | None:
        """The absolute folder a search is narrowed to: as given, or under a library folder."""
        if not folder:
            return None
        given = Path(folder).expanduser()
        if not given.is_absolute():
            given = next((root / folder for root in library.folders()
                          if (root / folder).is_dir()), given)
        if not given.is_dir():
            raise NotesearchError(f"“{folder}” is not a folder of the library; give an "
                                  "absolute path or one relative to a library folder.")
        return str(given.resolve())

    def similar(self, note: str | None, text: str | None, k: int) -> SimilarAnswer:
        library, gate = self._open()
        if (note is None) == (text is None):
            raise NotesearchError("Give either a note (its path or title) or a text, not both.")
        if text is not None:
            results, like = library.similar_text(text, k + gate.slack()), "text"
        else:
            note_id, path = self._find(library, gate, note or "")
            results, like = library.searcher().similar_to_note(note_id, k + gate.slack()), \
                str(path)
        if not results and library.embedder() is None:
            raise NotesearchError("Meaning search is off, so similar notes cannot be found: "
                                  f"{library.embedder_problem}")
        return SimilarAnswer(like=like, results=[NoteHit.of(r, similar=True)
                                                 for r in gate.visible(results)[:k]])

    def _find(self, library: Library, gate: Gate, reference: str) -> tuple[int, Path]:
        """The note a client names (path or title), refused when it may not see it."""
        given = Path(reference).expanduser()
        why = gate.withheld(str(given)) if given.is_absolute() else None
        if why:
            raise NotesearchError(f"{reference} cannot be read: {why}.")
        note_id, path = library.find_note(reference)
        why = gate.withheld(str(path), note_id)
        if why:
            raise NotesearchError(f"{path} cannot be read: {why}.")
        return note_id, path

    def get_note(self, path: str, start_line: int | None, end_line: int | None) -> NoteText:
        library, gate = self._open()
        _, found = self._find(library, gate, path)
        try:
            text, _ = read_text(found, int(library.settings.max_file_mb * 1024 * 1024))
        except SkipFile as error:
            raise NotesearchError(f"{found} cannot be read: {error}.") from error
        parsed = parse_note(text, found.name)
        # The file as it is now: marked private since it was indexed is private already.
        why = gate.withheld(str(found), marked_private=parsed.private)
        if why:
            raise NotesearchError(f"{found} cannot be read: {why}.")
        lines = text.split("\n")
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the final newline ends the last line; it starts no line of its own
        total = len(lines)
        first = 1 if start_line is None else start_line
        last = total if end_line is None else end_line
        if first > total or last > total:
            raise NotesearchError(f"Line {max(first, last)} is past the end of {found.name}, "
                                  f"which has {total} lines (1–{total}).")
        if first > last:
            raise NotesearchError(f"start_line ({first}) is after end_line ({last}).")
        cut = last - first + 1 > MAX_LINES
        last = first + MAX_LINES - 1 if cut else last
        return NoteText(path=str(found), title=parsed.title, start_line=first, end_line=last,
                        total_lines=total, text="\n".join(lines[first - 1:last]),
                        truncated=cut)

    def ask(self, question: str, folder: str | None, tags: list[str]) -> AskAnswer:
        library, gate = self._open()
        searcher = library.searcher()
        filters = Filters(self._folder(library, folder), tuple(tags))
        # Offline Ask (core.ask): the client is itself a language model, so it gets the cited
        # passages to answer from; no chat model of the user's is called (nor its budget
        # spent). Private notes are left out as they are found, so other notes fill the list.
        found = find_passages(searcher, question, filters, include_private=gate.allow_private)
        kept = [p for p in found.passages if gate.withheld(p.path, p.note_id, p.private) is None]
        numbered = [replace(p, number=n) for n, p in enumerate(kept, 1)]
        passages = mark_answers(searcher, question, numbered)
        return AskAnswer(question=question, found=answers(found.response, passages),
                         passages=[CitedPassage.of(p) for p in passages],
                         notes_not_embedded=found.response.notes_not_embedded,
                         meaning_unavailable=found.response.meaning_unavailable)

    def status(self) -> LibraryStatus:
        library, gate = self._open()
        status = library.status()
        problems = [p for p in (status.embedder_problem, status.model_notice,
                                status.resize_notice, status.read_only) if p]
        if status.embedding_problem:
            problems.append(f"Embedding stopped: {status.embedding_problem['message']}")
        last = (time.strftime("%Y-%m-%d %H:%M", time.localtime(status.last_indexed))
                if status.last_indexed else None)
        return LibraryStatus(
            home=status.home,
            folders=[FolderCount(path=p, notes=n) for p, n in status.folder_notes],
            notes=status.notes, passages=status.chunks, last_indexed=last,
            model=status.model_id, answering_with=status.active_model_id,
            passages_waiting=status.pending_chunks,
            notes_not_embedded=status.notes_not_embedded, problems=problems,
            skipped=[SkippedFile(path=p, reason=r) for p, r in status.skipped],
            private_notes_shared=gate.allow_private)


def build_server(tools: NoteTools, lifespan: Callable[[MCPServer], Lifespan] | None = None
                 ) -> MCPServer:
    """Return the MCP server with the library's tools registered over `tools`; `lifespan`
    wraps each session's run."""
    server: MCPServer = MCPServer(
        "notesearch", version=__version__, log_level="WARNING", lifespan=lifespan,
        instructions="Search the user's own notes (Markdown and text files) by meaning and "
                     "by words. Use ask for the passages that answer a question, search to "
                     "find notes, get_note to read one (or a line range of it), similar for "
                     "notes like a note or a text, status for what is indexed. Cite notes by "
                     "path and line range.")

    @server.tool(title="Search notes")
    async def search(
        query: Annotated[str, Field(description="What to look for, in plain words or a "
                                                "question; also \"exact phrase\", -word, "
                                                "tag:name, in:folder.")],
        k: Annotated[int, Field(ge=1, le=MAX_RESULTS, description="How many notes.")] = 10,
        mode: Annotated[Literal["hybrid", "meaning", "words"], Field(
            description="hybrid: meaning and words fused (best); meaning: embeddings only; "
                        "words: keyword search only.")] = "hybrid",
        folder: Annotated[str | None, Field(description="Only notes under this folder: "
                                                        "absolute, or relative to a library "
                                                        "folder.")] = None,
        tags: Annotated[list[str] | None, Field(description="Only notes carrying all of "
                                                            "these tags (a parent tag counts "
                                                            "its children).")] = None,
    ) -> SearchAnswer:
        """Find the user's notes that best match a query, best first, each with its path, title, matching passage and line range, and a confidence (0..1) that it is the note meant."""  # noqa: E501
        return await tools.run(lambda: tools.search(query, k, mode, folder, tags or []))

    @server.tool(title="Similar notes")
    async def similar(
        note: Annotated[str | None, Field(description="A note's path, or its title or file "
                                                      "name.")] = None,
        text: Annotated[str | None, Field(description="Or a passage of text to match.")] = None,
        k: Annotated[int, Field(ge=1, le=MAX_RESULTS, description="How many notes.")] = 10,
    ) -> SimilarAnswer:
        """Find the notes most like a given note (by path or title) or a given text, closest first, each labelled by how close it is."""  # noqa: E501
        return await tools.run(lambda: tools.similar(note, text, k))

    @server.tool(title="Read a note")
    async def get_note(
        path: Annotated[str, Field(description="The note's path (as search returns it), or a "
                                               "path relative to a library folder.")],
        start_line: Annotated[int | None, Field(ge=1, description="First line, 1-based "
                                                                  "(default: 1).")] = None,
        end_line: Annotated[int | None, Field(ge=1, description="Last line, inclusive "
                                                                "(default: the last).")] = None,
    ) -> NoteText:
        """Return a note's text, or the lines start_line..end_line of it (at most 2000 lines a call). Only notes in the library's folders can be read."""  # noqa: E501
        return await tools.run(lambda: tools.get_note(path, start_line, end_line))

    @server.tool(title="Library status")
    async def status() -> LibraryStatus:
        """Say what is indexed: folders and note counts, the model, passages still to embed, files skipped and why."""  # noqa: E501
        return await tools.run(tools.status)

    @server.tool(title="Ask your notes")
    async def ask(
        question: Annotated[str, Field(description="A question the user's notes may answer.")],
        folder: Annotated[str | None, Field(description="Only notes under this folder: "
                                                        "absolute, or relative to a library "
                                                        "folder.")] = None,
        tags: Annotated[list[str] | None, Field(description="Only notes carrying all of "
                                                            "these tags.")] = None,
    ) -> AskAnswer:
        """Find the passages of the user's notes likeliest to answer a question (a few per note), with the sentences that answer marked and each passage's path and line range for citing. Answer from these passages only, citing them; if found is false, say the notes do not answer it."""  # noqa: E501
        return await tools.run(lambda: tools.ask(question, folder, tags or []))

    return server


# -- transports -------------------------------------------------------------------------------
def is_loopback_host(value: str) -> bool:
    """True when a Host header ("localhost:8765", "[::1]:8765", "127.0.0.1") names this
    machine."""
    host = urlsplit(f"//{value}").hostname
    return host is not None and host in LOOPBACK_HOSTS


def is_loopback_origin(value: str) -> bool:
    """True when an Origin header is a page served from this machine (http or https)."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS


class LoopbackOnly:
    """ASGI middleware: 403 for any request whose Host or Origin header is not loopback.

    Binding to 127.0.0.1 keeps other machines out, but a web page the user opens can still
    reach this port through DNS rebinding (its own name resolved to 127.0.0.1): its requests
    then carry that name as Host and the page's address as Origin. Requests with no Origin
    (assistants, command-line clients) are let through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            origin = headers.get("origin")
            if not is_loopback_host(headers.get("host", "")) or \
                    (origin is not None and not is_loopback_origin(origin)):
                log.warning("Refused a request from Host %r, Origin %r",
                            headers.get("host"), origin)
                await _forbidden(send)
                return
        await self.app(scope, receive, send)


async def _forbidden(send: Send) -> None:
    body = b"Forbidden: only pages and clients on this machine may use this server.\n"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def _prints_to_stderr(_: MCPServer) -> AsyncIterator[None]:
    """While serving stdio, send Python-level prints (a library's progress line) to stderr.

    Entered once the SDK holds the wire: it serves from a private copy of file descriptor 1
    and points 1 at stderr, but text held in sys.stdout's buffer would be flushed at exit,
    once 1 is the wire again, and reach the client as a broken message.
    """
    with redirect_stdout(sys.stderr):
        yield


def serve_stdio(home: Path | None = None) -> None:
    """Serve the library over stdin/stdout until the client closes them. Nothing but the
    protocol is written to stdout (logging goes to stderr)."""
    tools = NoteTools(home)
    try:
        build_server(tools, _prints_to_stderr).run("stdio")
    finally:
        tools.close()


def serve_http(port: int = DEFAULT_PORT, home: Path | None = None) -> None:
    """Serve the library over streamable HTTP at http://127.0.0.1:`port`/mcp until
    interrupted; loopback only (see LoopbackOnly)."""
    import uvicorn

    tools = NoteTools(home)
    app = LoopbackOnly(build_server(tools).streamable_http_app(host="127.0.0.1"))
    print(f"notesearch MCP server at http://127.0.0.1:{port}/mcp (Ctrl+C to stop)",
          file=sys.stderr, flush=True)
    try:
        # log_config=None: uvicorn's own logging config prints access lines to stdout.
        uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    finally:
        tools.close()
