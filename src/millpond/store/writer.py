"""The group-commit writer: one thread, one transaction for every batch that queued up.

Requests hand their batches to `submit()` and wait on a future. The writer thread takes the
first queued batch, gathers every other batch that arrived meanwhile (up to `max_rows`), writes
them all in one transaction and resolves each future after the commit. Idle, a lone request is
committed at once; under load thousands of requests share a few fsyncs a second.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from millpond.errors import Unavailable
from millpond.store.base import EventBatch, WriteResult

log = logging.getLogger("millpond.store")

T = TypeVar("T")


class GroupSink(Protocol):
    def write_group(self, batches: list[EventBatch]) -> list[WriteResult]:
        """Write the batches in one committed transaction; one result per batch, in order."""
        ...


@dataclass
class _Write:
    batch: EventBatch
    future: concurrent.futures.Future[WriteResult]


@dataclass
class _Call(Generic[T]):
    fn: Callable[[], T]
    future: concurrent.futures.Future[T]


_STOP = object()


class GroupCommitWriter:
    def __init__(
        self, sink: GroupSink, *, max_rows: int, idle: Callable[[], None] | None = None,
        idle_seconds: float = 1.0,
    ) -> None:
        """`idle`, if given, runs on the writer thread each time nothing was queued for
        `idle_seconds` (e.g. to write counts held back from the commits)."""
        self._sink = sink
        self._max_rows = max_rows
        self._idle = idle
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="millpond-writer", daemon=True)
        self._closed = False
        self.commits = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: EventBatch) -> concurrent.futures.Future[WriteResult]:
        future: concurrent.futures.Future[WriteResult] = concurrent.futures.Future()
        if self._closed:
            future.set_exception(Unavailable("the store is shutting down; retry", retry_after=5))
        else:
            self._queue.put(_Write(batch, future))
        return future

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the writer thread after everything queued before it; return its result."""
        if self._closed:
            raise Unavailable("the store is shutting down; retry", retry_after=5)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put(_Call(fn, future))
        return future.result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        pending: Any = None
        while True:
            item = pending if pending is not None else self._next()
            pending = None
            if item is _STOP:
                return
            if isinstance(item, _Call):
                self._run_call(item)
                continue
            # A request whose future was cancelled before its write began is not written; one
            # that is running can no longer be cancelled, so set_result() cannot fail later.
            group: list[_Write] = []
            rows = 0
            if item.future.set_running_or_notify_cancel():
                group.append(item)
                rows += item.batch.rows
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(nxt, _Write):
                    pending = nxt
                    break
                if nxt.future.set_running_or_notify_cancel():
                    group.append(nxt)
                    rows += nxt.batch.rows
            if group:
                self._write(group)

    def _next(self) -> Any:
        """The next queued item; while none comes, `idle` every `idle_seconds`."""
        if self._idle is None:
            return self._queue.get()
        while True:
            try:
                return self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                try:
                    self._idle()
                except Exception:
                    log.exception("the writer's idle work failed; it is tried again later")

    def _write(self, group: list[_Write]) -> None:
        try:
            results = self._sink.write_group([w.batch for w in group])
        except Exception as exc:  # the transaction failed: every request in it gets the error
            self.failures += 1
            log.exception("group commit of %d batches failed", len(group))
            error = Unavailable(
                f"storing the events failed ({type(exc).__name__}); nothing was stored, retry",
                retry_after=5,
            )
            for w in group:
                w.future.set_exception(error)
            return
        self.commits += 1
        for w, result in zip(group, results, strict=True):
            w.future.set_result(result)

    @staticmethod
    def _run_call(call: _Call[Any]) -> None:
        try:
            call.future.set_result(call.fn())
        except BaseException as exc:
            call.future.set_exception(exc)
