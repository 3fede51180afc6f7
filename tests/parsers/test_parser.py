"""The parser language (spec §5.2–§5.9): each top-level key, each format-object key, rewrites,
line groupers, special fields, aliases, and every refusal's message."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.parsers import (
    BUILTIN_NAMES,
    Parsed,
    Parser,
    ParserError,
    builtin_parser,
    compile_parser,
)
from millpond.parsers.parser import PARSE_LIMIT


def ns(text: str, zone: str = "UTC") -> int:
    """Nanoseconds since the epoch of an ISO date and time read in `zone`."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def compile_(config: dict[str, Any] | str, **kwargs: Any) -> Parser:
    text = config if isinstance(config, str) else orjson.dumps(config).decode()
    return compile_parser("test", text, **kwargs)


def parse(config: dict[str, Any] | str, *lines: str, **kwargs: Any) -> list[Parsed]:
    return compile_(config).parse(list(lines), **kwargs)


def fields(config: dict[str, Any] | str, line: str) -> dict[str, Any]:
    (event,) = parse(config, line)
    return event.fields


# -- the file ------------------------------------------------------------------------------


def test_reads_the_relaxed_json_of_config_files() -> None:
    text = """
    // A parser file as people write it: comments, bare keys, + and trailing commas.
    {
      /* tags */ attributes: {dataset: "demo",},
      formats: [
        "$user$ logged " +     // the format continues on the next line
        "in from $ip$",
      ]
    }
    """
    (event,) = compile_parser("demo", text).parse(["alice logged in from 10.0.0.1"])
    assert event == Parsed(0, "alice logged in from 10.0.0.1",
                           {"dataset": "demo", "user": "alice", "ip": "10.0.0.1"}, None, None)
    assert compile_parser("demo", text.encode()).parse(["bob logged in from x"])[0].fields == {
        "dataset": "demo", "user": "bob", "ip": "x"}


def test_a_line_no_format_matches_is_kept_with_nothing_extracted() -> None:
    assert parse({"formats": ["$a$ = $b$"]}, "no equals sign here") == [
        Parsed(0, "no equals sign here", {}, None, None)
    ]


def test_an_empty_parser_passes_lines_through() -> None:
    assert parse({}, "a", "b") == [Parsed(0, "a", {}, None, None), Parsed(1, "b", {}, None, None)]
    assert compile_({}).parse([]) == []


# -- top-level keys ------------------------------------------------------------------------


def test_formats_strings_and_objects() -> None:
    config = {"formats": ["$verb$ $noun$", {"format": "$first$ "}]}
    assert fields(config, "open door") == {"verb": "open", "noun": "door", "first": "open"}


def test_patterns_are_usable_in_matchers() -> None:
    config = {"patterns": {"word": "[a-z]+"}, "formats": ["$name=word$$num=digits$ $rest$"]}
    assert fields(config, "abc123 xyz") == {"name": "abc", "num": 123, "rest": "xyz"}


def test_attributes_go_to_every_event_matched_or_not() -> None:
    config = {"attributes": {"dataset": "d", "tier": 2, "live": True}, "formats": ["x=$x$"]}
    events = parse(config, "x=1", "unmatched")
    assert [e.fields for e in events] == [
        {"dataset": "d", "tier": 2, "live": True, "x": 1},
        {"dataset": "d", "tier": 2, "live": True},
    ]


def test_extracted_fields_override_parser_attributes() -> None:
    config = {"attributes": {"dataset": "d"}, "formats": ["dataset=$dataset$"]}
    assert fields(config, "dataset=mine") == {"dataset": "mine"}


def test_events_do_not_share_field_dicts() -> None:
    events = parse({"attributes": {"a": 1}}, "x", "y")
    events[0].fields["b"] = 2
    assert events[1].fields == {"a": 1}


def test_timezone_of_the_parser() -> None:
    config = {"timezone": "America/New_York", "formats": ["$timestamp=ts$ $text$"],
              "patterns": {"ts": "\\S+ \\S+"}}
    (event,) = parse(config, "2026-07-01 12:00:00 hello")
    assert event.ts_ns == ns("2026-07-01T12:00:00", "America/New_York")
    assert event.fields == {"text": "hello"}


