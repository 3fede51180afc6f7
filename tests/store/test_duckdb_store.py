"""The DuckDB store: group commit, nonces, usage, retention and reads, on a real file."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from millpond.clock import FixedClock
from millpond.errors import BadParam, QueryTimeout, Unavailable
from millpond.query import SQL, Scope, parse_filter
from millpond.query.search import Event, Page, search
from millpond.store import (
    EVENT_SCHEMA,
    DuckDBStore,
    EventBatch,
    SessionRecord,
    StoreLocked,
    WriteResult,
)
from millpond.store.duckdb import ROW_GROUP_SIZE

S = 1_000_000_000
NOW = 1_772_366_400 * S  # 2026-03-01T12:00:00Z
DAY = NOW // (86_400 * S)


def batch(
    account_id: int,
    ts: Sequence[int],
    messages: Sequence[str] | None = None,
    *,
    session: str = "sess-1",
    session_fields: dict[str, str] | None = None,
    nonce: str | None = None,
    nbytes: int | None = None,
) -> EventBatch:
    messages = list(messages) if messages is not None else [f"line {t}" for t in ts]
    n = len(ts)
    table = pa.table(
        {
            "account_id": pa.array([account_id] * n, pa.int32()),
            "ts": pa.array(list(ts), pa.int64()),
            "session": pa.array([session] * n, pa.string()),
            "thread": pa.nulls(n, pa.string()),
            "severity": pa.array([3] * n, pa.int8()),
            "message": pa.array(messages, pa.string()),
            "server_host": pa.array([(session_fields or {}).get("serverHost")] * n, pa.string()),
            "logfile": pa.array(["app.log"] * n, pa.string()),
            "parser": pa.array(["uploadLogs"] * n, pa.string()),
            "attrs": pa.nulls(n, pa.string()),
        },
        schema=EVENT_SCHEMA,
    )
    fields = session_fields if session_fields is not None else {"serverHost": "web-1"}
    return EventBatch(
        account_id=account_id,
        table=table,
        sessions=(SessionRecord(account_id, session, fields),),
        bytes_charged=sum(len(m.encode()) + 1 for m in messages) if nbytes is None else nbytes,
        nonce=nonce,
    )


def store_at(
    path: Path, clock: FixedClock | None = None, *, flush_idle_seconds: float | None = None
) -> DuckDBStore:
    """A store on a fixed clock; the tallies held back from commits are written when ingest
    pauses only if `flush_idle_seconds` is given, so tests see exactly what commits wrote."""
    store = DuckDBStore(
        path, clock=clock or FixedClock(NOW), flush_idle_seconds=flush_idle_seconds
    )
    store.open()
    return store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "millpond.duckdb"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store(db: Path, clock: FixedClock) -> Iterator[DuckDBStore]:
    store = store_at(db, clock)
    try:
        yield store
    finally:
        store.close()


def write(store: DuckDBStore, b: EventBatch) -> WriteResult:
    return store.submit(b).result(timeout=30)


def read(
    store: DuckDBStore,
    account_id: int = 1,
    *,
    start: int = 0,
    end: int = 2**62,
    limit: int = 5000,
    newest_first: bool = False,
    filter: str = "",
    timeout: float = 30,
) -> tuple[list[Event], dict[str, dict[str, Any]]]:
    """`search()`: the matching events in ascending order, and the fields of their sessions."""
    scope = Scope(account_id, start, end, parse_filter(filter))
    return search(store, scope, Page(start, end, newest_first), limit, timeout)


def events(store: DuckDBStore, account_id: int = 1, **options: Any) -> list[Event]:
    return read(store, account_id, **options)[0]


class Gate:
    """Holds the writer thread busy, so that what is submitted meanwhile queues up."""

    def __init__(self, store: DuckDBStore) -> None:
        self._busy = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=store.writer.call, args=(self._hold,))

    def _hold(self) -> None:
        self._busy.set()
        self._release.wait(30)

    def __enter__(self) -> Gate:
        self._thread.start()
        assert self._busy.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join(30)


# -- group commit -------------------------------------------------------------------------------


def test_a_new_file_is_created_and_reopened(db: Path) -> None:
    first = store_at(db)
    assert first.created
    first.close()
    second = store_at(db)
    assert not second.created
    second.close()


def _row_groups(store: DuckDBStore) -> list[int]:
    """Rows in each of the events table's row groups, as checkpointed."""
    store.conn.execute("CHECKPOINT")
    return [n for (n,) in store.conn.execute(
        "SELECT max(count) FROM pragma_storage_info('events') WHERE column_name = 'ts' "
        "GROUP BY row_group_id ORDER BY row_group_id"
    ).fetchall()]


