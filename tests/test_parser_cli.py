"""`millpond parser list | get | put | test` against a scripted server, and once against a real
app."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result
from starlette.exceptions import StarletteDeprecationWarning

from millpond import FixedClock, Settings, create_app
from millpond.cli import Runtime, main
from test_client_cli import ENV, NOW, TOKEN, FakeServer, ok, one_line_error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

MS = 1_000_000
PARSERS = {
    "status": "success",
    "paths": ["/logParsers/accessLog", "/logParsers/myApp", "/scalyr/alerts"],
    "parsers": [
        {"name": "accessLog", "defined": True, "builtin": True, "events": 12,
         "lastUsedDate": NOW // MS + 123},
        {"name": "json", "defined": False, "builtin": True, "events": 3,
         "lastUsedDate": NOW // MS - 3_600_000},
        {"name": "myApp", "defined": True, "builtin": False, "events": 0, "lastUsedDate": None},
        {"name": "uploadLogs", "defined": False, "builtin": False, "events": 40_000,
         "lastUsedDate": NOW // MS},
    ],
}
DEFINITION = '{\n  formats: ["$ip$ $user$ $text$"]\n}\n'


def run(
    transport: httpx.BaseTransport, *args: str, input: str | bytes | None = None,
    env: dict[str, str | None] | None = None, terminal: bool = False,
) -> Result:
    runtime = Runtime(transport=transport, clock=FixedClock(NOW), tz=dt.UTC, terminal=terminal)
    return CliRunner().invoke(
        main, list(args), obj=runtime, input=input, env={**ENV, **(env or {})}
    )


def scripted(server: FakeServer, *args: str, **kwargs: Any) -> Result:
    return run(httpx.MockTransport(server), *args, **kwargs)


# -- list ---------------------------------------------------------------------------------------


def test_list_is_a_table_of_names_definitions_events_and_last_use() -> None:
    server = FakeServer(PARSERS)
    out = ok(scripted(server, "parser", "list"))
    assert server.paths == ["/listFiles"]
    assert server.bodies == [{}]
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert out.splitlines() == [
        "NAME        DEFINITION  EVENTS  LAST USED",
        "accessLog   defined     12      2026-03-01 12:00:00.123",
        "json        builtin     3       2026-03-01 11:00:00.000",
        "myApp       defined     0       -",
        "uploadLogs  undefined   40000   2026-03-01 12:00:00.000",
    ]


def test_list_as_json_and_csv() -> None:
    out = ok(scripted(FakeServer(PARSERS), "parser", "list", "-o", "json"))
    assert [orjson.loads(line) for line in out.splitlines()] == PARSERS["parsers"]
    out = ok(scripted(FakeServer(PARSERS), "parser", "list", "-o", "csv"))
    assert out.splitlines() == [
        "name,definition,events,last_used",
        "accessLog,defined,12,2026-03-01T12:00:00.123000000Z",
        "json,builtin,3,2026-03-01T11:00:00.000000000Z",
        "myApp,defined,0,",
        "uploadLogs,undefined,40000,2026-03-01T12:00:00.000000000Z",
    ]


def test_list_with_no_parsers() -> None:
    answer = {"status": "success", "paths": [], "parsers": []}
    assert ok(scripted(FakeServer(answer), "parser", "list")) == "(none)\n"


# -- get ----------------------------------------------------------------------------------------


def file_answer(content: str) -> dict[str, Any]:
    return {"status": "success", "path": "/logParsers/myApp", "version": 4,
            "createDate": NOW // MS, "modDate": NOW // MS, "content": content,
            "stalenessSlop": 0}


def test_get_prints_the_definition_exactly() -> None:
    server = FakeServer(file_answer(DEFINITION), file_answer("{}"))
    assert ok(scripted(server, "parser", "get", "myApp")) == DEFINITION
    assert ok(scripted(server, "parser", "get", "myApp")) == "{}"  # piped: not even a newline
    assert server.paths == ["/getFile", "/getFile"]
    assert server.bodies[0] == {"path": "/logParsers/myApp"}


def test_get_ends_the_line_on_a_terminal() -> None:
    assert ok(scripted(FakeServer(file_answer("{}")), "parser", "get", "x", terminal=True)) == (
        "{}\n"
    )


def test_get_of_a_missing_parser_says_how_to_define_it() -> None:
    missing = {"status": "success/noSuchFile", "path": "/logParsers/nope"}
    server = FakeServer(missing)
    line = one_line_error(scripted(server, "parser", "get", "nope"), 2)
    assert "no parser file /logParsers/nope" in line
    assert "millpond parser put nope FILE" in line


def test_get_of_a_builtin_parser_says_it_has_no_file() -> None:
    missing = {"status": "success/noSuchFile", "path": "/logParsers/json"}
    line = one_line_error(scripted(FakeServer(missing), "parser", "get", "json"), 2)
    assert "json is a built-in parser" in line and "millpond parser put json FILE" in line


# -- put ----------------------------------------------------------------------------------------


def test_put_sends_the_file_and_prints_the_new_version(tmp_path: Path) -> None:
    definition = tmp_path / "myApp.conf"
    definition.write_text(DEFINITION, encoding="utf-8")
    server = FakeServer({"status": "success", "version": 5})
    out = ok(scripted(server, "parser", "put", "myApp", str(definition)))
    assert out == "saved /logParsers/myApp, version 5\n"
    assert server.paths == ["/putFile"]
    assert server.bodies == [{"path": "/logParsers/myApp", "content": DEFINITION}]


def test_put_reads_standard_input_for_a_dash() -> None:
    server = FakeServer({"status": "success", "version": 1})
    ok(scripted(server, "parser", "put", "web", "-", input="{formats: []}"))
    assert server.bodies == [{"path": "/logParsers/web", "content": "{formats: []}"}]


def test_put_prints_the_servers_complaint() -> None:
    complaint = ("parser 'web' formats: must be a list of formats, not 5 "
                 "(in /logParsers/web)")
    server = FakeServer((400, {"status": "error/client/badParam", "message": complaint}))
    result = scripted(server, "parser", "put", "web", "-", input="{formats: 5}")
    assert one_line_error(result, 2) == f"millpond: {complaint}"


def test_put_of_a_file_that_is_not_utf8() -> None:
    server = FakeServer()
    result = scripted(server, "parser", "put", "web", "-", input=b"\xff\xfe{}")
    assert "not UTF-8 text" in one_line_error(result, 2)
    assert server.requests == []


def test_a_version_mismatch_is_a_client_error() -> None:
    server = FakeServer((409, {"status": "error/client/versionMismatch",
                               "message": "/logParsers/web is at version 3"}))
    result = scripted(server, "parser", "put", "web", "-", input="{}")
    assert one_line_error(result, 2) == "millpond: /logParsers/web is at version 3"


@pytest.mark.parametrize(
    ("command", "kind"),
    [(("list",), "read-config"), (("get", "x"), "read-config"),
     (("put", "x", "-"), "write-config")],
)
def test_a_missing_token_names_the_kind_needed(command: tuple[str, ...], kind: str) -> None:
    server = FakeServer()
    result = scripted(server, "parser", *command, input="{}", env={"MILLPOND_TOKEN": None})
    line = one_line_error(result, 2)
    assert f"a {kind} token" in line and f"millpond token create --kind {kind}" in line
    assert "--token" in line and "MILLPOND_TOKEN" in line
    assert server.requests == []


def test_the_url_and_token_flags_apply() -> None:
    server = FakeServer(file_answer("{}"))
    ok(scripted(server, "parser", "get", "x", "--url", "http://10.1.2.3:9000", "--token", "t"))
    assert str(server.requests[0].url) == "http://10.1.2.3:9000/getFile"
    assert server.requests[0].headers["Authorization"] == "Bearer t"


# -- against the real API -----------------------------------------------------------------------


@pytest.fixture
def app_transport(tmp_path: Path) -> Iterator[tuple[httpx.MockTransport, dict[str, str]]]:
    """The in-process app behind a transport, and a token of each config kind."""
    app = create_app(Settings(data_dir=str(tmp_path)), clock=FixedClock(NOW))
    with TestClient(app) as client:
        registry = app.state.ctx.registry
        registry.create_account("default")
        tokens = {kind: registry.create_token(kind, "default", "test").secret
                  for kind in ("read-config", "write-config", "read-logs")}

        def forward(request: httpx.Request) -> httpx.Response:
            answer = client.request(request.method, request.url.path,
                                    content=request.content, headers=dict(request.headers))
            return httpx.Response(answer.status_code, content=answer.content,
                                  headers=answer.headers)

        yield httpx.MockTransport(forward), tokens


def test_put_get_and_list_against_the_server(
    app_transport: tuple[httpx.MockTransport, dict[str, str]]
) -> None:
    transport, tokens = app_transport
    write = {"MILLPOND_TOKEN": tokens["write-config"]}
    read = {"MILLPOND_TOKEN": tokens["read-config"]}
    out = ok(run(transport, "parser", "put", "myApp", "-", input="{}\n", env=write))
    assert out == "saved /logParsers/myApp, version 1\n"
    assert ok(run(transport, "parser", "put", "myApp", "-", input="{}", env=write)).endswith(
        "version 2\n"
    )
    assert ok(run(transport, "parser", "get", "myApp", env=read)) == "{}"
    assert ok(run(transport, "parser", "list", env=read)).splitlines() == [
        "NAME   DEFINITION  EVENTS  LAST USED",
        "myApp  defined     0       -",
    ]
    refused = run(transport, "parser", "put", "x", "-", input="{}", env=read)
    assert "may not write configuration" in one_line_error(refused, 2)
    missing = run(transport, "parser", "get", "nope", env=read)
    assert "no parser file /logParsers/nope" in one_line_error(missing, 2)


# -- test -----------------------------------------------------------------------------------------

ACCESS_LINE = ('203.0.113.9 - alice [02/Jan/2026:03:04:05 +0000] "GET /search?q=shoes HTTP/1.1" '
               '503 5120 "-" "curl/8"')


def test_test_runs_the_servers_definition_over_the_samples() -> None:
    server = FakeServer({"status": "success", "path": "/logParsers/myApp", "version": 2,
                         "content": '// mine\n{formats: ["$ip$ $user$ $text$"]}'})
    result = scripted(server, "parser", "test", "myApp", input="10.0.0.1 bob hello world\n")
    ok(result)
    assert server.bodies[0]["path"] == "/logParsers/myApp"
    assert result.output.splitlines() == [
        "line 1: 10.0.0.1 bob hello world",
        "  ip    10.0.0.1",
        "  user  bob",
        "  text  hello world",
    ]


def test_test_falls_back_to_the_built_in_parser() -> None:
    server = FakeServer({"status": "success/noSuchFile", "path": "/logParsers/accessLog"})
    result = scripted(server, "parser", "test", "accessLog", "--output", "json",
                      input=ACCESS_LINE + "\nnot an access log line\n")
    ok(result)
    first, second = (orjson.loads(line) for line in result.output.splitlines())
    assert first["fields"]["status"] == 503 and first["fields"]["uriQ"] == "shoes"
    assert first["timestamp"] == 1767323045 * 10**9 and first["line"] == 1
    assert second["fields"] == {"dataset": "accesslog"} and second["timestamp"] is None


def test_test_a_local_definition_without_a_server(tmp_path: Path) -> None:
    definition = tmp_path / "p.conf"
    definition.write_text(r'{formats: ["\\[$timestamp$\\] $severity$ $msg$"], '
                          r'lineGroupers: [{start: "^\\[", continueThrough: "^\\s"}]}')
    samples = tmp_path / "samples.log"
    samples.write_text("[2026-01-02T03:04:05Z] error disk full\n  at line 2\n"
                       "[2026-01-02T03:04:06Z] info ok\n")
    result = run(httpx.MockTransport(FakeServer()), "parser", "test", "x", str(samples),
                 "--definition", str(definition), env={"MILLPOND_TOKEN": None})
    ok(result)
    out = result.output
    assert out.startswith("line 1-2: [2026-01-02T03:04:05Z] error disk full\n  at line 2\n")
    lines = out.splitlines()
    assert "  (severity)  5 ERROR" in lines
    assert "line 3: [2026-01-02T03:04:06Z] info ok" in lines
    assert lines[-1] == "(3 lines made 2 events: lines were grouped or discarded)"


def test_test_of_an_unknown_parser_says_what_to_do() -> None:
    result = run(httpx.MockTransport(FakeServer()), "parser", "test", "nobody",
                 env={"MILLPOND_TOKEN": None}, input="x\n")
    assert result.exit_code != 0
    assert "no parser 'nobody'" in result.output and "--definition" in result.output


def test_test_of_a_broken_definition_names_the_problem(tmp_path: Path) -> None:
    definition = tmp_path / "bad.conf"
    definition.write_text('{formats: ["$status=digit$"]}')
    result = run(httpx.MockTransport(FakeServer()), "parser", "test", "x", "--definition",
                 str(definition), env={"MILLPOND_TOKEN": None}, input="1\n")
    assert result.exit_code == 2
    assert "digit" in result.output
