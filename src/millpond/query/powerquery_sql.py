"""A PowerQuery AST → one DuckDB statement, and the result table it gives (spec §3.7).

Each command is a CTE that reads the one before it:

    base  SELECT e.ts AS t, e.seq AS q, <each field read> FROM events e … WHERE <filter>
    let       SELECT *, <expr> AS c7 FROM …            (one CTE per assignment)
    filter    SELECT * FROM … WHERE <condition>
    group     SELECT <keys>, <aggregates> FROM … GROUP BY 1, …, <number of keys>
    columns   SELECT <exprs>, <columns the order needs> FROM …
    limit     SELECT * FROM … ORDER BY <order> LIMIT ?
    sort      no CTE: it sets the order that later limits and the result use

and the statement ends with the result rows, at most `cap` of them, plus one row of counts
(the events the filter matched, the rows before each limit) — UNION ALL, so that an empty
result still reports them.

Names. Column and field names never become SQL identifiers: every column gets a generated
one (c1, c2, …) and the compiler keeps the map. Field names reach SQL only as bound JSON paths
(`field_sql`), literals only as bound parameters. (DuckDB identifiers ignore case even when
quoted, so `let a = 1, A = 2` could not be two columns any other way.)

Values have a kind the compiler tracks: text, number (DOUBLE, or BIGINT for counts), bool or
null. Fields are text. Arithmetic, numeric functions and numeric aggregates read text as a
number (TRY_CAST: NULL if it is not one); comparisons are numeric when both sides read as
numbers and case-sensitive text otherwise, like the filter language. Conditions are never
NULL — a comparison with a missing value is false, `!=` its complement.

Order. Rows always have a total order: events newest first (timestamp, then arrival), a
group's rows by their keys, `sort` keys first with the previous order breaking ties. Text
sorts numerically where it reads as a number (numbers first), then as text; missing values
go last either way.

Events-level CTEs are NOT MATERIALIZED: DuckDB would otherwise keep every matching event of
a CTE read twice (once to count, once to return rows) in memory; reading twice is cheaper.
Rows of a group are few, so DuckDB may keep those.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from millpond.errors import BadParam
from millpond.query.powerquery_ast import (
    AGGREGATES,
    FUNCTIONS,
    Binary,
    Call,
    Columns,
    Command,
    Const,
    Expr,
    Filter,
    Group,
    Item,
    Let,
    Limit,
    PowerQuery,
    Ref,
    Sort,
    Unary,
)
from millpond.query.search import Reader
from millpond.query.sql import SQL, Scope, field_sql, join, scope_sql

DEFAULT_ROWS = 1000  # rows returned when the query has no `limit`
MAX_ROWS = 10_000  # and at most, whatever its limits
MAX_STAGES = 100  # CTEs (each `let` assignment is one): DuckDB nests them into one plan

TEXT, NUMBER, BOOL, NULL = "text", "number", "bool", "null"
_EVENT_COLUMNS = ("timestamp", "serverHost", "message")
_QUANTILES = {"median": 0.5, "p10": 0.1, "p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99,
              "p999": 0.999}
_NUMERIC_AGGREGATES = {"avg": "avg", "min": "min", "max": "max", "stddev": "stddev_samp"}


@dataclass(frozen=True)
class _Value:
    sql: SQL
    kind: str
    never_null: bool = False


@dataclass(frozen=True)
class _Column:
    name: str
    id: str  # the generated SQL identifier
    kind: str


_TS = _Column("", "t", NUMBER)
_SEQ = _Column("", "q", NUMBER)


@dataclass(frozen=True)
class _Rows:
    """What a stage's CTE holds."""

    cte: str
    columns: tuple[_Column, ...]  # what the user sees, in order
    order: tuple[tuple[_Column, bool], ...]  # (column, descending)
    events: bool  # whether other names read fields of the event
    origin: str  # what made the columns, for errors ("the group at column 12")
    small: bool = False  # made by a group: a row per group, not per event


# -- expressions -----------------------------------------------------------------------------


def _num(v: _Value) -> SQL:
    if v.kind == NUMBER:
        return v.sql
    if v.kind == NULL:
        return SQL("CAST(NULL AS DOUBLE)")
    cast = "TRY_CAST" if v.kind == TEXT else "CAST"
    return SQL(f"{cast}({v.sql.text} AS DOUBLE)", v.sql.params)


