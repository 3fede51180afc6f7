"""The filter subset millpond answers today: bare words and quoted phrases, all required.

The full Scalyr filter language (spec §4) replaces this; until then anything else is refused
with a message that says so, never silently misread.
"""

from __future__ import annotations

from millpond.errors import BadParam

_OPERATOR_CHARS = set("()=<>!&|$,*")
_KEYWORDS = {"and", "or", "not", "contains", "matches", "in"}


def parse_text_filter(text: str) -> list[str]:
    """The words and phrases of a filter; each must occur in the message (case-insensitive)."""
    terms: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            i, phrase = _quoted(text, i)
            if phrase:
                terms.append(phrase)
        elif ch in _OPERATOR_CHARS:
            raise _unsupported(f"{ch!r}", i)
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "\"'" and (
                text[i] not in _OPERATOR_CHARS
            ):
                i += 1
            word = text[start:i]
            if word.lower() in _KEYWORDS and word.lower() != "and":
                raise _unsupported(f"the keyword {word!r}", start)
            if word.lower() != "and":
                terms.append(word)
    return terms


def _quoted(text: str, start: int) -> tuple[int, str]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
        elif ch == quote:
            return i + 1, "".join(out)
        else:
            out.append(ch)
            i += 1
    raise BadParam(
        f"unterminated {quote}…{quote} phrase starting at column {start + 1}; close the quote"
    )


def _unsupported(what: str, index: int) -> BadParam:
    return BadParam(
        f"{what} at column {index + 1} is part of the full filter language, which this "
        "millpond does not support yet; for now a filter is words and \"quoted phrases\" "
        "that must all occur in the message"
    )
