"""The Agent-layout fast path: the same events as the general path, or None (never different).

Every test compares `agent_layout.parse` + `addevents.decode_layout` against
`parse_body` + `addevents.decode` on the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.ingest import addevents, agent_layout
from millpond.ingest.scalyr_json import parse_body

FIXTURES = Path("/work/shared/fixtures/scalyr-agent")


def general(data: bytes) -> addevents.AddEvents | BadParam:
    try:
        return addevents.decode(
            parse_body(data), account_id=7, server_ip="10.0.0.9", receipt_ns=lambda n: 1
        )
    except BadParam as e:
        return e


def fast(data: bytes) -> addevents.AddEvents | None:
    layout = agent_layout.parse(data)
    if layout is None:
        return None
    return addevents.decode_layout(layout, account_id=7, server_ip="10.0.0.9")


def same(a: addevents.AddEvents, b: addevents.AddEvents) -> None:
    assert a.table.to_pylist() == b.table.to_pylist()
    assert a.table.schema == b.table.schema
    assert a.seq_ids.to_pylist() == b.seq_ids.to_pylist()
    assert a.seq_nums.to_pylist() == b.seq_nums.to_pylist()
    assert a.session == b.session and a.session_info == b.session_info


def agrees(data: bytes) -> addevents.AddEvents | None:
    """The fast path's answer, after checking it against the general path's. Both read the
    request's own fields (session, sessionInfo, logs) with the same checks, so a body the fast
    path refuses for one of those, the general path refuses with the same message."""
    try:
        quick = fast(data)
    except BadParam as refused:
        slow = general(data)
        assert isinstance(slow, BadParam) and slow.message == refused.message
        return None
    if quick is not None:
        slow = general(data)
        assert not isinstance(slow, BadParam), f"fast path accepted what is refused: {slow}"
        same(slow, quick)
    return quick


# -- the Agent's writer (scalyr_agent/scalyr_client.py, Event.serialize) ------------------------


def event(message: bytes, ts: int, *, thread: str = "log_1", attrs: dict[str, Any] | None = None,
          si: str | None = None, sn: int | None = None, sd: int | None = None,
          fast_sd: bool = False) -> bytes:
    out = b"{thread:" + json.dumps(thread).encode() + b", log:" + json.dumps(thread).encode()
    out += b", attrs:" + (json.dumps(attrs).encode()[:-1] + b"," if attrs else b"{")
    out += b"message:`s" + len(message).to_bytes(4, "big") + message
    if fast_sd:  # the Agent's fast path: sd and ts only
        out += b"},sd:" + str(sd).encode() + b',ts:"' + str(ts).encode() + b'"'
    else:
        out += b'},ts:"' + str(ts).encode() + b'"'
        if si is not None:
            out += b",si:" + json.dumps(si).encode()
        if sn is not None:
            out += b",sn:" + str(sn).encode()
        if sd is not None:
            out += b",sd:" + str(sd).encode()
    return out + b"}"


def body(events: list[bytes], *, session_info: dict[str, Any] | None = None,
         logs: list[dict[str, Any]] | None = None) -> bytes:
    info = {"serverHost": "web-1"} if session_info is None else session_info
    logs = [{"id": "log_1", "attrs": {"logfile": "/var/log/app.log", "parser": "app"}}] \
        if logs is None else logs
    return (
        b'{"token": "T", "session": "s-1", "threads": [], "sessionInfo": '
        + json.dumps(info).encode() + b", events: [" + b",".join(events)
        + b"], logs: " + json.dumps(logs).encode()
        + b', threads: [{"id": "log_1", "name": "Lines"}], client_time: 1795920448 }'
    )


# -- real bodies -----------------------------------------------------------------------------------


def test_the_recorded_agent_body_takes_the_fast_path() -> None:
    data = (FIXTURES / "addEvents-data.body").read_bytes()
    decoded = agrees(data)
    assert decoded is not None
    assert decoded.table.num_rows == 7
    assert decoded.seq_nums.to_pylist()[:3] == [63, 64, 106]


@pytest.mark.parametrize("name", ["addEvents-ping.body", "addEvents-heartbeat.body"])
def test_bodies_without_events_go_the_general_way(name: str) -> None:
    assert agent_layout.parse((FIXTURES / name).read_bytes()) is None


def test_sequencing_as_the_agent_writes_it() -> None:
    events = [event(b"a\n", 10, si="S1", sn=100), event(b"b\n", 11, sd=5, fast_sd=True),
              event(b"c\n", 12, sd=7, fast_sd=True), event(b"d\n", 13, si="S2", sn=3),
              event(b"e\n", 14, sd=1)]
    decoded = agrees(body(events))
    assert decoded is not None
    assert decoded.seq_ids.to_pylist() == ["S1", "S1", "S1", "S2", "S2"]
    assert decoded.seq_nums.to_pylist() == [100, 105, 112, 3, 4]
    assert decoded.table["message"].to_pylist() == ["a", "b", "c", "d", "e"]


def test_events_without_sequencing() -> None:
    decoded = agrees(body([event(b"x\r\n", 1), event(b"y", 2), event(b"", 3)]))
    assert decoded is not None
    assert decoded.seq_ids.null_count == 3
    assert decoded.table["message"].to_pylist() == ["x", "y", ""]


def test_attributes_and_their_precedence() -> None:
    events = [
        event(b"one\n", 1, attrs={"logfile": "/other.log", "status": 200, "message": "shadowed"}),
        event(b"two\n", 2, attrs={"__origServerHost": "h2", "parser": "p2"}),
        event(b"three\n", 3, thread="t2"),
    ]
    decoded = agrees(body(events, session_info={"tier": "x"},
                          logs=[{"id": "log_1", "attrs": {"logfile": "/a.log", "k": [1, 2]}}]))
    assert decoded is not None
    rows = decoded.table.to_pylist()
    assert [r["logfile"] for r in rows] == ["/other.log", "/a.log", None]
    assert [r["server_host"] for r in rows] == [None, "h2", None]
    assert [r["parser"] for r in rows] == [None, "p2", None]
    assert rows[0]["attrs"] == '{"k":[1,2],"status":200}'


def test_stretches_alike_but_for_their_digits_keep_their_own_values() -> None:
    """The fast path matches each stretch between messages by its shape (digits made 0): the
    numbers, threads and attributes that differ only in digits must still come out apart."""
    events = [
        event(b"a\n", 1795920448022170112, thread="log_1", attrs={"status": 200},
              si="S1", sn=5),
        event(b"b\n", 1795920448022170999, thread="log_2", attrs={"status": 500}, sd=7,
              fast_sd=True),
        event(b"c\n", 2795920448022170113, thread="log_1", attrs={"status": 200}, sd=9,
              fast_sd=True),
        event(b"d\n", 1, thread="log_2", attrs={"status": 501}, sd=3, fast_sd=True),
        event(b"e\n", 9999999999999999999, thread="log_1", attrs={"status": 200}, sd=1,
              fast_sd=True),
    ]
    decoded = agrees(body(events, logs=[{"id": "log_1", "attrs": {"logfile": "/1.log"}},
                                        {"id": "log_2", "attrs": {"logfile": "/2.log"}}]))
    assert decoded is not None
    rows = decoded.table.to_pylist()
    assert [r["ts"] for r in rows] == [1795920448022170112, 1795920448022170999,
                                       2795920448022170113, 1, 2**63 - 1]
    assert [r["thread"] for r in rows] == ["log_1", "log_2", "log_1", "log_2", "log_1"]
    assert [r["logfile"] for r in rows] == ["/1.log", "/2.log", "/1.log", "/2.log", "/1.log"]
    assert [r["attrs"] for r in rows] == ['{"status":200}', '{"status":500}',
                                          '{"status":200}', '{"status":501}', '{"status":200}']
    assert decoded.seq_nums.to_pylist() == [5, 12, 21, 24, 25]


def test_a_shape_of_its_own_for_every_event() -> None:
    """Every stretch different (an si each, of its own length): slower, the same answer."""
    events = [event(f"m{i}".encode(), 1000 + i, si="x" * (i + 1), sn=i) for i in range(60)]
    decoded = agrees(body(events))
    assert decoded is not None
    assert decoded.seq_ids.to_pylist() == ["x" * (i + 1) for i in range(60)]
    assert decoded.table["ts"].to_pylist() == [1000 + i for i in range(60)]


@pytest.mark.parametrize(
    "data",
    [
        # a delta before any sn: the general path names the error
        body([event(b"a", 1, sd=1, fast_sd=True)]),
        # invalid UTF-8: the general path replaces it
        body([event(b"caf\xe9\n", 1)]),
        # a length that runs past the body
        body([event(b"abc", 1)]).replace(b"`s\x00\x00\x00\x03", b"`s\x00\x00\x10\x03"),
        # a message that holds what looks like another length prefix
        body([event(b"x`s\x00\x00\x00\x01y", 1)]),
        # attrs that are not JSON object members
        body([event(b"a", 1, attrs={"k": 1})]).replace(b'"k": 1,', b'"k": ,'),
        # sev, which the Agent does not write
        body([event(b"a", 1)]).replace(b'},ts:"1"', b'},sev:5,ts:"1"'),
        # a ts past 64 bits (clamped by the general path), in the fast path's reach
        body([event(b"a", 99999999999999999999 // 10)]),
        # events again in the trailer: the last one wins
        body([event(b"a", 1)]).replace(b"client_time", b"events: [], client_time"),
    ],
)
def test_what_the_fast_path_leaves_to_the_general_one(data: bytes) -> None:
    agrees(data)


def test_a_trailing_events_key_is_not_read_by_the_fast_path() -> None:
    data = body([event(b"a", 1)]).replace(b"client_time", b"events: [], client_time")
    assert fast(data) is None
    decoded = general(data)
    assert isinstance(decoded, addevents.AddEvents) and decoded.table.num_rows == 0


# -- properties --------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
MESSAGES = st.one_of(
    TEXT.map(str.encode),
    st.sampled_from([b"", b"\n", b"\r\n", b"`s\x00\x00\x00\x02ab", b"}]},ts:\"1\"}", b"\xff"]),
    st.binary(max_size=20),
)
ATTRS = st.dictionaries(
    st.sampled_from(["service", "logfile", "parser", "status", "__origServerHost", "serverHost",
                     "message", "k\"q", "caf\u00e9"]),
    st.one_of(TEXT, st.integers(-(2**70), 2**70), st.booleans(), st.none(),
              st.lists(st.integers(), max_size=3)),
    max_size=4,
)


@st.composite
def agent_bodies(draw: st.DrawFn) -> bytes:
    events = []
    for ts in draw(st.lists(st.integers(0, 2**64), min_size=1, max_size=12)):
        kind = draw(st.sampled_from(["plain", "sn", "sd", "fast_sd", "both"]))
        kwargs: dict[str, Any] = {
            "thread": draw(st.sampled_from(["log_1", "log_2", "t\u00e9"])),
            "attrs": draw(ATTRS),
        }
        if kind in ("sn", "both"):
            kwargs.update(si=draw(st.sampled_from(["S1", "S2", "", "\u00fc"])),
                          sn=draw(st.integers(0, 2**62)))
        if kind in ("sd", "fast_sd", "both"):
            kwargs.update(sd=draw(st.integers(0, 2**40)), fast_sd=kind == "fast_sd")
        events.append(event(draw(MESSAGES), ts, **kwargs))
    logs = draw(st.lists(st.fixed_dictionaries({"id": st.sampled_from(["log_1", "log_2"]),
                                                "attrs": ATTRS}), max_size=2))
    info = draw(st.dictionaries(st.sampled_from(["serverHost", "logfile", "parser", "tier"]),
                                TEXT, max_size=3))
    return body(events, session_info=info, logs=logs)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(agent_bodies())
def test_agent_bodies_decode_the_same_on_both_paths(data: bytes) -> None:
    agrees(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(agent_bodies(), st.data())
def test_damaged_agent_bodies_are_never_read_differently(data: bytes, draw: st.DataObject) -> None:
    pos = draw.draw(st.integers(0, len(data) - 1))
    how = draw.draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
    byte = draw.draw(st.sampled_from(list(b'"{}[],:`\\s\x00 0a\n')))
    if how == "cut":
        damaged = data[:pos]
    elif how == "flip":
        damaged = data[:pos] + bytes([byte]) + data[pos + 1 :]
    elif how == "insert":
        damaged = data[:pos] + bytes([byte]) + data[pos:]
    else:
        damaged = data[:pos] + data[pos + 1 :]
    agrees(damaged)


def test_plain_agent_bodies_do_take_the_fast_path() -> None:
    events = [event(f"line {i} caf\u00e9 \u2603\n".encode(), 1795920448022170112 + i,
                    attrs={"service": "web"}, si="S" if i == 0 else None,
                    sn=10 if i == 0 else None, sd=None if i == 0 else 12, fast_sd=i > 0)
              for i in range(500)]
    decoded = agrees(body(events))
    assert decoded is not None and decoded.table.num_rows == 500
    assert decoded.seq_nums.to_pylist()[-1] == 10 + 499 * 12
