"""addEvents bodies (spec §2.2): strict JSON or the Scalyr Agent's dialect → the request object.

`parse_body` tries three ways, fastest first; whichever succeeds, the object is the same:

1. **Strict JSON** (the Java client, logstash, fluentd, kafka-connect, dataset-go): `orjson.loads`.
2. **The agent's dialect** without config-file extras: rewritten to strict JSON, then
   `orjson.loads` (`_agent_to_json`). Python loops once per length-prefixed string; the rest
   is `bytes.find`, `join`, `split` and NumPy over the whole body at once.
3. **Everything else** (comments, missing or trailing commas, `+`, triple quotes, length
   prefixes of 16 MiB or more) and every broken body: the exact recursive-descent parser in
   `scalyr_json_exact`, which names the byte offset of an error.

Results of 1 and 2 that are not objects or nest deeper than `MAX_DEPTH` (orjson allows 1024)
go to the exact parser as well, which rejects them with the offset.

**Why the rewrite is sound.** It turns the body into a text T and trusts orjson only if T is
strict JSON. T is the body with two kinds of rewrites:

(a) `` `s\x00 `` + 3 length bytes + raw bytes becomes TAB + the JSON string of the raw bytes
    decoded as UTF-8 with U+FFFD. Every length under 16 MiB starts with a 0x00 byte; `find`
    resumes after each string's raw bytes, so raw bytes are never searched.
(b) an identifier before optional whitespace and a ':' gets double quotes if it starts a run
    of word bytes, is not preceded by a backslash, and an even count of unescaped quotes
    precedes the ':' (so it is not in a quoted string; soundness does not rest on the count).

Read T from the left up to the first rewrite: so far T is the body. Were a JSON lexer inside
a string there, T would not be strict JSON: (a) puts a raw TAB, or a backslash-TAB, into the
string; (b) puts an unescaped '"' into it right before a letter or '_', i.e. a string token
directly followed by a letter. So the rewrite is between tokens, the text after it lexes as
in the body, and by induction the same holds for every later rewrite. Between tokens, (a)
gives the string token the exact parser reads, and (b) a string token followed by ':', which
strict JSON allows only as an object key, where the exact parser reads the bare identifier as
that very key. A `` `s `` that (a) skipped (a length of 16 MiB or more, or negative) leaves a
backtick outside any string; comments, `+`, triple quotes, missing and trailing commas are not
strict JSON either: each makes orjson fail and the exact parser decide. All else in T is
strict JSON, which both parsers read alike: the last of duplicate keys wins (in orjson too),
and numbers mean what orjson makes of them (see `scalyr_json_exact`). The nesting depth is
counted over the brackets outside strings, by the same quote count, which is exact once
orjson has accepted T.
"""

from __future__ import annotations

import math
import operator
import re
import string
import struct
from collections.abc import Callable, Iterable
from itertools import chain, compress, repeat
from typing import Any

import numpy as np
import orjson

from millpond.ingest.scalyr_json_exact import HINT, MAX_DEPTH, parse_exact

__all__ = ["HINT", "MAX_DEPTH", "dumps_agent", "parse_body", "parse_exact"]

_PREFIX = b"`s\x00"  # starts every length-prefixed string shorter than 16 MiB
_MARK = b'\t"\x00"'  # holds a length-prefixed string's place; a raw NUL is never JSON text
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IS_WORD = np.zeros(256, dtype=bool)
_IS_WORD[list(b"0123456789_" + string.ascii_letters.encode())] = True
_IS_WORD_START = _IS_WORD.copy()
_IS_WORD_START[list(b"0123456789")] = False
_IS_SPACE = np.zeros(256, dtype=bool)
_IS_SPACE[list(b" \t\r\n")] = True
_IS_BACKSLASH = np.zeros(256, dtype=bool)
_IS_BACKSLASH[ord("\\")] = True
_QUOTE, _BACKSLASH, _COLON = b'"\\:'
_LBRACE, _RBRACE = b"{}"
_length = struct.Struct(">i").unpack_from
_decode = operator.methodcaller("decode", "utf-8", "replace")


