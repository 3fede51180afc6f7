"""What filters match, run as SQL against a real DuckDB store (spec §4.3, §4.4)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.clock import FixedClock
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
    Present,
    Regex,
    Scalar,
    Text,
    TextMatch,
    parse_filter,
)
from millpond.query.sql import SQL, Scope, scope_sql
from millpond.store import EVENT_SCHEMA, DuckDBStore, EventBatch, SessionRecord

S = 1_000_000_000
T0 = 1_772_366_400 * S  # 2026-03-01T12:00:00Z; event n is at T0 + n seconds
END = T0 + 3600 * S

SESSIONS: dict[str, dict[str, str]] = {
    "sess-web": {"serverHost": "web-1", "serverIP": "10.0.0.1", "tier": "prod",
                 "region": "eu-west"},
    "sess-db": {"serverHost": "db-1", "serverIP": "10.0.0.2", "tier": "staging"},
    "sess-batch": {"serverHost": "batch-1"},
}
# Every event of a session shares its logfile and parser, except where an event says otherwise.
SOURCES = {
    "sess-web": ("/var/log/app.log", "json"),
    "sess-db": ("/var/log/postgres.log", "postgres"),
    "sess-batch": ("C:\\logs\\win.log", "windows"),
}

# (n, session, severity, thread, message, attributes)
Row = tuple[int, str, int, str | None, str | None, dict[str, Any]]
EVENTS: list[Row] = [
    (1, "sess-web", 3, "main", "GET /api/users 200 OK",
     {"status": 200, "method": "GET", "path": "/api/users", "latency": 12.5}),
    (2, "sess-web", 5, "main", "GET /api/orders 503 Service Unavailable",
     {"status": 503, "method": "GET", "path": "/api/orders", "latency": 1500}),
    (3, "sess-web", 5, "worker-1", "POST /api/orders 500 Internal Server Error",
     {"status": "500", "method": "POST", "path": "/api/orders", "latency": "250"}),
    (4, "sess-db", 4, None, "ERROR: deadlock detected", {"code": "0500", "tier": "hot"}),
    (5, "sess-db", 3, None, "checkpoint complete: wrote 42 buffers", {"code": "500"}),
    (6, "sess-web", 2, None, "Café au lait ordered by ÉMILE", {"user": "émile", "version": "1.10"}),
    (7, "sess-web", 3, None, "discount 100% applied to cart_42",
     {"version": "1.1", "cart": "cart_42"}),
    (8, "sess-web", 3, None, "100 percent applied to cartX42", {"version": 1.1}),
    (9, "sess-batch", 6, None, "path C:\\temp\\new file written", {"flag": True, "count": 0}),
    (10, "sess-batch", 0, None, "heartbeat", {"flag": False, "count": 7, "empty": ""}),
    (11, "sess-db", 1, None, "Connection RESET by peer", {"error": "ECONNRESET", "retries": 3}),
    (12, "sess-web", 3, None, "connection reset by peer", {"error": "econnreset", "retries": "3"}),
    (13, "sess-web", 4, None, "user=admin login failed from 10.0.0.99",
     {"user": "admin", "ip": "10.0.0.99", "service-name": "auth"}),
    (14, "sess-web", 3, None, "user=Admin login ok", {"user": "Admin", "service-name": "memcache"}),
    (15, "sess-db", 3, None, "slow query took 2.5e3 ms", {"duration": 2500, "duration_s": 2.5}),
    (16, "sess-db", 3, None, None, {}),
    (17, "sess-web", 3, "worker-2", 'tab\there and "quotes" and back\\slash',
     {"back\\slash": "yes", 'say"hi"': "q", "trail\\": "end"}),
    (18, "sess-web", 3, None, "emoji 😀 party", {"note": "😀", "city": "İstanbul"}),
    (19, "sess-web", 3, None, "spoofed fields",
     {"serverHost": "evil", "serverIP": "6.6.6.6", "region": "us-east"}),
    (20, "sess-batch", 3, None, "temperature -5 degrees",
     {"temp": -5, "big": 12345678901234567890}),
]
WEB = {n for n, s, *_ in EVENTS if s == "sess-web"}
DB = {n for n, s, *_ in EVENTS if s == "sess-db"}
BATCH = {n for n, s, *_ in EVENTS if s == "sess-batch"}
ALL = WEB | DB | BATCH


def _batch(account_id: int, events: list[Row], sessions: Mapping[str, Mapping[str, str]]
           ) -> EventBatch:
    """One batch; each event's `n` attribute names it in the results."""
    rows = len(events)
    table = pa.table(
        {
            "account_id": pa.array([account_id] * rows, pa.int32()),
            "ts": pa.array([T0 + n * S for n, *_ in events], pa.int64()),
            "session": pa.array([s for _, s, *_ in events], pa.string()),
            "thread": pa.array([e[3] for e in events], pa.string()),
            "severity": pa.array([e[2] for e in events], pa.int8()),
            "message": pa.array([e[4] for e in events], pa.string()),
            "server_host": pa.array([sessions[e[1]]["serverHost"] for e in events], pa.string()),
            "logfile": pa.array([SOURCES.get(e[1], ("other.log", ""))[0] for e in events]),
            "parser": pa.array([SOURCES.get(e[1], ("", "other"))[1] for e in events]),
            "attrs": pa.array([orjson.dumps({"n": e[0], **e[5]}).decode() for e in events]),
        },
        schema=EVENT_SCHEMA,
    )
    records = tuple(SessionRecord(account_id, sid, dict(f)) for sid, f in sessions.items())
    return EventBatch(account_id, table, records, bytes_charged=0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    path: Path = tmp_path_factory.mktemp("filter_sql") / "millpond.duckdb"
    store = DuckDBStore(path, clock=FixedClock(END))
    store.open()
    try:
        store.submit(_batch(1, EVENTS, SESSIONS)).result(timeout=60)
        other: list[Row] = [(21, "sess-web", 3, "main", "GET /api/users 200 OK", {"status": 200})]
        store.submit(_batch(2, other, {"sess-web": SESSIONS["sess-web"]})).result(timeout=60)
        yield store
    finally:
        store.close()


def matching(store: DuckDBStore, text: str, *, account_id: int = 1, start: int = T0,
             end: int = END) -> set[int]:
    scope = Scope(account_id, start, end, parse_filter(text))
    rows = store.select(SQL("SELECT CAST(e.attrs->>'n' AS INTEGER) FROM ") + scope_sql(scope), 30)
    return {int(n) for (n,) in rows}


MATCHES: list[tuple[str, set[int]]] = [
    ("", ALL),
    # text search: case-insensitive substring of the message
    ("error", {3, 4}),
    ("ERROR", {3, 4}),
    ("connection reset", {11, 12}),  # two words, each anywhere
    ("'reset by'", {11, 12}),
    ("'by peer connection'", set()),
    ("RESET", {11, 12}),
    ("café", {6}),
    ("CAFÉ", {6}),
    ("émile", {6}),
    ("😀", {18}),
    ("'/api/orders'", {2, 3}),
    ("10.0.0.99", {13}),
    ("user=admin", {13}),  # `=` makes it a comparison of the field `user`
    ("'user=admin'", {13, 14}),
    ("heartbeat", {10}),
    ("!heartbeat", ALL - {10}),  # the event without a message too
    # LIKE's own wildcards and escape character are literal text
    ("100%", {7}),
    ("'%'", {7}),
    ("cart_42", {7}),
    ("'_'", {7}),
    (r"'C:\\temp\\new'", {9}),
    (r"'\\'", {9, 17}),
    ("'\\\"quotes\\\"'", {17}),
    ("'tab\\there'", {17}),
    # regular expressions on the message: case-insensitive, RE2 syntax
    ('$"^connection"', {11, 12}),
    ('$"RE.?SET by"', {11, 12}),
    ('$"(?-i)RESET"', {11}),
    ('$"\\\\d{3} (OK|Service)"', {1, 2}),
    ("$'^user=admin login'", {13, 14}),
    ("$'é'", {6}),
    # comparisons are case-sensitive
    ("user == 'admin'", {13}),
    ("user == 'Admin'", {14}),
    ("user == 'ADMIN'", set()),
    ("user == émile", {6}),
    ("user == 'Émile'", set()),
    ("method = GET", {1, 2}),
    ("method == get", set()),
    ("note == '😀'", {18}),
    # numeric where both sides are numbers, text otherwise
    ("status == 503", {2}),
    ("status == '503'", {2}),
    ("status == 500", {3}),
    ("status >= 500", {2, 3}),
    ("status > 200", {2, 3}),
    ("status < 300", {1}),
    ("status <= 200", {1}),
    ("code == 500", {4, 5}),  # "0500" reads as the number 500
    ("code == '0500'", {4}),  # a quoted value compares as text, exactly
    ("code contains:matchcase '0500'", {4}),
    ("version == 1.10", {6, 7, 8}),
    ("version == 1.1", {6, 7, 8}),
    ("version > 1.09", {6, 7, 8}),
    ("latency > 100", {2, 3}),
    ("latency <= 12.5", {1}),
    ("latency < 1e3", {1, 3}),
    ("temp < 0", {20}),
    ("temp == -5", {20}),
    ("temp == -5.0", {20}),
    ("duration >= 2.5e3", {15}),
    ("duration_s == 2.5", {15}),
    ("big > 1e19", {20}),
    ("retries == 3", {11, 12}),
    ("count == 0", {9}),
    ("count > 0", {10}),
    ("flag == true", {9}),
    ("flag == false", {10}),
    ("empty == ''", {10}),
    # != and ! match events without the field
    ("status != 200", ALL - {1}),
    ("!(status == 200)", ALL - {1}),
    ("method != 'GET'", ALL - {1, 2}),
    ("flag != true", ALL - {9}),
    ("status < 500 || status != *", ALL - {2, 3}),
    # presence and absence
    ("status == *", {1, 2, 3}),
    ("status != *", ALL - {1, 2, 3}),
    ("!(status = *)", ALL - {1, 2, 3}),
    ("empty == *", {10}),  # an empty string is a value
    ("nothing == *", set()),
    ("message == *", ALL - {16}),
    ("message != *", {16}),
    ("thread == *", {1, 2, 3, 17}),
    ("tier == *", WEB | DB),
    ("$serverIP != *", BATCH),
    # contains / matches / startsWith, and their :matchcase variants
    ("method contains 'e'", {1, 2}),
    ("method contains:matchcase 'e'", set()),
    ("method contains:matchcase 'E'", {1, 2}),
    ("message contains 'DEADLOCK'", {4}),
    ("message contains '100%'", {7}),
    ("message contains '%'", {7}),
    ("message contains '_'", {7}),
    ("cart contains '_4'", {7}),
    ("path contains 'ORDERS'", {2, 3}),
    ("path matches '^/api/(users|orders)$'", {1, 2, 3}),
    ("path matches 'ORDERS'", {2, 3}),
    ("path matches:matchcase 'ORDERS'", set()),
    ("error matches '^econnreset$'", {11, 12}),
    ("error matches:matchcase '^econn'", {12}),
    ("message matches '\\\\d+ buffers'", {5}),
    ("ip matches '^10\\\\.0\\\\.0\\\\.\\\\d+$'", {13}),
    ("path startsWith '/api/o'", {2, 3}),
    ("path startsWith '/API'", {1, 2, 3}),
    ("path startsWith:matchcase '/API'", set()),
    ("path startsWith '_'", set()),
    ("message startsWith 'connection'", {11, 12}),
    ("message startsWith:matchcase 'connection'", {12}),
    ("version startsWith '1.1'", {6, 7, 8}),
    # in and in:anycase
    ("user in ('admin', 'émile')", {6, 13}),
    ("user in ('ADMIN')", set()),
    ("user in:anycase ('ADMIN')", {13, 14}),
    ("user in:anycase ('ÉMILE', 'nobody')", {6}),
    ("status in (200, 503)", {1, 2}),
    ("status in ('500', 404)", {3}),
    ("code in (500)", {4, 5}),
    ("status in:anycase (503)", {2}),
    ("city in:anycase ('İstanbul')", {18}),  # lowered alike on both sides
    ("city in:anycase ('İSTANBUL', 'x')", {18}),
    ("parser in ('json', 'windows')", WEB | BATCH),
    ("!(method in ('GET', 'POST'))", ALL - {1, 2, 3}),
    # * searches every value: message, columns, attributes and session fields
    ("* contains 'deadlock'", {4}),
    ("* contains 'eu-west'", WEB),  # session field, even where an attribute shadows it
    ("* contains 'us-east'", {19}),
    ("* contains 'staging'", DB),
    ("* contains 'HOT'", {4}),
    ("* contains:matchcase 'ECONN'", {11}),
    ("* contains 'econn'", {11, 12}),
    ("* contains 'postgres'", DB),  # logfile and parser
    ("* contains 'worker'", {3, 17}),  # thread
    ("* contains 'sess-batch'", BATCH),  # session id
    ("* contains 'batch-1'", BATCH),  # serverHost
    ("* matches '^db-\\\\d$'", DB),
    ("* matches '^10\\\\.0\\\\.0\\\\.9'", {13}),
    ("* matches:matchcase '^Admin$'", {14}),
    ("* startsWith 'memc'", {14}),
    ("!(* contains 'prod')", DB | BATCH),
    # built-in fields
    ("serverHost == 'web-1'", WEB),  # the column: event 19's attribute does not shadow it
    ("$serverHost == 'db-1'", DB),
    ("serverHost == 'evil'", set()),
    ("serverHost startsWith 'WEB'", WEB),
    ("serverIP == '10.0.0.1'", WEB),  # the session's, never an attribute
    ("serverIP == '6.6.6.6'", set()),
    ("serverIP startsWith '10.0.0.'", WEB | DB),
    ("logfile contains 'postgres'", DB),
    ("$logfile == 'C:\\\\logs\\\\win.log'", BATCH),
    ("parser == 'windows'", BATCH),
    ("parser == 'Windows'", set()),
    ("severity == 0", {10}),
    ("severity >= 5", {2, 3, 9}),
    ("severity < 2", {10, 11}),
    ("severity == '4'", {4, 13}),
    ("severity in (1, 6)", {9, 11}),
    (f"timestamp < {T0 + 3 * S}", {1, 2}),
    (f"timestamp >= {T0 + 19 * S}", {19, 20}),
    (f"timestamp == {T0 + 7 * S}", {7}),
    ("session == 'sess-db'", DB),
    ("session startsWith 'SESS-B'", BATCH),
    ("thread == 'main'", {1, 2}),
    ("thread startsWith 'worker'", {3, 17}),
    ("thread != 'main'", ALL - {1, 2}),
    # session fields, and event attributes over session fields of the same name
    ("tier == 'prod'", WEB),
    ("$tier == 'staging'", DB - {4}),
    ("tier == 'hot'", {4}),
    ("tier != 'staging'", ALL - (DB - {4})),
    ("region == 'eu-west'", WEB - {19}),
    ("region == 'us-east'", {19}),
    ("region contains 'EU'", WEB - {19}),
    ("tier in:anycase ('PROD', 'HOT')", WEB | {4}),
    # field names with punctuation
    ("service\\-name == 'memcache'", {14}),
    ("$service\\-name == auth", {13}),
    ("$back\\\\slash == yes", {17}),
    ("$trail\\\\ == end", {17}),
    ('$say\\"hi\\" == q', {17}),
    # boolean structure
    ("error or deadlock", {3, 4}),
    ("status >= 500 method == GET", {2}),
    ("status >= 500 and method == GET", {2}),
    ("method == GET || method == POST", {1, 2, 3}),
    ("!(tier == prod) severity >= 4", {4, 9}),
    ("connection (reset || refused) !$'(?-i)RESET'", {12}),
    ("tier == prod and (status >= 500 or severity <= 2)", {2, 3, 6}),
    ("not not error", {3, 4}),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES)
def test_filter_matches(store: DuckDBStore, text: str, expected: set[int]) -> None:
    assert matching(store, text) == expected


def test_events_of_other_accounts_are_never_seen(store: DuckDBStore) -> None:
    assert matching(store, "'GET /api/users'") == {1}
    assert matching(store, "'GET /api/users'", account_id=2) == {21}
    assert matching(store, "tier == prod", account_id=2) == {21}
    assert matching(store, "* contains 'web-1'", account_id=2) == {21}
    assert matching(store, "", account_id=3) == set()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (T0 + 3 * S, T0 + 6 * S, {3, 4, 5}),  # start inclusive, end exclusive
        (T0 + 3 * S + 1, T0 + 6 * S + 1, {4, 5, 6}),
        (T0 + 20 * S, END, {20}),
        (T0 + 5 * S, T0 + 5 * S, set()),
        (0, T0 + 1 * S, set()),
    ],
)
def test_time_range(store: DuckDBStore, start: int, end: int, expected: set[int]) -> None:
    assert matching(store, "", start=start, end=end) == expected
    assert matching(store, "n == *", start=start, end=end) == expected