@pytest.mark.parametrize(
    ("config_zone", "matcher_zone", "line", "default", "expected_zone"),
    [
        # A captured `timezone` field beats everything.
        ("America/New_York", "Asia/Tokyo", "2026-07-01 12:00:00 Europe/Paris", None,
         "Europe/Paris"),
        # Then the matcher's {timezone=...}.
        ("America/New_York", "Asia/Tokyo", "2026-07-01 12:00:00 -", None, "Asia/Tokyo"),
        # Then the parser's timezone.
        ("America/New_York", None, "2026-07-01 12:00:00 -", None, "America/New_York"),
        # Then the server's default.
        (None, None, "2026-07-01 12:00:00 -", "Asia/Tokyo", "Asia/Tokyo"),
        # Then GMT.
        (None, None, "2026-07-01 12:00:00 -", None, "UTC"),
    ],
)
def test_timezone_precedence(
    config_zone: str | None,
    matcher_zone: str | None,
    line: str,
    default: str | None,
    expected_zone: str,
) -> None:
    option = f"{{timezone={matcher_zone}}}" if matcher_zone else ""
    captured = "$timezone$" if line.endswith("Paris") else "-"
    config: dict[str, Any] = {
        "patterns": {"ts": "\\S+ \\S+"},
        "formats": [f"$timestamp=ts{option}$ {captured}"],
    }
    if config_zone:
        config["timezone"] = config_zone
    (event,) = compile_(config, timezone_default=default).parse([line])
    assert event.ts_ns == ns("2026-07-01T12:00:00", expected_zone)


def test_the_zone_goes_with_the_format_that_wrote_the_timestamp() -> None:
    config = {"patterns": {"ts": "\\S+ \\S+"},
              "formats": ["$timestamp=ts{timezone=Asia/Tokyo}$ ", ".*at $timestamp=ts$"]}
    (event,) = parse(config, "2026-07-01 12:00:00 at 2026-07-01 13:00:00")
    assert event.ts_ns == ns("2026-07-01T13:00:00")


def test_a_zone_in_the_text_beats_every_default() -> None:
    config = {"timezone": "Asia/Tokyo", "formats": ["$timestamp$ $text$"]}
    (event,) = parse(config, "2026-07-01T12:00:00Z hello")
    assert event.ts_ns == ns("2026-07-01T12:00:00+00:00")


def test_line_groupers_join_lines_then_formats_parse_the_whole() -> None:
    config = {
        "lineGroupers": [{"start": "^\\S", "continueThrough": "^\\s+at "}],
        "formats": ["$level$ $text$", ".*\\n\\s+at $frame$\\("],
    }
    lines = ["ERROR boom", "  at a.b(A.java:1)", "  at c.d(C.java:2)", "INFO fine"]
    events = compile_(config).parse(lines)
    assert [(e.index, e.message) for e in events] == [
        (0, "ERROR boom\n  at a.b(A.java:1)\n  at c.d(C.java:2)"),
        (3, "INFO fine"),
    ]
    assert events[0].fields["level"] == "ERROR"
    assert events[0].fields["frame"] in {"a.b", "c.d"}
    assert events[1].fields == {"level": "INFO", "text": "fine"}


def test_line_groups_do_not_span_calls() -> None:
    parser = compile_({"lineGroupers": [{"start": "^BEGIN", "haltWith": "^END"}]})
    assert [e.message for e in parser.parse(["BEGIN", "a"])] == ["BEGIN\na"]
    assert [e.message for e in parser.parse(["b", "END"])] == ["b", "END"]


