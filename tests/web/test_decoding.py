"""Request bodies: Content-Encoding (spec §0.4), size caps, and zip bombs."""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import functools
import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import lz4.frame
import pytest
import zstandard
from compressors import COMPRESSORS, raw_deflate
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam, RequestTooLarge, UnsupportedEncoding
from millpond.web.asgi import Message, Receive
from millpond.web.decoding import content_length, decompress, read_body

MiB = 1 << 20
TEXT = b"2026-03-01 12:00:00 INFO hello, world\n" * 500


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_every_client_encoding_decompresses(encoding: str) -> None:
    assert decompress(COMPRESSORS[encoding](TEXT), encoding, MiB) == TEXT


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_encoding_names_are_case_and_space_insensitive(encoding: str) -> None:
    assert decompress(COMPRESSORS[encoding](TEXT), f" {encoding.upper()} ", MiB) == TEXT


def test_deflate_without_the_zlib_wrapper_is_accepted_too() -> None:
    assert decompress(raw_deflate(TEXT), "deflate", MiB) == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "bz2", "lz4"])
def test_concatenated_members_decompress_to_the_concatenation(encoding: str) -> None:
    compress = COMPRESSORS[encoding]
    body = compress(b"first part\n") + compress(b"second part\n") + compress(b"third\n")
    assert decompress(body, encoding, MiB) == b"first part\nsecond part\nthird\n"


def test_gzip_members_written_by_the_gzip_module_one_after_another() -> None:
    body = gzip.compress(b"a\n", mtime=0) + gzip.compress(b"b\n", compresslevel=1)
    assert gzip.decompress(body) == b"a\nb\n"  # what the rest of the world expects
    assert decompress(body, "gzip", MiB) == b"a\nb\n"


@pytest.mark.parametrize("encoding", ["", "identity", "none", "IDENTITY", " none "])
def test_identity_passes_the_body_through(encoding: str) -> None:
    body = b"\x1f\x8b not actually gzip"
    assert decompress(body, encoding, 10) is body


@pytest.mark.parametrize("encoding", [*COMPRESSORS, "deflate-raw"])
def test_output_exactly_at_the_limit_is_accepted_one_more_byte_is_not(encoding: str) -> None:
    compress = raw_deflate if encoding == "deflate-raw" else COMPRESSORS[encoding]
    name = "deflate" if encoding == "deflate-raw" else encoding
    body = compress(TEXT)
    assert decompress(body, name, len(TEXT)) == TEXT
    with pytest.raises(RequestTooLarge) as info:
        decompress(body, name, len(TEXT) - 1)
    assert info.value.http_status == 413
    assert f"limit of {len(TEXT) - 1} bytes" in info.value.message


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "bz2", "lz4"])
def test_the_limit_covers_all_members_together(encoding: str) -> None:
    compress = COMPRESSORS[encoding]
    body = compress(b"x" * 600) + compress(b"y" * 600)
    with pytest.raises(RequestTooLarge):
        decompress(body, encoding, 1000)


# -- zip bombs ----------------------------------------------------------------------------------

BOMB_SIZE = 100 * MiB


STREAM_COMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.compressobj(9, zlib.DEFLATED, 31),
    "deflate": lambda: zlib.compressobj(9),
    "bz2": lambda: bz2.BZ2Compressor(9),
    "zstd": lambda: zstandard.ZstdCompressor().compressobj(),
    "lz4": lz4.frame.LZ4FrameCompressor,
}


@functools.cache
def bomb(encoding: str) -> bytes:
    """100 MiB of zeros, compressed without ever holding them in memory at once."""
    zeros = bytes(MiB)
    compressor = STREAM_COMPRESSORS[encoding]()
    head = compressor.begin() if encoding == "lz4" else b""
    return head + b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()