@pytest.mark.parametrize(
    "text",
    [
        '$"(unclosed"',
        "$'a(?=b)'",  # lookahead is not RE2
        "path matches '(a'",
        "path matches:matchcase '\\\\1'",  # backreference
        "* matches '['",
    ],
)
def test_a_regex_re2_cannot_compile_is_a_bad_param(store: DuckDBStore, text: str) -> None:
    with pytest.raises(BadParam, match="RE2"):
        matching(store, text)


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("error", False),
        ("$'err'", False),
        ("serverHost == 'web-1' logfile contains x parser == json", False),
        ("severity > 3 thread == main session == s timestamp > 0 message == *", False),
        ("serverIP == *", True),
        ("tier == prod", True),
        ("status == 200", True),  # an attribute, or else a session field
        ("error || !(user in ('a'))", True),
        ("* contains 'x'", True),
    ],
)
def test_the_sessions_table_is_joined_only_when_a_field_may_come_from_it(
    text: str, joined: bool
) -> None:
    sql = scope_sql(Scope(1, T0, END, parse_filter(text)))
    assert ("JOIN sessions" in sql.text) == joined


# -- every value is a bound parameter ----------------------------------------------------------

BOUND = [
    ("zqxword", ["zqxword"]),
    ("'zqx phrase'", ["zqx phrase"]),
    ("$'zqx.*regex'", ["zqx"]),
    ("zqxfield == 'zqxvalue'", ["zqxfield", "zqxvalue"]),
    ("zqxfield == 987654321", ["zqxfield", "987654321"]),
    ("zqxfield >= 98765.4321", ["zqxfield", "98765.4321"]),
    ("zqxfield != *", ["zqxfield"]),
    ("$zqx\\-field contains 'zqxtext'", ["zqx", "zqxtext"]),
    ("zqxfield matches:matchcase 'zqxre'", ["zqxfield", "zqxre"]),
    ("zqxfield startsWith 'zqxprefix'", ["zqxfield", "zqxprefix"]),
    ("zqxfield in ('zqxa', 123454321)", ["zqxfield", "zqxa", "123454321"]),
    ("zqxfield in:anycase ('ZQXA')", ["zqxfield", "ZQXA", "zqxa"]),
    ("* contains 'zqxany'", ["zqxany"]),
    ("* matches 'zqxany'", ["zqxany"]),
    ("severity == 'zqxsev'", ["zqxsev"]),
    ("timestamp > 123456789012", ["123456789012"]),
    ("message == \"x'); DROP TABLE events; --\"", ["DROP", "'); "]),
    ("$a\\'b == 1", ["a'b"]),
]


