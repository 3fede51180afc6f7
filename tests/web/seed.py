"""Events written straight to an app's store, for what uploadLogs cannot yet send.

uploadLogs stamps every line with the receipt time, severity 3 and no attributes; attributes,
severities and timestamps shared by two requests come from other sources (addEvents, parsers).
Tests that need them write through the store's own writer, as those paths will.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa

from millpond.store import EVENT_SCHEMA, EventBatch, SessionRecord, Store


def insert_events(
    store: Store,
    account_id: int,
    events: Sequence[Mapping[str, Any]],
    *,
    session: str = "seeded",
    session_fields: Mapping[str, str] | None = None,
) -> None:
    """Commit one batch: each event a mapping with `ts` and `message`, and optionally
    `severity` (3), `attrs` ({}), `logfile`, `parser` and `thread`. The session's
    `serverHost` field is also the events' serverHost."""
    fields = dict(session_fields or {})
    n = len(events)

    def column(name: str, default: Any = None) -> list[Any]:
        return [e.get(name, default) for e in events]

    attrs = [orjson.dumps(dict(a)).decode() if a else None for a in column("attrs")]
    table = pa.table(
        {
            "account_id": pa.array([account_id] * n, pa.int32()),
            "ts": pa.array(column("ts"), pa.int64()),
            "session": pa.array([session] * n, pa.string()),
            "thread": pa.array(column("thread"), pa.string()),
            "severity": pa.array(column("severity", 3), pa.int8()),
            "message": pa.array(column("message"), pa.string()),
            "server_host": pa.array([fields.get("serverHost")] * n, pa.string()),
            "logfile": pa.array(column("logfile", "seeded.log"), pa.string()),
            "parser": pa.array(column("parser", "seeded"), pa.string()),
            "attrs": pa.array(attrs, pa.string()),
        },
        schema=EVENT_SCHEMA,
    )
    batch = EventBatch(account_id, table, (SessionRecord(account_id, session, fields),), 0)
    result = store.submit(batch).result(timeout=60)
    assert result.stored == n