def test_events_are_kept_in_row_groups_of_the_stores_size(db: Path) -> None:
    store = store_at(db)
    try:
        n = 2 * ROW_GROUP_SIZE + 100
        write(store, batch(1, [NOW + i for i in range(n)]))
        assert _row_groups(store) == [ROW_GROUP_SIZE, ROW_GROUP_SIZE, 100]
        # every cursor reads the data file
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM events").fetchone() == (n,)
    finally:
        store.close()


def test_a_file_written_with_duckdbs_default_row_groups_opens_and_takes_more(db: Path) -> None:
    """An older millpond opened the file directly (122,880-row groups). Its last row groups
    hold more rows than the store's size now, in the events table and in an indexed one."""
    store_at(db).close()
    conn = duckdb.connect(str(db))
    conn.execute(
        "INSERT INTO events SELECT 1, 0, range, NULL, NULL, 3, 'old ' || range, NULL, NULL, "
        "NULL, NULL FROM range(200000)"
    )
    conn.execute("INSERT INTO nonces SELECT 1, 'old-' || range, ? FROM range(70000)", [NOW])
    conn.close()
    store = store_at(db)
    try:
        write(store, batch(1, [NOW + i for i in range(1000)], nonce="new-nonce"))
        assert write(store, batch(1, [NOW], nonce="old-5")).duplicate
        rows = store.select(SQL(
            "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events"), 30)
        assert rows == [(201_000, 201_000, 0, 200_999)]
        assert sum(_row_groups(store)) == 201_000
        assert store.select(SQL("SELECT count(*) FROM nonces"), 30) == [(70_001,)]
    finally:
        store.close()


def test_a_file_open_in_this_process_is_locked(db: Path) -> None:
    first = store_at(db)
    try:
        with pytest.raises(StoreLocked):
            store_at(db)
    finally:
        first.close()
    store_at(db).close()  # and free again once closed


def _compression_of_text_columns(store: DuckDBStore) -> dict[str, str]:
    n = 5000
    b = batch(1, [NOW + i for i in range(n)], [f"GET /item/{i} 200 took {i % 97} ms"
                                               for i in range(n)])
    attrs = pa.array([f'{{"status":{200 + i % 3},"n":{i}}}' for i in range(n)], pa.string())
    write(store, EventBatch(account_id=1, table=b.table.set_column(9, "attrs", attrs),
                            sessions=b.sessions, bytes_charged=b.bytes_charged))
    store.conn.execute("CHECKPOINT")
    return dict(store.conn.execute(
        "SELECT column_name, any_value(compression) FROM pragma_storage_info('events') "
        "WHERE segment_type IN ('VARCHAR', 'JSON') GROUP BY ALL"
    ).fetchall())


def test_message_and_attrs_are_stored_with_zstd_by_default(db: Path) -> None:
    store = store_at(db)
    try:
        methods = _compression_of_text_columns(store)
    finally:
        store.close()
    assert store.text_compression == "zstd"
    assert methods["message"] == "ZSTD" and methods["attrs"] == "ZSTD"
    # the low-cardinality columns keep DuckDB's choice (dictionaries make facets fast)
    assert methods["logfile"] != "ZSTD" and methods["session"] != "ZSTD"


def test_auto_text_compression_leaves_the_choice_to_duckdb(db: Path) -> None:
    store = DuckDBStore(db, text_compression="auto")
    store.open()
    try:
        methods = _compression_of_text_columns(store)
    finally:
        store.close()
    assert store.text_compression == "auto"
    assert methods["message"] != "ZSTD" and methods["attrs"] != "ZSTD"


def test_a_data_directory_keeps_the_text_compression_it_was_created_with(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store_at(db).close()  # created with zstd
    store = DuckDBStore(db, text_compression="auto")
    with caplog.at_level("WARNING", logger="millpond.store"):
        store.open()
    try:
        assert store.text_compression == "zstd"
        assert _compression_of_text_columns(store)["message"] == "ZSTD"
    finally:
        store.close()
    assert "applies to new data directories only" in caplog.text


def test_an_unknown_text_compression_is_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="'lz4' is not 'zstd' or 'auto'"):
        DuckDBStore(db, text_compression="lz4")


def test_batches_from_many_threads_are_all_committed_with_increasing_seq(
    store: DuckDBStore,
) -> None:
    threads, per_thread, rows = 16, 6, 10

    def sender(t: int) -> list[list[int]]:
        seqs_by_batch = []
        for i in range(per_thread):
            ts = [NOW + (t * 1000 + i * 100 + r) for r in range(rows)]
            msgs = [f"t{t} b{i} r{r}" for r in range(rows)]
            assert write(store, batch(1, ts, msgs)) == WriteResult(stored=rows)
            # read back by message: seq of each row of this batch
            found = {e.message: e.seq for e in events(store, filter=f'"t{t} b{i} r"')}
            seqs_by_batch.append([found[m] for m in msgs])
        return seqs_by_batch

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(sender, range(threads)))

    stored = events(store)
    assert len(stored) == threads * per_thread * rows
    assert sorted(e.seq for e in stored) == list(range(len(stored)))
    for per_batch in results:
        for seqs in per_batch:  # the rows of a batch stay together, in order
            assert seqs == list(range(seqs[0], seqs[0] + rows))
        firsts = [seqs[0] for seqs in per_batch]  # a later batch of a sender commits later
        assert firsts == sorted(firsts)


def test_seq_continues_after_a_reopen(db: Path) -> None:
    store = store_at(db)
    write(store, batch(1, [NOW, NOW + 1]))
    store.close()
    store = store_at(db)
    try:
        write(store, batch(1, [NOW + 2]))
        assert [e.seq for e in events(store)] == [0, 1, 2]
    finally:
        store.close()


def test_batches_queued_while_the_writer_is_busy_share_one_commit(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW]))
    commits = store.writer.commits
    with Gate(store):
        futures = [store.submit(batch(1, [NOW + 1 + i])) for i in range(25)]
    assert [f.result(30).stored for f in futures] == [1] * 25
    assert store.writer.commits == commits + 1
    assert len(events(store)) == 26


def test_commit_max_rows_splits_a_queue_into_several_commits(db: Path) -> None:
    store = DuckDBStore(db, clock=FixedClock(NOW), commit_max_rows=10)
    store.open()
    try:
        commits = store.writer.commits
        with Gate(store):
            futures = [store.submit(batch(1, range(NOW + i, NOW + i + 5))) for i in range(6)]
        assert all(f.result(30).stored == 5 for f in futures)
        assert store.writer.commits == commits + 3
        assert len(events(store)) == 30
    finally:
        store.close()


def test_a_failed_commit_fails_every_batch_in_it_and_stores_nothing(store: DuckDBStore) -> None:
    broken = EventBatch(1, pa.table({"ts": [1]}), (), 10)
    with Gate(store):
        good = store.submit(batch(1, [NOW], nonce="n-1"))
        bad = store.submit(broken)
    for future in (good, bad):
        with pytest.raises(Unavailable, match="nothing was stored, retry"):
            future.result(30)
    assert events(store) == []
    assert store.bytes_ingested(1, DAY) == 0
    # The nonce was not remembered, so the client's retry is stored.
    assert write(store, batch(1, [NOW], nonce="n-1")) == WriteResult(stored=1)
    assert len(events(store)) == 1


def test_a_failed_lone_insert_stores_nothing_and_the_store_goes_on(store: DuckDBStore) -> None:
    """Once the session is known and the second's usage written, a commit is the events'
    INSERT alone (autocommit, no BEGIN/COMMIT): its failure too leaves nothing behind."""
    write(store, batch(1, [NOW], ["first"], nbytes=5))
    broken = EventBatch(1, batch(1, [NOW + 1]).table.append_column("x", pa.array([1])), (), 7)
    with pytest.raises(Unavailable, match="nothing was stored, retry"):
        write(store, broken)
    assert [e.message for e in events(store)] == ["first"]
    assert store.bytes_ingested(1, DAY) == 5
    write(store, batch(1, [NOW + 2], ["after"], nbytes=3))
    assert [e.message for e in events(store)] == ["first", "after"]
    assert store.usage_by_day(1, DAY) == [(DAY, 8, 2)]


