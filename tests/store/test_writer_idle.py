"""The group-commit writer's idle hook: run when nothing has been queued for a while, and
again while nothing is; a failing hook does not stop the writer."""

from __future__ import annotations

import threading

import pytest
from test_writer_cancel import GatedSink, empty_batch

from millpond.store.writer import GroupCommitWriter


def test_idle_runs_once_nothing_is_queued_and_again_while_it_stays_so() -> None:
    sink = GatedSink()
    sink.gate.set()
    calls = threading.Semaphore(0)
    writer = GroupCommitWriter(sink, max_rows=1000, idle=calls.release, idle_seconds=0.02)
    writer.start()
    try:
        assert writer.submit(empty_batch()).result(5).stored == 0
        assert calls.acquire(timeout=5)
        assert calls.acquire(timeout=5)  # every idle_seconds while idle
        assert writer.submit(empty_batch()).result(5).stored == 0  # still writing
    finally:
        writer.close()


def test_a_failing_idle_hook_is_logged_and_the_writer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = GatedSink()
    sink.gate.set()
    failed = threading.Event()

    def idle() -> None:
        failed.set()
        raise RuntimeError("disk full")

    writer = GroupCommitWriter(sink, max_rows=1000, idle=idle, idle_seconds=0.02)
    writer.start()
    try:
        assert failed.wait(5)
        assert writer.submit(empty_batch()).result(5).stored == 0
        assert "idle work failed" in caplog.text
    finally:
        writer.close()


def test_without_a_hook_the_writer_just_waits() -> None:
    sink = GatedSink()
    sink.gate.set()
    writer = GroupCommitWriter(sink, max_rows=1000)
    writer.start()
    try:
        assert writer.submit(empty_batch()).result(5).stored == 0
    finally:
        writer.close()
