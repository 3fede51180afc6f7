"""Time syntax of the query APIs (spec §3.2): relative, epoch s/ms/ns, ISO-8601."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal

from millpond.errors import BadParam

NS = 1_000_000_000
_SECONDS_LIMIT = 500 * 365 * 86_400  # below: seconds; below x1000: milliseconds; else ns

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86_400, "day": 86_400, "days": 86_400,
    "w": 604_800, "week": 604_800, "weeks": 604_800,
}
_RELATIVE = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_time(value: str | int | float, *, now_ns: int, name: str = "time") -> int:
    """Nanoseconds since the epoch for a time parameter."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadParam(
            f"{name} must be a time: a string like '4h' or '2026-03-01T09:00:00-0800', "
            f"or a number of epoch seconds, not {value!r}"
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadParam(f"{name} must be a time, not {value!r}")
        # Via the shortest decimal form: 1700000000.25 s is ...250000000 ns, not ...249999872.
        return _from_epoch(Decimal(repr(value)))
    if isinstance(value, int):
        return _from_epoch(Decimal(value))
    text = value.strip()
    lowered = text.lower()
    if lowered == "now":
        return now_ns
    if _NUMBER.match(text):
        return _from_epoch(Decimal(text))
    m = _RELATIVE.match(lowered)
    if m and m.group(2) in _UNITS:
        return now_ns - int(float(m.group(1)) * _UNITS[m.group(2)] * NS)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadParam(
            f"{name} {value!r} is not a time millpond understands; use a relative time like "
            "'10m', '4h' or '7d', epoch seconds, milliseconds or nanoseconds, or ISO-8601 "
            "like '2026-03-01T09:00:00-0800'"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    # Exact integer arithmetic: int(timestamp()) would round times before 1970 the wrong way.
    return (parsed - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def _from_epoch(number: Decimal) -> int:
    magnitude = abs(number)
    if magnitude < _SECONDS_LIMIT:
        return int(number * NS)
    if magnitude < _SECONDS_LIMIT * 1000:
        return int(number * 1_000_000)
    return int(number)


@dataclass(frozen=True)
class TimeRange:
    start_ns: int
    end_ns: int


DEFAULT_SPAN_NS = 86_400 * NS


def time_range(
    start: str | int | float | None,
    end: str | int | float | None,
    *,
    now_ns: int,
    end_defaults_to_now: bool = False,
) -> TimeRange:
    """The range of a query: start inclusive, end exclusive, 24 hours when a side is missing.

    `/api/query` takes the 24 hours after a lone startTime (§3.3); the aggregating queries end
    a lone startTime now (`end_defaults_to_now`, §3.4–3.5).
    """
    start_ns = None if _absent(start) else parse_time(start, now_ns=now_ns, name="startTime")  # type: ignore[arg-type]
    end_ns = None if _absent(end) else parse_time(end, now_ns=now_ns, name="endTime")  # type: ignore[arg-type]
    if end_ns is None and (start_ns is None or end_defaults_to_now):
        end_ns = now_ns
    if start_ns is None:
        assert end_ns is not None
        start_ns = end_ns - DEFAULT_SPAN_NS
    if end_ns is None:
        end_ns = start_ns + DEFAULT_SPAN_NS
    if end_ns < start_ns:
        raise BadParam("endTime is before startTime; swap them or widen the range")
    return TimeRange(start_ns, end_ns)


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
