"""`make bench`: uploadLogs and addEvents throughput and latency of a real `millpond serve`, next
to a baseline.

Each scenario runs against two servers, alternately, several times:

- **millpond**: `millpond serve` on a fresh data directory, durable acks (every answered request
  is committed to DuckDB and its WAL fsync'd).
- **baseline**: `benchmarks/baseline_server.py`, the same app and runner with a store that
  stores nothing, so the ratio between the two is what storing costs.

The load generator is `wrk` on the same machine: `upload.lua` for uploadLogs (plain text, token
in the URL), `addevents.lua` for addEvents (the Scalyr Agent's requests: its JSON dialect,
deflate-compressed, the token in the body). After each run of the real server it is stopped
and the rows in its database are counted: every acknowledged line (event) must be there.
Medians over the runs are printed as a table and the raw results written as JSON to
benchmarks/results/.

    .venv/bin/python benchmarks/run.py [--runs 3] [--duration 10] [--scenario bulk ...]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "upload.lua"
AGENT_LUA = HERE / "addevents.lua"
BASELINE = HERE / "baseline_server.py"
RESULTS = HERE / "results"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    lines_per_request: int  # lines (uploadLogs) or events (addEvents) in each request
    connections: int
    nonce: bool
    what: str
    api: str = "uploadLogs"  # or "addEvents"
    # addEvents: every event carries a sequence id/number (si + sn, then sd), so the replayed
    # bodies are duplicates that millpond acknowledges and drops.
    sequenced: bool = False
    default: bool = True  # run when no --scenario is given
    # Parser scenarios: bodies of one gen_events kind, sent with `&parser=NAME`, measured
    # against the same bodies sent without it ("unparsed", the same millpond) in the same run.
    kind: str | None = None
    parser: str | None = None
    servers: tuple[str, ...] = ("millpond", "baseline")

    @property
    def unit(self) -> str:
        return "events" if self.api == "addEvents" else "lines"


SCENARIOS = {
    "bulk": Scenario("bulk", 1000, 32, False, "1,000-line requests (~100 B a line)"),
    "single": Scenario("single", 1, 64, False, "single-line requests"),
    "single-nonce": Scenario(
        "single-nonce", 1, 64, True, "single-line requests, a unique Nonce header each"
    ),
    "addevents": Scenario(
        "addevents", 1000, 32, False,
        "addEvents, 1,000-event Agent-dialect bodies, deflate, token in the body",
        api="addEvents",
    ),
    "addevents-dedupe": Scenario(
        "addevents-dedupe", 1000, 32, False,
        "addEvents replaying bodies with si/sn: after the first pass every event is a "
        "duplicate (acknowledged, dropped)",
        api="addEvents", sequenced=True, default=False,
    ),
    "parse-access": Scenario(
        "parse-access", 1000, 32, False,
        "uploadLogs, 1,000 access-log lines a request, parser=accessLog vs no parser",
        default=False, kind="access", parser="accessLog", servers=("unparsed", "millpond"),
    ),
    "parse-json": Scenario(
        "parse-json", 1000, 32, False,
        "uploadLogs, 1,000 JSON lines a request, parser=json vs no parser",
        default=False, kind="json", parser="json", servers=("unparsed", "millpond"),
    ),
}
PARSER_SCENARIOS = [name for name, s in SCENARIOS.items() if s.parser]

# The issues' targets, checked against the medians of the real server. lines_per_s counts
# events for the addEvents scenarios (one line = one event).
TARGETS = {
    "bulk": {"lines_per_s": 400_000},
    "single": {"requests_per_s": 4_000, "p99_ms_max": 50},
    "addevents": {"lines_per_s": 250_000},
    # issue 5: parsed throughput at least half the unparsed one, measured in the same run
    "parse-access": {"vs_unparsed": 0.5},
    "parse-json": {"vs_unparsed": 0.5},
}
RSS_TARGET_MB = 300


# -- request bodies ------------------------------------------------------------------------

_PATHS = ["/api/v1/items", "/api/v1/users", "/static/app.js", "/login", "/api/v2/search",
          "/healthz", "/api/v1/orders", "/img/logo.png", "/cart", "/api/v1/events"]
_AGENTS = ["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "python-requests/2.32",
           "Go-http-client/1.1", "kube-probe/1.29"]
_LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
_WORDS = ["cache", "miss", "retry", "upstream", "timeout", "connection", "pool", "user",
          "session", "token", "refreshed", "flushed", "queue", "depth", "worker", "shard",
          "replica", "lag", "compaction", "finished", "started", "request", "rejected"]
_NAMES = ["alice", "bob", "chloé", "dmitrij", "eve", "françois", "grace", "ĥelena", "ivan"]


def log_line(r: random.Random) -> str:
    """One realistic log line: access logs, app logs, JSON logs, syslog; ~100 bytes average."""
    kind = r.random()
    ts = (f"2024-05-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:"
          f"{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z")
    if kind < 0.35:
        ip = ".".join(str(r.randint(1, 254)) for _ in range(4))
        return (f'{ip} - - [{ts}] "GET {r.choice(_PATHS)}/{r.randint(1, 99999)} HTTP/1.1" '
                f"{r.choice([200, 200, 200, 304, 404, 500])} {r.randint(0, 50000)} "
                f'"{r.choice(_AGENTS)}"')
    if kind < 0.65:
        words = " ".join(r.choice(_WORDS) for _ in range(r.randint(2, 7)))
        return (f"{ts} {r.choice(_LEVELS):<5} [worker-{r.randint(0, 15)}] "
                f"{words} id={r.getrandbits(48):x} took={r.random() * 200:.1f}ms")
    if kind < 0.85:
        return (f'{{"ts":"{ts}","level":"{r.choice(_LEVELS).lower()}","user":'
                f'"{r.choice(_NAMES)}","msg":"{r.choice(_WORDS)} {r.choice(_WORDS)}",'
                f'"latency_ms":{r.randint(1, 900)}}}')
    return (f"<{r.randint(0, 191)}>May {r.randint(1, 28)} {r.randint(0, 23):02d}:"
            f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d} host{r.randint(1, 40)} "
            f"sshd[{r.randint(100, 65000)}]: Accepted publickey for {r.choice(_NAMES)} "
            f"from 10.0.{r.randint(0, 255)}.{r.randint(1, 254)} port {r.randint(1024, 65535)}")


def write_bodies(directory: Path, lines_per_body: int, count: int, seed: int) -> Path:
    """`count` body files of `lines_per_body` lines each; returns the list file wrk reads."""
    r = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"body-{lines_per_body}-{i}.txt"
        path.write_bytes(
            "".join(log_line(r) + "\n" for _ in range(lines_per_body)).encode()
        )
        paths.append(str(path))
    listing = directory / f"bodies-{lines_per_body}.list"
    listing.write_text("\n".join(paths) + "\n")
    return listing


def kind_bodies(directory: Path, kind: str, lines_per_body: int, count: int) -> Path:
    """`count` bodies of `lines_per_body` lines of one gen_events kind (access, json, ...);
    the list file wrk reads."""
    gen_events = _sibling("gen_events")
    directory.mkdir(parents=True, exist_ok=True)
    gen = gen_events.EventGenerator(lines_per_body * count * 12, 5, lines_per_body, rare={})
    paths = []
    for chunk in gen:
        if chunk.kind == kind:
            path = directory / f"body-{kind}-{len(paths)}.txt"
            path.write_bytes(chunk.body)
            paths.append(str(path))
            if len(paths) == count:
                break
    else:
        raise RuntimeError(f"gen_events made fewer than {count} chunks of kind {kind!r}")
    listing = directory / f"bodies-{kind}.list"
    listing.write_text("\n".join(paths) + "\n")
    return listing


def body_stats(listing: Path) -> tuple[float, float]:
    """Mean bytes per request and per line of the bodies in a list file."""
    sizes, lines = [], 0
    for name in listing.read_text().split():
        data = Path(name).read_bytes()
        sizes.append(len(data))
        lines += data.count(b"\n")
    return statistics.mean(sizes), sum(sizes) / lines


# -- addEvents bodies: what the Scalyr Agent sends -----------------------------------------
#
# The Agent (scalyr-agent-2) hand-assembles its JSON (spec §2.2): quoted keys in the request's
# base object, unquoted keys in what it appends (`events`, `thread`, `log`, `attrs`, `message`,
# `ts`, `logs`, `threads`, `client_time`), each message as a length-prefixed raw string
# (`` `s `` + big-endian int32 byte count + the bytes, trailing newline included), `threads`
# twice (the base's empty one, then the trailer's), no line breaks. The bytes below follow
# /work/shared/fixtures/scalyr-agent/addEvents-data.body (agent 2.2.8) field for field.

TOKEN_SLOT = b"@@MILLPOND-BENCH-WRITE-TOKEN@@"  # replaced by each server's write-logs token
AGENT_DEFLATE_LEVEL = 6  # the Agent's default compression_level for deflate (since 2.1.8)
_SERVICES = {"access": "frontend", "syslog": "system", "json": "app", "kv": "workers"}


def _sibling(name: str) -> ModuleType:
    """A module next to this file (benchmarks/ is not a package), shared with query_bench."""
    import importlib.util

    key = f"millpond_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def agent_string(raw: bytes) -> bytes:
    """The Agent's length-prefixed string: `s, a big-endian int32 byte count, the raw bytes."""
    return b"`s" + struct.pack(">i", len(raw)) + raw


