"""A parser's formats compiled to write each line's fields straight as JSON: the ingest fast path.

At ingest a parser's fields end up as one JSON object per event (the `attrs` column).
`Parser.parse` builds a dict per line (`Format.match`), merges, pops the special fields and
wraps it all in a `Parsed`, and the caller serialises the dict again. For parsers made only of
plain formats — no line groupers, rewrites, `repeat`, `discard`, magic `_` names, json fields
or captured `timezone` (the built-in `accessLog` and `systemLog`, most user parsers) — a `Plan`
does the same work in one pass per line: the format's own regex, then a function generated
per format that appends each field's JSON text (`"status":503`) to a list, using the format's
own conversions (`to_value`, `unquote`, directives) value by value. Each field remembers the
JSON members its recent distinct values gave (methods, statuses, hosts, paths repeat; up to
`CACHE_VALUES`, then it starts again), so a value seen before costs one dictionary lookup.

Exactness: the generated code writes a value only where its JSON text is certain (an int, a
float or a string through orjson, as `parse`'s caller writes it); for anything else — a line
two non-halting formats both match, a field a directive names like another
field, a line past `PARSE_LIMIT`, any exception — it gives up on the line, which then goes
through `Parser.parse` like any other. `tests/parsers/test_columnar.py` checks that a plan
and `parse` agree line for line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from millpond.parsers import directives, formats
from millpond.parsers.parser import PARSE_LIMIT, Parser
from millpond.parsers.patterns import number_value, to_value, unescape, unquote
from millpond.parsers.severity import severity_of
from millpond.parsers.timestamps import parse_timestamp

SPECIAL: Final = frozenset({"timestamp", "severity", "message", "timezone"})
_NUMBER_START: Final = frozenset("-0123456789")

# emit(groups, members, special) -> False if the line must go the exact way
_Emit = Callable[[Sequence[Any], list[str], list[Any]], bool]
# flat(line, special) -> the line's members as JSON text ("": none), False: the exact way
_Flat = Callable[[str, list[Any]], "str | Literal[False]"]


@dataclass(frozen=True)
class _Step:
    match: Callable[[str], Any]  # the format's regex: match, or search for a fragment format
    emit: _Emit
    extra: str  # the format's attributes and id flag as JSON members ("" if none)
    halt: bool
    zone: str | None  # the {timezone=…} of its timestamp matcher
    flat: _Flat | None = None  # `${parse=json}$`: what `emit` wraps


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _members(fields: dict[str, Any]) -> str:
    return ",".join(f"{_json(k)}:{_json(v)}" for k, v in fields.items())


class Plan:
    """A parser's formats, compiled to JSON writers. Build with `plan_for`."""

    def __init__(self, parser: Parser, steps: tuple[_Step, ...], attributes: str,
                 zone: str | None, lines_seen: list[int]) -> None:
        self.parser = parser
        self._lines_seen = lines_seen  # shared with the steps' generated emitters
        self._steps = steps
        self._attributes = attributes
        self._zone = zone

    def run(self, lines: Sequence[str], *, now_ns: int | None = None
            ) -> tuple[list[str | None], list[int | None], list[int | None]]:
        """Per line alone, what `Parser.parse` gives for it: the JSON object of its fields
        (None: no fields), its time in ns and its severity (None: none)."""
        n = len(lines)
        objects: list[str | None] = [None] * n
        stamps: list[int | None] = [None] * n
        severities: list[int | None] = [None] * n
        special_of: list[tuple[int, Any, Any, str | None]] = []  # (line, time, severity, zone)
        slow: list[int] = []
        if len(self._steps) == 1 and self._steps[0].match is _whole_line:
            self._whole_lines(lines, objects, special_of, slow)
        else:
            self._formats(lines, objects, special_of, slow)
        default_zone = self._zone
        parsed_stamps: dict[tuple[str, str | None], int | None] = {}
        for i, stamp, severity, zone in special_of:
            try:
                if severity is not None:
                    severities[i] = severity_of(severity)
                if stamp is not None:
                    text = stamp if isinstance(stamp, str) else str(stamp)
                    key = (text, zone or default_zone)
                    if key not in parsed_stamps:
                        parsed_stamps[key] = parse_timestamp(text, key[1], now_ns=now_ns)
                    stamps[i] = parsed_stamps[key]
            except Exception:
                objects[i] = stamps[i] = severities[i] = None
                slow.append(i)
        for i in slow:
            (event,) = self.parser.parse([lines[i]], now_ns=now_ns)
            objects[i] = _json(event.fields) if event.fields else None
            stamps[i] = event.ts_ns
            severities[i] = event.severity
        return objects, stamps, severities

    def _formats(self, lines: Sequence[str], objects: list[str | None],
                 special_of: list[tuple[int, Any, Any, str | None]], slow: list[int]) -> None:
        """The formats in order over each line (`run`): its JSON object, or its index in
        `slow`; its time and severity, if any, in `special_of`."""
        seen = self._lines_seen  # lines so far: what the fields' caches measure their use by
        steps = self._steps
        attributes = self._attributes
        for i, line in enumerate(lines):
            seen[0] += 1
            if len(line) > PARSE_LIMIT:
                slow.append(i)
                continue
            members = [attributes] if attributes else []
            special: list[Any] = [None, None, False]  # timestamp, severity, a format set the time
            zone = None
            try:
                ok = True
                for step in steps:
                    m = step.match(line)
                    if m is None:
                        continue
                    special[2] = False
                    if not step.emit(m.groups(), members, special):
                        ok = False  # an unusual value: the exact way
                        break
                    if step.extra:
                        members.append(step.extra)
                    if special[2]:  # the zone goes with the format that last wrote the time
                        zone = step.zone
                    if step.halt:
                        break
            except Exception:
                ok = False
            if not ok:
                slow.append(i)
                continue
            if members:
                objects[i] = "{" + ",".join(members) + "}"
            if special[0] is not None or special[1] is not None:
                special_of.append((i, special[0], special[1], zone))

    def _whole_lines(self, lines: Sequence[str], objects: list[str | None],
                     special_of: list[tuple[int, Any, Any, str | None]], slow: list[int]) -> None:
        """`_formats` for a parser that is one `${parse=json}$` format: no regex, and each
        line is that one format's match."""
        (step,) = self._steps
        flat, extra, zone = step.flat, step.extra, step.zone
        assert flat is not None
        attributes = self._attributes
        prefix = "{" + attributes + "," if attributes else "{"
        suffix = "," + extra + "}" if extra else "}"
        alone = "{" + ",".join(p for p in (attributes, extra) if p) + "}" if (
            attributes or extra) else None
        for i, line in enumerate(lines):
            special: list[Any] = [None, None, False]
            try:
                text = flat(line, special) if len(line) <= PARSE_LIMIT else False
            except Exception:
                text = False
            if text is False:
                slow.append(i)
                continue
            objects[i] = prefix + text + suffix if text else alone
            if special[0] is not None or special[1] is not None:
                special_of.append((i, special[0], special[1], zone if special[2] else None))


