"""addEvents bodies: strict JSON and the Scalyr Agent's dialect (spec §2.2) → request objects."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.ingest.scalyr_json import HINT, MAX_DEPTH, dumps_agent, parse_body, parse_exact
from millpond.ingest.scalyr_json import _agent_to_json as agent_fast_path

FIXTURES = Path("/work/shared/fixtures/scalyr-agent")
AGENT_BODIES = ["addEvents-data.body", "addEvents-ping.body", "addEvents-heartbeat.body"]


def lp(text: str | bytes) -> bytes:
    """A length-prefixed string as the agent writes it."""
    raw = text.encode() if isinstance(text, str) else text
    return b"`s" + len(raw).to_bytes(4, "big") + raw


# -- the real agent's bodies --------------------------------------------------------------------


def test_agent_data_body() -> None:
    body = parse_body((FIXTURES / "addEvents-data.body").read_bytes())
    assert body["token"] == "SAMPLE-WRITE-TOKEN"
    assert body["session"] == "dexynHyCUk2NEZld7N9uGNJRBrg="
    assert body["sessionInfo"] == {"serverHost": "sample-host", "tier": "acceptance"}
    assert body["client_time"] == 1795920448
    # `threads` comes twice: `[]` first, the trailer last; the last one wins.
    assert body["threads"] == [{"id": "log_1", "name": "Lines for file /var/log/demo/app.log"}]
    assert body["logs"] == [
        {
            "id": "log_1",
            "attrs": {
                "service": "demo",
                "parser": "sampleParser",
                "logfile": "/var/log/demo/app.log",
            },
        }
    ]
    events = body["events"]
    assert [e["attrs"]["message"] for e in events] == [
        "2026-01-02T03:04:05Z INFO sample line one key=value status=200\n",
        "\n",
        "unicode: héllo wörld ☃ 日本語 🚀\n",
        "crlf terminated line\r\n",
        'quotes " and backslash \\ and a literal `s backtick and {braces} [brackets]\n',
        "tab\tseparated\tfields\n",
        '{"json":"line","n":1,"nested":{"a":[1,2]}}\n',
    ]
    assert [e["ts"] for e in events] == [
        "1795920448022170112",
        "1795920448022251008",
        "1795920448022272512",
        "1795920448022288896",
        "1795920448022304512",
        "1795920448022320384",
        "1795920448022336768",
    ]
    assert events[0]["si"] == "d1acd674-23df-4a4e-af49-ed5bb1fab155"
    assert events[0]["sn"] == 63
    assert "sd" not in events[0]
    assert [e.get("sd") for e in events[1:]] == [1, 42, 22, 75, 21, 43]
    assert all("si" not in e and "sn" not in e for e in events[1:])
    assert {e["thread"] for e in events} == {e["log"] for e in events} == {"log_1"}
    assert all(e["attrs"].keys() == {"service", "parser", "logfile", "message"} for e in events)


def test_agent_data_body_as_sent_deflated() -> None:
    deflated = (FIXTURES / "addEvents-data.body.deflate").read_bytes()
    plain = (FIXTURES / "addEvents-data.body").read_bytes()
    assert parse_body(zlib.decompress(deflated)) == parse_body(plain)


def test_agent_ping_body() -> None:
    body = parse_body((FIXTURES / "addEvents-ping.body").read_bytes())
    assert body == {
        "token": "SAMPLE-WRITE-TOKEN",
        "session": "HZfHRzH3FEFy_Ux_svev_a703WY=",
        "threads": [],
        "events": [],
        "logs": [],
        "client_time": 1795920442,
    }


def test_agent_heartbeat_body() -> None:
    body = parse_body((FIXTURES / "addEvents-heartbeat.body").read_bytes())
    assert body["sessionInfo"] == {"serverHost": "sample-host", "tier": "acceptance"}
    assert body["events"] == body["logs"] == body["threads"] == []
    assert body["client_time"] == 1795920443


@pytest.mark.parametrize("name", AGENT_BODIES)
def test_real_agent_bodies_take_the_fast_path(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert agent_fast_path(data) == parse_exact(data) == parse_body(data)


def test_a_large_agent_body_takes_the_fast_path() -> None:
    events = [
        {"thread": "log_1", "log": "log_1", "attrs": {"message": f'line {i} "q" a: b\n'}, "sd": i}
        for i in range(2000)
    ]
    body = {"session": "s", "events": events, "threads": [{"id": "log_1", "name": "x: y"}]}
    data = dumps_agent(body, duplicate_threads=True)
    assert agent_fast_path(data) == body == parse_exact(data)


# -- the relaxations ----------------------------------------------------------------------------

RELAXED: list[tuple[str, bytes, dict[str, Any] | None]] = [
    ("bare keys", b"{a: 1, _b9: 2,c:3 }", {"a": 1, "_b9": 2, "c": 3}),
    ("space before a colon", b"{a :1, b\n\t: 2}", {"a": 1, "b": 2}),
    ("words as bare keys", b"{true: 1, null: 2, NaN: 3}", {"true": 1, "null": 2, "NaN": 3}),
    ("duplicate keys", b'{"a": [], b: 1, a: [2]}', {"a": [2], "b": 1}),
    ("length-prefixed", b"{message: " + lp('say "hi"\n\x00') + b"}", {"message": 'say "hi"\n\x00'}),
    ("empty length-prefixed", b"{m:" + lp("") + b"}", {"m": ""}),
    ("length-prefixed key", b"{" + lp("k e y") + b": 1}", {"k e y": 1}),
    ("length-prefixed in a list", b"{a: [" + lp("x") + b", " + lp("y") + b"]}", {"a": ["x", "y"]}),
    ("invalid UTF-8 in a prefix", b"{m:" + lp(b"a\xffb\xc3") + b"}", {"m": "a\ufffdb\ufffd"}),
    ("invalid UTF-8 in a string", b'{"m": "a\xffb"}', {"m": "a\ufffdb"}),
    ("raw tab in a string", b'{"m": "a\tb"}', {"m": "a\tb"}),
    ("trailing comma, object", b'{"a": 1, }', {"a": 1}),
    ("trailing comma, array", b'{"a": [1, 2,]}', {"a": [1, 2]}),
    (
        "line break for comma",
        b'{"a": 1\n"b": 2\r\n c: [1\r2\n\n3]}',
        {"a": 1, "b": 2, "c": [1, 2, 3]},
    ),
    ("// comment", b'{ // note\n"a": 1 // more\n}', {"a": 1}),
    ("/* comment */", b'{/* x */"a"/* y */: /* z */1 /* w */}', {"a": 1}),
    ("comment after the object", b'{"a": 1} // done', {"a": 1}),
    ("comment as line break", b'{"a": 1 // x\n"b": 2}', {"a": 1, "b": 2}),
    ("concatenation", b'{"a": "x" + "y"+"z"}', {"a": "xyz"}),
    ("concatenation over lines", b'{"a": "x"\n + ' + lp("y") + b"}", {"a": "xy"}),
    ("triple quotes", b'{"a": """one\n"two" \\t"""}', {"a": 'one\n"two" \t'}),
    ("empty triple quotes", b'{"a": """"""}', {"a": ""}),
    ("escapes", b'{"a": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}', {"a": '"\\/\b\f\n\r\té'}),
    ("surrogate pair", b'{"a": "\\ud83d\\ude80"}', {"a": "🚀"}),
    ("lone surrogate", b'{"a": "\\ud83d!"}', {"a": "\ufffd!"}),
    ("whitespace", b' \r\n\t{ "a" :\t1 \n}\r\n ', {"a": 1}),
    ("words", b"{a: true, b: false, c: null}", {"a": True, "b": False, "c": None}),
    (
        "numbers",
        b"{a: -0.5e3, b: 0, c: -12, d: 1E2, e: 1e-400}",
        {"a": -500.0, "b": 0, "c": -12, "d": 100.0, "e": 0.0},
    ),
    (
        "64-bit integers",
        b"{a: 18446744073709551615, b: -9223372036854775808}",
        {"a": 2**64 - 1, "b": -(2**63)},
    ),
    (
        "larger integers",
        b"{a: 18446744073709551616, b: " + b"9" * 30 + b"}",
        {"a": 2.0**64, "b": 1e30},
    ),
    ("nested", b"{a:{b:{c:[[], {}]}}}", {"a": {"b": {"c": [[], {}]}}}),
    (f"{MAX_DEPTH} levels", b"{a:" + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}", None),
]


@pytest.mark.parametrize(("name", "data", "expected"), RELAXED, ids=[r[0] for r in RELAXED])
def test_relaxations(name: str, data: bytes, expected: dict[str, Any] | None) -> None:
    result = parse_body(data)
    if expected is not None:
        assert result == expected
    assert parse_exact(data) == result


TRICKY: list[bytes] = [
    b'{k: ["x`s\x00\x00\x00\x03,1,"]}',  # a length prefix inside a quoted string
    b'{k: "a`s\x00\x00\x00\x01\\"}',  # ... right before a quote
    b'{k: "a, b: c", "x": "\\\\", y: "q\\"r: s", z: "\\\\\\"t: u"}',  # keys inside strings
    b'{"a":"x"b:1}',  # a bare key glued to a string
    b"{\\a: 1}",  # a backslash before a bare key
    b'{k: "' + b"]" * 200 + b'", a: ' + b"[" * 99 + b"]" * 99 + b"}",  # brackets in strings
    b'{k: "' + b"]" * 200 + b'", a: ' + b"[" * 100 + b"]" * 100 + b"}",
    b"{a: `s\x01\x00\x00\x00abc}",  # a length of 16 MiB
    b"{a: `s\xff\xff\xff\xffabc}",  # a negative length
    b"{a: `s\x00\x00\x00\x01x `s\x00\x00\x00\x01y}",  # two strings, no separator
    b"{a :1}",  # a space before the colon
    b'{a: "x"}\n{b: 1}',  # two objects
    b'{a: """x"""}',
]


@pytest.mark.parametrize("data", TRICKY, ids=[repr(d[:40]) for d in TRICKY])
def test_tricky_bodies_read_the_same_on_every_path(data: bytes) -> None:
    try:
        expected = parse_exact(data)
    except BadParam as error:
        with pytest.raises(BadParam) as raised:
            parse_body(data)
        assert raised.value.message == error.message
    else:
        assert parse_body(data) == expected


def test_numbers_mean_what_orjson_makes_of_them() -> None:
    strict = b'{"a": [18446744073709551616, -9223372036854775809, 1.5, -0]}'
    assert parse_exact(strict) == orjson.loads(strict) == {"a": [2.0**64, -(2.0**63), 1.5, 0]}
    assert isinstance(parse_exact(b"{a: 12}")["a"], int)


def test_strict_json_goes_straight_through() -> None:
    body = {"session": "s", "events": [{"ts": 1, "attrs": {"message": 'x "y"\n', "n": 1.5}}]}
    assert parse_body(orjson.dumps(body)) == body


# -- errors -------------------------------------------------------------------------------------

ERRORS: list[tuple[bytes, str]] = [
    (b"", "the body is empty"),
    (b" \r\n", "the body is empty"),
    (b"[1]", "must be a JSON object, but it starts with an array ('[') at byte 0"),
    (b' "x"', "must be a JSON object, but it starts with a string at byte 1"),
    (b"42", "must be a JSON object, but it starts with a number at byte 0"),
    (b"null", "must be a JSON object, but it starts with the word 'null' at byte 0"),
    (b"\xef\xbb\xbf{}", "must be a JSON object, but it starts with the byte 0xef at byte 0"),
    (b'{"a": 1} x', "found the word 'x' after the end of the top-level object at byte 9"),
    (b'{"a": 1}{}', "found an object ('{') after the end of the top-level object at byte 8"),
    (b'{"a": 1}\x00', "found the byte 0x00 after the end of the top-level object at byte 8"),
    (b'{"a": 1', "the object opened at byte 0 is not closed: the body ends at byte 7"),
    (b'{"a": [1 ', "the array opened at byte 6 is not closed: the body ends at byte 9"),
    (b'{"a": 1 "b": 2}', "expected ',' or '}' after an object member but found a string at byte 8"),
    (b'{"a": [1 2]}', "expected ',' or ']' after an array element but found a number at byte 9"),
    (b'{"a": [1, 2}', "expected ',' or ']' after an array element but found '}' at byte 11"),
    (b'{"a" 1}', "expected ':' after the key 'a' but found a number at byte 5"),
    (b"{a}", "expected ':' after the key 'a' but found '}' at byte 2"),
    (b'{"a": }', "expected a value but found '}' at byte 6"),
    (b'{"a": ', "the body ends where a value should be at byte 6"),
    (b'{"a": [1,,2]}', "expected a value or ']' but found ',' at byte 9"),
    (b"{,}", "expected a key or '}' but found ',' at byte 1"),
    (b"{1: 2}", "expected a key or '}' but found a number at byte 1"),
    (b"{a-b: 1}", "'-' after the unquoted key 'a' at byte 2; put keys with other characters"),
    (b'{"a": "abc}', "the string opened at byte 6 is not closed: the body ends at byte 11"),
    (b'{"a": "abc\\', "the string opened at byte 6 is not closed: the body ends at byte 11"),
    (b'{"a": "ab\ncd"}', "a raw line break inside a string at byte 9; write it as \\n"),
    (b'{"a": "ab\\\ncd"}', "a raw line break inside a string at byte 10"),
    (b'{"a": "\\x"}', "the invalid escape '\\\\x' in a string at byte 7"),
    (b'{"a": "ok\\u12"}', "the invalid escape '\\\\u' in a string at byte 9"),
    (b'{"a": """abc}', "the triple-quoted string is not closed at byte 6"),
    (b'{"a": NaN}', "NaN is not a JSON number at byte 6; send null or a string instead"),
    (b'{"a": Infinity}', "Infinity is not a JSON number at byte 6"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON number at byte 6"),
    (b'{"a": tru}', "unexpected word 'tru' at byte 6; put strings in double quotes"),
    (b'{"a": 01}', "invalid number '01' at byte 6"),
    (b'{"a": 1.}', "invalid number '1.' at byte 6"),
    (b'{"a": -}', "invalid number '-' at byte 6"),
    (b'{"a": 2x}', "invalid number '2x' at byte 6"),
    (b'{"a": 1e999}', "the number 1e999 is too large for a double at byte 6"),
    (b'{"a": "x" + 1}', "expected a string after '+' but found a number at byte 12"),
    (b'{"a": "x" + }', "expected a string after '+' but found '}' at byte 12"),
    (
        b'{"a": `s\x00\x00',
        "the length of a length-prefixed string runs past the end of the body at byte 6",
    ),
    (
        b'{"a": `s\x00\x00\x00\x10abc}',
        "a length-prefixed string of 16 bytes runs past the end of the body "
        "(4 bytes follow its length) at byte 6",
    ),
    (
        b'{"a": `s\x7f\xff\xff\xffabc}',
        "a length-prefixed string of 2147483647 bytes runs past the end",
    ),
    (
        b'{"a": `s\xff\xff\xff\xfeabc}',
        "a length-prefixed string with the negative length -2 at byte 6",
    ),
    (
        b'{"a": `b\x00\x00\x00\x01x}',
        "a backtick that does not start a length-prefixed string at byte 6",
    ),
    (b"{/* abc", "expected a key or '}' but found a '/*' comment that is never closed at byte 1"),
    (
        b'{"a": 1 / 2}',
        "after an object member but found '/' (comments start with // or /*) at byte 8",
    ),
    (
        b"{a:" + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
        f"nested more than {MAX_DEPTH} levels deep at byte {3 + MAX_DEPTH - 1}",
    ),
    (
        b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
        f"nested more than {MAX_DEPTH} levels deep at byte {5 + MAX_DEPTH - 1}",
    ),
    (
        b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}",
        f"nested more than {MAX_DEPTH} levels deep at byte {5 + MAX_DEPTH - 1}",
    ),
    (b"{a:" + b"{a:" * 5000, f"nested more than {MAX_DEPTH} levels deep at byte {3 * MAX_DEPTH}"),
]


