"""The embedded backend: one DuckDB file holds events, sessions, accounts, tokens, nonces and
configuration files.

DuckDB allows one read-write process per file. Writes happen on the group-commit writer's
thread through the main connection; reads use their own cursors on a thread pool. Every commit
syncs DuckDB's write-ahead log, so a committed batch survives `kill -9`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from millpond.clock import Clock, SystemClock
from millpond.errors import BadParam, QueryTimeout, VersionMismatch
from millpond.priority import lower_new_threads
from millpond.query.sql import SQL, Scope
from millpond.settings import Settings
from millpond.store.base import (
    AccountRecord,
    ConfigFile,
    EventBatch,
    ParserUse,
    SessionRecord,
    TokenRecord,
    WriteResult,
)
from millpond.store.indexer import SCHEMA as INDEX_SCHEMA
from millpond.store.indexer import BlockIndexer
from millpond.store.nonces import RecentNonces, nonce_key
from millpond.store.textindex import BLOCK_ROWS
from millpond.store.writer import GroupCommitWriter

log = logging.getLogger("millpond.store")

V = TypeVar("V")

NS_PER_DAY = 86_400 * 1_000_000_000
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, created_ns BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id VARCHAR PRIMARY KEY, account_id INTEGER NOT NULL, kind VARCHAR NOT NULL,
    label VARCHAR NOT NULL, hash VARCHAR NOT NULL UNIQUE, created_ns BIGINT NOT NULL,
    last_used_ns BIGINT, revoked_ns BIGINT);
CREATE TABLE IF NOT EXISTS events (
    account_id INTEGER NOT NULL, ts BIGINT NOT NULL, seq BIGINT NOT NULL, session VARCHAR,
    thread VARCHAR, severity TINYINT NOT NULL, message VARCHAR{text},
    server_host VARCHAR, logfile VARCHAR, parser VARCHAR, attrs JSON{text});
CREATE TABLE IF NOT EXISTS sessions (
    account_id INTEGER NOT NULL, session VARCHAR NOT NULL, fields JSON NOT NULL,
    created_ns BIGINT NOT NULL, PRIMARY KEY (account_id, session));
-- The highest addEvents sequence number committed per account and sequence id (§2.4).
CREATE TABLE IF NOT EXISTS seq_marks (
    account_id INTEGER NOT NULL, si VARCHAR NOT NULL, sn BIGINT NOT NULL,
    PRIMARY KEY (account_id, si));
CREATE TABLE IF NOT EXISTS nonces (
    account_id INTEGER NOT NULL, nonce VARCHAR NOT NULL, seen_ns BIGINT NOT NULL,
    PRIMARY KEY (account_id, nonce));
-- Append-only (an insert per commit costs a third of an upsert); compacted by expire().
CREATE TABLE IF NOT EXISTS ingest_usage (
    account_id INTEGER NOT NULL, day INTEGER NOT NULL, bytes BIGINT NOT NULL,
    events BIGINT NOT NULL);
-- getFile/putFile (§3.9). A deleted file stays as a tombstone (content NULL) that keeps its
-- version, so a path created again continues from there and a stale expectedVersion never
-- matches a newer file.
CREATE TABLE IF NOT EXISTS config_files (
    account_id INTEGER NOT NULL, path VARCHAR NOT NULL, version BIGINT NOT NULL,
    content VARCHAR, create_ns BIGINT NOT NULL, mod_ns BIGINT NOT NULL,
    PRIMARY KEY (account_id, path));
-- Which `parser` names arrive, written with the events: what listFiles reports as in use.
CREATE TABLE IF NOT EXISTS parser_usage (
    account_id INTEGER NOT NULL, parser VARCHAR NOT NULL, first_ns BIGINT NOT NULL,
    last_ns BIGINT NOT NULL, events BIGINT NOT NULL, PRIMARY KEY (account_id, parser));
"""

_KNOWN_SESSIONS_CAP = 200_000

# DuckDB checkpoints when its WAL passes this size, inside the COMMIT that passed it. At the
# default 16 MB a row group (122,880 rows) is compressed again at each of the 2-3 checkpoints
# that see it partly filled; at 64 MB the same ingest does about 25% less checkpoint work
# (benchmarks/, docs/performance.md), for longer but rarer checkpoint pauses.
CHECKPOINT_THRESHOLD = "64MB"
# DuckDB's buffer pool otherwise keeps every block it wrote or read, up to 80% of the RAM:
# the server's RSS would grow with the data (~25 MB/s under bulk ingest). The OS page cache
# still caches the file; scans stream through the pool, big sorts and aggregates spill.
# Bulk bench medians (3 runs): 64 MB 405k lines/s, 247 MB peak RSS; 80 MB 409k, 266 MB;
# 96 MB ~424k, ~280 MB with single runs past 300 MB.
MEMORY_LIMIT = "80MB"
# How the text columns (message, attrs) of a new data directory are compressed: zstd, or
# "auto" for DuckDB's own per-segment choice of dictionary or FSST. On log text zstd took about
# 40% less disk, and ingest and searches ran as fast within the noise (docs/performance.md,
# "Compression of text"). The low-cardinality columns keep DuckDB's choice either way: their
# dictionaries make facets fast.
TEXT_COMPRESSION = "zstd"
_COMPRESSION_CLAUSE = {"zstd": " USING COMPRESSION zstd", "auto": ""}
# The name the data file is attached under.
DATABASE = "millpond"
# DuckDB's row groups hold 122,880 rows by default, and a checkpoint that finds new rows
# appended to a row group it wrote before rewrites that group on one thread. Ingest always
# leaves the last group partly filled, so with the default every checkpoint after the first
# took 2.7-3.1 µs a row; with 65,536-row groups 0.6-1.1 µs (`benchmarks/checkpoints.py
# --row-group-size`; docs/performance.md, "Row groups of 65,536 rows"). Scans got a little
# slower (more, smaller groups).
ROW_GROUP_SIZE = 65_536
_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s*[KMGT]i?B$")