def _text(v: _Value) -> SQL:
    if v.kind == TEXT:
        return v.sql
    if v.kind == NULL:
        return SQL("CAST(NULL AS VARCHAR)")
    if v.kind == BOOL:
        return SQL(f"CAST({v.sql.text} AS VARCHAR)", v.sql.params)
    # 3.0 reads "3", as it is written in a query.
    return SQL(f"regexp_replace(CAST({v.sql.text} AS VARCHAR), '\\.0$', '')", v.sql.params)


def _not_null(sql: SQL) -> SQL:
    return SQL(f"coalesce({sql.text}, false)", sql.params)


def _bool(sql: SQL, *, never_null: bool = False) -> _Value:
    return _Value(sql if never_null else _not_null(sql), BOOL, True)


def _column_value(v: _Value) -> _Value:
    """A value to store in a column: a bare null becomes text."""
    return _Value(_text(v), TEXT) if v.kind == NULL else v


def _compare(op: str, a: _Value, b: _Value, node: Binary) -> _Value:
    if NULL in (a.kind, b.kind):
        if op not in ("==", "!="):
            raise BadParam(f"'{op}' at column {node.col} compares with null; only == and != "
                           "can (x == null: x is missing)")
        other = b if a.kind == NULL else a
        test = "IS NULL" if op == "==" else "IS NOT NULL"
        return _bool(SQL(f"({other.sql.text} {test})", other.sql.params), never_null=True)
    if op == "!=":
        equal = _compare("==", a, b, node)
        return _bool(SQL(f"(NOT {equal.sql.text})", equal.sql.params), never_null=True)
    sql_op = "=" if op == "==" else op
    if a.kind == b.kind and a.kind in (NUMBER, BOOL):
        return _bool(SQL(f"{a.sql.text} {sql_op} {b.sql.text}", a.sql.params + b.sql.params))
    # Numeric where both sides read as numbers, else text.
    na, nb, ta, tb = _num(a), _num(b), _text(a), _text(b)
    return _bool(SQL(
        f"coalesce({na.text} {sql_op} {nb.text}, {ta.text} {sql_op} {tb.text})",
        na.params + nb.params + ta.params + tb.params,
    ))


def _text_match(op: str, a: _Value, b: _Value) -> _Value:
    """contains / startsWith / endsWith / matches, ignoring case unless `:matchcase`."""
    name, _, modifier = op.partition(":")
    ta, tb = _text(a), _text(b)
    if name == "matches":
        pattern = tb if modifier else SQL(f"concat('(?i)', {tb.text})", tb.params)
        return _bool(SQL(f"regexp_matches({ta.text}, {pattern.text})", ta.params + pattern.params))
    if not modifier:
        ta, tb = SQL(f"lower({ta.text})", ta.params), SQL(f"lower({tb.text})", tb.params)
    function = {"contains": "contains", "startsWith": "starts_with", "endsWith": "ends_with"}[name]
    return _bool(SQL(f"{function}({ta.text}, {tb.text})", ta.params + tb.params))


def _unify(a: _Value, b: _Value) -> str:
    kinds = {a.kind, b.kind} - {NULL}
    if len(kinds) <= 1:
        return kinds.pop() if kinds else TEXT
    return NUMBER if kinds == {NUMBER, BOOL} else TEXT


def _as(kind: str, v: _Value) -> SQL:
    if kind == NUMBER:
        return _num(v)
    if kind == TEXT:
        return _text(v)
    return v.sql if v.kind == BOOL else SQL("CAST(NULL AS BOOLEAN)")


def _is_aggregate(call: Call) -> bool:
    return call.name in AGGREGATES and not (call.name in FUNCTIONS and len(call.args) == 2)


def _literal(expr: Expr, low: int, high: int, what: str) -> float:
    if (not isinstance(expr, Const) or isinstance(expr.value, bool)
            or not isinstance(expr.value, (int, float)) or not low <= expr.value <= high):
        raise BadParam(f"{what} at column {expr.col} must be a number from {low} to {high}")
    return float(expr.value)


def _whole(expr: Expr, low: int, high: int, what: str) -> int:
    value = _literal(expr, low, high, what)
    if not value.is_integer():
        raise BadParam(f"{what} at column {expr.col} must be a whole number from {low} to "
                       f"{high}")
    return int(value)


