"""Per-account request rate (token bucket) and daily ingest quota."""

from __future__ import annotations

import math

from millpond.clock import Clock
from millpond.errors import Backoff
from millpond.store.base import Store

NS = 1_000_000_000
NS_PER_DAY = 86_400 * NS


class RateLimiter:
    """A token bucket per account: `rate` requests a second, bursts of up to `burst`."""

    def __init__(self, clock: Clock, rate: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = max(1.0, float(burst))
        self._buckets: dict[int, tuple[float, int]] = {}

    def check(self, account_id: int) -> None:
        if self._rate <= 0:
            return
        now = self._clock.now_ns()
        tokens, last = self._buckets.get(account_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) / NS * self._rate)
        if tokens < 1.0:
            self._buckets[account_id] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self._rate)
            raise Backoff(
                f"this account is over its request rate of {self._rate:g} requests/s; "
                f"retry after {wait} s, or send fewer, larger requests",
                retry_after=wait,
            )
        self._buckets[account_id] = (tokens - 1.0, now)


class DailyQuota:
    """Bytes an account may ingest per UTC day; 0 means unlimited."""

    def __init__(self, clock: Clock, store: Store, limit: int) -> None:
        self._clock = clock
        self._store = store
        self._limit = limit

    def check(self, account_id: int, nbytes: int) -> None:
        if self._limit <= 0:
            return
        now = self._clock.now_ns()
        day = now // NS_PER_DAY
        used = self._store.bytes_ingested(account_id, day)
        if used + nbytes > self._limit:
            until_midnight = ((day + 1) * NS_PER_DAY - now) // NS + 1
            raise Backoff(
                f"this account has ingested {used} bytes today, and this request's {nbytes} "
                f"bytes would pass its daily quota of {self._limit} bytes; the quota resets at "
                "00:00 UTC (raise MILLPOND_DAILY_QUOTA_BYTES to allow more)",
                retry_after=until_midnight,
            )
