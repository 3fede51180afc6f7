"""Query: the filter language, its SQL, time syntax, and the query kinds built on them."""

from millpond.query.filter import Node, parse_filter
from millpond.query.sql import SQL, Scope
from millpond.query.times import TimeRange, parse_time, time_range

__all__ = ["SQL", "Node", "Scope", "TimeRange", "parse_filter", "parse_time", "time_range"]
