"""Search through the real index of the sample notes: meaning, words, Chinese, filters, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notesearch.core.fusion import WEAK_MATCH
from notesearch.core.search import Filters
from tests.helpers import as_schema, library_of, marked_by_migrations_to, rel_paths


def top(library, query, k=3, **kwargs):
    return rel_paths(library.search(query, k=k, **kwargs).results, library.notes_root)


def test_paraphrase_finds_note_that_shares_no_words(sample_library):
    found = top(sample_library, "how often should we replace passwords and tokens")
    assert "work/Changing secrets regularly.txt" in found


def test_meaning_alone_finds_blight_from_symptoms(sample_library):
    found = top(sample_library, "brown spots on tomato leaves", k=3, mode="meaning")
    assert {"garden/Tomato blight.md", "journal/2024-07-22.md"} & set(found)


def test_exact_words_rank_first_by_words(sample_library):
    response = sample_library.search("sourdough starter", k=5)
    best = response.results[0]
    assert best.path.endswith("cooking/Sourdough starter.md")
    assert best.match in ("words", "both")
    highlighted = [best.snippet.text[a:b].lower() for a, b in best.snippet.highlights]
    assert "sourdough" in highlighted or "starter" in highlighted


def test_chinese_query_finds_chinese_note_by_words_and_by_meaning(sample_library):
    assert top(sample_library, "五花肉 冰糖 收汁", k=1, mode="words") == ["中文/红烧肉做法.md"]
    assert "中文/红烧肉做法.md" in top(sample_library, "红烧肉怎么做", k=3, mode="meaning")


def test_english_query_reaches_chinese_note_by_meaning(sample_library):
    found = top(sample_library, "hiking routes for the weekend", k=3, mode="meaning")
    assert "中文/周末徒步路线.md" in found


def test_result_line_points_at_matching_text(sample_library):
    result = sample_library.search("point-in-time restore", k=1).results[0]
    lines = Path(result.path).read_text(encoding="utf-8").split("\n")
    window = " ".join(lines[result.line - 1 : result.end_line]).lower()
    assert "restore" in window


def test_result_line_is_the_shown_words_line_not_a_word_that_contains_it(tmp_path):
    """The result opens where the excerpt's highlighted word stands: "cat" inside
    "concatenate" on the first line is not it."""
    text = ("# Strings\n\nWe concatenate strings with join.\n\nSome filler text here.\n\n"
            "The cat sat on the mat.\n")
    library = library_of(tmp_path, {"pets.md": text})
    result = library.search("cat", k=1).results[0]
    assert text.split("\n")[result.line - 1] == "The cat sat on the mat."
    library.close()


def test_result_line_is_the_line_that_says_most_of_the_query(tmp_path):
    """A heading holding one of the query's words does not beat the sentence below it that
    holds them all (a fresh-user trial opened "Bike restoration" for "Old French bikes use
    odd standards", three lines above the sentence); one word alone opens where it first
    stands."""
    text = ("# Projects\n\n## Bike restoration\n\nFrame is a 1978 Peugeot.\n\n"
            "Old French bikes use odd standards: French threading on the bottom bracket.\n\n"
            "## Coffee\n\n15 g coffee, 250 g water.\nBloom with 40 g for 45 seconds.\n")
    library = library_of(tmp_path, {"projects.md": text})
    lines = text.split("\n")
    bikes = library.search("French bike standards", k=1).results[0]
    assert lines[bikes.line - 1].startswith("Old French bikes use odd standards")
    bloom = library.search("bloom with 40 g for 45 seconds", k=1).results[0]
    assert lines[bloom.line - 1] == "Bloom with 40 g for 45 seconds."
    bike = library.search("Peugeot", k=1).results[0]
    assert lines[bike.line - 1] == "Frame is a 1978 Peugeot."
    library.close()


def test_tag_and_folder_filters(sample_library):
    alpha = top(sample_library, "plan", k=10, filters=Filters(tags=("project/alpha",)))
    assert alpha and all("work/" in p for p in alpha)
    cooking = str(sample_library.notes_root / "cooking")
    in_folder = top(sample_library, "tomato", k=10, filters=Filters(folder=cooking))
    assert in_folder and all(p.startswith("cooking/") for p in in_folder)


def test_json_shape(sample_library):
    data = sample_library.search("rail pass", k=2).to_json()
    assert data["query"] == "rail pass"
    first = data["results"][0]
    assert set(first) == {"path", "title", "score", "confidence", "line", "heading",
                          "snippet", "highlights", "match"}
    marked = [first["snippet"][a:b].lower() for a, b in first["highlights"]]
    assert marked and all(word.startswith(("rail", "pass")) for word in marked)
    assert first["path"].endswith("travel/Japan rail pass.md")
    assert 0.5 <= first["confidence"] <= 1 and "no_good_match" not in data
    assert first["match"] in ("meaning", "words", "both")


def test_a_result_says_the_heading_its_passage_is_under(tmp_path, capsys, monkeypatch):  # noqa: ANN001
    """A fresh-user trial: a changelog hit did not say which release it was under."""
    from notesearch.cli import main
    from notesearch.core.config import HOME_ENV

    releases = "".join(f"## Beta 0.9.{n}\n" + "".join(
        f"- Fix {n}.{i}: the sync of a graph stalls when it is large\n" for i in range(30))
        for n in range(3))
    library = library_of(tmp_path, {"Changelog.md": releases + "- Support exporting to image\n"})
    library.close()
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["search", "--json", "--mode", "words", "fix 1.7"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["heading"] == "Beta 0.9.1"
    assert main(["search", "--mode", "words", "fix 2.4"]) == 0
    assert "Changelog.md:" in (out := capsys.readouterr().out) and "› Beta 0.9.2" in out


def test_a_logseq_code_block_is_shown_as_written(tmp_path):
    """A fresh-user trial on a Logseq graph: a code block written as a list item ("- ```")
    was read as prose, and its URL left out of the excerpt: "proxy_pass
    http://127.0.0.1:8080/;" showed "proxy_pass proxy_set_header", losing the very slash
    the query "proxy_pass 末尾的斜杠" asked about."""
    library = library_of(tmp_path, {"pages/nginx.md": (
        "tags:: nginx\n\n- 公司内网的几个服务都放在一台 nginx 后面。\n- ```nginx\n"
        "  location /api/ {\n      proxy_pass http://127.0.0.1:8080/;\n  }\n  ```\n"
        "- 注意 `proxy_pass` 末尾有没有 `/` 行为完全不同。\n")})
    snippet = library.search("proxy_pass", k=1, mode="words").results[0].snippet.text
    assert "proxy_pass http://127.0.0.1:8080/;" in snippet, snippet
    library.close()


def test_a_daily_note_is_found_by_its_date_as_people_write_it(tmp_path):
    """A fresh-user trial on a Logseq graph: "what did I do on April 21 2024" and "4月21日"
    found nothing; only "2024-04-21", the journal file's own digits."""
    days = {f"journals/{year}_{month:02d}_{day:02d}.md": f"- Worked on chapter {day}.\n"
            for year in (2023, 2024) for month in (3, 4, 5) for day in range(15, 25)}
    library = library_of(tmp_path, {**days, "pages/Plan.md": "- Dates to keep: 21 and 2024.\n"})
    first = library.search("what did I do on April 21 2024", k=1, mode="words").results[0]
    assert first.path.endswith("2024_04_21.md"), first.path
    for query in ("4月21日", "apr 21"):  # (of either year)
        first = library.search(query, k=1, mode="words").results[0]
        assert first.path.endswith("_04_21.md"), (query, first.path)
    library.close()


def test_a_logseq_pages_properties_show_only_when_they_hold_the_words(tmp_path):
    """A fresh-user trial on a Logseq graph: six pages' excerpts opened "alias: docker build,
    镜像瘦身 tags: docker, devops type: howto •" before the words that matched. They show
    only when they alone hold the query's words."""
    library = library_of(tmp_path, {"pages/Docker multi-stage build.md": (
        "alias:: docker build, 镜像瘦身\ntags:: docker, devops\ntype:: howto\n\n"
        "- Our Go service image was 1.2 GB because the builder stage shipped the whole "
        "toolchain; a multi-stage build took it to 23 MB.\n")})
    prose = library.search("service image", k=1, mode="words").results[0].snippet.text
    assert prose.startswith("• Our Go service image") and "alias" not in prose, prose
    alias = library.search("镜像瘦身", k=1, mode="words").results[0].snippet.text
    assert "镜像瘦身" in alias, alias
    library.close()
    # A description is prose, as the Logseq docs' pages write them, and stays.
    docs = library_of(tmp_path / "docs", {"pages/Element locking.md": (
        "type:: Feature\nplatforms:: All Platforms\ndescription:: Allows locking whiteboard "
        "elements, rendering them unmodifiable\ninitial-version:: 0.9.2\n\n- ## Usage\n"
        "- Lock the selected elements from the context menu, or press mod+l.\n")})
    shown = docs.search("lock elements", k=1, mode="words").results[0].snippet.text
    assert "Allows locking whiteboard" in shown and "platforms" not in shown, shown
    docs.close()


def test_a_journal_result_says_the_entry_its_words_are_under(tmp_path):
    """A fresh-user trial: a research journal's dated entries ("## 2024-01-15"), short
    sections merged into one passage, showed only "› Research journal", the heading they
    share and the note's title besides. A result now says the entry its words are under,
    and no heading that is the title it shows already."""
    entries = "".join(f"## 2024-01-{day:02d}\nWorked on chapter {day}; read two papers and "
                      f"cleaned the data of plot {day}.\n\n" for day in range(1, 13))
    library = library_of(tmp_path, {"journal.md": (
        "# Research journal\n\nShort entries, newest at the bottom.\n\n" + entries
        + "## 2024-01-15\nThe independence threshold at 30 min changes fox events by 12%.\n\n"
        + entries.replace("2024-01", "2024-02"))})
    first = library.search("independence threshold fox", k=1, mode="words").results[0]
    assert first.heading == "2024-01-15", first.heading
    library.close()


def test_similar_notes_lists_near_duplicate_first(sample_library):
    note = sample_library.notes_root / "work/meetings/meeting-2024-05-02.md"
    similar = rel_paths(sample_library.similar(note, k=3), sample_library.notes_root)
    assert similar[0] == "work/meetings/meeting-2024-05-02 (copy).md"
    assert "work/meetings/meeting-2024-05-02.md" not in similar


def test_similar_takes_a_title_a_file_name_or_a_path_inside_the_library(sample_library):
    """`similar Queries` said "not in the library" for an indexed note: only an absolute path
    (or one relative to the current folder) was understood."""
    from notesearch.core.errors import NotesearchError

    root = sample_library.notes_root
    expected = rel_paths(sample_library.similar(root / "garden/Tomato blight.md", k=3), root)
    for reference in ("Tomato blight", "tomato BLIGHT", "Tomato blight.md",
                      "garden/Tomato blight.md"):
        assert rel_paths(sample_library.similar(reference, k=3), root) == expected, reference
    with pytest.raises(NotesearchError, match="No note in the library is at or called"):
        sample_library.similar("No such note")
    # Two notes answer to the same name: the user is asked for a path, and shown both.
    with pytest.raises(NotesearchError, match="2 notes are called") as ambiguous:
        sample_library.similar("planning meeting 2024-05-02")
    assert "work/meetings/meeting-2024-05-02.md" in str(ambiguous.value)


def test_similar_to_text(sample_library):
    passage = "My sourdough starter smells sour and bubbles a lot a few hours after feeding"
    found = rel_paths(sample_library.similar_text(passage, k=3),
                      sample_library.notes_root)
    assert "cooking/Sourdough starter.md" in found


def test_empty_and_punctuation_queries_return_nothing(sample_library):
    assert sample_library.search("   ").results == []
    assert sample_library.search("?!").results == []


def test_asking_for_many_results_gets_them(tmp_path, e5):
    """`search -k 150` lists 150 notes, by meaning and by words, not the first 100 candidates."""
    from tests.helpers import open_library

    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(150):
        (notes / f"log {i:03}.md").write_text(f"Kettle reading number {i}: water at {i} degrees.\n")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    assert library.index().embedding_error is None
    for mode in ("meaning", "words", "hybrid"):
        response = library.search("kettle water temperature", k=150, mode=mode)
        assert len({r.path for r in response.results}) == 150, mode


def test_words_match_other_forms_of_a_word_and_are_highlighted(sample_library):
    """Keyword search stems English words: "blighted" (in no note) finds notes on "blight"."""
    response = sample_library.search("blighted", k=5, mode="words")
    assert "Tomato blight" in [r.title for r in response.results]
    best = next(r for r in response.results if r.title == "Tomato blight")
    highlighted = {best.snippet.text[a:b].lower() for a, b in best.snippet.highlights}
    assert highlighted == {"blight"}


def test_an_index_from_before_stemming_is_upgraded_in_place(tmp_path):
    """Opening a schema-2 library rebuilds its keyword index; notes are not read again."""

    from tests.helpers import open_library

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "links.md").write_text("# Links\n\nBacklinks show which notes point here.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 2,  # the keyword index as schema 2 had it: no stemming
              "DROP TABLE chunks_fts",
              "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, body, tokenize = "
              "'unicode61 remove_diacritics 2', content = '', contentless_delete = 1)",
              "INSERT INTO chunks_fts(rowid, title, body) SELECT id, '', text FROM chunks")
    (notes / "links.md").unlink()  # the upgrade must not need the files
    upgraded = open_library(tmp_path / "home")
    found = upgraded.search("backlink", k=3, mode="words").results
    assert [r.title for r in found] == ["Links"]
    upgraded.close()


