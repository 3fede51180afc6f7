"""Searching a real `millpond serve` the way clients do (spec §3.1, §3.3): the agent's CI
scripts' GET with the filter in the URL, a Bearer POST with only `{startTime, filter}`, and
paging with continuationToken."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e


def tag() -> str:
    """A word no other test uploads, so tests can share one server."""
    return "srch" + secrets.token_hex(4)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    assert isinstance(body["executionTime"], int) and isinstance(body["cpuUsage"], int)
    return body


def messages(body: dict[str, Any]) -> list[str]:
    return [m["message"] for m in body["matches"]]


def test_get_with_the_filter_in_the_url_as_the_agents_ci_scripts_send_it(
    shared_server: Server,
) -> None:
    word = tag()
    lines = [f"{word} alpha one", f"{word} beta two", f"{word} alpha three", "alpha elsewhere"]
    assert shared_server.upload("\n".join(lines), params={"host": "ci-host"}).json() == {
        "status": "success"
    }
    read = shared_server.read_token
    for start in ("10m", str(int(time.time()) - 600)):
        url = f"/api/query?queryType=log&startTime={start}&token={read}&filter={word}+and+alpha"
        body = ok(shared_server.client.get(url))
        assert messages(body) == [lines[0], lines[2]]
        (session,) = {m["session"] for m in body["matches"]}
        assert body["sessions"][session]["serverHost"] == "ci-host"
    # A filter of the full language, percent-encoded.
    url = (f"/api/query?queryType=log&startTime=10m&token={read}"
           f"&filter=%24serverHost%20%3D%3D%20%27ci-host%27%20{word}%20!alpha")
    assert messages(ok(shared_server.client.get(url))) == [lines[1]]


def test_post_with_bearer_auth_and_only_start_time_and_filter(shared_server: Server) -> None:
    word = tag()
    shared_server.upload(f"{word} GET /health 200\n{word} GET /login 500\n{word} POST /login 200")
    response = shared_server.client.post(
        "/api/query",
        json={"startTime": "10m", "filter": f"{word} and (login or health) and 200"},
        headers={"Authorization": f"Bearer {shared_server.read_token}"},
    )
    assert messages(ok(response)) == [f"{word} GET /health 200", f"{word} POST /login 200"]


@pytest.mark.parametrize("mode", ["head", "tail"])
def test_paging_with_continuation_tokens_reads_every_event_once(
    shared_server: Server, mode: str
) -> None:
    word = tag()
    lines = [f"{word} line {i:05d}" for i in range(3_456)]
    for start in range(0, len(lines), 1000):  # four requests
        body = "\n".join(lines[start : start + 1000])
        assert shared_server.upload(body).json() == {"status": "success"}

    params: dict[str, Any] = {"filter": word, "startTime": "10m", "pageMode": mode,
                              "maxCount": 500}
    pages = [ok(shared_server.query(**params))]
    while "continuationToken" in pages[-1]:
        assert len(pages) < 20, "the pages never end"
        token = pages[-1]["continuationToken"]
        pages.append(ok(shared_server.query(**params, continuationToken=token)))

    assert [len(p["matches"]) for p in pages] == [500] * 6 + [456]
    found = [m for page in (pages if mode == "head" else pages[::-1]) for m in messages(page)]
    assert found == lines
    for page in pages:
        stamps = [int(m["timestamp"]) for m in page["matches"]]
        assert stamps == sorted(stamps)

    # The token belongs to this query: another filter with it is refused.
    response = shared_server.query(**{**params, "filter": "other"},
                                   continuationToken=pages[0]["continuationToken"])
    assert response.status_code == 400
    assert response.json()["status"] == "error/client/badParam"


def test_facet_of_the_uploads(shared_server: Server) -> None:
    word = tag()
    for host, count in (("f-a", 3), ("f-b", 1), ("f-c", 2)):
        shared_server.upload("\n".join([word] * count), params={"host": host})
    body = ok(shared_server.client.post("/api/facetQuery", json={
        "token": shared_server.read_token, "field": "serverHost", "filter": word,
        "startTime": "10m",
    }))
    assert body["values"] == [
        {"value": "f-a", "count": 3}, {"value": "f-c", "count": 2}, {"value": "f-b", "count": 1},
    ]
    assert body["matchCount"] == 6
