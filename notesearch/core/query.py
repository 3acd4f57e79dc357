"""The query language of the search box: "exact phrase", -word, tag: (or #tag), path: (or in:).

Everything else is plain words, and nothing a person types is an error: a stray quote or a
lone "-" are read as text. Operators narrow which notes may be returned; the remaining words
(phrases included) are what is searched by words and by meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A token: a field with a quoted value, a quoted phrase (closed), or a run of non-spaces.
_TOKEN = re.compile(r'(?i:(tag|path|in)):"([^"]+)"|"([^"]+)"|(\S+)')
_FIELD = re.compile(r"^(tag|path|in):(.+)$", re.IGNORECASE)
#: "#work" as a tag, as notes write one: it holds a letter ("#123" is a number, searched as a
#: word, as Obsidian does not take it for a tag either).
_HASHTAG = re.compile(r"#([\w/-]*[^\W\d_][\w/-]*)")

SYNTAX_HELP = ('"exact phrase"  ·  -word (leave out notes with it)  ·  #work or tag:work (and '
               'its child tags)  ·  path:journal or in:journal (part of the path)')


@dataclass(frozen=True)
class ParsedQuery:
    """A search box's text split into what to search for and how to narrow the notes."""

    text: str
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


def parse_query(raw: str) -> ParsedQuery:
    """Parse a search box's text; never raises.

    `text` keeps the words of phrases (they are searched like the rest, and must also appear
    together) and drops operators. An unclosed quote is an ordinary character.
    """
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    tags: list[str] = []
    paths: list[str] = []
    for match in _TOKEN.finditer(raw):
        name, quoted, phrase, token = match.groups()
        if name is not None:
            (tags if name.lower() == "tag" else paths).append(quoted.strip())
            continue
        if phrase is not None:
            if phrase.strip():
                phrases.append(" ".join(phrase.split()))
                words.append(phrase.strip())
            continue
        field = _FIELD.match(token)
        if field and field.group(2).strip('"'):
            value = field.group(2).strip('"')
            (tags if field.group(1).lower() == "tag" else paths).append(value)
        elif len(token) > 1 and token.startswith("-") and token[1].isalnum():
            excluded.append(token[1:].strip('"'))
        elif hashtag := _HASHTAG.fullmatch(token.rstrip(".,;:!?")):
            tags.append(hashtag.group(1))
        else:
            words.append(token)
    text = " ".join(words)
    if raw.endswith(" ") and text:
        text += " "  # as you type, a trailing space means the last word is finished
    return ParsedQuery(text, tuple(phrases), tuple(excluded), tuple(tags), tuple(paths))
