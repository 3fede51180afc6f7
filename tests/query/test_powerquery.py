"""The PowerQuery language (spec §3.7): what each query parses to, how it prints, how it fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.query.filter import Compare, Field, Text
from millpond.query.powerquery import (
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
    SortKey,
    Unary,
    parse_powerquery,
    print_name,
)
from millpond.query.powerquery_sql import compile_powerquery
from millpond.query.sql import Scope

R = Ref
C = Const


def B(op: str, left: Expr, right: Expr) -> Binary:
    return Binary(op, left, right)


def F(name: str, *args: Expr) -> Call:
    return Call(name, args)


def q(*commands: Command, search: object = None) -> PowerQuery:
    return PowerQuery(search, commands)  # type: ignore[arg-type]


def let(name: str, expr: Expr) -> Let:
    return Let((Item(name, expr),))


def expr_of(text: str) -> Expr:
    """The expression of `| filter <text>`."""
    command = parse_powerquery(f"| filter {text}").commands[0]
    assert isinstance(command, Filter)
    return command.expr


# -- the pipeline -----------------------------------------------------------------------------

PARSES: list[tuple[str, PowerQuery]] = [
    ("", q()),
    ("   ", q()),
    ("error", q(search=Text("error"))),
    # the scalyr-tool's own request
    ("dataset='x' | group count() by serverHost",
     q(Group((Item(None, F("count")),), (Item(None, R("serverHost")),)),
       search=Compare(Field("dataset"), "==", "x"))),
    # an empty first stage is every event; so is a leading '|'
    ("| limit 5", q(Limit(5))),
    ("  |limit 5", q(Limit(5))),
    ("error|limit 5", q(Limit(5), search=Text("error"))),  # '|' always pipes
    ("a || b | limit 1", q(Limit(1), search=parse_powerquery("a or b").search)),
    ("'x | y' | limit 1", q(Limit(1), search=Text("x | y"))),
    # let: one or more assignments
    ("| let x = 1", q(let("x", C(1)))),
    ("| let x = a, y = x * 2",
     q(Let((Item("x", R("a")), Item("y", B("*", R("x"), C(2))))))),
    ("| LET $by = 1", q(let("by", C(1)))),
    # filter
    ("| filter status >= 500", q(Filter(B(">=", R("status"), C(500))))),
    ("| filter status = 500", q(Filter(B("==", R("status"), C(500))))),
    # group: aggregates, keys, names
    ("| group count()", q(Group((Item(None, F("count")),), ()))),
    ("| group by serverHost", q(Group((), (Item(None, R("serverHost")),)))),
    ("| group n = count(), p = p90(latency) by host = lower($serverHost), status",
     q(Group((Item("n", F("count")), Item("p", F("p90", R("latency")))),
             (Item("host", F("lower", R("serverHost"))), Item(None, R("status")))))),
    ("| group pct(x, 95), percentile(x, 5), mean(x), median(x), estimate_distinct(u)",
     q(Group((Item(None, F("pct", R("x"), C(95))), Item(None, F("pct", R("x"), C(5))),
              Item(None, F("avg", R("x"))), Item(None, F("median", R("x"))),
              Item(None, F("estimate_distinct", R("u")))), ()))),
    ("| group rate = count() / 60", q(Group((Item("rate", B("/", F("count"), C(60))),), ()))),
    # sort, limit, columns
    ("| sort -n, host, +x", q(Sort((SortKey("n", True), SortKey("host"), SortKey("x"))))),
    ("| limit 0", q(Limit(0))),
    ("| columns a, b = a * 2, $c", q(Columns((Item(None, R("a")), Item("b", B("*", R("a"), C(2))),
                                              Item(None, R("c")))))),
    # commands ignore case; names keep it
    ("| GROUP Count() BY Host | SORT -Count", q(Group((Item(None, F("count")),),
                                                   (Item(None, R("Host")),)),
                                             Sort((SortKey("Count", True),)))),
    # a whole pipeline
    ("status >= 500 | let s = status | group n = count() by s | sort -n | limit 3 | columns s",
     q(let("s", R("status")), Group((Item("n", F("count")),), (Item(None, R("s")),)),
       Sort((SortKey("n", True),)), Limit(3), Columns((Item(None, R("s")),)),
       search=Compare(Field("status"), ">=", 500))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parse(text: str, expected: PowerQuery) -> None:
    assert parse_powerquery(text) == expected


# -- expressions ------------------------------------------------------------------------------

EXPRESSIONS: list[tuple[str, Expr]] = [
    # literals
    ("1", C(1)),
    ("2.5", C(2.5)),
    ("1e3", C(1000.0)),
    (".5", C(0.5)),
    ("-3", C(-3)),  # a negated number is a number
    ("--3", C(3)),
    ('"a \\"b\\"\\n"', C('a "b"\n')),
    ("'\\u00e9'", C("é")),
    ("true", C(True)),
    ("FALSE", C(False)),
    ("null", C(None)),
    # names
    ("status", R("status")),
    ("$serverHost", R("serverHost")),
    ("http.status", R("http.status")),
    ("service\\-name", R("service-name")),
    ("$and", R("and")),
    ("_x1", R("_x1")),
    # arithmetic: * / % before + -, left to right, unary minus tightest
    ("a + b * c", B("+", R("a"), B("*", R("b"), R("c")))),
    ("(a + b) * c", B("*", B("+", R("a"), R("b")), R("c"))),
    ("a - b - c", B("-", B("-", R("a"), R("b")), R("c"))),
    ("a - (b - c)", B("-", R("a"), B("-", R("b"), R("c")))),
    ("a / b % c", B("%", B("/", R("a"), R("b")), R("c"))),
    ("-a * b", B("*", Unary("-", R("a")), R("b"))),
    ("a--1", B("-", R("a"), C(-1))),
    # comparisons bind looser than arithmetic, tighter than not/and/or
    ("a + 1 > b * 2", B(">", B("+", R("a"), C(1)), B("*", R("b"), C(2)))),
    ("a == 1 || b != 2 && c < 3",
     B("||", B("==", R("a"), C(1)), B("&&", B("!=", R("b"), C(2)), B("<", R("c"), C(3))))),
    ("a or b and c", B("||", R("a"), B("&&", R("b"), R("c")))),
    ("(a || b) && c", B("&&", B("||", R("a"), R("b")), R("c"))),
    ("!a && b", B("&&", Unary("!", R("a")), R("b"))),
    ("not a == 1", Unary("!", B("==", R("a"), C(1)))),
    ("!!a", Unary("!", Unary("!", R("a")))),
    ("a <= 1 and b >= 2", B("&&", B("<=", R("a"), C(1)), B(">=", R("b"), C(2)))),
    # text operators, as in the filter language
    ("message contains 'err'", B("contains", R("message"), C("err"))),
    ("message CONTAINS:MatchCase 'Err'", B("contains:matchcase", R("message"), C("Err"))),
    ("path startsWith '/api'", B("startsWith", R("path"), C("/api"))),
    ("path matches '^/a.*'", B("matches", R("path"), C("^/a.*"))),
    # `== *` is presence, as in the filter language
    ("x == *", B("!=", R("x"), C(None))),
    ("x != * || y = *", B("||", B("==", R("x"), C(None)), B("!=", R("y"), C(None)))),
    # functions: canonical names, any case, aliases
    ("len(message)", F("len", R("message"))),
    ("LOWER(x)", F("lower", R("x"))),
    ("ceil(x) + ceiling(y)", B("+", F("ceiling", R("x")), F("ceiling", R("y")))),
    ("round(x, 2)", F("round", R("x"), C(2))),
    ("min(a, b)", F("min", R("a"), R("b"))),
    ("if(a > 1, 'big', 'small')", F("if", B(">", R("a"), C(1)), C("big"), C("small"))),
    ("startswith(a, 'x')", F("startsWith", R("a"), C("x"))),
    ("concat(a, '-', b)", F("concat", R("a"), C("-"), R("b"))),
    ("count", R("count")),  # without parentheses, a name
]


@pytest.mark.parametrize(("text", "expected"), EXPRESSIONS)
def test_expressions(text: str, expected: Expr) -> None:
    assert expr_of(text) == expected


# -- canonical text ---------------------------------------------------------------------------

PRINTS: list[tuple[str, str]] = [
    ("dataset='x' | group count() by serverHost", 'dataset == "x" | group count() by serverHost'),
    ("|limit 5", "| limit 5"),
    ("| LET a=1,b='x'", '| let a = 1, b = "x"'),
    ("| filter a = 1 and not b", "| filter a == 1 && !b"),
    ("| filter !(a == 1)", "| filter !(a == 1)"),
    ("| filter ((a + b)) * c", "| filter (a + b) * c"),
    ("| filter a + (b + c)", "| filter a + (b + c)"),
    ("| filter (a < b) == c", "| filter (a < b) == c"),
    ("| filter -(a + b)", "| filter -(a + b)"),
    ("| filter a - -1", "| filter a - -1"),
    ("| filter (!a) + 1", "| filter (!a) + 1"),
    ("| let x = percentile(y, 5.5), z = CEIL(y)", "| let x = pct(y, 5.5), z = ceiling(y)"),
    ("| sort +a, - b", "| sort a, -b"),
    ("| columns $\\`", "| columns $\\`"),
    ("| let $\\by = $contains", "| let $by = $contains"),
    ("| group   by   a", "| group by a"),
    ("| filter x contains:MATCHCASE 'a'", '| filter x contains:matchcase "a"'),
    ("| columns $\\\x1f", "| columns $\\\x1f"),  # an escaped space-like name at the very end
]


@pytest.mark.parametrize(("text", "canonical"), PRINTS)
def test_print(text: str, canonical: str) -> None:
    assert str(parse_powerquery(text)) == canonical


@pytest.mark.parametrize("text", [t for t, _ in PARSES] + [t for t, _ in PRINTS])
def test_round_trip(text: str) -> None:
    parsed = parse_powerquery(text)
    assert parse_powerquery(str(parsed)) == parsed


# -- errors: what went wrong, where, and what to write instead -------------------------------

ERRORS: list[tuple[str, list[str]]] = [
    # unsupported and unknown commands name themselves and the supported ones
    ("| parse 'x=$x$'", ["'parse' at column 3", "does not support",
                         "let, filter, group, sort, limit, columns"]),
    ("x | lookup a from t by k", ["'lookup' at column 5", "does not support"]),
    ("| JOIN a", ["'JOIN' at column 3", "does not support"]),
    ("| transpose x", ["'transpose'"]),
    ("| union x", ["'union'"]),
    ("| savelookup 'x'", ["'savelookup'"]),
    ("| grop count()", ["unknown command 'grop' at column 3", "let, filter, group"]),
    ("| 5", ["unknown command '5' at column 3"]),
    # the pipes themselves
    ("a |", ["ends with '|' at column 3"]),
    ("| limit 1 | | limit 2", ["empty command", "column 11", "column 13"]),
    ("| limit 1 limit 2", ["unexpected 'limit' at column 11", "separated by '|'"]),
    # commands
    ("| let", ["end of query", "name = expression"]),
    ("| let x", ["end of query", "let x = "]),
    ("| let x + 1", ["unexpected '+' at column 9", "name = expression"]),
    ("| let x = 1,", ["end of query"]),
    ("| filter", ["end of query", "'filter' at column 3 needs an expression"]),
    ("| group", ["end of query", "needs aggregates, keys or both"]),
    ("| group count() by", ["end of query", "'by' at column 17 needs an expression"]),
    ("| sort", ["end of query", "column names"]),
    ("| sort a + 1", ["unexpected '+' at column 10"]),
    ("| sort n desc", ["unexpected 'desc' at column 10", "-n"]),
    ("| sort lower(x)", ["unexpected '(' at column 13"]),
    ("| limit", ["end of query", "whole number"]),
    ("| limit -1", ["unexpected '-' at column 9"]),
    ("| limit 2.5", ["unexpected '2.5' at column 9"]),
    ("| limit 10000000000", ["from 0 to 1,000,000,000"]),
    ("| columns", ["end of query", "'columns' at column 3 needs an expression"]),
    # expressions
    ("| filter a ==", ["end of query", "'==' at column 12 needs a value"]),
    ("| filter a == == b", ["unexpected '==' at column 15"]),
    ("| filter a < b < c", ["unexpected '<' at column 16", "do not chain", "&&"]),
    ("| filter (a", ["'(' at column 10 is never closed"]),
    ("| filter a)", ["unexpected ')' at column 11"]),
    ("| filter a =~ 'x'", ["'=~' at column 12", "matches"]),
    ("| filter a ^ 2", ["unexpected '^' at column 12"]),
    ("| filter 'abc", ["unterminated string starting at column 10"]),
    ("| filter 10m > 1", ["'10m' at column 10", "quote"]),
    ("| filter $ == 1", ["'$' at column 10"]),
    ("| filter x contains:nocase 'a'", ["':nocase' at column 12", "matchcase"]),
    ("| filter and", ["unexpected 'and' at column 10"]),
    ("| filter by == 1", ["'by' is a keyword", "$by"]),
    ("| filter nope(x)", ["unknown function 'nope' at column 10", "len, lower", "count, sum"]),
    ("| filter lower()", ["lower at column 10 takes 1 argument, not 0"]),
    ("| filter round(a, 1, 2)", ["round at column 10 takes 1 to 2 arguments, not 3"]),
    ("| filter if(a, b)", ["if at column 10 takes 3 arguments, not 2"]),
    ("| group count(a, b)", ["count at column 9 takes 0 to 1 arguments, not 2"]),
    ("| filter f(a b)", ["unknown function 'f'"]),
    ("| filter lower(a b)", ["unexpected 'b' at column 18"]),
    ("| filter 1e999 > 1", ["the number at column 10 is too large"]),
    ("| filter x > " + "9" * 5000, ["the number at column 14 is too large"]),
    ("| limit " + "9" * 5000, ["from 0 to 1,000,000,000"]),
    ("| filter " + "(" * 41 + "a" + ")" * 41, ["'(' at column 50", "more than 40 deep"]),
    ("| filter " + "!" * 100 + "a", ["more than 100 operators inside one another"]),
    ("| let x = " + " + ".join("a" * 101), ["at column 11 has more than 100 operators"]),
    ("| filter 'it''s'", ["unexpected \"'s'\" at column 14"]),  # no implicit concatenation
    # the filter stage reports the filter language's errors, with a hint for commands
    ("status == | limit 1", ["column 11"]),
    ("group count() by x", ["column 13", "start the query with '|'"]),
]


@pytest.mark.parametrize(("text", "fragments"), ERRORS)
def test_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(BadParam) as info:
        parse_powerquery(text)
    for fragment in fragments:
        assert fragment in info.value.message, info.value.message


# -- round trip of any expression -------------------------------------------------------------

_names = st.one_of(
    st.sampled_from(["a", "status", "$x", "by", "and", "count", "lower", "a.b", "x_1"]),
    st.text(min_size=1, max_size=6),
).map(lambda n: n.removeprefix("$") or "x")
_numbers = st.one_of(st.integers(-10**6, 10**6),
                     st.floats(allow_nan=False, allow_infinity=False, width=64))
_leaves: st.SearchStrategy[Expr] = st.one_of(
    st.builds(Const, st.one_of(st.text(max_size=8), _numbers, st.booleans(), st.none())),
    st.builds(Ref, _names),
)
_OPS = ["||", "&&", "==", "!=", "<", "<=", ">", ">=", "contains", "matches:matchcase",
        "startsWith", "+", "-", "*", "/", "%"]


def _calls(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    names = sorted({*FUNCTIONS, *AGGREGATES})

    def call(name: str) -> st.SearchStrategy[Expr]:
        arities = [t[name] for t in (FUNCTIONS, AGGREGATES) if name in t]
        low, high = min(a for a, _ in arities), max(b for _, b in arities)
        return st.lists(children, min_size=low, max_size=min(high, 3)).map(
            lambda args: Call(name, tuple(args)))

    return st.sampled_from(names).flatmap(call)


def _negatable(e: Expr) -> bool:
    # `-5` reads back as the number -5, never as a negation of 5
    return not (isinstance(e, Const) and isinstance(e.value, (int, float))
                and not isinstance(e.value, bool))


_exprs: st.SearchStrategy[Expr] = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.builds(Binary, st.sampled_from(_OPS), children, children),
        st.builds(Unary, st.just("!"), children),
        children.filter(_negatable).map(lambda e: Unary("-", e)),
        _calls(children),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_exprs, _names)
def test_any_expression_round_trips(expr: Expr, name: str) -> None:
    query = PowerQuery(None, (Let((Item(name, expr),)), Columns((Item(None, expr),))))
    assert parse_powerquery(str(query)) == query


# -- the SQL: values and names are never SQL text ---------------------------------------------


def test_values_and_names_never_reach_the_sql_text() -> None:
    evil = "x\"); DROP TABLE events; --"
    name = "k'); DROP TABLE events; --"
    query = parse_powerquery(
        f"y == {_quoted(evil)} | let {print_name(name)} = {_quoted(evil)} "
        f"| group n = count() by {print_name(name)}, $z | columns n, {print_name(name)}")
    plan = compile_powerquery(query, Scope(1, 0, 10, query.search))
    assert "DROP" not in plan.sql.text
    assert plan.sql.text.count("?") == len(plan.sql.params)
    assert evil in plan.sql.params and {'$."y"', '$."z"'} <= set(plan.sql.params)
    assert plan.columns == ("n", name)


def _quoted(text: str) -> str:
    return str(Const(text))