def parse_body(data: bytes) -> dict[str, Any]:
    """The request object of an addEvents body: strict JSON or the Scalyr Agent's dialect.

    Raises `BadParam` that names the first error and its byte offset.
    """
    try:
        result = orjson.loads(data)
    except orjson.JSONDecodeError:
        result = _agent_to_json(data)
        if result is not None:
            return result
    else:
        if type(result) is dict and _within_depth(result, MAX_DEPTH):
            return result
    return parse_exact(data)


def _agent_to_json(data: bytes) -> dict[str, Any] | None:
    """The body rewritten to strict JSON and parsed by orjson; None: ask the exact parser."""
    # (a) Cut out the length-prefixed strings; a mark holds each one's place.
    find, size = data.find, len(data)
    segments: list[bytes] = []
    raws: list[bytes] = []
    segment, raw = segments.append, raws.append
    start = 0
    pos = find(_PREFIX)
    while pos >= 0:
        if pos + 6 > size or (end := pos + 6 + _length(data, pos + 2)[0]) > size:
            return None
        segment(data[start:pos])
        raw(data[pos + 6 : end])
        start = end
        pos = find(_PREFIX, end)
    segments.append(data[start:])
    structure = _MARK.join(segments)
    if structure.count(b"\x00") != len(raws):
        return None
    # (b) Quote the bare keys.
    text = np.frombuffer(structure, dtype=np.uint8)
    quotes = _delimiters(text)
    if _nesting(structure, text, quotes) > MAX_DEPTH:
        return None
    bounds = _bare_key_bounds(text, quotes)
    pieces = np.insert(text, bounds, _QUOTE).tobytes().split(b"\x00")
    # Put the strings back, escaped by one orjson call: in a list of JSON strings '","' occurs
    # only between items, since a '"' inside a string is always escaped.
    parts: list[bytes] = [b""] * (2 * len(raws) + 1)
    parts[0::2] = pieces
    if raws:
        parts[1::2] = orjson.dumps(list(map(_decode, raws)))[2:-2].split(b'","')
    try:
        result = orjson.loads(b"".join(parts))
    except orjson.JSONDecodeError:
        return None
    return result if type(result) is dict else None


def _delimiters(text: np.ndarray) -> np.ndarray:
    """The offsets of the quotes that open or close strings in JSON text, in order.

    Exact for valid JSON: a quote delimits a string unless an odd run of backslashes precedes
    it, and outside strings there are no backslashes. A byte at offset p is inside a string
    when an odd number of delimiters precede it: `np.searchsorted(quotes, p) % 2 == 1`.
    """
    quotes = np.flatnonzero(text == _QUOTE)
    escapable = np.flatnonzero((quotes > 0) & (text[quotes - 1] == _BACKSLASH))
    if escapable.size:
        after = quotes[escapable]
        runs = _run_starts(text, after - 1, _IS_BACKSLASH)
        quotes = np.delete(quotes, escapable[(after - runs) % 2 == 1])
    return quotes


def _run_starts(text: np.ndarray, ends: np.ndarray, member: np.ndarray) -> np.ndarray:
    """For each offset in `ends`: where the run of bytes that `member` accepts ending there
    starts. One step per byte of the longest run, each over all runs at once."""
    starts = ends.copy()
    active = np.arange(len(ends))
    while active.size:
        before = starts[active] - 1
        more = before >= 0
        more[more] = member[text[before[more]]]
        active = active[more]
        starts[active] -= 1
    return starts


