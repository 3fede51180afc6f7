"""The UI's endpoints in-process (no browser): sign-in and its cookie, CSRF, permissions,
revocation, the JSON the search page reads, live tail's stream, usage and parser saving."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from millpond import FixedClock, Settings, create_app
from millpond.accounts import Registry
from millpond.ui.headers import CSP

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

S = 1_000_000_000
NOW = 1_772_366_400 * S  # 2026-03-01T12:00:00Z
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Ui:
    app: Any
    registry: Registry
    clock: FixedClock
    write: str
    tmp: Path

    def client(self) -> TestClient:
        """Another browser: a client with cookies of its own (its lifespan not entered, since
        the app is already running)."""
        return TestClient(self.app, base_url="http://testserver")

    def token(self, kind: str, account: str = "default") -> str:
        return self.registry.create_token(kind, account, "test").secret

    def upload(self, client: TestClient, body: str, **params: str) -> None:
        response = client.post("/api/uploadLogs", params={"token": self.write, **params},
                               content=body.encode())
        assert response.status_code == 200, response.text
        self.clock.advance(1)


@contextmanager
def running(tmp_path: Path, **settings: Any) -> Iterator[tuple[Ui, TestClient]]:
    clock = FixedClock(NOW)
    app = create_app(Settings(data_dir=str(tmp_path), **settings), clock=clock)
    with TestClient(app) as client:
        registry: Registry = app.state.ctx.registry
        registry.create_account("default")
        write = registry.create_token("write-logs", "default", "test").secret
        yield Ui(app, registry, clock, write, tmp_path), client


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[tuple[Ui, TestClient]]:
    with running(tmp_path) as pair:
        yield pair


def sign_in(client: TestClient, token: str) -> str:
    """Sign in; the page's CSRF token."""
    form = client.get("/login")
    csrf = CSRF_FIELD.search(form.text)
    assert csrf, form.text
    done = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get("/")
    assert page.status_code == 200
    meta = CSRF_META.search(page.text)
    assert meta and meta.group(1)
    return meta.group(1)


# -- sign-in and the cookie -------------------------------------------------------------------


