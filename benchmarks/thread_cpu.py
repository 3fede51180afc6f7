"""CPU per thread of a server under `run.py`'s load: which thread is the bottleneck.

Starts `millpond serve` (or the baseline) as `run.py` does, loads it with wrk for a scenario,
and samples /proc/PID/task/*/stat before and after: cores used by each thread, with its nice
value (the event loop and the writer run at 0, DuckDB's workers at `query_nice`, the text
indexer at 19). Linux only.

    .venv/bin/python benchmarks/thread_cpu.py [--server millpond|baseline]
        [--scenario addevents] [--seconds 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _run_module() -> Any:
    spec = importlib.util.spec_from_file_location("millpond_bench_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def sample(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread, keyed 'TID nice=N'."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{tid} nice={stat[16]}"] = (int(stat[11]) + int(stat[12])) / tick
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["millpond", "baseline"], default="millpond")
    parser.add_argument("--scenario", default="addevents")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=None)
    args = parser.parse_args()
    run = _run_module()
    scenario = run.SCENARIOS[args.scenario]
    connections = args.connections or scenario.connections
    script = run.AGENT_LUA if scenario.api == "addEvents" else run.LUA
    with tempfile.TemporaryDirectory(prefix="millpond-threads-") as tmp:
        work = Path(tmp)
        bodies = run.make_bodies(scenario, work)
        with run.running(args.server, work, sys.executable) as server:
            listing = bodies.for_server(server.token)
            url = server.endpoint(scenario.api)
            if scenario.parser:
                url += f"&parser={scenario.parser}"
            run.wrk(url, listing, connections, 2, None, script=script)  # warm up
            result: dict[str, Any] = {}

            def load() -> None:
                result.update(run.wrk(url, listing, connections, args.seconds + 2, None,
                                      script=script))

            loader = threading.Thread(target=load)
            loader.start()
            time.sleep(1)
            before, t0 = sample(server.proc.pid), time.perf_counter()
            time.sleep(args.seconds)
            after, elapsed = sample(server.proc.pid), time.perf_counter() - t0
            loader.join()
    cores = {k: (v - before.get(k, 0.0)) / elapsed for k, v in after.items()}
    print(f"{args.server}, {args.scenario}, {args.seconds} s:")
    for name, used in sorted(cores.items(), key=lambda kv: -kv[1]):
        if used >= 0.01:
            print(f"  thread {name:<16} {used:.2f} cores")
    print(f"  all threads            {sum(cores.values()):.2f} cores")
    rate = result["ok"] * scenario.lines_per_request / (result["duration_us"] / 1e6)
    print(f"  {rate:,.0f} {scenario.unit}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
