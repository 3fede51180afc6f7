"""The benchmark's baseline: millpond's own HTTP stack, answering without storing anything.

`create_app(settings, store=NullStore())` run by `millpond.server`'s own runner (the same
uvicorn config, uvloop, httptools, admin socket), so a request goes through the same routing,
authentication, body reading, line splitting and Arrow building as in `millpond serve`; only
the store's `submit()` returns an already-resolved future instead of committing to DuckDB.

    python benchmarks/baseline_server.py --data-dir DIR --port PORT

Prints the same first-start banner as `millpond serve` (with a write-logs token).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from millpond.accounts import Registry
from millpond.server import _loop_factory, _run, banner  # the runner `millpond serve` uses
from millpond.settings import from_env
from millpond.store.base import (
    AccountRecord,
    EventBatch,
    EventQuery,
    StoredEvent,
    TokenRecord,
    WriteResult,
)
from millpond.web import create_app


class NullStore:
    """A `Store` that keeps accounts and tokens in memory and stores no events."""

    created = True

    def __init__(self) -> None:
        self._accounts: list[AccountRecord] = []
        self._tokens: list[TokenRecord] = []
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

    def query_events(
        self, query: EventQuery, timeout: float
    ) -> tuple[list[StoredEvent], dict[str, dict[str, Any]]]:
        return [], {}

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="for the admin socket only")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    # MILLPOND_* from the environment apply as for `millpond serve` (e.g. MILLPOND_RATE_LIMIT).
    settings = from_env(data_dir=args.data_dir, port=args.port, host=args.host)
    store = NullStore()
    registry = Registry(store)
    tokens = registry.bootstrap()
    app = create_app(settings, store=store, registry=registry)
    banner(settings, tokens, sys.stdout)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_run(settings, app, registry))


if __name__ == "__main__":
    main()