@pytest.mark.parametrize(("data", "message"), ERRORS, ids=[repr(e[0][:30]) for e in ERRORS])
def test_errors(data: bytes, message: str) -> None:
    with pytest.raises(BadParam) as raised:
        parse_body(data)
    assert message in raised.value.message
    assert raised.value.message.endswith(HINT)
    assert raised.value.http_status == 400


def test_an_error_deep_in_a_large_agent_body_names_its_offset() -> None:
    events = [{"attrs": {"message": f"line {i}\n"}, "sd": 1} for i in range(500)]
    data = dumps_agent({"session": "s", "events": events})
    broken = data.replace(b"sd:1}", b"sd:1 sd:2}", 1)
    offset = broken.index(b"sd:2")
    with pytest.raises(BadParam, match=re.escape(f"found the word 'sd' at byte {offset};")):
        parse_body(broken)


# -- dumps_agent --------------------------------------------------------------------------------


def test_dumps_agent_writes_the_agents_dialect() -> None:
    body = {"session": "S", "threads": [{"id": "t"}], "events": [{"attrs": {"message": "hi\n"}}]}
    assert dumps_agent(body, duplicate_threads=True) == (
        b'{threads:[], session:"S", threads:[{id:"t"}], '
        b"events:[{attrs:{message:`s\x00\x00\x00\x03hi\n}}] }"
    )
    everything = dumps_agent({"a b": "x", "n": [1, 2.5, None]}, length_prefixed=lambda k, v: True)
    assert everything == b'{"a b":`s\x00\x00\x00\x01x, n:[1, 2.5, null]}'


