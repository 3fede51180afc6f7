"""`{parse=…}` directives (spec §5.5): the fields each one makes of a captured value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.parsers.directives import (
    DIRECTIVES,
    SYSLOG_SEVERITY,
    hours_minutes_seconds,
    parse_dict_literal,
    sql_signature,
)
from millpond.parsers.formats import compile_format
from millpond.parsers.severity import severity_of

S = 1_000_000_000


def parsed(directive: str, text: str, name: str = "d", options: str = "",
           timezone: str | None = None) -> dict[str, Any]:
    """The fields `$name{parse=directive}options$` makes of `text` (the field takes it all)."""
    fmt = compile_format(f"${name}{{parse={directive}}}{options}$", timezone=timezone)
    result = fmt.match(text)
    assert result is not None
    return result[0]


@pytest.mark.parametrize(
    ("directive", "text", "expected"),
    [
        # uri: the path and one field per query parameter, URL-decoded.
        ("uri", "/dir/file?foo=hello&bar=123",
         {"dPath": "/dir/file", "dFoo": "hello", "dBar": 123}),
        ("uri", "/a%20b?q=x+y&e=%41%2B", {"dPath": "/a%20b", "dQ": "x y", "dE": "A+"}),
        ("uri", "http://host:80/p/q?x=1", {"dPath": "/p/q", "dX": 1}),
        ("uri", "https://host", {"dPath": "/"}),
        ("uri", "/p?flag&=skipped&b=2#frag", {"dPath": "/p", "dFlag": "", "dB": 2}),
        ("uri", "/p?a=1&a=2", {"dPath": "/p", "dA": 2}),
        ("uri", "/p?user_id=007", {"dPath": "/p", "dUser_id": "007"}),
        ("uriMultivalue", "/p?a=1&a=2&b=3", {"dPath": "/p", "dA": "1,2", "dB": 3}),
        # uriAttributes / urlAttributes: the parameters alone.
        ("uriAttributes", "foo=hello&bar=good+morning", {"dFoo": "hello", "dBar": "good morning"}),
        ("urlAttributes", "?foo=hello", {"dFoo": "hello"}),
        ("urlAttributesMultivalue", "a=1&a=x", {"dA": "1,x"}),
        ("uriAttributes", "", {"d": ""}),
        # json: flattened, nested keys camel-joined, arrays as JSON text.
        ("json", '{"foo": "hello", "bar": 123}', {"dFoo": "hello", "dBar": 123}),
        ("json", '{"foo": {"bar": 123, "baz": {"q": 1.5}}}', {"dFooBar": 123, "dFooBazQ": 1.5}),
        ("json", '{"l": [1, {"a": "x"}], "t": true, "n": null, "e": {}}',
         {"dL": '[1,{"a":"x"}]', "dT": True, "dN": None}),
        ("json", '{"s": "123", "big": 123456789012345678901234567890}',
         {"dS": "123", "dBig": "123456789012345678901234567890"}),
        # integers past 64 bits keep their digits wherever they are; long digit runs in strings
        # and long decimals are read as they are
        ("json", '{"a": {"b": -9223372036854775809}, "l": [18446744073709551616, 1.5]}',
         {"dAB": "-9223372036854775809", "dL": "[18446744073709551616,1.5]"}),
        ("json", '{"s": "12345678901234567890123", "f": 0.1234567890123456789, "u": '
         '18446744073709551615}',
         {"dS": "12345678901234567890123", "dF": 0.1234567890123456789,
          "dU": "18446744073709551615"}),
        ("json", "[1, 2]", {"d": "[1, 2]"}),
        ("json", "{broken", {"d": "{broken"}),
        ("json", '{"n": NaN}', {"d": '{"n": NaN}'}),
        ("strictJson", '{"a": [1, 2]}', {"dA": "[1,2]"}),
        ("escapedJson", '{\\"foo\\": \\"hello\\", \\"bar\\": 123}', {"dFoo": "hello", "dBar": 123}),
        ("urlEncodedJson", "%7B%22foo%22%3A%20%22hello%22%2C%20%22bar%22%3A%20123%7D",
         {"dFoo": "hello", "dBar": 123}),
        ("base64EncodedJson", "eyJmb28iOiAiaGVsbG8iLCAiYmFyIjogMTIzfQ==",
         {"dFoo": "hello", "dBar": 123}),
        ("base64EncodedJson", "eyJmb28iOiAiaGVsbG8ifQ", {"dFoo": "hello"}),
        ("base64EncodedJson", "not base64!", {"d": "not base64!"}),
        # dotted variants and gron.
        ("dottedJson", '{"a": {"b": 1}, "c": 2}', {"d.a.b": 1, "d.c": 2}),
        ("dottedEscapedJson", '{\\"a\\": {\\"b\\": 1}}', {"d.a.b": 1}),
        ("dottedUrlEncodedJson", "%7B%22a%22%3A1%7D", {"d.a": 1}),
        ("dottedBase64EncodedJson", "eyJhIjogMX0=", {"d.a": 1}),
        ("strictDottedJson", '{"a": [1]}', {"d.a": "[1]"}),
        ("gron", '{"a": {"b": 1}}', {"da.b": 1}),
        # Dictionary literals.
        ("pythonDict", "{'foo': 'hello', 'bar': 123}", {"dFoo": "hello", "dBar": 123}),
        ("pythonDict",
         "{'n': None, 't': True, 'f': False, 'l': [1, 2], 'd': {'x': -1.5}, 'u': u'\\u00e9', "
         "'r': r'\\n', 'dec': Decimal('1.5'), 3: 'three'}",
         {"dN": None, "dT": True, "dF": False, "dL": "[1, 2]", "dDX": -1.5, "dU": "é",
          "dR": "\\n", "dDec": "Decimal('1.5')", "d3": "three"}),
        ("rubyHash", '{"foo" => "hello", :bar => 123}', {"dFoo": "hello", "dBar": 123}),
        ("rubyHash", "{baz: nil, :sym => :value}", {"dBaz": None, "dSym": "value"}),
        ("dict", "{a: 1, 'b': \"two\", \"c\": [1, 2],}", {"dA": 1, "dB": "two", "dC": "[1, 2]"}),
        ("dict", '{"json": {"works": true}}', {"dJsonWorks": True}),
        ("dict", "{'unclosed': 1", {"d": "{'unclosed': 1"}),
        ("dict", "{'a': 1} trailing", {"d": "{'a': 1} trailing"}),
        # commaKeyValues.
        ("commaKeyValues", 'foo="hello",bar=123', {"dFoo": "hello", "dBar": 123}),
        ("commaKeyValues", "a='x,y', b = 2 ,c=,d=\"q\\\"r\"",
         {"dA": "x,y", "dB": 2, "dC": "", "dD": 'q"r'}),
        ("commaKeyValues", "no pairs here", {"d": "no pairs here"}),
        # Separated values, by position.
        ("commaSeparatedValues", 'a, "b,c",3,,', {"d1": "a", "d2": "b,c", "d3": 3, "d4": "",
                                                  "d5": ""}),
        ("pipeSeparatedValues", "CEF:0|Security|threat\\|manager|1.0|100|",
         {"d1": "CEF:0", "d2": "Security", "d3": "threat|manager", "d4": 1.0, "d5": 100,
          "d6": ""}),
        # SQL signatures.
        ("sqlToSignature", "SELECT * FROM accounts WHERE org = 'aaaaaa' AND status = 2",
         {"d": "SELECT * FROM accounts WHERE org = ? AND status = ?"}),
        ("sqlToSignature", 'select  *\n from t2 where id in (1, 2, 3) and x = -5 and y="q"',
         {"d": 'select * from t2 where id in (?) and x = ? and y="q"'}),
        ("sqlWithDoubleQuotesToSignature", 'select * from t where y="q"',
         {"d": "select * from t where y=?"}),
        ("sqlToSignature", "INSERT INTO t (a, b) VALUES (1, 'it''s'), (2, 'y')",
         {"d": "INSERT INTO t (a, b) VALUES (?)"}),
        ("sqlToSignature", "select `col1` from t where a = 0x1F limit 10 offset 5",
         {"d": "select `col1` from t where a = ? limit ? offset ?"}),
        # syslogPriority: three fields, no prefix.
        ("syslogPriority", "134", {"facility": 16, "rawSeverity": 6, "severity": 3}),
        ("syslogPriority", "<11>", {"facility": 1, "rawSeverity": 3, "severity": 5}),
        ("syslogPriority", "0", {"facility": 0, "rawSeverity": 0, "severity": 6}),
        ("syslogPriority", "192", {"d": "192"}),
        ("syslogPriority", "x", {"d": "x"}),
        # Dates and times.
        ("dateTimeSeconds", "2013-01-15 09:57:30", {"d": 1_358_243_850}),
        ("dateTimeMs", "2013-01-15 09:57:30.5", {"d": 1_358_243_850_500}),
        ("dateTimeNs", "2013-01-15T09:57:30.123456789Z", {"d": 1_358_243_850_123_456_789}),
        ("dateTimeSeconds", "15/Jan/2013:09:57:30 -0100", {"d": 1_358_243_850 + 3600}),
        ("dateTimeSeconds", "whenever", {"d": "whenever"}),
        ("hoursMinutesSeconds", "00:20:43.609", {"d": 1243.609}),
        ("hoursMinutesSeconds", "1:00:00", {"d": 3600}),
        ("hoursMinutesSeconds", "20:43", {"d": 1243}),
        ("hoursMinutesSeconds", "00:61:00", {"d": "00:61:00"}),
        # Durations.
        ("seconds", "5 minutes", {"d": 300}),
        ("seconds", "1500ms", {"d": 1.5}),
        ("seconds", "2h", {"d": 7200}),
        ("seconds", "1 day", {"d": 86400}),
        ("seconds", "250µs", {"d": 0.00025}),
        ("seconds", "5", {"d": 5}),
        ("seconds", "2.5", {"d": 2.5}),
        ("seconds", "3 fortnights", {"d": "3 fortnights"}),
        ("milliseconds", "6 seconds", {"d": 6000}),
        ("milliseconds", "2.5us", {"d": 0.0025}),
        ("milliseconds", "7 ns", {"d": 0.000007}),
        ("milliseconds", "1 min", {"d": 60000}),
        # Sizes, 1024-based.
        ("bytes", "5kb", {"d": 5120}),
        ("bytes", "1.5 GB", {"d": 1_610_612_736}),
        ("bytes", "300", {"d": 300}),
        ("kb", "4096 bytes", {"d": 4}),
        ("kb", "1536", {"d": 1536}),
        ("mb", "4096KB", {"d": 4}),
        ("mb", "512k", {"d": 0.5}),
        ("gb", "1073741824 bytes", {"d": 1}),
        ("gb", "2 tb", {"d": 2048}),
        ("bytes", "12 parsecs", {"d": "12 parsecs"}),
    ],
)
def test_directives(directive: str, text: str, expected: dict[str, Any]) -> None:
    assert parsed(directive, text) == expected


def test_every_documented_directive_exists() -> None:
    documented = {
        "uri", "uriAttributes", "urlAttributes", "json", "escapedJson", "urlEncodedJson",
        "base64EncodedJson", "dottedJson", "gron", "uriMultivalue", "pythonDict", "rubyHash",
        "dict", "commaKeyValues", "commaSeparatedValues", "pipeSeparatedValues",
        "sqlToSignature", "sqlWithDoubleQuotesToSignature", "syslogPriority", "dateTimeSeconds",
        "dateTimeMs", "dateTimeNs", "hoursMinutesSeconds", "seconds", "milliseconds", "bytes",
        "kb", "mb", "gb",
    }
    assert documented <= set(DIRECTIVES)


def test_an_empty_name_adds_no_prefix() -> None:
    assert parsed("json", '{"foo": {"bar": 1}, "Baz": 2}', name="") == {"fooBar": 1, "Baz": 2}
    assert parsed("dottedJson", '{"a": {"b": 1}}', name="") == {"a.b": 1}
    assert parsed("uri", "/x?y=1", name="") == {"path": "/x", "y": 1}
    assert parsed("gron", '{"a": {"b": 1}}', name="unmapped.") == {"unmapped.a.b": 1}
    assert parsed("dottedJson", '{"a": 1}', name="u.") == {"u.a": 1}
    # A value the directive cannot read has nowhere to go without a name.
    assert parsed("json", "nope", name="") == {}


def test_attribute_filters_match_keys_before_the_prefix() -> None:
    # Scalyr's documented example.
    fmt = compile_format(
        "$timestamp$ $details{parse=uri}{attrWhitelist=[a-b].*}{attrBlacklist=.*[0-9]}$"
    )
    assert fmt.match("15:06:11 /home?apple=w&banana=x&banana2=y&cherry=z")[0] == {  # type: ignore[index]
        "timestamp": "15:06:11",
        "detailsPath": "/home",
        "detailsApple": "w",
        "detailsBanana": "x",
    }
    assert parsed(
        "dottedJson", '{"user": {"id": 1, "pw": "x"}, "other": 2}',
        options="{attrWhitelist=user\\.(id|email)}",
    ) == {"d.user.id": 1}
    assert parsed("json", '{"a": {"b": 1}, "c": 2}', options="{attrBlacklist=aB}") == {"dC": 2}


def test_date_time_zones() -> None:
    # The matcher's zone wins over the parser's; a zone in the text wins over both.
    assert parsed("dateTimeSeconds", "2013-01-15 09:57:30", timezone="EST") == {
        "d": 1_358_243_850 + 5 * 3600,
    }
    assert parsed("dateTimeSeconds", "2013-01-15 09:57:30", options="{timezone=UTC}",
                  timezone="EST") == {"d": 1_358_243_850}
    assert parsed("dateTimeSeconds", "2013-01-15 09:57:30 GMT+1", timezone="EST") == {
        "d": 1_358_243_850 - 3600,
    }
    assert parsed("dateTimeNs", "2013-07-15 09:57:30", timezone="America/New_York") == {
        "d": (1_373_882_250 + 4 * 3600) * S,
    }


def test_syslog_severity_runs_the_other_way_and_agrees_with_level_names() -> None:
    names = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
    assert tuple(severity_of(name) for name in names) == SYSLOG_SEVERITY


def test_directives_work_on_quoted_values() -> None:
    assert compile_format("$u=quotable{parse=uri}$ $x$").match('"/a b?c=1" x')[0] == {  # type: ignore[index]
        "uPath": "/a b", "uC": 1, "x": "x",
    }


def test_parse_dict_literal() -> None:
    assert parse_dict_literal("{}") == {}
    assert parse_dict_literal("  {'a': {'b': (1, 2)}}  ") == {"a": {"b": "(1, 2)"}}
    assert parse_dict_literal("{'a' 1}") is None
    assert parse_dict_literal("not a dict") is None
    assert parse_dict_literal("{" * 100 + "}" * 100) is None  # too deep: not read


def test_sql_signature_leaves_identifiers_alone() -> None:
    assert sql_signature("select t1.c2 from t1 where $1 = c3") == (
        "select t1.c2 from t1 where $1 = c3"
    )


def test_hours_minutes_seconds_sign() -> None:
    assert hours_minutes_seconds("-0:00:01.5") == -1.5


@pytest.mark.parametrize("directive", sorted(DIRECTIVES))
@pytest.mark.parametrize(
    "text",
    ["9" * 5000, '{"a": ' + "9" * 5000 + "}", "a=" + "9" * 5000, "/x?a=" + "9" * 5000,
     "9" * 5000 + ":00:00", "1e999", "1e308 days", "1e300 tb", "{" * 5000],
)
def test_huge_values_do_not_break_directives(directive: str, text: str) -> None:
    assert compile_format(f"$d{{parse={directive}}}$").match(text) is not None


def test_huge_numbers_stay_text() -> None:
    assert parsed("seconds", "1e999") == {"d": "1e999"}
    assert parsed("seconds", "9" * 30) == {"d": float("9" * 30)}
    assert parsed("seconds", "12") == {"d": 12}


_ANY_TEXT = st.text(max_size=60)


@given(st.sampled_from(sorted(DIRECTIVES)), _ANY_TEXT)
def test_directives_never_raise(directive: str, text: str) -> None:
    result = compile_format(f"$d{{parse={directive}}}$").match(text)
    assert result is not None
    for key, value in result[0].items():
        assert isinstance(key, str) and key
        assert value is None or isinstance(value, str | int | float | bool)
