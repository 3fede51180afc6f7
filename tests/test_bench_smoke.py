"""The benchmark machinery (`make bench`) runs end to end on a tiny load and yields numbers.

Not a performance test: nothing here looks at how fast the server is.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
]


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


def test_a_one_second_run_produces_numbers_and_raw_results(tmp_path: Path) -> None:
    bench = load_bench()
    result = bench.bench(
        ["single"], runs=1, duration=1, warmup=0, out_dir=tmp_path,
        python=sys.executable, connections=2, quiet=True,
    )

    assert result["verified"]
    rows = result["runs"]
    assert {r["server"] for r in rows} == {"millpond", "baseline"}
    for row in rows:
        for key in ("lines_per_s", "mb_per_s", "requests_per_s", "p50_ms", "p99_ms",
                    "peak_rss_mb", "server_cpu_cores"):
            assert isinstance(row[key], float | int) and math.isfinite(row[key]), key
            assert row[key] >= 0, key
        assert row["peak_rss_mb"] > 0
    real = next(r for r in rows if r["server"] == "millpond")
    assert real["verify"]["rows_stored"] >= real["verify"]["lines_acked"]

    medians = result["medians"]["single"]
    assert set(medians) == {"millpond", "baseline"}
    assert "| single | ratio |" in bench.table(result["medians"])

    written = json.loads(Path(result["path"]).read_text())
    assert written["medians"] == json.loads(json.dumps(result["medians"]))
    assert written["machine"]["nproc"] >= 1


def test_a_parser_scenario_compares_parsed_with_unparsed(tmp_path: Path) -> None:
    bench = load_bench()
    result = bench.bench(
        ["parse-access"], runs=1, duration=1, warmup=0, out_dir=tmp_path,
        python=sys.executable, connections=2, quiet=True,
    )
    assert result["verified"]
    assert {r["server"] for r in result["runs"]} == {"millpond", "unparsed"}
    medians = result["medians"]["parse-access"]
    assert medians["millpond"]["lines_per_s"] > 0 and medians["unparsed"]["lines_per_s"] > 0
    assert "| parse-access | ratio |" in bench.table(result["medians"])
    (verdict,) = [v for v in result["targets"] if "the unparsed" in v]
    assert verdict.split()[1] == "parse-access:"
