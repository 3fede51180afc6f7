"""`make bench-query`: search speed of a real `millpond serve` over 10 million realistic events.

1. **Load.** `gen_events.py` writes N events (default 10 million, ~1.1 GB of raw text) to a
   temporary file, in chunks of one log file each; a fresh `millpond serve` takes them in
   through `/api/uploadLogs`, several concurrent clients, one chunk per request with its own
   `host` and `logfile` (and no `parser`: the lines are searched as raw text, stamped at
   receipt; `run.py --scenario parse-access` measures parsing). The ingest time, the data
   directory's size on disk and the server's peak RSS are recorded. The server is left
   running until its CPU use drops to nothing (its background work, the trigram text index,
   has caught up: "settle" time), then stopped (a checkpoint).
2. **Queries.** The server is started again on the loaded data (and again left to settle);
   each query is sent over
   HTTP (POST JSON, read token) once to warm up and then `--runs` times, round-robin; the
   table shows the median, min and max of the client-side wall time. Every answer is checked
   against what the generator knows it put in (matches, counts, facet values); a query that
   fails (e.g. 404: the endpoint is not there yet) is reported as failed, not fatal. The time
   range of every query is the load's: [start of upload, end of upload + 1 s), so data
   ingested later (step 3) adds no work to them.

   The scan rate is raw bytes / the median time of `scan_rate`, a count of `!yqzxv` (letters
   that occur nowhere): a negated term cannot be answered from the text index, so every
   message is read, and a term of letters only cannot be pre-checked with a cheap
   case-sensitive `contains` either, so it is the slowest kind of text search. A count
   of the absent term itself (`absent_count`, `absent_query`) is reported too, but the index
   may rule out every block of it without reading a message.
3. **Ingest under queries.** `wrk` with `upload.lua` (like `run.py`'s bulk scenario: 1,000-line
   requests, 32 connections) for `--ingest-seconds` alone, then the same while one client
   sends the working queries back to back; `--ingest-runs` pairs, the ratio of the medians.

`--keep DIR` loads into DIR once (and keeps it, with the tokens and the expected answers in
DIR/query-bench.json); later runs with the same DIR skip generating and uploading, and measure
on a copy of it so every run sees the same data.

    .venv/bin/python benchmarks/query_bench.py [--events N] [--runs 5] [--keep DIR] [--quick]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
META_NAME = "query-bench.json"
META_VERSION = 1


def _sibling(name: str) -> ModuleType:
    """A module next to this file (benchmarks/ is not a package)."""
    key = f"millpond_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


gen_events = _sibling("gen_events")
ingest_bench = _sibling("run")  # free_port, proc_status, cpu_seconds, wrk, machine

COMMON_TERM = "GET"
RARE_TERM = "zebracorn-7731"
ABSENT_TERM: str = gen_events.ABSENT_TERM
SCAN_TERM = ABSENT_TERM.split("-")[0]  # letters only: the regular-expression path

# The targets.
TARGET_NEWEST_MS = 300.0
TARGET_SCAN_GB_S = 1.0
TARGET_INGEST_RATIO = 0.8


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the server --------------------------------------------------------------------------------


class BenchServer:
    """`millpond serve` on a data directory (new or already loaded), with RSS sampled by phase."""

    def __init__(self, data_dir: Path, log_path: Path, python: str,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.python = python
        self.env = env or {}
        self.port = ingest_bench.free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.phase = "start"
        self.peak_rss: dict[str, int] = {}
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> dict[str, str]:
        """Start and wait for /health; the tokens the banner shows on a new data directory."""
        env = dict(os.environ)
        env.update(MILLPOND_LOG_LEVEL="warning", MILLPOND_RETENTION_DAYS="0",
                   MILLPOND_DAILY_QUOTA_BYTES="0", PYTHONUNBUFFERED="1")
        env.update(self.env)
        cmd = [self.python, "-m", "millpond", "serve", "--data-dir", str(self.data_dir),
               "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"millpond exited:\n{self.log_path.read_text()[-3000:]}")
            text = self.log_path.read_text()
            if "millpond is serving" in text and self._healthy():
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"millpond did not start:\n{self.log_path.read_text()[-3000:]}")
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return dict(re.findall(r"^\s*(write-logs|read-logs)\s+(\S+)", text, re.M))

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def _sample(self) -> None:
        while not self._stop_sampling.wait(0.1):
            with contextlib.suppress(OSError):
                rss = ingest_bench.proc_status(self.pid, "VmRSS")
                self.peak_rss[self.phase] = max(self.peak_rss.get(self.phase, 0), rss)

    def cpu_seconds(self) -> float:
        return float(ingest_bench.cpu_seconds(self.pid))

    def stop(self) -> None:
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def serving(data_dir: Path, log_path: Path, python: str,
            env: dict[str, str]) -> Iterator[tuple[BenchServer, dict[str, str]]]:
    server = BenchServer(data_dir, log_path, python, env)
    tokens = server.start()
    try:
        yield server, tokens
    finally:
        server.stop()


def wait_idle(server: BenchServer, max_cores: float = 0.05, window: float = 2.0,
              timeout: float = 1800.0) -> float | None:
    """Seconds until the server's CPU use stays under `max_cores` for `window` seconds: its
    background work (the text index, a checkpoint) is done. None if it never got there."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        cpu0 = server.cpu_seconds()
        time.sleep(window)
        if (server.cpu_seconds() - cpu0) / window < max_cores:
            return max(0.0, time.monotonic() - started - window)
    return None


