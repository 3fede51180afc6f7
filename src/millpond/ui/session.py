"""The web UI's signed session cookie and its CSRF tokens (pure: no I/O, the time passed in).

A session cookie names the API token the user signed in with — its id, account and kind, never
the secret or its hash — plus a random session id and when it was issued:

    base64url(JSON [version, token_id, account_id, kind, sid, issued_ns]) "." base64url(MAC)

MAC is HMAC-SHA256 under the installation's key, over a purpose label and the payload, so a
value signed for one purpose (the session) is never accepted for another (the sign-in form's
pre-session). The cookie only says who signed in; every request still checks the token is not
revoked (`millpond.ui.guard`).

A CSRF token is HMAC(key, "csrf", sid): bound to one session, checked on every request that
changes something, and never valid for another session or after signing in again (the session
id changes at sign-in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

NS = 1_000_000_000
SESSION_COOKIE = "millpond_session"
# Before signing in: a signed random id that the sign-in form's CSRF token is bound to.
PRESESSION_COOKIE = "millpond_signin"
# A session lasts this long from sign-in; then the user signs in again.
SESSION_SECONDS = 12 * 3600
PRESESSION_SECONDS = 3600
_VERSION = 1
_SESSION = b"session"
_PRESESSION = b"presession"
_CSRF = b"csrf"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 signatures under one key, separated by purpose."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the signing key must be at least 32 bytes")
        self._key = key

    def mac(self, purpose: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, purpose + b"\0" + payload, hashlib.sha256).digest()

    def sign(self, purpose: bytes, payload: bytes) -> str:
        return f"{_b64(payload)}.{_b64(self.mac(purpose, payload))}"

    def unsign(self, purpose: bytes, value: str) -> bytes | None:
        """The payload of a value this signer signed for `purpose`; None for anything else."""
        head, dot, tail = value.partition(".")
        if not dot:
            return None
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except ValueError:
            return None
        if _b64(payload) != head or _b64(mac) != tail:  # one spelling per value, no padding
            return None
        if not hmac.compare_digest(mac, self.mac(purpose, payload)):
            return None
        return payload


@dataclass(frozen=True)
class Session:
    """Who is signed in: the API token (by id), its account and kind, and this session's id."""

    token_id: str
    account_id: int
    kind: str
    sid: str
    issued_ns: int


def new_sid() -> str:
    return secrets.token_urlsafe(16)


def encode_session(signer: Signer, session: Session) -> str:
    payload = orjson.dumps([_VERSION, session.token_id, session.account_id, session.kind,
                            session.sid, session.issued_ns])
    return signer.sign(_SESSION, payload)


def decode_session(signer: Signer, value: str | None, now_ns: int) -> Session | None:
    """The session in a cookie value, if it is genuine and not expired; else None."""
    if not value:
        return None
    payload = signer.unsign(_SESSION, value)
    if payload is None:
        return None
    try:
        version, token_id, account_id, kind, sid, issued_ns = orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
    if version != _VERSION or not (
        isinstance(token_id, str) and type(account_id) is int and isinstance(kind, str)
        and isinstance(sid, str) and type(issued_ns) is int
    ):
        return None
    if not issued_ns <= now_ns < issued_ns + SESSION_SECONDS * NS:
        return None
    return Session(token_id, account_id, kind, sid, issued_ns)


def encode_presession(signer: Signer, sid: str, now_ns: int) -> str:
    return signer.sign(_PRESESSION, orjson.dumps([_VERSION, sid, now_ns]))


def decode_presession(signer: Signer, value: str | None, now_ns: int) -> str | None:
    """The pre-session id in a sign-in cookie, if genuine and fresh; else None."""
    if not value:
        return None
    payload = signer.unsign(_PRESESSION, value)
    if payload is None:
        return None
    try:
        version, sid, issued_ns = orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
    if version != _VERSION or not isinstance(sid, str) or type(issued_ns) is not int:
        return None
    if not issued_ns <= now_ns < issued_ns + PRESESSION_SECONDS * NS:
        return None
    return sid


def csrf_token(signer: Signer, sid: str) -> str:
    """The CSRF token of one session (or pre-session) id."""
    return _b64(signer.mac(_CSRF, sid.encode()))


def csrf_ok(signer: Signer, sid: str, token: str | None) -> bool:
    """Whether `token` is the CSRF token of session `sid` (constant-time)."""
    if not token:
        return False
    return hmac.compare_digest(token.encode(), csrf_token(signer, sid).encode())
