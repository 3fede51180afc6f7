"""A parser definition (spec §5.2–§5.9) compiled into a `Parser` that turns lines into events.

`compile_parser(name, text)` reads the config file `/logParsers/NAME` (the relaxed JSON of spec
§2.2 item 5), checks every key, compiles each format, rewrite and line grouper once, and refuses
what it cannot run with a `ParserError` that says where the problem is (`formats[2] (id 'login')
.rewrites[0].replace: …`) and what to do. `Parser.parse(lines)` then never raises.

How an event is made (`Parser.parse`), per group of lines (`groupers.py`) or line:

1. The event starts with the parser's `attributes`; every event gets them, matched or not.
2. Formats are tried in order on the message (at most its first `PARSE_LIMIT` characters).
   Each format that matches writes, in this order, its fields, its `attributes`, its `id` flag
   (`id: "login"` → `login: true`), then runs its rewrites; a later write of a field wins.
   A matching format with `discard` drops the event; one with `halt` stops the search.
   `repeat: true` formats match along the whole line (`Format.match_all`).
3. Formats always read the message as it came; rewrites that output `message` change the
   stored message only. A field a format extracts named `message` is ignored (spec §5.6).
4. `timestamp` becomes `ts_ns`, read in the first zone of: a field named `timezone`, the
   `{timezone=…}` of the matcher that captured it, the parser's `timezone`, the server's
   default, GMT. With `intermittentTimestamps`, an event without one (or with one that does not
   read as a time) takes the last time read in this call. `severity` becomes 0–6. Both fields
   leave `fields`; an unreadable one is dropped.
5. `discardAttributes` names fields removed from every event (`message` cannot be removed).

Accepted and ignored: `mappings`, `skipNumericConversion` (top level and per format),
`association` on formats, rewrite `action: "computeFields"` and `discard: {filter: …}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from millpond.errors import BadParam
from millpond.ingest.scalyr_json import HINT, parse_body
from millpond.parsers import directives
from millpond.parsers.builtin import BUILTIN_NAMES, builtin_text
from millpond.parsers.formats import FormatError, compile_format
from millpond.parsers.groupers import LineGrouper, compile_groupers, group_lines
from millpond.parsers.rewrites import Rewrite, apply_rewrites, compile_rewrite, describe
from millpond.parsers.severity import severity_of
from millpond.parsers.timestamps import known_zone, parse_timestamp

__all__ = [
    "BUILTIN_NAMES",
    "PARSE_LIMIT",
    "Parsed",
    "Parser",
    "ParserError",
    "builtin_parser",
    "compile_parser",
]

log = logging.getLogger(__name__)

PARSE_LIMIT = 50_000  # characters of a message the formats read (Scalyr: "just under 50,000")

_TOP_KEYS = (
    "formats",
    "patterns",
    "attributes",
    "timezone",
    "lineGroupers",
    "intermittentTimestamps",
    "aliasTo",
    "discardAttributes",
    "mappings",
    "skipNumericConversion",
)
_FORMAT_KEYS = (
    "format",
    "id",
    "attributes",
    "rewrites",
    "discard",
    "halt",
    "repeat",
    "association",
    "skipNumericConversion",
)
_ATTRIBUTE_TYPES = (str, int, float, bool)


class ParserError(BadParam):
    """A parser definition that cannot be compiled; the message says where and what to fix."""


@dataclass(slots=True)
class Parsed:
    """One event a parser made: from line `index` of the input (its first line, if grouped)."""

    index: int
    message: str
    fields: dict[str, Any]
    ts_ns: int | None
    severity: int | None


@dataclass(frozen=True, slots=True)
class _Step:
    """A compiled format object, with what to do when it matches."""

    match: Callable[[str], Any]  # Format.match, or Format.match_all when `repeat`
    repeat: bool
    extra: dict[str, Any]  # the format's attributes, then its id flag
    rewrites: tuple[Rewrite, ...]
    zone: str | None  # the {timezone=…} of its `timestamp` matcher
    halt: bool
    discard: bool
    # `${parse=NAME}$`: the directive the whole line goes to (`columnar` reads whole-line json
    # itself); None for other formats.
    directive: str | None = None


@dataclass(frozen=True, slots=True)
class _Program:
    steps: tuple[_Step, ...]
    attributes: dict[str, Any]
    groupers: tuple[LineGrouper, ...]
    zone: str | None  # the parser's timezone, else the server default
    intermittent: bool
    discard_fields: tuple[str, ...]


class Parser:
    """A compiled parser. `parse` is safe to call from several threads at once."""

    __slots__ = ("_program", "failures", "name")

    def __init__(self, name: str, program: _Program) -> None:
        self.name = name
        self._program = program
        self.failures = 0  # events a bug made us store unparsed (logged once per parser)

    def __repr__(self) -> str:
        return f"Parser({self.name!r})"

    def parse(self, messages: Sequence[str], *, now_ns: int | None = None) -> list[Parsed]:
        """The events made of `messages`, consecutive lines of one session and thread, in
        order; discarded events are left out. Never raises."""
        program = self._program
        events: Iterable[tuple[int, str]] = (
            group_lines(program.groupers, messages) if program.groupers else enumerate(messages)
        )
        steps = program.steps
        attributes = program.attributes
        default_zone = program.zone
        intermittent = program.intermittent
        discard_fields = program.discard_fields
        out: list[Parsed] = []
        emit = out.append
        last_ts: int | None = None
        for index, message in events:
            try:
                text = message if len(message) <= PARSE_LIMIT else message[:PARSE_LIMIT]
                fields = attributes.copy()
                zone = None
                discard = False
                for step in steps:
                    if step.repeat:
                        part = step.match(text)
                        if part is None:
                            continue
                    else:
                        result = step.match(text)
                        if result is None:
                            continue
                        part = result[0]
                    fields.update(part)
                    if step.extra:
                        fields.update(step.extra)
                    if "timestamp" in part:  # the zone goes with the last writer of the time
                        zone = step.zone
                    if step.rewrites:
                        message = apply_rewrites(step.rewrites, fields, message, now_ns)
                    if step.discard:
                        discard = True
                        break
                    if step.halt:
                        break
                fields.pop("message", None)
                severity = fields.pop("severity", None)
                if severity is not None:
                    severity = severity_of(severity)
                ts_ns = None
                ts = fields.pop("timestamp", None)
                if ts is not None:
                    captured = fields.get("timezone")
                    if captured is not None and captured != "":
                        zone = captured if isinstance(captured, str) else str(captured)
                    ts_ns = parse_timestamp(
                        ts if isinstance(ts, str) else str(ts), zone or default_zone, now_ns=now_ns
                    )
                if intermittent:
                    if ts_ns is None:
                        ts_ns = last_ts
                    else:
                        last_ts = ts_ns
                if discard:
                    continue
                for name in discard_fields:
                    fields.pop(name, None)
                emit(Parsed(index, message, fields, ts_ns, severity))
            except Exception:  # a bug must not fail the request: store the line unparsed
                self.failures += 1
                if self.failures == 1:
                    log.exception("parser %r failed on an event; storing it unparsed", self.name)
                emit(Parsed(index, message, attributes.copy(), None, None))
        return out


# -- compiling ------------------------------------------------------------------------------


def compile_parser(
    name: str,
    text: str | bytes,
    *,
    lookup: Callable[[str], str | None] | None = None,
    timezone_default: str | None = None,
) -> Parser:
    """Compile the parser definition `text` (the file /logParsers/NAME).

    `lookup(other)` returns the text of another parser file (None if there is none); an
    `aliasTo` looks there first, then among the built-in parsers. `timezone_default` is the
    zone for timestamps when neither the text nor the parser names one (else GMT).
    """
    config = _read(name, text)
    if "aliasTo" in config:
        return _alias(name, config, lookup, timezone_default)
    return Parser(name, _compile(name, config, timezone_default))


@cache
def builtin_parser(name: str) -> Parser | None:
    """The built-in parser `name` (compiled once), or None if there is no such built-in."""
    text = builtin_text(name)
    return None if text is None else compile_parser(name, text)


def _fail(name: str, where: str, what: str) -> ParserError:
    place = f" {where}" if where else ""
    return ParserError(f"parser {name!r}{place}: {what} (in /logParsers/{name})")


def _read(name: str, text: Any) -> dict[str, Any]:
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise _fail(name, "", f"the definition must be text, not {type(text).__name__}")
    try:
        config = parse_body(data)
    except BadParam as exc:
        what = exc.message.removesuffix(HINT).rstrip("; ").replace("the body", "the definition")
        raise _fail(
            name,
            "",
            f"{what}; a parser is one object in relaxed JSON, e.g. "
            '{formats: ["$ip$ $user$ \\\\[$timestamp$\\\\] $text$"]}',
        ) from None
    return config


def _alias(
    name: str,
    config: dict[str, Any],
    lookup: Callable[[str], str | None] | None,
    timezone_default: str | None,
) -> Parser:
    others = sorted(key for key in config if key != "aliasTo")
    if others:
        raise _fail(
            name,
            "aliasTo",
            f"an alias has nothing but aliasTo, but this one also has {', '.join(others)}; "
            "remove them or remove aliasTo",
        )
    target = config["aliasTo"]
    if not isinstance(target, str) or not target:
        raise _fail(name, "aliasTo", f"must name another parser, not {describe(target)}")
    if target == name:
        raise _fail(name, "aliasTo", "a parser cannot be an alias of itself")
    text: str | bytes | None = lookup(target) if lookup is not None else None
    if text is None:
        if target not in BUILTIN_NAMES:
            raise _fail(
                name,
                "aliasTo",
                f"there is no parser {target!r}: create /logParsers/{target} or name a built-in "
                f"parser ({', '.join(sorted(BUILTIN_NAMES))})",
            )
        if timezone_default is None:
            builtin = builtin_parser(target)
            assert builtin is not None
            return Parser(name, builtin._program)
        text = builtin_text(target)
    try:
        target_config = _read(target, text)
    except ParserError as exc:
        what = f"the parser it names does not compile: {exc.message}"
        raise _fail(name, "aliasTo", what) from exc
    if "aliasTo" in target_config:
        raise _fail(
            name,
            "aliasTo",
            f"{target!r} is itself an alias (of {target_config['aliasTo']!r}) and aliases do "
            f"not chain; point aliasTo at the parser {target!r} aliases",
        )
    try:
        program = _compile(target, target_config, timezone_default)
    except ParserError as exc:
        what = f"the parser it names does not compile: {exc.message}"
        raise _fail(name, "aliasTo", what) from exc
    return Parser(name, program)


def _compile(name: str, config: dict[str, Any], timezone_default: str | None) -> _Program:
    for key in config:
        if key not in _TOP_KEYS:
            raise _fail(
                name,
                "",
                f"unknown top-level key {key!r}; the keys are {', '.join(_TOP_KEYS)}",
            )
    patterns = _patterns(name, config.get("patterns"))
    zone = config.get("timezone")
    if zone is not None and (not isinstance(zone, str) or not known_zone(zone)):
        raise _fail(
            name,
            "timezone",
            f"{describe(zone)} is not a time zone; use an IANA name (\"America/New_York\"), "
            "an abbreviation (\"PST\") or an offset (\"GMT+5:30\")",
        )
    attributes = _attributes(name, "attributes", config.get("attributes"))
    intermittent = _flag(
        name, "intermittentTimestamps", config.get("intermittentTimestamps", False)
    )
    formats = config.get("formats", [])
    if not isinstance(formats, list):
        raise _fail(
            name, "formats", f"must be a list of format strings or objects, not {describe(formats)}"
        )
    if zone is None and timezone_default is not None and known_zone(timezone_default):
        zone = timezone_default  # an unknown server default counts as GMT, as in parse_timestamp
    steps = tuple(_step(name, i, spec, patterns, zone) for i, spec in enumerate(formats))
    groupers: tuple[LineGrouper, ...] = ()
    if "lineGroupers" in config:
        try:
            groupers = compile_groupers(config["lineGroupers"])
        except ValueError as exc:
            place, _, what = str(exc).partition(": ")
            raise _fail(name, f"lineGroupers{place}", what) from None
    discard_fields = config.get("discardAttributes", [])
    if not isinstance(discard_fields, list) or not all(
        isinstance(field, str) for field in discard_fields
    ):
        raise _fail(
            name,
            "discardAttributes",
            f"must be a list of field names, not {describe(discard_fields)}",
        )
    return _Program(
        steps=steps,
        attributes=attributes,
        groupers=groupers,
        zone=zone,
        intermittent=intermittent,
        discard_fields=tuple(f for f in dict.fromkeys(discard_fields) if f != "message"),
    )


def _patterns(name: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(name, "patterns", f"must be an object of name: regex, not {describe(value)}")
    for key, regex in value.items():
        if not isinstance(regex, str):
            raise _fail(name, f"patterns.{key}", f"must be a regex string, not {describe(regex)}")
    return value


def _attributes(name: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(name, where, f"must be an object of field: value, not {describe(value)}")
    for key, item in value.items():
        if not isinstance(item, _ATTRIBUTE_TYPES):
            raise _fail(
                name,
                f"{where}.{key}",
                f"must be a string, number or boolean, not {describe(item)}",
            )
    return dict(value)


def _flag(name: str, where: str, value: Any = False) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, where, f"must be true or false, not {describe(value)}")
    return value


def _step(
    name: str, i: int, spec: Any, patterns: Mapping[str, str] | None, zone: str | None
) -> _Step:
    where = f"formats[{i}]"
    if isinstance(spec, str):
        spec = {"format": spec}
    elif not isinstance(spec, dict):
        raise _fail(
            name, where, f"must be a format string or an object with 'format', not {describe(spec)}"
        )
    ident = spec.get("id")
    if ident is not None:
        if not isinstance(ident, str) or not ident:
            raise _fail(name, f"{where}.id", f"must be a field name, not {describe(ident)}")
        where += f" (id {ident!r})"
    for key in spec:
        if key not in _FORMAT_KEYS:
            raise _fail(
                name, where, f"unknown key {key!r}; a format has {', '.join(_FORMAT_KEYS)}"
            )
    text = spec.get("format")
    if not isinstance(text, str):
        what = "is missing" if text is None else f"must be a string, not {describe(text)}"
        raise _fail(name, f"{where}.format", f"{what}; e.g. format: \"$ip$ $user$ $text$\"")
    try:
        compiled = compile_format(text, patterns, timezone=zone)
    except FormatError as exc:
        raise _fail(name, f"{where}.format", str(exc)) from exc
    extra = _attributes(name, f"{where}.attributes", spec.get("attributes"))
    if ident is not None:
        extra[ident] = True
    rules = spec.get("rewrites", [])
    if not isinstance(rules, list):
        raise _fail(name, f"{where}.rewrites", f"must be a list of rules, not {describe(rules)}")
    rewrites: list[Rewrite] = []
    for j, rule in enumerate(rules):
        try:
            rewrite = compile_rewrite(rule)
        except ValueError as exc:
            raise _fail(name, f"{where}.rewrites[{j}]", str(exc)) from None
        if rewrite is not None:
            rewrites.append(rewrite)
    match = _whole_line_directive(text, zone)
    repeat = _flag(name, f"{where}.repeat", spec.get("repeat", False))
    if match is None:
        match = compiled.match_all if repeat else compiled.match
    elif repeat:  # the whole line matches once; a repeat has nothing left to match
        match = _first_fields(match)
    discard = spec.get("discard", False)
    if isinstance(discard, dict):  # {filter: …} needs computeFields, which is ignored
        discard = False
    return _Step(
        match=match,
        repeat=repeat,
        extra=extra,
        rewrites=tuple(rewrites),
        zone=compiled.timestamp_zone,
        halt=_flag(name, f"{where}.halt", spec.get("halt", False)),
        discard=_flag(name, f"{where}.discard", discard),
        directive=whole.group(1) if (whole := _WHOLE_LINE_DIRECTIVE.fullmatch(text)) else None,
    )


_WHOLE_LINE_DIRECTIVE = re.compile(r"\$\{parse=([A-Za-z]+)\}\$")


def _whole_line_directive(fmt: str, zone: str | None) -> Callable[[str], Any] | None:
    """For `${parse=json}$` and its kin (the json built-ins): a match that hands the whole
    line to the directive, as `Format.match` would, without the regex and the field loop."""
    m = _WHOLE_LINE_DIRECTIVE.fullmatch(fmt)
    emit = directives.make_directive(m.group(1), zone=zone) if m is not None else None
    if emit is None:
        return None

    def match(line: str, start: int = 0) -> tuple[dict[str, Any], int]:
        fields: dict[str, Any] = {}
        emit(fields, "", line[start:] if start else line)
        return fields, len(line)

    return match


def _first_fields(match: Callable[[str], Any]) -> Callable[[str], Any]:
    def match_all(line: str) -> Any:
        return match(line)[0]

    return match_all
