"""All SQL of the library in one place: folders, notes, chunks, keyword index, vector spaces."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import apsw
import numpy as np

from notesearch.core.lexicon import language_group
from notesearch.core.migrations import vec_table
from notesearch.core.prose import keyword_body, keyword_text
from notesearch.core.text import (
    SCRIPT_OTHER,
    fts_names,
    fts_text,
    fts_title,
    normalise,
)


@dataclass(frozen=True)
class NoteFields:
    """What the note-level keyword index (notes_fts) holds for a note besides its title."""

    headings: str = ""
    description: str = ""
    body: str = ""


#: The vector key of a chunk that is not embedded (no words of its own; see vector_key).
NO_VECTOR = ""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as it goes into the database."""

    seq: int
    heading: str
    start_line: int
    end_line: int
    context_len: int
    text: str
    hash: str


@dataclass(frozen=True)
class PassageRow:
    """A chunk with its note's path, title and privacy, as a cited passage needs it."""

    chunk_id: int
    note_id: int
    path: str
    title: str
    heading: str
    start_line: int
    end_line: int
    #: Characters at the start of `text` that are context (title › headings), not file text.
    context_len: int
    text: str
    hash: str
    private: bool


@dataclass(frozen=True)
class NoteRecord:
    """A note's row, as the indexer writes it."""

    folder_id: int
    path: str
    title: str
    size: int
    mtime_ns: int
    content_hash: str
    tags: Sequence[str]
    links: Sequence[str]
    aliases: Sequence[str]
    private: bool
    fields: NoteFields = NoteFields()
    #: Its description-like property alone (markdown.ParsedNote.summary), for excerpts.
    summary: str = ""


#: Ages (seconds since last modified) that set a note's embedding tier: edited within a week,
#: a month, a year, or older.
RECENCY_TIERS = (7 * 86400, 30 * 86400, 365 * 86400)


def embedding_priority_sql(now: float) -> str:
    """SQL (over notes `n` and chunk counts `s.n`) ranking a note for embedding, lower first.

    The notes a person will search first, first: recently modified notes before old ones (by
    RECENCY_TIERS), and within a tier short notes before long ones, so that the first minutes
    of a first index make the most notes searchable by meaning (shortest job first: a
    300-chunk changelog would hold up a hundred short notes). Measured with
    benchmarks/embed_order.py.
    """
    ages = " ".join(f"WHEN n.mtime_ns >= {int((now - age) * 1e9)} THEN {tier}"
                    for tier, age in enumerate(RECENCY_TIERS))
    return f"(CASE {ages} ELSE {len(RECENCY_TIERS)} END) * 1000000000 + s.n"


def _private_filter(include_private: bool) -> str:
    """SQL (over notes `n`) leaving out private notes unless the provider may see them."""
    return "" if include_private else "AND n.private = 0"


def one_row(cursor: apsw.Cursor) -> Any:
    """Return the row a query always yields (an aggregate, a PRAGMA, a row just written)."""
    row = cursor.fetchone()
    assert row is not None, "the query returned no row"
    return row


#: How long a vector no chunk uses is kept, in case its text comes back (a move, an undo).
ORPHAN_GRACE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Space:
    """A vector space: one embedding model and dimension."""

    id: int
    model_id: str
    dim: int
    state: str


