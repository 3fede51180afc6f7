"""`millpond query`, `tail`, `facet` and `numeric` against a real server, as a user runs them.

Lines go in through /api/uploadLogs with the write token; the CLI reads them back with the
read token from MILLPOND_URL / MILLPOND_TOKEN. Each test searches for a word of its own.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
import uuid

import orjson
import pytest

from .conftest import MILLPOND, Server, clean_env, free_port, run_cli

pytestmark = pytest.mark.e2e

ANSI = "\x1b["
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")


def marker() -> str:
    """A word no other test uploads."""
    return "m" + uuid.uuid4().hex[:12]


def env(server: Server) -> dict[str, str]:
    assert server.read_token
    return {"MILLPOND_URL": server.base_url, "MILLPOND_TOKEN": server.read_token}


def upload(server: Server, lines: list[str], host: str = "web-1") -> None:
    assert server.upload("\n".join(lines), params={"host": host}).json() == {"status": "success"}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("millpond: ")
    return line


# -- query ---------------------------------------------------------------------------------------


def test_query_prints_matching_lines_as_text_without_colour_when_piped(
    shared_server: Server,
) -> None:
    word = marker()
    upload(shared_server, [f"{word} first", "unrelated line", f"{word} second"])
    out = ok(run_cli("query", word, env=env(shared_server)))
    lines = out.splitlines()
    assert len(lines) == 2
    assert ANSI not in out
    for line, text in zip(lines, [f"{word} first", f"{word} second"], strict=True):
        assert LOCAL_TIME.match(line), line
        assert line.endswith(f" web-1 INFO   {text}")


def test_query_colour_when_forced(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} coloured"])
    out = ok(run_cli("query", word, "--color", "always", env=env(shared_server)))
    assert ANSI in out and f"{word} coloured" in out


def test_query_json_and_csv(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} one", f'{word} two, with "quotes"'], host="db-1")
    out = ok(run_cli("query", word, "-o", "json", env=env(shared_server)))
    matches = [orjson.loads(line) for line in out.splitlines()]
    assert [m["message"] for m in matches] == [f"{word} one", f'{word} two, with "quotes"']
    assert all(m["serverHost"] == "db-1" and m["severity"] == 3 for m in matches)
    assert int(matches[0]["timestamp"]) < int(matches[1]["timestamp"])

    out = ok(run_cli("query", word, "-o", "csv", "--columns", "logfile", env=env(shared_server)))
    header, *rows = out.splitlines()
    assert header == "timestamp,severity,serverHost,message,logfile"
    assert len(rows) == 2
    assert rows[0].endswith(f",3,db-1,{word} one,uploadLogs")
    assert rows[1].endswith(f',3,db-1,"{word} two, with ""quotes""",uploadLogs')


def test_query_count_and_mode(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} {i}" for i in range(10)])
    head = ok(run_cli("query", word, "--count", "3", "--mode", "head", "-o", "json",
                      env=env(shared_server)))
    tail = ok(run_cli("query", word, "--count", "3", "-o", "json", env=env(shared_server)))
    assert [orjson.loads(x)["message"] for x in head.splitlines()] == [
        f"{word} {i}" for i in (0, 1, 2)
    ]
    assert [orjson.loads(x)["message"] for x in tail.splitlines()] == [
        f"{word} {i}" for i in (7, 8, 9)
    ]


@pytest.mark.parametrize("mode", ["head", "tail"])
def test_query_pages_past_5000(shared_server: Server, mode: str) -> None:
    word = marker()
    lines = [f"{word} {i:05d}" for i in range(6500)]
    upload(shared_server, lines)
    out = ok(run_cli("query", word, "--count", "6200", "--mode", mode, "-o", "json",
                     env=env(shared_server)))
    got = [orjson.loads(x)["message"] for x in out.splitlines()]
    assert got == (lines[:6200] if mode == "head" else lines[-6200:])


def test_query_with_a_wrong_token(shared_server: Server) -> None:
    result = run_cli("query", "x", env={**env(shared_server), "MILLPOND_TOKEN": "not-a-token"})
    assert "token" in one_line_error(result, 2)


def test_query_with_the_write_token_is_refused(shared_server: Server) -> None:
    assert shared_server.write_token
    result = run_cli("query", "x", env={**env(shared_server),
                                        "MILLPOND_TOKEN": shared_server.write_token})
    one_line_error(result, 2)


def test_query_without_a_token(shared_server: Server) -> None:
    line = one_line_error(run_cli("query", env={"MILLPOND_URL": shared_server.base_url}), 2)
    assert "--token" in line and "MILLPOND_TOKEN" in line


def test_query_with_nobody_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(run_cli("query", "--url", url, "--token", "t"), 1)
    assert url in line and "millpond serve" in line and "--url" in line


# -- tail ----------------------------------------------------------------------------------------


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The lines `process` prints, as they come, read by a thread that ends at end of file."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _take(lines: queue.Queue[str], count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    got: list[str] = []
    while len(got) < count:
        got.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
    return got


def test_tail_prints_new_lines_once_and_ends_on_ctrl_c(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} before"])
    with subprocess.Popen(
        [*MILLPOND, "tail", word, "--start", "5m", "--interval", "0.2", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=clean_env(env(shared_server)),
    ) as process:
        lines, reader = _lines(process)
        try:
            assert [orjson.loads(x)["message"] for x in _take(lines, 1)] == [f"{word} before"]
            upload(shared_server, [f"{word} after 1", "not this one", f"{word} after 2"])
            assert [orjson.loads(x)["message"] for x in _take(lines, 2)] == [
                f"{word} after 1", f"{word} after 2",
            ]
            time.sleep(1.0)  # a few more polls: nothing is printed twice
            assert lines.empty()
            process.send_signal(signal.SIGINT)
            assert process.wait(15) == 0
            assert process.stderr is not None
            assert process.stderr.read() == ""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(5)


# -- facet ---------------------------------------------------------------------------------------


def test_facet_counts_values_of_a_field(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} a"] * 3, host="web-1")
    upload(shared_server, [f"{word} b"], host="db-1")
    out = ok(run_cli("facet", "serverHost", word, "-o", "json", env=env(shared_server)))
    answer = orjson.loads(out)
    assert answer == {
        "values": [{"value": "web-1", "count": 3}, {"value": "db-1", "count": 1}],
        "matchCount": 4,
    }

    text = ok(run_cli("facet", "serverHost", word, env=env(shared_server))).splitlines()
    assert text[0].split() == ["VALUE", "COUNT", "SHARE"]
    assert text[1].startswith("web-1") and text[1].endswith("75.0%")
    assert text[2].startswith("db-1") and text[2].endswith("25.0%")
    assert text[3] == "4 matching events"


# -- numeric -------------------------------------------------------------------------------------


def test_numeric_counts_events_per_bucket(shared_server: Server) -> None:
    word = marker()
    upload(shared_server, [f"{word} {i}" for i in range(7)])
    out = ok(run_cli("numeric", "count", word, "--start", "10m", "--buckets", "10", "-o", "json",
                     env=env(shared_server)))
    values = orjson.loads(out)
    assert len(values) == 10
    assert sum(v or 0 for v in values) == 7

    text = ok(run_cli("numeric", "count", word, "--start", "10m", "--buckets", "10",
                      env=env(shared_server))).splitlines()
    assert len(text) == 11  # the sparkline, then one line per bucket
    assert "max 7" in text[0]
    assert all(LOCAL_TIME.match(line) for line in text[1:])
