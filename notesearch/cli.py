"""The `notesearch` command line: index, search, similar, watch, status, key, doctor."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import time
from pathlib import Path

from notesearch import __version__
from notesearch.core.ask import CLOSEST_PASSAGES, Answer, Passage
from notesearch.core.errors import KeyringUnavailable, NotesearchError
from notesearch.core.library import Library
from notesearch.core.markdown import is_heading
from notesearch.core.progress import Progress, format_eta
from notesearch.core.prose import blank_markup, plain_markdown
from notesearch.core.query import SYNTAX_HELP
from notesearch.core.search import Filters, Result

#: The most results one search returns: beyond it a list says nothing a person would read.
MAX_RESULTS = 1000


def _results_wanted(text: str) -> int:
    """argparse type of -k: a whole number of results, 1 to MAX_RESULTS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a whole number") from None
    if not 1 <= value <= MAX_RESULTS:
        raise argparse.ArgumentTypeError(f"give 1 to {MAX_RESULTS} results, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "run", None) is cmd_search and all(
            word.startswith("-") and not word.startswith("--") for word in extra):
        # `search -肌酸` or `search kites -wind`: words to leave out, not options.
        args.query = " ".join([args.query or "", *extra]).strip()
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # -v is about notesearch: watchdog logs every inotify event it sees at DEBUG, hundreds a
    # second while an editor saves, and buried what `watch -v` is for.
    logging.getLogger("watchdog").setLevel(logging.INFO)
    command = getattr(args, "run", None)
    if command is None:
        parser.print_help()
        return 2
    try:
        code = command(args) or 0
        sys.stdout.flush()  # a reader that has gone away is found here, not at exit
        return code
    except BrokenPipeError:
        # `notesearch search ... | head`: the reader took what it wanted. Python would print
        # a traceback, and another when it flushes stdout at exit; point stdout at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a program stopped by SIGPIPE: 128 + 13
    except NotesearchError as error:
        print(f"notesearch: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nnotesearch: interrupted; finished notes are kept, run again to resume.",
              file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notesearch", description="Find your notes by meaning and by words.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument("--version", action="version", version=f"notesearch {__version__}")
    commands = parser.add_subparsers(metavar="COMMAND")

    index = commands.add_parser("index", help="add folders and index them (incremental)")
    index.add_argument("paths", nargs="*", type=Path,
                       help="folders to add; none means every folder already in the library")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.add_argument("--no-embed", action="store_true",
                       help="only read notes (keyword search); embed later")
    index.set_defaults(run=cmd_index)

    search = commands.add_parser("search", help="search notes")
    search.add_argument("query", nargs="?",
                        help="what to look for; also " + SYNTAX_HELP.replace("%", "%%"))
    search.add_argument("-k", type=_results_wanted, default=10,
                        help="number of results, 1 to 1000 (default 10)")
    search.add_argument("--json", action="store_true", help="print one JSON object per query")
    search.add_argument("--stdin", action="store_true",
                        help="read one query per line from standard input")
    search.add_argument("--mode", choices=("hybrid", "meaning", "words"), default="hybrid")
    search.add_argument("--folder", type=Path, help="only notes under this folder")
    search.add_argument("--tag", action="append", default=[], help="only notes with this tag")
    search.set_defaults(run=cmd_search)

    ask = commands.add_parser(
        "ask", help="answer a question from your notes, citing the passages",
        description="Answer from your notes. Offline (the default): the passages likeliest to "
                    "answer, with the answering sentences marked. With a chat model (Settings, "
                    "or --chat): its answer, streamed, citing the passages as [1], [2].")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    chat = ask.add_mutually_exclusive_group()
    chat.add_argument("--offline", action="store_true", help="do not use a chat model")
    chat.add_argument("--chat", action="store_true",
                      help="use the chat model set in Settings even if Ask is set to offline")
    ask.add_argument("--yes", action="store_true",
                     help="send passages to a remote chat model without asking first")
    ask.add_argument("--folder", type=Path, help="only notes under this folder")
    ask.add_argument("--tag", action="append", default=[], help="only notes with this tag")
    ask.set_defaults(run=cmd_ask)

    similar = commands.add_parser("similar", help="notes most like a note (or --text)")
    similar.add_argument("path", nargs="?", metavar="NOTE",
                         help="the note: its path, or its title or file name")
    similar.add_argument("--text", help="find notes like this text instead")
    similar.add_argument("-k", type=_results_wanted, default=10,
                         help="number of notes, 1 to 1000 (default 10)")
    similar.add_argument("--json", action="store_true")
    similar.add_argument("--show", action="store_true",
                         help="show the result in the running app (starting it if needed)")
    similar.set_defaults(run=cmd_similar)

    watch = commands.add_parser("watch", help="keep the index current while files change")
    watch.set_defaults(run=cmd_watch)

    status = commands.add_parser("status", help="what is indexed, skipped and pending")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=cmd_status)

    folders = commands.add_parser("folders", help="list the library's folders, or remove one")
    folders.add_argument("--remove", type=Path, metavar="PATH")
    folders.set_defaults(run=cmd_folders)

    provider = commands.add_parser(
        "provider", help="list the embedding providers, or choose one and its options")
    provider.add_argument("name", nargs="?", help="the provider to use (none: list them)")
    provider.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                          help="one of the provider's options, e.g. --set model=bge-m3")
    provider.set_defaults(run=cmd_provider)

    key = commands.add_parser("key", help="the OpenAI API key in the OS keyring")
    key.add_argument("action", choices=("set", "clear", "status"))
    key.add_argument("--server", metavar="URL",
                     help="the key of an OpenAI-compatible server at this base URL instead "
                          "(each server has its own entry; OpenAI's key is never sent to it)")
    key.set_defaults(run=cmd_key)

    for name, text in (("show", "bring up the search window (starting the app if needed)"),
                       ("toggle", "show the search window, or hide it if it is showing")):
        window = commands.add_parser(name, help=text)
        window.set_defaults(run=cmd_window, window_command=name)

    doctor = commands.add_parser("doctor", help="check SQLite, sqlite-vec, model and keyring")
    doctor.set_defaults(run=cmd_doctor)
    _register_platform_commands(commands)
    _register_mcp_command(commands)
    return parser