@pytest.mark.parametrize(("text", "values"), BOUND)
def test_filter_values_never_reach_the_sql_text(
    store: DuckDBStore, text: str, values: list[str]
) -> None:
    sql = scope_sql(Scope(1, T0, END, parse_filter(text)))
    for value in values:
        assert value not in sql.text
    assert sql.text.count("?") == len(sql.params)
    store.select(SQL("SELECT count(*) FROM ") + sql, 30)  # and it runs


# -- composition: and, or and not are intersection, union and complement -------------------------

_LEAVES = [(text, frozenset(ids)) for text, ids in MATCHES if text]
Case = tuple[str, frozenset[int]]


def _combine(cases: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    def negate(case: Case) -> Case:
        return f"!({case[0]})", frozenset(ALL) - case[1]

    def both(pair: tuple[Case, Case]) -> Case:
        (a, x), (b, y) = pair
        return f"({a}) ({b})", x & y

    def either(pair: tuple[Case, Case]) -> Case:
        (a, x), (b, y) = pair
        return f"({a}) || ({b})", x | y

    pairs = st.tuples(cases, cases)
    return st.one_of(cases.map(negate), pairs.map(both), pairs.map(either))


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.sampled_from(_LEAVES), _combine, max_leaves=6))
def test_boolean_structure_composes(store: DuckDBStore, case: Case) -> None:
    text, expected = case
    assert matching(store, text) == expected


