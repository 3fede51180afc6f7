"""Storage: the `Store` protocol and its embedded DuckDB backend."""

from millpond.store.base import (
    EVENT_SCHEMA,
    AccountRecord,
    EventBatch,
    SessionRecord,
    Store,
    TokenRecord,
    WriteResult,
)
from millpond.store.duckdb import DuckDBStore, StoreLocked

__all__ = [
    "EVENT_SCHEMA",
    "AccountRecord",
    "DuckDBStore",
    "EventBatch",
    "SessionRecord",
    "Store",
    "StoreLocked",
    "TokenRecord",
    "WriteResult",
]
