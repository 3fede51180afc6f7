"""The `function` language of numeric queries (spec §3.4, §4.6), its SQL plan and its values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.query.filter import Compare, Field, Text, TextMatch, parse_filter
from millpond.query.numeric import (
    RATE,
    Aggregate,
    Arithmetic,
    Constant,
    Expr,
    Negate,
    evaluate,
    numeric_sql,
    parse_function,
    timeseries_definition,
    timeseries_id,
)
from millpond.query.sql import Scope

S = 1_000_000_000
NOW = 1_772_366_400 * S


def mean(field: str) -> Aggregate:
    return Aggregate("mean", field)


# -- the grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Omitted, count and rate.
        (None, RATE),
        ("", RATE),
        ("   ", RATE),
        ("rate", RATE),
        ("count", Aggregate("count")),
        ("COUNT", Aggregate("count")),
        ("count()", Aggregate("count")),
        ("rate()", RATE),
        # count and rate take a filter, even a lone word.
        ("count(error)", Aggregate("count", None, Text("error"))),
        ("rate(status == 500)", Aggregate("rate", None, Compare(Field("status"), "==", 500))),
        ('count(message contains "error")',
         Aggregate("count", None, TextMatch(Field("message"), "contains", "error"))),
        ("count(latency where status == 500)",
         Aggregate("count", "latency", Compare(Field("status"), "==", 500))),
        # Value functions take a field.
        ("mean(latency)", mean("latency")),
        ("min(latency)", Aggregate("min", "latency")),
        ("max(latency)", Aggregate("max", "latency")),
        ("sum(bytes)", Aggregate("sum", "bytes")),
        ("sumPerSecond(bytes)", Aggregate("sumPerSecond", "bytes")),
        ("sumpersecond(bytes)", Aggregate("sumPerSecond", "bytes")),
        ("Mean( latency )", mean("latency")),
        ("mean($serverHost)", mean("serverHost")),
        ("mean($service\\-time)", mean("service-time")),
        ("mean(resp.time_ms)", mean("resp.time_ms")),
        # ... or a field and a filter ...
        ("mean(latency where status >= 500)",
         Aggregate("mean", "latency", Compare(Field("status"), ">=", 500))),
        ("mean(latency WHERE status >= 500)",
         Aggregate("mean", "latency", Compare(Field("status"), ">=", 500))),
        ("mean(latency where(status >= 500))",
         Aggregate("mean", "latency", Compare(Field("status"), ">=", 500))),
        # ... or a filter over the field `value`.
        ("mean(metric == 'cpu')",
         Aggregate("mean", "value", Compare(Field("metric"), "==", "cpu"))),
        ("max('disk full')", Aggregate("max", "value", Text("disk full"))),
        # Percentiles.
        ("median(latency)", Aggregate("p", "latency", percentile=50.0)),
        ("p10(latency)", Aggregate("p", "latency", percentile=10.0)),
        ("p50(latency)", Aggregate("p", "latency", percentile=50.0)),
        ("p90(latency)", Aggregate("p", "latency", percentile=90.0)),
        ("p95(latency)", Aggregate("p", "latency", percentile=95.0)),
        ("p99(latency)", Aggregate("p", "latency", percentile=99.0)),
        ("p999(latency)", Aggregate("p", "latency", percentile=99.9)),
        ("p9999(latency)", Aggregate("p", "latency", percentile=99.99)),
        ("p995(latency)", Aggregate("p", "latency", percentile=99.5)),
        ("p75(latency)", Aggregate("p", "latency", percentile=75.0)),
        ("p5(latency)", Aggregate("p", "latency", percentile=5.0)),
        ("p0(latency)", Aggregate("p", "latency", percentile=0.0)),
        ("p100(latency)", Aggregate("p", "latency", percentile=100.0)),
        ("P95(latency)", Aggregate("p", "latency", percentile=95.0)),
        ("p(latency, 80)", Aggregate("p", "latency", percentile=80.0)),
        ("p(latency,99.5)", Aggregate("p", "latency", percentile=99.5)),
        ("p[95](latency)", Aggregate("p", "latency", percentile=95.0)),
        ("p[ 12.5 ](latency)", Aggregate("p", "latency", percentile=12.5)),
        ("p[95](time where uriPath == '/home')",
         Aggregate("p", "time", Compare(Field("uriPath"), "==", "/home"), 95.0)),
        ("p(time where uriPath == '/a,b', 90)",
         Aggregate("p", "time", Compare(Field("uriPath"), "==", "/a,b"), 90.0)),
        ("p(status in (1, 2), 90)",
         Aggregate("p", "value", parse_filter("status in (1, 2)"), 90.0)),
        # A bare field name is its mean; a field may be named p.
        ("latency", mean("latency")),
        ("$serverHost", mean("serverHost")),
        ("p", mean("p")),
        ("where", mean("where")),
        # Constants and arithmetic.
        ("5", Constant(5)),
        ("0.5", Constant(0.5)),
        (".5", Constant(0.5)),
        ("1e3", Constant(1000.0)),
        ("2.5E-3", Constant(0.0025)),
        ("-count", Negate(Aggregate("count"))),
        ("+count", Aggregate("count")),
        ("count * 2", Arithmetic("*", Aggregate("count"), Constant(2))),
        ("latency * 1000", Arithmetic("*", mean("latency"), Constant(1000))),
        ('count(message contains "error") / count(message contains "success")',
         Arithmetic("/",
                    Aggregate("count", None, TextMatch(Field("message"), "contains", "error")),
                    Aggregate("count", None, TextMatch(Field("message"), "contains", "success")))),
    ],
)
def test_parse(text: str | None, expected: Expr) -> None:
    assert parse_function(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1 + 2 * 3", "1 + 2 * 3"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("1 - 2 - 3", "1 - 2 - 3"),
        ("1 - (2 - 3)", "1 - (2 - 3)"),
        ("1 / 2 / 3", "1 / 2 / 3"),
        ("1 / (2 * 3)", "1 / (2 * 3)"),
        ("1 + (2 + 3)", "1 + (2 + 3)"),
        ("1 + 2 + 3", "1 + 2 + 3"),
        ("((count))", "count"),
        ("-a * b", "-mean(a) * mean(b)"),
        ("-(a * b)", "-(mean(a) * mean(b))"),
        ("--count", "--count"),
        ("2*-count", "2 * -count"),
        ("median(x)", "p[50](x)"),
        ("p999(x)", "p[99.9](x)"),
        ("p(x, 80)", "p[80](x)"),
        ("mean(m == 'cpu')", 'mean(value where m == "cpu")'),
        ("mean(value where $serverHost='frontend-1' metric='df.1kblocks.free' mount='/') "
         "/ (1024*1024)",
         'mean(value where serverHost == "frontend-1" and metric == "df.1kblocks.free" and '
         'mount == "/") / (1024 * 1024)'),
        ("mean($service\\-time)", "mean($service\\-time)"),
        ("count(a b) + rate", "count(a and b) + rate"),
    ],
)
def test_canonical_text_round_trips(text: str, canonical: str) -> None:
    expr = parse_function(text)
    assert str(expr) == canonical
    assert parse_function(canonical) == expr


def test_precedence_and_associativity() -> None:
    a, b, c = mean("a"), mean("b"), mean("c")
    assert parse_function("a + b * c") == Arithmetic("+", a, Arithmetic("*", b, c))
    assert parse_function("a * b + c") == Arithmetic("+", Arithmetic("*", a, b), c)
    assert parse_function("a - b - c") == Arithmetic("-", Arithmetic("-", a, b), c)
    assert parse_function("a / b / c") == Arithmetic("/", Arithmetic("/", a, b), c)
    assert parse_function("a * (b - c)") == Arithmetic("*", a, Arithmetic("-", b, c))
    assert parse_function("-a * b") == Arithmetic("*", Negate(a), b)


_leaves = st.sampled_from([
    Aggregate("count"), RATE, Aggregate("count", None, Text("error")),
    Aggregate("rate", None, parse_filter("status >= 500 or $\"x.*\"")),
    mean("latency"), Aggregate("min", "a.b"), Aggregate("max", "service-name"),
    Aggregate("sumPerSecond", "bytes", parse_filter("path == '/home'")),
    Aggregate("p", "latency", None, 99.9), Aggregate("p", "value", Text("x"), 12.5),
    Aggregate("count", "latency", parse_filter("a in (1, 'b')")),
]) | st.builds(Constant, st.integers(0, 2**53)) | st.builds(
    Constant, st.floats(0, 1e300, allow_nan=False, allow_infinity=False)
)
_expressions = st.recursive(
    _leaves,
    lambda inner: st.builds(Negate, inner)
    | st.builds(Arithmetic, st.sampled_from("+-*/"), inner, inner),
    max_leaves=8,
)


@given(_expressions)
def test_any_expression_prints_text_that_parses_back_to_it(expr: Expr) -> None:
    assert parse_function(str(expr)) == expr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo(x)", "unknown function 'foo' at column 1; use one of count, rate, mean"),
        ("count + avg(x)", "unknown function 'avg' at column 9"),
        ("p150(x)", "unknown function 'p150' at column 1: percentiles go from 0 to 100"),
        ("fraction(status >= 500)", "fraction(…) at column 1 is not available in numeric"),
        ("count / fraction(x)", "at column 9 is not available"),
        ("mean", "mean at column 1 is a function and needs an argument, as in mean(latency)"),
        ("2 * p95", "p95 at column 5 is a function and needs an argument"),
        ("mean()", "mean(…) at column 1 needs a field, as in mean(latency)"),
        ("p[95]()", "p[95](…) at column 1 needs a field, as in p[95](latency)"),
        ("p(latency)", "p(…) at column 1 needs a field and a percentile: p(latency, 95)"),
        ("p(latency, 101)", "the percentile at column 12 must be a number from 0 to 100"),
        ("p(latency, x)", "the percentile at column 12 must be a number from 0 to 100, not 'x'"),
        ("p[-1](latency)", "the percentile at column 3 must be"),
        ("p[95 (latency)", "the '[' at column 2 is never closed"),
        ("p[95] + 1", "p[…] at column 1 needs an argument"),
        ("mean(latency, 3)", "unexpected ',' at column 13; only p(field, n) takes two"),
        ("count(a b", "the '(' at column 6 is never closed; add ')'"),
        ("(count + 1", "the '(' at column 1 is never closed; add ')'"),
        ('count("abc)', "unterminated string starting at column 7"),
        ("count)", "unexpected ')' at column 6; there is no '(' to close"),
        ("count rate", "unexpected 'r' at column 7; join the parts of a function with +"),
        ("count +", "unexpected end of function (column 8)"),
        ("count * / 2", "unexpected '/' at column 9"),
        ("()", "unexpected ')' at column 2; empty parentheses"),
        ("1e999", "the number at column 1 is too large"),
        ("1" * 5000, "the number at column 1 is too large"),
        ("(" * 5000 + "count" + ")" * 5000, "nests parentheses or signs more than 100 deep"),
        ("-" * 5000 + "count", "more than 100 deep (at column 101)"),
        ("+".join(["count"] * 5000), "has more than 200 operators (at column 1206)"),
        ("p" + "9" * 5000 + "(x)", "unknown function 'p999"),
        ("p0100(x)", "unknown function 'p0100'"),
        ("count(x ==)", "unexpected end of filter (column 11)"),
        ("mean(latency where)", "'where' at column 14 needs a filter after it"),
        ("count(status = 2 )) ", "unexpected ')' at column 19"),
        # The inner filter's own errors keep the columns of the whole function.
        ("count + count(status =~ 'x')", "unknown operator '=~' at column 22; use 'matches'"),
        ("mean(latency where status >)", "unexpected end of filter (column 28)"),
        ("count(a) / count(b or)", "unexpected end of filter (column 22)"),
    ],
)
def test_errors_say_where_and_what_to_do(text: str, message: str) -> None:
    with pytest.raises(BadParam) as info:
        parse_function(text)
    assert message in info.value.message


# -- the SQL plan ----------------------------------------------------------------------------

SCOPE = Scope(1, NOW - 3600 * S, NOW)


def test_one_bucket_needs_no_grouping() -> None:
    plan = numeric_sql(SCOPE, parse_function("count"), 1)
    assert plan.sql.text.startswith("SELECT 0 AS b, count(*) FROM events e")
    assert "GROUP BY" not in plan.sql.text


def test_buckets_group_by_their_exact_integer_index() -> None:
    plan = numeric_sql(SCOPE, parse_function("count"), 60)
    assert plan.sql.text.startswith("SELECT ((e.ts - ?) * ?) // ? AS b,")
    assert plan.sql.params[:3] == (SCOPE.start_ns, 60, 3600 * S)
    assert plan.sql.text.endswith(" GROUP BY b")


def test_a_span_times_buckets_past_bigint_uses_hugeint() -> None:
    years = Scope(1, 0, NOW)  # 56 years × 5000 buckets overflows 2^63
    assert "HUGEINT" in numeric_sql(years, parse_function("count"), 5000).sql.text
    assert "HUGEINT" not in numeric_sql(years, parse_function("count"), 1).sql.text
    assert "HUGEINT" not in numeric_sql(SCOPE, parse_function("count"), 5000).sql.text


def test_every_aggregate_comes_from_one_scan_with_filter_clauses() -> None:
    expr = parse_function(
        "count(error) / count + rate(error) + mean(latency where status >= 500) + p95(latency)"
        " + sumPerSecond(bytes) + sum(bytes)"
    )
    plan = numeric_sql(SCOPE, expr, 10)
    assert plan.sql.text.count("SELECT") == 1
    # count(error) and rate(error) read one column; so do sum and sumPerSecond.
    assert len(plan.columns) == 5
    assert "count(*) FILTER (WHERE " in plan.sql.text
    assert "avg(" in plan.sql.text and "quantile_cont(" in plan.sql.text
    assert 0.95 in plan.sql.params


def test_the_request_filter_is_the_where_and_the_inner_one_a_filter_clause() -> None:
    scope = Scope(1, SCOPE.start_ns, SCOPE.end_ns, parse_filter("app == 'web'"))
    plan = numeric_sql(scope, parse_function("count(status == 500)"), 1)
    where = plan.sql.text.index(" WHERE ")
    assert plan.sql.text.index("FILTER (WHERE") < where
    assert "web" in plan.sql.params and 500.0 in plan.sql.params


def test_session_fields_of_inner_filters_join_the_sessions() -> None:
    plan = numeric_sql(SCOPE, parse_function("count(region == 'eu')"), 1)
    assert "LEFT JOIN sessions s" in plan.sql.text
    assert "LEFT JOIN" not in numeric_sql(SCOPE, parse_function("count(error)"), 1).sql.text


@pytest.mark.parametrize("buckets", [0, 5001])
def test_the_plan_refuses_bad_buckets(buckets: int) -> None:
    with pytest.raises(BadParam, match="buckets must be from 1 to 5000"):
        numeric_sql(SCOPE, RATE, buckets)


def test_the_plan_refuses_an_empty_range() -> None:
    with pytest.raises(BadParam, match="empty"):
        numeric_sql(Scope(1, NOW, NOW), RATE, 1)


# -- values ----------------------------------------------------------------------------------


def values(text: str, raw: dict[str, object] | None, seconds: float = 10.0) -> object:
    """Evaluate a function for one bucket whose aggregates read `raw` (None: empty bucket)."""
    expr = parse_function(text)
    plan = numeric_sql(SCOPE, expr, 2)
    row: list[object] = [0] * (len(plan.columns) + 1)
    if raw is None:
        return evaluate(expr, (), plan.columns, seconds)
    for key, index in plan.columns.items():
        row[index] = raw[key[0]]
    return evaluate(expr, tuple(row), plan.columns, seconds)


@pytest.mark.parametrize(
    ("text", "raw", "expected"),
    [
        ("count", {"count": 5}, 5),
        ("rate", {"count": 5}, 0.5),
        ("mean(x)", {"mean": 2.5}, 2.5),
        ("mean(x)", {"mean": None}, None),
        ("min(x)", {"min": 1.0}, 1.0),
        ("p95(x)", {"p": 7.0}, 7.0),
        ("sum(x)", {"sum": None}, 0.0),
        ("sumPerSecond(x)", {"sum": 30.0}, 3.0),
        ("sumPerSecond(x)", {"sum": None}, 0.0),
        ("count * 2 - 1", {"count": 5}, 9),
        ("count / 2", {"count": 5}, 2.5),
        ("count / count(error)", {"count": 0}, None),
        ("mean(x) + 1", {"mean": None}, None),
        ("-mean(x)", {"mean": None}, None),
        ("-count", {"count": 3}, -3),
        ("mean(x) * 1e308 * 10", {"mean": 2.0}, None),
        ("mean(x)", {"mean": float("inf")}, None),
        ("7", {}, 7),
    ],
)
def test_values_of_one_bucket(text: str, raw: dict[str, object], expected: object) -> None:
    value = values(text, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count", 0),
        ("rate", 0.0),
        ("sumPerSecond(x)", 0.0),
        ("sum(x)", 0.0),
        ("mean(x)", None),
        ("min(x)", None),
        ("max(x)", None),
        ("median(x)", None),
        ("count + 1", 1),
        ("count(a) / count(b)", None),
        ("sumPerSecond(x) + 5", 5.0),
    ],
)
def test_values_of_an_empty_bucket(text: str, expected: object) -> None:
    value = values(text, None)
    assert value == expected
    assert type(value) is type(expected)


def test_the_largest_function_allowed_still_evaluates() -> None:
    text = "(" * 99 + "count" + ")" * 99 + "".join(f" + mean(f{i})" for i in range(200))
    assert values(text, {"count": 1, "mean": 2.0}) == 401.0


def test_integers_too_large_for_json_become_floats() -> None:
    assert values("count * 10000000000 * 10000000000", {"count": 5}) == 5e20
    big = parse_function("123456789012345678901234567890")
    assert isinstance(big, Constant) and big.value == 1.2345678901234568e29
    assert parse_function("9007199254740992") == Constant(2**53)
    past = parse_function("9007199254740993")
    assert isinstance(past, Constant) and isinstance(past.value, float)


# -- timeseries ids --------------------------------------------------------------------------


def test_a_timeseries_id_is_stable_and_resolves_to_its_canonical_definition() -> None:
    a = timeseries_id(1, parse_filter("error  AND app == 'x'"), parse_function("p(latency,95)"))
    b = timeseries_id(1, parse_filter("error app = 'x'"), parse_function("p[95](latency)"))
    assert a == b
    assert a.isascii() and "=" not in a and "/" not in a and "+" not in a
    assert timeseries_definition(a, 1) == ('error and app == "x"', "p[95](latency)")
    error = parse_filter("error")
    assert timeseries_id(2, error, RATE) != timeseries_id(1, error, RATE)
    assert timeseries_definition(timeseries_id(1, None, RATE), 1) == ("", "rate")


@pytest.mark.parametrize("bad", ["", "abc", "mpts1-", "mpts1-!!!!", "mpts1-WzFd"])
def test_an_unknown_timeseries_id_is_refused(bad: str) -> None:
    with pytest.raises(BadParam, match="is not one millpond issued"):
        timeseries_definition(bad, 1)


def test_another_accounts_timeseries_id_is_refused() -> None:
    tsid = timeseries_id(1, None, RATE)
    with pytest.raises(BadParam, match="belongs to another account"):
        timeseries_definition(tsid, 2)
