"""Request bodies: read with a size cap, decompress by Content-Encoding with a cap (zip bombs)."""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Callable
from typing import Protocol, cast

import lz4.frame
import zstandard
from isal import isal_zlib

from millpond.errors import BadParam, RequestTooLarge, UnsupportedEncoding
from millpond.web.asgi import Receive

ENCODINGS = ("gzip", "deflate", "zstd", "zstandard", "bz2", "lz4", "identity", "none")

# gzip and deflate are inflated by ISA-L (python-isal): the same formats, faster code. The
# Agent's 1,000-event deflate bodies took 0.40 ms each with zlib, 0.19 ms with it
# (benchmarks/addevents_pieces.py; docs/performance.md).
_ZLIB_ERRORS: tuple[type[Exception], ...] = (
    zlib.error, cast("type[Exception]", isal_zlib.error),  # its stub calls it an instance
)
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    *_ZLIB_ERRORS, OSError, EOFError, ValueError, RuntimeError, zstandard.ZstdError,
)


def too_large(limit: int, what: str = "the request body") -> RequestTooLarge:
    return RequestTooLarge(
        f"{what} is over the limit of {limit} bytes (after decompression); send smaller "
        "requests, or raise MILLPOND_MAX_BODY_BYTES on the server"
    )


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                shown = value.decode("latin-1")
                raise BadParam(f"Content-Length {shown!r} is not a number") from None
    return None


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    """The whole body, refusing anything over `limit` bytes before buffering it."""
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadParam("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo `Content-Encoding`; the output may not exceed `limit` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity", "none"):
        return body
    try:
        if encoding == "gzip":
            return _zlib(body, 31, limit)
        if encoding == "deflate":
            # zlib-wrapped (RFC 1950) is what every client sends; raw deflate as a fallback.
            try:
                return _zlib(body, 15, limit)
            except _ZLIB_ERRORS:
                return _zlib(body, -15, limit)
        if encoding in ("zstd", "zstandard"):
            return _zstd(body, limit)
        if encoding == "bz2":
            return _bz2(body, limit)
        if encoding == "lz4":
            return _lz4(body, limit)
    except _DECODE_ERRORS as exc:
        raise BadParam(
            f"the body is not valid {encoding} data ({exc}); compress it with {encoding} or "
            "drop the Content-Encoding header"
        ) from None
    raise UnsupportedEncoding(
        f"Content-Encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}"
    )


def _zlib(body: bytes, wbits: int, limit: int) -> bytes:
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        d = isal_zlib.decompressobj(wbits)
        chunk = d.decompress(data, limit + 1 - size)
        size += len(chunk)
        out.append(chunk)
        if size > limit or d.unconsumed_tail:
            raise too_large(limit)
        if not d.eof:
            raise zlib.error("the compressed stream is truncated")
        # gzip allows several members one after another
        data = d.unused_data if wbits == 31 else b""
    return b"".join(out)


# zstd's stream reader ends quietly at a truncated frame, and its decompressobj has no output
# cap: feed the decompressobj small slices (a slice this size inflates to at most ~4 MiB).
_ZSTD_STEP = 128


def _zstd(body: bytes, limit: int) -> bytes:
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        d = zstandard.ZstdDecompressor().decompressobj()
        pos = 0
        while not d.eof:
            if pos >= len(data):
                raise EOFError("the compressed stream is truncated")
            chunk = d.decompress(data[pos:pos + _ZSTD_STEP])
            pos += _ZSTD_STEP
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            out.append(chunk)
        # several frames may follow one another
        data = d.unused_data + data[pos:]
    return b"".join(out)


class _CappedDecompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


def _members(body: bytes, limit: int, new: Callable[[], _CappedDecompressor]) -> bytes:
    """bz2 and lz4 frame: one decompressor per member/frame, output capped at `limit`."""
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        d = new()
        chunk = d.decompress(data, max_length=limit + 1 - size)
        size += len(chunk)
        out.append(chunk)
        if size > limit or (not d.needs_input and not d.eof):
            raise too_large(limit)
        if not d.eof:
            raise EOFError("the compressed stream is truncated")
        data = d.unused_data
    return b"".join(out)


def _bz2(body: bytes, limit: int) -> bytes:
    return _members(body, limit, bz2.BZ2Decompressor)


def _lz4(body: bytes, limit: int) -> bytes:
    return _members(body, limit, lz4.frame.LZ4FrameDecompressor)