def _register_platform_commands(commands: argparse._SubParsersAction) -> None:
    integrate = commands.add_parser(
        "integrate", help="add or remove 'Find similar notes' in file-manager menus",
        description="Manage the per-user 'Find similar notes' file-manager entries.")
    integrate.add_argument("integrate_action", metavar="ACTION",
                           choices=("install", "uninstall", "status"),
                           help="install, uninstall or status")
    integrate.add_argument("--home", type=Path, default=None, help=argparse.SUPPRESS)
    integrate.set_defaults(run=cmd_integrate)


def _register_mcp_command(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser(
        "mcp", help="serve the library to AI assistants (Model Context Protocol)",
        description="Serve search, similar notes, note text and status to AI assistants over "
                    "stdio (the default), or over HTTP on 127.0.0.1 only.")
    mcp.add_argument("--http", action="store_true",
                     help="serve streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio")
    mcp.add_argument("--port", type=int, default=8765, help="the HTTP port (default 8765)")
    mcp.set_defaults(run=cmd_mcp)


# -- commands ---------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    library = Library()
    for path in args.paths:
        library.add_folder(path)
    if not library.folders():
        raise NotesearchError("No folders to index: run `notesearch index ~/notes`.")
    bar = ProgressBar(enabled=not args.json, terminal=sys.stderr.isatty())
    summary = library.scan(progress=bar) if args.no_embed else library.index(progress=bar)
    bar.close()
    data = summary.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        # (A fresh user read "246/246 notes ready" while embedding against "318 added" as 72
        # notes left out: they were empty Logseq journal pages.)
        empty = (f" ({summary.empty} of the notes read hold no text to embed)"
                 if summary.empty else "")
        # (After an upgrade every note was "updated", which read as if the notes had changed.)
        reread = (f", {summary.reread} read again for this version of notesearch"
                  if summary.reread else "")
        print(f"{summary.added} added, {summary.updated} updated, {summary.removed} removed, "
              f"{summary.unchanged} unchanged{reread}; {summary.chunks_embedded} passage texts "
              f"embedded in {summary.seconds:.1f} s{empty}.")
        for path, reason in summary.skipped:
            print(f"  skipped {path}: {reason}")
        if summary.embedding_elsewhere and summary.chunks_embedded:
            # (The other process stopped first: it finished, crashed or was stopped.)
            print(f"({summary.embedding_elsewhere} was embedding this library's notes; this "
                  "run waited for it to stop, then embedded what it had left.)")
        elif summary.embedding_elsewhere:
            print(f"(Meanwhile {summary.embedding_elsewhere} embedded this library's notes; "
                  "this run waited for it.)")
        if summary.embedding_error:
            print(f"Meaning search is not up to date: {summary.embedding_error}")
            print("Keyword search works; run `notesearch index` again to resume.")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    # One query: let sqlite-vec scan; many (--stdin): load the vectors once and reuse them.
    library = Library(vectors_in_memory=args.stdin, reading_only=True)
    filters = Filters(library.folder_filter(args.folder) if args.folder else None,
                      tuple(args.tag))
    if args.stdin:
        library.prepare_for_queries()  # many queries: worth the faster engine's load
        for line in sys.stdin:
            _print_search(library, line.strip(), args, filters)
            sys.stdout.flush()
        return 0
    if not args.query and not filters:
        raise NotesearchError("Give a query, or --stdin to read queries from standard input.")
    _print_search(library, args.query or "", args, filters)
    return 0


def _print_search(library: Library, query: str, args: argparse.Namespace,
                  filters: Filters) -> None:
    response = library.search(query, args.k, filters, args.mode)
    holder = library.embedding_elsewhere() if response.notes_not_embedded else None
    if args.json:
        data = response.to_json()
        if holder is not None:
            data["embedding_now"] = holder.describe()  # who is embedding those notes
        print(json.dumps(data, ensure_ascii=False))
        return
    if args.stdin:  # many queries: say which one these results answer, a blank line between
        print(f"\n» {query}")
    if response.corrections:
        print(response.spelling_note())
    if not response.results:
        print(response.filter_note or ("No notes found." if library.folders() else
                                       "The library has no notes yet: add your notes folder "
                                       "with `notesearch index ~/notes`."))
    elif response.weak:
        print("No good match; the closest notes:")
    for rank, result in enumerate(response.results, 1):
        _print_result(rank, result, show_match=True)
    if response.notes_not_embedded:
        finish = (f"{holder.describe()} is embedding them now" if holder
                  else "run `notesearch index` to finish")
        print(f"({_notes_are(response.notes_not_embedded)} not embedded yet and can only "
              f"match by words; {finish}.)")
    if response.meaning_unavailable:
        print(f"(Meaning search is off: {response.meaning_unavailable})")
    if library.read_only:
        print(f"(The library cannot be written: {library.read_only}. These results are from "
              "the index as it was last written.)")


def _print_result(rank: int, result: Result, show_match: bool) -> None:
    bold, dim, reset = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
    # Search results show their confidence (a chance of being the note meant); similar notes
    # how close they are, in words, and their cosine similarity.
    why = f" · {result.match}" if show_match else ""
    value = (f"{result.confidence:.0%}" if show_match
             else f"{result.strength} · {result.score:.3f}")
    print(f"{rank:2}. {bold}{result.title}{reset}  {dim}{value}{why}{reset}")
    # Where in the note: a changelog's passage says which release it is under.
    under = f"  {dim}› {result.heading}{reset}" if result.heading else ""
    print(f"    {result.path}:{result.line}{under}")
    if result.snippet.text:
        print(f"    {_highlight(result, bold, reset)}")


def _highlight(result: Result, on: str, off: str) -> str:
    text, out, last = result.snippet.text, [], 0
    for start, end in result.snippet.highlights:
        out += [text[last:start], on, text[start:end], off]
        last = end
    out.append(text[last:])
    return "".join(out)


def cmd_ask(args: argparse.Namespace) -> int:
    library = Library(vectors_in_memory=False, reading_only=True)
    filters = Filters(library.folder_filter(args.folder) if args.folder else None,
                      tuple(args.tag))
    with_chat = False if args.offline else (True if args.chat else None)
    streamed: list[str] = []

    def show(piece: str) -> None:
        streamed.append(piece)
        if not args.json:
            print(piece, end="", flush=True)

    answer = library.ask(args.question, filters, with_chat, on_text=show,
                         confirm=lambda tokens, where: _confirm_sending(tokens, where, args.yes))
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    if streamed:
        print("\n")
    if answer.problem:
        print(f"({answer.problem})\n")
    _print_passages(answer)
    if answer.withheld_private:
        print(f"({answer.withheld_private} private note(s) were not sent to the chat model.)")
    if answer.meaning_unavailable:
        print(f"(Meaning search is off: {answer.meaning_unavailable})")
    return 0


def _confirm_sending(tokens: int, where: str, yes: bool) -> bool:
    """Say what is about to leave the machine; ask first unless --yes (or no terminal)."""
    print(f"Sending about {tokens:,} tokens of your notes to {where}.", file=sys.stderr)
    if yes:
        return True
    if not sys.stdin.isatty():
        print("Not sent: add --yes to send passages to a chat model from a script.",
              file=sys.stderr)
        return False
    return input("Send? [y/N] ").strip().lower() in ("y", "yes")


def _print_passages(answer: Answer) -> None:
    bold, dim, reset = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
    if not answer.passages:
        print("Nothing in your notes matches this question.")
        return
    if not answer.found and not answer.text:
        print(CLOSEST_PASSAGES)
    elif not answer.text:
        print("From your notes:")
    else:
        print("Sources:")
    for passage in answer.passages:
        where = passage.title + (f" › {passage.section}" if passage.section else "")
        print(f"[{passage.number}] {bold}{where}{reset}  {dim}{passage.citation}{reset}")
        for number, said in _answer_lines(passage):
            print(f"    {dim}{number}:{reset} {said}")


def _answer_lines(passage: Passage) -> list[tuple[int, str]]:
    """(line number, plain text) of a passage's answering sentences as they read, with the
    lines under one that is a heading; each said once: a sentence of a line already shown
    whole is not shown again (a trial's "4: Turn every week in summer." under the whole of
    line 4, shown for the heading above it)."""
    said: list[tuple[int, str]] = []
    for sentence in sorted(passage.sentences, key=lambda s: s.start):
        lines = [(sentence.line, passage.text[sentence.start:sentence.end])]
        if is_heading(_line_at(passage.text, sentence.start)):
            lines += _lines_under(passage, sentence.line)
        for number, text in lines:
            plain = " ".join(blank_markup(plain_markdown(text)[0]).split())
            if plain:  # HTML tags and bare URLs go too
                said.append((number, plain))
    unique = list(dict.fromkeys(said))
    return [(number, text) for number, text in unique
            if not any(other == number and text != whole and text in whole
                       for other, whole in unique)]


#: Lines of a passage shown under an answering sentence that is its heading.
HEADED_LINES = 4


def _line_at(text: str, offset: int) -> str:
    return text[text.rfind("\n", 0, offset) + 1:].split("\n", 1)[0]


def _lines_under(passage: Passage, line: int) -> list[tuple[int, str]]:
    """The first HEADED_LINES lines with words below `line` in the passage: what a heading
    that answers the question heads. A fresh-user trial asked "what changed in version
    0.9.2?" and was shown only "Beta 0.9.2 Apr 13th, 2023", the changes left unsaid."""
    under: list[tuple[int, str]] = []
    for number, text in enumerate(passage.text.split("\n")[line - passage.line + 1:], line + 1):
        if is_heading(text) or len(under) == HEADED_LINES:
            break  # the next part of the note is not what this heading heads
        if any(ch.isalnum() for ch in blank_markup(text)):
            under.append((number, text))
    return under


def cmd_similar(args: argparse.Namespace) -> int:
    library = Library(vectors_in_memory=False, reading_only=True)
    if args.show:
        from notesearch.gui.single_instance import send_to_app

        return send_to_app(["similar", str(library.find_note(args.path)[1])])
    if args.text:
        results = library.similar_text(args.text, args.k)
    elif args.path:
        results = library.similar(args.path, args.k)
    else:
        raise NotesearchError("Give a note's path, or --text.")
    if args.json:
        print(json.dumps({"path": str(library.find_note(args.path)[1]) if args.path else None,
                          "results": [r.to_json() for r in results]}, ensure_ascii=False))
        return 0
    if not results and args.path:
        print(f"No similar notes: {library.why_no_similar(args.path)}.")
    elif not results:
        print("No similar notes yet: run `notesearch index` to embed the notes.")
    for rank, result in enumerate(results, 1):
        _print_result(rank, result, show_match=False)
    waiting = library.searcher().notes_not_embedded()
    if waiting:  # a fresh-user trial ran it midway through embedding and was not told
        print(f"({_notes_are(waiting)} not embedded yet and cannot be compared; "
              "run `notesearch index` to finish.)")
    return 0


def _notes_are(count: int) -> str:
    """Return "1 note is" or "N notes are"."""
    return f"{count} {'note is' if count == 1 else 'notes are'}"


def cmd_watch(args: argparse.Namespace) -> int:
    from notesearch.core.watcher import FolderWatcher

    library = Library()
    if not library.folders():
        raise NotesearchError("No folders to watch: run `notesearch index ~/notes` first.")
    print("Bringing the index up to date…", file=sys.stderr)
    library.index()
    watcher = FolderWatcher(library, on_update=_report_update)
    watcher.start(catch_up=True)  # what changed while the index ran
    print("Watching " + ", ".join(map(str, library.folders())) + " (Ctrl+C to stop).",
          file=sys.stderr)
    try:
        watcher.join()
    except KeyboardInterrupt:  # Ctrl+C is how a watch ends, not an interruption to resume
        print("\nStopped watching.", file=sys.stderr)
    finally:
        watcher.stop()
    return 0


def _report_update(summary) -> None:
    changed = summary.added + summary.updated + summary.removed
    if changed or summary.skipped:
        print(f"{summary.added} added, {summary.updated} updated, {summary.removed} removed, "
              f"{summary.chunks_embedded} passage texts embedded", file=sys.stderr)
    for path, reason in summary.skipped:  # a file that is no text, say
        print(f"  skipped {path}: {reason}", file=sys.stderr)


def cmd_status(args: argparse.Namespace) -> int:
    status = Library(reading_only=True).status()
    if args.json:
        print(json.dumps(status.to_json(), ensure_ascii=False))
        return 0
    print(f"Library: {status.home}")
    if status.read_only:
        print(f"Read-only: {status.read_only}. Search answers from the index as it is; "
              "indexing waits until the library can be written.")
    if not status.folders:
        print("Folders: none (add one with `notesearch index`)")
    for folder, notes in status.folder_notes:
        print(f"Folder: {folder} ({notes:,} notes)")
    print(f"Notes: {status.notes} ({status.chunks} passages)")
    if status.last_indexed:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.last_indexed))
        print(f"Folders last read in full: {when}")  # (embedding may go on after)
    print(f"Database: {status.database_bytes / 1e6:,.1f} MB")
    print(f"Model: {status.model_id or 'none'}"
          + (f" (answering with {status.active_model_id} until re-embedding completes)"
             if status.active_model_id and status.active_model_id != status.model_id else ""))
    if status.model_notice:
        print(status.model_notice)
    if status.resize_notice:
        print(status.resize_notice)
    if status.embedder_problem:
        print(f"Meaning search unavailable: {status.embedder_problem}")
    print(f"Waiting to be embedded: {status.pending_chunks} passages "
          f"({status.notes_not_embedded} notes)"
          + (f"; {status.embedding_now} is embedding them now" if status.embedding_now else ""))
    if status.embedding_problem:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.embedding_problem["at"]))
        print(f"Embedding stopped at {when}: {status.embedding_problem['message']} Run "
              "`notesearch index` again once that is fixed; those notes match by words "
              "until then.")
    count = len(status.skipped)
    print(f"Skipped: {count} file{'' if count == 1 else 's'}")
    for path, reason in status.skipped:
        print(f"  {path}: {reason}")
    return 0


