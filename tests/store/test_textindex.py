"""The trigram index: it may say "maybe" wrongly, never "no"; searches give the same answers."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_duckdb_store import NOW, batch, write

from millpond.clock import FixedClock
from millpond.query import SQL, Scope, parse_filter
from millpond.query.search import Page, search
from millpond.query.sql import scope_sql
from millpond.settings import Settings
from millpond.store import DuckDBStore, textindex
from millpond.store.textindex import BLOCK_ROWS, BLOOM_BYTES, bloom_of, matching_blocks, term_bits


def maybe_contains(messages: list[str], term: str) -> bool:
    bits = term_bits(term)
    if bits is None:
        return True
    matrix = np.frombuffer(bloom_of(pa.array(messages)), dtype=np.uint8).reshape(1, BLOOM_BYTES)
    return bool(matching_blocks(matrix, bits)[0])


@settings(max_examples=300, deadline=None)
@given(
    messages=st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=20),
    data=st.data(),
)
def test_every_substring_of_a_message_is_maybe_in_its_block(
    messages: list[str], data: st.DataObject
) -> None:
    message = data.draw(st.sampled_from(messages))
    start = data.draw(st.integers(0, len(message)))
    end = data.draw(st.integers(start, len(message)))
    term = message[start:end]
    # Text search ignores case: the term may be written in any case.
    for variant in (term, term.upper(), term.lower(), term.swapcase()):
        if variant.lower() in message.lower():
            assert maybe_contains(messages, variant)


def test_a_term_absent_from_a_block_is_usually_ruled_out() -> None:
    messages = [f"GET /api/item/{i} 200 user{i % 50}" for i in range(8192)]
    assert maybe_contains(messages, "/API/ITEM/81")
    absent = ["zebracorn", "kernel panic", "segfault at 0", "OutOfMemoryError"]
    assert not any(maybe_contains(messages, t) for t in absent)


@pytest.mark.parametrize("term", ["", "ab", "é", "日本"])
def test_terms_too_short_or_without_ascii_trigrams_do_not_prune(term: str) -> None:
    assert term_bits(term) is None


RARE = "zebracorn"


@pytest.fixture
def indexed(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(
        tmp_path / "db.duckdb", clock=FixedClock(NOW), index_text=False, index_block_rows=100
    )
    store.open()
    for block in range(10):
        lines = [f"block {block} line {i} GET /index.html status=200" for i in range(100)]
        if block == 3:
            lines[42] = f"block 3 the {RARE.upper()} was here"
        if block == 7:
            lines[7] = f"a {RARE}-like thing in block 7"
        ts = [NOW + block * 1000 + i for i in range(100)]
        write(store, batch(1, ts, lines))
    # 30 more events: the unindexed tail, which every search still scans.
    tail = [f"tail {RARE} {i}" for i in range(30)]
    write(store, batch(1, [NOW + 20_000 + i for i in range(30)], tail))
    assert store.indexer.index_pending() == 10
    return store


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_text_index_setting_starts_the_indexer_or_not(tmp_path: Path, setting: str) -> None:
    """With text_index=off no filter is built, and searches read every message instead."""
    settings = Settings(data_dir=str(tmp_path), text_index=setting)
    store = DuckDBStore.from_settings(settings, clock=FixedClock(NOW))
    store.open()
    try:
        lines = [f"line {i} GET /index.html" for i in range(BLOCK_ROWS + 10)]
        lines[123] = f"the {RARE} line"
        write(store, batch(1, [NOW + i for i in range(len(lines))], lines))
        deadline = time.monotonic() + 20
        while setting == "on" and store.indexer.indexed_upto == 0:
            assert time.monotonic() < deadline, "the indexer built no filter in 20 s"
            time.sleep(0.05)
        if setting == "off":
            time.sleep(1.5)  # more than the indexer's interval
        assert store.indexer.indexed_upto == (BLOCK_ROWS if setting == "on" else 0)
        scope = Scope(1, NOW, NOW + 10**12, parse_filter(RARE))
        found, _ = search(store, scope, Page(scope.start_ns, scope.end_ns, False), 10, 30)
        assert [e.message for e in found] == [f"the {RARE} line"]
    finally:
        store.close()


def test_a_rare_term_narrows_the_scan_to_its_blocks_and_the_unindexed_tail(
    indexed: DuckDBStore,
) -> None:
    scope = Scope(1, NOW, NOW + 10**12, parse_filter(RARE))
    narrowed = indexed.narrow(scope)
    assert narrowed.seq is not None
    assert narrowed.seq.after == 1000
    covered = {seq // 100 for lo, hi in narrowed.seq.ranges for seq in range(lo, hi + 1)}
    assert {3, 7} <= covered and len(covered) <= 4
    indexed.close()


@pytest.mark.parametrize(
    "text",
    [
        RARE,
        f'"{RARE.upper()}"',
        f"{RARE} block",
        f"{RARE} or nothing-like-this",
        f"message contains '{RARE}'",
        f"message contains:matchcase '{RARE}'",
        "GET",
        "no such text anywhere",
        f"not {RARE}",
        f"{RARE} and status",
    ],
)
def test_narrowed_searches_find_exactly_what_a_full_scan_finds(
    indexed: DuckDBStore, text: str
) -> None:
    scope = Scope(1, NOW, NOW + 10**12, parse_filter(text))
    narrowed = indexed.narrow(scope)
    count = SQL("SELECT count(*) FROM ")
    assert indexed.select(count + scope_sql(narrowed), 30) == indexed.select(
        count + scope_sql(scope), 30
    )
    for newest_first in (False, True):
        page = Page(scope.start_ns, scope.end_ns, newest_first)
        found, _ = search(indexed, scope, page, 1000, 30)
        plain = indexed.select(
            SQL("SELECT e.seq FROM ") + scope_sql(scope) + SQL(" ORDER BY e.seq"), 30
        )
        assert [e.seq for e in found] == [r[0] for r in plain]
    indexed.close()


def test_the_index_resumes_after_a_restart_and_follows_retention(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    store = DuckDBStore(path, clock=FixedClock(NOW), index_text=False, index_block_rows=10)
    store.open()
    write(store, batch(1, [NOW + i for i in range(25)]))
    assert store.indexer.index_pending() == 2
    store.close()
    store = DuckDBStore(path, clock=FixedClock(NOW), index_text=False, index_block_rows=10)
    store.open()
    assert store.indexer.indexed_upto == 20
    write(store, batch(1, [NOW + 100 + i for i in range(5)]))
    assert store.indexer.index_pending() == 1
    store.expire(NOW + 15, NOW)
    rows = store.select(SQL("SELECT lo_seq FROM message_blooms ORDER BY lo_seq"), 30)
    assert rows == [(10,), (20,)]
    store.close()


def _reference_bloom(messages: list[str]) -> bytes:
    """bloom_of as first written: np.take through a lower-casing table, byte by byte."""
    lower = np.arange(256, dtype=np.uint8)
    lower[ord("A") : ord("Z") + 1] += 32
    data = np.frombuffer("".join(messages).encode(), dtype=np.uint8)
    bits = np.zeros(8 * BLOOM_BYTES, dtype=np.bool_)
    if len(data):
        lowered = np.zeros(len(data) + 3, dtype=np.uint8)
        np.take(lower, data, out=lowered[: len(data)])
        words = np.ndarray(shape=(len(data),), dtype="<u4", buffer=lowered, strides=(1,))
        hashed = (words & np.uint32(0xFFFFFF)) * np.uint32(2654435761)
        bits[hashed >> np.uint32(32 - 17)] = True
    return np.packbits(bits, bitorder="little").tobytes()


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(st.text(max_size=60), min_size=1, max_size=12),
       offset=st.integers(0, 3))
def test_bloom_of_folds_case_as_its_first_version_did(messages: list[str], offset: int) -> None:
    array = pa.array(["padding"] * offset + messages).slice(offset)  # an offset into buffers
    assert bloom_of(array) == _reference_bloom(messages)


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(st.text(max_size=60), min_size=1, max_size=12),
       cuts=st.lists(st.integers(0, 12), max_size=4), piece=st.sampled_from([1, 2, 3, 7, 8192]))
def test_bloom_of_reads_chunks_and_pieces_as_one_text(
    messages: list[str], cuts: list[int], piece: int
) -> None:
    """However the messages come chunked, and however small the pieces bloom_of reads them
    in, the filter is the one of their whole text."""
    bounds = sorted({0, len(messages), *(min(c, len(messages)) for c in cuts)})
    array = pa.chunked_array(
        [pa.array(messages[a:b], pa.string()) for a, b in itertools.pairwise(bounds)],
        pa.string(),
    )
    with mock.patch.object(textindex, "_PIECE", piece):
        assert bloom_of(array) == _reference_bloom(messages)
        assert bloom_of(array.cast(pa.large_string())) == _reference_bloom(messages)


def test_bloom_of_a_block_of_long_messages() -> None:
    messages = [f"Line {i} " + "abcXYZ\u00e9\u4e2d" * (i % 700) for i in range(300)]
    assert bloom_of(pa.array(messages)) == _reference_bloom(messages)
    assert bloom_of(pa.chunked_array([messages[:77], messages[77:]])) == _reference_bloom(
        messages)


def _blooms(store: DuckDBStore) -> list[tuple[int, int, int, int, bytes]]:
    return store.select(SQL("SELECT * FROM message_blooms ORDER BY lo_seq"), 30)


def test_blocks_indexed_eight_at_a_time_are_the_blocks_indexed_one_by_one(
    tmp_path: Path,
) -> None:
    """25 blocks of 10 (rounds of 8, 8, 8, 1), the events of two blocks deleted and one block
    half deleted: each block's row is what bloom_of and min/max give for what is left of it."""
    store = DuckDBStore(tmp_path / "db.duckdb", clock=FixedClock(NOW), index_text=False,
                        index_block_rows=10)
    store.open()
    written = 0
    for n in (7, 60, 13, 100, 75):  # requests that straddle blocks; times not in seq order
        ts = [NOW + 10 * (written + i) + (i * 7919) % 13 for i in range(n)]
        write(store, batch(1, ts, [f"Line {i} of {n}: ÄÖ {'X' * (i % 9)}" for i in range(n)]))
        written += n
    assert written == 255  # 25 whole blocks and 5 events
    store.conn.execute("DELETE FROM events WHERE seq BETWEEN 30 AND 49 OR seq BETWEEN 200 AND 204")
    assert store.indexer.index_pending() == 25
    assert store.indexer.indexed_upto == 250
    expected = []
    for lo in range(0, 250, 10):
        rows = store.select(SQL("SELECT ts, message FROM events WHERE seq BETWEEN ")
                            + SQL("? AND ? ORDER BY seq", (lo, lo + 9)), 30)
        if rows:
            expected.append((lo, lo + 9, min(r[0] for r in rows), max(r[0] for r in rows),
                             bloom_of(pa.array([r[1] for r in rows]))))
    assert [r[:4] for r in _blooms(store)] == [e[:4] for e in expected]
    assert [bytes(r[4]) for r in _blooms(store)] == [e[4] for e in expected]
    assert {r[0] for r in _blooms(store)}.isdisjoint({30, 40})
    store.close()


