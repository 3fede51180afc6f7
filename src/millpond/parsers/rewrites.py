r"""Rewrite rules of a format object (spec §5.7): compiled once, applied to a matched event.

Two forms:

    {input, output?, match, replace, replaceAll?, outputIfNoMatch?}
    {action: "timeDelta", startTime, endTime, output, timezone?}

A replace rule searches field `input` for the regex `match` and replaces the first match (every
match with `replaceAll: true`), the way Java's `Matcher.replaceFirst`/`replaceAll` do: in
`replace`, `$1`…`$n` and `${name}` insert groups and a backslash makes the next character
literal (`\\$` in the file, i.e. `\$`, is a dollar sign). The result goes to `output` (default:
`input`), which may be `message`. When the regex does not match, `output` gets the input
unchanged, unless `outputIfNoMatch: false`. A result that looks like a number becomes one, as
extracted values do (`patterns.to_value`). A rule whose input field is absent does nothing.

A timeDelta rule reads two date fields and writes the seconds between them (end − start, an int
when whole), in GMT unless the rule names a `timezone` (spec §5.7; the parser's zone does not
apply, as in Scalyr's documentation). When either date is absent or unreadable it writes nothing.

`action: "computeFields"` (a newer SDL extension that runs PowerQuery) is accepted and ignored.

Compilation raises `ValueError` with a message relative to the rule ("replace: …"); the parser
prefixes where the rule is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from millpond.parsers.patterns import to_value
from millpond.parsers.timestamps import known_zone, parse_timestamp

__all__ = ["Rewrite", "apply_rewrites", "compile_rewrite", "describe", "java_regex"]

# (fields, message, now_ns) -> the message, which the rule may have rewritten
Rewrite = Callable[[dict[str, Any], str, "int | None"], str]

_JAVA_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<([A-Za-z][A-Za-z0-9]*)>")
_REPLACE_KEYS = frozenset(
    {"input", "output", "match", "replace", "replacement", "replaceAll", "outputIfNoMatch"}
)
_TIME_DELTA_KEYS = frozenset({"action", "startTime", "endTime", "output", "timezone"})


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def java_regex(pattern: str) -> str:
    """A Java regex as Python's `re` reads it: `(?<name>…)` becomes `(?P<name>…)`."""
    return _JAVA_NAMED_GROUP.sub(r"(?P<\1>", pattern)


def compile_rewrite(rule: Any) -> Rewrite | None:
    """The rule as a function; None for a rule that does nothing here (computeFields)."""
    if not isinstance(rule, dict):
        raise ValueError(
            f"must be an object like {{input: \"f\", match: \"re\", replace: \"$1\"}}, "
            f"not {describe(rule)}"
        )
    action = rule.get("action")
    if action is None:
        return _compile_replace(rule)
    if action == "timeDelta":
        return _compile_time_delta(rule)
    if action == "computeFields":
        return None
    raise ValueError(f"unknown action {action!r}; the actions are 'timeDelta' and 'computeFields'")


def apply_rewrites(
    rules: tuple[Rewrite, ...], fields: dict[str, Any], message: str, now_ns: int | None
) -> str:
    """Apply `rules` in order to `fields` (in place); return the message as rewritten."""
    for rule in rules:
        message = rule(fields, message, now_ns)
    return message


def _compile_replace(rule: Mapping[str, Any]) -> Rewrite:
    _only(rule, _REPLACE_KEYS)
    source = _name(rule, "input")
    output = _name(rule, "output") if "output" in rule else source
    if "replace" in rule and "replacement" in rule:
        raise ValueError("give 'replace' or 'replacement' (the same thing), not both")
    key = "replacement" if "replacement" in rule else "replace"
    if "match" not in rule:
        raise ValueError("'match' is missing: the regex to search for")
    if key not in rule:
        raise ValueError("'replace' is missing: the replacement text (may be \"\")")
    pattern, template = rule["match"], rule[key]
    if not isinstance(pattern, str):
        raise ValueError(f"'match' must be a regex string, not {describe(pattern)}")
    if not isinstance(template, str):
        raise ValueError(f"'{key}' must be a string (may be \"\"), not {describe(template)}")
    try:
        regex = re.compile(java_regex(pattern))
    except re.error as exc:
        raise ValueError(f"match: bad regex {pattern!r}: {exc}") from None
    except (OverflowError, RecursionError):
        raise ValueError(f"match: regex {pattern!r} is too large or too deeply nested") from None
    python_template = _python_template(template, regex, key)
    count = 0 if _flag(rule, "replaceAll", False) else 1
    if_no_match = _flag(rule, "outputIfNoMatch", True)
    to_message = output == "message"
    from_message = source == "message"
    subn = regex.subn

    def replace(fields: dict[str, Any], message: str, now_ns: int | None) -> str:
        value = message if from_message else fields.get(source)
        if value is None:
            return message
        result, n = subn(python_template, _text(value), count)
        if not n and not if_no_match:
            return message
        if to_message:
            return result
        fields[output] = to_value(result)
        return message

    return replace


