"""`millpond serve` gives freed memory back: Arrow on the C library's malloc, glibc's trim
threshold fixed (server._memory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from millpond import server


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLibc]:
    fake = FakeLibc()
    monkeypatch.setattr(server.ctypes, "CDLL", lambda name: fake)
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = pa.default_memory_pool()
    yield fake
    pa.set_memory_pool(before)


def test_arrow_buffers_come_from_malloc_and_heaps_are_trimmed(libc: FakeLibc) -> None:
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    server._memory()
    assert pa.default_memory_pool().backend_name == "system"
    assert libc.calls == [(-1, 1024 * 1024)]  # M_TRIM_THRESHOLD, 1 MB


def test_the_environment_still_decides(libc: FakeLibc, monkeypatch: Any) -> None:
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    server._memory()
    assert pa.default_memory_pool().backend_name == "mimalloc"
    assert libc.calls == []


def test_a_libc_without_mallopt_is_fine(monkeypatch: pytest.MonkeyPatch, libc: FakeLibc) -> None:
    monkeypatch.setattr(server.ctypes, "CDLL", lambda name: object())  # e.g. not glibc
    server._memory()
    assert pa.default_memory_pool().backend_name == "system"
