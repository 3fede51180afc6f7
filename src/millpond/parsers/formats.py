"""Format strings and field matchers (spec §5.4): `"$ip$ $user$ \\[$timestamp$\\] $text$"`.

    fmt = compile_format("$ip$ - $user$ \\[$when{parse=dateTimeSeconds}$\\]", timezone="UTC")
    fmt.match(line)        # ({"ip": "10.0.0.1", "user": "alice", "when": 1700000000}, 38) or None
    fmt.match_all(line)    # `repeat: true`: every match along the line, merged

A format compiles to one Python regex with a named group per field, and a generated function
that turns the groups into fields: matching is one `re` call and one straight-line function.
A format with `json` fields is matched piece by piece around them (`patterns.scan_json`).
Decisions where Scalyr's documentation leaves a choice:

* Text outside `$…$` is a regex, matched **case-insensitively** (Scalyr's own systemLog parser
  matches `Feb` with `[a-z]+`). `.` does not match a newline in user regexes (as in Java); the
  predefined and default patterns do, so a last field takes the rest of a multi-line message.
* A format starting with `.*` is a fragment: the `.*` is dropped and the rest is searched for
  (the leftmost match), which is what makes `repeat` walk along the line. A `json` field that
  opens a fragment must be a `{…}` value.
* A regex construct may not enclose a field, nor a quantifier follow one: `(a $x$)`, `$x$?` and
  a field inside `[…]` are refused. `|` between two fields alternates the text between them. A
  space before a quantifier is one unit: `: ?` is an optional run of whitespace.
* Patterns: the parser's own `patterns` shadow the predefined names. A pattern that is a bare
  word must be known; anything else after `=` (`$x=\\d+$`) is taken as an inline regex, like
  `{regex=…}` (giving both is refused). A pattern with a leading `(?i)` gets it scoped.
* Default patterns: a field followed by a space is `quotable`; followed by `"` (or `\\"`) it is
  lazy text in which backslash escapes do not end it; at the end of the format it takes the
  rest of the line; otherwise lazy text up to what follows. Two fields in a row need a pattern
  on the first.
* A lazy field (the defaults, `quotable`, the unquoted side of `json`) ends at the **first**
  place the literal text after it matches and is not revisited when something later fails
  (Scalyr: "until the first instance of the format delimiter"): `$a$:$b=digits$` does not match
  `x:y:5`. Runs of `digits`, `alphanumeric`, `identifier` and `number` do not give characters
  back when what follows cannot continue them, and a space before a field never lets the field
  start with whitespace. So a line that does not match is rejected in linear time.
* `quoteOrSpace` (and `quoteOrSpaceNoEscape`) before a space: a whole quoted value followed by
  whitespace or the end of the line is that value, and is not given up for the text before
  its first inner space when something later in the format fails. Otherwise a format with a
  field after it could match by splitting the quoted value: accessLog's format with a request
  time would read the user agent `"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"`
  as the agent `"Slackbot-LinkExpanding` and a request time of 1.0. Before the end of the line
  (`\\s*\\Z`) it is what it would be at the end of the format: a quoted value if the text
  starts with one, whatever follows it.
* Values: quoted values (`quotable`, `quoteOrSpace` and their NoEscape kin, the default before a
  space) lose their quotes and escapes; a default field before `"` has its escapes undone.
  Then text that is a number becomes one (`patterns.to_value`; `number` fields also read `+2`,
  `.5`, `3.`), except in `timestamp` and `timezone`, which stay text for the timestamp parser.
  `message` is returned like any field: the parser applies the §5.6 rule.
* Magic `_`: matchers whose name ends in `_` pair up in order; the first of each pair captures a
  field name, the second stores its value under (its prefix + that name): `$_=identifier$=$_$`,
  `$_=identifier$: $stat_=number$` → `statcacheHits`. A prefix on the name-capturing matcher is
  refused (it would be lost); a last unpaired one captures nothing. `attrWhitelist` /
  `attrBlacklist` on a value matcher without a directive filter the captured names.
* A matcher with no name is allowed only with a directive that makes subfields (`${parse=json}$`).
* `{timezone=…}` on a matcher is checked when compiling; `Format.timestamp_zone` is the one on
  the `timestamp` matcher, for the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from millpond.errors import BadParam
from millpond.parsers import directives
from millpond.parsers.patterns import (
    ESCAPED_LAZY,
    LAZY,
    LAZY_TO_SPACE,
    POSSESSIVE,
    PREDEFINED,
    QUOTED,
    QUOTED_NO_ESCAPE,
    REST,
    RUN_CHARACTERS,
    compile_regex,
    lazy_until,
    number_value,
    scan_json,
    to_value,
    unescape,
    unquote,
    unquote_no_escape,
)
from millpond.parsers.timestamps import known_zone

__all__ = ["PREDEFINED", "Format", "FormatError", "compile_format"]


class FormatError(BadParam, ValueError):
    """A format string millpond cannot compile; the message says what, where and what to do."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