def _python_template(template: str, regex: re.Pattern[str], key: str) -> str:
    """A Java replacement string as a template for Python's `re.sub`."""
    groups = regex.groups
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "\\":
            if i + 1 == n:
                raise ValueError(
                    f"{key}: a backslash ends {template!r}; a backslash makes the next character "
                    "literal, so write two for one"
                )
            literal = template[i + 1]
            out.append("\\\\" if literal == "\\" else literal)
            i += 2
        elif c == "$":
            i += 1
            if i < n and template[i] == "{":
                end = template.find("}", i)
                name = template[i + 1 : end] if end > 0 else ""
                if not name or name not in regex.groupindex:
                    raise ValueError(
                        f"{key}: {template!r} refers to a group "
                        f"{'${' + name + '}' if end > 0 else 'with an unclosed ${'} that match "
                        f"{regex.pattern!r} does not have"
                    )
                out.append(f"\\g<{name}>")
                i = end + 1
            elif i < n and template[i].isdigit():
                number = int(template[i])
                if number > groups:
                    raise ValueError(
                        f"{key}: {template!r} refers to group ${number}, but match "
                        f"{regex.pattern!r} has {groups} group{'s' * (groups != 1)}"
                    )
                i += 1
                # Java reads more digits while the number stays a group that exists.
                while i < n and template[i].isdigit() and number * 10 + int(template[i]) <= groups:
                    number = number * 10 + int(template[i])
                    i += 1
                out.append(f"\\g<{number}>")
            else:
                raise ValueError(
                    f"{key}: '$' in {template!r} must be followed by a group number ($1) or "
                    "${name}; for a literal '$' write \\\\$ in the file"
                )
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _compile_time_delta(rule: Mapping[str, Any]) -> Rewrite:
    _only(rule, _TIME_DELTA_KEYS)
    start, end, output = _name(rule, "startTime"), _name(rule, "endTime"), _name(rule, "output")
    zone = rule.get("timezone")
    if zone is not None and (not isinstance(zone, str) or not known_zone(zone)):
        raise ValueError(
            f"'timezone': {describe(zone)} is not a time zone; use an IANA name "
            "(\"America/New_York\"), an abbreviation (\"PST\") or an offset (\"GMT+5:30\")"
        )
    to_message = output == "message"

    def time_delta(fields: dict[str, Any], message: str, now_ns: int | None) -> str:
        first, last = fields.get(start), fields.get(end)
        if first is None or last is None:
            return message
        t0 = parse_timestamp(_text(first), zone, now_ns=now_ns)
        t1 = parse_timestamp(_text(last), zone, now_ns=now_ns)
        if t0 is None or t1 is None:
            return message
        ns = t1 - t0
        seconds: int | float = ns // 1_000_000_000 if ns % 1_000_000_000 == 0 else ns / 1e9
        if to_message:
            return str(seconds)
        fields[output] = seconds
        return message

    return time_delta


def _only(rule: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in rule:
        if key not in allowed:
            raise ValueError(f"unknown key {key!r}; the keys are {', '.join(sorted(allowed))}")


def _name(rule: Mapping[str, Any], key: str) -> str:
    if key not in rule:
        raise ValueError(f"'{key}' is missing; it names a field")
    value = rule[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{key}' must be a field name, not {describe(value)}")
    return value


def _flag(rule: Mapping[str, Any], key: str, default: bool) -> bool:
    value = rule.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true or false, not {describe(value)}")
    return value


def describe(value: Any) -> str:
    """How a config value is named in messages: the JSON type, with the value if short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a long string"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