def cmd_folders(args: argparse.Namespace) -> int:
    library = Library()
    if args.remove:
        removed = library.remove_folder(args.remove)
        print(f"Removed {args.remove} ({removed} notes).")
        return 0
    for folder in library.folders():
        print(folder)
    return 0


def cmd_provider(args: argparse.Namespace) -> int:
    from notesearch.core.embedders.registry import provider, providers

    library = Library()
    settings = library.settings
    if args.name is None:
        for choice in providers():
            mark = "*" if choice.name == settings.provider else " "
            print(f"{mark} {choice.name}: {choice.label}; {choice.description}")
            held = settings.provider_options.get(choice.name, {})
            for option in choice.options:
                value = held.get(option.name) or option.default
                kind = "one of" if option.closed else "for example"
                offered = f" ({kind}: {', '.join(option.choices)})" if option.choices else ""
                print(f"    {option.name} = {value or '(default)'}{offered}")
        return 0
    chosen = provider(args.name)
    values = {}
    for assignment in args.set:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise NotesearchError(f"Give options as OPTION=VALUE, not {assignment!r}.")
        values[chosen.option(name.strip()).name] = value.strip()
    updated = settings.with_options(chosen.name, **values)
    chosen.options_from(updated)  # a value outside a closed list is refused before saving
    needs_index = library.reload_settings(updated)
    print(f"Meaning search now uses {chosen.name}: {chosen.description}.")
    if needs_index:
        print("Run `notesearch index` (or keep the app open) to embed the notes with it; the "
              "current vectors answer until then.")
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    from notesearch.core import secrets
    from notesearch.core.embedders.openai_api import is_official, key_provider, server_host

    if args.server is not None and not server_host(args.server):
        raise NotesearchError(f"{args.server!r} is not a server URL; give its base URL, "
                              "for example http://localhost:11434/v1")
    provider = key_provider(args.server)
    whose = "OpenAI key" if is_official(args.server) else f"Key for {server_host(args.server)}"
    if args.action == "status":
        print(secrets.keyring_status())
        try:
            stored = secrets.get_api_key(provider) is not None
        except KeyringUnavailable:
            print(f"{whose}: not stored; no keyring available")
            return 0
        from_env = provider == "openai" and os.environ.get("OPENAI_API_KEY")
        print(f"{whose}: " + ("set" + (" (from OPENAI_API_KEY)" if from_env else "")
                              if stored else "not set"))
        return 0
    if args.action == "clear":
        print("Key removed." if secrets.clear_api_key(provider) else "No key was stored.")
        return 0
    key = (getpass.getpass(f"{whose}: ") if sys.stdin.isatty()
           else sys.stdin.readline()).strip()
    if not key:
        raise NotesearchError("No key given; nothing stored.")
    secrets.set_api_key(key, provider)
    print(f"{whose} stored in the OS keyring.")
    return 0


