"""`POST /addEvents` and `/api/addEvents` in-process (spec §2, §0, §8).

The Scalyr Agent's recorded requests (fixtures/scalyr-agent) are replayed as sent, with their
placeholder token swapped for a real one, and read back field by field; then each client of
§8 in its own form, attribute resolution (§2.6), sequencing (§2.4) and the errors (§0.5, §2.8).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from compressors import COMPRESSORS, raw_deflate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning
from test_api import NOW, Api, assert_error, running

from millpond import FixedClock, Settings, create_app
from millpond.ingest.scalyr_json import dumps_agent
from millpond.query.sql import SQL
from millpond.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

FIXTURES = Path(__file__).parents[3] / "shared" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = Path("/work/shared/fixtures")
AGENT = FIXTURES / "scalyr-agent"
PLACEHOLDER = b"SAMPLE-WRITE-TOKEN"

ENCODINGS: dict[str, Callable[[bytes], bytes]] = {**COMPRESSORS, "identity": bytes, "none": bytes}
# Every query of these tests reads all time, oldest first.
ALL_TIME = {"startTime": 1, "endTime": 4_000_000_000, "pageMode": "head", "maxCount": 5000}
_DEFAULT: Any = object()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running(tmp_path) as api:
        yield api


# -- helpers ------------------------------------------------------------------------------------


def request(*events: Mapping[str, Any], session: str = "session-1", **more: Any) -> dict[str, Any]:
    return {"session": session, "events": list(events), **more}


def post(
    api: Api,
    body: Mapping[str, Any] | bytes,
    *,
    token: str | None = _DEFAULT,
    path: str = "/addEvents",
    encoding: str | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a request: a mapping goes as strict JSON with `token` (the write token by
    default) in the body; bytes go as they are."""
    if isinstance(body, Mapping):
        obj = dict(body)
        if token is _DEFAULT:
            obj.setdefault("token", api.write)
        elif token is not None:
            obj["token"] = token
        try:
            data = orjson.dumps(obj)
        except orjson.JSONEncodeError:  # an integer past 64 bits
            data = json.dumps(obj).encode()
    else:
        data = body
    sent = dict(headers or {})
    if encoding is not None:
        data = ENCODINGS[encoding](data)
        sent["Content-Encoding"] = encoding
    response: httpx.Response = api.client.post(
        path, content=data, headers=sent, params=dict(params or {})
    )
    return response


def ok(response: httpx.Response) -> int:
    """The bytesCharged of a success answer, after checking its exact shape."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "bytesCharged"}, body
    assert body["status"] == "success"
    charged = body["bytesCharged"]
    # 0 only for a resend whose every event was already stored (nothing new is charged).
    assert type(charged) is int and charged >= 0
    return charged


@dataclass(frozen=True)
class Row:
    ts: int
    session: str
    thread: str | None
    severity: int
    message: str | None
    server_host: str | None
    logfile: str | None
    parser: str | None
    attrs: dict[str, Any]


def store_of(api: Api) -> Store:
    store: Store = api.client.app.state.ctx.store  # type: ignore[attr-defined]
    return store


def account_id(api: Api, account: str) -> int:
    return api.registry.account(account).id


def stored(api: Api, account: str = "default") -> list[Row]:
    """The account's events as the store holds them, in the order they were written."""
    rows = store_of(api).select(
        SQL(
            "SELECT ts, session, thread, severity, message, server_host, logfile, parser, attrs "
            "FROM events WHERE account_id = ? ORDER BY seq",
            (account_id(api, account),),
        ),
        30,
    )
    return [
        Row(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], r[6], r[7],
            orjson.loads(r[8]) if r[8] else {})
        for r in rows
    ]


def stored_messages(api: Api, account: str = "default") -> list[str | None]:
    return [r.message for r in stored(api, account)]


def session_fields(api: Api, session: str, account: str = "default") -> dict[str, Any]:
    rows = store_of(api).select(
        SQL(
            "SELECT fields FROM sessions WHERE account_id = ? AND session = ?",
            (account_id(api, account), session),
        ),
        30,
    )
    (row,) = rows
    fields: dict[str, Any] = orjson.loads(row[0])
    return fields


def marks(api: Api, account: str = "default") -> dict[str, int]:
    rows = store_of(api).select(
        SQL("SELECT si, sn FROM seq_marks WHERE account_id = ?", (account_id(api, account),)),
        30,
    )
    return {str(si): int(sn) for si, sn in rows}


