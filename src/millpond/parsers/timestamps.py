"""Date/time text to nanoseconds since the epoch (spec §5.6): the forms logs actually write.

    parse_timestamp("10/Oct/2000:13:55:36 -0700")          # Apache / nginx
    parse_timestamp("2026-01-02 03:04:05,123", "Europe/Paris")  # Python logging, zone given
    parse_timestamp("Feb  3 03:47:01", now_ns=clock.now_ns())   # syslog: the year is inferred

Recognised, tried in order of how often logs use them (the first character picks the branch):

* ISO-8601 and its relatives: `2026-01-02T03:04:05.123456789Z`, a space or `-` instead of `T`,
  `,` or `.` before the fraction, `2026/01/02-03:04:05` (LevelDB), a date alone, the basic form
  `20260102T030405Z`.
* Day, month name, year: `10/Oct/2000:13:55:36 -0700` (Apache), `Tue, 29 Nov 2026 10:00:00
  +0000` (RFC 2822), `29-Nov-2026 10:00:00`.
* Month name first: `Feb  3 03:47:01` (syslog, no year), `Tue Nov 29 10:00:00 2026` (ctime),
  `Tue Nov 29 10:00:00 UTC 2026` (date(1)), `Apr 1, 2010 3:15 PM`.
* Epoch numbers of 9 to 19 digits, read as seconds, milliseconds, microseconds or nanoseconds by
  magnitude (`1700000000`, `1700000000.25`, `1700000000123`).
* MySQL's `YYMMDD HH:MM:SS` / `YYMMDD  H:MM:SS`, US `11/29/2026 10:00:00 PM`, European
  `29.11.2026 10:00:00`, a time of day alone `11:04:36` (today, or yesterday if that would be
  more than an hour ahead).

A zone written in the text wins over the `zone` argument; with neither, GMT. Zones are IANA names
(`America/New_York`), abbreviations (a fixed offset each: `EST` is always -05:00, `EDT` -04:00;
`IST` is India, `CST` is US Central, `BST` British Summer Time), `Z`, `UTC`, `GMT`, numeric
offsets (`+05:30`, `-0700`, `+02`) and `GMT+h[:mm]` / `UTC-h`. A text with an unknown zone word
is not a time; an unknown `zone` argument counts as GMT.

Second-resolution stamps repeat line after line, so the parse is cached on the text (LRU); a
stamp without a year or date is cached without one and completed against `now_ns`.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import lru_cache
from typing import Final

from millpond.clock import SystemClock

NS: Final = 1_000_000_000
_DAY: Final = 86_400
_HOUR_NS: Final = 3_600 * NS

# Fixed offsets (seconds east of GMT) for the abbreviations logs use. An abbreviation is a
# fixed offset, never a DST-aware zone: "EST" in a log line means -05:00 even in July.
_ABBREVIATIONS: Final[dict[str, int]] = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "ZULU": 0, "WET": 0, "WEST": 3600,
    "BST": 3600, "IST": 19800, "CET": 3600, "CEST": 7200, "MET": 3600, "MEST": 7200,
    "EET": 7200, "EEST": 10800, "MSK": 10800,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000,
    "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
    "AKST": -32400, "AKDT": -28800, "HST": -36000, "AST": -14400, "ADT": -10800,
    "NST": -12600, "NDT": -9000,
    "JST": 32400, "KST": 32400, "HKT": 28800, "SGT": 28800, "AWST": 28800,
    "ACST": 34200, "ACDT": 37800, "AEST": 36000, "AEDT": 39600, "NZST": 43200, "NZDT": 46800,
}

_MONTHS: Final[dict[str, int]] = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MONTH: Final = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY: Final = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_TIME: Final = (
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?"
)
_ZONE: Final = r"(?:\s*(?P<zone>[+-]\d{1,2}(?::?\d{2})?|[a-z][a-z0-9_/+:-]*))?"
_FLAGS: Final = re.IGNORECASE | re.ASCII

_ISO: Final = re.compile(
    r"\s*(?P<y>\d{4})(?P<sep>[-/])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    rf"(?:(?:t|\s+|-|_){_TIME})?{_ZONE}\s*",
    _FLAGS,
)
_ISO_BASIC: Final = re.compile(
    r"\s*(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})t(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})"
    rf"(?:[.,](?P<f>\d+))?{_ZONE}\s*",
    _FLAGS,
)
_DAY_MONTH_YEAR: Final = re.compile(
    rf"\s*{_WEEKDAY}(?P<d>\d{{1,2}})[-/ ]+{_MONTH}\.?[-/ ,]+(?P<y>\d{{4}}|\d{{2}})"
    rf"(?:(?::|\s+|t){_TIME})?{_ZONE}\s*",
    _FLAGS,
)
_MONTH_FIRST: Final = re.compile(
    rf"\s*{_WEEKDAY}{_MONTH}\.?[-/ ]+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?(?:\s+(?P<y>\d{{4}}),?)?"
    rf"(?:(?:\s+|t){_TIME})?{_ZONE}(?:\s+(?P<y2>\d{{4}}))?\s*",
    _FLAGS,
)
_EPOCH: Final = re.compile(r"\s*(?P<int>\d{9,19})(?:\.(?P<f>\d+))?\s*", _FLAGS)
_MYSQL: Final = re.compile(
    r"\s*(?P<y>\d{2})(?P<mo>\d{2})(?P<d>\d{2})\s+(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d+))?\s*",
    _FLAGS,
)
_US: Final = re.compile(
    r"\s*(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})"
    rf"(?:(?:\s+|:|t){_TIME})?{_ZONE}\s*",
    _FLAGS,
)
_EUROPEAN: Final = re.compile(
    rf"\s*(?P<d>\d{{1,2}})\.(?P<mo>\d{{1,2}})\.(?P<y>\d{{4}})(?:\s+{_TIME})?{_ZONE}\s*", _FLAGS
)
_TIME_ONLY: Final = re.compile(
    r"\s*(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d+))?"
    rf"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?{_ZONE}\s*",
    _FLAGS,
)
_OFFSET: Final = re.compile(r"(?:gmt|utc|ut)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", _FLAGS)

_DIGIT_FIRST: Final = (
    _ISO, _DAY_MONTH_YEAR, _EPOCH, _MYSQL, _US, _EUROPEAN, _TIME_ONLY, _ISO_BASIC,
)
_LETTER_FIRST: Final = (_MONTH_FIRST, _DAY_MONTH_YEAR)

# A stamp that lacks its year (syslog) or its date (a time of day): completed against "now".
_Partial = tuple[int, int, int, int, int, int, int, str | None]  # kind, mo, d, h, mi, s, ns, zone
_YEARLESS: Final = 1
_DATELESS: Final = 2


def parse_timestamp(text: str, zone: str | None = None, *, now_ns: int | None = None) -> int | None:
    """Nanoseconds since the epoch for a date/time text; None if it is not one.

    `zone` is used when the text names no zone (else GMT). `now_ns` completes stamps without a
    year (the current year, or the previous one if that would be more than a day ahead) or
    without a date; it defaults to the system clock."""
    if not isinstance(text, str):
        return None
    m = _FAST_ISO.fullmatch(text)
    if m is not None:
        ns = _fast_iso(m, zone)
        if ns is not None:
            return ns
    else:
        m = _FAST_CLF.fullmatch(text)
        if m is not None:
            ns = _fast_clf(m)
            if ns is not None:
                return ns
    parsed = _parse_cached(text, zone)
    if parsed is None or isinstance(parsed, int):
        return parsed
    return _complete(parsed, SystemClock().now_ns() if now_ns is None else now_ns)


def known_zone(name: str) -> bool:
    """Whether `name` is a zone this module understands (for checking configuration)."""
    return _resolve_zone(name.strip()) is not None


def zone_offset_ns(zone: str | None, local_seconds: int) -> int:
    """Offset east of GMT, in ns, of `zone` at a wall-clock time given as if it were GMT epoch
    seconds. An unknown or missing zone is GMT (offset 0)."""
    resolved = _resolve_zone(zone.strip()) if zone else 0
    return _offset_seconds(resolved, local_seconds) * NS if resolved is not None else 0


# -- parsing --------------------------------------------------------------------------------

# The commonest shape, with sub-second digits that make every text different (so the cache on
# the text does not help): parsed without building a dict of groups or caching the result.
_FAST_ISO: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def _fast_iso(m: re.Match[str], zone: str | None) -> int | None:
    date, hour, minute, second, fraction, offset = m.groups()
    days = _date_days(date)
    if days is None or hour > "23" or minute > "59" or second > "60":
        return None
    local = days * _DAY + int(hour) * 3600 + int(minute) * 60 + int(second)
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    if offset is None:
        return _to_utc_ns(local, nanos, zone)
    if offset == "Z":
        return local * NS + nanos
    east = int(offset[1:3]) * 3600 + int(offset[-2:]) * 60
    return (local + east if offset[0] == "-" else local - east) * NS + nanos


# Apache / nginx: 10/Oct/2000:13:55:36 -0700.
_FAST_CLF: Final = re.compile(
    r"([0-9]{2})/([A-Z][a-z]{2})/([0-9]{4}):([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r" ([+-])([0-9]{2})([0-9]{2})"
)


def _fast_clf(m: re.Match[str]) -> int | None:
    day, month_name, year, hour, minute, second, sign, off_h, off_m = m.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None or hour > "23" or minute > "59" or second > "60":
        return None
    days = _date_days(f"{year}-{month:02d}-{day}")
    if days is None:
        return None
    local = days * _DAY + int(hour) * 3600 + int(minute) * 60 + int(second)
    east = int(off_h) * 3600 + int(off_m) * 60
    return (local + east if sign == "-" else local - east) * NS


@lru_cache(maxsize=1024)
def _date_days(date: str) -> int | None:
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    return _days_from_civil(year, month, day) if _valid_date(year, month, day) else None



@lru_cache(maxsize=4096)
def _parse_cached(text: str, zone: str | None) -> int | _Partial | None:
    if not text:
        return None
    first = text.lstrip()[:1]
    candidates = _DIGIT_FIRST if first.isdigit() else _LETTER_FIRST
    for regex in candidates:
        m = regex.fullmatch(text)
        if m is not None:
            return _from_match(regex, m, zone)
    return None


def _from_match(
    regex: re.Pattern[str], m: re.Match[str], zone: str | None
) -> int | _Partial | None:
    groups = m.groupdict()
    if regex is _EPOCH:
        return _epoch(groups["int"], groups["f"])
    text_zone = groups.get("zone")
    if text_zone is not None:
        if _resolve_zone(text_zone) is None:
            return None  # a word after the time that is not a zone: not a timestamp
        zone = text_zone
    hour = int(groups["h"]) if groups.get("h") is not None else 0
    minute = int(groups["mi"]) if groups.get("mi") is not None else 0
    second = int(groups["s"]) if groups.get("s") is not None else 0
    ampm = groups.get("ampm")
    if ampm is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm[0] in "pP" else 0)
    fraction = groups.get("f")
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    if hour > 23 or minute > 59 or second > 60:
        return None
    if regex is _TIME_ONLY:
        return (_DATELESS, 0, 0, hour, minute, second, nanos, zone)
    month_name = groups.get("mon")
    month = _MONTHS[month_name[:3].lower()] if month_name else int(groups["mo"])
    day = int(groups["d"])
    year_text = groups.get("y") or groups.get("y2")
    if year_text is None:
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            return None
        return (_YEARLESS, month, day, hour, minute, second, nanos, zone)
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000 if year < 70 else 1900
    if not _valid_date(year, month, day):
        return None
    local = _days_from_civil(year, month, day) * _DAY + hour * 3600 + minute * 60 + second
    return _to_utc_ns(local, nanos, zone)


def _epoch(digits: str, fraction: str | None) -> int:
    value = int(digits)
    if value < 100_000_000_000:  # seconds until the year 5138
        scale = NS
    elif value < 100_000_000_000_000:
        scale = 1_000_000
    elif value < 100_000_000_000_000_000:
        scale = 1_000
    else:
        scale = 1
    ns = value * scale
    if fraction and scale > 1:
        width = len(str(scale)) - 1
        ns += int(fraction[:width].ljust(width, "0"))
    return ns


def _complete(partial: _Partial, now_ns: int) -> int | None:
    kind, month, day, hour, minute, second, nanos, zone = partial
    resolved = _resolve_zone(zone) if zone else 0
    offset_now = _offset_seconds(resolved, now_ns // NS) if resolved is not None else 0
    local_now = now_ns // NS + offset_now
    clock = hour * 3600 + minute * 60 + second
    if kind == _DATELESS:
        today = local_now // _DAY * _DAY
        ns = _to_utc_ns(today + clock, nanos, zone)
        return ns - _DAY * NS if ns > now_ns + _HOUR_NS else ns
    year = _civil_from_days(local_now // _DAY)[0]
    for candidate in range(year, year - 8, -1):  # back to a leap year for Feb 29
        if _valid_date(candidate, month, day):
            ns = _to_utc_ns(_days_from_civil(candidate, month, day) * _DAY + clock, nanos, zone)
            if ns <= now_ns + _DAY * NS:
                return ns
    return None


def _to_utc_ns(local_seconds: int, nanos: int, zone: str | None) -> int:
    resolved = _resolve_zone(zone) if zone else 0
    offset = _offset_seconds(resolved, local_seconds) if resolved is not None else 0
    return (local_seconds - offset) * NS + nanos


# -- zones ----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _resolve_zone(name: str) -> int | zoneinfo.ZoneInfo | None:
    """A fixed offset in seconds, or an IANA zone; None if `name` is not a zone."""
    name = name.strip()
    if not name:
        return None
    fixed = _ABBREVIATIONS.get(name.upper())
    if fixed is not None:
        return fixed
    m = _OFFSET.fullmatch(name)
    if m is not None:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 18 or minutes > 59:
            return None
        return (hours * 3600 + minutes * 60) * (-1 if m.group(1) == "-" else 1)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _offset_seconds(zone: int | zoneinfo.ZoneInfo, local_seconds: int) -> int:
    if isinstance(zone, int):
        return zone
    return _zoneinfo_offset(zone, local_seconds // 60)


@lru_cache(maxsize=4096)
def _zoneinfo_offset(zone: zoneinfo.ZoneInfo, local_minute: int) -> int:
    # Offsets change on minute boundaries, so one lookup serves a whole minute of log lines.
    # In a DST gap or overlap the earlier offset applies (fold=0), as datetime does.
    wall = dt.datetime(1970, 1, 1) + dt.timedelta(minutes=local_minute)
    offset = wall.replace(tzinfo=zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


# -- the calendar (proleptic Gregorian, after Howard Hinnant's algorithms) --------------------


def _days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1 or not 1 <= year <= 9999:
        return False
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _MONTH_DAYS[month - 1]