def test_a_commits_tables_are_read_by_name_on_the_writers_cursor_and_let_go(
        store: DuckDBStore) -> None:
    """The tables a commit's statements read are registered once on the writer's own cursor
    (not looked up in the calling frame by DuckDB's replacement scan): other connections do not
    see them, and each commit lets its tables go once its statements ran."""
    write(store, batch(1, [NOW], ["a"], nonce="n"))
    with pytest.raises(duckdb.CatalogException):
        store.conn.execute("SELECT * FROM new_events")
    assert store._scans is not None
    held = store._scans._held
    assert {"new_events", "nonces_tbl", "sessions_tbl"} <= set(held)
    assert all(h.table.num_rows == 0 for h in held.values())
    write(store, batch(1, [NOW + 1], ["b"], nonce="m"))
    assert [e.message for e in events(store)] == ["a", "b"]
    assert all(h.table.num_rows == 0 for h in held.values())


# -- nonces -------------------------------------------------------------------------------------


def test_a_nonce_seen_before_stores_nothing(store: DuckDBStore) -> None:
    assert write(store, batch(1, [NOW], ["first"], nonce="abc")) == WriteResult(stored=1)
    assert write(store, batch(1, [NOW + 1], ["retry"], nonce="abc")) == WriteResult(
        stored=0, duplicate=True
    )
    assert [e.message for e in events(store)] == ["first"]


def test_a_repeated_nonce_inside_one_group_is_stored_once(store: DuckDBStore) -> None:
    with Gate(store):
        futures = [
            store.submit(batch(1, [NOW], ["one"], nonce="same")),
            store.submit(batch(1, [NOW + 1], ["two"], nonce="same")),
            store.submit(batch(2, [NOW + 2], ["other account"], nonce="same")),
            store.submit(batch(1, [NOW + 3], ["no nonce"])),
            store.submit(batch(1, [NOW + 4], ["no nonce again"])),
        ]
    assert [f.result(30) for f in futures] == [
        WriteResult(1),
        WriteResult(0, duplicate=True),
        WriteResult(1),
        WriteResult(1),
        WriteResult(1),
    ]
    assert [e.message for e in events(store, 1)] == ["one", "no nonce", "no nonce again"]
    assert [e.message for e in events(store, 2)] == ["other account"]


def test_nonces_are_kept_per_account(store: DuckDBStore) -> None:
    assert write(store, batch(1, [NOW], nonce="abc")).stored == 1
    assert write(store, batch(2, [NOW], nonce="abc")).stored == 1
    assert write(store, batch(2, [NOW], nonce="abc")).duplicate


def test_a_nonce_is_remembered_across_a_restart(db: Path) -> None:
    store = store_at(db)
    write(store, batch(1, [NOW], ["first"], nonce="abc"))
    store.close()
    store = store_at(db)
    try:
        assert write(store, batch(1, [NOW + 1], ["retry"], nonce="abc")).duplicate
        assert [e.message for e in events(store)] == ["first"]
    finally:
        store.close()


# -- usage --------------------------------------------------------------------------------------


def test_usage_counts_the_bytes_of_stored_batches_per_account_and_day(
    db: Path, store: DuckDBStore, clock: FixedClock
) -> None:
    assert store.bytes_ingested(1, DAY) == 0
    write(store, batch(1, [NOW], nbytes=100))
    write(store, batch(1, [NOW], nbytes=50, nonce="n"))
    write(store, batch(1, [NOW], nbytes=50, nonce="n"))  # duplicate: not charged
    write(store, batch(2, [NOW], nbytes=7))
    assert store.bytes_ingested(1, DAY) == 150
    assert store.bytes_ingested(2, DAY) == 7
    assert store.bytes_ingested(1, DAY - 1) == 0

    clock.advance(86_400)  # a new UTC day starts from zero
    write(store, batch(1, [clock.now], nbytes=5))
    assert store.bytes_ingested(1, DAY + 1) == 5
    assert store.bytes_ingested(1, DAY) == 150

    store.close()
    again = store_at(db, clock)
    try:
        assert again.bytes_ingested(1, DAY + 1) == 5
        assert again.bytes_ingested(1, DAY) == 150
        assert again.bytes_ingested(2, DAY) == 7
    finally:
        again.close()


