"""`millpond token …` and `millpond account …`, with the server running, stopped, or crashed.

While the server runs, the CLI goes through its admin socket; otherwise (including after a
`kill -9` that left a stale socket file behind) it opens the database itself.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
import pytest

from .conftest import Server, run_cli

pytestmark = pytest.mark.e2e

STATES = ["running", "stopped", "killed"]
SUCCESS = {"status": "success"}


def leave(server: Server, state: str) -> None:
    if state == "stopped":
        server.stop()
        assert not (server.data_dir / "admin.sock").exists()
    elif state == "killed":
        server.kill()
        assert (server.data_dir / "admin.sock").exists()  # stale: nobody listens on it


def ensure_running(server: Server) -> None:
    if server.process is None:
        server.start()


def ok(server: Server, *args: str) -> str:
    result = server.cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize("state", STATES)
def test_token_create_prints_only_the_token_and_it_works(server: Server, state: str) -> None:
    leave(server, state)
    out = ok(server, "token", "create", "--kind", "write-logs")
    [token] = out.splitlines()
    assert out == token + "\n"
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)

    ensure_running(server)
    assert server.upload("sent with a new token", token=token).json() == SUCCESS
    assert server.messages() == ["sent with a new token"]


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_token_list_never_prints_a_secret(server: Server, state: str) -> None:
    assert server.write_token and server.read_token
    secrets = [server.write_token, server.read_token]
    for kind in ("read-config", "write-config"):
        secrets.append(ok(server, "token", "create", "--kind", kind, "--label", kind).strip())
    leave(server, state)

    table = ok(server, "token", "list")
    listed = orjson.loads(ok(server, "token", "list", "--json"))
    for secret in secrets:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        for text in (table, orjson.dumps(listed).decode()):
            assert secret not in text
            assert digest not in text

    header, *rows = table.splitlines()
    assert header.split() == ["ID", "KIND", "ACCOUNT", "LABEL", "CREATED", "LAST_USED", "REVOKED"]
    assert len(rows) == len(secrets)
    assert [t["kind"] for t in listed] == ["write-logs", "read-logs", "read-config", "write-config"]
    assert [t["label"] for t in listed][2:] == ["read-config", "write-config"]
    assert {t["account"] for t in listed} == {"default"}
    assert all(set(t) == {"id", "kind", "account", "label", "created", "last_used", "revoked"}
               for t in listed)


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_token_list_shows_when_a_token_was_last_used(server: Server, state: str) -> None:
    assert server.upload("uses the write-logs token").json() == SUCCESS
    leave(server, state)
    listed = {t["kind"]: t for t in orjson.loads(ok(server, "token", "list", "--json"))}
    assert listed["write-logs"]["last_used"] is not None
    assert listed["write-logs"]["last_used"] >= listed["write-logs"]["created"]
    assert listed["read-logs"]["last_used"] is None


@pytest.mark.parametrize("state", STATES)
def test_accounts_keep_their_events_apart(server: Server, state: str) -> None:
    assert server.upload("default's line").json() == SUCCESS
    leave(server, state)

    assert ok(server, "account", "create", "acme") == "created account acme (id 2)\n"
    header, *rows = ok(server, "account", "list").splitlines()
    assert header.split() == ["ID", "NAME", "CREATED"]
    assert [r.split()[:2] for r in rows] == [["1", "default"], ["2", "acme"]]
    acme_write = ok(server, "token", "create", "--kind", "write-logs", "--account", "acme")
    acme_read = ok(server, "token", "create", "--kind", "read-logs", "--account", "acme")

    ensure_running(server)
    assert server.upload("acme's line", token=acme_write.strip()).json() == SUCCESS
    assert server.messages(acme_read.strip()) == ["acme's line"]
    assert server.messages() == ["default's line"]
    assert server.messages(filter="acme") == []
    assert server.messages(acme_read.strip(), filter="default") == []


# (command, what stderr must mention)
MISTAKES: list[tuple[list[str], list[str]]] = [
    (["account", "create", "default"], ["'default' already exists"]),
    (["account", "create", "bad name!"], ["not allowed", "letters"]),
    (["token", "create", "--kind", "write-logs", "--account", "nope"],
     ["no account named 'nope'", "account create nope"]),
    (["token", "create", "--kind", "admin"], ["admin", "write-logs"]),
    (["token", "revoke", "tok_000000000000"], ["tok_000000000000", "token list"]),
]


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_cli_mistakes_exit_2_with_a_message_that_says_what_to_do(
    server: Server, state: str
) -> None:
    leave(server, state)
    for command, mentions in MISTAKES:
        result = server.cli(*command)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stdout == ""
        for text in mentions:
            assert text in result.stderr, (command, result.stderr)
    ensure_running(server)
    names = [a["name"] for a in orjson.loads(ok(server, "account", "list", "--json"))]
    assert names == ["default"]
    assert len(orjson.loads(ok(server, "token", "list", "--json"))) == 2


def test_cli_on_a_directory_without_a_database_says_how_to_create_one(tmp_path: Path) -> None:
    result = run_cli("token", "list", "--data-dir", str(tmp_path / "nothing-here"))
    assert result.returncode == 2
    assert "no millpond database" in result.stderr
    assert "millpond serve" in result.stderr
    assert not (tmp_path / "nothing-here").exists()


def test_data_dir_from_the_environment(server: Server) -> None:
    result = run_cli("token", "list", "--json", env={"MILLPOND_DATA_DIR": str(server.data_dir)})
    assert result.returncode == 0, result.stderr
    assert len(orjson.loads(result.stdout)) == 2
