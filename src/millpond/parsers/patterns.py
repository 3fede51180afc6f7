"""The predefined field patterns (spec §5.4), and reading the values they capture.

`PREDEFINED` maps each name to the Python regex it stands for in the middle of a format. Three
patterns depend on where the field sits, so `formats.py` builds them from the pieces here:

* `quotable` / `quotableNoEscape`: a double-quoted string, or else text up to the format's next
  delimiter (lazily) — or to the end of the line when the field ends the format.
* `json`: a brace-balanced, string-aware `{…}`, or else (like `quotable`) text up to the next
  delimiter. Python's `re` cannot count braces, so `scan_json` finds the closing brace and
  `formats.py` matches a format with json fields piece by piece. `PREDEFINED["json"]` is an
  approximation exact up to `JSON_DEPTH` levels of nesting, for use outside formats.

Captured text becomes a value through `to_value` (numbers) and the unquoting helpers.
"""

from __future__ import annotations

import re
import warnings
from typing import Final

# Possessive quantifiers: a quoted string is either taken whole or not at all, so the engine
# never backtracks into one (and a line with an unterminated quote fails fast).
# Loops are "unrolled" (a possessive run of ordinary characters, then the rare ones) so that
# `re` spends its per-character cost in a tight C loop, not in backtracking bookkeeping.
QUOTED: Final = r'"[^"\\]*+(?:\\[\s\S][^"\\]*+)*+"'
QUOTED_NO_ESCAPE: Final = r'"[^"]*+"'
LAZY: Final = r"[\s\S]*?"  # text up to whatever follows the field in the format
REST: Final = r"[\s\S]*"  # a field that ends the format: the rest of the line
# Before a `"`: lazy, but a backslash escapes the character after it.
ESCAPED_LAZY: Final = r'[^"\\]*+(?:(?:\\[\s\S]|")[^"\\]*+)*?'
# Before whitespace: lazy, ending only where a run of whitespace starts.
LAZY_TO_SPACE: Final = r"[^\s]*+(?:\s++[^\s]*+)*?"


def lazy_until(char: str) -> str:
    """Lazy text before a literal `char` (not a letter, digit or space), unrolled."""
    c = re.escape(char)
    not_c = "[^" + ("\\" + char if char in "]\\^-" else char) + "]"
    return f"{not_c}*+(?:{c}{not_c}*+)*?"

JSON_DEPTH: Final = 12


def _json_regex(depth: int) -> str:
    inner = r'(?:[^{}"]|' + QUOTED + ")*+"
    regex = r"\{" + inner + r"\}"
    for _ in range(depth - 1):
        regex = r'\{(?:[^{}"]|' + QUOTED + "|" + regex + r")*+\}"
    return regex


PREDEFINED: Final[dict[str, str]] = {
    "digits": r"[0-9]+",
    "number": r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?",
    "alphanumeric": r"[A-Za-z0-9]+",
    "identifier": r"[A-Za-z_][A-Za-z0-9_\-]*",
    "quotable": QUOTED + "|" + LAZY,
    "quoteOrSpace": QUOTED + r"|[^\s]*+",
    "json": _json_regex(JSON_DEPTH) + "|" + LAZY,
    "quotableNoEscape": QUOTED_NO_ESCAPE + "|" + LAZY,
    "quoteOrSpaceNoEscape": QUOTED_NO_ESCAPE + r"|[^\s]*+",
}