def test_usage_survives_compaction_and_reopen(
    db: Path, store: DuckDBStore, clock: FixedClock
) -> None:
    for nbytes in (10, 20, 30):
        write(store, batch(1, [NOW], nbytes=nbytes))
    store.expire(None, NOW - 600 * S)  # compacts the per-commit usage rows
    rows = store.conn.execute("SELECT count(*), sum(bytes) FROM ingest_usage").fetchone()
    assert rows == (1, 60)
    write(store, batch(1, [NOW], nbytes=5))
    assert store.bytes_ingested(1, DAY) == 65
    store.close()
    again = store_at(db, clock)
    try:
        assert again.bytes_ingested(1, DAY) == 65
    finally:
        again.close()


def usage_rows(store: DuckDBStore) -> list[tuple[Any, ...]]:
    """What ingest_usage holds on disk, without the counts still waiting in memory."""
    with store.cursor() as cur:
        return cur.execute(
            "SELECT account_id, day, sum(bytes)::BIGINT, sum(events)::BIGINT FROM ingest_usage "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()


def test_usage_is_written_once_a_second_and_read_with_what_waits(
    store: DuckDBStore, clock: FixedClock
) -> None:
    write(store, batch(1, [NOW], nbytes=100))  # nothing written yet: written with this commit
    assert usage_rows(store) == [(1, DAY, 100, 1)]
    write(store, batch(1, [NOW, NOW], nbytes=50))  # within the second: waits in memory
    assert usage_rows(store) == [(1, DAY, 100, 1)]
    # The quota and the usage page count it already.
    assert store.bytes_ingested(1, DAY) == 150
    assert store.usage_by_day(1, DAY - 5) == [(DAY, 150, 3)]
    clock.advance(1)
    write(store, batch(2, [clock.now], nbytes=7))  # a second later: everything is written
    assert usage_rows(store) == [(1, DAY, 150, 3), (2, DAY, 7, 1)]
    assert store.usage_by_day(1, DAY) == [(DAY, 150, 3)]  # not counted twice
    assert store.usage_by_day(2, DAY) == [(DAY, 7, 1)]
    assert store.usage_by_day(1, DAY + 1) == []


def test_usage_by_day_is_newest_first_and_per_account(
    store: DuckDBStore, clock: FixedClock
) -> None:
    write(store, batch(1, [NOW], nbytes=10))
    clock.advance(86_400)
    write(store, batch(1, [clock.now], nbytes=20))  # waits in memory (a second has not passed)
    write(store, batch(3, [clock.now], nbytes=99))
    assert store.usage_by_day(1, DAY) == [(DAY + 1, 20, 1), (DAY, 10, 1)]
    assert store.usage_by_day(1, DAY + 1) == [(DAY + 1, 20, 1)]


def test_counts_that_wait_are_written_once_ingest_pauses(db: Path, clock: FixedClock) -> None:
    store = store_at(db, clock, flush_idle_seconds=0.05)
    try:
        write(store, batch(1, [NOW], nbytes=10))  # written with its commit
        write(store, batch(1, [NOW], nbytes=20))  # within the same second: waits ...
        deadline = time.monotonic() + 10
        while usage_rows(store) != [(1, DAY, 30, 2)]:  # ... until the writer is idle
            assert time.monotonic() < deadline, usage_rows(store)
            time.sleep(0.02)
        assert store.usage_by_day(1, DAY) == [(DAY, 30, 2)]
    finally:
        store.close()


def test_a_crash_loses_only_the_usage_counts_that_waited(
    db: Path, store: DuckDBStore, tmp_path: Path
) -> None:
    """Events are committed with their request; their usage count may wait up to a second in
    memory. A copy of the files taken while the server runs is what a `kill -9` leaves."""
    write(store, batch(1, [NOW], ["a"], nbytes=10))
    write(store, batch(1, [NOW + 1, NOW + 2], ["b", "c"], nbytes=20))  # its count waits
    crashed = tmp_path / "crashed" / db.name
    crashed.parent.mkdir()
    for path in db.parent.glob(db.name + "*"):
        crashed.with_name(path.name).write_bytes(path.read_bytes())
    again = store_at(crashed)
    try:
        assert [e.message for e in events(again)] == ["a", "b", "c"]
        assert again.usage_by_day(1, DAY) == [(DAY, 10, 1)]  # an under-count, never more
        assert again.bytes_ingested(1, DAY) == 10
    finally:
        again.close()


# -- retention ----------------------------------------------------------------------------------


def test_expire_deletes_old_events_only(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW - 3 * S, NOW - 2 * S, NOW - S, NOW], ["a", "b", "c", "d"]))
    write(store, batch(2, [NOW - 3 * S], ["other account, also old"]))
    assert store.expire(NOW - S, 0) == 3
    assert [e.message for e in events(store, 1)] == ["c", "d"]
    assert events(store, 2) == []
    assert store.expire(None, 0) == 0
    assert len(events(store, 1)) == 2