def test_intermittent_timestamps_carry_the_last_time_forward() -> None:
    config = {"intermittentTimestamps": True, "formats": ["\\[$timestamp$\\]", ".*q=$q$"]}
    lines = ["[2026-01-02T03:04:05Z] q=1", "q=2", "nothing", "[2026-01-02T03:04:06Z] q=3", "q=4"]
    events = compile_(config).parse(lines)
    t0, t1 = ns("2026-01-02T03:04:05+00:00"), ns("2026-01-02T03:04:06+00:00")
    assert [e.ts_ns for e in events] == [t0, t0, t0, t1, t1]
    # Within one call only.
    assert compile_(config).parse(["q=5"])[0].ts_ns is None
    # Without the key, lines without a time have none.
    config["intermittentTimestamps"] = False
    assert [e.ts_ns for e in compile_(config).parse(lines)] == [t0, None, None, t1, None]


def test_intermittent_timestamps_skip_unreadable_times() -> None:
    config = {"intermittentTimestamps": True, "formats": ["\\[$timestamp$\\]"]}
    events = compile_(config).parse(["[2026-01-02T03:04:05Z]", "[not a time]"])
    assert events[1].ts_ns == events[0].ts_ns == ns("2026-01-02T03:04:05+00:00")
    assert "timestamp" not in events[1].fields


def test_discard_attributes_removes_fields_from_every_event() -> None:
    config = {"attributes": {"keep": 1, "drop1": 2}, "discardAttributes": ["drop1", "drop2",
                                                                           "message"],
              "formats": ["$drop2$ $kept$"]}
    (event,) = parse(config, "a b")
    assert event == Parsed(0, "a b", {"keep": 1, "kept": "b"}, None, None)


def test_newer_keys_are_accepted_and_ignored() -> None:
    config = {
        "mappings": {"version": 1, "mappings": []},
        "skipNumericConversion": True,
        "formats": [{"format": "$a$", "association": {"tag": "t", "keys": ["a"]},
                     "skipNumericConversion": True,
                     "rewrites": [{"action": "computeFields", "expression": "| let b = 1"}]}],
    }
    assert fields(config, "1") == {"a": 1}


# -- format objects ------------------------------------------------------------------------


def test_every_matching_format_contributes_and_later_wins() -> None:
    config = {"formats": ["$a$ $b$", ".*b=$b$ ", {"format": ".*c=$c$"}]}
    assert fields(config, "x b=y c=z") == {"a": "x", "b": "y", "c": "z"}


def test_halt_stops_later_formats() -> None:
    config = {"formats": [{"format": "login $user$", "halt": True}, "$verb$ $rest$"]}
    assert fields(config, "login alice") == {"user": "alice"}
    assert fields(config, "logout bob") == {"verb": "logout", "rest": "bob"}


def test_a_format_that_does_not_match_does_not_halt() -> None:
    config = {"formats": [{"format": "never $x$", "halt": True}, "$a$ $b$"]}
    assert fields(config, "p q") == {"a": "p", "b": "q"}


def test_discard_drops_the_event() -> None:
    config = {"formats": [{"format": ".*FINEST", "discard": True}, "$level$ $text$"]}
    events = compile_(config).parse(["FINEST noise", "INFO kept", "x FINEST y"])
    assert [(e.index, e.message) for e in events] == [(1, "INFO kept")]


def test_discarded_lines_still_carry_their_time_forward() -> None:
    config = {"intermittentTimestamps": True,
              "formats": [{"format": "\\[$timestamp$\\] drop", "discard": True}]}
    events = compile_(config).parse(["[2026-01-02T03:04:05Z] drop", "after"])
    assert events == [Parsed(1, "after", {}, ns("2026-01-02T03:04:05+00:00"), None)]


def test_id_adds_a_true_field_on_match() -> None:
    config = {"formats": [{"id": "login", "format": "login $user$"},
                          {"id": "logout", "format": "logout $user$"}]}
    assert fields(config, "login alice") == {"user": "alice", "login": True}
    assert fields(config, "other") == {}


