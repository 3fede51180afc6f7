"""Every request the `scalyr` command-line tool sends, replayed byte for byte (fixtures/README).

Each recorded request is sent as the tool sends it (POST, JSON body, `Content-type:
application/json`) with its placeholder token swapped for a real one of the kind the tool asks
for. The tool needs HTTP 200 and a `status` starting with `success`, and then reads certain
fields unconditionally: those must be there, with the types it uses them as.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from seed import insert_events
from test_api import Api, S, running

FIXTURES = Path(__file__).parents[3] / "shared" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = Path("/work/shared/fixtures")
RECORDED: list[dict[str, Any]] = json.loads(
    (FIXTURES / "scalyr-tool" / "requests.json").read_text()
)

# The placeholder tokens of the recording, and the kind of token the tool asks for with each.
TOKEN_KINDS = {
    "READ-tok": "read-logs",
    "READ-from-stdin": "read-logs",
    "ENV-READ": "read-logs",
    "CFG-R": "read-config",
    "CFG-W": "write-config",
}
# The config file the recorded getFile asks for, there before the tool runs.
ALERTS = "/scalyr/alerts"
ALERTS_TEXT = '{\n  alerts: [{trigger: "count:5 minutes(RC-123) > 3"}]\n}\n'

JUNE = 1_780_272_000  # 2026-06-01T00:00:00Z, inside the recording's ISO-8601 range
TAIL = 1_795_919_600  # inside both of the recorded `tail` windows
NOW = 1_795_920_155  # the end of the later `tail` window: "now" for the relative times
RC_LAST_HOUR = 5  # events with RC-123 in the hour before NOW
RC_DATASET_X = 2  # of which in dataset 'x', all from serverHost api-1


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server holding RC-123 events in June and in the hour before NOW; its clock at NOW."""
    with running(tmp_path_factory.mktemp("tool")) as api:
        api.clock.now = JUNE * S
        api.upload("RC-123 june request failed\nRC-123 june retry ok", params={"host": "web-1"})
        api.clock.now = TAIL * S
        api.upload(
            "RC-123 order placed\nRC-123 order shipped\nunrelated line",
            params={"host": "web-1", "server-tier": "prod"},
        )
        api.clock.now = (TAIL + 100) * S
        api.upload("RC-123 payment declined", params={"host": "web-2"})
        # Attributes (`status`, `dataset`) come from parsers, which uploadLogs does not run yet.
        insert_events(
            api.client.app.state.ctx.store,  # type: ignore[attr-defined]
            api.registry.account("default").id,
            [
                {"ts": (TAIL + 200) * S, "message": "RC-123 GET /orders 200",
                 "attrs": {"status": 200, "dataset": "x"}},
                {"ts": (TAIL + 201) * S, "message": "RC-123 GET /orders/9 404", "severity": 4,
                 "attrs": {"status": 404, "dataset": "x"}},
                {"ts": (TAIL + 202) * S, "message": "background noise", "severity": 1,
                 "attrs": {"dataset": "y"}},
            ],
            session="api-session",
            session_fields={"serverHost": "api-1"},
        )
        api.client.app.state.ctx.store.put_file(  # type: ignore[attr-defined]
            api.registry.account("default").id, ALERTS, ALERTS_TEXT, None, JUNE * S
        )
        api.clock.now = NOW * S
        yield api


def _id(index: int, recorded: dict[str, Any]) -> str:
    path = recorded["request_line"].split()[1]
    body = recorded["body"]
    detail = body.get("filter") or body.get("path") or body.get("query") or ""
    return f"{index:02d}{path}:{detail}"[:60]


def _cases() -> list[Any]:
    return [pytest.param(recorded, id=_id(index, recorded)) for index, recorded in
            enumerate(RECORDED)]


def test_every_placeholder_token_is_known() -> None:
    tokens = {r["body"]["token"] for r in RECORDED}
    assert tokens <= set(TOKEN_KINDS), tokens - set(TOKEN_KINDS)
    assert len(RECORDED) == 14


