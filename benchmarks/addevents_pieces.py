"""Where an addEvents request's time goes, piece by piece, in one process (no HTTP, no wrk).

The same 64 Agent bodies as `run.py --scenario addevents` (1,000 events each, deflate), and
for each piece the CPU time it takes per request and per event, run back to back on the main
thread:

1. **decompress**: `millpond.web.decoding.decompress(body, "deflate", limit)`;
2. **parse_body**: `millpond.ingest.scalyr_json.parse_body` (the Agent's JSON dialect);
3. **decode**: `millpond.ingest.addevents.decode` (events → an Arrow table);
   2 + 3 are the general path; **agent layout** is what `millpond serve` runs for the Agent's
   bodies instead: `agent_layout.parse` + `addevents.decode_layout` (same table);
4. **store**: `DuckDBStore.from_settings` as `millpond serve` opens it (default settings, the
   text indexer running unless `--no-index`), `--store-requests` batches submitted `--group`
   at a time (as concurrent connections are grouped into one commit) and waited for: commit +
   WAL fsync on the writer thread, checkpoints included; wall time per batch, with the
   request thread idle (so an upper bound on what the store alone can take);
5. the response: `orjson.dumps` of the answer (negligible, for completeness).

What HTTP costs (uvicorn, reading the body, the Starlette app, auth) is what `run.py`'s
baseline server adds on top of pieces 1–3; see docs/performance.md.

    .venv/bin/python benchmarks/addevents_pieces.py [--passes 3] [--group 32] [--no-index]
    .venv/bin/python benchmarks/addevents_pieces.py --cprofile [--sort tottime] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import pstats
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
LIMIT = 8 * 1024 * 1024
TOKEN = "t" * 43


def _sibling(name: str) -> ModuleType:
    key = f"millpond_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def bodies(count: int, events: int, sequenced: bool) -> list[bytes]:
    run = _sibling("run")
    return [
        zlib.compress(t.replace(run.TOKEN_SLOT, TOKEN.encode()), run.AGENT_DEFLATE_LEVEL)
        for t in run.agent_bodies(count, events, seed=3, sequenced=sequenced)
    ]


def timed(fn: Callable[[Any], Any], inputs: list[Any], passes: int) -> tuple[float, list[Any]]:
    """Median over passes of the CPU seconds per input; the outputs of the last pass."""
    per_pass = []
    out: list[Any] = []
    for _ in range(passes):
        out = []
        t0 = time.process_time()
        for x in inputs:
            out.append(fn(x))
        per_pass.append((time.process_time() - t0) / len(inputs))
    return statistics.median(per_pass), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=64)
    parser.add_argument("--events", type=int, default=1000, help="events per body")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--group", type=int, default=32, help="batches per store commit")
    parser.add_argument("--store-requests", type=int, default=640,
                        help="batches written in the store piece")
    parser.add_argument("--no-index", action="store_true", help="without the text indexer")
    parser.add_argument("--sequenced", action="store_true", help="bodies with si/sn/sd")
    parser.add_argument("--cprofile", action="store_true",
                        help="profile decompress + parse + decode instead of timing")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    import orjson

    from millpond.clock import SystemClock
    from millpond.ingest import addevents, agent_layout
    from millpond.ingest.scalyr_json import parse_body
    from millpond.store.base import EventBatch, SessionRecord
    from millpond.web.decoding import decompress

    wire = bodies(args.bodies, args.events, args.sequenced)
    clock = SystemClock()
    stamp = [clock.now_ns()]

    def reserve(n: int) -> int:
        first = stamp[0]
        stamp[0] += max(n, 1)
        return first

    def inflate(body: bytes) -> bytes:
        return decompress(body, "deflate", LIMIT)

    def decode(request: Any) -> Any:
        return addevents.decode(request, account_id=1, server_ip="127.0.0.1",
                                receipt_ns=reserve)

    if args.cprofile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.passes):
            for body in wire:
                decode(parse_body(inflate(body)))
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        return 0

    t_inflate, raw = timed(inflate, wire, args.passes)
    t_parse, parsed = timed(parse_body, raw, args.passes)
    t_decode, decoded = timed(decode, parsed, args.passes)

    def layout(body: bytes) -> Any:
        read = agent_layout.parse(body)
        if read is None:
            raise SystemExit("a body did not take the Agent-layout path")
        return addevents.decode_layout(read, account_id=1, server_ip="127.0.0.1")

    t_layout, _ = timed(layout, raw, args.passes)
    t_answer, _ = timed(lambda b: orjson.dumps({"status": "success", "bytesCharged": len(b)}),
                        raw, args.passes)

    def batch(d: Any, body: bytes) -> EventBatch:
        return EventBatch(
            account_id=1, table=d.table,
            sessions=(SessionRecord(1, d.session, d.session_info),),
            bytes_charged=len(body),
            seq_ids=d.seq_ids if d.has_sequences else None,
            seq_nums=d.seq_nums if d.has_sequences else None,
        )

    from millpond.settings import from_env
    from millpond.store.duckdb import DuckDBStore

    with tempfile.TemporaryDirectory(prefix="millpond-pieces-") as tmp:
        settings = from_env(data_dir=tmp)
        if args.no_index:
            store = DuckDBStore(settings.database_path, commit_max_rows=settings.commit_max_rows,
                                checkpoint_threshold=settings.checkpoint_threshold,
                                memory_limit=settings.memory_limit, index_text=False)
        else:
            store = DuckDBStore.from_settings(settings)
        store.open()
        try:
            batches = [batch(d, b) for d, b in zip(decoded, raw, strict=True)]
            todo = [batches[i % len(batches)] for i in range(args.store_requests)]
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i in range(0, len(todo), args.group):
                futures = [store.submit(b) for b in todo[i:i + args.group]]
                for f in futures:
                    f.result()
            t_store = (time.perf_counter() - t0) / len(todo)
            cpu_store = (time.process_time() - cpu0) / len(todo)
        finally:
            store.close()

    n = args.events
    pieces = [("decompress", t_inflate), ("parse_body", t_parse), ("decode", t_decode),
              ("agent layout (parse + decode, replaces the two above)", t_layout),
              ("answer", t_answer)]
    python = t_inflate + t_layout + t_answer
    print(f"{len(wire)} bodies of {n:,} events, {statistics.mean(map(len, raw)):,.0f} B "
          f"({statistics.mean(map(len, wire)):,.0f} B deflated), median of {args.passes} "
          f"passes\n")
    print("| piece | ms a request | µs an event | share of the request thread | "
          "events/s on one core |")
    print("|---|---|---|---|---|")
    for name, t in pieces:
        print(f"| {name} | {t * 1e3:.2f} | {t / n * 1e6:.2f} | {t / python:.0%} | "
              f"{n / t:,.0f} |")
    print(f"| **request thread (decompress + layout + answer)** | {python * 1e3:.2f} | "
          f"{python / n * 1e6:.2f} | 100% | {n / python:,.0f} |")
    index = "no indexer" if args.no_index else "indexer on"
    print(f"| store: wall ({args.group} a commit, {index}) | {t_store * 1e3:.2f} | "
          f"{t_store / n * 1e6:.2f} | - | {n / t_store:,.0f} (events/s) |")
    print(f"| store: process CPU, all threads | {cpu_store * 1e3:.2f} | "
          f"{cpu_store / n * 1e6:.2f} | - | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
