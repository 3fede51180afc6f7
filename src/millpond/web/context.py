"""What every endpoint needs, built once per app."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from millpond.accounts import Registry
from millpond.clock import Clock, ReceiptStamper
from millpond.priority import query_pool
from millpond.settings import Settings
from millpond.store.base import Store
from millpond.web.limits import DailyQuota, RateLimiter


@dataclass
class Context:
    settings: Settings
    store: Store
    registry: Registry
    clock: Clock
    stamper: ReceiptStamper
    rate_limiter: RateLimiter
    quota: DailyQuota
    queries: concurrent.futures.ThreadPoolExecutor

    @classmethod
    def build(cls, settings: Settings, store: Store, registry: Registry, clock: Clock) -> Context:
        return cls(
            settings=settings,
            store=store,
            registry=registry,
            clock=clock,
            stamper=ReceiptStamper(clock),
            rate_limiter=RateLimiter(clock, settings.rate_limit, settings.rate_burst),
            quota=DailyQuota(clock, store, settings.daily_quota_bytes),
            queries=query_pool(settings.query_nice),
        )