def _q(value: Any) -> bytes:
    """A JSON value as the Agent's `json.dumps` writes it (", " and ": " separators)."""
    return json.dumps(value).encode()


def agent_body(*, session: str, session_info: dict[str, Any], log_id: str,
               log_attrs: dict[str, Any], logfile: str, lines: list[bytes], ts_ns: list[int],
               client_time: int, seq: tuple[str, int] | None = None,
               token: bytes = TOKEN_SLOT) -> bytes:
    """One addEvents request body of one log file, byte for byte as the Agent writes it.

    `seq` = (sequence id, byte offset of the first line in the file): every event then carries
    sequencing as the Agent's EventSequencer does: `si` + `sn` on the first, `sd` after, where
    sn is the offset just past the line.
    """
    head = (b'{"token": "' + token + b'", "session": ' + _q(session) + b', "threads": [], '
            b'"sessionInfo": ' + _q(session_info) + b", events: [")
    # The Agent writes every event's attrs in full (its log's attributes, then message).
    attrs_head = (b'{thread:' + _q(log_id) + b", log:" + _q(log_id) + b", attrs:"
                  + _q(log_attrs)[:-1] + b",message:")
    events = []
    offset = seq[1] if seq else 0
    for i, (line, ts) in enumerate(zip(lines, ts_ns, strict=True)):
        message = line + b"\n"
        tail = b'},ts:"' + str(ts).encode() + b'"'
        if seq is not None:
            offset += len(message)
            if i == 0:
                tail += b",si:" + _q(seq[0]) + b",sn:" + str(offset).encode()
            else:
                tail = b"},sd:" + str(len(message)).encode() + tail[1:]
        events.append(attrs_head + agent_string(message) + tail + b"}")
    trailer = (b"], logs: [{\"id\": " + _q(log_id) + b', "attrs": ' + _q(log_attrs)
               + b"}], threads: [{\"id\": " + _q(log_id) + b', "name": '
               + _q(f"Lines for file {logfile}") + b"}], client_time: "
               + str(client_time).encode() + b" }")
    return head + b",".join(events) + trailer


