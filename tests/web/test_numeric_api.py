"""/api/numericQuery, /api/timeseriesQuery and /api/createTimeseries in-process (spec §3.4, §3.6).

Numeric fields come from parsers, which uploadLogs does not run yet, so most tests write events
with attributes straight through the store, as the ingest endpoints do.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
T0 = NOW - 3600 * S
FIXTURES = Path(__file__).parents[3] / "shared" / "fixtures"  # /work/shared, beside the repo

# Six requests, one every 10 s from T0: (offset s, message, attributes).
REQUESTS: list[tuple[int, str, dict[str, Any]]] = [
    (0, "GET /a ok", {"latency": 10, "status": 200, "value": 1}),
    (10, "GET /b ok", {"latency": 20, "status": 200, "value": 2}),
    (20, "GET /c error", {"latency": 30, "status": 500, "value": 3}),
    (30, "GET /d ok", {"latency": 40, "status": 200, "value": 4}),
    (40, "GET /e error", {"latency": 50, "status": 500, "value": 5}),
    (50, "GET /f ok", {"latency": "60", "status": 200, "value": 6}),
]


@dataclass
class Server:
    client: TestClient
    registry: Registry
    store: Store
    clock: FixedClock
    account_id: int
    read: str

    def insert(
        self,
        events: list[tuple[int, str, dict[str, Any]]],
        *,
        account_id: int | None = None,
        session: str = "sess-1",
        session_fields: dict[str, Any] | None = None,
    ) -> None:
        """Store events of (ts ns, message, attributes) as one committed batch."""
        account = self.account_id if account_id is None else account_id
        n = len(events)
        table = pa.table(
            {
                "account_id": pa.array([account] * n, pa.int32()),
                "ts": pa.array([ts for ts, _, _ in events], pa.int64()),
                "session": pa.array([session] * n, pa.string()),
                "thread": pa.nulls(n, pa.string()),
                "severity": pa.array([3] * n, pa.int8()),
                "message": pa.array([m for _, m, _ in events], pa.string()),
                "server_host": pa.array(["web-1"] * n, pa.string()),
                "logfile": pa.array(["access.log"] * n, pa.string()),
                "parser": pa.array(["test"] * n, pa.string()),
                "attrs": pa.array([orjson.dumps(a).decode() for _, _, a in events], pa.string()),
            },
            schema=EVENT_SCHEMA,
        )
        fields = session_fields if session_fields is not None else {"serverHost": "web-1"}
        batch = EventBatch(
            account_id=account,
            table=table,
            sessions=(SessionRecord(account, session, fields),),
            bytes_charged=sum(len(m) for _, m, _ in events),
        )
        self.store.submit(batch).result()

    def insert_requests(self, start: int = T0, **kwargs: Any) -> None:
        self.insert([(start + s * S, m, a) for s, m, a in REQUESTS], **kwargs)

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
        response: httpx.Response = self.client.post(
            path, json={"token": token or self.read, **body}
        )
        return response

    def numeric(self, token: str | None = None, **params: Any) -> list[Any]:
        response = self.post("/api/numericQuery", params, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success"
        assert isinstance(body["executionTime"], int) and isinstance(body["cpuUsage"], int)
        values: list[Any] = body["values"]
        return values

    def minute(self, function: str | None = None, **params: Any) -> list[Any]:
        """The function over the minute of REQUESTS."""
        if function is not None:
            params["function"] = function
        return self.numeric(startTime=T0, endTime=T0 + 60 * S, **params)


@contextmanager
def running(tmp_path: Path) -> Iterator[Server]:
    clock = FixedClock(NOW)
    app = create_app(Settings(data_dir=str(tmp_path)), clock=clock)
    with TestClient(app) as client:
        registry: Registry = app.state.ctx.registry
        account = registry.create_account("default")
        read = registry.create_token("read-logs", "default", "test").secret
        yield Server(client, registry, app.state.ctx.store, clock, account.id, read)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running(tmp_path) as server:
        server.insert_requests(session_fields={"serverHost": "web-1", "region": "eu"})
        yield server


def assert_error(response: httpx.Response, http: int, status: str, *parts: str) -> str:
    assert response.status_code == http, response.text
    body = response.json()
    assert body["status"] == status
    message: str = body["message"]
    for part in parts:
        assert part in message
    return message


# -- numericQuery: the functions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("count", 6),
        ("COUNT", 6),
        ("rate", 0.1),
        (None, 0.1),
        ("mean(latency)", 35.0),
        ("latency", 35.0),
        ("min(latency)", 10.0),
        ("max(latency)", 60.0),
        ("sum(latency)", 210.0),
        ("sumPerSecond(latency)", 3.5),
        ("median(latency)", 35.0),
        ("p10(latency)", 15.0),
        ("p50(latency)", 35.0),
        ("p90(latency)", 55.0),
        ("p95(latency)", 57.5),
        ("p99(latency)", 59.5),
        ("p999(latency)", 59.95),
        ("p(latency, 50)", 35.0),
        ("p(latency, 0)", 10.0),
        ("p[95](latency)", 57.5),
        ("mean(timestamp) - " + str(T0), 25.0 * S),
        ("count(status == 500)", 2),
        ("count(error)", 2),
        ("rate(error)", 2 / 60),
        ("count(latency where status == 500)", 2),
        ("mean(latency where status == 500)", 40.0),
        ("mean(status == 500)", 4.0),  # the field `value`
        ("count(status == 500) / count", 1 / 3),
        ("count(message contains 'error') / count(message contains 'ok')", 0.5),
        ("mean(latency where status >= 500) * 1000", 40000.0),
        ("(max(latency) - min(latency)) / 2 + 1", 26.0),
        ("count * 2 - 1", 11),
        ("-count", -6),
        ("count(region == 'eu')", 6),  # a session field
        ("count($serverHost == 'web-1')", 6),
        ("mean(nosuchfield)", None),
        ("count / count(nomatch)", None),
        ("3", 3),
    ],
)
def test_every_function_over_known_data(server: Server, function: str | None,
                                        expected: Any) -> None:
    [value] = server.minute(function)
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)


def test_the_request_filter_applies_to_every_function(server: Server) -> None:
    assert server.minute("count(latency > 30)", filter="status == 200") == [2]
    assert server.minute("count(error) / count", filter="latency >= 30") == [0.5]
    assert server.minute("mean(latency)", filter="ok") == [32.5]


@pytest.mark.parametrize(
    ("function", "buckets", "expected"),
    [
        ("count", 2, [3, 3]),
        ("count", 3, [2, 2, 2]),
        ("count", 4, [2, 1, 2, 1]),
        ("count", 6, [1, 1, 1, 1, 1, 1]),
        ("count", 12, [1, 0] * 6),
        ("mean(latency)", 2, [20.0, 50.0]),
        ("max(latency)", 3, [20.0, 40.0, 60.0]),
        ("rate", 2, [0.1, 0.1]),
        ("sumPerSecond(latency)", 2, [2.0, 5.0]),
        ("count(error)", 2, [1, 1]),
        ("mean(latency)", 12, [10.0, None, 20.0, None, 30.0, None, 40.0, None, 50.0, None,
                               60.0, None]),
    ],
)
def test_buckets_are_equal_slices(server: Server, function: str, buckets: int,
                                  expected: list[Any]) -> None:
    assert server.minute(function, buckets=buckets) == expected


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("count", [6, 0]),
        ("rate", [0.1, 0.0]),
        ("sumPerSecond(latency)", [3.5, 0.0]),
        ("sum(latency)", [210.0, 0.0]),
        ("mean(latency)", [35.0, None]),
        ("min(latency)", [10.0, None]),
        ("max(latency)", [60.0, None]),
        ("median(latency)", [35.0, None]),
        ("p99(latency)", [59.5, None]),
        ("count + 1", [7, 1]),
        ("mean(latency) + 1", [36.0, None]),
        ("count(error) / count", [1 / 3, None]),
    ],
)
def test_empty_buckets(server: Server, function: str, expected: list[Any]) -> None:
    values = server.numeric(function=function, startTime=T0, endTime=T0 + 120 * S, buckets=2)
    assert values == pytest.approx(expected)
    assert [type(v) for v in values] == [type(v) for v in expected]


def test_start_is_inclusive_and_end_is_exclusive(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        mid, end = T0 + 30 * S, T0 + 60 * S
        times = [T0 - 1, T0, mid - 1, mid, end - 1, end]
        server.insert([(t, "x", {"at": i}) for i, t in enumerate(times)])
        assert server.minute("count", buckets=2) == [2, 2]
        assert server.minute("min(at)", buckets=2) == [1.0, 3.0]
        assert server.minute("max(at)", buckets=2) == [2.0, 4.0]


def test_one_bucket_is_the_default(server: Server) -> None:
    assert server.minute("count") == [6]


def test_5000_buckets(server: Server) -> None:
    values = server.minute("count", buckets=5000)
    assert len(values) == 5000
    # An event s seconds in falls in bucket floor(s·5000/60).
    assert [i for i, v in enumerate(values) if v] == [0, 833, 1666, 2500, 3333, 4166]
    assert sum(values) == 6
    means = server.minute("mean(latency)", buckets=5000)
    assert means[833] == 20.0 and means[834] is None


def test_a_range_of_decades_in_5000_buckets_is_still_exact(server: Server) -> None:
    values = server.numeric(function="count", startTime=0, endTime=NOW, buckets=5000)
    expected = [0] * 5000
    for s, _, _ in REQUESTS:
        expected[(T0 + s * S) * 5000 // NOW] += 1
    assert values == expected


@pytest.mark.parametrize("buckets", [0, 5001, -1, 2.5, "2.5", "x", True, [2]])
def test_bad_buckets_are_refused(server: Server, buckets: Any) -> None:
    response = server.post("/api/numericQuery", {"function": "count", "buckets": buckets})
    assert_error(response, 400, "error/client/badParam", "buckets must be")


@pytest.mark.parametrize("buckets", [1, 5000, "7", 3.0])
def test_good_buckets_are_accepted(server: Server, buckets: Any) -> None:
    assert len(server.minute("count", buckets=buckets)) == int(buckets)


# -- numericQuery: times, defaults, forms ----------------------------------------------------


def test_times_default_to_the_last_24_hours_ending_now(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        server.insert([(NOW - 25 * 3600 * S, "old", {}), (NOW - 23 * 3600 * S, "recent", {}),
                       (NOW - 1, "now", {}), (NOW, "future", {})])
        assert server.numeric(function="count") == [2]
        # Only startTime: the range ends now (not 24 hours after the start).
        assert server.numeric(function="count", startTime="26h") == [3]
        # Only endTime: the 24 hours before it.
        assert server.numeric(function="count", endTime=NOW - 24 * 3600 * S) == [1]
        assert server.numeric(function="count", endTime=NOW - 2 * 3600 * S) == [2]
        assert server.numeric(function="count", startTime="", endTime="", filter="") == [2]
        # Relative times: 6 one-hour buckets, the newest holding the event just before now.
        assert server.numeric(function="count", startTime="6h", buckets=6) == [0] * 5 + [1]


@pytest.mark.parametrize(
    ("params", "parts"),
    [
        ({"startTime": "yesterday-ish"}, ["startTime 'yesterday-ish' is not a time"]),
        ({"endTime": [1]}, ["endTime must be a time"]),
        ({"startTime": "1h", "endTime": "2h"}, ["endTime is before startTime"]),
        ({"startTime": T0, "endTime": T0}, ["the same instant", "give an endTime after"]),
        ({"filter": "a ("}, ["filter: unexpected end of filter (column 4)"]),
        ({"filter": 5}, ["filter must be a string"]),
        ({"function": 5}, ["function must be a string"]),
        ({"function": "foo(x)"},
         ["function: unknown function 'foo' at column 1; use one of count, rate, mean"]),
        ({"function": "fraction(status >= 500)"},
         ["function: fraction(…) at column 1 is not available", "count(F) / count"]),
        ({"function": "count(status =~ 'x')"},
         ["function: unknown operator '=~' at column 14"]),
        ({"function": "mean(latency"}, ["function: the '(' at column 5 is never closed"]),
    ],
)
def test_bad_parameters_say_what_to_fix(server: Server, params: dict[str, Any],
                                        parts: list[str]) -> None:
    assert_error(server.post("/api/numericQuery", params), 400, "error/client/badParam", *parts)


def test_the_get_form(server: Server) -> None:
    query = {"token": server.read, "function": "count(error)", "startTime": str(T0 // S),
             "endTime": str(T0 // S + 60), "buckets": "2", "filter": "status == 500"}
    response = server.client.get("/api/numericQuery", params=query)
    assert response.status_code == 200, response.text
    assert response.json()["values"] == [1, 1]
    response = server.client.get(
        "/api/numericQuery?token=" + server.read
        + f"&function=mean(latency+where+status+%3E%3D+500)&startTime={T0}&endTime={T0 + 60 * S}"
    )
    assert response.json()["values"] == [40.0]


def test_the_token_may_come_as_a_bearer_header(server: Server) -> None:
    response = server.client.post(
        "/api/numericQuery", json={"function": "count", "startTime": T0, "endTime": T0 + 60 * S},
        headers={"Authorization": f"Bearer {server.read}"},
    )
    assert response.json()["values"] == [6]


@pytest.mark.parametrize("kind", ["read-config", "write-config"])
def test_config_tokens_may_query(server: Server, kind: str) -> None:
    token = server.registry.create_token(kind, "default", "test").secret
    assert server.minute("count", token=token) == [6]


def test_tokens_are_checked(server: Server) -> None:
    write = server.registry.create_token("write-logs", "default", "test").secret
    for path in ("/api/numericQuery", "/api/timeseriesQuery"):
        assert_error(server.post(path, {}, token=write), 403, "error/client/noPermission",
                     "use a read-logs")
        assert_error(server.client.post(path, json={}), 401, "error/client/noPermission")
        assert_error(server.post(path, {}, token="made-up"), 401, "error/client/noPermission")


def test_accounts_see_only_their_own_events(server: Server) -> None:
    other = server.registry.create_account("other")
    other_read = server.registry.create_token("read-logs", "other", "test").secret
    server.insert([(T0 + 5 * S, "theirs", {"latency": 1000})], account_id=other.id,
                  session="sess-other")
    assert server.minute("count") == [6]
    assert server.minute("max(latency)") == [60.0]
    assert server.minute("count", token=other_read) == [1]
    assert server.minute("max(latency)", token=other_read) == [1000.0]


def test_numbers_are_json_numbers(server: Server) -> None:
    response = server.post("/api/numericQuery", {
        "function": "count", "startTime": T0, "endTime": T0 + 120 * S, "buckets": 2,
    })
    assert b'"values":[6,0]' in response.content
    response = server.post("/api/numericQuery", {
        "function": "mean(latency)", "startTime": T0, "endTime": T0 + 120 * S, "buckets": 2,
    })
    assert b'"values":[35.0,null]' in response.content


# -- timeseriesQuery -------------------------------------------------------------------------


def minute_query(**query: Any) -> dict[str, Any]:
    return {"startTime": T0, "endTime": T0 + 60 * S, **query}


def test_timeseries_query_answers_each_query(server: Server) -> None:
    response = server.post("/api/timeseriesQuery", {"queries": [
        minute_query(function="count", buckets=2),
        minute_query(function="mean(latency)", filter="error"),
        minute_query(function="p95(latency)", buckets=1, priority="low",
                     createSummaries=False, onlyUseSummaries=True, queryType="numeric"),
        minute_query(function="count + 1", startTime=T0 + 60 * S, endTime=T0 + 120 * S),
    ]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert [r["values"] for r in body["results"]] == [[3, 3], [40.0], [57.5], [1]]
    for result in body["results"]:
        assert result["foundExistingSeries"] is True
        assert isinstance(result["executionTime"], int)
    assert isinstance(body["executionTime"], int) and isinstance(body["cpuUsage"], int)


def test_timeseries_query_treats_empty_strings_and_nulls_as_not_given(server: Server) -> None:
    response = server.post("/api/timeseriesQuery", {"queries": [
        {"filter": "", "function": "", "startTime": T0, "endTime": T0 + 60 * S,
         "buckets": "", "timeseriesId": ""},
        # The Java client sends endTime and buckets always, null when unset.
        {"function": "count", "startTime": "2h", "endTime": None, "buckets": None,
         "filter": None},
    ]})
    assert response.status_code == 200, response.text
    assert [r["values"] for r in response.json()["results"]] == [[0.1], [6]]


def test_timeseries_query_get_form_is_one_query(server: Server) -> None:
    response = server.client.get("/api/timeseriesQuery", params={
        "token": server.read, "function": "count", "filter": "error",
        "startTime": str(T0), "endTime": str(T0 + 60 * S), "buckets": "2",
    })
    assert response.status_code == 200, response.text
    assert [r["values"] for r in response.json()["results"]] == [[1, 1]]
    queries = json.dumps([minute_query(function="count"), minute_query(function="rate")])
    response = server.client.get(
        "/api/timeseriesQuery", params={"token": server.read, "queries": queries}
    )
    assert [r["values"] for r in response.json()["results"]] == [[6], [0.1]]


@pytest.mark.parametrize(
    ("queries", "parts"),
    [
        ([], ["queries must be a non-empty list"]),
        ("nonsense", ["queries must be a non-empty list"]),
        ({"function": "count"}, ["queries must be a non-empty list"]),
        ([minute_query()] * 101, ["queries has 101 entries; send at most 100"]),
        ([minute_query(), 7], ["queries[1] must be an object"]),
        ([minute_query(), minute_query(buckets=0)], ["queries[1].buckets must be from 1 to 5000"]),
        ([minute_query(buckets=2.5)], ["queries[0].buckets must be a whole number"]),
        ([minute_query(), minute_query(), minute_query(function="nope(x)")],
         ["queries[2].function: unknown function 'nope' at column 1"]),
        ([minute_query(filter="a (")], ["queries[0].filter: "]),
        ([minute_query(startTime="whenever")], ["queries[0].startTime 'whenever' is not a time"]),
        ([minute_query(endTime=T0 - S)],
         ["queries[0].endTime is before queries[0].startTime"]),
        ([minute_query(timeseriesId="bogus")],
         ["queries[0].timeseriesId 'bogus' is not one millpond issued"]),
        ([minute_query(timeseriesId=5)], ["queries[0].timeseriesId must be a string"]),
    ],
)
def test_timeseries_query_errors_name_the_query(server: Server, queries: Any,
                                                parts: list[str]) -> None:
    response = server.post("/api/timeseriesQuery", {"queries": queries})
    assert_error(response, 400, "error/client/badParam", *parts)


def test_100_queries_are_fine(server: Server) -> None:
    response = server.post("/api/timeseriesQuery",
                           {"queries": [minute_query(function="count")] * 100})
    assert response.status_code == 200, response.text
    assert [r["values"] for r in response.json()["results"]] == [[6]] * 100


# -- what scalyr-tool sends ------------------------------------------------------------------


def tool_request(path: str) -> dict[str, Any]:
    requests = json.loads((FIXTURES / "scalyr-tool" / "requests.json").read_text())
    [body] = [r["body"] for r in requests if r["request_line"].split()[1] == path]
    assert isinstance(body, dict)
    return body


def test_scalyr_tool_numeric_query(tmp_path: Path) -> None:
    body = tool_request("/api/numericQuery")
    assert body["startTime"] == "1h" and body["endTime"] == "" and body["buckets"] == 3
    with running(tmp_path) as server:
        # Three 20-minute buckets of the last hour; the events are 30 minutes old.
        server.insert([(NOW - 1800 * S, "request RC-123 failed", {}),
                       (NOW - 1800 * S + 1, "RC-123 again", {}),
                       (NOW - 1800 * S + 2, "something else", {})])
        response = server.client.post("/api/numericQuery", json={**body, "token": server.read})
        assert response.status_code == 200, response.text
        assert response.json()["values"] == [0, 2, 0]


def test_scalyr_tool_timeseries_query(tmp_path: Path) -> None:
    body = tool_request("/api/timeseriesQuery")
    [query] = body["queries"]
    assert query["buckets"] == 2 and query["endTime"] == ""
    with running(tmp_path) as server:
        # Two 30-minute buckets: an event exactly 30 minutes old starts the second one.
        server.insert([(NOW - 1800 * S - 1, "RC-123 first", {}),
                       (NOW - 1800 * S, "RC-123 second", {}),
                       (NOW - 1, "RC-123 third", {})])
        response = server.client.post("/api/timeseriesQuery", json={**body, "token": server.read})
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert result == {"values": [1, 2], "executionTime": result["executionTime"],
                          "foundExistingSeries": True}


# -- createTimeseries ------------------------------------------------------------------------


def test_create_timeseries_then_query_it_by_id(server: Server) -> None:
    write = server.registry.create_token("write-config", "default", "test").secret
    response = server.post("/api/createTimeseries", {
        "queryType": "numeric", "filter": "status == 500", "function": "mean(latency)",
    }, token=write)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["foundExistingSeries"] is False
    tsid = body["timeseriesId"]
    # The same definition, spelled differently, has the same id.
    again = server.post("/api/createTimeseries", {
        "filter": "status = 500", "function": "  mean( latency )",
    }, token=write).json()
    assert again["timeseriesId"] == tsid
    response = server.post("/api/timeseriesQuery", {"queries": [
        minute_query(timeseriesId=tsid, buckets=2),
        minute_query(timeseriesId=tsid, filter="latency > 40"),  # a given filter wins
        minute_query(timeseriesId=tsid, function="count"),
    ]})
    assert response.status_code == 200, response.text
    assert [r["values"] for r in response.json()["results"]] == [[30.0, 50.0], [55.0], [2]]


def test_create_timeseries_needs_a_write_config_token(server: Server) -> None:
    response = server.post("/api/createTimeseries", {"function": "count"})
    assert_error(response, 403, "error/client/noPermission", "use a write-config token")
    write = server.registry.create_token("write-config", "default", "test").secret
    assert server.client.get("/api/createTimeseries", params={"token": write}).status_code == 405


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ({"function": "frac(x)"}, ["function: unknown function 'frac'"]),
        ({"filter": "a )"}, ["filter: unexpected ')'"]),
        ({"queryType": "log"}, ["queryType must be 'numeric'"]),
    ],
)
def test_create_timeseries_checks_the_definition(server: Server, body: dict[str, Any],
                                                 parts: list[str]) -> None:
    write = server.registry.create_token("write-config", "default", "test").secret
    response = server.post("/api/createTimeseries", body, token=write)
    assert_error(response, 400, "error/client/badParam", *parts)


def test_a_timeseries_id_of_another_account_is_refused(server: Server) -> None:
    server.registry.create_account("other")
    write = server.registry.create_token("write-config", "other", "test").secret
    tsid = server.post("/api/createTimeseries", {"function": "count"}, token=write).json()[
        "timeseriesId"
    ]
    response = server.post("/api/timeseriesQuery", {"queries": [minute_query(timeseriesId=tsid)]})
    assert_error(response, 400, "error/client/badParam",
                 "queries[0].timeseriesId belongs to another account")
