"""The HTTP API in-process: uploadLogs (spec §1), /api/query (§3.3) and the envelope (§0.5)."""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from compressors import COMPRESSORS, raw_deflate
from starlette.exceptions import StarletteDeprecationWarning

from millpond import FixedClock, Settings, create_app
from millpond.accounts import Registry

with warnings.catch_warnings():
    # Starlette 1.x would rather its TestClient ran on httpx2; on httpx it works the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

S = 1_000_000_000
NOW = 1_772_366_400 * S  # 2026-03-01T12:00:00Z


@dataclass
class Api:
    client: TestClient
    registry: Registry
    clock: FixedClock
    write: str
    read: str

    def token(self, kind: str, account: str = "default") -> str:
        return self.registry.create_token(kind, account, "test").secret

    def upload(
        self,
        body: bytes | str = b"hello",
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/api/uploadLogs",
    ) -> httpx.Response:
        query = {"token": token or self.write, **(params or {})}
        content = body.encode() if isinstance(body, str) else body
        return self.client.post(path, params=query, content=content, headers=headers)

    def query(self, token: str | None = None, **params: Any) -> dict[str, Any]:
        """POST /api/query a moment later, expecting success."""
        self.clock.advance(1)
        response = self.client.post("/api/query", json={"token": token or self.read, **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "success"
        return body

    def messages(self, token: str | None = None, **params: Any) -> list[str]:
        return [m["message"] for m in self.query(token, **params)["matches"]]


@contextmanager
def running(tmp_path: Path, **settings: Any) -> Iterator[Api]:
    clock = FixedClock(NOW)
    app = create_app(Settings(data_dir=str(tmp_path), **settings), clock=clock)
    with TestClient(app) as client:
        registry: Registry = app.state.ctx.registry
        registry.create_account("default")
        write = registry.create_token("write-logs", "default", "test").secret
        read = registry.create_token("read-logs", "default", "test").secret
        yield Api(client, registry, clock, write, read)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running(tmp_path) as api:
        yield api


def assert_error(response: httpx.Response, http: int, status: str) -> dict[str, Any]:
    assert response.status_code == http, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- basics -------------------------------------------------------------------------------------


def test_health(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "success"}


def test_an_unknown_path_is_404_in_the_envelope(api: Api) -> None:
    body = assert_error(api.client.get("/api/nope"), 404, "error/client/notFound")
    assert "/api/nope" in body["message"] and "/api/uploadLogs" in body["message"]


# -- uploadLogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/uploadLogs", "/uploadLogs"])
def test_upload_then_read_back(api: Api, path: str) -> None:
    response = api.upload("hello, world", path=path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "success"}
    assert api.messages() == ["hello, world"]


def test_the_token_may_come_as_a_bearer_header(api: Api) -> None:
    response = api.client.post(
        "/api/uploadLogs", content=b"via bearer", headers={"Authorization": f"Bearer {api.write}"}
    )
    assert response.json() == {"status": "success"}
    assert api.messages() == ["via bearer"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json", "x/y"])
def test_any_content_type_is_fine(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert api.upload("typed", headers=headers).status_code == 200


def test_uploading_needs_a_token(api: Api) -> None:
    response = api.client.post("/api/uploadLogs", content=b"anonymous")
    body = assert_error(response, 401, "error/client/noPermission")
    assert "token" in body["message"]
    assert api.client.post("/api/uploadLogs?token=", content=b"x").status_code == 401


def test_an_unknown_token_is_401(api: Api) -> None:
    assert_error(api.upload(token="made-up"), 401, "error/client/noPermission")
    response = api.client.post(
        "/api/uploadLogs", content=b"x", headers={"Authorization": "Bearer made-up"}
    )
    assert_error(response, 401, "error/client/noPermission")


@pytest.mark.parametrize("kind", ["read-logs", "read-config", "write-config"])
def test_only_a_write_logs_token_may_upload(api: Api, kind: str) -> None:
    body = assert_error(api.upload(token=api.token(kind)), 403, "error/client/noPermission")
    assert "write-logs" in body["message"]
    assert api.messages() == []


def test_a_revoked_token_stops_working(api: Api) -> None:
    record = next(t for t in api.registry.list_tokens() if t.kind == "write-logs")
    api.registry.revoke_token(record.id)
    assert_error(api.upload(), 401, "error/client/noPermission")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/api/uploadLogs", "/uploadLogs"])
def test_upload_accepts_only_post(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, f"{path}?token={api.write}")
    body = assert_error(response, 405, "error/client/methodNotAllowed")
    assert method in body["message"] and "POST" in body["message"]


@pytest.mark.parametrize("form", ["url", "header"])
def test_every_parameter_reaches_the_query_output(api: Api, form: str) -> None:
    values = {
        "logfile": "/var/log/app.log",
        "parser": "webParser",
        "server-region": "eu-west-1",
        "server-env": "prod",
    }
    if form == "url":
        response = api.upload("line", params={"host": "web-1", **values})
    else:
        response = api.upload("line", headers={"server-host": "web-1", **values})
    assert response.status_code == 200, response.text

    body = api.query()
    (match,) = body["matches"]
    assert match["attributes"] == {"logfile": "/var/log/app.log", "parser": "webParser"}
    assert body["sessions"][match["session"]] == {
        "serverHost": "web-1",
        "region": "eu-west-1",
        "env": "prod",
        "serverIP": "testclient",
        "session": match["session"],
    }


def test_defaults_when_no_parameter_is_given(api: Api) -> None:
    api.upload("plain")
    body = api.query()
    (match,) = body["matches"]
    assert match["attributes"] == {"logfile": "uploadLogs", "parser": "uploadLogs"}
    session = body["sessions"][match["session"]]
    assert "serverHost" not in session  # not the HTTP Host header ("testserver")
    assert session["serverIP"] == "testclient"


def test_url_beats_header_and_case_of_server_fields(api: Api) -> None:
    api.upload(
        "line",
        params={"host": "from-url", "server-Region": "url-case"},
        headers={"server-host": "from-header", "server-Zone": "header-case"},
    )
    body = api.query()
    session = body["sessions"][body["matches"][0]["session"]]
    assert session["serverHost"] == "from-url"
    assert session["Region"] == "url-case"
    assert session["zone"] == "header-case"


def test_uploads_from_the_same_sender_share_a_session(api: Api) -> None:
    api.upload("one", params={"host": "web-1"})
    api.upload("two", params={"host": "web-1"})
    api.upload("three", params={"host": "web-2"})
    body = api.query()
    sessions = [m["session"] for m in body["matches"]]
    assert sessions[0] == sessions[1] != sessions[2]
    assert set(body["sessions"]) == set(sessions)


@pytest.mark.parametrize(
    "body",
    [
        b"one\ntwo\nthree",
        b"one\rtwo\rthree",
        b"one\r\ntwo\r\nthree\r\n",
        b"one\n\ntwo\r\n\r\nthree\n",
    ],
    ids=["LF", "CR", "CRLF", "empty lines"],
)
def test_line_breaks(api: Api, body: bytes) -> None:
    assert api.upload(body).status_code == 200
    assert api.messages() == ["one", "two", "three"]


def test_lines_of_one_request_keep_their_order_one_nanosecond_apart(api: Api) -> None:
    api.upload("a\nb\nc")
    api.upload("d")
    stamps = [int(m["timestamp"]) for m in api.query()["matches"]]
    assert stamps[:3] == [NOW, NOW + 1, NOW + 2]
    assert stamps[3] > stamps[2]


def test_an_empty_body_stores_nothing_and_says_so(api: Api) -> None:
    response = api.upload(b"\r\n\n")
    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert "nothing was stored" in response.json()["message"]
    assert api.messages() == []


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {**COMPRESSORS, "identity": bytes, "none": bytes}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_compressed_bodies(api: Api, encoding: str) -> None:
    body = ENCODINGS[encoding](b"first\nsecond\n")
    response = api.upload(body, headers={"Content-Encoding": encoding})
    assert response.status_code == 200, response.text
    assert api.messages() == ["first", "second"]


def test_raw_deflate_is_accepted_too(api: Api) -> None:
    api.upload(raw_deflate(b"raw\n"), headers={"Content-Encoding": "deflate"})
    assert api.messages() == ["raw"]


def test_an_unknown_encoding_is_415(api: Api) -> None:
    response = api.upload(b"data", headers={"Content-Encoding": "br"})
    assert_error(response, 415, "error/client/badParam")


def test_corrupt_compressed_data_is_400_and_stores_nothing(api: Api) -> None:
    truncated = gzip.compress(b"one\ntwo\n")[:-6]
    response = api.upload(truncated, headers={"Content-Encoding": "gzip"})
    assert_error(response, 400, "error/client/badParam")
    assert api.messages() == []


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with running(tmp_path, max_body_bytes=100) as api:
        assert api.upload(b"x" * 100).status_code == 200
        body = assert_error(api.upload(b"x" * 101), 413, "error/client/requestTooLarge")
        assert "100 bytes" in body["message"]
        # Small on the wire, too large once decompressed.
        bomb = gzip.compress(b"y" * 10_000)
        assert len(bomb) < 100
        response = api.upload(bomb, headers={"Content-Encoding": "gzip"})
        assert_error(response, 413, "error/client/requestTooLarge")
        assert api.messages() == ["x" * 100]


def test_a_line_over_the_limit_is_400_and_nothing_of_the_request_is_stored(
    tmp_path: Path,
) -> None:
    with running(tmp_path, max_line_bytes=10) as api:
        response = api.upload(b"short\n" + b"y" * 11 + b"\nshort\n")
        body = assert_error(response, 400, "error/client/badParam")
        assert "line 2" in body["message"]
        assert api.messages() == []


def test_past_the_daily_quota_is_429_until_midnight(tmp_path: Path) -> None:
    with running(tmp_path, daily_quota_bytes=20) as api:
        assert api.upload(b"0123456789\n").status_code == 200  # 11 bytes
        response = api.upload(b"0123456789")  # 10 more: 21 > 20
        body = assert_error(response, 429, "error/server/backoff")
        assert "quota" in body["message"]
        assert 43_200 <= int(response.headers["Retry-After"]) <= 43_201  # NOW is noon UTC
        assert api.upload(b"012345678").status_code == 200  # 20: exactly the quota
        api.clock.advance(12 * 3600)  # midnight
        assert api.upload(b"a new day").status_code == 200
        assert api.messages() == ["0123456789", "012345678", "a new day"]


def test_over_the_request_rate_is_429(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit=1, rate_burst=2) as api:
        assert api.upload("one").status_code == 200
        assert api.upload("two").status_code == 200
        response = api.upload("three")
        body = assert_error(response, 429, "error/server/backoff")
        assert "rate" in body["message"]
        assert response.headers["Retry-After"] == "1"
        api.clock.advance(1)
        assert api.upload("four").status_code == 200
        assert api.upload("five").status_code == 429
        # another account has its own bucket
        api.registry.create_account("other")
        assert api.upload("elsewhere", token=api.token("write-logs", "other")).status_code == 200
        assert api.messages() == ["one", "two", "four"]


def test_always200_puts_the_error_in_the_body(api: Api) -> None:
    headers = {"errorStatus": "always200"}
    response = api.upload(token="made-up", headers=headers)
    assert response.status_code == 200
    assert response.json()["status"] == "error/client/noPermission"
    assert response.json()["__status"] == 401
    assert response.json()["message"]

    response = api.client.post("/api/query", json={"token": "made-up"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["__status"] == 401

    response = api.client.get("/api/nowhere", headers=headers)
    assert (response.status_code, response.json()["__status"]) == (200, 404)

    response = api.upload(headers=headers)
    assert response.json() == {"status": "success"}


def test_always200_keeps_retry_after(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit=1, rate_burst=1) as api:
        api.upload()
        response = api.upload(headers={"errorStatus": "always200"})
        assert response.status_code == 200
        assert response.json()["status"] == "error/server/backoff"
        assert response.json()["__status"] == 429
        assert response.headers["Retry-After"] == "1"


def test_a_repeated_nonce_is_acknowledged_and_not_stored_again(api: Api) -> None:
    first = api.upload("original", headers={"Nonce": "abc-1"})
    assert first.json() == {"status": "success"}
    again = api.upload("retry", headers={"Nonce": "abc-1"})
    assert again.status_code == 200
    assert again.json()["status"] == "success"
    assert "duplicate nonce" in again.json()["message"]
    assert api.upload("fresh", headers={"Nonce": "abc-2"}).json() == {"status": "success"}
    assert api.messages() == ["original", "fresh"]


def test_nonces_belong_to_one_account(api: Api) -> None:
    api.registry.create_account("other")
    other_write = api.token("write-logs", "other")
    api.upload("mine", headers={"Nonce": "n"})
    assert api.upload("theirs", token=other_write, headers={"Nonce": "n"}).json() == {
        "status": "success"
    }
    assert api.messages(api.token("read-logs", "other")) == ["theirs"]


def test_two_accounts_never_see_each_others_events(api: Api) -> None:
    api.registry.create_account("other")
    api.upload("default's secret")
    api.upload("other's secret", token=api.token("write-logs", "other"))
    other_read = api.token("read-logs", "other")
    assert api.messages() == ["default's secret"]
    assert api.messages(other_read) == ["other's secret"]
    assert api.messages(other_read, filter="default") == []
    body = api.query(other_read)
    assert len(body["sessions"]) == 1


# -- /api/query ---------------------------------------------------------------------------------


@pytest.fixture
def five(api: Api) -> Api:
    api.upload("Alpha one\nbeta TWO\ngamma three\ndelta four\nalpha five", params={"host": "h"})
    api.clock.advance(1)
    return api


def test_query_by_get_and_post_agree(five: Api) -> None:
    by_post = five.query(filter="alpha")["matches"]
    response = five.client.get("/api/query", params={"token": five.read, "filter": "alpha"})
    assert response.status_code == 200
    assert response.json()["matches"] == by_post
    assert [m["message"] for m in by_post] == ["Alpha one", "alpha five"]
    # What the agent's own end-to-end test sends: the filter in the URL, spaces as '+'.
    response = five.client.get(f"/api/query?queryType=log&token={five.read}&filter=alpha+and+five")
    assert [m["message"] for m in response.json()["matches"]] == ["alpha five"]


def test_query_token_as_bearer(five: Api) -> None:
    response = five.client.post(
        "/api/query", json={"filter": "beta"}, headers={"Authorization": f"Bearer {five.read}"}
    )
    assert [m["message"] for m in response.json()["matches"]] == ["beta TWO"]
    response = five.client.get(
        "/api/query?filter=beta", headers={"Authorization": f"Bearer {five.read}"}
    )
    assert [m["message"] for m in response.json()["matches"]] == ["beta TWO"]


@pytest.mark.parametrize("kind", ["read-logs", "read-config", "write-config"])
def test_any_reading_kind_may_query(five: Api, kind: str) -> None:
    assert len(five.messages(five.token(kind))) == 5


def test_a_write_logs_token_may_not_query(five: Api) -> None:
    response = five.client.post("/api/query", json={"token": five.write})
    body = assert_error(response, 403, "error/client/noPermission")
    assert "read-logs" in body["message"]
    assert_error(five.client.post("/api/query", json={}), 401, "error/client/noPermission")


def test_empty_string_parameters_mean_not_given(five: Api) -> None:
    empty = dict.fromkeys(
        ["startTime", "endTime", "pageMode", "columns", "filter", "maxCount", "priority"], ""
    )
    assert len(five.messages(**empty)) == 5
    response = five.client.get("/api/query", params={"token": five.read, **empty})
    assert len(response.json()["matches"]) == 5


@pytest.mark.parametrize("count", [0, -1, 5001, "many", "2.5", 2.5, True, [1], {}])
def test_max_count_out_of_bounds_is_400(five: Api, count: object) -> None:
    response = five.client.post("/api/query", json={"token": five.read, "maxCount": count})
    body = assert_error(response, 400, "error/client/badParam")
    assert "maxCount" in body["message"]


@pytest.mark.parametrize("count", [1, 5000, "2", " 3 ", 4.0])
def test_max_count_within_bounds(five: Api, count: int | str | float) -> None:
    assert len(five.query(maxCount=count)["matches"]) == min(int(count), 5)


def test_page_mode_picks_oldest_or_newest_but_matches_ascend(five: Api) -> None:
    assert five.messages(maxCount=2, pageMode="head") == ["Alpha one", "beta TWO"]
    assert five.messages(maxCount=2, pageMode="tail") == ["delta four", "alpha five"]
    # Default: tail without a startTime, head with one.
    assert five.messages(maxCount=2) == ["delta four", "alpha five"]
    assert five.messages(maxCount=2, startTime="1h") == ["Alpha one", "beta TWO"]


def test_an_unknown_page_mode_is_400(five: Api) -> None:
    response = five.client.post("/api/query", json={"token": five.read, "pageMode": "middle"})
    assert_error(response, 400, "error/client/badParam")


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("alpha", ["Alpha one", "alpha five"]),
        ("ALPHA", ["Alpha one", "alpha five"]),
        ("two", ["beta TWO"]),
        ("alpha five", ["alpha five"]),
        ("alpha and one", ["Alpha one"]),
        ('"beta two"', ["beta TWO"]),
        ("'A ONE'", ["Alpha one"]),
        ('"one alpha"', []),
        ("e", ["Alpha one", "beta TWO", "gamma three", "delta four", "alpha five"]),
        ("%", []),
    ],
)
def test_filter_words_and_phrases_ignore_case(
    five: Api, filter_text: str, expected: list[str]
) -> None:
    assert five.messages(filter=filter_text) == expected


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("beta or gamma", ["beta TWO", "gamma three"]),
        ("beta || GAMMA", ["beta TWO", "gamma three"]),
        ("not alpha", ["beta TWO", "gamma three", "delta four"]),
        ("!alpha && !beta", ["gamma three", "delta four"]),
        ("(alpha or beta) and (one or two)", ["Alpha one", "beta TWO"]),
        ("alpha (one || five) !one", ["alpha five"]),
        ("$message == 'beta TWO'", ["beta TWO"]),
        ("message == 'beta two'", []),  # comparisons respect case
        ("message contains 'TWO' or message matches '^g'", ["beta TWO", "gamma three"]),
        ('$"^[ab].*e$"', ["Alpha one", "alpha five"]),
        ("$serverHost == 'h' four", ["delta four"]),
        ("serverHost != 'h'", []),
        ("$serverIP == 'testclient' and severity == 3 and delta", ["delta four"]),
        ("logfile == 'uploadLogs' five", ["alpha five"]),
        ("* contains 'gamma'", ["gamma three"]),
        ("message in ('delta four', 'nope')", ["delta four"]),
        ("message startsWith 'ALPHA'", ["Alpha one", "alpha five"]),
    ],
)
def test_the_filter_language_works_through_the_api(
    five: Api, filter_text: str, expected: list[str]
) -> None:
    assert five.messages(filter=filter_text) == expected


@pytest.mark.parametrize(
    ("filter_text", "column"),
    [
        ("(alpha", 7),
        ('"open', 1),
        ("alpha or", 9),
        ("alpha )", 7),
        ("status =~ 'x'", 8),
        ("== 3", 1),
        ("$serverHost", 12),
        ("x <> 3", 3),
    ],
)
def test_a_bad_filter_is_400_and_names_the_column(five: Api, filter_text: str, column: int) -> None:
    response = five.client.post("/api/query", json={"token": five.read, "filter": filter_text})
    body = assert_error(response, 400, "error/client/badParam")
    assert body["message"].startswith("filter: ")
    assert f"column {column}" in body["message"]
    # The same by GET, as the agent's scripts send it.
    response = five.client.get("/api/query", params={"token": five.read, "filter": filter_text})
    assert assert_error(response, 400, "error/client/badParam") == body


def test_a_regex_re2_cannot_compile_is_400(five: Api) -> None:
    response = five.client.post("/api/query", json={"token": five.read, "filter": '$"(?=a)"'})
    body = assert_error(response, 400, "error/client/badParam")
    assert "RE2" in body["message"]


@pytest.mark.parametrize("value", [3, ["alpha"], {"word": "alpha"}, True])
def test_a_filter_that_is_not_a_string_is_400(five: Api, value: object) -> None:
    response = five.client.post("/api/query", json={"token": five.read, "filter": value})
    body = assert_error(response, 400, "error/client/badParam")
    assert "filter" in body["message"]


def test_the_response_has_the_shape_clients_read(five: Api) -> None:
    body = five.query()
    assert isinstance(body["executionTime"], int) and body["executionTime"] >= 0
    assert isinstance(body["cpuUsage"], int) and body["cpuUsage"] >= 0
    assert len(body["matches"]) == 5
    for match in body["matches"]:
        assert set(match) == {"timestamp", "message", "severity", "session", "thread", "attributes"}
        assert isinstance(match["timestamp"], str) and match["timestamp"].isdigit()
        assert match["severity"] == 3
        assert isinstance(match["attributes"], dict)
        assert match["session"] in body["sessions"]
        assert body["sessions"][match["session"]]["session"] == match["session"]
    stamps = [int(m["timestamp"]) for m in body["matches"]]
    assert stamps == sorted(stamps) and stamps[0] == NOW


def test_an_empty_result_is_still_a_full_response(api: Api) -> None:
    body = api.query(filter="nothing")
    assert body["matches"] == [] and body["sessions"] == {}
    assert "executionTime" in body and "cpuUsage" in body


@pytest.mark.parametrize(
    ("columns", "keys", "attributes"),
    [
        ("message", {"message"}, set()),
        ("timestamp,message", {"timestamp", "message"}, set()),
        (" message , logfile ", {"message"}, {"logfile"}),
        (["severity", "parser"], {"severity"}, {"parser"}),
        ("session,thread", {"session", "thread"}, set()),
    ],
)
def test_columns_pick_the_keys(
    five: Api, columns: str | list[str], keys: set[str], attributes: set[str]
) -> None:
    for match in five.query(columns=columns)["matches"]:
        assert set(match) == keys | {"attributes"}
        assert set(match["attributes"]) == attributes


def test_time_range_of_a_query(api: Api) -> None:
    api.upload("early")
    api.clock.advance(3600)
    api.upload("late")
    assert api.messages(startTime="30m") == ["late"]
    assert api.messages(endTime="30m") == ["early"]
    assert api.messages(startTime=NOW // S, endTime=NOW // S + 1) == ["early"]
    assert api.messages(startTime=str(NOW)) == ["early", "late"]
    response = api.client.post(
        "/api/query", json={"token": api.read, "startTime": "1h", "endTime": "2h"}
    )
    assert_error(response, 400, "error/client/badParam")
    response = api.client.post("/api/query", json={"token": api.read, "startTime": "soon"})
    body = assert_error(response, 400, "error/client/badParam")
    assert "startTime" in body["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_a_query_body_that_is_not_a_json_object_is_400(api: Api, body: bytes) -> None:
    response = api.client.post(
        "/api/query", content=body, headers={"Authorization": f"Bearer {api.read}"}
    )
    assert_error(response, 400, "error/client/badParam")


def test_query_accepts_only_get_and_post(api: Api) -> None:
    assert_error(api.client.put("/api/query"), 405, "error/client/methodNotAllowed")


# -- one envelope for every error ---------------------------------------------------------------


def test_every_error_is_a_json_envelope_with_status_and_message(tmp_path: Path) -> None:
    with running(tmp_path, max_body_bytes=50, max_line_bytes=20) as api:
        failures: list[tuple[str, httpx.Response]] = [
            ("no token", api.client.post("/api/uploadLogs", content=b"x")),
            ("bad token", api.upload(token="nope")),
            ("wrong kind", api.upload(token=api.read)),
            ("GET upload", api.client.get(f"/api/uploadLogs?token={api.write}")),
            ("too large", api.upload(b"x" * 51)),
            ("long line", api.upload(b"x" * 21)),
            ("bad gzip", api.upload(b"x", headers={"Content-Encoding": "gzip"})),
            ("unknown encoding", api.upload(b"x", headers={"Content-Encoding": "br"})),
            ("unknown path", api.client.get("/nope")),
            ("query no token", api.client.get("/api/query")),
            ("query wrong kind", api.client.get(f"/api/query?token={api.write}")),
            ("query bad time", api.client.get(f"/api/query?token={api.read}&startTime=x")),
            ("query bad count", api.client.get(f"/api/query?token={api.read}&maxCount=0")),
            ("query bad filter", api.client.get(f"/api/query?token={api.read}&filter=a+or")),
            ("query bad json", api.client.post(f"/api/query?token={api.read}", content=b"{")),
            ("query PUT", api.client.put("/api/query")),
            ("health POST", api.client.post("/health")),
        ]
        for name, response in failures:
            assert response.status_code >= 400, name
            assert response.headers["content-type"].startswith("application/json"), name
            body = response.json()
            assert body["status"].startswith("error/"), name
            assert isinstance(body["message"], str) and len(body["message"]) > 10, name


def test_an_internal_failure_on_the_ingest_path_gets_the_500_envelope(tmp_path: Path) -> None:
    # uploadLogs is dispatched before Starlette's error middleware, so it answers for itself.
    with running(tmp_path) as api:

        def broken_submit(batch: object) -> object:
            raise RuntimeError("disk on fire")

        api.client.app.state.ctx.store.submit = broken_submit  # type: ignore[attr-defined]
        response = api.client.post(
            "/api/uploadLogs", params={"token": api.write}, content=b"x",
            headers={"errorStatus": "always200"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "error/server"
        assert body["__status"] == 500
        assert "internal error" in body["message"]
        assert "disk on fire" not in body["message"]
