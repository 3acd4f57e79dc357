"""Tests for parsing notes as written by Obsidian, Logseq, Foam, Dendron and plain Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from notesearch.core.markdown import Heading, parse_note, plain_inline
from notesearch.core.notes import read_text
from notesearch.core.prose import (
    blank_data,
    embedding_text,
    plain_markdown,
    preview_markdown,
    snippet_text,
)
from notesearch.core.text import make_snippet, query_terms


def test_plain_note_title_from_an_opening_h1() -> None:
    note = parse_note("\n# Real Title\n\nIntro text\n\n## Part\n", "file-name.md")
    assert note.title == "Real Title"
    assert note.body_start_line == 1
    assert note.headings == [Heading(1, "Real Title", 2), Heading(2, "Part", 6)]
    front = parse_note("---\ntags: [a]\n---\n# Real Title\ntext\n", "file-name.md")
    assert front.title == "Real Title"


def test_a_heading_below_the_opening_text_names_a_part_not_the_note() -> None:
    """A real vault's "Buttermilk.md" opens with prose and has "# The Analogy" below: it
    had been listed as "The Analogy", and "Stream Ciphers.md" as "Examples"."""
    note = parse_note("Buttermilk does not contain butter.\n# The Analogy\nAs long as...\n",
                      "Buttermilk.md")
    assert note.title == "Buttermilk"
    assert note.headings[0] == Heading(1, "The Analogy", 2)


def test_an_obsidian_note_is_named_by_its_file() -> None:
    """Obsidian names every note by its file: "How to make slime.md" opens with the
    section "# Ingredients", which is no title; a front matter title still is one."""
    text = "# Ingredients\n- Glue\n- Activator\n"
    assert parse_note(text, "How to make slime.md", named_by_file=True).title == \
        "How to make slime"
    assert parse_note(text, "How to make slime.md").title == "Ingredients"  # Foam, plain
    titled = "---\ntitle: Slime recipe\n---\n# Ingredients\n"
    assert parse_note(titled, "How to make slime.md", named_by_file=True).title == \
        "Slime recipe"


def test_title_falls_back_to_file_name() -> None:
    assert parse_note("just text", "shopping list.md").title == "shopping list"
    assert parse_note("## only an h2", "notes.txt").title == "notes"
    # Dendron hierarchies are dotted names; only the real extension goes.
    assert parse_note("", "dev.python.tips.md").title == "dev.python.tips"
    assert parse_note("", "dev.python.tips").title == "dev.python.tips"


def test_logseq_file_names_become_namespaced_titles() -> None:
    assert parse_note("- a block", "Whiteboard___Action Bar.md").title == "Whiteboard/Action Bar"
    assert parse_note("- a block", "New to Logseq%3F.md").title == "New to Logseq?"


def test_a_logseq_heading_block_does_not_title_its_page() -> None:
    """Logseq names a page by its file; "- # Usage", or "# Usage" below the page's
    properties, is a part of it. Five pages of the Logseq docs were all titled "Usage" (and
    `similar Usage` could not tell them apart). A title:: property, and a top-level "# Title"
    in a note without Logseq properties, still name the page."""
    page = "type:: [[Feature]]\n\n- # Usage\n\t- Drag shapes onto the canvas.\n"
    assert parse_note(page, "pages/Whiteboard___Snap to grid.md").title == \
        "Whiteboard/Snap to grid"
    assert parse_note("title:: Snapping\n- # Usage\n", "pages/snap.md").title == "Snapping"
    below_properties = "alias:: Element locking\ntype:: [[Feature]]\n\n# Usage\n\t- Lock it.\n"
    assert parse_note(below_properties, "pages/Whiteboard___Element locking.md").title == \
        "Whiteboard/Element locking"
    assert parse_note("# Snapping\n\nText.\n", "snap.md").title == "Snapping"


def test_obsidian_front_matter() -> None:
    text = (
        "---\n"
        "title: Growing Tomatoes\n"
        "tags: [Garden, 'vegetables', project/alpha]\n"
        "aliases:\n  - Tomato notes\n  - Solanum\n"
        "created: 2024-03-01\n"
        "---\n"
        "# Tomatoes\n"
        "Water daily. #Garden #summer\n"
    )
    note = parse_note(text, "tomatoes.md")
    assert note.title == "Growing Tomatoes"
    assert note.body == "# Tomatoes\nWater daily. #Garden #summer\n"
    assert note.body_start_line == 9
    assert note.tags == ["garden", "vegetables", "project/alpha", "summer"]
    assert note.aliases == ["Tomato notes", "Solanum"]
    assert note.properties["created"] == "2024-03-01"
    assert note.headings == [Heading(1, "Tomatoes", 9)]
    assert text.split("\n")[note.body_start_line - 1] == "# Tomatoes"
    assert note.private is False


def test_front_matter_tag_strings_and_alias_string() -> None:
    note = parse_note("---\ntags: reading, to-do\nalias: Book log\n---\n", "b.md")
    assert note.tags == ["reading", "to-do"]
    assert note.aliases == ["Book log"]
    note = parse_note("---\ntags: '#one two'\n---\n", "b.md")
    assert note.tags == ["one", "two"]


def test_private_fails_closed_on_unreadable_front_matter() -> None:
    # YAML errors elsewhere in the block must not hide "private: true".
    assert parse_note("---\ntitle: [x\nprivate: true\n---\nbody", "a.md").private
    assert parse_note("---\ntitle: x\n\tprivate: true\n---\nbody", "a.md").private
    assert parse_note("---\nPrivate: true\n---\n", "a.md").private
    assert parse_note("---\nprivate: sometimes\n---\n", "a.md").private
    # A broken block that never mentions privacy stays an ordinary, public note.
    assert not parse_note("---\ntitle: [x\n---\nbody", "a.md").private
    assert not parse_note("---\nprivate:\n---\n", "a.md").private


def test_private_flag_variants() -> None:
    assert parse_note("---\nprivate: true\n---\n", "a.md").private
    assert parse_note("---\nprivate: \"yes\"\n---\n", "a.md").private
    assert parse_note("---\nprivate: 'True'\n---\n", "a.md").private
    assert not parse_note("---\nprivate: false\n---\n", "a.md").private
    assert not parse_note("---\nprivate: no\n---\n", "a.md").private
    assert parse_note("private:: true\n\n- diary", "a.md").private


def test_malformed_front_matter_does_not_crash() -> None:
    text = "---\ntitle: [unclosed\n---\n# Heading\nbody #tag\n"
    note = parse_note(text, "broken.md")
    assert note.title == "Heading"
    assert note.body == text  # nothing is lost: the block stays searchable text
    assert note.body_start_line == 1
    assert note.tags == ["tag"]
    assert note.headings == [Heading(1, "Heading", 4)]


def test_impossible_date_keeps_other_front_matter() -> None:
    note = parse_note("---\ntitle: Trip\ndate: 2024-13-45\n---\ntext", "t.md")
    assert note.title == "Trip"
    assert note.properties["date"] == "2024-13-45"
    assert note.body == "text"


def test_unclosed_front_matter_is_just_text() -> None:
    note = parse_note("---\nnot closed\n# Heading", "n.md")
    assert note.body_start_line == 1
    assert "not closed" in note.body
    assert note.title == "n"  # text opens the note; the heading below names a part of it


def test_self_referencing_yaml_does_not_hang() -> None:
    note = parse_note("---\na: &x [*x]\ntags: [ok]\n---\n", "n.md")
    assert note.tags == ["ok"]


def test_logseq_page_properties() -> None:
    text = (
        "title:: Reading List\n"
        "tags:: books, [[Science Fiction]], #later\n"
        "alias:: Books to read, [[TBR]]\n"
        "type:: [[Collection]]\n"
        "\n"
        "- [[Dune]] by Frank Herbert #scifi\n"
        "\t- ## Notes\n"
        "\t\t- great worldbuilding\n"
    )
    note = parse_note(text, "reading list.md")
    assert note.title == "Reading List"
    assert note.tags == ["books", "science fiction", "later", "scifi"]
    assert note.aliases == ["Books to read", "TBR"]
    assert note.properties["type"] == "[[Collection]]"
    assert "Dune" in note.links and "Collection" in note.links
    assert note.headings == [Heading(2, "Notes", 7)]


def test_front_matter_wins_over_logseq_properties() -> None:
    note = parse_note("---\ntitle: From YAML\n---\ntitle:: From Logseq\n", "n.md")
    assert note.title == "From YAML"


def test_inline_tags_rules() -> None:
    text = (
        "Tags: #alpha, #Beta/Sub and #读书 and (#paren)\n"
        "Not tags: issue #1, #2024, page#frag, http://example.com/#frag, C# code\n"
        "`#inline-code` and [link](#anchor) and &#123;\n"
        "```python\n# comment\nx = 1  # not-a-tag\n```\n"
        "~~~\n#fenced\n~~~\n"
        "#after-fence #2024-review\n"
    )
    note = parse_note(text, "t.md")
    assert note.tags == ["alpha", "beta/sub", "读书", "paren", "after-fence", "2024-review"]


def test_logseq_priorities_and_routes_in_query_code_are_no_tags() -> None:
    """The app's Tag menu listed "#a" and "#c" (Logseq's task priorities "[#A]", "[#C]")
    and "#/page" (a route in an advanced query's Clojure)."""
    text = ("- TODO [#A] write the docs #windows\n- LATER [#C] tidy up\n"
            '\t   [:a.tag {:href (str "#/page/" tag)}]\n')
    assert parse_note(text, "Tasks.md").tags == ["windows"]


def test_tags_deduplicated_in_order() -> None:
    note = parse_note("---\ntags: [b]\n---\n#a #B #a\n", "t.md")
    assert note.tags == ["b", "a"]


def test_logseq_bracketed_tag() -> None:
    assert parse_note("- idea #[[Big Project]]", "t.md").tags == ["big project"]


def test_wikilinks_and_markdown_links() -> None:
    text = (
        "See [[Target]], [[Other Note|alias]], [[Deep#Heading]], [[Block#^abc123]].\n"
        "Embed: ![[Embedded Note]] and image ![[photo.png]] and [[note.md]].\n"
        "Markdown: [a](folder/My%20Note.md#part), [b](<with space.md>), [c](https://x.org/a.md)\n"
        "[d](image.png) [e](./local.markdown)\n"
        "`[[not a link]]`\n"
    )
    note = parse_note(text, "links.md")
    assert note.links == ["Target", "Other Note", "Deep", "Block", "Embedded Note", "note",
                          "folder/My Note", "with space", "local"]


def test_foam_link_reference_definitions() -> None:
    text = "Read [[principles]].\n\n[//begin]: # \"Autogenerated link references\"\n" \
           "[principles]: principles.md \"Principles\"\n[inbox]: inbox.md \"Inbox\"\n"
    assert parse_note(text, "index.md").links == ["principles", "inbox"]


def test_dendron_note() -> None:
    text = (
        "---\nid: ChcCM1Q2qrDTy7YnLUHiL\ntitle: Preview\ndesc: ''\nupdated: 1653409628830\n"
        "---\n\n## Tutorial\n\n![[asset.sop.images]]\n"
    )
    note = parse_note(text, "asset.preview.md")
    assert note.title == "Preview"
    assert note.properties["updated"] == 1653409628830
    assert note.links == ["asset.sop.images"]
    assert note.headings == [Heading(2, "Tutorial", 8)]


def test_headings_ignore_code_and_non_headings() -> None:
    text = (
        "#hashtag is not a heading\n"
        "####### seven is not a heading\n"
        "    # indented code\n"
        "```\n# in code\n```\n"
        "## Closing hashes ##\n"
        "### **Bold** [[Link|Shown]] and [md](x.md)\n"
        "- ## Logseq bullet heading\n"
    )
    note = parse_note(text, "h.md")
    assert note.headings == [
        Heading(2, "Closing hashes", 7),
        Heading(3, "Bold Shown and md", 8),
        Heading(2, "Logseq bullet heading", 9),
    ]


def test_unclosed_fence_hides_rest() -> None:
    note = parse_note("# Title\n```\n# not a heading\n#not-a-tag\n", "f.md")
    assert note.headings == [Heading(1, "Title", 1)]
    assert note.tags == []


def test_chinese_obsidian_note_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "读书笔记.md"
    path.write_bytes(
        "---\r\ntags:\r\n  - 读书\r\n  - 心理学\r\n---\r\n# 思考，快与慢\r\n\r\n"
        "系统一和系统二。 #认知 #读书\r\n参见 [[卡尼曼]]\r\n".encode())
    text, _ = read_text(path)
    note = parse_note(text, path.name)
    assert note.title == "思考，快与慢"
    assert note.tags == ["读书", "心理学", "认知"]
    assert note.links == ["卡尼曼"]
    assert note.headings == [Heading(1, "思考，快与慢", 6)]
    assert text.split("\n")[note.headings[0].line - 1] == "# 思考，快与慢"


def test_empty_note() -> None:
    note = parse_note("", "empty.md")
    assert (note.title, note.body, note.tags, note.links, note.headings) == (
        "empty", "", [], [], [])


def test_snippets_lose_markdown_markup_but_keep_highlights() -> None:
    text = "## Decisions\n- Ship **exported** tickets | see [[Alpha plan|the plan]] |"
    snippet = make_snippet(text, "exported")
    plain, spans = plain_markdown(snippet.text, snippet.highlights)
    assert plain.rstrip() == "Decisions • Ship exported tickets · see the plan"
    assert [plain[a:b] for a, b in spans] == ["exported"]


def test_a_heading_in_an_excerpt_reads_as_a_heading() -> None:
    """A fresh-user trial: "### Another approach I found" and the line under it showed
    "Another approach I found I found another approach here:", one run-on sentence."""
    text = ("### Another approach I found\nI found another approach here: ddcutil sets the "
            "brightness.\n## Steps\n- install it\n## Last")
    snippet = make_snippet(snippet_text(text), "ddcutil brightness")
    plain, spans = plain_markdown(snippet.text, snippet.highlights)
    assert plain == ("Another approach I found — I found another approach here: ddcutil sets "
                     "the brightness. Steps • install it Last")
    assert [plain[a:b] for a, b in spans] == ["ddcutil", "brightness"]


def test_excerpts_keep_a_dash_and_inline_code_as_written() -> None:
    """Seen on the Logseq docs: "1 - 600 seconds" read "1 • 600 seconds" (a dash taken for
    a list bullet), and "add the shortcode `[]()`" read "add the shortcode ." (link rules
    inside code). List bullets still read •; a link outside code still loses its target."""
    text = ("- Auto commit\n\t- Valid intervals are 1 - 600 seconds.\n"
            "- Add the shortcode `[]()` to the block; put the label between (`[ ]`).\n"
            "- See [the guide](https://x.org/guide) and `[label](https://x.org)`.")
    snippet = make_snippet(snippet_text(text), "label")
    plain, spans = plain_markdown(snippet.text, snippet.highlights)
    assert plain == ("• Auto commit • Valid intervals are 1 - 600 seconds. • Add the shortcode "
                     "[]() to the block; put the label between ([ ]). • See the guide and "
                     "[label](https://x.org).")
    assert [plain[a:b] for a, b in spans] == ["label", "label"]
    # A note's own private-use characters, like the marks that hold code aside, stay put.
    odd = "odd \ue0007\ue001 text with `[]()` and [a](https://x.org)"
    assert snippet_text(odd) == "odd \ue0007\ue001 text with `[]()` and a"


def test_an_excerpt_shows_the_label_of_a_wikilink_to_a_url() -> None:
    """Dendron writes the label first ("[[prioritySymbols|dendron://site/…]]"), Obsidian
    last ("[[https://x.org/a|the guide]]"): either way, with the URL gone, the label is what
    an excerpt shows (it had shown an empty list item, or lost the label with the URL)."""
    text = ("- [[prioritySymbols|dendron://dendron.dendron-site/dendron.topic.tasks]]\n"
            "- [[https://x.org/a|the guide]] and [[Notes|notes.md]]")
    plain, _ = plain_markdown(snippet_text(text))
    assert plain == "• prioritySymbols\n• the guide and notes.md"


def test_an_excerpt_leaves_out_a_code_blocks_language() -> None:
    """A fresh-user trial: "Fix:" over a ```bash block read "Fix: bash git lfs install" on
    the excerpt's one line, the language taken for part of the command."""
    text = "Fix:\n```bash\ngit lfs install\n```\nThen push."
    snippet = make_snippet(snippet_text(text), "lfs")
    plain, _ = plain_markdown(snippet.text, snippet.highlights)
    assert "bash" not in plain and "git lfs install" in plain


def test_an_excerpt_leaves_out_a_logseq_block_reference() -> None:
    """A fresh-user trial on a Logseq graph: "想起 ((65c6e2a0-9b1d-…)) 外婆的话" showed the
    uuid in result lists; the model read it too."""
    line = "- 想起 ((65c6e2a0-9b1d-4f2e-8a3c-5d6e7f8a9b0c)) 外婆的话，给她打了个电话"
    assert plain_markdown(snippet_text(line))[0] == "• 想起 外婆的话，给她打了个电话"
    assert "65c6e2a0" not in embedding_text(line)


def test_an_excerpt_reads_obsidians_syntax_as_obsidian_shows_it() -> None:
    """A fresh-user trial on an Obsidian vault: 62 excerpts showed a callout's type
    ("[!warning]- Open risk"), highlights kept their closing "==" before punctuation,
    embeds their "!", a table row its first pipe, footnotes their marks, and a footnote's
    text never showed (it read as a link's definition); "^kr1" stayed, and a link to a
    block read "IRS 2023#^reembolso"."""
    text = ("> [!warning]- Open risk\n> The iOS budget is ==30 seconds==.[^1]\n"
            "![[Sync architecture.excalidraw]] and [[IRS 2023#^reembolso|the refund]] "
            "or [[IRS 2023#^reembolso]]\nKR1: activation 31% → 45% ^kr1\n\n"
            "[^1]: Measured on iOS 17 in May.")
    plain, _ = plain_markdown(snippet_text(text))
    assert plain == ("Open risk\nThe iOS budget is 30 seconds.\nSync architecture.excalidraw "
                     "and the refund or IRS 2023\nKR1: activation 31% → 45%\n"
                     "Measured on iOS 17 in May."), plain
    row = make_snippet(snippet_text("| Physio, gym | 120 |\n| Dentist | 80 |"), "dentist")
    assert plain_markdown(row.text)[0].rstrip() == "Physio, gym · 120 · Dentist · 80"
    # A fresh-user trial: a table's rule read as an empty cell, "Water ·  · Monstera".
    table = ("Houseplants\n| Plant | Light | Water |\n|---|:---:|---|\n"
             "| Monstera | bright indirect | when dry |\n| Pothos | anything | weekly |")
    assert plain_markdown(make_snippet(snippet_text(table), "pothos").text)[0].rstrip() == (
        "Houseplants · Plant · Light · Water · Monstera · bright indirect · when dry · "
        "Pothos · anything · weekly")


def test_an_excerpt_shows_a_list_in_code_as_written() -> None:
    """A fresh-user trial: a docker-compose file's "- pgdata:/var/lib/postgresql/data" read
    "volumes: • pgdata:…" in an excerpt, a list item's bullet inside code; a list outside
    it still reads as one."""
    passage = ("Compose file:\n```yaml\nservices:\n  db:\n    volumes:\n"
               "      - pgdata:/var/lib/postgresql/data\n```\n- back up the volume nightly")
    shown, _ = plain_markdown(make_snippet(snippet_text(passage), "pgdata volume").text)
    assert "volumes: - pgdata:/var/lib/postgresql/data" in shown, shown
    assert "• back up the volume nightly" in shown, shown
    # Nor do code's empty parentheses go, as those a removed URL leaves do.
    elisp = "```elisp\n(add-hook 'init-hook (lambda () (setq gc 1)))\n```\nsee ( )"
    assert snippet_text(elisp).split("\n")[1:] == [
        "(add-hook 'init-hook (lambda () (setq gc 1)))", "```", "see"]
    assert snippet_text("Run `make( )` ( )") == "Run `make( )`"


def test_an_excerpt_inside_a_long_code_block_shows_the_code_as_written() -> None:
    """A fresh-user trial: a pasted traceback longer than the excerpt left the excerpt "…"
    (its window, inside the block, was moved out of it), and a window opened inside a
    shell block showed "-name '.log'" for "-name '*.log'" and its pipes as "·"."""
    frames = "".join(f'  File "/srv/app/mod{i}.py", line {i}, in step{i}\n    step{i + 1}()\n'
                     for i in range(8))
    traceback = ("# UnicodeDecodeError when reading uploads\n\n```\nTraceback (most recent "
                 f"call last):\n{frames}UnicodeDecodeError: 'utf-8' codec can't decode byte "
                 "0x89 in position 0: invalid start byte\n```")
    snippet = make_snippet(snippet_text(traceback), "codec can't decode byte 0x89")
    shown, spans = plain_markdown(snippet.text, snippet.highlights)
    assert "codec can't decode byte 0x89 in position 0" in shown, shown
    assert {shown[a:b] for a, b in spans} >= {"codec", "decode", "byte", "0x89"}
    assert "`" not in shown
    script = ("Cleanup\n```bash\n" + "".join(f"# step {i}: nothing to see here at all\n"
                                              for i in range(12))
              + "find /var/log/app -name '*.log' -mtime +14 -delete\n"
              "du -sh * | sort -rh | head -10\n```\nRun it weekly.")
    snippet = make_snippet(snippet_text(script), "delete old logs mtime")
    shown, _ = plain_markdown(snippet.text, snippet.highlights)
    assert shown.startswith("…") and "Cleanup" not in shown
    assert "-name '*.log' -mtime +14 -delete du -sh * | sort -rh" in shown, shown
    assert "bash" not in shown and "`" not in shown


def test_an_excerpt_shows_tex_math_as_written() -> None:
    """A fresh-user trial's lecture notes: "\\hat w_{\\text{ridge}}" read
    "\\hat w{\\text{ridge}}" and "\\|w\\|_2^2" read "|w|2^2" in excerpts, emphasis and
    escapes applied inside math. Dollars that are prices are no math."""
    text = ("Ridge: minimise $\\|y - Xw\\|_2^2 + \\lambda \\|w\\|_2^2$, so **closed form**\n"
            "$$\\hat w_{\\text{ridge}} = (X^\\top X + \\lambda I)^{-1} X^\\top y$$\n"
            "Softmax $\\mathrm{softmax}(z)_k$; the book cost $5 and _only_ $10 used.")
    shown, _ = plain_markdown(snippet_text(text))
    assert "$\\|y - Xw\\|_2^2 + \\lambda \\|w\\|_2^2$" in shown, shown
    assert "$$\\hat w_{\\text{ridge}} = (X^\\top X + \\lambda I)^{-1} X^\\top y$$" in shown
    assert "$\\mathrm{softmax}(z)_k$" in shown
    assert "closed form" in shown and "**" not in shown
    assert "cost $5 and only $10 used" in shown


def test_a_drawings_embedded_file_with_a_short_id_is_not_its_text() -> None:
    """A fresh-user trial's drawing listed "8d2f6a1e0b9c4d7e: [[sync-icon.png]]" under
    "## Embedded Files" (the plugin writes 40 hex digits; shorter ids are as much data)."""
    lines = ["## Text Elements", "Sync API /v2/changes ^k2LmN8qT", "## Embedded Files",
             "8d2f6a1e0b9c4d7e: [[sync-icon.png]]"]
    assert "sync-icon" not in "\n".join(blank_data(lines, drawing=True))


def test_highlights_stay_on_the_words_when_a_link_is_in_the_passage():
    # Seen on the Logseq docs: a query word inside a link's URL shifted every highlight after it.
    text = ("Rotate keys: see [the guide](https://x.org/key-rotation) for key rotation. "
            "Notes on [[Key rotation|rotating]] **keys** here.")
    spans = tuple(m.span() for m in re.finditer(r"(?i)key|rotation|rotating", text))
    plain, moved = plain_markdown(text, spans)
    assert plain == ("Rotate keys: see the guide for key rotation. Notes on rotating keys here.")
    assert [plain[a:b] for a, b in moved] == ["key", "key", "rotation", "rotating", "key"]


def test_logseq_properties_read_as_the_app_shows_them() -> None:
    """A fresh-user trial on Logseq's docs: excerpts read `type:: Feature platforms:: All
    Platforms`. A property reads "type: Feature"; `std::vector` and `::before` stay."""
    text = "type:: [[UI Element]]\nplatforms:: All Platforms\nSee std::vector and `a:: b`."
    spans = tuple(m.span() for m in re.finditer(r"Element|Platforms", text))
    plain, moved = plain_markdown(text, spans)
    assert plain == "type: UI Element\nplatforms: All Platforms\nSee std::vector and a:: b."
    assert [plain[a:b] for a, b in moved] == ["Element", "Platforms"]
    # The preview shows it the same way, so the excerpt's lines are found in it.
    assert preview_markdown(text).splitlines()[:2] == ["type: UI Element",
                                                       "platforms: All Platforms"]


def test_rendered_text_drops_structure_and_keeps_words_as_written() -> None:
    """What the preview looks for in Qt's rendered note (symbols=False), and heading text."""
    source = "> quoted *line*\n1. first\n- [x] done ![chart](a.png) [site](https://x.org)\n"
    plain, _ = plain_markdown(source + "snake_case, 2*3 and _slanted_ ~~gone~~", symbols=False)
    assert plain.split("\n") == ["quoted line", " first", "  done chart site",
                                  "snake_case, 2*3 and slanted gone"]
    assert plain_inline("Use the **`notesearch`** [[cli|CLI]]") == "Use the notesearch CLI"


def test_the_model_reads_no_html_left_over_from_tags_holding_urls() -> None:
    """A contributors table: a URL in a tag's attribute took the tag's ">" with it, and the
    model read '<a href="' (133 of foam-docs' 918 chunks held such leftovers)."""
    from notesearch.core.prose import embedding_text

    cell = ('<td align="center"><a href="https://github.com/ann"><img '
            'src="https://avatars.example.com/u/1?v=4?s=60" width="60px;" alt="ann"/><br />'
            '<sub><b>Ann Lee</b></sub></a><br /><a href="https://github.com/foam/commits?'
            'author=ann" title="Documentation">📖</a></td>')
    assert embedding_text(cell) == "Ann Lee 📖"
    assert embedding_text("See <https://example.com/a> and https://b.example.com too.") == \
        "See and too."


def test_a_library_from_before_reads_its_notes_with_html_again(tmp_path) -> None:
    """Upgrading (schema 8) marks the notes whose chunks hold tags with URLs for reading
    again, so their passages are embedded from their prose; other notes are left alone."""

    from notesearch.core.indexer import vector_key
    from tests.helpers import as_schema, library_of, marked_by_migrations_to, open_library

    cell = '<a href="https://github.com/ann"><b>Ann Lee</b></a> wrote the guide.\n'
    library = library_of(tmp_path, {"Thanks.md": "# Thanks\n" + cell,
                                    "Plain.md": "# Plain\nNo markup here.\n"})
    library.close()
    as_schema(tmp_path / "home", 7,  # the chunk keyed by the text it used to embed
              "UPDATE chunks SET hash = 'old' WHERE text LIKE '%href%'")
    assert marked_by_migrations_to(tmp_path / "home", 8) == {"Thanks.md"}
    upgraded = open_library(tmp_path / "home")
    upgraded.scan()
    rows = upgraded.conn.execute(
        "SELECT hash, text, context_len FROM chunks WHERE text LIKE '%Ann%'").fetchall()
    assert [h for h, _, _ in rows] == [vector_key(t, n) for _, t, n in rows] != ["old"]
    upgraded.close()


def test_the_excerpt_holds_the_matches_it_was_chosen_for() -> None:
    """Seen on the Logseq docs: "valid intervals seconds" showed an excerpt around an early
    "interval" that stopped short of "Valid intervals are 1 - 600 seconds"."""
    passage = ("You can make Logseq save changes to a git repository at a specified interval. "
               "When auto-commit is enabled, each graph's directory will be made into a git "
               "repository (if it's not already). Logseq will commit changes at the specified "
               "interval of time. Valid intervals are 1 - 600 seconds. Auto-commit will not "
               "push changes to a remote. It has to be pushed by hand, or by a hook you write.")
    snippet = make_snippet(passage, "valid intervals seconds")
    shown = [snippet.text[a:b] for a, b in snippet.highlights]
    assert "Valid intervals are 1 - 600 seconds." in snippet.text
    assert shown[-3:] == ["Valid", "intervals", "seconds"]


def test_a_json_dump_is_data_and_the_code_around_it_stays() -> None:
    """The Logseq docs paste a query's JSON result into a code block; it came out close to
    unrelated queries by meaning. The dump is blanked (line kept), the command stays."""
    from notesearch.core.prose import blank_data

    record = ('[{"parent":{"id":4096},"id":4101,"pathRefs":[{"id":4},{"id":487},{"id":665}],'
              '"uuid":"63afdd4f-a6eb-449c-9f47-85ef3fdf80e5","content":"TODO Fill out","marker":'
              '"TODO"}]')
    lines = ["- Call it:", "  ```", "  curl -X POST http://127.0.0.1:12315/api \\\\",
             "  -d '{\"method\": \"logseq.db.q\", \"args\": [\"(task TODO)\"]}'", "  ```",
             "- Result:", "  ```clojure", "  " + record, "  ```", record]
    kept = blank_data(lines)
    assert kept[7] == "" and kept[9] == "" and len(kept) == len(lines)
    assert kept[:7] == lines[:7] and kept[8] == lines[8]


def test_chinese_matches_are_highlighted_as_whole_runs_not_bigram_pieces() -> None:
    """A fresh user's Chinese vault: "肌酸和咖啡因" was highlighted 【肌酸】【和咖】【啡因】 and
    "咖啡因" as 【咖啡】因, bigrams taken one after another; overlapping ones now read as one."""
    from notesearch.core.text import find_terms

    def marked(text: str, query: str) -> list[str]:
        return [text[a:b] for a, b in find_terms(text, query)]

    assert marked("肌酸和咖啡因不能一起吃", "肌酸和咖啡因可以一起吃吗") == \
        ["肌酸和咖啡因", "一起吃"]
    assert marked("喝咖啡因的饮料", "咖啡因") == ["咖啡因"]
    assert marked("晚上睡不着，试试这个", "睡不着怎么办") == ["睡不着"]
    snippet = make_snippet("少喝咖啡因。", "咖啡因")
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["咖啡因"]


def test_a_plugin_s_settings_block_is_data() -> None:
    """Obsidian's DB Folder plugin keeps its column settings in a ```yaml:dbfolder block; in
    a Chinese vault "creatine" (corrected to "creating") found those settings as prose."""
    from notesearch.core.prose import blank_data

    lines = ["# ∑ DB", "", "```yaml:dbfolder", "columns:", "  __created__:",
             "    label: Created", "```", "A table of my training notes.", "```yaml",
             "label: kept", "```"]
    kept = blank_data(lines)
    assert kept[2:7] == [""] * 5 and kept[7] == lines[7] and kept[8:] == lines[8:]


def test_a_block_id_glued_to_chinese_text_is_bookkeeping_not_words() -> None:
    """WeChat Reading's highlights end "…”。^3-2146-2261" (no space in Chinese text): a
    fresh-user trial saw such ids in 21 excerpts. An exponent keeps its caret."""
    from notesearch.core.prose import embedding_text

    line = "- 📌 利息唤做“福报”。^3-2146-2261"
    assert embedding_text(line) == "- 📌 利息唤做“福报”。"
    assert "^3-2146" not in snippet_text(line)
    for kept in ("keys of 2^1024", "word^abcd"):
        assert embedding_text(kept) == kept


def test_an_excerpt_keeps_a_code_blocks_text_as_written() -> None:
    """A fresh-user trial: "key-finding" found the page on block anchors, but its excerpt
    lacked the word, the example's "^key-finding" taken for the page's own block id."""
    text = ("End a paragraph with an id. ^intro\n```markdown\n"
            "An important finding. ^key-finding\n```\nAfter it. ^after")
    shown = snippet_text(text)
    assert "An important finding. ^key-finding" in shown
    assert "^intro" not in shown and "^after" not in shown
    # A passage that ends inside a code block keeps what it shows of it.
    assert snippet_text("Intro\n```\nkey ^key-finding") == "Intro\n```\nkey ^key-finding"


def test_an_excerpt_shows_no_html_comment() -> None:
    """A fresh-user trial: foam-docs' recipes page showed "<!-- omit in toc -->" in its
    excerpt. A comment written as code is text, and stays."""
    text = "<!-- omit in toc -->\n# Recipes\nA list `<!-- x -->` of recipes. <!-- cut off"
    assert snippet_text(text) == "# Recipes\nA list `<!-- x -->` of recipes."


def test_an_excerpt_never_cuts_a_wikilink_in_two() -> None:
    """A fresh-user trial on the Logseq docs: an excerpt ended "… • Thanks]…", its window
    cut between the brackets of "[[Thanks]]", so a lone "]" showed. Windows of every width
    over passages dense with links show no bracket (about half of them did), keep a short
    link whole, and still show what matched."""
    import random

    from notesearch.core.text import make_snippet

    rng = random.Random(3)
    words = ["alpha", "beta", "[[Thanks]]", "[[Some Page]]", "enhancements",
             "[[Long Page Title Here]]", "[[" + "long " * 20 + "link]]"]
    for _ in range(300):
        passage = " ".join(rng.choice(words) for _ in range(80))
        snippet = make_snippet(passage, "enhancements", width=rng.randint(30, 120))
        shown, highlights = plain_markdown(snippet.text, snippet.highlights)
        assert "[" not in shown and "]" not in shown, snippet.text
        assert "Thank" not in shown.replace("Thanks", ""), shown
        assert highlights and {shown[a:b] for a, b in highlights} == {"enhancements"}


def test_an_excerpt_shows_an_images_words_not_its_file_name() -> None:
    """A fresh-user trial on the Logseq docs: an excerpt read "• ../assets/sidebar-make-a-
    flashcard.png •", the alt text Logseq fills in with the image's path. Alt text a person
    wrote stays; what the model reads is unchanged."""
    from notesearch.core.prose import embedding_text

    text = ("- Click \"Make a Flashcard\".\n"
            "\t- ![../assets/sidebar-make-a-flashcard.png]"
            "(../assets/sidebar-make-a-flashcard.png)\n"
            "- ![A cat on a mat](cat.png), ![Pasted image 20230101.png](x.png)")
    shown = snippet_text(text)
    assert "assets" not in shown and "Pasted image" not in shown
    assert "Make a Flashcard" in shown and "A cat on a mat" in shown
    assert "../assets/sidebar-make-a-flashcard.png" in embedding_text(text)


def test_a_clitic_of_the_query_is_no_word_to_mark_or_search() -> None:
    """A fresh-user trial: "tips for when I can't fall asleep" marked the lone "t" of a
    note's "doesn't" (FTS5 splits words at the apostrophe). English endings ("n't", "'s")
    and French elided words ("l'") are not searched, and nothing of them is marked."""
    passage = "The knee doesn't hurt after a fall; l'eau froide aide."
    snippet = make_snippet(passage, "tips for when I can't fall asleep")
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["fall"]
    assert query_terms("tips for when I can't fall asleep") == ["tips", "fall", "asleep"]
    assert query_terms("l'eau froide") == ["eau", "froide"]
    assert query_terms("vitamin d, plan b") == ["vitamin", "d", "plan", "b"]


def test_traditional_and_simplified_chinese_are_one_word() -> None:
    """A fresh-user trial: "紅燒肉" (traditional characters) did not find the note "红烧肉"
    (simplified) by its words. Both fold to simplified characters, in index and query, and
    the excerpt marks the word as the note writes it."""
    assert query_terms("紅燒肉") == query_terms("红烧肉") == ["红烧", "烧肉"]
    snippet = make_snippet("红烧肉的做法很简单。", "紅燒肉")
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["红烧肉"]
    snippet = make_snippet("紅燒肉的做法很簡單。", "红烧肉 简单")
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["紅燒肉", "簡單"]


def test_without_headings_keeps_comments_in_code() -> None:
    """Which words of a passage are its own (chunking.headings_alone): its heading lines go,
    a Logseq heading block's too, but "# install" inside fenced code is code."""
    from notesearch.core.markdown import without_headings

    text = "## Setup\n- ## Steps\n```sh\n# install\npip install x\n```\n### Notes"
    assert without_headings(text).strip() == "```sh\n# install\npip install x\n```"


def test_an_excerpt_drops_emphasis_marks_only_in_pairs_and_keeps_escaped_ones() -> None:
    """A fresh-user trial: "dial #991*15901590* from a phone" showed "#991*15901590", one
    star of two gone, a code that dials something else. Single marks are markup only when
    they pair on their line, as a reader's Markdown renders them; a backslash escape shows
    its character."""
    def shown(text: str) -> str:
        return plain_markdown(snippet_text(text))[0]

    assert shown("dial #991*15901590* from a phone") == "dial #99115901590 from a phone"
    assert shown(r"dial #991\*15901590\* from a phone") == "dial #991*15901590* from a phone"
    assert shown("5 * 3 is 15, 2*3 and 4_5") == "5 * 3 is 15, 2*3 and 4_5"
    # A mark at a word's edge goes alone too: an excerpt's window may have cut its pair off.
    assert shown("If you want *LaTeX rendered") == "If you want LaTeX rendered"
    assert shown("*one* and _two_, snake_case_name, _with snake_case inside_") == \
        "one and two, snake_case_name, with snake_case inside"
    assert shown(r"5 \* 3, \#1 and C:\Users\me") == "5 * 3, #1 and C:\\Users\\me"
    assert shown("`a*b` and `\\*`") == "a*b and \\*"  # code as written
