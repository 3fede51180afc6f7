"""The PowerQuery tree: expressions and commands, each printing canonical query text.

`millpond.query.powerquery` parses text into these nodes and `millpond.query.powerquery_sql`
compiles them. Printing is minimal but exact: `parse_powerquery(str(node))` gives the node
back. Nodes carry the column they start at, for error messages; it takes no part in equality.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from millpond.query.filter import Node as FilterNode

# name → (fewest, most arguments). min and max of one value are aggregates, of two are not.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "len": (1, 1), "lower": (1, 1), "upper": (1, 1), "trim": (1, 1), "concat": (1, 16),
    "abs": (1, 1), "round": (1, 2), "floor": (1, 1), "ceiling": (1, 1),
    "min": (1, 2), "max": (1, 2), "if": (3, 3),
    "contains": (2, 2), "startsWith": (2, 2), "endsWith": (2, 2), "matches": (2, 2),
}
AGGREGATES: dict[str, tuple[int, int]] = {
    "count": (0, 1), "sum": (1, 1), "avg": (1, 1), "min": (1, 1), "max": (1, 1),
    "median": (1, 1), "stddev": (1, 1), "estimate_distinct": (1, 1), "pct": (2, 2),
    "p10": (1, 1), "p50": (1, 1), "p90": (1, 1), "p95": (1, 1), "p99": (1, 1), "p999": (1, 1),
}
# Words a bare name cannot be (write `$by` for a field named "by"), in lower case.
KEYWORDS = {"and", "or", "not", "true", "false", "null", "by", "contains", "matches",
            "startswith"}
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

# -- expressions -----------------------------------------------------------------------------

Value = str | int | float | bool | None


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        .replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def print_name(name: str) -> str:
    """A field or column name as it is written in a query."""
    if _SIMPLE_NAME.fullmatch(name) and name.lower() not in KEYWORDS:
        return name
    return "$" + "".join(c if c.isalnum() or c in "_." else "\\" + c for c in name)


@dataclass(frozen=True)
class Const:
    """A literal: a string, a number, true, false or null."""

    value: Value
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, str):
            return _quote(self.value)
        return repr(self.value)


@dataclass(frozen=True)
class Ref:
    """A column, or (before `group` and `columns`) a field of the event."""

    name: str
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return print_name(self.name)


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "!"
    operand: Expr
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        inner = str(self.operand)
        if _precedence(self.operand) < _UNARY:
            inner = f"({inner})"
        return f"{self.op}{inner}"


@dataclass(frozen=True)
class Binary:
    op: str  # || && == != < <= > >= contains[:matchcase] … + - * / %
    left: Expr
    right: Expr
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        mine = _BINARY[self.op.partition(":")[0]]
        left, right = str(self.left), str(self.right)
        # Left-associative; comparisons do not chain at all.
        if _precedence(self.left) < mine or (mine == _COMPARE and
                                             _precedence(self.left) == mine):
            left = f"({left})"
        if _precedence(self.right) <= mine:
            right = f"({right})"
        return f"{left} {self.op} {right}"


@dataclass(frozen=True)
class Call:
    """A function or an aggregate; `name` is its canonical spelling."""

    name: str
    args: tuple[Expr, ...]
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


Expr = Const | Ref | Unary | Binary | Call

_COMPARE = 4
_UNARY = 7
_BINARY = {
    "||": 1, "&&": 2, "==": _COMPARE, "!=": _COMPARE, "<": _COMPARE, "<=": _COMPARE,
    ">": _COMPARE, ">=": _COMPARE, "contains": _COMPARE, "matches": _COMPARE,
    "startsWith": _COMPARE, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
}


def _precedence(expr: Expr) -> int:
    if isinstance(expr, Binary):
        return _BINARY[expr.op.partition(":")[0]]
    if isinstance(expr, Unary):
        return 3 if expr.op == "!" else _UNARY
    if isinstance(expr, Const) and isinstance(expr.value, (int, float)) and (
            expr.value < 0 or math.copysign(1.0, expr.value) < 0):
        return _UNARY  # prints as `-5`, which reads back as a negation
    return 8


# -- commands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """`name = expr`, or an unnamed `expr` where the command allows one."""

    name: str | None
    expr: Expr
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return str(self.expr) if self.name is None else f"{print_name(self.name)} = {self.expr}"


@dataclass(frozen=True)
class Let:
    items: tuple[Item, ...]
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "let " + ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Filter:
    expr: Expr
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f"filter {self.expr}"


@dataclass(frozen=True)
class Group:
    aggregates: tuple[Item, ...]
    keys: tuple[Item, ...]
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        text = "group " + ", ".join(str(i) for i in self.aggregates)
        if self.keys:
            text += (" " if self.aggregates else "") + "by " + ", ".join(
                str(k) for k in self.keys)
        return text


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool = False
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + print_name(self.name)


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "sort " + ", ".join(str(k) for k in self.keys)


@dataclass(frozen=True)
class Limit:
    count: int
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f"limit {self.count}"


@dataclass(frozen=True)
class Columns:
    items: tuple[Item, ...]
    col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "columns " + ", ".join(str(i) for i in self.items)


Command = Let | Filter | Group | Sort | Limit | Columns


@dataclass(frozen=True)
class PowerQuery:
    """The events a filter matches (None: all of them), then commands applied in order."""

    search: FilterNode | None
    commands: tuple[Command, ...] = ()

    def __str__(self) -> str:
        parts = [] if self.search is None else [str(self.search)]
        return " ".join([*parts, *(f"| {c}" for c in self.commands)])