def query(api: Api, token: str | None = None, **params: Any) -> dict[str, Any]:
    response = api.client.post(
        "/api/query", json={"token": token or api.read, **ALL_TIME, **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    return body


def queried(api: Api, token: str | None = None, **params: Any) -> list[str]:
    return [m["message"] for m in query(api, token, **params)["matches"]]


def event(message: Any, **fields: Any) -> dict[str, Any]:
    """An event whose attrs hold `message`, plus the event-level `fields` (ts, sev, si, ...)."""
    attrs = fields.pop("attrs", {})
    return {"attrs": {"message": message, **attrs}, **fields}


def new_account(api: Api, name: str) -> tuple[str, str]:
    """A fresh account's write and read tokens."""
    api.registry.create_account(name)
    return api.token("write-logs", name), api.token("read-logs", name)


# -- the Scalyr Agent's recorded requests (fixtures/scalyr-agent) ------------------------------

AGENT_HEADERS: dict[str, Any] = json.loads((AGENT / "addEvents-headers.json").read_text())
AGENT_SESSION = "dexynHyCUk2NEZld7N9uGNJRBrg="
AGENT_SI = "d1acd674-23df-4a4e-af49-ed5bb1fab155"
AGENT_MESSAGES = [
    "2026-01-02T03:04:05Z INFO sample line one key=value status=200",
    "",  # the file's empty line, sent as "\n"
    "unicode: h\u00e9llo w\u00f6rld \u2603 \u65e5\u672c\u8a9e \U0001f680",
    "crlf terminated line",  # "\r\n" is cut as one line ending
    'quotes " and backslash \\ and a literal `s backtick and {braces} [brackets]',
    "tab\tseparated\tfields",
    '{"json":"line","n":1,"nested":{"a":[1,2]}}',
]
AGENT_TS = [
    1795920448022170112, 1795920448022251008, 1795920448022272512, 1795920448022288896,
    1795920448022304512, 1795920448022320384, 1795920448022336768,
]
# sn 63, then sd 1, 42, 22, 75, 21, 43: the byte offset past the last line.
AGENT_LAST_SN = 63 + 1 + 42 + 22 + 75 + 21 + 43


def agent_body(name: str, token: str) -> bytes:
    body = (AGENT / name).read_bytes()
    assert body.count(PLACEHOLDER) == 1
    return body.replace(PLACEHOLDER, token.encode())


def agent_data_request(token: str) -> tuple[bytes, bytes]:
    """The recorded deflate data request with a real token: (wire bytes, decompressed)."""
    recorded = (AGENT / "addEvents-data.body.deflate").read_bytes()
    plain = zlib.decompress(recorded)
    assert plain == (AGENT / "addEvents-data.body").read_bytes()
    assert plain.count(PLACEHOLDER) == 1
    plain = plain.replace(PLACEHOLDER, token.encode())
    return zlib.compress(plain), plain  # the agent's default level, 6


def send_as_agent(api: Api, wire: bytes) -> httpx.Response:
    method, path, _ = AGENT_HEADERS["request_line"].split(" ")
    assert method == "POST"
    headers = AGENT_HEADERS["headers"]
    assert "Content-Type" not in headers and headers["Content-Encoding"] == "deflate"
    response: httpx.Response = api.client.post(path, content=wire, headers=headers)
    return response


def test_the_agents_data_request_is_accepted_as_sent(api: Api) -> None:
    wire, plain = agent_data_request(api.write)
    assert ok(send_as_agent(api, wire)) == len(plain)

    rows = stored(api)
    assert [r.message for r in rows] == AGENT_MESSAGES
    assert [r.ts for r in rows] == AGENT_TS
    for row in rows:
        assert row.session == AGENT_SESSION
        assert row.thread == "log_1"
        assert row.severity == 3
        assert row.server_host == "sample-host"
        assert row.logfile == "/var/log/demo/app.log"
        assert row.parser == "sampleParser"
        assert row.attrs == {"service": "demo"}
    assert session_fields(api, AGENT_SESSION) == {
        "serverHost": "sample-host",
        "tier": "acceptance",
        "serverIP": "testclient",
    }
    assert marks(api) == {AGENT_SI: AGENT_LAST_SN}


def test_the_agents_events_read_back_through_the_query_api(api: Api) -> None:
    wire, _ = agent_data_request(api.write)
    ok(send_as_agent(api, wire))

    body = query(api)
    assert [m["message"] for m in body["matches"]] == AGENT_MESSAGES
    assert [m["timestamp"] for m in body["matches"]] == [str(t) for t in AGENT_TS]
    for match in body["matches"]:
        assert match["severity"] == 3
        assert match["thread"] == "log_1"
        assert match["session"] == AGENT_SESSION
        assert match["attributes"] == {
            "service": "demo",
            "logfile": "/var/log/demo/app.log",
            "parser": "sampleParser",
        }
    assert body["sessions"] == {
        AGENT_SESSION: {
            "serverHost": "sample-host",
            "tier": "acceptance",
            "serverIP": "testclient",
            "session": AGENT_SESSION,
        }
    }
    assert len(queried(api, filter="$serverHost == 'sample-host' $tier == 'acceptance'")) == 7
    assert queried(api, filter="service == 'demo' backtick") == [AGENT_MESSAGES[4]]
    assert queried(api, filter="'\u65e5\u672c\u8a9e'") == [AGENT_MESSAGES[2]]
    (match,) = query(api, filter="crlf", columns="serverHost,message")["matches"]
    assert match == {"message": "crlf terminated line", "attributes": {"serverHost": "sample-host"}}


def test_the_agent_resending_its_request_stores_nothing_new(api: Api) -> None:
    wire, _ = agent_data_request(api.write)
    ok(send_as_agent(api, wire))
    # The agent resends the same bytes when it did not read `success`, e.g. after a timeout.
    # Nothing new is stored, and nothing is charged.
    assert ok(send_as_agent(api, wire)) == 0
    assert stored_messages(api) == AGENT_MESSAGES


def test_the_uncompressed_agent_body_is_accepted_too(api: Api) -> None:
    body = agent_body("addEvents-data.body", api.write)
    assert ok(api.client.post("/addEvents", content=body)) == len(body)
    assert stored_messages(api) == AGENT_MESSAGES


@pytest.mark.parametrize("name", ["addEvents-ping.body", "addEvents-heartbeat.body"])
@pytest.mark.parametrize("encoding", ["deflate", None])
def test_the_agents_ping_and_heartbeat_succeed_with_no_events(
    api: Api, name: str, encoding: str | None
) -> None:
    body = agent_body(name, api.write)
    headers = dict(AGENT_HEADERS["headers"])
    wire = zlib.compress(body)
    if encoding is None:
        del headers["Content-Encoding"]
        wire = body
    assert ok(api.client.post("/addEvents", content=wire, headers=headers)) == len(body)
    assert stored(api) == []
    assert query(api)["matches"] == []


def test_a_heartbeat_between_data_requests_changes_nothing(api: Api) -> None:
    wire, _ = agent_data_request(api.write)
    ok(send_as_agent(api, wire))
    heartbeat = agent_body("addEvents-heartbeat.body", api.write)
    ok(api.client.post("/addEvents", content=zlib.compress(heartbeat),
                       headers=AGENT_HEADERS["headers"]))
    assert stored_messages(api) == AGENT_MESSAGES
    assert marks(api) == {AGENT_SI: AGENT_LAST_SN}


# -- the other clients of §8, each in its own form -----------------------------------------------


def test_logstash_integer_ts_numeric_log_ids_and_orig_server_host(api: Api) -> None:
    body = {
        "token": api.write,
        "session": "logstash-1",
        "sessionInfo": {"serverType": "logstash"},
        "client_timestamp": "1772366400000",
        "logs": [{"id": 1, "attrs": {"logfile": "/var/log/ls.log", "__origServerHost": "ls-a"}},
                 {"id": 2, "attrs": {"logfile": "/var/log/other.log"}}],
        "threads": [{"id": 7, "name": "pipeline"}],
        "events": [
            {"thread": 7, "log": 1, "ts": NOW + 5, "sev": 4, "attrs": {"message": "from log 1"}},
            {"thread": 7, "log": 2, "ts": NOW + 6,
             "attrs": {"message": "own host", "__origServerHost": "ls-b", "status": 500}},
            {"thread": 7, "log": "1", "ts": NOW + 7, "attrs": {"message": "log id as a string"}},
        ],
    }
    ok(post(api, orjson.dumps(body), encoding="deflate"))
    rows = stored(api)
    assert [(r.message, r.ts, r.severity) for r in rows] == [
        ("from log 1", NOW + 5, 4), ("own host", NOW + 6, 3), ("log id as a string", NOW + 7, 3),
    ]
    assert [r.server_host for r in rows] == ["ls-a", "ls-b", "ls-a"]
    assert [r.logfile for r in rows] == ["/var/log/ls.log", "/var/log/other.log",
                                         "/var/log/ls.log"]
    assert [r.thread for r in rows] == ["7", "7", "7"]
    assert [r.attrs for r in rows] == [{}, {"status": 500}, {}]
    assert session_fields(api, "logstash-1") == {"serverType": "logstash",
                                                 "serverIP": "testclient"}
    assert queried(api, filter="$serverHost == 'ls-b'") == ["own host"]


def test_fluentd_integer_ts_and_the_tag_as_thread(api: Api) -> None:
    body = request(
        event("a fluent line", thread="app.web", ts=NOW + 1,
              attrs={"logfile": "/fluentd/app.web", "parser": "fluentd", "pid": 12}),
        event("another\n", thread="app.web", ts=NOW + 2, attrs={"logfile": "/fluentd/app.web"}),
        session="fluentd-1",
        client_timestamp="1772366400",
    )
    ok(post(api, body, encoding="deflate"))
    rows = stored(api)
    assert [(r.message, r.ts, r.thread, r.logfile) for r in rows] == [
        ("a fluent line", NOW + 1, "app.web", "/fluentd/app.web"),
        ("another", NOW + 2, "app.web", "/fluentd/app.web"),
    ]
    assert [r.parser for r in rows] == ["fluentd", None]
    assert rows[0].attrs == {"pid": 12}


@pytest.mark.parametrize("encoding", ["zstd", "deflate", "identity"])
def test_kafka_connect_si_and_sn_on_every_event(api: Api, encoding: str) -> None:
    def batch(offsets: range) -> dict[str, Any]:
        return request(
            *[
                {"log": "topic-0", "ts": NOW + n, "si": "topic-0", "sn": n,
                 "attrs": {"message": f"offset {n}", "offset": n}}
                for n in offsets
            ],
            session="kafka-1",
            logs=[{"id": "topic-0", "attrs": {"serverHost": "broker-1", "parser": "kafka"}}],
        )

    ok(post(api, batch(range(0, 5)), encoding=encoding))
    # A task restarted from an older commit re-sends offsets 3 and 4.
    ok(post(api, batch(range(3, 8)), encoding=encoding))
    rows = stored(api)
    assert [r.message for r in rows] == [f"offset {n}" for n in range(8)]
    assert {r.server_host for r in rows} == {"broker-1"}
    assert {r.parser for r in rows} == {"kafka"}
    assert [r.attrs["offset"] for r in rows] == list(range(8))
    assert marks(api) == {"topic-0": 7}


def test_dataset_go_gzip_on_the_api_path_with_string_ts(api: Api) -> None:
    body = request(
        {"thread": "t1", "log": "l1", "ts": str(NOW + 10), "sev": 5,
         "attrs": {"message": "an error", "body.str": "x", "count": 2}},
        {"thread": "t1", "log": "l1", "attrs": {"message": "no ts, no sev"}},
        session="dataset-go-1",
        sessionInfo={"serverHost": "otel-host", "dataset.source": "otel"},
        threads=[{"id": "t1", "name": "exporter"}],
        logs=[{"id": "l1", "attrs": {"logfile": "otel.log"}}],
    )
    response = post(api, body, path="/api/addEvents", encoding="gzip",
                    headers={"Content-Type": "application/json"})
    assert ok(response) == len(orjson.dumps({**body, "token": api.write}))
    rows = stored(api)
    assert [(r.message, r.ts, r.severity) for r in rows] == [
        ("an error", NOW + 10, 5),
        ("no ts, no sev", NOW, 3),  # receipt time; sev 0 is omitted by dataset-go and means 3
    ]
    assert {r.server_host for r in rows} == {"otel-host"}
    assert rows[0].attrs == {"body.str": "x", "count": 2}
    assert session_fields(api, "dataset-go-1")["dataset.source"] == "otel"


def test_the_java_clients_always200_header(api: Api) -> None:
    headers = {"errorStatus": "always200", "Content-Encoding": "gzip"}
    java = request(
        {"thread": "1", "ts": str(NOW), "type": 0, "sev": 2, "attrs": {"message": "java"}},
        {"thread": "1", "ts": str(NOW + 1), "type": 2, "startTS": str(NOW),
         "attrs": {"message": "span end"}},
        session="java-1",
        clientVersion=1,
        threads=[{"id": "1", "name": "main"}],
    )
    assert ok(post(api, java, encoding="gzip", headers={"errorStatus": "always200"})) > 0
    assert stored_messages(api) == ["java", "span end"]
    assert [r.severity for r in stored(api)] == [2, 3]

    failures = [
        (post(api, java, token="made-up", encoding="gzip", headers=headers), 401,
         "error/client/noPermission"),
        (post(api, java, token=api.read, encoding="gzip", headers=headers), 403,
         "error/client/noPermission"),
        (post(api, {"events": []}, encoding="gzip", headers=headers), 400,
         "error/client/badParam"),
        (post(api, b"{broken", encoding="gzip", headers=headers), 400, "error/client/badParam"),
        (api.client.get("/addEvents", headers=headers), 405, "error/client/methodNotAllowed"),
    ]
    for response, code, status in failures:
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["__status"]) == (status, code)
        assert isinstance(body["message"], str) and body["message"]
    assert stored_messages(api) == ["java", "span end"]


def test_the_token_as_a_bearer_header(api: Api) -> None:
    body = request(event("by bearer", ts=NOW))
    ok(post(api, body, token=None, headers={"Authorization": f"Bearer {api.write}"}))
    assert stored_messages(api) == ["by bearer"]


def test_the_token_in_the_url(api: Api) -> None:
    body = request(event("by url", ts=NOW))
    ok(post(api, body, token=None, params={"token": api.write}))
    assert stored_messages(api) == ["by url"]


def test_a_header_or_url_token_is_used_before_the_bodys(api: Api) -> None:
    other_write, _ = new_account(api, "other")
    ok(post(api, request(event("bearer wins", ts=NOW)), token=other_write,
            headers={"Authorization": f"Bearer {api.write}"}))
    ok(post(api, request(event("url wins", ts=NOW)), token="made-up",
            params={"token": api.write}))
    assert stored_messages(api) == ["bearer wins", "url wins"]
    assert stored(api, "other") == []


def test_a_bad_url_or_bearer_token_is_refused_whatever_the_body_says(api: Api) -> None:
    body = request(event("x", ts=NOW))
    assert_error(post(api, body, params={"token": "made-up"}), 401, "error/client/noPermission")
    response = post(api, body, headers={"Authorization": "Bearer made-up"})
    assert_error(response, 401, "error/client/noPermission")
    assert stored(api) == []


# -- attribute resolution (§2.6) --------------------------------------------------------------


def test_event_attrs_overlay_their_logs_attrs(api: Api) -> None:
    body = request(
        {"log": "L", "ts": NOW, "attrs": {"message": "m", "b": "event", "c": 3}},
        {"log": "L", "ts": NOW + 1, "attrs": {"message": "only the log's"}},
        {"log": "unknown", "ts": NOW + 2, "attrs": {"message": "no such log"}},
        logs=[{"id": "L", "attrs": {"a": 1, "b": "log", "logfile": "/l.log"}}],
    )
    ok(post(api, body))
    rows = stored(api)
    assert [r.attrs for r in rows] == [{"a": 1, "b": "event", "c": 3}, {"a": 1, "b": "log"}, {}]
    assert [r.logfile for r in rows] == ["/l.log", "/l.log", None]


def test_orig_server_host_on_the_event_or_its_log_and_never_stored(api: Api) -> None:
    body = request(
        {"log": "L", "ts": NOW, "attrs": {"message": "log's"}},
        {"log": "L", "ts": NOW + 1, "attrs": {"message": "event's", "__origServerHost": "ev"}},
        {"ts": NOW + 2, "attrs": {"message": "serverHost attr", "serverHost": "attr-host"}},
        {"ts": NOW + 3, "attrs": {"message": "none"}},
        logs=[{"id": "L", "attrs": {"__origServerHost": "lg", "k": "v"}}],
    )
    ok(post(api, body))
    rows = stored(api)
    assert [r.server_host for r in rows] == ["lg", "ev", "attr-host", None]
    assert all("__origServerHost" not in r.attrs for r in rows)
    assert rows[0].attrs == rows[1].attrs == {"k": "v"}
    assert queried(api, filter="$serverHost == 'ev'") == ["event's"]
    assert all("__origServerHost" not in m["attributes"] for m in query(api)["matches"])


def test_session_info_server_host_wins(api: Api) -> None:
    body = request(
        {"log": "L", "ts": NOW, "attrs": {"message": "a", "__origServerHost": "ev"}},
        {"ts": NOW + 1, "attrs": {"message": "b", "serverHost": "attr-host"}},
        logs=[{"id": "L", "attrs": {"__origServerHost": "lg"}}],
        sessionInfo={"serverHost": "session-host"},
    )
    ok(post(api, body))
    rows = stored(api)
    assert [r.server_host for r in rows] == ["session-host", "session-host"]
    assert rows[0].attrs == {}
    assert queried(api, filter="$serverHost == 'session-host'") == ["a", "b"]


def test_parser_and_logfile_from_the_event_then_the_log_then_session_info(api: Api) -> None:
    body = request(
        {"log": "L", "ts": NOW, "attrs": {"message": "event", "parser": "p-ev", "logfile": "f-ev"}},
        {"log": "L", "ts": NOW + 1, "attrs": {"message": "log"}},
        {"ts": NOW + 2, "attrs": {"message": "session"}},
        logs=[{"id": "L", "attrs": {"parser": "p-log", "logfile": "f-log"}}],
        sessionInfo={"parser": "p-session", "logfile": "f-session"},
    )
    ok(post(api, body))
    rows = stored(api)
    assert [r.parser for r in rows] == ["p-ev", "p-log", "p-session"]
    assert [r.logfile for r in rows] == ["f-ev", "f-log", "f-session"]
    assert all(r.attrs == {} for r in rows)
    assert queried(api, filter="parser == 'p-log'") == ["log"]


def test_numbers_stay_numbers(api: Api) -> None:
    body = request(
        event("slow", ts=NOW, attrs={"latency": 7.5, "count": 3, "ok": True, "name": "x"}),
        event("fast", ts=NOW + 1, attrs={"latency": 2, "count": -1, "nested": {"a": [1, 2.5]}}),
        event("slowest", ts=NOW + 2, attrs={"latency": 10}),  # as text "10" < "5"
        event("text", ts=NOW + 3, attrs={"latency": "3"}),
    )
    ok(post(api, body))
    assert queried(api, filter="$latency > 5") == ["slow", "slowest"]
    assert queried(api, filter="latency < 5 count < 0") == ["fast"]
    attributes = [m["attributes"] for m in query(api)["matches"]]
    assert attributes[0] == {"latency": 7.5, "count": 3, "ok": True, "name": "x"}
    assert type(attributes[0]["count"]) is int and type(attributes[1]["latency"]) is int
    assert attributes[1]["nested"] == {"a": [1, 2.5]}
    assert attributes[3] == {"latency": "3"}


def test_an_integer_past_64_bits_is_kept_as_a_double(api: Api) -> None:
    big = 123456789012345678901234567890
    body = request(
        {"log": "L", "ts": NOW, "attrs": {"message": "big", "id": big, "list": [big, 1]}},
        {"ts": NOW + 1, "attrs": {"message": {"n": -big}, "top": 2**64 - 1}},
        logs=[{"id": "L", "attrs": {"from_log": big}}],
        sessionInfo={"serverHost": "h", "big": big},
    )
    ok(post(api, body))
    rows = stored(api)
    assert rows[0].attrs == {"id": float(big), "list": [float(big), 1], "from_log": float(big)}
    assert rows[1].attrs == {"top": 2**64 - 1}
    assert orjson.loads(rows[1].message or "") == {"n": -float(big)}
    assert session_fields(api, "session-1")["big"] == float(big)
    assert queried(api, filter="id > 1e29") == ["big"]


def test_a_number_past_the_doubles_is_400(api: Api) -> None:
    data = json.dumps(request(event("huge", attrs={"n": 10**400}), token=api.write)).encode()
    message = assert_error(post(api, data), 400, "error/client/badParam")["message"]
    assert byte_offset(message) == data.index(b"1" + b"0" * 400)


@pytest.mark.parametrize("sev", range(7))
def test_every_severity_from_0_to_6(api: Api, sev: int) -> None:
    ok(post(api, request(event("s", ts=NOW, sev=sev))))
    assert [r.severity for r in stored(api)] == [sev]
    (match,) = query(api)["matches"]
    assert match["severity"] == sev


@pytest.mark.parametrize("sev", [-1, 7, 100, "3", 3.0, 3.5, True, [3], {}])
def test_a_severity_outside_0_to_6_or_not_an_integer_is_400(api: Api, sev: Any) -> None:
    body = request(event("fine", ts=NOW), event("bad", ts=NOW, sev=sev))
    message = assert_error(post(api, body), 400, "error/client/badParam")["message"]
    assert "events[1].sev" in message
    assert stored(api) == []


def test_without_ts_an_event_gets_the_receipt_time(api: Api) -> None:
    body = request(event("a"), event("b", ts=""), event("c", ts=NOW - 100), event("d"))
    ok(post(api, body))
    assert [(r.message, r.ts) for r in stored(api)] == [
        ("a", NOW), ("b", NOW + 1), ("c", NOW - 100), ("d", NOW + 2),
    ]
    ok(post(api, request(event("later"))))
    assert stored(api)[-1].ts > NOW + 2  # stamps never repeat within one clock tick


def test_out_of_order_and_equal_timestamps_are_accepted(api: Api) -> None:
    body = request(event("third", ts=NOW + 3), event("first", ts=NOW + 1),
                   event("second", ts=NOW + 2), event("second too", ts=NOW + 2))
    ok(post(api, body))
    assert [r.ts for r in stored(api)] == [NOW + 3, NOW + 1, NOW + 2, NOW + 2]
    assert queried(api) == ["first", "second", "second too", "third"]


def test_an_old_backlog_is_accepted(api: Api) -> None:
    ok(post(api, request(event("2001", ts="1000000000000000000"), event("epoch", ts=0))))
    assert [r.ts for r in stored(api)] == [1_000_000_000_000_000_000, 0]


@pytest.mark.parametrize("ts", ["abc", "-1", -1, "1.5", 1.5, "1e18", True, [1], {}, "\u00b2"])
def test_a_ts_that_is_not_nanoseconds_is_400(api: Api, ts: Any) -> None:
    body = request(event("bad", ts=ts))
    message = assert_error(post(api, body), 400, "error/client/badParam")["message"]
    assert "events[0].ts" in message
    assert stored(api) == []


def test_message_forms(api: Api) -> None:
    body = request(
        event("lf\n"), event("crlf\r\n"), event("two\n\n"), event("cr only\r"),
        event("inner\nbreaks\nkept"), event("\n"), event("\r\n"), event(""),
        {"attrs": {"no": "message"}}, event(42), event("trailing space "),
    )
    ok(post(api, body))
    assert stored_messages(api) == [
        "lf", "crlf", "two\n", "cr only\r", "inner\nbreaks\nkept", "", "", "", None, "42",
        "trailing space ",
    ]


def test_thread_and_log_ids_may_be_numbers_but_not_other_things(api: Api) -> None:
    ok(post(api, request({"thread": 3, "log": 4, "ts": NOW, "attrs": {"message": "n"}},
                         logs=[{"id": 4, "attrs": {"k": 1}}])))
    (row,) = stored(api)
    assert (row.thread, row.attrs) == ("3", {"k": 1})
    for bad in ({"thread": [1]}, {"log": {"a": 1}}, {"thread": True}):
        response = post(api, request({"ts": NOW, "attrs": {"message": "x"}, **bad}))
        assert_error(response, 400, "error/client/badParam")


# -- sequencing (§2.4) -------------------------------------------------------------------------


def seq(message: str, **fields: Any) -> dict[str, Any]:
    return event(message, ts=NOW, **fields)


def test_sn_and_sd_keep_a_running_state_across_the_request(api: Api) -> None:
    body = request(
        seq("A10", si="A", sn=10), seq("A15", sd=5), seq("B100", si="B", sn=100),
        seq("B101", sd=1), seq("B103", sd=2), seq("A20", si="A", sn=20), seq("A21", sd=1),
    )
    ok(post(api, body))
    assert marks(api) == {"A": 21, "B": 103}
    again = request(
        seq("A15 again", si="A", sn=15), seq("A20 again", sd=5), seq("A22", sd=2),
        seq("B103 again", si="B", sn=103), seq("B104", sd=1),
    )
    ok(post(api, again))
    assert stored_messages(api) == ["A10", "A15", "B100", "B101", "B103", "A20", "A21",
                                    "A22", "B104"]
    assert marks(api) == {"A": 22, "B": 104}


def test_resending_the_same_request_stores_nothing_new(api: Api) -> None:
    body = request(seq("one", si="S", sn=1), seq("two", sd=1), seq("three", sd=1))
    for _ in range(3):
        ok(post(api, body, encoding="deflate"))
    assert stored_messages(api) == ["one", "two", "three"]


def test_an_overlapping_request_stores_only_the_new_events(api: Api) -> None:
    ok(post(api, request(seq("10", si="S", sn=10), seq("20", sd=10), seq("30", sd=10))))
    ok(post(api, request(seq("20", si="S", sn=20), seq("30", sd=10), seq("40", sd=10),
                         seq("50", sd=10))))
    assert stored_messages(api) == ["10", "20", "30", "40", "50"]


def test_a_request_wholly_behind_the_mark_succeeds_and_stores_nothing(api: Api) -> None:
    ok(post(api, request(seq("late", si="S", sn=100))))
    charged = ok(post(api, request(seq("earlier", si="S", sn=50), seq("earliest", sd=-10))))
    assert charged == 0  # `success` (the agent needs it to move on), and nothing charged
    assert stored_messages(api) == ["late"]


def test_sequence_ids_are_independent(api: Api) -> None:
    ok(post(api, request(seq("A at 100", si="A", sn=100))))
    ok(post(api, request(seq("B at 5", si="B", sn=5), seq("A at 50", si="A", sn=50))))
    assert stored_messages(api) == ["A at 100", "B at 5"]


def test_accounts_are_independent(api: Api) -> None:
    other_write, other_read = new_account(api, "other")
    body = request(seq("same si and sn", si="S", sn=7))
    ok(post(api, body))
    ok(post(api, body, token=other_write))
    assert stored_messages(api) == ["same si and sn"]
    assert stored_messages(api, "other") == ["same si and sn"]
    assert queried(api, other_read) == ["same si and sn"]


def test_the_marks_survive_a_restart(tmp_path: Path) -> None:
    body = request(seq("before", si="S", sn=10))
    with running(tmp_path) as first:
        ok(post(first, body))
        write, read = first.write, first.read
    app = create_app(Settings(data_dir=str(tmp_path)), clock=FixedClock(NOW + 60 * 10**9))
    with TestClient(app) as client:
        again = Api(client, app.state.ctx.registry, FixedClock(NOW), write, read)
        # The agent restarts with a new session but the same si/sn from its checkpoint.
        ok(post(again, {**body, "session": "after-restart"}))
        ok(post(again, request(seq("resent", si="S", sn=10), seq("after", sd=5),
                               session="after-restart")))
        assert stored_messages(again) == ["before", "after"]
        assert marks(again) == {"S": 15}


def test_events_without_si_are_never_deduplicated(api: Api) -> None:
    body = request(seq("plain"), seq("sn but no si", sn=5), seq("sd but no si", sn=6, sd=1))
    ok(post(api, body))
    ok(post(api, body))
    assert stored_messages(api) == ["plain", "sn but no si", "sd but no si"] * 2
    assert marks(api) == {}


def test_unsequenced_events_after_sequenced_ones_are_kept(api: Api) -> None:
    body = request(seq("sequenced", si="S", sn=1), seq("no sequence fields"))
    ok(post(api, body))
    ok(post(api, body))
    assert stored_messages(api) == ["sequenced", "no sequence fields", "no sequence fields"]


def test_a_repeated_sn_inside_one_request_is_stored_once(api: Api) -> None:
    ok(post(api, request(seq("first", si="S", sn=5), seq("again", si="S", sn=5),
                         seq("next", sd=1))))
    assert stored_messages(api) == ["first", "next"]


@pytest.mark.parametrize(
    "bad",
    [{"si": "S", "sn": "x"}, {"si": "S", "sn": 1.5}, {"si": "S", "sn": True},
     {"si": ["S"], "sn": 1}, {"sd": 1}, {"si": "S", "sd": 1}, {"si": "S", "sn": "--5"},
     {"si": "S", "sn": "\u00b2"}, {"si": "S", "sn": 2**63}, {"si": "S", "sn": -(2**63) - 1},
     {"si": "S", "sn": str(2**63)}],
)
def test_bad_sequence_fields_are_400(api: Api, bad: dict[str, Any]) -> None:
    response = post(api, request(seq("x", **bad)))
    message = assert_error(response, 400, "error/client/badParam")["message"]
    assert "events[0]." in message
    assert stored(api) == [] and marks(api) == {}


def test_an_sd_past_64_bits_is_400(api: Api) -> None:
    body = request(seq("top", si="S", sn=2**63 - 1), seq("past", sd=1))
    assert_error(post(api, body), 400, "error/client/badParam")
    assert stored(api) == []


def test_concurrent_identical_requests_store_once(api: Api) -> None:
    body = orjson.dumps(
        request(*[seq(f"m{n}", si="S", sn=n) for n in range(1, 6)], token=api.write)
    )
    start = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def send() -> None:
        start.wait(30)
        answers.append(api.client.post("/addEvents", content=body))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 8
    for answer in answers:
        ok(answer)
    assert stored_messages(api) == [f"m{n}" for n in range(1, 6)]


# -- errors (§0.5, §2.8) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"events": []}, "session"),
        ({"session": "", "events": []}, "session"),
        ({"session": 5, "events": []}, "session"),
        ({"session": "s"}, "events"),
        ({"session": "s", "events": {}}, "events"),
        ({"session": "s", "events": [1]}, "events[0]"),
        ({"session": "s", "events": [], "sessionInfo": []}, "sessionInfo"),
        ({"session": "s", "events": [], "logs": {"id": "L"}}, "logs"),
        ({"session": "s", "events": [], "logs": [{"attrs": {}}]}, "logs[0]"),
        ({"session": "s", "events": [{"attrs": "text"}]}, "events[0].attrs"),
    ],
)
def test_a_request_of_the_wrong_shape_is_400(api: Api, body: dict[str, Any], word: str) -> None:
    message = assert_error(post(api, body), 400, "error/client/badParam")["message"]
    assert word in message


