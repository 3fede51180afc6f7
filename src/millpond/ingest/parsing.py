"""Parsers at ingest (spec §5): a request's events, columnar, through the parser each names.

Every event carries the name of its parser (`parser` column: uploadLogs' `parser` parameter,
an addEvents event's, log's or session's `parser` attribute). `apply` looks each distinct name
up once per request — the account's `/logParsers/NAME` file first, then the built-in parsers —
and runs the parser over the lines that name it, one session and thread at a time (line
groupers join lines of the same session and thread). What a parser yields goes back into the
columns:

- its fields are merged into `attrs`; the event's own attributes (addEvents `attrs`, its
  log's) win over fields of the same name, since the sender set them on purpose;
- a `timestamp` field becomes the event's `ts`, a `severity` field its `severity`;
- a rewritten or grouped message replaces `message`; a grouped or discarded line's row goes.

A name nobody defined leaves its lines unparsed, and a parser never makes a request fail: if one
raises (a bug), the lines are stored unparsed and the error is logged.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from millpond.parsers import Parsed, Parser
    from millpond.parsers.columnar import Plan

log = logging.getLogger("millpond.ingest.parsing")

PARSER_DIR = "/logParsers/"


_PLANS: OrderedDict[int, tuple[Parser, Plan | None]] = OrderedDict()
_PLANS_LOCK = threading.Lock()


def plan_of(parser: Parser) -> Plan | None:
    """The parser's columnar plan (`millpond.parsers.columnar`), made once per parser."""
    key = id(parser)
    with _PLANS_LOCK:
        known = _PLANS.get(key)
        if known is not None and known[0] is parser:
            return known[1]
    from millpond.parsers.columnar import plan_for

    plan = plan_for(parser)
    with _PLANS_LOCK:
        _PLANS[key] = (parser, plan)  # holding the parser keeps its id from being reused
        while len(_PLANS) > 1024:
            _PLANS.popitem(last=False)
    return plan


class ParserCache:
    """Compiled parsers by account and name, compiled on first use and dropped when the
    account's parser files change (`invalidate`). Names that resolve to nothing are cached too,
    so the default `uploadLogs` parser name costs one dict lookup."""

    def __init__(self, read_file: Callable[[int, str], str | None], *, size: int = 4096) -> None:
        self._read_file = read_file  # (account_id, path) -> content, None if no such file
        self._size = size
        self._cache: OrderedDict[tuple[int, str], Parser | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, account_id: int, name: str) -> Parser | None:
        key = (account_id, name)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        parser = self._compile(account_id, name)
        with self._lock:
            self._cache[key] = parser
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return parser

    def invalidate(self, account_id: int, path: str) -> None:
        """A config file changed: forget the account's parsers (an alias may name the file)."""
        if not path.startswith(PARSER_DIR):
            return
        with self._lock:
            for key in [k for k in self._cache if k[0] == account_id]:
                del self._cache[key]

    def _compile(self, account_id: int, name: str) -> Parser | None:
        from millpond.parsers import ParserError, builtin_parser, compile_parser

        def lookup(other: str) -> str | None:
            return self._read_file(account_id, PARSER_DIR + other)

        text = lookup(name)
        if text is not None:
            try:
                return compile_parser(name, text, lookup=lookup)
            except ParserError as exc:  # saved before it was checked, or the language changed
                log.warning("parser %r of account %d does not compile, lines stay unparsed: %s",
                            name, account_id, exc.message)
                return None
        return builtin_parser(name)


@dataclass(frozen=True)
class Applied:
    table: pa.Table
    seq_ids: pa.Array | None
    seq_nums: pa.Array | None
    parsed: int  # events a parser ran over


def apply(
    table: pa.Table,
    parser_for: Callable[[str], Parser | None],
    *,
    seq_ids: pa.Array | None = None,
    seq_nums: pa.Array | None = None,
    now_ns: int | None = None,
) -> Applied:
    """The table (EVENT_SCHEMA) with every event's parser applied; `seq_ids`/`seq_nums` (per
    row, addEvents) follow the rows kept. Never raises for what a parser does."""
    unchanged = Applied(table, seq_ids, seq_nums, 0)
    names = table.column("parser")
    distinct = pc.unique(names).to_pylist()
    parsers = {}
    for name in distinct:
        if name is not None and (parser := parser_for(name)) is not None:
            parsers[name] = parser
    if not parsers:
        return unchanged
    try:
        if len(distinct) == 1 and table.column("attrs").null_count == table.num_rows:
            plan = plan_of(parsers[distinct[0]])
            if plan is not None:  # one parser for every line, with a plan: the common case
                return _whole_table(table, plan, seq_ids, seq_nums, now_ns)
        return _apply(table, names, parsers, seq_ids, seq_nums, now_ns)
    except Exception:
        log.exception("a parser failed; the request's lines are stored unparsed")
        return unchanged


