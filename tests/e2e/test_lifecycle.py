"""Health, clean stop and restart, and one server per data directory."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .conftest import Server, StartServer, free_port, run_cli

pytestmark = pytest.mark.e2e

SUCCESS = {"status": "success"}


def test_health(shared_server: Server) -> None:
    response = shared_server.client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SUCCESS


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nosuch", 404, "error/client/notFound"),
        ("GET", "/api/uploadLogs", 405, "error/client/methodNotAllowed"),
        ("PUT", "/api/query", 405, "error/client/methodNotAllowed"),
        ("POST", "/health", 405, "error/client/methodNotAllowed"),
    ],
)
def test_wrong_path_or_method_gets_the_json_envelope(
    shared_server: Server, method: str, path: str, status: int, code: str
) -> None:
    response = shared_server.client.request(
        method, path, params={"token": shared_server.write_token}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == code
    assert response.json()["message"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stop_is_clean_and_a_restart_keeps_all_data(server: Server, signum: int) -> None:
    for i, params in enumerate([{}, {"host": "web-1", "logfile": "/a.log"}, {"parser": "p"}]):
        assert server.upload(f"request {i} line 1\nrequest {i} line 2", params=params).json() == (
            SUCCESS
        )
    before = server.events()
    assert len(before) == 6

    assert server.stop(signum) == 0
    assert not (server.data_dir / "admin.sock").exists()
    assert "Traceback" not in server.stderr()
    assert "Aborted" not in server.stderr()
    server.start()

    # The tokens are shown on the first start only; later starts say how to make one.
    assert server.write_token and server.read_token
    assert server.write_token not in server.stdout(2)
    assert server.read_token not in server.stdout(2)
    assert "millpond token create --kind write-logs" in server.stdout(2)

    assert server.events() == before
    assert server.upload("after the restart").json() == SUCCESS
    assert server.messages() == [m["message"] for m in before] + ["after the restart"]


def test_second_server_on_the_same_data_dir_fails_clearly(server: Server) -> None:
    assert server.upload("first server's line").json() == SUCCESS
    second = run_cli("serve", "--data-dir", str(server.data_dir), "--port", str(free_port()))
    assert second.returncode != 0
    assert "already running" in second.stderr
    assert str(server.data_dir) in second.stderr
    assert "Traceback" not in second.stderr

    # The running server is unharmed: HTTP, and the CLI through its admin socket.
    assert server.client.get("/health").status_code == 200
    assert (server.data_dir / "admin.sock").exists()
    listed = server.cli("token", "list")
    assert listed.returncode == 0, listed.stderr
    assert server.upload("still taking logs").json() == SUCCESS
    assert server.messages() == ["first server's line", "still taking logs"]


def test_port_in_use_fails_clearly_and_keeps_the_first_start_tokens_for_later(
    server: Server, start_server: StartServer
) -> None:
    other = server.data_dir.parent / "other"
    result = run_cli("serve", "--data-dir", str(other), "--port", str(server.port))
    assert result.returncode != 0
    assert str(server.port) in result.stderr
    assert "Traceback" not in result.stderr
    # Tokens are shown only once: a server that could not listen must not have used them up.
    assert "write-logs" not in result.stdout
    assert server.client.get("/health").status_code == 200

    retry = start_server(data_dir=other)
    assert retry.write_token and retry.read_token
    assert retry.upload("the first start that could listen").json() == SUCCESS


def test_a_deeply_nested_data_dir_still_gets_its_admin_socket(
    tmp_path: Path, start_server: StartServer
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    assert len(str(deep / "admin.sock")) > 108  # past AF_UNIX's address limit
    server = start_server(data_dir=deep)
    assert server.upload("deep line").json() == SUCCESS
    created = server.cli("token", "create", "--kind", "read-logs")
    assert created.returncode == 0, created.stderr
    assert server.cli("token", "list").stdout.count("read-logs") == 2
