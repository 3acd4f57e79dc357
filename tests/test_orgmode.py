"""Org files read as Markdown line for line: what a person wrote kept, Org's bookkeeping not."""

from __future__ import annotations

from notesearch.core.markdown import parse_note
from notesearch.core.notes import note_source
from notesearch.core.orgmode import org_markdown

DOCUMENT = """#+title: Kitchen renovation
#+author: Mira
#+options: toc:nil

* Quotes [1/2]
  The /countertop/ quote from *Steinmetz* was =2.400 EUR=, see [[https://st.example][their site]].
  - [X] ask for a ~CAD~ drawing
    - nested item
  | item | price |
  |------+-------|
  | sink | 320   |
** Plumbing                                                      :urgent:
   #+begin_src sh
   ,* not a headline
   ls /mnt/photos
   #+end_src
   # a comment the reader never sees
   DEADLINE: <2024-05-01 Wed>
#+begin_quote
Measure twice.
#+end_quote
See [[file:budget.org][the budget]] and [[Tiles]].[fn:1]

[fn:1] The tiler's estimate.
"""


def test_an_org_document_reads_as_markdown_line_for_line():
    """Every line of the result comes from the same line of the file (a result opens the
    Org file there); headlines are headings, markup and links Markdown's, code as written."""
    shown = org_markdown(DOCUMENT).split("\n")
    assert len(shown) == len(DOCUMENT.split("\n"))
    assert shown[:4] == ["---", "title: Kitchen renovation", "author: Mira", "---"]
    assert shown[4] == "# Quotes"
    assert shown[5] == ("The *countertop* quote from **Steinmetz** was `2.400 EUR`, see "
                        "[their site](https://st.example).")
    assert shown[6:8] == ["- [X] ask for a `CAD` drawing", "  - nested item"]
    assert shown[9] == "|------|-------|"
    assert shown[11] == "## Plumbing #urgent"
    assert shown[12:16] == ["```sh", "* not a headline", "ls /mnt/photos", "```"]
    assert shown[16:18] == ["", ""]  # a comment, a deadline
    assert shown[19] == "> Measure twice."
    assert shown[21] == "See [[budget|the budget]] and [[Tiles]].[^1]"
    assert shown[23] == "[^1]: The tiler's estimate."
    note = parse_note(org_markdown(DOCUMENT), "kitchen.org")
    assert (note.title, note.tags) == ("Kitchen renovation", ["urgent"])
    assert [h.text for h in note.headings] == ["Quotes", "Plumbing #urgent"]


def test_a_logseq_page_in_org_reads_as_nested_items_and_untitled_org_by_its_file(tmp_path):
    """A Logseq graph kept in Org writes every block as a headline: its pages are outlines
    of items, not piles of headings; elsewhere a file of headlines (a GTD list of TODOs)
    keeps its headings. A file without #+title is named by its file, not by its first
    headline (Org's export does the same)."""
    page = "* Met [[Anna]] about the garden\n** raised beds of cedar\n* DONE buy compost\n"
    graph = tmp_path / "graph"
    (graph / "logseq").mkdir(parents=True)
    (graph / "logseq" / "config.edn").write_text("{:preferred-format :org}\n")
    assert note_source(str(graph / "pages" / "garden.org"), page).split("\n")[:3] == [
        "- Met [[Anna]] about the garden", "  - raised beds of cedar", "- DONE buy compost"]
    assert note_source(str(tmp_path / "gtd.org"), page).split("\n")[:3] == [
        "# Met [[Anna]] about the garden", "## raised beds of cedar", "# DONE buy compost"]
    sections = "* Inbox\nA thought about bikes.\n* Projects\nThe kitchen.\n"
    note = parse_note(org_markdown(sections), "projects.org")
    assert note.title == "projects"


def test_org_roam_aliases_and_tags_and_a_short_header():
    """Org-roam keeps aliases in the file's property drawer, quoted when of several words;
    a header too short for front matter says the same as `key:: value` page properties."""
    roam = (':PROPERTIES:\n:ID: 8f2c\n:ROAM_ALIASES: "Slip box" Zettel\n:END:\n'
            "#+title: Zettelkasten\n#+filetags: :method:\n\nText.\n")
    note = parse_note(org_markdown(roam), "20240301-zettelkasten.org")
    assert (note.title, note.aliases, note.tags) == (
        "Zettelkasten", ["Slip box", "Zettel"], ["method"])
    assert "8f2c" not in org_markdown(roam)
    short = org_markdown("#+title: Tea\nGreen tea steeps at 80 degrees.\n")
    assert short.split("\n")[:2] == ["title:: Tea", "Green tea steeps at 80 degrees."]
    assert parse_note(short, "tea.org").title == "Tea"


def test_a_headlines_properties_are_its_words_and_an_unclosed_drawer_is_text():
    """A fresh-user trial of Org files: a reading list kept each book's author in its
    `:AUTHOR:` property, and "Kim Stanley Robinson" found nothing; a drawer left without
    `:END:` hid the rest of its file, title and all. Properties are words now, but for
    bookkeeping (ids, timestamps); an unclosed drawer or block is text, as Org reads it."""
    reading = ("#+title: Reading\n\n* The Ministry for the Future\n:PROPERTIES:\n"
               ":AUTHOR: Kim Stanley Robinson\n:ID: 6b1f0c2e-8d4a-4f1e-9c3b-2a7d5e9f1c40\n"
               ":CREATED: [2024-01-05 Fri]\n:END:\nClimate fiction, read in <<January>>.\n"
               "#+caption: The cover, a =s= for stage\n")
    shown = org_markdown(reading).split("\n")
    assert shown[3:8] == ["", "author:: Kim Stanley Robinson", "", "", ""]
    assert shown[8] == "Climate fiction, read in January."
    assert shown[9] == "The cover, a `s` for stage"
    broken = ":PROPERTIES:\n:ID: 1234\n#+title: Unclosed\n\nThe text goes on.\n* Later\nMore.\n"
    note = parse_note(org_markdown(broken), "unclosed.org")
    assert "The text goes on." in note.body and "More." in note.body
    assert "#+title" not in note.body
    open_block = "* Code\n#+begin_src sh\nls -la\n* Next headline\nWords.\n"
    assert org_markdown(open_block).split("\n")[1:4] == ["", "ls -la", "# Next headline"]


def test_an_encrypted_entry_is_not_its_words():
    """Org's encrypted entries (org-crypt) keep PGP armour in the file: a fresh-user trial
    saw it indexed and shown as an excerpt. The heading stays, the armour is no text."""
    text = ("#+title: Accounts\n\n* Bank login :crypt:\n  -----BEGIN PGP MESSAGE-----\n\n"
            "  hQEMA3x9dKq0v1SxAQf+Kd2mW7pQe0c9V6yZ0rT1s8nL4bH5jG2fD3kA7uX9wq1\n"
            "  =Xk3d\n  -----END PGP MESSAGE-----\nThe bank's number is on the card.\n")
    note = parse_note(org_markdown(text), "accounts.org")
    assert "PGP" not in note.body and "hQEMA" not in note.body and "Xk3d" not in note.body
    assert "# Bank login #crypt" in note.body and "The bank's number" in note.body
