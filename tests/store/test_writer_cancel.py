"""The group-commit writer skips a request cancelled while queued and keeps running."""

from __future__ import annotations

import threading

from millpond.store.base import EVENT_SCHEMA, EventBatch, WriteResult
from millpond.store.writer import GroupCommitWriter


class GatedSink:
    """Writes nothing; the first group waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.groups: list[list[EventBatch]] = []

    def write_group(self, batches: list[EventBatch]) -> list[WriteResult]:
        self.entered.set()
        self.gate.wait(5)
        self.groups.append(batches)
        return [WriteResult(stored=b.rows) for b in batches]


def empty_batch() -> EventBatch:
    return EventBatch(account_id=1, table=EVENT_SCHEMA.empty_table(), sessions=(),
                      bytes_charged=0)


def test_a_cancelled_queued_request_is_not_written_and_the_writer_survives() -> None:
    sink = GatedSink()
    writer = GroupCommitWriter(sink, max_rows=1000)
    writer.start()
    try:
        first = writer.submit(empty_batch())
        assert sink.entered.wait(5)  # the writer is busy with `first`
        assert not first.cancel()  # being written: too late to cancel
        doomed = writer.submit(empty_batch())
        assert doomed.cancel()
        after = writer.submit(empty_batch())
        sink.gate.set()
        assert first.result(5).stored == 0
        assert after.result(5).stored == 0
        assert doomed.cancelled()
        assert sum(len(g) for g in sink.groups) == 2
    finally:
        sink.gate.set()
        writer.close()

