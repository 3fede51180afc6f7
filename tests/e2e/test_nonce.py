"""Retries with the same `Nonce` store the lines once: in a row, across restarts, at once."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e

SUCCESS = {"status": "success"}


def assert_duplicate(response: httpx.Response) -> None:
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert "duplicate nonce" in body["message"]


@pytest.mark.parametrize("restart", ["SIGTERM", "kill -9"])
def test_same_nonce_is_stored_once_even_across_a_restart(server: Server, restart: str) -> None:
    nonce = {"Nonce": str(uuid.uuid4())}
    assert server.upload("first\nsecond", headers=nonce).json() == SUCCESS
    assert_duplicate(server.upload("first\nsecond", headers=nonce))
    assert_duplicate(server.upload("a different body, same nonce", headers=nonce))
    assert server.messages() == ["first", "second"]

    if restart == "SIGTERM":
        server.stop()
    else:
        server.kill()
    server.start()
    assert_duplicate(server.upload("first\nsecond", headers=nonce))
    assert server.messages() == ["first", "second"]
    # A new nonce is a new request.
    assert server.upload("third", headers={"Nonce": str(uuid.uuid4())}).json() == SUCCESS
    assert server.messages() == ["first", "second", "third"]


def test_refused_request_does_not_use_up_its_nonce(shared_server: Server) -> None:
    tag = uuid.uuid4().hex
    nonce = {"Nonce": tag}
    refused = shared_server.upload(b"not gzip", headers={**nonce, "Content-Encoding": "gzip"})
    assert refused.status_code == 400
    assert shared_server.upload(f"{tag} corrected retry", headers=nonce).json() == SUCCESS
    assert shared_server.messages(filter=tag) == [f"{tag} corrected retry"]


def test_concurrent_requests_with_the_same_nonce_store_once(shared_server: Server) -> None:
    server = shared_server
    tag = uuid.uuid4().hex
    threads_per_nonce = 8
    rounds = 5
    answers: list[list[httpx.Response]] = [[] for _ in range(rounds)]
    clients = [httpx.Client(base_url=server.base_url, timeout=15) for _ in range(threads_per_nonce)]

    def send(client: httpx.Client, barrier: threading.Barrier, nonce: str, n: int) -> None:
        barrier.wait()
        answers[n].append(
            client.post(
                "/api/uploadLogs", params={"token": server.write_token},
                headers={"Nonce": nonce}, content=f"{tag} {n} a\n{tag} {n} b".encode(),
            )
        )

    try:
        for n in range(rounds):
            barrier = threading.Barrier(threads_per_nonce)
            # Every thread of a round sends the same request with the same nonce.
            nonce = f"nonce-{uuid.uuid4()}"
            threads = [
                threading.Thread(target=send, args=(c, barrier, nonce, n)) for c in clients
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    finally:
        for c in clients:
            c.close()

    for n in range(rounds):
        assert len(answers[n]) == threads_per_nonce
        assert all(r.status_code == 200 for r in answers[n])
        assert [r.json() for r in answers[n]].count(SUCCESS) == 1
        for r in answers[n]:
            if r.json() != SUCCESS:
                assert_duplicate(r)
    expected = [line for n in range(rounds) for line in (f"{tag} {n} a", f"{tag} {n} b")]
    assert server.messages(filter=tag) == expected


def test_nonces_are_kept_per_account(server: Server) -> None:
    assert server.cli("account", "create", "other").returncode == 0
    other_write = server.cli("token", "create", "--kind", "write-logs", "--account", "other")
    other_read = server.cli("token", "create", "--kind", "read-logs", "--account", "other")
    nonce = {"Nonce": "the-same-nonce"}
    assert server.upload("default's line", headers=nonce).json() == SUCCESS
    assert server.upload(
        "other's line", headers=nonce, token=other_write.stdout.strip()
    ).json() == SUCCESS
    assert server.messages() == ["default's line"]
    assert server.messages(other_read.stdout.strip()) == ["other's line"]
