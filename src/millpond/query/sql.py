"""Filter AST → DuckDB SQL, with every value a bound parameter.

The SQL reads the `events` table as `e` and, only when a filter or an aggregate needs a
session ("server") field, the `sessions` table as `s`. A field name resolves like this:

    message, serverHost, logfile, parser,     the event's own columns
    session, thread, severity, timestamp
    serverIP                                  the session's fields
    anything else                             event attributes, then session fields

(log attributes of addEvents are merged into the event attributes at ingest.) Field names
reach the SQL only as bound JSON-path parameters, never as SQL text.

Under `!`/`not` every predicate is made non-NULL, so negation is the plain complement:
`status != 200` and `!(status == 200)` both match events without a `status`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from millpond.errors import BadParam
from millpond.query.filter import (
    And,
    Compare,
    Field,
    In,
    Node,
    Not,
    Or,
    Present,
    Regex,
    Scalar,
    Text,
    TextMatch,
    fields_of,
)


@dataclass(frozen=True)
class SQL:
    """A fragment of SQL and the values of its `?` placeholders, in order."""

    text: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: SQL) -> SQL:
        return SQL(self.text + other.text, self.params + other.params)

    def wrap(self) -> SQL:
        """The fragment in parentheses."""
        return SQL(f"({self.text})", self.params)


def join(parts: Iterable[SQL], sep: str) -> SQL:
    parts = list(parts)
    return SQL(sep.join(p.text for p in parts), tuple(x for p in parts for x in p.params))


# Built-in fields that are columns of `events`, and whether they hold integers.
_COLUMNS: dict[str, tuple[str, bool]] = {
    "message": ("e.message", False),
    "serverHost": ("e.server_host", False),
    "logfile": ("e.logfile", False),
    "parser": ("e.parser", False),
    "session": ("e.session", False),
    "thread": ("e.thread", False),
    "severity": ("e.severity", True),
    "timestamp": ("e.ts", True),
}
# Fields only the session holds.
_SESSION_ONLY = {"serverIP"}


def _json_path(name: str) -> str:
    if not name:
        raise BadParam("a field name is empty; name the field, as in status == 200")
    # Inside a quoted JSON-path key DuckDB reads \\ as \ and \" as ".
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'


def needs_session(name: str) -> bool:
    """Whether reading this field may need the `sessions` table (alias `s`)."""
    return name not in _COLUMNS


def field_sql(name: str) -> SQL:
    """The field's value as text (VARCHAR), NULL where the event has no such field."""
    if name in _COLUMNS:
        column, integer = _COLUMNS[name]
        return SQL(f"CAST({column} AS VARCHAR)" if integer else column)
    path = _json_path(name)
    if name in _SESSION_ONLY:
        return SQL("json_extract_string(s.fields, ?)", (path,))
    return SQL(
        "coalesce(json_extract_string(e.attrs, ?), json_extract_string(s.fields, ?))",
        (path, path),
    )


def number_sql(name: str) -> SQL:
    """The field's value as a number (DOUBLE), NULL where missing or not numeric."""
    if name in _COLUMNS and _COLUMNS[name][1]:
        return SQL(f"CAST({_COLUMNS[name][0]} AS DOUBLE)")
    inner = field_sql(name)
    return SQL(f"TRY_CAST({inner.text} AS DOUBLE)", inner.params)


_CASELESS_RUN = re.compile(r"[\x00-\x40\x5b-\x60\x7b-\x7f]{3,}")  # ASCII, no letters


def quote_regex(text: str) -> str:
    """`text` as an RE2 pattern matching itself: every ASCII character but [A-Za-z0-9_]
    escaped, as RE2's QuoteMeta does."""
    return "".join(
        c if c.isalnum() or c == "_" or ord(c) >= 0x80
        else "\\x00" if c == "\0" else "\\" + c
        for c in text
    )


