"""`{parse=…}` directives (spec §5.5): what a field matcher does with the text it captured.

Each directive is compiled once, with the matcher's zone and attribute filters, into an `Emit`:
`emit(fields, name, text)` adds the fields the text yields to `fields`. Three shapes:

* **subfields** (`uri`, `json` and its variants, `pythonDict`, `commaKeyValues`, the separated
  values…): one field per key, named with the matcher name as a prefix. `camel` naming
  capitalises the key's first letter (`uri` + `foo` → `uriFoo`; an empty matcher name leaves the
  key alone); `dotted` joins with a dot (`details.foo`); `gron` glues the prefix on as written
  (`$unmapped.{parse=gron}$` → `unmapped.foo`). The captured text itself is not kept.
  `attrWhitelist` / `attrBlacklist` are full-match regexes on the keys *before* the prefix is
  added (Scalyr's example: `{attrWhitelist=[a-b].*}` keeps `detailsApple`), and never drop a
  `uri`'s `Path`.
* **values** (`dateTime*`, `seconds`, `bytes`, `sqlToSignature`, …): the field keeps its name
  and gets the converted value.
* `syslogPriority` adds `facility`, `rawSeverity` and `severity`, without a prefix.

A directive never raises on text it cannot read: the field then keeps the raw text.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import math
import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any, Final
from urllib.parse import unquote, unquote_plus

import orjson

from millpond.parsers.patterns import compile_regex, to_value, unescape
from millpond.parsers.timestamps import NS, parse_timestamp

Emit = Callable[[dict[str, Any], str, str], None]
Keep = Callable[[str], bool]
Pairs = list[tuple[str, Any]]

_NUMBER_START: Final = frozenset("-0123456789")
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


# -- naming ---------------------------------------------------------------------------------


def camel(prefix: str, key: str) -> str:
    """`uri` + `foo` → `uriFoo`; no prefix → the key unchanged."""
    if not prefix:
        return key
    return prefix + key[:1].upper() + key[1:]


def dotted(prefix: str, key: str) -> str:
    """`details` + `foo` → `details.foo`; no prefix → the key unchanged."""
    if not prefix:
        return key
    return prefix + key if prefix.endswith(".") else prefix + "." + key


def gron(prefix: str, key: str) -> str:
    """The prefix as written, then the key: `unmapped.` + `foo` → `unmapped.foo`."""
    return prefix + key


# -- the shapes -----------------------------------------------------------------------------


def _subfields(parse: Callable[[str], Pairs | None], naming: Callable[[str, str], str],
               keep: Keep | None) -> Emit:
    def emit(fields: dict[str, Any], name: str, text: str) -> None:
        pairs = parse(text)
        if pairs is None:
            if name:
                fields[name] = text
            return
        for key, value in pairs:
            if keep is not None and not keep(key):
                continue
            full = naming(name, key) if name else key
            if full:
                fields[full] = value

    return emit


def _value(convert: Callable[[str], Any]) -> Emit:
    def emit(fields: dict[str, Any], name: str, text: str) -> None:
        value = convert(text)
        if name:
            fields[name] = text if value is None else value

    return emit


# -- uri ------------------------------------------------------------------------------------

_SCHEME_AUTHORITY: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")


def _component(text: str) -> str:
    if "%" in text:
        return unquote_plus(text)
    return text.replace("+", " ") if "+" in text else text


def _query_pairs(query: str, multivalue: bool) -> Pairs:
    pairs: dict[str, Any] = {}
    for part in query.split("&"):
        raw_key, _, raw_value = part.partition("=")
        key = _component(raw_key)
        if not key:
            continue
        value = _component(raw_value)
        if multivalue and key in pairs:
            pairs[key] = f"{pairs[key]},{value}"
        else:
            pairs[key] = value
    return [(key, to_value(value)) for key, value in pairs.items()]


def _uri(keep: Keep | None, multivalue: bool) -> Emit:
    def emit(fields: dict[str, Any], name: str, text: str) -> None:
        if "#" in text:
            text = text[: text.index("#")]
        path, _, query = text.strip().partition("?")
        if "://" in path:
            authority = _SCHEME_AUTHORITY.match(path)
            if authority is not None:
                path = path[authority.end():] or "/"
        fields[name + "Path" if name else "path"] = path
        if not query:
            return
        if multivalue:
            pairs = _query_pairs(query, multivalue)
        else:  # the common case, in one pass
            pairs = []
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if "%" in key or "+" in key:
                    key = _component(key)
                if not key or (keep is not None and not keep(key)):
                    continue
                if "%" in value or "+" in value:
                    value = _component(value)
                fields[name + key[0].upper() + key[1:] if name else key] = (
                    to_value(value) if value[:1] in _NUMBER_START else value
                )
        for key, value in pairs:
            if keep is None or keep(key):
                fields[name + key[:1].upper() + key[1:] if name else key] = value

    return emit


def _uri_attributes(multivalue: bool) -> Callable[[str], Pairs | None]:
    def parse(text: str) -> Pairs | None:
        text = text.strip()
        if text.startswith("?"):
            text = text[1:]
        pairs = _query_pairs(text, multivalue)
        return pairs if pairs else None

    return parse


# -- json -----------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_LONG_DIGITS: Final = re.compile(r"[0-9]{19}")


def _load_object(text: str) -> dict[str, Any] | None:
    try:
        if _LONG_DIGITS.search(text) is None:
            value = orjson.loads(text)
        else:  # orjson would read integers beyond 64 bits as floats, losing digits
            value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def json_text(value: Any) -> str:
    """Compact JSON text of a value (an array the json directives keep as text)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def flatten(obj: dict[str, Any], join: Callable[[str, str], str]) -> Pairs:
    """Leaves of a JSON object as (joined key, value), in document order. Arrays are kept as
    compact JSON text, integers beyond 64 bits as text; empty objects yield nothing."""
    pairs: Pairs = []
    stack: list[tuple[str, Iterator[tuple[Any, Any]]]] = [("", iter(obj.items()))]
    while stack:
        base, items = stack[-1]
        for raw_key, value in items:
            if type(raw_key) is not str:
                raw_key = str(raw_key)
            key = join(base, raw_key) if base else raw_key
            if isinstance(value, dict):
                stack.append((key, iter(value.items())))
                break
            if isinstance(value, list):
                pairs.append((key, json_text(value)))
            elif (isinstance(value, int) and not isinstance(value, bool)
                  and not _INT64_MIN <= value <= _INT64_MAX):
                pairs.append((key, str(value)))
            else:
                pairs.append((key, value))
        else:
            stack.pop()
    return pairs