_FIELD_NAMES = ["message", "serverHost", "serverIP", "logfile", "parser", "severity",
                "timestamp", "session", "thread", "status", "tier", "user", "nothing",
                "a\\", 'a"b', "a.b[0]", "$", "é"]
_fields = st.sampled_from(_FIELD_NAMES).map(Field)
_values: st.SearchStrategy[Scalar] = st.one_of(
    st.text(max_size=8), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)
_any_leaf: st.SearchStrategy[Node] = st.one_of(
    st.builds(Text, st.text(max_size=8)),
    st.builds(Regex, st.text(max_size=8)),
    st.builds(Compare, _fields, st.sampled_from(COMPARISONS), _values),
    st.builds(Present, _fields),
    st.builds(TextMatch, st.one_of(_fields, st.just(Field("*"))),
              st.sampled_from(TEXT_OPERATORS), st.text(max_size=8), st.booleans()),
    st.builds(In, _fields, st.lists(_values, min_size=1, max_size=3).map(tuple), st.booleans()),
)


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    _any_leaf,
    lambda c: st.one_of(st.builds(Not, c), st.builds(And, st.lists(c, min_size=2, max_size=3)
                                                     .map(tuple))),
    max_leaves=4,
))
def test_any_filter_runs_or_is_a_bad_param(store: DuckDBStore, tree: Node) -> None:
    scope = Scope(1, T0, END, tree)
    try:
        store.select(SQL("SELECT count(*) FROM ") + scope_sql(scope), 30)
    except BadParam as exc:
        assert "RE2" in exc.message
