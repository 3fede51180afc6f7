"""CPU priority: ingestion first, queries with what is left.

An acknowledged upload is the product's promise; a query can wait. On Linux `nice` applies to
each thread, so the threads that run queries — millpond's query pool and DuckDB's worker
threads — get a higher nice value than the event loop and the writer. Idle cores still go to
queries at full speed; only when ingest and a query compete does ingest win.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable, Iterator

_TASKS = "/proc/self/task"


def lower_current_thread(nice: int) -> None:
    """Raise this thread's nice value by `nice` (0: leave it); never fails."""
    if nice > 0:
        with contextlib.suppress(OSError, AttributeError):
            current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), current + nice)


def thread_ids() -> set[int]:
    """The kernel ids of this process's threads (empty where /proc is not there)."""
    try:
        return {int(t) for t in os.listdir(_TASKS)}
    except OSError:
        return set()


@contextlib.contextmanager
def lower_new_threads(nice: int) -> Iterator[None]:
    """Lower the priority of every thread the block starts (e.g. DuckDB's worker pool)."""
    before = thread_ids()
    yield
    if nice <= 0:
        return
    for tid in thread_ids() - before:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


def query_pool(nice: int, workers: int = 16) -> concurrent.futures.ThreadPoolExecutor:
    """Threads for queries, each `nice` steps below normal priority."""
    initializer: Callable[[], None] = lambda: lower_current_thread(nice)  # noqa: E731
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="millpond-query", initializer=initializer
    )