def test_signing_in_sets_a_strict_http_only_cookie_holding_no_secret(
    ui: tuple[Ui, TestClient],
) -> None:
    app, client = ui
    token = app.token("read-logs")
    form = client.get("/login")
    csrf = CSRF_FIELD.search(form.text)
    assert csrf
    done = client.post("/login", data={"csrf": csrf.group(1), "token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookie = next(c for c in done.headers.get_list("set-cookie")
                  if c.startswith("millpond_session="))
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain HTTP
    value = cookie.split(";")[0].split("=", 1)[1]
    record = next(t for t in app.registry.list_tokens() if t.kind == "read-logs")
    assert token not in value and record.hash not in value
    payload = orjson.loads(httpx_b64(value.split(".")[0]))
    assert payload[1:4] == [record.id, record.account_id, "read-logs"]


def httpx_b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_cookie_is_secure_when_serving_https(tmp_path: Path) -> None:
    with running(tmp_path, tls_cert="cert.pem", tls_key="key.pem") as (app, client):
        token = app.token("read-logs")
        form = client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()
        csrf = CSRF_FIELD.search(form.text)
        assert csrf
        done = client.post("/login", data={"csrf": csrf.group(1), "token": token},
                           follow_redirects=False)
        assert "; secure" in done.headers["set-cookie"].lower()


def test_the_key_is_made_in_the_data_directory_only_when_the_ui_is_used(
    ui: tuple[Ui, TestClient],
) -> None:
    app, client = ui
    key = app.tmp / "ui-session.key"
    client.post("/api/query", json={"token": app.write})
    assert not key.exists()
    client.get("/login")
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_page_without_a_session_goes_to_sign_in_and_comes_back(
    ui: tuple[Ui, TestClient],
) -> None:
    _, client = ui
    response = client.get("/usage?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fusage%3Fx%3D1"
    api = client.get("/ui/api/search")
    assert api.status_code == 401 and api.json()["status"] == "error/client/noPermission"


def test_a_revoked_tokens_session_stops_working(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    token = app.token("write-config")
    sign_in(client, token)
    assert client.get("/keys").status_code == 200
    record = next(t for t in app.registry.list_tokens() if t.kind == "write-config")
    app.registry.revoke_token(record.id)
    assert client.get("/keys", follow_redirects=False).status_code == 303
    assert client.get("/ui/api/search").status_code == 401


def test_a_session_ends_after_twelve_hours(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    sign_in(client, app.token("read-logs"))
    app.clock.advance(12 * 3600 - 1)
    assert client.get("/", follow_redirects=False).status_code == 200
    app.clock.advance(1)
    assert client.get("/", follow_redirects=False).status_code == 303


# -- CSRF, CSP, permissions ---------------------------------------------------------------------


def test_changes_without_the_sessions_csrf_token_are_refused(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    csrf = sign_in(client, app.token("write-config"))
    before = len(app.registry.list_tokens())
    for data in ({"kind": "read-logs"}, {"kind": "read-logs", "csrf": "forged"}):
        refused = client.post("/keys", data=data)
        assert refused.status_code == 403
        assert "CSRF token" in refused.text
        assert refused.headers["content-security-policy"] == CSP
    # A token of another session (another browser) is no good here either.
    other_csrf = sign_in(app.client(), app.token("write-config"))
    assert client.post("/keys", data={"kind": "read-logs", "csrf": other_csrf}).status_code == 403
    assert len(app.registry.list_tokens()) == before + 1  # only the other browser's token
    assert client.post("/parsers/x", data={"content": "{}", "version": "0",
                                           "action": "save"}).status_code == 403
    assert client.post("/ui/api/parsers/try", json={"name": "json", "lines": "{}"}
                       ).status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    made = client.post("/keys", data={"kind": "read-logs", "label": "ok", "csrf": csrf})
    assert made.status_code == 200 and "shown only this once" in made.text
    assert made.headers["cache-control"] == "no-store"
    assert client.post("/ui/api/parsers/try", json={"name": "json", "lines": '{"a": 1}'},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False
                       ).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_sign_in_form_from_elsewhere_does_nothing(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    response = client.post("/login", data={"token": app.token("read-logs")})
    assert response.status_code == 403
    assert "millpond_session" not in response.headers.get("set-cookie", "")
    assert "out of date" in response.text


@pytest.mark.parametrize(
    "path", ["/", "/login", "/keys", "/parsers", "/parsers/json", "/usage", "/ui/api/search",
             "/ui/api/histogram", "/ui/api/facets", "/ui/static/app.css",
             "/ui/static/search.js", "/ui/static/vendor/uplot/uPlot.iife.min.js",
             "/ui/static/nope.js"],
)
def test_every_ui_response_carries_the_security_headers(
    ui: tuple[Ui, TestClient], path: str
) -> None:
    app, client = ui
    sign_in(client, app.token("write-config"))
    response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    if not path.startswith("/ui/static/"):
        assert response.headers["cache-control"] == "no-store"


def test_no_page_has_an_inline_script_or_style(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    sign_in(client, app.token("write-config"))
    for path in ("/", "/login", "/keys", "/parsers", "/parsers/json", "/usage"):
        html = client.get(path).text
        assert "<style" not in html and " style=" not in html and "javascript:" not in html
        for script in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S):
            assert script == ""
        for src in re.findall(r'<script src="([^"]+)"', html):
            assert src.startswith("/ui/static/")


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("read-logs", {"/", "/usage"}),
        ("read-config", {"/", "/usage", "/parsers", "/parsers/json"}),
        ("write-config", {"/", "/usage", "/parsers", "/parsers/json", "/keys"}),
    ],
)
def test_what_each_kind_of_token_may_open(
    ui: tuple[Ui, TestClient], kind: str, allowed: set[str]
) -> None:
    app, client = ui
    sign_in(client, app.token(kind))
    for path in ("/", "/usage", "/parsers", "/parsers/json", "/keys"):
        status = client.get(path).status_code
        assert status == (200 if path in allowed else 403), (path, status)


def test_a_write_logs_token_cannot_sign_in(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    form = client.get("/login")
    csrf = CSRF_FIELD.search(form.text)
    assert csrf
    refused = client.post("/login", data={"csrf": csrf.group(1), "token": app.write})
    assert refused.status_code == 403
    assert "This is a write-logs token: it can only send logs" in refused.text


# -- the search page's JSON ---------------------------------------------------------------------


def test_search_histogram_and_facets_answer_for_the_signed_in_account_only(
    ui: tuple[Ui, TestClient],
) -> None:
    app, client = ui
    app.registry.create_account("other")
    other_write = app.token("write-logs", "other")
    client.post("/api/uploadLogs", params={"token": other_write}, content=b"secret of other")
    app.upload(client, "GET /a status=200\nGET /b status=503\nGET /c status=503",
               host="web-1", parser="keyValue")
    sign_in(client, app.token("read-logs"))
    found = client.get("/ui/api/search", params={"filter": "status >= 500"}).json()
    assert [m["message"] for m in found["matches"]] == ["GET /c status=503", "GET /b status=503"]
    row = found["matches"][0]
    assert row["host"] == "web-1" and row["severity"] == 3 and row["logfile"] == "uploadLogs"
    assert ["status", "503", "status == 503"] in row["attributes"]
    assert ["serverHost", "web-1", 'serverHost == "web-1"'] in row["sessionFields"]
    assert found["filter"] == {"text": "status >= 500", "or": False}
    assert int(found["range"]["end"]) - int(found["range"]["start"]) == 86_400 * S
    everything = client.get("/ui/api/search").json()["matches"]
    assert "secret of other" not in [m["message"] for m in everything]

    histogram = client.get("/ui/api/histogram", params={
        "start": found["range"]["start"], "end": found["range"]["end"], "buckets": 24}).json()
    assert len(histogram["counts"]) == 24 and sum(histogram["counts"]) == 3

    facets = client.get("/ui/api/facets", params={"fields": "status"}).json()
    assert facets["matchCount"] == 3
    by_field = {f["field"]: f["values"] for f in facets["facets"]}
    assert [f["field"] for f in facets["facets"]] == [
        "serverHost", "logfile", "parser", "severity", "status"]
    assert by_field["status"] == [
        {"value": "503", "count": 2, "clause": 'status == "503"'},
        {"value": "200", "count": 1, "clause": 'status == "200"'},
    ]
    assert by_field["severity"][0]["clause"] == "severity == 3"
    # Every facet's clause selects exactly what it counted.
    for name, values in by_field.items():
        for value in values:
            matches = client.get("/ui/api/search", params={"filter": value["clause"]}).json()
            assert len(matches["matches"]) == value["count"], (name, value)


def test_search_pages_through_older_results(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    app.upload(client, "\n".join(f"line {i:03d}" for i in range(250)))
    sign_in(client, app.token("read-logs"))
    seen: list[str] = []
    params: dict[str, str] = {"filter": "line"}
    while True:
        page = client.get("/ui/api/search", params=params).json()
        seen += [m["message"] for m in page["matches"]]
        if "continuationToken" not in page:
            break
        params["continuationToken"] = page["continuationToken"]
    assert seen == [f"line {i:03d}" for i in reversed(range(250))]
    wrong = client.get("/ui/api/search", params={
        "filter": "other", "continuationToken": params["continuationToken"]})
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "a )"}, "filter: unexpected ')' at column 3; there is no '(' to close"),
        ({"filter": "x =~ 'y'"}, "filter: unknown operator '=~' at column 3"),
        ({"start": "yesterday-ish"}, "startTime 'yesterday-ish' is not a time"),
        ({"start": "1h", "end": "2h"}, "endTime is before startTime"),
    ],
)
def test_a_bad_search_is_a_400_with_the_apis_message(
    ui: tuple[Ui, TestClient], params: dict[str, str], message: str
) -> None:
    app, client = ui
    sign_in(client, app.token("read-logs"))
    for path in ("/ui/api/search", "/ui/api/histogram", "/ui/api/facets"):
        response = client.get(path, params=params)
        assert response.status_code == 400
        assert response.json()["message"].startswith(message)


def test_live_tail_streams_what_arrives_after_it_starts(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    app.upload(client, "tailme old")
    sign_in(client, app.token("read-logs"))
    with client.stream("GET", "/ui/api/tail", params={"filter": "tailme"}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["content-security-policy"] == CSP
        lines = stream.iter_lines()
        assert next(lines) == "retry: 500"
        ready_id = next(lines)
        assert ready_id.startswith("id: ")
        assert next(lines) == "event: ready"
        app.upload(client, "tailme new\nnot this")
        for line in lines:
            if line.startswith("data: {\"matches\""):
                rows = orjson.loads(line.removeprefix("data: "))["matches"]
                break
        else:
            raise AssertionError("no matches event")
    assert [r["message"] for r in rows] == ["tailme new"]
    # Reconnecting from the ready event's id gives the same line again: nothing is missed.
    with client.stream("GET", "/ui/api/tail", params={"filter": "tailme"},
                       headers={"Last-Event-ID": ready_id.removeprefix("id: ")}) as again:
        for line in again.iter_lines():
            if line.startswith("data: {\"matches\""):
                assert "tailme new" in line
                break


# -- usage and parsers --------------------------------------------------------------------------


def test_usage_shows_todays_bytes_and_events_against_the_quota(tmp_path: Path) -> None:
    with running(tmp_path, daily_quota_bytes=1000) as (app, client):
        app.upload(client, "x" * 100 + "\n" + "y" * 150)
        sign_in(client, app.token("read-logs"))
        page = client.get("/usage").text
        assert "2026-03-01" in page and "today" in page
        assert re.search(r'<meter min="0" max="1000"[^>]* value="(\d+)"', page)
        value = int(re.search(r'value="(\d+)"', page.split("<meter")[1]).group(1))  # type: ignore[union-attr]
        assert value == app.app.state.ctx.store.bytes_ingested(1, NOW // (86_400 * S))
        assert value >= 250
        assert "<td class=\"num\">2</td>" in page  # events


def test_saving_a_parser_over_a_newer_version_is_refused_inline(
    ui: tuple[Ui, TestClient],
) -> None:
    app, client = ui
    csrf = sign_in(client, app.token("write-config"))
    form = {"csrf": csrf, "version": "0", "action": "save", "content": '{formats: ["$a$"]}'}
    assert client.post("/parsers/web", data=form, follow_redirects=False).status_code == 303
    stale = client.post("/parsers/web", data={**form, "content": '{formats: ["$b$"]}'})
    assert stale.status_code == 409
    assert "expectedVersion" in stale.text or "version" in stale.text
    assert "$b$" in stale.text  # the edit is still in the editor
    deleted = client.post("/parsers/web", data={**form, "version": "1", "action": "delete"},
                          follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/parsers?deleted=web"
    assert app.app.state.ctx.store.get_file(1, "/logParsers/web") is None


def test_trying_a_parser_returns_each_events_fields(ui: tuple[Ui, TestClient]) -> None:
    app, client = ui
    csrf = sign_in(client, app.token("read-config"))
    answer = client.post("/ui/api/parsers/try", headers={"X-CSRF-Token": csrf}, json={
        "name": "kv", "definition": '{formats: ["$user$ did $n=digits$"]}',
        "lines": "alice did 3\n\nbob did x\n"}).json()
    assert answer["lineCount"] == 2
    assert [e["fields"] for e in answer["events"]] == [[["user", "alice"], ["n", "3"]], []]
    bad = client.post("/ui/api/parsers/try", headers={"X-CSRF-Token": csrf}, json={
        "name": "kv", "definition": "{formats: [", "lines": "x"})
    assert bad.status_code == 400 and "kv" in bad.json()["message"]


def test_api_clients_see_no_change(ui: tuple[Ui, TestClient]) -> None:
    _, client = ui
    assert client.get("/health").json() == {"status": "success"}
    missing = client.get("/api/nope")
    assert missing.status_code == 404 and missing.json()["status"] == "error/client/notFound"
    assert client.post("/api/query", json={"token": "bad"}).status_code == 401
