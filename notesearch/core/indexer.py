"""Incremental indexing: notes into chunks and keyword index first, then vectors in batches."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from notesearch.core.chunking import chunk_context, chunk_note, headings_alone
from notesearch.core.config import Settings
from notesearch.core.embedders import Embedder, may_see_private_notes
from notesearch.core.errors import EmbedderError, SkipFile
from notesearch.core.lease import EmbeddingLease
from notesearch.core.markdown import parse_note
from notesearch.core.migrations import READ_AGAIN_SIZE
from notesearch.core.notes import (
    BAD_NAME_REASON,
    NOTE_EXTENSIONS,
    IgnoreRules,
    Skipped,
    content_hash,
    discover,
    display_path,
    has_undecodable_name,
    in_obsidian_vault,
    os_reason,
)
from notesearch.core.notes import read_text as read_note_text
from notesearch.core.progress import Control, Progress, ProgressCallback, RateMeter
from notesearch.core.prose import embedding_text, has_words
from notesearch.core.store import NO_VECTOR, NoteFields, NoteRecord, Store, StoredChunk
from notesearch.core.tokens import (
    ESTIMATE_HEADROOM,
    embedding_cost,
    estimate_tokens,
    fit_to_window,
)

log = logging.getLogger(__name__)

EMBED_BATCH = 32
# Pending chunks are sorted by length within windows: batches of similar length waste less
# padding, while notes still become searchable in the order they come (store.pending_chunks).
# The first windows are small, so the first notes are searchable within the first minute;
# they grow to SORT_WINDOW.
FIRST_SORT_WINDOW = 64
SORT_WINDOW = 1024
#: How often a run waiting for another process's embedding looks again (seconds).
LEASE_POLL_SECONDS = 1.0
#: Times a run embeds again what arrived as it released the lease (see embed_pending).
LEASE_ROUNDS = 3


@dataclass
class IndexSummary:
    """What one indexing run did, for the CLI's summary and the app's status bar."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    pending_chunks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    embedding_error: str | None = None
    #: The error's kind (see errors.py: "offline", "key_rejected", "no_key", ...), for code.
    embedding_error_kind: str | None = None
    cancelled: bool = False
    seconds: float = 0.0
    #: Time spent inside the embedding model itself (the rest of `seconds` is our overhead).
    model_seconds: float = 0.0
    #: Another process that was embedding the library meanwhile ("notesearch index (pid 12)").
    embedding_elsewhere: str | None = None
    #: Notes read again because this version reads notes differently (a schema step marked
    #: them: migrations.READ_AGAIN_SIZE), not because they changed; not counted as updated.
    reread: int = 0
    #: Notes added or updated in this run that hold no words of their own (an empty journal
    #: page, a file of only "-"): nothing to embed, so the embedding progress, which counts
    #: the notes that wait for vectors, leaves them out.
    empty: int = 0

    def to_json(self) -> dict:
        """Return the summary as JSON-ready data (`index --json`, the app's indexing process);
        skipped files as {"path", "reason"} objects, seconds rounded to 0.01."""
        data = dataclasses.asdict(self)
        data["skipped"] = [{"path": path, "reason": reason} for path, reason in self.skipped]
        data["seconds"], data["model_seconds"] = (round(self.seconds, 2),
                                                  round(self.model_seconds, 2))
        return data

    @classmethod
    def from_json(cls, data: dict) -> IndexSummary:
        """Return the summary `to_json` made (fields it does not know are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in known}
        fields["skipped"] = [(item["path"], item["reason"]) for item in data.get("skipped", [])]
        return cls(**fields)

    def take_embedding(self, other: IndexSummary) -> None:
        """Copy what an embedding run did (vectors made, pending, errors) into this summary."""
        self.chunks_embedded = other.chunks_embedded
        self.pending_chunks = other.pending_chunks
        self.embedding_error = other.embedding_error
        self.embedding_error_kind = other.embedding_error_kind
        self.embedding_elsewhere = other.embedding_elsewhere
        self.model_seconds = other.model_seconds
        self.cancelled = self.cancelled or other.cancelled

    def merge(self, other: IndexSummary) -> None:
        for name in ("added", "updated", "removed", "unchanged", "chunks_embedded", "empty",
                     "reread"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.extend(other.skipped)
        self.cancelled = self.cancelled or other.cancelled


def vector_key(text: str, context_len: int) -> str:
    """Return the key a chunk's vector is stored under: the hash of the text embedded.

    "" for a chunk whose own text has no letter or digit (a Logseq journal page holding only
    "-"): it gets no vector, since the context line alone (a date, a title) came out close to
    many queries and ranked such empty pages first. It stays findable by its words.
    """
    if not has_words(embedding_text(text[context_len:])):
        return NO_VECTOR
    return content_hash(embedding_text(text))


class NotesWaiting:
    """Counts the passages and notes that have their vectors, as batches of texts get theirs.

    Progress is told in passages (chunks), as `status` counts them: two passages with the same
    text share one vector, so counting texts embedded made 179 of a library's 180 passages.
    """

    def __init__(self, note_chunks: list[tuple[int, str]]) -> None:
        self._notes_of: dict[str, list[int]] = {}
        self._left: dict[int, int] = {}
        for note_id, digest in note_chunks:
            self._notes_of.setdefault(digest, []).append(note_id)
            self._left[note_id] = self._left.get(note_id, 0) + 1
        self.total, self.done = len(self._left), 0
        self.passages, self.passages_done = len(note_chunks), 0

    def embedded(self, digests: Iterable[str]) -> None:
        for digest in digests:
            for note_id in self._notes_of.pop(digest, []):
                self.passages_done += 1
                self._left[note_id] -= 1
                self.done += self._left[note_id] == 0

    def counts(self) -> tuple[int, int]:
        """(notes done, notes waiting at the start)."""
        return self.done, self.total


def embedding_batches(pending: list[tuple[str, str]], first_window: int = FIRST_SORT_WINDOW,
                      window: int = SORT_WINDOW) -> list[list[tuple[str, str]]]:
    """Cut `pending` (in priority order) into batches of EMBED_BATCH: each window of chunks
    sorted by length, windows growing from `first_window` to `window`."""
    batches: list[list[tuple[str, str]]] = []
    start, size = 0, first_window
    while start < len(pending):
        chunk = sorted(pending[start:start + size], key=lambda item: len(item[1]))
        batches += [chunk[i:i + EMBED_BATCH] for i in range(0, len(chunk), EMBED_BATCH)]
        start, size = start + size, min(window, size * 2)
    return batches


class Indexer:
    """Brings a library's notes and vectors up to date with the folders on disk."""

    def __init__(self, conn: apsw.Connection, settings: Settings, embedder: Embedder | None,
                 control: Control | None = None, lease: EmbeddingLease | None = None) -> None:
        self.store = Store(conn)
        #: Held while embedding, so that one process embeds a library at a time (lease.py).
        self.lease = lease
        self.settings = settings
        self.embedder = embedder
        self.control = control or Control()
        self.count_tokens: Callable[[str], int] = estimate_tokens
        budget = int((embedder.max_tokens if embedder else 512) / ESTIMATE_HEADROOM)
        self.max_tokens = max(32, min(settings.chunk_tokens, budget))

    # -- reading notes ----------------------------------------------------------------------
    def scan_folder(self, folder_id: int, root: Path,
                    progress: ProgressCallback | None = None) -> IndexSummary:
        """Read new and changed notes under `root`, drop vanished ones; one transaction a note."""
        summary = IndexSummary()
        known = self.store.note_stats(folder_id)
        previously_skipped = self.store.skipped_paths(folder_id)
        seen: set[str] = set()
        if not root.is_dir():
            self.store.record_skip(str(root), folder_id, "folder not found or not a folder")
            summary.skipped.append((str(root), "folder not found or not a folder"))
            return summary
        found = list(discover(root, self._rules(root), NOTE_EXTENSIONS))
        meter = RateMeter("reading", len(found), progress)
        for done, item in enumerate(found, 1):
            # Checking every file cost 1 s of 6 on an unchanged 38k-note vault.
            if done % 32 == 0 and not self.control.checkpoint():
                summary.cancelled = True
                return summary
            if isinstance(item, Skipped):
                self._skip(summary, folder_id, str(item.path), item.reason)
                continue
            path = str(item)
            seen.add(path)
            outcome = self._index_file(folder_id, item, known.get(path), summary)
            if outcome:
                meter.update(done, path)
        gone = [known[p][0] for p in known.keys() - seen]
        if gone:
            self.store.delete_notes(gone)
            summary.removed += len(gone)
        stale_skips = previously_skipped - seen - {str(s[0]) for s in summary.skipped}
        self.store.clear_skips(stale_skips)
        meter.update(len(found), force=True)
        return summary

    def update_paths(self, folder_id: int, root: Path, paths: Iterable[Path]) -> IndexSummary:
        """Re-check specific files (from the watcher): index, update or remove each."""
        summary = IndexSummary()
        rules = self._rules(root)
        for path in paths:
            key = str(path)
            if has_undecodable_name(key):
                # One odd name must not cost the rest of the batch (a good note saved with it).
                if path.is_file() and not rules.is_ignored(path, is_dir=False):
                    self._skip(summary, folder_id, key, BAD_NAME_REASON)
                continue
            note_id = self.store.note_id(key)
            wanted = (path.suffix.lower() in NOTE_EXTENSIONS and path.is_file()
                      and not rules.is_ignored(path, is_dir=False))
            if not wanted:
                if note_id is not None:
                    self.store.delete_notes([note_id])
                    summary.removed += 1
                self.store.clear_skips([key])
                continue
            self._index_file(folder_id, path, self.store.file_state(key), summary)
        return summary

    def _rules(self, root: Path) -> IgnoreRules:
        return IgnoreRules(root, include=self.settings.include, exclude=self.settings.exclude)

    def _index_file(self, folder_id: int, path: Path, known: tuple | None,
                    summary: IndexSummary) -> bool:
        """Index one file if it changed; return True when it was read."""
        try:
            stat = os.stat(path)
        except OSError as error:
            self._skip(summary, folder_id, str(path), os_reason(error))
            return False
        if known and known[1] == stat.st_size and known[2] == stat.st_mtime_ns:
            summary.unchanged += 1
            return False
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        try:
            text, raw = read_note_text(path, max_bytes)
        except SkipFile as error:
            self._skip(summary, folder_id, str(path), str(error))
            if known:  # a note that became unreadable must not keep answering with old text
                self.store.delete_notes([known[0]])
            return True
        digest = content_hash(raw)
        if known and known[3] == digest:
            self.store.touch_note(known[0], stat.st_size, stat.st_mtime_ns)
            summary.unchanged += 1
            return True
        if self._write(folder_id, path, text, digest, stat):
            summary.empty += 1
        if known and known[1] == READ_AGAIN_SIZE:
            summary.reread += 1
        elif known:
            summary.updated += 1
        else:
            summary.added += 1
        return True

    def _write(self, folder_id: int, path: Path, text: str, digest: str,
               stat: os.stat_result) -> bool:
        """Store the note and its chunks; return True when it holds no words of its own."""
        parsed = parse_note(text, path.name, named_by_file=in_obsidian_vault(path))
        chunks = chunk_note(parsed, self.count_tokens, self.max_tokens)
        stored = []
        empty = not has_words(parsed.body)  # an empty file's one chunk is its title alone
        contexts = [chunk_context(parsed.title, chunk.heading_path) for chunk in chunks]
        lengths = [len(context) if chunk.text.startswith(context) else 0
                   for chunk, context in zip(chunks, contexts, strict=True)]
        alone = headings_alone([(chunk.text, n) for chunk, n in zip(chunks, lengths, strict=True)])
        for chunk, context_len, headings_only in zip(chunks, lengths, alone, strict=True):
            unembedded = empty or headings_only
            stored.append(StoredChunk(chunk.seq, " › ".join(chunk.heading_path),
                                      chunk.start_line, chunk.end_line, context_len,
                                      chunk.text,
                                      NO_VECTOR if unembedded
                                      else vector_key(chunk.text, context_len)))
        fields = NoteFields(headings=" ".join(h.text for h in parsed.headings),
                            description=parsed.description, body=parsed.body)
        record = NoteRecord(folder_id, str(path), parsed.title, stat.st_size, stat.st_mtime_ns,
                            digest, parsed.tags, parsed.links, parsed.aliases, parsed.private,
                            fields, parsed.summary)
        self.store.write_note(record, stored)
        return empty

    def _skip(self, summary: IndexSummary, folder_id: int, path: str, reason: str) -> None:
        path = display_path(path)
        log.info("skipped %s: %s", path, reason)
        summary.skipped.append((path, reason))
        self.store.record_skip(path, folder_id, reason)

    # -- embedding --------------------------------------------------------------------------
    def embed_pending(self, progress: ProgressCallback | None = None,
                      wait: bool = True) -> IndexSummary:
        """Embed every chunk without a vector in the embedder's space, in batches; resumable.

        While another process embeds the library (it holds the lease), wait for it, reporting
        its progress, and then embed what it left; with `wait` False, leave the chunks to it
        (summary.embedding_elsewhere names it)."""
        summary = IndexSummary()
        if self.embedder is None:
            return summary
        lease = self.lease
        if lease is None:
            return self._embed_pending(summary, progress)
        if not lease.acquire() and not self._wait_for(lease, summary, progress, wait):
            return summary
        for _ in range(LEASE_ROUNDS):
            try:
                self._embed_pending(summary, progress)
            finally:
                lease.release()
            # A watcher that found the lease taken left its note's passages to this run: if
            # they came after its last look, they would wait for the next save or rescan.
            if (summary.cancelled or summary.embedding_error or not self._anything_pending()
                    or not lease.acquire()):
                break
        return summary

    def _anything_pending(self) -> bool:
        assert self.embedder is not None
        space = self.store.space_of(self.embedder.model_id)
        return bool(space and self.store.count_pending(space.id,
                                                       may_see_private_notes(self.embedder)))

    def _wait_for(self, lease: EmbeddingLease, summary: IndexSummary,
                  progress: ProgressCallback | None, wait: bool) -> bool:
        """Wait until `lease` is ours, reporting the other process's progress; False when
        cancelled or told not to wait."""
        assert self.embedder is not None
        include_private = may_see_private_notes(self.embedder)
        space = self.store.space_of(self.embedder.model_id)
        space_id = space.id if space else -1
        pending_at_start = self.store.count_pending(space_id, include_private)
        told = False
        while True:
            holder = lease.holder()
            if holder is None and lease.acquire():
                if told and progress is not None:  # the wait's last line: where it ended
                    pending = self.store.count_pending(space_id, include_private)
                    total = max(pending_at_start, pending)
                    progress(Progress("embedding", total - pending, total,
                                      detail=f"by {summary.embedding_elsewhere}; it stopped"))
                return True
            summary.embedding_elsewhere = holder.describe() if holder else None
            pending = self.store.count_pending(space_id, include_private)
            summary.pending_chunks = pending
            if not wait:
                return False
            if not told:
                log.info("waiting for %s, which embeds this library", summary.embedding_elsewhere)
                told = True
            if progress is not None:
                total = max(pending_at_start, pending)
                progress(Progress("embedding", total - pending, total,
                                  detail=f"by {summary.embedding_elsewhere}; waiting for it"))
            if not self.control.checkpoint():
                summary.cancelled = True
                return False
            time.sleep(LEASE_POLL_SECONDS)

    def _embed_pending(self, summary: IndexSummary,
                       progress: ProgressCallback | None) -> IndexSummary:
        assert self.embedder is not None
        include_private = may_see_private_notes(self.embedder)
        try:
            dim = self.embedder.dim  # a remote model of unknown size is probed here
        except EmbedderError as error:
            summary.embedding_error, summary.embedding_error_kind = str(error), error.kind
            known = self.store.space_of(self.embedder.model_id)
            summary.pending_chunks = self.store.count_pending(known.id if known else -1,
                                                              include_private)
            return summary
        space = self.store.space_for(self.embedder.model_id, dim)
        while True:
            pending = self.store.pending_chunks(space.id, include_private, limit=1_000_000)
            if not pending:
                break
            costs = {digest: embedding_cost(text) for digest, text in pending}
            notes = NotesWaiting(self.store.pending_note_chunks(space.id, include_private))
            meter = RateMeter("embedding", notes.passages, progress,
                              work_total=sum(costs.values()))
            meter.update(0, force=True, work_done=0.0, notes=notes.counts())
            if not self._embed_all(space.id, pending, meter, summary, costs, notes):
                break
        summary.pending_chunks = self.store.count_pending(space.id, include_private)
        if summary.pending_chunks == 0 and space.state == "building" and not summary.cancelled:
            self.store.activate_space(space.id)
        return summary

    def _embed_all(self, space_id: int, pending: list[tuple[str, str]], meter: RateMeter,
                   summary: IndexSummary, costs: dict[str, float], notes: NotesWaiting) -> bool:
        """Embed `pending`; return False when stopped (cancelled or provider failure)."""
        assert self.embedder is not None  # the caller returns early without one
        work = 0.0
        for batch in embedding_batches(pending):
            if not self.control.checkpoint():
                summary.cancelled = True
                return False
            started = time.perf_counter()
            try:
                vectors = self.embedder.embed_documents([self._readable(text)
                                                         for _, text in batch])
            except EmbedderError as error:
                summary.embedding_error, summary.embedding_error_kind = str(error), error.kind
                return False
            summary.model_seconds += time.perf_counter() - started
            self.store.add_embeddings(space_id, [h for h, _ in batch], vectors,
                                      [text for _, text in batch])
            work += sum(costs[digest] for digest, _ in batch)
            notes.embedded(digest for digest, _ in batch)
            summary.chunks_embedded += len(batch)
            meter.update(notes.passages_done, work_done=work, notes=notes.counts())
        return True

    def _readable(self, text: str) -> str:
        """What the model is given for a chunk: its words (embedding_text), cut to the model's
        window by the model's own count (chunks are cut by an estimate; see tokens.py)."""
        assert self.embedder is not None
        return fit_to_window(embedding_text(text), self.embedder.count_tokens,
                             self.embedder.max_tokens)

    def finish(self) -> None:
        """Drop vectors that no chunk uses any more (after renames, edits and deletions)."""
        self.store.drop_orphan_embeddings()