class _Compiler:
    def __init__(self) -> None:
        self.fields: dict[str, _Column] = {}
        self.ctes: list[SQL] = []
        self.counted: list[tuple[str, int]] = []  # (CTE before a limit, the limit)
        self.ids = 0

    def new_id(self) -> str:
        self.ids += 1
        return f"c{self.ids}"

    def resolve(self, ref: Ref, rows: _Rows) -> _Column:
        for column in reversed(rows.columns):
            if column.name == ref.name:
                return column
        if rows.events:
            if ref.name not in self.fields:
                self.fields[ref.name] = _Column(ref.name, self.new_id(), TEXT)
            return self.fields[ref.name]
        names = ", ".join(c.name for c in rows.columns)
        raise BadParam(f"unknown column {ref.name!r} at column {ref.col}; after {rows.origin} "
                       f"the only columns are {names}")

    def expr(self, expr: Expr, rows: _Rows, *, group: bool = False) -> _Value:
        """The SQL of an expression over a row of `rows`; `group`: over a group of them."""
        if isinstance(expr, Const):
            value = expr.value
            if value is None:
                return _Value(SQL("NULL"), NULL)
            if isinstance(value, bool):
                return _bool(SQL("true" if value else "false"), never_null=True)
            if isinstance(value, str):
                return _Value(SQL("CAST(? AS VARCHAR)", (value,)), TEXT)
            return _Value(SQL("CAST(? AS DOUBLE)", (float(value),)), NUMBER)
        if isinstance(expr, Ref):
            if group:
                raise BadParam(
                    f"{expr.name!r} at column {expr.col} is outside an aggregate: a group "
                    f"computes aggregates such as avg({expr}), and keeps values only of its "
                    f"keys (group … by {expr})")
            column = self.resolve(expr, rows)
            return _Value(SQL(column.id), column.kind)
        if isinstance(expr, Unary):
            operand = self.expr(expr.operand, rows, group=group)
            if expr.op == "-":
                n = _num(operand)
                return _Value(SQL(f"(-{n.text})", n.params), NUMBER)
            inner = self.condition(operand, expr.operand)
            return _bool(SQL(f"(NOT {inner.text})", inner.params), never_null=True)
        if isinstance(expr, Binary):
            return self.binary(expr, rows, group)
        return self.call(expr, rows, group)

    def condition(self, value: _Value, expr: Expr) -> SQL:
        if value.kind == BOOL:
            return value.sql if value.never_null else _not_null(value.sql)
        raise BadParam(f"{str(expr)!r} at column {expr.col} is a value, not a condition; "
                       f"compare it, as in {expr} == \"x\" or {expr} > 0")

    def binary(self, expr: Binary, rows: _Rows, group: bool) -> _Value:
        a = self.expr(expr.left, rows, group=group)
        b = self.expr(expr.right, rows, group=group)
        op = expr.op
        if op in ("&&", "||"):
            ca, cb = self.condition(a, expr.left), self.condition(b, expr.right)
            word = "AND" if op == "&&" else "OR"
            return _bool(SQL(f"({ca.text} {word} {cb.text})", ca.params + cb.params),
                         never_null=True)
        if op in ("+", "-", "*", "/", "%"):
            na, nb = _num(a), _num(b)
            return _Value(SQL(f"({na.text} {op} {nb.text})", na.params + nb.params), NUMBER)
        if op.partition(":")[0] in ("contains", "matches", "startsWith"):
            return _text_match(op, a, b)
        return _compare(op, a, b, expr)

    def call(self, call: Call, rows: _Rows, group: bool) -> _Value:
        if _is_aggregate(call):
            if not group:
                hint = (" or give it two values" if call.name in FUNCTIONS else "")
                raise BadParam(f"{call} at column {call.col} is an aggregate; aggregates "
                               f"are the values of a group (| group {call} by …){hint}")
            return self.aggregate(call, rows)
        args = [self.expr(a, rows, group=group) for a in call.args]
        name = call.name
        if name in ("lower", "upper", "trim"):
            t = _text(args[0])
            return _Value(SQL(f"{name}({t.text})", t.params), TEXT)
        if name == "len":
            t = _text(args[0])
            return _Value(SQL(f"length({t.text})", t.params), NUMBER)
        if name == "concat":
            return _Value(SQL("concat(") + join(map(_text, args), ", ") + SQL(")"), TEXT)
        if name in ("abs", "floor", "ceiling"):
            n = _num(args[0])
            return _Value(SQL(f"{name}({n.text})", n.params), NUMBER)
        if name == "round":
            n = _num(args[0])
            digits = 0 if len(args) == 1 else _whole(call.args[1], 0, 15, "round's digits")
            return _Value(SQL(f"round({n.text}, {digits})", n.params), NUMBER)
        if name in ("min", "max"):
            na, nb = _num(args[0]), _num(args[1])
            function = "least" if name == "min" else "greatest"
            return _Value(SQL(f"{function}({na.text}, {nb.text})", na.params + nb.params),
                          NUMBER)
        if name == "if":
            cond = self.condition(args[0], call.args[0])
            kind = _unify(args[1], args[2])
            a, b = _as(kind, args[1]), _as(kind, args[2])
            return _Value(SQL(f"(CASE WHEN {cond.text} THEN {a.text} ELSE {b.text} END)",
                              cond.params + a.params + b.params), kind)
        if name in ("contains", "startsWith", "endsWith", "matches"):
            return _text_match(name, args[0], args[1])
        raise AssertionError(f"no SQL for function {name}")

    def aggregate(self, call: Call, rows: _Rows) -> _Value:
        for arg in call.args:
            inner = _first_aggregate(arg)
            if inner is not None:
                raise BadParam(f"{inner} at column {inner.col} is inside another aggregate, "
                               f"{call.name}; aggregate once, then compute with let")
        name = call.name
        if name == "count" and not call.args:
            return _Value(SQL("count(*)"), NUMBER)
        value = self.expr(call.args[0], rows)
        if name == "count":
            if value.kind == BOOL:
                cond = self.condition(value, call.args[0])
                return _Value(SQL(f"count_if({cond.text})", cond.params), NUMBER)
            return _Value(SQL(f"count({value.sql.text})", value.sql.params), NUMBER)
        if name == "estimate_distinct":
            t = _text(value)
            return _Value(SQL(f"approx_count_distinct({t.text})", t.params), NUMBER)
        n = _num(value)
        if name == "sum":
            return _Value(SQL(f"coalesce(sum({n.text}), 0)", n.params), NUMBER)
        if name in _NUMERIC_AGGREGATES:
            return _Value(SQL(f"{_NUMERIC_AGGREGATES[name]}({n.text})", n.params), NUMBER)
        if name == "pct":
            fraction = _literal(call.args[1], 0, 100, "the percentile of pct") / 100
        else:
            fraction = _QUANTILES[name]
        return _Value(SQL(f"quantile_cont({n.text}, ?)", (*n.params, fraction)), NUMBER)

    # -- commands

    def stage(self, rows: _Rows, body: SQL, **changes: Any) -> _Rows:
        """Rows after one more CTE, whose SELECT is `body`."""
        if len(self.ctes) == MAX_STAGES:
            raise BadParam(f"the query has more than {MAX_STAGES} stages (each let assignment "
                           "is one); combine some, or group earlier")
        rows = dataclasses.replace(rows, cte=f"s{len(self.ctes) + 1}", **changes)
        hint = "" if rows.small else "NOT MATERIALIZED "
        self.ctes.append(SQL(f"{rows.cte} AS {hint}(") + body + SQL(")"))
        return rows

    def command(self, command: Command, rows: _Rows) -> _Rows:
        if isinstance(command, Let):
            for item in command.items:
                assert item.name is not None
                value = _column_value(self.expr(item.expr, rows))
                column = _Column(item.name, self.new_id(), value.kind)
                columns = [c for c in rows.columns if c.name != item.name]
                at = next((i for i, c in enumerate(rows.columns) if c.name == item.name),
                          len(columns))
                columns.insert(at, column)
                body = SQL(f"SELECT *, {value.sql.text} AS {column.id} FROM {rows.cte}",
                           value.sql.params)
                rows = self.stage(rows, body, columns=tuple(columns))
            return rows
        if isinstance(command, Filter):
            cond = self.condition(self.expr(command.expr, rows), command.expr)
            return self.stage(rows, SQL(f"SELECT * FROM {rows.cte} WHERE ") + cond)
        if isinstance(command, Sort):
            keys = [(self.resolve(Ref(k.name, k.col), rows), k.descending)
                    for k in command.keys]
            chosen = {c.id for c, _ in keys}
            order = (*keys, *((c, d) for c, d in rows.order if c.id not in chosen))
            return dataclasses.replace(rows, order=_dedupe(order))
        if isinstance(command, Limit):
            self.counted.append((rows.cte, command.count))
            body = SQL(f"SELECT * FROM {rows.cte}{_order_by(rows.order)} LIMIT ?",
                       (command.count,))
            return self.stage(rows, body)
        if isinstance(command, Columns):
            return self.columns(command, rows)
        return self.group(command, rows)

    def columns(self, command: Columns, rows: _Rows) -> _Rows:
        selected = [(item, _column_value(self.expr(item.expr, rows))) for item in command.items]
        columns = _named(selected, self.new_id)
        kept = [c.id for c, _ in rows.order]
        parts = [SQL(f"{v.sql.text} AS {c.id}", v.sql.params)
                 for c, (_, v) in zip(columns, selected, strict=True)]
        parts += [SQL(i) for i in dict.fromkeys(kept)]
        body = SQL("SELECT ") + join(parts, ", ") + SQL(f" FROM {rows.cte}")
        return self.stage(rows, body, columns=tuple(columns), events=False,
                          origin=f"columns at column {command.col}")

    def group(self, command: Group, rows: _Rows) -> _Rows:
        keys = [(k, _column_value(self.expr(k.expr, rows))) for k in command.keys]
        aggregates = [(a, _column_value(self.expr(a.expr, rows, group=True)))
                      for a in command.aggregates]
        columns = _named([*keys, *aggregates], self.new_id)
        parts = [SQL(f"{v.sql.text} AS {c.id}", v.sql.params)
                 for c, (_, v) in zip(columns, [*keys, *aggregates], strict=True)]
        body = SQL("SELECT ") + join(parts, ", ") + SQL(f" FROM {rows.cte}")
        if keys:
            body += SQL(" GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys))))
        return self.stage(rows, body, columns=tuple(columns), events=False, small=True,
                          order=tuple((c, False) for c in columns[: len(keys)]),
                          origin=f"the group at column {command.col}")


def _first_aggregate(expr: Expr) -> Call | None:
    if isinstance(expr, Call):
        if _is_aggregate(expr):
            return expr
        children: tuple[Expr, ...] = expr.args
    elif isinstance(expr, Binary):
        children = (expr.left, expr.right)
    elif isinstance(expr, Unary):
        children = (expr.operand,)
    else:
        return None
    return next((c for c in map(_first_aggregate, children) if c is not None), None)


def _default_name(item: Item) -> str:
    if item.name is not None:
        return item.name
    if isinstance(item.expr, Ref):
        return item.expr.name
    if item.expr == Call("count", ()):
        return "count"
    return str(item.expr)


def _named(items: Sequence[tuple[Item, _Value]], new_id: Any) -> list[_Column]:
    columns: list[_Column] = []
    seen: dict[str, Item] = {}
    for item, value in items:
        name = _default_name(item)
        if name in seen:
            raise BadParam(f"two columns are named {name!r} (at columns {seen[name].col} and "
                           f"{item.col}); name one of them: other = …")
        seen[name] = item
        columns.append(_Column(name, new_id(), value.kind))
    return columns


def _dedupe(order: Sequence[tuple[_Column, bool]]) -> tuple[tuple[_Column, bool], ...]:
    seen: set[str] = set()
    out = []
    for column, descending in order:
        if column.id not in seen:
            seen.add(column.id)
            out.append((column, descending))
    return tuple(out)


def _order_terms(order: Sequence[tuple[_Column, bool]]) -> list[str]:
    terms: list[str] = []
    for column, descending in order:
        direction = " DESC" if descending else ""
        if column.kind == TEXT:
            terms.append(f"TRY_CAST({column.id} AS DOUBLE){direction} NULLS LAST")
        terms.append(f"{column.id}{direction} NULLS LAST")
    return terms


def _order_by(order: Sequence[tuple[_Column, bool]]) -> str:
    terms = _order_terms(order)
    return " ORDER BY " + ", ".join(terms) if terms else ""


# -- the statement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The statement of a PowerQuery and how to read what it returns."""

    sql: SQL
    columns: tuple[str, ...]
    limits: tuple[int, ...]  # the limit after each counted CTE, in the order they are counted
    cap: int


def compile_powerquery(query: PowerQuery, scope: Scope) -> Plan:
    """One statement: the query's rows over the events of `scope` (whose filter is the
    query's own), after a row of counts."""
    compiler = _Compiler()
    rows = _Rows("base", (), ((_TS, True), (_SEQ, True)), True, "")
    for command in query.commands:
        rows = compiler.command(command, rows)
    columns = list(rows.columns)
    if rows.events:
        # Events keep their timestamp, host and message, and what `let` gave them.
        defaults = [compiler.resolve(Ref(name), rows) for name in _EVENT_COLUMNS]
        columns = [dataclasses.replace(c, name=n) for c, n in
                   zip(defaults, _EVENT_COLUMNS, strict=True)]
        columns += [c for c in rows.columns if c not in defaults]
    cap = MAX_ROWS if any(isinstance(c, Limit) for c in query.commands) else DEFAULT_ROWS

    fields = [SQL(f"{field_sql(name).text} AS {column.id}", field_sql(name).params)
              for name, column in compiler.fields.items()]
    base = (SQL("base AS NOT MATERIALIZED (SELECT ")
            + join([SQL("e.ts AS t, e.seq AS q"), *fields], ", ")
            + SQL(" FROM ") + scope_sql(scope, fields=compiler.fields) + SQL(")"))
    ids = ", ".join(c.id for c in columns)
    order = _order_terms(rows.order)
    over = f"ORDER BY {', '.join(order)}" if order else ""
    counts = ["(SELECT count(*) FROM base)", f"(SELECT count(*) FROM {rows.cte})"]
    counts += [f"(SELECT count(*) FROM {cte})" for cte, _ in compiler.counted]
    nulls = ", NULL" * len(columns)
    sql = (
        SQL("WITH ") + join([base, *compiler.ctes], ", ")
        + SQL(f" SELECT 1 AS k, row_number() OVER ({over}) AS n, NULL AS h, {ids} "
              f"FROM (SELECT * FROM {rows.cte}{_order_by(rows.order)} LIMIT ?)", (cap,))
        + SQL(f" UNION ALL SELECT 0, 0, [{', '.join(counts)}]{nulls} ORDER BY k, n")
    )
    return Plan(sql, tuple(c.name for c in columns),
                tuple(n for _, n in compiler.counted), cap)


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    matching: int
    omitted: int
    columns: tuple[str, ...]
    values: list[list[Any]]
    warnings: tuple[str, ...] = ()


def cell(value: Any) -> Any:
    """A value as a JSON cell: null, bool, number, string, or {"special": …} (§3.7)."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return {"special": "NaN"}
        if math.isinf(value):
            return {"special": "+infinity" if value > 0 else "-infinity"}
        # JSON does not tell 3 from 3.0; print whole numbers without a fraction.
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def read_result(plan: Plan, rows: Sequence[Sequence[Any]]) -> Result:
    counts = rows[0][2]
    matching, total, before_limits = counts[0], counts[1], counts[2:]
    omitted = sum(max(0, n - limit) for n, limit in zip(before_limits, plan.limits,
                                                         strict=True))
    warnings: list[str] = []
    if total > plan.cap:
        omitted += total - plan.cap
        advice = (f"end the query with | limit N for up to {MAX_ROWS:,}" if plan.cap < MAX_ROWS
                  else "group the rows or narrow the query")
        warnings.append(f"the query gave {total:,} rows; only the first {plan.cap:,} are "
                        f"returned ({advice})")
    values = [[cell(v) for v in row[3:]] for row in rows[1:]]
    return Result(int(matching), int(omitted), plan.columns, values, tuple(warnings))


def run_powerquery(store: Reader, query: PowerQuery, scope: Scope, timeout: float) -> Result:
    """Run a PowerQuery over the events of `scope` (its filter is replaced by the query's)."""
    scope = store.narrow(dataclasses.replace(scope, filter=query.search))
    plan = compile_powerquery(query, scope)
    return read_result(plan, store.select(plan.sql, timeout))
