"""Date/time text to epoch nanoseconds (spec §5.6): the forms logs write, zones, inference."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.parsers.timestamps import known_zone, parse_timestamp, zone_offset_ns

S = 1_000_000_000
HOUR = 3600 * S
# 2026-11-29T12:00:00Z, a Sunday
NOW = 1_795_953_600 * S


def at(text: str) -> int:
    """Nanoseconds for an ISO-8601 time, computed independently of the code under test."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def test_now_is_what_the_tests_think_it_is() -> None:
    assert at("2026-11-29T12:00:00+00:00") == NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO-8601 and relatives.
        ("2026-01-02T03:04:05Z", at("2026-01-02T03:04:05Z")),
        ("2026-01-02T03:04:05.123456Z", at("2026-01-02T03:04:05.123456Z")),
        ("2026-01-02 03:04:05", at("2026-01-02T03:04:05")),
        ("2026-01-02t03:04:05z", at("2026-01-02T03:04:05")),
        ("2026-01-02T03:04:05+05:30", at("2026-01-02T03:04:05+05:30")),
        ("2026-01-02T03:04:05-0700", at("2026-01-02T03:04:05-07:00")),
        ("2026-01-02T03:04:05+02", at("2026-01-02T03:04:05+02:00")),
        ("2026-01-02T03:04:05 -07:00", at("2026-01-02T03:04:05-07:00")),
        ("2026-01-02 03:04:05,123", at("2026-01-02T03:04:05.123")),
        ("2026-01-02T03:04", at("2026-01-02T03:04:00")),
        ("2026-01-02", at("2026-01-02T00:00:00")),
        ("2026-1-2 3:04:05", at("2026-01-02T03:04:05")),
        ("2013/03/21-04:33:21.123456", at("2013-03-21T04:33:21.123456")),
        ("20260102T030405Z", at("2026-01-02T03:04:05")),
        ("  2026-01-02T03:04:05Z  ", at("2026-01-02T03:04:05Z")),
        # Day, month name, year.
        ("10/Oct/2000:13:55:36 -0700", at("2000-10-10T13:55:36-07:00")),
        ("10/Oct/2000:13:55:36.250 +0000", at("2000-10-10T13:55:36.25")),
        ("Tue, 29 Nov 2026 10:00:00 +0000", at("2026-11-29T10:00:00")),
        ("Sat, 05 Dec 2026 10:00:00 GMT", at("2026-12-05T10:00:00")),
        ("29 Nov 2026 10:00:00 EST", at("2026-11-29T10:00:00-05:00")),
        ("29-Nov-2026 10:00:00", at("2026-11-29T10:00:00")),
        ("29 November 2026", at("2026-11-29T00:00:00")),
        ("29 Nov 26 10:00 GMT", at("2026-11-29T10:00:00")),
        # Month name first.
        ("Tue Nov 29 10:00:00 2026", at("2026-11-29T10:00:00")),
        ("Tue Nov 29 10:00:00 UTC 2026", at("2026-11-29T10:00:00")),
        ("Tue Nov 29 10:00:00 PST 2026", at("2026-11-29T10:00:00-08:00")),
        ("Apr 1, 2010 3:15 PM", at("2010-04-01T15:15:00")),
        ("Apr 1, 2010 12:15 AM", at("2010-04-01T00:15:00")),
        ("April 1st, 2010 12:00 pm", at("2010-04-01T12:00:00")),
        ("Dec 5 2026 10:00:00", at("2026-12-05T10:00:00")),
        # Other numeric dates.
        ("260102  3:04:05", at("2026-01-02T03:04:05")),
        ("260102 13:04:05", at("2026-01-02T13:04:05")),
        ("991231 23:59:59", at("1999-12-31T23:59:59")),
        ("11/29/2026 10:00:00 PM", at("2026-11-29T22:00:00")),
        ("11/29/2026", at("2026-11-29T00:00:00")),
        ("29.11.2026 10:00:00", at("2026-11-29T10:00:00")),
        # Epoch numbers, by magnitude.
        ("1700000000", 1_700_000_000 * S),
        ("1700000000.25", 1_700_000_000_250_000_000),
        ("1700000000123", 1_700_000_000_123_000_000),
        ("1700000000123456", 1_700_000_000_123_456_000),
        ("1700000000123456789", 1_700_000_000_123_456_789),
        ("1700000000123.5", 1_700_000_000_123_500_000),
        # Zones by name, abbreviation and offset.
        ("2026-07-02 03:04:05 America/New_York", at("2026-07-02T03:04:05-04:00")),
        ("2026-01-02 03:04:05 America/New_York", at("2026-01-02T03:04:05-05:00")),
        ("2026-07-02 03:04:05 EST", at("2026-07-02T03:04:05-05:00")),
        ("2026-07-02 03:04:05 EDT", at("2026-07-02T03:04:05-04:00")),
        ("2026-07-02 03:04:05 CEST", at("2026-07-02T03:04:05+02:00")),
        ("2026-07-02 03:04:05 IST", at("2026-07-02T03:04:05+05:30")),
        ("2026-07-02 03:04:05 JST", at("2026-07-02T03:04:05+09:00")),
        ("2026-07-02 03:04:05 GMT+2", at("2026-07-02T03:04:05+02:00")),
        ("2026-07-02 03:04:05 GMT-5:30", at("2026-07-02T03:04:05-05:30")),
        ("2026-07-02 03:04:05 UTC+10", at("2026-07-02T03:04:05+10:00")),
        # Not times.
        ("", None),
        ("hello", None),
        ("2026-02-30", None),
        ("2026-02-29 00:00:00", None),
        ("2026-13-01", None),
        ("2026-01-02 24:00:00", None),
        ("2026-01-02 03:04:05 INFO", None),
        ("2026-01-02 03:04:05 Mars/Base", None),
        ("12345", None),
        ("Apr 1, 2010 13:15 PM", None),
        ("2026-01-02 03:04:05 extra words", None),
    ],
)
def test_forms(text: str, expected: int | None) -> None:
    assert parse_timestamp(text, now_ns=NOW) == expected


