"""Query threads run below ingestion in CPU priority (Linux nice is per thread)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from millpond.priority import lower_current_thread, lower_new_threads, query_pool, thread_ids
from millpond.store import DuckDBStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


def nice_of(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_the_query_pool_runs_below_the_calling_thread() -> None:
    base = nice_of(threading.get_native_id())
    pool = query_pool(7, workers=2)
    try:
        assert pool.submit(lambda: nice_of(threading.get_native_id())).result() == base + 7
    finally:
        pool.shutdown()
    assert nice_of(threading.get_native_id()) == base  # the caller is untouched


def test_zero_leaves_priority_alone() -> None:
    result: list[int] = []

    def run() -> None:
        before = nice_of(threading.get_native_id())
        lower_current_thread(0)
        result.append(nice_of(threading.get_native_id()) - before)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert result == [0]


def test_threads_started_in_the_block_are_lowered_and_no_others() -> None:
    base = nice_of(threading.get_native_id())
    started = threading.Event()
    stop = threading.Event()
    ids: list[int] = []

    def run() -> None:
        ids.append(threading.get_native_id())
        started.set()
        stop.wait()

    with lower_new_threads(5):
        worker = threading.Thread(target=run)
        worker.start()
        started.wait()
    try:
        assert nice_of(ids[0]) == base + 5
        assert nice_of(threading.get_native_id()) == base
    finally:
        stop.set()
        worker.join()


def test_the_store_lowers_duckdbs_worker_threads(tmp_path: Path) -> None:
    base = nice_of(threading.get_native_id())
    before = thread_ids()
    store = DuckDBStore(tmp_path / "db.duckdb", worker_nice=4, index_text=False)
    store.open()
    try:
        python_threads = {t.native_id for t in threading.enumerate()}
        duckdb_threads = thread_ids() - before - python_threads
        assert duckdb_threads, "DuckDB started no worker threads"
        # Threads DuckDB started while opening; the writer (a Python thread) is not lowered.
        assert any(nice_of(t) == base + 4 for t in duckdb_threads)
        writer = [t for t in threading.enumerate() if "writer" in t.name]
        assert all(nice_of(t.native_id or 0) == base for t in writer)
    finally:
        store.close()