_OPTIONS: Final = ("parse", "attrWhitelist", "attrBlacklist", "timezone", "regex")
_NAME: Final = re.compile(r"[\w.@:\-]*")
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPTION_START: Final = re.compile(r"\{([A-Za-z]+)=")
_LEADING_FLAGS: Final = re.compile(r"\(\?([aiLmsux]+)\)")
_QUANTIFIER: Final = re.compile(r"[*+?]|\{[0-9]+(?:,[0-9]*)?\}")
# Characters that match only themselves in a regex (and are not whitespace).
_PLAIN: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\"'<>:;,=/@#%&!~-_`"
)
_TEXT_FIELDS: Final = frozenset({"timestamp", "timezone"})
_NUMBER_START: Final = frozenset("-0123456789")
_FLAGS: Final = re.IGNORECASE


# -- reading the format string --------------------------------------------------------------


@dataclass(slots=True)
class _Literal:
    """Regex text between two matchers; `None` items are spaces (resolved when assembled)."""

    column: int
    raw: str
    items: list[str | None]
    alternation: bool


@dataclass(frozen=True, slots=True)
class _Matcher:
    name: str
    column: int
    text: str  # as written, for messages: $name=pattern{…}$
    pattern: str | None
    options: tuple[tuple[str, str], ...]

    def option(self, key: str) -> str | None:
        for k, v in self.options:
            if k == key:
                return v
        return None


_Token = _Literal | _Matcher


def _tokenize(fmt: str, offset: int) -> list[_Token]:
    """The literals and matchers of `fmt`; `offset` is the column of fmt[0] minus one."""
    tokens: list[_Token] = []
    items: list[str | None] = []
    lit_start = 0
    alternation = False
    groups: list[int] = []  # columns of unclosed `(`
    in_class = False
    class_body = 0  # index where the class's first member is (a `]` there is literal)
    i, n = 0, len(fmt)

    def flush(end: int) -> None:
        nonlocal items, alternation
        if items:
            tokens.append(_Literal(lit_start + offset + 1, fmt[lit_start:end], items, alternation))
        items, alternation = [], False

    while i < n:
        c = fmt[i]
        if c == "\\":
            if i + 1 >= n:
                raise FormatError(
                    f"the format ends with a lone backslash at column {i + offset + 1}; "
                    "write \\\\ for a literal backslash", i + offset + 1)
            nxt = fmt[i + 1]
            if nxt == "$":
                if fmt.startswith("$$", i + 1):
                    items.append("\\$")
                    i += 3
                    continue
                raise FormatError(
                    f"a backslash before the field at column {i + offset + 2}; a literal '$' is "
                    "written \\$$ (backslash, then $$)", i + offset + 1)
            items.append(c + nxt)
            i += 2
            continue
        if c == "$":
            if fmt.startswith("$$", i):
                items.append("$")
                i += 2
                continue
            column = i + offset + 1
            if in_class:
                raise FormatError(
                    f"a field starts inside the character class [...] at column {column}; "
                    "write $$ for a literal '$'", column)
            matcher, end = _read_matcher(fmt, i, offset)
            if groups:
                raise FormatError(
                    f"the regex group '(' at column {groups[-1]} encloses the field "
                    f"{matcher.text} at column {column}; regex constructs cannot enclose a "
                    "$…$ field: write one fragment format (starting with .*) per alternative",
                    groups[-1])
            flush(i)
            tokens.append(matcher)
            q = _QUANTIFIER.match(fmt, end)
            if q is not None:
                raise FormatError(
                    f"the quantifier '{q.group()}' at column {end + offset + 1} applies to the "
                    f"field {matcher.text}; regex constructs cannot apply to a $…$ field: give "
                    "the field a pattern that says what it matches instead", end + offset + 1)
            i = lit_start = end
            continue
        if in_class:
            if c == "]" and i > class_body:
                in_class = False
            items.append(c)
            i += 1
            continue
        if c == " ":
            while i < n and fmt[i] == " ":
                i += 1
            items.append(None)
            continue
        if c == "[":
            in_class = True
            class_body = i + 2 if fmt.startswith("^", i + 1) else i + 1
        elif c == "(":
            groups.append(i + offset + 1)
        elif c == ")" and groups:
            groups.pop()
        elif c == "|" and not groups:
            alternation = True
        items.append(c)
        i += 1
    flush(n)
    return tokens


