"""uploadLogs parameters (spec §1.1), each as a URL parameter and as a header."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e


def upload_one(server: Server, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """Upload one line; the stored match, with its session's fields under "session_fields"."""
    line = f"line {uuid.uuid4()}"
    response = server.upload(line, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    answer = server.query(filter=f'"{line}"', startTime=str(server.born_ns)).json()
    [match] = answer["matches"]
    assert match["message"] == line
    return {**match, "session_fields": answer["sessions"][match["session"]]}


@pytest.mark.parametrize(
    ("params", "headers", "server_host"),
    [
        ({"host": "web-1"}, {}, "web-1"),
        ({"server-host": "web-2"}, {}, "web-2"),
        ({}, {"server-host": "web-3"}, "web-3"),
        ({"host": "from-url"}, {"server-host": "from-header"}, "from-url"),
        # `Host` is HTTP's own header: it names the server, never the sender.
        ({}, {"Host": "spoofed.example"}, None),
        ({}, {}, None),
    ],
    ids=["url host", "url server-host", "header server-host", "url wins", "Host header",
         "none"],
)
def test_server_host(
    shared_server: Server, params: dict[str, str], headers: dict[str, str], server_host: str | None
) -> None:
    fields = upload_one(shared_server, params, headers)["session_fields"]
    assert fields.get("serverHost") == server_host
    assert fields["serverIP"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("params", "headers", "logfile", "parser"),
    [
        ({}, {}, "uploadLogs", "uploadLogs"),
        ({"logfile": "/var/log/app.log"}, {}, "/var/log/app.log", "uploadLogs"),
        ({}, {"logfile": "/var/log/hdr.log"}, "/var/log/hdr.log", "uploadLogs"),
        ({"parser": "accessLog"}, {}, "uploadLogs", "accessLog"),
        ({}, {"parser": "json"}, "uploadLogs", "json"),
        ({"logfile": "url.log", "parser": "p1"}, {"logfile": "hdr.log", "parser": "p2"},
         "url.log", "p1"),
    ],
    ids=["defaults", "url logfile", "header logfile", "url parser", "header parser",
         "url wins"],
)
def test_logfile_and_parser(
    shared_server: Server,
    params: dict[str, str],
    headers: dict[str, str],
    logfile: str,
    parser: str,
) -> None:
    match = upload_one(shared_server, params, headers)
    assert match["attributes"]["logfile"] == logfile
    assert match["attributes"]["parser"] == parser


@pytest.mark.parametrize(
    ("params", "headers", "expected"),
    [
        ({"server-region": "us-east-1"}, {}, {"region": "us-east-1"}),
        ({}, {"server-region": "eu-west-1"}, {"region": "eu-west-1"}),
        # The Lambda uploader's camel-case field as a URL parameter keeps its case; header
        # names are case-insensitive, so a field sent as a header arrives lower-cased.
        ({"server-logStream": "2026/03/01/abc"}, {}, {"logStream": "2026/03/01/abc"}),
        ({}, {"Server-Environment": "prod"}, {"environment": "prod"}),
        ({"server-a": "1", "server-b": "2"}, {"server-c": "3"}, {"a": "1", "b": "2", "c": "3"}),
    ],
    ids=["url", "header", "url keeps case", "header lower-cased", "several"],
)
def test_server_fields(
    shared_server: Server, params: dict[str, str], headers: dict[str, str], expected: dict[str, str]
) -> None:
    fields = upload_one(shared_server, params, headers)["session_fields"]
    assert fields == {
        **expected, "serverIP": "127.0.0.1", "session": fields["session"],
    }


@pytest.mark.parametrize("where", ["header", "url"])
def test_nonce(shared_server: Server, where: str) -> None:
    nonce = str(uuid.uuid4())
    params, headers = ({"Nonce": nonce}, {}) if where == "url" else ({}, {"Nonce": nonce})
    body = f"{nonce} once\n{nonce} only"
    first = shared_server.upload(body, params=params, headers=headers)
    again = shared_server.upload(body, params=params, headers=headers)
    assert first.json() == {"status": "success"}
    assert again.status_code == 200
    assert again.json()["status"] == "success"
    assert "duplicate nonce" in again.json()["message"]
    assert shared_server.messages(filter=nonce) == [f"{nonce} once", f"{nonce} only"]


def test_each_request_with_the_same_fields_shares_a_session(shared_server: Server) -> None:
    a = upload_one(shared_server, {"host": "web-1", "server-region": "x"}, {})
    b = upload_one(shared_server, {"host": "web-1", "server-region": "x"}, {})
    c = upload_one(shared_server, {"host": "web-2", "server-region": "x"}, {})
    assert a["session"] == b["session"] != c["session"]


def test_behind_a_reverse_proxy_on_the_same_host_server_ip_is_the_senders(
    shared_server: Server,
) -> None:
    # docs/operations.md: a proxy on 127.0.0.1 passes the real address in X-Forwarded-For.
    fields = upload_one(shared_server, {}, {"X-Forwarded-For": "203.0.113.7"})["session_fields"]
    assert fields["serverIP"] == "203.0.113.7"
