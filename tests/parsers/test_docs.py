"""The parser in docs/parsers.md compiles and does what the page says."""

from __future__ import annotations

import re
from pathlib import Path

from millpond.parsers import compile_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "parsers.md"


def test_the_documented_example_parser() -> None:
    (text,) = re.findall(r"```js\n(.*?)```", DOC.read_text(), re.S)
    parser = compile_parser("orders", text)
    placed, user, grouped = parser.parse([
        "2026-01-02T03:04:05 INFO order AB-17 placed amount=12.5 took=1.5s",
        'user="bob smith" a=1 b=x',
        "2026-01-02T03:04:06 boom",
        "    at Foo.bar",
    ])
    assert placed.fields == {"service": "orders", "order": "AB-17", "amount": 12.5,
                             "took": 1500, "placed": True}
    assert placed.ts_ns == 1767319445 * 10**9  # 03:04:05 in Berlin is 02:04:05 UTC
    assert user.fields == {"service": "orders", "user": "bob smith", "a": 1, "b": "x"}
    assert grouped.message == "2026-01-02T03:04:06 boom\n    at Foo.bar"
