"""The ingest fast path (`columnar.Plan`) gives, line for line, what `Parser.parse` gives."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millpond.parsers import Parser, builtin_parser, compile_parser
from millpond.parsers.columnar import plan_for
from millpond.parsers.parser import PARSE_LIMIT

NOW = 1_795_950_000_000_000_000


def agree(parser: Parser, lines: list[str], plan: Any = None) -> None:
    plan = plan or plan_for(parser)
    assert plan is not None
    objects, stamps, severities = plan.run(lines, now_ns=NOW)
    for i, line in enumerate(lines):
        (expected,) = parser.parse([line], now_ns=NOW)
        got = orjson.loads(objects[i]) if objects[i] is not None else {}
        assert got == expected.fields, line  # the same fields; their order may differ
        assert stamps[i] == expected.ts_ns, line
        assert severities[i] == expected.severity, line


ACCESS = [
    '203.0.113.9 - alice [02/Jan/2026:03:04:05 +0000] "GET /search?q=shoes&n=2 HTTP/1.1" 200 '
    '5120 "https://example.com/" "Mozilla/5.0 (X11)" 0.043',
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "POST /api/v1/items HTTP/1.1" 503 - "-" '
    '"curl/8.5.0"',
    '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"',
    '10.0.0.1 - "quoted user" [29/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 '
    '"ref \\"with\\" quotes" "agent\\\\slash"',
    '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET /caf\u00e9/\u2603 HTTP/1.1" 200 007 '
    '"https://\u00fcber.example/" "\u65e5\u672c"',
    '::1 - - [29/Nov/2026:10:00:00 +0000] "GET /x HTTP/2.0" 200 99999999999999999999 "-" "-" 1e5',
    '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET /x\tfoo HTTP/1.1" 200 1 "-" "tab\there"',
    "not an access log line at all",
    "",
    "x" * (PARSE_LIMIT + 5),
]

SYSLOG = [
    "<34>Feb  3 03:47:01 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application"] An application event',
    "Feb 13 10:00:00 host sshd: Accepted publickey for bob from 10.0.0.2 port 22",
    "2026-11-29T10:00:00+01:00 host cron[12]: (root) CMD (run-parts /etc/cron.hourly)",
    "<999>Feb  3 03:47:01 host app[1]: a priority out of range",
    "<13>Feb  3 03:47:01 host app[1]: \"quotes\" and \\ backslashes \u00e9",
    "plain text no syslog",
]


JSON = [
    '{"level":"info","msg":"ok","latency_ms":12,"ratio":0.5,"ok":true,"none":null}',
    '{"timestamp":"2026-01-02T03:04:05Z","severity":"error","message":"boom","user":"b"}',
    '{"timestamp":1767323045123,"severity":5}',
    '{"http":{"status":500,"path":"/x"},"tags":["a","b"]}',
    '{"id":12345678901234567890,"s":"caf\\u00e9 \\"q\\" \\\\"}',
    '{"dataset":"mine","timezone":"EST","timestamp":"2026-01-02 03:04:05"}',
    '{"":1}', '{}', "[1,2]", "not json", '{"a":1', '{"a":1,"a":2}', "",
    # integers past 64 bits (orjson reads them as floats), and floats as large or with as
    # many digits: the plan must give the same as the directive
    '{"big":123456789012345678901234567890,"b":1}', '{"neg":-9223372036854775809}',
    '{"min":-9223372036854775808,"max":9223372036854775807}', '{"f":9223372036854775808.0}',
    '{"f":1e19,"g":-1e19,"h":1e999}', '{"f":0.1234567890123456789,"g":1234567890123456789.5}',
    '{"s":"12345678901234567890123","severity":"warn"}',
]


@pytest.mark.parametrize(("name", "lines"), [("accessLog", ACCESS), ("systemLog", SYSLOG),
                                             ("json", JSON), ("dottedJson", JSON)])
def test_built_in_parsers_agree_on_tricky_lines(name: str, lines: list[str]) -> None:
    parser = builtin_parser(name)
    assert parser is not None
    agree(parser, lines)


@pytest.mark.parametrize(
    "definition",
    [
        '{lineGroupers: [{start: "^x", continueThrough: "^ "}], formats: ["$a$"]}',
        '{intermittentTimestamps: true, formats: ["$timestamp$ $a$"]}',
        '{formats: [{format: "$a$", rewrites: [{input: "a", output: "b", match: "x", '
        'replace: "y"}]}]}',
        '{formats: [{format: "$_=identifier$=$_=number$", repeat: true}]}',
        '{formats: [{format: "$a$", discard: true}]}',
        '{formats: ["$timestamp$ $timezone$ $a$"]}',
        '{formats: ["$a=json$ $b$"]}',
        '{attributes: {a: 1}, formats: ["$a=digits$"]}',
        '{formats: ["$a=digits$ $a=digits$"]}',
        '{formats: [{format: "$a=digits$ x", halt: false}, "$a=digits$ y"]}',
    ],
)
def test_what_only_parse_does_gets_no_plan(definition: str) -> None:
    assert plan_for(compile_parser("p", definition)) is None


WORDS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
VALUES = st.one_of(
    WORDS,
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["-", "007", "0", "1.2.3.4", "+5", ".5", "1e999", '"q"', '"a\\"b"', "\\",
                     "/p?x=1&y=%41", "/p#f", "http://h/p?q", "<13>", "<300>", "12ms", "3 kb",
                     "Feb  3 03:47:01", "2026-11-29T10:00:00Z", "error", "WARN", "a\tb"]),
)
PARSERS = [
    '{formats: ["$a$ $b$ $c$"]}',
    '{attributes: {dataset: "x", n: 2}, formats: [{format: "$a=digits$ $b=quotable$ '
    '$c{parse=uri}$", id: "web", attributes: {kind: "w"}, halt: true}, "$d$"]}',
    '{timezone: "America/New_York", formats: ["\\\\[$timestamp$\\\\] $severity=identifier$ '
    '$msg$"]}',
    '{formats: ["<$p=digits{parse=syslogPriority}$>", "$x=number$ $y=digits$ $z$"]}',
    '{formats: [".*user=$user=quoteOrSpace$", ".*took=$took=number$"]}',
    '{timezone: "Asia/Tokyo", formats: ["\\\\[$timestamp{timezone=EST}$\\\\] $a$", '
    '".*at=$timestamp$ $b$"]}',
    '{patterns: {word: "[a-z]+"}, formats: ["$w=word$ \\"$q$\\" $rest$"]}',
    '{formats: ["$a$ $b=digits$ $c{parse=commaKeyValues}$"]}',
    '{formats: [{format: "$a$ $b{parse=bytes}$ $c$", halt: true}, '
    '"$d{parse=milliseconds}$ $e$"]}',
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(PARSERS), st.lists(VALUES, min_size=1, max_size=5),
       st.sampled_from([" ", "  ", " [", "] ", '" ', ' "', " user=", " took=", "<", "> "]))
def test_plans_agree_with_parse_on_generated_lines(definition: str, values: list[str],
                                                    glue: str) -> None:
    parser = compile_parser("p", definition)
    lines = [glue.join(values), " ".join(values), "".join(values), f"[{values[0]}] "
             + " ".join(values)]
    agree(parser, lines)


def test_a_plan_writes_fields_as_json_objects() -> None:
    parser = builtin_parser("accessLog")
    assert parser is not None
    plan = plan_for(parser)
    assert plan is not None
    objects, stamps, _ = plan.run([ACCESS[0]], now_ns=NOW)
    fields: dict[str, Any] = orjson.loads(objects[0] or "{}")
    assert fields["status"] == 200 and fields["uriPath"] == "/search" and fields["uriQ"] == "shoes"
    assert fields["time"] == 0.043 and stamps[0] == 1767323045 * 10**9


class _CountingParser:
    """Stands in for a plan's parser: counts the lines sent the exact way."""

    def __init__(self, real: Parser) -> None:
        self.real = real
        self.lines: list[str] = []

    def parse(self, lines: list[str], *, now_ns: int | None = None) -> Any:
        self.lines.extend(lines)
        return self.real.parse(lines, now_ns=now_ns)


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        # Not JSON objects: the json parsers' format matches with no fields, no exact pass.
        ("json", ["not json", "  plain text", "[1,2]", "42", '"a string"', "",
                  '{"a":1', "<13>Feb  3 03:47:01 host app[1]: hi"]),
        ("dottedJson", ["not json", "[1,2]", '{"a":1']),
        # Nested objects and arrays, flattened as the directive does.
        ("json", ['{"level":"info","http":{"method":"GET","status":200},"tags":["a",1]}',
                  '{"a":{"b":{"c":1.5,"d":null}},"e":{},"f":[{"g":2}]}']),
        ("dottedJson", ['{"level":"info","http":{"method":"GET","status":200},"tags":["a"]}']),
        # Values that need JSON escapes (quotes, backslashes, tabs) are written by orjson.
        ("accessLog", [ACCESS[4], ACCESS[7],
                       '41.52.220.84 - - [2024-05-28T12:57:18.018Z] "GET /x HTTP/1.1" 200 '
                       '28130 "Mozilla/5.0 (X11; Linux x86_64)"']),
        ("systemLog", [SYSLOG[5]]),
    ],
)
def test_lines_that_used_to_take_the_exact_way_stay_on_the_fast_path(
    name: str, lines: list[str]
) -> None:
    parser = builtin_parser(name)
    assert parser is not None
    agree(parser, lines)
    plan = plan_for(parser)
    assert plan is not None
    counting = _CountingParser(parser)
    plan.parser = counting  # type: ignore[assignment]
    plan.run(lines, now_ns=NOW)
    assert counting.lines == []