def _apply(
    table: pa.Table,
    names: pa.ChunkedArray,
    parsers: dict[str, Parser],
    seq_ids: pa.Array | None,
    seq_nums: pa.Array | None,
    now_ns: int | None,
) -> Applied:
    n = table.num_rows
    messages: list[str | None] = table.column("message").to_pylist()
    results: list[tuple[int, Parsed]] = []  # (row, what the parser made of it)
    covers: dict[int, list[int]] = {}  # a parsed event's row -> the rows of its lines
    # What plans made: (rows, JSON objects, times, severities), one each per row.
    planned: list[tuple[list[int], list[str | None], list[int | None], list[int | None]]] = []
    dropped = False
    parsed_rows = 0
    parsed_mask = np.zeros(n, dtype=bool)
    for name, parser in parsers.items():
        mask = pc.fill_null(pc.equal(names, name), False).to_numpy(zero_copy_only=False)
        parsed_mask |= mask
        rows = np.flatnonzero(mask)
        plan = plan_of(parser)
        if plan is not None:  # line by line, no grouping: every row stays, in one pass
            row_list = rows.tolist()
            planned.append((row_list, *plan.run([messages[r] or "" for r in row_list],
                                                now_ns=now_ns)))
            parsed_rows += len(row_list)
            continue
        for group in _by_session_and_thread(table, rows):
            lines = [messages[r] or "" for r in group]
            parsed_rows += len(group)
            out = parser.parse(lines, now_ns=now_ns)
            results.extend((group[p.index], p) for p in out)
            if len(out) != len(group):
                dropped = True
                starts = [p.index for p in out]
                for first, stop in zip(starts, [*starts[1:], len(group)], strict=True):
                    covers[group[first]] = group[first:stop]
    if not results and not dropped and not planned:
        return Applied(table, seq_ids, seq_nums, parsed_rows)

    attrs: list[str | None] = table.column("attrs").to_pylist()
    ts = table.column("ts").to_numpy().copy()
    severity = table.column("severity").to_numpy().copy()
    for rows_of, objects, stamps, severities in planned:
        for row, obj, stamp, level in zip(rows_of, objects, stamps, severities, strict=True):
            if obj is not None:
                own = attrs[row]
                attrs[row] = obj if own is None else orjson.dumps(
                    {**orjson.loads(obj), **orjson.loads(own)}).decode()
            if stamp is not None:
                ts[row] = stamp
            if level is not None:
                severity[row] = level
    message_changed = False
    for row, p in results:
        own = attrs[row]
        if p.fields:
            fields = {**p.fields, **orjson.loads(own)} if own else p.fields
            attrs[row] = orjson.dumps(fields, option=orjson.OPT_NON_STR_KEYS).decode()
        if p.ts_ns is not None:
            ts[row] = p.ts_ns
        if p.severity is not None:
            severity[row] = p.severity
        if p.message != messages[row]:
            messages[row] = p.message
            message_changed = True

    columns = {
        "ts": pa.array(ts, pa.int64()),
        "severity": pa.array(severity, pa.int8()),
        "attrs": pa.array(attrs, pa.string()),
    }
    if message_changed:
        columns["message"] = pa.array(messages, pa.string())
    for column, values in columns.items():
        table = table.set_column(table.schema.get_field_index(column), column, values)
    if not dropped:
        return Applied(table, seq_ids, seq_nums, parsed_rows)

    # Rows that stay: every row no parser ran over, and each parsed event's first row.
    keep = sorted([*np.flatnonzero(~parsed_mask).tolist(), *(row for row, _ in results)])
    if seq_ids is not None and seq_nums is not None:
        seq_ids, seq_nums = _carry_sequences(keep, covers, seq_ids, seq_nums)
    indices = pa.array(keep, pa.int64())
    return Applied(table.take(indices), seq_ids, seq_nums, parsed_rows)


def _whole_table(table: pa.Table, plan: Plan, seq_ids: pa.Array | None,
                 seq_nums: pa.Array | None, now_ns: int | None) -> Applied:
    """The common case — one parser with a plan for every line (an uploadLogs request), no
    attributes of the sender's — column by column."""
    objects, stamps, severities = plan.run(
        pc.fill_null(table.column("message"), "").to_pylist(), now_ns=now_ns
    )
    columns = {
        "attrs": pa.array(objects, pa.string()),
        "ts": pc.coalesce(pa.array(stamps, pa.int64()), table.column("ts").combine_chunks()),
        "severity": pc.coalesce(pa.array(severities, pa.int8()),
                                table.column("severity").combine_chunks()),
    }
    for column, values in columns.items():
        table = table.set_column(table.schema.get_field_index(column), column, values)
    return Applied(table, seq_ids, seq_nums, table.num_rows)


def _by_session_and_thread(table: pa.Table, rows: np.ndarray) -> list[list[int]]:
    """`rows` split by (session, thread), each part in row order."""
    sessions = table.column("session")
    threads = table.column("thread")
    if sessions.null_count == 0 and len(pc.unique(sessions)) == 1 and (
        threads.null_count == len(threads) or len(pc.unique(threads)) == 1
    ):
        return [rows.tolist()]
    keys = list(zip(sessions.take(pa.array(rows)).to_pylist(),
                    threads.take(pa.array(rows)).to_pylist(), strict=True))
    groups: dict[tuple[Any, Any], list[int]] = {}
    for row, key in zip(rows.tolist(), keys, strict=True):
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _carry_sequences(
    keep: Sequence[int], covers: dict[int, list[int]], seq_ids: pa.Array, seq_nums: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Each kept row takes the sequence mark of the last sequenced line it stands for, so a
    grouped event covers all its lines: a resend of any of them is then not newer than what is
    committed, and is dropped."""
    ids, nums = seq_ids.to_pylist(), seq_nums.to_pylist()
    out_ids: list[str | None] = []
    out_nums: list[int | None] = []
    for row in keep:
        lines = covers.get(row, (row,))
        last = next((r for r in reversed(lines) if ids[r] is not None), None)
        out_ids.append(ids[last] if last is not None else None)
        out_nums.append(nums[last] if last is not None else None)
    return pa.array(out_ids, pa.string()), pa.array(out_nums, pa.int64())
