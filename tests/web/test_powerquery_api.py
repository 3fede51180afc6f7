"""/api/powerQuery in-process (spec §3.7): result tables, counts, cells and errors.

Text lines arrive through uploadLogs (each `host` its own serverHost); numeric fields come
from parsers, which uploadLogs does not run yet, so those events are written with attributes
straight through the store, as the ingest endpoints do.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from millpond import FixedClock, Settings, create_app
from millpond.accounts import Registry
from millpond.store import EVENT_SCHEMA, EventBatch, SessionRecord
from millpond.store.base import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

S = 1_000_000_000
NOW = 1_772_366_400 * S  # 2026-03-01T12:00:00Z
T0 = NOW - 3000 * S  # the API events: 50 minutes ago
UPLOADED_AT = NOW - 1800 * S  # the uploaded lines: 30 minutes ago
FIXTURES = Path("/work/shared/fixtures")

# uploadLogs lines by host; and eleven API events 1 s apart from T0, latency 0, 10, … 100.
LINES = {"web-1": ["GET /a 200", "GET /b 500", "error: disk full"],
         "web-2": ["GET /c 200", "GET /d 200"]}
API_EVENTS = [
    {"message": f"GET /api/{i}",
     "attrs": {"latency": i * 10, "status": 500 if i % 4 == 0 else 200,
               "dataset": "x" if i < 6 else "y"}}
    for i in range(11)
]
ALL = 16


@dataclass
class Server:
    client: TestClient
    registry: Registry
    store: Store
    clock: FixedClock
    read: str

    def post(self, token: str | None = None, **body: Any) -> httpx.Response:
        response: httpx.Response = self.client.post(
            "/api/powerQuery", json={"token": token or self.read, **body})
        return response

    def pq(self, query: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        response = self.post(token, query=query, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "success"
        return body

    def table(self, query: str, **params: Any) -> tuple[list[str], list[list[Any]]]:
        body = self.pq(query, **params)
        return [c["name"] for c in body["columns"]], body["values"]

    def error(self, query: str, http: int = 400, **params: Any) -> str:
        response = self.post(query=query, **params)
        assert response.status_code == http, response.text
        body = response.json()
        assert body["status"] == "error/client/badParam"
        message: str = body["message"]
        return message

    def insert(self, account: str, events: list[dict[str, Any]], start: int, *,
               session: str = "api", host: str = "api-1") -> None:
        """Commit events 1 s apart from `start`, with attributes, as one batch."""
        n = len(events)
        account_id = self.registry.account(account).id
        attrs = [orjson.dumps(e.get("attrs", {})).decode() for e in events]
        table = pa.table(
            {
                "account_id": pa.array([account_id] * n, pa.int32()),
                "ts": pa.array([start + i * S for i in range(n)], pa.int64()),
                "session": pa.array([session] * n, pa.string()),
                "thread": pa.nulls(n, pa.string()),
                "severity": pa.array([3] * n, pa.int8()),
                "message": pa.array([e["message"] for e in events], pa.string()),
                "server_host": pa.array([host] * n, pa.string()),
                "logfile": pa.array(["api.log"] * n, pa.string()),
                "parser": pa.array(["json"] * n, pa.string()),
                "attrs": pa.array(attrs, pa.string()),
            },
            schema=EVENT_SCHEMA,
        )
        batch = EventBatch(account_id, table,
                           (SessionRecord(account_id, session, {"serverHost": host}),), 0)
        assert self.store.submit(batch).result(timeout=60).stored == n


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    clock = FixedClock(UPLOADED_AT)
    app = create_app(Settings(data_dir=str(tmp_path)), clock=clock)
    with TestClient(app) as client:
        registry: Registry = app.state.ctx.registry
        registry.create_account("default")
        write = registry.create_token("write-logs", "default", "test").secret
        read = registry.create_token("read-logs", "default", "test").secret
        for host, lines in LINES.items():
            response = client.post("/api/uploadLogs", params={"token": write, "host": host},
                                   content="\n".join(lines).encode())
            assert response.json() == {"status": "success"}
        clock.now = NOW
        server = Server(client, registry, app.state.ctx.store, clock, read)
        server.insert("default", API_EVENTS, T0)
        yield server


# -- the response envelope --------------------------------------------------------------------


def test_the_scalyr_tool_request_gets_its_table(server: Server) -> None:
    recorded = next(r for r in json.loads((FIXTURES / "scalyr-tool" / "requests.json")
                                          .read_text())
                    if r["request_line"].startswith("POST /api/powerQuery"))
    body = {**recorded["body"], "token": server.read}
    assert body["query"] == "dataset='x' | group count() by serverHost"
    response = server.client.post("/api/powerQuery", content=json.dumps(body),
                                  headers={"Content-type": "application/json"})
    assert response.status_code == 200
    reply = response.json()
    assert type(reply.pop("executionTime")) is int
    assert type(reply.pop("cpuUsage")) is int
    assert reply == {
        "status": "success",
        "matchingEvents": 6,
        "omittedEvents": 0,
        "columns": [{"name": "serverHost"}, {"name": "count"}],
        "values": [["api-1", 6]],
        "warnings": [],
    }


def test_get_works_like_post(server: Server) -> None:
    response = server.client.get("/api/powerQuery", params={
        "token": server.read, "query": "| group count() by serverHost", "startTime": "1h"})
    assert response.status_code == 200
    assert response.json()["values"] == [["api-1", 11], ["web-1", 3], ["web-2", 2]]


def test_an_empty_query_lists_events_newest_first(server: Server) -> None:
    body = server.pq("$serverHost == 'web-2'")
    assert body["matchingEvents"] == 2 and body["omittedEvents"] == 0
    assert [c["name"] for c in body["columns"]] == ["timestamp", "serverHost", "message"]
    rows = body["values"]
    assert [r[1:] for r in rows] == [["web-2", "GET /d 200"], ["web-2", "GET /c 200"]]
    assert int(rows[0][0]) > int(rows[1][0]) >= UPLOADED_AT
    assert server.pq("")["matchingEvents"] == ALL


def test_query_and_time_parameters(server: Server) -> None:
    assert server.pq("| group count()", startTime="40m")["values"] == [[5]]
    assert server.pq("| group count()", startTime="2h", endTime="45m")["values"] == [[11]]
    assert server.pq("| group count()", startTime=(T0 + 5 * S) // S,
                     endTime=(T0 + 7 * S) // S)["values"] == [[2]]
    # the window ends now: a day-old event is outside the default range
    server.insert("default", [{"message": "old"}], NOW - 25 * 3600 * S, session="old")
    assert server.pq("| group count()")["values"] == [[ALL]]
    assert server.pq("| group count()", priority="low", queryType="complex")["values"] == [[ALL]]


# -- commands ---------------------------------------------------------------------------------


def test_group_counts_by_host(server: Server) -> None:
    body = server.pq("| group count() by serverHost")
    assert body["matchingEvents"] == ALL and body["omittedEvents"] == 0
    assert body["columns"] == [{"name": "serverHost"}, {"name": "count"}]
    assert body["values"] == [["api-1", 11], ["web-1", 3], ["web-2", 2]]


def test_group_aggregates(server: Server) -> None:
    columns, values = server.table(
        "latency == * | group n = count(latency), sum(latency), avg(latency), min(latency), "
        "max(latency), estimate_distinct(status) by status")
    assert columns == ["status", "n", "sum(latency)", "avg(latency)", "min(latency)",
                       "max(latency)", "estimate_distinct(status)"]
    assert values == [["200", 8, 430, 53.75, 10, 100, 1],
                      ["500", 3, 120, 40, 0, 80, 1]]


def test_percentiles_interpolate(server: Server) -> None:
    columns, values = server.table(
        "| group median(latency), p10(latency), p50(latency), p90(latency), p95(latency), "
        "p99(latency), p999(latency), pct(latency, 25), percentile(latency, 75), "
        "stddev(latency)")
    assert columns == ["median(latency)", "p10(latency)", "p50(latency)", "p90(latency)",
                       "p95(latency)", "p99(latency)", "p999(latency)", "pct(latency, 25)",
                       "pct(latency, 75)", "stddev(latency)"]
    # latency 0, 10, …, 100 (the uploaded lines have none)
    assert values == [pytest.approx([50, 10, 50, 90, 95, 99, 99.9, 25, 75, 1100 ** 0.5])]


def test_count_of_an_expression(server: Server) -> None:
    assert server.table(
        "| group errors = count(status == 500), with_status = count(status), all = count()"
    ) == (["errors", "with_status", "all"], [[3, 11, ALL]])


def test_group_by_a_computed_key(server: Server) -> None:
    assert server.table(
        "| group n = count() by kind = if(status >= 500, 'error', 'ok'), api = latency != null"
    ) == (["kind", "api", "n"], [["error", True, 3], ["ok", False, 5], ["ok", True, 8]])


def test_a_group_of_nothing_is_one_row(server: Server) -> None:
    body = server.pq("no-such-text | group n = count(), s = sum(latency), a = avg(latency)")
    assert (body["matchingEvents"], body["values"]) == (0, [[0, 0, None]])


def test_sort_and_limit(server: Server) -> None:
    body = server.pq("| group n = count() by serverHost | sort -n | limit 2")
    assert body["values"] == [["api-1", 11], ["web-1", 3]]
    assert (body["matchingEvents"], body["omittedEvents"], body["warnings"]) == (ALL, 1, [])
    # text sorts as numbers where it reads as one: "100" after "90"
    assert server.table("latency == * | sort -latency | limit 3 | columns latency")[1] == [
        ["100"], ["90"], ["80"]]
    # ties keep the previous order
    assert server.table("| group n = count() by serverHost, status | sort serverHost "
                        "| columns serverHost, status")[1] == [
        ["api-1", "200"], ["api-1", "500"], ["web-1", None], ["web-2", None]]


def test_a_limit_in_the_middle_counts_what_it_drops(server: Server) -> None:
    body = server.pq("latency == * | sort latency | limit 4 | group s = sum(latency)")
    assert body["values"] == [[60]]
    assert (body["matchingEvents"], body["omittedEvents"]) == (11, 7)


def test_let_filter_columns(server: Server) -> None:
    body = server.pq("latency == * | let ms = latency * 1000, slow = latency >= 80 "
                     "| filter slow | columns message, ms")
    assert body["columns"] == [{"name": "message"}, {"name": "ms"}]
    assert body["values"] == [["GET /api/10", 100000], ["GET /api/9", 90000],
                              ["GET /api/8", 80000]]
    assert (body["matchingEvents"], body["omittedEvents"]) == (11, 0)


def test_expressions_over_fields(server: Server) -> None:
    assert server.table(
        "$serverHost == 'web-1' | let up = upper(message), n = len(message), "
        "err = message contains 'ERROR' | columns up, n, err, h = concat(serverHost, '/', n)"
    )[1] == [["ERROR: DISK FULL", 16, True, "web-1/16"],
             ["GET /B 500", 10, False, "web-1/10"],
             ["GET /A 200", 10, False, "web-1/10"]]
    assert server.table("latency == * | filter latency % 30 == 0 && status != 500 "
                        "| columns x = round(latency / 7, 2), y = -latency")[1] == [
        [12.86, -90], [8.57, -60], [4.29, -30]]


def test_after_a_group_its_columns_are_read_as_they_are(server: Server) -> None:
    assert server.table("| group n = count() by status | filter status >= 500")[1] == [
        ["500", 3]]
    assert server.table("| group n = count() by serverHost | let share = n / 16 "
                        "| filter share > 0.15 | columns serverHost, share")[1] == [
        ["api-1", 0.6875], ["web-1", 0.1875]]


def test_non_finite_numbers_are_special_cells(server: Server) -> None:
    response = server.post(query="latency > 0 | group pos = max(latency / 0), "
                                 "neg = min(-latency / 0), nan = max(0 / 0)")
    assert b'[{"special":"+infinity"},{"special":"-infinity"},{"special":"NaN"}]' in (
        response.content)
    assert response.json()["values"] == [[{"special": "+infinity"}, {"special": "-infinity"},
                                          {"special": "NaN"}]]


def test_an_empty_result_still_counts_matches(server: Server) -> None:
    body = server.pq("latency == * | filter latency > 1000")
    assert (body["matchingEvents"], body["omittedEvents"], body["values"]) == (11, 0, [])
    assert body["warnings"] == []


def test_past_a_thousand_rows_the_rest_are_omitted_with_a_warning(server: Server) -> None:
    server.insert("default", [{"message": f"bulk {i}", "attrs": {"tag": "bulk"}}
                              for i in range(1001)], T0 + 60 * S, session="bulk")
    body = server.pq("tag == 'bulk' | columns message")
    assert len(body["values"]) == 1000 and body["values"][0] == ["bulk 1000"]
    assert (body["matchingEvents"], body["omittedEvents"]) == (1001, 1)
    assert len(body["warnings"]) == 1
    assert "1,001 rows" in body["warnings"][0] and "limit" in body["warnings"][0]
    explicit = server.pq("tag == 'bulk' | columns message | limit 1001")
    assert len(explicit["values"]) == 1001
    assert (explicit["omittedEvents"], explicit["warnings"]) == (0, [])
    assert server.pq("tag == 'bulk' | limit 5")["omittedEvents"] == 996


# -- errors and permissions -------------------------------------------------------------------


def test_an_unsupported_command_names_the_supported_ones(server: Server) -> None:
    message = server.error("error | parse 'x=$x$' | group count()")
    assert message.startswith("query: 'parse' at column 9 is a PowerQuery command")
    assert "let, filter, group, sort, limit, columns" in message


@pytest.mark.parametrize(("query", "fragments"), [
    ("| group n = count() by serverHost | filter latency > 1",
     ["query: unknown column 'latency' at column 44", "after the group at column 3",
      "serverHost, n"]),
    ("| columns message | sort serverHost", ["unknown column 'serverHost' at column 26",
                                             "after columns at column 3"]),
    ("| filter latency", ["'latency' at column 10 is a value, not a condition"]),
    ("| filter !latency", ["'latency' at column 11 is a value"]),
    ("| let x = count()", ["count() at column 11 is an aggregate", "group"]),
    ("| filter min(latency) > 1", ["min(latency) at column 10 is an aggregate",
                                   "two values"]),
    ("| group avg(latency) + latency", ["'latency' at column 24 is outside an aggregate",
                                        "by latency"]),
    ("| group max(count())", ["count() at column 13 is inside another aggregate"]),
    ("| group pct(latency, 101)", ["the percentile of pct at column 22 must be a number "
                                   "from 0 to 100"]),
    ("| group pct(latency, x)", ["at column 22 must be a number"]),
    ("| let x = round(latency, 1.5)", ["round's digits at column 26 must be a whole number"]),
    ("| group count(), count()", ["two columns are named 'count' (at columns 9 and 18)"]),
    ("| columns a = 1, a = 2", ["two columns are named 'a'"]),
    ("| filter latency < null", ["'<' at column 18 compares with null"]),
    ("| filter message matches '('", ["query: a regular expression", "RE2"]),
    ("status == ", ["query: ", "column 11"]),
])
def test_errors_say_where_and_what_to_do(server: Server, query: str,
                                         fragments: list[str]) -> None:
    message = server.error(query)
    for fragment in fragments:
        assert fragment in message, message


def test_the_query_is_in_query_not_filter(server: Server) -> None:
    message = server.error("", filter="error")
    assert "'query', not 'filter'" in message
    assert server.post(query=5).status_code == 400
    assert server.pq("| group count()", filter="ignored")["values"] == [[ALL]]


def test_time_errors_are_bad_params(server: Server) -> None:
    assert "startTime" in server.error("", startTime="yesterday-ish")


def test_only_a_log_read_token_may_query(server: Server) -> None:
    response = server.client.post("/api/powerQuery", json={"query": ""})
    assert response.status_code == 401
    assert response.json()["status"] == "error/client/noPermission"
    write = server.registry.create_token("write-logs", "default", "test").secret
    assert server.post(write, query="").status_code == 403
    for kind in ("read-config", "write-config"):
        token = server.registry.create_token(kind, "default", "test").secret
        assert server.pq("| group count()", token=token)["values"] == [[ALL]]
    bearer = server.client.post("/api/powerQuery", json={"query": "| group count()"},
                                headers={"Authorization": f"Bearer {server.read}"})
    assert bearer.json()["values"] == [[ALL]]


def test_accounts_see_only_their_own_events(server: Server) -> None:
    server.registry.create_account("other")
    other = server.registry.create_token("read-logs", "other", "test").secret
    body = server.pq("| group count() by serverHost", token=other)
    assert (body["matchingEvents"], body["values"]) == (0, [])
    server.insert("other", API_EVENTS[:2], T0, session="api", host="api-1")
    body = server.pq("| group count() by serverHost", token=other)
    assert (body["matchingEvents"], body["values"]) == (2, [["api-1", 2]])
    assert server.pq("| group count() by serverHost")["values"] == [
        ["api-1", 11], ["web-1", 3], ["web-2", 2]]


def test_column_names_keep_their_case(server: Server) -> None:
    # DuckDB identifiers ignore case; millpond's column names do not
    assert server.table("| let a = 1, A = 2 | limit 1 | columns a, A, b = a + A") == (
        ["a", "A", "b"], [[1, 2, 3]])