def test_format_attributes_on_match_override_earlier_writes() -> None:
    config = {
        "attributes": {"action": "unknown", "dataset": "d"},
        "formats": [
            "$action$ $rest$",
            {"format": ".*Compacted", "attributes": {"action": "compaction", "phase": 2}},
        ],
    }
    assert fields(config, "run Compacted x") == {
        "dataset": "d", "action": "compaction", "rest": "Compacted x", "phase": 2}
    assert fields(config, "run x") == {"dataset": "d", "action": "run", "rest": "x"}


def test_repeat_matches_along_the_line_with_magic_names() -> None:
    config = {"formats": ["$time$ $path$ ",
                          {"format": ".*$_=identifier$: $_=number$", "repeat": True}]}
    assert fields(config, "8:03:00 /home cacheHits: 169 cacheMisses: 11 dbScans: 12") == {
        "time": "8:03:00", "path": "/home", "cacheHits": 169, "cacheMisses": 11, "dbScans": 12}


def test_a_format_cannot_set_the_message() -> None:
    (event,) = parse({"formats": ["$message$ $other$"]}, "a b")
    assert event == Parsed(0, "a b", {"other": "b"}, None, None)


def test_severity_field_becomes_the_severity() -> None:
    config = {"formats": ["$severity$ $text$"]}
    events = compile_(config).parse(["WARN disk", "error x", "fatal y", "chatty z", "info q"])
    assert [e.severity for e in events] == [4, 5, 6, None, 3]
    assert all("severity" not in e.fields for e in events)


def test_formats_read_at_most_parse_limit_characters() -> None:
    line = "k=" + "x" * PARSE_LIMIT + " tail=1"
    (event,) = parse({"formats": [".*tail=$tail$"]}, line)
    assert event.fields == {}
    assert event.message == line


# -- rewrites ------------------------------------------------------------------------------


def rewritten(rule: dict[str, Any], line: str, fmt: str = "$a$ $b$") -> Parsed:
    (event,) = parse({"formats": [{"format": fmt, "rewrites": [rule]}]}, line)
    return event


@pytest.mark.parametrize(
    ("rule", "line", "expected"),
    [
        # The documented examples.
        ({"input": "a", "output": "simple", "match": "/account[0-9]+/", "replace": "/account/"},
         "/account12345/foo x", {"a": "/account12345/foo", "b": "x", "simple": "/account/foo"}),
        ({"input": "a", "output": "a", "match": "\\[([a-z]+),([a-z]+)\\]", "replace": "$1-$2"},
         "[abc,def] x", {"a": "abc-def", "b": "x"}),
        # First match only, or all of them.
        ({"input": "a", "output": "a", "match": "o", "replace": "0"}, "foo x",
         {"a": "f0o", "b": "x"}),
        ({"input": "a", "output": "a", "match": "o", "replace": "0", "replaceAll": True},
         "foo x", {"a": "f00", "b": "x"}),
        # `output` defaults to `input`; `replacement` is the same as `replace`.
        ({"input": "a", "match": "f", "replacement": "g"}, "foo x", {"a": "goo", "b": "x"}),
        # Backslash makes the next character literal: \$ is a dollar sign, \\ a backslash.
        ({"input": "a", "output": "a", "match": "(\\d+)", "replace": "\\$$1\\\\"}, "12 x",
         {"a": "$12\\", "b": "x"}),
        # Named groups, Java style.
        ({"input": "a", "output": "a", "match": "(?<num>\\d+)", "replace": "<${num}>"}, "12 x",
         {"a": "<12>", "b": "x"}),
        # $12 is group 1 then "2" when there are fewer than 12 groups (as in Java).
        ({"input": "a", "output": "a", "match": "(\\d)", "replace": "$12"}, "7 x",
         {"a": 72, "b": "x"}),
        # A result that looks like a number becomes one.
        ({"input": "a", "output": "n", "match": "^v", "replace": ""}, "v42 x",
         {"a": "v42", "b": "x", "n": 42}),
        # No match: the output gets the input unchanged...
        ({"input": "a", "output": "c", "match": "zzz", "replace": "y"}, "foo x",
         {"a": "foo", "b": "x", "c": "foo"}),
        # ... unless outputIfNoMatch is false.
        ({"input": "a", "output": "c", "match": "zzz", "replace": "y", "outputIfNoMatch": False},
         "foo x", {"a": "foo", "b": "x"}),
        # An absent input does nothing.
        ({"input": "nope", "output": "c", "match": ".*", "replace": "y"}, "foo x",
         {"a": "foo", "b": "x"}),
        # A number is rewritten as its text.
        ({"input": "a", "output": "a", "match": "0$", "replace": "1"}, "100 x",
         {"a": 101, "b": "x"}),
        # The message can be read into a field.
        ({"input": "message", "output": "user", "match": ".*user=(\\w+).*", "replace": "$1"},
         "user=bob x", {"a": "user=bob", "b": "x", "user": "bob"}),
    ],
)
def test_replace_rewrites(rule: dict[str, Any], line: str, expected: dict[str, Any]) -> None:
    event = rewritten(rule, line)
    assert event.fields == expected
    assert event.message == line


