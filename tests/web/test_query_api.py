"""`/api/query` and `/api/facetQuery` over HTTP (spec §3.3, §3.5, §4), in-process.

Events arrive through /api/uploadLogs (`host`, `logfile` and `server-*` vary the session
fields); what uploadLogs cannot send yet (attributes, severities, two requests sharing a
timestamp) is written through the store, as addEvents and parsers will write it.
"""

from __future__ import annotations

import base64
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from seed import insert_events
from starlette.exceptions import StarletteDeprecationWarning
from test_api import NOW, Api, S, assert_error, running

from millpond.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

MS = 1_000_000


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running(tmp_path) as api:
        yield api


def store_of(api: Api) -> Store:
    store: Store = api.client.app.state.ctx.store  # type: ignore[attr-defined]
    return store


def account_id(api: Api, name: str = "default") -> int:
    return api.registry.account(name).id


def checked(response: httpx.Response) -> dict[str, Any]:
    """The body of a successful query response, with the timing every response carries."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    for key in ("executionTime", "cpuUsage"):
        assert type(body[key]) is int and body[key] >= 0, key
    return body


def post(api: Api, path: str = "/api/query", *, token: str | None = None, **params: Any) -> (
    dict[str, Any]
):
    return checked(api.client.post(path, json={"token": token or api.read, **params}))


def get(api: Api, path: str = "/api/query", **params: Any) -> dict[str, Any]:
    return checked(api.client.get(path, params={"token": api.read, **params}))


def refused(api: Api, path: str = "/api/query", **params: Any) -> str:
    """The message of a 400 badParam answer to a POST."""
    response = api.client.post(path, json={"token": api.read, **params})
    message: str = assert_error(response, 400, "error/client/badParam")["message"]
    return message


def messages(body: dict[str, Any]) -> list[str]:
    return [m["message"] for m in body["matches"]]


def stamps(body: dict[str, Any]) -> list[int]:
    return [int(m["timestamp"]) for m in body["matches"]]


# -- one corpus for the read-only tests -----------------------------------------------------

M1 = "GET /index.html 200 user=alice"
M2 = "ERROR disk full on /var"
M3 = "GET /login 302"
M4 = "error: timeout talking to db-7"
M5 = "checkpoint complete"
M6 = 'FATAL: password authentication failed for user "bob"'
M7 = "nightly job done"
M8 = "POST /api/orders 201"
M9 = "GET /api/orders/7 404"
M10 = "upstream crashed"
M11 = "debug trace"
ALL = [M1, M2, M3, M4, M5, M6, M7, M8, M9, M10, M11]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Eleven events from five senders, in the order of ALL; the clock a minute later."""
    with running(tmp_path_factory.mktemp("corpus")) as api:
        uploads = [
            ([M1, M2], {"host": "web-1", "logfile": "/var/log/app.log", "server-tier": "prod"}),
            ([M3, M4], {"host": "web-2", "logfile": "/var/log/nginx/access.log",
                        "server-tier": "staging"}),
            ([M5, M6], {"host": "db-1", "logfile": "/var/log/postgres.log"}),
        ]
        for lines, params in uploads:
            assert api.upload("\n".join(lines), params=params).status_code == 200
        # Another machine: serverIP is the client's address.
        other = TestClient(api.client.app, client=("10.0.0.9", 40000))
        response = other.post(
            "/api/uploadLogs", content=M7.encode(),
            params={"token": api.write, "host": "batch-1", "server-tier": "prod"},
        )
        assert response.status_code == 200, response.text
        insert_events(
            store_of(api), account_id(api),
            [
                {"ts": NOW + 1 * S, "message": M8, "logfile": "/srv/api.log",
                 "attrs": {"status": 201, "method": "POST", "user": "carol"}},
                {"ts": NOW + 2 * S, "message": M9, "severity": 4,
                 "attrs": {"status": 404, "method": "GET"}},
                {"ts": NOW + 3 * S, "message": M10, "severity": 5,
                 "attrs": {"status": 500, "method": "GET"}},
                {"ts": NOW + 4 * S, "message": M11, "severity": 1},
            ],
            session="api-session",
            session_fields={"serverHost": "api-1", "tier": "prod", "serverIP": "10.0.0.5"},
        )
        api.clock.advance(60)
        yield api


