"""Keyword postings kept across searches and changes to the notes, and read ahead (warm)."""

from __future__ import annotations

import threading

from notesearch.core import keywords
from notesearch.core.library import Library
from tests.helpers import library_of


def bm25_reads(library: Library) -> list[str]:
    """Record the note-index reads this thread's searcher makes from now on."""
    reads: list[str] = []
    library.searcher().conn.set_profile(
        lambda sql, _ns: reads.append(sql) if "bm25(notes_fts" in sql else None)
    return reads


def by_words(library: Library, query: str) -> list[tuple[str, float]]:
    return [(r.title, round(r.score, 6))
            for r in library.search(query, k=10, mode="words").results]


def as_typed(library: Library, query: str) -> list[tuple[str, float]]:
    return [(r.title, round(r.score, 6)) for r in library.search(
        query, k=10, mode="words", as_you_type=True).results]


NOTES = {
    "Crops.md": "# Crops\nCrop rotation rotates what grows where.\n",
    "Tyres.md": "# Tyres\nRotating the tyres evens their wear.\n",
    "Bread.md": "# Bread\nBread rises overnight.\n",
    "Kites.md": "# Kites\nKites need wind.\n",
}


def test_kept_postings_follow_notes_written_and_removed(tmp_path, monkeypatch):
    """After a save only the notes written since are read again, and what is found is what
    a fresh read finds: the edited note drops out, the new one comes in, the removed one
    is gone."""
    monkeypatch.setattr(keywords, "PATCH_SHARE", 10.0)  # four notes: patch them all the same
    library = library_of(tmp_path, NOTES)
    assert {t for t, _ in by_words(library, "rotate")} == {"Crops", "Tyres"}
    root = library.notes_root
    (root / "Tyres.md").write_text("# Tyres\nTyres wear evenly.\n", encoding="utf-8")
    (root / "Gears.md").write_text("# Gears\nGears rotate together.\n", encoding="utf-8")
    (root / "Bread.md").unlink()
    library.scan()
    reads = bm25_reads(library)
    found = by_words(library, "rotate")
    assert {t for t, _ in found} == {"Crops", "Gears"}
    assert reads and all("rowid BETWEEN" in sql for sql in reads)  # the changed notes only
    fresh = Library(home=library.home)
    expected = by_words(fresh, "rotate")
    # The same order; Crops' score keeps the idf of four notes where a fresh read has four.
    assert [t for t, _ in found] == [t for t, _ in expected]
    assert all(abs(a - b) < 0.05 for (_, a), (_, b) in zip(found, expected, strict=True))
    assert by_words(library, "bread") == []
    fresh.close()
    # A note rewritten while it has the highest id gets that id again: its old postings go.
    for text, expected_titles in (("Rotate them yearly.", {"Crops", "Gears", "Tyres"}),
                                  ("They wear evenly.", {"Crops", "Gears"})):
        (root / "Tyres.md").write_text(f"# Tyres\n{text}\n", encoding="utf-8")
        library.scan()
        assert library.conn.execute("SELECT MAX(id) FROM notes").fetchone()[0] == \
            library.store.note_id(str(root / "Tyres.md"))
        assert {t for t, _ in by_words(library, "rotate")} == expected_titles
    library.close()


def test_postings_are_read_whole_past_the_patch_limit_or_the_log(tmp_path, monkeypatch):
    """Past the share of notes a patch may cover, or once the change log no longer reaches
    back to when the postings were read, the phrase is read whole again."""
    library = library_of(tmp_path, NOTES)
    by_words(library, "wind")
    monkeypatch.setattr(keywords, "PATCH_SHARE", 0.3)  # one change of four notes, not two
    root = library.notes_root
    (root / "Sails.md").write_text("# Sails\nSails catch the wind.\n", encoding="utf-8")
    (root / "Mills.md").write_text("# Mills\nWind turns the mill.\n", encoding="utf-8")
    library.scan()
    reads = bm25_reads(library)
    assert {t for t, _ in by_words(library, "wind")} == {"Kites", "Sails", "Mills"}
    assert len(reads) == 1 and "BETWEEN" not in reads[0]

    (root / "Flags.md").write_text("# Flags\nFlags fly in the wind.\n", encoding="utf-8")
    (root / "Boats.md").write_text("# Boats\nBoats sail by wind.\n", encoding="utf-8")
    library.scan()  # two changes of seven notes: within the limit, but...
    with library.conn:  # ...the log has forgotten the first (it keeps the last 20,000)
        library.conn.execute("DELETE FROM note_changes WHERE seq < "
                             "(SELECT MAX(seq) FROM note_changes)")
    reads.clear()
    assert {t for t, _ in by_words(library, "wind")} == {"Kites", "Sails", "Mills", "Flags",
                                                         "Boats"}
    assert len(reads) == 1 and "BETWEEN" not in reads[0]
    library.close()


