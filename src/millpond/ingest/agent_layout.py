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
overlapping. The bytes between two messages are then matched, all at once, by one regular
expression anchored at both ends (`_BETWEEN`): the end of one event and the start of the next,
with no backslash, control byte or quote inside the short strings and numbers. Each distinct
attribute prefix `{A` is checked by `orjson` as `{A}`, so `A` is complete JSON object
members and the `,message:` after it is a key at the top of `attrs`. The part before the first
event (`{"token"…, events: [`) and the part after the last (`], logs: …}`) are read by
`parse_body` as objects of their own. A match of all of these is exactly the body the general
parser reads as the same request, so the columns are the same; a body that is not exactly the
Agent's layout, and every broken one, fails some check and returns None. Messages must be
valid UTF-8 here (the general path replaces bad bytes with U+FFFD).
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
_NUMBER = rb"(\d{1,18})"
# The end of an event: its attrs closed, then its own fields.
_END = (
    rb"\}(?:,sd:" + _NUMBER + rb')?,ts:"(\d{1,19})"(?:,si:(' + _SHORT + rb"))?(?:,sn:"
    + _NUMBER + rb")?(?:,sd:" + _NUMBER + rb")?\}"
)
# The start of an event, up to its message; the group is the thread, log and attrs prefix.
_START = (
    rb"(\{thread:" + _SHORT + rb", log:" + _SHORT + rb", attrs:\{(?:[^\x00-\x1f]*,)?)message:"
)
_OPEN, _CLOSE = b"\x02", b"\x01"  # around each stretch between two messages; never matched inside
_BETWEEN = re.compile(re.escape(_OPEN) + _END + b"," + _START + re.escape(_CLOSE))
_FIRST = re.compile(_START + rb"\Z")
_LAST = re.compile(_END + rb"\], (.*)\Z", re.S)
_KEY = re.compile(rb'\{thread:"([^"]*)", log:"([^"]*)", attrs:(\{.*?),?\Z', re.S)


@dataclass(frozen=True)
class Layout:
    """An Agent body read into columns; the events are not yet checked against the request."""

    request: dict[str, Any]  # the body's object without "events"
    keys: list[bytes]  # per event: its thread, log and attrs prefix, as one token
    ts: tuple[bytes, ...]  # per event: the digits of its ts
    # Per event, b"" when absent: `sd` before `ts`, `si` (with its quotes), `sn`, `sd` after.
    sd_before: tuple[bytes, ...]
    si: tuple[bytes, ...]
    sn: tuple[bytes, ...]
    sd_after: tuple[bytes, ...]
    messages: pa.StringArray  # one trailing \n or \r\n already cut


@dataclass(frozen=True)
class EventKey:
    """What a distinct `Layout.keys` token says."""

    thread: str
    log: str
    attrs: dict[str, Any]


def parse(data: bytes) -> Layout | None:
    """The body as columns if it is exactly in the Agent's layout, else None."""
    text = np.frombuffer(data, dtype=np.uint8)
    if text.size < 16:
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
    cuts, tails = starts.tolist(), ends.tolist()

    head = data[: cuts[0]]
    split = head.rfind(_EVENTS_OPEN)
    if split < 0 or (first := _FIRST.match(head, split + len(_EVENTS_OPEN))) is None:
        return None
    last = _LAST.match(data, tails[-1])
    if last is None:
        return None
    stretches = list(map(data.__getitem__, map(slice, tails[:-1], cuts[1:])))
    between = _BETWEEN.findall(_OPEN + (_CLOSE + _OPEN).join(stretches) + _CLOSE) if n > 1 else []
    if len(between) != n - 1:
        return None
    request = _object(head[:split] + b"}")
    trailer = _object(b"{" + last.group(6))
    if request is None or trailer is None or "events" in trailer:
        return None
    request.pop("events", None)
    request.update(trailer)

    # Per column: the n - 1 matches between messages, then the last event's end.
    columns: list[tuple[bytes, ...]] = list(zip(*between, strict=True)) if between else [()] * 6
    ends_of = [(*columns[k], last.group(k + 1) or b"") for k in range(5)]
    messages = _messages(data, begins, lengths)
    if messages is None:
        return None
    return Layout(
        request=request,
        keys=[first.group(1), *columns[5]],
        ts=ends_of[1],
        sd_before=ends_of[0],
        si=ends_of[2],
        sn=ends_of[3],
        sd_after=ends_of[4],
        messages=messages,
    )


def _object(data: bytes) -> dict[str, Any] | None:
    try:
        result = parse_body(data)
    except BadParam:
        return None
    return result if type(result) is dict else None


def _messages(data: bytes, begins: np.ndarray, lengths: np.ndarray) -> pa.StringArray | None:
    """The raw messages gathered into one string column, one trailing \n or \r\n cut;
    None if one is not valid UTF-8."""
    text = np.frombuffer(data, dtype=np.uint8)
    ends = begins + lengths
    newline = (lengths > 0) & (text[np.maximum(ends - 1, 0)] == 0x0A)
    crlf = newline & (lengths > 1) & (text[np.maximum(ends - 2, 0)] == 0x0D)
    keep = lengths - newline - crlf
    offsets = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(keep, out=offsets[1:])
    if offsets[-1] >= 2**31:
        return None
    # One slice per message, joined: cheaper than a gather through a per-byte index array.
    values = b"".join(map(data.__getitem__, map(slice, begins.tolist(), (begins + keep).tolist())))
    messages = pa.StringArray.from_buffers(
        keep.size, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(values)
    )
    try:
        messages.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return messages


def event_key(token: bytes) -> EventKey | None:
    """The thread, log and own attributes of a `Layout.keys` token; None if the attrs prefix
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
