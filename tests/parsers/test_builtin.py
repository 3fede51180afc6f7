"""The built-in parsers (spec §5.10): real-looking lines → the exact events, times, severities."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.parsers import BUILTIN_NAMES, Parsed, Parser, builtin_parser, compile_parser
from millpond.parsers.builtin import builtin_text

NOW_NS = int(datetime.fromisoformat("2026-03-01T00:00:00+00:00").timestamp()) * 1_000_000_000


def ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def parser(name: str) -> Parser:
    found = builtin_parser(name)
    assert found is not None
    return found


def parse_one(name: str, line: str) -> Parsed:
    (event,) = parser(name).parse([line], now_ns=NOW_NS)
    return event


Case = tuple[str, dict[str, Any], str | None, int | None]  # line, fields, time, severity


def check(name: str, case: Case) -> None:
    line, fields, when, severity = case
    event = parse_one(name, line)
    assert event == Parsed(0, line, fields, ns(when) if when else None, severity)


# -- accessLog -----------------------------------------------------------------------------

ACCESS = {"dataset": "accesslog"}
ACCESS_CASES: list[Case] = [
    # Combined plus request time; the URI's query parameters become fields.
    (
        '203.0.113.9 - alice [02/Jan/2026:03:04:05 +0000] "GET /search?q=red+shoes&page=2 '
        'HTTP/1.1" 200 5120 "https://example.com/home" "Mozilla/5.0 (X11; Linux x86_64)" 0.043',
        {**ACCESS, "ip": "203.0.113.9", "user": "-", "authUser": "alice", "method": "GET",
         "uriPath": "/search", "uriQ": "red shoes", "uriPage": 2, "protocol": "HTTP/1.1",
         "status": 200, "bytes": 5120, "referrer": "https://example.com/home",
         "agent": "Mozilla/5.0 (X11; Linux x86_64)", "time": 0.043},
        "2026-01-02T03:04:05+00:00", None,
    ),
    # Combined (nginx's default), in another zone.
    (
        '192.0.2.44 - - [02/Jan/2026:03:04:05 +0100] "POST /api/v1/orders HTTP/2.0" 201 87 "-" '
        '"okhttp/4.12.0"',
        {**ACCESS, "ip": "192.0.2.44", "user": "-", "authUser": "-", "method": "POST",
         "uriPath": "/api/v1/orders", "protocol": "HTTP/2.0", "status": 201, "bytes": 87,
         "referrer": "-", "agent": "okhttp/4.12.0"},
        "2026-01-02T02:04:05+00:00", None,
    ),
    # Apache's %D (microseconds) as the request time, IPv6 client.
    (
        '2001:db8::7 - - [02/Jan/2026:03:04:05 +0000] "GET / HTTP/1.1" 304 0 "-" '
        '"curl/8.5.0" 1532',
        {**ACCESS, "ip": "2001:db8::7", "user": "-", "authUser": "-", "method": "GET",
         "uriPath": "/", "protocol": "HTTP/1.1", "status": 304, "bytes": 0, "referrer": "-",
         "agent": "curl/8.5.0", "time": 1532},
        "2026-01-02T03:04:05+00:00", None,
    ),
    # A user agent with a space and a number in it ends the line: the whole agent, and no
    # request time (not the agent up to its first space and "1.0" as the time).
    (
        '54.188.27.188 - - [02/Jan/2026:03:04:05 +0000] "GET /p?page=4 HTTP/1.1" 200 1835 "-" '
        '"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"',
        {**ACCESS, "ip": "54.188.27.188", "user": "-", "authUser": "-", "method": "GET",
         "uriPath": "/p", "uriPage": 4, "protocol": "HTTP/1.1", "status": 200, "bytes": 1835,
         "referrer": "-", "agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        "2026-01-02T03:04:05+00:00", None,
    ),
    # The same agent with a request time after it.
    (
        '54.188.27.188 - - [02/Jan/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" '
        '"Slackbot 1.0 (+https://api.slack.com/robots)" 0.25',
        {**ACCESS, "ip": "54.188.27.188", "user": "-", "authUser": "-", "method": "GET",
         "uriPath": "/", "protocol": "HTTP/1.1", "status": 200, "bytes": 1, "referrer": "-",
         "agent": "Slackbot 1.0 (+https://api.slack.com/robots)", "time": 0.25},
        "2026-01-02T03:04:05+00:00", None,
    ),
    # Combined with a request line that is not METHOD URI PROTOCOL (a TLS hello on port 80).
    (
        '198.51.100.4 - - [02/Jan/2026:03:04:06 +0000] "\\x16\\x03\\x01\\x00\\xa5\\x01" 400 157 '
        '"-" "-"',
        {**ACCESS, "ip": "198.51.100.4", "user": "-", "authUser": "-",
         "header": "\\x16\\x03\\x01\\x00\\xa5\\x01", "status": 400, "bytes": 157,
         "referrer": "-", "agent": "-"},
        "2026-01-02T03:04:06+00:00", None,
    ),
    # Common log format (Apache's documentation example).
    (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        {**ACCESS, "ip": "127.0.0.1", "user": "-", "authUser": "frank", "method": "GET",
         "uriPath": "/apache_pb.gif", "protocol": "HTTP/1.0", "status": 200, "bytes": 2326},
        "2000-10-10T20:55:36+00:00", None,
    ),
    # Common, with an empty request (a client that connected and said nothing).
    (
        '10.1.2.3 - - [02/Jan/2026:03:04:07 +0000] "-" 408 -',
        {**ACCESS, "ip": "10.1.2.3", "user": "-", "authUser": "-", "header": "-",
         "status": 408, "bytes": "-"},
        "2026-01-02T03:04:07+00:00", None,
    ),
    # Not an access log line: only the dataset.
    ("Starting nginx 1.24.0", dict(ACCESS), None, None),
]


@pytest.mark.parametrize("case", ACCESS_CASES, ids=lambda c: c[0][:40])
def test_access_log(case: Case) -> None:
    check("accessLog", case)


# -- systemLog -----------------------------------------------------------------------------

SYSLOG = {"dataset": "systemlog"}
SYSLOG_CASES: list[Case] = [
    # RFC 3164 with a priority: facility 4 (auth), syslog severity 2 (crit).
    (
        "<34>Feb  3 03:47:01 host-1 sshd[1234]: Accepted publickey for deploy from 10.0.0.7 "
        "port 52113 ssh2",
        {**SYSLOG, "facility": 4, "rawSeverity": 2, "host": "host-1", "process": "sshd",
         "procid": 1234, "text": "Accepted publickey for deploy from 10.0.0.7 port 52113 ssh2"},
        "2026-02-03T03:47:01+00:00", 6,
    ),
    # Without a priority (a syslog file); the year is the current one.
    (
        "Feb  3 13:17:00 host-1 dhclient[1576]: DHCPREQUEST on eth0 to 169.254.1.1 port 67 "
        "(xid=0x323f0123)",
        {**SYSLOG, "host": "host-1", "process": "dhclient", "procid": 1576,
         "text": "DHCPREQUEST on eth0 to 169.254.1.1 port 67 (xid=0x323f0123)"},
        "2026-02-03T13:17:00+00:00", None,
    ),
    # No process id; a date more than a day ahead of now is last year's.
    (
        'Mar 17 04:34:12 li58-102 rsyslogd: [origin software="rsyslogd" swVersion="8.2112.0"] '
        "rsyslogd was HUPed",
        {**SYSLOG, "host": "li58-102", "process": "rsyslogd",
         "text": '[origin software="rsyslogd" swVersion="8.2112.0"] rsyslogd was HUPed'},
        "2025-03-17T04:34:12+00:00", None,
    ),
    # rsyslog's high-precision ISO time.
    (
        "2013-03-19T12:25:16.267245+00:00 ip-10-11-222-111 auditd[14957]: Audit daemon "
        "rotating log files",
        {**SYSLOG, "host": "ip-10-11-222-111", "process": "auditd", "procid": 14957,
         "text": "Audit daemon rotating log files"},
        "2013-03-19T12:25:16.267245+00:00", None,
    ),
    # A kernel line with priority 129: facility 16 (local0), severity 1 (alert).
    (
        "<129>May  1 00:00:00 mq-18 kernel: [515069.835330] TCP: request_sock_TCP: Possible "
        "SYN flooding on port 443",
        {**SYSLOG, "facility": 16, "rawSeverity": 1, "host": "mq-18", "process": "kernel",
         "text": "[515069.835330] TCP: request_sock_TCP: Possible SYN flooding on port 443"},
        "2025-05-01T00:00:00+00:00", 6,
    ),
    # RFC 5424 (its own example): structured data, a message id, no process id.
    (
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
        '[exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry',
        {**SYSLOG, "facility": 20, "rawSeverity": 5, "host": "mymachine.example.com",
         "process": "evntslog", "procid": "-", "msgid": "ID47",
         "structuredData": '[exampleSDID@32473 iut="3" eventSource="Application"]',
         "text": "An application event log entry", "rfc5424": True},
        "2003-10-11T22:14:15.003+00:00", 3,
    ),
    # RFC 5424 with no structured data, in another zone.
    (
        "<13>1 2026-01-02T03:04:05.000001+01:00 web-1 nginx 4242 - - worker started",
        {**SYSLOG, "facility": 1, "rawSeverity": 5, "host": "web-1", "process": "nginx",
         "procid": 4242, "msgid": "-", "structuredData": "-", "text": "worker started",
         "rfc5424": True},
        "2026-01-02T02:04:05.000001+00:00", 3,
    ),
]


@pytest.mark.parametrize("case", SYSLOG_CASES, ids=lambda c: c[0][:40])
def test_system_log(case: Case) -> None:
    check("systemLog", case)


# -- json and dottedJson -------------------------------------------------------------------

JSON_LINE = (
    '{"timestamp": "2026-01-02T03:04:05.250Z", "severity": "warn", "message": "slow", '
    '"http": {"status": 503, "path": "/api", "client": {}}, "user": "bob", "tags": ["a", "b"], '
    '"ok": false, "took": 1.5}'
)


def test_json() -> None:
    check("json", (
        JSON_LINE,
        {"dataset": "json", "httpStatus": 503, "httpPath": "/api", "user": "bob",
         "tags": '["a","b"]', "ok": False, "took": 1.5},
        "2026-01-02T03:04:05.250+00:00", 4,
    ))


def test_dotted_json() -> None:
    check("dottedJson", (
        JSON_LINE,
        {"dataset": "json", "http.status": 503, "http.path": "/api", "user": "bob",
         "tags": '["a","b"]', "ok": False, "took": 1.5},
        "2026-01-02T03:04:05.250+00:00", 4,
    ))


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"a": ', "", '"text"'])
def test_json_lines_that_are_not_objects_keep_only_the_dataset(line: str) -> None:
    assert parse_one("json", line) == Parsed(0, line, {"dataset": "json"}, None, None)


# -- keyValue ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        (
            '[2026-01-02 03:04:05] user=alice action=login latency=0.25 note="first \\"try\\"" '
            "code=007",
            {"dataset": "keyValue", "user": "alice", "action": "login", "latency": 0.25,
             "note": 'first "try"', "code": "007"},
            "2026-01-02T03:04:05+00:00", None,
        ),
        (
            'worker=7 queue=default msg="job done" items=564 took=381ms level=warn',
            {"dataset": "keyValue", "worker": 7, "queue": "default", "msg": "job done",
             "items": 564, "took": "381ms", "level": "warn"},
            None, None,
        ),
        # A key named timestamp or severity is the event's time or severity.
        (
            "timestamp=2026-01-02T03:04:05Z severity=error component=db",
            {"dataset": "keyValue", "component": "db"},
            "2026-01-02T03:04:05+00:00", 5,
        ),
        ("no pairs here", {"dataset": "keyValue"}, None, None),
    ],
    ids=lambda c: c[0][:30],
)
def test_key_value(case: Case) -> None:
    check("keyValue", case)


# -- leveldbLog ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        (
            "2026/01/02-03:04:05.123456 7f8b1c2d3700 Compacting 1@0 + 3@1 files",
            {"threadId": "7f8b1c2d3700", "text": "Compacting 1@0 + 3@1 files", "compacting": True,
             "files": 1, "level": 0, "files2": 3, "level2": 1},
            "2026-01-02T03:04:05.123456+00:00", None,
        ),
        (
            "2026/01/02-03:04:05.200001 7f8b1c2d3700 Generated table #3212838: 82924 keys, "
            "1350832 bytes",
            {"threadId": "7f8b1c2d3700", "generatedTable": True,
             "text": "Generated table #3212838: 82924 keys, 1350832 bytes", "tableId": 3212838,
             "keys": 82924, "bytes": 1350832},
            "2026-01-02T03:04:05.200001+00:00", None,
        ),
        (
            "2026/01/02-03:04:06.000000 7f8b1c Delete type=2 #3212830",
            {"threadId": "7f8b1c", "text": "Delete type=2 #3212830"},
            "2026-01-02T03:04:06+00:00", None,
        ),
    ],
    ids=lambda c: c[0][41:60],
)
def test_leveldb_log(case: Case) -> None:
    check("leveldbLog", case)


# -- mysqlGeneralQueryLog ------------------------------------------------------------------


def test_mysql_general_query_log() -> None:
    lines = [
        "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:",
        "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock",
        "Time                 Id Command    Argument",
        "2026-01-02T03:04:05.123456Z\t   12 Connect\tapp@10.0.0.5 on shop using TCP/IP",
        "2026-01-02T03:04:05.123789Z\t   12 Query\tSELECT * FROM orders WHERE customer_id = 17 "
        "AND status = 'open'",
        "2026-01-02T03:04:05.124000Z\t   12 Quit\t",
        "2026-01-02T03:04:05.500000Z    12 Query  SELECT 1",
        # A query over several lines is one event.
        "2026-01-02T03:04:06.000001Z\t   13 Query\tSELECT *",
        "FROM orders",
        "WHERE id = 1",
        # The old format: a time at most once a second; the other lines inherit it.
        "260102  3:04:07\t   14 Connect\troot@localhost on test",
        "\t\t   14 Init DB\tshop",
        "\t\t   14 Query\tSELECT 1",
    ]
    events = parser("mysqlGeneralQueryLog").parse(lines, now_ns=NOW_NS)
    t5, t7 = ns("2026-01-02T03:04:05.123456+00:00"), ns("2026-01-02T03:04:07+00:00")
    assert events == [
        Parsed(0, lines[0], {}, None, None),
        Parsed(1, lines[1], {}, None, None),
        Parsed(2, lines[2], {}, None, None),
        Parsed(3, lines[3], {"connectionId": 12, "command": "Connect",
                             "argument": "app@10.0.0.5 on shop using TCP/IP"}, t5, None),
        Parsed(4, lines[4], {"connectionId": 12, "command": "Query",
                             "sql": "SELECT * FROM orders WHERE customer_id = 17 AND status = "
                                    "'open'",
                             "sqlSignature": "SELECT * FROM orders WHERE customer_id = ? AND "
                                             "status = ?"},
               ns("2026-01-02T03:04:05.123789+00:00"), None),
        Parsed(5, lines[5], {"connectionId": 12, "command": "Quit", "argument": ""},
               ns("2026-01-02T03:04:05.124+00:00"), None),
        Parsed(6, lines[6], {"connectionId": 12, "command": "Query", "sql": "SELECT 1",
                             "sqlSignature": "SELECT ?"}, ns("2026-01-02T03:04:05.5+00:00"), None),
        Parsed(7, "\n".join(lines[7:10]),
               {"connectionId": 13, "command": "Query",
                "sql": "SELECT *\nFROM orders\nWHERE id = 1",
                "sqlSignature": "SELECT * FROM orders WHERE id = ?"},
               ns("2026-01-02T03:04:06.000001+00:00"), None),
        Parsed(10, lines[10], {"connectionId": 14, "command": "Connect",
                               "argument": "root@localhost on test"}, t7, None),
        Parsed(11, lines[11], {"connectionId": 14, "command": "Init DB", "argument": "shop"},
               t7, None),
        Parsed(12, lines[12], {"connectionId": 14, "command": "Query", "sql": "SELECT 1",
                               "sqlSignature": "SELECT ?"}, t7, None),
    ]


# -- mysqlSlowQueryLog ---------------------------------------------------------------------


def test_mysql_slow_query_log() -> None:
    lines = [
        "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:",
        "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock",
        "Time                 Id Command    Argument",
        "# Time: 2026-01-02T03:04:05.123456Z",
        "# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42",
        "# Query_time: 1.234567  Lock_time: 0.000123 Rows_sent: 1  Rows_examined: 100000",
        "use shop;",
        "SET timestamp=1767323045;",
        "SELECT * FROM orders",
        "WHERE customer_id = 17 AND note = 'a;b';",
        # An entry without "# Time:" (it shares the previous second on old servers).
        "# User@Host: root[root] @ localhost []  Id:    43",
        "# Query_time: 2.000000  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0",
        "SET timestamp=1767323046;",
        "SELECT SLEEP(2);",
    ]
    events = parser("mysqlSlowQueryLog").parse(lines, now_ns=NOW_NS)
    assert events == [
        Parsed(0, lines[0], {}, None, None),
        Parsed(1, lines[1], {}, None, None),
        Parsed(2, lines[2], {}, None, None),
        Parsed(
            3,
            "\n".join(lines[3:10]),
            {"user": "app", "host": "web-1", "ip": "10.0.0.5", "connectionId": 42,
             "queryTime": 1.234567, "lockTime": 0.000123, "rowsSent": 1, "rowsExamined": 100000,
             "database": "shop", "sql": "SELECT * FROM orders\nWHERE customer_id = 17 AND note = "
                                        "'a;b'",
             "sqlSignature": "SELECT * FROM orders WHERE customer_id = ? AND note = ?"},
            ns("2026-01-02T03:04:05.123456+00:00"),
            None,
        ),
        Parsed(
            10,
            "\n".join(lines[10:14]),
            {"user": "root", "host": "localhost", "connectionId": 43, "queryTime": 2.0,
             "lockTime": 0.0, "rowsSent": 0, "rowsExamined": 0, "sql": "SELECT SLEEP(2)",
             "sqlSignature": "SELECT SLEEP(?)"},
            ns("2026-01-02T03:04:06+00:00"),
            None,
        ),
    ]


# -- postgresLog ---------------------------------------------------------------------------


def test_postgres_log() -> None:
    lines = [
        "2026-01-02 03:04:05.123 UTC [1234] app@shop LOG:  duration: 1.234 ms  statement: "
        "SELECT 1",
        '2026-01-02 03:04:06.001 UTC [2345] app@shop ERROR:  relation "ordrs" does not exist at '
        "character 15",
        "2026-01-02 03:04:06.001 UTC [2345] app@shop STATEMENT:  SELECT * FROM ordrs",
        "2026-01-02 03:04:00.000 UTC [1] LOG:  database system is ready to accept connections",
        "2026-01-02 03:04:08.500 UTC [3456] app@shop LOG:  statement: SELECT id,",
        "\t       name",
        "\t  FROM users",
        '2026-01-02 03:04:09 CET [77] DEBUG2:  autovacuum: processing database "shop"',
        "2026-01-02 03:04:10.100 UTC [3456] app@shop LOG:  duration: 0.052 ms  execute "
        "<unnamed>: SELECT * FROM t WHERE id = $1",
        "2026-01-02 03:04:11.100 UTC [3457] app@shop WARNING:  there is no transaction in "
        "progress",
        "2026-01-02 03:04:12.000 UTC [3458] app@shop FATAL:  password authentication failed for "
        'user "app"',
    ]
    session = {"user": "app", "database": "shop"}
    events = parser("postgresLog").parse(lines, now_ns=NOW_NS)
    assert events == [
        Parsed(0, lines[0], {"pid": 1234, **session, "level": "LOG",
                             "text": "duration: 1.234 ms  statement: SELECT 1", "durationMs": 1.234,
                             "statement": "SELECT 1"}, ns("2026-01-02T03:04:05.123+00:00"), 3),
        Parsed(1, lines[1], {"pid": 2345, **session, "level": "ERROR",
                             "text": 'relation "ordrs" does not exist at character 15'},
               ns("2026-01-02T03:04:06.001+00:00"), 5),
        Parsed(2, lines[2], {"pid": 2345, **session, "level": "STATEMENT",
                             "text": "SELECT * FROM ordrs", "statement": "SELECT * FROM ordrs"},
               ns("2026-01-02T03:04:06.001+00:00"), 3),
        Parsed(3, lines[3], {"pid": 1, "level": "LOG",
                             "text": "database system is ready to accept connections"},
               ns("2026-01-02T03:04:00+00:00"), 3),
        Parsed(4, "\n".join(lines[4:7]),
               {"pid": 3456, **session, "level": "LOG",
                "text": "statement: SELECT id,\n\t       name\n\t  FROM users",
                "statement": "SELECT id,\n\t       name\n\t  FROM users"},
               ns("2026-01-02T03:04:08.5+00:00"), 3),
        Parsed(7, lines[7], {"pid": 77, "level": "DEBUG2",
                             "text": 'autovacuum: processing database "shop"'},
               ns("2026-01-02T02:04:09+00:00"), 2),
        Parsed(8, lines[8], {"pid": 3456, **session, "level": "LOG",
                             "text": "duration: 0.052 ms  execute <unnamed>: SELECT * FROM t WHERE "
                                     "id = $1",
                             "durationMs": 0.052, "statement": "SELECT * FROM t WHERE id = $1"},
               ns("2026-01-02T03:04:10.1+00:00"), 3),
        Parsed(9, lines[9], {"pid": 3457, **session, "level": "WARNING",
                             "text": "there is no transaction in progress"},
               ns("2026-01-02T03:04:11.1+00:00"), 4),
        Parsed(10, lines[10], {"pid": 3458, **session, "level": "FATAL",
                               "text": 'password authentication failed for user "app"'},
               ns("2026-01-02T03:04:12+00:00"), 6),
    ]


# -- all of them ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN_NAMES))
def test_each_builtin_is_a_parser_file(name: str) -> None:
    text = builtin_text(name)
    assert text is not None
    # The same text compiles as a user's file would (the built-ins prove the language).
    assert compile_parser(name, text).name == name
    assert parser(name).name == name


LINES = st.text(
    alphabet=st.sampled_from([*'<>[]{}"\\=:@#;-./ \t\n0123456789aAZz_$%?&+,', "é", "\x00"]),
    max_size=80,
) | st.text(max_size=40)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(BUILTIN_NAMES)), lines=st.lists(LINES, max_size=8))
def test_builtins_never_fail_on_any_lines(name: str, lines: list[str]) -> None:
    found = parser(name)
    before = found.failures
    events = found.parse(lines, now_ns=NOW_NS)
    assert found.failures == before  # nothing went to the catch-all
    starts = [event.index for event in events]
    assert starts == sorted(set(starts))
    assert all(0 <= i < len(lines) for i in starts)
    for event in events:
        assert "timestamp" not in event.fields and "message" not in event.fields
        assert event.severity is None or 0 <= event.severity <= 6


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["accessLog", "systemLog", "postgresLog", "mysqlSlowQueryLog"]),
    data=st.data(),
)
def test_builtins_never_fail_on_damaged_real_lines(name: str, data: st.DataObject) -> None:
    samples = {
        "accessLog": [c[0] for c in ACCESS_CASES],
        "systemLog": [c[0] for c in SYSLOG_CASES],
        "postgresLog": ["2026-01-02 03:04:05.123 UTC [1234] app@shop LOG:  duration: 1.234 ms  "
                        "statement: SELECT 1"],
        "mysqlSlowQueryLog": ["# User@Host: app[app] @ web-1 [10.0.0.5]  Id:    42",
                              "SET timestamp=1767323045;", "SELECT 1;"],
    }[name]
    lines = []
    for line in samples:
        cut = data.draw(st.integers(0, len(line)))
        junk = data.draw(st.text(max_size=5))
        lines.append(line[:cut] + junk + line[cut + len(junk):])
    found = parser(name)
    before = found.failures
    found.parse(lines, now_ns=NOW_NS)
    assert found.failures == before


@functools.cache
def _access_without_first_format() -> Parser:
    """accessLog as it was before its first format (combined, ending the line) was put first:
    that format is there to save a match, and must not change what any line gives."""
    raw = builtin_text("accessLog")
    assert raw is not None
    text = raw.decode()
    start = text.index("    // Combined, and nothing after the user agent")
    end = text.index("    // Combined, plus the request time.")
    return compile_parser("accessLogBefore", text[:start] + text[end:])


ACCESS_PIECES = st.sampled_from([
    " ", "  ", "\t", '"', '\\"', "-", "0.043", "1532", "1.0", "x", "(+https://a.example/b)",
    '"-"', '"a b"', '"a 5"', '"Slackbot 1.0 (+x)"', "200", "GET", "/p?q=1", "HTTP/1.1", "é",
])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_access_log_first_format_changes_no_result(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([c[0] for c in ACCESS_CASES]))
    cut = data.draw(st.integers(len(base) // 2, len(base)))
    tail = "".join(data.draw(st.lists(ACCESS_PIECES, max_size=6)))
    line = base[:cut] + tail
    (got,) = parser("accessLog").parse([line], now_ns=NOW_NS)
    (expected,) = _access_without_first_format().parse([line], now_ns=NOW_NS)
    assert (got.fields, got.ts_ns) == (expected.fields, expected.ts_ns), line
