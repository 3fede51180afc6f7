"""The `millpond` account and token commands, on a data directory with no server running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from millpond.accounts import Permission, Registry
from millpond.cli import main
from millpond.errors import NoPermission
from millpond.settings import SETTINGS, Settings
from millpond.store import DuckDBStore

# Run every command as if no MILLPOND_* variable were set in the environment.
CLEAN_ENV: dict[str, str | None] = {s.env: None for s in SETTINGS}


@pytest.fixture
def bootstrap_secrets(tmp_path: Path) -> list[str]:
    """Bootstrap tmp_path as the server does on its first start (then stops); the two tokens."""
    store = DuckDBStore(Settings(data_dir=str(tmp_path)).database_path)
    store.open()
    try:
        return [t.secret for t in Registry(store).bootstrap()]
    finally:
        store.close()


@pytest.fixture
def data_dir(tmp_path: Path, bootstrap_secrets: list[str]) -> Path:
    return tmp_path


def run(data_dir: Path | None, *args: str, env: dict[str, str | None] | None = None) -> Result:
    argv = [*args, "--data-dir", str(data_dir)] if data_dir is not None else list(args)
    return CliRunner().invoke(main, argv, env={**CLEAN_ENV, **(env or {})})


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def one_line_error(result: Result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("millpond: ")
    return lines[0]


def authenticate(data_dir: Path, secret: str, permission: Permission) -> str:
    """Which account a token acts for, checked through the library."""
    store = DuckDBStore(Settings(data_dir=str(data_dir)).database_path)
    store.open()
    try:
        registry = Registry(store)
        registry.load()
        return registry.authenticate(secret, permission).account_name
    finally:
        store.close()


def tokens_json(data_dir: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = orjson.loads(ok(run(data_dir, "token", "list", "--json")))
    return rows


# -- accounts -----------------------------------------------------------------------------------


def test_account_create_and_list(data_dir: Path) -> None:
    assert ok(run(data_dir, "account", "create", "team-a")) == "created account team-a (id 2)\n"
    listing = ok(run(data_dir, "account", "list")).splitlines()
    assert listing[0].split() == ["ID", "NAME", "CREATED"]
    assert [line.split()[:2] for line in listing[1:]] == [["1", "default"], ["2", "team-a"]]


def test_account_list_json(data_dir: Path) -> None:
    run(data_dir, "account", "create", "team-a")
    rows = orjson.loads(ok(run(data_dir, "account", "list", "--json")))
    assert [(r["id"], r["name"]) for r in rows] == [(1, "default"), (2, "team-a")]
    assert all(str(r["created"]).endswith("+00:00") for r in rows)


def test_a_duplicate_account_is_an_error(data_dir: Path) -> None:
    line = one_line_error(run(data_dir, "account", "create", "default"))
    assert "account 'default' already exists" in line


def test_a_bad_account_name_is_an_error(data_dir: Path) -> None:
    line = one_line_error(run(data_dir, "account", "create", "no spaces"))
    assert "is not allowed" in line


# -- tokens -------------------------------------------------------------------------------------


def test_token_create_prints_only_the_token(data_dir: Path) -> None:
    run(data_dir, "account", "create", "team-a")
    result = run(
        data_dir, "token", "create", "--kind", "read-logs", "--account", "team-a", "--label", "L"
    )
    out = ok(result)
    assert out.endswith("\n") and out.count("\n") == 1
    secret = out.strip()
    assert len(secret) >= 40 and " " not in secret
    assert result.stderr == ""  # the id hint is only for a terminal
    assert authenticate(data_dir, secret, Permission.READ_LOGS) == "team-a"


@pytest.mark.parametrize("kind", ["write-logs", "read-logs", "read-config", "write-config"])
def test_every_kind_can_be_created_for_the_default_account(data_dir: Path, kind: str) -> None:
    secret = ok(run(data_dir, "token", "create", "--kind", kind)).strip()
    permission = Permission.WRITE_LOGS if kind == "write-logs" else Permission.READ_LOGS
    assert authenticate(data_dir, secret, permission) == "default"
    assert [r["kind"] for r in tokens_json(data_dir)][-1] == kind


def test_token_list_shows_id_kind_and_label_never_a_secret(
    tmp_path: Path, bootstrap_secrets: list[str]
) -> None:
    secret = ok(run(tmp_path, "token", "create", "--kind", "write-logs", "--label", "lambda"))
    secrets = [*bootstrap_secrets, secret.strip()]
    listing = ok(run(tmp_path, "token", "list"))
    lines = listing.splitlines()
    assert lines[0].split() == ["ID", "KIND", "ACCOUNT", "LABEL", "CREATED", "LAST_USED", "REVOKED"]
    assert len(lines) == 4
    ids = [r["id"] for r in tokens_json(tmp_path)]
    for line, token_id in zip(lines[1:], ids, strict=True):
        assert line.startswith(str(token_id))
    assert "write-logs" in lines[3] and "lambda" in lines[3] and "default" in lines[3]
    assert all(s not in listing for s in secrets)


def test_token_list_json_has_no_secret_and_no_hash(
    tmp_path: Path, bootstrap_secrets: list[str]
) -> None:
    output = ok(run(tmp_path, "token", "list", "--json"))
    rows = orjson.loads(output)
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"id", "kind", "account", "label", "created", "last_used", "revoked"}
        assert str(row["id"]).startswith("tok_")
        assert row["revoked"] is None
    assert sorted(r["kind"] for r in rows) == ["read-logs", "write-logs"]
    assert all(s not in output for s in bootstrap_secrets)
    assert "hash" not in output


def test_token_list_of_an_empty_directory(tmp_path: Path) -> None:
    store = DuckDBStore(Settings(data_dir=str(tmp_path)).database_path)
    store.open()
    store.close()
    assert ok(run(tmp_path, "token", "list")) == "(none)\n"
    assert orjson.loads(ok(run(tmp_path, "token", "list", "--json"))) == []


def test_token_revoke(tmp_path: Path, bootstrap_secrets: list[str]) -> None:
    write_secret = bootstrap_secrets[0]
    target = next(r for r in tokens_json(tmp_path) if r["kind"] == "write-logs")
    out = ok(run(tmp_path, "token", "revoke", str(target["id"])))
    assert out == f"revoked {target['id']} (write-logs, account default)\n"
    revoked = {r["id"]: r["revoked"] for r in tokens_json(tmp_path)}
    assert revoked[target["id"]] is not None
    assert list(revoked.values()).count(None) == 1
    with pytest.raises(NoPermission):
        authenticate(tmp_path, write_secret, Permission.WRITE_LOGS)
    assert authenticate(tmp_path, bootstrap_secrets[1], Permission.READ_LOGS) == "default"


def test_revoking_an_unknown_token_is_an_error(data_dir: Path) -> None:
    line = one_line_error(run(data_dir, "token", "revoke", "tok_000000000000"))
    assert "no token with id 'tok_000000000000'" in line


def test_an_unknown_kind_is_an_error_that_lists_the_kinds(data_dir: Path) -> None:
    result = run(data_dir, "token", "create", "--kind", "admin")
    assert result.exit_code == 2
    assert result.stdout == ""
    error = result.stderr.strip().splitlines()[-1]
    assert "'admin'" in error
    for kind in ("write-logs", "read-logs", "read-config", "write-config"):
        assert kind in error
    assert len(tokens_json(data_dir)) == 2


def test_a_token_for_an_unknown_account_is_an_error(data_dir: Path) -> None:
    line = one_line_error(run(data_dir, "token", "create", "--kind", "read-logs", "--account", "x"))
    assert "no account named 'x'" in line and "millpond account create x" in line
    assert len(tokens_json(data_dir)) == 2


@pytest.mark.parametrize(
    "args",
    [
        ("token", "list"),
        ("token", "create", "--kind", "write-logs"),
        ("token", "revoke", "tok_1"),
        ("account", "list"),
        ("account", "create", "team"),
    ],
)
def test_a_directory_without_a_database_is_an_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "nothing-here"
    line = one_line_error(run(missing, *args))
    assert f"there is no millpond database in {missing}" in line
    assert "millpond serve" in line
    assert not missing.exists()  # and nothing was created there


def test_the_data_dir_may_come_from_the_environment(data_dir: Path) -> None:
    result = run(None, "account", "list", "--json", env={"MILLPOND_DATA_DIR": str(data_dir)})
    assert [r["name"] for r in orjson.loads(ok(result))] == ["default"]


def test_a_database_held_by_another_process_is_a_clear_error(data_dir: Path) -> None:
    database = Settings(data_dir=str(data_dir)).database_path
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline() == "open\n"
            line = one_line_error(run(data_dir, "token", "list"), exit_code=1)
            assert "open in another process" in line
        finally:
            holder.stdin.close()  # the holder exits at end of input
            holder.wait(30)