def cmd_integrate(args: argparse.Namespace) -> int:
    from notesearch.platform import filemanager

    if args.integrate_action == "status":
        for name, present in filemanager.status(args.home).items():
            print(f"{name}: {'installed' if present else 'not installed'}")
        return 0
    verb, change = (("wrote", filemanager.install) if args.integrate_action == "install"
                    else ("removed", filemanager.uninstall))
    paths = change(args.home)
    for path in paths:
        print(f"{verb} {path}")
    if not paths:
        print(f"nothing {verb}")
    return 0


def cmd_window(args: argparse.Namespace) -> int:
    from notesearch.gui.single_instance import send_to_app

    return send_to_app([args.window_command])


def cmd_mcp(args: argparse.Namespace) -> int:
    # Imported here: the MCP SDK (pydantic, starlette) costs every other command nothing.
    from notesearch.mcp_server import serve_http, serve_stdio

    if args.http:
        serve_http(args.port)
    else:
        serve_stdio()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from notesearch.core.doctor import run_checks

    failures = 0
    for check in run_checks():
        mark = "FAIL" if not check.ok else "warn" if check.warning else "ok "
        print(f"[{mark}] {check.name}: {check.detail}")
        failures += not check.ok
    return 1 if failures else 0


#: Seconds between progress lines when stderr is a file or pipe, not a terminal.
PROGRESS_LINE_SECONDS = 30.0


