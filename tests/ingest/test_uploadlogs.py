"""uploadLogs as a sans-I/O parser: body → lines, URL parameters and headers → session (spec §1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.errors import BadParam
from millpond.ingest import session_id_for, split_lines, upload_params
from millpond.ingest.uploadlogs import UploadParams

BIG = 1 << 20


def lines_of(body: bytes, *, max_line_bytes: int = BIG) -> list[str]:
    return split_lines(body, max_line_bytes=max_line_bytes)


# -- split_lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"one\ntwo\nthree", ["one", "two", "three"]),
        (b"one\rtwo\rthree", ["one", "two", "three"]),
        (b"one\r\ntwo\r\nthree", ["one", "two", "three"]),
        (b"one\ntwo\rthree\r\nfour", ["one", "two", "three", "four"]),
        (b"one\ntwo\n", ["one", "two"]),
        (b"one\r\ntwo\r\n", ["one", "two"]),
        (b"one\rtwo\r", ["one", "two"]),
        (b"single line", ["single line"]),
        (b"single line\n", ["single line"]),
        # Empty lines are dropped, however they are spelled.
        (b"one\n\ntwo", ["one", "two"]),
        (b"one\r\n\r\ntwo", ["one", "two"]),
        (b"one\r\rtwo", ["one", "two"]),
        (b"\n\none\n\n", ["one"]),
        (b"\n\r\n\r", []),
        (b"", []),
        # A line of spaces is not empty: it is a message.
        (b"one\n   \ntwo", ["one", "   ", "two"]),
        # LF then CR is two breaks (an empty line between), not one.
        (b"one\n\rtwo", ["one", "two"]),
        (b"  indented\ttab  \n", ["  indented\ttab  "]),
    ],
    ids=repr,
)
def test_split_lines_breaks_on_lf_cr_and_crlf(body: bytes, expected: list[str]) -> None:
    assert lines_of(body) == expected


@pytest.mark.parametrize(
    "separator",
    [
        "\x0b",  # VT
        "\x0c",  # FF
        "\x1c",  # FS
        "\x1d",  # GS
        "\x1e",  # RS
        "\x85",  # NEL
        "\u2028",  # LINE SEPARATOR
        "\u2029",  # PARAGRAPH SEPARATOR
    ],
    ids=lambda s: f"U+{ord(s):04X}",
)
def test_split_lines_keeps_other_unicode_line_breaks_inside_the_message(separator: str) -> None:
    message = f"before{separator}after"
    assert lines_of(f"{message}\nnext".encode()) == [message, "next"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"bad \xff byte", ["bad \ufffd byte"]),
        (b"\xc3\n\xa9", ["\ufffd", "\ufffd"]),  # a split multi-byte sequence
        (b"caf\xc3\xa9\ncaf\xe9", ["café", "caf\ufffd"]),
        (b"\xed\xa0\x80 surrogate", ["\ufffd\ufffd\ufffd surrogate"]),
    ],
    ids=repr,
)
def test_split_lines_replaces_invalid_utf8_instead_of_failing(
    body: bytes, expected: list[str]
) -> None:
    assert lines_of(body) == expected


def test_split_lines_accepts_a_line_of_exactly_the_limit() -> None:
    assert lines_of(b"x" * 10 + b"\n" + b"y" * 3, max_line_bytes=10) == ["x" * 10, "y" * 3]


def test_split_lines_refuses_a_line_over_the_limit_and_names_it() -> None:
    body = b"short\n" + b"x" * 11 + b"\nshort again\n"
    with pytest.raises(BadParam, match=r"line 2 is 11 bytes long.*limit of 10 bytes") as info:
        lines_of(body, max_line_bytes=10)
    assert "MILLPOND_MAX_LINE_BYTES" in info.value.message


def test_split_lines_counts_empty_lines_when_naming_the_long_line() -> None:
    # The user looks for the line in their file, where the empty lines are still there.
    body = b"first\n\n\r\nthird is long enough\n"
    with pytest.raises(BadParam, match="line 4 "):
        lines_of(body, max_line_bytes=10)


@pytest.mark.parametrize(
    ("line", "limit", "fits"),
    [
        ("é" * 5, 10, True),  # 5 characters, 10 bytes
        ("é" * 6, 10, False),  # 6 characters, 12 bytes
        ("€" * 3, 9, True),  # 3 bytes each
        ("€" * 4, 9, False),
        ("🪵" * 2, 8, True),  # 4 bytes each
        ("🪵" * 3, 8, False),
        ("a" * 9 + "é", 10, False),  # 10 characters, 11 bytes
    ],
)
def test_split_lines_measures_the_limit_in_utf8_bytes(line: str, limit: int, fits: bool) -> None:
    body = f"ok\n{line}\n".encode()
    if fits:
        assert lines_of(body, max_line_bytes=limit) == ["ok", line]
    else:
        with pytest.raises(BadParam, match=rf"line 2 is {len(line.encode())} bytes"):
            lines_of(body, max_line_bytes=limit)


line_text = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1
)


@given(
    st.lists(st.tuples(line_text, st.sampled_from(["\n", "\r", "\r\n"])), max_size=20),
    st.booleans(),
)
def test_split_lines_gives_back_the_lines_whatever_the_separators(
    lines_and_breaks: list[tuple[str, str]], final_break: bool
) -> None:
    lines = [line for line, _ in lines_and_breaks]
    body = "".join(line + brk for line, brk in lines_and_breaks)
    if not final_break and lines_and_breaks:
        body = body[: -len(lines_and_breaks[-1][1])]
    assert lines_of(body.encode()) == lines


@given(st.binary(max_size=200))
def test_split_lines_never_fails_and_never_yields_empty_or_broken_lines(body: bytes) -> None:
    lines = lines_of(body)
    assert all(line and "\r" not in line and "\n" not in line for line in lines)


# -- upload_params ------------------------------------------------------------------------------


def params(
    url: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> UploadParams:
    return upload_params(list((url or {}).items()), list((headers or {}).items()))


def test_upload_params_defaults() -> None:
    p = params()
    assert (p.server_host, p.logfile, p.parser, dict(p.server_fields), p.nonce) == (
        None,
        "uploadLogs",
        "uploadLogs",
        {},
        None,
    )


@pytest.mark.parametrize(
    ("url", "headers", "host"),
    [
        ({"host": "web-1"}, {}, "web-1"),
        ({"server-host": "web-1"}, {}, "web-1"),
        ({}, {"server-host": "web-1"}, "web-1"),
        ({}, {"Server-Host": "web-1"}, "web-1"),
        # The HTTP Host header names the server being called, never the sender.
        ({}, {"host": "millpond.example:8080"}, None),
        ({}, {"Host": "millpond.example:8080"}, None),
        ({}, {"host": "millpond.example", "server-host": "web-1"}, "web-1"),
        # A URL parameter beats a header of the same meaning.
        ({"host": "from-url"}, {"server-host": "from-header"}, "from-url"),
    ],
)
def test_upload_params_host(
    url: dict[str, str], headers: dict[str, str], host: str | None
) -> None:
    assert params(url, headers).server_host == host


@pytest.mark.parametrize("name", ["logfile", "parser"])
def test_upload_params_logfile_and_parser(name: str) -> None:
    assert getattr(params({name: "from-url"}), name) == "from-url"
    assert getattr(params(headers={name: "from-header"}), name) == "from-header"
    assert getattr(params({name: "from-url"}, {name: "from-header"}), name) == "from-url"
    assert getattr(params({name: ""}), name) == "uploadLogs"


def test_upload_params_server_fields_from_url_keep_their_case() -> None:
    p = params({"server-region": "eu-1", "server-logStream": "s/1", "server-": "ignored"})
    assert dict(p.server_fields) == {"region": "eu-1", "logStream": "s/1"}


def test_upload_params_server_fields_from_headers_are_lower_case() -> None:
    p = params(headers={"server-Region": "eu-1", "Server-LogStream": "s/1"})
    assert dict(p.server_fields) == {"region": "eu-1", "logstream": "s/1"}


def test_upload_params_url_server_field_beats_header() -> None:
    p = params({"server-region": "from-url"}, {"server-region": "from-header"})
    assert dict(p.server_fields) == {"region": "from-url"}


@pytest.mark.parametrize("header", ["Nonce", "nonce", "NONCE"])
def test_upload_params_nonce_header(header: str) -> None:
    assert params(headers={header: "abc-123"}).nonce == "abc-123"
    assert params(headers={header: ""}).nonce is None


def test_upload_params_ignore_unrelated_parameters() -> None:
    p = params({"token": "secret", "foo": "bar"}, {"content-type": "text/plain", "server": "x"})
    assert p == params()


def test_session_fields_add_server_host_and_ip() -> None:
    p = params({"host": "web-1", "server-region": "eu-1"})
    assert p.session_fields("10.0.0.7") == {
        "region": "eu-1",
        "serverHost": "web-1",
        "serverIP": "10.0.0.7",
    }
    assert params().session_fields(None) == {}
    assert params().session_fields("") == {}


def test_session_id_is_stable_and_ignores_field_order() -> None:
    a = session_id_for(1, {"serverHost": "web-1", "region": "eu"})
    b = session_id_for(1, {"region": "eu", "serverHost": "web-1"})
    assert a == b
    assert a.startswith("upl-")


@pytest.mark.parametrize(
    ("account", "fields"),
    [
        (2, {"serverHost": "web-1", "region": "eu"}),
        (1, {"serverHost": "web-2", "region": "eu"}),
        (1, {"serverHost": "web-1", "region": "us"}),
        (1, {"serverHost": "web-1"}),
        (1, {}),
    ],
)
def test_session_id_differs_per_account_and_fields(account: int, fields: dict[str, str]) -> None:
    assert session_id_for(account, fields) != session_id_for(
        1, {"serverHost": "web-1", "region": "eu"}
    )
