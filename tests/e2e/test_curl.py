"""The documented curl examples, run with the real `curl` binary against a real server."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import orjson
import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )


def test_documented_curl_examples_store_exactly_those_lines_in_order(
    server: Server, tmp_path: Path
) -> None:
    url = f"{server.base_url}/api/uploadLogs?token={server.write_token}"
    hello = curl("-v", url, "-H", "Content-Type: text/plain", "-d", "hello, world")
    assert hello.returncode == 0, hello.stderr
    assert "< HTTP/1.1 200 OK" in hello.stderr
    assert orjson.loads(hello.stdout) == {"status": "success"}

    # One line per kind of line break, UTF-8 beyond ASCII, a tab, and a final line break.
    log_file = tmp_path / "app.log"
    log_file.write_bytes(
        b"alpha ends with LF\n"
        b"bravo ends with CRLF\r\n"
        b"charlie ends with CR\r"
        b"delta caf\xc3\xa9 \xe2\x98\x95\tno break after\n"
    )
    multi = curl(
        url, "-H", "Content-Type: text/plain", "--data-binary", f"@{log_file}"
    )
    assert multi.returncode == 0, multi.stderr
    assert orjson.loads(multi.stdout) == {"status": "success"}

    query = curl(
        f"{server.base_url}/api/query?token={server.read_token}&startTime={server.born_ns}"
    )
    assert query.returncode == 0, query.stderr
    answer = orjson.loads(query.stdout)
    assert answer["status"] == "success"
    assert [m["message"] for m in answer["matches"]] == [
        "hello, world",
        "alpha ends with LF",
        "bravo ends with CRLF",
        "charlie ends with CR",
        "delta café ☕\tno break after",
    ]


def test_the_curl_command_the_banner_suggests_works_as_printed(server: Server) -> None:
    suggested = [
        line.strip() for line in server.stdout().splitlines() if line.strip().startswith("curl ")
    ]
    assert len(suggested) == 1
    result = subprocess.run(
        [*shlex.split(suggested[0]), "--silent", "--show-error"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {"status": "success"}
    assert server.messages() == ["hello, world"]
