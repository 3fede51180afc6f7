"""Background upkeep: retention, nonce expiry, and recording when tokens were last used."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from millpond.web.context import Context

log = logging.getLogger("millpond.housekeeping")

NS = 1_000_000_000
INTERVAL_SECONDS = 60.0


def run_once(ctx: Context) -> int:
    """Delete what has expired; returns the number of events deleted."""
    settings = ctx.settings
    now = ctx.clock.now_ns()
    events_before = (
        now - settings.retention_days * 86_400 * NS if settings.retention_days > 0 else None
    )
    deleted = ctx.store.expire(events_before, now - settings.nonce_window_seconds * NS)
    if deleted:
        log.info(
            "retention: deleted %d events older than %d days", deleted, settings.retention_days
        )
    ctx.registry.flush_last_used()
    return deleted


async def housekeeping_loop(ctx: Context, interval: float = INTERVAL_SECONDS) -> None:
    while True:
        try:
            await run_in_threadpool(run_once, ctx)
        except Exception:
            log.exception("housekeeping failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)
