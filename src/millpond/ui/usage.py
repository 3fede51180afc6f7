"""Usage (`/usage`): bytes and events the account ingested per UTC day, against its quota.

Read from the store (`usage_by_day`: the `ingest_usage` table — what the daily quota counts —
plus the last second's counts not yet written to it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from millpond.store.base import Store
from millpond.ui.site import Site, User
from millpond.web.context import Context

NS_PER_DAY = 86_400 * 1_000_000_000
DAYS = 30


@dataclass(frozen=True)
class Day:
    day: int  # days since the epoch (UTC)
    bytes: int
    events: int

    @property
    def date(self) -> str:
        return (dt.date(1970, 1, 1) + dt.timedelta(days=self.day)).isoformat()


def usage_by_day(store: Store, account_id: int, first_day: int) -> list[Day]:
    """Each day from `first_day` on with anything ingested, newest first."""
    return [Day(*row) for row in store.usage_by_day(account_id, first_day)]


def human_bytes(n: int) -> str:
    """`1.5 MB`: decimal units, as the quota setting is written (10000000000 = 10 GB)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


async def usage_page(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    today = ctx.clock.now_ns() // NS_PER_DAY
    loop = asyncio.get_running_loop()
    days = await loop.run_in_executor(
        ctx.queries,
        functools.partial(usage_by_day, ctx.store, user.principal.account_id, today - DAYS + 1),
    )
    if not days or days[0].day != today:
        days.insert(0, Day(today, 0, 0))
    quota = ctx.settings.daily_quota_bytes
    return site.render(
        "usage.html", request, user, days=days, quota=quota, today=today,
        human_bytes=human_bytes, total_bytes=sum(d.bytes for d in days),
        total_events=sum(d.events for d in days), span=DAYS,
    )
