"""The addEvents benchmark (`benchmarks/run.py --scenario addevents`) sends what the Scalyr Agent
sends, and runs end to end on a tiny load.

Not a performance test: nothing here looks at how fast the server is.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = Path("/work/shared/fixtures")
AGENT_BODY = FIXTURES / "scalyr-agent" / "addEvents-data.body"

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("millpond_bench_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.mark.skipif(not AGENT_BODY.exists(), reason="no Scalyr Agent fixtures")
def test_the_body_writer_reproduces_the_agents_recorded_body_byte_for_byte() -> None:
    bench = load_bench()
    recorded = AGENT_BODY.read_bytes()
    messages, at = [], 0
    while (at := recorded.find(b"message:`s", at)) >= 0:
        (size,) = struct.unpack(">i", recorded[at + 10 : at + 14])
        messages.append(recorded[at + 14 : at + 14 + size])
        at += 14 + size
    assert all(m.endswith(b"\n") for m in messages)

    made = bench.agent_body(
        token=b"SAMPLE-WRITE-TOKEN",
        session="dexynHyCUk2NEZld7N9uGNJRBrg=",
        session_info={"serverHost": "sample-host", "tier": "acceptance"},
        log_id="log_1",
        log_attrs={"service": "demo", "parser": "sampleParser",
                   "logfile": "/var/log/demo/app.log"},
        logfile="/var/log/demo/app.log",
        lines=[m[:-1] for m in messages],
        ts_ns=[int(t) for t in re.findall(rb'ts:"(\d+)"', recorded)],
        client_time=1795920448,
        seq=("d1acd674-23df-4a4e-af49-ed5bb1fab155", 0),
    )

    assert made == recorded


def test_the_benchmark_bodies_are_distinct_agent_bodies_without_sequencing() -> None:
    bench = load_bench()
    bodies = bench.agent_bodies(4, 50, seed=3, sequenced=False)

    assert len(set(bodies)) == 4
    for body in bodies:
        assert body.startswith(b'{"token": "' + bench.TOKEN_SLOT + b'", "session": "')
        assert body.count(b"message:`s") == 50
        assert body.endswith(b" }")
        assert b"si:" not in body and b",sn:" not in body and b",sd:" not in body
        assert zlib.decompress(zlib.compress(body)) == body
    sequenced = bench.agent_bodies(4, 50, seed=3, sequenced=True)
    for body in sequenced:
        assert body.count(b",si:") == 1 and body.count(b",sn:") == 1
        assert body.count(b",sd:") == 49


def test_millpond_reads_the_benchmark_bodies_as_the_events_they_carry() -> None:
    from millpond.ingest import addevents
    from millpond.ingest.scalyr_json import parse_body

    bench = load_bench()
    gen = bench._sibling("gen_events").EventGenerator(2 * 200, 3, 200, rare={})
    for body, chunk in zip(bench.agent_bodies(2, 200, seed=3, sequenced=False), gen,
                           strict=True):
        request = parse_body(body.replace(bench.TOKEN_SLOT, b"tok"))
        assert request["token"] == "tok"
        decoded = addevents.decode(request, account_id=1, server_ip=None,
                                   receipt_ns=lambda n: 0)
        rows = decoded.table.to_pylist()
        assert [r["message"] for r in rows] == chunk.body.decode().splitlines()
        # A parser name nobody defines: the scenario measures the protocol, not parsing.
        assert {(r["server_host"], r["logfile"], r["parser"]) for r in rows} == {
            (chunk.host, chunk.logfile, f"{chunk.kind}Sample")
        }
        assert not decoded.has_sequences


@pytest.mark.e2e
@needs_wrk
def test_a_one_second_addevents_run_produces_numbers_and_raw_results(tmp_path: Path) -> None:
    bench = load_bench()
    result = bench.bench(
        ["addevents", "addevents-dedupe"], runs=1, duration=1, warmup=0, out_dir=tmp_path,
        python=sys.executable, connections=2, quiet=True,
    )

    assert result["verified"], [r.get("verify") for r in result["runs"]]
    rows = result["runs"]
    assert {(r["scenario"], r["server"]) for r in rows} == {
        (s, k) for s in ("addevents", "addevents-dedupe") for k in ("millpond", "baseline")
    }
    for row in rows:
        for key in ("lines_per_s", "mb_per_s", "wire_mb_per_s", "requests_per_s", "p50_ms",
                    "p99_ms", "peak_rss_mb", "server_cpu_cores"):
            assert isinstance(row[key], float | int) and math.isfinite(row[key]), key
            assert row[key] >= 0, key
        assert row["ok"] > 0, row["wrk"]  # bodies the server acknowledged as a success
        assert row["not_success"] == 0, row["wrk"]
        assert row["lines_per_s"] == pytest.approx(row["requests_per_s"] * 1000)
    real = next(r for r in rows if r["server"] == "millpond" and r["scenario"] == "addevents")
    assert real["verify"]["rows_stored"] >= real["verify"]["lines_acked"] > 0

    assert "| addevents | ratio |" in bench.table(result["medians"])
    assert any(v.endswith("events/s (target >= 250,000)") for v in result["targets"])
    written = json.loads(Path(result["path"]).read_text())
    assert written["medians"] == json.loads(json.dumps(result["medians"]))


def test_the_store_writers_benchmark_runs_and_counts_every_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`benchmarks/store_writers.py` on a tiny load: every mode prints a rate (each pass
    asserts that every row it inserted is in the table)."""
    monkeypatch.syspath_prepend(str(RUN_PY.parent))
    spec = importlib.util.spec_from_file_location(
        "millpond_bench_store_writers", RUN_PY.parent / "store_writers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["store_writers.py", "--groups", "3", "--group", "2",
                                      "--passes", "1", "--writers", "1", "2"])
    assert module.main() == 0
    out = capsys.readouterr().out
    for label in ("DuckDBStore.submit", "bare INSERT, 1 writer", "bare INSERT, 2 writers"):
        assert re.search(re.escape(label) + r".* [0-9,]+ rows/s", out), out