def _icontains(value: SQL, text: str, *, prefix_only: bool = False) -> SQL:
    """`value` contains (or starts with) `text`, ignoring case.

    Measured over 1 GB of varied log lines (benchmarks/scan_methods.py, docs/performance.md):
    RE2 with its case-insensitive flag scans 1.3 GB/s where DuckDB's ILIKE manages 0.9 (ILIKE
    lowers every string first). Text with no letters is the same in every case, and `contains`
    finds it at 1.75 GB/s, the speed of decompressing the column. A run of three or more such
    characters inside the text (`-7731` in `zebracorn-7731`) is checked with `contains` first,
    and the regular expression only where it passes: CASE short-circuits wherever it stands
    (under NOT, inside OR), where DuckDB evaluates both sides of an AND nested in an
    expression (0.61 s against 0.96 s for a negated term). The CASE is
    never NULL: a NULL value fails its WHEN.
    """
    if not prefix_only and text.isascii() and not any(c.isalpha() for c in text):
        return SQL(f"contains({value.text}, ?)", (*value.params, text))
    pattern = ("^" if prefix_only else "") + quote_regex(text)
    regex = SQL(f"regexp_matches({value.text}, ?, 'i')", (*value.params, pattern))
    runs = _CASELESS_RUN.findall(text)
    if prefix_only or not runs:
        return regex
    longest = max(runs, key=len)
    return (
        SQL(f"CASE WHEN contains({value.text}, ?) THEN ", (*value.params, longest))
        + regex
        + SQL(" ELSE false END")
    )


def _numeric(value: Scalar) -> float | None:
    """The number an unquoted numeric value stands for; quoted values compare as text."""
    if isinstance(value, (bool, str)):
        return None
    return float(value)


def _text_of(value: Scalar) -> str:
    return value if isinstance(value, str) else repr(value)


def _compare(field: str, op: str, value: Scalar) -> SQL:
    """`field op value`: numeric when both sides are numbers, else case-sensitive text."""
    sql_op = "=" if op == "==" else op
    number = _numeric(value)
    if field in _COLUMNS and _COLUMNS[field][1]:
        column = _COLUMNS[field][0]
        if number is not None:
            return SQL(f"{column} {sql_op} ?", (number,))
        return SQL(f"CAST({column} AS VARCHAR) {sql_op} ?", (value,))
    text = field_sql(field)
    if number is None:
        return SQL(f"{text.text} {sql_op} ?", (*text.params, value))
    # Numeric where the field's value reads as a number, text where it does not.
    return SQL(
        f"coalesce(TRY_CAST({text.text} AS DOUBLE) {sql_op} ?, {text.text} {sql_op} ?)",
        (*text.params, number, *text.params, _text_of(value)),
    )


def _text_predicate(value: SQL, op: str, text: str, matchcase: bool) -> SQL:
    if op == "contains":
        if matchcase:
            return SQL(f"contains({value.text}, ?)", (*value.params, text))
        return _icontains(value, text)
    if op == "startsWith":
        if matchcase:
            return SQL(f"starts_with({value.text}, ?)", (*value.params, text))
        return _icontains(value, text, prefix_only=True)
    pattern = text if matchcase else f"(?i){text}"
    return SQL(f"regexp_matches({value.text}, ?)", (*value.params, pattern))


# Every value an event has: its columns, its attributes and its session's fields.
_ALL_VALUES = (
    "([e.message, e.server_host, e.logfile, e.parser, e.thread, e.session] "
    "|| coalesce(json_extract_string(e.attrs, '$.*'), []) "
    "|| coalesce(json_extract_string(s.fields, '$.*'), []))"
)


def _predicate(node: Node, nonnull: bool) -> SQL:
    """The SQL of a node. Under a NOT every leaf must be non-NULL (NOT NULL is NULL, which
    would drop the row); elsewhere NULL already acts as false, and leaving the leaves bare
    lets DuckDB split, reorder and short-circuit the conjunctions."""
    if isinstance(node, And):
        return join((_predicate(c, nonnull) for c in node.children), " AND ").wrap()
    if isinstance(node, Or):
        return join((_predicate(c, nonnull) for c in node.children), " OR ").wrap()
    if isinstance(node, Not):
        return SQL("NOT ") + _predicate(node.child, True).wrap()
    if isinstance(node, Compare) and node.op == "!=":
        return SQL("NOT ") + _nonnull(_compare(node.field.name, "==", node.value))
    leaf = _leaf(node)
    return _nonnull(leaf) if nonnull else leaf


