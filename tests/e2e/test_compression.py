"""Compressed uploadLogs bodies (spec §0.4): real compressed bytes, the same lines stored."""

from __future__ import annotations

import bz2
import gzip
import uuid
import zlib
from collections.abc import Callable

import lz4.frame
import pytest
import zstandard

from .conftest import Server

pytestmark = pytest.mark.e2e


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


Compress = Callable[[bytes], bytes]

ENCODINGS: list[tuple[str, Compress]] = [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),  # zlib-wrapped, as the agent, logstash and fluentd send it
    ("deflate", raw_deflate),
    ("zstd", zstandard.ZstdCompressor().compress),
    ("zstandard", zstandard.ZstdCompressor().compress),
    ("bz2", bz2.compress),
    ("lz4", lz4.frame.compress),
    ("gzip", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),
    ("identity", bytes),
    ("none", bytes),
]


@pytest.mark.parametrize(
    ("encoding", "compress"),
    ENCODINGS,
    ids=["gzip", "deflate", "raw deflate", "zstd", "zstandard", "bz2", "lz4",
         "gzip two members", "identity", "none"],
)
def test_compressed_body_stores_the_same_lines(
    shared_server: Server, encoding: str, compress: Compress
) -> None:
    tag = uuid.uuid4().hex
    lines = [f"{tag} {encoding} line {i} naïve café ☕ " + "x" * (i % 50) for i in range(200)]
    body = ("\n".join(lines) + "\r\n").encode()
    compressed = compress(body)
    if encoding not in ("identity", "none"):
        assert len(compressed) < len(body) / 2
    response = shared_server.upload(compressed, headers={"Content-Encoding": encoding})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    assert shared_server.messages(filter=tag) == lines


@pytest.mark.parametrize(
    ("encoding", "body", "status", "code"),
    [
        ("gzip", b"not gzip at all", 400, "error/client/badParam"),
        ("zstd", gzip.compress(b"gzip bytes, zstd label"), 400, "error/client/badParam"),
        ("gzip", gzip.compress(b"cut short\n" * 100)[:-12], 400, "error/client/badParam"),
        ("br", b"brotli is not supported", 415, "error/client/badParam"),
    ],
    ids=["not gzip", "wrong label", "truncated", "unsupported"],
)
def test_body_that_does_not_decompress_is_refused_and_nothing_is_stored(
    shared_server: Server, encoding: str, body: bytes, status: int, code: str
) -> None:
    before = shared_server.messages()
    response = shared_server.upload(body, headers={"Content-Encoding": encoding})
    assert response.status_code == status
    assert response.json()["status"] == code
    assert encoding in response.json()["message"]
    assert shared_server.messages() == before
