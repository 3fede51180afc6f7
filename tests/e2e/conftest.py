"""End-to-end harness: a real `millpond serve` process on a free port, and the tokens it prints.

`Server` owns one data directory. It starts `millpond serve` as a subprocess, waits until
`GET /health` answers 200, reads the two API tokens from the banner of the first start, and
stops it with SIGTERM (SIGKILL if it hangs). It can be stopped, killed and started again on the
same data directory and port. Everything the process prints goes to files, one pair per start,
so a test can read the logs afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

# The installed `millpond` command next to this Python (.venv/bin/millpond), else the module.
_SCRIPT = Path(sys.executable).with_name("millpond")
MILLPOND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "millpond"]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
MAX_COUNT = 5000
# The banner of a first start lists the tokens as `  write-logs  SECRET`.
TOKEN_LINE = re.compile(r"^ {2}(write-logs|read-logs) +(\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test runner's environment without any MILLPOND_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLPOND_")}
    env.update(extra or {})
    return env


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `millpond` command to completion; stdout and stderr are captured as text."""
    return subprocess.run(
        [*MILLPOND, *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


class Server:
    """One `millpond serve` process at a time, on one data directory and one port."""

    def __init__(
        self,
        data_dir: Path,
        log_dir: Path,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.port = free_port()
        self.args = list(args)
        self.env = dict(env or {})
        self.verify = verify
        scheme = "https" if "--tls-cert" in self.args else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.write_token: str | None = None
        self.read_token: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.returncodes: list[int] = []
        # Every event of this data directory is younger than this: the window queries use.
        self.born_ns = time.time_ns()
        self._client: httpx.Client | None = None

    # -- the process ----------------------------------------------------------------------

    @property
    def command(self) -> list[str]:
        return [
            *MILLPOND, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
            *self.args,
        ]

    def start(self) -> None:
        assert self.process is None, "the server is already running"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with (
            open(self.log_dir / f"stdout-{self.starts}.txt", "wb") as out,
            open(self.log_dir / f"stderr-{self.starts}.txt", "wb") as err,
        ):
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=clean_env(self.env),
            )
        self._wait_healthy()
        banner = (self.log_dir / f"stdout-{self.starts}.txt").read_text()
        tokens = dict(TOKEN_LINE.findall(banner))
        if tokens:
            self.write_token = tokens["write-logs"]
            self.read_token = tokens["read-logs"]

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(verify=self.verify, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.returncodes.append(self.process.returncode)
                    self.process = None
                    pytest.fail(
                        f"millpond serve exited with {self.returncodes[-1]} before answering "
                        f"/health:\n{self.stdout(self.starts)}\n{self.stderr(self.starts)}"
                    )
                try:
                    if client.get(f"{self.base_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.03)
        self.kill()
        pytest.fail(f"millpond serve did not answer /health within {START_TIMEOUT} s")

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        """SIGTERM (or `signum`), then SIGKILL if it does not exit in time; the exit code."""
        self._close_client()
        if self.process is None:
            return None
        self.process.send_signal(signum)
        try:
            code = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.process = None
            pytest.fail(f"millpond serve ignored SIGTERM for {STOP_TIMEOUT} s")
        self.process = None
        self.returncodes.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, as far as the server can tell."""
        self._close_client()
        if self.process is None:
            return
        self.process.kill()
        self.returncodes.append(self.process.wait())
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def stdout(self, start: int | None = None) -> str:
        """What one start printed on stdout (all starts when `start` is None)."""
        return self._log("stdout", start)

    def stderr(self, start: int | None = None) -> str:
        return self._log("stderr", start)

    def _log(self, stream: str, start: int | None) -> str:
        numbers = range(1, self.starts + 1) if start is None else [start]
        return "".join((self.log_dir / f"{stream}-{n}.txt").read_text() for n in numbers)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`millpond ARGS --data-dir DIR`."""
        return run_cli(*args, "--data-dir", str(self.data_dir))

    # -- HTTP -----------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url, verify=self.verify, timeout=15)
        return self._client

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def upload(
        self,
        body: bytes | str,
        *,
        token: str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST /api/uploadLogs with `?token=` (the write-logs token unless told otherwise)."""
        return self.client.post(
            "/api/uploadLogs",
            params={"token": token or self.write_token or "", **(params or {})},
            headers={"Content-Type": "text/plain", **(headers or {})},
            content=body.encode() if isinstance(body, str) else body,
        )

    def query(self, token: str | None = None, **params: Any) -> httpx.Response:
        """POST /api/query with a JSON body (the read-logs token unless told otherwise)."""
        return self.client.post(
            "/api/query", json={"token": token or self.read_token, **params}
        )

    def events(
        self, token: str | None = None, *, since_ns: int | None = None, filter: str = ""
    ) -> list[Any]:
        """Every event from `since_ns` (the data directory's birth) to now, oldest first,
        paged with `continuationToken`."""
        start = self.born_ns if since_ns is None else since_ns
        end = time.time_ns() + 60 * 1_000_000_000
        params: dict[str, Any] = {
            "startTime": str(start), "endTime": str(end), "maxCount": MAX_COUNT,
            "pageMode": "head", "filter": filter,
        }
        found: list[Any] = []
        while True:
            response = self.query(token, **params)
            assert response.status_code == 200, response.text
            body = response.json()
            found.extend(body["matches"])
            if "continuationToken" not in body:
                return found
            params["continuationToken"] = body["continuationToken"]

    def messages(
        self, token: str | None = None, *, since_ns: int | None = None, filter: str = ""
    ) -> list[str]:
        return [m["message"] for m in self.events(token, since_ns=since_ns, filter=filter)]


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers: `start_server(*flags, env={...}, data_dir=..., verify=...)`."""
    servers: list[Server] = []

    def start(
        *args: str,
        env: Mapping[str, str] | None = None,
        data_dir: Path | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> Server:
        n = len(servers)
        server = Server(
            data_dir or tmp_path / f"data{n}", tmp_path / f"logs{n}",
            args=args, env=env, verify=verify,
        )
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    """A fresh server on a new data directory, with default settings."""
    return start_server()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a whole module, for tests that each upload lines no other test sends."""
    base = tmp_path_factory.mktemp("shared")
    server = Server(base / "data", base / "logs")
    server.start()
    yield server
    server.stop()
