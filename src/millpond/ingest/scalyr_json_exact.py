"""The exact parser for "Scalyr JSON" (spec §2.2): bytes → value, every error with its byte offset.

A recursive-descent parser over the bytes. `scalyr_json.parse_body` calls it only when its
shortcuts through `orjson` do not apply: for bodies that use the config-file relaxations, for
bodies with a length prefix of 16 MiB or more, and for every body that is wrong, because only
this parser can say what is wrong and where. It reads a superset of JSON:

    value   := object | array | strings | number | "true" | "false" | "null"
    object  := "{" (member (sep member)* sep?)? "}"      sep: "," or a line break
    member  := (identifier | strings) ":" value          the last of duplicate keys wins
    array   := "[" (value (sep value)* sep?)? "]"
    strings := string ("+" string)*                      "a" + "b" is "ab"
    string  := '"' JSON string '"'
             | '\"\"\"' any bytes, JSON escapes resolved, up to the next '\"\"\"'
             | "`s" big-endian int32 length, then that many raw bytes

Whitespace is space, tab, CR and LF; `//` and `/* */` comments count as whitespace. Strings
decode as UTF-8 with U+FFFD for invalid bytes and lone surrogate escapes; a quoted string may
hold raw control bytes (as in the agent's own parser) but not a raw line break. Numbers follow
JSON's grammar and mean what `orjson` makes of them, so that both paths of `parse_body` agree:
integers outside [-2**63, 2**64) become floats, and a number too large for a double is an error.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any, NoReturn

from millpond.errors import BadParam

MAX_DEPTH = 100
HINT = (
    'an addEvents body is one JSON object, e.g. {"session": "…", "events": '
    '[{"ts": "1700000000000000000", "attrs": {"message": "…"}}]}'
)

_SKIP = re.compile(rb"(?:[ \t\r\n]+|//[^\r\n]*|/\*.*?\*/)*", re.S)
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NUMBER_TAIL = frozenset(b"0123456789.+-_" + string.ascii_letters.encode())
_STRING = re.compile(rb'"([^"\\\r\n]*(?:\\.[^"\\\r\n]*)*)"')
_STRING_PREFIX = re.compile(rb'"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*')
_TRIPLE = re.compile(rb'"""([^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*)"""', re.S)
_ESCAPE = re.compile(rb'\\(?:u([0-9A-Fa-f]{4})|(["\\/bfnrt]))')
_ESCAPES = {
    b'"': '"',
    b"\\": "\\",
    b"/": "/",
    b"b": "\b",
    b"f": "\f",
    b"n": "\n",
    b"r": "\r",
    b"t": "\t",
}
_KEY_END = frozenset(b" \t\r\n:/,{}[]\"`")  # what can follow a bare key, if in the wrong place
_WORDS: dict[bytes, Any] = {b"true": True, b"false": False, b"null": None}
_INT_MIN, _INT_END = -(2**63), 2**64
_NOT_A_NUMBER = "send null or a string instead"

_OPEN, _CLOSE, _QUOTE, _BACKTICK, _COMMA, _COLON, _PLUS, _MINUS, _SLASH = b'{}"`,:+-/'
_LBRACKET, _RBRACKET = b"[]"


def parse_exact(data: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse an addEvents body in the lenient dialect; `BadParam` names the first error's offset."""
    return _Parser(data, max_depth).body()


def _fail(what: str, pos: int, fix: str = "") -> NoReturn:
    """Raise `BadParam`: what is wrong, where, how to fix it, and what a body looks like."""
    advice = f"{fix}; {HINT}" if fix else HINT
    raise BadParam(f"the body is not valid JSON: {what} at byte {pos}; {advice}")


class _Parser:
    __slots__ = ("data", "end", "max_depth")

    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.end = len(data)
        self.max_depth = max_depth

    def body(self) -> dict[str, Any]:
        pos = self.skip(0)
        if pos >= self.end:
            raise BadParam(f"the body is empty; {HINT}")
        if self.data[pos] != _OPEN:
            raise BadParam(
                f"the body must be a JSON object, but it starts with {self.found(pos)} "
                f"at byte {pos}; {HINT}"
            )
        result, pos = self.object(pos, 1)
        pos = self.skip(pos)
        if pos < self.end:
            _fail(f"found {self.found(pos)} after the end of the top-level object", pos)
        return result

    def skip(self, pos: int) -> int:
        """The offset of the next byte that is not whitespace or part of a comment."""
        match = _SKIP.match(self.data, pos)
        return match.end() if match else pos

    def found(self, pos: int) -> str:
        """What the byte at `pos` is, for a message."""
        data = self.data
        if pos >= self.end:
            return "the end of the body"
        c = data[pos]
        if data.startswith(b"/*", pos):
            return "a '/*' comment that is never closed"
        if c == _SLASH:
            return "'/' (comments start with // or /*)"
        if c == _OPEN:
            return "an object ('{')"
        if c == _LBRACKET:
            return "an array ('[')"
        if c in (_QUOTE, _BACKTICK):
            return "a string"
        if c == _MINUS or 0x30 <= c <= 0x39:
            return "a number"
        word = _WORD.match(data, pos)
        if word is not None:
            return f"the word {word.group().decode()!r}"
        return _byte(c)

    def line_break(self, start: int, end: int) -> bool:
        find = self.data.find
        return find(b"\n", start, end) >= 0 or find(b"\r", start, end) >= 0

    # -- values -----------------------------------------------------------------------------

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        if pos >= self.end:
            _fail("the body ends where a value should be", pos)
        c = self.data[pos]
        if c == _OPEN:
            return self.object(pos, depth + 1)
        if c == _LBRACKET:
            return self.array(pos, depth + 1)
        if c in (_QUOTE, _BACKTICK):
            return self.strings(pos)
        if c == _MINUS or 0x30 <= c <= 0x39:
            return self.number(pos)
        word = _WORD.match(self.data, pos)
        if word is None:
            _fail(f"expected a value but found {self.found(pos)}", pos)
        text = word.group()
        if text in _WORDS:
            return _WORDS[text], word.end()
        if text in (b"NaN", b"Infinity"):
            _fail(f"{text.decode()} is not a JSON number", pos, _NOT_A_NUMBER)
        _fail(f"unexpected word {text.decode()!r}", pos, "put strings in double quotes")

    def object(self, start: int, depth: int) -> tuple[dict[str, Any], int]:
        if depth > self.max_depth:
            _fail(f"objects and arrays are nested more than {self.max_depth} levels deep", start)
        data, end = self.data, self.end
        result: dict[str, Any] = {}
        pos = self.skip(start + 1)
        while True:
            if pos >= end:
                _fail(f"the object opened at byte {start} is not closed: the body ends", pos)
            c = data[pos]
            if c == _CLOSE:
                return result, pos + 1
            key: str
            if c in (_QUOTE, _BACKTICK):
                key, pos = self.strings(pos)
            else:
                word = _WORD.match(data, pos)
                if word is None:
                    _fail(f"expected a key or '}}' but found {self.found(pos)}", pos)
                key, pos = word.group().decode("ascii"), word.end()
                if pos < end and data[pos] not in _KEY_END:
                    _fail(
                        f"{_byte(data[pos])} after the unquoted key {key!r}",
                        pos,
                        "put keys with other characters than letters, digits and '_' in "
                        "double quotes",
                    )
            pos = self.skip(pos)
            if pos >= end or data[pos] != _COLON:
                _fail(f"expected ':' after the key {key!r} but found {self.found(pos)}", pos)
            result[key], value_end = self.value(self.skip(pos + 1), depth)
            pos = self.skip(value_end)
            if pos >= end:
                _fail(f"the object opened at byte {start} is not closed: the body ends", pos)
            c = data[pos]
            if c == _COMMA:
                pos = self.skip(pos + 1)
                continue
            if c == _CLOSE or self.line_break(value_end, pos):
                continue
            _fail(f"expected ',' or '}}' after an object member but found {self.found(pos)}", pos)

    def array(self, start: int, depth: int) -> tuple[list[Any], int]:
        if depth > self.max_depth:
            _fail(f"objects and arrays are nested more than {self.max_depth} levels deep", start)
        data, end = self.data, self.end
        result: list[Any] = []
        pos = self.skip(start + 1)
        while True:
            if pos >= end:
                _fail(f"the array opened at byte {start} is not closed: the body ends", pos)
            if data[pos] == _RBRACKET:
                return result, pos + 1
            if data[pos] == _COMMA:
                _fail("expected a value or ']' but found ','", pos)
            value, value_end = self.value(pos, depth)
            result.append(value)
            pos = self.skip(value_end)
            if pos >= end:
                _fail(f"the array opened at byte {start} is not closed: the body ends", pos)
            c = data[pos]
            if c == _COMMA:
                pos = self.skip(pos + 1)
                continue
            if c == _RBRACKET or self.line_break(value_end, pos):
                continue
            _fail(f"expected ',' or ']' after an array element but found {self.found(pos)}", pos)

    def number(self, pos: int) -> tuple[int | float, int]:
        data = self.data
        match = _NUMBER.match(data, pos)
        end = match.end() if match else pos
        if match is None or (end < self.end and data[end] in _NUMBER_TAIL):
            if data.startswith(b"-Infinity", pos):
                _fail("-Infinity is not a JSON number", pos, _NOT_A_NUMBER)
            token = re.match(rb"[-+.0-9A-Za-z_]*", data[pos : pos + 40])
            shown = (token.group() if token else b"").decode()
            _fail(f"invalid number {shown!r}", pos)
        literal = match.group()
        if match.group(1) is None and match.group(2) is None and len(literal) <= 20:
            number = int(literal)
            if _INT_MIN <= number < _INT_END:
                return number, end
        real = float(literal)
        if math.isinf(real):
            _fail(f"the number {literal.decode()} is too large for a double", pos)
        return real, end

    # -- strings ----------------------------------------------------------------------------

    def strings(self, pos: int) -> tuple[str, int]:
        """One string, or several joined with '+'."""
        text, end = self.string(pos)
        after = self.skip(end)
        if after >= self.end or self.data[after] != _PLUS:
            return text, end
        parts = [text]
        while after < self.end and self.data[after] == _PLUS:
            pos = self.skip(after + 1)
            if pos >= self.end or self.data[pos] not in (_QUOTE, _BACKTICK):
                _fail(f"expected a string after '+' but found {self.found(pos)}", pos)
            text, end = self.string(pos)
            parts.append(text)
            after = self.skip(end)
        return "".join(parts), end

    def string(self, pos: int) -> tuple[str, int]:
        data = self.data
        if data[pos] == _BACKTICK:
            return self.length_prefixed(pos)
        if data.startswith(b'"""', pos):
            match = _TRIPLE.match(data, pos)
            if match is None:
                _fail("the triple-quoted string is not closed", pos)
            return _unescape(match.group(1), pos + 3), match.end()
        match = _STRING.match(data, pos)
        if match is None:
            self.string_error(pos)
        return _unescape(match.group(1), pos + 1), match.end()

    def string_error(self, start: int) -> NoReturn:
        prefix = _STRING_PREFIX.match(self.data, start)
        pos = prefix.end() if prefix else start + 1
        if pos < self.end and self.data[pos] == 0x5C:  # a backslash before CR, LF or the end
            pos += 1
        if pos >= self.end:
            _fail(f"the string opened at byte {start} is not closed: the body ends", pos)
        _fail(
            "a raw line break inside a string",
            pos,
            'write it as \\n, or use a """triple-quoted""" string',
        )

    def length_prefixed(self, pos: int) -> tuple[str, int]:
        """`` `s `` + 4-byte big-endian signed length + that many raw bytes (UTF-8)."""
        data = self.data
        if not data.startswith(b"`s", pos):
            _fail(
                "a backtick that does not start a length-prefixed string",
                pos,
                "the only backtick form is `s with a 4-byte length",
            )
        if pos + 6 > self.end:
            _fail("the length of a length-prefixed string runs past the end of the body", pos)
        length = int.from_bytes(data[pos + 2 : pos + 6], "big", signed=True)
        if length < 0:
            _fail(f"a length-prefixed string with the negative length {length}", pos)
        end = pos + 6 + length
        if end > self.end:
            _fail(
                f"a length-prefixed string of {length} bytes runs past the end of the body "
                f"({self.end - pos - 6} bytes follow its length)",
                pos,
            )
        return data[pos + 6 : end].decode("utf-8", "replace"), end


def _byte(c: int) -> str:
    return f"'{chr(c)}'" if 0x20 < c < 0x7F else f"the byte 0x{c:02x}"


def _unescape(raw: bytes, offset: int) -> str:
    """A string literal's text: JSON backslash escapes resolved, UTF-8 decoded with U+FFFD.

    Escapes are ASCII and never part of a multi-byte UTF-8 sequence, so decoding the runs
    between them one by one is the same as decoding the whole. `\\u` escapes of surrogates are
    paired through UTF-16; a lone one becomes U+FFFD.
    """
    if b"\\" not in raw:
        return raw.decode("utf-8", "replace")
    parts: list[str] = []
    pos = 0
    surrogates = False
    while (i := raw.find(b"\\", pos)) >= 0:
        match = _ESCAPE.match(raw, i)
        if match is None:
            bad = raw[i : i + 2].decode("utf-8", "replace")
            _fail(
                f"the invalid escape {bad!r} in a string",
                offset + i,
                'the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX',
            )
        parts.append(raw[pos:i].decode("utf-8", "replace"))
        code, simple = match.groups()
        if simple is not None:
            parts.append(_ESCAPES[simple])
        else:
            point = int(code, 16)
            surrogates = surrogates or 0xD800 <= point < 0xE000
            parts.append(chr(point))
        pos = match.end()
    parts.append(raw[pos:].decode("utf-8", "replace"))
    text = "".join(parts)
    if surrogates:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
