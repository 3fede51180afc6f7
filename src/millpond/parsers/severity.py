"""The `severity` special field (spec §5.6): level names to Scalyr's 0–6 scale."""

from __future__ import annotations

from typing import Any, Final

# §5.6, plus a few unambiguous names other loggers write (marked).
_LEVELS: Final[dict[str, int]] = {
    "finest": 0,
    "finer": 1, "trace": 1,
    "verbose": 1, "v": 1,  # Android's V, below debug
    "fine": 2, "debug": 2,
    "d": 2,  # Android's D
    "info": 3, "notice": 3, "i": 3,
    "information": 3, "informational": 3,  # syslog's name for 6
    "warn": 4, "warning": 4, "w": 4,
    "error": 5, "err": 5, "e": 5,
    "severe": 5,  # java.util.logging
    "fatal": 6, "emerg": 6, "emergency": 6, "crit": 6, "critical": 6, "panic": 6,
    "alert": 6, "f": 6,
}


def severity_of(value: Any) -> int | None:
    """Scalyr's 0–6 severity for a level name (any case) or a number 0–6; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 6 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and 0 <= value <= 6 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    level = _LEVELS.get(text.lower())
    if level is not None:
        return level
    if len(text) == 1 and "0" <= text <= "6":
        return int(text)
    return None
