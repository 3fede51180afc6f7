"""The only reader of the wall clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock for tests: stands still unless moved."""

    def __init__(self, now_ns: int) -> None:
        self.now = now_ns

    def now_ns(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000_000)


class ReceiptStamper:
    """Hands out receipt timestamps that never go backwards and never repeat.

    uploadLogs stamps each line with the receipt time plus one nanosecond per line. Two requests
    received in the same nanosecond (or a clock that steps back) would otherwise interleave or
    repeat timestamps, and `(timestamp, session)` must identify an event for scalyr-tool's tail.
    Not thread-safe: it is used from the event loop only.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next = 0

    def reserve(self, count: int) -> int:
        """Return the first of `count` consecutive nanosecond stamps reserved for one request."""
        start = max(self._clock.now_ns(), self._next)
        self._next = start + max(count, 1)
        return start