def test_a_leap_day() -> None:
    assert parse_timestamp("2024-02-29 12:00:00") == at("2024-02-29T12:00:00")


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-07-02 03:04:05", None, at("2026-07-02T03:04:05+00:00")),
        ("2026-07-02 03:04:05", "America/New_York", at("2026-07-02T03:04:05-04:00")),
        ("2026-01-02 03:04:05", "America/New_York", at("2026-01-02T03:04:05-05:00")),
        ("2026-07-02 03:04:05", "EST", at("2026-07-02T03:04:05-05:00")),
        ("2026-07-02 03:04:05", "GMT+5:30", at("2026-07-02T03:04:05+05:30")),
        ("2026-07-02 03:04:05", "-0800", at("2026-07-02T03:04:05-08:00")),
        ("2026-07-02 03:04:05", " UTC ", at("2026-07-02T03:04:05+00:00")),
        # A zone in the text wins.
        ("2026-07-02 03:04:05Z", "America/New_York", at("2026-07-02T03:04:05+00:00")),
        ("10/Oct/2000:13:55:36 -0700", "Asia/Tokyo", at("2000-10-10T13:55:36-07:00")),
        # An unknown zone argument is GMT.
        ("2026-07-02 03:04:05", "Nowhere/Special", at("2026-07-02T03:04:05+00:00")),
        # Epoch numbers have no zone.
        ("1700000000", "Asia/Tokyo", 1_700_000_000 * S),
        # In a DST gap the earlier offset applies; in an overlap, the first of the two times.
        ("2026-03-08 02:30:00", "America/New_York", at("2026-03-08T02:30:00-05:00")),
        ("2026-11-01 01:30:00", "America/New_York", at("2026-11-01T01:30:00-04:00")),
    ],
)
def test_zones(text: str, zone: str | None, expected: int) -> None:
    assert parse_timestamp(text, zone) == expected


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # Syslog: no year. This year, unless that is more than a day ahead of now.
        ("Feb  3 03:47:01", None, at("2026-02-03T03:47:01")),
        ("Nov 30 08:00:00", None, at("2026-11-30T08:00:00")),
        ("Dec  1 11:00:00", None, at("2025-12-01T11:00:00")),
        ("Dec 31 23:00:00", None, at("2025-12-31T23:00:00")),
        ("Feb  3 03:47:01.123", None, at("2026-02-03T03:47:01.123")),
        ("Feb  3 03:47:01", "America/New_York", at("2026-02-03T03:47:01-05:00")),
        ("Feb 29 00:00:00", None, at("2024-02-29T00:00:00")),
        ("Nov 29 10:00:00 EST", None, at("2026-11-29T10:00:00-05:00")),
        # A time of day alone: today, unless that is more than an hour ahead.
        ("11:04:36", None, at("2026-11-29T11:04:36")),
        ("12:59:59", None, at("2026-11-29T12:59:59")),
        ("13:30:00", None, at("2026-11-28T13:30:00")),
        ("11:04:36.5 PM", None, at("2026-11-28T23:04:36.5")),
        ("05:00:00", "Asia/Tokyo", at("2026-11-29T05:00:00+09:00")),
    ],
)
def test_stamps_completed_against_now(text: str, zone: str | None, expected: int) -> None:
    assert parse_timestamp(text, zone, now_ns=NOW) == expected


def test_stamps_completed_at_new_year() -> None:
    new_year = at("2027-01-01T00:30:00")
    assert parse_timestamp("Dec 31 23:59:59", now_ns=new_year) == at("2026-12-31T23:59:59")
    assert parse_timestamp("Jan  1 00:29:00", now_ns=new_year) == at("2027-01-01T00:29:00")
    assert parse_timestamp("Jan  2 00:00:00", now_ns=new_year) == at("2027-01-02T00:00:00")
    assert parse_timestamp("Jan  3 00:00:00", now_ns=new_year) == at("2026-01-03T00:00:00")


def test_the_cache_does_not_remember_now() -> None:
    assert parse_timestamp("Feb  3 03:47:01", now_ns=NOW) == at("2026-02-03T03:47:01")
    later = at("2030-06-01T00:00:00")
    assert parse_timestamp("Feb  3 03:47:01", now_ns=later) == at("2030-02-03T03:47:01")


def test_without_now_the_system_clock_completes_the_year() -> None:
    ns = parse_timestamp("Jan  1 00:00:00")
    assert ns is not None
    year = dt.datetime.fromtimestamp(ns / S, dt.UTC).year
    assert year >= 2024


def test_not_text_is_not_a_time() -> None:
    assert parse_timestamp(1700000000) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("zone", "known"),
    [
        ("UTC", True), ("GMT", True), ("Z", True), ("est", True), ("America/New_York", True),
        ("Europe/London", True), ("Etc/GMT+5", True), ("GMT+5:30", True), ("UTC-3", True),
        ("+0530", True), ("-07:00", True), ("Mars/Base", False), ("", False),
        ("GMT+25", False), ("../etc/passwd", False), ("not a zone", False),
    ],
)
def test_known_zone(zone: str, known: bool) -> None:
    assert known_zone(zone) is known


def test_zone_offset_ns() -> None:
    july = at("2026-07-02T03:04:05") // S
    assert zone_offset_ns("America/New_York", july) == -4 * HOUR
    assert zone_offset_ns("EST", july) == -5 * HOUR
    assert zone_offset_ns("GMT+5:30", july) == 5 * HOUR + 30 * 60 * S
    assert zone_offset_ns(None, july) == 0
    assert zone_offset_ns("Nowhere", july) == 0


_MOMENTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 12, 31),
    timezones=st.sampled_from([dt.UTC, zoneinfo.ZoneInfo("Europe/Paris"),
                               dt.timezone(dt.timedelta(hours=-7)),
                               dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)


def _ns(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


@given(_MOMENTS)
def test_round_trips(moment: dt.datetime) -> None:
    offset = moment.utcoffset()
    assert offset is not None
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    expected = _ns(moment)
    assert parse_timestamp(moment.isoformat()) == expected
    assert parse_timestamp(moment.strftime("%Y-%m-%d %H:%M:%S.%f ") + zone) == expected
    assert parse_timestamp(moment.strftime("%d/%b/%Y:%H:%M:%S.%f ") + zone) == expected
    whole = moment.replace(microsecond=0)
    assert parse_timestamp(whole.strftime("%a, %d %b %Y %H:%M:%S ") + zone) == _ns(whole)
    if moment.year >= 1974:  # earlier, microseconds are too few to tell from milliseconds
        assert parse_timestamp(str(_ns(moment) // 1000)) == expected