def compile_regex(regex: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile`, without the FutureWarnings Python gives for regexes that mean something
    else in other dialects (`[[`, `--` in a class): they are valid here and mean what Java
    means."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(regex, flags)


# The runs of `digits`, `alphanumeric`, `identifier` and `number`, possessive: used where the
# text after the field cannot continue the run, so giving characters back could never help.
POSSESSIVE: Final[dict[str, str]] = {
    "digits": r"[0-9]++",
    "number": r"[-+]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][-+]?+[0-9]++)?+",
    "alphanumeric": r"[A-Za-z0-9]++",
    "identifier": r"[A-Za-z_][A-Za-z0-9_\-]*+",
}
# What each can hold, to decide whether the text after a field could continue it.
RUN_CHARACTERS: Final[dict[str, re.Pattern[str]]] = {
    "digits": re.compile(r"[0-9]"),
    "number": re.compile(r"[-+0-9.eE]"),
    "alphanumeric": re.compile(r"[A-Za-z0-9]", re.IGNORECASE),
    "identifier": re.compile(r"[A-Za-z0-9_\-]", re.IGNORECASE),
}

_STRUCTURE: Final = re.compile(r'[{}"]')
_STRING_END: Final = re.compile(r'(?:[^"\\]|\\[\s\S])*+"')


def scan_json(text: str, start: int) -> int | None:
    """The end offset of the brace-balanced value that opens at `text[start] == "{"`, or None
    if the braces never balance. Braces inside double-quoted strings do not count."""
    depth = 0
    pos = start
    find = _STRUCTURE.search
    string_end = _STRING_END.match
    while True:
        m = find(text, pos)
        if m is None:
            return None
        c = m.group()
        pos = m.end()
        if c == '"':
            s = string_end(text, pos)
            if s is None:
                return None
            pos = s.end()
        elif c == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos


_QUOTED_FULL: Final = re.compile(QUOTED)
_ESCAPE: Final = re.compile(r"\\(u[0-9a-fA-F]{4}|[\s\S])")
_ESCAPES: Final[dict[str, str]] = {
    "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/", "'": "'",
}


def _unescape_one(m: re.Match[str]) -> str:
    code = m.group(1)
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, m.group())


def unescape(text: str) -> str:
    """Undo backslash escapes: `\\"` `\\\\` `\\/` `\\'` `\\n` `\\t` `\\r` `\\b` `\\f` `\\uXXXX`;
    any other backslash stays as written."""
    return _ESCAPE.sub(_unescape_one, text) if "\\" in text else text


def unquote(text: str) -> str:
    """The contents of a `"…"` string with its escapes undone; other text unchanged."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and _QUOTED_FULL.fullmatch(text):
        return unescape(text[1:-1])
    return text


def unquote_no_escape(text: str) -> str:
    """The contents of a `"…"` string without escape processing; other text unchanged."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and '"' not in text[1:-1]:
        return text[1:-1]
    return text


_INT64_MAX: Final = 2**63 - 1
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_SIGNIFICANT_DIGITS: Final = 17  # what a double holds exactly, round trip


def to_value(text: str) -> str | int | float:
    """A number for text that is one, else the text.

    Integers without leading zeros that fit in 64 bits become `int`; decimals and exponents
    become `float` when they have at most 17 significant digits and are finite. Everything else
    stays text: `007`, `+5`, `.5`, `1.`, `0x1f`, `NaN`, `inf`, `1e999`, 20-digit ids."""
    if not text or text[0] not in "-0123456789":
        return text
    if len(text) > 24:  # beyond any int64 or exactly-held double (and int()'s digit limit)
        return text
    if text.isdigit() and text.isascii():
        if text[0] == "0" and len(text) > 1:
            return text
        if len(text) < 19:
            return int(text)
        value = int(text)
        return value if value <= _INT64_MAX else text
    if text.count(".") > 1 or text == "-":  # IP addresses, versions, "-": the usual suspects
        return text
    m = _NUMBER.fullmatch(text)
    if m is None:
        return text
    if m.group(1) is None and m.group(2) is None:
        value = int(text)
        return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else text
    mantissa = text[: m.start(2)] if m.group(2) is not None else text
    digits = mantissa.replace("-", "").replace(".", "").lstrip("0")
    if len(digits) > _SIGNIFICANT_DIGITS:
        return text
    number = float(text)
    return number if number not in (float("inf"), float("-inf")) else text


def number_value(text: str) -> str | int | float:
    """Text matched by the `number` pattern, as a number: like `to_value`, but also reading the
    forms that pattern admits and `to_value` leaves alone (`+2`, `.5`, `3.`, `1.E5`)."""
    value = to_value(text)
    if not isinstance(value, str) or not text:
        return value
    body = text[1:] if text[0] in "+-" else text
    sign = "-" if text[0] == "-" else ""
    if body.startswith("."):
        body = "0" + body
    body = body.replace(".e", ".0e").replace(".E", ".0E")
    if body.endswith("."):
        body += "0"
    return to_value(sign + body) if sign + body != text else value
