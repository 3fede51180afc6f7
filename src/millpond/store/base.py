"""The storage protocol: everything above `store/` talks to a backend only through this."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from millpond.query.sql import SQL, Scope

# The columns of one event as the web layer hands them to the store; the store adds `seq`.
EVENT_SCHEMA = pa.schema(
    [
        ("account_id", pa.int32()),
        ("ts", pa.int64()),
        ("session", pa.string()),
        ("thread", pa.string()),
        ("severity", pa.int8()),
        ("message", pa.string()),
        ("server_host", pa.string()),
        ("logfile", pa.string()),
        ("parser", pa.string()),
        ("attrs", pa.string()),
    ]
)


@dataclass(frozen=True)
class SessionRecord:
    account_id: int
    session_id: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class EventBatch:
    """The events of one request, columnar, plus what makes a retry of it a no-op."""

    account_id: int
    table: pa.Table
    sessions: Sequence[SessionRecord]
    bytes_charged: int
    nonce: str | None = None
    # addEvents sequencing (§2.4), one value per row or None: a row whose (seq_id, seq_num) is
    # not past what the account committed for that seq_id is dropped by the writer.
    seq_ids: pa.Array | None = None
    seq_nums: pa.Array | None = None

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)


@dataclass(frozen=True)
class WriteResult:
    stored: int
    duplicate: bool = False


@dataclass(frozen=True)
class AccountRecord:
    id: int
    name: str
    created_ns: int


@dataclass(frozen=True)
class TokenRecord:
    id: str
    account_id: int
    account_name: str
    kind: str
    label: str
    hash: str
    created_ns: int
    last_used_ns: int | None = None
    revoked_ns: int | None = None


@dataclass(frozen=True)
class ConfigFile:
    """One configuration file of an account (spec §3.9), e.g. a parser at /logParsers/NAME.

    `version` starts at 1 and goes up by one with every write; it never repeats for a path,
    even when the file is deleted and created again. Times are nanoseconds since the epoch.
    """

    path: str
    version: int
    content: str
    create_ns: int
    mod_ns: int


@dataclass(frozen=True)
class ParserUse:
    """How often a `parser` name came in with committed events, and when (commit times)."""

    name: str
    first_ns: int
    last_ns: int
    events: int


class Store(Protocol):
    """What millpond needs of a storage backend."""

    created: bool

    def open(self) -> None: ...

    def close(self) -> None: ...

    def submit(self, batch: EventBatch) -> concurrent.futures.Future[WriteResult]:
        """Queue a batch for the writer; the future resolves once it is durably committed."""
        ...

    def bytes_ingested(self, account_id: int, day: int) -> int:
        """Bytes committed for an account on a UTC day (days since the epoch)."""
        ...

    def usage_by_day(self, account_id: int, first_day: int) -> list[tuple[int, int, int]]:
        """(day, bytes, events) committed for an account each UTC day from `first_day` on,
        newest first."""
        ...

    dialect: str  # which SQL `millpond.query` compiles for this backend ("duckdb")

    def narrow(self, scope: Scope) -> Scope:
        """The same scope, possibly with a hint (`Scope.seq`) of where its matches can be."""
        ...

    def select(self, sql: SQL, timeout: float) -> list[tuple[Any, ...]]:
        """Rows of a read-only query compiled for this backend's dialect.

        Raises QueryTimeout past `timeout` seconds; never blocks the writer.
        """
        ...

    def create_account(self, name: str, now_ns: int) -> AccountRecord: ...

    def list_accounts(self) -> list[AccountRecord]: ...

    def insert_token(self, token: TokenRecord) -> None: ...

    def list_tokens(self) -> list[TokenRecord]: ...

    def revoke_token(self, token_id: str, now_ns: int) -> TokenRecord | None: ...

    def touch_tokens(self, last_used: Mapping[str, int]) -> None: ...

    def expire(self, events_before_ns: int | None, nonces_before_ns: int) -> int:
        """Delete events older than a cut-off (None keeps them) and nonces past their window."""
        ...

    # -- configuration files (spec §3.9); one account never sees another's ---------------------

    def get_file(self, account_id: int, path: str) -> ConfigFile | None:
        """The file at `path`, or None if there is none (never written, or deleted)."""
        ...

    def put_file(
        self, account_id: int, path: str, content: str, expected_version: int | None,
        now_ns: int,
    ) -> ConfigFile:
        """Create or replace a file, committed before this returns.

        With `expected_version`, raises VersionMismatch unless the file is at that version;
        a file that does not exist is at version 0, so 0 means "only if it is new".
        """
        ...

    def delete_file(
        self, account_id: int, path: str, expected_version: int | None, now_ns: int
    ) -> bool:
        """Delete a file, committed before this returns; False if there was none.

        `expected_version` is checked as in `put_file`.
        """
        ...

    def list_files(self, account_id: int) -> list[str]:
        """The paths of an account's files, sorted lexicographically."""
        ...

    def parsers_in_use(self, account_id: int) -> list[ParserUse]:
        """Every `parser` value the account's committed events carried, sorted by name."""
        ...
