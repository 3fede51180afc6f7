"""The README's curl examples, verbatim but for the address, run with the real `curl` binary."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from .conftest import Server

pytestmark = pytest.mark.e2e

# The README's commands; ADDRESS, TOKEN, READ_TOKEN and the file to send get filled in.
HELLO = (
    "curl -v 'http://ADDRESS/api/uploadLogs?token=TOKEN' -H 'Content-Type: text/plain' "
    "-d 'hello, world'"
)
MULTI_LINE = (
    "curl 'http://ADDRESS/api/uploadLogs?token=TOKEN&host=web-1&logfile=/var/log/app.log"
    "&server-region=eu-west-1' "
    "-H 'Content-Type: text/plain' -H 'Nonce: 7c1f…' --data-binary @/var/log/app.log"
)
QUERY_GET = "curl 'http://ADDRESS/api/query?token=READ_TOKEN&filter=hello&startTime=1h'"
QUERY_BEARER = (
    "curl -H 'Authorization: Bearer READ_TOKEN' http://ADDRESS/api/query "
    """-d '{"filter": "\\"connection refused\\"", "startTime": "4h", "maxCount": 500, """
    """"pageMode": "tail"}'"""
)


def curl(server: Server, command: str, log_file: Path | None = None) -> tuple[Any, str]:
    """Run a README command against `server`; its JSON answer, and what `-v` printed."""
    assert server.write_token and server.read_token
    filled = (
        command.replace("ADDRESS", f"127.0.0.1:{server.port}")
        .replace("READ_TOKEN", server.read_token)
        .replace("TOKEN", server.write_token)
        .replace("@/var/log/app.log", f"@{log_file}")
    )
    result = subprocess.run(
        [*shlex.split(filled), "--silent", "--show-error"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout), result.stderr


def test_readme_curl_examples(server: Server, tmp_path: Path) -> None:
    answer, verbose = curl(server, HELLO)
    assert answer == {"status": "success"}
    assert "< HTTP/1.1 200 OK" in verbose
    assert "< content-type: application/json" in verbose.lower()

    # One line per kind of line break, UTF-8 beyond ASCII, a tab, an empty line (dropped), and
    # a final line break.
    log_file = tmp_path / "app.log"
    log_file.write_bytes(
        b"alpha ends with LF\n"
        b"bravo ends with CRLF\r\n"
        b"charlie ends with CR\r"
        b"\n"
        b"delta: connection refused, caf\xc3\xa9 \xe2\x98\x95\tand a tab\n"
    )
    lines = [
        "alpha ends with LF",
        "bravo ends with CRLF",
        "charlie ends with CR",
        "delta: connection refused, café ☕\tand a tab",
    ]
    assert curl(server, MULTI_LINE, log_file)[0] == {"status": "success"}
    # The same command again: the same Nonce, so nothing more is stored.
    again = curl(server, MULTI_LINE, log_file)[0]
    assert again["status"] == "success"
    assert "duplicate nonce" in again["message"]

    answer = curl(server, QUERY_GET)[0]
    assert answer["status"] == "success"
    assert [m["message"] for m in answer["matches"]] == ["hello, world"]

    answer = curl(server, QUERY_BEARER)[0]
    assert [m["message"] for m in answer["matches"]] == [lines[3]]
    [match] = answer["matches"]
    assert match["attributes"] == {"logfile": "/var/log/app.log", "parser": "uploadLogs"}
    assert answer["sessions"][match["session"]] == {
        "serverHost": "web-1", "region": "eu-west-1", "serverIP": "127.0.0.1",
        "session": match["session"],
    }

    assert server.messages() == ["hello, world", *lines]


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