@pytest.mark.parametrize("recorded", _cases())
def test_the_tool_gets_what_it_reads(tool: Api, recorded: dict[str, Any]) -> None:
    method, path, _ = recorded["request_line"].split()
    assert method == "POST"
    body = dict(recorded["body"])
    body["token"] = tool.token(TOKEN_KINDS[body["token"]])
    response = tool.client.request(
        method, path, content=json.dumps(body), headers={"Content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    assert isinstance(reply["status"], str) and reply["status"].startswith("success"), reply
    READS[path](reply, recorded["body"])


# -- what the tool reads of each reply ------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _query(reply: dict[str, Any], request: dict[str, Any]) -> None:
    matches = reply["matches"]
    assert isinstance(matches, list) and matches, "the seeded events should match"
    assert isinstance(reply["sessions"], dict)
    columns = [c for c in request["columns"].split(",") if c]
    for match in matches:
        attributes = match["attributes"]  # the tool calls .keys() on it
        assert isinstance(attributes, dict)
        if "severity" in match:  # indexes a list of seven letters with it
            assert type(match["severity"]) is int and 0 <= match["severity"] <= 6
        if not columns:
            assert isinstance(match["timestamp"], str) and match["timestamp"].isdigit()
            assert isinstance(match["session"], str)  # tail de-duplicates on (timestamp, session)
            assert match["session"] in reply["sessions"]
            assert isinstance(match["message"], str)
            assert "severity" in match
        # CSV output: each column from the match itself, else from its attributes.
        for column in columns:
            value = match.get(column, attributes.get(column))
            if column in ("message", "serverHost"):
                assert isinstance(value, str) and value
    if not columns:
        ids = [(m["timestamp"], m["session"]) for m in matches]
        assert len(set(ids)) == len(ids)
        stamps = [int(m["timestamp"]) for m in matches]
        assert stamps == sorted(stamps)
    if "RC-123" in request["filter"]:
        assert all("RC-123" in m.get("message", "RC-123") for m in matches)
    if isinstance(request["startTime"], int):  # tail: the window of the last 10 minutes
        assert len(matches) == RC_LAST_HOUR
        for match in matches:
            assert request["startTime"] * S <= int(match["timestamp"]) < request["endTime"] * S
    if "status" in columns:
        assert sorted(m["attributes"]["status"] for m in matches if "status" in m["attributes"]
                      ) == [200, 404]


def _numeric_values(values: Any, buckets: int) -> None:
    assert isinstance(values, list) and len(values) == buckets
    assert all(v is None or _is_number(v) for v in values), values


def _numeric(reply: dict[str, Any], request: dict[str, Any]) -> None:
    _numeric_values(reply["values"], request["buckets"])
    assert sum(v or 0 for v in reply["values"]) == RC_LAST_HOUR  # function "count"


def _timeseries(reply: dict[str, Any], request: dict[str, Any]) -> None:
    results = reply["results"]
    assert isinstance(results, list) and len(results) == len(request["queries"])
    for result, query in zip(results, request["queries"], strict=True):
        _numeric_values(result["values"], query["buckets"])
        assert sum(v or 0 for v in result["values"]) == RC_LAST_HOUR


def _facet(reply: dict[str, Any], request: dict[str, Any]) -> None:
    values = reply["values"]
    assert isinstance(values, list)
    assert type(reply["matchCount"]) is int
    for entry in values:
        assert isinstance(entry["value"], str) and type(entry["count"]) is int
    assert [(v["value"], v["count"]) for v in values] == [("api-1", 2), ("web-1", 2), ("web-2", 1)]
    assert reply["matchCount"] == RC_LAST_HOUR


def _power(reply: dict[str, Any], request: dict[str, Any]) -> None:
    assert type(reply["matchingEvents"]) is int
    assert type(reply["omittedEvents"]) is int
    columns = reply["columns"]
    assert isinstance(columns, list) and all(isinstance(c["name"], str) for c in columns)
    values = reply["values"]
    assert isinstance(values, list)
    assert all(isinstance(row, list) and len(row) == len(columns) for row in values)
    assert isinstance(reply["warnings"], list)
    # dataset='x' | group count() by serverHost
    assert reply["matchingEvents"] == RC_DATASET_X
    assert len(values) == 1 and "api-1" in values[0] and RC_DATASET_X in values[0]


def _list_files(reply: dict[str, Any], request: dict[str, Any]) -> None:
    paths = reply["paths"]  # printed one per line
    assert isinstance(paths, list) and all(isinstance(p, str) for p in paths)
    assert ALERTS in paths
    assert paths == sorted(paths)


def _get_file(reply: dict[str, Any], request: dict[str, Any]) -> None:
    assert reply["status"] == "success"  # the seeded file
    assert type(reply["version"]) is int  # printed with %d
    assert reply["version"] == 1
    assert int(reply["createDate"]) == int(reply["modDate"]) == JUNE * 1000  # ms, via int()
    assert reply["content"] == ALERTS_TEXT  # printed as it is
    assert reply["path"] == request["path"]


def _put_file(reply: dict[str, Any], request: dict[str, Any]) -> None:
    assert reply["status"] == "success"
    if "content" in request:
        assert type(reply["version"]) is int  # an extra the tool ignores


READS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "/api/query": _query,
    "/api/numericQuery": _numeric,
    "/api/timeseriesQuery": _timeseries,
    "/api/facetQuery": _facet,
    "/api/powerQuery": _power,
    "/listFiles": _list_files,
    "/getFile": _get_file,
    "/putFile": _put_file,
}