def _bare_key_bounds(text: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Where quotes go around bare keys: identifiers before optional whitespace and a ':'
    outside strings, preceded by neither a word byte nor a backslash."""
    colons = np.flatnonzero(text == _COLON)
    ends = colons[(colons > 0) & (np.searchsorted(quotes, colons) % 2 == 0)]
    spaced = _IS_SPACE[text[ends - 1]]
    if spaced.any():
        ends[spaced] = _run_starts(text, ends[spaced] - 1, _IS_SPACE)
    ends = ends[(ends > 0) & _IS_WORD[text[ends - 1]]]
    starts = _run_starts(text, ends - 1, _IS_WORD)
    keep = _IS_WORD_START[text[starts]] & ((starts == 0) | (text[starts - 1] != _BACKSLASH))
    return np.concatenate((starts[keep], ends[keep]))


def _nesting(structure: bytes, text: np.ndarray, quotes: np.ndarray) -> int:
    """How deep objects and arrays nest in JSON text with the string `_delimiters` `quotes`
    (exact if the text is valid JSON)."""
    if structure.count(b"{") + structure.count(b"[") <= MAX_DEPTH:
        return 0
    folded = text | 0x20  # '[' → '{' and ']' → '}'; nothing else becomes either
    brackets = np.flatnonzero((folded == _LBRACE) | (folded == _RBRACE))
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    steps = np.where(folded[brackets] == _LBRACE, 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def _within_depth(root: dict[str, Any], limit: int) -> bool:
    """Whether no object or array in `root` nests deeper than `limit` levels (root: level 1).

    Level by level, with the per-value work in C (`map`, `compress`).
    """
    dicts: list[dict[str, Any]] = [root]
    lists: list[list[Any]] = []
    for _ in range(limit):
        values = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
        types = list(map(type, values))
        dicts = list(compress(values, map(operator.is_, types, repeat(dict))))
        lists = list(compress(values, map(operator.is_, types, repeat(list))))
        if not dicts and not lists:
            return True
    return False


# -- the agent's dialect, written ------------------------------------------------------------


def _message_only(key: str, value: str) -> bool:
    return key == "message"


def dumps_agent(
    obj: Any,
    *,
    length_prefixed: Callable[[str, str], bool] | None = None,
    duplicate_threads: bool = False,
) -> bytes:
    """Serialize `obj` the way scalyr-agent-2 writes an addEvents body.

    Identifier keys go unquoted; a string is length-prefixed when `length_prefixed(key,
    value)` says so (default: the values of `message` keys), where `key` is the key of the
    nearest enclosing object member ("" at the top). With `duplicate_threads`, a top-level
    `threads` is preceded by an empty `threads: []` early in the object, as the agent does.
    """
    out: list[bytes] = []
    predicate = length_prefixed or _message_only
    if duplicate_threads and isinstance(obj, dict) and "threads" in obj:
        # The agent's base object has `"threads": []`; its trailer adds the real list.
        _write_object([("threads", []), *obj.items()], out, predicate, b" }")
    else:
        _write(obj, "", out, predicate)
    return b"".join(out)


def _write_object(
    items: Iterable[tuple[Any, Any]],
    out: list[bytes],
    predicate: Callable[[str, str], bool],
    close: bytes = b"}",
) -> None:
    out.append(b"{")
    for i, (key, value) in enumerate(items):
        if not isinstance(key, str):
            raise TypeError(f"object keys must be strings, not {type(key).__name__}")
        if i:
            out.append(b", ")
        out.append(key.encode() if _IDENTIFIER.fullmatch(key) else orjson.dumps(key))
        out.append(b":")
        _write(value, key, out, predicate)
    out.append(close)


def _write(value: Any, key: str, out: list[bytes], predicate: Callable[[str, str], bool]) -> None:
    if isinstance(value, str):
        if predicate(key, value):
            raw = value.encode("utf-8")
            out += (b"`s", len(raw).to_bytes(4, "big", signed=True), raw)
        else:
            out.append(orjson.dumps(value))
    elif value is None or isinstance(value, bool):
        out.append(orjson.dumps(value))
    elif isinstance(value, int):
        out.append(str(value).encode())
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"JSON has no {value!r}; send null or a string instead")
        out.append(orjson.dumps(value))
    elif isinstance(value, dict):
        _write_object(value.items(), out, predicate)
    elif isinstance(value, (list, tuple)):
        out.append(b"[")
        for i, item in enumerate(value):
            if i:
                out.append(b", ")
            _write(item, key, out, predicate)
        out.append(b"]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