def plan_for(parser: Parser) -> Plan | None:
    """A plan for `parser`, or None if it uses what only `Parser.parse` does."""
    if not isinstance(parser, Parser):
        return None
    program = parser._program
    if program.groupers or program.intermittent or program.discard_fields:
        return None
    attributes = program.attributes
    if any(k in SPECIAL for k in attributes):
        return None
    formats_: list[tuple[Any, formats.Format | None, list[tuple[str, Any, Any]]]] = []
    for step in program.steps:
        if step.repeat or step.rewrites or step.discard or any(k in SPECIAL for k in step.extra):
            return None
        if step.directive in _FLAT_JSON:
            formats_.append((step, None, []))
            continue
        compiled = getattr(step.match, "__self__", None)
        if not isinstance(compiled, formats.Format) or step.match != compiled.match:
            return None
        fields = compiled.plan_fields()
        if fields is None or any(f.name == "timezone" for _, f, _ in fields):
            return None
        formats_.append((step, compiled, fields))
    # Lines a non-halting format matched go on to the next formats, and `parse` merges their
    # fields (the later wins): plan only where no two formats that can both match a line name
    # the same field, and at most one directive that names fields of its own can run on a line.
    names = [[*(f.name for _, f, _ in fields if f.name not in SPECIAL), *step.extra]
             for step, _, fields in formats_]
    open_ended = [1 if compiled is None else sum(_open_ended(f) for _, f, _ in fields)
                  for _, compiled, fields in formats_]
    for i, (step, _, _) in enumerate(formats_):
        if len(set(names[i])) != len(names[i]) or set(names[i]) & set(attributes):
            return None
        if open_ended[i] > 1:
            return None
        if not step.halt:  # it and any later format can both match a line
            for j in range(i + 1, len(formats_)):
                if set(names[i]) & set(names[j]) or (open_ended[i] and open_ended[j]):
                    return None
    reserved = frozenset([*(n for group in names for n in group), *attributes, *SPECIAL])
    lines_seen = [0]
    steps = tuple(_plan_step(step, compiled, fields, reserved, lines_seen)
                  for step, compiled, fields in formats_)
    return Plan(parser, steps, _members(attributes), program.zone, lines_seen)