def test_the_corpus_reads_back_in_order(corpus: Api) -> None:
    body = post(corpus)
    assert messages(body) == ALL
    assert stamps(body) == sorted(stamps(body))
    assert len(set(stamps(body))) == len(ALL)


def pick(*numbers: int) -> list[str]:
    return [ALL[n - 1] for n in numbers]


FILTERS = [
    # words and phrases: case-insensitive substrings of the message
    ("error", pick(2, 4)),
    ("ERROR disk", pick(2)),
    ("error and DISK", pick(2)),
    ('"disk full"', pick(2)),
    ("'full disk'", []),
    ('"user=alice"', pick(1)),
    # regular expressions on the message, case-insensitive
    ('$"timeout .* db-[0-9]+"', pick(4)),
    ('$"^get /"', pick(1, 3, 9)),
    ('$"\\\\.html"', pick(1)),
    # session ("server") fields, with and without `$`
    ("$serverHost == 'web-1'", pick(1, 2)),
    ('serverHost == "web-2"', pick(3, 4)),
    ("$serverHost != 'web-1'", pick(3, 4, 5, 6, 7, 8, 9, 10, 11)),
    ("serverHost contains 'web'", pick(1, 2, 3, 4)),
    ("serverIP == '10.0.0.9'", pick(7)),
    ("$serverIP == '10.0.0.5'", pick(8, 9, 10, 11)),
    ("serverIP == 'testclient'", pick(1, 2, 3, 4, 5, 6)),
    ("$tier == 'prod'", pick(1, 2, 7, 8, 9, 10, 11)),
    ("tier == 'staging'", pick(3, 4)),
    ("$tier == *", pick(1, 2, 3, 4, 7, 8, 9, 10, 11)),
    ("!($tier == *)", pick(5, 6)),
    # the log file
    ("logfile == '/var/log/postgres.log'", pick(5, 6)),
    ("$logfile contains 'NGINX'", pick(3, 4)),
    ("logfile matches '^/var/log/[a-z]+\\\\.log$'", pick(1, 2, 5, 6)),
    ("logfile == 'uploadLogs'", pick(7)),
    # severity
    ("severity == 3", pick(1, 2, 3, 4, 5, 6, 7, 8)),
    ("severity > 3", pick(9, 10)),
    ("severity >= 5 or severity < 2", pick(10, 11)),
    # attributes
    ("status >= 400", pick(9, 10)),
    ("$status == 201", pick(8)),
    ("status in (201, 500)", pick(8, 10)),
    ("status != 404", pick(1, 2, 3, 4, 5, 6, 7, 8, 10, 11)),
    ("method == 'GET' and status != 404", pick(10)),
    ("user == 'carol'", pick(8)),
    ("* contains 'carol'", pick(8)),
    ("* contains 'api-1'", pick(8, 9, 10, 11)),
    # not, or, parentheses
    ("not error", pick(1, 3, 5, 6, 7, 8, 9, 10, 11)),
    ("error or FATAL", pick(2, 4, 6)),
    ("error || fatal || nightly", pick(2, 4, 6, 7)),
    ("GET (index || login)", pick(1, 3)),
    ("(GET or POST) and not $serverHost == 'api-1'", pick(1, 3)),
    ("!(GET or error) $tier == 'prod'", pick(7, 8, 10, 11)),
    ("NOT (severity == 3) AND (status == * OR trace)", pick(9, 10, 11)),
    ("", ALL),
]


@pytest.mark.parametrize(("filter_text", "expected"), FILTERS)
def test_filters_by_post_and_get(corpus: Api, filter_text: str, expected: list[str]) -> None:
    assert messages(post(corpus, filter=filter_text)) == expected
    assert messages(get(corpus, filter=filter_text)) == expected


def test_the_get_form_of_the_agents_scripts(corpus: Api) -> None:
    url = f"/api/query?queryType=log&startTime=1h&token={corpus.read}&filter=GET+and+login"
    assert messages(checked(corpus.client.get(url))) == [M3]
    url = f"/api/query?token={corpus.read}&filter=%24serverHost%20%3D%3D%20%27db-1%27"
    assert messages(checked(corpus.client.get(url))) == [M5, M6]


