"""Would more than one writer thread store faster? DuckDB inserts from 1 or 2 threads, no HTTP.

The store's group-commit writer is one thread, and under the addEvents load it is nearly always
inside DuckDB's `execute` (insert, commit, checkpoints) while the request path waits on it. This
script measures what a second writer could give before anyone builds one: the addEvents
benchmark's Agent bodies (`run.py`, 1,000 events each) decoded once to Arrow tables as
`millpond serve` decodes them, grouped `--group` requests to a transaction, and inserted into a
fresh database with millpond's own schema and settings (64 MB checkpoint threshold, 80 MB
memory limit, zstd text) by `--writers` threads, each on its own cursor. Inserts run in
parallel; commits are taken in group order (a turnstile), as a pipelined writer would have to
so that `seq` becomes visible in order. For comparison, the same requests also go through
`DuckDBStore.submit` (the writer `millpond serve` runs, with everything `write_group` adds). Prints
rows/s (wall) and process CPU per row, medians of `--passes`; every pass checks the row count.

    .venv/bin/python benchmarks/store_writers.py [--writers 1 2] [--groups 40] [--passes 3]
        [--group 32] [--busy]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import addevents_pieces  # the same bodies as run.py's addevents scenario

from millpond.ingest import addevents, agent_layout
from millpond.store.base import EventBatch, SessionRecord
from millpond.store.duckdb import DuckDBStore
from millpond.web.decoding import decompress


def tables(count: int) -> list[pa.Table]:
    out = []
    for body in addevents_pieces.bodies(count, 1000, sequenced=False):
        layout = agent_layout.parse(decompress(body, "deflate", addevents_pieces.LIMIT))
        assert layout is not None
        out.append(addevents.decode_layout(layout, account_id=1, server_ip="127.0.0.1").table)
    return out


def _spin(stop: threading.Event) -> None:
    """Python work without a pause, as the event loop's thread does under load: every time the
    writer lets the GIL go (each DuckDB and pyarrow call does), it must win it back from this."""
    while not stop.is_set():
        sum(i * i for i in range(200))


def run_store(requests: list[list[pa.Table]], busy: bool = False) -> tuple[float, float]:
    """Rows/s and CPU µs a row through `DuckDBStore.submit`: the writer `millpond serve` runs
    (`write_group`: de-duplication, sessions, usage, the parser tally, one script a commit),
    each group's requests submitted together and waited for; with `busy`, a thread running
    Python meanwhile (its CPU is counted too)."""
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    if busy:
        spinner.start()
    try:
        return _run_store(requests)
    finally:
        stop.set()
        if busy:
            spinner.join()


def _run_store(requests: list[list[pa.Table]]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="millpond-writers-") as tmp:
        store = DuckDBStore(Path(tmp) / "x.duckdb", index_text=False)
        store.open()
        session = (SessionRecord(1, "s", {"serverHost": "h"}),)
        rows = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        for group in requests:
            futures = [store.submit(EventBatch(1, t, session, t.num_rows)) for t in group]
            rows += sum(f.result().stored for f in futures)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stored = store.conn.execute("SELECT count(*) FROM events").fetchone()
        store.close()
    assert stored is not None and stored[0] == rows
    return rows / wall, cpu / rows * 1e6


def run(writers: int, groups: list[pa.Table]) -> tuple[float, float]:
    """Rows/s and CPU µs a row for inserting every group, in order, with `writers` threads."""
    with tempfile.TemporaryDirectory(prefix="millpond-writers-") as tmp:
        store = DuckDBStore(Path(tmp) / "x.duckdb", index_text=False)
        store.open()  # the schema and settings of `millpond serve`; its writer stays idle
        conn = store.conn
        turn = [0]
        ready = threading.Condition()
        seq = 0
        jobs: list[pa.Table] = []
        for g in groups:
            jobs.append(g.add_column(2, "seq", pa.array(np.arange(seq, seq + g.num_rows))))
            seq += g.num_rows

        def work(index: int) -> None:
            cur = store.cursor()
            for i in range(index, len(jobs), writers):
                new_events = jobs[i]  # noqa: F841 - read by DuckDB below
                cur.execute("BEGIN TRANSACTION; INSERT INTO events SELECT * FROM new_events")
                with ready:
                    ready.wait_for(lambda i=i: turn[0] == i)
                cur.execute("COMMIT")
                with ready:
                    turn[0] += 1
                    ready.notify_all()
            cur.close()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
        cpu0, t0 = time.process_time(), time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stored = conn.execute("SELECT count(*) FROM events").fetchone()
        store.close()
    assert stored is not None and stored[0] == seq, "a writer lost rows"
    return seq / wall, cpu / seq * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--groups", type=int, default=40, help="transactions per pass")
    parser.add_argument("--group", type=int, default=32, help="requests a transaction")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--busy", action="store_true",
                        help="serve's writer also with a thread running Python meanwhile")
    args = parser.parse_args()
    decoded = tables(64)
    requests = [[decoded[(g * args.group + j) % len(decoded)] for j in range(args.group)]
                for g in range(args.groups)]
    groups = [pa.concat_tables(r).combine_chunks() for r in requests]
    rows = sum(g.num_rows for g in groups)
    print(f"{args.groups} transactions of {args.group} x 1,000 events ({rows:,} rows), "
          f"medians of {args.passes} passes, alternating")
    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.passes):
        results.setdefault("DuckDBStore.submit (serve's writer)", []).append(run_store(requests))
        if args.busy:
            results.setdefault("  the same, Python running beside it", []).append(
                run_store(requests, busy=True))
        for w in args.writers:
            label = f"bare INSERT, {w} writer{'s' if w > 1 else ''}"
            results.setdefault(label, []).append(run(w, groups))
    for label, got in results.items():
        rate = statistics.median(r for r, _ in got)
        cpu = statistics.median(c for _, c in got)
        print(f"{label:<36} {rate:>9,.0f} rows/s, {cpu:.2f} µs CPU a row "
              f"(runs: {', '.join(f'{r:,.0f}' for r, _ in got)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