def test_dumps_agent_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="nan"):
        dumps_agent({"a": float("nan")})
    with pytest.raises(TypeError, match="keys must be strings"):
        dumps_agent({1: 2})
    with pytest.raises(TypeError, match="cannot write set"):
        dumps_agent({"a": {1}})


# -- properties ---------------------------------------------------------------------------------

IDENTIFIERS = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,11}\Z")
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
KEYS = st.one_of(IDENTIFIERS, st.sampled_from(["message", "threads", "ts", "a: b"]), TEXT)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=6)
PREDICATES = st.sampled_from(
    [None, lambda key, value: True, lambda key, value: len(value) % 2 == 0]
)
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(OBJECTS, PREDICATES, st.booleans())
def test_agent_dialect_round_trip(obj: dict[str, Any], predicate: Any, threads: bool) -> None:
    data = dumps_agent(obj, length_prefixed=predicate, duplicate_threads=threads)
    assert parse_body(data) == obj
    assert parse_exact(data) == obj


@FAST
@given(OBJECTS)
def test_agent_dialect_takes_the_fast_path(obj: dict[str, Any]) -> None:
    assert agent_fast_path(dumps_agent(obj)) == obj


@FAST
@given(OBJECTS)
def test_strict_json_round_trip(obj: dict[str, Any]) -> None:
    data = orjson.dumps(obj)
    assert parse_body(data) == obj
    assert parse_exact(data) == obj


