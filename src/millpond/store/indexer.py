"""Keeps the trigram filters of `textindex` up to date and uses them to narrow searches.

A background thread, at the lowest CPU priority, indexes each full block of committed events
after the fact: ingest never waits for it, and a search scans whatever it has not reached yet.
The filters live in the `message_blooms` table; they are derived data, rebuilt from the
events if the table is lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Callable

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from millpond.query.filter import And, Node, Or, Text, TextMatch
from millpond.query.sql import Scope, SeqRanges
from millpond.store import textindex

log = logging.getLogger("millpond.store.index")

SCHEMA = """
CREATE TABLE IF NOT EXISTS message_blooms (
    lo_seq BIGINT PRIMARY KEY, hi_seq BIGINT NOT NULL, min_ts BIGINT NOT NULL,
    max_ts BIGINT NOT NULL, bloom BLOB NOT NULL);
"""


# Full blocks indexed at once when the indexer has fallen behind: one query, streamed a block
# at a time (so no more text is held than before), and one commit for all of them. A query and
# a commit a block cost about as much as the blooms: the indexer's share of the store's CPU went
# from ~1.9 to ~1 µs an event (`benchmarks/addevents_pieces.py`, docs/performance.md).
BLOCKS_A_ROUND = 8


class _BloomRows:
    """message_blooms rows, built a block at a time."""

    def __init__(self, lo: int, block_rows: int) -> None:
        self._lo, self._block_rows = lo, block_rows
        self._columns: list[list[object]] = [[], [], [], [], []]

    def add(self, block: int, batches: list[pa.RecordBatch]) -> None:
        rows = pa.Table.from_batches(batches)
        ts = rows.column(1)
        block_lo = self._lo + block * self._block_rows
        for column, value in zip(self._columns, (
                block_lo, block_lo + self._block_rows - 1, pc.min(ts).as_py(),
                pc.max(ts).as_py(), textindex.bloom_of(_no_nulls(rows.column(2)))),
                strict=True):
            column.append(value)

    def table(self) -> pa.Table:
        lo, hi, min_ts, max_ts, bloom = self._columns
        return pa.table(
            [pa.array(lo, pa.int64()), pa.array(hi, pa.int64()), pa.array(min_ts, pa.int64()),
             pa.array(max_ts, pa.int64()), pa.array(bloom, pa.binary())],
            names=["lo_seq", "hi_seq", "min_ts", "max_ts", "bloom"],
        )


def _no_nulls(messages: pa.ChunkedArray) -> pa.ChunkedArray:
    """A null message's slot may hold bytes in the buffer: empty it (a copy, so only if any)."""
    return pc.fill_null(messages, "") if messages.null_count else messages


