"""API token kinds, what each may do (spec §6), and how tokens are made and hashed."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

from millpond.errors import BadParam


class Permission(enum.Enum):
    WRITE_LOGS = "write logs (uploadLogs, addEvents)"
    READ_LOGS = "read logs (query, numericQuery, facetQuery, timeseriesQuery, powerQuery)"
    READ_CONFIG = "read configuration files (getFile, listFiles)"
    WRITE_CONFIG = "write configuration (putFile, createTimeseries)"


KINDS: dict[str, frozenset[Permission]] = {
    "write-logs": frozenset({Permission.WRITE_LOGS}),
    "read-logs": frozenset({Permission.READ_LOGS}),
    "read-config": frozenset({Permission.READ_LOGS, Permission.READ_CONFIG}),
    "write-config": frozenset(
        {Permission.READ_LOGS, Permission.READ_CONFIG, Permission.WRITE_CONFIG}
    ),
}

# Kinds that may do a thing, for error messages ("use a read-logs token").
def kinds_allowing(permission: Permission) -> list[str]:
    return [kind for kind, perms in KINDS.items() if permission in perms]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadParam(f"unknown token kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind


def new_secret() -> str:
    """A random token: 256 bits, URL-safe so it can go in `?token=` unencoded.

    Never starting with '-', so it is never mistaken for a command-line flag.
    """
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(6)


def hash_token(secret: str) -> str:
    """Tokens are stored only as this hash. They are 256-bit random, so a fast hash suffices."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