def agent_bodies(count: int, events_per_body: int, seed: int, sequenced: bool) -> list[bytes]:
    """`count` distinct Agent bodies (token left as TOKEN_SLOT), realistic lines from
    gen_events: every body one log file of one host, one session per host (one Agent each)."""
    import base64
    import hashlib
    import uuid

    gen_events = _sibling("gen_events")
    gen = gen_events.EventGenerator(count * events_per_body, seed, events_per_body, rare={})
    r = random.Random(seed)
    log_ids: dict[tuple[str, str], str] = {}
    bodies = []
    for chunk in gen:
        session = base64.b64encode(
            hashlib.sha1(f"{seed}/{chunk.host}".encode()).digest()
        ).decode()
        n_logs = sum(1 for host, _ in log_ids if host == chunk.host)
        log_id = log_ids.setdefault((chunk.host, chunk.logfile), f"log_{n_logs + 1}")
        base_ns = gen_events.BASE_TIME_S * 10**9 + chunk.first_line * gen_events.STEP_NS
        ts_ns = [base_ns + i * gen_events.STEP_NS + r.randrange(1000)
                 for i in range(chunk.lines)]
        seq = None
        if sequenced:  # a UUID per body (log file), a byte offset as the Agent's checkpoint
            seq = (str(uuid.UUID(int=r.getrandbits(128), version=4)), r.randrange(1 << 30))
        bodies.append(agent_body(
            session=session,
            session_info={"serverHost": chunk.host, "tier": "production"},
            log_id=log_id,
            # A parser name nobody defined, as in the recorded Agent body ("sampleParser"):
            # this scenario measures the protocol path; `--scenario parse-*` measures parsing.
            log_attrs={"service": _SERVICES.get(chunk.kind, chunk.kind),
                       "parser": f"{chunk.kind}Sample", "logfile": chunk.logfile},
            logfile=chunk.logfile,
            lines=chunk.body.rstrip(b"\n").split(b"\n"),
            ts_ns=ts_ns,
            client_time=ts_ns[-1] // 10**9 + 1,
            seq=seq,
        ))
    return bodies


