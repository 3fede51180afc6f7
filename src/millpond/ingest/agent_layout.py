"""The Scalyr Agent's exact addEvents layout, read straight into columns.

`parse_body` + `addevents.decode` read any body: they build a dict per event, then walk the
dicts. This module reads only what scalyr-agent-2 writes (`Event.serialize` in its
`scalyr_client.py`), three to four times faster, and returns None for anything else, so the
general path decides. The Agent writes a body as

    {"token": …, "session": …, "threads": [], "sessionInfo": {…}, events: [E, E, …], logs: […],
     threads: […], client_time: N }

with every event E as

    {thread:"T", log:"T", attrs:{A,message:`s<int32 length><raw bytes>},sd:N,ts:"N"}
    {thread:"T", log:"T", attrs:{A,message:`s<int32 length><raw bytes>},ts:"N",si:"S",sn:N}

where `A` is the event's attributes as JSON object members (possibly none), and `sd`, `si`, `sn`
are optional.

**How, and why it is sound.** The length-prefixed messages are found with NumPy (every
`` `s\\x00 ``; lengths under 16 MiB start with a zero byte) and must tile the body without
overlapping. Arrow then cuts the body into its pieces without a copy (a binary array whose
offsets are the pieces' bounds) and gathers them in C: the messages, with one trailing `\\n` or
`\\r\\n` cut, into one string column, and the stretches between two messages into one buffer.
A stretch is the end of one event and the start of the next, up to its message: `_STRETCH`,
with no backslash, control byte or quote inside its short strings and numbers. Stretches
differ mostly in their digits (`ts`, `sd`), and nothing in `_STRETCH` tells one digit from
another (its classes hold all ten or none, its literals none), so each stretch is matched as
its *shape*, the stretch with every digit made `0`: a handful of distinct shapes a request,
each matched once, and the match's group bounds hold for every stretch of that shape. The
numbers are then read from the bodies' digits with NumPy, and the thread + log + attrs
prefixes (the tokens) compared as exact bytes by Arrow's `dictionary_encode`. Each distinct
token's attrs prefix `{A` is checked by `orjson` as `{A}` (`event_key`), so `A` is complete
JSON object members and the `,message:` after it is a key at the top of `attrs`. The part
before the first event (`{"token"…, events: [`) and the part after the last (`], logs: …}`) are
read by `parse_body` as objects of their own. A match of all of these is exactly the body the
general parser reads as the same request, so the columns are the same; a body that is not
exactly the Agent's layout, and every broken one, fails some check and returns None. Messages
must be valid UTF-8 here (the general path replaces bad bytes with U+FFFD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from millpond.errors import BadParam
from millpond.ingest.scalyr_json import parse_body

_EVENTS_OPEN = b", events: ["
_SHORT = rb'"[^"\\\x00-\x1f\x7f]*"'  # a string with nothing to unescape
# The end of an event: its attrs closed, then its own fields (sd, ts, si, sn, sd).
_END = (
    rb"\}(?:,sd:(?P<sd_before>\d{1,18}))?,ts:\"(?P<ts>\d{1,19})\"(?:,si:(?P<si>" + _SHORT
    + rb"))?(?:,sn:(?P<sn>\d{1,18}))?(?:,sd:(?P<sd_after>\d{1,18}))?\}"
)
# The start of an event, up to its message; `token` is the thread, log and attrs prefix.
_START = (
    rb"(?P<token>\{thread:" + _SHORT + rb", log:" + _SHORT
    + rb", attrs:\{(?:[^\x00-\x1f]*,)?)message:"
)
# Between two messages: the newline cut from the first (if any), its event's end, the next's
# start. Matched against a stretch's shape (every digit a 0): see the module's docstring.
_STRETCH = re.compile(rb"(?:\r?\n)?" + _END + b"," + _START)
_FIRST = re.compile(_START + rb"\Z")
_LAST = re.compile(_END + rb"\], (?P<rest>.*)\Z", re.S)
_KEY = re.compile(rb'\{thread:"([^"]*)", log:"([^"]*)", attrs:(\{.*?),?\Z', re.S)
_NUMBERS = ("sd_before", "ts", "sn", "sd_after")
_ZERO = 0x30


@dataclass(frozen=True)
class Number:
    """A number field of every event: whether the event gives it, and its value (0 if not)."""

    given: np.ndarray  # bool
    values: np.ndarray  # uint64; at most 19 digits, so below 2**64


@dataclass(frozen=True)
class Layout:
    """An Agent body read into columns; the events are not yet checked against the request."""

    request: dict[str, Any]  # the body's object without "events"
    tokens: list[bytes]  # the distinct thread, log and attrs prefixes, as the body has them
    token_of: np.ndarray  # int32, per event: its index in `tokens`
    ts: np.ndarray  # uint64, per event
    sd_before: Number  # `sd` written before `ts`
    sn: Number
    sd_after: Number  # `sd` written after `ts` (written twice, the last wins)
    si_given: np.ndarray  # bool, per event
    si: list[bytes]  # the `si` of each event that gives one, in order, with its quotes
    messages: pa.StringArray  # one trailing \n or \r\n already cut

    def __len__(self) -> int:
        return len(self.token_of)


@dataclass(frozen=True)
class EventKey:
    """What a `Layout.tokens` token says."""

    thread: str
    log: str
    attrs: dict[str, Any]


def parse(data: bytes) -> Layout | None:
    """The body as columns if it is exactly in the Agent's layout, else None."""
    text = np.frombuffer(data, dtype=np.uint8)
    if not 16 <= text.size < 2**31:  # _Pieces cuts it with Arrow's 32-bit offsets
        return None
    ticks = np.flatnonzero(text[:-5] == 0x60)  # backticks are rare: test the rest there only
    starts = ticks[(text[ticks + 1] == 0x73) & (text[ticks + 2] == 0)]
    n = starts.size
    if n == 0:
        return None
    lengths = (
        (text[starts + 3].astype(np.int64) << 16)
        | (text[starts + 4].astype(np.int64) << 8)
        | text[starts + 5]
    )
    begins = starts + 6
    ends = begins + lengths
    if ends[-1] > text.size or (n > 1 and bool(np.any(ends[:-1] > starts[1:]))):
        return None

    head = data[: int(starts[0])]
    split = head.rfind(_EVENTS_OPEN)
    if split < 0 or (first := _FIRST.match(head, split + len(_EVENTS_OPEN))) is None:
        return None
    last = _LAST.match(data, int(ends[-1]))
    if last is None:
        return None
    pieces = _Pieces(data, starts, begins, lengths)
    between = pieces.between()
    if between is None:
        return None
    request = _object(head[:split] + b"}")
    trailer = _object(b"{" + last.group("rest"))
    if request is None or trailer is None or "events" in trailer:
        return None
    request.pop("events", None)
    request.update(trailer)
    messages = pieces.messages()
    if messages is None:
        return None

    tokens, token_of = _distinct(between.tokens, first.group("token"))
    numbers = {
        name: Number(
            np.append(between.numbers[name].given, last.group(name) is not None),
            np.append(between.numbers[name].values, np.uint64(int(last.group(name) or 0))),
        )
        for name in _NUMBERS
    }
    last_si = last.group("si")
    return Layout(
        request=request,
        tokens=tokens,
        token_of=token_of,
        ts=numbers["ts"].values,
        sd_before=numbers["sd_before"],
        sn=numbers["sn"],
        sd_after=numbers["sd_after"],
        si_given=np.append(between.si_given, last_si is not None),
        si=between.si if last_si is None else [*between.si, last_si],
        messages=messages,
    )


