"""getFile, putFile and listFiles over HTTP (spec §3.9), in-process: every status, versions,
permissions, accounts, validation, GET and POST, with and without /api/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from seed import insert_events
from test_api import NOW, Api, S, assert_error, running

from millpond.web.configfiles import MAX_CONTENT_BYTES, MAX_PATH_CHARS
from millpond.web.context import Context

MS = 1_000_000
PREFIXES = ["", "/api"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running(tmp_path) as api:
        yield api


@pytest.fixture
def tokens(api: Api) -> dict[str, str]:
    return {kind: api.token(kind) for kind in ("read-config", "write-config")}


def call(
    api: Api, method: str, token: str | None, prefix: str = "", **params: Any
) -> httpx.Response:
    body = {"token": token, **params} if token is not None else params
    return api.client.post(f"{prefix}/{method}", json=body)


def ok(response: httpx.Response, status: str = "success") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


def put(api: Api, token: str, path: str, content: str, **params: Any) -> dict[str, Any]:
    return ok(call(api, "putFile", token, path=path, content=content, **params))


def get(api: Api, token: str, path: str, **params: Any) -> dict[str, Any]:
    response = call(api, "getFile", token, path=path, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def context(api: Api) -> Context:
    ctx: Context = api.client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


# -- getFile ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_missing_file_is_success_no_such_file(
    api: Api, tokens: dict[str, str], prefix: str
) -> None:
    response = call(api, "getFile", tokens["read-config"], prefix, path="/scalyr/alerts")
    assert ok(response, "success/noSuchFile") == {
        "status": "success/noSuchFile", "path": "/scalyr/alerts",
    }


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_written_file_reads_back_with_every_field(
    api: Api, tokens: dict[str, str], prefix: str
) -> None:
    written = ok(call(api, "putFile", tokens["write-config"], prefix, path="/a/b",
                      content="hello\n"))
    assert written == {"status": "success", "version": 1}
    body = ok(call(api, "getFile", tokens["read-config"], prefix, path="/a/b"))
    assert body == {
        "status": "success", "path": "/a/b", "version": 1, "createDate": NOW // MS,
        "modDate": NOW // MS, "content": "hello\n", "stalenessSlop": 0,
    }
    assert list(body) == [
        "status", "path", "version", "createDate", "modDate", "content", "stalenessSlop",
    ]


def test_each_write_moves_the_version_and_the_mod_date(api: Api, tokens: dict[str, str]) -> None:
    put(api, tokens["write-config"], "/a", "one")
    api.clock.advance(5)
    assert put(api, tokens["write-config"], "/a", "two") == {"status": "success", "version": 2}
    body = get(api, tokens["read-config"], "/a")
    assert (body["version"], body["content"]) == (2, "two")
    assert (body["createDate"], body["modDate"]) == (NOW // MS, (NOW + 5 * S) // MS)


def test_get_with_the_current_version_is_unchanged_without_content(
    api: Api, tokens: dict[str, str]
) -> None:
    put(api, tokens["write-config"], "/a", "one")
    put(api, tokens["write-config"], "/a", "two")
    body = get(api, tokens["read-config"], "/a", expectedVersion=2)
    assert body == {
        "status": "success/unchanged", "path": "/a", "version": 2, "createDate": NOW // MS,
        "modDate": NOW // MS, "stalenessSlop": 0,
    }
    older = get(api, tokens["read-config"], "/a", expectedVersion=1)
    assert (older["status"], older["content"]) == ("success", "two")


def test_an_empty_file_is_a_file(api: Api, tokens: dict[str, str]) -> None:
    put(api, tokens["write-config"], "/empty", "")
    assert get(api, tokens["read-config"], "/empty")["content"] == ""


# -- putFile: versions and delete ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_stale_expected_version_is_a_409_version_mismatch(
    api: Api, tokens: dict[str, str], prefix: str
) -> None:
    put(api, tokens["write-config"], "/a", "one")
    put(api, tokens["write-config"], "/a", "two", expectedVersion=1)
    response = call(api, "putFile", tokens["write-config"], prefix, path="/a", content="x",
                    expectedVersion=1)
    body = assert_error(response, 409, "error/client/versionMismatch")
    assert "version 2" in body["message"] and "get it again" in body["message"]
    assert get(api, tokens["read-config"], "/a")["content"] == "two"


def test_expected_version_zero_creates_only_a_new_file(api: Api, tokens: dict[str, str]) -> None:
    assert put(api, tokens["write-config"], "/a", "first", expectedVersion=0)["version"] == 1
    response = call(api, "putFile", tokens["write-config"], path="/a", content="second",
                    expectedVersion=0)
    assert_error(response, 409, "error/client/versionMismatch")
    response = call(api, "putFile", tokens["write-config"], path="/b", content="x",
                    expectedVersion=3)
    body = assert_error(response, 409, "error/client/versionMismatch")
    assert "does not exist" in body["message"]


def test_always200_carries_the_409_in_the_body(api: Api, tokens: dict[str, str]) -> None:
    response = api.client.post(
        "/putFile", json={"token": tokens["write-config"], "path": "/a", "content": "x",
                          "expectedVersion": 7},
        headers={"errorStatus": "always200"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "error/client/versionMismatch"
    assert response.json()["__status"] == 409


@pytest.mark.parametrize("prefix", PREFIXES)
def test_delete_file(api: Api, tokens: dict[str, str], prefix: str) -> None:
    put(api, tokens["write-config"], "/a", "x")
    response = call(api, "putFile", tokens["write-config"], prefix, path="/a", deleteFile=True)
    assert ok(response) == {"status": "success"}
    assert get(api, tokens["read-config"], "/a")["status"] == "success/noSuchFile"
    assert ok(call(api, "listFiles", tokens["read-config"]))["paths"] == []


def test_deleting_a_missing_file_succeeds(api: Api, tokens: dict[str, str]) -> None:
    response = call(api, "putFile", tokens["write-config"], path="/never", deleteFile=True)
    assert ok(response) == {"status": "success"}


def test_delete_checks_the_expected_version(api: Api, tokens: dict[str, str]) -> None:
    put(api, tokens["write-config"], "/a", "x")
    response = call(api, "putFile", tokens["write-config"], path="/a", deleteFile=True,
                    expectedVersion=5)
    assert_error(response, 409, "error/client/versionMismatch")
    ok(call(api, "putFile", tokens["write-config"], path="/a", deleteFile=True,
            expectedVersion=1))


def test_a_file_created_again_continues_its_versions(api: Api, tokens: dict[str, str]) -> None:
    put(api, tokens["write-config"], "/a", "v1")
    put(api, tokens["write-config"], "/a", "v2")
    ok(call(api, "putFile", tokens["write-config"], path="/a", deleteFile=True))
    api.clock.advance(60)
    assert put(api, tokens["write-config"], "/a", "v3", expectedVersion=0)["version"] == 3
    body = get(api, tokens["read-config"], "/a")
    assert body["createDate"] == body["modDate"] == (NOW + 60 * S) // MS
    # Someone who read version 2 before the delete cannot overwrite the new file.
    response = call(api, "putFile", tokens["write-config"], path="/a", content="old",
                    expectedVersion=2)
    assert_error(response, 409, "error/client/versionMismatch")


# -- listFiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_list_files_is_sorted_lexicographically(
    api: Api, tokens: dict[str, str], prefix: str
) -> None:
    for path in ["/scalyr/alerts", "/B", "/a/z", "/a", "/dashboards/Web Servers"]:
        put(api, tokens["write-config"], path, "{}")
    body = ok(call(api, "listFiles", tokens["read-config"], prefix))
    assert body == {
        "status": "success",
        "paths": ["/B", "/a", "/a/z", "/dashboards/Web Servers", "/scalyr/alerts"],
        "parsers": [],
    }


def test_list_files_names_every_parser_used_or_defined(api: Api, tokens: dict[str, str]) -> None:
    insert_events(
        context(api).store, api.registry.account("default").id,
        [{"ts": NOW, "message": "a", "parser": "web"},
         {"ts": NOW, "message": "b", "parser": "web"},
         {"ts": NOW, "message": "c", "parser": "accessLog"},
         {"ts": NOW, "message": "d", "parser": None}],
    )
    put(api, tokens["write-config"], "/logParsers/web", '{formats: ["$text$"]}')
    put(api, tokens["write-config"], "/logParsers/unused", '{formats: ["$text$"]}')
    put(api, tokens["write-config"], "/scalyr/alerts", "{}")
    body = ok(call(api, "listFiles", tokens["read-config"]))
    assert body["paths"] == ["/logParsers/unused", "/logParsers/web", "/scalyr/alerts"]
    assert body["parsers"] == [
        {"name": "accessLog", "defined": False, "builtin": True, "events": 1,
         "lastUsedDate": NOW // MS},
        {"name": "unused", "defined": True, "builtin": False, "events": 0,
         "lastUsedDate": None},
        {"name": "web", "defined": True, "builtin": False, "events": 2,
         "lastUsedDate": NOW // MS},
    ]


# -- the methods' forms -------------------------------------------------------------------------


def test_get_requests_with_url_parameters(api: Api, tokens: dict[str, str]) -> None:
    write, read = tokens["write-config"], tokens["read-config"]
    response = api.client.get("/api/putFile", params={"token": write, "path": "/a",
                                                      "content": "by GET"})
    assert ok(response) == {"status": "success", "version": 1}
    response = api.client.get("/getFile", params={"token": read, "path": "/a"})
    assert ok(response)["content"] == "by GET"
    response = api.client.get("/getFile", params={"token": read, "path": "/a",
                                                  "expectedVersion": "1"})
    ok(response, "success/unchanged")
    assert ok(api.client.get("/listFiles", params={"token": read}))["paths"] == ["/a"]
    response = api.client.get("/putFile", params={"token": write, "path": "/a",
                                                  "deleteFile": "true"})
    ok(response)
    assert ok(api.client.get("/api/listFiles", params={"token": read}))["paths"] == []


def test_the_token_may_come_as_a_bearer_header(api: Api, tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['write-config']}"}
    ok(api.client.post("/putFile", json={"path": "/a", "content": "x"}, headers=headers))
    ok(api.client.post("/getFile", json={"path": "/a"}, headers=headers))


def test_an_empty_post_body_still_reads_url_parameters(api: Api, tokens: dict[str, str]) -> None:
    response = api.client.post(
        "/listFiles", params={"token": tokens["read-config"]}, content=b" "
    )
    ok(response)


# -- permissions and accounts -------------------------------------------------------------------

# What each kind of token may do (spec §6): the config methods need a config token.
ALLOWED = {
    "write-logs": set(),
    "read-logs": set(),
    "read-config": {"getFile", "listFiles"},
    "write-config": {"getFile", "listFiles", "putFile"},
}


@pytest.mark.parametrize("kind", list(ALLOWED))
@pytest.mark.parametrize("method", ["getFile", "listFiles", "putFile"])
def test_each_token_kind_may_do_what_spec_6_says(api: Api, kind: str, method: str) -> None:
    response = call(api, method, api.token(kind), path="/a", content="x")
    if method in ALLOWED[kind]:
        ok(response, "success/noSuchFile" if method == "getFile" else "success")
    else:
        body = assert_error(response, 403, "error/client/noPermission")
        assert f"this {kind} token may not" in body["message"]
        assert "config" in body["message"]


@pytest.mark.parametrize("method", ["getFile", "listFiles", "putFile"])
def test_no_token_or_an_unknown_one_is_401(api: Api, method: str) -> None:
    assert_error(call(api, method, None, path="/a", content="x"), 401, "error/client/noPermission")
    assert_error(call(api, method, "made-up", path="/a", content="x"), 401,
                 "error/client/noPermission")


def test_a_refused_write_stores_nothing(api: Api, tokens: dict[str, str]) -> None:
    call(api, "putFile", api.token("read-config"), path="/a", content="x")
    assert get(api, tokens["read-config"], "/a")["status"] == "success/noSuchFile"


def test_accounts_never_see_each_others_files(api: Api, tokens: dict[str, str]) -> None:
    api.registry.create_account("other")
    other_write = api.token("write-config", "other")
    other_read = api.token("read-config", "other")
    put(api, tokens["write-config"], "/logParsers/web", '{formats: ["$text$"]}')
    assert get(api, other_read, "/logParsers/web")["status"] == "success/noSuchFile"
    assert ok(call(api, "listFiles", other_read)) == {
        "status": "success", "paths": [], "parsers": [],
    }
    # The same path in the other account is its own file, from version 1.
    assert put(api, other_write, "/logParsers/web", "{}", expectedVersion=0)["version"] == 1
    ok(call(api, "putFile", other_write, path="/logParsers/web", deleteFile=True))
    body = get(api, tokens["read-config"], "/logParsers/web")
    assert (body["status"], body["version"]) == ("success", 1)


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        (None, "path is required"),
        (7, "must be a string"),
        ("logParsers/web", "must start with '/'"),
        ("/", "empty part"),
        ("/a//b", "empty part"),
        ("/a/", "empty part"),
        ("/a/../b", "'..' part"),
        ("/./a", "'..' part"),
        ("/a\nb", "control character"),
        ("/a\x00", "control character"),
        ("/" + "x" * MAX_PATH_CHARS, f"at most {MAX_PATH_CHARS}"),
    ],
)
@pytest.mark.parametrize("method", ["getFile", "putFile"])
def test_a_bad_path_is_400_saying_what_is_wrong(
    api: Api, tokens: dict[str, str], method: str, path: Any, complaint: str
) -> None:
    params: dict[str, Any] = {"content": "x"}
    if path is not None:
        params["path"] = path
    body = assert_error(call(api, method, tokens["write-config"], **params), 400,
                        "error/client/badParam")
    assert complaint in body["message"]


def test_the_longest_path_is_fine(api: Api, tokens: dict[str, str]) -> None:
    path = "/" + "x" * (MAX_PATH_CHARS - 1)
    put(api, tokens["write-config"], path, "x")
    assert ok(call(api, "listFiles", tokens["read-config"]))["paths"] == [path]


def test_content_up_to_the_cap_is_stored_and_past_it_refused(
    api: Api, tokens: dict[str, str]
) -> None:
    put(api, tokens["write-config"], "/big", "é" * (MAX_CONTENT_BYTES // 2))
    response = call(api, "putFile", tokens["write-config"], path="/big",
                    content="é" * (MAX_CONTENT_BYTES // 2) + "x")
    body = assert_error(response, 400, "error/client/badParam")
    assert f"{MAX_CONTENT_BYTES + 1} bytes" in body["message"]
    assert get(api, tokens["read-config"], "/big")["version"] == 1


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({}, "needs content"),
        ({"content": {"a": 1}}, "content must be a string"),
        ({"content": "x", "deleteFile": True}, "not both"),
        ({"deleteFile": "maybe"}, "deleteFile must be true or false"),
        ({"content": "x", "expectedVersion": "two"}, "expectedVersion must be a whole number"),
        ({"content": "x", "expectedVersion": -1}, "expectedVersion must be from 0"),
    ],
)
def test_bad_put_parameters_are_400(
    api: Api, tokens: dict[str, str], params: dict[str, Any], complaint: str
) -> None:
    response = call(api, "putFile", tokens["write-config"], path="/a", **params)
    body = assert_error(response, 400, "error/client/badParam")
    assert complaint in body["message"]


def test_delete_file_false_writes(api: Api, tokens: dict[str, str]) -> None:
    put(api, tokens["write-config"], "/a", "kept", deleteFile=False)
    assert get(api, tokens["read-config"], "/a")["content"] == "kept"


def test_a_body_that_is_not_json_is_400(api: Api, tokens: dict[str, str]) -> None:
    response = api.client.post("/putFile", content=b"{path: ", params={
        "token": tokens["write-config"]})
    assert_error(response, 400, "error/client/badParam")


# -- parsers ------------------------------------------------------------------------------------


def test_a_parser_that_is_not_even_json_is_refused(api: Api, tokens: dict[str, str]) -> None:
    response = call(api, "putFile", tokens["write-config"], path="/logParsers/web",
                    content="formats: [ unclosed")
    body = assert_error(response, 400, "error/client/badParam")
    assert "'web'" in body["message"]
    assert get(api, tokens["read-config"], "/logParsers/web")["status"] == "success/noSuchFile"
    # Outside /logParsers/ any text is a file.
    put(api, tokens["write-config"], "/notes/web", "formats: [ unclosed")


def test_a_parser_is_checked_by_the_parser_language(api: Api, tokens: dict[str, str]) -> None:
    pytest.importorskip("millpond.parsers")
    write = tokens["write-config"]
    put(api, write, "/logParsers/web", '{formats: ["$ip$ $text$"]}')
    response = call(api, "putFile", write, path="/logParsers/bad", content="{formats: 5}")
    body = assert_error(response, 400, "error/client/badParam")
    assert "'bad'" in body["message"] and "formats" in body["message"]
    # aliasTo is checked against the account's parsers as they are now.
    put(api, write, "/logParsers/alias", '{aliasTo: "web"}')
    response = call(api, "putFile", write, path="/logParsers/dangling",
                    content='{aliasTo: "nobody"}')
    assert "nobody" in assert_error(response, 400, "error/client/badParam")["message"]


def test_listeners_hear_of_every_committed_change(api: Api, tokens: dict[str, str]) -> None:
    heard: list[tuple[int, str]] = []
    context(api).config_changed.append(lambda account, path: heard.append((account, path)))
    me = api.registry.account("default").id
    write = tokens["write-config"]
    put(api, write, "/logParsers/web", '{formats: ["$text$"]}')
    put(api, write, "/scalyr/alerts", "{}")
    ok(call(api, "putFile", write, path="/logParsers/web", deleteFile=True))
    # Nothing changed: no news.
    ok(call(api, "putFile", write, path="/logParsers/web", deleteFile=True))
    call(api, "putFile", write, path="/scalyr/alerts", content="x", expectedVersion=9)
    call(api, "putFile", write, path="/logParsers/x", content="not a parser {")
    assert heard == [(me, "/logParsers/web"), (me, "/scalyr/alerts"), (me, "/logParsers/web")]


def test_a_failing_listener_does_not_fail_the_committed_write(
    api: Api, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(account: int, path: str) -> None:
        raise RuntimeError("listener bug")

    context(api).config_changed.insert(0, broken)
    assert put(api, tokens["write-config"], "/a", "x") == {"status": "success", "version": 1}
    assert "config_changed listener failed" in caplog.text


def test_a_new_parser_takes_effect_for_the_next_upload(api: Api, tokens: dict[str, str]) -> None:
    """The compiled-parser cache hears of putFile: it had `web` as undefined, and forgets it."""
    pytest.importorskip("millpond.parsers")
    params = {"parser": "web"}
    assert api.upload("10.0.0.1 before", params=params).status_code == 200
    put(api, tokens["write-config"], "/logParsers/web", '{formats: ["$ip$ $rest$"]}')
    assert api.upload("10.0.0.2 after", params=params).status_code == 200
    matches = api.query(startTime="1h")["matches"]
    assert [m["attributes"].get("ip") for m in matches] == [None, "10.0.0.2"]