def _open_ended(field: Any) -> bool:
    """Whether a field's directive may name fields other than the field itself."""
    return (field.name not in SPECIAL and field.code not in _VALUE_CODES
            and getattr(field.emit, "__qualname__", "") not in ("_store", "_store_number"))


def _plan_step(step: Any, compiled: formats.Format | None, fields: list[tuple[str, Any, Any]],
               reserved: frozenset[str], lines_seen: list[int]) -> _Step:
    if compiled is None:  # `${parse=json}$`: the whole line, always "matched"
        flat = _flat_json(reserved, directives.dotted if step.directive == "dottedJson"
                          else directives.camel)
        return _Step(match=_whole_line, emit=_flat_emit(flat), extra=_members(step.extra),
                     halt=step.halt, zone=step.zone, flat=flat)
    return _Step(
        match=compiled.regex.search if compiled.fragment else compiled.regex.match,
        emit=_generate(compiled, fields, reserved, lines_seen),
        extra=_members(step.extra),
        halt=step.halt,
        zone=step.zone,
    )


_FLAT_JSON: Final = frozenset({"json", "dottedJson"})  # the same for objects of scalars
# Distinct values per field whose JSON members a plan remembers; a full cache is emptied and
# fills again with what comes next (or, if it filled in under two lines a value, the field
# stops caching). A few MB at most per parser.
CACHE_VALUES: Final = 4096
# orjson reads an integer beyond 64 bits as a float (losing digits), which is then at least
# this large; the directive reads such a line with `json` instead, so the plan gives it up.
_BIG_FLOAT: Final = 2.0**63
_INT64: Final = range(-(2**63), 2**63)


class _Groups:
    """What `_whole_line` gives as a match: groups() is the line."""

    __slots__ = ("line",)

    def __init__(self, line: str) -> None:
        self.line = line

    def groups(self) -> tuple[str]:
        return (self.line,)


def _whole_line(line: str) -> _Groups:
    return _Groups(line)


def _flat_json(reserved: frozenset[str], join: Callable[[str, str], str]) -> _Flat:
    """`${parse=json}$` for a line that is a JSON object (the common JSON log): its members,
    nested objects flattened as the directive does (`join`: camel case for `json`, dots for
    `dottedJson`; arrays as JSON text); `timestamp` and `severity` to their places, `message`
    dropped. A line that is not a JSON object gives no fields, as the directive does. An
    integer beyond 64 bits or a name the parser uses otherwise: the exact way."""

    def flat(line: str, special: list[Any]) -> str | Literal[False]:
        first = line[:1]
        if first != "{" and not first.isspace():
            return ""  # cannot be a JSON object: no fields, as below
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return ""  # not JSON: as for the directive, the format matches with no fields
        if obj.__class__ is not dict:
            return ""  # JSON, but not an object: likewise
        nested = False
        for value in obj.values():
            c = value.__class__
            if c is str:
                continue
            if c is dict or c is list:
                nested = True
            elif (c is int and value not in _INT64) or (
                    c is float and not -_BIG_FLOAT < value < _BIG_FLOAT):
                return False  # maybe an integer orjson read as a float
        if nested:
            leaves: dict[str, Any] = {}
            if not _flatten(obj, join, "", leaves):
                return False
            obj = leaves
        obj.pop("", None)  # the directive names no field ""
        if not reserved.isdisjoint(obj):
            for key in reserved.intersection(obj):
                if key == "timestamp":
                    special[0] = obj.pop(key)
                    special[2] = True
                elif key == "severity":
                    special[1] = obj.pop(key)
                elif key == "message":
                    del obj[key]
                else:
                    return False
        return orjson.dumps(obj).decode()[1:-1] if obj else ""

    return flat