def test_rewrites_can_change_the_message_but_not_what_formats_read() -> None:
    config = {
        "formats": [
            {"format": ".*password=$pw$ ",
             "rewrites": [{"input": "message", "output": "message", "match": "password=\\S+",
                           "replace": "password=***", "replaceAll": True}]},
            ".*user=$user$",
        ]
    }
    (event,) = parse(config, "login password=hunter2 user=bob")
    assert event.message == "login password=*** user=bob"
    assert event.fields == {"pw": "hunter2", "user": "bob"}


def test_rewrites_run_in_order_and_see_earlier_formats_fields() -> None:
    config = {
        "formats": [
            "$a$ $b$",
            {"format": ".*", "rewrites": [
                {"input": "a", "output": "c", "match": "x", "replace": "y"},
                {"input": "c", "output": "c", "match": "y", "replace": "z"},
            ]},
        ]
    }
    assert fields(config, "xx q") == {"a": "xx", "b": "q", "c": "zx"}


def test_rewrite_output_can_be_the_timestamp() -> None:
    config = {"formats": [{
        "format": "$raw$ $text$",
        "rewrites": [{"input": "raw", "output": "timestamp",
                      "match": "^(\\d{4})/(\\d\\d)/(\\d\\d)-", "replace": "$1-$2-$3T"}],
    }]}
    (event,) = parse(config, "2026/01/02-03:04:05Z hi")
    assert event.ts_ns == ns("2026-01-02T03:04:05+00:00")
    assert event.fields == {"raw": "2026/01/02-03:04:05Z", "text": "hi"}


@pytest.mark.parametrize(
    ("line", "zone", "expected"),
    [
        ("2026-01-02T03:04:05Z 2026-01-02T03:05:06Z", None, 61),
        ("2026-01-02T03:04:05Z 2026-01-02T03:04:05.250Z", None, 0.25),
        ("2026-01-02T03:05:06Z 2026-01-02T03:04:05Z", None, -61),
        # Dates without a zone are read in the rule's zone (GMT if none): the same for both.
        ("2026-01-02T03:04:05 2026-01-02T04:04:05", "Asia/Tokyo", 3600),
    ],
)
def test_time_delta(line: str, zone: str | None, expected: float) -> None:
    rule: dict[str, Any] = {"action": "timeDelta", "startTime": "a", "endTime": "b",
                            "output": "took"}
    if zone:
        rule["timezone"] = zone
    event = rewritten(rule, line)
    assert event.fields["took"] == expected
    assert type(event.fields["took"]) is type(expected)


def test_time_delta_with_a_missing_or_bad_date_writes_nothing() -> None:
    rule = {"action": "timeDelta", "startTime": "a", "endTime": "nope", "output": "took"}
    assert "took" not in rewritten(rule, "2026-01-02T03:04:05Z x").fields
    rule = {"action": "timeDelta", "startTime": "a", "endTime": "b", "output": "took"}
    assert "took" not in rewritten(rule, "2026-01-02T03:04:05Z yesterday").fields


# -- aliases -------------------------------------------------------------------------------


