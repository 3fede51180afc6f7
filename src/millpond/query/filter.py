"""The filter language (spec §4): text → AST. Every node prints canonical filter text.

A hand-written recursive-descent parser rather than a parser library: the grammar is a dozen
productions, and owning the tokenizer is what lets every error name the exact column and say
what to write instead (`unexpected ')' at column 17`). Round trip: for any filter `f`,
`parse_filter(str(parse_filter(f))) == parse_filter(f)`.

    query    := or_expr?
    or_expr  := and_expr (("or" | "||") and_expr)*
    and_expr := unary (("and" | "&&")? unary)*        juxtaposition is AND
    unary    := ("not" | "!") unary | "(" or_expr ")" | term
    term     := field op value | field textop string | field "in"[":anycase"] "(" values ")"
              | "*" ("contains" | "matches")[":matchcase"] string
              | "$" string | string | word
    op       := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
    textop   := ("contains" | "matches" | "startsWith")[":matchcase" | ":anycase"]

Keywords are case-insensitive. Text search (words, phrases, `$"regex"`, `contains`,
`matches`, `startsWith`) ignores case unless `:matchcase`; comparisons respect it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from millpond.errors import BadParam

# -- the tree --------------------------------------------------------------------------------

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
TEXT_OPERATORS = ("contains", "matches", "startsWith")
_KEYWORDS = {"and", "or", "not", "in", "contains", "matches", "startswith"}
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SIMPLE_WORD = re.compile(r"^[A-Za-z0-9_./@:+-]+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")

Scalar = str | int | float


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        .replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _print_value(value: Scalar) -> str:
    if isinstance(value, str):
        return _quote(value)
    return repr(value)


@dataclass(frozen=True)
class Field:
    """A field reference; `$name` and `name` are the same field (event → log → session)."""

    name: str

    def __str__(self) -> str:
        if self.name == "*":
            return "*"
        if _SIMPLE_NAME.fullmatch(self.name) and self.name.lower() not in _KEYWORDS:
            return self.name
        escaped = "".join(c if c.isalnum() or c in "_." else "\\" + c for c in self.name)
        return "$" + escaped


@dataclass(frozen=True)
class Text:
    """A word or phrase that must occur in the message (case-insensitive)."""

    text: str

    def __str__(self) -> str:
        keyword = self.text.lower().partition(":")[0] in _KEYWORDS
        if _SIMPLE_WORD.fullmatch(self.text) and not keyword:
            return self.text
        return _quote(self.text)


@dataclass(frozen=True)
class Regex:
    """`$"regex"`: a regular expression that must match somewhere in the message."""

    pattern: str

    def __str__(self) -> str:
        return "$" + _quote(self.pattern)


@dataclass(frozen=True)
class Compare:
    """`field op value`: case-sensitive; numeric when both sides are numbers."""

    field: Field
    op: str
    value: Scalar

    def __str__(self) -> str:
        return f"{self.field} {self.op} {_print_value(self.value)}"


@dataclass(frozen=True)
class Present:
    """`field == *`: the field has a value."""

    field: Field

    def __str__(self) -> str:
        return f"{self.field} == *"


@dataclass(frozen=True)
class TextMatch:
    """`field contains|matches|startsWith 'text'`; field `*` means any field."""

    field: Field
    op: str
    text: str
    matchcase: bool = False

    def __str__(self) -> str:
        suffix = ":matchcase" if self.matchcase else ""
        return f"{self.field} {self.op}{suffix} {_quote(self.text)}"


@dataclass(frozen=True)
class In:
    """`field in (v1, v2, …)`: equal to any; `in:anycase` ignores case."""

    field: Field
    values: tuple[Scalar, ...]
    anycase: bool = False

    def __str__(self) -> str:
        suffix = ":anycase" if self.anycase else ""
        return f"{self.field} in{suffix} ({', '.join(_print_value(v) for v in self.values)})"


@dataclass(frozen=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"!({self.child})"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({c})" if isinstance(c, Or) else str(c) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(c) for c in self.children)


Node = Text | Regex | Compare | Present | TextMatch | In | Not | And | Or


def fields_of(node: Node | None) -> Iterator[Field]:
    """Every field a filter refers to."""
    if node is None:
        return
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from fields_of(child)
    elif isinstance(node, Not):
        yield from fields_of(node.child)
    elif isinstance(node, (Compare, Present, TextMatch, In)):
        yield node.field


# -- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, regex, field, op, lparen, rparen, comma, and, or, not, star, end
    text: str  # the value (unescaped for strings and fields)
    col: int  # 1-based column of the first character
    raw: str  # as written


_OP_CHARS = "=<>!"
_STOP = set(" \t\r\n\f\v()'\",=<>")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch == "(":
            out.append(_Token("lparen", ch, col, ch))
            i += 1
        elif ch == ")":
            out.append(_Token("rparen", ch, col, ch))
            i += 1
        elif ch == ",":
            out.append(_Token("comma", ch, col, ch))
            i += 1
        elif ch in "\"'":
            end, value = read_string(text, i)
            out.append(_Token("string", value, col, text[i:end]))
            i = end
        elif text.startswith("&&", i):
            out.append(_Token("and", "&&", col, "&&"))
            i += 2
        elif text.startswith("||", i):
            out.append(_Token("or", "||", col, "||"))
            i += 2
        elif text.startswith("=~", i):
            raise BadParam(
                f"unknown operator '=~' at column {col}; use 'matches', as in "
                "field matches 'regex'"
            )
        elif ch in _OP_CHARS:
            j = i
            while j < n and text[j] in _OP_CHARS:
                j += 1
            op = text[i:j]
            if op == "!" or (op.startswith("!") and op[1:] not in ("=", "")
                             and not op.startswith("!=")):
                # `!` then something else: `!(…)`, `!!x`, `!field`.
                out.append(_Token("not", "!", col, "!"))
                i += 1
                continue
            if op not in ("==", "=", "!=", "<", "<=", ">", ">="):
                raise BadParam(
                    f"unknown operator {op!r} at column {col}; use one of "
                    "== != < <= > >="
                )
            out.append(_Token("op", "==" if op == "=" else op, col, op))
            i = j
        elif ch == "$" and i + 1 < n and text[i + 1] in "\"'":
            end, value = read_string(text, i + 1)
            out.append(_Token("regex", value, col, text[i:end]))
            i = end
        else:
            start = i
            chars: list[str] = []
            while i < n and text[i] not in _STOP:
                if text.startswith("&&", i) or text.startswith("||", i):
                    break
                if text[i] == "!" and i > start and i + 1 < n and text[i + 1] == "=":
                    break  # `status!=200`
                if text[i] == "\\" and i + 1 < n:
                    chars.append(text[i + 1])
                    i += 2
                    continue
                chars.append(text[i])
                i += 1
            if i == start:  # a lone backslash at the end
                chars.append(text[i])
                i += 1
            raw = text[start:i]
            word = "".join(chars)
            lowered = raw.lower()
            if raw == "*":
                out.append(_Token("star", "*", col, raw))
            elif lowered in ("and", "or", "not"):
                out.append(_Token(lowered, lowered, col, raw))
            elif raw.startswith("$"):
                if len(word) == 1:
                    raise BadParam(
                        f"'$' at column {col} must be followed by a field name ($status) or "
                        "a quoted regular expression ($\"err.*\")"
                    )
                out.append(_Token("field", word[1:], col, raw))
            else:
                out.append(_Token("word", word, col, raw))
    out.append(_Token("end", "", n + 1, ""))
    return out


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_LOW_SURROGATE = re.compile(r"[dD][c-fC-F][0-9a-fA-F]{2}")


def read_string(text: str, start: int) -> tuple[int, str]:
    """A quoted string with JSON-style backslash escapes; returns (end index, value)."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "u" and _HEX4.match(text, i + 2):
                code = int(text[i + 2 : i + 6], 16)
                if 0xD800 <= code < 0xDC00 and text.startswith("\\u", i + 6) and (
                    _LOW_SURROGATE.match(text, i + 8)
                ):
                    # JSON writes a character past U+FFFF as two escapes: \ud83d\ude00 is 😀.
                    low = int(text[i + 8 : i + 12], 16)
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                    continue
                if 0xD800 <= code < 0xE000:
                    raise BadParam(
                        f"'{text[i : i + 6]}' at column {i + 1} is half of a surrogate pair; "
                        "write the character itself or both halves (\\ud83d\\ude00)"
                    )
                out.append(chr(code))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == quote:
            return i + 1, "".join(out)
        else:
            out.append(ch)
            i += 1
    raise BadParam(
        f"unterminated string starting at column {start + 1}; close it with {quote}"
    )