class Store:
    """Data access over one apsw connection; each public write is one transaction."""

    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def file_state(self, path: str) -> tuple[int, int, int, str] | None:
        """Return (note id, size, mtime in ns, content hash) of the note at `path`, or None."""
        row = self.conn.execute(
            "SELECT id, size, mtime_ns, content_hash FROM notes WHERE path = ?",
            (path,)).fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None

    def notes_per_folder(self) -> list[tuple[str, int]]:
        """Return (folder path, notes in it) for every library folder, in the order added."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT f.path, COUNT(n.id) FROM folders f LEFT JOIN notes n ON n.folder_id = f.id "
            "GROUP BY f.id ORDER BY f.id")]

    def tag_counts(self, limit: int = 500) -> list[tuple[str, int]]:
        """Return (tag, notes carrying it or one of its children) for the most used tags,
        most used first: the notes the tag filter leaves ("#work" includes "#work/atlas";
        the menu said "#待办 (5)" where choosing it listed 12)."""
        holders: dict[str, set[int]] = {}
        for tag, note_id in self.conn.execute("SELECT tag, note_id FROM note_tags"):
            holders.setdefault(tag, set()).add(note_id)
            parts = tag.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if parent:
                    holders.setdefault(parent, set()).add(note_id)
        counted = [(tag, len(notes)) for tag, notes in holders.items()]
        return sorted(counted, key=lambda item: (-item[1], item[0]))[:limit]

    def note_titles(self) -> list[tuple[int, str, str]]:
        """Return (note id, path, title) of every note."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT id, path, title FROM notes")]

    def private_note_ids(self) -> set[int]:
        """Return the ids of the notes marked private (or whose front matter could not be
        read but mentions it), as the indexer recorded them."""
        return {r[0] for r in self.conn.execute("SELECT id FROM notes WHERE private != 0")}

    def bump(self, key: str) -> None:
        """Increase a change counter, so readers in other threads/processes know to reload."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1", (key,))

    # -- folders ----------------------------------------------------------------------------
    def add_folder(self, path: str) -> int:
        """Return the folder's id, adding it if new."""
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)",
                              (path, time.time()))
            folder_id: int = one_row(
                self.conn.execute("SELECT id FROM folders WHERE path = ?", (path,)))[0]
        return folder_id

    def folders(self) -> list[tuple[int, str]]:
        """Return (id, absolute path) of every folder in the library."""
        return list(self.conn.execute("SELECT id, path FROM folders ORDER BY path"))

    def remove_folder(self, folder_id: int) -> int:
        """Forget a folder and its notes; return how many notes left the index."""
        with self.conn:
            ids = [r[0] for r in self.conn.execute(
                "SELECT id FROM notes WHERE folder_id = ?", (folder_id,))]
            for note_id in ids:
                self._delete_note(note_id)
            self.conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
            self.bump("notes_gen")  # searchers' facts about the notes are stale now
        return len(ids)

    # -- notes ------------------------------------------------------------------------------
    def note_stats(self, folder_id: int) -> dict[str, tuple[int, int, int, str]]:
        """Return path -> (note id, size, mtime_ns, content hash) for a folder's notes."""
        return {path: (nid, size, mtime, digest) for nid, path, size, mtime, digest in
                self.conn.execute("SELECT id, path, size, mtime_ns, content_hash FROM notes "
                                  "WHERE folder_id = ?", (folder_id,))}

    def note_id(self, path: str) -> int | None:
        row = self.conn.execute("SELECT id FROM notes WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def touch_note(self, note_id: int, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime for a note whose content did not change."""
        self.conn.execute("UPDATE notes SET size = ?, mtime_ns = ? WHERE id = ?",
                          (size, mtime_ns, note_id))

    def write_note(self, note: NoteRecord, chunks: Sequence[StoredChunk]) -> int:
        """Insert or replace a note with its chunks and keyword index in one transaction."""
        with self.conn:
            old = self.note_id(note.path)
            if old is not None:
                self._delete_note(old)
            self.conn.execute(
                "INSERT INTO notes(folder_id, path, title, size, mtime_ns, content_hash, tags, "
                "links, aliases, private, indexed_at, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (note.folder_id, note.path, note.title, note.size, note.mtime_ns,
                 note.content_hash, json.dumps(list(note.tags), ensure_ascii=False),
                 json.dumps(list(note.links), ensure_ascii=False),
                 json.dumps(list(note.aliases), ensure_ascii=False), int(note.private),
                 time.time(), note.summary))
            note_id = self.conn.last_insert_rowid()
            self.conn.executemany("INSERT OR IGNORE INTO note_tags(note_id, tag) VALUES (?, ?)",
                                  [(note_id, normalise(t)) for t in note.tags])
            title_field = fts_title(note.title, note.aliases)
            for position, chunk in enumerate(chunks):
                self.conn.execute(
                    "INSERT INTO chunks(note_id, seq, heading, start_line, end_line, context_len, "
                    "text, hash) VALUES (?,?,?,?,?,?,?,?)",
                    (note_id, chunk.seq, chunk.heading, chunk.start_line, chunk.end_line,
                     chunk.context_len, chunk.text, chunk.hash))
                self.conn.execute("INSERT INTO chunks_fts(rowid, title, body) VALUES (?, ?, ?)",
                                  (self.conn.last_insert_rowid(),
                                   title_field if position == 0 else "",
                                   keyword_body(chunk.text, chunk.context_len)))
            self.conn.execute(
                "INSERT INTO notes_fts(rowid, title, names, headings, description, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (note_id, title_field, fts_names(note.path), fts_text(note.fields.headings),
                 fts_text(note.fields.description), keyword_text(note.fields.body)))
            self.conn.execute("DELETE FROM skipped WHERE path = ?", (note.path,))
            self.bump("notes_gen")
        return note_id

    def delete_notes(self, note_ids: Iterable[int]) -> None:
        """Remove notes (and their chunks and keyword entries) in one transaction."""
        with self.conn:
            for note_id in note_ids:
                self._delete_note(note_id)
            self.bump("notes_gen")

    def _delete_note(self, note_id: int) -> None:
        self.conn.execute("DELETE FROM chunks_fts WHERE rowid IN "
                          "(SELECT id FROM chunks WHERE note_id = ?)", (note_id,))
        self.conn.execute("DELETE FROM notes_fts WHERE rowid = ?", (note_id,))
        self.conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))

    # -- skipped files ----------------------------------------------------------------------
    def record_skip(self, path: str, folder_id: int | None, reason: str) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO skipped(path, folder_id, reason, at) "
                              "VALUES (?, ?, ?, ?)", (path, folder_id, reason, time.time()))

    def clear_skips(self, paths: Iterable[str]) -> None:
        with self.conn:
            self.conn.executemany("DELETE FROM skipped WHERE path = ?", [(p,) for p in paths])

    def skipped(self) -> list[tuple[str, str]]:
        """Return (path, reason) of every file that could not be indexed."""
        return list(self.conn.execute("SELECT path, reason FROM skipped ORDER BY path"))

    def skipped_paths(self, folder_id: int) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT path FROM skipped WHERE folder_id = ?", (folder_id,))}

    # -- vector spaces ----------------------------------------------------------------------
    def spaces(self) -> list[Space]:
        return [Space(*row) for row in self.conn.execute(
            "SELECT id, model_id, dim, state FROM spaces ORDER BY id")]

    def space_of(self, model_id: str) -> Space | None:
        """Return the newest space of this model (of any vector size), if any."""
        row = self.conn.execute("SELECT id, model_id, dim, state FROM spaces WHERE model_id = ? "
                                "ORDER BY id DESC LIMIT 1", (model_id,)).fetchone()
        return Space(*row) if row else None

    def space_for(self, model_id: str, dim: int) -> Space:
        """Return the space of this model and vector size, creating it ('building' beside the
        active one, or 'active' if it is the first). A model whose size changed (a server
        now answering with other vectors) is a new space: the old one keeps answering until
        the new one is complete, and is used again, whole, if the size changes back."""
        with self.conn:
            row = self.conn.execute("SELECT id, model_id, dim, state FROM spaces "
                                    "WHERE model_id = ? AND dim = ?", (model_id, dim)).fetchone()
            if row:
                return Space(*row)
            has_active = self.conn.execute(
                "SELECT 1 FROM spaces WHERE state = 'active'").fetchone()
            state = "building" if has_active else "active"
            self.conn.execute("INSERT INTO spaces(model_id, dim, state, created_at) "
                              "VALUES (?, ?, ?, ?)", (model_id, dim, state, time.time()))
            space_id = self.conn.last_insert_rowid()
            self.conn.execute(f"CREATE VIRTUAL TABLE {vec_table(space_id)} USING vec0("
                              f"embedding float[{int(dim)}] distance_metric=cosine)")
            space = Space(space_id, model_id, dim, state)
        return space

    def active_space(self) -> Space | None:
        row = self.conn.execute("SELECT id, model_id, dim, state FROM spaces "
                                "WHERE state = 'active'").fetchone()
        return Space(*row) if row else None

    def activate_space(self, space_id: int) -> None:
        """Make a completed space the one that answers, dropping every other."""
        with self.conn:
            for space in self.spaces():
                if space.id != space_id:
                    self.drop_space(space.id)
            self.conn.execute("UPDATE spaces SET state = 'active' WHERE id = ?", (space_id,))
            self.bump("vectors_gen")

    def drop_space(self, space_id: int) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS {vec_table(space_id)}")
        self.conn.execute("DELETE FROM spaces WHERE id = ?", (space_id,))
        self.bump("vectors_gen")

    # -- embeddings -------------------------------------------------------------------------
    def pending_chunks(self, space_id: int, include_private: bool, limit: int,
                       now: float | None = None) -> list[tuple[str, str]]:
        """Return up to `limit` distinct (hash, text) chunks that have no vector in the space,
        in the order they should be embedded: the notes a person is likeliest to search
        first, each note's chunks together (see `embedding_priority_sql`)."""
        private_filter = _private_filter(include_private)
        priority = embedding_priority_sql(time.time() if now is None else now)
        return list(self.conn.execute(
            f"""WITH sizes AS (SELECT note_id, COUNT(*) AS n FROM chunks WHERE hash != ''
                               GROUP BY note_id)
                SELECT c.hash, MIN(c.text) FROM chunks c JOIN notes n ON n.id = c.note_id
                JOIN sizes s ON s.note_id = c.note_id
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                                  WHERE e.space_id = ? AND e.hash = c.hash) {private_filter}
                AND c.hash != '' GROUP BY c.hash ORDER BY MIN({priority}), MIN(c.id)
                LIMIT ?""", (space_id, limit)))

    def pending_note_chunks(self, space_id: int, include_private: bool) -> list[tuple[int, str]]:
        """Return (note id, chunk hash) of every chunk with no vector in the space yet."""
        return [(r[0], r[1]) for r in self.conn.execute(
            f"""SELECT c.note_id, c.hash FROM chunks c JOIN notes n ON n.id = c.note_id
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                                  WHERE e.space_id = ? AND e.hash = c.hash)
                {_private_filter(include_private)} AND c.hash != ''""", (space_id,))]

    def count_notes_pending(self, space_id: int, include_private: bool) -> int:
        """Return how many notes have a chunk with no vector in the space yet."""
        return one_row(self.conn.execute(
            f"""SELECT COUNT(DISTINCT c.note_id) FROM chunks c JOIN notes n ON n.id = c.note_id
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                                  WHERE e.space_id = ? AND e.hash = c.hash)
                {_private_filter(include_private)} AND c.hash != ''""",
            (space_id,)))[0]

    def count_pending(self, space_id: int, include_private: bool) -> int:
        """Return how many passages (chunks) still wait for a vector in the space; passages
        with the same text share one, so fewer texts than this are embedded."""
        private_filter = _private_filter(include_private)
        return one_row(self.conn.execute(
            f"""SELECT COUNT(*) FROM chunks c JOIN notes n ON n.id = c.note_id
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                                  WHERE e.space_id = ? AND e.hash = c.hash) {private_filter}
                AND c.hash != ''""",
            (space_id,)))[0]

    def add_embeddings(self, space_id: int, hashes: Sequence[str], vectors: np.ndarray,
                       texts: Sequence[str] | None = None) -> None:
        """Store one batch of vectors in one transaction: (n,) passage hashes, (n, dim)
        vectors and the (n,) passages' texts, whose language group (lexicon.language_group)
        is kept with each vector (SCRIPT_OTHER for all when `texts` is None)."""
        table = vec_table(space_id)
        scripts = ([language_group(t) for t in texts] if texts is not None
                   else [SCRIPT_OTHER] * len(hashes))
        with self.conn:
            for digest, vector, script in zip(hashes, vectors, scripts, strict=True):
                self.conn.execute("INSERT OR IGNORE INTO embeddings(space_id, hash, script) "
                                  "VALUES (?, ?, ?)", (space_id, digest, script))
                if self.conn.changes():
                    self.conn.execute(f"INSERT INTO {table}(rowid, embedding) VALUES (?, ?)",
                                      (self.conn.last_insert_rowid(),
                                       np.asarray(vector, np.float32).tobytes()))

    def drop_orphan_embeddings(self, grace_seconds: float = ORPHAN_GRACE_SECONDS) -> int:
        """Delete vectors no chunk has used for `grace_seconds`; return how many went.

        A vector whose chunks all went is only marked (table `orphans`), and unmarked if a
        chunk with its text comes back: moving a folder of 2,000 notes out and back 3 s later
        re-embedded 3,116 chunks when orphans were deleted at once.
        """
        now = time.time()
        removed = 0
        with self.conn:
            orphans = {r[0] for r in self.conn.execute(
                "SELECT e.id FROM embeddings e WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.hash = e.hash)")}
            marked = {r[0] for r in self.conn.execute("SELECT embedding_id FROM orphans")}
            self.conn.executemany("DELETE FROM orphans WHERE embedding_id = ?",
                                  [(i,) for i in marked - orphans])
            self.conn.executemany("INSERT INTO orphans(embedding_id, since) VALUES (?, ?)",
                                  [(i, now) for i in orphans - marked])
            expired = cast(list[tuple[int, int]], self.conn.execute(
                "SELECT e.id, e.space_id FROM orphans o JOIN embeddings e ON e.id = o.embedding_id "
                "WHERE o.since <= ?", (now - grace_seconds,)).fetchall())
            for emb_id, space_id in expired:
                self.conn.execute(f"DELETE FROM {vec_table(space_id)} WHERE rowid = ?", (emb_id,))
                self.conn.execute("DELETE FROM embeddings WHERE id = ?", (emb_id,))
            removed = len(expired)
            if removed:
                self.bump("vectors_gen")
        return removed

    # -- passages ---------------------------------------------------------------------------
    def passages_of(self, note_ids: Sequence[int]) -> list[PassageRow]:
        """Return every chunk of the given notes with what a cited passage shows, in note
        order then file order."""
        if not note_ids:
            return []
        marks = ",".join("?" * len(note_ids))
        rows = self.conn.execute(
            f"""SELECT c.id, c.note_id, n.path, n.title, c.heading, c.start_line, c.end_line,
                       c.context_len, c.text, c.hash, n.private
                FROM chunks c JOIN notes n ON n.id = c.note_id
                WHERE c.note_id IN ({marks}) ORDER BY c.note_id, c.seq""", list(note_ids))
        return [PassageRow(cid, nid, path, title, heading, start, end, context_len, text, hash_,
                           bool(private))
                for cid, nid, path, title, heading, start, end, context_len, text, hash_, private
                in rows]

    def embedding_ids(self, space_id: int, hashes: Sequence[str]) -> dict[str, int]:
        """Return chunk hash -> embedding id in the space, for the hashes that have one."""
        wanted = sorted({h for h in hashes if h})
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return dict(self.conn.execute(
            f"SELECT hash, id FROM embeddings WHERE space_id = ? AND hash IN ({marks})",
            [space_id, *wanted]))

    # -- counts -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Return numbers of folders, notes, chunks and skipped files."""
        one = self.conn.execute
        return {
            "folders": one_row(one("SELECT COUNT(*) FROM folders"))[0],
            "notes": one_row(one("SELECT COUNT(*) FROM notes"))[0],
            "chunks": one_row(one("SELECT COUNT(*) FROM chunks"))[0],
            "skipped": one_row(one("SELECT COUNT(*) FROM skipped"))[0],
        }