def _flatten(obj: dict[str, Any], join: Callable[[str, str], str], prefix: str,
             leaves: dict[str, Any]) -> bool:
    """`directives.flatten` into `leaves` (a later name wins, as there), or False if the object
    holds an integer beyond 64 bits as orjson reads it: a float of 2⁶³ or more (the directive
    keeps such an integer's digits, which orjson lost).

    A walk of its own rather than `directives.flatten` with that check added: building the dict
    directly, by recursion, kept the nested-JSON parsing step at 4.6-4.7 µs a line against
    5.9-6.3 through `flatten`'s pairs (`parsers_builtin.py --nested --parser json`). Nesting
    deeper than Python's stack raises RecursionError, and the line goes the exact way, whose
    `flatten` does not recurse."""
    for key, value in obj.items():
        if prefix:
            key = join(prefix, key)
        c = value.__class__
        if c is dict:
            if not _flatten(value, join, key, leaves):
                return False
        elif c is list:
            if _big_number_within(value):
                return False
            leaves[key] = directives.json_text(value)
        elif c is float and not -_BIG_FLOAT < value < _BIG_FLOAT:
            return False
        elif c is int and value not in _INT64:
            leaves[key] = str(value)
        else:
            leaves[key] = value
    return True


def _big_number_within(value: Any) -> bool:
    c = value.__class__
    if c is dict:
        return any(_big_number_within(v) for v in value.values())
    if c is list:
        return any(_big_number_within(v) for v in value)
    return c is float and not -_BIG_FLOAT < value < _BIG_FLOAT


def _flat_emit(flat: _Flat) -> _Emit:
    """`flat` as a format's emitter, for a plan with other formats too."""

    def emit(g: Sequence[Any], members: list[str], special: list[Any]) -> bool:
        text = flat(g[0], special)
        if text is False:
            return False
        if text:
            members.append(text)
        return True

    return emit


_VALUE_CODES: Final = frozenset(
    {formats.CODE_PLAIN, formats.CODE_QUOTED, formats.CODE_ESCAPED, formats.CODE_TEXT}
)

# The value `v` of a field to JSON: certain cases only; anything else gives up on the line.
_WRITE_VALUE = """\
    c = v.__class__
    if c is str:
        if '"' in v or '\\\\' in v or not v.isprintable():
            members.append({key} + json(v))
        else:
            members.append({key} + '"' + v + '"')
    elif c is int:
        members.append({key} + str(v))
    elif c is float:
        members.append({key} + json(v))
    else:
        return False
"""


