"""What every endpoint needs, built once per app."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass, field

from millpond.accounts import Registry
from millpond.clock import Clock, ReceiptStamper
from millpond.ingest.parsing import ParserCache
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
    parsers: ParserCache
    # Called with (account_id, path) after putFile wrote or deleted a config file, once it is
    # committed: e.g. the compiled-parser cache forgets what /logParsers/ held.
    config_changed: list[Callable[[int, str], None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, store: Store, registry: Registry, clock: Clock) -> Context:
        parsers = ParserCache(lambda account_id, path: _content(store, account_id, path))
        return cls(
            settings=settings,
            store=store,
            registry=registry,
            clock=clock,
            stamper=ReceiptStamper(clock),
            rate_limiter=RateLimiter(clock, settings.rate_limit, settings.rate_burst),
            quota=DailyQuota(clock, store, settings.daily_quota_bytes),
            queries=query_pool(settings.query_nice),
            parsers=parsers,
            config_changed=[parsers.invalidate],
        )


def _content(store: Store, account_id: int, path: str) -> str | None:
    found = store.get_file(account_id, path)
    return None if found is None else found.content