def test_an_empty_object_is_401_as_the_real_service_answers(api: Api) -> None:
    # The token is checked before the shape: `{}` is 401, a good token without session 400.
    assert_error(post(api, b"{}"), 401, "error/client/noPermission")
    assert_error(post(api, {}, token="made-up"), 401, "error/client/noPermission")
    assert_error(post(api, {}), 400, "error/client/badParam")
    assert_error(post(api, {}, token=api.read), 403, "error/client/noPermission")
    response = post(api, b"{}", headers={"Authorization": f"Bearer {api.write}"})
    assert_error(response, 400, "error/client/badParam")


@pytest.mark.parametrize("token", [None, "", "made-up", 42])
def test_a_missing_or_unknown_token_is_401(api: Api, token: Any) -> None:
    body = request(event("x", ts=NOW))
    if token is not None:
        body["token"] = token
    message = assert_error(post(api, body, token=None), 401,
                           "error/client/noPermission")["message"]
    assert "token" in message
    assert stored(api) == []


def test_a_revoked_token_is_401(api: Api) -> None:
    record = next(t for t in api.registry.list_tokens() if t.kind == "write-logs")
    api.registry.revoke_token(record.id)
    assert_error(post(api, request(event("x"))), 401, "error/client/noPermission")


@pytest.mark.parametrize("kind", ["read-logs", "read-config", "write-config"])
@pytest.mark.parametrize("where", ["body", "bearer", "url"])
def test_a_token_that_may_not_write_logs_is_403(api: Api, kind: str, where: str) -> None:
    token = api.token(kind)
    body = request(event("x", ts=NOW))
    if where == "body":
        response = post(api, body, token=token)
    elif where == "bearer":
        response = post(api, body, token=None, headers={"Authorization": f"Bearer {token}"})
    else:
        response = post(api, body, token=None, params={"token": token})
    message = assert_error(response, 403, "error/client/noPermission")["message"]
    assert "write-logs" in message
    assert stored(api) == []


