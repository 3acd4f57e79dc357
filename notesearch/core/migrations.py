"""Schema migrations, applied in order; the database records which it has had."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

import apsw


def _v1(conn: apsw.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            links TEXT NOT NULL DEFAULT '[]',
            aliases TEXT NOT NULL DEFAULT '[]',
            private INTEGER NOT NULL DEFAULT 0,
            indexed_at REAL NOT NULL
        );
        CREATE INDEX notes_folder ON notes(folder_id);
        CREATE TABLE note_tags (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (tag, note_id)
        ) WITHOUT ROWID;
        CREATE INDEX note_tags_note ON note_tags(note_id);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            heading TEXT NOT NULL,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            -- Characters at the start of `text` that are context (title › headings), not file text.
            context_len INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX chunks_note ON chunks(note_id);
        CREATE INDEX chunks_hash ON chunks(hash);
        -- Contentless: chunk text already lives in `chunks`; the indexed form is CJK-bigrammed.
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            title, body,
            tokenize = 'unicode61 remove_diacritics 2',
            content = '', contentless_delete = 1
        );
        CREATE TABLE skipped (
            path TEXT PRIMARY KEY,
            folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            at REAL NOT NULL
        );
        -- One row per vector space (model id + dimension); vectors live in vec_<id> tables.
        CREATE TABLE spaces (
            id INTEGER PRIMARY KEY,
            model_id TEXT NOT NULL UNIQUE,
            dim INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
            created_at REAL NOT NULL
        );
        -- Vectors are keyed by chunk content hash: a rename or move re-embeds nothing.
        CREATE TABLE embeddings (
            id INTEGER PRIMARY KEY,
            space_id INTEGER NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            UNIQUE (space_id, hash)
        );
        CREATE INDEX embeddings_hash ON embeddings(hash);
        """
    )


#: The size a schema step gives a note so that the next index reads it again (size and
#: modification time then never match, and the content hash is cleared so that the note is
#: written anew); indexer.Indexer counts such notes as read again, not as changed.
READ_AGAIN_SIZE = -1


def _v2(conn: apsw.Connection) -> None:
    """Rebuild the keyword index: no heading paths in bodies, titles on first chunks only."""
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')")
    _fill_keyword_index(conn)


def _v3(conn: apsw.Connection) -> None:
    """Recreate the keyword index with Porter stemming (see text.FTS_TOKENIZER) and refill it."""
    conn.execute("DROP TABLE chunks_fts")
    _create_chunk_index(conn)
    _fill_keyword_index(conn)


def _create_chunk_index(conn: apsw.Connection) -> None:
    """Create the passages' keyword index with the tokenizer of today (text.FTS_TOKENIZER)."""
    from notesearch.core.text import FTS_TOKENIZE_OPTION, register_tokenizer

    register_tokenizer(conn)  # (db.connect's connections have it; a bare one may not)
    conn.execute(f"CREATE VIRTUAL TABLE chunks_fts USING fts5(title, body, "
                 f'tokenize = "{FTS_TOKENIZE_OPTION}", content = \'\', contentless_delete = 1)')


def _create_note_index(conn: apsw.Connection) -> None:
    """Create the notes' field-weighted keyword index with today's tokenizer."""
    from notesearch.core.text import FTS_TOKENIZE_OPTION, register_tokenizer

    register_tokenizer(conn)
    conn.execute(f"CREATE VIRTUAL TABLE notes_fts USING fts5(title, names, headings, "
                 f'description, body, tokenize = "{FTS_TOKENIZE_OPTION}", content = \'\', '
                 f"contentless_delete = 1)")


def _fill_keyword_index(conn: apsw.Connection, only: list[int] | None = None) -> None:
    """Index every chunk's keyword text (titles on a note's first chunk only); with `only`,
    the chunks of those notes."""
    import json

    from notesearch.core.prose import keyword_body
    from notesearch.core.text import fts_title

    rows = cast(list[tuple[int, str, int, str, str, int]], conn.execute(
        "SELECT c.id, c.text, c.context_len, n.title, n.aliases, "
        "c.id = (SELECT MIN(id) FROM chunks WHERE note_id = c.note_id) "
        "FROM chunks c JOIN notes n ON n.id = c.note_id"
        + ("" if only is None else f" WHERE c.note_id IN ({','.join('?' * len(only))})"),
        only or []).fetchall())
    conn.executemany("INSERT INTO chunks_fts(rowid, title, body) VALUES (?, ?, ?)",
                     [(chunk_id, fts_title(title, json.loads(aliases)) if first else "",
                       keyword_body(text, length))
                      for chunk_id, text, length, title, aliases, first in rows])