def _object(data: bytes) -> dict[str, Any] | None:
    try:
        result = parse_body(data)
    except BadParam:
        return None
    return result if type(result) is dict else None


class _Pieces:
    """The body cut at its messages, as one Arrow binary array over its bytes (no copy), three
    elements an event: the `\\`s` header with the length, the message without one trailing
    \\n or \\r\\n, and what follows up to the next header (the stretch between two messages,
    the cut newline first; after the last message, the rest of the body). Gathering its
    elements with `take` runs in C, without a slice and a bytes object per event."""

    def __init__(self, data: bytes, starts: np.ndarray, begins: np.ndarray,
                 lengths: np.ndarray) -> None:
        text = np.frombuffer(data, dtype=np.uint8)
        ends = begins + lengths
        newline = (lengths > 0) & (text[np.maximum(ends - 1, 0)] == 0x0A)
        crlf = newline & (lengths > 1) & (text[np.maximum(ends - 2, 0)] == 0x0D)
        self._n = n = starts.size
        bounds = np.empty(3 * n + 1, dtype=np.int32)  # parse() takes bodies under 2 GiB
        bounds[0:-1:3] = starts
        bounds[1:-1:3] = begins
        bounds[2:-1:3] = ends - newline - crlf
        bounds[-1] = len(data)
        self._view = pa.BinaryArray.from_buffers(
            pa.binary(), 3 * n, [None, pa.py_buffer(bounds), pa.py_buffer(data)]
        )

    def between(self) -> _Between | None:
        """The fields of the n - 1 stretches between two messages; None if one is not in
        the Agent's layout."""
        n = self._n
        if n == 1:
            empty = Number(np.zeros(0, bool), np.zeros(0, np.uint64))
            return _Between(pa.array([], pa.binary()), dict.fromkeys(_NUMBERS, empty),
                            np.zeros(0, bool), [])
        stretches = self._view.take(pa.array(np.arange(2, 3 * n - 1, 3, dtype=np.int32)))
        _, offset_buffer, value_buffer = stretches.buffers()
        offsets = np.frombuffer(offset_buffer, dtype=np.int32)[:n]
        text = np.frombuffer(value_buffer, dtype=np.uint8)[: offsets[-1]]
        shaped = text.copy()
        shaped[(text - np.uint8(_ZERO)) < 10] = _ZERO
        encoded = pa.BinaryArray.from_buffers(
            pa.binary(), n - 1, [None, pa.py_buffer(offsets), pa.py_buffer(shaped)]
        ).dictionary_encode()
        # Per distinct shape, each group's bounds in it (-1 where the group did not take part).
        shapes = encoded.dictionary.to_pylist()
        groups = ("token", "si", *_NUMBERS)
        bounds = np.empty((len(shapes), len(groups), 2), dtype=np.int64)
        for k, shape in enumerate(shapes):
            match = _STRETCH.fullmatch(shape)
            if match is None:
                return None
            bounds[k] = [match.span(group) for group in groups]
        per_event = bounds[encoded.indices.to_numpy()]  # (n - 1, groups, 2)
        at = offsets[:-1].astype(np.int64)[:, None]
        begin, end = per_event[:, :, 0] + at, per_event[:, :, 1] + at
        given = per_event[:, :, 0] >= 0

        # The tokens, with what lies between two of them as the elements in between.
        cuts = np.empty(2 * (n - 1), dtype=np.int32)
        cuts[0::2] = begin[:, 0]
        cuts[1::2] = end[:, 0]
        tokens = pa.BinaryArray.from_buffers(
            pa.binary(), 2 * n - 3, [None, pa.py_buffer(cuts), value_buffer]
        ).take(pa.array(np.arange(0, 2 * n - 3, 2, dtype=np.int32)))
        numbers = {
            name: Number(given[:, k], _digits(text, begin[:, k], end[:, k], given[:, k]))
            for k, name in enumerate(_NUMBERS, start=2)
        }
        si_given = given[:, 1]
        si = [text[b:e].tobytes() for b, e in zip(begin[si_given, 1].tolist(),
                                                   end[si_given, 1].tolist(), strict=True)]
        return _Between(tokens, numbers, si_given, si)

    def messages(self) -> pa.StringArray | None:
        """The messages as one string column; None if one is not valid UTF-8."""
        n = self._n
        raw = self._view.take(pa.array(np.arange(1, 3 * n, 3, dtype=np.int32)))
        try:
            return raw.cast(pa.string())
        except pa.ArrowInvalid:
            return None


