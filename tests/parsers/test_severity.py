"""The `severity` special field (spec §5.6): level names and numbers to Scalyr's 0–6."""

from __future__ import annotations

from typing import Any

import pytest

from millpond.parsers.severity import severity_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # §5.6, in any case.
        ("finest", 0),
        ("finer", 1), ("trace", 1), ("TRACE", 1),
        ("fine", 2), ("debug", 2), ("Debug", 2),
        ("info", 3), ("notice", 3), ("i", 3), ("INFO", 3),
        ("warn", 4), ("warning", 4), ("w", 4), ("WARN", 4),
        ("error", 5), ("err", 5), ("e", 5), ("ERROR", 5),
        ("fatal", 6), ("emerg", 6), ("emergency", 6), ("crit", 6), ("critical", 6),
        ("panic", 6), ("alert", 6), ("f", 6), ("FATAL", 6),
        # Surrounding whitespace is ignored.
        (" warn ", 4),
        # Extensions: other loggers' names.
        ("severe", 5), ("informational", 3), ("verbose", 1), ("v", 1), ("d", 2),
        # Numbers 0–6 pass through, as numbers or digits.
        (0, 0), (6, 6), (3.0, 3), ("4", 4),
        # Unknown.
        (7, None), (-1, None), (3.5, None), ("7", None), ("loud", None), ("", None),
        (None, None), (True, None), ([], None),
    ],
)
def test_severity_of(value: Any, expected: int | None) -> None:
    assert severity_of(value) == expected