def _read_matcher(fmt: str, start: int, offset: int) -> tuple[_Matcher, int]:
    """The matcher opening at fmt[start] == '$', and the index after its closing '$'."""
    column = start + offset + 1
    i, n = start + 1, len(fmt)
    # The name, then `=pattern`, then `{key=value}` options; the closing `$` is the first one
    # outside braces, so option values may hold `$` and balanced `{}`.
    name_end = i
    while name_end < n and fmt[name_end] not in "={$":
        name_end += 1
    name = fmt[i:name_end]
    pattern: str | None = None
    i = name_end
    if i < n and fmt[i] == "=":
        j = i + 1
        while j < n and fmt[j] != "$" and not _OPTION_START.match(fmt, j):
            if fmt[j] == "\\":
                j += 1
            elif fmt[j] == "{":  # a quantifier such as \d{4} in an inline pattern
                close = fmt.find("}", j)
                j = close if close >= 0 else n
            j += 1
        pattern = fmt[i + 1:j]
        i = j
    options: list[tuple[str, str]] = []
    while i < n and fmt[i] == "{":
        m = _OPTION_START.match(fmt, i)
        if m is None:
            break
        key = m.group(1)
        value_end = _option_end(fmt, m.end())
        if value_end is None:
            raise FormatError(
                f"the option {{{key}=…}} of the field at column {column} has no closing '}}'",
                column)
        options.append((key, fmt[m.end():value_end]))
        i = value_end + 1
    if i >= n:
        raise FormatError(
            f"the field at column {column} has no closing '$'; write $$ for a literal '$'",
            column)
    text = fmt[start:i + 1]
    if fmt[i] != "$":
        raise FormatError(
            f"unexpected {fmt[i]!r} at column {i + offset + 1} in the field {text}; a field is "
            "$name$, $name=pattern$ or $name{parse=…}$, options in {key=value}", i + offset + 1)
    if not _NAME.fullmatch(name):
        raise FormatError(
            f"the field name {name!r} at column {column} may only hold letters, digits and "
            "_ . - @ :", column)
    if pattern == "":
        raise FormatError(f"the field {text} at column {column} has '=' but no pattern", column)
    for key, _ in options:
        if key not in _OPTIONS:
            raise FormatError(
                f"unknown option {{{key}=…}} in {text} at column {column}; options are "
                + ", ".join(f"{{{o}=…}}" for o in _OPTIONS), column)
    return _Matcher(name, column, text, pattern, tuple(options)), i + 1