class StoreLocked(Exception):
    """Another process has the database open."""


class DuckDBStore:
    dialect = "duckdb"

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> DuckDBStore:
        """The store of a data directory, tuned as the settings say."""
        return cls(
            settings.database_path,
            clock=clock,
            commit_max_rows=settings.commit_max_rows,
            checkpoint_threshold=settings.checkpoint_threshold,
            memory_limit=settings.memory_limit,
            worker_nice=settings.query_nice,
            text_compression=settings.text_compression,
            index_text=settings.text_index == "on",
        )

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock | None = None,
        commit_max_rows: int = 100_000,
        checkpoint_threshold: str = CHECKPOINT_THRESHOLD,
        memory_limit: str | None = MEMORY_LIMIT,
        index_text: bool = True,
        index_block_rows: int = BLOCK_ROWS,
        worker_nice: int = 0,
        text_compression: str = TEXT_COMPRESSION,
        flush_idle_seconds: float | None = 1.0,
    ) -> None:
        if text_compression not in _COMPRESSION_CLAUSE:
            choices = " or ".join(repr(c) for c in _COMPRESSION_CLAUSE)
            raise ValueError(f"text compression {text_compression!r} is not {choices}")
        self._text_compression = text_compression
        for size in (checkpoint_threshold, memory_limit):
            if size is not None and not _SIZE.match(size):
                raise ValueError(f"{size!r} is not a size like '64MB'")
        self._checkpoint_threshold = checkpoint_threshold
        self._memory_limit = memory_limit
        self.path = Path(path)
        self._clock = clock or SystemClock()
        self.created = False
        self.text_compression = text_compression  # what the open data directory uses
        self._commit_max_rows = commit_max_rows
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._events_conn: duckdb.DuckDBPyConnection | None = None  # the writer's, for events
        self._scans: _Scans | None = None  # the tables its statements read, by name
        self._writer: GroupCommitWriter | None = None
        # State owned by the writer thread; mirrors what is committed.
        self._next_seq = 0
        self._nonces = RecentNonces()
        self._known_sessions: set[tuple[int, str]] = set()
        self._seq_marks: dict[tuple[int, str], int] = {}
        self._usage: dict[tuple[int, int], int] = {}
        self._usage_lock = threading.Lock()
        self._parser_usage = _parser_uses()
        self._usage_tally = _usage_tally()
        self._index_text = index_text
        self._index_block_rows = index_block_rows
        self._worker_nice = worker_nice
        self._indexer: BlockIndexer | None = None
        # The tallies held back from commits are written once ingest has paused this long.
        self._flush_idle_seconds = flush_idle_seconds

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.created = not self.path.exists()
        # DuckDB's worker threads run queries (the writer works on its own thread), so they
        # yield the CPU to ingestion; see millpond/priority.py. Spilled data goes where it
        # would for a database opened directly: beside the file.
        with lower_new_threads(self._worker_nice):
            conn = duckdb.connect(":memory:", config={"temp_directory": f"{self.path}.tmp"})
        # The file is attached rather than opened, because only ATTACH sets the row group
        # size; every cursor then starts with USE (`cursor()`).
        try:
            conn.execute(
                f"ATTACH {_quote(str(self.path))} AS {DATABASE} "
                f"(ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
            )
        except (duckdb.IOException, duckdb.ResourceInUseException) as exc:
            conn.close()
            # Another process holds its lock, or this one has it attached already.
            if "lock" in str(exc).lower() or "already attached" in str(exc).lower():
                raise StoreLocked(str(exc)) from exc
            raise
        conn.execute(f"USE {DATABASE}")
        conn.execute(f"SET checkpoint_threshold = '{self._checkpoint_threshold}'")
        if self._memory_limit is not None:
            conn.execute(f"SET memory_limit = '{self._memory_limit}'")
        conn.execute(_SCHEMA.replace("{text}", _COMPRESSION_CLAUSE[self._text_compression]))
        conn.execute(INDEX_SCHEMA)
        self._note_text_compression(conn)
        conn.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            [SCHEMA_VERSION],
        )
        self._conn = conn
        # The writer commits events through a cursor of its own: through the connection that
        # opened the database the same commits took about 1.5x as long in
        # benchmarks/store_writers.py (docs/performance.md).
        self._events_conn = self.cursor()
        self._scans = _Scans(self._events_conn)
        self._load_state(conn)
        self._writer = GroupCommitWriter(
            self, max_rows=self._commit_max_rows,
            idle=self._flush_tallies if self._flush_idle_seconds is not None else None,
            idle_seconds=self._flush_idle_seconds or 1.0,
        )
        self._writer.start()
        self._indexer = BlockIndexer(
            self.cursor, lambda: self._next_seq, block_rows=self._index_block_rows
        )
        if self._index_text:
            self._indexer.start()

    def close(self) -> None:
        if self._indexer is not None:
            self._indexer.stop()
            self._indexer = None
        if self._writer is not None:
            try:
                self._writer.call(self._flush_tallies)
            except Exception:
                log.exception("writing the parser and usage tallies at close failed; their "
                              "last second of counts is lost")
            self._writer.close()
            self._writer = None
        if self._events_conn is not None:
            self._events_conn.close()
            self._events_conn = None
            self._scans = None
        if self._conn is not None:
            self._conn.execute("CHECKPOINT")
            self._conn.close()
            self._conn = None

    def _note_text_compression(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Log it when the data directory was created with other text compression than asked:
        the setting applies to new data directories only."""
        row = conn.execute(
            "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'events'"
        ).fetchone()
        created = "zstd" if row and "COMPRESSION ZSTD" in str(row[0]).upper() else "auto"
        self.text_compression = created
        if created != self._text_compression:
            log.warning(
                "this data directory stores text with %r compression, not %r as asked: "
                "--text-compression applies to new data directories only",
                created, self._text_compression,
            )

    def _load_state(self, conn: duckdb.DuckDBPyConnection) -> None:
        row = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()
        self._next_seq = int(row[0]) if row else 0
        self._seq_marks = {
            (int(a), str(si)): int(sn)
            for a, si, sn in conn.execute("SELECT account_id, si, sn FROM seq_marks").fetchall()
        }
        self._nonces = RecentNonces()
        for a, n, s in conn.execute("SELECT account_id, nonce, seen_ns FROM nonces").fetchall():
            self._nonces.add_all([nonce_key(int(a), str(n))], int(s))
        self._usage_tally = _usage_tally()
        self._parser_usage = _parser_uses(
            {
                (int(a), str(p))
                for a, p in conn.execute("SELECT account_id, parser FROM parser_usage").fetchall()
            }
        )
        with self._usage_lock:
            self._usage = {
                (int(a), int(d)): int(b)
                for a, d, b in conn.execute(
                    "SELECT account_id, day, sum(bytes) FROM ingest_usage WHERE day >= ? "
                    "GROUP BY account_id, day",
                    [self._clock.now_ns() // NS_PER_DAY - 1],
                ).fetchall()
            }

    @property
    def writer(self) -> GroupCommitWriter:
        if self._writer is None:
            raise RuntimeError("the store is not open")
        return self._writer

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise RuntimeError("the store is not open")
        return self._conn

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the database (DuckDB's cursor), using the data file."""
        cur = self.conn.cursor()
        cur.execute(f"USE {DATABASE}")
        return cur

    # -- ingest ------------------------------------------------------------------------------

    def submit(self, batch: EventBatch) -> concurrent.futures.Future[WriteResult]:
        return self.writer.submit(batch)

    def bytes_ingested(self, account_id: int, day: int) -> int:
        with self._usage_lock:
            return self._usage.get((account_id, day), 0)

    def write_group(self, batches: list[EventBatch]) -> list[WriteResult]:
        """Runs on the writer thread: dedupe, then write every accepted batch in one commit."""
        results: list[WriteResult] = []
        accepted: list[EventBatch] = []
        new_nonces: dict[bytes, tuple[int, str]] = {}
        # Sequence marks as they will stand after this group: committed ones, then this
        # group's, so a request resent while the first is still in the group is dropped too.
        marks = _MarkOverlay(self._seq_marks)
        now_ns = self._clock.now_ns()
        for batch in batches:
            key = nonce_key(batch.account_id, batch.nonce) if batch.nonce is not None else None
            if key is not None and (key in new_nonces or key in self._nonces):
                results.append(WriteResult(stored=0, duplicate=True))
                continue
            if key is not None:
                assert batch.nonce is not None
                new_nonces[key] = (batch.account_id, batch.nonce)
            if batch.seq_ids is not None and batch.seq_nums is not None:
                batch = _drop_sequenced(batch, marks)
            accepted.append(batch)
            results.append(WriteResult(stored=batch.rows))
        if not accepted:
            return results

        scans = self._scans
        if scans is None:
            raise RuntimeError("the store is not open")
        table = pa.concat_tables([b.table for b in accepted])
        if len(accepted) > 1:
            # One Arrow chunk per request: DuckDB's scan pays per chunk (a group of 32
            # one-line requests commits in 4 ms as one chunk, 8 ms as 32). A copy is cheaper.
            table = table.combine_chunks()
        rows = table.num_rows
        seq = pa.array(np.arange(self._next_seq, self._next_seq + rows, dtype=np.int64))
        scans.put("new_events", table.add_column(2, "seq", seq))

        new_sessions = {
            (s.account_id, s.session_id): s
            for b in accepted
            for s in b.sessions
            if (s.account_id, s.session_id) not in self._known_sessions
        }
        day = now_ns // NS_PER_DAY
        usage: dict[tuple[int, Any], tuple[int, int]] = {}
        for b in accepted:
            counted = usage.get((b.account_id, day), (0, 0))
            usage[(b.account_id, day)] = _add_usage(counted, (b.bytes_charged, b.rows))

        # The whole transaction is one execute(): each call into DuckDB releases the GIL and
        # must win it back from the event loop, which under load costs more than the SQL
        # (benchmarks/store_writers.py --busy).
        sql: list[str] = []
        if rows:
            sql.append("INSERT INTO events SELECT * FROM new_events")
        if new_sessions:
            scans.put("sessions_tbl", _sessions_table(new_sessions.values(), now_ns))
            sql.append("INSERT INTO sessions SELECT * FROM sessions_tbl ON CONFLICT DO NOTHING")
        if new_nonces:
            scans.put("nonces_tbl", pa.table(
                {
                    "account_id": pa.array([a for a, _ in new_nonces.values()], pa.int32()),
                    "nonce": pa.array([n for _, n in new_nonces.values()], pa.string()),
                    "seen_ns": pa.array([now_ns] * len(new_nonces), pa.int64()),
                }
            ))
            sql.append("INSERT INTO nonces SELECT * FROM nonces_tbl")
        usage_tbl = self._usage_tally.due(usage, now_ns)
        if usage_tbl is not None:
            scans.put("usage_tbl", usage_tbl)
            sql.append("INSERT INTO ingest_usage SELECT * FROM usage_tbl")
        tally = {key: (now_ns, now_ns, n) for key, n in _parser_tally(table, accepted).items()}
        parsers_tbl = self._parser_usage.due(tally, now_ns)
        if parsers_tbl is not None:
            scans.put("parsers_tbl", parsers_tbl)
            sql.append(_UPSERT_PARSER_USAGE)
        if marks.changed:
            scans.put("marks_tbl", pa.table(
                {
                    "account_id": pa.array([a for a, _ in marks.changed], pa.int32()),
                    "si": pa.array([si for _, si in marks.changed], pa.string()),
                    "sn": pa.array(list(marks.changed.values()), pa.int64()),
                }
            ))
            sql.append(
                "INSERT INTO seq_marks SELECT * FROM marks_tbl ON CONFLICT DO UPDATE "
                "SET sn = greatest(seq_marks.sn, excluded.sn)"
            )
        # A commit that writes a tally holds its lock, so a reader never sees the counts both
        # in the table and still pending (or in neither).
        with self._parser_usage.writing(parsers_tbl is not None), \
                self._usage_tally.writing(usage_tbl is not None):
            if sql:  # else there is nothing to write (every row a resend, no count due)
                self._commit(sql)
            self._parser_usage.committed(tally, now_ns, written=parsers_tbl is not None)
            self._usage_tally.committed(usage, now_ns, written=usage_tbl is not None)

        # Committed: only now does the in-memory state move on.
        self._seq_marks.update(marks.changed)
        self._next_seq += rows
        self._nonces.add_all(new_nonces, now_ns)
        if len(self._known_sessions) > _KNOWN_SESSIONS_CAP:
            self._known_sessions.clear()
        self._known_sessions.update(new_sessions)
        with self._usage_lock:
            for (account_id, _), (nbytes, _) in usage.items():
                self._usage[(account_id, day)] = self._usage.get((account_id, day), 0) + nbytes
        return results

    def _commit(self, sql: list[str]) -> None:
        """On the writer thread: the statements as one transaction on the writer's cursor,
        reading the tables put in `_scans`, which are let go after."""
        conn, scans = self._events_conn, self._scans
        if conn is None or scans is None:
            raise RuntimeError("the store is not open")
        try:
            conn.execute(_transaction(sql))
        except BaseException:
            if len(sql) > 1:
                conn.execute("ROLLBACK")
            raise
        finally:
            scans.clear()

    # -- reads -------------------------------------------------------------------------------

    @property
    def indexer(self) -> BlockIndexer:
        if self._indexer is None:
            raise RuntimeError("the store is not open")
        return self._indexer

    def narrow(self, scope: Scope) -> Scope:
        """The scope limited, through the trigram index, to blocks that may match its text."""
        return self.indexer.narrow(scope)

    def select(self, sql: SQL, timeout: float) -> list[tuple[Any, ...]]:
        """Run a read-only query built by `millpond.query` on a cursor of its own.

        Past `timeout` seconds DuckDB is interrupted and QueryTimeout raised. A regular
        expression RE2 cannot compile is the user's error, reported as BadParam.
        """
        with self.cursor() as cur:
            return _run_with_timeout(cur, sql.text, list(sql.params), timeout)

    # -- accounts and tokens (writes go through the writer thread) ----------------------------

    def create_account(self, name: str, now_ns: int) -> AccountRecord:
        def insert() -> AccountRecord:
            conn = self.conn
            if conn.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone():
                raise BadParam(f"account {name!r} already exists; pick another name")
            row = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM accounts").fetchone()
            new_id = int(row[0]) if row else 1
            conn.execute("INSERT INTO accounts VALUES (?, ?, ?)", [new_id, name, now_ns])
            return AccountRecord(new_id, name, now_ns)

        return self.writer.call(insert)

    def list_accounts(self) -> list[AccountRecord]:
        with self.cursor() as cur:
            return [
                AccountRecord(int(i), str(n), int(c))
                for i, n, c in cur.execute(
                    "SELECT id, name, created_ns FROM accounts ORDER BY id"
                ).fetchall()
            ]

    def insert_token(self, token: TokenRecord) -> None:
        def insert() -> None:
            self.conn.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [token.id, token.account_id, token.kind, token.label, token.hash,
                 token.created_ns, token.last_used_ns, token.revoked_ns],
            )

        self.writer.call(insert)

    def list_tokens(self) -> list[TokenRecord]:
        with self.cursor() as cur:
            return [
                TokenRecord(*row)
                for row in cur.execute(
                    "SELECT t.id, t.account_id, a.name, t.kind, t.label, t.hash, t.created_ns, "
                    "t.last_used_ns, t.revoked_ns FROM tokens t JOIN accounts a "
                    "ON a.id = t.account_id ORDER BY t.created_ns, t.id"
                ).fetchall()
            ]

    def revoke_token(self, token_id: str, now_ns: int) -> TokenRecord | None:
        def revoke() -> None:
            self.conn.execute(
                "UPDATE tokens SET revoked_ns = ? WHERE id = ? AND revoked_ns IS NULL",
                [now_ns, token_id],
            )

        self.writer.call(revoke)
        return next((t for t in self.list_tokens() if t.id == token_id), None)

    def touch_tokens(self, last_used: Mapping[str, int]) -> None:
        if not last_used:
            return
        items = list(last_used.items())

        def touch() -> None:
            self.conn.executemany(
                "UPDATE tokens SET last_used_ns = greatest(coalesce(last_used_ns, 0), ?) "
                "WHERE id = ?",
                [[ts, tid] for tid, ts in items],
            )

        self.writer.call(touch)

    # -- configuration files (writes go through the writer thread) ----------------------------

    def get_file(self, account_id: int, path: str) -> ConfigFile | None:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT path, version, content, create_ns, mod_ns FROM config_files "
                "WHERE account_id = ? AND path = ? AND content IS NOT NULL",
                [account_id, path],
            ).fetchone()
        return None if row is None else ConfigFile(*row)

    def put_file(
        self, account_id: int, path: str, content: str, expected_version: int | None,
        now_ns: int,
    ) -> ConfigFile:
        def put() -> ConfigFile:
            conn = self.conn
            live, last_version = _file_versions(conn, account_id, path)
            _check_version(path, live, expected_version)
            # A file created again after a delete starts its life anew, at the next version.
            create_ns = now_ns if live is None else live.create_ns
            written = ConfigFile(path, last_version + 1, content, create_ns, now_ns)
            conn.execute(
                "INSERT INTO config_files VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET version = excluded.version, "
                "content = excluded.content, create_ns = excluded.create_ns, "
                "mod_ns = excluded.mod_ns",
                [account_id, path, written.version, content, create_ns, now_ns],
            )
            return written

        return self.writer.call(put)

    def delete_file(
        self, account_id: int, path: str, expected_version: int | None, now_ns: int
    ) -> bool:
        def delete() -> bool:
            conn = self.conn
            live, _ = _file_versions(conn, account_id, path)
            _check_version(path, live, expected_version)
            if live is None:
                return False
            conn.execute(
                "UPDATE config_files SET content = NULL, mod_ns = ? "
                "WHERE account_id = ? AND path = ?",
                [now_ns, account_id, path],
            )
            return True

        return self.writer.call(delete)

    def list_files(self, account_id: int) -> list[str]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT path FROM config_files WHERE account_id = ? AND content IS NOT NULL",
                [account_id],
            ).fetchall()
        return sorted(str(path) for (path,) in rows)

    def parsers_in_use(self, account_id: int) -> list[ParserUse]:
        with self._parser_usage.reading() as pending, self.cursor() as cur:
            rows = cur.execute(
                "SELECT parser, first_ns, last_ns, events FROM parser_usage "
                "WHERE account_id = ?",
                [account_id],
            ).fetchall()
            uses = {str(p): (int(f), int(la), int(e)) for p, f, la, e in rows}
            for (account, name), (first, last, events) in pending.items():
                if account == account_id:
                    uses[name] = _merge_use(uses.get(name), first, last, events)
        return [ParserUse(name, *uses[name]) for name in sorted(uses)]

    def usage_by_day(self, account_id: int, first_day: int) -> list[tuple[int, int, int]]:
        """(day, bytes, events) the account ingested on each UTC day from `first_day` on,
        newest first: the table's rows plus the counts not yet written."""
        with self._usage_tally.reading() as pending, self.cursor() as cur:
            rows = cur.execute(
                "SELECT day, sum(bytes), sum(events) FROM ingest_usage "
                "WHERE account_id = ? AND day >= ? GROUP BY day",
                [account_id, first_day],
            ).fetchall()
            days = {int(d): (int(b), int(e)) for d, b, e in rows}
            for (account, day), counts in pending.items():
                if account == account_id and day >= first_day:
                    days[day] = _add_usage(days.get(day, (0, 0)), counts)
        return [(day, *days[day]) for day in sorted(days, reverse=True)]

    def _flush_tallies(self) -> None:
        """Write what the parser and usage tallies hold in memory, in one transaction (on the
        writer thread: when ingest pauses, before the minute's compaction, at close)."""
        scans = self._scans
        if scans is None:
            raise RuntimeError("the store is not open")
        now_ns = self._clock.now_ns()
        parsers_tbl = self._parser_usage.due({}, now_ns, force=True)
        usage_tbl = self._usage_tally.due({}, now_ns, force=True)
        sql = []
        if parsers_tbl is not None:
            scans.put("parsers_tbl", parsers_tbl)
            sql.append(_UPSERT_PARSER_USAGE)
        if usage_tbl is not None:
            scans.put("usage_tbl", usage_tbl)
            sql.append("INSERT INTO ingest_usage SELECT * FROM usage_tbl")
        if not sql:
            return
        with self._parser_usage.writing(parsers_tbl is not None), \
                self._usage_tally.writing(usage_tbl is not None):
            self._commit(sql)
            self._parser_usage.committed({}, now_ns, written=parsers_tbl is not None)
            self._usage_tally.committed({}, now_ns, written=usage_tbl is not None)

    # -- housekeeping ------------------------------------------------------------------------

    def expire(self, events_before_ns: int | None, nonces_before_ns: int) -> int:
        def run() -> int:
            conn = self.conn
            deleted = 0
            self._flush_tallies()  # so the compaction below sees every count
            conn.execute("BEGIN TRANSACTION")
            try:
                if events_before_ns is not None:
                    row = conn.execute(
                        "DELETE FROM events WHERE ts < ?", [events_before_ns]
                    ).fetchone()
                    deleted = int(row[0]) if row else 0
                conn.execute("DELETE FROM nonces WHERE seen_ns < ?", [nonces_before_ns])
                if events_before_ns is not None:
                    self.indexer.expire(conn, events_before_ns)
                # One row per account and day again, instead of one per commit.
                conn.execute(
                    "CREATE TEMP TABLE usage_totals AS SELECT account_id, day, "
                    "sum(bytes)::BIGINT AS bytes, sum(events)::BIGINT AS events "
                    "FROM ingest_usage GROUP BY account_id, day"
                )
                conn.execute("DELETE FROM ingest_usage")
                conn.execute("INSERT INTO ingest_usage SELECT * FROM usage_totals")
                conn.execute("DROP TABLE usage_totals")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._nonces.expire(nonces_before_ns)
            return deleted

        return self.writer.call(run)