class BlockIndexer:
    """Indexes blocks of `BLOCK_ROWS` events by seq; answers which blocks may hold a term."""

    def __init__(
        self,
        cursor: Callable[[], duckdb.DuckDBPyConnection],
        committed_seq: Callable[[], int],
        *,
        interval: float = 1.0,
        block_rows: int = textindex.BLOCK_ROWS,
    ) -> None:
        self._cursor = cursor  # a new connection to the store's database
        self._committed_seq = committed_seq
        self._interval = interval
        self.block_rows = block_rows
        with cursor() as cur:
            row = cur.execute(
                "SELECT coalesce(max(hi_seq) + 1, 0) FROM message_blooms").fetchone()
        self.indexed_upto = int(row[0]) if row else 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- building ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="millpond-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        # Linux applies nice per thread: index only with CPU nobody else wants.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while not self._stop.wait(self._interval):
            try:
                self.index_pending()
            except Exception:
                log.exception("indexing events failed; searches scan the unindexed events")

    def index_pending(self) -> int:
        """Index every full block of committed events not indexed yet; how many blocks."""
        done = 0
        with self._cursor() as cur:
            while not self._stop.is_set():
                lo = self.indexed_upto
                blocks = min((self._committed_seq() - lo) // self.block_rows, BLOCKS_A_ROUND)
                if blocks <= 0:
                    break
                new_blooms = self._stream(cur, lo, blocks)
                if new_blooms is None:  # the rows came out of order: a block at a time
                    new_blooms = pa.concat_tables(
                        [self._block(cur, lo + k * self.block_rows) for k in range(blocks)])
                if new_blooms.num_rows:  # else every event of these blocks has expired
                    cur.execute(
                        "INSERT INTO message_blooms SELECT * FROM new_blooms "
                        "ON CONFLICT DO NOTHING"
                    )
                self.indexed_upto = lo + blocks * self.block_rows
                done += blocks
        return done

    def _stream(self, cur: duckdb.DuckDBPyConnection, lo: int, blocks: int) -> pa.Table | None:
        """The message_blooms rows of `blocks` blocks from seq `lo`, reading the events in
        one query but holding about a block of them at a time: DuckDB returns them in
        insertion order, which is seq order. None if they came in another order."""
        reader = self._events(cur, lo, blocks)
        out = _BloomRows(lo, self.block_rows)
        pending: dict[int, list[pa.RecordBatch]] = {}
        last = 0  # the block the batch before ended in
        for batch in reader:
            if not batch.num_rows:
                continue
            block_of = (batch.column(0).to_numpy() - lo) // self.block_rows
            if int(block_of[0]) < last or not bool(np.all(block_of[:-1] <= block_of[1:])):
                return None
            cuts = np.flatnonzero(block_of[1:] != block_of[:-1]) + 1
            for first, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), len(block_of)],
                                   strict=True):
                pending.setdefault(int(block_of[first]), []).append(
                    batch.slice(first, stop - first))
            last = int(block_of[-1])
            for k in sorted(k for k in pending if k < last):  # whole: the rows are past them
                out.add(k, pending.pop(k))
        for k in sorted(pending):
            out.add(k, pending.pop(k))
        return out.table()

    def _block(self, cur: duckdb.DuckDBPyConnection, lo: int) -> pa.Table:
        """The message_blooms row of the block from seq `lo`, its events in any order."""
        out = _BloomRows(lo, self.block_rows)
        batches = [b for b in self._events(cur, lo, 1) if b.num_rows]
        if batches:  # else every event of the block has expired
            out.add(0, batches)
        return out.table()

    def _events(self, cur: duckdb.DuckDBPyConnection, lo: int, blocks: int
                ) -> pa.RecordBatchReader:
        return cur.sql(
            "SELECT seq, ts, message FROM events WHERE seq BETWEEN ? AND ?",
            params=[lo, lo + blocks * self.block_rows - 1],
        ).to_arrow_reader(self.block_rows)

    # -- searching ---------------------------------------------------------------------------

    def narrow(self, scope: Scope) -> Scope:
        """The scope limited to blocks that may match its filter's text terms, if that helps.

        Filters are read in batches; once the blocks read so far show the terms are common
        (more than `MAX_FRACTION` of blocks may match), the plain scan is kept.
        """
        indexed_upto = self.indexed_upto
        masker = None if scope.filter is None else _masker(scope.filter)
        if masker is None or indexed_upto == 0:
            return scope
        keep: list[tuple[int, int]] = []
        with self._cursor() as cur:
            batches = cur.sql(
                "SELECT lo_seq, hi_seq, bloom FROM message_blooms WHERE max_ts >= ? "
                "AND min_ts < ? AND lo_seq < ?",
                params=[scope.start_ns, scope.end_ns, indexed_upto],
            ).to_arrow_reader(_BATCH_BLOCKS)
            seen = 0
            for batch in batches:
                matrix = _bloom_matrix(batch.column(2))
                if matrix is None:
                    return scope
                hits = masker(matrix)
                seen += len(hits)
                lo = batch.column(0).to_numpy()
                hi = batch.column(1).to_numpy()
                keep.extend(zip(lo[hits].tolist(), hi[hits].tolist(), strict=True))
                if len(keep) > textindex.MAX_FRACTION * max(seen, _BATCH_BLOCKS):
                    return scope
        ranges = textindex.merge_ranges(sorted(keep))
        if len(ranges) > textindex.MAX_RANGES:
            return scope
        return dataclasses.replace(scope, seq=SeqRanges(tuple(ranges), indexed_upto))

    def expire(self, cur: duckdb.DuckDBPyConnection, events_before_ns: int) -> None:
        cur.execute("DELETE FROM message_blooms WHERE max_ts < ?", [events_before_ns])


_BATCH_BLOCKS = 256


def _bloom_matrix(blooms: pa.Array) -> npt.NDArray[np.uint8] | None:
    """The filters of a batch as one (blocks, BLOOM_BYTES) array, without copying."""
    data = np.frombuffer(blooms.buffers()[2], dtype=np.uint8)
    offset_type = np.int64 if pa.types.is_large_binary(blooms.type) else np.int32
    offsets = np.frombuffer(blooms.buffers()[1], dtype=offset_type)[
        blooms.offset : blooms.offset + len(blooms) + 1
    ]
    if not np.all(np.diff(offsets) == textindex.BLOOM_BYTES):
        return None  # not filters of this version
    return data[offsets[0] : offsets[-1]].reshape(-1, textindex.BLOOM_BYTES)


Masker = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.bool_]]


def _masker(node: Node) -> Masker | None:
    """A function of the bloom matrix giving the blocks that may match; None if any may."""
    if isinstance(node, Text) or (
        isinstance(node, TextMatch) and node.field.name == "message" and node.op == "contains"
    ):
        bits = textindex.term_bits(node.text)
        if bits is None:
            return None
        return lambda m: textindex.matching_blocks(m, bits)
    if isinstance(node, And):
        parts = [p for p in (_masker(c) for c in node.children) if p is not None]
        if not parts:
            return None
        return lambda m: np.logical_and.reduce([p(m) for p in parts])
    if isinstance(node, Or):
        maybe = [_masker(c) for c in node.children]
        if any(p is None for p in maybe):
            return None
        every = [p for p in maybe if p is not None]
        return lambda m: np.logical_or.reduce([p(m) for p in every])
    return None


__all__ = ["SCHEMA", "BlockIndexer"]