def _v4(conn: apsw.Connection) -> None:
    """Add the note-level keyword index (title, file name, headings, description, whole text).

    It is filled at once from what the database holds (titles, paths, chunk headings and
    texts), and every note is marked for re-reading so that the next scan writes it exactly
    (descriptions come from front matter). Chunks that read the same keep their vectors.
    """
    conn.execute("DROP TABLE IF EXISTS notes_fts")
    _create_note_index(conn)
    _fill_note_index(conn)
    # Both the quick (size, mtime) check and the content hash must fail for a re-read.
    conn.execute("UPDATE notes SET content_hash = '', mtime_ns = 0")


def _fill_note_index(conn: apsw.Connection, only: list[int] | None = None) -> None:
    """Index every note's fields but its description (not kept in the database: the note is
    to be read again); with `only`, those notes."""
    import json

    from notesearch.core.prose import keyword_text
    from notesearch.core.text import fts_names, fts_text, fts_title

    notes = cast(list[tuple[int, str, str, str]], conn.execute(
        "SELECT id, path, title, aliases FROM notes"
        + ("" if only is None else f" WHERE id IN ({','.join('?' * len(only))})"),
        only or []).fetchall())
    for note_id, path, title, aliases in notes:
        chunks = cast(list[tuple[str, str]], conn.execute(
            "SELECT heading, substr(text, context_len + 1) FROM chunks "
            "WHERE note_id = ? ORDER BY seq", (note_id,)).fetchall())
        headings = " ".join(dict.fromkeys(h.replace(" › ", " ") for h, _ in chunks if h))
        body = "\n".join(text for _, text in chunks)
        conn.execute("INSERT INTO notes_fts(rowid, title, names, headings, description, body) "
                     "VALUES (?, ?, ?, ?, '', ?)",
                     (note_id, fts_title(title, json.loads(aliases)), fts_names(path),
                      fts_text(headings), keyword_text(body)))


def _v5(conn: apsw.Connection) -> None:
    """Store tags for filtering normalised as words are (NFKC, full case folding): "#Café"
    written decomposed by macOS and "tag:CAFÉ" typed composed are one tag."""
    from notesearch.core.text import normalise

    rows = cast(list[tuple[int, str]],
                conn.execute("SELECT note_id, tag FROM note_tags").fetchall())
    conn.execute("DELETE FROM note_tags")
    conn.executemany("INSERT OR IGNORE INTO note_tags(note_id, tag) VALUES (?, ?)",
                     [(note_id, normalise(tag)) for note_id, tag in rows])


def _v6(conn: apsw.Connection) -> None:
    """A vector space is a model *and* a size: a server that starts answering with another
    vector size gets a new space beside the old one (which keeps answering), instead of the
    old one being dropped. Rebuilt with foreign keys off (see migrate), ids kept."""
    conn.execute("""
        CREATE TABLE spaces_new (
            id INTEGER PRIMARY KEY,
            model_id TEXT NOT NULL,
            dim INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
            created_at REAL NOT NULL,
            UNIQUE (model_id, dim)
        )""")
    conn.execute("INSERT INTO spaces_new SELECT id, model_id, dim, state, created_at FROM spaces")
    conn.execute("DROP TABLE spaces")
    conn.execute("ALTER TABLE spaces_new RENAME TO spaces")


def _v7(conn: apsw.Connection) -> None:
    """Remember since when a vector has had no chunk, so that it is kept for a grace period
    (a folder moved out and back, a branch switch, an undo re-embed nothing)."""
    conn.execute("""
        CREATE TABLE IF NOT EXISTS orphans (
            embedding_id INTEGER PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE,
            since REAL NOT NULL
        )""")


