"""How fast `parse_body` reads addEvents bodies: strict JSON, the agent's dialect, the exact parser.

The agent body is laid out byte for byte like scalyr-agent-2's (see
/work/shared/fixtures/scalyr-agent/addEvents-data.body): unquoted keys, length-prefixed
messages with their line endings, `si`/`sn` on the first event and `sd` after, the duplicate
`threads`. The strict body is the same request as JSON from orjson.

    .venv/bin/python benchmarks/parse_addevents.py              # 1,000 events, medians in ms
    .venv/bin/python benchmarks/parse_addevents.py --events 5000 --repeat 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_events import generate_lines

from millpond.ingest.scalyr_json import _agent_to_json, parse_body, parse_exact

LOG_ATTRS = {"service": "demo", "parser": "sampleParser", "logfile": "/var/log/demo/app.log"}


def agent_body(events: int, seed: int = 1) -> bytes:
    """A data request of `events` lines from one log file, as the agent writes it."""
    lines = [line + "\n" for line in generate_lines(events, seed, chunk_lines=50)]
    attrs = b'{"service": "demo", "parser": "sampleParser", "logfile": "/var/log/demo/app.log",'
    out = [
        b'{"token": "SAMPLE-WRITE-TOKEN", "session": "dexynHyCUk2NEZld7N9uGNJRBrg=", '
        b'"threads": [], "sessionInfo": {"serverHost": "sample-host", "tier": "acceptance"}, '
        b"events: ["
    ]
    ts, sn = 1795920448022170112, 63
    for i, line in enumerate(lines):
        raw = line.encode()
        seq = (
            b',si:"d1acd674-23df-4a4e-af49-ed5bb1fab155",sn:%d' % sn
            if i == 0
            else b",sd:%d" % len(raw)
        )
        out.append(
            (b"," if i else b"")
            + b'{thread:"log_1", log:"log_1", attrs:'
            + attrs
            + b"message:`s"
            + len(raw).to_bytes(4, "big")
            + raw
            + b'},ts:"%d"' % ts
            + seq
            + b"}"
        )
        ts += 20_000
        sn += len(raw)
    out.append(
        b'], logs: [{"id": "log_1", "attrs": ' + orjson.dumps(LOG_ATTRS) + b"}], "
        b'threads: [{"id": "log_1", "name": "Lines for file /var/log/demo/app.log"}], '
        b"client_time: 1795920448 }"
    )
    return b"".join(out)


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args(argv)

    agent = agent_body(args.events)
    request = parse_body(agent)
    strict = orjson.dumps(request)
    assert parse_exact(agent) == request == parse_body(strict)
    assert _agent_to_json(agent) == request, "the agent body must take the fast path"

    print(f"{args.events} events: agent body {len(agent):,} bytes, strict JSON {len(strict):,}")
    rows = [
        ("strict JSON (orjson.loads)", lambda: parse_body(strict)),
        ("agent dialect, fast path", lambda: parse_body(agent)),
        ("agent dialect, exact parser", lambda: parse_exact(agent)),
    ]
    for name, fn in rows:
        repeat = args.repeat if "exact" not in name else max(5, args.repeat // 10)
        ms = median_ms(fn, repeat)
        print(f"  {name:30} {ms:8.2f} ms  {args.events / ms * 1000:12,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
