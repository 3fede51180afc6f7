"""The benchmark's baseline: millpond's own HTTP stack, answering without storing anything.

`millpond.server.serve()` with a `NullStore` in place of the DuckDB store, so the app is
`create_app(settings, store=NullStore())` run exactly as `millpond serve` runs it (the same
uvicorn config, uvloop, httptools, admin socket), and a request goes through the same routing,
authentication, body reading, line splitting and Arrow building as in `millpond serve`; only
the store's `submit()` returns an already-resolved future instead of committing to DuckDB.

    python benchmarks/baseline_server.py --data-dir DIR --port PORT

Prints the same first-start banner as `millpond serve` (with a write-logs token).
"""

from __future__ import annotations

import argparse
import concurrent.futures
from collections.abc import Mapping
from typing import Any

from millpond import server
from millpond.errors import VersionMismatch
from millpond.query.sql import SQL, Scope
from millpond.settings import from_env
from millpond.store.base import (
    AccountRecord,
    ConfigFile,
    EventBatch,
    ParserUse,
    TokenRecord,
    WriteResult,
)


class NullStore:
    """A `Store` that keeps accounts, tokens and config files in memory and stores no events."""

    created = True
    dialect = "duckdb"

    @classmethod
    def from_settings(cls, settings: object, clock: object = None) -> NullStore:
        return cls()

    def __init__(self) -> None:
        self._accounts: list[AccountRecord] = []
        self._tokens: list[TokenRecord] = []
        self._files: dict[tuple[int, str], ConfigFile] = {}
        # The last version each path had, deleted or not, so versions never repeat.
        self._versions: dict[tuple[int, str], int] = {}
        self.batches = 0
        self.rows = 0

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def submit(self, batch: EventBatch) -> concurrent.futures.Future[WriteResult]:
        self.batches += 1
        self.rows += batch.rows
        future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
        future.set_result(WriteResult(stored=batch.rows))
        return future

    def bytes_ingested(self, account_id: int, day: int) -> int:
        return 0

    def usage_by_day(self, account_id: int, first_day: int) -> list[tuple[int, int, int]]:
        return []

    def narrow(self, scope: Scope) -> Scope:
        return scope

    def select(self, sql: SQL, timeout: float) -> list[tuple[Any, ...]]:
        return []  # no events, so every query finds nothing

    def create_account(self, name: str, now_ns: int) -> AccountRecord:
        record = AccountRecord(len(self._accounts) + 1, name, now_ns)
        self._accounts.append(record)
        return record

    def list_accounts(self) -> list[AccountRecord]:
        return list(self._accounts)

    def insert_token(self, token: TokenRecord) -> None:
        self._tokens.append(token)

    def list_tokens(self) -> list[TokenRecord]:
        return list(self._tokens)

    def revoke_token(self, token_id: str, now_ns: int) -> TokenRecord | None:
        return None

    def touch_tokens(self, last_used: Mapping[str, int]) -> None:
        pass

    def expire(self, events_before_ns: int | None, nonces_before_ns: int) -> int:
        return 0

    def get_file(self, account_id: int, path: str) -> ConfigFile | None:
        return self._files.get((account_id, path))

    def put_file(
        self, account_id: int, path: str, content: str, expected_version: int | None,
        now_ns: int,
    ) -> ConfigFile:
        key = (account_id, path)
        live = self._files.get(key)
        self._check_version(path, live, expected_version)
        version = self._versions.get(key, 0) + 1
        created = now_ns if live is None else live.create_ns
        self._files[key] = ConfigFile(path, version, content, created, now_ns)
        self._versions[key] = version
        return self._files[key]

    def delete_file(
        self, account_id: int, path: str, expected_version: int | None, now_ns: int
    ) -> bool:
        live = self._files.get((account_id, path))
        self._check_version(path, live, expected_version)
        return self._files.pop((account_id, path), None) is not None

    def list_files(self, account_id: int) -> list[str]:
        return sorted(path for account, path in self._files if account == account_id)

    def parsers_in_use(self, account_id: int) -> list[ParserUse]:
        return []  # no events are stored, so no parser is ever used

    @staticmethod
    def _check_version(path: str, live: ConfigFile | None, expected: int | None) -> None:
        current = 0 if live is None else live.version
        if expected is not None and expected != current:
            raise VersionMismatch(f"{path} is at version {current}, not {expected}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="for the admin socket only")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    # MILLPOND_* from the environment apply as for `millpond serve` (e.g. MILLPOND_RATE_LIMIT).
    settings = from_env(data_dir=args.data_dir, port=args.port, host=args.host)
    # `millpond serve` itself, with its store class swapped: the same listening socket,
    # bootstrap, banner, uvicorn config, event loop, signal handling and admin socket.
    server.DuckDBStore = NullStore  # type: ignore[attr-defined,assignment]
    server.serve(settings)


if __name__ == "__main__":
    main()
