"""How fast DuckDB scans the `message` column with each way of searching text.

Run on a data directory loaded by `query_bench.py --keep DIR` (the server must not be running
on it; the database is opened read-only):

    .venv/bin/python benchmarks/scan_methods.py /var/tmp/millpond-10m

Prints the median of 5 runs of each statement over every event, with GB/s of raw text. These
are the measurements behind two choices in `millpond/query/sql.py`: how `_icontains` searches,
and how `scope_sql` reads only the blocks the text index keeps (a UNION ALL of seq ranges).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

TERM = "yqzxv"  # letters that occur nowhere: every message is read in full
STATEMENTS = [
    ("decompress only: sum(length(message))", "SELECT sum(length(message)) FROM events"),
    ("contains (case-sensitive)", f"SELECT count(*) FROM events WHERE contains(message, '{TERM}')"),
    ("LIKE (case-sensitive)", f"SELECT count(*) FROM events WHERE message LIKE '%{TERM}%'"),
    ("ILIKE", f"SELECT count(*) FROM events WHERE message ILIKE '%{TERM}%'"),
    ("ILIKE … ESCAPE", f"SELECT count(*) FROM events WHERE message ILIKE '%{TERM}%' ESCAPE '\\'"),
    ("contains(lower(message))",
     f"SELECT count(*) FROM events WHERE contains(lower(message), '{TERM}')"),
    ("regexp_matches(…, 'i')  (used)",
     f"SELECT count(*) FROM events WHERE regexp_matches(message, '{TERM}', 'i')"),
    ("NOT (contains AND regexp) nested",
     "SELECT count(*) FROM events WHERE NOT coalesce(contains(message, '-4242') AND "
     f"regexp_matches(message, '{TERM}\\-4242', 'i'), false)"),
    ("NOT CASE WHEN contains THEN regexp  (used)",
     "SELECT count(*) FROM events WHERE NOT CASE WHEN contains(message, '-4242') THEN "
     f"regexp_matches(message, '{TERM}\\-4242', 'i') ELSE false END"),
]


RARE = "zebracorn"  # benchmarks/gen_events.py puts 40 lines with it in the data
BLOCK = 8192  # the text index's block of events (millpond/store/textindex.py)


def seq_range_forms(conn: duckdb.DuckDBPyConnection, runs: int) -> None:
    """Counting the rare term in only the blocks that hold it: the two ways to say so."""
    blocks = [int(b) for (b,) in conn.execute(
        f"SELECT DISTINCT seq // {BLOCK} FROM events WHERE regexp_matches(message, ?, 'i') "
        "ORDER BY 1", [RARE]).fetchall()]
    ranges = [(b * BLOCK, b * BLOCK + BLOCK - 1) for b in blocks]
    ors = " OR ".join(f"seq BETWEEN {lo} AND {hi}" for lo, hi in ranges)
    union = " UNION ALL ".join(
        f"SELECT * FROM events WHERE seq BETWEEN {lo} AND {hi}" for lo, hi in ranges
    )
    where = f"regexp_matches(message, '{RARE}', 'i')"
    print(f"\n{RARE!r}: {len(ranges)} blocks of {BLOCK} events hold it\n")
    print("| statement | median ms |\n|---|---|")
    for name, sql in [
        ("every event", f"SELECT count(*) FROM events WHERE {where}"),
        ("blocks as an OR of seq ranges", f"SELECT count(*) FROM events WHERE ({ors}) AND {where}"),
        ("blocks as UNION ALL branches  (used)",
         f"SELECT count(*) FROM ({union}) e WHERE {where}"),
    ]:
        conn.execute(sql).fetchall()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(sql).fetchall()
            times.append(time.perf_counter() - started)
        print(f"| {name} | {statistics.median(times) * 1000:,.0f} |", flush=True)


def text_index(conn: duckdb.DuckDBPyConnection, raw_bytes: int, runs: int) -> None:
    """What the trigram index costs to build, and what narrowing a search by it costs."""
    from millpond.query import Scope, parse_filter
    from millpond.store.indexer import BlockIndexer
    from millpond.store.textindex import bloom_of

    reader = conn.sql("SELECT message FROM events ORDER BY seq").to_arrow_reader(BLOCK)
    built, blocks = 0.0, 0
    for batch in reader:
        started = time.process_time()
        bloom_of(batch.column(0))
        built += time.process_time() - started
        blocks += 1
    print(f"\ntext index: {blocks:,} blocks built in {built:.1f} s of CPU "
          f"= {built / (raw_bytes / 1e9):.1f} s per GB of text")
    indexer = BlockIndexer(conn.cursor, lambda: 0)
    account = conn.execute("SELECT min(account_id) FROM events").fetchone()
    assert account is not None
    scope = Scope(int(account[0]), 0, 2**62, parse_filter(RARE))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        narrowed = indexer.narrow(scope)
        times.append(time.perf_counter() - started)
    kept = len(narrowed.seq.ranges) if narrowed.seq is not None else "all"
    print(f"narrowing {RARE!r} over {indexer.indexed_upto:,} indexed events: "
          f"{statistics.median(times) * 1000:,.0f} ms (median), {kept} ranges kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    conn = duckdb.connect(str(args.data_dir / "millpond.duckdb"), read_only=True)
    conn.execute("SET memory_limit = '80MB'")  # the server's default
    row = conn.execute("SELECT count(*), sum(strlen(message) + 1) FROM events").fetchone()
    assert row is not None
    events, raw_bytes = int(row[0]), int(row[1])
    print(f"{events:,} events, {raw_bytes / 1e9:.3f} GB of raw text (lines + newlines)\n")
    print("| statement | median ms | GB/s |\n|---|---|---|")
    for name, sql in STATEMENTS:
        conn.execute(sql).fetchall()  # warm
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            conn.execute(sql).fetchall()
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(f"| {name} | {median * 1000:,.0f} | {raw_bytes / median / 1e9:.2f} |", flush=True)
    seq_range_forms(conn, args.runs)
    text_index(conn, raw_bytes, args.runs)


if __name__ == "__main__":
    main()
