"""Accounts and API tokens against a real DuckDB file: kinds, hashing, authentication (§6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from millpond.accounts import DEFAULT_ACCOUNT, KINDS, Permission, Registry
from millpond.clock import FixedClock
from millpond.errors import BadParam, NoPermission, NotFound, WrongTokenKind
from millpond.store import DuckDBStore

NOW = 1_772_366_400 * 1_000_000_000


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "millpond.duckdb"


@pytest.fixture
def store(db: Path) -> Iterator[DuckDBStore]:
    store = DuckDBStore(db, clock=FixedClock(NOW))
    store.open()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def registry(store: DuckDBStore) -> Registry:
    return Registry(store, FixedClock(NOW))


def reopened(db: Path) -> tuple[DuckDBStore, Registry]:
    store = DuckDBStore(db)
    store.open()
    registry = Registry(store)
    registry.load()
    return store, registry


KIND_ORDER = ("write-logs", "read-logs")
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_bootstrap_creates_the_default_account_and_two_tokens(registry: Registry) -> None:
    tokens = registry.bootstrap()
    assert [a.name for a in registry.list_accounts()] == [DEFAULT_ACCOUNT]
    assert sorted(t.record.kind for t in tokens) == ["read-logs", "write-logs"]
    assert {t.record.account_name for t in tokens} == {DEFAULT_ACCOUNT}
    write, read = (next(t for t in tokens if t.record.kind == k) for k in KIND_ORDER)
    assert registry.authenticate(write.secret, Permission.WRITE_LOGS).account_name == "default"
    assert registry.authenticate(read.secret, Permission.READ_LOGS).account_name == "default"
    assert sorted(t.kind for t in registry.list_tokens()) == ["read-logs", "write-logs"]


def test_tokens_are_long_random_and_url_safe(registry: Registry) -> None:
    registry.create_account("a")
    secrets = {registry.create_token("write-logs", "a").secret for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert len(secret) >= 40
        assert set(secret) <= URL_SAFE
        assert not secret.startswith("-")


def test_tokens_are_stored_only_hashed(db: Path, store: DuckDBStore, registry: Registry) -> None:
    secrets = [t.secret for t in registry.bootstrap()]
    secrets.append(registry.create_token("write-config", DEFAULT_ACCOUNT, "ops").secret)
    listed = registry.list_tokens()
    for record in listed:
        assert all(secret not in repr(record) for secret in secrets)
    store.close()

    # Nowhere in the database's tables...
    with duckdb.connect(str(db), read_only=True) as conn:
        tables = [row[0] for row in conn.execute("SHOW TABLES").fetchall()]
        assert "tokens" in tables
        everything = "".join(
            repr(conn.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables
        )
    assert everything and all(secret not in everything for secret in secrets)
    # ...nor anywhere in the files.
    for path in db.parent.iterdir():
        data = path.read_bytes()
        assert all(secret.encode() not in data for secret in secrets), path.name


def test_tokens_survive_a_restart(db: Path, store: DuckDBStore, registry: Registry) -> None:
    write = registry.bootstrap()[0]
    store.close()
    again_store, again = reopened(db)
    try:
        assert again.authenticate(write.secret, Permission.WRITE_LOGS).token_id == write.record.id
    finally:
        again_store.close()


@pytest.mark.parametrize("secret", [None, ""])
def test_no_token_is_no_permission(registry: Registry, secret: str | None) -> None:
    with pytest.raises(NoPermission, match="no API token given") as info:
        registry.authenticate(secret, Permission.WRITE_LOGS)
    assert type(info.value) is NoPermission
    assert info.value.http_status == 401


@pytest.mark.parametrize("secret", ["not-a-token", " ", "x" * 43])
def test_an_unknown_token_is_no_permission(registry: Registry, secret: str) -> None:
    registry.bootstrap()
    with pytest.raises(NoPermission, match="not valid") as info:
        registry.authenticate(secret, Permission.READ_LOGS)
    assert type(info.value) is NoPermission
    assert (info.value.status, info.value.http_status) == ("error/client/noPermission", 401)


def test_a_token_is_matched_exactly(registry: Registry) -> None:
    registry.create_account("a")
    secret = registry.create_token("read-logs", "a").secret
    for near_miss in (secret.upper(), secret[:-1], secret + "x", f" {secret}"):
        if near_miss != secret:
            with pytest.raises(NoPermission):
                registry.authenticate(near_miss, Permission.READ_LOGS)


# Spec §6, written out rather than read from the code under test.
ALLOWED = {
    "write-logs": {Permission.WRITE_LOGS},
    "read-logs": {Permission.READ_LOGS},
    "read-config": {Permission.READ_LOGS, Permission.READ_CONFIG},
    "write-config": {Permission.READ_LOGS, Permission.READ_CONFIG, Permission.WRITE_CONFIG},
}


def test_the_kinds_are_the_four_of_the_spec() -> None:
    assert set(KINDS) == set(ALLOWED)


@pytest.mark.parametrize("kind", list(ALLOWED))
@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.name)
def test_what_each_kind_of_token_may_do(
    registry: Registry, kind: str, permission: Permission
) -> None:
    account = registry.create_account("team")
    new = registry.create_token(kind, "team", "a label")
    if permission in ALLOWED[kind]:
        principal = registry.authenticate(new.secret, permission)
        assert (principal.account_id, principal.account_name) == (account.id, "team")
        assert (principal.token_id, principal.kind) == (new.record.id, kind)
    else:
        with pytest.raises(WrongTokenKind) as info:
            registry.authenticate(new.secret, permission)
        error = info.value
        assert (error.status, error.http_status) == ("error/client/noPermission", 403)
        assert f"this {kind} token may not" in error.message
        allowed_kinds = [k for k, perms in ALLOWED.items() if permission in perms]
        assert all(k in error.message for k in allowed_kinds)


def test_a_revoked_token_stops_working_at_once_and_after_a_restart(
    db: Path, store: DuckDBStore, registry: Registry
) -> None:
    write, read = registry.bootstrap()
    revoked = registry.revoke_token(write.record.id)
    assert revoked.id == write.record.id
    assert revoked.revoked_ns == NOW
    with pytest.raises(NoPermission, match="unknown or revoked"):
        registry.authenticate(write.secret, Permission.WRITE_LOGS)
    registry.authenticate(read.secret, Permission.READ_LOGS)  # the other one still works
    store.close()

    again_store, again = reopened(db)
    try:
        with pytest.raises(NoPermission):
            again.authenticate(write.secret, Permission.WRITE_LOGS)
        again.authenticate(read.secret, Permission.READ_LOGS)
        listed = {t.id: t for t in again.list_tokens()}
        assert listed[write.record.id].revoked_ns == NOW
        assert listed[read.record.id].revoked_ns is None
    finally:
        again_store.close()


def test_revoking_an_unknown_token_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFound, match="no token with id 'tok_nope'"):
        registry.revoke_token("tok_nope")


def test_last_use_is_recorded_when_flushed(registry: Registry) -> None:
    write = registry.bootstrap()[0]
    registry.authenticate(write.secret, Permission.WRITE_LOGS)
    assert all(t.last_used_ns is None for t in registry.list_tokens())
    registry.flush_last_used()
    used = {t.id: t.last_used_ns for t in registry.list_tokens()}
    assert used[write.record.id] == NOW


def test_a_wrong_kind_still_counts_as_a_use_of_a_valid_token(registry: Registry) -> None:
    read = registry.bootstrap()[1]
    with pytest.raises(WrongTokenKind):
        registry.authenticate(read.secret, Permission.WRITE_LOGS)
    registry.flush_last_used()
    assert {t.id: t.last_used_ns for t in registry.list_tokens()}[read.record.id] == NOW


@pytest.mark.parametrize(
    "name", ["a", "Z", "0", "team-1", "a.b_c-d", "x" * 63, "ACME.prod", "9lives"]
)
def test_valid_account_names(registry: Registry, name: str) -> None:
    assert registry.create_account(name).name == name
    assert name in [a.name for a in registry.list_accounts()]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-team",
        ".hidden",
        "_private",
        "has space",
        "x" * 64,
        "café",
        "a/b",
        "a\\b",
        "a'b",
        "team\n",
        "team\nother",
        "\tteam",
    ],
)
def test_invalid_account_names_are_refused(registry: Registry, name: str) -> None:
    with pytest.raises(BadParam, match="is not allowed; use 1-63 letters"):
        registry.create_account(name)
    assert registry.list_accounts() == []


def test_a_duplicate_account_is_refused(registry: Registry) -> None:
    registry.create_account("team")
    with pytest.raises(BadParam, match="account 'team' already exists"):
        registry.create_account("team")
    assert [a.name for a in registry.list_accounts()] == ["team"]


def test_accounts_get_distinct_ids(registry: Registry) -> None:
    ids = [registry.create_account(n).id for n in ("a", "b", "c")]
    assert len(set(ids)) == 3
    assert [a.id for a in registry.list_accounts()] == ids


def test_a_token_for_an_unknown_account_is_not_found(registry: Registry) -> None:
    registry.bootstrap()
    with pytest.raises(NotFound, match="no account named 'nope'"):
        registry.create_token("write-logs", "nope")
    assert len(registry.list_tokens()) == 2


def test_a_token_of_an_unknown_kind_is_refused(registry: Registry) -> None:
    registry.bootstrap()
    with pytest.raises(BadParam, match="unknown token kind 'admin'; use one of write-logs"):
        registry.create_token("admin")


def test_tokens_act_for_their_own_account(registry: Registry) -> None:
    a = registry.create_account("a")
    b = registry.create_account("b")
    token_a = registry.create_token("write-logs", "a").secret
    token_b = registry.create_token("write-logs", "b").secret
    assert registry.authenticate(token_a, Permission.WRITE_LOGS).account_id == a.id
    assert registry.authenticate(token_b, Permission.WRITE_LOGS).account_id == b.id


def test_listed_tokens_carry_kind_label_and_account(registry: Registry) -> None:
    registry.create_account("team")
    new = registry.create_token("read-config", "team", "grafana")
    (record,) = registry.list_tokens()
    assert (record.id, record.kind, record.label, record.account_name) == (
        new.record.id,
        "read-config",
        "grafana",
        "team",
    )
    assert record.id.startswith("tok_")
    assert record.created_ns == NOW
