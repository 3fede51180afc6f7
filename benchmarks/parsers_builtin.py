"""How long the built-in parsers take per line, in µs: `Parser.parse`, the ingest fast path
(`columnar.Plan.run`, which writes each line's fields as JSON) and all of ingest's parsing step
(`ingest.parsing.apply` on a request's Arrow table: plan or parse, JSON, the columns).

The lines come from the search benchmark's generator (`gen_events.py`): nginx/Apache combined
access lines for `accessLog`, application JSON lines for `json`, RFC 3164 lines for
`systemLog`, key=value lines for `keyValue`. Each parser gets `--lines` of its own kind, in
calls of `--batch` lines (one session and thread of one request), best of `--repeat` runs.
With `--mixed`, every parser gets the same shuffled mix of all four kinds instead (a quarter
each), as when one parser is named for a log that holds other lines too: most lines then match
no format (or are not JSON), which costs differently from lines that do.

    .venv/bin/python benchmarks/parsers_builtin.py
    .venv/bin/python benchmarks/parsers_builtin.py --lines 50000 --repeat 7 --parser accessLog
    .venv/bin/python benchmarks/parsers_builtin.py --mixed
    .venv/bin/python benchmarks/parsers_builtin.py --nested --parser json
    .venv/bin/python benchmarks/parsers_builtin.py --engines --parser accessLog

With `--engines`, the regular expressions alone: each planned format's regex over the lines in
the plan's order (a line goes on to the next format until one matches), once with Python's `re`
as ingest runs it, once with DuckDB's `regexp_extract(message, pattern, [group names])` (RE2,
vectorised, one thread), which the parsers issue offers as the alternative. RE2 has no
possessive quantifiers, atomic groups or lookaheads; they become plain ones (`_re2`: the same
matches for these lines, which the script checks group by group).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa
from gen_events import PARSERS, EventGenerator

from millpond.ingest import parsing
from millpond.parsers import builtin_parser
from millpond.parsers.columnar import plan_for
from millpond.store.base import EVENT_SCHEMA

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


def nest(line: str) -> str:
    """A generated JSON line with every field but the first under `ctx`, and that field's
    value in a one-item array: `{"level":…,"ctx":{"msg":…,"path":…},"tags":[…]}`."""
    obj = json.loads(line)
    first, *rest = obj
    return json.dumps({first: obj[first], "ctx": {k: obj[k] for k in rest},
                       "tags": [obj[first]]}, ensure_ascii=False, separators=(",", ":"))


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


def best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def ingest_paths(name: str, lines: list[str], batch: int, repeat: int
                 ) -> tuple[float | None, float]:
    """µs per line of the columnar plan (None: the parser has none) and of `parsing.apply`."""
    parser = builtin_parser(name)
    assert parser is not None
    batches = [lines[i : i + batch] for i in range(0, len(lines), batch)]
    plan = plan_for(parser)
    plan_us = None
    if plan is not None:
        plan_us = best_of(repeat, lambda: [plan.run(b, now_ns=NOW_NS) for b in batches])
        plan_us = plan_us / len(lines) * 1e6
    tables = [_table(b, name) for b in batches]

    def apply_all() -> None:
        for table in tables:
            parsing.apply(table, lambda n: parser if n == name else None, now_ns=NOW_NS)

    return plan_us, best_of(repeat, apply_all) / len(lines) * 1e6


def _table(lines: list[str], parser: str) -> pa.Table:
    n = len(lines)
    return pa.Table.from_pydict(
        {"account_id": [1] * n, "ts": list(range(n)), "session": ["s"] * n, "thread": [None] * n,
         "severity": [3] * n, "message": lines, "server_host": ["h"] * n,
         "logfile": ["/f"] * n, "parser": [parser] * n, "attrs": [None] * n},
        schema=EVENT_SCHEMA,
    )


def store_cost(name: str, lines: list[str], batch: int) -> tuple[float, float, float]:
    """CPU µs per line to store the lines raw and parsed — `DuckDBStore` as `serve` opens it
    (checkpoints included, no text indexer), 32 requests a commit, 640 requests — and the mean
    bytes of a parsed line's attributes (JSON)."""
    import tempfile

    from millpond.settings import from_env
    from millpond.store.base import EventBatch, SessionRecord
    from millpond.store.duckdb import DuckDBStore

    parser = builtin_parser(name)
    assert parser is not None
    raw = [_table(lines[i : i + batch], name) for i in range(0, len(lines), batch)]
    parsed = [parsing.apply(t, lambda n: parser, now_ns=NOW_NS).table for t in raw]
    out = []
    for tables in (raw, parsed):
        with tempfile.TemporaryDirectory(prefix="millpond-parsers-") as tmp:
            settings = from_env(data_dir=tmp)
            store = DuckDBStore(settings.database_path, commit_max_rows=settings.commit_max_rows,
                                checkpoint_threshold=settings.checkpoint_threshold,
                                memory_limit=settings.memory_limit, index_text=False)
            store.open()
            todo = [tables[i % len(tables)] for i in range(640)]
            start = time.process_time()
            for i in range(0, len(todo), 32):
                futures = [store.submit(EventBatch(1, t, (SessionRecord(1, "s", {}),), 1))
                           for t in todo[i : i + 32]]
                for future in futures:
                    future.result()
            out.append((time.process_time() - start) / sum(t.num_rows for t in todo) * 1e6)
            store.close()
    sizes = [len(a.encode()) for t in parsed for a in t.column("attrs").to_pylist() if a]
    return out[0], out[1], sum(sizes) / max(1, len(sizes))