def byte_offset(message: str) -> int:
    found = re.search(r"\bbyte (\d+)", message)
    assert found, message
    return int(found.group(1))


@pytest.mark.parametrize(
    "body",
    [
        b'{"session": "s", "events": [@]}',
        b'{"session": "s", "events": [{"attrs": {"message": "x"}}] @',
        b'{"session": "s", @: 1, "events": []}',
        b'{"session": "s", "events": [{attrs: {message: "unterminated}}]}',
        b'{"session": "s", "events": []',
        b'{"session": "s", "events": [{attrs: {message: `s\x00\x00\x10\x00short}}]}',
        b"\xff\xfe{}",
        b"",
        b"[1, 2]",
        b'"just a string"',
        b"null",
    ],
    ids=["bad value", "trailing garbage", "bad key", "unterminated string", "truncated",
         "length past the end", "bad bytes", "empty", "array", "string", "null"],
)
def test_a_malformed_body_is_400_and_says_where(api: Api, body: bytes) -> None:
    response = post(api, body, headers={"Authorization": f"Bearer {api.write}"})
    message = assert_error(response, 400, "error/client/badParam")["message"]
    if body.startswith(b"{"):
        assert 0 <= byte_offset(message) <= len(body)
    assert stored(api) == []


def test_the_byte_offset_of_a_parse_error_is_where_the_bad_byte_is(api: Api) -> None:
    body = b'{"session": "s", "events": [{"attrs": {"message": "\xc3\xa9"}}, @]}'
    response = post(api, body, headers={"Authorization": f"Bearer {api.write}"})
    message = assert_error(response, 400, "error/client/badParam")["message"]
    assert byte_offset(message) == body.index(b"@")  # bytes, not characters


