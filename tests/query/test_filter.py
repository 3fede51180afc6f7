"""The filter language (spec §4): what each filter parses to, how it prints, how it fails."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.query.filter import (
    COMPARISONS,
    TEXT_OPERATORS,
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
    parse_filter,
)

F = Field
STAR = Field("*")

# -- parsing: filter text → tree --------------------------------------------------------------

PARSES: list[tuple[str, Node | None]] = [
    # empty filters match everything
    ("", None),
    ("   \t\n ", None),
    # bare words: text search in the message, punctuation included
    ("error", Text("error")),
    ("  error  ", Text("error")),
    ("Error", Text("Error")),
    ("RC-123", Text("RC-123")),
    ("10.0.0.1", Text("10.0.0.1")),
    ("/api/x", Text("/api/x")),
    ("/api/users?id=7", Compare(F("/api/users?id"), "==", 7)),  # `=` compares: quote URLs
    ("user@example.com", Text("user@example.com")),
    ("error:", Text("error:")),
    ("100%", Text("100%")),
    ("cart_42", Text("cart_42")),
    ("a!b", Text("a!b")),
    ("a&b", Text("a&b")),
    ("a|b", Text("a|b")),
    ("~", Text("~")),
    ("café", Text("café")),
    ("😀", Text("😀")),
    ("42", Text("42")),  # a number alone is text, not a value
    ("-1.5e3", Text("-1.5e3")),
    ("in", Text("in")),
    ("contains", Text("contains")),
    (r"C:\temp", Text("C:temp")),  # a backslash in a word escapes the next character
    (r"a\ b", Text("a b")),
    ("a\\", Text("a\\")),  # a trailing backslash is itself
    (r"\*", Text("*")),
    (r"\$x", Text("$x")),
    # quoted phrases, single or double, with JSON-style escapes
    ('"disk full"', Text("disk full")),
    ("'disk full'", Text("disk full")),
    ('""', Text("")),
    ('"and"', Text("and")),
    ('"a or b"', Text("a or b")),
    (r'"say \"hi\""', Text('say "hi"')),
    (r"'it\'s'", Text("it's")),
    ("'say \"hi\"'", Text('say "hi"')),
    ('"it\'s"', Text("it's")),
    (r'"C:\\temp"', Text("C:\\temp")),
    (r'"line\nbreak\ttab\rret"', Text("line\nbreak\ttab\rret")),
    (r'"\b\f\/"', Text("\b\f/")),
    (r'"caf\u00e9"', Text("café")),
    (r'"caf\u00E9"', Text("café")),
    (r'"\ud83d\ude00"', Text("😀")),  # a surrogate pair, as JSON writes it
    (r'"\uZZ"', Text("uZZ")),  # not four hex digits: the letter itself
    (r'"\q"', Text("q")),  # unknown escape: the character itself
    ('"a\nb"', Text("a\nb")),
    ("'tab\there'", Text("tab\there")),
    # regular expressions on the message
    ('$"err.*"', Regex("err.*")),
    ("$'err.*'", Regex("err.*")),
    (r"$'\\.png$'", Regex(r"\.png$")),
    (r'$"\"quoted\""', Regex('"quoted"')),
    # comparisons, with and without spaces
    ("status == 200", Compare(F("status"), "==", 200)),
    ("status = 200", Compare(F("status"), "==", 200)),
    ("status==200", Compare(F("status"), "==", 200)),
    ("a=b", Compare(F("a"), "==", "b")),
    ("status != 200", Compare(F("status"), "!=", 200)),
    ("status!=200", Compare(F("status"), "!=", 200)),
    ("latency < 10", Compare(F("latency"), "<", 10)),
    ("latency<=10", Compare(F("latency"), "<=", 10)),
    ("latency >10", Compare(F("latency"), ">", 10)),
    ("latency>= 10", Compare(F("latency"), ">=", 10)),
    # numbers are values; anything else bare is a word; quoted is always a string
    ("x == -5", Compare(F("x"), "==", -5)),
    ("x == +5", Compare(F("x"), "==", 5)),
    ("x == 0500", Compare(F("x"), "==", 500)),
    ("x == 1.5", Compare(F("x"), "==", 1.5)),
    ("version == 1.10", Compare(F("version"), "==", 1.1)),
    ("x == .5", Compare(F("x"), "==", 0.5)),
    ("x == 5.", Compare(F("x"), "==", 5.0)),
    ("x == -2.5e3", Compare(F("x"), "==", -2500.0)),
    ("x == 1E-3", Compare(F("x"), "==", 0.001)),
    ("x == 1e999", Compare(F("x"), "==", "1e999")),  # not finite: kept as written
    ("x == 12345678901234567890", Compare(F("x"), "==", 12345678901234567890)),
    ("x == 1_000", Compare(F("x"), "==", "1_000")),
    ("x == 0x10", Compare(F("x"), "==", "0x10")),
    ("x == 1.2.3", Compare(F("x"), "==", "1.2.3")),
    ("x == true", Compare(F("x"), "==", "true")),
    ("method == GET", Compare(F("method"), "==", "GET")),
    ('x == "200"', Compare(F("x"), "==", "200")),
    ("x == '1.10'", Compare(F("x"), "==", "1.10")),
    ('x == "*"', Compare(F("x"), "==", "*")),
    ('host == "web-1"', Compare(F("host"), "==", "web-1")),
    ('path == "/api/x"', Compare(F("path"), "==", "/api/x")),
    # text operators, case-insensitive keywords, :matchcase and :anycase
    ("msg contains 'disk full'", TextMatch(F("msg"), "contains", "disk full")),
    ('msg CONTAINS "x"', TextMatch(F("msg"), "contains", "x")),
    ('msg Contains:MatchCase "X"', TextMatch(F("msg"), "contains", "X", True)),
    ("msg contains:anycase 'x'", TextMatch(F("msg"), "contains", "x")),
    ("msg contains 5", TextMatch(F("msg"), "contains", "5")),
    ("msg contains warn", TextMatch(F("msg"), "contains", "warn")),
    (r"path matches '\\.png$'", TextMatch(F("path"), "matches", r"\.png$")),
    ("path MATCHES:matchcase '^/API'", TextMatch(F("path"), "matches", "^/API", True)),
    ("path startsWith '/api'", TextMatch(F("path"), "startsWith", "/api")),
    ("path startswith '/api'", TextMatch(F("path"), "startsWith", "/api")),
    ("path STARTSWITH:matchcase '/API'", TextMatch(F("path"), "startsWith", "/API", True)),
    ("* contains 'x'", TextMatch(STAR, "contains", "x")),
    ("* contains:matchcase 'X'", TextMatch(STAR, "contains", "X", True)),
    ("* matches 'x+'", TextMatch(STAR, "matches", "x+")),
    ("* startsWith 'x'", TextMatch(STAR, "startsWith", "x")),
    ("$* contains 'x'", TextMatch(STAR, "contains", "x")),
    # in (…)
    ("status in (200, 404)", In(F("status"), (200, 404))),
    ("status in(200)", In(F("status"), (200,))),
    ("status IN ('a', \"b\", 3, -2.5, word)", In(F("status"), ("a", "b", 3, -2.5, "word"))),
    ("user in:anycase ('Admin', 'root')", In(F("user"), ("Admin", "root"), True)),
    ("user IN:AnyCase ('x')", In(F("user"), ("x",), True)),
    # presence and absence
    ("status == *", Present(F("status"))),
    ("status = *", Present(F("status"))),
    ("status==*", Present(F("status"))),
    ("status != *", Not(Present(F("status")))),
    ("status!=*", Not(Present(F("status")))),
    ("!(status = *)", Not(Present(F("status")))),
    ("!(status != *)", Present(F("status"))),
    # $field and field are the same field; backslash escapes punctuation in names
    ("$serverHost == 'web-1'", Compare(F("serverHost"), "==", "web-1")),
    ("serverHost == 'web-1'", Compare(F("serverHost"), "==", "web-1")),
    ('service\\-name == "memcache"', Compare(F("service-name"), "==", "memcache")),
    ('$service\\-name == "memcache"', Compare(F("service-name"), "==", "memcache")),
    (r"a\ b == 1", Compare(F("a b"), "==", 1)),
    (r"$a\=b == 1", Compare(F("a=b"), "==", 1)),
    (r"$a\\ == 1", Compare(F("a\\"), "==", 1)),
    (r'$say\"hi\" == 1', Compare(F('say"hi"'), "==", 1)),
    ("a.b.c == 1", Compare(F("a.b.c"), "==", 1)),
    ("$1st == 1", Compare(F("1st"), "==", 1)),
    ("$in == 1", Compare(F("in"), "==", 1)),
    ("in == 1", Compare(F("in"), "==", 1)),
    ("contains contains 'x'", TextMatch(F("contains"), "contains", "x")),
    ("$and == 1", Compare(F("and"), "==", 1)),
    ("x! = 3", Compare(F("x!"), "==", 3)),
    # boolean keywords and symbols, case-insensitively
    ("a and b", And((Text("a"), Text("b")))),
    ("a AND b", And((Text("a"), Text("b")))),
    ("a && b", And((Text("a"), Text("b")))),
    ("a&&b", And((Text("a"), Text("b")))),
    ("a b", And((Text("a"), Text("b")))),
    ("a or b", Or((Text("a"), Text("b")))),
    ("a Or b", Or((Text("a"), Text("b")))),
    ("a || b", Or((Text("a"), Text("b")))),
    ("a||b", Or((Text("a"), Text("b")))),
    ("not a", Not(Text("a"))),
    ("NOT a", Not(Text("a"))),
    ("!a", Not(Text("a"))),
    ("! a", Not(Text("a"))),
    ("!(a)", Not(Text("a"))),
    ('!"disk full"', Not(Text("disk full"))),
    ("!status == 200", Not(Compare(F("status"), "==", 200))),
    ("a !b", And((Text("a"), Not(Text("b"))))),
    # double negation cancels
    ("!!a", Text("a")),
    ("not not a", Text("a")),
    ("!(!a)", Text("a")),
    ("!(not (a))", Text("a")),
    ("!!!a", Not(Text("a"))),
    # implicit AND, parentheses, precedence: not > and > or
    ("a or b c", Or((Text("a"), And((Text("b"), Text("c")))))),
    ("a b or c", Or((And((Text("a"), Text("b"))), Text("c")))),
    ("!a b", And((Not(Text("a")), Text("b")))),
    ("not a or b", Or((Not(Text("a")), Text("b")))),
    ("!(a b)", Not(And((Text("a"), Text("b"))))),
    ("hello (sir || madam)", And((Text("hello"), Or((Text("sir"), Text("madam")))))),
    ("hello(sir||madam)", And((Text("hello"), Or((Text("sir"), Text("madam")))))),
    ("(a or b) c", And((Or((Text("a"), Text("b"))), Text("c")))),
    ("((a))", Text("a")),
    ("a and b and c", And((Text("a"), Text("b"), Text("c")))),
    ("(a and b) and (c d)", And((Text("a"), Text("b"), Text("c"), Text("d")))),
    ("a or (b or c) || d", Or((Text("a"), Text("b"), Text("c"), Text("d")))),
    ("a and (b or c) or d", Or((And((Text("a"), Or((Text("b"), Text("c"))))), Text("d")))),
    ("NoT a AnD b oR c", Or((And((Not(Text("a")), Text("b"))), Text("c")))),
    ('"a""b"', And((Text("a"), Text("b")))),
    ("a = b c", And((Compare(F("a"), "==", "b"), Text("c")))),
    ("a matches 'x' b", And((TextMatch(F("a"), "matches", "x"), Text("b")))),
    # realistic filters
    (
        "$serverHost == 'web-1' status >= 500 !(path startsWith '/health')",
        And((
            Compare(F("serverHost"), "==", "web-1"),
            Compare(F("status"), ">=", 500),
            Not(TextMatch(F("path"), "startsWith", "/health")),
        )),
    ),
    (
        "error (timeout || 'connection reset') and $logfile contains 'nginx'",
        And((
            Text("error"),
            Or((Text("timeout"), Text("connection reset"))),
            TextMatch(F("logfile"), "contains", "nginx"),
        )),
    ),
    (
        "severity >= 4 or (method in ('POST', 'PUT') && latency > 2.5)",
        Or((
            Compare(F("severity"), ">=", 4),
            And((In(F("method"), ("POST", "PUT")), Compare(F("latency"), ">", 2.5))),
        )),
    ),
    (
        "tier == prod $'timed? ?out' -(RC-123)",
        And((
            Compare(F("tier"), "==", "prod"),
            Regex("timed? ?out"),
            Text("-"),
            Text("RC-123"),
        )),
    ),
]


@pytest.mark.parametrize(("text", "tree"), PARSES)
def test_parse(text: str, tree: Node | None) -> None:
    assert parse_filter(text) == tree


# -- printing: tree → canonical filter text ---------------------------------------------------

PRINTS = [
    ("error", "error"),
    ("RC-123  10.0.0.1", "RC-123 and 10.0.0.1"),
    ("'disk full'", '"disk full"'),
    ("'AND'", '"AND"'),
    ("'in:anycase'", '"in:anycase"'),
    ('"a\\\\b"', '"a\\\\b"'),
    ("\"tab\\there 'q' \\\"dq\\\"\"", '"tab\\there \'q\' \\"dq\\""'),
    (r'"caf\u00e9"', '"café"'),
    ("'*'", '"*"'),
    ("'$x'", '"$x"'),
    ("$'err.*'", '$"err.*"'),
    (r"$'\\d+'", r'$"\\d+"'),
    ("status=200", "status == 200"),
    ("status!=200", "status != 200"),
    ("x<=1.50", "x <= 1.5"),
    ("x == 0500", "x == 500"),
    ("x == -2.5e3", "x == -2500.0"),
    ("method == GET", 'method == "GET"'),
    ("x == '200'", 'x == "200"'),
    ("msg CONTAINS:MATCHCASE 'X'", 'msg contains:matchcase "X"'),
    ("msg contains:anycase 'x'", 'msg contains "x"'),
    ("path startswith '/a'", 'path startsWith "/a"'),
    ("* matches 'x'", '* matches "x"'),
    ("user in:AnyCase ('a', 2,b)", 'user in:anycase ("a", 2, "b")'),
    ("x = *", "x == *"),
    ("x != *", "!(x == *)"),
    ("$serverHost == 'w'", 'serverHost == "w"'),
    ("service\\-name == 'm'", '$service\\-name == "m"'),
    ("$in == 1", "$in == 1"),
    ("$1st == 1", "$1st == 1"),
    ("a && b || !c", "a and b or !(c)"),
    ("a or b c", "a or b and c"),
    ("(a or b) c", "(a or b) and c"),
    ("!(a or b)", "!(a or b)"),
    ("hello (sir || madam)", "hello and (sir or madam)"),
    ("!!a", "a"),
]


@pytest.mark.parametrize(("text", "printed"), PRINTS)
def test_canonical_text(text: str, printed: str) -> None:
    node = parse_filter(text)
    assert str(node) == printed
    assert parse_filter(printed) == node


# -- errors: what went wrong, where, and what to write instead ----------------------------------

ERRORS = [
    ("status == 500 and (path == '/x'))", ["unexpected ')' at column 33", "no '(' to close"]),
    ("error)", ["unexpected ')' at column 6", "no '(' to close"]),
    ("(error or warn", ["column 15", "'(' at column 1 is never closed", "add ')'"]),
    ("(a b c", ["'(' at column 1 is never closed"]),
    ("error and", ["unexpected end of filter (column 10)", "'and' at column 7 needs a term"]),
    ("error &&", ["'&&' at column 7 needs a term"]),
    ("error or", ["'or' at column 7 needs a term"]),
    ("error ||)", ["unexpected ')' at column 9", "'||' at column 7 needs a term"]),
    ("a && && b", ["unexpected '&&' at column 6"]),
    ("a or and b", ["unexpected 'and' at column 6", "'or' at column 3 needs a term"]),
    ("not", ["'not' at column 1 needs a term"]),
    ("error !", ["'!' at column 7 needs a term"]),
    ("and error", ["unexpected 'and' at column 1", 'expected a word, a "phrase"']),
    ("|| error", ["unexpected '||' at column 1"]),
    ("or", ["unexpected 'or' at column 1"]),
    ("== 500", ["unexpected '==' at column 1", "needs a field name before the operator"]),
    ("status (== 500)", ["column 9", "field name before the operator"]),
    ("()", ["unexpected ')' at column 2", "empty parentheses"]),
    ("error ( )", ["column 9", "empty parentheses"]),
    ("'disk full", ["unterminated string starting at column 1", "close it with '"]),
    ('msg contains "disk', ["unterminated string starting at column 14", 'close it with "']),
    ('"ends in backslash\\"', ["unterminated string starting at column 1"]),
    ("$'err", ["unterminated string starting at column 2"]),
    (r'"\ud83d"', ["'\\ud83d' at column 2", "half of a surrogate pair"]),
    (r'x == "ok \ude00"', ["'\\ude00' at column 10", "surrogate"]),
    ("status in ()", ["unexpected ')' at column 12", "list of 'in' is empty"]),
    ("status in (200 404)", ["unexpected '404' at column 16", "opened at column 11",
                             "',' between values"]),
    ("status in (200,", ["end of filter", "needs a value"]),
    ("status in (200,)", ["unexpected ')' at column 16", "needs a value"]),
    ("status in (200", ["end of filter", "')' at its end"]),
    ("status in 200", ["unexpected '200' at column 11", "in ('a', 'b', 3)"]),
    ("status in (*)", ["unexpected '*' at column 12"]),
    ("status in:matchcase (200)", ["'in:matchcase' at column 8", "use 'in:anycase'"]),
    ("path =~ '\\.png$'", ["unknown operator '=~' at column 6", "use 'matches'"]),
    ("a <> b", ["unknown operator '<>' at column 3", "== != < <= > >="]),
    ("a => b", ["unknown operator '=>' at column 3"]),
    ("a === b", ["unknown operator '===' at column 3"]),
    ("a !== b", ["unknown operator '!==' at column 3"]),
    ("latency < *", ["unexpected '*' at column 11", "'*' only works with == and !=, not <"]),
    ("latency >= *", ["'*' only works with == and !=, not >="]),
    ("*", ["end of filter (column 2)", "'*' must be followed by 'contains' or 'matches'"]),
    ("* == 5", ["unexpected '==' at column 3", "'*' must be followed by 'contains'"]),
    ("* in (1)", ["unexpected 'in' at column 3", "'*' must be followed"]),
    ("$* == 5", ["unexpected '==' at column 4", "'*' must be followed"]),
    (r"\* != *", ["unexpected '!=' at column 4", "'*' must be followed"]),
    ("$* in (1)", ["unexpected 'in' at column 4", "'*' must be followed"]),
    ("$", ["'$' at column 1 must be followed by a field name", '$"err.*"']),
    ("error $ == 1", ["'$' at column 7"]),
    ("msg contains:exact 'x'", ["unknown modifier ':exact' at column 5", "':matchcase'"]),
    ("* matches:x 'y'", ["unknown modifier ':x' at column 3"]),
    ("user in:nocase ('a')", ["unknown modifier ':nocase' at column 6"]),
    ("$status", ["end of filter (column 8)", "the field $status at column 1 needs an operator"]),
    ("$status error", ["unexpected 'error' at column 9", "needs an operator"]),
    ("status ==", ["end of filter (column 10)", "'==' at column 8 needs a value"]),
    ("status = (200)", ["unexpected '(' at column 10", "'=' at column 8 needs a value"]),
    ("x = $'re'", ["unexpected \"$'re'\" at column 5"]),
    ("msg contains", ["end of filter", "'contains' needs a quoted string"]),
    ("msg matches (x)", ["unexpected '(' at column 13", "'matches' needs a quoted string"]),
    ("* contains", ["'contains' needs a quoted string"]),
    ("'quoted' == 5", ["unexpected '==' at column 10", "join terms with 'and' or 'or'"]),
    ("a == b == c", ["unexpected '==' at column 8"]),
    ("error, warn", ["unexpected ',' at column 6"]),
    (", warn", ["unexpected ',' at column 1", "commas only separate the values of 'in"]),
    ("login in progress", ["unexpected 'progress' at column 10", "needs a list of values"]),
    ("(" * 101 + "a" + ")" * 101, ["column 101", "more than 100 deep"]),
    ("!" * 1000 + "a", ["more than 100 deep"]),
    ("(" * 5000, ["more than 100 deep"]),
]


@pytest.mark.parametrize(("text", "fragments"), ERRORS)
def test_errors_say_where_and_what_to_do(text: str, fragments: list[str]) -> None:
    with pytest.raises(BadParam) as info:
        parse_filter(text)
    for fragment in fragments:
        assert fragment in info.value.message


def test_nesting_up_to_the_limit_parses() -> None:
    assert parse_filter("(" * 100 + "a" + ")" * 100) == Text("a")
    assert parse_filter("!" * 100 + "a") == Text("a")
    assert parse_filter("!(" * 50 + "a" + ")" * 50) == Text("a")


# -- round trips ------------------------------------------------------------------------------

_TRICKY_TEXT = [
    "", " ", "and", "OR", "not", "in", "in:anycase", "contains", "matches:matchcase",
    "startsWith", "*", "$", "$x", "!", "!=", "==", "&&", "||", "(", ")", ",", "'", '"', "\\",
    "\\\\", '\\"', "a b", "RC-123", "10.0.0.1", "/api/x", "-5", "1.5e3", "0500", "1e999",
    "tab\there", "line\nbreak", "café", "😀", "\x00", "\u2028",
]
texts = st.one_of(st.text(max_size=12), st.sampled_from(_TRICKY_TEXT))
field_names = st.one_of(
    st.text(min_size=1, max_size=10),
    st.sampled_from(["status", "service-name", "a.b", "in", "AND", "$x", "*x", "a b", "a\\",
                     'a"b', "é", "1st", "_x", "x:y", "a=b", "&&", "!"]),
).filter(lambda name: name != "*")
fields = field_names.map(Field)
scalars: st.SearchStrategy[Scalar] = st.one_of(
    texts,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
)
leaves: st.SearchStrategy[Node] = st.one_of(
    st.builds(Text, texts),
    st.builds(Regex, texts),
    st.builds(Compare, fields, st.sampled_from(COMPARISONS), scalars),
    st.builds(Present, fields),
    st.builds(TextMatch, st.one_of(fields, st.just(STAR)), st.sampled_from(TEXT_OPERATORS),
              texts, st.booleans()),
    st.builds(In, fields, st.lists(scalars, min_size=1, max_size=4).map(tuple), st.booleans()),
)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(Not, children), st.builds(And, several), st.builds(Or, several))


trees = st.recursive(leaves, _extend, max_leaves=12)


def normalise(node: Node) -> Node:
    """The tree as the parser builds it: nested And/Or flattened, double negation removed."""
    if isinstance(node, Not):
        child = normalise(node.child)
        return child.child if isinstance(child, Not) else Not(child)
    if isinstance(node, And):
        return And(tuple(_flat(And, [normalise(c) for c in node.children])))
    if isinstance(node, Or):
        return Or(tuple(_flat(Or, [normalise(c) for c in node.children])))
    return node


def _flat(kind: type[And] | type[Or], children: list[Node]) -> list[Node]:
    out: list[Node] = []
    for child in children:
        out.extend(child.children if isinstance(child, kind) else [child])
    return out


@settings(max_examples=300)
@given(trees)
def test_printed_tree_parses_back_to_itself(tree: Node) -> None:
    assert parse_filter(str(tree)) == normalise(tree)


_FILTER_PIECES = [
    *"ab1 ()'\"\\$*=!<>,&|:.-_eé0\n",
    "and", "or", "not", "in", "contains", "matches", "startsWith", ":matchcase", ":anycase",
    ":x", "==", "!=", "<=", "&&", "||", "\\u00e9", "\\ud83d", "\\ude00", "1.5", "-2", "1e9",
]
filter_texts = st.one_of(
    st.lists(st.sampled_from(_FILTER_PIECES), max_size=24).map("".join),
    st.text(max_size=30),
)


@settings(max_examples=500)
@given(filter_texts)
def test_any_text_parses_or_is_a_bad_param_and_reparses_the_same(text: str) -> None:
    try:
        tree = parse_filter(text)
    except BadParam as exc:
        assert "column" in exc.message
        return
    assert parse_filter(str(tree) if tree is not None else "") == tree


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_print_exactly(value: float) -> None:
    tree = parse_filter(str(Compare(Field("x"), "<", value)))
    assert isinstance(tree, Compare)
    assert isinstance(tree.value, float)
    assert tree.value == value and math.copysign(1, tree.value) == math.copysign(1, value)
