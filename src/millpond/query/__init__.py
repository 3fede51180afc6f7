"""Query: time syntax and filters. Sans-I/O."""

from millpond.query.text import parse_text_filter
from millpond.query.times import TimeRange, parse_time, time_range

__all__ = ["TimeRange", "parse_text_filter", "parse_time", "time_range"]
