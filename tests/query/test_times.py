"""Time syntax of the query APIs (spec §3.2) and the default ranges of /api/query (§3.3)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.query import TimeRange, parse_time, time_range

S = 1_000_000_000
MIN = 60 * S
HOUR = 60 * MIN
DAY = 24 * HOUR
# 2026-03-01T12:00:00Z
NOW = 1_772_366_400 * S
EPOCH_S = 1_700_000_000  # 2023-11-14T22:13:20Z


def at(text: str) -> int:
    """Nanoseconds for an ISO-8601 time, computed independently of the code under test."""
    moment = dt.datetime.fromisoformat(text)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def test_now_is_what_the_tests_think_it_is() -> None:
    assert at("2026-03-01T12:00:00+00:00") == NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        (" now ", NOW),
        ("0m", NOW),
        ("0h", NOW),
        ("0d", NOW),
        ("30s", NOW - 30 * S),
        ("10m", NOW - 10 * MIN),
        ("4h", NOW - 4 * HOUR),
        ("24h", NOW - DAY),
        ("1d", NOW - DAY),
        ("7d", NOW - 7 * DAY),
        ("1w", NOW - 7 * DAY),
        ("-10m", NOW - 10 * MIN),
        ("10M", NOW - 10 * MIN),
        ("24 hours", NOW - DAY),
        ("5 minutes ago", NOW - 5 * MIN),
        ("2 days", NOW - 2 * DAY),
        ("1.5h", NOW - 90 * MIN),
    ],
)
def test_relative_times_count_back_from_now(value: str, expected: int) -> None:
    assert parse_time(value, now_ns=NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        EPOCH_S,
        EPOCH_S * 1000,
        EPOCH_S * 1_000_000_000,
        float(EPOCH_S),
        float(EPOCH_S * 1000),
        float(EPOCH_S * 1_000_000_000),
        str(EPOCH_S),
        str(EPOCH_S * 1000),
        str(EPOCH_S * 1_000_000_000),
        f"{EPOCH_S}.0",
        f" {EPOCH_S} ",
    ],
    ids=repr,
)
def test_epoch_seconds_milliseconds_and_nanoseconds_are_told_apart(
    value: int | float | str,
) -> None:
    assert parse_time(value, now_ns=NOW) == EPOCH_S * S


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EPOCH_S + 0.5, EPOCH_S * S + S // 2),
        (f"{EPOCH_S}.25", EPOCH_S * S + S // 4),
        (f"{EPOCH_S}.123", EPOCH_S * S + 123_000_000),
        (EPOCH_S + 0.123, EPOCH_S * S + 123_000_000),
        (f"{EPOCH_S * 1000}.5", EPOCH_S * S + 500_000),
        (f"{EPOCH_S}.123456789", EPOCH_S * S + 123_456_789),
        (EPOCH_S * 1000 + 123, EPOCH_S * S + 123_000_000),
        (EPOCH_S * S + 7, EPOCH_S * S + 7),
        (f"{EPOCH_S * S + 7}", EPOCH_S * S + 7),
        (0, 0),
    ],
    ids=repr,
)
def test_epoch_times_keep_their_fraction(value: int | float | str, expected: int) -> None:
    assert parse_time(value, now_ns=NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T09:00:00-0800", at("2026-03-01T17:00:00+00:00")),
        ("2026-03-01T09:00:00-08:00", at("2026-03-01T17:00:00+00:00")),
        ("2026-03-01T09:00:00+0000", at("2026-03-01T09:00:00+00:00")),
        ("2026-03-01T09:00:00+0530", at("2026-03-01T03:30:00+00:00")),
        ("2026-03-01T09:00:00Z", at("2026-03-01T09:00:00+00:00")),
        ("2026-03-01T09:00:00.250Z", at("2026-03-01T09:00:00.250+00:00")),
        ("2026-03-01T09:00:00", at("2026-03-01T09:00:00+00:00")),  # no zone: UTC
        ("2026-03-01 09:00:00", at("2026-03-01T09:00:00+00:00")),
        ("2026-03-01", at("2026-03-01T00:00:00+00:00")),
    ],
)
def test_iso_8601_times(value: str, expected: int) -> None:
    assert parse_time(value, now_ns=NOW) == expected


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [dt.UTC, dt.timezone(dt.timedelta(hours=-8)), dt.timezone(dt.timedelta(hours=5.5))]
        ),
    )
)
def test_iso_8601_round_trips_to_the_microsecond(moment: dt.datetime) -> None:
    assert parse_time(moment.isoformat(), now_ns=NOW) == at(moment.isoformat())


@pytest.mark.parametrize(
    "value",
    ["", "   ", "yesterday", "10x", "ten minutes", "2026-13-01", "2026-03-01T25:00", "now-1h"],
)
def test_garbage_is_refused_with_a_message_that_shows_what_works(value: str) -> None:
    with pytest.raises(BadParam) as info:
        parse_time(value, now_ns=NOW, name="startTime")
    message = info.value.message
    assert "startTime" in message
    assert repr(value) in message
    assert "10m" in message and "ISO-8601" in message


@pytest.mark.parametrize("value", [True, False, float("nan"), float("inf")])
def test_booleans_and_non_finite_numbers_are_not_times(value: bool | float) -> None:
    with pytest.raises(BadParam, match="endTime"):
        parse_time(value, now_ns=NOW, name="endTime")


# -- time_range ---------------------------------------------------------------------------------


T0 = at("2026-02-27T00:00:00+00:00")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, TimeRange(NOW - DAY, NOW)),
        ("", "", TimeRange(NOW - DAY, NOW)),
        ("  ", None, TimeRange(NOW - DAY, NOW)),
        ("1h", None, TimeRange(NOW - HOUR, NOW - HOUR + DAY)),
        ("2026-02-27T00:00:00Z", None, TimeRange(T0, T0 + DAY)),
        ("2026-02-27T00:00:00Z", "", TimeRange(T0, T0 + DAY)),
        (None, "2026-02-27T00:00:00Z", TimeRange(T0 - DAY, T0)),
        ("", "2026-02-27T00:00:00Z", TimeRange(T0 - DAY, T0)),
        ("2h", "1h", TimeRange(NOW - 2 * HOUR, NOW - HOUR)),
        ("10m", "now", TimeRange(NOW - 10 * MIN, NOW)),
        (EPOCH_S, EPOCH_S * 1000 + 1000, TimeRange(EPOCH_S * S, (EPOCH_S + 1) * S)),
        ("2026-02-27T00:00:00Z", "2026-02-27T00:00:00Z", TimeRange(T0, T0)),
    ],
    ids=repr,
)
def test_time_range_defaults_to_24_hours(
    start: str | int | None, end: str | int | None, expected: TimeRange
) -> None:
    assert time_range(start, end, now_ns=NOW) == expected


def test_time_range_refuses_an_end_before_the_start() -> None:
    with pytest.raises(BadParam, match="endTime is before startTime"):
        time_range("1h", "2h", now_ns=NOW)


@pytest.mark.parametrize(
    ("start", "end", "named"), [("soon", None, "startTime"), (None, "later", "endTime")]
)
def test_time_range_names_the_bad_parameter(
    start: str | None, end: str | None, named: str
) -> None:
    with pytest.raises(BadParam, match=named):
        time_range(start, end, now_ns=NOW)