def test_a_malformed_body_without_any_other_token_is_still_400(api: Api) -> None:
    # The token cannot be read from a body that does not parse: the shape is all one can say.
    response = post(api, b'{"token": "x", "session": ')
    assert_error(response, 400, "error/client/badParam")


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with running(tmp_path, max_body_bytes=1000) as api:
        empty = len(orjson.dumps(request(event("", ts=NOW), token=api.write)))

        def sized(n: int) -> bytes:
            data = orjson.dumps(request(event("x" * (n - empty), ts=NOW), token=api.write))
            assert len(data) == n
            return data

        assert ok(post(api, sized(1000))) == 1000
        for response in (
            post(api, sized(1001)),
            post(api, sized(1001), encoding="deflate"),  # small on the wire
            post(api, sized(1001), encoding="zstd"),
        ):
            body = assert_error(response, 413, "error/client/requestTooLarge")
            assert "1000 bytes" in body["message"]
        response = post(api, sized(1001), headers={"errorStatus": "always200"})
        assert response.status_code == 200
        assert "requestTooLarge" in response.json()["status"]  # what the agent looks for
        assert stored_messages(api) == ["x" * (1000 - empty)]


def test_a_body_of_6_mib_decompressed_is_accepted(api: Api) -> None:
    size = 6_291_456
    count = 100

    def body(pad: int) -> bytes:
        events = [event("y" * 60_000, ts=NOW + n, si="big", sn=n) for n in range(count - 1)]
        events.append(event("z" * pad, ts=NOW + count, si="big", sn=count))
        return orjson.dumps(request(*events, token=api.write))

    pad = size - len(body(0))
    data = body(pad)
    assert len(data) == size
    assert ok(post(api, data, encoding="deflate")) == size
    rows = store_of(api).select(
        SQL("SELECT count(*), sum(length(message)) FROM events WHERE account_id = ?",
            (account_id(api, "default"),)),
        30,
    )
    assert rows == [(count, 60_000 * (count - 1) + pad)]


