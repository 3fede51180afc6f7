"""`kill -9` under load: every acknowledged line survives exactly once, and Nonce retries dedupe.

Six client threads upload small multi-line requests, every line unique, half of the requests
with a Nonce, and record exactly which requests were answered `{"status":"success"}`. While
they run the server is killed with SIGKILL. It is restarted on the same data directory; every
request without a definite answer is retried, with its Nonce if it had one. Then all events are
read back. The whole cycle runs twice, so the second crash hits a database recovered once.
The same load stopped by SIGTERM must lose nothing either, and exit cleanly.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e

CLIENTS = 6
LINES_PER_REQUEST = 3
KILL_AFTER_SECONDS = 2.0
RUN_SECONDS = 4.0  # a client stops by then even if the server were never killed
CYCLES = 2
LINE = re.compile(r"^cycle-(\d+) client-(\d+) req-(\d+) line-(\d+)$")


@dataclass
class Request:
    cycle: int
    client: int
    number: int
    nonce: str | None
    outcome: str = "unsent"  # acked, refused, unknown (no answer: the server died)
    retried: bool = False

    @property
    def lines(self) -> list[str]:
        prefix = f"cycle-{self.cycle} client-{self.client} req-{self.number}"
        return [f"{prefix} line-{k}" for k in range(LINES_PER_REQUEST)]

    @property
    def body(self) -> bytes:
        return "\n".join(self.lines).encode()

    @property
    def headers(self) -> dict[str, str]:
        return {"Nonce": self.nonce} if self.nonce else {}


def send(client: httpx.Client, token: str, request: Request) -> httpx.Response:
    return client.post(
        "/api/uploadLogs", params={"token": token}, headers=request.headers,
        content=request.body,
    )


def run_client(
    server: Server, cycle: int, number: int, deadline: float, log: list[Request]
) -> None:
    assert server.write_token
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        n = 0
        while time.monotonic() < deadline:
            nonce = f"nonce-{cycle}-{number}-{n}-{uuid.uuid4().hex[:8]}" if n % 2 == 0 else None
            request = Request(cycle, number, n, nonce)
            log.append(request)
            n += 1
            try:
                response = send(client, server.write_token, request)
            except httpx.TransportError:
                request.outcome = "unknown"
                return  # the server is gone
            request.outcome = "acked" if response.json() == {"status": "success"} else "refused"


def load_and_stop(server: Server, cycle: int, how: str) -> list[Request]:
    logs: list[list[Request]] = [[] for _ in range(CLIENTS)]
    deadline = time.monotonic() + RUN_SECONDS
    threads = [
        threading.Thread(target=run_client, args=(server, cycle, c, deadline, logs[c]))
        for c in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    time.sleep(KILL_AFTER_SECONDS)
    if how == "kill -9":
        server.kill()
    else:
        assert server.stop() == 0
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return [request for log in logs for request in log]


def retry_unanswered(server: Server, requests: list[Request]) -> None:
    assert server.write_token
    for request in requests:
        if request.outcome != "unknown":
            continue
        response = send(server.client, server.write_token, request)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "success"
        request.retried = True


@pytest.mark.slow
@pytest.mark.parametrize(("how", "cycles"), [("kill -9", CYCLES), ("SIGTERM", 1)])
def test_stop_under_load_loses_no_acknowledged_line_and_duplicates_no_nonce(
    server: Server, how: str, cycles: int
) -> None:
    requests: list[Request] = []
    for cycle in range(cycles):
        sent = load_and_stop(server, cycle, how)
        # Each client had one request without an answer when the server died, or sent one
        # into the void right after; everything before it got a definite answer.
        assert Counter(r.client for r in sent if r.outcome == "unknown") == dict.fromkeys(
            range(CLIENTS), 1
        )
        assert sum(r.outcome == "acked" for r in sent) >= 50, "the load was too light to matter"
        assert [r for r in sent if r.outcome not in ("acked", "unknown")] == []
        server.start()
        retry_unanswered(server, sent)
        requests.extend(sent)

    events = server.events()
    messages = [e["message"] for e in events]
    counts = Counter(messages)
    by_line = {line: r for r in requests for line in r.lines}

    unexpected = [m for m in counts if m not in by_line]
    assert unexpected == [], f"{len(unexpected)} lines nobody sent, e.g. {unexpected[:3]}"
    assert all(LINE.match(m) for m in counts)
    for request in requests:
        seen = [counts[line] for line in request.lines]
        if request.outcome == "acked" or (request.retried and request.nonce):
            assert seen == [1] * LINES_PER_REQUEST, (request, seen)
        elif request.retried:
            # No Nonce: the first try may have been committed before the answer was lost.
            assert seen in ([1] * LINES_PER_REQUEST, [2] * LINES_PER_REQUEST), (request, seen)
        else:
            assert seen == [0] * LINES_PER_REQUEST, (request, seen)

    # The lines of one request are stored together, in order.
    position = {m: i for i, m in enumerate(messages) if counts[m] == 1}
    for request in requests:
        if all(counts[line] == 1 for line in request.lines):
            first = position[request.lines[0]]
            assert messages[first : first + LINES_PER_REQUEST] == request.lines

    # Timestamps never go backwards or repeat, across every restart.
    stamps = [int(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
