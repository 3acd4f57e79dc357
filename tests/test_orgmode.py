"""Org files read as Markdown line for line: what a person wrote kept, Org's bookkeeping not."""

from __future__ import annotations

from notesearch.core.markdown import parse_note
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


def test_an_outline_of_headlines_reads_as_nested_items_and_untitled_org_by_its_file():
    """A Logseq graph kept in Org writes every block as a headline: such a page is an
    outline of items, not a pile of headings; a file without #+title is named by its file,
    not by its first headline (Org's export does the same)."""
    page = "* Met [[Anna]] about the garden\n** raised beds of cedar\n* DONE buy compost\n"
    assert org_markdown(page).split("\n")[:3] == [
        "- Met [[Anna]] about the garden", "  - raised beds of cedar", "- DONE buy compost"]
    sections = "* Inbox\nA thought about bikes.\n* Projects\nThe kitchen.\n"
    assert org_markdown(sections).startswith("# Inbox\n")
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
