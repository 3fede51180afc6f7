"""Line groupers (spec §5.8): consecutive lines of one session and thread joined into one event.

    lineGroupers: [{start: RE, continueThrough | continuePast | haltBefore | haltWith: RE,
                    maxLines?: N, maxChars?: N}, ...]

Regexes are searched for anywhere in a line (anchor them with `^`). Outside a group, the first
rule whose `start` matches a line opens a group with it; which following lines join depends on
the rule's one continuation pattern:

- `continueThrough`: each following line that matches joins; the first that does not ends the
  group and is looked at afresh (it may open a group itself). The start line need not match.
- `continuePast`: a line of the group that matches (the start line included) pulls in the next
  line, so the group is the matching lines plus one more. A start line that does not match is
  a group of one line.
- `haltBefore`: following lines join until one matches; that line is not part of the group and
  is looked at afresh (so `start` and `haltBefore` may be the same pattern). The start line is
  not tested.
- `haltWith`: lines join up to and including the first that matches, the start line included
  (a start line that matches is a group of one).

Limits: a group holds at most `maxLines` lines (default: no limit) and `maxChars` characters
counting the newlines that join them (default 100,000, the newer Scalyr limit). A line that
would break a limit closes the group and starts the next one of the same rule, which carries
on as the first would have, so a long stack trace becomes several events; a single line longer
than `maxChars` is an event of its own and is never cut.

Lines are joined with "\\n". Grouping works on the lines of one `parse` call, i.e. of one
request: a group still open at the end of the list is closed there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from millpond.parsers.rewrites import describe, java_regex

__all__ = ["DEFAULT_MAX_CHARS", "LineGrouper", "compile_groupers", "group_lines"]

DEFAULT_MAX_CHARS = 100_000
_THROUGH, _PAST, _BEFORE, _WITH = "continueThrough", "continuePast", "haltBefore", "haltWith"
_RULES = (_THROUGH, _PAST, _BEFORE, _WITH)
_KEYS = frozenset({"start", *_RULES, "maxChars", "maxLines"})


@dataclass(frozen=True, slots=True)
class LineGrouper:
    """One compiled rule: where a group starts, how it goes on, and its limits."""

    start: re.Pattern[str]
    kind: str  # one of continueThrough, continuePast, haltBefore, haltWith
    pattern: re.Pattern[str]
    max_lines: int | None
    max_chars: int


def compile_groupers(spec: Any) -> tuple[LineGrouper, ...]:
    """The `lineGroupers` value compiled; `ValueError` says which rule is wrong and how
    (the message starts with the rule's place, e.g. "[1].haltWith: ...")."""
    if not isinstance(spec, list):
        raise ValueError(
            f": must be a list of rules like [{{start: \"^\\\\S\", continueThrough: "
            f"\"^\\\\s\"}}], not {describe(spec)}"
        )
    return tuple(_compile_one(i, rule) for i, rule in enumerate(spec))


def _compile_one(i: int, rule: Any) -> LineGrouper:
    where = f"[{i}]"
    if not isinstance(rule, dict):
        raise ValueError(f"{where}: a rule must be an object with 'start' and one of "
                         f"{', '.join(_RULES)}, not {describe(rule)}")
    for key in rule:
        if key not in _KEYS:
            raise ValueError(
                f"{where}: unknown key {key!r}; a rule has 'start', one of {', '.join(_RULES)}, "
                "and optionally 'maxChars' and 'maxLines'"
            )
    if "start" not in rule:
        raise ValueError(f"{where}: 'start' is missing: the regex of a group's first line")
    kinds = [key for key in _RULES if key in rule]
    if len(kinds) != 1:
        found = f"{' and '.join(kinds)}; split it into one rule each" if kinds else "none"
        raise ValueError(f"{where}: a rule needs exactly one of {', '.join(_RULES)}, found {found}")
    kind = kinds[0]
    return LineGrouper(
        start=_regex(where, "start", rule["start"]),
        kind=kind,
        pattern=_regex(where, kind, rule[kind]),
        max_lines=_limit(where, "maxLines", rule.get("maxLines")),
        max_chars=_limit(where, "maxChars", rule.get("maxChars")) or DEFAULT_MAX_CHARS,
    )


def _regex(where: str, key: str, value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: must be a regex string, not {describe(value)}")
    try:
        return re.compile(java_regex(value))
    except re.error as exc:
        raise ValueError(f"{where}.{key}: bad regex {value!r}: {exc}") from None
    except (OverflowError, RecursionError):
        raise ValueError(f"{where}.{key}: regex {value!r} is too large or nested") from None


def _limit(where: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}.{key}: must be a positive whole number, not {describe(value)}")
    return value


def group_lines(rules: Sequence[LineGrouper], lines: Sequence[str]) -> list[tuple[int, str]]:
    """(index of the first line, the lines joined) for each event the rules make of `lines`."""
    out: list[tuple[int, str]] = []
    emit = out.append
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        rule = None
        for candidate in rules:
            if candidate.start.search(line):
                rule = candidate
                break
        if rule is None:
            emit((i, line))
            i += 1
            continue
        kind, search = rule.kind, rule.pattern.search
        max_lines = rule.max_lines or n
        max_chars = rule.max_chars
        first, group, chars = i, [line], len(line)
        i += 1
        if kind == _PAST:
            more = search(line) is not None
        elif kind == _WITH:
            more = search(line) is None
        else:
            more = True
        while more and i < n:
            line = lines[i]
            if kind == _THROUGH:
                if search(line) is None:
                    break
            elif kind == _BEFORE:
                if search(line) is not None:
                    break
            elif kind == _PAST:
                more = search(line) is not None
            else:  # haltWith
                more = search(line) is None
            if len(group) >= max_lines or chars + 1 + len(line) > max_chars:
                emit((first, "\n".join(group)))
                first, group, chars = i, [line], len(line)
            else:
                group.append(line)
                chars += 1 + len(line)
            i += 1
        emit((first, "\n".join(group)))
    return out
