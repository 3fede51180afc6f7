"""Limits set through MILLPOND_* environment variables: body and line size, quota, rate.

After every refused request, everything accepted before it is still there, and nothing of the
refused request is.
"""

from __future__ import annotations

import bz2
import gzip
import time
import uuid
from collections.abc import Callable, Iterator

import lz4.frame
import pytest
import zstandard

from .conftest import Server, StartServer

pytestmark = pytest.mark.e2e

MAX_BODY = 4096
MAX_LINE = 100


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("limited")
    server = Server(
        base / "data", base / "logs",
        env={"MILLPOND_MAX_BODY_BYTES": str(MAX_BODY), "MILLPOND_MAX_LINE_BYTES": str(MAX_LINE)},
    )
    server.start()
    yield server
    server.stop()


def accepted_then(server: Server, refused: Callable[[], None]) -> None:
    """Upload a line, run a request that must be refused, then check nothing was lost or added."""
    line = f"accepted before {uuid.uuid4()}"
    ok = server.upload(line)
    assert ok.json() == {"status": "success"}
    before = server.messages()
    assert before[-1] == line
    refused()
    assert server.messages() == before


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def bomb(encoding: str) -> bytes:
    """A body under MAX_BODY bytes that decompresses to 512 KiB, 128 times the limit."""
    data = b"\0" * (512 * 1024)
    compress: Callable[[bytes], bytes] = {
        "gzip": gzip.compress,
        "zstd": zstandard.ZstdCompressor().compress,
        "bz2": bz2.compress,
        "lz4": lz4.frame.compress,
    }[encoding]
    compressed = compress(data)
    assert len(compressed) < MAX_BODY
    return compressed


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ((b"x" * 63 + b"\n") * 64 + b"!", {}),  # 4097 bytes of short lines
        (lambda: chunks(b"a short line\n" * 400), {}),  # chunked: no Content-Length
        (gzip.compress(b"a line, compressed\n" * 1000), {"Content-Encoding": "gzip"}),
        (lambda: bomb("gzip"), {"Content-Encoding": "gzip"}),
        (lambda: bomb("zstd"), {"Content-Encoding": "zstd"}),
        (lambda: bomb("bz2"), {"Content-Encoding": "bz2"}),
        (lambda: bomb("lz4"), {"Content-Encoding": "lz4"}),
    ],
    ids=["one byte over", "chunked", "over once decompressed", "gzip bomb", "zstd bomb",
         "bz2 bomb", "lz4 bomb"],
)
def test_body_over_the_limit_gets_413_request_too_large(
    limited: Server,
    body: bytes | Callable[[], bytes | Iterator[bytes]],
    headers: dict[str, str],
) -> None:
    def refused() -> None:
        content = body() if callable(body) else body
        response = limited.client.post(
            "/api/uploadLogs", params={"token": limited.write_token}, headers=headers,
            content=content,
        )
        assert response.status_code == 413
        assert response.json()["status"] == "error/client/requestTooLarge"
        assert str(MAX_BODY) in response.json()["message"]

    accepted_then(limited, refused)


def test_body_at_the_limit_is_accepted(limited: Server) -> None:
    lines = [f"{i:03d} " + "z" * 59 for i in range(64)]  # 64 lines of 64 bytes: 4096 with LFs
    body = "\n".join(lines) + "\n"
    assert len(body.encode()) == MAX_BODY
    assert limited.upload(body).json() == {"status": "success"}
    assert limited.messages(filter="z" * 59) == lines


@pytest.mark.parametrize(
    ("line", "accepted"),
    [
        ("L" * MAX_LINE, True),
        ("L" * (MAX_LINE + 1), False),
        ("é" * (MAX_LINE // 2), True),  # 100 bytes
        ("€" * 34, False),  # 34 characters, 102 bytes
    ],
    ids=["at the limit", "one byte over", "multi-byte at the limit", "multi-byte over"],
)
def test_line_over_the_limit_refuses_the_whole_request(
    limited: Server, line: str, accepted: bool
) -> None:
    tag = uuid.uuid4().hex
    body = f"{tag} first\n{line}\n{tag} last\n"
    if accepted:
        assert limited.upload(body).json() == {"status": "success"}
        assert limited.messages()[-3:] == [f"{tag} first", line, f"{tag} last"]
        return

    def refused() -> None:
        response = limited.upload(body)
        assert response.status_code == 400
        assert response.json()["status"] == "error/client/badParam"
        assert "line 2" in response.json()["message"]
        assert str(MAX_LINE) in response.json()["message"]

    accepted_then(limited, refused)


def assert_backoff(response_status: int, headers: dict[str, str], body: dict[str, str]) -> int:
    assert response_status == 429
    assert body["status"] == "error/server/backoff"
    assert body["message"]
    retry_after = int(headers["retry-after"])
    assert retry_after >= 1
    return retry_after


def test_daily_quota_gets_429_backoff_and_survives_a_restart(start_server: StartServer) -> None:
    server = start_server(env={"MILLPOND_DAILY_QUOTA_BYTES": "1000"})
    first = "a" * 599 + "\n"
    second = "b" * 399 + "\n"
    assert server.upload(first).json() == {"status": "success"}

    over = server.upload("c" * 499 + "\n")
    retry_after = assert_backoff(over.status_code, dict(over.headers), over.json())
    assert retry_after <= 86_401  # the quota resets at 00:00 UTC
    assert "1000" in over.json()["message"]
    assert server.messages() == [first.strip()]

    # The quota counts bytes after decompression: 2000 bytes in a 40-byte gzip body is over.
    squeezed = gzip.compress(b"d" * 1999 + b"\n")
    assert len(squeezed) < 100
    over = server.upload(squeezed, headers={"Content-Encoding": "gzip"})
    assert_backoff(over.status_code, dict(over.headers), over.json())

    assert server.upload(second).json() == {"status": "success"}  # exactly 1000 bytes in all
    assert server.messages() == [first.strip(), second.strip()]

    server.restart()
    over = server.upload("e\n")
    assert_backoff(over.status_code, dict(over.headers), over.json())
    assert server.messages() == [first.strip(), second.strip()]


def test_request_rate_gets_429_backoff_with_retry_after(start_server: StartServer) -> None:
    server = start_server(env={"MILLPOND_RATE_LIMIT": "1", "MILLPOND_RATE_BURST": "3"})
    # A burst of 3, then one more a second: on a slow machine a request or two more gets in.
    accepted: list[str] = []
    started = time.monotonic()
    while (over := server.upload(f"burst {len(accepted)}")).status_code == 200:
        assert over.json() == {"status": "success"}
        accepted.append(f"burst {len(accepted)}")
        assert len(accepted) <= 10
    assert 3 <= len(accepted) <= 3 + (time.monotonic() - started) + 1
    retry_after = assert_backoff(over.status_code, dict(over.headers), over.json())
    assert retry_after == 1
    assert server.messages() == accepted

    # Another account has its own allowance.
    assert server.cli("account", "create", "other").returncode == 0
    other = server.cli("token", "create", "--kind", "write-logs", "--account", "other")
    assert server.upload("other account", token=other.stdout.strip()).json() == {
        "status": "success"
    }

    time.sleep(retry_after)
    assert server.upload("after waiting").json() == {"status": "success"}
    assert server.messages() == [*accepted, "after waiting"]