def test_bearer_post_with_only_start_time_and_filter(corpus: Api) -> None:
    response = corpus.client.post(
        "/api/query", json={"startTime": "1h", "filter": "crashed"},
        headers={"Authorization": f"Bearer {corpus.read}"},
    )
    assert messages(checked(response)) == [M10]


def test_empty_strings_mean_not_given_in_both_forms(corpus: Api) -> None:
    names = ["filter", "startTime", "endTime", "maxCount", "pageMode", "columns",
             "continuationToken", "priority", "queryType"]
    empty = dict.fromkeys(names, "")
    assert messages(post(corpus, **empty)) == ALL
    url = "/api/query?" + "&".join(f"{n}=" for n in names) + f"&token={corpus.read}"
    assert messages(checked(corpus.client.get(url))) == ALL
    body = post(corpus, "/api/facetQuery", field="serverHost", filter="", startTime="",
                endTime="", maxCount="")
    assert body["matchCount"] == len(ALL)


# -- columns --------------------------------------------------------------------------------


def test_without_columns_every_match_has_every_key(corpus: Api) -> None:
    body = post(corpus)
    for match in body["matches"]:
        assert set(match) == {"timestamp", "message", "severity", "session", "thread",
                              "attributes"}
        assert isinstance(match["attributes"], dict)
        assert type(match["severity"]) is int and 0 <= match["severity"] <= 6
        assert match["session"] in body["sessions"]
    stored = body["matches"][ALL.index(M9)]
    assert stored["severity"] == 4
    assert stored["attributes"] == {"status": 404, "method": "GET", "logfile": "seeded.log",
                                    "parser": "seeded"}
    assert body["sessions"][stored["session"]] == {
        "serverHost": "api-1", "tier": "prod", "serverIP": "10.0.0.5", "session": "api-session",
    }


HOSTS = ["web-1", "web-1", "web-2", "web-2", "db-1", "db-1", "batch-1"] + ["api-1"] * 4


@pytest.mark.parametrize("columns", ["message,serverHost", "message, $serverHost",
                                     ["message", "serverHost"]])
def test_columns_message_and_server_host(corpus: Api, columns: str | list[str]) -> None:
    body = post(corpus, columns=columns)
    assert body["matches"] == [
        {"message": m, "attributes": {"serverHost": h}} for m, h in zip(ALL, HOSTS, strict=True)
    ]


def test_columns_of_attributes_and_session_fields_appear_only_where_set(corpus: Api) -> None:
    body = post(corpus, columns="timestamp,severity,status,tier,serverIP,logfile")
    matches = body["matches"]
    assert all(set(m) == {"timestamp", "severity", "attributes"} for m in matches)
    by_message = dict(zip(ALL, (m["attributes"] for m in matches), strict=True))
    assert by_message[M1] == {"tier": "prod", "serverIP": "testclient",
                              "logfile": "/var/log/app.log"}
    assert by_message[M5] == {"serverIP": "testclient", "logfile": "/var/log/postgres.log"}
    assert by_message[M7] == {"tier": "prod", "serverIP": "10.0.0.9", "logfile": "uploadLogs"}
    assert by_message[M10] == {"status": 500, "tier": "prod", "serverIP": "10.0.0.5",
                               "logfile": "seeded.log"}
    assert [m["severity"] for m in matches] == [3] * 8 + [4, 5, 1]


def test_an_unknown_column_gives_an_empty_attributes_object(corpus: Api) -> None:
    body = post(corpus, columns="nosuchfield")
    assert body["matches"] == [{"attributes": {}}] * len(ALL)


def test_built_in_columns_only(corpus: Api) -> None:
    body = post(corpus, columns="session,thread,timestamp", maxCount=2)
    for match in body["matches"]:
        assert set(match) == {"session", "thread", "timestamp", "attributes"}
        assert match["attributes"] == {}
        assert match["session"] in body["sessions"]


# -- times ----------------------------------------------------------------------------------


