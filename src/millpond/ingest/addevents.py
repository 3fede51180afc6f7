"""addEvents (spec §2): a decoded request object → one columnar batch of events. Sans-I/O.

The body's bytes are parsed by `scalyr_json.parse_body`; this module checks the request's
shape and assembles each event the way §2.6 says:

- fields = the attributes of the event's log entry (`logs[].attrs`) overlaid with its own
  `attrs` (the event wins; the Agent only sends attributes that differ from its log's);
- `message` leaves the attributes for its own column, with one trailing `\\n` or `\\r\\n` cut;
- `serverHost`: `sessionInfo.serverHost` first, then a `__origServerHost` attribute of the event
  or its log (always removed from the stored fields), then a `serverHost` attribute;
- `parser` and `logfile` from the fields, else from `sessionInfo`, into their own columns;
- `ts` a string or integer of nanoseconds, receipt time when absent; `sev` 0–6, 3 when absent;
- `si` / `sn` / `sd` decoded with the running state of §2.4, for the store's de-duplication.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from millpond.errors import BadParam
from millpond.ingest import agent_layout
from millpond.store.base import EVENT_SCHEMA

SEVERITY_INFO = 3
_COLUMN_FIELDS = ("logfile", "parser")
_MAX_TS = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]+")
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class AddEvents:
    """A decoded addEvents request."""

    session: str
    session_info: dict[str, Any]
    table: pa.Table  # EVENT_SCHEMA
    # Per event: the sequence id and number (§2.4), None where the event has none.
    seq_ids: pa.Array
    seq_nums: pa.Array

    @property
    def has_sequences(self) -> bool:
        return bool(self.seq_ids.null_count < len(self.seq_ids))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadParam(f"{what} must be a string or an integer, not {value!r}")
    return str(value)


def _timestamp(value: Any, index: int) -> int:
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return min(int(text), _MAX_TS)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return min(value, _MAX_TS)
    elif isinstance(value, float) and value >= 0 and value.is_integer():
        return min(int(value), _MAX_TS)
    raise BadParam(
        f"events[{index}].ts must be nanoseconds since the epoch, as a string of digits or an "
        f"integer, not {value!r}"
    )


def _strip_newline(message: str) -> str:
    if message.endswith("\r\n"):
        return message[:-2]
    if message.endswith("\n"):
        return message[:-1]
    return message


@dataclass(frozen=True)
class _Request:
    """What every event of a request shares."""

    session: str
    session_info: dict[str, Any]
    log_attrs: dict[str, dict[str, Any]]
    session_host: str | None  # sessionInfo.serverHost, which every event takes
    logfile: str | None  # sessionInfo's, for events and logs without one
    parser: str | None

    def split(
        self, fields: dict[str, Any]
    ) -> tuple[str | None, str | None, str | None, str | None]:
        """An event's fields (its log's attributes overlaid with its own, `message` already
        taken out) → its server host, logfile, parser and the JSON of the rest. Consumes
        `fields`."""
        orig_host = fields.pop("__origServerHost", None)
        host = self.session_host
        if host is None:
            host = orig_host if orig_host is not None else fields.get("serverHost")
            host = _text(host) if host is not None else None
        logfile = fields.pop("logfile", None)
        parser = fields.pop("parser", None)
        return (
            host,
            _text(logfile) if logfile is not None else self.logfile,
            _text(parser) if parser is not None else self.parser,
            orjson.dumps(fields).decode() if fields else None,
        )


def _request(request: Mapping[str, Any], server_ip: str | None) -> _Request:
    session = request.get("session")
    if not isinstance(session, str) or not session:
        raise BadParam(
            "the body needs a \"session\": a string that identifies the uploading process "
            "(a UUID made at start-up), the same for all its requests"
        )
    info = request.get("sessionInfo")
    if info is None:
        info = {}
    if not isinstance(info, dict):
        raise BadParam("sessionInfo must be an object of session fields")
    session_info = dict(info)
    if server_ip:
        session_info["serverIP"] = server_ip

    log_attrs: dict[str, dict[str, Any]] = {}
    logs = request.get("logs") or []
    if not isinstance(logs, list):
        raise BadParam("logs must be a list of {\"id\": …, \"attrs\": {…}}")
    for i, entry in enumerate(logs):
        if not isinstance(entry, dict) or "id" not in entry:
            raise BadParam(f"logs[{i}] must be an object with an \"id\" and \"attrs\"")
        attrs = entry.get("attrs") or {}
        if not isinstance(attrs, dict):
            raise BadParam(f"logs[{i}].attrs must be an object")
        log_attrs[_id(entry["id"], f"logs[{i}].id")] = attrs

    session_host = info.get("serverHost")
    defaults = {k: _text(info[k]) for k in _COLUMN_FIELDS if info.get(k) is not None}
    return _Request(
        session=session,
        session_info=session_info,
        log_attrs=log_attrs,
        session_host=_text(session_host) if session_host is not None else None,
        logfile=defaults.get("logfile"),
        parser=defaults.get("parser"),
    )


def decode(
    request: Mapping[str, Any],
    *,
    account_id: int,
    server_ip: str | None,
    receipt_ns: Callable[[int], int],
) -> AddEvents:
    """Check and assemble an addEvents request; `receipt_ns(n)` reserves n receipt stamps."""
    shared = _request(request, server_ip)
    events = request.get("events")
    if not isinstance(events, list):
        raise BadParam(
            "the body needs \"events\": a list of events (it may be empty, as in a ping)"
        )
    n = len(events)
    ts = np.empty(n, dtype=np.int64)
    missing_ts: list[int] = []
    severity = np.full(n, SEVERITY_INFO, dtype=np.int8)
    threads: list[str | None] = [None] * n
    messages: list[str | None] = [None] * n
    hosts: list[str | None] = [None] * n
    logfiles: list[str | None] = [None] * n
    parsers: list[str | None] = [None] * n
    attrs_json: list[str | None] = [None] * n
    seq_ids: list[str | None] = [None] * n
    seq_nums: list[int | None] = [None] * n
    cur_si: str | None = None
    cur_sn: int | None = None

    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadParam(f"events[{i}] must be an object")
        own = event.get("attrs")
        if own is None:
            own = {}
        elif not isinstance(own, dict):
            raise BadParam(f"events[{i}].attrs must be an object")
        log_id = event.get("log")
        base = (
            shared.log_attrs.get(_id(log_id, f"events[{i}].log")) if log_id is not None else None
        )
        fields = {**base, **own} if base else dict(own)

        message = fields.pop("message", None)
        if message is not None:
            messages[i] = _strip_newline(_text(message))
        hosts[i], logfiles[i], parsers[i], attrs_json[i] = shared.split(fields)

        raw_ts = event.get("ts")
        if raw_ts is None or raw_ts == "":
            missing_ts.append(i)
        else:
            ts[i] = _timestamp(raw_ts, i)
        sev = event.get("sev")
        if sev is not None:
            if isinstance(sev, bool) or not isinstance(sev, int) or not 0 <= sev <= 6:
                raise BadParam(
                    f"events[{i}].sev must be an integer from 0 (finest) to 6 (fatal), "
                    f"not {sev!r}"
                )
            severity[i] = sev
        thread = event.get("thread")
        if thread is not None:
            threads[i] = _id(thread, f"events[{i}].thread")

        si, sn, sd = event.get("si"), event.get("sn"), event.get("sd")
        if si is not None:
            cur_si = _id(si, f"events[{i}].si")
        if sn is not None:
            cur_sn = _sequence_number(sn, i, "sn")
        elif sd is not None:
            if cur_sn is None:
                raise BadParam(
                    f"events[{i}].sd is a delta, but no earlier event of the request gave an sn"
                )
            cur_sn += _sequence_number(sd, i, "sd")
            if cur_sn not in _INT64:
                raise BadParam(f"events[{i}].sd takes the sequence number past 64 bits")
        if cur_si is not None and cur_sn is not None and (si is not None or sn is not None
                                                          or sd is not None):
            seq_ids[i] = cur_si
            seq_nums[i] = cur_sn

    if missing_ts:
        first = receipt_ns(len(missing_ts))
        ts[missing_ts] = np.arange(first, first + len(missing_ts), dtype=np.int64)

    return _assemble(
        shared,
        account_id,
        [
            pa.array(ts),
            pa.array(threads, pa.string()),
            pa.array(severity),
            pa.array(messages, pa.string()),
            pa.array(hosts, pa.string()),
            pa.array(logfiles, pa.string()),
            pa.array(parsers, pa.string()),
            pa.array(attrs_json, pa.string()),
        ],
        pa.array(seq_ids, pa.string()),
        pa.array(seq_nums, pa.int64()),
    )


def _assemble(
    shared: _Request,
    account_id: int,
    columns: list[pa.Array],
    seq_ids: pa.Array,
    seq_nums: pa.Array,
) -> AddEvents:
    """`columns`: ts, thread, severity, message, server_host, logfile, parser, attrs."""
    n = len(columns[0])
    ts, rest = columns[0], columns[1:]
    table = pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(account_id, pa.int32()), n),
            ts,
            pa.repeat(pa.scalar(shared.session, pa.string()), n),
            *rest,
        ],
        schema=EVENT_SCHEMA,
    )
    return AddEvents(
        session=shared.session,
        session_info=shared.session_info,
        table=table,
        seq_ids=seq_ids,
        seq_nums=seq_nums,
    )


def decode_layout(
    layout: agent_layout.Layout, *, account_id: int, server_ip: str | None
) -> AddEvents | None:
    """`decode` for a body `agent_layout.parse` read: the same result, a few times faster.

    None where the general path must decide (it then also names any error)."""
    shared = _request(layout.request, server_ip)
    n = len(layout)
    # Per distinct thread + log + attrs prefix (a handful per request), the columns it gives.
    rows: list[tuple[str, str | None, str | None, str | None, str | None]] = []
    for token in layout.tokens:
        key = agent_layout.event_key(token)
        if key is None:
            return None
        base = shared.log_attrs.get(key.log)
        fields = {**base, **key.attrs} if base else key.attrs
        fields.pop("message", None)  # the event's length-prefixed message wins
        rows.append((key.thread, *shared.split(fields)))
    codes = pa.array(layout.token_of)
    per_key = [pa.array(column, pa.string()).take(codes) for column in zip(*rows, strict=True)]

    sequences = _layout_sequences(layout)
    if sequences is None:
        return None
    return _assemble(
        shared,
        account_id,
        [
            pa.array(np.minimum(layout.ts, _MAX_TS).astype(np.int64)),
            per_key[0],
            pa.repeat(pa.scalar(SEVERITY_INFO, pa.int8()), n),
            layout.messages,
            *per_key[1:],
        ],
        *sequences,
    )


def _layout_sequences(layout: agent_layout.Layout) -> tuple[pa.Array, pa.Array] | None:
    """`decode`'s running si / sn / sd state, over a layout's columns at once; None on any
    error (the general path then names it)."""
    n = len(layout)
    # At most 18 digits each: these fit in 64 bits.
    sn_given, sn = layout.sn.given, layout.sn.values.astype(np.int64)
    after_given, after = layout.sd_after.given, layout.sd_after.values.astype(np.int64)
    before_given, before = layout.sd_before.given, layout.sd_before.values.astype(np.int64)
    si_given = layout.si_given
    sd_given = after_given | before_given
    given = si_given | sn_given | sd_given
    if not given.any():
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.int64())
    sd = np.where(after_given, after, before)  # written twice, the last wins
    if int(sd.max()) * n + int(np.abs(sn).max()) >= 2**63:
        return None  # might leave 64 bits: the general path checks each step
    position = np.arange(n)
    last_sn = np.maximum.accumulate(np.where(sn_given, position, -1))
    if bool(np.any(sd_given & (last_sn < 0))):
        return None  # a delta before any sn
    # The number: the last sn given, plus the deltas of the events after it up to this one.
    deltas = np.cumsum(np.where(sn_given, 0, sd))
    anchor = np.maximum(last_sn, 0)
    numbers = sn[anchor] + deltas - deltas[anchor]
    last_si = np.cumsum(si_given) - 1  # which of the ids given so far is in force
    marked = given & (last_sn >= 0) & (last_si >= 0)
    try:
        ids = pa.array([item[1:-1].decode() for item in layout.si])
    except UnicodeDecodeError:
        return None
    return (
        ids.cast(pa.string()).take(pa.array(np.maximum(last_si, 0), mask=~marked)),
        pa.array(numbers, pa.int64(), mask=~marked),
    )


def _sequence_number(value: Any, index: int, name: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value)
    if number is None or number not in _INT64:
        raise BadParam(
            f"events[{index}].{name} must be an integer of 64 bits, not {value!r}"
        )
    return number