class _Held:
    """An Arrow table DuckDB reads by name (`conn.register`), swapped between statements.
    DuckDB reads its schema when it binds a statement, and its rows when it runs it."""

    __slots__ = ("empty", "table")

    def __init__(self, table: pa.Table) -> None:
        self.empty = table.schema.empty_table()
        self.table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.table.__arrow_c_stream__(requested_schema)


class _Scans:
    """The tables the writer's statements read (`new_events`, `nonces_tbl`, …), registered
    once on its cursor and set before each commit. Found instead by DuckDB's replacement scan
    (a local variable of the calling frame), every name of every statement cost a search of the
    Python frames: ~0.9 ms a commit, and more rounds for the GIL, each of which waits for the
    event loop to let it go (benchmarks/store_writers.py, docs/performance.md)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn
        self._held: dict[str, _Held] = {}

    def put(self, name: str, table: pa.Table) -> None:
        held = self._held.get(name)
        if held is None:
            self._held[name] = held = _Held(table)
            self._conn.register(name, held)
        else:
            held.table = table

    def clear(self) -> None:
        """Let go of the tables (their memory) once their statements ran."""
        for held in self._held.values():
            held.table = held.empty


def _transaction(statements: list[str]) -> str:
    """The statements as one transaction. A lone statement commits on its own (autocommit,
    as atomic and durable), without the work of two more statements, BEGIN and COMMIT: most
    ingest commits hold only the events' INSERT (benchmarks/store_writers.py)."""
    if len(statements) == 1:
        return statements[0]
    return ";\n".join(["BEGIN TRANSACTION", *statements, "COMMIT"])