@pytest.fixture
def early_late(api: Api) -> Api:
    """`early` at NOW, `late` an hour later; the clock a minute after that."""
    api.upload("early")
    api.clock.advance(3600)
    api.upload("late")
    api.clock.advance(60)
    return api


SEC = NOW // S
TIMES: list[tuple[Any, Any, list[str]]] = [
    (SEC, SEC + 1, ["early"]),  # epoch seconds as numbers
    (str(SEC), str(SEC + 1), ["early"]),  # and as strings
    (SEC + 0.5, None, ["late"]),  # fractional seconds
    ("1772366400.5", "1772370001", ["late"]),
    (NOW // MS, NOW // MS + 1, ["early"]),  # milliseconds
    (str(NOW // MS), str(NOW // MS + 1), ["early"]),
    (NOW, NOW + 1, ["early"]),  # nanoseconds
    (str(NOW + 1), str(NOW + 3600 * S + 1), ["late"]),
    ("2026-03-01T12:00:00Z", "2026-03-01T12:30:00+0000", ["early"]),  # ISO-8601
    ("2026-03-01T04:00:00-0800", "2026-03-01T13:00:01+00:00", ["early", "late"]),
    ("2026-03-01T12:00:01", None, ["late"]),  # no zone: UTC
    ("30m", None, ["late"]),  # relative: before now (NOW + 3660 s)
    ("61m", None, ["early", "late"]),  # exactly NOW: the start is inclusive
    ("1h", "now", ["late"]),
    ("-2h", "30m", ["early"]),
    ("1d", "0m", ["early", "late"]),
    ("2h", "", ["early", "late"]),  # only a start: the 24 hours after it
    ("1w", "", []),
    (None, "30m", ["early"]),  # only an end: the 24 hours before it
    (None, NOW // S + 3600 + 86_400, ["late"]),
    (SEC - 86_400 + 1, None, ["early"]),
    (None, SEC + 3600, ["early"]),  # the end is exclusive
    (None, None, ["early", "late"]),  # neither: the last 24 hours
]


@pytest.mark.parametrize(("start", "end", "expected"), TIMES)
def test_time_forms(early_late: Api, start: Any, end: Any, expected: list[str]) -> None:
    params = {k: v for k, v in (("startTime", start), ("endTime", end)) if v is not None}
    assert messages(post(early_late, **params)) == expected
    assert messages(get(early_late, **{k: str(v) for k, v in params.items()})) == expected
    facet = post(early_late, "/api/facetQuery", field="message", **params)
    if start not in (None, "") and end in (None, ""):
        # facetQuery ends a lone startTime now (§3.5), not 24 hours after it.
        expected = [m for m in ("early", "late") if m in messages(
            post(early_late, **{**params, "endTime": "now"}))]
    assert facet["matchCount"] == len(expected)


def test_facet_query_ends_a_lone_start_time_now(early_late: Api) -> None:
    # /api/query would read the 24 hours after a week ago; facetQuery reads up to now.
    assert messages(post(early_late, startTime="1w")) == []
    facet = post(early_late, "/api/facetQuery", field="message", startTime="1w")
    assert facet["matchCount"] == 2


@pytest.mark.parametrize(
    ("start", "end"),
    [("soon", None), (None, "yesterday-ish"), ("2h", "3h"), (True, None), ([1], None),
     (None, {"t": 1})],
)
def test_bad_times_are_400(early_late: Api, start: Any, end: Any) -> None:
    params = {k: v for k, v in (("startTime", start), ("endTime", end)) if v is not None}
    for path in ("/api/query", "/api/facetQuery"):
        message = refused(early_late, path, field="message", **params)
        assert "Time" in message


# -- pageMode and maxCount ------------------------------------------------------------------


def test_head_and_tail_pick_the_oldest_or_newest_and_both_ascend(corpus: Api) -> None:
    head = post(corpus, maxCount=3, pageMode="head")
    tail = post(corpus, maxCount=3, pageMode="tail")
    assert messages(head) == ALL[:3]
    assert messages(tail) == ALL[-3:]
    for body in (head, tail):
        assert stamps(body) == sorted(stamps(body))
    assert messages(post(corpus, maxCount=2, pageMode="tail", filter="GET")) == [M3, M9]
    # No pageMode: head when a startTime is given, tail otherwise.
    assert messages(post(corpus, maxCount=2)) == ALL[-2:]
    assert messages(post(corpus, maxCount=2, startTime="1h")) == ALL[:2]


@pytest.mark.parametrize(("count", "found"), [(1, 1), ("10", 10), (11, 11), (5000, 11)])
def test_max_count_bounds_the_matches(corpus: Api, count: int | str, found: int) -> None:
    assert len(post(corpus, maxCount=count)["matches"]) == found


@pytest.mark.parametrize("count", [0, 5001, -3, "ten", 1.5])
def test_max_count_outside_1_to_5000_is_400(corpus: Api, count: object) -> None:
    assert "maxCount" in refused(corpus, maxCount=count)


@pytest.mark.parametrize("mode", ["HEAD", "middle", 1])
def test_an_unknown_page_mode_is_400(corpus: Api, mode: object) -> None:
    assert "pageMode" in refused(corpus, pageMode=mode)


# -- continuation tokens --------------------------------------------------------------------


def page_through(
    api: Api, max_count: int, *, token: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every page of a query, following continuationToken until a response has none."""
    pages = [post(api, token=token, maxCount=max_count, **params)]
    while "continuationToken" in pages[-1]:
        assert len(pages) < 1000, "the pages never end"
        pages.append(post(api, token=token, maxCount=max_count,
                          continuationToken=pages[-1]["continuationToken"], **params))
    return pages


def in_reading_order(pages: list[dict[str, Any]], mode: str) -> list[str]:
    """The messages of all pages, oldest first; tail pages come newest page first."""
    ordered = pages if mode == "head" else pages[::-1]
    return [m for page in ordered for m in messages(page)]


@pytest.fixture
def many(api: Api) -> tuple[Api, list[str]]:
    """1,234 events, oldest first: uploads one nanosecond apart, and 300 events sharing one
    timestamp, written by two requests, 150 each, one of them also sharing it with an upload."""
    expected: list[tuple[int, int, str]] = []  # (ts, write order, message)

    def upload(count: int, tag: str) -> None:
        lines = [f"{tag} {i:04d}" for i in range(count)]
        first = api.clock.now
        assert api.upload("\n".join(lines), params={"host": tag}).status_code == 200
        expected.extend((first + i, len(expected), line) for i, line in enumerate(lines))

    upload(400, "u1")
    api.clock.advance(1)
    upload(300, "u2")
    shared_ts = api.clock.now  # the first line of u2
    for writer in ("w1", "w2"):
        lines = [f"{writer} {i:04d}" for i in range(150)]
        insert_events(store_of(api), account_id(api),
                      [{"ts": shared_ts, "message": line} for line in lines], session=writer)
        expected.extend((shared_ts, len(expected), line) for line in lines)
    api.clock.advance(1)
    upload(234, "u3")
    api.clock.advance(10)
    assert len(expected) == 1234
    return api, [m for _, _, m in sorted(expected)]


WINDOW = {"startTime": str(NOW - S), "endTime": str(NOW + 60 * S)}


@pytest.mark.parametrize("mode", ["head", "tail"])
def test_paging_collects_every_event_once_in_order(many: tuple[Api, list[str]], mode: str) -> (
    None
):
    api, expected = many
    pages = page_through(api, 100, pageMode=mode, **WINDOW)
    assert [len(p["matches"]) for p in pages] == [100] * 12 + [34]
    assert in_reading_order(pages, mode) == expected
    for page in pages:
        assert stamps(page) == sorted(stamps(page))
        assert ("continuationToken" in page) == (len(page["matches"]) == 100)
        assert set(page["sessions"]) == {m["session"] for m in page["matches"]}


@pytest.mark.parametrize("mode", ["head", "tail"])
def test_paging_with_a_filter_and_the_default_range(many: tuple[Api, list[str]], mode: str) -> (
    None
):
    api, expected = many
    pages = page_through(api, 7, pageMode=mode, filter="w2 or u3")
    wanted = [m for m in expected if m.startswith(("w2", "u3"))]
    assert in_reading_order(pages, mode) == wanted


def test_paging_may_change_max_count_and_columns(many: tuple[Api, list[str]]) -> None:
    api, expected = many
    first = post(api, maxCount=450, pageMode="head", **WINDOW)
    second = post(api, maxCount=5000, pageMode="head", columns="message",
                  continuationToken=first["continuationToken"], **WINDOW)
    assert "continuationToken" not in second
    assert messages(first) + messages(second) == expected


def test_a_full_last_page_may_carry_a_token_to_an_empty_page(api: Api) -> None:
    api.upload("\n".join(f"line {i}" for i in range(200)))
    api.clock.advance(1)
    pages = page_through(api, 100, pageMode="head", startTime="1h")
    assert in_reading_order(pages, "head") == [f"line {i}" for i in range(200)]
    assert "continuationToken" not in pages[-1]
    assert all(len(p["matches"]) == 100 for p in pages[:2])
    assert all(p["matches"] == [] for p in pages[2:])


def test_no_token_when_the_page_is_not_full(corpus: Api) -> None:
    assert "continuationToken" not in post(corpus, maxCount=12)
    assert "continuationToken" not in post(corpus, maxCount=5000, pageMode="head")
    assert "continuationToken" not in post(corpus, filter="nothing at all")
    assert "continuationToken" in post(corpus, maxCount=10)
    assert "continuationToken" in post(corpus, maxCount=2, filter="GET", pageMode="head")


@pytest.fixture
def first_page(corpus: Api) -> tuple[str, dict[str, Any]]:
    params = {"filter": "not nightly", "startTime": "1h", "endTime": "0m", "pageMode": "head"}
    token = post(corpus, maxCount=3, **params)["continuationToken"]
    return token, params


@pytest.mark.parametrize(
    "change",
    [
        {"filter": "not daily"},
        {"filter": ""},
        {"startTime": "2h"},
        {"startTime": None},
        {"endTime": "1m"},
        {"endTime": None},
        {"pageMode": "tail"},
    ],
    ids=["filter", "no filter", "startTime", "no startTime", "endTime", "no endTime",
         "pageMode"],
)
def test_a_token_with_other_parameters_is_400(
    corpus: Api, first_page: tuple[str, dict[str, Any]], change: dict[str, Any]
) -> None:
    token, params = first_page
    changed = {k: v for k, v in {**params, **change}.items() if v is not None}
    message = refused(corpus, maxCount=3, continuationToken=token, **changed)
    assert "continuationToken" in message and "filter" in message
    # Unchanged, it goes on.
    assert messages(post(corpus, maxCount=3, continuationToken=token, **params)) == pick(4, 5, 6)


def test_a_token_of_another_account_is_400(
    corpus: Api, first_page: tuple[str, dict[str, Any]]
) -> None:
    token, params = first_page
    if not any(a.name == "other" for a in corpus.registry.list_accounts()):
        corpus.registry.create_account("other")
    other = corpus.token("read-logs", "other")
    response = corpus.client.post(
        "/api/query", json={"token": other, "maxCount": 3, "continuationToken": token, **params}
    )
    assert "continuationToken" in assert_error(response, 400, "error/client/badParam")["message"]
    # Another token of the same account may continue it.
    same = corpus.token("read-config")
    assert messages(post(corpus, token=same, maxCount=3, continuationToken=token, **params)) == (
        pick(4, 5, 6)
    )


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        "a",
        _b64([1, 2, 3]),
        _b64({"ts": 1}),
        _b64([2, 0, 1, 0, 0, 0, "x"]),  # another version
        _b64([1, "0", 1, 0, 0, 0, "x"]),
        _b64([1, 0, 1, 0, 0, 0, "not this query"]),
        5,
        ["a"],
    ],
)
def test_a_garbage_token_is_400(corpus: Api, token: Any) -> None:
    message = refused(corpus, continuationToken=token)
    assert "continuationToken" in message
    assert "leave it out" in message or "string" in message


def test_a_truncated_token_is_400(corpus: Api, first_page: tuple[str, dict[str, Any]]) -> None:
    token, params = first_page
    for broken in (token[:-4], token[4:], token + "xyz"):
        assert "continuationToken" in refused(corpus, continuationToken=broken, **params)


def test_head_paging_takes_in_events_that_arrive_meanwhile(api: Api) -> None:
    old = [f"old {i:03d}" for i in range(250)]
    api.upload("\n".join(old))
    api.clock.advance(1)
    params = {"pageMode": "head", "startTime": str(NOW // S)}
    first = post(api, maxCount=100, **params)
    assert messages(first) == old[:100]

    new = [f"new {i:03d}" for i in range(30)]
    api.upload("\n".join(new))
    api.clock.advance(1)
    pages = [first, *page_through_from(api, first, 100, **params)]
    assert in_reading_order(pages, "head") == old + new


def test_tail_paging_is_not_disturbed_by_events_that_arrive_meanwhile(api: Api) -> None:
    old = [f"old {i:03d}" for i in range(250)]
    api.upload("\n".join(old))
    api.clock.advance(1)
    first = post(api, maxCount=100, pageMode="tail")
    assert messages(first) == old[150:]

    api.upload("\n".join(f"new {i}" for i in range(30)))
    api.clock.advance(1)
    pages = [first, *page_through_from(api, first, 100, pageMode="tail")]
    assert in_reading_order(pages, "tail") == old


def page_through_from(
    api: Api, first: dict[str, Any], max_count: int, **params: Any
) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    page = first
    while "continuationToken" in page:
        page = post(api, maxCount=max_count, continuationToken=page["continuationToken"],
                    **params)
        pages.append(page)
    return pages


# -- facetQuery -----------------------------------------------------------------------------


def facet(api: Api, field: str, **params: Any) -> tuple[list[tuple[str, int]], int]:
    body = post(api, "/api/facetQuery", field=field, **params)
    return [(v["value"], v["count"]) for v in body["values"]], body["matchCount"]


@pytest.fixture
def colours(api: Api) -> Api:
    """Eleven events: red x3, then green, blue and amber x2 each, and two without a colour."""
    order = ["green", "red", "blue", None, "amber", "red", "green", "blue", None, "amber", "red"]
    insert_events(
        store_of(api), account_id(api),
        [{"ts": NOW + i, "message": f"paint {i}", "attrs": {"colour": c} if c else {}}
         for i, c in enumerate(order)],
    )
    api.clock.advance(1)
    return api


def test_facet_values_by_count_with_ties_by_value(colours: Api) -> None:
    expected = [("red", 3), ("amber", 2), ("blue", 2), ("green", 2)]
    assert facet(colours, "colour") == (expected, 11)
    assert facet(colours, "$colour") == (expected, 11)
    assert facet(colours, "colour", maxCount=2) == (expected[:2], 11)
    assert facet(colours, "colour", maxCount=1) == (expected[:1], 11)
    assert facet(colours, "colour", filter="not paint") == ([], 0)
    assert facet(colours, "colour", filter="colour != 'red'") == (expected[1:], 8)


def test_facet_by_get(colours: Api) -> None:
    body = get(colours, "/api/facetQuery", field="colour", maxCount="2", startTime="1h")
    assert body["values"] == [{"value": "red", "count": 3}, {"value": "amber", "count": 2}]
    assert body["matchCount"] == 11


def test_facet_of_session_fields_and_attributes(corpus: Api) -> None:
    hosts = [("api-1", 4), ("db-1", 2), ("web-1", 2), ("web-2", 2), ("batch-1", 1)]
    assert facet(corpus, "serverHost") == (hosts, 11)
    assert facet(corpus, "$serverHost") == (hosts, 11)
    assert facet(corpus, "tier") == ([("prod", 7), ("staging", 2)], 11)
    assert facet(corpus, "$serverIP") == ([("testclient", 6), ("10.0.0.5", 4),
                                           ("10.0.0.9", 1)], 11)
    assert facet(corpus, "status") == ([("201", 1), ("404", 1), ("500", 1)], 11)
    assert facet(corpus, "severity") == ([("3", 8), ("1", 1), ("4", 1), ("5", 1)], 11)
    assert facet(corpus, "logfile", filter="tier == 'staging'") == (
        [("/var/log/nginx/access.log", 2)], 2
    )
    assert facet(corpus, "serverHost", filter="error") == ([("web-1", 1), ("web-2", 1)], 2)
    assert facet(corpus, "nosuchfield") == ([], 11)
    assert facet(corpus, "serverHost", startTime="1s") == ([], 0)


@pytest.mark.parametrize("count", [1, 2, 1000, "3"])
def test_facet_max_count_within_1_to_1000(corpus: Api, count: int | str) -> None:
    values, total = facet(corpus, "serverHost", maxCount=count)
    assert len(values) == min(int(count), 5) and total == 11


@pytest.mark.parametrize("count", [0, 1001, "x", 2.5])
def test_facet_max_count_outside_1_to_1000_is_400(corpus: Api, count: object) -> None:
    message = refused(corpus, "/api/facetQuery", field="serverHost", maxCount=count)
    assert "maxCount" in message and "1000" in message


@pytest.mark.parametrize("params", [{}, {"field": ""}, {"field": 3}])
def test_facet_needs_a_field(corpus: Api, params: dict[str, Any]) -> None:
    assert "field" in refused(corpus, "/api/facetQuery", **params)


def test_facet_refuses_a_bad_filter_and_a_write_token(corpus: Api) -> None:
    message = refused(corpus, "/api/facetQuery", field="serverHost", filter="(error")
    assert "column" in message
    response = corpus.client.post("/api/facetQuery",
                                  json={"token": corpus.write, "field": "serverHost"})
    assert_error(response, 403, "error/client/noPermission")
    assert_error(corpus.client.put("/api/facetQuery"), 405, "error/client/methodNotAllowed")


def test_facet_of_one_account_sees_only_its_events(corpus: Api) -> None:
    if not any(a.name == "other" for a in corpus.registry.list_accounts()):
        corpus.registry.create_account("other")
    body = post(corpus, "/api/facetQuery", token=corpus.token("read-logs", "other"),
                field="serverHost")
    assert (body["values"], body["matchCount"]) == ([], 0)


# -- timeouts -------------------------------------------------------------------------------

SLOW_FILTER = '$"a[ab]{20}c"'  # on a/b text RE2's DFA runs out of states: ~1 MB/s


def test_a_slow_query_times_out_and_never_blocks_ingestion(tmp_path: Path) -> None:
    with running(tmp_path, query_timeout_seconds=1.0) as api:
        rng = np.random.default_rng(7)
        # 200,000 messages of 200 random a/b letters: over ten seconds of regex work on two
        # cores, and no faster on more (DuckDB scans a row group of 122,880 rows per thread).
        letters = rng.choice(np.frombuffer(b"ab", dtype=np.uint8), size=(200_000, 200))
        insert_events(
            store_of(api), account_id(api),
            [{"ts": NOW + i, "message": row.tobytes().decode()} for i, row in enumerate(letters)],
        )
        api.clock.advance(1)

        # Know when the slow query has reached the store.
        store = api.client.app.state.ctx.store  # type: ignore[attr-defined]
        reached = threading.Event()
        select = store.select

        def watched(sql: Any, timeout: float) -> Any:
            reached.set()
            return select(sql, timeout)

        store.select = watched
        outcome: dict[str, Any] = {}

        def slow_query() -> None:
            started = time.monotonic()
            outcome["response"] = api.client.post(
                "/api/query", json={"token": api.read, "filter": SLOW_FILTER}
            )
            outcome["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=slow_query)
        worker.start()
        try:
            assert reached.wait(30)
            upload = api.upload("written while a query runs")
            assert upload.json() == {"status": "success"}
            assert worker.is_alive(), "the upload waited for the query"
        finally:
            worker.join(60)
        store.select = select

        body = assert_error(outcome["response"], 503, "error/server/timeout")
        assert "1 s" in body["message"] and "narrow" in body["message"]
        assert outcome["seconds"] < 30

        assert api.upload("written after it").json() == {"status": "success"}
        api.clock.advance(1)
        found = post(api, filter="written")
        assert messages(found) == ["written while a query runs", "written after it"]

        response = api.client.post("/api/facetQuery", json={
            "token": api.read, "field": "message", "filter": SLOW_FILTER,
        })
        assert_error(response, 503, "error/server/timeout")
