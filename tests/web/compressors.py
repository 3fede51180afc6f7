"""Every Content-Encoding a client sends, as a function that compresses bytes (spec §0.4)."""

from __future__ import annotations

import bz2
import gzip
import zlib
from collections.abc import Callable

import lz4.frame
import zstandard


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "zstandard": zstandard.ZstdCompressor().compress,
    "bz2": bz2.compress,
    "lz4": lz4.frame.compress,
}