class _MarkOverlay:
    """The committed sequence marks plus the ones a group of batches moves forward."""

    def __init__(self, committed: Mapping[tuple[int, str], int]) -> None:
        self._committed = committed
        self.changed: dict[tuple[int, str], int] = {}

    def get(self, key: tuple[int, str]) -> int | None:
        if key in self.changed:
            return self.changed[key]
        return self._committed.get(key)


def _drop_sequenced(batch: EventBatch, marks: _MarkOverlay) -> EventBatch:
    """The batch without the rows whose (seq id, seq number) is not past the account's mark;
    the marks moved to the highest number kept."""
    assert batch.seq_ids is not None and batch.seq_nums is not None
    ids = batch.seq_ids.to_pylist()
    nums = batch.seq_nums.to_pylist()
    keep = np.ones(len(ids), dtype=np.bool_)
    for row, (si, sn) in enumerate(zip(ids, nums, strict=True)):
        if si is None or sn is None:
            continue
        key = (batch.account_id, si)
        mark = marks.get(key)
        if mark is not None and sn <= mark:
            keep[row] = False
        else:
            marks.changed[key] = sn
    if keep.all():
        return batch
    return dataclasses.replace(
        batch,
        # A resend that stores nothing is not charged, like a repeated uploadLogs Nonce.
        bytes_charged=batch.bytes_charged if keep.any() else 0,
        table=batch.table.filter(pa.array(keep)),
        seq_ids=batch.seq_ids.filter(pa.array(keep)),
        seq_nums=batch.seq_nums.filter(pa.array(keep)),
    )