def _v8(conn: apsw.Connection) -> None:
    """Have the next index read again the notes whose chunks hold HTML tags with URLs: the
    text the model reads of them kept '<a href="' and '" title="…">' (prose.embedding_text
    removed URLs before tags, and a URL took its tag's ">"). Their size, mtime and content
    hash are cleared, so the next scan rewrites them and their passages get vectors of their
    prose; nothing else changes until then, and passages whose text is unchanged keep theirs."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' WHERE id IN "
                 "(SELECT note_id FROM chunks WHERE text LIKE '%<%' AND text LIKE '%://%')")


#: Changes kept in note_changes: a searcher whose cached postings are older than the oldest
#: kept change reads them again (keywords.PhrasePostings).
NOTE_CHANGES_KEPT = 20_000


def _v9(conn: apsw.Connection) -> None:
    """Log which notes are written or removed, in commit order, so that a searcher's cached
    keyword postings can be brought up to date by reading only those notes (keywords.py).

    Triggers on the notes table catch every writer (the app, the indexing process, the CLI)
    and removals by folder cascade; the log keeps the last NOTE_CHANGES_KEPT entries."""
    conn.execute("CREATE TABLE IF NOT EXISTS note_changes (seq INTEGER PRIMARY KEY, "
                 "note_id INTEGER NOT NULL)")
    for event, row in (("INSERT", "new"), ("DELETE", "old")):
        conn.execute(f"""
            CREATE TRIGGER IF NOT EXISTS notes_{event.lower()}_logged AFTER {event} ON notes
            BEGIN
                INSERT INTO note_changes(note_id) VALUES ({row}.id);
                DELETE FROM note_changes WHERE seq <= last_insert_rowid() - {NOTE_CHANGES_KEPT};
            END""")


def _v10(conn: apsw.Connection) -> None:
    """Have the next index read again the notes a heading may have wrongly titled: those with
    a heading inside a list item ("- # Usage", a Logseq heading block) or with Logseq
    properties ("key:: value"), whose "# Usage" titled the page where now the file name
    does (markdown._choose_title); and those whose "[#A]" (a Logseq priority) or "#/route"
    was taken for a tag; and those holding a JSON dump ('{"' or '[{') or a DB Folder
    plugin's settings (yaml:dbfolder), now data (prose.blank_data). As in _v8, passages
    whose text is unchanged keep their vectors."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' WHERE id IN "
                 "(SELECT note_id FROM chunks WHERE text LIKE '%::%' OR text LIKE '%- # %' "
                 "OR text LIKE '%* # %' OR text LIKE '%+ # %' OR text LIKE '%[#%' "
                 "OR text LIKE '%#/%' OR text LIKE '%{\"%' OR text LIKE '%[{%' "
                 "OR text LIKE '%yaml:dbfolder%')")


def _v11(conn: apsw.Connection) -> None:
    """Have the next index read again every note titled other than by its file name: a
    heading now titles a note only when it opens it, and none in an Obsidian vault
    (markdown._choose_title). Notes titled by their names keep them. As in _v8, passages
    whose text is unchanged keep their vectors."""
    from notesearch.core.markdown import name_title  # (a function, not schema: read here)

    stale = [(note_id,) for note_id, path, title in conn.execute(
        "SELECT id, path, title FROM notes") if title != name_title(path)]
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", stale)


def _v12(conn: apsw.Connection) -> None:
    """Have the next index read every note again: the words of a note's properties other
    than its title, aliases, tags and description are now searched with its description
    (markdown._property_words), and an Excalidraw drawing's banner, section headings and
    embedded-file lines are no longer text, the drawing titled by its file name
    (prose.blank_data). As in _v8, passages whose text is unchanged keep their vectors."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = ''")


def _v13(conn: apsw.Connection) -> None:
    """A note's description-like property (`desc:`, `description:`, ...) is kept for its
    excerpt (a note found through it showed a passage without the words: "image Comment:
    ---" for 699 film notes imported from Douban), filled as the next index reads every
    note again (as in _v12, unchanged passages keep their vectors)."""
    conn.execute("ALTER TABLE notes ADD COLUMN summary TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = ''")


def _v14(conn: apsw.Connection) -> None:
    """Have the next index read again the notes with a plugin's comment block ("%%
    kanban:settings", whose JSON is now data: prose.blank_data) or a caret (a block id glued
    to Chinese text, "…”。^3-2146-2261", now bookkeeping: prose._BLOCK_ID). As in _v8,
    passages whose text is unchanged keep their vectors."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' WHERE id IN "
                 "(SELECT note_id FROM chunks WHERE instr(text, '%%') OR instr(text, '^'))")


def _v15(conn: apsw.Connection) -> None:
    """Keep each vector's script group (text.script_group of its passage): a meaning search
    centres Chinese, Japanese and Korean passages on their own mean and the rest on theirs
    (vectors.Centring). Vectors no passage holds any more count as SCRIPT_OTHER."""
    from notesearch.core.text import SCRIPT_CJK, script_group  # (a rule, not schema)

    conn.execute("ALTER TABLE embeddings ADD COLUMN script INTEGER NOT NULL DEFAULT 0")
    cjk = [(SCRIPT_CJK, digest) for digest, text in conn.execute(
        "SELECT hash, MIN(text) FROM chunks WHERE hash != '' GROUP BY hash")
        if script_group(text) == SCRIPT_CJK]
    conn.executemany("UPDATE embeddings SET script = ? WHERE hash = ?", cjk)


