"""Numeric queries (spec §3.4, §4.6): the `function` language, its SQL, and bucket values.

A function is an arithmetic expression over aggregates of the events in each time bucket:

    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := ("-" | "+") unary | atom
    atom      := number | "(" expr ")" | aggregate | field
    aggregate := name "(" argument ")" | "p" "[" n "]" "(" argument ")" | "count" | "rate"
    argument  := [FIELD "where"] FILTER | FIELD | FIELD "," n      (p(FIELD, n) only)

Function names ignore case: `count`, `rate`, `mean`, `min`, `max`, `sum`, `sumPerSecond`,
`median`, `p10` … `p999` (any `pN` with N from 0 to 100, and `p99N…` for 99.N…), `p(f, n)`
and `p[n](…)`. An omitted function is `rate`. `fraction(…)` is refused, as the spec says.

How an argument is read — the one rule for the simple and the complex form alike:

* `count(…)` and `rate(…)` take a FILTER: `count(error)` counts events whose message contains
  "error". `count(x where F)` counts the events matching F that have a numeric `x`.
* Every other function takes a FIELD: `mean(latency)` is the mean of the field `latency`, as
  users of the graph view expect. `mean(latency where status >= 500)` is that field over the
  events matching the filter. Any other argument is a FILTER over the field `value` (the spec's
  default FIELD): `mean(metric == "cpu")` is `mean(value where metric == "cpu")`.
* A bare field name is the mean of that field (`latency * 1000` = `mean(latency) * 1000`);
  a bare `count` or `rate` is the count or rate of every event the request's filter matches.

Each aggregate's filter is ANDed with the request's `filter` (which is the WHERE of the scan).
All aggregates come from ONE scan: DuckDB aggregates with FILTER clauses, grouped by the index
of the bucket. The query returns each aggregate per non-empty bucket; Python fills the empty
buckets and evaluates the arithmetic, because an empty bucket still has values (`count` is 0,
`sumPerSecond` is 0, `count + 1` is 1) and because DuckDB's `x / 0` is infinity, not NULL.

Values: `count` is an integer, and so is `+ - *` of integers; `/` and every other function
give floats. A value is None (JSON null) where it is undefined: the mean, min, max or
percentile of a bucket without values, a division by zero, and anything computed from those.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from millpond.errors import BadParam
from millpond.query.filter import Field, Node, fields_of, parse_filter
from millpond.query.search import Reader
from millpond.query.sql import SQL, Scope, compile_filter, join, number_sql, scope_sql

NS = 1_000_000_000
MAX_BUCKETS = 5000
_INT64_MAX = 2**63 - 1
_EXACT_INT = 2**53  # larger integer constants are read as floats

Number = int | float

# -- the tree --------------------------------------------------------------------------------

# The functions of one value per bucket, by canonical name; aggregates of a field's values.
_VALUE_FUNCTIONS = ("mean", "min", "max", "sum", "sumPerSecond")
_FUNCTION_NAMES = {
    name.lower(): name for name in ("count", "rate", *_VALUE_FUNCTIONS, "median", "fraction")
}
_HINT = (
    "use one of count, rate, mean, min, max, sum, sumPerSecond, median, p10, p50, p90, p95, "
    "p99, p999, p(field, n) or p[n](field), or a field name for its mean"
)


def _format_number(value: Number) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_INT:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class Aggregate:
    """`FUNCTION([FIELD where] FILTER)`: one value per bucket from the events matching FILTER.

    `function` is count, rate, mean, min, max, sum, sumPerSecond or p (a percentile, with
    `percentile` from 0 to 100; `median` is p 50). count and rate have a field only together
    with a filter; the other functions always have a field.
    """

    function: str
    field: str | None = None
    filter: Node | None = None
    percentile: float | None = None

    def __str__(self) -> str:
        name = self.function
        if self.function == "p":
            assert self.percentile is not None
            name = f"p[{_format_number(self.percentile)}]"
        if self.function in ("count", "rate") and self.filter is None:
            return name
        inner = str(self.filter) if self.filter is not None else ""
        if self.field is not None:
            field = str(Field(self.field))
            inner = f"{field} where {inner}" if inner else field
        return f"{name}({inner})"


@dataclass(frozen=True)
class Constant:
    value: Number

    def __str__(self) -> str:
        return _format_number(self.value)


@dataclass(frozen=True)
class Negate:
    operand: Expr

    def __str__(self) -> str:
        operand = str(self.operand)
        return f"-({operand})" if isinstance(self.operand, Arithmetic) else f"-{operand}"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


@dataclass(frozen=True)
class Arithmetic:
    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        level = _PRECEDENCE[self.op]
        left, right = str(self.left), str(self.right)
        if isinstance(self.left, Arithmetic) and _PRECEDENCE[self.left.op] < level:
            left = f"({left})"
        # Operators group to the left, so a right operand of the same level keeps its
        # parentheses: a - (b - c), and a + (b + c), which floating point does not reorder.
        if isinstance(self.right, Arithmetic) and _PRECEDENCE[self.right.op] <= level:
            right = f"({right})"
        return f"{left} {self.op} {right}"


Expr = Aggregate | Constant | Negate | Arithmetic

RATE = Aggregate("rate")


def aggregates_of(expr: Expr) -> Iterator[Aggregate]:
    """Every aggregate of an expression, left to right (with repeats)."""
    if isinstance(expr, Aggregate):
        yield expr
    elif isinstance(expr, Negate):
        yield from aggregates_of(expr.operand)
    elif isinstance(expr, Arithmetic):
        yield from aggregates_of(expr.left)
        yield from aggregates_of(expr.right)


# -- the parser ------------------------------------------------------------------------------

_NAME = re.compile(r"\$?(?:[^\W\d]|\\.)(?:[\w.]|\\.)*|\$(?:[\w.]|\\.)+")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PERCENTILE_NAME = re.compile(r"^p(\d+)$", re.IGNORECASE)
_FIELD_ONLY = re.compile(rf"^\s*({_NAME.pattern})\s*$")
_FIELD_WHERE = re.compile(rf"^\s*({_NAME.pattern})\s+where(?=[\s(!'\"$]|$)", re.IGNORECASE)


def _field_name(raw: str) -> str:
    """`$service\\-name` → `service-name`."""
    return re.sub(r"\\(.)", r"\1", raw.removeprefix("$"))


def _number_value(text: str) -> Number:
    # Short digit strings only: int() of thousands of digits is slow, then refused.
    if len(text) <= 16 and text.isdigit() and int(text) <= _EXACT_INT:
        return int(text)
    return float(text)


# Far past any real function; they bound the recursion of everything that walks the tree.
_MAX_DEPTH = 100  # nesting of parentheses and signs
_MAX_OPERATORS = 200


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.operators = 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def col(self) -> int:
        return self.pos + 1

    def unexpected(self, hint: str) -> BadParam:
        if self.pos >= len(self.text):
            return BadParam(f"unexpected end of function (column {self.col()}); {hint}")
        return BadParam(f"unexpected {self.text[self.pos]!r} at column {self.col()}; {hint}")

    def parse(self) -> Expr:
        expr = self.expr()
        if self.peek():
            if self.text[self.pos] == ")":
                raise self.unexpected("there is no '(' to close")
            raise self.unexpected("join the parts of a function with + - * or /")
        return expr

    def expr(self) -> Expr:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.operator()
            node = Arithmetic(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.peek() in ("*", "/"):
            op = self.operator()
            node = Arithmetic(op, node, self.unary())
        return node

    def operator(self) -> str:
        self.operators += 1
        if self.operators > _MAX_OPERATORS:
            raise BadParam(
                f"the function has more than {_MAX_OPERATORS} operators (at column "
                f"{self.col()}); split it into several queries"
            )
        self.pos += 1
        return self.text[self.pos - 1]

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise BadParam(
                f"the function nests parentheses or signs more than {_MAX_DEPTH} deep (at "
                f"column {self.col()}); simplify it"
            )
        ch = self.peek()
        if ch in ("-", "+"):
            self.pos += 1
            operand = self.unary()
            node = Negate(operand) if ch == "-" else operand
        else:
            node = self.atom()
        self.depth -= 1
        return node

    def atom(self) -> Expr:
        ch = self.peek()
        start = self.pos
        if ch == "(":
            self.pos += 1
            if self.peek() == ")":
                raise self.unexpected("empty parentheses; put an expression inside them")
            node = self.expr()
            if self.peek() != ")":
                if not self.peek():
                    raise BadParam(
                        f"the '(' at column {start + 1} is never closed; add ')'"
                    )
                raise self.unexpected("join the parts of a function with + - * or /")
            self.pos += 1
            return node
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            value = _number_value(number.group())
            if not math.isfinite(value):
                raise BadParam(f"the number at column {start + 1} is too large")
            return Constant(value)
        name = _NAME.match(self.text, self.pos)
        if name:
            self.pos = name.end()
            return self.named(name.group(), start)
        if not ch:
            raise self.unexpected("a function, a field name or a number must follow")
        raise self.unexpected(f"expected a function, a field name or a number; {_HINT}")

    def named(self, raw: str, start: int) -> Expr:
        """A function call, a bare `count`/`rate`, or a bare field (its mean)."""
        col = start + 1
        lowered = raw.lower()
        percentile: float | None = None
        if lowered == "p" and self.peek() == "[":
            percentile = self.bracketed_percentile()
            if self.peek() != "(":
                raise self.unexpected(f"p[…] at column {col} needs an argument: p[95](latency)")
        is_call = self.peek() == "("
        function = _FUNCTION_NAMES.get(lowered)
        percentile_name = _PERCENTILE_NAME.match(raw)
        if percentile_name:
            function, percentile = "p", _named_percentile(percentile_name.group(1), raw, col)
        elif lowered == "p" and (is_call or percentile is not None):
            function = "p"
        elif lowered == "median":
            function, percentile = "p", 50.0
        if not is_call:
            if function in ("count", "rate"):
                return Aggregate(function)
            if function is not None:
                raise BadParam(
                    f"{raw} at column {col} is a function and needs an argument, as in "
                    f"{raw}(latency); for the mean of a field named {raw} write mean({raw})"
                )
            return Aggregate("mean", _field_name(raw))
        if function is None:
            raise BadParam(f"unknown function {raw!r} at column {col}; {_HINT}")
        if function == "fraction":
            raise BadParam(
                f"fraction(…) at column {col} is not available in numeric queries; for the "
                "fraction of events matching a filter F, divide counts: count(F) / count"
            )
        opened = self.pos
        self.pos += 1
        text, commas = self.argument(opened)
        offset = opened + 1
        if lowered == "p" and percentile is None:
            if not commas:
                raise BadParam(
                    f"p(…) at column {col} needs a field and a percentile: p(latency, 95)"
                )
            comma = commas[-1]
            percentile = _percentile(text[comma + 1 :], offset + comma + 1)
            text = text[:comma]
        elif commas:
            raise BadParam(
                f"unexpected ',' at column {offset + commas[0] + 1}; only p(field, n) takes "
                "two arguments"
            )
        example = f"{raw}(latency)"
        if lowered == "p":
            assert percentile is not None
            example = f"p[{_format_number(percentile)}](latency)"
        return _aggregate(function, text, offset, col, example, percentile)

    def bracketed_percentile(self) -> float:
        opened = self.pos
        close = self.text.find("]", opened)
        if close < 0:
            raise BadParam(f"the '[' at column {opened + 1} is never closed; add ']'")
        self.pos = close + 1
        return _percentile(self.text[opened + 1 : close], opened + 1)

    def argument(self, opened: int) -> tuple[str, list[int]]:
        """The text inside the parentheses opened at `opened`, and its top-level commas."""
        text = self.text
        i, depth = opened + 1, 0
        commas: list[int] = []
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                i += 2
                continue
            if ch in "\"'":
                end = i + 1
                while end < len(text) and text[end] != ch:
                    end += 2 if text[end] == "\\" else 1
                if end >= len(text):
                    raise BadParam(
                        f"unterminated string starting at column {i + 1}; close it with {ch}"
                    )
                i = end + 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    self.pos = i + 1
                    return text[opened + 1 : i], commas
                depth -= 1
            elif ch == "," and depth == 0:
                commas.append(i - opened - 1)
            i += 1
        raise BadParam(f"the '(' at column {opened + 1} is never closed; add ')'")


def _named_percentile(digits: str, raw: str, col: int) -> float:
    """p50 → 50, p999 → 99.9, p9999 → 99.99."""
    if len(digits) <= 3 and int(digits) <= 100:
        return float(int(digits))
    if digits.startswith("99") and len(digits) <= 12:
        return float(f"99.{digits[2:]}")
    raise BadParam(
        f"unknown function {raw!r} at column {col}: percentiles go from 0 to 100 (p999 is "
        f"99.9); write p[n](field) or p(field, n) for another one"
    )


def _percentile(text: str, offset: int) -> float:
    stripped = text.strip()
    col = offset + 1 + (len(text) - len(text.lstrip()))
    if _NUMBER.fullmatch(stripped):
        value = float(stripped)
        if 0 <= value <= 100:
            return value
    raise BadParam(
        f"the percentile at column {col} must be a number from 0 to 100, not {stripped!r}"
    )


def _filter(text: str, offset: int) -> Node | None:
    # Padding keeps the filter parser's columns those of the whole function.
    return parse_filter(" " * offset + text)


def _aggregate(
    function: str, text: str, offset: int, col: int, example: str, percentile: float | None
) -> Aggregate:
    """The aggregate of `function(text)`, `text` starting at index `offset` of the function.

    `example` is how to call it well, for error messages.
    """
    where = _FIELD_WHERE.match(text)
    if where:
        field = _field_name(where.group(1))
        rest = where.end()
        node = _filter(text[rest:], offset + rest)
        if node is None:
            raise BadParam(
                f"'where' at column {offset + rest - 4} needs a filter after it, as in "
                f"{where.group(1)} where status >= 500"
            )
        return Aggregate(function, field, node, percentile)
    if function in ("count", "rate"):
        return Aggregate(function, None, _filter(text, offset))
    only = _FIELD_ONLY.match(text)
    if only:
        return Aggregate(function, _field_name(only.group(1)), None, percentile)
    node = _filter(text, offset)
    if node is None:
        name = example.partition("(")[0]
        raise BadParam(f"{name}(…) at column {col} needs a field, as in {example}")
    return Aggregate(function, "value", node, percentile)


def parse_function(text: str | None) -> Expr:
    """The expression of a `function` parameter; omitted or blank means `rate`."""
    if text is None or not text.strip():
        return RATE
    return _Parser(text).parse()


# -- SQL -------------------------------------------------------------------------------------


def _column_key(aggregate: Aggregate) -> tuple[Any, ...]:
    """Aggregates that read the same SQL value share one column (count and rate, sum and
    sumPerSecond)."""
    kind = {"rate": "count", "sumPerSecond": "sum"}.get(aggregate.function, aggregate.function)
    return (kind, aggregate.field, aggregate.filter, aggregate.percentile)


def _column_sql(aggregate: Aggregate) -> SQL:
    kind = _column_key(aggregate)[0]
    conditions: list[SQL] = []
    if aggregate.filter is not None:
        conditions.append(compile_filter(aggregate.filter))
    if kind == "count":
        if aggregate.field is not None:
            conditions.append(number_sql(aggregate.field) + SQL(" IS NOT NULL"))
        value = SQL("count(*)")
    else:
        assert aggregate.field is not None
        x = number_sql(aggregate.field)
        if kind == "p":
            assert aggregate.percentile is not None
            value = SQL(f"quantile_cont({x.text}, ?)", (*x.params, aggregate.percentile / 100))
        else:
            function = {"mean": "avg", "min": "min", "max": "max", "sum": "sum"}[kind]
            value = SQL(f"{function}({x.text})", x.params)
    if not conditions:
        return value
    return value + SQL(" FILTER (WHERE ") + join(conditions, " AND ") + SQL(")")


@dataclass(frozen=True)
class Plan:
    """The SQL of a numeric query and which aggregate each of its value columns holds."""

    sql: SQL
    columns: dict[tuple[Any, ...], int]


def numeric_sql(scope: Scope, expr: Expr, buckets: int) -> Plan:
    """One scan: `SELECT bucket, aggregate… FROM … GROUP BY bucket` over the scope.

    Bucket i holds the events with start + i·span/B <= ts < start + (i+1)·span/B, computed
    exactly in integers as (ts - start)·B // span. That product passes BIGINT for spans over
    ~21 days at 5000 buckets (2^63 ns is 292 years), so such queries compute it in HUGEINT,
    which costs about twice as much per row.
    """
    if not 1 <= buckets <= MAX_BUCKETS:
        raise BadParam(f"buckets must be from 1 to {MAX_BUCKETS}, not {buckets}")
    span = scope.end_ns - scope.start_ns
    if span <= 0:
        raise BadParam("the time range is empty; give an endTime after startTime")
    columns: dict[tuple[Any, ...], int] = {}
    parts: list[SQL] = []
    fields: list[str] = []
    for aggregate in aggregates_of(expr):
        key = _column_key(aggregate)
        if key in columns:
            continue
        columns[key] = len(parts) + 1
        parts.append(_column_sql(aggregate))
        if aggregate.field is not None:
            fields.append(aggregate.field)
        fields.extend(f.name for f in fields_of(aggregate.filter))
    if buckets == 1:
        bucket = SQL("0")
    elif span * buckets <= _INT64_MAX:
        bucket = SQL("((e.ts - ?) * ?) // ?", (scope.start_ns, buckets, span))
    else:
        bucket = SQL("(CAST(e.ts - ? AS HUGEINT) * ?) // ?", (scope.start_ns, buckets, span))
    sql = (
        SQL("SELECT ") + bucket + SQL(" AS b, ") + join(parts or [SQL("count(*)")], ", ")
        + SQL(" FROM ") + scope_sql(scope, fields=fields)
    )
    if buckets > 1:
        sql += SQL(" GROUP BY b")
    return Plan(sql, columns)


# -- values ----------------------------------------------------------------------------------


def _finite(value: Any) -> Number | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= _INT64_MAX else float(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _aggregate_value(
    aggregate: Aggregate, raw: Any, seconds: float
) -> Number | None:
    if aggregate.function == "count":
        return int(raw or 0)
    if aggregate.function == "rate":
        return int(raw or 0) / seconds
    if aggregate.function == "sum":
        return float(raw or 0)
    if aggregate.function == "sumPerSecond":
        return float(raw or 0) / seconds
    return None if raw is None else float(raw)


def evaluate(expr: Expr, row: Sequence[Any], columns: Mapping[tuple[Any, ...], int],
             seconds: float) -> Number | None:
    """The expression's value in one bucket of `seconds`, from that bucket's row of columns."""
    if isinstance(expr, Constant):
        return expr.value
    if isinstance(expr, Aggregate):
        raw = row[columns[_column_key(expr)]] if row else None
        return _finite(_aggregate_value(expr, raw, seconds))
    if isinstance(expr, Negate):
        value = evaluate(expr.operand, row, columns, seconds)
        return None if value is None else -value
    left = evaluate(expr.left, row, columns, seconds)
    right = evaluate(expr.right, row, columns, seconds)
    if left is None or right is None:
        return None
    if expr.op == "+":
        return _finite(left + right)
    if expr.op == "-":
        return _finite(left - right)
    if expr.op == "*":
        return _finite(left * right)
    if right == 0:
        return None
    return _finite(left / right)


def numeric_values(
    store: Reader, scope: Scope, expr: Expr, buckets: int, timeout: float
) -> list[Number | None]:
    """The expression's value in each of `buckets` equal slices of the scope's time range."""
    # Every aggregate also requires the request's filter, so its text terms may narrow the scan.
    plan = numeric_sql(store.narrow(scope), expr, buckets)
    rows = store.select(plan.sql, timeout) if plan.columns else []
    by_bucket = {int(r[0]): r for r in rows}
    seconds = (scope.end_ns - scope.start_ns) / buckets / NS
    return [evaluate(expr, by_bucket.get(i, ()), plan.columns, seconds) for i in range(buckets)]


# -- timeseries ids (createTimeseries) -------------------------------------------------------

_ID_PREFIX = "mpts1-"


def timeseries_id(account_id: int, filter_node: Node | None, expr: Expr) -> str:
    """A timeseries id that *is* its definition: nothing needs storing to resolve it later.

    It encodes the account and the canonical filter and function text, so the same definition
    always gets the same id, however it was spelled.
    """
    body = orjson.dumps([account_id, "" if filter_node is None else str(filter_node), str(expr)])
    return _ID_PREFIX + base64.urlsafe_b64encode(body).decode().rstrip("=")


def timeseries_definition(timeseries_id: str, account_id: int) -> tuple[str, str]:
    """(filter, function) of an id from `timeseries_id`; BadParam if it is not one of this
    account's."""
    try:
        if not timeseries_id.startswith(_ID_PREFIX):
            raise ValueError(timeseries_id)
        encoded = timeseries_id[len(_ID_PREFIX) :]
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        owner, filter_text, function_text = orjson.loads(raw)
        if type(owner) is not int or not isinstance(filter_text, str) or not isinstance(
            function_text, str
        ):
            raise ValueError(timeseries_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadParam(
            f"timeseriesId {timeseries_id!r} is not one millpond issued; create one with "
            "/api/createTimeseries, or give filter and function instead"
        ) from None
    if owner != account_id:
        raise BadParam(
            "timeseriesId belongs to another account; create it with a token of this account, "
            "or give filter and function instead"
        )
    return filter_text, function_text
