"""The session cookie, the CSRF tokens and the signing key, without a server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from millpond.query.filter import Compare, Field, parse_filter
from millpond.ui.keyfile import KEY_BYTES, KeyHolder, load_or_create_key
from millpond.ui.rows import clause
from millpond.ui.session import (
    NS,
    PRESESSION_SECONDS,
    SESSION_SECONDS,
    Session,
    Signer,
    csrf_ok,
    csrf_token,
    decode_presession,
    decode_session,
    encode_presession,
    encode_session,
    new_sid,
)
from millpond.ui.signin import safe_next

KEY = bytes(range(32))
NOW = 1_772_366_400 * NS
SESSION = Session("tok_0123456789ab", 1, "read-logs", "sid-1", NOW)


def test_a_session_round_trips_and_holds_no_secret() -> None:
    signer = Signer(KEY)
    value = encode_session(signer, SESSION)
    assert decode_session(signer, value, NOW + 5 * NS) == SESSION
    # Only the token's id, account, kind, the session id and the time are in it.
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1],  # the MAC
        lambda v: "x" + v[1:],  # the payload
        lambda v: v.replace(".", ""),  # no separator
        lambda v: v + "==",
        lambda v: "",
        lambda v: "not base64!.nope",
    ],
)
def test_a_changed_cookie_is_refused(tamper: object) -> None:
    signer = Signer(KEY)
    value = encode_session(signer, SESSION)
    assert decode_session(signer, tamper(value), NOW) is None  # type: ignore[operator]


def test_another_installations_key_is_refused() -> None:
    value = encode_session(Signer(KEY), SESSION)
    assert decode_session(Signer(bytes(32)), value, NOW) is None


def test_a_session_expires() -> None:
    signer = Signer(KEY)
    value = encode_session(signer, SESSION)
    assert decode_session(signer, value, NOW + SESSION_SECONDS * NS - 1) == SESSION
    assert decode_session(signer, value, NOW + SESSION_SECONDS * NS) is None
    assert decode_session(signer, value, NOW - 1) is None  # issued in the future


def test_a_value_signed_for_one_purpose_is_not_accepted_for_another() -> None:
    signer = Signer(KEY)
    presession = encode_presession(signer, "sid-1", NOW)
    assert decode_presession(signer, presession, NOW) == "sid-1"
    assert decode_session(signer, presession, NOW) is None
    assert decode_presession(signer, encode_session(signer, SESSION), NOW) is None
    assert decode_presession(signer, presession, NOW + PRESESSION_SECONDS * NS) is None


def test_a_csrf_token_is_bound_to_its_session() -> None:
    signer = Signer(KEY)
    token = csrf_token(signer, "sid-1")
    assert csrf_ok(signer, "sid-1", token)
    assert not csrf_ok(signer, "sid-2", token)
    assert not csrf_ok(signer, "sid-1", None)
    assert not csrf_ok(signer, "sid-1", "")
    assert not csrf_ok(signer, "sid-1", token[:-1])
    assert not csrf_ok(Signer(bytes(32)), "sid-1", token)


def test_session_ids_are_random() -> None:
    ids = {new_sid() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) >= 20 for i in ids)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Signer(b"short")


def test_the_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ui-session.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert KeyHolder(path).key() == key
    assert [p.name for p in path.parent.iterdir()] == ["ui-session.key"]  # no leftovers


def test_a_key_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "ui-session.key"
    key = load_or_create_key(path)
    os.chmod(path, 0o644)
    assert load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_truncated_key_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "ui-session.key"
    path.write_bytes(b"x" * 5)
    os.chmod(path, 0o600)
    with pytest.raises(ValueError, match="delete it and restart"):
        load_or_create_key(path)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/keys", "/keys"),
        ("/?filter=a%20b&start=1h", "/?filter=a%20b&start=1h"),
        ("/parsers/orders", "/parsers/orders"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_sign_in_only_returns_to_a_page_of_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("status", 503, "status == 503"),
        ("latency", 812.5, "latency == 812.5"),
        ("host", "web-1", 'host == "web-1"'),
        ("team", 'a "b" \\ c', 'team == "a \\"b\\" \\\\ c"'),
        ("code", "0500", 'code == "0500"'),
        ("ok", True, 'ok == "true"'),
        ("service-name", "x", '$service\\-name == "x"'),
        ("and", "x", '$and == "x"'),
        ("msg", "line\nbreak", 'msg == "line\\nbreak"'),
        ("tags", ["a", 1], 'tags == "[\\"a\\",1]"'),
    ],
)
def test_a_clicked_value_becomes_a_clause_that_parses_back_to_it(
    name: str, value: object, text: str
) -> None:
    made = clause(name, value)
    assert made == text
    node = parse_filter(made)
    assert isinstance(node, Compare) and node.field == Field(name) and node.op == "=="