def test_warm_reads_common_words_ahead_for_every_thread(tmp_path, monkeypatch):
    """Reading ahead leaves a first search by common words nothing to read, in any thread
    and in any form of the word, and finds what an unwarmed search finds."""
    monkeypatch.setattr(keywords, "WARM_MIN_NOTES", 2)
    # "pulse" and "atmosphere" are indexed as "puls" and "atmospher", which are no words:
    # searched as written they would be stemmed again ("pul").
    notes = {f"Note {i}.md": f"# Note {i}\nThe garden needs water {'often' * (i % 2)}.\n"
                             f"{'A pulse in the atmosphere.' * (i % 3 == 0)}\n"
             for i in range(6)}
    notes["Other.md"] = "# Other\nA lone kite on a needle.\n"
    library = library_of(tmp_path, notes)
    words = ("garden", "waters", "often", "pulses", "atmosphere")
    typed = "garden needs"  # as typed, no space yet: "need"* ("needs", "needle")
    unwarmed = Library(home=library.home)
    expected = [by_words(unwarmed, word) for word in words]
    expected_typed = as_typed(unwarmed, typed)
    unwarmed.close()
    assert len(expected_typed) == 7
    assert [len(found) for found in expected] == [6, 6, 3, 2, 2]
    assert library.warm(10.0) is True
    answers: list[list[tuple[str, float]]] = []
    reads: list[str] = []

    def search_elsewhere() -> None:
        seen = bm25_reads(library)
        answers.append([by_words(library, word) for word in words])
        answers.append(as_typed(library, typed))
        reads.extend(seen)

    worker = threading.Thread(target=search_elsewhere)
    worker.start()
    worker.join()
    assert answers == [expected, expected_typed]
    assert reads == []
    assert by_words(library, "kite")  # a word in one note is read when searched
    library.close()


def test_a_prefix_of_one_word_reads_that_words_postings(tmp_path):
    """Typing "kit" when "kite" is the only word it begins finds what "kite" finds without
    reading the index again; once a note brings "kitchen", it finds both."""
    library = library_of(tmp_path, {"Kites.md": "# Kites\nKites need wind.\n",
                                    "Bread.md": "# Bread\nBread rises.\n"})
    assert by_words(library, "kites") == [("Kites", by_words(library, "kites")[0][1])]
    reads = bm25_reads(library)
    typed = library.search("kit", k=5, mode="words", as_you_type=True)
    assert [r.title for r in typed.results] == ["Kites"]
    assert reads == []
    (library.notes_root / "Kitchen.md").write_text("# Kitchen\nKnives.\n", encoding="utf-8")
    library.scan()
    typed = library.search("kit", k=5, mode="words", as_you_type=True)
    assert {r.title for r in typed.results} == {"Kites", "Kitchen"}
    library.close()


def test_a_removed_folder_leaves_the_kept_postings_at_once(tmp_path):
    """Removing a folder changes the notes: the next search by words finds the notes left,
    not an empty list where the removed folder's notes were kept."""
    library = library_of(tmp_path, {"Garden.md": "# Garden\nWe flew a kite once, then "
                                                 "weeded the beds and mowed the lawn.\n"})
    other = tmp_path / "other"
    other.mkdir()
    (other / "Kite festival.md").write_text("# Kite festival\nKite kite kite festival.\n",
                                            encoding="utf-8")
    library.add_folder(other)
    library.scan()
    assert [r.title for r in library.search("kite", k=1, mode="words").results] == \
        ["Kite festival"]
    library.remove_folder(other)
    assert [r.title for r in library.search("kite", k=1, mode="words").results] == ["Garden"]
    library.close()


def test_warm_reads_again_only_what_was_dropped_for_room(tmp_path, monkeypatch):
    """Once everything is read ahead, asking again reads nothing and checks nothing (at 100k
    passages the check alone cost 21 ms, asked every 40 ms while a first index ran); when
    postings were dropped for room, it reads them again."""
    monkeypatch.setattr(keywords, "WARM_MIN_NOTES", 2)
    library = library_of(tmp_path, {f"n{i}.md": f"# N{i}\nGarden water kite {i}\n"
                                    for i in range(4)})
    assert library.warm(10.0) is True
    searcher = library.searcher()
    checked: list[str] = []
    monkeypatch.setattr(searcher.keywords, "prefix_postings",
                        lambda word: checked.append(word) or 0)
    assert library.warm(10.0) is True and checked == []
    postings = library.postings
    postings.capacity = 1  # the next put drops every other phrase for room
    postings.put("filler", keywords.Postings(*([0],) * 2, 0, 0))
    assert postings.evicted > 0
    postings.capacity = keywords.POSTINGS_KEPT
    reads = bm25_reads(library)
    assert library.warm(10.0) is True
    assert reads  # what was dropped is read again
    library.close()
