"""A trigram Bloom filter per block of events, so a search for rare text skips most of the data.

Text search is a case-insensitive *substring* match, so word tokens cannot prune it (`ebra`
occurs in `zebra`); trigrams can: every trigram of a term occurs in any message that contains
the term. For each block of `BLOCK_ROWS` consecutive events (by `seq`) the indexer hashes every
byte trigram of the messages, ASCII letters folded to lower case, into a 2^17-bit filter
(16 KiB, about 2% of the text it covers). A query for `zebracorn` then reads only the blocks
whose filter has all the term's trigrams, and brute-force scans the events not indexed yet.

A filter can say "maybe" wrongly, never "no" wrongly — with one exception: a term whose only
occurrences spell an ASCII letter as a non-ASCII character that lowers to it (the Kelvin sign
U+212A for `k`, U+0130 for `i`) can be missed. Trigrams with non-ASCII bytes are never used to
prune, so terms in other scripts are found (their ASCII trigrams, if any, still prune).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

BLOCK_ROWS = 8192
_LOG_BITS = 17
BLOOM_BYTES = (1 << _LOG_BITS) // 8
_MULTIPLIER = np.uint32(2654435761)  # Knuth's multiplicative hash
_SHIFT = np.uint32(32 - _LOG_BITS)  # its top _LOG_BITS bits are the bit position
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A") : ord("Z") + 1] += 32
# Narrowing a scan to more ranges than this costs about what it saves.
MAX_RANGES = 64
MAX_FRACTION = 0.25


def _hash(trigrams: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    hashed = trigrams * _MULTIPLIER
    hashed >>= _SHIFT
    return hashed


# bloom_of reads the text this many bytes at a time, through buffers each thread keeps (768
# KB): a block's text at once (~900 KB, with 4-8 bytes of NumPy temporaries per byte) cost a
# fresh mapping of memory per temporary, and the page faults and unmapping that came with them.
# benchmarks/text_index.py: 3.0 ms of CPU a block before, 2.0-2.1 ms now.
_PIECE = 65536


class _Work:
    """bloom_of's buffers for a piece: the hashes, and the same as array indices."""

    def __init__(self, size: int) -> None:
        self.hashed = np.empty(size, dtype=np.uint32)
        self.index = np.empty(size, dtype=np.intp)


_kept = threading.local()


def _work() -> _Work:
    """This thread's buffers, kept between calls: large buffers would be fresh mappings."""
    work: _Work | None = getattr(_kept, "work", None)
    if work is None or len(work.hashed) < _PIECE + 2:
        work = _kept.work = _Work(_PIECE + 2)
    return work


def bloom_of(messages: pa.Array | pa.ChunkedArray) -> bytes:
    """The filter of a block: every byte trigram of every message, ASCII lower-cased.

    The messages are read as one text, end to end, so trigrams that span two messages are set
    too: they only add harmless "maybe"s."""
    chunks = messages.chunks if isinstance(messages, pa.ChunkedArray) else [messages]
    bits = np.zeros(1 << _LOG_BITS, dtype=np.bool_)
    work = _work()
    carry = b""  # the text's last two bytes so far: the start of trigrams not yet set
    for chunk in chunks:
        text = _text(chunk)
        for i in range(0, len(text), _PIECE):
            # bytes.lower() folds ASCII letters only, as _LOWER does for terms.
            data = carry + text[i : i + _PIECE].tobytes().lower()
            _set_trigrams(bits, data + b"\x00", len(data) - 2, work)
            carry = data[-2:]
    # The last two trigrams end past the text: padded with zeros.
    _set_trigrams(bits, carry + b"\x00\x00\x00", len(carry), work)
    return np.packbits(bits, bitorder="little").tobytes()


def _text(messages: pa.Array) -> memoryview:
    """The bytes of the messages, end to end, without a copy."""
    if pa.types.is_large_string(messages.type):
        offset_type: type[np.integer[Any]] = np.int64
    else:
        if not pa.types.is_string(messages.type):
            messages = messages.cast(pa.string())
        offset_type = np.int32
    buffers = messages.buffers()
    if not len(messages) or buffers[2] is None:
        return memoryview(b"")
    offsets = np.frombuffer(buffers[1], dtype=offset_type)
    start, end = int(offsets[messages.offset]), int(offsets[messages.offset + len(messages)])
    return memoryview(buffers[2])[start:end]


def _set_trigrams(bits: npt.NDArray[np.bool_], data: bytes, count: int, work: _Work) -> None:
    """Set the bits of the trigrams at the first `count` bytes of `data`, which has at least
    `count + 3` bytes. The hashes go through `work`'s buffers: NumPy makes no temporaries."""
    if count <= 0:
        return
    # The bytes read as overlapping little-endian words: the low 24 bits of the word at byte i
    # are the trigram starting there.
    words = np.ndarray(shape=(count,), dtype="<u4", buffer=data, strides=(1,))
    hashed, index = work.hashed[:count], work.index[:count]
    np.bitwise_and(words, np.uint32(0xFFFFFF), out=hashed)
    np.multiply(hashed, _MULTIPLIER, out=hashed)
    np.right_shift(hashed, _SHIFT, out=index, casting="unsafe")  # _hash, into `index`
    bits[index] = True


def term_bits(term: str) -> npt.NDArray[np.uint32] | None:
    """Bit positions a block must have set to possibly contain `term`; None if unprunable."""
    raw = term.encode("utf-8", "surrogatepass")
    data = np.frombuffer(raw, dtype=np.uint8)
    if len(data) < 3:
        return None
    lowered: npt.NDArray[np.uint32] = _LOWER[data].astype(np.uint32)
    trigrams = lowered[:-2] | (lowered[1:-1] << np.uint32(8)) | (lowered[2:] << np.uint32(16))
    ascii_only = (data[:-2] < 0x80) & (data[1:-1] < 0x80) & (data[2:] < 0x80)
    if not ascii_only.any():
        return None
    return np.unique(_hash(trigrams[ascii_only]))


def matching_blocks(
    blooms: npt.NDArray[np.uint8], bits: npt.NDArray[np.uint32]
) -> npt.NDArray[np.bool_]:
    """For blooms shaped (blocks, BLOOM_BYTES): which blocks have every one of `bits`."""
    columns = blooms[:, bits >> 3]
    masks = (np.uint8(1) << (bits & 7).astype(np.uint8)).astype(np.uint8)
    return np.all((columns & masks) != 0, axis=1)  # type: ignore[no-any-return]


def merge_ranges(blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted inclusive seq ranges with adjacent or overlapping ones merged."""
    ranges: list[tuple[int, int]] = []
    for lo, hi in blocks:
        if ranges and ranges[-1][1] + 1 >= lo:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges
