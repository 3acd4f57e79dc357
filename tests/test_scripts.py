"""Keyword search in every script: text and queries normalised alike (NFKC width folding, full
case folding), CJK and Hangul segmented, Latin words apart from the CJK around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from notesearch.core.text import find_terms
from tests.helpers import open_library

NOTES = {
    "en.md": "# Cables\nThe ＨＤＭＩ cable and the ＵＳＢ hub live in the left drawer.",
    "wifi.md": "# Router\nThe WiFi password is on the sticker under the router.",
    "de.md": "# Straßenbahn\nDie Straßenbahn fährt über die Brücke; Größe der Fahrräder.",
    "fr.md": "# Crème brûlée\nUne crème brûlée se caramélise au dernier moment.",
    "tr.md": "# Gezi\nİstanbul ve İzmir arasında feribot; Iğdır çok uzak.",
    "zh.md": "# 脚本\n用Python写脚本，换iPhone15还是等等，GitHub上的项目。",
    "ja.md": "# 旅行\n東京でラーメンを食べました。ひらがなとカタカナとPython3の練習。",
    "ko.md": "# 메모\n오늘 노트를 정리했다. 회의록은 서버에 있다.",
}

CASES = [  # query as a person types it -> the note that holds it, in another form
    ("HDMI", "en.md"), ("usb", "en.md"), ("ＷｉＦｉ", "wifi.md"),
    ("strassenbahn", "de.md"), ("STRASSENBAHN", "de.md"), ("brucke", "de.md"), ("grösse", "de.md"),
    ("creme brulee", "fr.md"), ("CARAMÉLISE", "fr.md"),
    ("İstanbul", "tr.md"), ("İZMİR", "tr.md"), ("istanbul", "tr.md"),
    ("Python", "zh.md"), ("iPhone15", "zh.md"), ("GitHub", "zh.md"), ("脚本", "zh.md"),
    ("ラーメン", "ja.md"), ("東京", "ja.md"), ("カタカナ", "ja.md"), ("python3", "ja.md"),
    ("노트", "ko.md"), ("회의록", "ko.md"),
]


@pytest.fixture(scope="module")
def scripts_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("scripts")
    notes = root / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    library = open_library(root / "home")
    library.add_folder(notes)
    library.scan()  # words only: this is about the keyword index
    yield library
    library.close()


@pytest.mark.parametrize(("query", "note"), CASES)
def test_words_are_found_whatever_their_form(scripts_library, query, note):
    found = scripts_library.search(query, k=3, mode="words").results
    assert found and Path(found[0].path).name == note
    # And the words that matched are the ones highlighted, in the note's own form.
    assert found[0].snippet.highlights, "nothing highlighted"


def test_highlights_land_on_the_characters_written():
    text = "用Python写脚本 and a ＨＤＭＩ cable in İstanbul"
    shown = [text[a:b] for a, b in find_terms(text, "python hdmi istanbul")]
    assert shown == ["Python", "ＨＤＭＩ", "İstanbul"]
    assert [text[a:b] for a, b in find_terms(text, "脚本")] == ["脚本"]



def test_a_word_being_typed_is_highlighted_in_any_script():
    # The typed prefix is matched against each word as normalised ("strass" begins "Straße",
    # "hdm" begins "ＨＤＭＩ"), and the same passage read again at the next keystroke
    # (kept from the last) gives the same spans.
    text = "Die Straßenbahn, ein ＨＤＭＩ Kabel und 东京 Straßen"
    for _ in range(2):
        assert [text[a:b] for a, b in find_terms(text, "strass", True)] == [
            "Straßenbahn", "Straßen"]
        assert [text[a:b] for a, b in find_terms(text, "kabel hdm", True)] == ["ＨＤＭＩ", "Kabel"]
    assert find_terms(text, "strass", False) == []


def test_words_beside_curly_quotes_and_symbols_are_highlighted_as_written():
    # Text whose only non-ASCII characters stand between words is read as ASCII; a symbol
    # that normalises to letters ("™" reads "tm", as the index reads it) is still a word.
    for text in ("“Filing” — the sign, 🚀 happy files…", "Filing the sign, happy files"):
        assert [text[a:b] for a, b in find_terms(text, "files happiness")] == [
            "Filing", "happy", "files"]
        assert [text[a:b] for a, b in find_terms(text, "sig", True)] == ["sign"]
    text = "the ™ sign"
    assert [text[a:b] for a, b in find_terms(text, "tm")] == ["™"]

def test_macos_decomposed_file_names_and_text_match_composed_queries(tmp_path):
    import unicodedata

    notes = tmp_path / "notes"
    notes.mkdir()
    decomposed = unicodedata.normalize("NFD", "Café résumé")
    (notes / f"{decomposed}.md").write_text(f"# {decomposed}\nNotes.", encoding="utf-8")
    library = open_library(tmp_path / "home")
    library.add_folder(notes)
    library.scan()
    for query in ("café", "resume", unicodedata.normalize("NFD", "café")):
        assert library.search(query, k=3, mode="words").results, query
    library.close()