# How long at most the parser tally and the usage counts wait in memory before they are
# written with a commit.
DEFERRED_FLUSH_NS = 1_000_000_000
_UPSERT_PARSER_USAGE = (
    "INSERT INTO parser_usage SELECT * FROM parsers_tbl ON CONFLICT DO UPDATE SET "
    "first_ns = least(parser_usage.first_ns, excluded.first_ns), "
    "last_ns = greatest(parser_usage.last_ns, excluded.last_ns), "
    "events = parser_usage.events + excluded.events"
)

_Use = tuple[int, int, int]  # first_ns, last_ns, events


def _merge_use(use: _Use | None, first: int, last: int, events: int) -> _Use:
    if use is None:
        return first, last, events
    return min(use[0], first), max(use[1], last), use[2] + events


def _merge_uses(a: _Use, b: _Use) -> _Use:
    return _merge_use(a, *b)


def _parser_tally(table: pa.Table, accepted: list[EventBatch]) -> dict[tuple[int, str], int]:
    """Events per (account, non-null `parser` value) of `table`, the accepted batches' rows.

    One `value_counts` per account in the group (~15 µs for 1,000 rows), not a group-by of
    the whole table (~200 µs): this runs on every commit.
    """
    accounts = {b.account_id for b in accepted if b.rows}
    if len(accounts) == 1:
        columns = {accounts.pop(): table.column("parser")}
    else:
        chunks: dict[int, list[pa.Array]] = {}
        for batch in accepted:
            chunks.setdefault(batch.account_id, []).extend(batch.table.column("parser").chunks)
        columns = {a: pa.chunked_array(c, pa.string()) for a, c in chunks.items()}
    tally: dict[tuple[int, str], int] = {}
    for account_id, column in columns.items():
        counts = pc.value_counts(column)
        for name, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            if name is not None:
                tally[(account_id, name)] = count
    return tally