# -- the parser ------------------------------------------------------------------------------

_STAR_HINT = "'*' must be followed by 'contains' or 'matches' (* contains 'x')"


# Deeper nesting of parentheses and `!` than anyone writes by hand; past it the recursive
# descent (and the SQL compiled from the tree) would run out of stack.
_MAX_DEPTH = 100


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.tok
        self.pos += 1
        return tok

    def error(self, tok: _Token, hint: str = "") -> BadParam:
        what = (
            f"unexpected end of filter (column {tok.col})" if tok.kind == "end"
            else f"unexpected {tok.raw!r} at column {tok.col}"
        )
        return BadParam(what + (f"; {hint}" if hint else ""))

    def parse(self) -> Node | None:
        if self.tok.kind == "end":
            return None
        node = self.or_expr()
        if self.tok.kind != "end":
            hint = (
                "there is no '(' to close" if self.tok.kind == "rparen"
                else "join terms with 'and' or 'or'"
            )
            raise self.error(self.tok, hint)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.kind == "or":
            op = self.take()
            if self.tok.kind in ("end", "rparen", "or", "and"):
                raise self.error(self.tok, f"'{op.raw}' at column {op.col} needs a term after it")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(_flatten(Or, children)))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while True:
            if self.tok.kind == "and":
                op = self.take()
                if self.tok.kind in ("end", "rparen", "or", "and"):
                    raise self.error(
                        self.tok, f"'{op.raw}' at column {op.col} needs a term after it"
                    )
                children.append(self.unary())
            elif self.tok.kind in ("word", "string", "regex", "field", "not", "lparen", "star"):
                children.append(self.unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(_flatten(And, children)))

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind in ("not", "lparen"):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error(
                    tok, f"the filter nests '(' and '!' more than {_MAX_DEPTH} deep; simplify it"
                )
            try:
                return self._nested(tok)
            finally:
                self.depth -= 1
        return self.term()

    def _nested(self, tok: _Token) -> Node:
        """`! unary` or `( or_expr )`."""
        if tok.kind == "not":
            self.take()
            if self.tok.kind in ("end", "rparen", "or", "and"):
                raise self.error(self.tok, f"'{tok.raw}' at column {tok.col} needs a term after it")
            child = self.unary()
            return child.child if isinstance(child, Not) else Not(child)
        self.take()
        if self.tok.kind == "rparen":
            raise self.error(self.tok, "empty parentheses; put a term inside them")
        node = self.or_expr()
        if self.tok.kind != "rparen":
            raise self.error(
                self.tok, f"the '(' at column {tok.col} is never closed; add ')'"
                if self.tok.kind == "end" else "join terms with 'and' or 'or'"
            )
        self.take()
        return node

    def term(self) -> Node:
        tok = self.tok
        nxt = self.peek()
        if tok.kind == "regex":
            self.take()
            return Regex(tok.text)
        if tok.kind == "star":
            self.take()
            op, matchcase = self._text_operator(self.tok)
            if op is None or op == "in":
                raise self.error(self.tok, _STAR_HINT)
            self.take()
            return TextMatch(Field("*"), op, self._string_operand(op), matchcase)
        if tok.kind in ("word", "field"):
            op, _flag = self._text_operator(nxt)
            if nxt.kind == "op" or op is not None:
                if tok.text == "*" and op in (None, "in"):  # `$*`, `\*`: only * contains|matches
                    raise self.error(nxt, _STAR_HINT)
                self.take()
                return self._comparison(Field(tok.text))
            if tok.kind == "field":
                raise self.error(
                    nxt, f"the field ${tok.text} at column {tok.col} needs an operator "
                    "after it (== != < <= > >= contains matches in)"
                )
            self.take()
            return Text(tok.text)
        if tok.kind == "string":
            self.take()
            return Text(tok.text)
        if tok.kind == "op":
            raise self.error(tok, "a comparison needs a field name before the operator")
        if tok.kind == "rparen":
            raise self.error(tok, "there is no '(' to close")
        if tok.kind == "comma":
            raise self.error(tok, "commas only separate the values of 'in (…)'")
        raise self.error(tok, "expected a word, a \"phrase\" or a field comparison")

    def _text_operator(self, tok: _Token) -> tuple[str | None, bool]:
        """(operator, flag) if `tok` is contains/matches/startsWith/in with a modifier."""
        if tok.kind != "word":
            return None, False
        name, _, modifier = tok.raw.lower().partition(":")
        if name not in ("contains", "matches", "startswith", "in"):
            return None, False
        if modifier and modifier not in ("matchcase", "anycase"):
            raise BadParam(
                f"unknown modifier ':{modifier}' at column {tok.col}; use ':matchcase' or "
                "':anycase'"
            )
        if name == "in":
            if modifier == "matchcase":
                raise BadParam(
                    f"'in:matchcase' at column {tok.col}: 'in' already matches case; "
                    "use 'in:anycase' to ignore it"
                )
            return "in", modifier == "anycase"
        op = {"contains": "contains", "matches": "matches", "startswith": "startsWith"}[name]
        return op, modifier == "matchcase"

    def _comparison(self, field: Field) -> Node:
        tok = self.take()
        if tok.kind == "op":
            value_tok = self.tok
            if value_tok.kind == "star":
                self.take()
                if tok.text == "==":
                    return Present(field)
                if tok.text == "!=":
                    return Not(Present(field))
                raise self.error(value_tok, f"'*' only works with == and !=, not {tok.raw}")
            return Compare(field, tok.text, self._value(tok))
        op, flag = self._text_operator(tok)
        assert op is not None
        if op == "in":
            return In(field, self._values(tok), flag)
        return TextMatch(field, op, self._string_operand(op), flag)

    def _string_operand(self, op: str) -> str:
        tok = self.tok
        if tok.kind in ("string", "word"):
            self.take()
            return tok.text
        raise self.error(tok, f"'{op}' needs a quoted string after it ({op} 'text')")

    def _value(self, op: _Token) -> Scalar:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return tok.text
        if tok.kind == "word":
            self.take()
            return _number(tok.text)
        raise self.error(tok, f"'{op.raw}' at column {op.col} needs a value after it "
                              "(a number, a word or a quoted string)")

    def _values(self, op: _Token) -> tuple[Scalar, ...]:
        if self.tok.kind != "lparen":
            raise self.error(self.tok, f"'{op.raw}' needs a list of values: in ('a', 'b', 3)")
        opened = self.take()
        values: list[Scalar] = []
        while True:
            if self.tok.kind == "rparen" and not values:
                raise self.error(self.tok, "the list of 'in' is empty; give at least one value")
            values.append(self._value(op))
            sep = self.take()
            if sep.kind == "rparen":
                return tuple(values)
            if sep.kind != "comma":
                raise self.error(
                    sep,
                    f"the list opened at column {opened.col} needs ',' between values and ')' "
                    "at its end",
                )


def _number(text: str) -> Scalar:
    """A bare value: a number if it reads as one, else the word as a string."""
    if not _NUMBER.fullmatch(text):
        return text
    if _INTEGER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # past Python's 4,300-digit limit: no field holds such a number
            return text
    number = float(text)
    return number if math.isfinite(number) else text


def _flatten(kind: type[And] | type[Or], children: list[Node]) -> Iterator[Node]:
    for child in children:
        if isinstance(child, kind):
            yield from child.children
        else:
            yield child


def parse_filter(text: str) -> Node | None:
    """The AST of a filter; None for an empty filter (everything matches)."""
    return _Parser(text).parse()