class _Shuffled:
    """A cursor whose query answers come in the order given, in batches of 7 rows."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def sql(self, query: str, params: list[int]) -> _Shuffled:
        lo, hi = params
        seq = self._table.column("seq").to_numpy()
        self._rows = self._table.filter(pa.array((seq >= lo) & (seq <= hi)))
        return self

    def to_arrow_reader(self, batch_size: int) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(
            self._rows.schema, self._rows.to_batches(max_chunksize=7))


def test_events_out_of_seq_order_are_indexed_a_block_at_a_time(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb", clock=FixedClock(NOW), index_text=False,
                        index_block_rows=10)
    store.open()
    indexer = store.indexer
    rng = np.random.default_rng(5)
    seq = np.arange(40)
    messages = [f"event {i} {'ABC'[i % 3]}" for i in range(40)]
    table = pa.table({"seq": seq, "ts": NOW + seq * 3, "message": messages})
    in_order = indexer._stream(_Shuffled(table), 0, 4)  # type: ignore[arg-type]
    shuffled = table.take(pa.array(rng.permutation(40)))
    assert indexer._stream(_Shuffled(shuffled), 0, 4) is None  # type: ignore[arg-type]
    one_by_one = pa.concat_tables(
        [indexer._block(_Shuffled(shuffled), lo) for lo in range(0, 40, 10)])  # type: ignore[arg-type]
    assert in_order is not None
    assert in_order.drop_columns("bloom").equals(one_by_one.drop_columns("bloom"))
    assert in_order.column("min_ts").to_pylist() == [NOW + 30 * k for k in range(4)]
    assert in_order.column("bloom").to_pylist()[1] == bloom_of(pa.array(messages[10:20]))
    # Out of order, trigrams across two messages differ ("maybe"s); each message's are there.
    for k, bloom in enumerate(one_by_one.column("bloom").to_pylist()):
        matrix = np.frombuffer(bloom, dtype=np.uint8).reshape(1, BLOOM_BYTES)
        for message in messages[10 * k : 10 * k + 10]:
            bits = term_bits(message)
            assert bits is not None and matching_blocks(matrix, bits)[0]
    store.close()
