"""How long `millpond serve` takes to start after a crash, by the size of its write-ahead log.

Up to `checkpoint_threshold` of committed events live only in DuckDB's write-ahead log (the
database file gets them at the next checkpoint); after a `kill -9` the next start replays the
log before it serves. This script fills a fresh data directory's log to about `--log-mb`
(the addEvents benchmark's Agent events, committed 32 requests at a time through
`DuckDBStore.submit` with the checkpoint threshold above the target, the text indexer off),
ends the process with `os._exit` (no checkpoint at close, as a crash), then times
`DuckDBStore.open()` in a new process and checks that every committed row is there.

    .venv/bin/python benchmarks/wal_replay.py [--log-mb 64 256] [--passes 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def fill(path: str, log_mb: int, done: mp.SimpleQueue) -> None:  # type: ignore[type-arg]
    import store_writers  # the same decoded Agent bodies as run.py's addevents scenario

    from millpond.store.base import EventBatch, SessionRecord
    from millpond.store.duckdb import DuckDBStore

    store = DuckDBStore(Path(path), index_text=False,
                        checkpoint_threshold=f"{log_mb * 2 + 64}MB")
    store.open()
    tables = store_writers.tables(32)
    session = (SessionRecord(1, "s", {"serverHost": "h"}),)
    wal = Path(path + ".wal")
    rows = 0
    while not wal.exists() or wal.stat().st_size < log_mb * 1024 * 1024:
        futures = [store.submit(EventBatch(1, t, session, t.num_rows)) for t in tables]
        rows += sum(f.result().stored for f in futures)
    done.put((rows, wal.stat().st_size))
    os._exit(0)  # as kill -9: no checkpoint at close


def reopen(path: str, done: mp.SimpleQueue) -> None:  # type: ignore[type-arg]
    from millpond.store.duckdb import DuckDBStore

    t0 = time.perf_counter()
    store = DuckDBStore(Path(path), index_text=False)
    store.open()
    seconds = time.perf_counter() - t0
    count = store.conn.execute("SELECT count(*) FROM events").fetchone()
    store.close()
    done.put((seconds, count[0] if count else 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-mb", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    print("| log MB | rows in it | start after the crash, s (median) | runs |")
    print("|---|---|---|---|")
    for log_mb in args.log_mb:
        times = []
        for _ in range(args.passes):
            with tempfile.TemporaryDirectory(prefix="millpond-wal-") as tmp:
                path = str(Path(tmp) / "millpond.duckdb")
                done = ctx.SimpleQueue()
                child = ctx.Process(target=fill, args=(path, log_mb, done))
                child.start()
                rows, size = done.get()
                child.join()
                child = ctx.Process(target=reopen, args=(path, done))
                child.start()
                seconds, count = done.get()
                child.join()
                assert count == rows, f"{count} rows after the restart, {rows} committed"
                times.append(seconds)
        print(f"| {size / 1024 / 1024:,.0f} | {rows:,} | {statistics.median(times):.2f} | "
              + " / ".join(f"{t:.2f}" for t in times) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