def _option_end(fmt: str, i: int) -> int | None:
    """Index of the `}` closing an option value that starts at fmt[i]."""
    depth = 0
    in_class = False
    n = len(fmt)
    while i < n:
        c = fmt[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
        elif c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return None


# -- what each matcher becomes --------------------------------------------------------------

# How captured text becomes a value; the codes keep the hot loop free of calls for the
# common cases.
_PLAIN_VALUE: Final = 0  # to_value(text)
_QUOTED_VALUE: Final = 1  # to_value(unquote(text))
_ESCAPED_VALUE: Final = 2  # to_value(unescape(text))
_TEXT: Final = 3  # decode(text), no number
_CUSTOM: Final = 4  # emit(fields, name, decode(text))
# For `columnar`, which reads a field's code to convert whole columns.
CODE_PLAIN: Final = _PLAIN_VALUE
CODE_QUOTED: Final = _QUOTED_VALUE
CODE_ESCAPED: Final = _ESCAPED_VALUE
CODE_TEXT: Final = _TEXT

_NORMAL: Final = 0
_NAMES_NEXT: Final = 1  # magic: captures the name of the next magic matcher's field
_NAMED_BY_PREVIOUS: Final = 2


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    regex: str
    json: bool
    code: int
    decode: Callable[[str], str] | None
    emit: directives.Emit | None
    role: int
    keep: directives.Keep | None  # the name filter of a magic value matcher
    builtin: bool  # a predefined or default pattern: never starts with whitespace we want
    lazy: bool  # "up to the first instance of what follows": committed once that is found


_ESCAPED_ANYWHERE: Final = r"(?:\\[\s\S]|[^\\])*?"  # before an optional `"`


def _next_char(follower: _Token | None) -> str | None:
    """What the text after a field surely starts with: a character, " " for whitespace, ""
    for the end of the format; None when that cannot be told."""
    if follower is None:
        return ""
    if isinstance(follower, _Matcher) or follower.alternation:
        return None
    items = follower.items
    if len(items) > 1 and items[1] is not None and items[1] in ("?", "*", "+", "{"):
        return None  # the first item is optional or repeated
    first = items[0]
    if first is None:
        return " "
    if len(first) == 1:
        return first if first in _PLAIN else None
    if len(first) == 2 and first[0] == "\\" and not first[1].isalnum() and first[1] != " ":
        return first[1]
    return None


def _lazy_for(follower: _Token | None) -> str:
    """Lazy text up to what follows a field, as fast a regex as that allows."""
    c = _next_char(follower)
    if c == "":
        return REST
    if c == " ":
        return LAZY_TO_SPACE
    if c is None or c.isalnum():  # letters: either case may end the field
        return LAZY
    return lazy_until(c)


def _ends_run(follower: _Token | None, run: re.Pattern[str]) -> bool:
    """Whether what follows a field surely starts with a character outside `run`."""
    c = _next_char(follower)
    return c is not None and (c in ("", " ") or run.fullmatch(c) is None)


def _ends_line(follower: _Token | None) -> bool:
    """Whether what follows a field is the end of the line, after whitespace or not: `\\Z`,
    `\\s*\\Z`, ` ?\\Z`."""
    if not isinstance(follower, _Literal) or follower.alternation:
        return False
    items = follower.items
    return items == ["\\Z"] or (len(items) == 3 and items[0] in ("\\s", None)
                                 and items[1] in ("*", "?") and items[2] == "\\Z")


def _identity(text: str) -> str:
    return text


def _store(fields: dict[str, Any], name: str, text: str) -> None:
    fields[name] = to_value(text)


def _store_number(fields: dict[str, Any], name: str, text: str) -> None:
    fields[name] = number_value(text)


def _check_regex(regex: str, what: str, column: int) -> str:
    m = _LEADING_FLAGS.match(regex)
    if m is not None:  # Python allows global flags only at the start of the whole regex
        regex = f"(?{m.group(1)}:{regex[m.end():]})"
    try:
        compile_regex(regex)
    except re.error as exc:
        raise FormatError(
            f"{what} at column {column} is not a valid regular expression: {exc.msg}", column
        ) from None
    return regex


def _field(m: _Matcher, follower: _Token | None, user: Mapping[str, str],
           zone: str | None, role: int) -> _Field:
    where = f"{m.text} at column {m.column}"
    inline = m.option("regex")
    if inline is not None and m.pattern is not None:
        raise FormatError(
            f"{where} has both a pattern and {{regex=…}}; keep one", m.column)
    decode: Callable[[str], str] = _identity
    is_json = False
    kind = m.pattern
    if inline is not None:
        regex = _check_regex(inline, f"the {{regex=…}} of {m.text}", m.column)
    elif kind is not None and kind in user:
        text = user[kind]
        if not isinstance(text, str):
            raise FormatError(f"pattern {kind!r} (used by {where}) must be a regex string",
                              m.column)
        regex = _check_regex(text, f"pattern {kind!r} (used by {m.text})", m.column)
    elif kind is not None and kind in PREDEFINED:
        if kind in ("quotable", "quotableNoEscape"):
            quoted = QUOTED if kind == "quotable" else QUOTED_NO_ESCAPE
            regex = quoted + "|" + _lazy_for(follower)
            decode = unquote if kind == "quotable" else unquote_no_escape
        elif kind in ("quoteOrSpace", "quoteOrSpaceNoEscape"):
            regex = PREDEFINED[kind]
            if _next_char(follower) == " ":  # a whole quoted value, then a space or the end
                quoted = QUOTED if kind == "quoteOrSpace" else QUOTED_NO_ESCAPE
                regex = rf"(?>{quoted}(?=\s|\Z)|[^\s]*+)"
            elif _ends_line(follower):  # its first choice, as at the end of the format
                regex = f"(?>{regex})"
            decode = unquote if kind == "quoteOrSpace" else unquote_no_escape
        elif kind == "json":
            regex = _lazy_for(follower)  # a superset of the braces `Format` scans for
            is_json = True
        elif kind in POSSESSIVE and _ends_run(follower, RUN_CHARACTERS[kind]):
            regex = POSSESSIVE[kind]
        else:
            regex = PREDEFINED[kind]
    elif kind is not None and _WORD.fullmatch(kind):
        known = ", ".join([*PREDEFINED, *user])
        raise FormatError(
            f"unknown pattern {kind!r} in {where}; predefined: {known}; or define it under "
            "`patterns`, or write the regex with {regex=…}", m.column)
    elif kind is not None:
        regex = _check_regex(kind, f"the pattern of {m.text}", m.column)
    elif follower is None:
        regex = REST
    elif isinstance(follower, _Matcher):
        raise FormatError(
            f"{where} is followed directly by {follower.text}; give the first a pattern "
            f"(e.g. ${m.name}=digits$) so millpond knows where it ends", m.column)
    elif follower.items[0] is None:
        regex = QUOTED + "|" + _lazy_for(follower)
        decode = unquote
    elif follower.raw.startswith(('"', '\\"')):
        regex = ESCAPED_LAZY if _next_char(follower) == '"' else _ESCAPED_ANYWHERE
        decode = unescape
    else:
        regex = _lazy_for(follower)

    directive = m.option("parse")
    whitelist, blacklist = m.option("attrWhitelist"), m.option("attrBlacklist")
    if whitelist is not None:
        _check_regex(whitelist, f"the {{attrWhitelist=…}} of {m.text}", m.column)
    if blacklist is not None:
        _check_regex(blacklist, f"the {{attrBlacklist=…}} of {m.text}", m.column)
    field_zone = m.option("timezone")
    if field_zone is not None and not known_zone(field_zone):
        raise FormatError(
            f"unknown time zone {field_zone!r} in {where}; use an IANA name like "
            "America/New_York, an abbreviation like EST, or an offset like GMT+5:30", m.column)
    emit: directives.Emit | None = None
    if directive is not None:
        emit = directives.make_directive(
            directive, zone=field_zone or zone, whitelist=whitelist, blacklist=blacklist)
        if emit is None:
            raise FormatError(
                f"unknown directive {{parse={directive}}} in {where}; directives are "
                + ", ".join(directives.DIRECTIVES), m.column)
        if not m.name and directive in directives.NEEDS_NAME:
            raise FormatError(
                f"{where} has no name, and {{parse={directive}}} stores its result under the "
                "field's name; name the field", m.column)
    elif not m.name:
        raise FormatError(
            f"{where} has no name; name the field, or give it a directive that makes fields "
            "of its own, such as {parse=json}", m.column)

    keep = None
    if role == _NAMED_BY_PREVIOUS and emit is None:
        keep = directives.key_filter(whitelist, blacklist)
    if emit is not None:
        code = _CUSTOM
    elif m.name in _TEXT_FIELDS or role == _NAMES_NEXT:
        code = _TEXT
    elif kind == "number" and kind not in user and inline is None:
        code, emit = _CUSTOM, _store_number
    elif decode is _identity:
        code = _PLAIN_VALUE
    elif decode is unquote:
        code = _QUOTED_VALUE
    elif decode is unescape:
        code = _ESCAPED_VALUE
    else:
        code, emit = _CUSTOM, _store
    name = m.name[:-1] if role == _NAMED_BY_PREVIOUS else m.name
    builtin = inline is None and (kind is None or (kind in PREDEFINED and kind not in user))
    lazy = builtin and not is_json and regex.endswith("*?")
    return _Field(name, regex, is_json, code, None if decode is _identity else decode, emit,
                  role, keep, builtin, lazy)


# -- assembling regexes ---------------------------------------------------------------------


def _literal_regex(lit: _Literal, follower: _Token | None, fields: dict[int, _Field]) -> str:
    parts: list[str] = []
    items = lit.items
    for k, item in enumerate(items):
        if item is not None:
            parts.append(item)
            continue
        nxt = items[k + 1] if k + 1 < len(items) else None
        if nxt is not None and len(nxt) == 1 and nxt in "?*+{":
            # `: ?` is an optional run of whitespace, not a lazy `\s+?`. Atomic, so `" +"`
            # is not a nested quantifier that tries every way to split a run of spaces.
            parts.append(r"(?>\s+)")
        elif nxt is None and isinstance(follower, _Matcher):
            parts.append(r"\s++" if fields[id(follower)].builtin else r"\s+")
        elif nxt is not None and _cannot_be_space(nxt):
            parts.append(r"\s++")
        else:
            parts.append(r"\s+")
    regex = "".join(parts)
    return f"(?:{regex})" if lit.alternation else regex


def _cannot_be_space(item: str) -> bool:
    """Whether a literal item (a character, or an escape pair) can only match a non-space."""
    if len(item) == 1:
        return item in _PLAIN
    return len(item) == 2 and item[0] == "\\" and not item[1].isalnum() and item[1] != " "


def _assemble(tokens: Sequence[_Token], fields: dict[int, _Field], group: dict[int, str],
              lead: str | None = None) -> str:
    """The regex for `tokens`, after an optional `lead` (lazy text in a group of its own).

    A lazy field and the literal after it form an atomic group: the field ends at the first
    place that literal matches and is not revisited when something later fails. That is
    Scalyr's "up to the first instance of the delimiter", and it keeps a line that does not
    match from costing a search through every way of splitting it between the fields."""
    parts: list[str] = []
    open_group = False
    if lead is not None:
        open_group = bool(tokens) and isinstance(tokens[0], _Literal)
        parts.append(("(?>" if open_group else "") + lead)
    for k, token in enumerate(tokens):
        follower = tokens[k + 1] if k + 1 < len(tokens) else None
        if isinstance(token, _Literal):
            parts.append(_literal_regex(token, follower, fields) + (")" if open_group else ""))
            open_group = False
            continue
        fld = fields[id(token)]
        open_group = fld.lazy and isinstance(follower, _Literal)
        parts.append(("(?>" if open_group else "") + f"(?P<{group[id(token)]}>{fld.regex})")
    return "".join(parts)


def _compile(regex: str, flags: str, tokens: Sequence[_Token]) -> re.Pattern[str]:
    try:
        return compile_regex(flags + regex, _FLAGS)
    except re.error as exc:
        for token in tokens:  # find the literal at fault, to say where it is
            if isinstance(token, _Literal):
                try:
                    compile_regex(_literal_regex(token, None, {}))
                except re.error as inner:
                    raise FormatError(
                        f"the regex {token.raw!r} at column {token.column} is invalid: "
                        f"{inner.msg}; escape regex characters with a backslash (\\[ for a "
                        "literal [)", token.column) from None
        raise FormatError(
            f"the format is not a valid regular expression: {exc.msg}", None) from None


# -- the compiled format --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    """A regex for the text between json fields, and where its fields' values go."""

    regex: re.Pattern[str]
    positions: tuple[int, ...]  # of our groups in m.groups() (user patterns may add groups)
    slots: tuple[int, ...]  # the fields' indexes in the format


@dataclass(frozen=True, slots=True)
class _JsonStep:
    slot: int  # the json field's index in the format
    after: _Piece  # what follows the json value
    # A value not starting with `{`: group 1 takes lazy text, then `after` (None: not allowed).
    fallback: _Piece | None


class Format:
    """A compiled format string. `match` and `match_all` never raise."""

    __slots__ = (
        "_collect", "_collect_slots", "_first", "_plan", "_simple", "_steps", "fields",
        "fragment", "regex", "source", "timestamp_zone",
    )

    regex: re.Pattern[str]
    fields: tuple[str, ...]
    fragment: bool
    source: str
    timestamp_zone: str | None

    def __init__(self, source: str, regex: re.Pattern[str], fields: tuple[str, ...],
                 fragment: bool, plan: tuple[_Field, ...], positions: tuple[int, ...],
                 first: _Piece | None, steps: tuple[_JsonStep, ...],
                 timestamp_zone: str | None) -> None:
        self.source = source
        self.regex = regex
        self.fields = fields
        self.fragment = fragment
        self.timestamp_zone = timestamp_zone
        self._plan = plan
        self._first = first
        self._steps = steps
        # Without json fields the whole format is one regex, matched (or searched, for a
        # fragment) in one call; with them, piece by piece (`_match_pieces`).
        self._simple: Callable[[str, int], re.Match[str] | None] | None = (
            None if steps else regex.search if fragment else regex.match
        )
        # Turns a match's groups (`_collect`) or the per-field values the pieces gather
        # (`_collect_slots`) into fields.
        self._collect = _collector(plan, positions, source)
        self._collect_slots = _collector(plan, tuple(range(len(plan))), source)

    def __repr__(self) -> str:
        return f"Format({self.source!r})"

    def match(self, line: str, start: int = 0) -> tuple[dict[str, Any], int] | None:
        """The fields of the first match at `start` (anywhere from `start` on, for a fragment
        format) and the offset where the match ends; None if the format does not match."""
        simple = self._simple
        if simple is not None:
            m = simple(line, start)
            if m is None:
                return None
            return self._collect(m.groups(), {}), m.end()
        found = self._find_pieces(line, start)
        if found is None:
            return None
        values, _, end = found
        return self._collect_slots(values, {}), end

    def plan_fields(self) -> list[tuple[str, _Field, _Collector]] | None:
        """For `columnar`: each field's regex group, how it is read, and a collector for its
        value alone (`collect((text,), {})`); None if the format has json fields or magic `_`
        names, whose values depend on more than their own text."""
        if self._steps:
            return None
        out: list[tuple[str, _Field, _Collector]] = []
        for k, fld in enumerate(self._plan):
            if fld.role != _NORMAL or fld.json:
                return None
            out.append((f"f{k}", fld, _collector((fld,), (0,), self.source)))
        return out

    def match_all(self, line: str) -> dict[str, Any] | None:
        """`repeat: true`: match again where the previous match ended (a fragment format
        searches on from there), merging the fields; None if there was no match at all."""
        out: dict[str, Any] = {}
        matched = False
        if self._simple is not None:
            collect = self._collect
            if self.fragment:  # re's own loop has exactly these semantics
                for each in self.regex.finditer(line):
                    collect(each.groups(), out)
                    matched = True
                return out if matched else None
            match, pos = self.regex.match, 0
            while (m := match(line, pos)) is not None:
                collect(m.groups(), out)
                matched = True
                if m.end() == pos:
                    break
                pos = m.end()
            return out if matched else None
        pos, n = 0, len(line)
        while pos <= n:
            pieces = self._find_pieces(line, pos)
            if pieces is None:
                break
            values, begin, end = pieces
            self._collect_slots(values, out)
            matched = True
            if end > begin:
                pos = end
            elif self.fragment:
                pos = end + 1
            else:
                break
        return out if matched else None

    # -- formats with json fields -----------------------------------------------------------

    def _find_pieces(self, line: str, pos: int) -> tuple[list[str], int, int] | None:
        if not self.fragment:
            found = self._match_pieces(line, pos)
            return None if found is None else (found[0], pos, found[1])
        # The whole-format regex (json fields as lazy text) matches wherever the exact match
        # can start, so it proposes the places to try.
        n = len(line)
        while pos <= n:
            m = self.regex.search(line, pos)
            if m is None:
                return None
            found = self._match_pieces(line, m.start())
            if found is not None:
                return found[0], m.start(), found[1]
            pos = m.start() + 1
        return None

    def _match_pieces(self, line: str, pos: int) -> tuple[list[str], int] | None:
        first = self._first
        assert first is not None
        values: list[str] = [""] * len(self._plan)
        m = first.regex.match(line, pos)
        if m is None:
            return None
        _place(values, first, m.groups())
        pos = m.end()
        for step in self._steps:
            if line.startswith("{", pos):
                end = scan_json(line, pos)
                if end is not None:
                    m = step.after.regex.match(line, end)
                    if m is not None:
                        values[step.slot] = line[pos:end]
                        _place(values, step.after, m.groups())
                        pos = m.end()
                        continue
            if step.fallback is None:
                return None
            m = step.fallback.regex.match(line, pos)
            if m is None:
                return None
            groups = m.groups()
            values[step.slot] = groups[0]
            _place(values, step.fallback, groups)
            pos = m.end()
        return values, pos


_Collector = Callable[[Sequence[Any], dict[str, Any]], dict[str, Any]]


def _collector(plan: tuple[_Field, ...], positions: tuple[int, ...], source: str) -> _Collector:
    """A function adding the fields of one match to a dict, given the captured texts at
    `positions` of its argument.

    It is generated as straight-line Python, one statement per field, which is a third faster
    than a loop over the plan (this runs for every line of every format). Only field names
    (as literals, via repr) and indexes reach the source; every function is passed in."""
    env: dict[str, Any] = {
        "to_value": to_value, "unquote": unquote, "unescape": unescape,
        "NUMBER_START": _NUMBER_START,
    }
    number = "to_value(t) if t[:1] in NUMBER_START and t != '-' else t"
    body: list[str] = []
    for k, (fld, position) in enumerate(zip(plan, positions, strict=True)):
        body.append(f"t = g[{position}]")
        if fld.decode is not None:
            env[f"decode{k}"] = fld.decode
        if fld.role == _NAMES_NEXT:  # magic: this text names the next `_` field
            body.append(f"key = decode{k}(t)" if fld.decode is not None else "key = t")
            continue
        name = repr(fld.name)
        indent = ""
        if fld.role == _NAMED_BY_PREVIOUS:
            condition = "key"
            if fld.keep is not None:
                env[f"keep{k}"] = fld.keep
                condition += f" and keep{k}(key)"
            body.append(f"if {condition}:")
            name = f"{name} + key" if fld.name else "key"
            indent = "    "
        if fld.code == _PLAIN_VALUE:
            body.append(f"{indent}out[{name}] = {number}")
        elif fld.code == _QUOTED_VALUE:
            body += [f"{indent}if t[:1] == '\"':", f"{indent}    t = unquote(t)",
                     f"{indent}out[{name}] = {number}"]
        elif fld.code == _ESCAPED_VALUE:
            body += [f"{indent}if '\\\\' in t:", f"{indent}    t = unescape(t)",
                     f"{indent}out[{name}] = {number}"]
        elif fld.code == _TEXT:
            value = f"decode{k}(t)" if fld.decode is not None else "t"
            body.append(f"{indent}out[{name}] = {value}")
        else:
            env[f"emit{k}"] = fld.emit
            value = f"decode{k}(t)" if fld.decode is not None else "t"
            body.append(f"{indent}emit{k}(out, {name}, {value})")
        if fld.role == _NAMED_BY_PREVIOUS:
            body.append("key = None")
    code = "def collect(g, out):\n    key = None\n"
    code += "".join(f"    {line}\n" for line in body) + "    return out\n"
    exec(compile(code, f"<format {source[:60]!r}>", "exec"), env)
    collect: _Collector = env["collect"]
    return collect


def _place(values: list[str], piece: _Piece, groups: tuple[Any, ...]) -> None:
    for position, slot in zip(piece.positions, piece.slots, strict=True):
        values[slot] = groups[position]


def compile_format(fmt: str, patterns: Mapping[str, str] | None = None, *,
                   timezone: str | None = None) -> Format:
    """Compile a format string. `patterns` are the parser's named regexes (they shadow the
    predefined ones); `timezone` is the parser's default zone, for the dateTime* directives.
    Raises `FormatError` saying what is wrong and at which column."""
    if not isinstance(fmt, str):
        raise FormatError(f"a format must be a string, not {type(fmt).__name__}")
    user: Mapping[str, str] = patterns or {}
    if timezone is not None and not known_zone(timezone):
        raise FormatError(
            f"unknown time zone {timezone!r}; use an IANA name like America/New_York, an "
            "abbreviation like EST, or an offset like GMT+5:30")
    fragment = fmt.startswith(".*")
    body = fmt
    offset = 0
    if fragment:
        offset = 3 if fmt.startswith(".*?") else 2
        body = fmt[offset:]
    flags = ""
    leading = _LEADING_FLAGS.match(body)
    if leading is not None:  # global flags must stay at the very start of the regex
        flags = leading.group()
        offset += leading.end()
        body = body[leading.end():]
    tokens = _tokenize(body, offset)

    matchers = [t for t in tokens if isinstance(t, _Matcher)]
    magic = [t for t in matchers if t.name.endswith("_")]
    roles: dict[int, int] = {}
    for k, t in enumerate(magic):
        if k % 2 == 0:
            if t.name != "_" and k + 1 < len(magic):
                raise FormatError(
                    f"{t.text} at column {t.column} captures the name of the next `_` field's "
                    f"value, so its prefix {t.name[:-1]!r} would be lost; write $_=…$ here and "
                    f"put the prefix on the value's matcher", t.column)
            roles[id(t)] = _NAMES_NEXT
        else:
            roles[id(t)] = _NAMED_BY_PREVIOUS
    fields: dict[int, _Field] = {}
    for k, token in enumerate(tokens):
        if isinstance(token, _Matcher):
            follower = tokens[k + 1] if k + 1 < len(tokens) else None
            fields[id(token)] = _field(token, follower, user, timezone,
                                       roles.get(id(token), _NORMAL))
    if fragment and tokens and isinstance(tokens[0], _Matcher) and fields[id(tokens[0])].json:
        # Nothing before it to anchor it: a json field that opens a fragment format must be a
        # `{…}` value (else searching would hand it the line from its first character).
        head = fields[id(tokens[0])]
        fields[id(tokens[0])] = replace(head, regex=r"(?=\{)" + head.regex)
    group = {id(t): f"f{k}" for k, t in enumerate(matchers)}
    whole = _compile(_assemble(tokens, fields, group), flags, tokens)
    plan = tuple(fields[id(t)] for t in matchers)
    slot_of = {id(t): k for k, t in enumerate(matchers)}

    # Our groups may be interleaved with the user's own; find ours.
    positions = tuple(whole.groupindex[group[id(t)]] - 1 for t in matchers)

    first: _Piece | None = None
    steps: list[_JsonStep] = []
    json_at = [k for k, t in enumerate(tokens) if isinstance(t, _Matcher) and fields[id(t)].json]
    if json_at:
        first = _piece(tokens[:json_at[0]], fields, group, slot_of, flags)
        for j, k in enumerate(json_at):
            rest = tokens[k + 1:[*json_at, len(tokens)][j + 1]]
            jfield = fields[id(tokens[k])]
            braces_only = k == 0 and fragment
            steps.append(_JsonStep(
                slot_of[id(tokens[k])],
                _piece(rest, fields, group, slot_of, flags),
                None if braces_only else _piece(rest, fields, group, slot_of, flags, jfield.regex),
            ))

    ts = next((t for t in matchers if t.name == "timestamp"), None)
    return Format(
        source=fmt, regex=whole, fields=tuple(t.name for t in matchers), fragment=fragment,
        plan=plan, positions=positions, first=first, steps=tuple(steps),
        timestamp_zone=ts.option("timezone") if ts is not None else None,
    )


def _piece(tokens: Sequence[_Token], fields: dict[int, _Field], group: dict[int, str],
           slot_of: dict[int, int], flags: str, lead: str = "") -> _Piece:
    """A regex for a run of tokens without json fields (after `lead`, a group of its own)."""
    try:
        regex = compile_regex(
            flags + _assemble(tokens, fields, group, f"({lead})" if lead else None), _FLAGS
        )
    except re.error as exc:  # e.g. a backreference to a group on the other side of the json
        raise FormatError(
            f"the format cannot be matched around its json fields: {exc.msg}; keep regex "
            "groups and their backreferences on one side of a json field") from None
    matchers = [t for t in tokens if isinstance(t, _Matcher)]
    return _Piece(
        regex,
        tuple(regex.groupindex[group[id(t)]] - 1 for t in matchers),
        tuple(slot_of[id(t)] for t in matchers),
    )
