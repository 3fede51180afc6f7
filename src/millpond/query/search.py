"""Log queries and facets: the SQL they run and the shape of what they return.

Each function takes the store as an argument and runs blocking reads on it, so the web layer
calls them on a worker thread. Everything else here is pure.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from millpond.errors import BadParam
from millpond.query.sql import SQL, Scope, field_sql, scope_sql


class Reader(Protocol):
    """The part of a store the query layer needs."""

    def narrow(self, scope: Scope) -> Scope: ...

    def select(self, sql: SQL, timeout: float) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Event:
    ts: int
    seq: int
    session: str
    thread: str | None
    severity: int
    message: str | None
    server_host: str | None
    logfile: str | None
    parser: str | None
    attrs: Mapping[str, Any] = field(default_factory=dict)


def event_of(row: Sequence[Any]) -> Event:
    """An `Event` from a row of `events_sql`'s columns."""
    return Event(
        ts=row[0], seq=row[1], session=row[2], thread=row[3], severity=row[4], message=row[5],
        server_host=row[6], logfile=row[7], parser=row[8],
        attrs=orjson.loads(row[9]) if row[9] else {},
    )


@dataclass(frozen=True)
class Page:
    """Where a log query reads: its range, direction and the (ts, seq) it has reached."""

    start_ns: int
    end_ns: int
    newest_first: bool
    cursor: tuple[int, int] | None = None


_EVENT_COLUMNS = (
    "e.ts, e.seq, e.session, e.thread, e.severity, e.message, e.server_host, e.logfile, "
    "e.parser, e.attrs"
)


def events_sql(scope: Scope, page: Page, limit: int) -> SQL:
    """The events of one page, newest or oldest first, strictly past the cursor."""
    if page.cursor is not None:
        ts, seq = page.cursor
        # The cursor narrows the time range too, so DuckDB skips blocks by their ts bounds.
        if page.newest_first:
            scope = dataclasses.replace(scope, end_ns=min(scope.end_ns, ts + 1))
            after = SQL(" AND (e.ts < ? OR e.seq < ?)", (ts, seq))
        else:
            scope = dataclasses.replace(scope, start_ns=max(scope.start_ns, ts))
            after = SQL(" AND (e.ts > ? OR e.seq > ?)", (ts, seq))
    else:
        after = SQL("")
    order = "DESC" if page.newest_first else "ASC"
    return (
        SQL(f"SELECT {_EVENT_COLUMNS} FROM ")
        + scope_sql(scope)
        + after
        + SQL(f" ORDER BY e.ts {order}, e.seq {order} LIMIT ?", (limit,))
    )


def search(
    store: Reader, scope: Scope, page: Page, limit: int, timeout: float
) -> tuple[list[Event], dict[str, dict[str, Any]]]:
    """Matching events in ascending time order, and the fields of their sessions."""
    scope = store.narrow(scope)
    rows = store.select(events_sql(scope, page, limit), timeout)
    events = [event_of(r) for r in rows]
    if page.newest_first:
        events.reverse()
    return events, session_fields(store, scope.account_id, {e.session for e in events}, timeout)


def session_fields(
    store: Reader, account_id: int, session_ids: set[str], timeout: float
) -> dict[str, dict[str, Any]]:
    ids = sorted(s for s in session_ids if s)
    if not ids:
        return {}
    rows = store.select(
        SQL(
            "SELECT session, fields FROM sessions WHERE account_id = ? "
            "AND list_contains(?, session)",
            (account_id, ids),
        ),
        timeout,
    )
    return {sid: {**orjson.loads(fields), "session": sid} for sid, fields in rows}


# -- continuation tokens ---------------------------------------------------------------------

_TOKEN_VERSION = 1


def query_fingerprint(account_id: int, params: Sequence[Any]) -> str:
    """A digest of what a continuation token may be reused with."""
    digest = hashlib.blake2b(orjson.dumps([account_id, *params]), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_token(page: Page, fingerprint: str) -> str:
    assert page.cursor is not None
    body = [_TOKEN_VERSION, page.start_ns, page.end_ns, int(page.newest_first),
            page.cursor[0], page.cursor[1], fingerprint]
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> Page:
    """The page a token continues; BadParam if it is not one or belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, start, end, newest, ts, seq, fp = orjson.loads(raw)
        ints = (start, end, newest, ts, seq)
        if version != _TOKEN_VERSION or not all(type(x) is int for x in ints):
            raise ValueError(token)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadParam(
            "continuationToken is not one millpond issued; send the continuationToken of the "
            "previous response unchanged, or leave it out to start from the first page"
        ) from None
    if fp != fingerprint:
        raise BadParam(
            "continuationToken belongs to a query with another filter, time range, pageMode "
            "or token; repeat the original parameters with it, or leave it out to start over"
        )
    return Page(start, end, bool(newest), (ts, seq))


# -- facets ----------------------------------------------------------------------------------


def facet_sql(scope: Scope, name: str, limit: int) -> SQL:
    """Top values of a field by count; each row also carries the total of matching events.

    NULL (events without the field) is one of the groups, so the total counts every match;
    the caller drops it from the values.
    """
    value = field_sql(name)
    return (
        SQL(f"SELECT v, c, sum(c) OVER () FROM (SELECT {value.text} AS v, count(*) AS c FROM ",
            value.params)
        + scope_sql(scope, fields=(name,))
        + SQL(" GROUP BY v) ORDER BY c DESC, v NULLS LAST LIMIT ?", (limit + 1,))
    )


def facet(
    store: Reader, scope: Scope, name: str, limit: int, timeout: float
) -> tuple[list[tuple[str, int]], int]:
    """([(value, count)] by descending count, at most `limit`; number of matching events)."""
    scope = store.narrow(scope)
    rows = store.select(facet_sql(scope, name, limit), timeout)
    total = int(rows[0][2]) if rows else 0
    values = [(str(v), int(c)) for v, c, _ in rows if v is not None][:limit]
    return values, total
