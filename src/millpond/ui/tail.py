"""Live tail: `GET /ui/api/tail?filter=…` streams new matching events as server-sent events.

The cursor is the store's `seq`, which the writer assigns in commit order: every event
committed after the cursor has a larger one, whatever its timestamp, so polling for
`seq > cursor` (every POLL_SECONDS, on the query pool) misses and repeats nothing. Each
message carries the cursor as its SSE `id`.

A stream ends by itself after STREAM_SECONDS; the browser's EventSource reconnects with
`Last-Event-ID` and the next stream continues from there. So a server shutting down never
waits long on an open tail, and a session signed out or a token revoked meanwhile stops the
tail at the next reconnect.

    retry: 500 / id: 1234 / event: ready     first, with the cursor to continue from
    id: 1240 / event: matches / data: {"matches": [rows, oldest first]}
    event: problem / data: {"message": …}    the query failed; the page stops the tail
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from millpond.errors import BadParam, MillpondError
from millpond.query.filter import Node
from millpond.query.search import Event, Reader, event_of, session_fields
from millpond.query.sql import SQL, Scope, SeqRanges, scope_sql
from millpond.ui.rows import event_row
from millpond.ui.site import Site, User
from millpond.web.context import Context
from millpond.web.query import filter_param

log = logging.getLogger("millpond.ui")

POLL_SECONDS = 0.5
STREAM_SECONDS = 5.0
RETRY_MS = 500
BATCH = 500
_ALL_TIME = (-(2**63), 2**63 - 1)
_COLUMNS = (
    "e.ts, e.seq, e.session, e.thread, e.severity, e.message, e.server_host, e.logfile, "
    "e.parser, e.attrs"
)


def latest_seq(store: Reader, account_id: int, timeout: float) -> int:
    """The account's newest committed `seq` (-1 if it has no events)."""
    rows = store.select(
        SQL("SELECT coalesce(max(seq), -1) FROM events WHERE account_id = ?", (account_id,)),
        timeout,
    )
    return int(rows[0][0])


def events_after(
    store: Reader, account_id: int, node: Node | None, after: int, limit: int, timeout: float
) -> tuple[list[Event], dict[str, dict[str, Any]]]:
    """Matching events with `seq > after`, in commit order, whatever their timestamps."""
    scope = Scope(account_id, *_ALL_TIME, node, SeqRanges((), after + 1))
    rows = store.select(
        SQL(f"SELECT {_COLUMNS} FROM ") + scope_sql(scope)
        + SQL(" ORDER BY e.seq LIMIT ?", (limit,)),
        timeout,
    )
    events = [event_of(r) for r in rows]
    return events, session_fields(store, account_id, {e.session for e in events}, timeout)


def _cursor(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadParam(f"after must be an event cursor (a whole number), not {raw!r}") from None


def _message(event: str, data: Any, cursor: int | None = None) -> bytes:
    head = b"" if cursor is None else b"id: %d\n" % cursor
    return head + b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def tail_api(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    node = filter_param(dict(request.query_params.items()))
    account_id = user.principal.account_id
    timeout = ctx.settings.query_timeout_seconds
    loop = asyncio.get_running_loop()
    start = _cursor(request)
    if start is None:
        start = await loop.run_in_executor(
            ctx.queries, latest_seq, ctx.store, account_id, timeout
        )
    cursor: int = start

    async def stream() -> AsyncIterator[bytes]:
        nonlocal cursor
        yield b"retry: %d\n" % RETRY_MS + _message("ready", {}, cursor)
        deadline = loop.time() + STREAM_SECONDS
        while True:
            try:
                events, sessions = await loop.run_in_executor(
                    ctx.queries,
                    functools.partial(events_after, ctx.store, account_id, node, cursor, BATCH,
                                      timeout),
                )
            except MillpondError as exc:
                yield _message("problem", {"message": exc.message})
                return
            if events:
                cursor = events[-1].seq
                rows = [event_row(e, sessions.get(e.session, {})) for e in events]
                yield _message("matches", {"matches": rows}, cursor)
            if loop.time() >= deadline:
                return
            if len(events) < BATCH:
                await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )
