"""What the text indexer's filter of a block costs: `textindex.bloom_of`, one thread, no server.

    .venv/bin/python benchmarks/text_index.py [--blocks 24] [--passes 5]

Builds `--blocks` blocks of `BLOCK_ROWS` generated log lines (`gen_events.generate_lines`,
~110 bytes a line), each as the indexer gets it from DuckDB (a chunked Arrow string column),
and prints the median over `--passes` of the CPU per block and per event. Run it against
another build's source with `PYTHONPATH=OTHER/src` to compare.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_events

from millpond.store import textindex


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=24)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    rows = textindex.BLOCK_ROWS
    lines = gen_events.generate_lines(args.blocks * rows, seed=5)
    # DuckDB hands the indexer a block as a few record batches: two chunks a block here.
    blocks = [
        pa.chunked_array([lines[b * rows : b * rows + rows // 3],
                          lines[b * rows + rows // 3 : (b + 1) * rows]], pa.string())
        for b in range(args.blocks)
    ]
    text = sum(len(s.encode()) for s in lines) / len(lines)
    per_pass = []
    for _ in range(args.passes):
        started = time.process_time()
        for block in blocks:
            textindex.bloom_of(block)
        per_pass.append((time.process_time() - started) / len(blocks))
    median = statistics.median(per_pass)
    print(f"{args.blocks} blocks of {rows:,} lines ({text:.0f} B a line), median of "
          f"{args.passes} passes: {median * 1e3:.2f} ms of CPU a block, "
          f"{median / rows * 1e9:.0f} ns an event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