@pytest.mark.parametrize("encoding", ["br", "compress", "x-gzip-maybe"])
def test_an_unknown_content_encoding_is_415(api: Api, encoding: str) -> None:
    response = post(api, request(event("x")), headers={"Content-Encoding": encoding})
    body = assert_error(response, 415, "error/client/badParam")
    assert encoding in body["message"] and "deflate" in body["message"]
    assert stored(api) == []


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "bz2", "lz4"])
def test_corrupt_compressed_data_is_400(api: Api, encoding: str) -> None:
    data = COMPRESSORS[encoding](orjson.dumps(request(event("x"), token=api.write)))[:-8]
    response = post(api, data, headers={"Content-Encoding": encoding})
    assert_error(response, 400, "error/client/badParam")
    assert stored(api) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/addEvents", "/api/addEvents"])
def test_only_post_is_allowed(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, f"{path}?token={api.write}")
    body = assert_error(response, 405, "error/client/methodNotAllowed")
    assert method in body["message"] and "POST" in body["message"]


def test_every_error_is_a_json_envelope_with_status_and_message(tmp_path: Path) -> None:
    with running(tmp_path, max_body_bytes=200) as api:
        good = request(event("x", ts=NOW))
        bearer = {"Authorization": f"Bearer {api.write}"}
        failures: list[tuple[str, httpx.Response]] = [
            ("empty object", post(api, b"{}")),
            ("bad token", post(api, good, token="nope")),
            ("wrong kind", post(api, good, token=api.read)),
            ("no session", post(api, {"events": []})),
            ("no events", post(api, {"session": "s"})),
            ("bad sev", post(api, request(event("x", sev=9)))),
            ("bad ts", post(api, request(event("x", ts="soon")))),
            ("malformed", post(api, b"{nope", headers=bearer)),
            ("too large", post(api, b" " * 201, headers=bearer)),
            ("bad deflate", post(api, b"x", headers={**bearer, "Content-Encoding": "deflate"})),
            ("unknown encoding", post(api, good, headers={"Content-Encoding": "br"})),
            ("GET", api.client.get("/addEvents")),
            ("GET api", api.client.get("/api/addEvents")),
        ]
        for name, response in failures:
            assert response.status_code >= 400, name
            assert response.headers["content-type"].startswith("application/json"), name
            body = response.json()
            assert body["status"].startswith("error/"), name
            assert isinstance(body["message"], str) and len(body["message"]) > 10, name
        assert stored(api) == []