class TextBodies:
    """uploadLogs: the same plain-text body files for every server (the token is in the URL)."""

    def __init__(self, listing: Path) -> None:
        self.listing = listing
        self.mean_bytes, self.mean_line = body_stats(listing)
        self.mean_wire = self.mean_bytes

    def for_server(self, token: str) -> Path:
        return self.listing

    def describe(self) -> str:
        return f"body {self.mean_bytes:,.0f} B, line {self.mean_line:.0f} B"


class AgentBodies:
    """addEvents: Agent bodies with each server's token inside, deflate-compressed."""

    def __init__(self, directory: Path, templates: list[bytes], events_per_body: int) -> None:
        self.directory = directory
        self.templates = templates
        self.events_per_body = events_per_body
        # Sizes with the placeholder token until for_server() knows the real one.
        self.mean_bytes = statistics.mean(len(t) for t in templates)  # decompressed
        self.mean_wire = statistics.mean(
            len(zlib.compress(t, AGENT_DEFLATE_LEVEL)) for t in templates
        )

    def for_server(self, token: str) -> Path:
        """Body files and a list file for wrk, the token in place; cached per token."""
        import hashlib

        where = self.directory / f"agent-{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        listing = where / "bodies.list"
        if listing.exists():
            return listing
        where.mkdir(parents=True, exist_ok=True)
        paths, raw_sizes, wire_sizes = [], [], []
        for i, template in enumerate(self.templates):
            raw = template.replace(TOKEN_SLOT, token.encode())
            data = zlib.compress(raw, AGENT_DEFLATE_LEVEL)
            path = where / f"body-{i}.deflate"
            path.write_bytes(data)
            paths.append(str(path))
            raw_sizes.append(len(raw))
            wire_sizes.append(len(data))
        self.mean_bytes = statistics.mean(raw_sizes)
        self.mean_wire = statistics.mean(wire_sizes)
        listing.write_text("\n".join(paths) + "\n")
        return listing

    def describe(self) -> str:
        return (f"body {self.mean_bytes:,.0f} B, {self.mean_wire:,.0f} B deflated, "
                f"{self.mean_bytes / self.events_per_body:.0f} B an event")


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Server:
    """A millpond (or baseline) server process on a fresh data directory."""

    def __init__(self, kind: str, workdir: Path, python: str) -> None:
        self.kind = kind
        self.data_dir = workdir / f"data-{kind}-{time.monotonic_ns()}"
        self.port = free_port()
        self.python = python
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{self.data_dir.name}.log"
        self.rss_samples: list[tuple[float, int]] = []
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/uploadLogs?token={self.token}"

    def endpoint(self, api: str) -> str:
        if api == "addEvents":  # the Agent's path; its token is in the body
            return f"http://127.0.0.1:{self.port}/addEvents"
        return self.url

    def command(self) -> list[str]:
        """The server's command line (benchmarks/writer_stats.py starts another)."""
        if self.kind == "baseline":
            return [self.python, str(BASELINE), "--data-dir", str(self.data_dir),
                    "--port", str(self.port)]
        return [self.python, "-m", "millpond", "serve", "--data-dir", str(self.data_dir),
                "--port", str(self.port)]

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            MILLPOND_LOG_LEVEL="warning",
            MILLPOND_RETENTION_DAYS="0",
            PYTHONUNBUFFERED="1",
        )
        if self.kind == "baseline":
            env["MILLPOND_RATE_LIMIT"] = "0"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited:\n{self.log_path.read_text()}")
            match = re.search(r"^\s*write-logs\s+(\S+)", self.log_path.read_text(), re.M)
            if match and self._healthy():
                self.token = match.group(1)
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"{self.kind} server did not start:\n{self.log_path.read_text()}")
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def _sample_rss(self) -> None:
        assert self.proc is not None
        start = time.monotonic()
        while not self._sampling.wait(0.1):
            with contextlib.suppress(OSError):
                self.rss_samples.append(
                    (round(time.monotonic() - start, 2), proc_status(self.proc.pid, "VmRSS"))
                )

    def peak_rss(self) -> int:
        assert self.proc is not None
        return proc_status(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode not in (0, -signal.SIGINT):
            raise RuntimeError(
                f"{self.kind} server exited with {self.proc.returncode}:\n"
                + self.log_path.read_text()[-3000:]
            )

    def count_stored(self) -> dict[str, int]:
        """Rows in the stopped server's database."""
        import duckdb

        path = self.data_dir / "millpond.duckdb"
        with duckdb.connect(str(path), read_only=True) as conn:
            events = conn.execute("SELECT count(*) FROM events").fetchone()
            nonces = conn.execute("SELECT count(*) FROM nonces").fetchone()
            tables = {t for (t,) in conn.execute("SHOW TABLES").fetchall()}
            marks = (conn.execute("SELECT count(*) FROM seq_marks").fetchone()
                     if "seq_marks" in tables else None)
        return {"events": int(events[0]) if events else 0,
                "nonces": int(nonces[0]) if nonces else 0,
                "seq_marks": int(marks[0]) if marks else 0}


@contextlib.contextmanager
def running(kind: str, workdir: Path, python: str) -> Iterator[Server]:
    server = Server(kind, workdir, python)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- load ----------------------------------------------------------------------------------


def wrk(url: str, listing: Path, connections: int, seconds: float, nonce_prefix: str | None,
        threads: int = 1, script: Path = LUA) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
           "--timeout", "10s", "--latency", "-s", str(script), url, "--", str(listing)]
    if nonce_prefix is not None:
        cmd += ["nonce", nonce_prefix]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("MILLPOND_JSON "):
            result: dict[str, Any] = json.loads(line.split(" ", 1)[1])
            return result
    raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