def test_expire_forgets_old_nonces(db: Path, store: DuckDBStore, clock: FixedClock) -> None:
    write(store, batch(1, [NOW], nonce="old"))
    clock.advance(300)
    write(store, batch(1, [clock.now], nonce="recent"))
    clock.advance(400)
    assert store.expire(None, clock.now - 600 * S) == 0
    assert write(store, batch(1, [clock.now], ["old again"], nonce="old")).stored == 1
    assert write(store, batch(1, [clock.now], nonce="recent")).duplicate

    # and they stay forgotten after a restart
    store.close()
    again = store_at(db, clock)
    try:
        again.expire(None, clock.now + 1)
        assert write(again, batch(1, [clock.now], nonce="recent")).stored == 1
    finally:
        again.close()


# -- reads --------------------------------------------------------------------------------------


@pytest.fixture
def ten(store: DuckDBStore) -> DuckDBStore:
    write(store, batch(1, [NOW + i for i in range(10)], [f"event {i}" for i in range(10)]))
    write(store, batch(2, [NOW + i for i in range(10)], [f"secret {i}" for i in range(10)]))
    return store


def messages(found: list[Event]) -> list[str]:
    return [e.message or "" for e in found]


def test_head_gives_the_oldest_in_ascending_order(ten: DuckDBStore) -> None:
    assert messages(events(ten, limit=3)) == ["event 0", "event 1", "event 2"]


def test_tail_gives_the_newest_in_ascending_order(ten: DuckDBStore) -> None:
    assert messages(events(ten, limit=3, newest_first=True)) == ["event 7", "event 8", "event 9"]


def test_the_range_includes_its_start_and_excludes_its_end(ten: DuckDBStore) -> None:
    found = events(ten, start=NOW + 2, end=NOW + 5)
    assert messages(found) == ["event 2", "event 3", "event 4"]
    assert events(ten, start=NOW + 5, end=NOW + 5) == []


def test_an_account_sees_only_its_own_events(ten: DuckDBStore) -> None:
    assert all(m.startswith("event") for m in messages(events(ten, 1)))
    assert all(m.startswith("secret") for m in messages(events(ten, 2)))
    assert events(ten, 3) == []
    assert events(ten, 1, filter="secret") == []


def test_message_words_are_all_required_and_case_insensitive(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW, NOW + 1, NOW + 2], ["Disk FULL on /var", "disk ok", "full moon"]))
    assert messages(events(store, filter="disk full")) == ["Disk FULL on /var"]
    assert messages(events(store, filter="DISK")) == ["Disk FULL on /var", "disk ok"]
    assert messages(events(store, filter="ÜBER")) == []
    # A LIKE wildcard in a word is just a character.
    assert messages(events(store, filter="%")) == []
    assert messages(events(store, filter="_")) == []


def test_events_with_the_same_timestamp_keep_arrival_order(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW] * 3, ["first", "second", "third"]))
    write(store, batch(1, [NOW], ["fourth"]))
    assert messages(events(store)) == ["first", "second", "third", "fourth"]
    assert messages(events(store, limit=2, newest_first=True)) == ["third", "fourth"]
    assert messages(events(store, limit=2)) == ["first", "second"]


