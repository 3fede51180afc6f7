"""Format strings and field matchers (spec §5.4): what each construct matches and yields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.parsers.formats import PREDEFINED, Format, FormatError, compile_format
from millpond.parsers.patterns import scan_json, to_value

APACHE = (
    '$ip$ $user$ $authUser$ \\[$timestamp$\\] "$method$ $uri{parse=uri}$ $protocol$" '
    '$status$ $bytes$ "$referrer$" "$agent$"'
)
APACHE_LINE = (
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?foo=hello&bar=123 HTTP/1.0" '
    '200 2326 "http://example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
)


def fields(fmt: str, line: str, patterns: dict[str, str] | None = None) -> dict[str, Any] | None:
    result = compile_format(fmt, patterns).match(line)
    return None if result is None else result[0]


def test_the_apache_combined_format() -> None:
    assert fields(APACHE, APACHE_LINE) == {
        "ip": "10.0.0.1",
        "user": "-",
        "authUser": "frank",
        "timestamp": "10/Oct/2000:13:55:36 -0700",
        "method": "GET",
        "uriPath": "/a.gif",
        "uriFoo": "hello",
        "uriBar": 123,
        "protocol": "HTTP/1.0",
        "status": 200,
        "bytes": 2326,
        "referrer": "http://example.com/start.html",
        "agent": "Mozilla/4.08 [en] (Win98; I ;Nav)",
    }


@pytest.mark.parametrize(
    ("fmt", "line", "expected"),
    [
        # The examples of Scalyr's parser documentation.
        ('$ip$ $user$ $authUser$ \\[$timestamp$\\] "$method$ $uri$ $protocol$" $status$ $bytes$',
         '10.0.0.1 - - [21/Mar/2013:04:28:37 +0000] "GET /home HTTP/1.1" 200 9318',
         {"ip": "10.0.0.1", "user": "-", "authUser": "-", "timestamp": "21/Mar/2013:04:28:37 +0000",
          "method": "GET", "uri": "/home", "protocol": "HTTP/1.1", "status": 200, "bytes": 9318}),
        ("$timestamp$ login: user $userid$ from $ip$", "11:04:36 login: user aaaaaa from 10.0.0.1",
         {"timestamp": "11:04:36", "userid": "aaaaaa", "ip": "10.0.0.1"}),
        ("$timestamp$ image $imageid$ uploaded by user $userid$",
         "11:04:41 image xxx uploaded by user aaaaaa",
         {"timestamp": "11:04:41", "imageid": "xxx", "userid": "aaaaaa"}),
        ("$timestamp$ $session$ $details$",
         "2013/03/21-04:33:21 7fd77b7a3700 Generated table #3212838: 82924 keys, 1350832 bytes",
         {"timestamp": "2013/03/21-04:33:21", "session": "7fd77b7a3700",
          "details": "Generated table #3212838: 82924 keys, 1350832 bytes"}),
        (".*Generated table #$tableId$: $keys$ keys, $bytes$ bytes",
         "2013/03/21-04:33:21 7fd77b7a3700 Generated table #3212838: 82924 keys, 1350832 bytes",
         {"tableId": 3212838, "keys": 82924, "bytes": 1350832}),
        (".*Compacted $files$@$level$ \\+ $files2$@$level2$ files => $bytes$ bytes",
         "2013/03/21-04:33:21 7fd77b7a3700 Compacted 1@2 + 10@3 files => 13349718 bytes",
         {"files": 1, "level": 2, "files2": 10, "level2": 3, "bytes": 13349718}),
        ("$userid=digits$$action=identifier$", "03298login",
         {"userid": "03298", "action": "login"}),
        ("$timestamp$ \\[$requestId$\\] <- $status$ $contentType$ $time$ms",
         "31/Mar/2009:11:32:57 +0200 [379] <- 200 text/html 33ms",
         {"timestamp": "31/Mar/2009:11:32:57 +0200", "requestId": 379, "status": 200,
          "contentType": "text/html", "time": 33}),
        ("$timestamp$ payment authorized for \\$$$amount$",
         "9:55:11 payment authorized for $1162.15",
         {"timestamp": "9:55:11", "amount": 1162.15}),
    ],
)
def test_the_documented_examples(fmt: str, line: str, expected: dict[str, Any]) -> None:
    assert fields(fmt, line) == expected


def test_the_interface() -> None:
    fmt = compile_format(APACHE)
    assert isinstance(fmt, Format)
    assert fmt.fields == (
        "ip", "user", "authUser", "timestamp", "method", "uri", "protocol", "status", "bytes",
        "referrer", "agent",
    )
    assert isinstance(fmt.regex, re.Pattern)
    assert fmt.regex.match(APACHE_LINE) is not None
    assert fmt.fragment is False
    result = fmt.match(APACHE_LINE)
    assert result is not None and result[1] == len(APACHE_LINE)
    assert fmt.match("nothing like it") is None


# -- text outside fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "line", "expected"),
    [
        # A single space matches any run of whitespace; more spaces in the format change nothing.
        ("$a$ $b$", "x \t  y", {"a": "x", "b": "y"}),
        ("$a$   $b$", "x y", {"a": "x", "b": "y"}),
        ("$a$ $b$", "xy", None),
        # `\ ` is exactly one space.
        ("$a=digits$\\ $b$", "1 2", {"a": 1, "b": 2}),
        ("$a=digits$\\ $b=digits$", "1  2", None),
        # `$$` is a `$`: the regex end anchor, or (after a backslash) a literal dollar.
        ("paid \\$$$amount$", "paid $1162.15", {"amount": 1162.15}),
        ("$a=digits$$$", "12", {"a": 12}),
        ("$a=digits$$$", "12x", None),
        # The rest is a regular expression, matched case-insensitively.
        ("$a=digits$ (?:ms|millis)\\b", "5 millis", {"a": 5}),
        ("user $u$ logged IN", "USER bob logged in", {"u": "bob"}),
        ("\\[$level$\\]", "[warn] x", {"level": "warn"}),
        # A space before a quantifier is one unit: `: ?` is optional whitespace.
        ("$a=identifier$: ?$b$", "x:y", {"a": "x", "b": "y"}),
        ("$a=identifier$: ?$b$", "x:   y", {"a": "x", "b": "y"}),
        # `|` alternates the text between two fields, not the fields.
        ("$a=digits$ms|sec$b=digits$", "5ms7", {"a": 5, "b": 7}),
        ("$a=digits$ms|sec$b=digits$", "5sec7", {"a": 5, "b": 7}),
        ("$a=digits$ ms|sec $b$", "5 ms 7", {"a": 5, "b": " 7"}),
        # A space inside a character class is just a space.
        ("$a=digits$[ ]$b$", "1 2", {"a": 1, "b": 2}),
        # A leading inline flag stays at the start of the regex.
        ("(?s)$a=digits$.$b$", "1\n2", {"a": 1, "b": 2}),
        # `.` in the format does not match a newline, as in Java.
        ("$a=digits$.$b$", "1\n2", None),
        # The format need not consume the line.
        ("$a=digits$", "12 and more", {"a": 12}),
    ],
)
def test_literal_text(fmt: str, line: str, expected: dict[str, Any] | None) -> None:
    assert fields(fmt, line) == expected


def test_a_format_matches_from_the_start_unless_it_is_a_fragment() -> None:
    assert fields("error $code=digits$", "x error 12") is None
    fragment = compile_format(".*error $code=digits$")
    assert fragment.fragment is True
    # The leftmost match, not the last one a greedy `.*` would find.
    assert fragment.match("x error 12 and error 13") == ({"code": 12}, 10)
    assert fragment.match("x error 12 and error 13", 11) == ({"code": 13}, 23)
    assert compile_format(".*?error $code=digits$").match("x error 7") == ({"code": 7}, 9)


def test_a_format_without_fields() -> None:
    assert compile_format(".*FINEST").match("a FINEST b") == ({}, 8)
    assert compile_format(".*FINEST").match("a FINE b") is None
    assert compile_format("").match("anything") == ({}, 0)
    assert compile_format("(a|b)x").match("bx") == ({}, 2)  # groups of its own, no fields


def test_match_starts_at_start() -> None:
    fmt = compile_format("$k=identifier$=$v=digits$")
    assert fmt.match("a=1 b=2", 4) == ({"k": "b", "v": 2}, 7)
    assert fmt.match("a=1 b=2", 3) is None


# -- default patterns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "line", "expected"),
    [
        # Followed by a space: quotable.
        ("$a$ $b$", '"x y" z', {"a": "x y", "b": "z"}),
        ("$a$ $b$", '"say \\"hi\\"" z', {"a": 'say "hi"', "b": "z"}),
        ("$a$ $b$", '"unterminated z', {"a": '"unterminated', "b": "z"}),
        # Followed by `"`: backslash escapes do not end the field, and are undone.
        (
            '$t$ message "$subject$", $length$ bytes',
            '11:02:15 message "Project \\"fuzzy bunny\\" cancellation", 3029 bytes',
            {"t": "11:02:15", "subject": 'Project "fuzzy bunny" cancellation', "length": 3029},
        ),
        ('"$a$"', '"back\\\\slash"', {"a": "back\\slash"}),
        # Elsewhere: lazily up to what follows.
        ("$a$:$b$", "x:y:z", {"a": "x", "b": "y:z"}),
        ("$a$ \\[$b$\\]", "x [y] [z]", {"a": "x", "b": "y"}),
        ("$a$ -- $b$", "x - y -- z", {"a": "x - y", "b": "z"}),
        # The field before a space may hold spaces when the next text needs it.
        ("$ip$ $user$ $authUser$ \\[$t$\\]", "1.2.3.4 - John Smith [now]",
         {"ip": "1.2.3.4", "user": "-", "authUser": "John Smith", "t": "now"}),
        # At the end: the rest of the message, newlines included.
        ("$a$ $rest$", "x multi\nline text", {"a": "x", "rest": "multi\nline text"}),
        ("$a$", "", {"a": ""}),
    ],
)
def test_default_patterns(fmt: str, line: str, expected: dict[str, Any] | None) -> None:
    assert fields(fmt, line) == expected


# -- predefined patterns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "line", "value"),
    [
        ("digits", "123x", 123),
        ("digits", "x", None),
        ("digits", "007x", "007"),
        ("number", "-1.5e3x", -1500.0),
        ("number", "3.8E+6 x", 3.8e6),
        ("number", "+2x", 2),
        ("number", ".5x", 0.5),
        ("number", "3.x", 3.0),
        ("number", "42x", 42),
        ("number", "abc", None),
        ("alphanumeric", "abc123-x", "abc123"),
        ("alphanumeric", "-x", None),
        ("identifier", "_a-b_1=x", "_a-b_1"),
        ("identifier", "Abc.d", "Abc"),
        ("identifier", "1abc", None),
        ("quotable", '"a \\"b\\" c"x', 'a "b" c'),
        ("quoteOrSpace", '"a b" c', "a b"),
        ("quoteOrSpace", "a b", "a"),
        ("quoteOrSpace", '"a\\"b" c', 'a"b'),
        ("quotableNoEscape", '"a\\" b', "a\\"),
        ("quoteOrSpaceNoEscape", '"a\\" b', "a\\"),
        ("quoteOrSpaceNoEscape", "a\\b c", "a\\b"),
        ("json", '{"a": {"b": "}"}} x', '{"a": {"b": "}"}}'),
    ],
)
def test_predefined_patterns(pattern: str, line: str, value: Any) -> None:
    # The field is followed by "x"/space/" " so each pattern decides where it ends.
    follower = " $rest$" if " " in line and pattern.startswith(("quoteOr", "json")) else "$rest$"
    result = fields(f"$v={pattern}${follower}", line)
    if value is None:
        assert result is None or result["v"] in ("", line)
        return
    assert result is not None and result["v"] == value


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"x 5" 7', {"a": "x 5", "b": 7}),
        ('"x 5"', None),  # not "x as the value and 5 after it
        ('"x 5" y', None),
        ('"x"y 5', {"a": '"x"y', "b": 5}),  # not a whole quoted value: text up to the space
        ('"x 5', {"a": '"x', "b": 5}),  # no closing quote: likewise
        ("x 5", {"a": "x", "b": 5}),
    ],
)
def test_quote_or_space_keeps_a_whole_quoted_value(line: str, expected: Any) -> None:
    # A quoted value followed by a space or the end of the line is the value; a later field
    # that does not match does not make the format split it at an inner space instead.
    for pattern in ("quoteOrSpace", "quoteOrSpaceNoEscape"):
        assert fields(f"$a={pattern}$ $b=number$", line) == expected


def test_a_lazy_field_ends_at_the_first_delimiter_for_good() -> None:
    # It may extend past what would end it when the text right after it needs that...
    assert fields("$a$ $b$ x", "p q r x") == {"a": "p", "b": "q r"}
    # ...but once that text matched, it is not revisited for a later field.
    assert fields("$a$:$b=digits$", "x:y:5") is None
    assert fields("$a$:$b=digits$", "x:5") == {"a": "x", "b": 5}


def test_a_line_that_does_not_match_is_rejected_quickly() -> None:
    # Backtracking through every split of these lines between the fields would take ages.
    fmt = compile_format(APACHE)
    assert fmt.match("a " * 5000) is None
    assert fmt.match(APACHE_LINE.replace('"', "'") * 20) is None
    assert compile_format("$a=identifier$=$b$").match("x" * 20000) is None
    assert compile_format(".*$_=identifier$=$_=digits$").match_all("abc " * 5000) is None


def test_runs_give_back_characters_when_what_follows_could_continue_them() -> None:
    assert fields("$a=identifier$-$b$", "foo-bar-baz") == {"a": "foo-bar", "b": "baz"}
    assert fields("$a=digits$0", "1200") == {"a": 120}
    assert fields("$a=digits$x", "12x") == {"a": 12}


def test_quotable_without_quotes_extends_to_the_next_delimiter() -> None:
    assert fields("$a=quotable$, $b$", "x y, z") == {"a": "x y", "b": "z"}
    assert fields("$a=quotable$", "x y z") == {"a": "x y z"}
    assert fields("$a=quotable$ $b$", '"x" y') == {"a": "x", "b": "y"}


def test_predefined_is_the_documented_table() -> None:
    assert set(PREDEFINED) == {
        "digits", "number", "alphanumeric", "identifier", "quotable", "quoteOrSpace", "json",
        "quotableNoEscape", "quoteOrSpaceNoEscape",
    }
    for name, regex in PREDEFINED.items():
        assert re.compile(regex), name
    json_regex = re.compile(PREDEFINED["json"])
    assert json_regex.match('{"a": {"b": [1, "}"]}} tail').group() == '{"a": {"b": [1, "}"]}}'


# -- patterns, inline regexes and options ----------------------------------------------------


def test_parser_patterns() -> None:
    patterns = {"tsPattern": "\\w+\\s+\\d+\\s+[0-9:]+"}
    assert fields(
        "$timestamp=tsPattern$ $host$ $process$: $text$",
        "Mar 20 18:38:40 host1 kernel: imklog 5.8.10",
        patterns,
    ) == {
        "timestamp": "Mar 20 18:38:40",
        "host": "host1",
        "process": "kernel",
        "text": "imklog 5.8.10",
    }


def test_parser_patterns_shadow_predefined_ones() -> None:
    assert fields("$a=digits$ $b$", "abc x", {"digits": "[a-z]+"}) == {"a": "abc", "b": "x"}


def test_a_pattern_may_have_groups_and_flags_of_its_own() -> None:
    patterns = {"two": "(a|b)(c)", "loud": "(?i)HELLO"}
    assert fields("$x=two$ $y=loud$ $z$", "ac hello rest", patterns) == {
        "x": "ac", "y": "hello", "z": "rest",
    }
    # The same through a format matched piece by piece around a json field.
    assert fields("$x=two$ $j=json$ $z$", 'bc {"k": 1} rest', patterns) == {
        "x": "bc", "j": '{"k": 1}', "z": "rest",
    }


def test_inline_regexes() -> None:
    assert fields(
        "$timestamp{regex=\\w+\\s+\\d+\\s+[0-9:]+}$ $host$", "Mar 20 18:38:40 host1"
    ) == {"timestamp": "Mar 20 18:38:40", "host": "host1"}
    assert fields("$year=\\d{4}$-$rest$", "2026-01") == {"year": 2026, "rest": "01"}
    assert fields("$x{regex=[^$]+}$$$", "abc") == {"x": "abc"}
    assert fields("$x{regex=a{2}}$$y$", "aab") == {"x": "aa", "y": "b"}


def test_timestamps_and_zones_stay_text() -> None:
    fmt = compile_format("$timestamp{timezone=EST}$ $timezone$ $n$")
    assert fmt.match("1700000000 0500 7")[0] == {  # type: ignore[index]
        "timestamp": "1700000000", "timezone": "0500", "n": 7,
    }
    assert fmt.timestamp_zone == "EST"
    assert compile_format("$timestamp$").timestamp_zone is None


# -- magic `_` names --------------------------------------------------------------------------


def test_magic_names_with_repeat() -> None:
    fmt = compile_format(".*$_=identifier$: $_=number$")
    line = "8:03:00 /home cacheHits: 169 cacheMisses: 11 dbScans: 12 bytesFetched: 9317"
    assert fmt.match_all(line) == {
        "cacheHits": 169, "cacheMisses": 11, "dbScans": 12, "bytesFetched": 9317,
    }
    assert fmt.fields == ("_", "_")


def test_magic_names_with_a_prefix() -> None:
    fmt = compile_format(".*$_=identifier$: $stat_=number$")
    assert fmt.match_all("8:03:07 /tools cacheHits: 3 bytesStored: 31508") == {
        "statcacheHits": 3, "statbytesStored": 31508,
    }


def test_magic_names_key_value() -> None:
    fmt = compile_format(".*$_=identifier$=$_=quoteOrSpace$")
    line = 'user=alice action=login latency=0.25 note="first try" zip=00187'
    assert fmt.match_all(line) == {
        "user": "alice", "action": "login", "latency": 0.25, "note": "first try", "zip": "00187",
    }


def test_magic_names_in_one_match_and_unpaired() -> None:
    assert fields("$_=identifier$=$_=digits$ $_=identifier$=$_=digits$", "a=1 b=2") == {
        "a": 1, "b": 2,
    }
    # Magic matchers pair up in order, whatever stands between them.
    assert fields("$_=identifier$=$v=digits$ $_$", "a=1 b") == {"v": 1, "a": "b"}
    # A last name matcher with no value matcher captures nothing.
    assert fields("$_=identifier$=$v=digits$", "a=1") == {"v": 1}


def test_magic_names_can_be_filtered_and_parsed() -> None:
    fmt = compile_format(".*$_=identifier$=$_=digits{attrBlacklist=secret.*}$")
    assert fmt.match_all("a=1 secretKey=2 b=3") == {"a": 1, "b": 3}
    fmt = compile_format("$_=identifier$=$_{parse=uri}$")
    assert fields("$_=identifier$=$_{parse=uri}$", "req=/x?y=1") == {"reqPath": "/x", "reqY": 1}
    assert fmt.fields == ("_", "_")


# -- repeat -----------------------------------------------------------------------------------


def test_match_all_anchored_continues_where_the_previous_match_ended() -> None:
    fmt = compile_format("$_=identifier$=$_=digits$ ?")
    assert fmt.match_all("a=1 b=2 c=3") == {"a": 1, "b": 2, "c": 3}
    # Contiguous only: the gap stops it.
    assert fmt.match_all("a=1 , b=2") == {"a": 1}
    assert fmt.match_all("no pairs") is None


def test_match_all_merges_later_values_over_earlier_ones() -> None:
    fmt = compile_format(".*$k=identifier$=$v=digits$")
    assert fmt.match_all("a=1 b=2") == {"k": "b", "v": 2}


def test_match_all_survives_empty_matches() -> None:
    assert compile_format(".*x?").match_all("abc") == {}
    assert compile_format("x?").match_all("abc") == {}
    assert compile_format(".*(?=b)$rest$").match_all("abcb") == {"rest": "bcb"}


# -- json fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "line", "expected"),
    [
        ("$ts$ $j=json$ $rest$", '1 {"a": {"b": "} x"}, "c": [1]} tail',
         {"ts": 1, "j": '{"a": {"b": "} x"}, "c": [1]}', "rest": "tail"}),
        ("$ts$ $j=json$ $rest$", '1 {"a": "\\"}"} tail',
         {"ts": 1, "j": '{"a": "\\"}"}', "rest": "tail"}),
        # Not a brace: like quotable, up to the delimiter.
        ("$ts$ $j=json$ $rest$", "1 plain tail", {"ts": 1, "j": "plain", "rest": "tail"}),
        # Braces that never balance: the same.
        ("$ts$ $j=json$ $rest$", "1 {open tail", {"ts": 1, "j": "{open", "rest": "tail"}),
        # The rest of the format must match after the value.
        ("$j=json$ END", '{"a": 1} END', {"j": '{"a": 1}'}),
        ("$j=json$ END", '{"a": 1} {"b": 2} END', {"j": '{"a": 1} {"b": 2}'}),
        # At the start, at the end, twice, and parsed.
        ("$j=json$", '{"a": {"b": 1}} trailing', {"j": '{"a": {"b": 1}}'}),
        ("$a=json$ $b=json$", '{"x": 1} {"y": {}}', {"a": '{"x": 1}', "b": '{"y": {}}'}),
        ("$ts$ $d=json{parse=json}$ $n=digits$", '1 {"a": {"b": 2}} 3',
         {"ts": 1, "dAB": 2, "n": 3}),
    ],
)
def test_json_fields(fmt: str, line: str, expected: dict[str, Any] | None) -> None:
    assert fields(fmt, line) == expected


def test_json_fields_nest_deeper_than_any_regex() -> None:
    deep = "{" * 200 + '"k": 1' + "}" * 200
    assert fields("$a$ $j=json$ $b$", f"x {deep} y") == {"a": "x", "j": deep, "b": "y"}


def test_json_fields_in_fragments() -> None:
    fmt = compile_format(".*payload=$j=json$;")
    assert fmt.match('a payload={"x": ";"}; b') == ({"j": '{"x": ";"}'}, 21)
    assert fmt.match_all('payload={"a": 1}; payload={"a": 2};') == {"j": '{"a": 2}'}
    assert fmt.match("payload={nothing") is None
    # A json field that opens a fragment format must be a {…} value.
    fmt = compile_format(".*$j=json{parse=json}$")
    assert fmt.match_all('x {"a": 1} y {"b": {"c": 2}} {oops') == {"jA": 1, "jBC": 2}
    assert fmt.match("no braces") is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("{}", 0, 2),
        ('{"a": "}"}', 0, 10),
        ('x {"a": {"b": 1}} y', 2, 17),
        ('{"a": "\\""}', 0, 11),
        ("{", 0, None),
        ('{"a": "}', 0, None),
    ],
)
def test_scan_json(text: str, start: int, end: int | None) -> None:
    assert scan_json(text, start) == end


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0), ("123", 123), ("-5", -5), ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", "9223372036854775808"), ("-9223372036854775808", -(2**63)),
        ("1.5", 1.5), ("-0.25", -0.25), ("1e3", 1000.0), ("2.5E-3", 0.0025),
        ("3.14159265358979", 3.14159265358979),
        ("3.141592653589793238", "3.141592653589793238"),
        ("007", "007"), ("+5", "+5"), (".5", ".5"), ("1.", "1."), ("0x1f", "0x1f"),
        ("NaN", "NaN"), ("inf", "inf"), ("1e999", "1e999"), ("10.0.0.1", "10.0.0.1"),
        ("-", "-"), ("", ""), ("١٢", "١٢"), ("12abc", "12abc"), (" 12", " 12"),
    ],
)
def test_to_value(text: str, value: Any) -> None:
    result = to_value(text)
    assert result == value and type(result) is type(value)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "patterns", "message", "column"),
    [
        ("$ip$ $status=digit$", None,
         "unknown pattern 'digit' in $status=digit$ at column 6; predefined: digits, number", 6),
        ("$a$ $b", None, "the field at column 5 has no closing '$'", 5),
        ("$a$$b$", None, "$a$ at column 1 is followed directly by $b$; give the first", 1),
        ("(login $user$|upload $file$)", None,
         "the regex group '(' at column 1 encloses the field $user$ at column 8", 1),
        ("$a$?", None, "the quantifier '?' at column 4 applies to the field $a$", 4),
        ("$a=digits${2}", None, "the quantifier '{2}' at column 11", 11),
        ("[$a$]", None, "a field starts inside the character class", 2),
        ("x \\$a$", None, "a backslash before the field at column 4", 3),
        ("$a$ \\", None, "lone backslash at column 5", 5),
        ("$a$ [oops", None, "the regex ' [oops' at column 4 is invalid", 4),
        ("$a$ x)", None, "at column 4 is invalid: unbalanced parenthesis", 4),
        ("$a{foo=bar}$", None, "unknown option {foo=…} in $a{foo=bar}$ at column 1", 1),
        ("$a{parse=xml}$", None, "unknown directive {parse=xml} in $a{parse=xml}$ at column 1", 1),
        ("$=digits$", None, "has no name; name the field", 1),
        ("${parse=seconds}$", None, "{parse=seconds} stores its result under the field's name", 1),
        ("$a=digits{regex=x}$", None, "has both a pattern and {regex=…}", 1),
        ("$t{timezone=Mars/Base}$", None, "unknown time zone 'Mars/Base'", 1),
        ("x $a=mine$", {"mine": "(unclosed"}, "pattern 'mine' (used by $a=mine$) at column 3", 3),
        ("$a=[z-a]$", None, "the pattern of $a=[z-a]$ at column 1 is not a valid regular", 1),
        ("$a{attrWhitelist=(}$", None, "the {attrWhitelist=…} of $a{attrWhitelist=(}$", 1),
        ("$a b$", None, "the field name 'a b' at column 1 may only hold", 1),
        ("$x_=identifier$=$_$", None, "its prefix 'x' would be lost", 1),
        ("$a=$", None, "has '=' but no pattern", 1),
        ("$a{parse=uri}x$", None, "unexpected 'x' at column 14 in the field", 14),
        ("$a{parse=uri$", None, "has no closing '}'", 1),
        (".*$a$ $b=nope$", None, "unknown pattern 'nope' in $b=nope$ at column 7", 7),
        ("(a)$j=json$ \\1", None, "the format cannot be matched around its json fields", None),
    ],
)
def test_errors(
    fmt: str, patterns: dict[str, str] | None, message: str, column: int | None
) -> None:
    with pytest.raises(FormatError) as caught:
        compile_format(fmt, patterns)
    assert message in str(caught.value)
    assert caught.value.column == column


def test_errors_are_bad_params_and_value_errors() -> None:
    with pytest.raises(FormatError) as caught:
        compile_format("$a$$b$")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, BadParam)
    assert caught.value.status == "error/client/badParam"


def test_a_bad_parser_timezone_is_refused() -> None:
    with pytest.raises(FormatError, match="unknown time zone 'Nowhere'"):
        compile_format("$a$", timezone="Nowhere")
    assert compile_format("$a$", timezone="America/New_York").match("x") == ({"a": "x"}, 1)


# -- properties -------------------------------------------------------------------------------

_FORMAT_ALPHABET = st.sampled_from(
    [*"$$$${}{}=_ ab\\\\[]()|?*+.^\"'-:,", "digits", "json", "quotable", "parse=", "uri"]
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FORMAT_ALPHABET, max_size=25).map("".join) | st.text(max_size=40))
def test_compile_format_raises_only_format_errors(fmt: str) -> None:
    try:
        compiled = compile_format(fmt)
    except FormatError as exc:
        assert str(exc)
        return
    # Whatever compiles matches without raising.
    compiled.match("a b {\"c\": 1} 12 $x")
    compiled.match_all("a=1 b=2 $$ ")


# Formats whose fields neither unquote nor go through a directive: their text values must be
# pieces of the line.
_PLAIN_FIELDS = st.sampled_from(
    ["$f=digits$", "$f=alphanumeric$", "$f=identifier$", "$f=number$", "$f{regex=[a-c]+}$",
     "$f$", "$f=json$"]
)
_SEPARATORS = st.sampled_from([":", ",", "-", "=", "/", ";", "x", ": ?", "\\ ", "|"])


@st.composite
def _plain_formats(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 4))
    parts = [".*"] if draw(st.booleans()) else []
    for k in range(count):
        parts.append(draw(_PLAIN_FIELDS).replace("$f", f"$f{k}"))
        parts.append(draw(_SEPARATORS))
    return "".join(parts)


@settings(max_examples=300)
@given(
    _plain_formats(),
    st.text(alphabet=st.sampled_from(list("abc12.:,-=/;x{}\" |")), max_size=30),
)
def test_unprocessed_text_values_are_pieces_of_the_line(fmt: str, line: str) -> None:
    compiled = compile_format(fmt)
    for result in (compiled.match(line), compiled.match_all(line)):
        values = result[0] if isinstance(result, tuple) else result
        for value in (values or {}).values():
            if isinstance(value, str):
                assert value in line
            else:
                assert isinstance(value, int | float)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"x y"', {"a": "x y"}),
        ('"x y"  ', {"a": "x y"}),
        ("xy", {"a": "xy"}),
        ('"x"y', None),  # a quoted value, then more: as at the end of the format, the value is
        ('"x" y', None),  # the quoted one, and the line does not end after it
        ('"x', {"a": '"x'}),
    ],
)
def test_quote_or_space_before_the_end_of_the_line_takes_its_first_choice(
        line: str, expected: Any) -> None:
    assert fields("$a=quoteOrSpace$\\s*\\Z", line) == expected
    if expected is not None:  # what the same field gives at the end of the format
        assert fields("$a=quoteOrSpace$", line) == expected