def one_run(kind: str, scenario: Scenario, bodies: TextBodies | AgentBodies, workdir: Path,
            python: str, duration: float, warmup: float, run_id: str) -> dict[str, Any]:
    script = AGENT_LUA if scenario.api == "addEvents" else LUA
    with running("millpond" if kind == "unparsed" else kind, workdir, python) as server:
        listing = bodies.for_server(server.token)
        url = server.endpoint(scenario.api)
        if scenario.parser and kind != "unparsed":
            url += f"&parser={scenario.parser}"
        pid = server.proc.pid if server.proc else 0
        acked = 0
        warm: dict[str, Any] | None = None
        if warmup > 0:
            warm = wrk(url, listing, scenario.connections, warmup,
                       f"{run_id}-w" if scenario.nonce else None, script=script)
            acked += warm["ok"]
        cpu0, (busy0, total0) = cpu_seconds(pid), machine_busy()
        res = wrk(url, listing, scenario.connections, duration,
                  f"{run_id}-m" if scenario.nonce else None, script=script)
        cpu1, (busy1, total1) = cpu_seconds(pid), machine_busy()
        acked += res["ok"]
        peak = server.peak_rss()
    mean_body = bodies.mean_bytes
    seconds = res["duration_us"] / 1e6
    lat = res["latency_us"]
    row: dict[str, Any] = {
        "server": kind,
        "scenario": scenario.name,
        "run_id": run_id,
        "seconds": round(seconds, 3),
        "connections": scenario.connections,
        "requests": res["requests"],
        "ok": res["ok"],
        "requests_per_s": res["ok"] / seconds,
        "lines_per_s": res["ok"] * scenario.lines_per_request / seconds,
        # MB/s: of the bodies as the server parses them (decompressed for addEvents).
        "mb_per_s": res["ok"] * mean_body / seconds / 1e6,
        "wire_mb_per_s": res["ok"] * bodies.mean_wire / seconds / 1e6,
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000,
        "peak_rss_mb": peak / 1e6,
        "server_cpu_cores": (cpu1 - cpu0) / seconds,
        "machine_busy": (busy1 - busy0) / max(1, total1 - total0),
        "errors": res["errors"],
        "not_success": res["duplicate"] + res["other"],
        "wrk": res,
        "warmup": warm,
        "rss_samples": server.rss_samples,
    }
    if kind in ("millpond", "unparsed"):
        stored = server.count_stored()
        lines_acked = acked * scenario.lines_per_request
        # wrk stops at its deadline with up to one request per connection in flight; the
        # server may have committed those without wrk reading the answer (per wrk call).
        in_flight = 2 * scenario.connections * scenario.lines_per_request
        row["verify"] = {
            "lines_acked": lines_acked,
            "rows_stored": stored["events"],
            "nonces_stored": stored["nonces"],
            "seq_marks_stored": stored["seq_marks"],
            "unanswered_rows": stored["events"] - lines_acked,
            "ok": lines_acked <= stored["events"] <= lines_acked + in_flight,
        }
        if scenario.sequenced:
            # Every body is one sequence id, its events distinct (si, sn): each event is
            # stored once however often its body is resent; acknowledged resends store nothing.
            distinct = len(bodies.templates) if isinstance(bodies, AgentBodies) else 0
            unique = distinct * scenario.lines_per_request
            sent_all = acked >= distinct
            row["verify"].update(
                unique_events=unique,
                unanswered_rows=0,
                ok=(stored["events"] == unique and stored["seq_marks"] == distinct)
                if sent_all else lines_acked <= stored["events"] <= unique,
            )
    return row