@pytest.mark.parametrize(("name", "lines"), [("accessLog", ACCESS), ("systemLog", SYSLOG)])
def test_remembered_values_give_what_parse_gives(name: str, lines: list[str]) -> None:
    """A plan remembers the JSON each field's recent values gave: lines sent again (every
    value now remembered, the syslog priorities that set a severity included) and lines that
    share only some values still give exactly what `parse` gives."""
    parser = builtin_parser(name)
    assert parser is not None
    plan = plan_for(parser)
    assert plan is not None
    first = plan.run(lines, now_ns=NOW)
    again = plan.run(lines * 2, now_ns=NOW)
    assert again == tuple(column * 2 for column in first)
    agree(parser, lines * 2, plan)
    # The same values in other combinations.
    mixed = [line.replace("200", "404").replace("su[", "cron[") for line in lines]
    agree(parser, mixed + lines, plan)


def _field_caches(plan: Any) -> list[tuple[int, bool]]:
    """(size, still caching) of every field cache of a plan's generated emitters."""
    out = []
    for step in plan._steps:
        env = getattr(step.emit, "__globals__", {})
        out += [(len(value), env[f"on{name[5:]}"]) for name, value in env.items()
                if name.startswith("cache") and isinstance(value, dict)]
    return out


def _numbered_lines(values: list[int]) -> list[str]:
    return [f'10.0.{v // 250}.{v % 250} - - [29/Nov/2026:10:00:00 +0000] '
            f'"GET /p/{v} HTTP/1.1" 200 {v} "-" "curl/8"' for v in values]