@FAST
@given(st.binary(max_size=200))
@example(b"\x00\x00\x00\x00\x00\x00")
@example(b"{a:`s\x00\x00\x00")
@example(b"{a:`s\x00\x00\x00\x05ab}")
@example(b'{"a":"`s\x00\x00\x00\x03,1,"}')
def test_arbitrary_bytes_raise_nothing_but_bad_param(data: bytes) -> None:
    try:
        result = parse_body(data)
    except BadParam:
        return
    assert isinstance(result, dict)


@FAST
@given(OBJECTS, PREDICATES, st.data())
def test_shortcuts_agree_with_the_exact_parser_on_damaged_bodies(
    obj: dict[str, Any], predicate: Any, data: st.DataObject
) -> None:
    """Whatever the shortcuts accept, the exact parser reads the same way."""
    body = bytearray(dumps_agent(obj, length_prefixed=predicate))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body)))
        edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = data.draw(st.sampled_from(b'"\\:,{}[] \n\x00`sa1') | st.integers(0, 255))
        if edit == "insert":
            body.insert(at, byte)
        elif at < len(body):
            if edit == "delete":
                del body[at]
            else:
                body[at] = byte
    damaged = bytes(body)
    try:
        expected = parse_exact(damaged)
    except BadParam:
        with pytest.raises(BadParam):
            parse_body(damaged)
    else:
        assert parse_body(damaged) == expected


@FAST
@given(st.binary(max_size=64), st.binary(max_size=64))
def test_length_prefixed_bytes_decode_with_replacement(raw: bytes, other: bytes) -> None:
    data = b"{message:" + lp(raw) + b", attrs: {x: [" + lp(other) + b"]}}"
    assert parse_body(data) == {
        "message": raw.decode("utf-8", "replace"),
        "attrs": {"x": [other.decode("utf-8", "replace")]},
    }
