"""How long the built-in parsers take per line: `Parser.parse` over realistic lines, in µs.

The lines come from the search benchmark's generator (`gen_events.py`): nginx/Apache combined
access lines for `accessLog`, application JSON lines for `json`, RFC 3164 lines for
`systemLog`, key=value lines for `keyValue`. Each parser gets `--lines` of its own kind, in
calls of `--batch` lines (one session and thread of one request), best of `--repeat` runs.

    .venv/bin/python benchmarks/parsers_builtin.py
    .venv/bin/python benchmarks/parsers_builtin.py --lines 50000 --repeat 7 --parser accessLog
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_events import PARSERS, EventGenerator

from millpond.parsers import builtin_parser

NOW_NS = 1_714_600_000 * 1_000_000_000


def lines_of(kind: str, count: int, seed: int = 1) -> list[str]:
    """`count` generated lines of one kind ("access", "json", "syslog", "kv")."""
    out: list[str] = []
    generator = EventGenerator(count * 8, seed, chunk_lines=500)
    for index in range(generator.n_chunks):
        if generator.chunk_kind(index) != kind:
            continue
        out += generator.chunk(index).body.decode().splitlines()
        if len(out) >= count:
            return out[:count]
    raise SystemExit(f"the generator made only {len(out)} {kind} lines; ask for fewer")


def bench(name: str, lines: list[str], batch: int, repeat: int) -> tuple[float, int]:
    """Best µs per line over `repeat` runs, and how many events had fields beyond the
    parser's own attributes (a check that the lines really parse)."""
    parser = builtin_parser(name)
    assert parser is not None
    batches = [lines[i : i + batch] for i in range(0, len(lines), batch)]
    best = float("inf")
    parsed = 0
    for _ in range(repeat):
        start = time.perf_counter()
        events = [event for chunk in batches for event in parser.parse(chunk, now_ns=NOW_NS)]
        best = min(best, time.perf_counter() - start)
        parsed = sum(1 for event in events if len(event.fields) > 1)
    return best / len(lines) * 1e6, parsed


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--lines", type=int, default=10_000)
    arguments.add_argument("--batch", type=int, default=500, help="lines per parse() call")
    arguments.add_argument("--repeat", type=int, default=5)
    arguments.add_argument(
        "--parser", action="append", choices=sorted(PARSERS.values()),
        help="benchmark only these (default: all four)",
    )
    options = arguments.parse_args()
    wanted = options.parser or ["accessLog", "json", "systemLog", "keyValue"]
    print(f"{options.lines:,} lines per parser, {options.batch} per call, best of "
          f"{options.repeat}")
    for kind, name in PARSERS.items():
        if name not in wanted:
            continue
        lines = lines_of(kind, options.lines)
        micros, parsed = bench(name, lines, options.batch, options.repeat)
        print(f"{name:<10} {micros:7.2f} µs/line  ({parsed:,}/{len(lines):,} lines with fields)")


if __name__ == "__main__":
    main()
