"""Account and token management, whether or not the server is running.

DuckDB lets one process open the database. While `millpond serve` runs it listens on a Unix
socket in the data directory (mode 0600, in a 0700 directory: only its owner can connect) and
the CLI talks to it there; when no server answers, the CLI opens the database itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from millpond.accounts import Registry
from millpond.errors import (
    BadParam,
    ClientError,
    MillpondError,
    NotFound,
    ServerError,
)
from millpond.settings import Settings
from millpond.store import AccountRecord, DuckDBStore, StoreLocked, TokenRecord
from millpond.web.responses import error_response, json_response


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="seconds")


def account_json(a: AccountRecord) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "created": _iso(a.created_ns)}


def token_json(t: TokenRecord) -> dict[str, Any]:
    """A token as listed: never the secret, nor its hash."""
    return {
        "id": t.id,
        "kind": t.kind,
        "account": t.account_name,
        "label": t.label,
        "created": _iso(t.created_ns),
        "last_used": _iso(t.last_used_ns),
        "revoked": _iso(t.revoked_ns),
    }


class Admin(Protocol):
    def create_account(self, name: str) -> dict[str, Any]: ...
    def list_accounts(self) -> list[dict[str, Any]]: ...
    def create_token(self, kind: str, account: str, label: str) -> dict[str, Any]: ...
    def list_tokens(self) -> list[dict[str, Any]]: ...
    def revoke_token(self, token_id: str) -> dict[str, Any]: ...


class DirectAdmin:
    """Works on a registry in this process (the server's, or the CLI's own store)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def create_account(self, name: str) -> dict[str, Any]:
        return account_json(self.registry.create_account(name))

    def list_accounts(self) -> list[dict[str, Any]]:
        return [account_json(a) for a in self.registry.list_accounts()]

    def create_token(self, kind: str, account: str, label: str) -> dict[str, Any]:
        new = self.registry.create_token(kind, account, label)
        return {**token_json(new.record), "token": new.secret}

    def list_tokens(self) -> list[dict[str, Any]]:
        # A running server records token uses in memory and writes them once a minute; write
        # them now, or a token used a moment ago would be listed as never used.
        self.registry.flush_last_used()
        return [token_json(t) for t in self.registry.list_tokens()]

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return token_json(self.registry.revoke_token(token_id))


class SocketAdmin:
    """Talks to a running server over its admin socket."""

    def __init__(self, path: Path) -> None:
        self._exit = contextlib.ExitStack()
        address = self._exit.enter_context(socket_address(path))
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=address), base_url="http://millpond", timeout=30
        )

    def close(self) -> None:
        self._client.close()
        self._exit.close()

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        response = self._client.request(method, url, json=body)
        data = response.json()
        if data.get("status", "").startswith("success"):
            return data["result"]
        raise _error_from(data)

    def create_account(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/accounts", {"name": name})
        return result

    def list_accounts(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/accounts")
        return result

    def create_token(self, kind: str, account: str, label: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/tokens", {"kind": kind, "account": account, "label": label}
        )
        return result

    def list_tokens(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/tokens")
        return result

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/tokens/{token_id}/revoke")
        return result


def _error_from(data: dict[str, Any]) -> MillpondError:
    status = str(data.get("status", "error/server"))
    message = str(data.get("message", "the server gave no reason"))
    if status.startswith("error/client/badParam"):
        return BadParam(message)
    if status.startswith("error/client/notFound"):
        return NotFound(message)
    if status.startswith("error/client"):
        return ClientError(message)
    return ServerError(message)


def server_listening(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            with socket_address(path) as address:
                sock.connect(address)
        except OSError:
            return False
    return True


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """An address for the socket at `path` that fits AF_UNIX's ~107-byte limit.

    A socket in a deeply nested data directory is reached through an open descriptor of its
    directory (`/proc/self/fd/N/admin.sock`), which Linux resolves like the full path.
    """
    text = str(path)
    if len(os.fsencode(text)) < 100:
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_admin(settings: Settings) -> Iterator[Admin]:
    """Through the running server if there is one, else straight on the database."""
    socket_path = settings.admin_socket_path
    if server_listening(socket_path):
        client = SocketAdmin(socket_path)
        try:
            yield client
        finally:
            client.close()
        return
    if not settings.database_path.exists():
        raise BadParam(
            f"there is no millpond database in {settings.data_dir}; start the server once "
            "('millpond serve') or pass --data-dir"
        )
    store = DuckDBStore.from_settings(settings)
    try:
        store.open()
    except StoreLocked:
        raise ServerError(
            f"the database in {settings.data_dir} is open in another process, but its admin "
            f"socket {socket_path} does not answer; run this command as the user running the "
            "server, or stop that process"
        ) from None
    try:
        registry = Registry(store)
        registry.load()
        yield DirectAdmin(registry)
    finally:
        store.close()


def create_admin_app(registry: Registry) -> Starlette:
    """The management API served on the admin socket only."""
    admin = DirectAdmin(registry)

    async def body(request: Request) -> dict[str, Any]:
        data = await request.json() if (await request.body()) else {}
        if not isinstance(data, dict):
            raise BadParam("expected a JSON object")
        return data

    def ok(result: Any) -> Response:
        return json_response({"status": "success", "result": result})

    async def accounts(request: Request) -> Response:
        if request.method == "POST":
            name = str((await body(request)).get("name", ""))
            return ok(await run_in_threadpool(admin.create_account, name))
        return ok(await run_in_threadpool(admin.list_accounts))

    async def tokens(request: Request) -> Response:
        if request.method == "POST":
            data = await body(request)
            return ok(
                await run_in_threadpool(
                    admin.create_token,
                    str(data.get("kind", "")),
                    str(data.get("account", "default")),
                    str(data.get("label", "")),
                )
            )
        return ok(await run_in_threadpool(admin.list_tokens))

    async def revoke(request: Request) -> Response:
        return ok(await run_in_threadpool(admin.revoke_token, request.path_params["token_id"]))

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MillpondError)
        return error_response(exc, False)

    return Starlette(
        routes=[
            Route("/accounts", accounts, methods=["GET", "POST"]),
            Route("/tokens", tokens, methods=["GET", "POST"]),
            Route("/tokens/{token_id}/revoke", revoke, methods=["POST"]),
        ],
        exception_handlers={MillpondError: on_error},
    )


def prepare_socket(path: Path) -> socket.socket:
    """Bind the admin socket so only this user can connect (0600 inside a 0700 directory)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        with socket_address(path) as address:
            sock.bind(address)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return sock