def test_alias_to_a_builtin_behaves_exactly_like_it() -> None:
    alias = compile_parser("web", '{aliasTo: "accessLog"}')
    line = '10.0.0.1 - - [21/Mar/2013:04:28:37 +0000] "GET /a HTTP/1.1" 200 9318'
    builtin = builtin_parser("accessLog")
    assert builtin is not None
    assert alias.name == "web"
    assert alias.parse([line]) == builtin.parse([line])


def test_alias_to_a_user_parser_and_user_files_come_first() -> None:
    files = {"mine": '{formats: ["$x$ $y$"]}', "json": '{formats: ["$whole$"]}'}
    alias = compile_parser("other", '{aliasTo: "mine"}', lookup=files.get)
    assert alias.parse(["1 2"])[0].fields == {"x": 1, "y": 2}
    shadow = compile_parser("other", '{aliasTo: "json"}', lookup=files.get)
    assert shadow.parse(['{"a": 1}'])[0].fields == {"whole": '{"a": 1}'}


def test_alias_uses_the_server_default_zone() -> None:
    files = {"mine": '{formats: ["$timestamp=ts$"], patterns: {ts: ".*"}}'}
    alias = compile_parser("a", '{aliasTo: "mine"}', lookup=files.get,
                           timezone_default="Asia/Tokyo")
    assert alias.parse(["2026-07-01 12:00:00"])[0].ts_ns == ns("2026-07-01T12:00:00",
                                                               "Asia/Tokyo")


# -- refusals ------------------------------------------------------------------------------