def test_an_internal_failure_gets_the_500_envelope(api: Api) -> None:
    def broken_submit(batch: object) -> object:
        raise RuntimeError("disk on fire")

    store_of(api).submit = broken_submit  # type: ignore[method-assign, assignment]
    response = post(api, request(event("x")))
    body = assert_error(response, 500, "error/server")
    assert "internal error" in body["message"] and "disk on fire" not in body["message"]


# -- every compressor, both dialects -----------------------------------------------------------


def agent_dialect(obj: Mapping[str, Any]) -> bytes:
    return dumps_agent(obj, duplicate_threads=True)


DIALECTS: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    "agent": agent_dialect,
    "json": orjson.dumps,
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("encoding", [*ENCODINGS, None])
def test_every_compressor(api: Api, encoding: str | None, dialect: str) -> None:
    body = request(
        event("first\n", ts=NOW, attrs={"n": 1}, si="S", sn=1),
        event('se"cond`s\r\n', ts=NOW + 1, sd=1),
        logs=[{"id": "L", "attrs": {"logfile": "/x.log"}}],
        threads=[{"id": "L", "name": "Lines for file /x.log"}],
        token=api.write,
    )
    data = DIALECTS[dialect](body)
    assert ok(post(api, data, encoding=encoding)) == len(data)
    assert ok(post(api, data, encoding=encoding)) == 0  # a resend: nothing new, not charged
    assert stored_messages(api) == ["first", 'se"cond`s']


