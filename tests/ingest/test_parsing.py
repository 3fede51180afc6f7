"""Parsers at ingest: what `parsing.apply` does with what a parser yields (a scripted parser
stands in for the language here; tests/parsers covers the language, tests/e2e the whole)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from millpond.ingest import parsing
from millpond.store.base import EVENT_SCHEMA


@dataclass
class Out:
    index: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    ts_ns: int | None = None
    severity: int | None = None


class Scripted:
    """Lines 'k=v' give field k; ' …' continues the previous line; 'drop' is discarded;
    't=N' sets the time, 's=N' the severity; 'boom' raises."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def parse(self, messages: Sequence[str], *, now_ns: int | None = None) -> list[Out]:
        self.calls.append(list(messages))
        out: list[Out] = []
        for i, line in enumerate(messages):
            if line == "boom":
                raise RuntimeError("a bug in a parser")
            if line == "drop":
                continue
            if line.startswith(" ") and out:
                out[-1].message += "\n" + line
                continue
            key, _, value = line.partition("=")
            event = Out(i, line)
            if key == "t":
                event.ts_ns = int(value)
            elif key == "s":
                event.severity = int(value)
            elif value:
                event.fields[key] = int(value) if value.isdigit() else value
            out.append(event)
        return out


def table(messages: list[str], *, parsers: list[str | None] | None = None,
          threads: list[str | None] | None = None, attrs: list[str | None] | None = None,
          ) -> pa.Table:
    n = len(messages)
    return pa.Table.from_pydict(
        {
            "account_id": [1] * n,
            "ts": list(range(100, 100 + n)),
            "session": ["s"] * n,
            "thread": threads or [None] * n,
            "severity": [3] * n,
            "message": messages,
            "server_host": ["h"] * n,
            "logfile": ["/f"] * n,
            "parser": parsers or ["scripted"] * n,
            "attrs": attrs or [None] * n,
        },
        schema=EVENT_SCHEMA,
    )


def lookup(parser: Scripted) -> Any:
    return lambda name: parser if name == "scripted" else None


def test_fields_time_and_severity_go_into_their_columns() -> None:
    parser = Scripted()
    out = parsing.apply(table(["status=503", "t=5000", "s=5", "plain"]), lookup(parser))
    rows = out.table.to_pylist()
    assert [r["attrs"] for r in rows] == ['{"status":503}', None, None, None]
    assert [r["ts"] for r in rows] == [100, 5000, 102, 103]
    assert [r["severity"] for r in rows] == [3, 3, 5, 3]
    assert out.parsed == 4
    assert out.table.schema == EVENT_SCHEMA


def test_the_events_own_attributes_win() -> None:
    out = parsing.apply(
        table(["status=503", "user=bob"], attrs=['{"status":"own","x":1}', None]),
        lookup(Scripted()),
    )
    assert [orjson.loads(a) if a else None for a in out.table.column("attrs").to_pylist()] == [
        {"status": "own", "x": 1}, {"user": "bob"},
    ]


def test_unknown_parser_names_leave_the_table_alone() -> None:
    t = table(["a=1", "b=2"], parsers=["nobody", None])
    out = parsing.apply(t, lookup(Scripted()))
    assert out.table is t and out.parsed == 0


def test_only_the_lines_that_name_the_parser_are_parsed() -> None:
    parser = Scripted()
    out = parsing.apply(
        table(["a=1", "b=2", "c=3"], parsers=["scripted", "other", None]), lookup(parser)
    )
    assert parser.calls == [["a=1"]]
    assert out.table.column("attrs").to_pylist() == ['{"a":1}', None, None]


def test_grouped_and_discarded_lines_leave_their_rows() -> None:
    out = parsing.apply(
        table(["start=1", " more", " and more", "drop", "next=2", "unparsed"],
              parsers=["scripted"] * 5 + [None]),
        lookup(Scripted()),
    )
    rows = out.table.to_pylist()
    assert [r["message"] for r in rows] == ["start=1\n more\n and more", "next=2", "unparsed"]
    assert [r["ts"] for r in rows] == [100, 104, 105]


def test_lines_group_per_thread() -> None:
    parser = Scripted()
    out = parsing.apply(
        table(["a=1", "b=1", " a2", " b2"], threads=["A", "B", "A", "B"]), lookup(parser)
    )
    assert sorted(parser.calls) == [["a=1", " a2"], ["b=1", " b2"]]
    assert out.table.column("message").to_pylist() == ["a=1\n a2", "b=1\n b2"]


def test_a_grouped_event_carries_the_sequence_mark_of_its_last_line() -> None:
    out = parsing.apply(
        table(["a=1", " x", " y", "b=2", "drop"]),
        lookup(Scripted()),
        seq_ids=pa.array(["S"] * 5),
        seq_nums=pa.array([10, 11, 12, 13, 14], pa.int64()),
    )
    assert out.table.column("message").to_pylist() == ["a=1\n x\n y", "b=2"]
    assert out.seq_ids is not None and out.seq_nums is not None
    assert out.seq_ids.to_pylist() == ["S", "S"]
    # b=2 covers the discarded line after it: a resend of that line is not newer either
    assert out.seq_nums.to_pylist() == [12, 14]


def test_a_parser_that_raises_stores_the_lines_unparsed() -> None:
    t = table(["a=1", "boom"])
    out = parsing.apply(t, lookup(Scripted()))
    assert out.table is t


def test_the_cache_compiles_once_and_forgets_on_change() -> None:
    reads: list[str] = []
    files = {"/logParsers/mine": '{formats: ["$a$ $b$"]}'}

    def read(account_id: int, path: str) -> str | None:
        reads.append(path)
        return files.get(path)

    cache = parsing.ParserCache(read)
    first = cache.get(1, "mine")
    assert first is not None and cache.get(1, "mine") is first
    assert cache.get(1, "uploadLogs") is None and cache.get(1, "uploadLogs") is None
    assert reads.count("/logParsers/mine") == 1
    assert reads.count("/logParsers/uploadLogs") == 1
    files["/logParsers/mine"] = '{formats: ["$b$"]}'
    cache.invalidate(1, "/logParsers/mine")
    second = cache.get(1, "mine")
    assert second is not None and second is not first
    assert cache.get(1, "accessLog") is not None  # a built-in, with no file of that name


def test_a_stored_parser_that_no_longer_compiles_leaves_lines_unparsed() -> None:
    cache = parsing.ParserCache(lambda a, p: "{formats: [" if p == "/logParsers/bad" else None)
    assert cache.get(1, "bad") is None


def test_a_built_in_parser_over_a_whole_request_matches_parse() -> None:
    from millpond.parsers import builtin_parser

    parser = builtin_parser("systemLog")
    assert parser is not None
    lines = ["<34>Feb  3 03:47:01 host-1 sshd[1234]: Accepted publickey for deploy",
             "not syslog", '<13>Feb  3 03:47:02 h app[1]: "quoted" \\ text \u00e9']
    now = 1_795_950_000_000_000_000
    out = parsing.apply(table(lines, parsers=["systemLog"] * 3), lambda n: parser, now_ns=now)
    expected = parser.parse(lines, now_ns=now)
    rows = out.table.to_pylist()
    assert [orjson.loads(r["attrs"]) for r in rows] == [e.fields for e in expected]
    assert [r["ts"] for r in rows] == [e.ts_ns if e.ts_ns is not None else 100 + i
                                       for i, e in enumerate(expected)]
    assert [r["severity"] for r in rows] == [e.severity if e.severity is not None else 3
                                             for e in expected]
    assert out.table.schema == EVENT_SCHEMA