def _v16(conn: apsw.Connection) -> None:
    """Have the next index read again the notes with tags: the tags of front matter and
    properties are now words of the note's description field (markdown._property_words), as
    a #tag in the text always was. As in _v8, passages whose text is unchanged keep their
    vectors."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                 "WHERE tags != '[]'")


def _v17(conn: apsw.Connection) -> None:
    """Have the next index read again the notes with a heading inside a list item ("- ##
    Beta 0.8.16", a Logseq heading block): such a heading now titles only its item's
    children (chunking._sections), where it titled every line down to the next heading. The
    test also takes in notes with a tag after a bullet ("- #idea"), which reading again
    leaves as they were. As in _v8, passages whose text is unchanged keep their vectors."""
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' WHERE id IN "
                 "(SELECT note_id FROM chunks WHERE instr(text, '- #') OR instr(text, '* #') "
                 "OR instr(text, '+ #'))")


def _v18(conn: apsw.Connection) -> None:
    """Recreate both keyword indexes with the tokenizer that keeps combining marks in their
    word (text.FTS_TOKENIZER: Hindi, Thai and other scripts had been cut into single
    letters at every vowel sign) and refill them from what the database holds, Thai, Lao,
    Burmese and Khmer as bigrams, Hebrew and Arabic without their pointing, "đ", "ł",
    "ё" as "d", "l", "е" (text.fts_text, text.normalise), and Russian, Hindi, Greek, Tamil
    and Armenian words stemmed (text.register_tokenizer); then have the next index read every note
    again, for the description field (front matter, properties) the database does not keep.
    As in _v8, passages whose text is unchanged keep their vectors."""
    conn.execute("DROP TABLE chunks_fts")
    _create_chunk_index(conn)
    _fill_keyword_index(conn)
    conn.execute("DROP TABLE notes_fts")
    _create_note_index(conn)
    _fill_note_index(conn)
    conn.execute("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = ''")


def _v19(conn: apsw.Connection) -> None:
    """Index again, in both keyword indexes, the notes with a passage that holds a
    traditional Chinese character, now folded to simplified ones (text.han_folds, through
    text.normalise), and have the next index read those notes again, for their description
    field. Other notes' rows stay as they are. As in _v8, passages keep their vectors."""
    from notesearch.core.text import han_folds  # (a rule, not schema)

    folds = han_folds()
    # Passages, and what a note keeps outside them: its title, aliases and tags (a tag of
    # the front matter is filtered by as normalised when read).
    touched = {note_id for note_id, text in conn.execute(
                   "SELECT note_id, text FROM chunks UNION ALL "
                   "SELECT id, title || aliases || tags FROM notes")
               if not text.isascii() and any(ord(char) in folds for char in set(text))}
    if not touched:
        return
    _index_again(conn, sorted(touched))


def _index_again(conn: apsw.Connection, notes: list[int]) -> None:
    """Write again both keyword indexes' rows of `notes` from what the database holds, and
    have the next index read those notes again, for their description field. As in _v8,
    passages keep their vectors."""
    if not notes:
        return
    marks = ",".join("?" * len(notes))
    # Both indexes delete by rowid (contentless_delete): only these notes' rows are written.
    conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN "
                 f"(SELECT id FROM chunks WHERE note_id IN ({marks}))", notes)
    _fill_keyword_index(conn, notes)
    conn.execute(f"DELETE FROM notes_fts WHERE rowid IN ({marks})", notes)
    _fill_note_index(conn, notes)
    conn.execute(f"UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                 f"WHERE id IN ({marks})", notes)


def _v20(conn: apsw.Connection) -> None:
    """Keep each vector's language group (lexicon.language_group of its passage: a language
    the word lists tell, or a script such as Cyrillic or Greek) where _v15 kept its script
    group: a meaning search centres each language's passages on their own mean
    (vectors.Centring). Vectors no passage holds any more keep theirs. About 0.3 ms a
    passage (30 s at 100k); without the word lists, groups stay as they were."""
    from notesearch.core.lexicon import language_group, lexicon  # (a rule, not schema)

    if lexicon() is None:
        return
    passages = cast(list[tuple[str, str]], conn.execute(
        "SELECT hash, MIN(text) FROM chunks WHERE hash != '' GROUP BY hash").fetchall())
    conn.executemany("UPDATE embeddings SET script = ? WHERE hash = ?",
                     [(language_group(text), digest) for digest, text in passages])


def _v21(conn: apsw.Connection) -> None:
    """Leave without a vector each passage whose words are all in its headings, in a note
    with a passage of words of its own (chunking.headings_alone), as the indexer now writes
    them. Their vectors, used by no passage, go after a day as any other's (orphans)."""
    from itertools import groupby

    from notesearch.core.chunking import headings_alone  # (a rule, not schema)

    # Read a note at a time (a big library's passages whole would be hundreds of MB).
    rows = cast(Iterable[tuple[int, int, str, int, str]], conn.execute(
        "SELECT id, note_id, text, context_len, hash FROM chunks WHERE note_id IN "
        "(SELECT note_id FROM chunks GROUP BY note_id HAVING COUNT(*) > 1) "
        "ORDER BY note_id, seq"))
    cleared: list[tuple[int]] = []
    for _, group in groupby(rows, key=lambda row: row[1]):
        note = list(group)
        alone = headings_alone([(text, context_len) for _, _, text, context_len, _ in note])
        cleared += [(row[0],) for row, drop in zip(note, alone, strict=True) if drop and row[4]]
    conn.executemany("UPDATE chunks SET hash = '' WHERE id = ?", cleared)


def _v22(conn: apsw.Connection) -> None:
    """Have the next index read again the notes with a passage that opens a code fence it
    does not close: a block cut between two passages, or a closing fence repeated as the
    next passage's first line (chunking._text, chunking._overlap). As in _v8, passages
    whose text is unchanged keep their vectors; the others are embedded again."""
    from notesearch.core.text import fenced_blocks  # (a rule, not schema)

    rows = cast(Iterable[tuple[int, str]], conn.execute(
        "SELECT note_id, substr(text, context_len + 1) FROM chunks "
        "WHERE instr(text, '```') OR instr(text, '~~~')"))
    notes = {note_id for note_id, body in rows
             if any(not closed for _, _, closed in fenced_blocks(body.split("\n")))}
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", [(note_id,) for note_id in sorted(notes)])


def _v23(conn: apsw.Connection) -> None:
    """As _v22, now that a code fence may open a list item ("- ```nginx", as Logseq writes
    code blocks): such a block was read as prose (its URLs left out of excerpts:
    "proxy_pass http://127.0.0.1:8080/;" showed "proxy_pass"), and cut between passages
    without being closed and opened again."""
    _v22(conn)


def _v24(conn: apsw.Connection) -> None:
    """Have the next index read again the notes named by a date ("2024_04_21.md", a daily
    note): their file-name words in the keyword index now hold the date as people write it
    (text.date_words: "April 21", "2024年4月21日"). Their passages keep their vectors."""
    from notesearch.core.text import date_words, name_stem  # (rules, not schema)

    rows = cast(Iterable[tuple[int, str]], conn.execute("SELECT id, path FROM notes"))
    dated = [(note_id,) for note_id, path in rows if date_words(name_stem(path))]
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", dated)


def _v25(conn: apsw.Connection) -> None:
    """Have the next index read again the notes holding Templater commands (`<% … %>`),
    which are now blanked (prose.blank_templater): in a passage, or in a property, whose
    words the keyword index holds as "tp date now" (Templater's commands all begin `tp.`).
    Passages whose text is unchanged keep their vectors."""
    rows = conn.execute("SELECT DISTINCT note_id FROM chunks WHERE instr(text, '<%')")
    notes = {note_id for (note_id,) in cast(Iterable[tuple[int]], rows)}
    notes |= {note_id for (note_id,) in cast(Iterable[tuple[int]], conn.execute(
        "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'description : tp'"))}
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", [(note_id,) for note_id in sorted(notes)])


def _v26(conn: apsw.Connection) -> None:
    """Index again, in both keyword indexes, the notes with a passage holding an HTML tag
    outside code, which the keyword index no longer holds (prose.keyword_text: "aside" of
    Notion's `<aside>` had found every page with a callout)."""
    from notesearch.core.prose import keyword_text  # (a rule, not schema)
    from notesearch.core.text import fts_text

    rows = cast(Iterable[tuple[int, str]], conn.execute(
        "SELECT note_id, text FROM chunks WHERE instr(text, '<')"))
    _index_again(conn, sorted({note_id for note_id, text in rows
                               if keyword_text(text) != fts_text(text)}))


def _v27(conn: apsw.Connection) -> None:
    """Have the next index read again the notes holding a tag of several words as Bear
    writes them ("#book notes#", markdown._MULTIWORD_TAG), which had been the tag "book".
    Their passages keep their vectors."""
    from notesearch.core.markdown import has_multiword_tag  # (a rule, not schema)

    rows = cast(Iterable[tuple[int, str]], conn.execute(
        "SELECT note_id, text FROM chunks WHERE instr(text, ' ') AND instr(text, '#')"))
    notes = sorted({note_id for note_id, text in rows if has_multiword_tag(text)})
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", [(note_id,) for note_id in notes])


def _v28(conn: apsw.Connection) -> None:
    """Have the next index read again the pages of a Notion export ("Trip 8f3a….md"), whose
    property block ("Status: Done", "Tags: travel") is now their front matter
    (markdown._notion_properties). Passages whose text is unchanged keep their vectors."""
    from notesearch.core.markdown import is_notion_page  # (a rule, not schema)

    rows = cast(Iterable[tuple[int, str]], conn.execute("SELECT id, path FROM notes"))
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", [(note_id,) for note_id, path in rows
                                      if is_notion_page(path)])