class ProgressBar:
    """Progress on stderr: phase, done/total, ETA. On a terminal one line redrawn in place;
    into a file or pipe (`notesearch index ... > index.log 2>&1 &`) a line at each new phase
    and every PROGRESS_LINE_SECONDS, so a log shows the work going on (a fresh user's log
    stayed empty for the 17 minutes of a first index)."""

    def __init__(self, enabled: bool, terminal: bool = True) -> None:
        self.enabled = enabled
        self.terminal = terminal
        self._shown = False
        self._last: tuple[str, float] | None = None  # (phase, time.monotonic()) last written

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        # (A phase's last line has nothing left to wait for: "reading: 318/318 · ETA < 1
        # min" read as more reading to come.)
        eta = format_eta(progress.eta_seconds) if progress.done < progress.total else ""
        # As the app says it: the notes with text, of which this many are searchable by
        # meaning (a fresh user read "notes 217/246" against 318 files as notes left out).
        notes = (f" · {progress.notes_done:,}/{progress.notes_total:,} notes ready"
                 if progress.notes_total else "")
        detail = f" · {progress.detail}" if progress.detail else ""
        counts = f"{progress.done:,}/{progress.total:,}{notes}{eta}{detail}"
        if not self.terminal:
            now = time.monotonic()
            if (self._last is None or self._last[0] != progress.phase
                    or now - self._last[1] >= PROGRESS_LINE_SECONDS
                    or progress.done >= progress.total):  # (a phase's last line)
                sys.stderr.write(f"{progress.phase}: {counts}\n")
                sys.stderr.flush()
                self._last = (progress.phase, now)
            return
        width = 30
        filled = int(width * progress.done / progress.total) if progress.total else width
        line = f"\r{progress.phase:9} [{'#' * filled}{'.' * (width - filled)}] {counts}"
        sys.stderr.write(line.ljust(90))
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")


if __name__ == "__main__":
    sys.exit(main())
