"""Parsers end to end (spec §5): lines uploaded with `parser=…` are searched, faceted and graphed
by the fields the parser extracted, on a real `millpond serve`."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import zlib
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e

PATHS = ["/", "/login", "/api/v1/items", "/api/v1/orders", "/static/app.js"]


def clf(when: dt.datetime) -> str:
    return when.strftime("%d/%b/%Y:%H:%M:%S +0000")


def access_lines(word: str, n: int, now: dt.datetime) -> list[tuple[str, int, str]]:
    """(line, status, path): Apache combined lines, a tenth of them 5xx."""
    out = []
    for i in range(n):
        status = [200, 200, 304, 404, 503, 200, 201, 200, 302, 500][i % 10]
        path = PATHS[i % len(PATHS)]
        when = now - dt.timedelta(seconds=n - i)
        line = (f'10.0.{i % 7}.{i % 250 + 1} - alice [{clf(when)}] "GET {path}?q={word}&'
                f'page={i} HTTP/1.1" {status} {100 + i} "https://example.com/{word}" '
                '"curl/8.5.0"')
        out.append((line, status, path))
    return out


def config_token(server: Server) -> str:
    made = server.cli("token", "create", "--kind", "write-config")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"].startswith("success"), body
    return body


def test_access_logs_are_searched_faceted_and_graphed_by_their_fields(server: Server) -> None:
    word = "acc" + secrets.token_hex(4)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lines = access_lines(word, 200, now)
    body = "\n".join(line for line, _, _ in lines)
    params = {"parser": "accessLog", "logfile": "/var/log/nginx/access.log"}
    assert server.upload(body, params=params).json() == {"status": "success"}

    # The events carry the lines' own times, from before the server started.
    hour_ago = time.time_ns() - 3600 * 10**9
    found = server.events(filter=f"{word} $status >= 500", since_ns=hour_ago)
    assert sorted(m["message"] for m in found) == sorted(
        line for line, status, _ in lines if status >= 500
    )
    match = found[0]
    attrs = match["attributes"]
    assert attrs["method"] == "GET" and attrs["status"] >= 500
    assert attrs["uriPath"] in PATHS and attrs["uriQ"] == word
    assert attrs["ip"].startswith("10.0.") and attrs["authUser"] == "alice"
    assert attrs["agent"] == "curl/8.5.0" and attrs["dataset"] == "accesslog"
    # the event's time is the line's, not the upload's
    by_message = {line: when for (line, _, _), when in zip(lines, range(200), strict=True)}
    first = min(found, key=lambda m: by_message[m["message"]])
    expected = now - dt.timedelta(seconds=200 - by_message[first["message"]])
    assert int(first["timestamp"]) == int(expected.timestamp()) * 10**9

    facet = ok(server.client.post("/api/facetQuery", json={
        "token": server.read_token, "field": "uriPath", "filter": word, "startTime": "1h",
    }))
    counts = {v["value"]: v["count"] for v in facet["values"]}
    assert counts == {path: 40 for path in PATHS}

    numeric = ok(server.client.post("/api/numericQuery", json={
        "token": server.read_token, "filter": f"{word} $status == 404", "function": "count",
        "startTime": "1h", "buckets": 1,
    }))
    assert numeric["values"] == [20]


def test_a_parser_put_with_putfile_applies_to_new_uploads(server: Server) -> None:
    token = config_token(server)
    word = "own" + secrets.token_hex(4)
    put = ok(server.client.post("/api/putFile", json={
        "token": token, "path": "/logParsers/orders",
        "content": '// orders service\n{ attributes: {service: "orders"},\n'
                   '  formats: ["$word$ order=$order$ amount=$amount$ "\n'
                   '            + "took=$took{parse=milliseconds}$"] }',
    }))
    assert put["status"] == "success"
    assert ok(server.upload(f"{word} order=A1 amount=12.5 took=1.5s\n{word} unparsed",
                            params={"parser": "orders"}))
    events = server.events(filter=f"{word} $amount > 10")
    assert [e["message"] for e in events] == [f"{word} order=A1 amount=12.5 took=1.5s"]
    assert events[0]["attributes"]["service"] == "orders"
    assert events[0]["attributes"]["took"] == 1500

    # a new version replaces the compiled one at once
    ok(server.client.post("/api/putFile", json={
        "token": token, "path": "/logParsers/orders",
        "content": '{ formats: ["$word$ order=$orderId$ amount=$total$"] }',
    }))
    server.upload(f"{word} order=B2 amount=99", params={"parser": "orders"})
    (event,) = server.events(filter=f"{word} $orderId == 'B2'")
    assert event["attributes"]["total"] == 99


def test_an_invalid_parser_is_refused_with_what_is_wrong(server: Server) -> None:
    token = config_token(server)
    response = server.client.post("/api/putFile", json={
        "token": token, "path": "/logParsers/broken",
        "content": '{ formats: ["$status=digit$"] }',
    })
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error/client/badParam"
    assert "digit" in body["message"]


def test_unknown_parser_names_store_lines_unparsed_and_are_listed(server: Server) -> None:
    token = config_token(server)
    word = "unk" + secrets.token_hex(4)
    server.upload(f"{word} status=500", params={"parser": "notDefinedYet"})
    (event,) = server.events(filter=word)
    assert "status" not in event.get("attributes", {})
    listed = ok(server.client.post("/api/listFiles", json={"token": token}))
    names = {p["name"]: p for p in listed["parsers"]}
    assert names["notDefinedYet"]["defined"] is False
    assert names["notDefinedYet"]["builtin"] is False


def test_the_agents_events_are_parsed_by_their_logs_parser(server: Server) -> None:
    word = "agt" + secrets.token_hex(4)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lines = [line for line, _, _ in access_lines(word, 10, now)]
    body = {
        "token": server.write_token, "session": "s-" + word,
        "sessionInfo": {"serverHost": "web-7"},
        "logs": [{"id": "1", "attrs": {"parser": "accessLog", "logfile": "/var/log/access.log"}}],
        "events": [{"log": "1", "thread": "1", "ts": str(time.time_ns()), "si": "S", "sn": i,
                    "attrs": {"message": line + "\n"}} for i, line in enumerate(lines)],
    }
    response = server.client.post("/addEvents", content=zlib.compress(json.dumps(body).encode()),
                                  headers={"Content-Encoding": "deflate"})
    assert response.json()["status"] == "success", response.text
    found = server.events(filter=f"{word} $status >= 500", since_ns=time.time_ns() - 3600 * 10**9)
    assert len(found) == 2
    assert {e["attributes"]["logfile"] for e in found} == {"/var/log/access.log"}
