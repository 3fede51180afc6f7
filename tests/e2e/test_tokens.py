"""Bad API tokens (spec §0.2, §6): none, unknown, revoked, or of the wrong kind."""

from __future__ import annotations

import os
import stat
from typing import Any

import httpx
import orjson
import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e

UNKNOWN = "nOtAtOkEnThIsSeRvErEvErIsSuEdXXXXXXXXXXXXXX"


def upload(server: Server, token: str | None, *, bearer: bool = False) -> httpx.Response:
    params = {} if token is None or bearer else {"token": token}
    headers = {"Authorization": f"Bearer {token}"} if bearer else {}
    return server.client.post(
        "/api/uploadLogs", params=params, headers=headers, content=b"must not be stored"
    )


def query(server: Server, token: str | None, *, how: str = "json") -> httpx.Response:
    if how == "get":
        return server.client.get("/api/query", params={"token": token} if token else {})
    if how == "bearer":
        return server.client.post(
            "/api/query", headers={"Authorization": f"Bearer {token}"}, json={}
        )
    return server.client.post("/api/query", json={"token": token} if token else {})


def token_of(server: Server, kind: str) -> str:
    token = {"write": server.write_token, "read": server.read_token, "unknown": UNKNOWN}[kind]
    assert token is not None
    return token


@pytest.mark.parametrize(
    ("call", "kind", "status"),
    [
        (lambda s, t: upload(s, None), None, 401),
        (lambda s, t: upload(s, ""), None, 401),
        (lambda s, t: upload(s, t), "unknown", 401),
        (lambda s, t: upload(s, t, bearer=True), "unknown", 401),
        (lambda s, t: upload(s, t), "read", 403),
        (lambda s, t: upload(s, t, bearer=True), "read", 403),
        (lambda s, t: query(s, None), None, 401),
        (lambda s, t: query(s, None, how="get"), None, 401),
        (lambda s, t: query(s, t), "unknown", 401),
        (lambda s, t: query(s, t), "write", 403),
        (lambda s, t: query(s, t, how="get"), "write", 403),
        (lambda s, t: query(s, t, how="bearer"), "write", 403),
    ],
    ids=["upload none", "upload empty", "upload unknown", "upload unknown bearer",
         "upload read-logs", "upload read-logs bearer", "query none", "query GET none",
         "query unknown", "query write-logs", "query GET write-logs",
         "query write-logs bearer"],
)
def test_bad_token_is_refused_with_no_permission(
    shared_server: Server, call: Any, kind: str | None, status: int
) -> None:
    before = shared_server.messages()
    response = call(shared_server, token_of(shared_server, kind) if kind else None)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "error/client/noPermission"
    assert "token" in body["message"]
    if kind == "read":
        assert "write-logs" in body["message"]  # says which kind would do
    if kind == "write":
        assert "read-logs" in body["message"]
    assert shared_server.messages() == before


def test_always200_header_reports_the_error_in_the_body(shared_server: Server) -> None:
    response = shared_server.client.post(
        "/api/uploadLogs", params={"token": UNKNOWN}, headers={"errorStatus": "always200"},
        content=b"must not be stored",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "error/client/noPermission"
    assert response.json()["__status"] == 401


def test_token_revoked_through_the_cli_stops_working_at_once(server: Server) -> None:
    # While the server runs the CLI must go through the admin socket: only its owner may use it.
    sock = server.data_dir / "admin.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    assert sock.stat().st_uid == os.getuid()

    created = server.cli("token", "create", "--kind", "write-logs", "--label", "ci runner")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert server.upload("sent before revoking", token=secret).json() == {"status": "success"}

    listed = orjson.loads(server.cli("token", "list", "--json").stdout)
    [token_id] = [t["id"] for t in listed if t["label"] == "ci runner"]
    [read_id] = [t["id"] for t in listed if t["kind"] == "read-logs"]

    revoked = server.cli("token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked {token_id} (write-logs, account default)"
    refused = server.upload("sent after revoking", token=secret)
    assert refused.status_code == 401
    assert refused.json()["status"] == "error/client/noPermission"
    assert "revoked" in refused.json()["message"]

    assert server.cli("token", "revoke", read_id).returncode == 0
    refused = server.query()
    assert refused.status_code == 401
    assert refused.json()["status"] == "error/client/noPermission"

    # What the revoked token sent stays; the listing shows when it was revoked.
    reader = server.cli("token", "create", "--kind", "read-logs").stdout.strip()
    assert server.messages(reader) == ["sent before revoking"]
    listed = orjson.loads(server.cli("token", "list", "--json").stdout)
    assert {t["id"] for t in listed if t["revoked"]} == {token_id, read_id}

    server.restart()
    assert server.upload("after a restart", token=secret).status_code == 401
    assert server.query().status_code == 401
    assert server.messages(reader) == ["sent before revoking"]