def test_the_sessions_of_the_matches_come_with_them(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW], ["a"], session="s-a", session_fields={"serverHost": "web-1"}))
    write(store, batch(1, [NOW + 1], ["b"], session="s-b", session_fields={"region": "eu"}))
    write(store, batch(2, [NOW], ["x"], session="s-a", session_fields={"serverHost": "other"}))
    found, sessions = read(store)
    assert [(e.message, e.session) for e in found] == [("a", "s-a"), ("b", "s-b")]
    assert sessions == {
        "s-a": {"serverHost": "web-1", "session": "s-a"},
        "s-b": {"region": "eu", "session": "s-b"},
    }
    _, only_b = read(store, filter="b")
    assert only_b == {"s-b": {"region": "eu", "session": "s-b"}}
    assert read(store, filter="nothing") == ([], {})


def test_a_session_keeps_the_fields_it_was_first_stored_with(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW], session="s", session_fields={"serverHost": "first"}))
    write(store, batch(1, [NOW + 1], session="s", session_fields={"serverHost": "second"}))
    _, sessions = read(store)
    assert sessions == {"s": {"serverHost": "first", "session": "s"}}


def test_stored_columns_come_back(store: DuckDBStore) -> None:
    write(store, batch(1, [NOW], ["hello"], session="s", session_fields={"serverHost": "h"}))
    (event,) = events(store)
    assert (event.ts, event.session, event.severity, event.message) == (NOW, "s", 3, "hello")
    assert (event.server_host, event.logfile, event.parser) == ("h", "app.log", "uploadLogs")
    assert event.thread is None and dict(event.attrs) == {}


def test_a_query_past_its_timeout_is_cancelled(store: DuckDBStore) -> None:
    n = 2_000_000
    big = pa.table(
        {
            "account_id": pa.repeat(pa.scalar(1, pa.int32()), n),
            "ts": pa.array(np.arange(NOW, NOW + n, dtype=np.int64)),
            "session": pa.repeat(pa.scalar("s", pa.string()), n),
            "thread": pa.nulls(n, pa.string()),
            "severity": pa.repeat(pa.scalar(3, pa.int8()), n),
            "message": pc.binary_join_element_wise(
                "GET /index.html?page=", pc.cast(pa.array(np.arange(n)), pa.string()), ""
            ),
            "server_host": pa.nulls(n, pa.string()),
            "logfile": pa.nulls(n, pa.string()),
            "parser": pa.nulls(n, pa.string()),
            "attrs": pa.nulls(n, pa.string()),
        },
        schema=EVENT_SCHEMA,
    )
    write(store, EventBatch(1, big, (SessionRecord(1, "s", {}),), 0))
    # A scan of every row that matches nothing: DuckDB is busy until it is interrupted. A regex
    # with no literal text, so that no text index can skip the rows.
    query: dict[str, Any] = {"start": NOW, "end": NOW + n, "limit": 10, "newest_first": True,
                             "filter": '$"[0-9]{7}[a-z]"'}

    # The timer may fire before DuckDB starts on a loaded machine; one of these must land.
    timed_out = None
    for timeout in (0.02, 0.005, 0.001):
        try:
            read(store, **query, timeout=timeout)
        except QueryTimeout as error:
            timed_out = error
            break
    assert timed_out is not None, "no query was cancelled"
    assert timed_out.http_status == 503
    assert "narrow the time range" in timed_out.message
    # The store still answers afterwards.
    assert events(store, **query) == []
    assert len(events(store, limit=3)) == 3


def test_select_runs_sql_with_bound_parameters(ten: DuckDBStore) -> None:
    assert ten.dialect == "duckdb"
    rows = ten.select(
        SQL("SELECT account_id, count(*) FROM events WHERE message LIKE ? "
            "GROUP BY account_id ORDER BY account_id", ("%1",)),
        30,
    )
    assert rows == [(1, 1), (2, 1)]
    # A value is never SQL: a quote in it is just a character.
    assert ten.select(SQL("SELECT count(*) FROM events WHERE message = ?", ("x' OR '1'='1",)),
                      30) == [(0,)]


def test_a_regex_re2_cannot_compile_is_the_users_error(ten: DuckDBStore) -> None:
    with pytest.raises(BadParam, match="RE2"):
        events(ten, filter='$"(a"')
    with pytest.raises(BadParam, match="RE2"):
        events(ten, filter='message matches "(?<=x)y"')