def test_raw_deflate_is_accepted(api: Api) -> None:
    data = orjson.dumps(request(event("raw", ts=NOW), token=api.write))
    ok(post(api, raw_deflate(data), headers={"Content-Encoding": "deflate"}))
    assert stored_messages(api) == ["raw"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "x/y"])
def test_any_content_type_is_fine(api: Api, content_type: str) -> None:
    ok(post(api, request(event("typed", ts=NOW)), headers={"Content-Type": content_type}))
    assert stored_messages(api) == ["typed"]


def test_invalid_utf8_in_an_agent_string_becomes_replacement_characters(api: Api) -> None:
    raw = b"bad \xff\xfe bytes \xe2\x82 end\n"
    body = (
        b'{"token": "' + api.write.encode() + b'", "session": "s", events: [{attrs:{message:`s'
        + len(raw).to_bytes(4, "big") + raw + b'},ts:"' + str(NOW).encode() + b'"}] }'
    )
    ok(post(api, body))
    assert stored_messages(api) == [raw.decode("utf-8", "replace").removesuffix("\n")]


# -- property: what goes in comes out ----------------------------------------------------------

SPECIAL_KEYS = {"message", "logfile", "parser", "serverHost", "__origServerHost"}
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
messages = st.one_of(
    texts,
    st.lists(st.sampled_from(["a", "\n", "\r", "\r\n", '"', "\\", "`s", "\u00e9", "\U0001f680",
                              "\t", "\x00", "{", "}"]), max_size=12).map("".join),
)
attr_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.booleans(),
)
attr_maps = st.dictionaries(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
        lambda k: k not in SPECIAL_KEYS
    ),
    attr_values,
    max_size=4,
)
events_st = st.lists(
    st.fixed_dictionaries(
        {
            "message": messages,
            "attrs": attr_maps,
            "ts": st.integers(0, 2**63 - 1),
            "ts_as": st.sampled_from(["string", "int"]),
            "sev": st.one_of(st.none(), st.integers(0, 6)),
            "thread": st.one_of(st.none(), st.sampled_from(["t1", "log_2", "7"])),
        }
    ),
    max_size=8,
)
_accounts = itertools.count()


def expected_message(message: str) -> str:
    if message.endswith("\r\n"):
        return message[:-2]
    return message.removesuffix("\n")


def test_events_round_trip_in_both_dialects_and_every_encoding(tmp_path: Path) -> None:
    with running(tmp_path) as api:

        @settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(
            generated=events_st,
            dialect=st.sampled_from(list(DIALECTS)),
            encoding=st.sampled_from(["deflate", "gzip", "zstd", "none"]),
        )
        def round_trip(generated: list[dict[str, Any]], dialect: str, encoding: str) -> None:
            name = f"prop-{next(_accounts)}"
            write, _ = new_account(api, name)
            events = []
            for g in generated:
                e: dict[str, Any] = {
                    "attrs": {**g["attrs"], "message": g["message"]},
                    "ts": str(g["ts"]) if g["ts_as"] == "string" else g["ts"],
                }
                if g["sev"] is not None:
                    e["sev"] = g["sev"]
                if g["thread"] is not None:
                    e["thread"] = g["thread"]
                events.append(e)
            body = request(*events, session=f"session-{name}", token=write,
                           sessionInfo={"serverHost": "prop-host"},
                           threads=[{"id": "t1", "name": "one"}], client_time=NOW // 10**9)
            data = DIALECTS[dialect](body)
            assert ok(post(api, data, encoding=encoding)) == len(data)

            rows = stored(api, name)
            assert [r.message for r in rows] == [expected_message(g["message"])
                                                 for g in generated]
            assert [r.attrs for r in rows] == [g["attrs"] for g in generated]
            assert [r.ts for r in rows] == [g["ts"] for g in generated]
            assert [r.severity for r in rows] == [
                3 if g["sev"] is None else g["sev"] for g in generated
            ]
            assert [r.thread for r in rows] == [g["thread"] for g in generated]
            assert all(r.server_host == "prop-host" for r in rows)

        round_trip()
        assert len(api.registry.list_accounts()) > 30  # "default" and one per example


def test_a_resend_that_stores_nothing_is_not_charged(api: Any) -> None:
    body = orjson.dumps({
        "token": api.write, "session": "s-charge",
        "events": [{"si": "file-1", "sn": 10, "attrs": {"message": "once"}}],
    })
    first = ok(api.client.post("/addEvents", content=body))
    assert first == len(body)
    assert ok(api.client.post("/addEvents", content=body)) == 0
