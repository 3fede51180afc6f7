"""How fast the format-string layer matches lines: µs per line for `Format.match` and friends.

One process, one thread, no I/O: the cost the ingest path pays per line for each format it
tries. The headline is the Apache combined format on one access-log line; the other rows put
it in context (the bare `re` match it is built on, generated access-log lines, a line the
format does not match, key=value with `repeat`, JSON with `parse=json`, and the timestamp
parser on the usual stamps).

    .venv/bin/python benchmarks/parser_formats.py                 # best of 7 runs of 20,000
    .venv/bin/python benchmarks/parser_formats.py --runs 15 --lines 50000
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_events import EventGenerator

from millpond.parsers.formats import compile_format
from millpond.parsers.timestamps import parse_timestamp

APACHE = (
    '$ip$ $user$ $authUser$ \\[$timestamp$\\] "$method$ $uri{parse=uri}$ $protocol$" '
    '$status$ $bytes$ "$referrer$" "$agent$"'
)
LINE = (
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1&b=x+y HTTP/1.0" '
    '200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
)
KEY_VALUE = ".*$_=identifier$=$_=quoteOrSpace$"
JSON = "${parse=json}$"


def generated(kind: str, count: int) -> list[str]:
    """`count` lines of one gen_events kind (access, kv, json, syslog)."""
    lines: list[str] = []
    for chunk in EventGenerator(count * 8, seed=1, chunk_lines=500):
        if chunk.kind == kind:
            lines += chunk.body.decode().splitlines()
            if len(lines) >= count:
                break
    return lines[:count]


def per_line(fn: Callable[[str], object], lines: Sequence[str], runs: int) -> float:
    """Best-of-`runs` µs per call of `fn` over `lines`."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for line in lines:
            fn(line)
        best = min(best, time.perf_counter() - start)
    return best / len(lines) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per row; the best counts")
    parser.add_argument("--lines", type=int, default=20_000, help="calls per run")
    args = parser.parse_args(argv)
    n, runs = args.lines, args.runs

    apache = compile_format(APACHE)
    key_value = compile_format(KEY_VALUE)
    json = compile_format(JSON)
    access = generated("access", n)
    kv = generated("kv", n)
    js = generated("json", n)
    stamps = [f"2026-01-02T03:04:{i // 1000 % 60:02d}.{i % 1000:03d}123Z" for i in range(n)]
    clf = [f"{1 + i % 28:02d}/Oct/2000:{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} -0700"
           for i in range(n)]

    matched = sum(apache.match(line) is not None for line in access)
    rows: list[tuple[str, float]] = [
        ("Apache combined, Format.match, one line", per_line(apache.match, [LINE] * n, runs)),
        ("  the same, bare re match (no fields)", per_line(apache.regex.match, [LINE] * n, runs)),
        (f"  generated access lines ({matched}/{len(access)} match)",
         per_line(apache.match, access, runs)),
        ("  a line it does not match", per_line(apache.match, [LINE.replace('"', "'")] * n, runs)),
        ("key=value, repeat (match_all), generated kv lines",
         per_line(key_value.match_all, kv, runs)),
        ("${parse=json}$, generated json lines", per_line(json.match, js, runs)),
        ("parse_timestamp, Apache stamp, 86,400 distinct", per_line(parse_timestamp, clf, runs)),
        ("parse_timestamp, ISO with µs, all distinct", per_line(parse_timestamp, stamps, runs)),
        ("parse_timestamp, syslog (year inferred)",
         per_line(parse_timestamp, list(itertools.repeat("Feb  3 03:47:01", n)), runs)),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'format-string layer, best of ' + str(runs) + ' runs':<{width}}   µs/line")
    for label, micros in rows:
        print(f"{label:<{width}}   {micros:7.2f}")


if __name__ == "__main__":
    main()
