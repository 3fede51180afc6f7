"""API tokens never reach the server's log, even at `--log-level debug`, even on bad requests."""

from __future__ import annotations

import socket

import pytest

from .conftest import Server, StartServer

pytestmark = pytest.mark.e2e


def raw_request(server: Server, request: bytes) -> bytes:
    """Send bytes that are not quite HTTP; whatever comes back."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_no_token_in_the_debug_log(start_server: StartServer) -> None:
    server = start_server("--log-level", "debug")
    assert server.write_token and server.read_token
    created = server.cli("token", "create", "--kind", "write-logs").stdout.strip()
    tokens = [server.write_token, server.read_token, created]
    w, r = server.write_token, server.read_token

    assert server.upload("fine").status_code == 200
    assert server.upload("fine too", token=created).status_code == 200
    bearer = {"Authorization": f"Bearer {w}"}
    assert server.client.post("/api/uploadLogs", headers=bearer, content=b"x").status_code == 200
    assert server.upload(b"not gzip", headers={"Content-Encoding": "gzip"}).status_code == 400
    assert server.upload(b"x" * 300_000).status_code == 400  # a line over the limit
    assert server.client.get("/api/uploadLogs", params={"token": w}).status_code == 405
    assert server.client.get("/api/nosuch", params={"token": w}).status_code == 404
    assert server.client.get("/api/query", params={"token": w}).status_code == 403
    assert server.client.get("/api/query", params={"token": r, "filter": "a=~b"}).status_code == 400
    assert server.client.post("/api/query", json={"token": r, "maxCount": "x"}).status_code == 400
    raw_request(server, f"GARBAGE /api/uploadLogs?token={w} HTTP/1.1\r\n\r\n".encode())
    raw_request(
        server,
        f"POST /api/uploadLogs?token={w} HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n"
        "hello".encode(),
    )
    raw_request(server, f"POST /api/uploadLogs?token={w}\x00\x01 HTTP/1.1\r\n\r\n".encode())
    assert server.stop() == 0

    log = server.stderr()
    assert f"millpond listening on {server.base_url}" in log  # the log is on
    assert "admin socket at" in log  # at debug level
    for token in tokens:
        assert token not in log
    # stdout shows the two tokens of a new data directory once, in the banner: the write-logs
    # token also in the curl example that goes with it. Nothing else prints them.
    out = server.stdout()
    assert out.count(w) == 2
    assert out.count(r) == 1
    assert created not in out