def test_a_library_titled_by_logseq_heading_blocks_gets_its_page_names(tmp_path):
    """Schema 10 reads again the notes with a heading inside a list item, which used to
    title the page ("Usage"); the next scan names them by their files, and only they are
    read again."""

    from tests.helpers import marked_by_migrations_to, open_library

    notes = tmp_path / "notes"
    (notes / "pages").mkdir(parents=True)
    (notes / "pages" / "Whiteboard.md").write_text("- # Usage\n\t- Drag shapes onto it.\n")
    (notes / "pages" / "Kites.md").write_text("- Kites need a steady wind.\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    library.close()
    as_schema(tmp_path / "home", 9,  # as schema 9 left it: the heading block was the title
              "UPDATE notes SET title = 'Usage' WHERE path LIKE '%Whiteboard.md'")
    assert marked_by_migrations_to(tmp_path / "home", 10) == {"Whiteboard.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()
    assert sorted(t for (t,) in upgraded.conn.execute("SELECT title FROM notes")) == \
        ["Kites", "Whiteboard"]
    upgraded.close()


def test_a_word_typed_past_its_stem_still_finds_notes_as_you_type(sample_library):
    """Typing "rotati" (on the way to "rotation") finds the notes on rotation by words."""
    response = sample_library.search("rotati", k=5, mode="words", as_you_type=True)
    assert response.results, "a half-typed word found nothing"
    best = response.results[0]
    highlighted = {best.snippet.text[a:b].lower() for a, b in best.snippet.highlights}
    assert highlighted and all(word.startswith("rotat") for word in highlighted)


def test_only_the_word_being_typed_matches_as_a_prefix(tmp_path):
    """In "theory of" the word being typed is "of": "theory" is finished and must not be
    widened to "the*" (it was, matching every note with "the", "there", "thermal")."""
    library = library_of(tmp_path, {
        "Graph theory.md": "Graph theory studies vertices and edges.",
        "Thermal paste.md": "Thermal paste fills the gaps there between CPU and cooler.",
    })
    for typed in ("theory of", "theory o", "theory the"):
        found = library.search(typed, k=5, mode="words", as_you_type=True).results
        assert [r.title for r in found] == ["Graph theory"], typed
        highlighted = {found[0].snippet.text[a:b].lower() for a, b in found[0].snippet.highlights}
        assert highlighted == {"theory"}, typed
    library.close()


def test_stopwords_alone_match_by_words_only_when_submitted(sample_library):
    """While typing, "the" alone matches nothing by words; searching for it still does."""
    assert sample_library.search("the", k=5, mode="words", as_you_type=True).results == []
    assert sample_library.search("the", k=5, mode="words").results


def test_the_welcome_note_does_not_answer_the_demo_queries_by_their_words(sample_library):
    """It used to quote them, and so ranked high for every one of them."""
    from notesearch.core.config import SAMPLE_QUERIES

    for query in SAMPLE_QUERIES:
        found = top(sample_library, query, k=3, mode="words")
        assert "Welcome to notesearch.md" not in found, query


def test_a_query_that_is_not_valid_utf8_still_searches(tmp_path, sample_library):
    """Undecodable bytes in a command-line query become U+FFFD instead of crashing the model."""
    import os
    import subprocess
    import sys

    home = sample_library.home
    env = {**os.environ, "NOTESEARCH_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "notesearch", "search", "--json",
                             os.fsdecode(b"\xff\xfe sourdough")], env=env,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Sourdough starter" in result.stdout
    assert sample_library.search("\udcff tomato", k=3).results
    assert sample_library.similar_text("\udcff tomato blight", k=3)


def test_a_library_from_before_the_note_index_is_upgraded_and_keeps_its_vectors(tmp_path, e5):
    """Opening a schema-3 library adds the note-level index at once; the next scan re-reads
    every note (descriptions come from files) and re-embeds only chunks whose text changed."""

    from tests.helpers import open_library

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("---\ndescription: An aerial hobby for gusty afternoons\n---\n"
                                    "# Kites\n\nA kite needs steady wind and an open field.\n")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    assert library.index().chunks_embedded == 1
    library.close()
    as_schema(tmp_path / "home", 3, "DROP TABLE notes_fts")  # schema 3: no note-level index
    upgraded = open_library(tmp_path / "home", embedder=e5)
    assert [r.title for r in upgraded.search("kites", k=3, mode="words").results] == ["Kites"]
    summary = upgraded.index()
    assert summary.reread == 1 and summary.chunks_embedded == 0
    found = upgraded.search("gusty afternoons", k=3, mode="words").results
    assert [r.title for r in found] == ["Kites"]  # the description, read from the file again
    upgraded.close()


def test_a_parent_tag_includes_its_children(tmp_path, e5):

    library = library_of(tmp_path, {
        "atlas.md": "# Atlas sprint\n#work/projects/atlas\nDemo of the export.\n",
        "hiring.md": "# Hiring\n#work/hiring\nInterviews for the backend role.\n",
        "groceries.md": "# Groceries\n#home\nEggs, flour, export-grade tea.\n",
        "workshop.md": "# Workshop\n#workshop\nA woodworking export demo.\n"}, e5)

    def names(tag):
        found = library.search("export demo", k=10, filters=Filters(tags=(tag,))).results
        return sorted(Path(r.path).name for r in found)

    assert names("work") == ["atlas.md", "hiring.md"]  # not #workshop: a tag, not a prefix
    assert names("#work/projects") == ["atlas.md"]
    assert names("work/projects/atlas") == ["atlas.md"]
    library.close()


def test_a_filtered_search_ranks_within_the_filter(tmp_path, e5):
    """When the rest of the library outranks the folder asked for, the folder's notes still
    fill the results (they used to be cut from a ranking of the whole library)."""
    from tests.helpers import open_library

    notes = tmp_path / "notes"
    (notes / "loud").mkdir(parents=True)
    (notes / "quiet").mkdir()
    for i in range(600):  # many notes that match the query better than the quiet folder
        # One text for all: they share one vector (keyed by text), so embedding is quick.
        (notes / "loud" / f"kites-{i}.md").write_text(
            "# Kite flying\nKite flying in strong wind: kites, kite lines, kite festivals.\n")
    for i in range(12):
        (notes / "quiet" / f"note-{i}.md").write_text(
            f"# Quiet note {i}\nA walk on the beach; someone flew a kite near the pier.\n")
    library = open_library(tmp_path / "home", embedder=e5)
    library.add_folder(notes)
    library.index()
    for mode in ("hybrid", "words", "meaning"):
        found = library.search("kite flying", k=10, mode=mode,
                               filters=Filters(folder=str(notes / "quiet"))).results
        assert len(found) == 10, mode
        assert all("/quiet/" in r.path for r in found)
    library.close()


def test_a_query_of_symbols_only_finds_the_notes_that_use_them(tmp_path, e5):
    from tests.helpers import library_of

    library = library_of(tmp_path, {
        "reading.md": "# Reading\n📚 Dune\n📚 The Hobbit\n📚 Middlemarch\n",
        "waiting.md": "# Waiting on\n⏳ reply from the landlord\n⏳ parcel\n",
        "stars.md": "# Favourites\n★★★ the lake walk\n★ the café\n",
        "plain.md": "# Plain\nNothing but words here about books and time.\n"}, e5)
    for query, note in (("📚", "reading.md"), ("⏳", "waiting.md"), ("★", "stars.md")):
        for mode in ("hybrid", "words"):
            found = library.search(query, k=3, mode=mode).results
            assert found and Path(found[0].path).name == note, (query, mode)
        assert library.search(query, k=3, mode="meaning").results  # embedded like any text
    assert library.search("   ", k=3).results == []
    library.close()


def test_the_query_language_narrows_the_notes(tmp_path, e5):
    from tests.helpers import library_of

    library = library_of(tmp_path, {
        "v24.md": "# Version 2.4\nThe release notes for 2.4: faster sync.\n",
        "plan.md": "# Plan\nNotes on the release: a draft; the notes come later.\n#work\n",
        "draft.md": "# Draft\nRelease notes, first draft. #work/projects\n",
        "journal/d1.md": "# Monday\nWrote release notes all day.\n"}, e5)

    def names(query, mode="hybrid"):
        return [Path(r.path).name for r in library.search(query, k=10, mode=mode).results]

    # The exact phrase is required; notes with both words apart are not listed.
    assert "plan.md" not in names('"release notes"')
    assert set(names('"release notes"', mode="words")) == {"v24.md", "draft.md", "d1.md"}
    assert "draft.md" not in names('"release notes" -draft')
    assert set(names("release tag:work")) == {"plan.md", "draft.md"}  # children included
    assert set(names("release #work")) == {"plan.md", "draft.md"}  # as notes write a tag
    # Filters alone list the notes they leave, each a match, no word of them "corrected".
    for only in ("tag:work", "#work"):
        response = library.search(only, k=10)
        assert {Path(r.path).name for r in response.results} == {"plan.md", "draft.md"}
        assert not response.weak and response.corrections == {}
        assert all(r.confidence == 1.0 for r in response.results)
    assert "v24.md" in names("2.4 #2")  # "#2" holds no letter: a word, not a tag
    assert names("release in:journal") == ["d1.md"]
    assert names('release path:"journal"') == ["d1.md"]
    # Nothing typed is an error: stray quotes and dashes are text.
    for odd in ('"release', 'release"', '- release', '""', "tag:", "-", '"'):
        library.search(odd, k=5)
    library.close()


def test_path_filters_match_names_in_any_case_and_unicode_form(tmp_path):
    """macOS writes file names decomposed ("e" + combining accent); "path:café" typed
    composed, or in capitals, must still find the note."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Réunions/Café Ödeme.md")
    library = library_of(tmp_path, {decomposed: "# Café\nOrdered more beans.\n",
                                    "Other/Cafe.md": "# Other\nOrdered more beans.\n"})

    def names(query):
        return [unicodedata.normalize("NFC", Path(r.path).name)
                for r in library.search(query, k=5, mode="words").results]

    for query in ("beans path:café", "beans path:RÉUNIONS", "beans in:réunions",
                  "beans path:ödeme", "beans path:ÖDEME"):
        assert names(query) == ["Café Ödeme.md"], query
    assert names("beans path:other") == ["Cafe.md"]
    library.close()


def test_tag_filters_match_tags_in_any_case_and_unicode_form(tmp_path):
    import unicodedata

    library = library_of(tmp_path, {
        "a.md": unicodedata.normalize("NFD", "# A\nBeans. #Café/Öffnungszeiten\n"),
        "b.md": "# B\nBeans. #İstanbul\n", "c.md": "# C\nBeans. #cafeteria\n"})

    def names(query):
        return sorted(Path(r.path).name for r in library.search(query, k=5, mode="words").results)

    for query in ("beans tag:café", "beans tag:CAFÉ", "beans tag:café/öffnungszeiten"):
        assert names(query) == ["a.md"], query
    assert names("beans tag:istanbul") == ["b.md"]
    assert names("beans tag:İstanbul") == ["b.md"]
    library.close()


def test_a_pasted_long_text_is_embedded_within_the_models_window(sample_library, e5):
    from notesearch.core.tokens import fit_to_window

    note = sample_library.notes_root / "garden/Tomato blight.md"
    pasted = (note.read_text(encoding="utf-8") + "\n") * 40  # ~40 times the note, pasted
    clipped = fit_to_window(pasted, e5.count_tokens, e5.max_tokens, at_sentence=True)
    assert len(clipped) < len(pasted) and e5.count_tokens(clipped) <= e5.max_tokens
    assert e5.count_tokens(clipped) > e5.max_tokens * 0.8  # the window is used, not wasted
    assert fit_to_window("brown spots", e5.count_tokens, e5.max_tokens) == "brown spots"
    found = sample_library.search(pasted, k=3).results
    assert found[0].path.endswith("garden/Tomato blight.md")
    # A search reads less of it: a page's start says what it is about, and a 512-token query
    # cost three times what 256 do (ski-rental of the model's time against a typed query).
    from notesearch.core.search import QUERY_TOKENS

    window = sample_library.searcher().query_window(pasted)
    assert pasted.startswith(window)
    assert QUERY_TOKENS * 0.8 < e5.count_tokens(window) <= QUERY_TOKENS < e5.max_tokens
    assert sample_library.searcher().query_window("brown spots") == "brown spots"


def test_a_misspelt_word_is_corrected_in_a_query_but_not_in_a_pasted_page(sample_library):
    """A typed "bligt" is searched as "blight"; in a pasted page (over 32 terms) the unknown
    words are left as they are (each look-up cost 15 ms: a pasted transcript took 0.9 s)."""
    assert sample_library.search("tomato bligt", k=3).corrections == {"bligt": "blight"}
    page = ("Copied from the allotment forum: my tomato plants got bligt again this July. "
            "First the lower leaves showed brown spots with yellow rings, then the stems went "
            "dark and the fruit rotted before it ripened. Neighbours say the wet weather and "
            "watering the foliage in the evening spread the fungus; they remove infected "
            "leaves, mulch the soil and rotate beds every season.")
    response = sample_library.search(page, k=3)
    assert response.corrections == {}
    assert response.results[0].path.endswith("garden/Tomato blight.md")


def test_snippets_show_the_prose_not_the_markup(tmp_path):
    from tests.helpers import open_library

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "queries.md").write_text(
        "- **How to write queries?**\n  created-at:: 1609230242742\n  id:: 5feb30e3-fedc\n"
        "\t- Simple queries find blocks.\n\t  #+BEGIN_EXAMPLE\n\t  {{query todo}}\n"
        "\t  #+END_EXAMPLE\n\t  [:div [:img {:src \"https://cdn.example.com/photo.jpeg\"}]]\n"
        '\t  <iframe src="https://www.loom.com/embed/32de7382"></iframe>\n'
        "\t  See [the guide](https://docs.example.com/queries) for more. ^a1B2c3D4\n")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    snippet = library.search("simple queries guide", k=1, mode="words").results[0].snippet.text
    for markup in ("created-at::", "id::", "#+BEGIN", "[:img", "<iframe", "https://", "^a1B2"):
        assert markup not in snippet, markup
    assert "Simple queries find blocks." in snippet and "the guide" in snippet
    library.close()


def test_a_misspelt_word_is_searched_as_the_word_the_notes_use(tmp_path):
    """"botom" is in no note: the keyword list searches "bottom", highlights it and says so;
    a real word the notes lack ("knitting") is not bent into a word they have ("init")."""
    library = library_of(tmp_path, {
        "Footnotes.md": "# Footnotes\nNumbered remarks at the bottom of the page.\n",
        "Setup.md": "# Setup\nRun init once, then commit.\n",
        "Other.md": "# Other\nNothing about pages here.\n"})
    response = library.search("remarks botom", k=3, mode="words")
    assert response.corrections == {"botom": "bottom"}
    assert response.spelling_note() == "No note has “botom”: searched for “bottom”."
    assert response.results[0].title == "Footnotes"
    snippet = response.results[0].snippet
    assert {snippet.text[a:b].lower() for a, b in snippet.highlights} == {"remarks", "bottom"}
    assert response.to_json()["corrections"] == {"botom": "bottom"}
    only_typo = library.search("botom", k=3, mode="words")
    assert [r.title for r in only_typo.results] == ["Footnotes"]
    assert library.search("knitting", k=3, mode="words").corrections == {}
    # A word still being typed is matched as a prefix, not corrected.
    assert library.search("remarks bot", k=3, mode="words", as_you_type=True).corrections == {}
    assert library.search("Setup", k=3, mode="words").corrections == {}
    library.close()


def test_similar_notes_say_how_close_they_are_in_words(sample_library):
    """Cosines alone all read 0.88-0.97; the words compare a neighbour with the note's
    closeness to the library at large."""
    from notesearch.core.search import STRENGTHS

    meeting = sample_library.notes_root / "work/meetings/meeting-2024-05-02.md"
    results = sample_library.similar(meeting, k=10)
    order = [word for _, word in STRENGTHS] + ["loosely related"]
    ranks = [order.index(r.strength) for r in results]
    assert ranks == sorted(ranks)  # closer neighbours never get a weaker word
    assert "meeting" in results[0].path and results[0].strength in ("very similar", "similar")
    assert ranks[-1] > ranks[0]  # and the words tell neighbours apart
    # Another meeting note is at least related: with the mean and deviation of the baseline
    # (the note's own passages and its copy stretch it in a small library) it read "loosely".
    sync = next(r for r in results if "platform sync" in r.path)
    assert sync.strength in ("very similar", "similar", "related"), sync.strength
    assert results[0].to_json()["strength"] == results[0].strength
    assert "confidence" not in results[0].to_json()  # a search's measure, not a neighbour's


def test_similar_before_anything_is_embedded_finds_nothing_instead_of_failing(tmp_path, e5):
    """`notesearch similar --text` on a library read but not yet embedded (the one-shot CLI
    reads vectors through sqlite-vec, which then has no space to sample a baseline from)."""
    from notesearch.core.library import Library

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("# Tea\nGreen tea wants water below boiling.\n")
    library = Library(home=tmp_path / "home", embedder=e5, vectors_in_memory=False)
    library.add_folder(notes)
    library.scan()
    assert library.similar_text("a cup of green tea") == []
    library.close()


def test_forms_of_one_word_are_read_from_the_index_once(tmp_path):
    """"rotates", "rotating" and "rotate" are one word to the index (its stem): the notes
    holding it are read at the first and kept for the others until the notes change."""
    library = library_of(tmp_path, {
        "Crops.md": "Crop rotation rotates what grows where.",
        "Tyres.md": "Rotating the tyres evens their wear.",
        "Bread.md": "Bread rises overnight.",
    })
    reads: list[str] = []
    library.searcher().conn.set_profile(
        lambda sql, _ns: reads.append(sql) if "bm25(notes_fts" in sql else None)
    found = [{r.title for r in library.search(word, k=5, mode="words").results}
             for word in ("rotates", "rotating", "rotate")]
    assert found == [{"Crops", "Tyres"}] * 3
    assert len(reads) == 1
    library.close()


def test_a_word_new_to_the_notes_becomes_a_correction_once_the_vocabulary_is_read_again(
        tmp_path, monkeypatch):
    """Spelling reads the notes' vocabulary whole and keeps it (a look-up per neighbour cost
    9-56 ms a word); after the notes change it is read again once it is old enough."""
    from notesearch.core import keywords

    library = library_of(tmp_path, {"Soup.md": "# Soup\nLeek and potato soup.\n"})
    assert library.search("kohlrabbi", k=3, mode="words").corrections == {}
    (library.notes_root / "Kohlrabi.md").write_text("# Kohlrabi\nKohlrabi slaw.\n",
                                                    encoding="utf-8")
    library.scan()
    # Within the age limit the vocabulary read before the change still answers.
    assert library.search("kohlrabbi", k=3, mode="words").corrections == {}
    monkeypatch.setattr(keywords, "VOCABULARY_MAX_AGE", 0.0)
    response = library.search("kohlrabbi", k=3, mode="words")
    assert response.corrections == {"kohlrabbi": "kohlrabi"}
    assert [r.title for r in response.results] == ["Kohlrabi"]
    library.close()


def test_similar_notes_of_an_empty_note_say_it_has_nothing_to_compare(tmp_path, e5):
    """An empty note gets no vector by design: "find similar" must say so, not suggest
    indexing again (it did, with every note embedded)."""
    from tests.helpers import cli_here

    library = library_of(tmp_path, {"empty.md": "", "Tea.md": "# Tea\nGreen tea, cool water.\n",
                                    "Coffee.md": "# Coffee\nBeans ground fine.\n"}, e5)
    assert library.similar("empty.md") == []
    assert library.why_no_similar("empty.md") == ("it has no words of its own to compare "
                                                  "(an empty note)")
    assert library.similar("Tea.md")  # the others are embedded
    library.close()
    said = cli_here(tmp_path / "home", "similar", str(library.notes_root / "empty.md"))
    assert said.returncode == 0
    assert said.stdout.strip() == ("No similar notes: it has no words of its own to compare "
                                   "(an empty note).")


def test_filters_that_leave_no_note_say_which(tmp_path, monkeypatch):
    """"No notes found" for a tag, folder or path part no note has told the person nothing;
    the search names the filter. A folder typed relative to the library is found there."""
    from tests.helpers import cli_here

    library = library_of(tmp_path, {
        "getting-started/Shortcuts.md": "# Shortcuts\nKeyboard shortcuts. #howto\n",
        "recipes/Soup.md": "# Soup\nLeek soup. #recipe\n",
    })
    cases = {
        "shortcuts tag:nosuchtag": "No note is tagged #nosuchtag.",
        'shortcuts in:"getting started"': "No note’s path contains “getting started”.",
        "shortcuts tag:recipe in:getting-started":
            "No note passes all of these filters together.",
    }
    for query, said in cases.items():
        response = library.search(query, k=5)
        assert response.results == [] and response.filter_note == said, query
        assert response.to_json()["filter_note"] == said
    assert library.search("shortcuts tag:howto", k=5).filter_note is None
    monkeypatch.chdir(tmp_path)  # not the notes folder: "getting-started" is not here
    assert library.folder_filter("getting-started") == str(
        (library.notes_root / "getting-started").resolve())
    library.close()
    home = tmp_path / "home"
    found = cli_here(home, "search", "--mode", "words", "--folder", "getting-started",
                     "shortcuts")
    assert "Shortcuts" in found.stdout, found.stdout
    missing = cli_here(home, "search", "--mode", "words", "--folder", "nowhere", "shortcuts")
    assert missing.stdout.strip() == f"No note is in the folder “{tmp_path / 'nowhere'}”."


def test_a_prefix_is_judged_by_what_the_index_searches(tmp_path):
    """FTS5 stems a prefix before matching it: typing "cos" searched "co"*, every note with
    a word starting "co" (most of a library, and slow); a prefix that stems below three
    letters waits for the next letter, as one or two typed letters do."""
    from notesearch.core.text import typed_prefix

    assert typed_prefix("cos") is None and typed_prefix("cosm") == "cosm"
    assert typed_prefix("daily variation of cos") is None
    assert typed_prefix("docs") == "docs"  # searched as "doc"*: three letters
    library = library_of(tmp_path, {
        "Cosmic rays.md": "# Cosmic rays\nParticles from space.\n",
        "Company.md": "# Company\nCould we cooperate on costs?\n",
    })
    assert [r.title for r in library.search("cosm", k=5, mode="words",
                                            as_you_type=True).results] == ["Cosmic rays"]
    assert "Company" not in [r.title for r in library.search(
        "cos", k=5, mode="words", as_you_type=True).results]
    library.close()


def test_a_prefix_is_budgeted_by_every_word_it_begins(tmp_path, monkeypatch):
    """A short prefix of a common beginning ("con" at 100k notes: 50-100 ms) costs the
    postings of every word it begins; past the budget it waits for the next letter, unless
    it is the only word typed."""
    from notesearch.core import keywords

    library = library_of(tmp_path, {
        "Concert.md": "A concert.", "Contract.md": "A contract.", "Cone.md": "A cone.",
        "Consul.md": "A consul.", "Violin.md": "Violin practice, and a concert after it.",
    })
    searcher = library.searcher()
    assert searcher.keywords.prefix_postings("con") == 5  # concert (2 notes) and three more
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 3)

    def found(typed: str) -> list[str]:
        return sorted(r.title for r in library.search(typed, k=10, mode="words",
                                                         as_you_type=True).results)

    assert found("violin con") == ["Violin"]  # "con" waits: five postings, budget three
    assert found("violin conc") == ["Concert", "Violin"]  # two postings: searched
    assert found("con") == ["Concert", "Cone", "Consul", "Contract", "Violin"]  # alone
    library.close()


def test_a_real_word_no_note_holds_is_not_corrected_into_a_typo(tmp_path, e5):
    """"morning" is a word of the model's vocabulary: it is searched as typed, not as
    "moreing" (one edit away, and stemmed to "more", which the notes hold). A typo still is
    corrected."""
    library = library_of(tmp_path, {
        "Bread.md": "# Bread\nMore flour makes a firmer loaf; bake it in the oven.\n",
        "Kites.md": "# Kites\nKites need wind.\n"}, embedder=e5)
    assert library.search("morning bread", k=3).corrections == {}
    assert library.search("bred in the ovem", k=3).corrections == {"ovem": "oven"}
    library.close()


def test_a_word_is_corrected_only_to_a_word_the_notes_write(tmp_path):
    """"invoice" less its "i" is "invoce", whose stem "invoc" is that of "invocation": the
    notes never write a word one edit from "invoice", so it is searched as typed (a fresh
    user saw "searched for invoce" over a note about an invocation). "botom" still finds
    the "bottom" the notes write."""
    library = library_of(tmp_path, {
        "Batch.md": "# Batch\nThe server makes every edit in one invocation.\n",
        "Shelf.md": "# Shelf\nThe jars go on the bottom shelf.\n"})
    response = library.search("invoice", k=3, mode="words")
    assert response.corrections == {} and response.results == []
    assert library.search("botom shelf", k=3, mode="words").corrections == {"botom": "bottom"}
    library.close()


def test_a_word_is_corrected_only_by_a_slip_of_the_keyboard(tmp_path):
    """A fresh-user trial of a multilingual folder: "security deposit for the apartment
    lease" was searched as "leave" (s and v are far apart on the keyboard) and "braised pork
    belly" as the Spanish "por" (a k typed after an r). Neither is a typo; a letter dropped,
    swapped, doubled or hit beside the one meant still is."""
    library = library_of(tmp_path, {
        "Urlaub.md": "# Leave\nTake leave in August; the office is closed.\n",
        "Tortilla.md": "# Tortilla\nPatatas, huevos y cebolla; por la noche.\n",
        "Kitchen.md": "# Kitchen\nThe bottom shelf holds the oven trays and the kohlrabi.\n"})
    assert library.search("apartment lease", k=3, mode="words").corrections == {}
    assert library.search("pork belly", k=3, mode="words").corrections == {}
    for typo, meant in (("botom", "bottom"), ("ovem", "oven"), ("kohlrabbi", "kohlrabi"),
                        ("sehlf", "shelf"), ("trayss", "trays"), ("ovean", "oven")):
        assert library.search(typo, k=3, mode="words").corrections == {typo: meant}, typo
    library.close()


def test_a_common_word_of_the_querys_language_is_not_corrected(tmp_path):
    """A fresh-user trial: "guitar chord progressions for beginners" was searched as "chore"
    (a changelog says "chore: bump dependencies"): the model's vocabulary splits "chord",
    but the word lists hold it as a common English word (lexicon.is_common_word), so it is
    searched as typed. A typo is still corrected, and a common word the notes write as two
    words is still split."""
    library = library_of(tmp_path, {
        "Changelog.md": "# Changelog\nchore: bump dependencies; fix the build.\n",
        "Login.md": "# Login\nEnter your user name and password, then the code.\n"})
    assert library.search("guitar chord progressions", k=3, mode="words").corrections == {}
    assert library.search("chroe bump", k=3, mode="words").corrections == {"chroe": "chore"}
    assert library.search("username", k=3, mode="words").corrections == {
        "username": "user name"}
    library.close()


def test_a_closed_compound_is_searched_as_the_two_words_the_notes_write(tmp_path, e5):
    """A fresh-user trial on foam-docs: "spellchecker extension" found the page on spell
    checking by meaning alone, at 14% under "no good match": no note writes "spellchecker"
    (they write "spell checker" and "spell-checking"), and the word was taken for a made-up
    one. Now it is searched as the two words, said so, and found by them. Two parts the
    notes hold but never side by side are no split ("cartwheel": "cart", "wheel")."""
    library = library_of(tmp_path, {
        "Spell checking.md": "# Spell checking\nInstall a spell-checker extension; the spell "
                             "checker marks unknown words.\n",
        "Extensions.md": "# Extensions\nEvery extension this workspace recommends.\n",
        "Cart.md": "# Cart\nThe cart lost a wheel on the way to the market.\n"}, embedder=e5)
    response = library.search("spellchecker extension", k=3)
    assert response.corrections == {"spellchecker": "spell checker"}
    assert response.spelling_note() == \
        "No note has \u201cspellchecker\u201d: searched for \u201cspell checker\u201d."
    assert response.results[0].title == "Spell checking"
    assert response.results[0].confidence >= WEAK_MATCH and not response.weak
    assert library.search("cartwheel", k=3).corrections == {}
    library.close()


def test_a_correction_a_note_is_titled_by_is_preferred(tmp_path, e5):
    """A fresh-user trial: "akrasa" was searched as "akasa", a Sanskrit word three notes
    use, not as "akrasia", the subject of the note "Akrasia" (one edit away as well). A
    word in ten times as many notes still wins over a title ("bttle": bottle, not Battle)."""
    library = library_of(tmp_path, {
        "Akrasia.md": "Acting against one's better judgement: weakness of will.\n",
        **{f"Elements {n}.md": f"Earth, water, fire, air and akasa, the ether ({n}).\n"
           for n in range(3)},
        "Battle.md": "Hastings, 1066.\n",
        **{f"Pantry {n}.md": f"A glass bottle of olive oil ({n}).\n" for n in range(12)}},
        embedder=e5)
    response = library.search("akrasa", k=3, mode="words")
    assert response.corrections == {"akrasa": "akrasia"}
    assert response.results[0].title == "Akrasia"
    assert library.search("bttle", k=3, mode="words").corrections == {"bttle": "bottle"}
    library.close()


def test_a_word_no_note_holds_reports_no_good_match(tmp_path, sample_index, e5):
    """A fresh user on the Logseq docs searched "dinosaur": no note says it, and a two-line
    stub note came first by meaning at 89%. With the same stub among the sample notes it
    came first at 58% ("volcano" too). With no word of the query in any note, written as the
    query is, the closest notes are still listed, as no good match."""
    from notesearch.core.fusion import ABSENT_WORDS_CEILING
    from tests.helpers import copy_sample_index

    library = copy_sample_index(sample_index, tmp_path, e5)
    (library.notes_root / "OneStutteringMind.md").write_text(
        "- Discord user @Dario\n- YouTube channel: "
        "https://www.youtube.com/channel/UCz7EgrAosr5FRF3IErGV-yQ\n", encoding="utf-8")
    library.index()
    for word in ("dinosaur", "volcano"):
        response = library.search(word, k=5)
        assert response.results and response.weak, word
        assert response.results[0].confidence <= ABSENT_WORDS_CEILING
    library.close()


def test_the_script_of_a_query_and_of_a_passage_is_told_apart() -> None:
    """An English query over Chinese notes shares no word with them and is not held to the
    rule above: the two are told apart by script."""
    from notesearch.core.text import mostly_cjk

    assert mostly_cjk("红烧肉做法：五花肉 500g, 冰糖") and not mostly_cjk("braised pork belly")
    assert not mostly_cjk("Use `git log` to see 提交") and not mostly_cjk("2024-09-09 ...")


def test_a_word_gone_from_the_notes_is_not_corrected_to_its_own_stem(tmp_path):
    """After the only note with "devcontainer" drops it, the kept vocabulary still has its
    stem for a while; searching the word must not "correct" it to "devcontaine"."""
    library = library_of(tmp_path, {"Setup.md": "# Setup\nOpen the devcontainer first.\n",
                                    "Other.md": "# Other\nNothing here.\n"})
    assert [r.title for r in library.search("devcontainer", k=3, mode="words").results] == \
        ["Setup"]
    # A typo reads the vocabulary, which then serves for a while after the notes change.
    assert library.search("frist", k=3, mode="words").corrections == {"frist": "first"}
    (library.notes_root / "Setup.md").write_text("# Setup\nOpen the editor first.\n",
                                                 encoding="utf-8")
    library.scan()
    response = library.search("devcontainer", k=3, mode="words")
    assert response.corrections == {} and response.results == []
    library.close()


def test_a_tag_alone_lists_its_notes_without_correcting_the_tag(tmp_path):
    """A user's report: "tag:trial" said 'No note has “trial”: searched for “trail”' and
    "No good match" over the one note tagged #trial."""
    library = library_of(tmp_path, {
        "a.md": "---\ntags: [trial, recipies]\n---\n# Deep note\n\nSomething about gardening.\n",
        "b.md": "# Other\n\nA trail through the woods; recipes for the road.\n"})
    for query in ("tag:trial", "#trial", "#recipies"):  # a tag is a name, not a typo
        response = library.search(query, k=5)
        assert [r.title for r in response.results] == ["Deep note"], query
        assert response.corrections == {} and not response.weak, query
    library.close()


def test_every_note_holding_the_one_word_typed_counts_as_holding_it(tmp_path):
    """Query-term coverage is worked out for the best ten notes by words; with one word
    typed, the eleventh holds it as much as the first (it was shown at 0%, a fresh user saw
    "Using Foam" 11th for "foam", labelled a meaning match)."""
    notes = {f"n{i:02}.md": f"# Note {i:02}\nA kite on the beach, day {i:02}.\n"
             for i in range(14)}
    library = library_of(tmp_path, notes)
    found = library.search("kite", k=14, mode="words").results
    assert len(found) == 14
    assert {r.match for r in found} == {"words"}  # (a search by words had said "both")
    chances = [r.confidence for r in found]
    assert min(chances) >= 0.5 * max(chances)
    library.close()


def test_an_excerpt_shows_a_bare_web_address_as_a_browser_does(tmp_path):
    """A fresh-user trial: a router note's excerpt read "Admin page: (password on the
    sticker…)", its address left out, though a search for the address found it; an earlier
    trial had read "(see )" where one had been. A bare address shows without its scheme,
    a long one cut; a link's target and a tool's own address (dendron://) still go; code's
    "f()" and a task's "[ ]" are the person's own and stay."""
    library = library_of(tmp_path, {"Setup.md": (
        "# Setup\nInstall the extension (see https://example.org/docs/setup) first.\n"
        "- [ ] call init() (<https://www.example.org/init>) after [the guide](https://x.org/g)"
        "\n"), "Wifi.md": (
        "# Wifi and router settings\nFritzBox 7590. Admin page: http://192.168.178.1 "
        "(password on the sticker at the bottom). Release notes: https://en.avm.de/service/"
        "downloads/fritzbox-7590/release-notes/ and [[FAQ|dendron://site/faq]].\n")})
    snippet = library.search("install extension init", k=1, mode="words").results[0].snippet
    assert snippet.text == ("Setup — Install the extension (see example.org/docs/setup) first. "
                            "• ☐ call init() (example.org/init) after the guide")
    router = library.search("192.168.178.1", k=1, mode="words").results[0].snippet
    assert "Admin page: 192.168.178.1 (password on the sticker at the bottom)." in router.text
    assert "Release notes: en.avm.de/service/downloads/… and FAQ." in router.text
    at = router.text.index("192.168.178.1")
    assert [router.text[a:b] for a, b in router.highlights if at <= a < at + 13] == \
        ["192", "168", "178", "1"]  # the address is marked where it is shown
    library.close()


def test_an_excerpt_shows_nothing_of_an_embed_whose_target_was_a_url(tmp_path):
    """A fresh-user trial: a FAQ's excerpt read "Publishing — !  Search and Filtering", the
    "!" left of `![[dendron://…]]`; an embed written in code stays as written."""
    library = library_of(tmp_path, {"FAQ.md": (
        "# FAQ\n## Publishing\n\n![[dendron://dendron.dendron-site/dendron.topic.faq]]\n\n"
        "## Search and Filtering\nWrite `![[note]]` to embed a note.\n")})
    snippet = library.search("publishing", k=1, mode="words").results[0].snippet
    assert "Publishing" in snippet.text and "![[note]]" in snippet.text
    assert "!" not in snippet.text.replace("![[note]]", "")
    library.close()


def test_an_excerpt_cut_inside_inline_code_keeps_the_codes_pipes(tmp_path):
    """A fresh-user trial: the excerpt "…host -showcerts` for the full chain • Check expiry:
    `echo | openssl s_client …`" opened inside one code span, so its backticks paired the
    wrong way and the command's pipes read "echo · openssl": copied, a broken command. An
    edge that would cut inline code takes it in, or leaves it out, whole."""
    library = library_of(tmp_path, {"TLS.md": (
        "# Debugging TLS / certificate problems\n\n"
        "- `curl -v https://api.internal.example.com` shows the handshake and which cert was "
        "served\n"
        "- `openssl s_client -connect host:443 -servername host -showcerts` for the full chain\n"
        "- Check expiry: `echo | openssl s_client -connect host:443 2>/dev/null | openssl x509 "
        "-noout -dates`\n"
        "- \"unable to get local issuer certificate\" = intermediate missing from the chain\n"
        "- Never \"fix\" with `curl -k` in scripts\n")})
    snippet = library.search("check certificate expires", k=1, mode="words").results[0].snippet
    assert "echo | openssl s_client" in snippet.text, snippet.text
    assert "·" not in snippet.text, snippet.text
    library.close()


def test_the_cli_refuses_a_number_of_results_below_one(capsys) -> None:  # noqa: ANN001
    """`search -k -3` listed 43 results and `-k 0` said "No notes found."; both are a
    mistake to point out, before any library is opened."""
    from notesearch.cli import main

    for args in (["search", "-k", "-3", "flashcards"], ["search", "-k", "0", "flashcards"],
                 ["similar", "-k", "many", "Flashcards"]):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 2
        assert "argument -k:" in capsys.readouterr().err


def test_a_search_of_an_empty_library_says_how_to_add_notes(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001, E501
    """A fresh-user trial: `notesearch search` before any `index` said only "No notes
    found.", as if the notes held nothing on the subject."""
    from notesearch.cli import main
    from notesearch.core.config import HOME_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["search", "daily notes"]) == 0
    assert capsys.readouterr().out.strip() == ("The library has no notes yet: add your notes "
                                               "folder with `notesearch index ~/notes`.")
    library = library_of(tmp_path, {"Kites.md": "# Kites\nKites need wind.\n"})
    library.close()
    assert main(["search", "--mode", "words", "volcano"]) == 0
    assert capsys.readouterr().out.strip() == "No notes found."


def test_a_logseq_namespace_filters_as_its_title_shows_it(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001, E501
    """Titles read "Whiteboard/Tool/Eraser", but in:"Whiteboard/Tool" found no note (the file
    is Whiteboard___Tool___Eraser.md); and `search --tag T` with no words said "Give a
    query" where "#T" alone lists the tag's notes."""
    from notesearch.cli import main
    from notesearch.core.config import HOME_ENV

    library = library_of(tmp_path, {
        "pages/Whiteboard___Tool___Eraser.md": "tags:: drawing\n\n- Rub out strokes.\n",
        "pages/Whiteboard.md": "- A canvas for shapes and strokes.\n"})
    for query in ('in:"Whiteboard/Tool" strokes', 'in:"Whiteboard___Tool" strokes'):
        assert [r.title for r in library.search(query, k=5, mode="words").results] == \
            ["Whiteboard/Tool/Eraser"]
    library.close()
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["search", "--tag", "drawing"]) == 0
    assert "Whiteboard/Tool/Eraser" in capsys.readouterr().out


def test_a_word_being_typed_shows_what_it_matched_and_is_corrected_when_it_can_begin_none(
        tmp_path) -> None:  # noqa: ANN001
    """From fresh users' trials: typed without a space after it, a misspelt word showed
    results but neither a correction nor a highlight. A word being typed whose head begins
    an indexed word ("whitebord": "whitebo…") is matched by that head, and the excerpt now
    marks what it matched; one that can begin no word ("flaschards") is corrected at once."""
    library = library_of(tmp_path, {
        "Canvas.md": "# Canvas\nDraw on the whiteboard with shapes and arrows.\n",
        "Cards.md": "# Cards\nReview your flashcards every morning.\n"})
    response = library.search("whitebord", k=1, mode="words", as_you_type=True)
    best = response.results[0]
    assert best.title == "Canvas" and response.corrections == {}
    assert [best.snippet.text[a:b] for a, b in best.snippet.highlights] == ["whiteboard"]
    response = library.search("flaschards", k=1, mode="words", as_you_type=True)
    assert response.corrections == {"flaschards": "flashcards"}
    assert response.results[0].title == "Cards"
    library.close()


def test_the_cli_takes_a_word_to_leave_out_without_quotes_or_dashes(tmp_path, monkeypatch,
                                                                    capsys) -> None:  # noqa: ANN001
    """`notesearch search -肌酸` failed with "unrecognized arguments" (a fresh user's trial):
    a word after a dash is a word to leave out, as in the search box."""
    import json

    from notesearch.cli import main
    from notesearch.core.config import HOME_ENV

    library = library_of(tmp_path, {"Kites.md": "# Kites\nKites need wind.\n",
                                    "Kite repair.md": "# Kite repair\nPatch the kite sail.\n",
                                    "Tea.md": "# Tea\n绿茶和肌酸。\n"})
    library.close()
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["search", "--json", "--mode", "words", "kite", "-wind"]) == 0
    found = [r["title"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert found == ["Kite repair"]
    assert main(["search", "--json", "-肌酸"]) == 0
    assert "Tea" not in [r["title"] for r in json.loads(capsys.readouterr().out)["results"]]
    with pytest.raises(SystemExit):
        main(["search", "--bogus", "kite"])


def test_the_folders_offered_to_narrow_a_search_go_as_deep_as_the_notes(tmp_path) -> None:
    """A Chinese vault kept topics as 2-Area/运动与健康; the app's "In:" menu offered only
    2-Area. Every folder holding notes is offered (the shallowest, past the limit), and
    each narrows the search."""
    library = library_of(tmp_path, {"2-Area/运动与健康/肌酸.md": "# 肌酸\n每天三克。\n",
                                    "2-Area/云计算/VPC.md": "# VPC\n对等连接。\n",
                                    "Inbox.md": "# Inbox\n"})
    root = library.notes_root
    assert library.browse_folders() == [root, root / "2-Area", root / "2-Area" / "云计算",
                                        root / "2-Area" / "运动与健康"]
    assert library.browse_folders(limit=2) == [root, root / "2-Area"]
    narrowed = library.search("肌酸", k=5, filters=Filters(
        folder=str(root / "2-Area" / "运动与健康"))).results
    assert [r.title for r in narrowed] == ["肌酸"]
    library.close()


def test_one_chinese_character_finds_the_notes_whose_words_begin_with_it(tmp_path) -> None:
    """A Chinese user's first keystroke is one character: "笔" found no note by its words
    (the index holds bigrams such as 笔记) and every result read "meaning", under "no good
    match". It now finds the notes whose words begin with it, and marks them."""
    library = library_of(tmp_path, {"卡片.md": "# 卡片\n记笔记的方法：每张卡片一个想法。\n",
                                    "跑步.md": "# 跑步\n每周跑三次，每次五公里。\n"})
    response = library.search("笔", k=5, mode="words", as_you_type=True)
    assert [r.title for r in response.results] == ["卡片"]
    best = response.results[0]
    assert "笔" in [best.snippet.text[a:b] for a, b in best.snippet.highlights]
    library.close()


def test_a_tag_s_count_is_the_notes_its_filter_leaves(tmp_path) -> None:
    """The app's tag menu said "#待办 (5)" and choosing it listed 12 notes: the filter
    includes child tags, and now the count does too."""
    library = library_of(tmp_path, {"a.md": "# A\n#待办 buy tea\n",
                                    "b.md": "# B\n#待办/今天 call home\n",
                                    "c.md": "# C\n#待办/明天 #待办 write\n",
                                    "d.md": "# D\n#reading/books only\n"})
    counts = dict(library.tags())
    assert counts["待办"] == 3 and counts["待办/今天"] == 1 and counts["reading"] == 1
    listed = library.search("tag:待办", k=10, mode="words").results
    assert len(listed) == counts["待办"]
    library.close()


def test_words_to_leave_out_alone_list_the_rest_newest_first(tmp_path, e5) -> None:  # noqa: ANN001
    """`search -- "-肌酸"` listed one-letter stubs first at 100% "meaning" (an empty query by
    meaning); the notes left are now listed newest first, as filters alone are."""
    import os

    library = library_of(tmp_path, {"old.md": "# Old\n跑步记录。\n",
                                    "new.md": "# New\n睡眠记录。\n", "stub.md": "b\n",
                                    "creatine.md": "# 肌酸\n每天三克。\n"}, embedder=e5)
    for age, name in enumerate(["new.md", "stub.md", "old.md"]):
        os.utime(library.notes_root / name, (1e9 - age * 1000, 1e9 - age * 1000))
    library.scan()
    titles = [r.title for r in library.search("-肌酸", k=5).results]
    assert titles == ["New", "stub", "Old"]
    library.close()


def test_words_stemmed_together_are_stemmed_as_one_at_a_time():
    """Spelling stems the strings one edit from a word in one tokenizer call (text.stems):
    each comes out as stem() gives it, and words the tokenizer would split or drop too."""
    from notesearch.core.text import one_edit_away, stem, stems

    words = sorted(one_edit_away("pulses")) + ["happy", "naïve", "ＨＤＭＩ", "a-b", "", "Café"]
    assert stems(words) == [stem(word) for word in words]
    assert stems(["pulses", "happy"]) == ["puls", "happi"]


def test_an_excerpt_reads_as_the_note_does_for_every_front_end(tmp_path):
    """A fresh-user trial's CLI excerpts showed "[[A5.1|A5/1]]", "**…**", "==…==", "###" and
    a list of links left as "- - -"; the excerpt a search returns (CLI, --json, MCP, app)
    is now the text a reader sees, its highlights on the words."""
    library = library_of(tmp_path, {
        "GSM.md": ("GSM\n### Protocols used\n- [[Stream Ciphers]]\n- [[A5.1|A5/1]]\n"
                   "> **Ciphers** keep calls ==private== on the air.\n"
                   "# More references\n- https://a.example/gsm\n- https://b.example/gsm\n")})
    result = library.search("stream ciphers private", k=1, mode="words").results[0]
    text = result.snippet.text
    for markup in ("[[", "]]", "|", "**", "==", "###", "> ", "- -"):
        assert markup not in text, (markup, text)
    assert "• Stream Ciphers • A5/1" in text and "More references" in text
    shown = [text[a:b].lower() for a, b in result.snippet.highlights]
    assert shown and set(shown) <= {"stream", "ciphers", "private"}, shown
    assert result.to_json()["snippet"] == text
    library.close()


def test_no_highlight_is_empty_in_devanagari(tmp_path):
    """The index splits Devanagari words at their vowel signs; a fresh-user trial's verse was
    found, but its highlights held empty spans, printed as bare terminal codes."""
    library = library_of(tmp_path, {"Verse.md": "# Verse\nनिरन्तरान्धकारित दिगन्तर कन्दलदमन्द\n"})
    result = library.search("निरन्तरान्धकारित", k=1, mode="words").results[0]
    assert result.snippet.highlights
    assert all(b > a for a, b in result.snippet.highlights)
    library.close()


def test_a_tag_in_front_matter_is_found_by_its_words(tmp_path):
    """A fresh-user trial: `tags: [recipe, chinese]` filtered by #chinese, but a search for
    "chinese" found nothing, where a #tag written in the text was found (being text). Tags
    in front matter, as a list or a block, and in Logseq properties are words of the note."""
    library = library_of(tmp_path, {
        "Tofu.md": "---\ntags: [recipe, chinese]\n---\n# Mapo tofu\nSilken tofu, chili.\n",
        "Axolotl.md": "---\ntags:\n  - amphibian\n---\n# Axolotl\nLives in lakes.\n",
        "Kite.md": "tags:: outdoors\n\n- Kites need a steady wind.\n",
        "Bread.md": "# Bread\nFlour, water, salt.\n"})
    for word, title in (("chinese", "Mapo tofu"), ("amphibian", "Axolotl"),
                        ("outdoors", "Kite")):
        assert [r.title for r in library.search(word, mode="words").results] == [title]
    library.close()


def test_a_note_found_by_its_description_shows_the_description(tmp_path):
    """699 film notes of a real vault, imported from Douban, keep their synopsis in `desc:`
    and only "![image](…) Comment: ---" below it: found by the synopsis's words, they showed
    "image Comment: ---". A passage that says the words keeps its own excerpt."""
    from tests.helpers import library_of

    film = ("---\ntitle: Balloon\ntype: Movie\ndesc: A shepherd family on the Tibetan plateau "
            "is torn between faith and the modern world.\n---\n\n![image](p2623.jpg)\n\n"
            "Comment:\n---\n")
    essay = ("---\ndescription: Why a shepherd counts his flock twice\n---\n\n# Counting\n"
             "Every evening the flock is counted at the gate, then again at dawn, because "
             "wolves come at night and a missing lamb is found sooner in daylight.\n")
    library = library_of(tmp_path, {"Balloon.md": film, "Counting.md": essay,
                                    "Plateau.md": "# Plateau\nThe Tibetan plateau is high."})
    found = {r.title: r for r in library.search("tibetan shepherd", k=5).results}
    balloon = found["Balloon"].snippet
    assert balloon.text.startswith("A shepherd family on the Tibetan plateau")
    assert [balloon.text[a:b] for a, b in balloon.highlights] == ["shepherd", "Tibetan"]
    # Its passage says the words: the passage is shown, not the description.
    plateau = found["Plateau"].snippet
    assert plateau.text.endswith("The Tibetan plateau is high.")
    # The passage holds none of the words while the description does: the description.
    counting = {r.title: r for r in library.search("shepherd", k=5).results}["Counting"]
    assert counting.snippet.text == "Why a shepherd counts his flock twice"
    # Words the description lacks: the passage, which says them.
    wolves = library.search("wolves at night", k=1).results[0]
    assert wolves.title == "Counting" and "wolves come at night" in wolves.snippet.text
    library.close()


def test_an_access_token_in_a_note_is_not_shown_in_full_in_results(tmp_path):
    """A fresh-user trial saw a GitHub token printed whole in a result's excerpt (its note,
    "Obsidian Settings", came up for a query about pizza). Excerpts show a token's prefix
    only; the note is still found by the token, and its file is untouched."""
    from tests.helpers import library_of

    token = "ghp_" + "Zq81kLmN0pQrStUvWxYz" * 2
    library = library_of(tmp_path, {
        "Obsidian Settings.md": f"Github PAT for the sync plugin\n\n{token}\n",
        "Pizza.md": "# Pizza\nThe dough rests overnight.\n"})
    result = library.search("github pat sync", k=1, mode="words").results[0]
    assert result.title == "Obsidian Settings"
    assert "••••" in result.snippet.text and token[4:] not in result.snippet.text
    assert library.search(token, k=1, mode="words").results[0].title == "Obsidian Settings"
    assert token in (library.notes_root / "Obsidian Settings.md").read_text()
    library.close()


def test_the_query_is_embedded_on_another_thread_while_the_keywords_are_read(sample_library):
    """The model runs beside the keyword list (Searcher._embed_ahead), with the same results
    as a search whose query vector is already kept."""
    import threading

    searcher = sample_library.searcher()
    threads: list[str] = []

    class Recording:
        """The real embedder, noting the thread each query is embedded on."""

        def __init__(self, inner) -> None:  # noqa: ANN001
            self.inner = inner

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self.inner, name)

        def embed_query(self, text: str):  # noqa: ANN201
            threads.append(threading.current_thread().name)
            return self.inner.embed_query(text)

    searcher.embedder = Recording(searcher.embedder)
    query = "plants that climb a trellis in the shade"
    first = searcher.search(query)
    again = searcher.search(query)  # its vector is kept: nothing is embedded
    assert len(threads) == 1 and threads[0].startswith("notesearch-query")
    assert threads[0] != threading.current_thread().name
    assert [(r.title, r.confidence) for r in first.results] == \
        [(r.title, r.confidence) for r in again.results]
    assert first.results and first.meaning_unavailable is None


def test_german_written_without_umlaut_keys_finds_the_umlauts(tmp_path):
    """A fresh-user trial: "Rueckenschmerzen", as German is typed without ä, ö, ü keys,
    found nothing beside a note of "Rückenschmerzen"."""
    library = library_of(tmp_path, {
        "Rücken.md": "# Rückenschmerzen\nÜbungen gegen Rückenschmerzen: Katzenbuckel und "
                     "Brücke, dazu Äpfel und Gemüse; für den Rücken gut.\n",
        "Fur.md": "# Fur\nThe cat's fur sheds in spring.\n",
        "Quellen.md": "# Quellen\nDie Quelle des Zitats steht im Anhang.\n"})
    response = library.search("Rueckenschmerzen Uebungen", k=3, mode="words")
    assert [Path(r.path).name for r in response.results] == ["Rücken.md"]
    assert response.corrections == {"rueckenschmerzen": "rückenschmerzen",
                                    "uebungen": "übungen"}
    assert response.spelling_note().startswith("No note has")
    for typed in ("Aepfel", "Gemuese", "Bruecke"):
        assert library.search(typed, k=3, mode="words").results, typed
    # The umlaut, not the English word of the same stem the index holds ("fur").
    assert library.search("fuer", k=3, mode="words").corrections == {"fuer": "für"}
    library.close()


def test_a_word_of_the_querys_language_is_not_corrected_into_another_languages(tmp_path):
    """A fresh-user trial: "Tipps zum besseren Einschlafen" was searched as "tips", and "No
    note has “tipps”" read as if the German word were a typo. In a query decidedly German,
    a German word is not corrected into a word German lacks; into a German one it still is,
    and an English query's typo as before."""
    library = library_of(tmp_path, {
        "Sleep.md": "# Sleep hygiene\nTips: no screens after ten, a cool and dark bedroom.\n",
        "Schlaf.md": "# Schlafen\nDie Kinder schlafen um acht; vorher wird vorgelesen.\n"})
    assert library.search("Tipps zum besseren Einschlafen", k=3, mode="words"
                          ).corrections == {}
    assert library.search("bedrom tips", k=3, mode="words").corrections == {
        "bedrom": "bedroom"}
    library.close()


def test_similar_notes_of_a_note_in_one_language_find_its_translation(tmp_path, e5,
                                                                      monkeypatch):
    """A fresh-user trial of a German and English folder: a German note's similar notes were
    German notes of other topics, "related" though unrelated, and a translation "loosely
    related". What each side's language adds is taken out (vectors.Centring): on
    tldr-pages' German pages beside English ones, a page's translation came first 59 -> 88
    times of 120."""
    # A library this small moves its means little (CENTRE_PRIOR_*): let its groups count.
    monkeypatch.setattr("notesearch.core.vectors.CENTRE_PRIOR_ROWS", 1)
    monkeypatch.setattr("notesearch.core.vectors.CENTRE_PRIOR_GROUP_ROWS", 1)
    german = {
        "de/Sauerteig.md": "# Sauerteig\n\nDen Sauerteig zweimal täglich mit Mehl und Wasser "
                           "füttern; vor dem Backen muss er sich über Nacht verdoppeln.\n",
        "de/Fahrrad.md": "# Fahrrad\n\nDen Schlauch flicken: Reifen abnehmen, das Loch im "
                         "Wasserbad suchen, aufrauen, Flicken aufkleben.\n",
        "de/Steuer.md": "# Steuererklärung\n\nBelege für Fahrtkosten und Arbeitszimmer bis "
                        "Ende Mai sammeln und die Erklärung über Elster abgeben.\n",
        "de/Garten.md": "# Tomaten\n\nDie Tomaten im Mai auspflanzen, Geiztriebe ausbrechen "
                        "und nur von unten gießen, damit die Blätter trocken bleiben.\n",
        "de/Urlaub.md": "# Packliste\n\nReisepass, Ladekabel, Regenjacke, Wanderschuhe und "
                        "Sonnencreme für die Woche in den Bergen einpacken.\n",
        "de/Zahnarzt.md": "# Zahnarzt\n\nDie Wurzelbehandlung dauerte zwei Sitzungen; danach "
                          "kommt eine Krone, die Versicherung zahlt die Hälfte.\n"}
    english = {
        "en/Sourdough.md": "# Sourdough\n\nFeed the sourdough starter twice a day with flour "
                           "and water; before baking it must double overnight.\n",
        "en/Kites.md": "# Kites\n\nKites fly best in a steady wind on an open beach.\n",
        "en/Report.md": "# Quarterly report\n\nThe quarterly report is due on the first "
                        "Friday; finance needs the figures a week before.\n",
        "en/Tyres.md": "# Tyres\n\nRotate the tyres every ten thousand kilometres and check "
                       "the pressure once a month.\n",
        "en/Chess.md": "# Chess openings\n\nLearn the Italian game first, then the Sicilian "
                       "defence against e4.\n",
        "en/Meeting.md": "# Team meeting\n\nWe agreed to move the release to Friday.\n"}
    library = library_of(tmp_path, {**german, **english}, embedder=e5)
    similar = library.similar(library.notes_root / "de/Sauerteig.md", k=5)
    assert Path(similar[0].path).name == "Sourdough.md", [Path(r.path).name for r in similar]
    assert similar[0].strength in ("similar", "very similar")
    library.close()


def test_an_excerpt_under_a_code_block_shows_the_links_labels(tmp_path):
    """dendron-site's task settings: a YAML block, then links written label first
    ("[[prioritySymbols|dendron://…]]"), the passage cut after the block. The passage
    under it began with the block's closing fence, so its excerpt read the links as code
    and showed "dendron://dendron.dendron-site/…" three times, and no label."""
    settings = "\n".join(f"        symbol{i}: \"value number {i} of the task display\""
                         for i in range(24))
    links = "\n".join(f"- [[{name}|dendron://dendron.dendron-site/dendron.topic.tasks.{name}]]"
                      for name in ("statusSymbols", "prioritySymbols", "taskCompleteStatus"))
    library = library_of(tmp_path, {"dendron.topic.tasks.config.md": (
        "# Config\n\n## Task Display\nDendron maps the priority and status symbols used in "
        "the frontmatter to what gets displayed.\n\n```yaml\nworkspace:\n    task:\n"
        f"{settings}\n```\n\n{links}\n")})
    results = library.search("prioritySymbols taskCompleteStatus", k=1, mode="words").results
    snippet = results[0].snippet.text
    assert "prioritySymbols" in snippet and "taskCompleteStatus" in snippet, snippet
    assert "dendron://" not in snippet and "```" not in snippet, snippet
    library.close()


def test_a_results_excerpt_is_the_passage_that_says_what_was_asked(tmp_path, e5):
    """A fresh-user trial: "how do I cancel a job on the cluster?" showed the SLURM note's
    opening, whose heading and job script say "cluster" and "job" over and over, where the
    note says how to cancel one further down. The passage shown holds the most of the
    query's words by rarity ("cancel" and "jobs" there, "job" and "cluster", which other
    notes say too, in the opening), then is the closest by meaning; by words alone too."""
    script = "\n".join(f"#SBATCH --{option}" for option in (
        "job-name=occ_boot", "partition=standard", "array=1-200%40", "cpus-per-task=1",
        "mem=4G", "time=02:00:00", "output=logs/occ_%A_%a.out", "mail-type=END",
        "mail-user=me@example.org", "account=ecology", "qos=normal", "nodes=1"))
    library = library_of(tmp_path, {
        "slurm.md": (
            "# Running jobs on the Hydra cluster (SLURM)\n\n"
            "Login: `ssh hydra`. Never run heavy jobs on the login node of the cluster: "
            "the cluster runs each job from the queue.\n\n"
            "Array job for fitting 200 bootstrap models, one job a task, each job on one "
            "core of the cluster:\n\n"
            f"```bash\n#!/bin/bash\n{script}\nmodule load R/4.3.2\nRscript fit.R\n```\n\n"
            "Submit `sbatch run.sh`; watch `squeue -u $USER`; cancel `scancel 123456`; "
            "after it ends `sacct -j 123456 --format=JobID,State,Elapsed,MaxRSS`.\n\n"
            "MaxRSS tells how much memory was really used: I had asked 16G, used 1.1G, "
            "lowered to 4G and jobs started much sooner.\n"),
        "ssh.md": "# SSH keys\n\nMake a key with `ssh-keygen -t ed25519` for the cluster.\n",
        "storage.md": "# Storage\n\nScratch on the cluster is purged after 30 days.\n",
        "brms.md": "# brms\n\nOn the cluster brms runs its four chains on four cores.\n",
        "backup.md": "# Backups\n\nThe cluster's home folders are backed up every night.\n",
        # Passages of other things, as a vault has: words said in every passage of one note
        # are not said everywhere.
        **{f"plant-{i}.md": f"# Plant {i}\n\nWater the fern number {i} twice a week in "
           f"summer, once in winter; repot it in spring with peat-free soil.\n"
           for i in range(30)}},
        embedder=e5)
    assert library.searcher().conn.execute(
        "SELECT COUNT(*) FROM chunks c JOIN notes n ON n.id = c.note_id "
        "WHERE n.path LIKE '%slurm.md'").fetchone()[0] > 1
    for mode in ("hybrid", "words"):
        first = library.search("how do I cancel a job on the cluster?", k=1, mode=mode).results[0]
        assert first.path.endswith("slurm.md") and "scancel" in first.snippet.text, (
            mode, first.snippet.text)
    library.close()


def test_a_templates_commands_are_not_its_words(tmp_path):
    """A fresh-user trial's Templater templates showed `<% tp.date.now("dddd, D MMMM YYYY")
    %>` as their excerpts, and one with a command in its front matter read as unreadable
    YAML, its properties shown as text. The commands are code the plugin runs; a note about
    ERB keeps its `<%= … %>` in inline code and code blocks."""
    template = (
        '---\ntags: [interview]\ninterviewee: "<% tp.system.prompt("Who?") %>"\n'
        'date: <% tp.date.now("YYYY-MM-DD") %>\n---\n# Interview — <% tp.file.title %>\n\n'
        "## Questions\n1. Tell me about the last time you planned a day of deliveries.\n\n"
        '<%* await tp.file.move("/Interviews/" +\n  tp.file.title) %>\n')
    erb = ("# ERB views\nPrint a value with `<%= user.name %>` in the view.\n\n"
           "```erb\n<% if admin? %>Delete<% end %>\n```\n")
    library = library_of(tmp_path, {".obsidian/app.json": "{}", "ERB views.md": erb,
                                    "Templates/Interview template.md": template})
    found = library.search("deliveries interview", k=1, mode="words").results[0]
    assert found.title == "Interview template"
    assert "Questions — 1. Tell me about the last time you planned a day of deliveries" \
        in found.snippet.text and "<%" not in found.snippet.text
    assert library.search("interview", k=1, mode="words").results[0].tags == ["interview"]
    assert not library.search("tp system prompt", mode="words").results
    assert not library.search("await move", mode="words").results
    code = library.search("user name admin", k=1, mode="words").results[0]
    assert code.title == "ERB views" and "<%= user.name %>" in code.snippet.text
    assert library.search("admin", k=1, mode="words").results[0].title == "ERB views"


def test_html_tags_are_not_words_of_a_note(tmp_path):
    """A fresh-user trial: Notion wraps callouts in `<aside>`, and a search for "aside", a
    word no reader sees, found every page with a callout at 88–95%. A tag's text is found;
    a tag written as code (a note about HTML) is too."""
    library = library_of(tmp_path, {
        "Trip to Japan 8f3a0c2b1d4e4f5a9b6c7d8e9f0a1b2c.md": (
            "# Trip to Japan\n\n<aside>\n💴 Bring cash! Small restaurants take no cards.\n"
            "</aside>\n\n<img alt=\"map\" src=\"map.png\" width=\"300\"/>\n"),
        "HTML notes.md": ("# HTML notes\nA callout is an `<aside>` element.\n\n```html\n"
                          "<section class=\"card\">Hi</section>\n```\n")})
    assert [r.title for r in library.search("aside", mode="words").results] == ["HTML notes"]
    assert library.search("section class", k=1, mode="words").results[0].title == "HTML notes"
    assert not library.search("width src", mode="words").results
    found = library.search("bring cash", k=1, mode="words").results[0]
    assert found.title == "Trip to Japan" and "Bring cash!" in found.snippet.text
    library.close()


def test_an_upgrade_indexes_again_the_notes_holding_html_tags(tmp_path):
    """Schema 26: the keyword indexes of a library from before lose the HTML tags' words
    (`aside`), for the notes holding one outside code, and only those notes."""
    library = library_of(tmp_path, {"Japan.md": "# Japan\n<aside>Bring cash!</aside>\n",
                                    "Fern.md": "# Fern\nWater it weekly.\n"})
    library.close()
    as_schema(tmp_path / "home", 25,  # the body as schema 25 indexed it: tags and all
              "DELETE FROM chunks_fts WHERE rowid IN (SELECT c.id FROM chunks c JOIN notes n "
              "ON n.id = c.note_id WHERE n.path LIKE '%Japan.md')",
              "INSERT INTO chunks_fts(rowid, title, body) SELECT c.id, 'japan', "
              "substr(c.text, c.context_len + 1) FROM chunks c JOIN notes n "
              "ON n.id = c.note_id WHERE n.path LIKE '%Japan.md'")
    assert marked_by_migrations_to(tmp_path / "home", 26) == {"Japan.md"}
    from tests.helpers import open_library

    upgraded = open_library(tmp_path / "home")
    assert not upgraded.search("aside", mode="words").results
    assert [r.title for r in upgraded.search("cash", mode="words").results] == ["Japan"]
    upgraded.close()


def test_a_bear_tag_of_several_words_is_one_tag(tmp_path):
    """A fresh-user trial of a Bear export: "#book notes#" was the tag "book", and the
    filter "book notes" found nothing. Bear closes a tag of several words with a "#"."""
    library = library_of(tmp_path, {
        "Atomic Habits.md": "# Atomic Habits\n#book notes# #habits\nSystems beat goals.\n",
        "Deep Work.md": "# Deep Work\n#book notes#\nFocus is a skill.\n",
        "Languages.md": "# Languages\nC# and F# share #dotnet tooling; see issue #12.\n"})
    assert dict(library.tags()) == {"book notes": 2, "habits": 1, "dotnet": 1}
    found = library.search("focus", filters=Filters(tags=("book notes",)), mode="words")
    assert [r.title for r in found.results] == ["Deep Work"]
    library.close()


def test_an_upgrade_reads_again_the_notes_with_a_bear_tag_of_several_words(tmp_path):
    """Schema 27: notes holding "#book notes#" are read again, and only they."""
    library = library_of(tmp_path, {"Deep Work.md": "# Deep Work\n#book notes#\nFocus.\n",
                                    "Fern.md": "# Fern\n#plants and #home\nWater it.\n"})
    library.close()
    as_schema(tmp_path / "home", 26)
    assert marked_by_migrations_to(tmp_path / "home", 27) == {"Deep Work.md"}


NOTION_PAGE = ("# Migrate CI to GitHub Actions\n\nStatus: Done\nOwner: Marcus Lee\n"
               "Due: June 15, 2024\nTags: engineering, devops\n"
               "Created: April 10, 2024 3:22 PM\n\nMove from self-hosted Jenkins to GitHub "
               "Actions.\n\n## Steps\nCache pip and the Docker layers.\n")


def test_a_notion_pages_properties_are_its_front_matter(tmp_path):
    """A fresh-user trial of a Notion export: excerpts opened on "Status: Done Owner: Marcus
    Lee Due: June 15, 2024 Priority: Medium Tags: …", `--tag devops` found nothing, and a
    page of properties alone came close to many queries. Notion writes a page's properties
    as "Key: value" lines under its title; they are its front matter now: searched as its
    description, its Tags its tags, its dates no words, and out of its text."""
    library = library_of(tmp_path, {
        "Projects b3eccf37a9b263668641f9ab15499aba/Migrate CI to GitHub Actions "
        "a18728de562c9ac8a94c4927e2fcd829.md": NOTION_PAGE,
        "Recipes.md": "# Recipes\n\nStatus: untested\nOwner: me\n\nA pie.\n"})  # not Notion's
    found = library.search("jenkins", k=1, mode="words").results[0]
    assert found.title == "Migrate CI to GitHub Actions"
    assert found.snippet.text.startswith("Migrate CI to GitHub Actions — Move from self-hosted")
    assert found.tags == ["engineering", "devops"]
    assert library.search("marcus lee", k=1, mode="words").results[0].title == found.title
    assert not library.search("april", mode="words").results  # a date, not words
    recipe = library.search("pie", k=1, mode="words").results[0]
    assert "Status: untested" in recipe.snippet.text  # a note of its own, as written
    library.close()


def test_an_upgrade_reads_again_the_pages_of_a_notion_export(tmp_path):
    """Schema 28: a Notion export's pages are read again, and only they."""
    library = library_of(tmp_path, {
        "Migrate CI a18728de562c9ac8a94c4927e2fcd829.md": NOTION_PAGE,
        "Fern.md": "# Fern\nWater it.\n"})
    library.close()
    as_schema(tmp_path / "home", 27)
    assert marked_by_migrations_to(tmp_path / "home", 28) == {
        "Migrate CI a18728de562c9ac8a94c4927e2fcd829.md"}


def test_character_references_read_as_characters_and_image_paths_are_no_words(tmp_path):
    """A fresh-user trial of an Evernote export: excerpts read "METRO CASH &amp; CARRY" and
    "Priya Nair &lt;p.nair@…&gt;", and "image.png", "_resources" found notes whose excerpts
    showed neither (the paths of their images)."""
    library = library_of(tmp_path, {
        "Receipt.md": "# Scan - Metro receipt\nMETRO CASH &amp; CARRY UK, 14 March.\n\n"
                      "![receipt scan](_resources/Receipt.resources/scan_0001.png)\n",
        "Quote.md": "# Catering quote\nFrom: Priya Nair &lt;p.nair@hartleymoss.co.uk&gt;\n"
                    "Lunch for 40 on Friday; write `&amp;` for an ampersand in HTML.\n"})
    receipt = library.search("metro carry", k=1, mode="words").results[0]
    assert "METRO CASH & CARRY UK" in receipt.snippet.text
    quote = library.search("priya lunch", k=1, mode="words").results[0]
    assert "Priya Nair <p.nair@hartleymoss.co.uk>" in quote.snippet.text
    assert "`&amp;`" not in quote.snippet.text and "&amp; for an ampersand" in quote.snippet.text
    for noise in ("lt", "resources", "png"):
        assert not library.search(noise, mode="words").results, noise
    # Only the code that writes "&amp;" holds it, as written.
    assert [r.title for r in library.search("amp", mode="words").results] == ["Catering quote"]
    assert library.search("receipt scan", k=1, mode="words").results[0].title == \
        "Scan - Metro receipt"  # an image's alt text is its words
    library.close()


def test_similar_notes_fill_the_list_asked_for_beside_a_note_of_many_passages(tmp_path, e5):
    """A fresh-user trial: beside a 1.25 MB log, "similar -k 20" listed 3 notes for one note
    and fewer than 20 for 53 of 77, without a word of why: the log's passages filled all
    of the closest ones read."""
    log = "".join(f"## Entry {n}\nDatabase connection timeout on node {n % 7}; retried the "
                  f"query and it went through.\n\n" for n in range(640))
    files = {"Incident log.md": f"# Incident log\n\n{log}",
             "Timeouts.md": "# Timeouts\nDatabase connections time out under load.\n",
             **{f"Note {n}.md": f"# Note {n}\n{topic}\n" for n, topic in enumerate([
                 "Connection pool sizing for the database.", "Retry with backoff.",
                 "Query plans and slow queries.", "Sourdough starter feeding.",
                 "Tomato blight on the leaves.", "Packing list for a hut tour.",
                 "Reading list for the winter.", "Bike chain cleaning."])}}
    library = library_of(tmp_path, files, e5)
    assert library.status().chunks > 210
    similar = library.similar("Timeouts.md", 9)
    assert len(similar) == 9  # every other note
    assert "Incident log.md" in [Path(r.path).name for r in similar[:3]]
    library.close()


def test_a_note_of_many_alike_passages_leaves_the_others_their_meaning(tmp_path, e5):
    """A fresh-user trial: a 1.25 MB incident log's 2,894 passages held all of the best 100
    by meaning for "what caused the checkout outage in January?", so no other note had
    meaning evidence and the log itself came 3rd at 1% under "no good match". At most
    POOL_PER_NOTE of the pool come from one note; the others' best are read past it."""
    log = "".join(f"## Entry {n}\nDatabase connection timeout on node {n % 7}; retried the "
                  f"query and it went through.\n\n" for n in range(640))
    files = {"Incident log.md": f"# Incident log\n\n{log}",
             "Timeouts.md": "# Timeouts\nDatabase connections time out under load.\n",
             "Pool sizing.md": "# Pool sizing\nHow big the database connection pool is.\n",
             "Sourdough.md": "# Sourdough\nFeed the starter flour and water.\n"}
    library = library_of(tmp_path, files, e5)
    response = library.search("database connection timeout", k=5, mode="meaning")
    names = [Path(r.path).name for r in response.results]
    assert names[:2] in (["Timeouts.md", "Pool sizing.md"], ["Pool sizing.md", "Timeouts.md"])
    assert "Incident log.md" in names
    library.close()