class _Deferred(Generic[V]):
    """Counts kept per (account, key) in memory and written to their table with an ingest
    commit at most once a second, and when ingest pauses for a second, by the minute's
    housekeeping (`expire`) and at close, instead of with every commit.

    Any statement in a commit costs DuckDB's per-statement work against ~15 µs for counting:
    one-request commits took 20-26% less CPU without the usage row (docs/performance.md). What
    is counted is written only inside an ingest commit, so the table only ever counts committed
    events (a rolled-back group, a dropped resend or a repeated nonce adds nothing). In between,
    counts wait here and readers add them in (`reading`). A crash loses the counts not yet
    written, about the last second's — an under-count, never an over-count; the events
    themselves are durable as always.
    """

    def __init__(
        self, merge: Callable[[V, V], V], table: Callable[[dict[tuple[int, Any], V]], pa.Table],
        *, new_keys_now: bool = False, known: set[tuple[int, Any]] | None = None,
    ) -> None:
        self._merge = merge
        self._table = table
        self._new_keys_now = new_keys_now  # a key the table has no row for is written at once
        self._lock = threading.Lock()
        self._known = known or set()  # keys the table has a row for (with new_keys_now)
        self._pending: dict[tuple[int, Any], V] = {}
        self._written_ns = 0

    def _add(self, into: dict[tuple[int, Any], V], tally: Mapping[tuple[int, Any], V]) -> None:
        for key, value in tally.items():
            into[key] = value if key not in into else self._merge(into[key], value)

    def due(
        self, tally: Mapping[tuple[int, Any], V], now_ns: int, *, force: bool = False
    ) -> pa.Table | None:
        """The rows to write with this commit (what is pending plus `tally`), or None if they
        can wait for a later one."""
        with self._lock:
            if not tally and not self._pending:
                return None
            new_key = self._new_keys_now and any(key not in self._known for key in tally)
            if not (force or new_key or now_ns - self._written_ns >= DEFERRED_FLUSH_NS):
                return None
            rows = dict(self._pending)
        self._add(rows, tally)
        return self._table(rows)

    @contextlib.contextmanager
    def writing(self, holds: bool) -> Iterator[None]:
        """Around a commit that writes the rows (`holds`): readers wait for it to finish."""
        if not holds:
            yield
            return
        with self._lock:
            yield

    def committed(
        self, tally: Mapping[tuple[int, Any], V], now_ns: int, *, written: bool
    ) -> None:
        """After a commit: what was pending is now in the table, or `tally` joins it.

        When `written`, the caller already holds the lock (`writing(True)`)."""
        if written:
            self._known.update(self._pending)
            self._known.update(tally)
            self._pending.clear()
            self._written_ns = now_ns
            return
        with self._lock:
            self._add(self._pending, tally)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Mapping[tuple[int, Any], V]]:
        """What is pending, with no commit of these rows running until the block ends."""
        with self._lock:
            yield self._pending