FILES = {
    "chained": '{aliasTo: "accessLog"}',
    "broken": '{formats: "x"}',
    "fine": '{formats: ["$a$"]}',
}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The file itself.
        ("", "parser 'p': the definition is empty"),
        ("[1, 2]", "parser 'p': the definition must be a JSON object, but it starts with an array"),
        ("{formats: [}", "parser 'p': the definition is not valid JSON"),
        ('{"formats": ["a"]} trailing', "after the end of the top-level object"),
        # Top-level keys.
        ("{format: []}", "parser 'p': unknown top-level key 'format'; the keys are formats,"),
        ('{formats: "$a$"}', "parser 'p' formats: must be a list of format strings or objects, "
                             "not the string '$a$'"),
        ("{formats: [3]}", "parser 'p' formats[0]: must be a format string or an object with "
                           "'format', not the number 3"),
        ("{patterns: []}", "parser 'p' patterns: must be an object of name: regex, not a list"),
        ("{patterns: {a: 1}}", "parser 'p' patterns.a: must be a regex string, not the number 1"),
        ("{attributes: {a: [1]}}", "parser 'p' attributes.a: must be a string, number or "
                                   "boolean, not a list"),
        ('{attributes: "x"}', "parser 'p' attributes: must be an object of field: value"),
        ("{timezone: 5}", "parser 'p' timezone: the number 5 is not a time zone; use an IANA name"),
        ('{timezone: "Mars/Olympus"}', "parser 'p' timezone: the string 'Mars/Olympus' is not a "
                                       "time zone; use an IANA name (\"America/New_York\"), an "
                                       "abbreviation (\"PST\") or an offset (\"GMT+5:30\")"),
        ('{intermittentTimestamps: "yes"}', "parser 'p' intermittentTimestamps: must be true or "
                                            "false, not the string 'yes'"),
        ('{discardAttributes: "a"}', "parser 'p' discardAttributes: must be a list of field names"),
        # Format objects.
        ("{formats: [{halt: true}]}", "parser 'p' formats[0].format: is missing; e.g. format:"),
        ("{formats: [{format: 1}]}", "parser 'p' formats[0].format: must be a string, not the "
                                     "number 1"),
        ('{formats: ["$a$", {format: "$b$", id: "x", hald: true}]}',
         "parser 'p' formats[1] (id 'x'): unknown key 'hald'; a format has format, id,"),
        ('{formats: [{format: "$a$", id: 7}]}', "parser 'p' formats[0].id: must be a field name"),
        ('{formats: [{format: "$a$", halt: 1}]}', "parser 'p' formats[0].halt: must be true or "
                                                  "false, not the number 1"),
        ('{formats: [{format: "$a$", repeat: "y"}]}', "parser 'p' formats[0].repeat: must be "
                                                      "true or false"),
        ('{formats: [{format: "$a$", discard: null}]}', "parser 'p' formats[0].discard: must be "
                                                        "true or false, not null"),
        ('{formats: [{format: "$a$", attributes: {b: {}}}]}',
         "parser 'p' formats[0].attributes.b: must be a string, number or boolean"),
        ('{formats: [{format: "$a$", rewrites: {}}]}', "parser 'p' formats[0].rewrites: must be "
                                                       "a list of rules, not an object"),
        # Rewrites.
        ('{formats: [{format: "$a$", id: "f", rewrites: [{input: "a", match: "(", replace: ""}]}]}',
         "parser 'p' formats[0] (id 'f').rewrites[0]: match: bad regex '('"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "$2"}]}]}',
         "formats[0].rewrites[0]: replace: '$2' refers to group $2, but match 'x' has 0 groups"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "$z"}]}]}',
         "formats[0].rewrites[0]: replace: '$' in '$z' must be followed by a group number ($1) "
         "or ${name}; for a literal '$' write \\\\$ in the file"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "${n}"}]}]}',
         "formats[0].rewrites[0]: replace: '${n}' refers to a group ${n} that match 'x' does "
         "not have"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "a\\\\"}]}]}',
         "formats[0].rewrites[0]: replace: a backslash ends 'a\\\\'"),
        ('{formats: [{format: "$a$", rewrites: [{match: "x", replace: ""}]}]}',
         "formats[0].rewrites[0]: 'input' is missing; it names a field"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", replace: ""}]}]}',
         "formats[0].rewrites[0]: 'match' is missing: the regex to search for"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x"}]}]}',
         "formats[0].rewrites[0]: 'replace' is missing: the replacement text"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "", '
         'replacement: ""}]}]}',
         "formats[0].rewrites[0]: give 'replace' or 'replacement' (the same thing), not both"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "", to: "b"}]}]}',
         "formats[0].rewrites[0]: unknown key 'to'; the keys are"),
        ('{formats: [{format: "$a$", rewrites: [{input: "a", match: "x", replace: "", '
         'replaceAll: "yes"}]}]}',
         "formats[0].rewrites[0]: 'replaceAll' must be true or false"),
        ('{formats: [{format: "$a$", rewrites: ["a/b/"]}]}',
         "formats[0].rewrites[0]: must be an object like {input: \"f\""),
        ('{formats: [{format: "$a$", rewrites: [{action: "lowercase"}]}]}',
         "formats[0].rewrites[0]: unknown action 'lowercase'; the actions are 'timeDelta' and "
         "'computeFields'"),
        ('{formats: [{format: "$a$", rewrites: [{action: "timeDelta", startTime: "a", '
         'output: "d"}]}]}',
         "formats[0].rewrites[0]: 'endTime' is missing; it names a field"),
        ('{formats: [{format: "$a$", rewrites: [{action: "timeDelta", startTime: "a", '
         'endTime: "b", output: "d", timezone: 1}]}]}',
         "formats[0].rewrites[0]: 'timezone': the number 1 is not a time zone"),
        # Line groupers.
        ('{lineGroupers: {start: "a"}}', "parser 'p' lineGroupers: must be a list of rules"),
        ('{lineGroupers: [{start: "a", haltWith: "b"}, {start: "a", haltWith: "b", '
         'haltBefore: "c"}]}',
         "parser 'p' lineGroupers[1]: a rule needs exactly one of continueThrough, "
         "continuePast, haltBefore, haltWith, found haltBefore and haltWith"),
        ('{lineGroupers: [{start: "a", continueThrough: "b", maxLine: 3}]}',
         "parser 'p' lineGroupers[0]: unknown key 'maxLine'"),
        ('{lineGroupers: [{start: "(", continueThrough: "b"}]}',
         "parser 'p' lineGroupers[0].start: bad regex '('"),
        ('{lineGroupers: [{start: "a", continuePast: "b", maxChars: -1}]}',
         "parser 'p' lineGroupers[0].maxChars: must be a positive whole number"),
        # Aliases.
        ('{aliasTo: "json", formats: []}', "parser 'p' aliasTo: an alias has nothing but "
                                           "aliasTo, but this one also has formats"),
        ('{aliasTo: "nope"}', "parser 'p' aliasTo: there is no parser 'nope': create "
                              "/logParsers/nope or name a built-in parser (accessLog,"),
        ('{aliasTo: "chained"}', "parser 'p' aliasTo: 'chained' is itself an alias (of "
                                 "'accessLog') and aliases do not chain"),
        ('{aliasTo: "p"}', "parser 'p' aliasTo: a parser cannot be an alias of itself"),
        ("{aliasTo: 3}", "parser 'p' aliasTo: must name another parser, not the number 3"),
        ('{aliasTo: "broken"}', "parser 'p' aliasTo: the parser it names does not compile: "
                                "parser 'broken' formats: must be a list"),
    ],
)
def test_refusals_say_where_and_what(text: str, message: str) -> None:
    with pytest.raises(ParserError) as caught:
        compile_parser("p", text, lookup=FILES.get)
    assert message in caught.value.message
    assert caught.value.message.endswith(")")  # "(in /logParsers/...)"
    assert isinstance(caught.value, BadParam)
    assert caught.value.envelope()["status"] == "error/client/badParam"


