"""The search benchmark's generator makes what it says, and the benchmark runs end to end.

Not a performance test: nothing here looks at how fast the server is.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    key = f"millpond_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


gen = load("gen_events")

ACCESS = re.compile(r'^\S+ - \S+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "[A-Z]+ /\S* '
                    r'HTTP/1\.1" \d{3} \d+ "[^"]*" "[^"]*"$')
SYSLOG = re.compile(r"^<\d{1,3}>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ [\w/]+(\[\d+\])?: .+$")
KV = re.compile(r'^ts=\S+ level=\w+ component=\w+ msg="[^"]*" job=[0-9a-f]{8} ')


def kind_of(line: str) -> str:
    if ACCESS.match(line):
        return "access"
    if SYSLOG.match(line):
        return "syslog"
    if KV.match(line):
        return "kv"
    record = json.loads(line)
    assert set(record) >= {"level", "msg", "path", "duration_ms", "user"}
    return "json"


def test_the_same_seed_gives_the_same_lines_and_another_seed_others() -> None:
    a = gen.EventGenerator(3000, seed=7, chunk_lines=500)
    b = gen.EventGenerator(3000, seed=7, chunk_lines=500)
    c = gen.EventGenerator(3000, seed=8, chunk_lines=500)
    assert [ch.body for ch in a] == [ch.body for ch in b]
    assert [ch.body for ch in a] != [ch.body for ch in c]
    # A chunk depends only on its index: made alone, it is the same.
    assert a.chunk(4) == list(b)[4]


def test_lines_mix_the_four_formats_at_about_100_bytes() -> None:
    lines = gen.generate_lines(4000, seed=3, chunk_lines=250)
    assert len(lines) == 4000
    assert all(line and "\n" not in line and "\r" not in line for line in lines)
    kinds: dict[str, int] = {}
    for line in lines:
        k = kind_of(line)
        kinds[k] = kinds.get(k, 0) + 1
    assert set(kinds) == set(gen.KINDS)
    assert all(n >= 400 for n in kinds.values()), kinds
    mean = sum(len(line.encode()) + 1 for line in lines) / len(lines)
    assert 80 <= mean <= 130, mean
    # Zipf: a handful of paths make up a large share of the access lines.
    paths = [line.split('"')[1].split()[1] for line in lines if kind_of(line) == "access"]
    top = max(paths.count(p) for p in set(paths))
    assert top >= 0.05 * len(paths)
    assert len(set(paths)) >= 50


def test_a_chunk_is_one_host_and_log_file() -> None:
    chunks = list(gen.EventGenerator(2000, seed=1, chunk_lines=200))
    assert len({c.host for c in chunks}) > 1
    for c in chunks:
        assert c.lines == 200 and c.body.count(b"\n") == 200
        assert c.parser == gen.PARSERS[c.kind]
        if c.kind == "syslog":  # RFC 3164's HOSTNAME is the uploading host
            assert all(f" {c.host} ".encode() in line for line in c.body.splitlines())


def test_rare_tokens_occur_exactly_as_often_as_promised_and_the_absent_term_never() -> None:
    g = gen.EventGenerator(5000, seed=2, chunk_lines=1000)
    text = b"".join(c.body for c in g).decode()
    for token, count in gen.RARE_TOKENS.items():
        assert sum(token in line for line in text.splitlines()) == count
        assert len(g.rare_positions[token]) == count
    assert gen.ABSENT_TERM.lower() not in text.lower()
    # Still valid JSON where a token went into a JSON line.
    for line in text.splitlines():
        if line.startswith("{"):
            json.loads(line)
    # Fewer lines than promised occurrences: capped, never an error.
    small = gen.EventGenerator(10, seed=2, chunk_lines=4)
    assert sum(len(p) for p in small.rare_positions.values()) == 10


def test_count_lines_containing_ignores_case_and_counts_lines_once() -> None:
    body = b"GET get\nnothing\nbudget\nTarget\n"
    assert gen.count_lines_containing(body, "GET") == 3


def test_the_command_line_writes_lines_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "events.log"
    assert gen.main(["--events", "1200", "--chunk-lines", "500", "--out", str(out)]) == 0
    manifest = json.loads((tmp_path / "events.log.manifest.json").read_text())
    data = out.read_bytes()
    assert data.count(b"\n") == 1200 == manifest["events"]
    assert [c["lines"] for c in manifest["chunks"]] == [500, 500, 200]
    last = manifest["chunks"][-1]
    assert data[last["offset"]:last["offset"] + last["bytes"]].count(b"\n") == 200


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_tiny_query_bench_produces_numbers_and_raw_results(tmp_path: Path) -> None:
    bench = load("query_bench")
    result = bench.bench(
        events=12_000, runs=1, chunk_lines=3000, clients=2, ingest_seconds=1, ingest_runs=1,
        connections=4, out_dir=tmp_path, python=sys.executable, ingest_warmup=0,
        settle_window=0.3,
    )
    rows = result["queries"]
    assert set(rows) >= {"newest100_rare", "count_common", "facet_top10_serverHost",
                         "numeric60_count", "scan_rate"}
    for name, row in rows.items():
        # A measurement either has numbers or says why not; it never takes the run down.
        if row["ok"]:
            for key in ("median_ms", "min_ms", "max_ms", "first_ms"):
                assert math.isfinite(row[key]) and row[key] >= 0, (name, key)
        else:
            assert row["error"], name
    # /api/query has been there all along: its answer was checked against the generator's.
    assert rows["newest100_rare"]["ok"], rows["newest100_rare"]
    assert rows["newest100_rare"]["result"] == "40 matches"
    assert len(result["targets"]) == 3
    assert result["load"]["events"] == 12_000
    assert result["load"]["data_dir_bytes"] > 0
    written = json.loads(Path(result["path"]).read_text())
    assert written["queries"] == json.loads(json.dumps(rows))
    assert "tokens" not in written["load"]