def _v29(conn: apsw.Connection) -> None:
    """Have the next index read again the notes named by a 32-hex id, as a Joplin RAW
    export names its items: a note is now titled by its first line and its properties
    block is no text (joplin.joplin_markdown); a notebook's or tag's record is skipped."""
    from notesearch.core.joplin import is_item_name  # (a rule, not schema)

    rows = cast(Iterable[tuple[int, str]], conn.execute("SELECT id, path FROM notes"))
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", [(note_id,) for note_id, path in rows
                                      if is_item_name(path)])


def _v30(conn: apsw.Connection) -> None:
    """Index again, in both keyword indexes, the notes with a passage holding an HTML
    character reference ("&amp;") or an image's file path, which the keyword index now reads
    as its character and leaves out (prose.keyword_text); and read those notes again, the
    model reading the characters too (their passages with one are embedded again)."""
    from notesearch.core.prose import keyword_text  # (a rule, not schema)
    from notesearch.core.text import fts_text

    rows = cast(Iterable[tuple[int, str]], conn.execute(
        "SELECT note_id, text FROM chunks WHERE instr(text, '&') OR instr(text, '![')"))
    _index_again(conn, sorted({note_id for note_id, text in rows
                               if keyword_text(text) != fts_text(text)}))


def _v31(conn: apsw.Connection) -> None:
    """Have the next index read again the notes with a passage holding PGP armour
    ("-----BEGIN PGP MESSAGE-----", as Org's encrypted entries keep it), which is no text
    now (prose.blank_data). Their other passages keep their vectors."""
    rows = conn.execute("SELECT DISTINCT note_id FROM chunks "
                        "WHERE instr(text, '-----BEGIN PGP')").fetchall()
    conn.executemany("UPDATE notes SET size = -1, mtime_ns = -1, content_hash = '' "
                     "WHERE id = ?", rows)


MIGRATIONS: list[Callable[[apsw.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7,
                                                        _v8, _v9, _v10, _v11, _v12, _v13,
                                                        _v14, _v15, _v16, _v17, _v18, _v19,
                                                        _v20, _v21, _v22, _v23, _v24, _v25,
                                                        _v26, _v27, _v28, _v29,
                                                        _v30, _v31]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: apsw.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION, each step in its own transaction."""
    row = conn.execute("PRAGMA user_version").fetchone()
    assert row is not None  # a PRAGMA that reads a value always returns one row
    current: int = row[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"This library was written by a newer notesearch (schema {current}, this one knows "
            f"{SCHEMA_VERSION}); update notesearch to open it.")
    if current == SCHEMA_VERSION:
        return
    # Off while tables are rebuilt (SQLite's documented way: a DROP TABLE with foreign keys
    # on would cascade into the rows that refer to it), checked before they are on again.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with conn:
                MIGRATIONS[version - 1](conn)
                if conn.execute("PRAGMA foreign_key_check").fetchone():
                    raise RuntimeError(f"schema {version} left rows without their parents")
                conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def vec_table(space_id: int) -> str:
    """Return the name of the vec0 table holding one vector space."""
    return f"vec_{int(space_id)}"