_ESCAPE_LAYER: Final = re.compile(r"\\([\s\S])")


def _unescape_layer(text: str) -> str | None:
    return _ESCAPE_LAYER.sub(r"\1", text)


def _url_decode(text: str) -> str | None:
    return unquote(text)


def _base64_decode(text: str) -> str | None:
    data = "".join(text.split())
    data += "=" * (-len(data) % 4)
    try:
        if "-" in data or "_" in data:
            raw = base64.urlsafe_b64decode(data)
        else:
            raw = base64.b64decode(data, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _json(decode: Callable[[str], str | None] | None,
          join: Callable[[str, str], str]) -> Callable[[str], Pairs | None]:
    def parse(text: str) -> Pairs | None:
        if decode is not None:
            decoded = decode(text)
            if decoded is None:
                return None
            text = decoded
        obj = _load_object(text)
        return None if obj is None else flatten(obj, join)

    return parse


# -- dictionary literals (Python, Ruby, JSON, and forgiving mixtures) ------------------------

_WS: Final = re.compile(r"\s*")
_WORD: Final = re.compile(r"""[^\s,:{}\[\]()=>'"]+""")
_SYMBOL: Final = re.compile(r":([A-Za-z_][\w?!]*)")
_STRING: Final = re.compile(r"""([rRuUbBfF]{0,2})('(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*")""")
_SEPARATOR: Final = re.compile(r"\s*(=>|:|=)\s*")
_WORDS: Final[dict[str, Any]] = {
    "true": True, "false": False, "none": None, "null": None, "nil": None,
}
_MAX_DEPTH: Final = 64


class _Malformed(Exception):
    pass


def _skip(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return m.end() if m is not None else pos


def _balanced(text: str, pos: int) -> int:
    """The end of the bracketed group opening at `pos`, skipping quoted strings."""
    depth = 0
    n = len(text)
    while pos < n:
        c = text[pos]
        if c in "'\"":
            m = _STRING.match(text, pos)
            if m is None:
                raise _Malformed
            pos = m.end()
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise _Malformed


def _literal(text: str, pos: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH or pos >= len(text):
        raise _Malformed
    c = text[pos]
    if c == "{":
        return _dict(text, pos, depth + 1)
    if c in "[(":
        end = _balanced(text, pos)
        return text[pos:end], end
    m = _STRING.match(text, pos)
    if m is not None:
        prefix, quoted = m.group(1), m.group(2)
        body = quoted[1:-1]
        return (body if "r" in prefix.lower() else unescape(body)), m.end()
    m = _SYMBOL.match(text, pos)
    if m is not None:
        return m.group(1), m.end()
    m = _WORD.match(text, pos)
    if m is None:
        raise _Malformed
    word, end = m.group(), m.end()
    if end < len(text) and text[end] == "(":  # a call: Decimal('1.5'), datetime(2026, 1, 2)
        end = _balanced(text, end)
        return text[pos:end], end
    lowered = word.lower()
    if lowered in _WORDS:
        return _WORDS[lowered], end
    return to_value(word), end


def _dict(text: str, pos: int, depth: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    pos = _skip(text, pos + 1)
    while True:
        if pos >= len(text):
            raise _Malformed
        if text[pos] == "}":
            return result, pos + 1
        key, pos = _literal(text, pos, depth)
        if isinstance(key, dict):
            raise _Malformed
        sep = _SEPARATOR.match(text, pos)
        if sep is None:
            raise _Malformed
        value, pos = _literal(text, sep.end(), depth)
        result["" if key is None else str(key)] = value
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
        elif pos < len(text) and text[pos] != "}":
            raise _Malformed


def parse_dict_literal(text: str) -> dict[str, Any] | None:
    """A `{…}` dictionary literal in Python, Ruby (`=>`, `:symbols`) or JSON syntax; None if
    the text is not one. Lists, tuples and calls are kept as the text written."""
    start = _skip(text, 0)
    if not text.startswith("{", start):
        return None
    try:
        value, end = _dict(text, start, 0)
    except _Malformed:
        return None
    return value if _skip(text, end) == len(text) else None


def _dictionary(text: str) -> Pairs | None:
    obj = parse_dict_literal(text)
    return None if obj is None else flatten(obj, camel)


# -- key/value lists and separated values ---------------------------------------------------

_PAIR: Final = re.compile(
    r"""\s*([^=,]+?)\s*=\s*(?:"((?:[^"\\]|\\[\s\S])*)"|'((?:[^'\\]|\\[\s\S])*)'|([^,]*?))\s*(?:,|$)"""
)


def _comma_key_values(text: str) -> Pairs | None:
    pairs: Pairs = []
    pos, n = 0, len(text)
    while pos < n:
        m = _PAIR.match(text, pos)
        if m is None:
            comma = text.find(",", pos)
            if comma < 0:
                break
            pos = comma + 1
            continue
        key, double, single, bare = m.groups()
        if double is not None:
            value = unescape(double)
        elif single is not None:
            value = unescape(single)
        else:
            value = bare
        pairs.append((key, to_value(value)))
        pos = m.end()
    return pairs if pairs else None


def _comma_separated(text: str) -> Pairs | None:
    try:
        row = next(csv.reader([text], skipinitialspace=True), None)
    except csv.Error:
        return None
    if row is None:
        return None
    return [(str(i), to_value(value.strip())) for i, value in enumerate(row, 1)]


_PIPE_CELL: Final = re.compile(r"(?:\\[\s\S]|[^|\\])*")
_PIPE_ESCAPE: Final = re.compile(r"\\([|\\])")


def _pipe_separated(text: str) -> Pairs | None:
    cells: list[str] = []
    pos = 0
    while True:
        m = _PIPE_CELL.match(text, pos)
        assert m is not None  # matches the empty string at worst
        cells.append(_PIPE_ESCAPE.sub(r"\1", m.group()).strip())
        pos = m.end()
        if pos >= len(text):
            break
        pos += 1  # the `|`
    return [(str(i), to_value(cell)) for i, cell in enumerate(cells, 1)]


# -- SQL signatures -------------------------------------------------------------------------

_SQL_TOKEN: Final = re.compile(
    r"""(?P<single>'(?:[^'\\]|\\[\s\S]|'')*')
      | (?P<double>"(?:[^"\\]|\\[\s\S]|"")*")
      | (?P<ident>`[^`]*`)
      | (?P<number>(?<![\w.$])
          (?:0x[0-9a-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?)
          (?![\w.]))
      | (?P<space>\s+)""",
    re.VERBOSE | re.IGNORECASE,
)
_SQL_SIGN_AFTER_OPERATOR: Final = re.compile(r"([=<>(,+\-*/%]\s*|^\s*)[-+]\s*\?")
_SQL_SIGN_AFTER_KEYWORD: Final = re.compile(
    r"\b(and|or|not|in|is|by|select|where|when|then|else|values?|limit|offset|between|like"
    r"|set|return|case)(\s+)[-+]\s*\?",
    re.IGNORECASE,
)
_SQL_IN_LIST: Final = re.compile(r"\b(in)\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_SQL_TUPLE: Final = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"
_SQL_VALUES: Final = re.compile(
    rf"\b(values?)\s*{_SQL_TUPLE}(?:\s*,\s*{_SQL_TUPLE})*", re.IGNORECASE
)


def sql_signature(text: str, double_quotes: bool = False) -> str:
    """The query with its literals as `?`: numbers and '…' strings (and "…" strings when
    `double_quotes`), `IN (…)` lists and `VALUES (…), (…)` as one `(?)`, whitespace collapsed."""

    def replace(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "space":
            return " "
        if kind in ("single", "number") or (kind == "double" and double_quotes):
            return "?"
        return m.group()

    signature = _SQL_TOKEN.sub(replace, text).strip()
    signature = _SQL_SIGN_AFTER_OPERATOR.sub(r"\1?", signature)
    signature = _SQL_SIGN_AFTER_KEYWORD.sub(r"\1\2?", signature)
    signature = _SQL_IN_LIST.sub(r"\1 (?)", signature)
    return _SQL_VALUES.sub(r"\1 (?)", signature)


# -- numbers with units ---------------------------------------------------------------------

_AMOUNT: Final = re.compile(
    r"\s*(-?(?:[0-9]{1,40}(?:\.[0-9]{0,40})?|\.[0-9]{1,40})(?:[eE][-+]?[0-9]{1,3})?)\s*"
    r"([^\W\d]*)\s*"
)


def _units(table: dict[tuple[str, ...], Fraction]) -> dict[str, Fraction]:
    return {name: factor for names, factor in table.items() for name in names}


_TIME_UNITS: Final = _units({
    ("s", "sec", "secs", "second", "seconds"): Fraction(1),
    ("ms", "msec", "msecs", "milli", "millis", "millisecond", "milliseconds"): Fraction(1, 10**3),
    ("us", "µs", "μs", "usec", "usecs", "micro", "micros", "microsecond", "microseconds"):
        Fraction(1, 10**6),
    ("ns", "nsec", "nsecs", "nano", "nanos", "nanosecond", "nanoseconds"): Fraction(1, 10**9),
    ("m", "min", "mins", "minute", "minutes"): Fraction(60),
    ("h", "hr", "hrs", "hour", "hours"): Fraction(3600),
    ("d", "day", "days"): Fraction(86_400),
    ("w", "week", "weeks"): Fraction(604_800),
})
_BYTE_UNITS: Final = _units({
    ("b", "byte", "bytes"): Fraction(1),
    ("k", "kb", "kib", "kbyte", "kbytes"): Fraction(1024),
    ("m", "mb", "mib", "mbyte", "mbytes"): Fraction(1024**2),
    ("g", "gb", "gib", "gbyte", "gbytes"): Fraction(1024**3),
    ("t", "tb", "tib", "tbyte", "tbytes"): Fraction(1024**4),
})


def _number(value: Fraction) -> int | float | None:
    if value.denominator == 1 and _INT64_MIN <= value.numerator <= _INT64_MAX:
        return value.numerator
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _scaled(units: dict[str, Fraction], target: Fraction) -> Callable[[str], Any]:
    def convert(text: str) -> int | float | None:
        m = _AMOUNT.fullmatch(text)
        if m is None:
            return None
        number, unit = Fraction(m.group(1)), m.group(2)
        if not unit:  # no unit: the number as written, not scaled
            return _number(number)
        factor = units.get(unit.lower())
        return None if factor is None else _number(number * factor / target)

    return convert


_CLOCK: Final = re.compile(r"\s*(-)?([0-9]{1,12}):([0-9]{2})(?::([0-9]{2}))?(\.[0-9]{1,20})?\s*")


def hours_minutes_seconds(text: str) -> int | float | None:
    """`hh:mm:ss[.sss]` (or `mm:ss[.sss]`) in seconds: `00:20:43.609` → 1243.609."""
    m = _CLOCK.fullmatch(text)
    if m is None:
        return None
    sign, first, second, third, fraction = m.groups()
    if third is None:
        if int(second) > 59:
            return None
        total = int(first) * 60 + int(second)
    else:
        if int(second) > 59 or int(third) > 59:
            return None
        total = int(first) * 3600 + int(second) * 60 + int(third)
    value: int | float = float(f"{total}{fraction}") if fraction else total
    return -value if sign else value


# -- syslog priority ------------------------------------------------------------------------

# Syslog severity (0 emerg … 7 debug) to Scalyr's 0–6 (higher is worse, §5.6).
SYSLOG_SEVERITY: Final = (6, 6, 6, 5, 4, 3, 3, 2)
_PRIORITY: Final = re.compile(r"\s*<?([0-9]{1,3})>?\s*")


def _syslog_priority(fields: dict[str, Any], name: str, text: str) -> None:
    m = _PRIORITY.fullmatch(text)
    priority = int(m.group(1)) if m is not None else -1
    if not 0 <= priority <= 191:
        if name:
            fields[name] = text
        return
    fields["facility"] = priority >> 3
    fields["rawSeverity"] = priority & 7
    fields["severity"] = SYSLOG_SEVERITY[priority & 7]


# -- the table ------------------------------------------------------------------------------

_Factory = Callable[[str | None, Keep | None], Emit]


def _date_time(scale: int) -> _Factory:
    def factory(zone: str | None, keep: Keep | None) -> Emit:
        def convert(text: str) -> int | None:
            ns = parse_timestamp(text.strip(), zone)
            return None if ns is None else ns // scale

        return _value(convert)

    return factory


def _json_factory(decode: Callable[[str], str | None] | None,
                  join: Callable[[str, str], str]) -> _Factory:
    return lambda zone, keep: _subfields(_json(decode, join), join, keep)


def _json_family() -> dict[str, _Factory]:
    """json, escapedJson, urlEncodedJson, base64EncodedJson; their dotted variants; and the
    strict variants of all (arrays are kept as JSON text anyway, so strict is the same)."""
    decoders: dict[str, Callable[[str], str | None] | None] = {
        "json": None,
        "escapedJson": _unescape_layer,
        "urlEncodedJson": _url_decode,
        "base64EncodedJson": _base64_decode,
    }
    family: dict[str, _Factory] = {}
    for name, decode in decoders.items():
        dotted_name = "dotted" + name[0].upper() + name[1:]
        family[name] = _json_factory(decode, camel)
        family[dotted_name] = _json_factory(decode, dotted)
        for variant in (name, dotted_name):
            family["strict" + variant[0].upper() + variant[1:]] = family[variant]
    family["gron"] = lambda zone, keep: _subfields(_json(None, dotted), gron, keep)
    return family


DIRECTIVES: Final[dict[str, _Factory]] = {
    "uri": lambda zone, keep: _uri(keep, multivalue=False),
    "uriMultivalue": lambda zone, keep: _uri(keep, multivalue=True),
    "uriAttributes": lambda zone, keep: _subfields(_uri_attributes(False), camel, keep),
    "urlAttributes": lambda zone, keep: _subfields(_uri_attributes(False), camel, keep),
    "uriAttributesMultivalue": lambda zone, keep: _subfields(_uri_attributes(True), camel, keep),
    "urlAttributesMultivalue": lambda zone, keep: _subfields(_uri_attributes(True), camel, keep),
    **_json_family(),
    "pythonDict": lambda zone, keep: _subfields(_dictionary, camel, keep),
    "rubyHash": lambda zone, keep: _subfields(_dictionary, camel, keep),
    "dict": lambda zone, keep: _subfields(_dictionary, camel, keep),
    "commaKeyValues": lambda zone, keep: _subfields(_comma_key_values, camel, keep),
    "commaSeparatedValues": lambda zone, keep: _subfields(_comma_separated, camel, keep),
    "pipeSeparatedValues": lambda zone, keep: _subfields(_pipe_separated, camel, keep),
    "sqlToSignature": lambda zone, keep: _value(sql_signature),
    "sqlWithDoubleQuotesToSignature":
        lambda zone, keep: _value(lambda text: sql_signature(text, double_quotes=True)),
    "syslogPriority": lambda zone, keep: _syslog_priority,
    "dateTimeSeconds": _date_time(NS),
    "dateTimeMs": _date_time(1_000_000),
    "dateTimeNs": _date_time(1),
    "hoursMinutesSeconds": lambda zone, keep: _value(hours_minutes_seconds),
    "seconds": lambda zone, keep: _value(_scaled(_TIME_UNITS, Fraction(1))),
    "milliseconds": lambda zone, keep: _value(_scaled(_TIME_UNITS, Fraction(1, 1000))),
    "bytes": lambda zone, keep: _value(_scaled(_BYTE_UNITS, Fraction(1))),
    "kb": lambda zone, keep: _value(_scaled(_BYTE_UNITS, Fraction(1024))),
    "mb": lambda zone, keep: _value(_scaled(_BYTE_UNITS, Fraction(1024**2))),
    "gb": lambda zone, keep: _value(_scaled(_BYTE_UNITS, Fraction(1024**3))),
}

# Directives whose result keeps the matcher's own name, so the matcher needs one.
NEEDS_NAME: Final = frozenset({
    "sqlToSignature", "sqlWithDoubleQuotesToSignature", "dateTimeSeconds", "dateTimeMs",
    "dateTimeNs", "hoursMinutesSeconds", "seconds", "milliseconds", "bytes", "kb", "mb", "gb",
})


def make_directive(name: str, *, zone: str | None = None, whitelist: str | None = None,
                   blacklist: str | None = None) -> Emit | None:
    """The compiled directive `name`, or None if there is no such directive. The filters are
    regexes (already checked by the caller); `zone` is for the dateTime* directives."""
    factory = DIRECTIVES.get(name)
    if factory is None:
        return None
    return factory(zone, key_filter(whitelist, blacklist))


def key_filter(whitelist: str | None, blacklist: str | None) -> Keep | None:
    """A predicate for keys passing `attrWhitelist` and not matching `attrBlacklist`."""
    if whitelist is None and blacklist is None:
        return None
    allow = compile_regex(whitelist).fullmatch if whitelist is not None else None
    deny = compile_regex(blacklist).fullmatch if blacklist is not None else None

    def keep(key: str) -> bool:
        if allow is not None and allow(key) is None:
            return False
        return deny is None or deny(key) is None

    return keep
