"""Accounts and API tokens: creation, listing, revocation and authentication of requests."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from millpond.accounts.tokens import (
    KINDS,
    Permission,
    check_kind,
    hash_token,
    kinds_allowing,
    new_secret,
    new_token_id,
    same_hash,
)
from millpond.clock import Clock, SystemClock
from millpond.errors import BadParam, NoPermission, NotFound, WrongTokenKind
from millpond.store.base import AccountRecord, Store, TokenRecord

DEFAULT_ACCOUNT = "default"
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: an account, through one token of one kind."""

    account_id: int
    account_name: str
    token_id: str
    kind: str

    def require(self, permission: Permission) -> None:
        if permission not in KINDS[self.kind]:
            allowed = " or ".join(kinds_allowing(permission))
            raise WrongTokenKind(
                f"this {self.kind} token may not {permission.value}; use a {allowed} token"
            )


@dataclass(frozen=True)
class NewToken:
    record: TokenRecord
    secret: str


class Registry:
    """Tokens are kept in memory by hash, so authenticating a request never touches the disk."""

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._by_hash: dict[str, TokenRecord] = {}
        self._last_used: dict[str, int] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        tokens = {t.hash: t for t in self._store.list_tokens() if t.revoked_ns is None}
        with self._lock:
            self._by_hash = tokens

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, secret: str | None, permission: Permission) -> Principal:
        if not secret:
            raise NoPermission(
                "no API token given; pass ?token=… in the URL, an 'Authorization: Bearer …' "
                "header, or \"token\" in the JSON body"
            )
        digest = hash_token(secret)
        record = self._by_hash.get(digest)
        if record is None or not same_hash(record.hash, digest):
            raise NoPermission(
                "the API token is not valid (unknown or revoked); create one with "
                "'millpond token create --kind KIND'"
            )
        self._last_used[record.id] = self._clock.now_ns()
        principal = Principal(record.account_id, record.account_name, record.id, record.kind)
        principal.require(permission)
        return principal

    def flush_last_used(self) -> None:
        """Persist when each token was last used (batched: a request never waits on it)."""
        with self._lock:
            pending, self._last_used = self._last_used, {}
        self._store.touch_tokens(pending)

    # -- management --------------------------------------------------------------------------

    def create_account(self, name: str) -> AccountRecord:
        if not _ACCOUNT_NAME.fullmatch(name):
            raise BadParam(
                f"account name {name!r} is not allowed; use 1-63 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit"
            )
        return self._store.create_account(name, self._clock.now_ns())

    def list_accounts(self) -> list[AccountRecord]:
        return self._store.list_accounts()

    def account(self, name: str) -> AccountRecord:
        for account in self._store.list_accounts():
            if account.name == name:
                return account
        raise NotFound(
            f"no account named {name!r}; see 'millpond account list' or create it with "
            f"'millpond account create {name}'"
        )

    def create_token(self, kind: str, account: str = DEFAULT_ACCOUNT, label: str = "") -> NewToken:
        check_kind(kind)
        owner = self.account(account)
        secret = new_secret()
        record = TokenRecord(
            id=new_token_id(), account_id=owner.id, account_name=owner.name, kind=kind,
            label=label, hash=hash_token(secret), created_ns=self._clock.now_ns(),
        )
        self._store.insert_token(record)
        with self._lock:
            self._by_hash[record.hash] = record
        return NewToken(record, secret)

    def list_tokens(self) -> list[TokenRecord]:
        return self._store.list_tokens()

    def revoke_token(self, token_id: str) -> TokenRecord:
        record = self._store.revoke_token(token_id, self._clock.now_ns())
        if record is None:
            raise NotFound(f"no token with id {token_id!r}; see 'millpond token list'")
        with self._lock:
            self._by_hash.pop(record.hash, None)
        return record

    def bootstrap(self) -> list[NewToken]:
        """On a new data directory: account `default`, with a write-logs and a read-logs token."""
        self.create_account(DEFAULT_ACCOUNT)
        return [
            self.create_token("write-logs", DEFAULT_ACCOUNT, "created on first start"),
            self.create_token("read-logs", DEFAULT_ACCOUNT, "created on first start"),
        ]