@pytest.mark.parametrize("encoding", list(STREAM_COMPRESSORS))
def test_a_zip_bomb_is_refused_without_inflating_it(encoding: str) -> None:
    body = bomb(encoding)
    assert len(body) < BOMB_SIZE // 100
    tracemalloc.start()
    try:
        with pytest.raises(RequestTooLarge):
            decompress(body, encoding, MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"decompressing used {peak / MiB:.0f} MiB for a 1 MiB limit"


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_data_that_is_not_in_the_encoding_is_a_bad_param(encoding: str) -> None:
    with pytest.raises(BadParam) as info:
        decompress(b"plain text, not compressed at all", encoding, MiB)
    assert type(info.value) is BadParam
    assert info.value.http_status == 400
    assert f"not valid {encoding} data" in info.value.message
    assert "Content-Encoding" in info.value.message


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
@pytest.mark.parametrize("cut", [1, 5, "half"])
def test_a_truncated_body_is_a_bad_param_not_a_shorter_one(encoding: str, cut: int | str) -> None:
    # Accepting what decompresses from a cut-off body would store part of the request as if
    # it were all of it.
    whole = COMPRESSORS[encoding](TEXT)
    body = whole[: len(whole) // 2] if cut == "half" else whole[: -int(cut)]
    with pytest.raises(BadParam):
        decompress(body, encoding, MiB)


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "bz2", "lz4"])
def test_garbage_after_a_member_is_a_bad_param(encoding: str) -> None:
    with pytest.raises(BadParam):
        decompress(COMPRESSORS[encoding](TEXT) + b"junk", encoding, MiB)


@settings(max_examples=50)
@given(st.sampled_from(list(COMPRESSORS)), st.binary(max_size=300))
def test_random_bytes_never_escape_as_anything_but_bad_param(encoding: str, body: bytes) -> None:
    with contextlib.suppress(BadParam):
        decompress(body, encoding, MiB)


@pytest.mark.parametrize("encoding", ["br", "compress", "gzip, deflate", "x-gzip", "lzma"])
def test_an_unknown_encoding_is_415_and_lists_the_known_ones(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding) as info:
        decompress(b"data", encoding, MiB)
    assert info.value.http_status == 415
    assert info.value.status == "error/client/badParam"
    for known in ("gzip", "deflate", "zstd", "bz2", "lz4", "identity"):
        assert known in info.value.message


# -- read_body ----------------------------------------------------------------------------------


def fake_receive(*chunks: bytes, disconnect: bool = False) -> tuple[Receive, list[int]]:
    """An ASGI `receive` that hands out `chunks`, and a counter of how many were taken."""
    taken = [0]

    async def receive() -> Message:
        i = taken[0]
        taken[0] += 1
        if disconnect and i == len(chunks):
            return {"type": "http.disconnect"}
        if i >= len(chunks):
            raise AssertionError("read past the end of the body")
        more = i < len(chunks) - 1 or disconnect
        return {"type": "http.request", "body": chunks[i], "more_body": more}

    return receive, taken


def read(receive: Receive, limit: int, declared: int | None = None) -> bytes:
    return asyncio.run(read_body(receive, limit, declared))


def test_read_body_joins_the_chunks() -> None:
    receive, _ = fake_receive(b"one ", b"", b"two ", b"three")
    assert read(receive, 100, None) == b"one two three"


def test_read_body_of_an_empty_request() -> None:
    receive, _ = fake_receive(b"")
    assert read(receive, 100, 0) == b""


def test_read_body_accepts_exactly_the_limit() -> None:
    receive, _ = fake_receive(b"12345", b"67890")
    assert read(receive, 10, 10) == b"1234567890"


def test_read_body_refuses_a_declared_length_over_the_limit_before_reading() -> None:
    receive, taken = fake_receive(b"x" * 11)
    with pytest.raises(RequestTooLarge, match="limit of 10 bytes"):
        read(receive, 10, 11)
    assert taken[0] == 0


def test_read_body_stops_reading_once_a_streamed_body_passes_the_limit() -> None:
    # No (or a lying) Content-Length: the chunks are counted as they arrive.
    receive, taken = fake_receive(b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6)
    with pytest.raises(RequestTooLarge):
        read(receive, 10, None)
    assert taken[0] == 2
    receive, _ = fake_receive(b"x" * 6, b"x" * 6)
    with pytest.raises(RequestTooLarge):
        read(receive, 10, 3)


def test_read_body_when_the_client_goes_away() -> None:
    receive, _ = fake_receive(b"partial", disconnect=True)
    with pytest.raises(BadParam, match="disconnected"):
        read(receive, 100, None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"content-type", b"text/plain")], None),
        ([(b"content-length", b"42")], 42),
        ([(b"content-length", b" 7 ")], 7),
    ],
)
def test_content_length(headers: list[tuple[bytes, bytes]], expected: int | None) -> None:
    assert content_length(headers) == expected


def test_a_content_length_that_is_not_a_number_is_a_bad_param() -> None:
    with pytest.raises(BadParam, match="Content-Length 'lots' is not a number"):
        content_length([(b"content-length", b"lots")])