def _generate(compiled: formats.Format, plan: list[tuple[str, Any, Any]],
              reserved: frozenset[str], lines_seen: list[int]) -> _Emit:
    """Straight-line Python for one format: one block per field (only field names, as
    literals through repr, and indexes reach the source; every function is passed in)."""
    env: dict[str, Any] = {
        "to_value": to_value, "unquote": unquote, "unescape": unescape,
        "number_value": number_value, "json": _json, "NUMBER_START": _NUMBER_START,
        "RESERVED": reserved, "CACHE_VALUES": CACHE_VALUES, "LINES": lines_seen,
    }
    cached: list[int] = []
    number = "to_value(t) if t[:1] in NUMBER_START and t != '-' else t"
    body: list[str] = []
    for k, (group, field, collect) in enumerate(plan):
        position = compiled.regex.groupindex[group] - 1
        body += [f"    t = g[{position}]", "    if t is None:", "        return False"]
        name = field.name
        if name == "message":
            continue  # `parse` drops it
        if name in ("timestamp", "severity"):
            env[f"collect{k}"] = collect
            slot = 0 if name == "timestamp" else 1
            body.append(f"    special[{slot}] = collect{k}((t,), {{}}).get({name!r})")
            if slot == 0:
                body.append("    special[2] = True")
            continue
        key = repr(_json(name) + ":")
        if field.decode is not None:
            env[f"decode{k}"] = field.decode
        code = field.code
        # The common cases first, each exactly what the format's own code gives: a plain
        # integer (`to_value`), a quoted string with nothing to unescape (`unquote`).
        fast_int = [
            "    if t.isdigit() and t.isascii() and len(t) < 19 and (t[0] != '0' or len(t) == 1):",
            f"        members.append({key} + t)",
            "    else:",
        ]
        block: list[str]
        if code == formats.CODE_PLAIN:
            block = [*fast_int, f"        v = {number}"]
            block += ["    " + line for line in _WRITE_VALUE.format(key=key).splitlines()]
        elif code == formats.CODE_QUOTED:
            block = [
                "    if t[:1] == '\"':",
                "        if (len(t) > 1 and t[-1] == '\"' and '\\\\' not in t\n"
                "                and '\"' not in t[1:-1]):",
                "            t = t[1:-1]",
                "        else:",
                "            t = unquote(t)",
                *fast_int, f"        v = {number}",
            ]
            block += ["    " + line for line in _WRITE_VALUE.format(key=key).splitlines()]
        elif code not in _VALUE_CODES and getattr(
                field.emit, "__qualname__", "") != "_store_number":
            # a directive: its fields, each checked against the format's other names
            env[f"emit{k}"] = field.emit
            value = f"decode{k}(t)" if field.decode is not None else "t"
            block = [
                "    d = {}",
                f"    emit{k}(d, {name!r}, {value})",
                "    for dk, v in d.items():",
                "        if dk == 'severity':",  # e.g. syslogPriority
                "            special[1] = v",
                "            keep = False",  # a line's severity is not a member to replay
                "            continue",
                "        if dk == 'message':",
                "            continue",
                f"        if dk in RESERVED and dk != {name!r}:",
                "            return False",
                "        key = json(dk) + ':'",
                *("    " + line for line in _WRITE_VALUE.format(key="key").splitlines()),
            ]
        else:
            if code == formats.CODE_ESCAPED:
                block = ["    if '\\\\' in t:", "        t = unescape(t)", f"    v = {number}"]
            elif code == formats.CODE_TEXT:
                block = [f"    v = decode{k}(t)" if field.decode is not None else "    v = t"]
            else:  # _store_number
                block = ["    v = number_value(" + (f"decode{k}(t))" if field.decode else "t)")]
            block += _WRITE_VALUE.format(key=key).splitlines()
        # Values repeat (methods, statuses, hosts, paths): each field keeps the JSON members
        # its recent distinct values gave, and replays them. A field whose cache fills up
        # within two lines a value (fewer than half the lines hit) stops caching.
        env[f"cache{k}"], env[f"on{k}"], env[f"since{k}"] = {}, True, 0
        cached.append(k)
        body += [
            f"    hit = cache{k}.get(t) if on{k} else None",
            "    if hit is not None:",
            "        members.extend(hit)",
            "    else:",
            "        u = t",
            "        n = len(members)",
            f"        keep = on{k}",
            *("    " + line for line in block),
            "        if keep:",
            f"            if len(cache{k}) >= CACHE_VALUES:",  # full: start again, or stop
            f"                on{k} = LINES[0] - since{k} >= 2 * CACHE_VALUES",
            f"                since{k} = LINES[0]",
            f"                cache{k}.clear()",
            f"            cache{k}[u] = members[n:]",
        ]
    names = ", ".join(f"on{k}, since{k}" for k in cached)
    head = [f"    global {names}"] if cached else []
    source = ("def emit(g, members, special):\n" + "\n".join(head + body)
              + "\n    return True\n")
    exec(compile(source, f"<columnar {compiled.source[:60]!r}>", "exec"), env)
    emit: _Emit = env["emit"]
    return emit