def _tally_rows(
    key: str, key_type: pa.DataType, values: tuple[str, ...], rows: dict[tuple[int, Any], Any]
) -> pa.Table:
    """A tally's rows as its table's columns: account_id, the key, then the BIGINT values."""
    keys = list(rows)
    columns = {
        "account_id": pa.array([a for a, _ in keys], pa.int32()),
        key: pa.array([k for _, k in keys], key_type),
    }
    for i, name in enumerate(values):
        columns[name] = pa.array([rows[k][i] for k in keys], pa.int64())
    return pa.table(columns)


def _add_usage(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


def _parser_uses(known: set[tuple[int, Any]] | None = None) -> _Deferred[_Use]:
    """Events per account and `parser` name, for listFiles; a name seen for the first time is
    written with the commit that brings it."""
    rows = functools.partial(_tally_rows, "parser", pa.string(), ("first_ns", "last_ns", "events"))
    return _Deferred(_merge_uses, rows, new_keys_now=True, known=known)


def _usage_tally() -> _Deferred[tuple[int, int]]:
    """Bytes and events per account and UTC day (`ingest_usage`, appended and compacted)."""
    return _Deferred(_add_usage, functools.partial(_tally_rows, "day", pa.int32(),
                                                   ("bytes", "events")))


def _file_versions(
    conn: duckdb.DuckDBPyConnection, account_id: int, path: str
) -> tuple[ConfigFile | None, int]:
    """The live file at a path (None if absent or deleted), and the last version it ever had."""
    row = conn.execute(
        "SELECT path, version, content, create_ns, mod_ns FROM config_files "
        "WHERE account_id = ? AND path = ?",
        [account_id, path],
    ).fetchone()
    if row is None:
        return None, 0
    live = ConfigFile(*row) if row[2] is not None else None
    return live, int(row[1])


def _check_version(path: str, live: ConfigFile | None, expected: int | None) -> None:
    current = 0 if live is None else live.version
    if expected is not None and expected != current:
        state = "does not exist (version 0)" if live is None else f"is at version {current}"
        raise VersionMismatch(
            f"{path} {state}, not version {expected} as expectedVersion says: it changed "
            "since you read it; get it again, reapply your change and retry"
        )


def _sessions_table(sessions: Any, now_ns: int) -> pa.Table:
    sessions = list(sessions)
    return pa.table(
        {
            "account_id": pa.array([s.account_id for s in sessions], pa.int32()),
            "session": pa.array([s.session_id for s in sessions], pa.string()),
            "fields": pa.array(
                [orjson.dumps(dict(s.fields)).decode() for s in sessions], pa.string()
            ),
            "created_ns": pa.array([now_ns] * len(sessions), pa.int64()),
        }
    )


def _quote(text: str) -> str:
    """A SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _run_with_timeout(
    cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any], timeout: float
) -> list[tuple[Any, ...]]:
    timer = threading.Timer(timeout, cur.interrupt)
    timer.start()
    try:
        return cur.execute(sql, params).fetchall()
    except duckdb.InvalidInputException as exc:
        text = str(exc).removeprefix("Invalid Input Error: ")
        if "regexp_matches" in sql:
            raise BadParam(
                f"a regular expression in the filter is not valid ({text}); millpond uses "
                "RE2 syntax: no backreferences or lookaround"
            ) from None
        raise
    except (duckdb.OutOfRangeException, duckdb.ConversionException) as exc:
        raise BadParam(
            f"a value in the query is out of range ({exc}); use smaller numbers or a "
            "narrower filter"
        ) from None
    except duckdb.BinderException as exc:
        if "expression depth" not in str(exc):
            raise
        raise BadParam("the query is nested too deeply; simplify it") from None
    except duckdb.InterruptException:
        raise QueryTimeout(
            f"the query ran past the {timeout:g} s limit and was cancelled; "
            "narrow the time range or the filter"
        ) from None
    finally:
        timer.cancel()


__all__ = ["DuckDBStore", "SessionRecord", "StoreLocked"]
