"""The UI on a real `millpond serve`, without a browser: the signing key on disk, no token in
the logs, and a server that stops promptly while a live tail is open."""

from __future__ import annotations

import re
import stat
import threading
import time

import httpx
import pytest

from e2e.conftest import Server, StartServer

pytestmark = pytest.mark.e2e

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in(server: Server, token: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=10, follow_redirects=True)
    csrf = CSRF_FIELD.search(client.get("/login").text)
    assert csrf
    done = client.post("/login", data={"csrf": csrf.group(1), "token": token})
    assert done.status_code == 200 and done.url.path == "/", done.text
    return client


def test_the_signing_key_is_private_and_tokens_never_reach_the_logs(
    start_server: StartServer,
) -> None:
    server = start_server("--log-level", "debug")
    assert server.read_token
    client = signed_in(server, server.read_token)
    assert client.get("/ui/api/search", params={"filter": "x"}).status_code == 200
    client.close()
    key = server.data_dir / "ui-session.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    server.stop()
    logs = server.stdout() + server.stderr()
    banner_free = logs.replace(server.read_token, "", 1)  # the first start's banner shows it
    assert server.read_token not in banner_free
    # The key survives a restart: a session signed before it still works after.
    server.start()
    client = signed_in(server, server.read_token)
    cookie = client.cookies["millpond_session"]
    client.close()
    server.restart()
    with httpx.Client(base_url=server.base_url, cookies={"millpond_session": cookie}) as client:
        assert client.get("/", follow_redirects=False).status_code == 200


def test_the_server_stops_promptly_while_a_live_tail_is_open(start_server: StartServer) -> None:
    server = start_server()
    assert server.read_token
    client = signed_in(server, server.read_token)
    opened = threading.Event()
    ended: list[float] = []

    def follow() -> None:
        try:
            with client.stream("GET", "/ui/api/tail", timeout=30) as stream:
                for line in stream.iter_lines():
                    if line == "event: ready":
                        opened.set()
        except httpx.HTTPError:
            pass
        ended.append(time.monotonic())

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert opened.wait(10)
    began = time.monotonic()
    assert server.stop() == 0
    stopped = time.monotonic() - began
    # A stream ends by itself within STREAM_SECONDS (5 s); uvicorn waits for it, no longer.
    assert stopped < 8, f"stopping took {stopped:.1f} s"
    reader.join(10)
    client.close()
