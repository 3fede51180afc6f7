"""Config files (getFile/putFile, spec §3.9) and the parser tally in the DuckDB store."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from test_duckdb_store import NOW, Gate, batch, store_at, write

from millpond.clock import FixedClock
from millpond.errors import Unavailable, VersionMismatch
from millpond.store import DuckDBStore, EventBatch, WriteResult
from millpond.store.base import ConfigFile, ParserUse

S = 1_000_000_000


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "millpond.duckdb"


@pytest.fixture
def store(db: Path, clock: FixedClock) -> Iterator[DuckDBStore]:
    store = store_at(db, clock)
    try:
        yield store
    finally:
        store.close()


def parsed(
    account_id: int,
    parsers: Sequence[str | None],
    *,
    nonce: str | None = None,
    seq: tuple[str, Sequence[int]] | None = None,
) -> EventBatch:
    """A batch of one event per entry of `parsers`, each with that `parser` value."""
    plain = batch(account_id, [NOW + i for i in range(len(parsers))], nonce=nonce)
    column = plain.table.schema.get_field_index("parser")
    table = plain.table.set_column(column, "parser", pa.array(list(parsers), pa.string()))
    if seq is None:
        return dataclasses.replace(plain, table=table)
    seq_id, numbers = seq
    return dataclasses.replace(
        plain, table=table, seq_ids=pa.array([seq_id] * len(numbers)),
        seq_nums=pa.array(list(numbers), pa.int64()),
    )


def usage(store: DuckDBStore, account_id: int = 1) -> dict[str, int]:
    return {use.name: use.events for use in store.parsers_in_use(account_id)}


def table_rows(store: DuckDBStore) -> list[tuple[int, str, int]]:
    """What parser_usage holds on disk, without what is still pending in memory."""
    with store.cursor() as cur:
        rows = cur.execute(
            "SELECT account_id, parser, events FROM parser_usage ORDER BY ALL"
        ).fetchall()
    return [(int(a), str(p), int(e)) for a, p, e in rows]


# -- files --------------------------------------------------------------------------------------


def test_a_missing_file_is_none(store: DuckDBStore) -> None:
    assert store.get_file(1, "/scalyr/alerts") is None
    assert store.list_files(1) == []


def test_a_written_file_reads_back_with_version_one(store: DuckDBStore) -> None:
    written = store.put_file(1, "/logParsers/web", "{formats: []}", None, NOW)
    assert written == ConfigFile("/logParsers/web", 1, "{formats: []}", NOW, NOW)
    assert store.get_file(1, "/logParsers/web") == written


def test_every_write_moves_the_version_on_and_keeps_the_creation_time(
    store: DuckDBStore,
) -> None:
    store.put_file(1, "/a", "one", None, NOW)
    store.put_file(1, "/a", "two", None, NOW + S)
    third = store.put_file(1, "/a", "two", None, NOW + 2 * S)  # the same text is a write too
    assert third == ConfigFile("/a", 3, "two", NOW, NOW + 2 * S)


def test_expected_version_must_be_the_current_one(store: DuckDBStore) -> None:
    store.put_file(1, "/a", "one", None, NOW)
    store.put_file(1, "/a", "two", 1, NOW)
    with pytest.raises(VersionMismatch, match="/a is at version 2, not version 1") as caught:
        store.put_file(1, "/a", "stale", 1, NOW)
    assert caught.value.http_status == 409
    assert store.get_file(1, "/a") == ConfigFile("/a", 2, "two", NOW, NOW)


def test_a_missing_file_is_at_version_zero(store: DuckDBStore) -> None:
    with pytest.raises(VersionMismatch, match="does not exist"):
        store.put_file(1, "/new", "x", 4, NOW)
    assert store.put_file(1, "/new", "x", 0, NOW).version == 1
    with pytest.raises(VersionMismatch, match="is at version 1, not version 0"):
        store.put_file(1, "/new", "again", 0, NOW)  # 0: only if it is new


def test_delete_says_whether_there_was_a_file(store: DuckDBStore) -> None:
    store.put_file(1, "/a", "x", None, NOW)
    assert store.delete_file(1, "/a", None, NOW) is True
    assert store.get_file(1, "/a") is None
    assert store.list_files(1) == []
    assert store.delete_file(1, "/a", None, NOW) is False
    assert store.delete_file(1, "/never", None, NOW) is False


def test_delete_checks_the_expected_version(store: DuckDBStore) -> None:
    store.put_file(1, "/a", "x", None, NOW)
    store.put_file(1, "/a", "y", None, NOW)
    with pytest.raises(VersionMismatch):
        store.delete_file(1, "/a", 1, NOW)
    assert store.get_file(1, "/a") is not None
    assert store.delete_file(1, "/a", 2, NOW) is True
    assert store.delete_file(1, "/a", 0, NOW) is False  # gone: version 0
    with pytest.raises(VersionMismatch):
        store.delete_file(1, "/a", 2, NOW)


def test_a_file_created_again_after_a_delete_continues_its_versions(
    db: Path, clock: FixedClock
) -> None:
    store = store_at(db, clock)
    store.put_file(1, "/a", "v1", None, NOW)
    store.put_file(1, "/a", "v2", None, NOW)
    store.delete_file(1, "/a", None, NOW + S)
    store.close()
    store = store_at(db, clock)  # the last version outlives the file, and a restart
    try:
        again = store.put_file(1, "/a", "new life", 0, NOW + 2 * S)
        assert again == ConfigFile("/a", 3, "new life", NOW + 2 * S, NOW + 2 * S)
        # A client that read version 2 before the delete cannot overwrite the new file.
        with pytest.raises(VersionMismatch):
            store.put_file(1, "/a", "old edit", 2, NOW)
    finally:
        store.close()


def test_files_survive_a_reopen(db: Path, clock: FixedClock) -> None:
    store = store_at(db, clock)
    store.put_file(1, "/logParsers/web", "{formats: []}", None, NOW)
    store.put_file(1, "/scalyr/alerts", "{}", None, NOW + S)
    store.put_file(1, "/scalyr/alerts", "{alerts: []}", None, NOW + 2 * S)
    store.close()
    store = store_at(db, clock)
    try:
        assert store.list_files(1) == ["/logParsers/web", "/scalyr/alerts"]
        assert store.get_file(1, "/scalyr/alerts") == ConfigFile(
            "/scalyr/alerts", 2, "{alerts: []}", NOW + S, NOW + 2 * S
        )
    finally:
        store.close()


def test_a_write_is_on_disk_before_put_returns(db: Path, clock: FixedClock) -> None:
    store = store_at(db, clock)
    try:
        store.put_file(1, "/a", "durable", None, NOW)
        store.delete_file(1, "/gone", None, NOW)
        # What a crash right now would leave: the files as they are, the store still open.
        copy = db.with_name("copy.duckdb")
        for suffix in ("", ".wal"):
            source = Path(str(db) + suffix)
            if source.exists():
                shutil.copyfile(source, str(copy) + suffix)
        with duckdb.connect(str(copy)) as conn:
            rows = conn.execute("SELECT path, version, content FROM config_files").fetchall()
        assert rows == [("/a", 1, "durable")]
    finally:
        store.close()


def test_paths_are_listed_in_lexicographic_order(store: DuckDBStore) -> None:
    for path in ["/b", "/a/z", "/B", "/a", "/a b", "/é"]:
        store.put_file(1, path, "x", None, NOW)
    assert store.list_files(1) == ["/B", "/a", "/a b", "/a/z", "/b", "/é"]


def test_accounts_never_see_each_others_files(store: DuckDBStore) -> None:
    store.put_file(1, "/shared/name", "one's", None, NOW)
    assert store.get_file(2, "/shared/name") is None
    assert store.list_files(2) == []
    assert store.delete_file(2, "/shared/name", None, NOW) is False
    assert store.put_file(2, "/shared/name", "two's", 0, NOW).version == 1
    assert store.get_file(1, "/shared/name") == ConfigFile("/shared/name", 1, "one's", NOW, NOW)


def test_file_writes_queue_behind_ingest_on_the_writer(store: DuckDBStore) -> None:
    with Gate(store):
        pending = store.submit(batch(1, [NOW]))
        assert not pending.done()
    store.put_file(1, "/a", "after", None, NOW)
    assert pending.done()


# -- parser usage -------------------------------------------------------------------------------


def test_events_are_counted_per_parser_name_and_account(store: DuckDBStore) -> None:
    write(store, parsed(1, ["accessLog", "accessLog", "web", None]))
    write(store, parsed(2, ["web"]))
    assert store.parsers_in_use(1) == [
        ParserUse("accessLog", NOW, NOW, 2),
        ParserUse("web", NOW, NOW, 1),
    ]
    assert usage(store, 2) == {"web": 1}
    assert usage(store, 3) == {}


def test_first_and_last_use_are_commit_times(store: DuckDBStore, clock: FixedClock) -> None:
    write(store, parsed(1, ["web"]))
    clock.advance(10)
    write(store, parsed(1, ["web", "web"]))
    assert store.parsers_in_use(1) == [ParserUse("web", NOW, NOW + 10 * S, 3)]


def test_a_group_of_batches_from_several_accounts_is_counted_once(store: DuckDBStore) -> None:
    with Gate(store):
        futures = [
            store.submit(parsed(1, ["web", "db"])),
            store.submit(parsed(2, ["web"])),
            store.submit(parsed(1, ["web"])),
        ]
    assert [f.result(30).stored for f in futures] == [2, 1, 1]
    assert usage(store, 1) == {"db": 1, "web": 2}
    assert usage(store, 2) == {"web": 1}


def test_a_repeated_nonce_is_not_counted_again(store: DuckDBStore) -> None:
    write(store, parsed(1, ["web", "web"], nonce="n"))
    assert write(store, parsed(1, ["web", "web"], nonce="n")).duplicate
    assert usage(store) == {"web": 2}


def test_a_resent_sequence_counts_only_the_new_events(store: DuckDBStore) -> None:
    write(store, parsed(1, ["web", "web"], seq=("S", [1, 2])))
    # The agent resends 1-2 with 3-4 after a lost response: only 3 and 4 are stored.
    result = write(store, parsed(1, ["web", "web", "web", "web"], seq=("S", [1, 2, 3, 4])))
    assert result == WriteResult(stored=2)
    write(store, parsed(1, ["web"], seq=("S", [4])))  # all old: nothing stored
    assert usage(store) == {"web": 4}


def test_a_failed_commit_counts_nothing(store: DuckDBStore) -> None:
    good = parsed(1, ["web"])
    # An extra column makes the INSERT of the events, and so the whole transaction, fail.
    broken = dataclasses.replace(good, table=good.table.append_column("x", pa.array([1])))
    with pytest.raises(Unavailable):
        write(store, broken)
    assert usage(store) == {}
    write(store, good)
    assert usage(store) == {"web": 1}


def test_a_new_name_is_written_with_its_commit(store: DuckDBStore, clock: FixedClock) -> None:
    write(store, parsed(1, ["web"]))
    assert table_rows(store) == [(1, "web", 1)]
    # A known name waits in memory (readers add it in) until a second has passed ...
    write(store, parsed(1, ["web", "web"]))
    assert table_rows(store) == [(1, "web", 1)]
    assert usage(store) == {"web": 3}
    # ... or a new name comes, which brings what waited with it.
    write(store, parsed(1, ["db"]))
    assert table_rows(store) == [(1, "db", 1), (1, "web", 3)]
    write(store, parsed(1, ["web"]))
    clock.advance(1)
    write(store, parsed(1, ["web"]))
    assert table_rows(store) == [(1, "db", 1), (1, "web", 5)]
    assert usage(store) == {"db": 1, "web": 5}


def test_counts_survive_a_reopen(db: Path, clock: FixedClock) -> None:
    store = store_at(db, clock)
    write(store, parsed(1, ["web"]))
    write(store, parsed(1, ["web", "web"]))  # still in memory: written at close
    store.close()
    store = store_at(db, clock)
    try:
        assert store.parsers_in_use(1) == [ParserUse("web", NOW, NOW, 3)]
        write(store, parsed(1, ["web"]))  # known after the reopen: waits in memory
        assert usage(store) == {"web": 4}
    finally:
        store.close()
    store = store_at(db, clock)
    try:
        assert usage(store) == {"web": 4}
    finally:
        store.close()