def test_a_bad_format_names_its_index_and_id() -> None:
    with pytest.raises(ParserError, match=re.escape("parser 'p' formats[1] (id 'two').format: ")):
        compile_parser("p", '{formats: ["$a$", {id: "two", format: "$b=nosuchpattern$"}]}')


def test_the_message_names_the_file() -> None:
    with pytest.raises(ParserError, match=re.escape("(in /logParsers/web)")):
        compile_parser("web", "{formats: 1}")


# -- properties ----------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8)
KEYS = st.sampled_from([
    "formats", "patterns", "attributes", "timezone", "lineGroupers", "intermittentTimestamps",
    "aliasTo", "format", "id", "halt", "repeat", "discard", "rewrites", "input", "output",
    "match", "replace", "replaceAll", "start", "haltWith", "continuePast", "maxLines", "action",
    "startTime", "endTime", "a",
]) | st.text(max_size=5)
FORMATISH = st.text(alphabet="$ab=.*\\[](){}_ -", max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS | FORMATISH,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(config=st.dictionaries(KEYS, JSON_VALUES, max_size=6))
def test_compile_raises_only_parser_errors_on_any_config(config: dict[str, Any]) -> None:
    text = orjson.dumps(config).decode()
    try:
        parser = compile_parser("p", text, lookup={"x": text}.get)
    except ParserError:
        return
    parser.parse(["a b", "$a$", "", "x=1 y=2"])


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60) | st.binary(max_size=60))
def test_compile_raises_only_parser_errors_on_any_text(text: str | bytes) -> None:
    with contextlib.suppress(ParserError):
        compile_parser("p", text)


def test_compile_refuses_a_non_text_definition() -> None:
    with pytest.raises(ParserError, match="must be text, not int"):
        compile_parser("p", 3)  # type: ignore[arg-type]


def test_builtin_names() -> None:
    expected = {
        "accessLog", "systemLog", "json", "dottedJson", "keyValue", "mysqlGeneralQueryLog",
        "mysqlSlowQueryLog", "postgresLog", "leveldbLog"}
    assert expected == BUILTIN_NAMES
    assert builtin_parser("nope") is None
    assert builtin_parser("json") is builtin_parser("json")


def test_the_public_interface() -> None:
    import millpond.parsers

    assert sorted(millpond.parsers.__all__) == [
        "BUILTIN_NAMES", "Parsed", "Parser", "ParserError", "builtin_parser", "compile_parser"]
