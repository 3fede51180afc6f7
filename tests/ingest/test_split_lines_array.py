"""`split_lines_array` (the hot path's Arrow split) says exactly what `split_lines` says."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.ingest.uploadlogs import split_lines, split_lines_array

# Bytes that matter to splitting, plus multi-byte and invalid UTF-8, repeated into big bodies.
PIECES = [b"a", b"log line ", b"\n", b"\r", b"\r\n", b"\n\n", b"\xc3\xa9", b"\xe2\x80\xa8",
          b"\x0b", b"\x85", b"\xff", b"\xe2\x82", b"x" * 300]


def both(body: bytes, max_line_bytes: int) -> tuple[object, object]:
    def run(fn: object) -> object:
        try:
            result = fn(body, max_line_bytes=max_line_bytes)  # type: ignore[operator]
        except BadParam as exc:
            return ("error", exc.message)
        return pa.array(result, pa.string()) if isinstance(result, list) else result

    return run(split_lines), run(split_lines_array)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join),
    st.integers(min_value=1, max_value=40),
    st.sampled_from([50, 301, 10_000]),
)
def test_same_messages_and_errors_as_split_lines(body: bytes, repeat: int, limit: int) -> None:
    old, new = both(body * repeat, limit)
    if isinstance(old, pa.Array):
        assert isinstance(new, pa.Array)
        new.validate(full=True)
        assert new.equals(old)
    else:
        assert new == old


@pytest.mark.parametrize(
    "body",
    [
        b"first\nsecond\r\nthird\rfourth\n" * 200,
        b"\n\n\nonly\n\n" * 500,
        "caf\u00e9 \u2028 kept\n".encode() * 300,
        b"no newline at the end " * 200,
    ],
)
def test_big_bodies_take_the_arrow_path_and_agree(body: bytes) -> None:
    old, new = both(body, 256 * 1024)
    assert isinstance(new, pa.StringArray)
    assert new.equals(old)


def test_a_long_line_is_refused_with_its_number() -> None:
    body = b"short\n" * 400 + b"y" * 5000 + b"\n"
    with pytest.raises(BadParam, match="line 401 is 5000 bytes long"):
        split_lines_array(body, max_line_bytes=4096)
