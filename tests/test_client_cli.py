"""`millpond query`, `tail`, `facet` and `numeric` against a scripted server (httpx.MockTransport).

The commands get their transport, sleep, clock and time zone from a `Runtime` passed as the
click context object — the seam `main(obj=Runtime(...))` — so nothing here is monkeypatched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from millpond import FixedClock
from millpond.cli import Runtime, main
from millpond.client import QueryClient, _Seen, error_for, follow
from millpond.errors import (
    Backoff,
    BadParam,
    ClientError,
    NoPermission,
    NotFound,
    QueryTimeout,
    ServerError,
)
from millpond.render import bar_text, sparkline

S = 1_000_000_000
NOW = 1_772_366_400 * S  # 2026-03-01T12:00:00Z
TOKEN = "read-token-123"
ESC = "\x1b["
SESSIONS = {
    "s1": {"serverHost": "web-1", "serverIP": "10.0.0.1", "session": "s1"},
    "s2": {"serverHost": "db-1", "session": "s2"},
}
# The environment of every run: no MILLPOND_* or NO_COLOR unless a test sets them.
ENV: dict[str, str | None] = {"MILLPOND_URL": None, "MILLPOND_TOKEN": TOKEN, "NO_COLOR": None}

Answer = dict[str, Any] | tuple[int, Any] | BaseException


class FakeServer:
    """Answers requests from a script, one answer per request, and keeps what was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.content) for r in self.requests]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def run(
    server: FakeServer,
    *args: str,
    env: dict[str, str | None] | None = None,
    sleep: Callable[[float], None] | None = None,
    terminal: bool = False,
) -> Result:
    runtime = Runtime(
        transport=httpx.MockTransport(server),
        sleep=sleep or (lambda seconds: None),
        clock=FixedClock(NOW),
        tz=dt.UTC,
        terminal=terminal,
    )
    return CliRunner().invoke(main, list(args), obj=runtime, env={**ENV, **(env or {})})


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    return result.stdout


def one_line_error(result: Result, exit_code: int) -> str:
    assert result.exit_code == exit_code, (result.output, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("millpond: ")
    return lines[0]


def match(
    ts: int, message: str, *, severity: int = 3, session: str = "s1", **attributes: Any
) -> dict[str, Any]:
    return {
        "timestamp": str(ts),
        "message": message,
        "severity": severity,
        "session": session,
        "thread": "",
        "attributes": {"logfile": "uploadLogs", "parser": "uploadLogs", **attributes},
    }


def page(*matches: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "success", "matches": list(matches), "sessions": SESSIONS,
        "executionTime": 1, "cpuUsage": 1,
    }
    if token is not None:
        body["continuationToken"] = token
    return body


T1 = NOW + 123_000_000  # 2026-03-01 12:00:00.123
T2 = NOW + 61 * S + 5_000_000  # 2026-03-01 12:01:01.005
TWO = page(
    match(T1, "GET /index.html", status=200),
    match(T2, "disk full", severity=5, session="s2"),
)


# -- query: the request --------------------------------------------------------------------------


def test_query_sends_the_defaults_with_the_token_as_a_bearer_header() -> None:
    server = FakeServer(page())
    ok(run(server, "query"))
    [request] = server.requests
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:8080/api/query"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert server.bodies == [
        {"filter": "", "startTime": "1h", "maxCount": 100, "pageMode": "tail"}
    ]


def test_query_sends_every_option() -> None:
    server = FakeServer(page())
    ok(run(
        server, "query", 'error and $serverHost == "web-1"', "--start", "4h", "--end", "1h",
        "--count", "250", "--mode", "head", "--columns", "status, path",
    ))
    assert server.bodies == [{
        "filter": 'error and $serverHost == "web-1"',
        "startTime": "4h",
        "endTime": "1h",
        "maxCount": 250,
        "pageMode": "head",
        # Text output also needs what every line shows.
        "columns": "timestamp,severity,session,message,status,path",
    }]


def test_query_json_asks_for_only_the_columns_named() -> None:
    server = FakeServer(page())
    ok(run(server, "query", "--columns", "status", "--output", "json"))
    assert server.bodies[0]["columns"] == "status"


@pytest.mark.parametrize(
    ("args", "env", "url"),
    [
        ((), {}, "http://127.0.0.1:8080/api/query"),
        ((), {"MILLPOND_URL": "https://logs.example:8443/"}, "https://logs.example:8443/api/query"),
        (("--url", "http://10.1.2.3:9000"), {"MILLPOND_URL": "http://ignored:1"},
         "http://10.1.2.3:9000/api/query"),
        (("--url", "localhost:9999"), {}, "http://localhost:9999/api/query"),
    ],
)
def test_the_server_address_comes_from_url_or_millpond_url(
    args: tuple[str, ...], env: dict[str, str | None], url: str
) -> None:
    server = FakeServer(page())
    ok(run(server, "query", *args, env=env))
    assert str(server.requests[0].url) == url


def test_the_token_flag_beats_millpond_token() -> None:
    server = FakeServer(page())
    ok(run(server, "query", "--token", "from-flag", env={"MILLPOND_TOKEN": "from-env"}))
    assert server.requests[0].headers["Authorization"] == "Bearer from-flag"


# -- query: output -------------------------------------------------------------------------------


def test_query_text_output_without_a_terminal_has_no_ansi() -> None:
    out = ok(run(FakeServer(TWO), "query"))
    assert ESC not in out
    assert out == (
        "2026-03-01 12:00:00.123 web-1 INFO   GET /index.html status=200\n"
        "2026-03-01 12:01:01.005 db-1 ERROR  disk full\n"
    )


def test_query_text_shows_only_the_columns_asked_for() -> None:
    answer = page(match(T1, "GET /", status=200, path="/", user="ann"))
    out = ok(run(FakeServer(answer), "query", "--columns", "path,status"))
    assert out == "2026-03-01 12:00:00.123 web-1 INFO   GET / path=/ status=200\n"


def test_query_text_quotes_values_with_spaces_and_shows_other_severities() -> None:
    answer = page(match(T1, "", severity=0, note="two words"), match(T2, "x", severity=9))
    out = ok(run(FakeServer(answer), "query")).splitlines()
    assert out == [
        '2026-03-01 12:00:00.123 web-1 FINEST note="two words"',
        "2026-03-01 12:01:01.005 web-1 9      x",
    ]


def test_query_colour_when_forced() -> None:
    out = ok(run(FakeServer(TWO), "query", "--color", "always"))
    first, second = out.splitlines()
    assert first.startswith(f"{ESC}2m2026-03-01 12:00:00.123{ESC}0m {ESC}2mweb-1{ESC}0m ")
    assert f"{ESC}32mINFO  {ESC}0m GET /index.html" in first
    assert f"{ESC}31mERROR {ESC}0m disk full" in second


@pytest.mark.parametrize(
    ("args", "terminal", "env", "coloured"),
    [
        ((), True, {}, True),  # a terminal
        ((), False, {}, False),  # piped
        ((), True, {"NO_COLOR": "1"}, False),
        ((), True, {"NO_COLOR": ""}, True),  # NO_COLOR counts only when not empty
        (("--color", "never"), True, {}, False),
        (("--color", "always"), False, {"NO_COLOR": "1"}, True),  # the flag wins
    ],
)
def test_colour_is_decided_by_terminal_no_color_and_the_flag(
    args: tuple[str, ...], terminal: bool, env: dict[str, str | None], coloured: bool
) -> None:
    out = ok(run(FakeServer(TWO), "query", *args, terminal=terminal, env=env))
    assert (ESC in out) is coloured


def test_query_json_is_one_object_per_match_with_the_server_host() -> None:
    out = ok(run(FakeServer(TWO), "query", "-o", "json", "--color", "always"))
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert lines == [
        {**TWO["matches"][0], "serverHost": "web-1"},
        {**TWO["matches"][1], "serverHost": "db-1"},
    ]
    assert ESC not in out


def test_query_csv_has_a_header_and_the_columns_asked_for() -> None:
    answer = page(
        match(T1, 'say "hi", then go', status=200),
        match(T2, "no status", severity=5, session="s2"),
        match(T2 + 1, "unknown session", session="gone", status={"a": 1}),
    )
    out = ok(run(FakeServer(answer), "query", "-o", "csv", "--columns", "status,message"))
    assert out.splitlines() == [
        "timestamp,severity,serverHost,message,status",
        '2026-03-01T12:00:00.123000000Z,3,web-1,"say ""hi"", then go",200',
        "2026-03-01T12:01:01.005000000Z,5,db-1,no status,",
        '2026-03-01T12:01:01.005000001Z,3,,unknown session,"{""a"":1}"',
    ]


def test_query_csv_with_no_matches_is_just_the_header() -> None:
    assert ok(run(FakeServer(page()), "query", "-o", "csv")) == (
        "timestamp,severity,serverHost,message\n"
    )


def test_a_failed_csv_query_prints_no_header() -> None:
    error = (400, {"status": "error/client/badParam", "message": "bad filter"})
    assert one_line_error(run(FakeServer(error), "query", "-o", "csv"), 2) == "millpond: bad filter"


def test_query_with_no_matches_prints_nothing() -> None:
    assert ok(run(FakeServer(page()), "query")) == ""


# -- query: paging -------------------------------------------------------------------------------


def _numbered(first: int, count: int) -> list[dict[str, Any]]:
    return [match(NOW + i, f"line {i}") for i in range(first, first + count)]


def test_a_count_over_5000_pages_until_the_token_is_absent() -> None:
    server = FakeServer(
        page(*_numbered(0, 5000), token="p2"),
        page(*_numbered(5000, 1000)),
    )
    out = ok(run(server, "query", "--count", "9000", "--mode", "head", "-o", "json"))
    assert [orjson.loads(line)["message"] for line in out.splitlines()] == [
        f"line {i}" for i in range(6000)
    ]
    first, second = server.bodies
    assert first == {"filter": "", "startTime": "1h", "maxCount": 5000, "pageMode": "head"}
    assert second == {**first, "continuationToken": "p2"}


def test_paging_stops_at_the_count_even_if_a_token_comes_back() -> None:
    server = FakeServer(
        page(*_numbered(0, 5000), token="p2"),
        page(*_numbered(5000, 5000), token="p3"),
    )
    out = ok(run(server, "query", "--count", "7000", "--mode", "head", "-o", "json"))
    lines = out.splitlines()
    assert len(lines) == 7000
    assert orjson.loads(lines[-1])["message"] == "line 6999"
    assert [b["maxCount"] for b in server.bodies] == [5000, 5000]  # the same params every page


def test_a_count_up_to_5000_is_one_request_whatever_the_token() -> None:
    server = FakeServer(page(*_numbered(0, 3), token="more"))
    out = ok(run(server, "query", "--count", "3"))
    assert len(out.splitlines()) == 3
    assert len(server.requests) == 1


def test_tail_mode_pages_walk_back_and_are_printed_oldest_first() -> None:
    server = FakeServer(
        page(*_numbered(5000, 5000), token="older"),
        page(*_numbered(0, 5000), token="oldest"),
    )
    out = ok(run(server, "query", "--count", "6000", "-o", "json"))
    messages = [orjson.loads(line)["message"] for line in out.splitlines()]
    assert messages == [f"line {i}" for i in range(4000, 10_000)]


def test_paging_stops_when_the_server_repeats_its_token() -> None:
    server = FakeServer(
        page(*_numbered(0, 5000), token="same"),
        page(*_numbered(5000, 5000), token="same"),
    )
    out = ok(run(server, "query", "--count", "20000", "--mode", "head", "-o", "json"))
    assert len(out.splitlines()) == 10_000
    assert len(server.requests) == 2


# -- tail ----------------------------------------------------------------------------------------


