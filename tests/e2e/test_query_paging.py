"""Reading back more than one /api/query page (spec §3.3): maxCount, pageMode, time windows."""

from __future__ import annotations

import pytest

from .conftest import MAX_COUNT, Server

pytestmark = pytest.mark.e2e


def test_paging_by_start_time_returns_every_line_once_in_order(server: Server) -> None:
    lines = [f"line {i:05d}" for i in range(12_000)]
    for start in range(0, len(lines), 4000):
        body = "\n".join(lines[start : start + 4000])
        assert server.upload(body).json() == {"status": "success"}

    since = str(server.born_ns)
    head = server.query(startTime=since, maxCount=MAX_COUNT, pageMode="head").json()["matches"]
    tail = server.query(startTime=since, maxCount=MAX_COUNT, pageMode="tail").json()["matches"]
    assert [m["message"] for m in head] == lines[:MAX_COUNT]
    assert [m["message"] for m in tail] == lines[-MAX_COUNT:]  # newest page, still ascending

    assert server.messages() == lines  # three pages, each starting at the last timestamp seen


@pytest.mark.parametrize("max_count", [0, MAX_COUNT + 1, "many"])
def test_max_count_outside_1_to_5000_is_refused(shared_server: Server, max_count: object) -> None:
    response = shared_server.query(maxCount=max_count)
    assert response.status_code == 400
    assert response.json()["status"] == "error/client/badParam"
    assert "maxCount" in response.json()["message"]
