"""PowerQuery (spec §3.7): a filter, then commands joined by `|`: text → AST.

    query    := filter? ("|" command)*             the filter is the §4 language
    command  := "let" NAME "=" expr ("," NAME "=" expr)*
              | "filter" expr
              | "group" (item ("," item)*)? ("by" item ("," item)*)?
              | "sort" ("+" | "-")? NAME ("," ("+" | "-")? NAME)*
              | "limit" INTEGER
              | "columns" item ("," item)*
    item     := (NAME "=")? expr
    expr     := or
    or       := and (("||" | "or") and)*
    and      := not (("&&" | "and") not)*
    not      := ("!" | "not") not | compare
    compare  := sum (("==" | "=" | "!=" | "<" | "<=" | ">" | ">="
                      | ("contains" | "matches" | "startsWith")[":matchcase"]) sum)?
              | sum ("==" | "!=") "*"              present / absent: `x != null` / `x == null`
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/" | "%") unary)*
    unary    := "-" unary | primary
    primary  := NUMBER | STRING | "true" | "false" | "null" | NAME | "$" NAME
              | NAME "(" (expr ("," expr)*)? ")" | "(" expr ")"

Command names, keywords and function names ignore case; field and column names do not. A
name is `[A-Za-z_][A-Za-z0-9_.]*` with backslash escapes for other characters
(`service\\-name`); `$name` is the same name and is never a keyword or a function.

The tree and its canonical text are in `millpond.query.powerquery_ast`, re-exported here;
`parse_powerquery(str(q)) == q` for any parsed `q`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from millpond.errors import BadParam
from millpond.query.filter import parse_filter, read_string
from millpond.query.powerquery_ast import (
    AGGREGATES,
    FUNCTIONS,
    KEYWORDS,
    Binary,
    Call,
    Columns,
    Command,
    Const,
    Expr,
    Filter,
    Group,
    Item,
    Let,
    Limit,
    PowerQuery,
    Ref,
    Sort,
    SortKey,
    Unary,
    Value,
    print_name,
)

__all__ = [
    "AGGREGATES", "COMMANDS", "FUNCTIONS", "UNSUPPORTED_COMMANDS", "Binary", "Call", "Columns",
    "Command", "Const", "Expr", "Filter", "Group", "Item", "Let", "Limit", "PowerQuery", "Ref",
    "Sort", "SortKey", "Unary", "Value", "parse_powerquery", "print_name",
]

COMMANDS = ("let", "filter", "group", "sort", "limit", "columns")
# PowerQuery commands millpond recognises but does not run.
UNSUPPORTED_COMMANDS = (
    "parse", "lookup", "join", "union", "transpose", "savelookup", "nolimit", "dataset",
)
MAX_LIMIT = 1_000_000_000
MAX_NESTING = 40  # parentheses inside parentheses: the parser recurses into each
MAX_DEPTH = 100  # operators inside operators: printing and compiling recurse into each
_ALIASES = {"ceil": "ceiling", "mean": "avg", "percentile": "pct"}
_CANONICAL = {n.lower(): n for n in (*FUNCTIONS, *AGGREGATES)} | _ALIASES
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

# -- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # name, field, number, string, op, end
    text: str  # the value (unescaped names and strings) or the operator
    col: int
    raw: str


_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "=", "!", "+", "-", "*", "/", "%",
              "(", ")", ",", "|")


def _tokens(text: str, start: int) -> list[_Token]:
    out: list[_Token] = []
    i, n = start, len(text)
    while i < n:
        ch, col = text[i], i + 1
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            i, value = read_string(text, i)
            out.append(_Token("string", value, col, text[col - 1 : i]))
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            i = m.end()
            if i < n and (text[i].isalnum() or text[i] in "_."):
                raise BadParam(f"unexpected {text[col - 1 : i + 1]!r} at column {col}; a "
                               "number ends before letters (quote text: \"10m\")")
            out.append(_Token("number", m.group(), col, m.group()))
        elif ch.isalpha() or ch in "_$\\":
            i, name = _name(text, i + (ch == "$"))
            kind = "field" if ch == "$" else "name"
            if kind == "field" and not name:
                raise BadParam(f"'$' at column {col} must be followed by a name ($status); "
                               "escape other characters in names with '\\' ($odd\\ name)")
            modifiable = name.lower() in ("contains", "matches", "startswith")
            if kind == "name" and modifiable and text[i : i + 1] == ":":
                i, modifier = _name(text, i + 1)
                name += ":" + modifier
            out.append(_Token(kind, name, col, text[col - 1 : i]))
        else:
            if text.startswith("=~", i):
                raise BadParam(f"unknown operator '=~' at column {col}; use 'matches', as in "
                               "field matches 'regex'")
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise BadParam(f"unexpected {ch!r} at column {col}; operators are "
                               "+ - * / % == != < <= > >= && || ! and names are letters, "
                               "digits, '_' and '.'")
            out.append(_Token("op", op, col, op))
            i += len(op)
    out.append(_Token("end", "", n + 1, ""))
    return out


def _name(text: str, i: int) -> tuple[int, str]:
    chars: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif ch.isalnum() or ch in "_.":
            chars.append(ch)
            i += 1
        else:
            break
    return i, "".join(chars)




def _first_pipe(text: str) -> int:
    """Where the filter ends: the first `|` that is not `||` or inside quotes; else len."""
    i, n, quote = 0, len(text), ""
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 1  # and the character it escapes
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif text.startswith("||", i):
            i += 1
        elif ch == "|":
            return i
        i += 1
    return n  # an unterminated string runs to the end: the filter parser reports it


# -- the parser ------------------------------------------------------------------------------

_SUPPORTED = ", ".join(COMMANDS)


class _Parser:
    def __init__(self, text: str, start: int) -> None:
        self.tokens = _tokens(text, start)
        self.pos = 0
        self.depth = 0  # of parentheses, which the parser follows by recursion

    def nest(self, opened: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(opened, f"the query nests parentheses more than {MAX_NESTING} "
                                     "deep; simplify it, or compute parts first with let")

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tok
        self.pos += 1
        return tok

    def at(self, kind: str, *texts: str) -> bool:
        tok = self.tok
        if tok.kind != kind:
            return False
        return not texts or (tok.text.lower() if kind == "name" else tok.text) in texts

    def error(self, tok: _Token, hint: str) -> BadParam:
        what = ("unexpected end of query" if tok.kind == "end"
                else f"unexpected {tok.raw!r} at column {tok.col}")
        return BadParam(f"{what}; {hint}")

    def expect(self, op: str, hint: str) -> _Token:
        if not self.at("op", op):
            raise self.error(self.tok, hint)
        return self.take()

    def commands(self) -> tuple[Command, ...]:
        out: list[Command] = []
        while self.tok.kind != "end":
            pipe = self.expect("|", "commands are separated by '|'")
            if self.tok.kind == "end":
                raise BadParam(f"the query ends with '|' at column {pipe.col}; add a command "
                               f"after it ({_SUPPORTED}) or remove it")
            out.append(self.command(pipe))
        return tuple(out)

    def command(self, pipe: _Token) -> Command:
        tok = self.tok
        word = tok.text.lower() if tok.kind == "name" else ""
        if word in UNSUPPORTED_COMMANDS:
            raise BadParam(f"'{tok.text}' at column {tok.col} is a PowerQuery command millpond "
                           f"does not support; the supported commands are {_SUPPORTED}")
        if word not in COMMANDS:
            if tok.kind == "op" and tok.text == "|":
                raise BadParam(f"empty command between '|' at column {pipe.col} and '|' at "
                               f"column {tok.col}; remove one of them")
            raise BadParam(f"unknown command {tok.raw!r} at column {tok.col}; the supported "
                           f"commands are {_SUPPORTED}")
        self.take()
        if word == "let":
            return Let(self.items(tok, named=True), tok.col)
        if word == "filter":
            return Filter(self.expr(tok), tok.col)
        if word == "group":
            if self.tok.kind == "end" or self.at("op", "|"):
                raise self.error(self.tok, f"'group' at column {tok.col} needs aggregates, "
                                           "keys or both: group n = count() by serverHost")
            aggregates = () if self.at("name", "by") else self.items(tok, named=False)
            keys = self.items(self.take(), named=False) if self.at("name", "by") else ()
            return Group(aggregates, keys, tok.col)
        if word == "sort":
            return Sort(self.sort_keys(), tok.col)
        if word == "limit":
            number = self.tok
            if number.kind != "number" or not number.text.isdigit() or (
                    float(number.text) > MAX_LIMIT):
                raise self.error(number, f"'limit' at column {tok.col} needs a whole number of "
                                         f"rows from 0 to {MAX_LIMIT:,}: limit 10")
            self.take()
            return Limit(int(number.text), tok.col)
        return Columns(self.items(tok, named=False), tok.col)

    def items(self, after: _Token, *, named: bool) -> tuple[Item, ...]:
        out: list[Item] = []
        while True:
            tok = self.tok
            name: str | None = None
            if tok.kind in ("name", "field") and self.tokens[self.pos + 1].text == "=" and (
                    self.tokens[self.pos + 1].kind == "op"):
                name = tok.text
                self.pos += 2
            elif named:
                culprit = self.tokens[self.pos + 1] if tok.kind in ("name", "field") else tok
                raise self.error(culprit, f"'{after.raw}' at column {after.col} needs "
                                          "name = expression: let x = …")
            out.append(Item(name, self.expr(after), tok.col))
            if not self.at("op", ","):
                return tuple(out)
            after = self.take()

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys: list[SortKey] = []
        while True:
            start = self.tok
            descending = start.kind == "op" and start.text == "-"
            if start.kind == "op" and start.text in "+-":
                self.take()
            name = self.tok
            if name.kind not in ("name", "field"):
                raise self.error(name, "sort takes column names, '-' first for descending: "
                                       "sort -count, serverHost; compute others with let")
            self.take()
            keys.append(SortKey(name.text, descending, start.col))
            if self.at("name", "asc", "desc"):
                raise self.error(self.tok, f"write -{name.raw} to sort descending, "
                                           f"{name.raw} (or +{name.raw}) ascending")
            if not self.at("op", ","):
                return tuple(keys)
            self.take()

    # -- expressions, lowest precedence first

    def expr(self, after: _Token) -> Expr:
        if self.tok.kind == "end" or self.at("op", "|", ",", ")"):
            raise self.error(self.tok, f"'{after.raw}' at column {after.col} needs an "
                                       "expression after it")
        start = self.tok
        result = self.or_()
        if self.depth == 0 and _depth(result) > MAX_DEPTH:
            raise BadParam(f"the expression at column {start.col} has more than {MAX_DEPTH} "
                           "operators inside one another; simplify it, or compute parts "
                           "first with let")
        return result

    def binary(
        self, ops: tuple[str, ...], words: dict[str, str], parse: Callable[[], Expr]
    ) -> Expr:
        left = parse()
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ops:
                op = tok.text
            elif tok.kind == "name" and tok.text.lower() in words:
                op = words[tok.text.lower()]
            else:
                return left
            self.take()
            left = Binary(op, left, self.operand(tok, parse), tok.col)

    def operand(self, op: _Token, parse: Callable[[], Expr]) -> Expr:
        if self.tok.kind == "end" or self.at("op", "|", ",", ")"):
            raise self.error(self.tok, f"'{op.raw}' at column {op.col} needs a value after it")
        return parse()

    def or_(self) -> Expr:
        return self.binary(("||",), {"or": "||"}, self.and_)

    def and_(self) -> Expr:
        return self.binary(("&&",), {"and": "&&"}, self.not_)

    def not_(self) -> Expr:
        nots: list[_Token] = []
        while self.at("op", "!") or self.at("name", "not"):
            nots.append(self.take())
        if not nots:
            return self.compare()
        result = self.operand(nots[-1], self.compare)
        for tok in reversed(nots):
            result = Unary("!", result, tok.col)
        return result

    def compare(self) -> Expr:
        left = self.sum()
        tok = self.tok
        op = self.comparison(tok)
        if op is None:
            return left
        self.take()
        if op in ("==", "!=") and self.at("op", "*"):
            # `x == *`, as in the filter language: x is present, i.e. `x != null`.
            star = self.take()
            result = Binary("!=" if op == "==" else "==", left, Const(None, star.col), tok.col)
        else:
            result = Binary(op, left, self.operand(tok, self.sum), tok.col)
        if self.comparison(self.tok) is not None:
            raise self.error(self.tok, "comparisons do not chain; join them with &&: "
                                       "a < b && b < c")
        return result

    def comparison(self, tok: _Token) -> str | None:
        if tok.kind == "op" and tok.text in ("==", "=", "!=", "<", "<=", ">", ">="):
            return "==" if tok.text == "=" else tok.text
        if tok.kind != "name":
            return None
        word, _, modifier = tok.text.partition(":")
        op = {"contains": "contains", "matches": "matches", "startswith": "startsWith"}.get(
            word.lower())
        if op is None:
            return None
        if ":" in tok.text:
            if modifier.lower() != "matchcase":
                raise BadParam(f"unknown modifier ':{modifier}' at column {tok.col}; use "
                               f"'{op}:matchcase' to respect case")
            op += ":matchcase"
        return op

    def sum(self) -> Expr:
        return self.binary(("+", "-"), {}, self.product)

    def product(self) -> Expr:
        return self.binary(("*", "/", "%"), {}, self.unary)

    def unary(self) -> Expr:
        minuses: list[_Token] = []
        while self.at("op", "-"):
            minuses.append(self.take())
        if not minuses:
            return self.primary()
        result = self.operand(minuses[-1], self.primary)
        for tok in reversed(minuses):
            if isinstance(result, Const) and isinstance(result.value, (int, float)) and (
                    not isinstance(result.value, bool)):
                result = Const(-result.value, tok.col)  # a negative number, not a negation
            else:
                result = Unary("-", result, tok.col)
        return result

    def primary(self) -> Expr:
        tok = self.take()
        if tok.kind == "string":
            return Const(tok.text, tok.col)
        if tok.kind == "number":
            return _number(tok)
        if tok.kind == "field":
            return Ref(tok.text, tok.col)
        if tok.kind == "op" and tok.text == "(":
            self.nest(tok)
            inner = self.expr(tok)
            self.expect(")", f"the '(' at column {tok.col} is never closed; add ')'")
            self.depth -= 1
            return inner
        if tok.kind == "name":
            word = tok.text.lower()
            if word in ("true", "false", "null"):
                return Const({"true": True, "false": False, "null": None}[word], tok.col)
            if self.at("op", "("):
                return self.call(tok)
            if word in KEYWORDS:
                raise self.error(tok, f"'{tok.text}' is a keyword; write ${tok.text} for a "
                                      "field of that name")
            return Ref(tok.text, tok.col)
        self.pos -= 1
        raise self.error(tok, "expected a value: a name, a number, a \"string\", a function "
                              "call or (expression)")

    def call(self, tok: _Token) -> Call:
        name = _CANONICAL.get(tok.text.lower())
        if name is None:
            raise BadParam(f"unknown function {tok.text!r} at column {tok.col}; functions: "
                           f"{', '.join(FUNCTIONS)}; aggregates: {', '.join(AGGREGATES)}")
        opened = self.take()
        self.nest(opened)
        args: list[Expr] = []
        if not self.at("op", ")"):
            while True:
                args.append(self.expr(opened))
                if not self.at("op", ","):
                    break
                opened = self.take()
        self.expect(")", f"the '(' of {name} at column {tok.col} needs ')' after its "
                         "arguments, separated by ','")
        self.depth -= 1
        low = min(FUNCTIONS.get(name, (99, 0))[0], AGGREGATES.get(name, (99, 0))[0])
        high = max(FUNCTIONS.get(name, (0, 0))[1], AGGREGATES.get(name, (0, 0))[1])
        if not low <= len(args) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise BadParam(f"{name} at column {tok.col} takes {wanted} argument"
                           f"{'' if wanted == '1' else 's'}, not {len(args)}")
        return Call(name, tuple(args), tok.col)


def _depth(expr: Expr) -> int:
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Binary):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, Unary):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, Call):
            stack += [(a, depth + 1) for a in node.args]
    return deepest


def _number(tok: _Token) -> Const:
    value = float(tok.text)
    if not math.isfinite(value):
        raise BadParam(f"the number at column {tok.col} is too large")
    return Const(int(tok.text) if tok.text.isdigit() else value, tok.col)


def parse_powerquery(text: str) -> PowerQuery:
    """The AST of a PowerQuery; an empty filter (or none before the first `|`) is all events."""
    end = _first_pipe(text)
    try:
        search = parse_filter(text[:end])
    except BadParam as exc:
        word = text[:end].split(maxsplit=1)[0].lower() if text[:end].strip() else ""
        if word in COMMANDS or word in UNSUPPORTED_COMMANDS:
            raise BadParam(f"{exc.message}; '{word}' begins a command: to run commands on "
                           f"every event, start the query with '|' (| {word} …)") from None
        raise
    return PowerQuery(search, _Parser(text, end).commands())
