"""The built-in parsers' definitions: files in the parser language shipped in `builtin/`.

Each `builtin/NAME.conf` is what an account's `/logParsers/NAME` would hold; `parser.py`
compiles them on first use. They are package data (pyproject: `[tool.setuptools.package-data]
"millpond.parsers" = ["builtin/*.conf"]`).
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["BUILTIN_NAMES", "builtin_text"]

BUILTIN_NAMES: frozenset[str] = frozenset(
    {
        "accessLog",
        "systemLog",
        "json",
        "dottedJson",
        "keyValue",
        "mysqlGeneralQueryLog",
        "mysqlSlowQueryLog",
        "postgresLog",
        "leveldbLog",
    }
)


def builtin_text(name: str) -> bytes | None:
    """The definition of built-in parser `name`, or None if there is no such built-in."""
    if name not in BUILTIN_NAMES:
        return None
    return (files("millpond.parsers") / "builtin" / f"{name}.conf").read_bytes()
