"""Which stage paces a loaded server: its group-commit writer, measured from inside.

Starts `millpond serve` (its own code, with timers wrapped around three methods of the store:
`GroupCommitWriter._next`, waiting for work; `GroupCommitWriter._write`, a commit group;
`DuckDBStore._commit`, the group's one DuckDB `execute`), loads it with `run.py`'s wrk load for
a scenario, and prints for the measured window:

- how busy the writer thread was (1 - its time waiting for work), commits a second and rows
  a commit;
- a commit's wall time and the writer thread's CPU in it, apart from the commits that ran a
  checkpoint (DuckDB checkpoints inside the COMMIT that takes the write-ahead log past
  `checkpoint_threshold`; such a commit leaves the log shorter than it found it);
- the checkpoints: how many, their wall time, and their share of the window.

A writer busy nearly all the time sets the pace: the event loop's requests wait for it.

    .venv/bin/python benchmarks/writer_stats.py [--scenario addevents] [--seconds 10] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DUMP_SECONDS = 0.25  # seconds between two writes of the counters


# -- inside the server -------------------------------------------------------------------


def serve(data_dir: str, port: str, stats_path: str) -> None:
    """`millpond serve` with the writer's counters written to `stats_path` every 0.25 s."""
    from millpond import cli
    from millpond.store.duckdb import DuckDBStore
    from millpond.store.writer import GroupCommitWriter

    wal = Path(data_dir) / "millpond.duckdb.wal"
    stats = dict.fromkeys(
        ["idle", "groups", "batches", "rows", "commits", "commit_wall", "commit_cpu",
         "checkpoints", "checkpoint_wall"], 0.0)

    def log_size() -> int:
        try:
            return wal.stat().st_size
        except FileNotFoundError:
            return 0

    commit, write, wait = DuckDBStore._commit, GroupCommitWriter._write, GroupCommitWriter._next

    def timed_commit(self: DuckDBStore, sql: list[str]) -> None:
        before, t0, c0 = log_size(), time.perf_counter(), time.thread_time()
        try:
            commit(self, sql)
        finally:
            wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
            if before > 0 and log_size() < before:  # this commit checkpointed
                stats["checkpoints"] += 1
                stats["checkpoint_wall"] += wall
            else:
                stats["commits"] += 1
                stats["commit_wall"] += wall
                stats["commit_cpu"] += cpu

    def timed_write(self: GroupCommitWriter, group: list[Any]) -> None:
        stats["groups"] += 1
        stats["batches"] += len(group)
        stats["rows"] += sum(w.batch.rows for w in group)
        write(self, group)

    def timed_wait(self: GroupCommitWriter) -> Any:
        t0 = time.perf_counter()
        try:
            return wait(self)
        finally:
            stats["idle"] += time.perf_counter() - t0

    DuckDBStore._commit = timed_commit  # type: ignore[method-assign]
    GroupCommitWriter._write = timed_write  # type: ignore[method-assign]
    GroupCommitWriter._next = timed_wait  # type: ignore[method-assign]

    def dump() -> None:
        while True:
            time.sleep(DUMP_SECONDS)
            tmp = stats_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({**stats, "at": time.perf_counter()}, f)
            os.replace(tmp, stats_path)

    threading.Thread(target=dump, name="writer-stats", daemon=True).start()
    cli.main(["serve", "--data-dir", data_dir, "--port", port])


# -- the load ------------------------------------------------------------------------------


def measure(run: Any, scenario_name: str, seconds: int, work: Path) -> dict[str, float]:
    scenario = run.SCENARIOS[scenario_name]
    script = run.AGENT_LUA if scenario.api == "addEvents" else run.LUA
    stats_path = work / f"stats-{time.monotonic_ns()}.json"

    class Instrumented(run.Server):  # type: ignore[misc,name-defined]
        def command(self) -> list[str]:
            return [self.python, str(Path(__file__).resolve()), "serve", str(self.data_dir),
                    str(self.port), str(stats_path)]

    def read() -> dict[str, float]:
        return dict(json.loads(stats_path.read_text()))

    bodies = run.make_bodies(scenario, work)
    server = Instrumented("millpond", work, sys.executable)
    server.start()
    try:
        listing = bodies.for_server(server.token)
        url = server.endpoint(scenario.api)
        if scenario.parser:
            url += f"&parser={scenario.parser}"
        run.wrk(url, listing, scenario.connections, 2, None, script=script)  # warm up
        result: dict[str, Any] = {}

        def load() -> None:
            result.update(run.wrk(url, listing, scenario.connections, seconds + 2, None,
                                  script=script))

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(1)
        first = read()
        time.sleep(seconds)
        last = read()
        loader.join()
    finally:
        server.stop()
    d = {k: last[k] - first[k] for k in first}
    window = d["at"]
    commits = max(d["commits"], 1)
    return {
        "rate": result["ok"] * scenario.lines_per_request / (result["duration_us"] / 1e6),
        "busy": 1 - d["idle"] / window,
        "commits_per_s": (d["commits"] + d["checkpoints"]) / window,
        "rows_per_commit": d["rows"] / max(d["groups"], 1),
        "requests_per_commit": d["batches"] / max(d["groups"], 1),
        "commit_ms": d["commit_wall"] / commits * 1e3,
        "commit_cpu_ms": d["commit_cpu"] / commits * 1e3,
        "checkpoints": d["checkpoints"],
        "checkpoint_ms": d["checkpoint_wall"] / max(d["checkpoints"], 1) * 1e3,
        "checkpoint_share": d["checkpoint_wall"] / window,
    }


COLUMNS = [
    ("rate", "{:,.0f}", "lines (events)/s"),
    ("busy", "{:.0%}", "writer busy"),
    ("commits_per_s", "{:.1f}", "commits/s"),
    ("requests_per_commit", "{:.1f}", "requests a commit"),
    ("rows_per_commit", "{:,.0f}", "rows a commit"),
    ("commit_ms", "{:.1f}", "commit ms (no checkpoint)"),
    ("commit_cpu_ms", "{:.1f}", "writer CPU ms in it"),
    ("checkpoints", "{:.0f}", "checkpoints"),
    ("checkpoint_ms", "{:.0f}", "ms each"),
    ("checkpoint_share", "{:.0%}", "of the window"),
]


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(*sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="addevents")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    import addevents_pieces  # loads run.py beside it, as the other scripts do

    run = addevents_pieces._sibling("run")
    with tempfile.TemporaryDirectory(prefix="millpond-writer-stats-") as tmp:
        results = [measure(run, args.scenario, args.seconds, Path(tmp))
                   for _ in range(args.runs)]
    print(f"{args.scenario}, {args.runs} x {args.seconds} s (median last):")
    print("| " + " | ".join(title for _, _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    rows = [*results, {k: statistics.median(r[k] for r in results) for k in results[0]}]
    for r in rows:
        print("| " + " | ".join(fmt.format(r[k]) for k, fmt, _ in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