def dir_bytes(path: Path) -> int:
    """Bytes the directory takes on disk (allocated blocks)."""
    total = 0
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            st = p.lstat()
            if p.is_file():
                total += st.st_blocks * 512
    return total


# -- 1. load -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Generated:
    path: Path
    chunks: list[dict[str, Any]]  # offset, bytes, lines, host, logfile, parser
    raw_bytes: int
    seconds: float
    common_count: int
    hosts: dict[str, int]
    logfiles: dict[str, int]
    kinds: dict[str, int]
    rare: dict[str, int]


def generate(path: Path, events: int, seed: int, chunk_lines: int) -> Generated:
    started = time.perf_counter()
    gen = gen_events.EventGenerator(events, seed, chunk_lines)
    chunks: list[dict[str, Any]] = []
    hosts: collections.Counter[str] = collections.Counter()
    logfiles: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    common = offset = 0
    with path.open("wb") as f:
        for chunk in gen:
            f.write(chunk.body)
            chunks.append({"index": chunk.index, "offset": offset, "bytes": len(chunk.body),
                           "lines": chunk.lines, "host": chunk.host, "logfile": chunk.logfile,
                           "parser": chunk.parser})
            offset += len(chunk.body)
            hosts[chunk.host] += chunk.lines
            logfiles[chunk.logfile] += chunk.lines
            kinds[chunk.kind] += chunk.lines
            common += gen_events.count_lines_containing(chunk.body, COMMON_TERM)
    return Generated(path, chunks, offset, time.perf_counter() - started, common, dict(hosts),
                     dict(logfiles), dict(kinds),
                     {t: len(p) for t, p in gen.rare_positions.items()})


def upload(base: str, write_token: str, data: Generated, clients: int,
           seed: int) -> dict[str, Any]:
    """Every chunk once, `clients` requests at a time; a Nonce per chunk makes retries safe."""
    lock = threading.Lock()
    todo = iter(data.chunks)
    retries = 0
    failures: list[str] = []
    latencies: list[float] = []
    done_lines = 0
    next_report = [0.2]
    total_lines = sum(c["lines"] for c in data.chunks)
    fd = os.open(data.path, os.O_RDONLY)

    def worker() -> None:
        nonlocal retries, done_lines
        with httpx.Client(base_url=base, timeout=300) as client:
            while True:
                with lock:
                    chunk = next(todo, None)
                if chunk is None or failures:
                    return
                body = os.pread(fd, chunk["bytes"], chunk["offset"])
                params = {"token": write_token, "host": chunk["host"],
                          "logfile": chunk["logfile"]}
                headers = {"Content-Type": "text/plain",
                           "Nonce": f"query-bench-{seed}-{chunk['index']}"}
                for attempt in range(10):
                    t0 = time.perf_counter()
                    try:
                        r = client.post("/api/uploadLogs", params=params, content=body,
                                        headers=headers)
                    except httpx.TransportError as exc:
                        problem = f"{type(exc).__name__}: {exc}"
                    else:
                        if r.status_code == 200 and r.json().get("status") == "success":
                            with lock:
                                latencies.append(time.perf_counter() - t0)
                                done_lines += chunk["lines"]
                                if done_lines >= next_report[0] * total_lines:
                                    say(f"    {done_lines:,} lines uploaded")
                                    next_report[0] += 0.2
                            break
                        problem = f"HTTP {r.status_code}: {r.text[:300]}"
                    with lock:
                        retries += 1
                    time.sleep(min(5.0, 0.2 * 2**attempt))
                else:
                    with lock:
                        failures.append(f"chunk {chunk['index']}: {problem}")
                    return

    started_ns = time.time_ns()
    started = time.perf_counter()
    try:
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.close(fd)
    seconds = time.perf_counter() - started
    ended_ns = time.time_ns()
    if failures:
        raise RuntimeError("upload failed: " + "; ".join(failures[:5]))
    latencies.sort()
    return {
        "seconds": round(seconds, 2),
        "lines_per_s": total_lines / seconds,
        "mb_per_s": data.raw_bytes / seconds / 1e6,
        "requests": len(data.chunks),
        "clients": clients,
        "retries": retries,
        "request_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "request_max_ms": 1000 * latencies[-1] if latencies else None,
        "started_ns": started_ns,
        "ended_ns": ended_ns,
    }