def test_a_field_whose_values_hardly_repeat_stops_caching() -> None:
    from millpond.parsers.columnar import CACHE_VALUES

    parser = builtin_parser("accessLog")
    assert parser is not None
    plan = plan_for(parser)
    assert plan is not None
    lines = _numbered_lines(list(range(CACHE_VALUES + 500)))
    plan.run(lines, now_ns=NOW)
    caches = _field_caches(plan)
    assert max(size for size, _ in caches) <= CACHE_VALUES
    # ip, uri and bytes filled their caches with a new value on every line: they stopped
    assert sum(1 for size, on in caches if not on) == 3
    assert any(on and size == 1 for size, on in caches)  # the constant fields go on
    agree(parser, lines[-10:] + lines[:10], plan)


def test_a_field_whose_values_repeat_keeps_caching_past_a_full_cache() -> None:
    from millpond.parsers.columnar import CACHE_VALUES

    parser = builtin_parser("accessLog")
    assert parser is not None
    plan = plan_for(parser)
    assert plan is not None
    # every value three times in a row: two lines in three hit
    lines = _numbered_lines([i // 3 for i in range(3 * (CACHE_VALUES + 1))])
    plan.run(lines, now_ns=NOW)
    assert all(on for _, on in _field_caches(plan))
    agree(parser, lines[-10:], plan)


NAMES = st.sampled_from(["a", "b", "aB", "a.b", "", "timestamp", "severity", "message", "dataset",
                         "stamp", "time", "x y", "é"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6),
    st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**63, -(2**63), 2**64, 10**25, 2.0**63, 1e19, "2026-01-02T03:04:05Z",
                     "error", 5]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["json", "dottedJson"]),
       st.lists(st.dictionaries(NAMES, JSON_VALUES, max_size=5), min_size=1, max_size=4))
def test_json_plans_agree_with_parse_on_generated_objects(
        name: str, objects: list[dict[str, Any]]) -> None:
    parser = builtin_parser(name)
    assert parser is not None
    # Python's json writes integers of any size (orjson refuses those past 64 bits).
    agree(parser, [json.dumps(obj, ensure_ascii=False) for obj in objects])
