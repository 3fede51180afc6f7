"""What a DuckDB checkpoint of the events table costs, by how full it leaves the last row group.

    .venv/bin/python benchmarks/checkpoints.py [--per-round 256000] [--first N] [--rounds 4]
        [--row-group-size N]

Inserts Agent-like addEvents rows (`addevents_pieces.bodies`, decoded as serve decodes them)
into the store's `events` table, 1,000 rows a statement with automatic checkpoints off,
and runs `CHECKPOINT` after every round: `--first` rows in the first round (default
`--per-round`), `--per-round` in each later one. It prints, per checkpoint, where the table
ended (rows past the last whole row group of 122,880) and the checkpoint's wall and CPU time.

A finding for the store's checkpoint policy (docs/performance.md, "Checkpoints"): rounds that
always end near the end of a row group (`--first 240000 --per-round 245760`) checkpoint at
about the cost of the first round, while rounds that end early in one (`--per-round 256000`)
make every later checkpoint dearer and single-threaded. With smaller row groups
(`--row-group-size 65536`, as the store attaches its file) every checkpoint costs about what
the first does, wherever the rounds end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import addevents_pieces

from millpond.ingest import addevents, agent_layout
from millpond.store import duckdb as store
from millpond.web.decoding import decompress

ROW_GROUP_ROWS = 122_880  # DuckDB's
# The store's own tables, with the text compression of a new data directory.
SCHEMA = store._SCHEMA.replace("{text}", store._COMPRESSION_CLAUSE[store.TEXT_COMPRESSION])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-round", type=int, default=256_000)
    parser.add_argument("--first", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--row-group-size", type=int, default=None,
                        help="attach the database with this ROW_GROUP_SIZE (DuckDB's option)")
    args = parser.parse_args()
    wire = addevents_pieces.bodies(64, 1000, False)
    rows = pa.concat_tables([
        addevents.decode_layout(
            agent_layout.parse(decompress(body, "deflate", addevents_pieces.LIMIT)),
            account_id=1, server_ip="127.0.0.1").table
        for body in wire
    ]).combine_chunks()
    with tempfile.TemporaryDirectory(prefix="millpond-checkpoints-") as tmp:
        config = {"checkpoint_threshold": "1TB", "memory_limit": store.MEMORY_LIMIT}
        path = os.path.join(tmp, "events.duckdb")
        if args.row_group_size is None:
            conn = duckdb.connect(path, config=config)
        else:
            conn = duckdb.connect(":memory:", config=config)
            conn.execute(f"ATTACH '{path}' AS events_db (ROW_GROUP_SIZE {args.row_group_size})")
            conn.execute("USE events_db")
        group_rows = args.row_group_size or ROW_GROUP_ROWS
        conn.execute(SCHEMA)
        seq = pos = 0
        for round_ in range(args.rounds):
            left = args.per_round if round_ or args.first is None else args.first
            count = left
            while left:
                n = min(1000, left, rows.num_rows - pos)
                conn.from_arrow(rows.slice(pos, n).add_column(
                    2, "seq", pa.array(np.arange(seq, seq + n, dtype=np.int64)))
                ).insert_into("events")
                pos, seq, left = (pos + n) % rows.num_rows, seq + n, left - n
            wall, cpu = time.perf_counter(), time.process_time()
            conn.execute("CHECKPOINT")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"round {round_}: {count:,} rows, table at {seq:,} "
                  f"({seq % group_rows:,} past the last whole row group): checkpoint "
                  f"{wall * 1e3:.0f} ms wall, {cpu * 1e3:.0f} ms CPU, "
                  f"{wall / count * 1e6:.2f} µs a row")
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