# -- report --------------------------------------------------------------------------------

COLUMNS = [("lines_per_s", "lines/s", "{:,.0f}"), ("mb_per_s", "MB/s", "{:.1f}"),
           ("requests_per_s", "req/s", "{:,.0f}"), ("p50_ms", "p50 ms", "{:.1f}"),
           ("p99_ms", "p99 ms", "{:.1f}"), ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
           ("server_cpu_cores", "server CPU", "{:.2f}")]
# Medians kept in the JSON but not shown in the table.
EXTRA_MEDIANS = ["wire_mb_per_s", "machine_busy"]


def medians(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        out.setdefault(row["scenario"], {}).setdefault(row["server"], {})
    for scenario, servers in out.items():
        for server in servers:
            mine = [r for r in rows if r["scenario"] == scenario and r["server"] == server]
            servers[server] = {key: statistics.median(r[key] for r in mine)
                               for key in [*(k for k, _, _ in COLUMNS), *EXTRA_MEDIANS]
                               if all(key in r for r in mine)}
            servers[server]["runs"] = len(mine)
    return out


def table(med: dict[str, dict[str, dict[str, float]]]) -> str:
    head = ["scenario", "server", *(label for _, label, _ in COLUMNS)]
    if any(name in SCENARIOS and SCENARIOS[name].api == "addEvents" for name in med):
        head[2] = "lines or events/s"  # addEvents counts events, uploadLogs lines
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, servers in med.items():
        for server in ("millpond", "unparsed", "baseline"):
            if server not in servers:
                continue
            m = servers[server]
            cells = [scenario, server, *(fmt.format(m[key]) for key, _, fmt in COLUMNS)]
            lines.append("| " + " | ".join(cells) + " |")
        other = "baseline" if "baseline" in servers else "unparsed"
        if "millpond" in servers and other in servers:
            a, b = servers["millpond"], servers[other]
            cells = [scenario, "ratio"]
            for key, _, _ in COLUMNS:
                cells.append(f"{a[key] / b[key]:.2f}x" if b[key] else "-")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_targets(med: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    verdicts = []
    for scenario, target in TARGETS.items():
        m = med.get(scenario, {}).get("millpond")
        if not m:
            continue
        if "lines_per_s" in target:
            ok = m["lines_per_s"] >= target["lines_per_s"]
            unit = SCENARIOS[scenario].unit
            verdicts.append(f"{'PASS' if ok else 'MISS'} {scenario}: {m['lines_per_s']:,.0f} "
                            f"{unit}/s (target >= {target['lines_per_s']:,})")
        if "requests_per_s" in target:
            ok = m["requests_per_s"] >= target["requests_per_s"]
            verdicts.append(f"{'PASS' if ok else 'MISS'} {scenario}: "
                            f"{m['requests_per_s']:,.0f} req/s "
                            f"(target >= {target['requests_per_s']:,})")
        if "vs_unparsed" in target and "unparsed" in med.get(scenario, {}):
            ratio = m["lines_per_s"] / med[scenario]["unparsed"]["lines_per_s"]
            ok = ratio >= target["vs_unparsed"]
            verdicts.append(f"{'PASS' if ok else 'MISS'} {scenario}: {m['lines_per_s']:,.0f} "
                            f"lines/s parsed, {ratio:.2f}x the unparsed "
                            f"{med[scenario]['unparsed']['lines_per_s']:,.0f} "
                            f"(target >= {target['vs_unparsed']}x)")
        if "p99_ms_max" in target:
            ok = m["p99_ms"] < target["p99_ms_max"]
            verdicts.append(f"{'PASS' if ok else 'MISS'} {scenario}: p99 {m['p99_ms']:.1f} ms "
                            f"(target < {target['p99_ms_max']} ms)")
    peaks = [(s["millpond"]["peak_rss_mb"], name) for name, s in med.items() if "millpond" in s]
    if peaks:
        peak, where = max(peaks)
        verdicts.append(f"{'PASS' if peak < RSS_TARGET_MB else 'MISS'} peak server RSS: "
                        f"{peak:.0f} MB, the largest scenario median ({where}; target < "
                        f"{RSS_TARGET_MB} MB)")
    return verdicts


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return {"nproc": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "kernel": platform.release(), "wrk": wrk_version.splitlines()[0].strip()
            if wrk_version else ""}


def save_result(result: dict[str, Any], path: Path) -> Path:
    """Write a benchmark's results JSON atomically (its `path` recorded in it); the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result["path"] = str(path)
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(result, indent=1))
    tmp_path.replace(path)
    return path


def make_bodies(scenario: Scenario, workdir: Path) -> TextBodies | AgentBodies:
    """The bodies a scenario sends (the same seed, so the same bodies, in every run)."""
    n = scenario.lines_per_request
    if scenario.api == "addEvents":
        name = "agent-seq" if scenario.sequenced else "agent"
        return AgentBodies(workdir / "bodies" / f"{name}-{n}",
                           agent_bodies(64, n, seed=3, sequenced=scenario.sequenced), n)
    if scenario.kind:
        return TextBodies(kind_bodies(workdir / "bodies" / scenario.kind, scenario.kind, n, 64))
    count, seed = (64, 1) if n > 1 else (512, 2)
    return TextBodies(write_bodies(workdir / "bodies", n, count, seed=seed))


def bench(scenarios: list[str], runs: int, duration: float, warmup: float,
          out_dir: Path | None, python: str = sys.executable,
          connections: int | None = None, quiet: bool = False) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    started = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="millpond-bench-") as tmp:
        workdir = Path(tmp)
        for name in scenarios:
            scenario = SCENARIOS[name]
            if connections is not None:
                scenario = dataclasses.replace(scenario, connections=connections)
            bodies = make_bodies(scenario, workdir)
            unit = scenario.unit
            say(f"\n{scenario.name}: {scenario.what}, {scenario.connections} connections, "
                f"{runs} x {duration:g} s after {warmup:g} s warm-up ({bodies.describe()})")
            for i in range(runs):
                for kind in scenario.servers:
                    row = one_run(kind, scenario, bodies, workdir, python, duration, warmup,
                                  f"{stamp}-{name}-{i}-{kind}")
                    rows.append(row)
                    check = ""
                    if "verify" in row:
                        v = row["verify"]
                        check = (f"  stored {v['rows_stored']:,} rows for {v['lines_acked']:,} "
                                 f"acked {unit}: {'ok' if v['ok'] else 'MISMATCH'}")
                    say(f"  run {i + 1} {kind:<8} {row['lines_per_s']:>11,.0f} {unit}/s "
                        f"{row['requests_per_s']:>8,.0f} req/s  p50 {row['p50_ms']:6.1f} ms  "
                        f"p99 {row['p99_ms']:6.1f} ms  RSS {row['peak_rss_mb']:4.0f} MB  "
                        f"CPU {row['server_cpu_cores']:.2f}{check}")
    med = medians(rows)
    result = {
        "started": stamp,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": machine(),
        "settings": {"runs": runs, "duration_s": duration, "warmup_s": warmup},
        "medians": med,
        "targets": check_targets(med),
        "runs": rows,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    say(f"\nMedians of {runs} runs ({result['machine']['nproc']} CPUs, "
        f"{result['machine']['cpu_model']}):\n")
    say(table(med))
    say("")
    for verdict in result["targets"]:
        say(verdict)
    bad = [r for r in rows if not r.get("verify", {"ok": True})["ok"]]
    errors = [r for r in rows if r["not_success"] or any(r["errors"].values())]
    for r in bad:
        say(f"VERIFY FAILED {r['run_id']}: {r['verify']}")
    for r in errors:
        say(f"note: {r['run_id']}: {r['not_success']} answers were not success, "
            f"socket errors {r['errors']}")
    if out_dir is not None:
        path = save_result(result, out_dir / f"bench-{stamp}.json")
        say(f"\nraw results: {path}")
    say(f"wall time {result['wall_seconds']:.0f} s")
    result["verified"] = not bad
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="uploadLogs and addEvents benchmark against a baseline"
    )
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="run only these (repeatable); default: all but "
                        "addevents-dedupe")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each run")
    parser.add_argument("--connections", type=int, help="override every scenario's")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    scenarios = args.scenario or [name for name, s in SCENARIOS.items() if s.default]
    result = bench(scenarios, args.runs, args.duration, args.warmup, args.out,
                   connections=args.connections)
    return 0 if result["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