def reference_grep(path: Path, runs: int = 3) -> dict[str, Any] | None:
    """`grep -F -i -c` for the absent term over the raw file (page cache warm): the machine's
    brute-force scan speed, for comparison with the server's."""
    if shutil.which("grep") is None:
        return None
    times = []
    size = path.stat().st_size
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["grep", "-F", "-i", "-c", ABSENT_TERM, str(path)],
                       env={**os.environ, "LC_ALL": "C"}, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {"command": f"LC_ALL=C grep -F -i -c {ABSENT_TERM} <raw file>",
            "seconds": round(seconds, 3), "gb_per_s": round(size / seconds / 1e9, 2)}


def load(data_dir: Path, workdir: Path, events: int, seed: int, chunk_lines: int,
         clients: int, python: str, env: dict[str, str], settle_window: float) -> dict[str, Any]:
    """Generate, upload into a new data directory, stop; the metadata later runs need."""
    say(f"generating {events:,} events (seed {seed}, {chunk_lines:,} lines a chunk)...")
    data = generate(workdir / "events.log", events, seed, chunk_lines)
    say(f"  {data.raw_bytes / 1e9:.3f} GB, {data.raw_bytes / max(1, events):.1f} B a line, "
        f"in {data.seconds:.1f} s; lines by kind {data.kinds}")
    grep = reference_grep(data.path)
    if grep:
        say(f"  reference: grep -F -i -c over the raw file {grep['seconds']:.3f} s = "
            f"{grep['gb_per_s']:.2f} GB/s")
    say(f"uploading through /api/uploadLogs ({clients} clients, one chunk a request)...")
    with serving(data_dir, workdir / "load.log", python, env) as (server, tokens):
        if set(tokens) != {"write-logs", "read-logs"}:
            raise RuntimeError(f"{data_dir} is not a new data directory (no tokens shown); "
                               "pass an empty or missing --keep directory")
        server.phase = "load"
        stats = upload(server.base, tokens["write-logs"], data, clients, seed)
        say(f"  {stats['seconds']:.1f} s: {stats['lines_per_s']:,.0f} lines/s, "
            f"{stats['mb_per_s']:.1f} MB/s, {stats['retries']} retries; waiting for the "
            "server to go idle (text index)...")
        server.phase = "settle"
        settle = wait_idle(server, window=settle_window)
        stats["settle_seconds"] = None if settle is None else round(settle, 1)
        peak_rss = ingest_bench.proc_status(server.pid, "VmHWM")
    data.path.unlink()
    say(f"  idle {'never (gave up)' if settle is None else f'after {settle:.1f} s'}; "
        f"peak RSS {peak_rss / 1e6:.0f} MB")
    db = data_dir / "millpond.duckdb"
    meta = {
        "version": META_VERSION,
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tokens": tokens,
        "events": events,
        "seed": seed,
        "chunk_lines": chunk_lines,
        "raw_bytes": data.raw_bytes,
        "mean_line_bytes": round(data.raw_bytes / max(1, events), 1),
        "lines_by_kind": data.kinds,
        "generate_seconds": round(data.seconds, 2),
        "ingest": stats,
        "peak_rss_mb": round(peak_rss / 1e6, 1),
        "data_dir_bytes": dir_bytes(data_dir),
        "db_file_bytes": db.stat().st_size if db.exists() else None,
        "reference_grep": grep,
        # Every query covers the upload: whole seconds, end exclusive.
        "window": {"start_s": stats["started_ns"] // 10**9 - 1,
                   "end_s": -(-stats["ended_ns"] // 10**9) + 1},
        "expected": {
            "common_term": COMMON_TERM,
            "common_count": data.common_count,
            "rare": data.rare,
            "hosts": data.hosts,
            "logfiles": data.logfiles,
        },
    }
    path = data_dir / META_NAME
    path.write_text(json.dumps(meta, indent=1))
    path.chmod(0o600)
    say(f"  data directory {meta['data_dir_bytes'] / 1e6:,.0f} MB on disk "
        f"({meta['data_dir_bytes'] / max(1, events):.1f} B an event)")
    return meta


# -- 2. queries --------------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], tuple[str, str | None]]  # (summary, problem or None)


@dataclasses.dataclass
class Query:
    name: str
    what: str
    path: str
    body: dict[str, Any]
    check: Check
    target_ms: float | None = None
    scan: bool = False  # reads every message: report GB/s
    times: list[float] = dataclasses.field(default_factory=list)
    server_ms: list[float] = dataclasses.field(default_factory=list)
    first_s: float | None = None
    summary: str = ""
    error: str | None = None


def _top(counts: dict[str, int], n: int) -> list[int]:
    return sorted(counts.values(), reverse=True)[:n]


def make_queries(meta: dict[str, Any]) -> list[Query]:
    exp = meta["expected"]
    window = {"startTime": meta["window"]["start_s"], "endTime": meta["window"]["end_s"]}
    window_s = meta["window"]["end_s"] - meta["window"]["start_s"]
    rare_n = min(100, exp["rare"].get(RARE_TERM, 0))
    common = exp["common_count"]
    events = meta["events"]

    def newest(data: dict[str, Any]) -> tuple[str, str | None]:
        matches = data.get("matches")
        if not isinstance(matches, list):
            return "", "no matches list"
        bad = [m for m in matches if RARE_TERM not in str(m.get("message", "")).lower()]
        summary = f"{len(matches)} matches"
        if len(matches) != rare_n:
            return summary, f"expected {rare_n} matches, got {len(matches)}"
        return summary, f"{len(bad)} matches without the term" if bad else None

    def values(data: dict[str, Any], n: int) -> list[float]:
        vals = data.get("values")
        if not isinstance(vals, list) or len(vals) != n:
            raise ValueError(f"expected {n} values, got {str(vals)[:100]}")
        return [0.0 if v is None else float(v) for v in vals]

    def count_is(expected: int, buckets: int) -> Check:
        def check(data: dict[str, Any]) -> tuple[str, str | None]:
            try:
                total = sum(values(data, buckets))
            except (ValueError, TypeError) as exc:
                return "", str(exc)
            summary = f"count {total:,.0f}" + (f" in {buckets} buckets" if buckets > 1 else "")
            return summary, None if total == expected else f"expected {expected:,}"
        return check

    def rate_is(expected: int, buckets: int) -> Check:
        def check(data: dict[str, Any]) -> tuple[str, str | None]:
            try:
                vals = values(data, buckets)
            except (ValueError, TypeError) as exc:
                return "", str(exc)
            total = sum(vals) * window_s / buckets
            summary = f"peak {max(vals):,.0f}/s, sum x bucket = {total:,.0f}"
            ok = math.isclose(total, expected, rel_tol=0.01, abs_tol=1)
            return summary, None if ok else f"rate x bucket width sums to {total:,.0f}, " \
                                            f"expected ~{expected:,}"
        return check

    def facet_is(counts: dict[str, int]) -> Check:
        def check(data: dict[str, Any]) -> tuple[str, str | None]:
            vals = data.get("values")
            if not isinstance(vals, list):
                return "", "no values list"
            got = [(str(v.get("value")), int(v.get("count", -1))) for v in vals]
            summary = f"{len(got)} values, top {got[0][0]} ({got[0][1]:,})" if got else "empty"
            if data.get("matchCount") != events:
                return summary, f"matchCount {data.get('matchCount')}, expected {events:,}"
            if [c for _, c in got] != _top(counts, 10):
                return summary, f"counts {[c for _, c in got]}, expected {_top(counts, 10)}"
            wrong = [(v, c) for v, c in got if counts.get(v) != c]
            return summary, f"wrong counts {wrong}" if wrong else None
        return check

    def nothing(data: dict[str, Any]) -> tuple[str, str | None]:
        if "matches" in data:
            n = len(data["matches"])
            return f"{n} matches", None if n == 0 else "expected none"
        return count_is(0, 1)(data)

    rare = f'"{RARE_TERM}"'
    absent = f'"{ABSENT_TERM}"'
    return [
        Query("newest100_rare", f"newest 100 matching {rare} ({exp['rare'].get(RARE_TERM)} "
              "in the data)", "/api/query",
              {**window, "filter": rare, "pageMode": "tail", "maxCount": 100}, newest,
              target_ms=TARGET_NEWEST_MS),
        Query("count_common", f"count of {COMMON_TERM} over everything", "/api/numericQuery",
              {**window, "filter": COMMON_TERM, "function": "count", "buckets": 1},
              count_is(common, 1)),
        Query("facet_top10_serverHost", "facet top-10 of serverHost", "/api/facetQuery",
              {**window, "filter": "", "field": "serverHost", "maxCount": 10},
              facet_is(exp["hosts"])),
        Query("facet_top10_logfile", "facet top-10 of logfile", "/api/facetQuery",
              {**window, "filter": "", "field": "logfile", "maxCount": 10},
              facet_is(exp["logfiles"])),
        Query("numeric60_count", f"numericQuery count of {COMMON_TERM}, 60 buckets",
              "/api/numericQuery",
              {**window, "filter": COMMON_TERM, "function": "count", "buckets": 60},
              count_is(common, 60)),
        Query("numeric60_rate", f"numericQuery rate of {COMMON_TERM}, 60 buckets",
              "/api/numericQuery",
              {**window, "filter": COMMON_TERM, "function": "rate", "buckets": 60},
              rate_is(common, 60)),
        # A negated term cannot be answered from the trigram index: every message is read.
        Query("scan_rate", f"numericQuery count of !{SCAN_TERM}: brute force, every message "
              "read", "/api/numericQuery",
              {**window, "filter": f"!{SCAN_TERM}", "function": "count", "buckets": 1},
              count_is(events, 1), scan=True),
        # A term that occurs nowhere: the index may rule out every block.
        Query("absent_count", f"numericQuery count of {absent} (occurs nowhere)",
              "/api/numericQuery",
              {**window, "filter": absent, "function": "count", "buckets": 1}, nothing,
              scan=True),
        Query("absent_query", f"/api/query tail of {absent} (occurs nowhere)", "/api/query",
              {**window, "filter": absent, "pageMode": "tail", "maxCount": 100}, nothing,
              scan=True),
    ]


def send(client: httpx.Client, q: Query) -> tuple[float, dict[str, Any] | None, str | None]:
    """(wall seconds, answer, error)."""
    t0 = time.perf_counter()
    try:
        r = client.post(q.path, json=q.body)
    except httpx.TransportError as exc:
        return time.perf_counter() - t0, None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    try:
        data = r.json()
    except ValueError:
        data = None
    if r.status_code != 200 or not isinstance(data, dict) or data.get("status") != "success":
        return seconds, None, f"HTTP {r.status_code}: {r.text[:200]}"
    return seconds, data, None


def run_queries(client: httpx.Client, queries: list[Query], runs: int) -> None:
    """A warm-up round, then `runs` rounds; a query that fails once is not sent again."""
    for round_no in range(runs + 1):
        for q in queries:
            if q.error is not None:
                continue
            seconds, data, error = send(client, q)
            if data is not None:
                q.summary, problem = q.check(data)
                if problem is not None:
                    error = f"wrong answer: {problem}"
            if error is not None:
                q.error = error
                say(f"  {q.name}: FAILED {error}")
                continue
            assert data is not None
            if round_no == 0:
                q.first_s = seconds
                say(f"  {q.name}: first {seconds * 1000:,.1f} ms, {q.summary}")
            else:
                q.times.append(seconds)
                if isinstance(data.get("executionTime"), int | float):
                    q.server_ms.append(float(data["executionTime"]))


def query_row(q: Query, raw_bytes: int) -> dict[str, Any]:
    row: dict[str, Any] = {"what": q.what, "endpoint": q.path, "request": q.body,
                           "ok": q.error is None and bool(q.times), "error": q.error,
                           "result": q.summary}
    if q.times:
        med = statistics.median(q.times)
        row.update(runs_ms=[round(t * 1000, 2) for t in q.times],
                   median_ms=round(med * 1000, 2), min_ms=round(min(q.times) * 1000, 2),
                   max_ms=round(max(q.times) * 1000, 2),
                   first_ms=round((q.first_s or 0) * 1000, 2),
                   server_median_ms=statistics.median(q.server_ms) if q.server_ms else None)
        if q.scan:
            row["gb_per_s"] = round(raw_bytes / med / 1e9, 3)
            row["raw_gb"] = raw_bytes / 1e9
    return row


# -- 3. ingest while queries run ---------------------------------------------------------------


def write_bodies(directory: Path, seed: int, count: int = 64, lines: int = 1000) -> Path:
    """wrk's bodies (no rare tokens), and the list file upload.lua reads."""
    directory.mkdir(parents=True, exist_ok=True)
    gen = gen_events.EventGenerator(count * lines, seed, lines, rare={})
    paths = []
    for chunk in gen:
        path = directory / f"body-{chunk.index}.txt"
        path.write_bytes(chunk.body)
        paths.append(str(path))
    listing = directory / "bodies.list"
    listing.write_text("\n".join(paths) + "\n")
    return listing


class QueryLoop:
    """One client sending the queries one after another until stopped."""

    def __init__(self, base: str, token: str, queries: list[Query]) -> None:
        self.base, self.token, self.queries = base, token, queries
        self.done: list[tuple[str, float]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=300,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            i = 0
            while not self._stop.is_set():
                q = self.queries[i % len(self.queries)]
                i += 1
                seconds, _, error = send(client, q)
                if error:
                    self.errors.append(f"{q.name}: {error}")
                else:
                    self.done.append((q.name, seconds))

    def __enter__(self) -> QueryLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def ingest_rounds(server: BenchServer, write_token: str, read_token: str, queries: list[Query],
                  listing: Path, seconds: float, runs: int, connections: int,
                  warmup: float) -> dict[str, Any]:
    url = (f"{server.base}/api/uploadLogs?token={write_token}&host=ingest-bench"
           "&logfile=/var/log/bench/ingest.log")
    lines_per_body = 1000

    def one(phase: str, loop: QueryLoop | None) -> dict[str, Any]:
        server.phase = phase
        cpu0 = server.cpu_seconds()
        res = ingest_bench.wrk(url, listing, connections, seconds, None)
        cpu1 = server.cpu_seconds()
        wall = res["duration_us"] / 1e6
        row = {"lines_per_s": res["ok"] * lines_per_body / wall,
               "requests_ok": res["ok"], "not_success": res["duplicate"] + res["other"],
               "errors": res["errors"], "p50_ms": res["latency_us"]["p50"] / 1000,
               "p99_ms": res["latency_us"]["p99"] / 1000,
               "server_cpu_cores": round((cpu1 - cpu0) / wall, 2), "seconds": round(wall, 2)}
        if loop is not None:
            done = list(loop.done)
            row["queries_done"] = len(done)
            row["query_errors"] = loop.errors[:5]
            by_name: dict[str, list[float]] = {}
            for name, s in done:
                by_name.setdefault(name, []).append(s * 1000)
            row["query_median_ms"] = {n: round(statistics.median(v), 1)
                                      for n, v in by_name.items()}
        return row

    if warmup > 0:
        server.phase = "ingest_warmup"
        ingest_bench.wrk(url, listing, connections, warmup, None)
    alone: list[dict[str, Any]] = []
    under: list[dict[str, Any]] = []
    for i in range(runs):
        alone.append(one("ingest_alone", None))
        say(f"  run {i + 1} ingest alone        {alone[-1]['lines_per_s']:>11,.0f} lines/s  "
            f"p99 {alone[-1]['p99_ms']:7.1f} ms  CPU {alone[-1]['server_cpu_cores']:.2f}")
        with QueryLoop(server.base, read_token, queries) as loop:
            under.append(one("ingest_under_query", loop))
        u = under[-1]
        say(f"  run {i + 1} ingest under queries {u['lines_per_s']:>11,.0f} lines/s  "
            f"p99 {u['p99_ms']:7.1f} ms  CPU {u['server_cpu_cores']:.2f}  "
            f"{u['queries_done']} queries done {u['query_median_ms']}"
            + (f" errors {u['query_errors']}" if u["query_errors"] else ""))
    a = statistics.median(r["lines_per_s"] for r in alone)
    b = statistics.median(r["lines_per_s"] for r in under)
    return {"seconds_per_run": seconds, "runs": runs, "connections": connections,
            "lines_per_request": lines_per_body, "queries": [q.name for q in queries],
            "alone_lines_per_s": a, "under_query_lines_per_s": b,
            "ratio": b / a if a else None, "alone": alone, "under_query": under}


# -- report ------------------------------------------------------------------------------------


def verdicts(rows: dict[str, dict[str, Any]], ingest: dict[str, Any] | None) -> list[str]:
    out = []

    def line(met: bool | None, text: str) -> None:
        out.append(f"{'n/a ' if met is None else 'MET ' if met else 'MISS'} {text}")

    r = rows["newest100_rare"]
    if r["ok"]:
        line(r["median_ms"] < TARGET_NEWEST_MS,
             f"newest-100 of a rare term: {r['median_ms']:,.1f} ms (target < "
             f"{TARGET_NEWEST_MS:.0f} ms)")
    else:
        line(None, f"newest-100 of a rare term: not measured ({r['error']})")
    r = rows["scan_rate"]
    if r["ok"]:
        line(r["gb_per_s"] >= TARGET_SCAN_GB_S,
             f"brute-force scan: {r['gb_per_s']:.2f} GB/s, {r['median_ms']:,.0f} ms for "
             f"{r['raw_gb']:.3f} GB (target >= {TARGET_SCAN_GB_S:g} GB/s)")
    else:
        line(None, f"brute-force scan: not measured ({r['error']})")
    if ingest and ingest.get("ratio") is not None:
        line(ingest["ratio"] >= TARGET_INGEST_RATIO,
             f"ingest under queries: {ingest['ratio']:.0%} of {ingest['alone_lines_per_s']:,.0f}"
             f" lines/s (target >= {TARGET_INGEST_RATIO:.0%})")
    else:
        line(None, "ingest under queries: not measured"
             + (f" ({ingest['skipped']})" if ingest and "skipped" in ingest else ""))
    return out


def table(rows: dict[str, dict[str, Any]]) -> str:
    head = ["query", "median ms", "min ms", "max ms", "first ms", "server ms", "GB/s", "result"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        if r["ok"]:
            cells = [name, f"{r['median_ms']:,.1f}", f"{r['min_ms']:,.1f}", f"{r['max_ms']:,.1f}",
                     f"{r['first_ms']:,.1f}",
                     "-" if r["server_median_ms"] is None else f"{r['server_median_ms']:,.0f}",
                     f"{r['gb_per_s']:.2f}" if "gb_per_s" in r else "", r["result"]]
        else:
            cells = [name, "FAILED", "", "", "", "", "", str(r["error"])[:90]]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# -- main --------------------------------------------------------------------------------------


def copy_data(src: Path, dst: Path) -> None:
    """The data directory's regular files (not the admin socket)."""
    def ignore(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if not (Path(directory) / n).is_file()
                and not (Path(directory) / n).is_dir()]
    shutil.copytree(src, dst, ignore=ignore)


def bench(events: int = 10_000_000, runs: int = 5, seed: int = 1, chunk_lines: int = 10_000,
          clients: int = 4, keep: Path | None = None, ingest_seconds: float = 10.0,
          ingest_runs: int = 3, connections: int = 32, out_dir: Path | None = RESULTS,
          label: str = "", python: str = sys.executable,
          server_env: dict[str, str] | None = None, ingest_warmup: float = 2.0,
          settle_window: float = 2.0) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    env = dict(server_env or {})
    started = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="millpond-query-bench-") as tmp:
        workdir = Path(tmp)
        # -- 1. load (or reuse)
        meta_path = keep / META_NAME if keep else None
        reused = bool(meta_path and meta_path.exists())
        if keep is not None and meta_path is not None and reused:
            meta = json.loads(meta_path.read_text())
            if meta.get("version") != META_VERSION:
                raise SystemExit(f"{meta_path} is from another version of this script; "
                                 "remove the directory and load again")
            if meta["events"] != events or meta["seed"] != seed:
                say(f"note: {keep} holds {meta['events']:,} events (seed {meta['seed']}); "
                    "using those, not the --events/--seed given")
            say(f"reusing {keep}: {meta['events']:,} events loaded {meta['loaded_at']}; "
                "measuring on a copy")
            data_dir = workdir / "data"
            copy_data(keep, data_dir)
        else:
            if keep is not None and keep.exists() and any(keep.iterdir()):
                raise SystemExit(f"{keep} is not empty and holds no {META_NAME}; "
                                 "pass a new directory to load into")
            load_dir = keep if keep is not None else workdir / "data"
            meta = load(load_dir, workdir, events, seed, chunk_lines, clients, python, env,
                        settle_window)
            data_dir = load_dir
            if keep is not None:
                data_dir = workdir / "data"
                copy_data(keep, data_dir)
        raw_bytes = int(meta["raw_bytes"])

        # -- 2. queries and 3. ingest under queries, on one server
        queries = make_queries(meta)
        say(f"\nqueries over {meta['events']:,} events ({raw_bytes / 1e9:.3f} GB raw), "
            f"window {meta['window']['end_s'] - meta['window']['start_s']} s: "
            f"warm-up + {runs} runs each, round-robin")
        ingest: dict[str, Any] | None = None
        with serving(data_dir, workdir / "measure.log", python, env) as (server, _):
            server.phase = "settle"
            settle = wait_idle(server, window=settle_window)
            say(f"  server idle {'never (gave up)' if settle is None else f'after {settle:.1f} s'}")
            server.phase = "queries"
            tokens = meta["tokens"]
            with httpx.Client(base_url=server.base, timeout=300,
                              headers={"Authorization": f"Bearer {tokens['read-logs']}"}) as c:
                run_queries(c, queries, runs)
            working = [q for q in queries if q.error is None and q.times]
            if ingest_runs > 0 and working:
                say(f"\ningest ({connections} connections, 1,000-line requests, "
                    f"{ingest_seconds:g} s a run) alone and while one client loops over "
                    f"{', '.join(q.name for q in working)}")
                listing = write_bodies(workdir / "bodies", seed + 1000)
                ingest = ingest_rounds(server, tokens["write-logs"], tokens["read-logs"],
                                       working, listing, ingest_seconds, ingest_runs,
                                       connections, ingest_warmup)
            elif ingest_runs > 0:
                ingest = {"skipped": "no query worked"}
            server_log = (workdir / "measure.log").read_text()[-2000:]
        peak_rss = {k: round(v / 1e6, 1) for k, v in server.peak_rss.items()}

    rows = {q.name: query_row(q, raw_bytes) for q in queries}
    result: dict[str, Any] = {
        "started": stamp,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": ingest_bench.machine(),
        "settings": {"events": meta["events"], "runs": runs, "seed": meta["seed"],
                     "chunk_lines": meta["chunk_lines"], "upload_clients": clients,
                     "ingest_seconds": ingest_seconds, "ingest_runs": ingest_runs,
                     "ingest_connections": connections, "server_env": env,
                     "keep": str(keep) if keep else None, "reused": reused},
        "load": {k: v for k, v in meta.items() if k not in ("tokens", "expected")},
        "expected": {k: v for k, v in meta["expected"].items() if k in
                     ("common_term", "common_count", "rare")},
        "queries": rows,
        "ingest_under_query": ingest,
        "peak_rss_mb_by_phase": peak_rss,
        "settle_before_queries_s": None if settle is None else round(settle, 1),
        "targets": verdicts(rows, ingest),
        "server_log_tail": server_log,
    }
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    report(result)
    if out_dir is not None:
        path = ingest_bench.save_result(result, out_dir / f"query-{stamp}{label}.json")
        say(f"\nraw results: {path}")
    say(f"wall time {result['wall_seconds']:.0f} s")
    result["failed"] = [n for n, r in rows.items() if not r["ok"]]
    return result


def report(result: dict[str, Any]) -> None:
    load_ = result["load"]
    m = result["machine"]
    ing = load_["ingest"]
    say(f"\n{load_['events']:,} events, {load_['raw_bytes'] / 1e9:.3f} GB raw "
        f"({load_['mean_line_bytes']} B a line), {m['nproc']} CPUs ({m['cpu_model']})"
        + (f"; data loaded earlier, {load_['loaded_at']}" if result["settings"]["reused"]
           else ""))
    settle = ing.get("settle_seconds")
    say(f"load: generated in {load_['generate_seconds']:.1f} s; uploaded in {ing['seconds']:.1f} s"
        f" = {ing['lines_per_s']:,.0f} lines/s, {ing['mb_per_s']:.1f} MB/s "
        f"({ing['clients']} clients, {ing['requests']:,} requests); server idle (text index "
        f"built) {'never' if settle is None else f'{settle:.1f} s'} later; data directory "
        f"{load_['data_dir_bytes'] / 1e6:,.0f} MB on disk "
        f"({load_['data_dir_bytes'] / max(1, load_['raw_bytes']):.0%} of the raw text); "
        f"server peak RSS while loading {load_['peak_rss_mb']:.0f} MB")
    if load_.get("reference_grep"):
        g = load_["reference_grep"]
        say(f"reference: grep -F -i -c over the raw file: {g['seconds']:.3f} s = "
            f"{g['gb_per_s']:.2f} GB/s")
    runs = result["settings"]["runs"]
    say(f"\nQueries, medians of {runs} runs after a warm-up (client wall time; server ms = "
        "executionTime):\n")
    say(table(result["queries"]))
    ing2 = result["ingest_under_query"]
    if ing2 and "ratio" in ing2:
        say(f"\ningest alone {ing2['alone_lines_per_s']:,.0f} lines/s, under queries "
            f"{ing2['under_query_lines_per_s']:,.0f} lines/s: ratio {ing2['ratio']:.2f} "
            f"(medians of {ing2['runs']} x {ing2['seconds_per_run']:g} s)")
    say(f"server peak RSS by phase (MB): {result['peak_rss_mb_by_phase']}")
    say("")
    for v in result["targets"]:
        say(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Search benchmark of millpond serve")
    parser.add_argument("--events", type=int, help="events to load (default 10,000,000; "
                        "--quick: 200,000)")
    parser.add_argument("--runs", type=int, help="timed runs of each query (default 5; "
                        "--quick: 2)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="load into DIR once and reuse it in later runs (measured on a copy)")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run: 200k events, 2 runs, 1 x 3 s of ingest")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-lines", type=int, default=10_000,
                        help="lines per upload request while loading")
    parser.add_argument("--clients", type=int, default=4, help="concurrent upload clients")
    parser.add_argument("--ingest-seconds", type=float, help="per ingest run (default 10)")
    parser.add_argument("--ingest-runs", type=int,
                        help="pairs of ingest runs, alone and under queries (default 3; 0: skip)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server, e.g. MILLPOND_MEMORY_LIMIT=1GB")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: Any, full: Any, small: Any) -> Any:
        return value if value is not None else (small if quick else full)

    env = {}
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--server-env wants NAME=VALUE, not {item!r}")
        env[name] = value
    result = bench(
        events=pick(args.events, 10_000_000, 200_000), runs=pick(args.runs, 5, 2),
        seed=args.seed, chunk_lines=args.chunk_lines, clients=args.clients, keep=args.keep,
        ingest_seconds=pick(args.ingest_seconds, 10.0, 3.0),
        ingest_runs=pick(args.ingest_runs, 3, 1), connections=args.connections,
        out_dir=args.out, label="-quick" if quick else "", server_env=env,
    )
    if result["failed"]:
        say(f"\n{len(result['failed'])} measurement(s) failed: {', '.join(result['failed'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
