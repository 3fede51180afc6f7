"""How the query commands print: matches, facets and numeric series, as text, JSON or CSV.

Plain functions from decoded API answers to lines of output. Colour is decided once by the
caller and passed in: with `color=False` no ANSI code is ever produced.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click
import orjson

NS = 1_000_000_000
OUTPUTS = ("text", "json", "csv")

# Scalyr severities 0–6 (spec §4.4), with the colour of each in text output.
SEVERITIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("FINEST", {"dim": True}),
    ("FINER", {"dim": True}),
    ("FINE", {"dim": True}),
    ("INFO", {"fg": "green"}),
    ("WARN", {"fg": "yellow"}),
    ("ERROR", {"fg": "red"}),
    ("FATAL", {"fg": "red", "bold": True}),
)
_SEVERITY_WIDTH = max(len(name) for name, _ in SEVERITIES)

# What text and CSV show of every match; asked for even when --columns names others.
BASE_COLUMNS = ("timestamp", "severity", "session", "message")
CSV_HEADER = ("timestamp", "severity", "serverHost", "message")
# Attributes every uploadLogs line carries; text output leaves them out unless asked for.
_QUIET_ATTRIBUTES = frozenset({"logfile", "parser"})

SPARK = "▁▂▃▄▅▆▇█"
_EIGHTHS = " ▏▎▍▌▋▊▉"


def use_color(choice: str, *, isatty: bool, no_color: str | None) -> bool:
    """`always`, `never`, or (`auto`) a terminal without NO_COLOR set (https://no-color.org)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    return isatty and not no_color


def _style(text: str, color: bool, **style: Any) -> str:
    return click.style(text, **style) if color else text


# -- times ------------------------------------------------------------------------------------


def local_time(ns: int, tz: dt.tzinfo | None = None) -> str:
    """`2026-11-29 08:22:49.123` in `tz` (the local zone when None)."""
    seconds, rest = divmod(ns, NS)
    when = dt.datetime.fromtimestamp(seconds, tz=tz or dt.UTC)
    if tz is None:
        when = when.astimezone()
    return f"{when:%Y-%m-%d %H:%M:%S}.{rest // 1_000_000:03d}"


def utc_iso(ns: int) -> str:
    """`2026-11-29T08:22:49.123456789Z`: ISO-8601 in UTC, to the nanosecond."""
    seconds, rest = divmod(ns, NS)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


def _timestamp(match: dict[str, Any]) -> int | None:
    try:
        return int(match["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None


# -- matches (/api/query) ---------------------------------------------------------------------


def request_columns(output: str, columns: Sequence[str]) -> list[str] | None:
    """The `columns` to ask the server for: JSON gets what was named; text and CSV add theirs."""
    if not columns:
        return None
    if output == "json":
        return list(columns)
    return list(dict.fromkeys([*BASE_COLUMNS, *columns]))


def server_host(match: dict[str, Any], sessions: dict[str, Any]) -> str | None:
    session = sessions.get(str(match.get("session", "")))
    host = session.get("serverHost") if isinstance(session, dict) else None
    if host is None:
        host = (match.get("attributes") or {}).get("serverHost")
    return None if host is None else str(host)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _column_value(match: dict[str, Any], name: str) -> Any:
    if name in match and name != "attributes":
        return match[name]
    return (match.get("attributes") or {}).get(name)


@dataclass(frozen=True)
class MatchFormat:
    """One way of printing matches: `output` text/json/csv, and the extra `columns` asked for."""

    output: str = "text"
    columns: tuple[str, ...] = ()
    color: bool = False
    tz: dt.tzinfo | None = None

    @property
    def _extra(self) -> list[str]:
        shown = {*CSV_HEADER, "session"}
        return [c for c in self.columns if c not in shown]

    def header(self) -> str | None:
        """The line to print before any match (the CSV header), if any."""
        if self.output == "csv":
            return _csv_line([*CSV_HEADER, *self._extra])
        return None

    def line(self, match: dict[str, Any], sessions: dict[str, Any]) -> str:
        if self.output == "json":
            host = server_host(match, sessions)
            if host is not None and "serverHost" not in match:
                match = {**match, "serverHost": host}
            return orjson.dumps(match).decode()
        ts = _timestamp(match)
        if self.output == "csv":
            return _csv_line([
                "" if ts is None else utc_iso(ts),
                _cell(match.get("severity")),
                server_host(match, sessions) or "",
                _cell(match.get("message")),
                *(_cell(_column_value(match, c)) for c in self._extra),
            ])
        return self._text(match, sessions, ts)

    def _text(self, match: dict[str, Any], sessions: dict[str, Any], ts: int | None) -> str:
        severity = match.get("severity")
        name, style = (
            SEVERITIES[severity]
            if isinstance(severity, int) and 0 <= severity < len(SEVERITIES)
            else (str(severity if severity is not None else "?"), {})
        )
        parts = [
            _style("-" if ts is None else local_time(ts, self.tz), self.color, dim=True),
            _style(server_host(match, sessions) or "-", self.color, dim=True),
            _style(name.ljust(_SEVERITY_WIDTH), self.color, **style),
            str(match.get("message") or ""),
        ]
        if self.columns:
            fields = [(c, _column_value(match, c)) for c in self._extra]
        else:
            attributes: dict[str, Any] = match.get("attributes") or {}
            fields = [(k, v) for k, v in attributes.items() if k not in _QUIET_ATTRIBUTES]
        shown = " ".join(f"{k}={_field_text(v)}" for k, v in fields if v is not None)
        if shown:
            parts.append(_style(shown, self.color, dim=True))
        return " ".join(p for p in parts if p)


def _field_text(value: Any) -> str:
    if isinstance(value, str) and value and not any(ch.isspace() or ch == '"' for ch in value):
        return value
    return orjson.dumps(value).decode()


def _csv_line(cells: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(list(cells))
    return out.getvalue()


# -- facets (/api/facetQuery) -----------------------------------------------------------------


def facet_lines(answer: dict[str, Any], output: str, *, color: bool = False) -> list[str]:
    """A facet answer as text (value, count, share bar), one JSON document, or CSV."""
    values: list[dict[str, Any]] = answer.get("values") or []
    total = answer.get("matchCount")
    if output == "json":
        return [orjson.dumps({"values": values, "matchCount": total}).decode()]
    if output == "csv":
        return [_csv_line(["value", "count"])] + [
            _csv_line([_cell(v.get("value")), _cell(v.get("count"))]) for v in values
        ]
    if not values:
        return [_style(f"no values ({total or 0} matching events)", color, dim=True)]
    counts = [_number(v.get("count")) or 0.0 for v in values]
    whole = _number(total) or sum(counts) or 1.0
    labels = ["(missing)" if v.get("value") is None else _cell(v.get("value")) for v in values]
    numbers = [_cell(v.get("count")) for v in values]
    label_width = max(len("VALUE"), *(len(label) for label in labels))
    count_width = max(len("COUNT"), *(len(n) for n in numbers))
    lines = [_style(f"{'VALUE'.ljust(label_width)}  {'COUNT'.rjust(count_width)}  SHARE",
                    color, bold=True)]
    for label, number, count in zip(labels, numbers, counts, strict=True):
        share = count / whole
        bar = _style(bar_text(share, 1.0, 20).ljust(20), color, fg="cyan")
        lines.append(
            f"{label.ljust(label_width)}  {number.rjust(count_width)}  {bar} {share:6.1%}"
        )
    lines.append(_style(f"{_cell(total)} matching events", color, dim=True))
    return lines


# -- numeric series (/api/numericQuery) -------------------------------------------------------


def _number(value: Any) -> float | None:
    """A value of a numeric answer: a JSON number, a numeric string, or None (a gap)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_number(value: float | None) -> str:
    if value is None:
        return "-"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _scale(values: Sequence[float | None]) -> tuple[float, float]:
    present = [v for v in values if v is not None]
    low = min([0.0, *present])
    high = max([0.0, *present])
    return low, high


def sparkline(values: Sequence[Any]) -> str:
    """One block character per value, from 0 (or the lowest) to the highest; a space for null."""
    numbers = [_number(v) for v in values]
    low, high = _scale(numbers)
    span = high - low
    chars = []
    for v in numbers:
        if v is None:
            chars.append(" ")
        else:
            level = 0 if span == 0 else round((v - low) / span * (len(SPARK) - 1))
            chars.append(SPARK[level])
    return "".join(chars)


def bar_text(value: float, high: float, width: int) -> str:
    """A horizontal bar of `value` out of `high` across `width` cells, in eighths of a cell."""
    if high <= 0 or value <= 0:
        return ""
    eighths = round(min(value / high, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def bucket_starts(start_ns: int, end_ns: int, buckets: int) -> list[int]:
    return [start_ns + (end_ns - start_ns) * i // buckets for i in range(buckets)]


def numeric_lines(
    values: Sequence[Any],
    starts: Sequence[int] | None,
    output: str,
    *,
    color: bool = False,
    tz: dt.tzinfo | None = None,
    width: int = 40,
) -> list[str]:
    """A numeric answer: its raw values as JSON, CSV rows, or a sparkline and a bar per bucket.

    `starts` are the buckets' start times (ns); without them the buckets are numbered.
    """
    if output == "json":
        return [orjson.dumps(list(values)).decode()]
    numbers = [_number(v) for v in values]
    if output == "csv":
        first = "start" if starts is not None else "bucket"
        return [_csv_line([first, "value"])] + [
            _csv_line([
                utc_iso(starts[i]) if starts is not None else str(i),
                "" if n is None else format_number(n),
            ])
            for i, n in enumerate(numbers)
        ]
    present = [n for n in numbers if n is not None]
    summary = (
        f"min {format_number(min(present))}  max {format_number(max(present))}"
        if present else "no values"
    )
    lines = [f"{_style(sparkline(values), color, fg='cyan')}  {_style(summary, color, dim=True)}"]
    low, high = _scale(numbers)
    labels = [
        local_time(starts[i], tz) if starts is not None else f"#{i}" for i in range(len(numbers))
    ]
    texts = [format_number(n) for n in numbers]
    label_width = max((len(label) for label in labels), default=0)
    text_width = max((len(t) for t in texts), default=0)
    for label, text, n in zip(labels, texts, numbers, strict=True):
        bar = "" if n is None else bar_text(n - low, high - low, width)
        row = f"{_style(label.ljust(label_width), color, dim=True)}  {text.rjust(text_width)}"
        lines.append(f"{row}  {_style(bar, color, fg='cyan')}".rstrip())
    return lines


# -- parser test ---------------------------------------------------------------------------


def parsed_lines(events: Iterable[Any], lines: Sequence[str], output: str, *, color: bool,
                 tz: dt.tzinfo | None) -> Iterator[str]:
    """What `millpond parser test` prints: each event a parser made of sample `lines` (events
    with `index`, `message`, `fields`, `ts_ns` and `severity`): text, or JSON lines."""
    events = list(events)
    starts = [e.index for e in events]
    for k, event in enumerate(events):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        if output == "json":
            yield orjson.dumps({
                "line": event.index + 1, "lines": stop - event.index, "message": event.message,
                "timestamp": event.ts_ns, "severity": event.severity, "fields": event.fields,
            }, option=orjson.OPT_NON_STR_KEYS).decode()
            continue
        head = f"line {event.index + 1}" + (f"-{stop}" if stop - event.index > 1 else "")
        yield _style(f"{head}: {event.message}", color, bold=True)
        rows: list[tuple[str, str]] = []
        if event.ts_ns is not None:
            rows.append(("(time)", f"{local_time(event.ts_ns, tz)}  {utc_iso(event.ts_ns)}"))
        if event.severity is not None:
            rows.append(("(severity)", f"{event.severity} {SEVERITIES[event.severity][0]}"))
        rows += [(str(k), orjson.dumps(v).decode() if not isinstance(v, str) else v)
                 for k, v in event.fields.items()]
        if not rows:
            yield _style("  (no fields: no format matched; stored unparsed)", color, dim=True)
        width = max((len(name) for name, _ in rows), default=0)
        for name, value in rows:
            yield f"  {_style(name.ljust(width), color, fg='cyan')}  {value}"
    if len(events) != len(lines) and output != "json":
        yield _style(f"({len(lines)} lines made {len(events)} events: lines were grouped or "
                     "discarded)", color, dim=True)