def _re2(pattern: str) -> str:
    """A format's regex in RE2's dialect: possessive quantifiers and atomic groups become
    plain ones, the lookahead after a quoted value goes, `\\Z` is `\\z`. RE2 can then match
    more ways than `re`; `engines` checks that it gives the same groups on every line."""
    pattern = re.sub(r"([+*?}])\+", r"\1", pattern).replace("(?>", "(?:")
    return pattern.replace(r"(?=\s|\Z)", "").replace(r"\Z", r"\z")


def engines(name: str, lines: list[str], repeat: int) -> tuple[float, float]:
    """µs per line to match the plan's formats in order: Python `re`, DuckDB `regexp_extract`.
    (accessLog only: systemLog's formats use atomic groups, which RE2 lacks.)"""
    import duckdb

    plan = plan_for(builtin_parser(name))  # type: ignore[arg-type]
    assert plan is not None, f"{name} has no plan"
    assert all(step.halt for step in plan._steps), "every format must halt (the first match wins)"
    regexes = [step.match.__self__ for step in plan._steps]  # type: ignore[attr-defined]

    def python() -> list[list[tuple[str | None, ...] | None]]:
        out: list[list[tuple[str | None, ...] | None]] = [[] for _ in regexes]
        for line in lines:
            for k, regex in enumerate(regexes):
                m = regex.match(line)
                if m is not None:
                    out[k].append(m.groups())
                    break
        return out

    con = duckdb.connect()
    con.execute("SET threads = 1")
    table = pa.table({"line": lines, "row": list(range(len(lines)))})
    con.register("lines_tbl", table)
    unmatched = "lines_tbl"
    sql = []
    for k, regex in enumerate(regexes):
        pattern = "^(?:" + _re2(regex.pattern) + ")"
        literal = "'" + pattern.replace("'", "''") + "'"
        group_list = "[" + ", ".join(f"'{g}'" for g in regex.groupindex) + "]"
        sql.append(f"CREATE OR REPLACE TEMP TABLE m{k} AS SELECT row, "
                   f"regexp_extract(line, {literal}, {group_list}) AS g FROM {unmatched} "
                   f"WHERE regexp_matches(line, {literal})")
        sql.append(f"CREATE OR REPLACE TEMP TABLE u{k} AS SELECT * FROM {unmatched} "
                   f"WHERE row NOT IN (SELECT row FROM m{k})")
        unmatched = f"u{k}"

    def vectorised() -> None:
        for statement in sql:
            con.execute(statement)

    python_us = best_of(repeat, python) / len(lines) * 1e6
    re2_us = best_of(repeat, vectorised) / len(lines) * 1e6
    expected = python()
    for k, regex in enumerate(regexes):  # the same groups from both engines
        got = con.execute(f"SELECT g FROM m{k} ORDER BY row").fetchall()
        names = list(regex.groupindex)
        assert [tuple(row[0][n] or None for n in names) for row in got] == [
            tuple(v or None for v in groups) for groups in expected[k]  # type: ignore[union-attr]
        ], f"format {k}: RE2 and re disagree"
    return python_us, re2_us


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--lines", type=int, default=10_000)
    arguments.add_argument("--batch", type=int, default=500, help="lines per parse() call")
    arguments.add_argument("--repeat", type=int, default=5)
    arguments.add_argument(
        "--parser", action="append", choices=sorted(PARSERS.values()),
        help="benchmark only these (default: all four)",
    )
    arguments.add_argument("--store", action="store_true",
                           help="also time storing the lines raw and parsed")
    arguments.add_argument("--nested", action="store_true",
                           help="JSON lines with their fields nested one level (json parsers)")
    arguments.add_argument("--mixed", action="store_true",
                           help="every parser on a shuffled mix of all four kinds of line")
    arguments.add_argument("--engines", action="store_true",
                           help="time the formats' regexes alone: Python re vs DuckDB RE2")
    options = arguments.parse_args()
    wanted = options.parser or ["accessLog", "json", "systemLog", "keyValue"]
    mixed: list[str] = []
    if options.mixed:
        for kind in PARSERS:
            mixed += lines_of(kind, options.lines // len(PARSERS))
        random.Random(1).shuffle(mixed)
    print(f"{options.lines:,} {'mixed ' if mixed else ''}lines per parser, {options.batch} per "
          f"call, best of {options.repeat}")
    for kind, name in PARSERS.items():
        if name not in wanted:
            continue
        lines = mixed or lines_of(kind, options.lines)
        if options.nested and kind == "json":
            lines = [nest(line) for line in lines]
        if options.engines:
            if name == "accessLog":  # formats that all halt, none needing what RE2 lacks
                python_us, re2_us = engines(name, lines, options.repeat)
                print(f"{name:<10} formats' regexes: Python re {python_us:6.2f}, DuckDB "
                      f"regexp_extract {re2_us:6.2f} µs/line (the same groups)")
            continue
        micros, parsed = bench(name, lines, options.batch, options.repeat)
        plan_us, apply_us = ingest_paths(name, lines, options.batch, options.repeat)
        plan_text = "   (none)" if plan_us is None else f"{plan_us:7.2f}"
        print(f"{name:<10} parse {micros:7.2f}  plan {plan_text}  ingest apply {apply_us:7.2f}"
              f" µs/line  ({parsed:,}/{len(lines):,} lines with fields)")
        if options.store:
            raw_us, parsed_us, attrs_bytes = store_cost(name, lines, 1000)
            print(f"{'':<10} store raw {raw_us:5.2f}  store parsed {parsed_us:5.2f} µs/line "
                  f"(CPU, all threads); attributes {attrs_bytes:.0f} B a line")


if __name__ == "__main__":
    main()