class Interrupt:
    """A sleep that records its intervals and presses Ctrl-C on call number `at`."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.intervals: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.intervals.append(seconds)
        if len(self.intervals) >= self.at:
            raise KeyboardInterrupt


def test_tail_polls_from_the_last_timestamp_and_skips_what_it_printed() -> None:
    a, b = match(T1, "first"), match(T2, "second")
    b_other_session = match(T2, "same time, other session", session="s2")
    c = match(T2 + 5, "third")
    server = FakeServer(
        page(a, b),
        page(b, b_other_session, c),  # b again: it is at the last timestamp seen
        page(c),
    )
    sleep = Interrupt(at=3)
    out = ok(run(server, "tail", "error", "--interval", "2.5", "-o", "json", sleep=sleep))
    assert [orjson.loads(line)["message"] for line in out.splitlines()] == [
        "first", "second", "same time, other session", "third",
    ]
    assert sleep.intervals == [2.5, 2.5, 2.5]
    base = {"filter": "error", "maxCount": 5000, "pageMode": "head"}
    assert server.bodies == [
        {**base, "startTime": "10m"},
        {**base, "startTime": T2},  # an integer: ns
        {**base, "startTime": T2 + 5},
    ]


def test_tail_keeps_its_start_until_something_arrives() -> None:
    server = FakeServer(page(), page(match(T1, "late")), page())
    sleep = Interrupt(at=3)
    out = ok(run(server, "tail", "--start", "1h", sleep=sleep))
    assert out.count("\n") == 1
    assert [b["startTime"] for b in server.bodies] == ["1h", "1h", T1]


def test_tail_follows_a_continuation_token_within_a_poll() -> None:
    server = FakeServer(
        page(match(T1, "one"), token="k1"),
        page(match(T2, "two")),
        page(match(T2, "two")),
    )
    out = ok(run(server, "tail", "-o", "json", sleep=Interrupt(at=2)))
    assert [orjson.loads(line)["message"] for line in out.splitlines()] == ["one", "two"]
    base = {"filter": "", "maxCount": 5000, "pageMode": "head"}
    assert server.bodies == [
        {**base, "startTime": "10m"},
        {**base, "startTime": "10m", "continuationToken": "k1"},  # the same params
        {**base, "startTime": T2},
    ]


def test_tail_exits_quietly_on_ctrl_c_during_a_request() -> None:
    server = FakeServer(page(match(T1, "one")), KeyboardInterrupt())
    result = run(server, "tail")
    assert result.exit_code == 0
    assert result.stdout == "2026-03-01 12:00:00.123 web-1 INFO   one\n"
    assert result.stderr == ""


def test_tail_csv_prints_the_header_once() -> None:
    server = FakeServer(page(match(T1, "one")), page(match(T2, "two")))
    out = ok(run(server, "tail", "-o", "csv", sleep=Interrupt(at=2)))
    assert out.splitlines() == [
        "timestamp,severity,serverHost,message",
        "2026-03-01T12:00:00.123000000Z,3,web-1,one",
        "2026-03-01T12:01:01.005000000Z,3,web-1,two",
    ]


def test_tail_reports_a_server_error_and_stops() -> None:
    server = FakeServer(
        (401, {"status": "error/client/noPermission", "message": "token revoked; ask for one"})
    )
    assert one_line_error(run(server, "tail"), 2) == "millpond: token revoked; ask for one"


def test_follow_stops_after_the_polls_asked_for() -> None:
    server = FakeServer(page(match(T1, "one")), page(match(T1, "one")))
    slept: list[float] = []
    with QueryClient("http://x", TOKEN, transport=httpx.MockTransport(server)) as client:
        got = list(follow(client, sleep=slept.append, polls=2, interval=0.5))
    assert [m["message"] for m, _ in got] == ["one"]
    assert slept == [0.5]  # none after the last poll


def test_the_set_of_seen_events_is_bounded() -> None:
    seen = _Seen(capacity=2)
    assert seen.add(("1", "s")) and seen.add(("2", "s")) and not seen.add(("2", "s"))
    assert seen.add(("3", "s"))  # forgets ("1", "s")
    assert seen.add(("1", "s"))
    assert not seen.add(("3", "s"))


# -- facet ---------------------------------------------------------------------------------------

FACETS = {
    "status": "success",
    "values": [{"value": "web-1", "count": 60}, {"value": "db-1", "count": 30},
               {"value": None, "count": 10}],
    "matchCount": 100,
    "executionTime": 2,
}


def test_facet_sends_field_filter_times_and_count() -> None:
    server = FakeServer(FACETS, FACETS)
    ok(run(server, "facet", "serverHost"))
    ok(run(server, "facet", "status", "error", "--start", "1d", "--end", "1h", "--count", "5"))
    assert server.paths == ["/api/facetQuery", "/api/facetQuery"]
    assert server.bodies == [
        {"field": "serverHost", "filter": "", "startTime": "1h", "maxCount": 20},
        {"field": "status", "filter": "error", "startTime": "1d", "endTime": "1h",
         "maxCount": 5},
    ]


def test_facet_text_is_a_table_with_share_bars() -> None:
    out = ok(run(FakeServer(FACETS), "facet", "serverHost"))
    assert out.splitlines() == [
        "VALUE      COUNT  SHARE",
        "web-1         60  ████████████          60.0%",
        "db-1          30  ██████                30.0%",
        "(missing)     10  ██                    10.0%",
        "100 matching events",
    ]


def test_facet_text_in_colour() -> None:
    out = ok(run(FakeServer(FACETS), "facet", "serverHost", "--color", "always"))
    assert f"{ESC}36m████████████        {ESC}0m" in out


def test_facet_with_no_values() -> None:
    answer = {"status": "success", "values": [], "matchCount": 0}
    assert ok(run(FakeServer(answer), "facet", "x")) == "no values (0 matching events)\n"


def test_facet_json_and_csv() -> None:
    out = ok(run(FakeServer(FACETS), "facet", "serverHost", "-o", "json"))
    assert orjson.loads(out) == {"values": FACETS["values"], "matchCount": 100}
    out = ok(run(FakeServer(FACETS), "facet", "serverHost", "-o", "csv"))
    assert out.splitlines() == ["value,count", "web-1,60", "db-1,30", ",10"]


# -- numeric -------------------------------------------------------------------------------------


def numeric_answer(*values: Any) -> dict[str, Any]:
    return {"status": "success", "values": list(values), "executionTime": 3}


def test_numeric_sends_function_filter_times_and_buckets() -> None:
    server = FakeServer(numeric_answer(1), numeric_answer(1, 2))
    ok(run(server, "numeric", "count"))
    ok(run(server, "numeric", "p99(latency)", "status >= 500", "--start", "1d", "--end", "1h",
           "--buckets", "2"))
    assert server.paths == ["/api/numericQuery", "/api/numericQuery"]
    assert server.bodies == [
        {"function": "count", "filter": "", "startTime": "1h", "buckets": 60},
        {"function": "p99(latency)", "filter": "status >= 500", "startTime": "1d",
         "endTime": "1h", "buckets": 2},
    ]


def test_numeric_text_has_a_sparkline_bucket_times_and_bars() -> None:
    server = FakeServer(numeric_answer(0, 4, None, 8, "2.5"))
    out = ok(run(server, "numeric", "count", "--start", "5m", "--buckets", "5", "--end", "0m"))
    # FixedClock: now is 12:00:00, so five one-minute buckets from 11:55.
    lines = out.splitlines()
    assert lines[0] == "▁▅ █▃  min 0  max 8"
    assert lines[1:] == [
        "2026-03-01 11:55:00.000    0",
        "2026-03-01 11:56:00.000    4  ████████████████████",
        "2026-03-01 11:57:00.000    -",
        "2026-03-01 11:58:00.000    8  ████████████████████████████████████████",
        "2026-03-01 11:59:00.000  2.5  ████████████▌",
    ]


def test_numeric_bucket_times_from_an_absolute_start() -> None:
    server = FakeServer(numeric_answer(1, 2))
    out = ok(run(server, "numeric", "rate", "--start", "2026-03-01T10:00:00Z", "--buckets", "2"))
    # No --end: the buckets run to now (12:00), an hour each.
    assert [line[:23] for line in out.splitlines()[1:]] == [
        "2026-03-01 10:00:00.000", "2026-03-01 11:00:00.000",
    ]


def test_numeric_json_prints_the_raw_values() -> None:
    server = FakeServer(numeric_answer(1.5, None, 3))
    assert ok(run(server, "numeric", "mean(latency)", "-o", "json")) == "[1.5,null,3]\n"


def test_numeric_csv() -> None:
    server = FakeServer(numeric_answer(1.5, None))
    out = ok(run(server, "numeric", "count", "--start", "2m", "--end", "0m", "--buckets", "2",
                 "-o", "csv"))
    assert out.splitlines() == [
        "start,value",
        "2026-03-01T11:58:00.000000000Z,1.5",
        "2026-03-01T11:59:00.000000000Z,",
    ]


def test_numeric_in_colour_and_without() -> None:
    assert ESC in ok(run(FakeServer(numeric_answer(1)), "numeric", "count", "--color", "always"))
    assert ESC not in ok(run(FakeServer(numeric_answer(1)), "numeric", "count"))


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([None, 5, None], " █ "),
        ([0, 0], "▁▁"),
        ([3, 3], "██"),
        ([-4, 0, 4], "▁▅█"),
        (["1", "bad", 2], "▅ █"),
        ([], ""),
    ],
)
def test_sparkline(values: list[Any], line: str) -> None:
    assert sparkline(values) == line


@pytest.mark.parametrize(
    ("value", "high", "width", "bar"),
    [(1, 1, 4, "████"), (0.5, 1, 4, "██"), (1, 16, 2, "▏"), (0, 1, 4, ""), (2, 1, 3, "███"),
     (1, 0, 3, "")],
)
def test_bar_text(value: float, high: float, width: int, bar: str) -> None:
    assert bar_text(value, high, width) == bar


# -- errors --------------------------------------------------------------------------------------

COMMANDS = [("query",), ("tail",), ("facet", "serverHost"), ("numeric", "count")]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_server_error_envelope_is_one_line_and_a_non_zero_exit(command: tuple[str, ...]) -> None:
    error = {"status": "error/client/badParam",
             "message": "unknown field operator '=~' at column 14; use 'matches'"}
    result = run(FakeServer((400, error)), *command, "a =~ b")
    assert one_line_error(result, 2) == (
        "millpond: unknown field operator '=~' at column 14; use 'matches'"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_token_says_how_to_give_one(command: tuple[str, ...]) -> None:
    server = FakeServer()
    line = one_line_error(run(server, *command, env={"MILLPOND_TOKEN": None}), 2)
    assert "--token" in line and "MILLPOND_TOKEN" in line
    assert server.requests == []


@pytest.mark.parametrize("command", COMMANDS)
def test_connection_refused_names_the_url_and_millpond_serve(command: tuple[str, ...]) -> None:
    server = FakeServer(httpx.ConnectError("[Errno 111] Connection refused"))
    line = one_line_error(run(server, *command, "--url", "http://127.0.0.1:1"), 1)
    assert "http://127.0.0.1:1" in line and "Connection refused" in line
    assert "millpond serve" in line and "--url" in line


@pytest.mark.parametrize(
    ("answer", "exit_code", "message"),
    [
        ((500, {"status": "error/server", "message": "internal; retry"}), 1, "internal; retry"),
        ((503, {"status": "error/server/timeout", "message": "too slow"}), 1, "too slow"),
        ((429, {"status": "error/server/backoff", "message": "slow down"}), 1, "slow down"),
        ((401, {"status": "error/client/noPermission", "message": "bad token"}), 2, "bad token"),
        ((404, {"status": "error/client/notFound", "message": "there is no API at /x"}), 2,
         "there is no API at /x"),
        # errorStatus: always200 style: the error only in the body.
        ((200, {"status": "error/client/badParam", "message": "in the body"}), 2, "in the body"),
        ((400, {"status": "error/client"}), 2,
         "http://127.0.0.1:8080/api/query failed with HTTP 400 (error/client)"),
        ((502, b"<html>Bad Gateway</html>"), 1,
         "http://127.0.0.1:8080/api/query answered HTTP 502 with something that is not a "
         "millpond answer; is --url (or MILLPOND_URL) pointing at a millpond server?"),
    ],
)
def test_error_answers(answer: tuple[int, Any], exit_code: int, message: str) -> None:
    assert one_line_error(run(FakeServer(answer), "query"), exit_code) == f"millpond: {message}"


def test_a_timeout_is_one_line() -> None:
    server = FakeServer(httpx.ReadTimeout("timed out"))
    line = one_line_error(run(server, "query"), 1)
    assert "did not answer" in line


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ("error/client/badParam", BadParam),
        ("error/client/noPermission/accountDisabled", NoPermission),
        ("error/client/notFound", NotFound),
        ("error/client/somethingNew", ClientError),
        ("error/server/timeout", QueryTimeout),
        ("error/server/backoff", Backoff),
        ("error/server/discardBuffer", ServerError),
        ("weird", ServerError),
    ],
)
def test_status_strings_map_onto_the_error_classes(status: str, cls: type[Exception]) -> None:
    error = error_for(status, "m", 500)
    assert type(error) is cls
    assert error.message == "m"


def test_an_unknown_status_from_a_4xx_is_a_client_error() -> None:
    assert type(error_for("", "m", 418)) is ClientError