def _leaf(node: Node) -> SQL:
    if isinstance(node, Text):
        return _icontains(SQL("e.message"), node.text)
    if isinstance(node, Regex):
        return SQL("regexp_matches(e.message, ?)", (f"(?i){node.pattern}",))
    if isinstance(node, Present):
        return field_sql(node.field.name) + SQL(" IS NOT NULL")
    if isinstance(node, Compare):
        return _compare(node.field.name, node.op, node.value)
    if isinstance(node, TextMatch):
        if node.field.name == "*":
            inner = _text_predicate(SQL("x"), node.op, node.text, node.matchcase)
            return SQL(
                f"list_bool_or(list_transform({_ALL_VALUES}, lambda x: {inner.text}))",
                inner.params,
            )
        return _text_predicate(field_sql(node.field.name), node.op, node.text, node.matchcase)
    if isinstance(node, In):
        return _in(node.field, node.values, node.anycase)
    raise TypeError(f"not a filter node: {node!r}")


def _in(field: Field, values: Sequence[Scalar], anycase: bool) -> SQL:
    if anycase:
        value = field_sql(field.name)
        # DuckDB lowers both sides: Python's str.lower() and DuckDB's lower() disagree on some
        # letters (Python lowers 'İ' to two characters, DuckDB to 'i'), and then a value would
        # not match itself.
        texts = [_text_of(v) for v in values]
        return SQL(
            f"list_contains(list_transform(?, lambda v: lower(v)), lower({value.text}))",
            (texts, *value.params),
        )
    return join((_nonnull(_compare(field.name, "==", v)) for v in values), " OR ").wrap()


def _nonnull(sql: SQL) -> SQL:
    return SQL(f"coalesce({sql.text}, false)", sql.params)


def compile_filter(node: Node | None) -> SQL:
    """A boolean SQL expression that is true for the events the filter matches.

    It may be NULL where it does not match; use it where NULL counts as false (WHERE,
    FILTER, CASE WHEN), or wrap it with `coalesce(…, false)`.
    """
    if node is None:
        return SQL("true")
    return _predicate(node, False)


def filter_needs_session(node: Node | None) -> bool:
    return any(needs_session(f.name) for f in fields_of(node))


@dataclass(frozen=True)
class SeqRanges:
    """A store's hint of where matches can be: these inclusive seq ranges, or seq >= `after`."""

    ranges: tuple[tuple[int, int], ...]
    after: int


@dataclass(frozen=True)
class Scope:
    """Which events a query reads: one account, a time range [start, end), a filter.

    `seq`, set by the store's text index, narrows the scan without changing the result.
    """

    account_id: int
    start_ns: int
    end_ns: int
    filter: Node | None = None
    seq: SeqRanges | None = None


def scope_sql(scope: Scope, *, fields: Iterable[str] = ()) -> SQL:
    """`events e [LEFT JOIN sessions s …] WHERE …`: the FROM and WHERE of a query.

    `fields` names any other fields the caller's SELECT reads, so that the session table is
    joined when one of them may come from it.
    """
    session = filter_needs_session(scope.filter) or any(needs_session(f) for f in fields)
    source = SQL("events e")
    if scope.seq is not None:
        # One branch per range: each is a plain range filter on `seq`, which DuckDB pushes
        # into the scan and uses to skip whole row groups; an OR of ranges it would test on
        # every row (40 ranges over 10M events: 38 ms against 371, benchmarks/scan_methods.py).
        branches = [SQL("SELECT * FROM events WHERE seq >= ?", (scope.seq.after,))]
        branches += [SQL("SELECT * FROM events WHERE seq BETWEEN ? AND ?", r)
                     for r in scope.seq.ranges]
        source = join(branches, " UNION ALL ").wrap() + SQL(" e")
    if session:
        source += SQL(
            " LEFT JOIN sessions s ON s.account_id = e.account_id AND s.session = e.session"
        )
    where = source + SQL(
        " WHERE e.account_id = ? AND e.ts >= ? AND e.ts < ?",
        (scope.account_id, scope.start_ns, scope.end_ns),
    )
    if scope.filter is None:
        return where
    return where + SQL(" AND ") + compile_filter(scope.filter)