@dataclass(frozen=True)
class _Between:
    """What the stretches between messages give events 1 … n - 1 (tokens) and 0 … n - 2
    (the rest)."""

    tokens: pa.BinaryArray
    numbers: dict[str, Number]
    si_given: np.ndarray
    si: list[bytes]


def _digits(text: np.ndarray, begin: np.ndarray, end: np.ndarray,
            given: np.ndarray) -> np.ndarray:
    """The numbers written in `text[begin:end]` (1 to 19 digits each; 0 where not given)."""
    values = np.zeros(len(begin), dtype=np.uint64)
    if not given.any():
        return values
    # Right-aligned, 19 places wide: the places before a number's first digit count 0.
    places = end[given, None] + np.arange(-19, 0)
    digits = text[np.maximum(places, 0)].astype(np.uint64) - _ZERO
    digits[places < begin[given, None]] = 0
    values[given] = digits @ (np.uint64(10) ** np.arange(18, -1, -1, dtype=np.uint64))
    return values


def _distinct(rest: pa.BinaryArray, first: bytes) -> tuple[list[bytes], np.ndarray]:
    """The distinct tokens of the events (the first one's, then `rest`) and each event's index
    among them."""
    encoded = rest.dictionary_encode()
    tokens = encoded.dictionary.to_pylist()
    try:
        code = tokens.index(first)
    except ValueError:
        code = len(tokens)
        tokens.append(first)
    return tokens, np.append(np.int32(code), encoded.indices.to_numpy()).astype(np.int32)


def event_key(token: bytes) -> EventKey | None:
    """The thread, log and own attributes of a `Layout.tokens` token; None if the attrs prefix
    is not JSON object members."""
    match = _KEY.fullmatch(token)
    if match is None:
        return None
    try:
        attrs = orjson.loads(match.group(3) + b"}")
        thread, log = match.group(1).decode(), match.group(2).decode()
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return None
    if type(attrs) is not dict:
        return None
    return EventKey(thread, log, attrs)
