"""The real Scalyr Agent (scalyr-agent-2 2.2.8 from PyPI) ships a log file into millpond.

The agent is installed once into its own virtualenv under pytest's cache directory (reused while
it holds the right version) and runs as `python -m scalyr_agent.agent_main start --no-fork
--no-change-user -c FILE`, with every path of its own under tmp_path and `allow_http: true`.
It tails a generated file of a few thousand varied lines: ASCII, unicode, 5-10 KB lines, CRLF
endings, quotes, backslashes and backticks (including a literal `` `s ``, the agent's own
length-prefix marker), JSON-looking lines, tabs and escapes, empty and blank lines, a lone CR
inside a line, and bytes that are not UTF-8 (a Latin-1 byte, stored as U+FFFD, and a NUL).
The agent's own monitors and agent-log upload are off, so the file is all it sends; requests
are capped at 100 KB so that each part takes several.

The file grows in three parts, and the agent is stopped in two ways on the way:

1. part A is written, agent #1 ships it and is stopped with SIGTERM; it exits cleanly and
   its checkpoint (the file offset and the sequence id) is copied aside;
2. part B is appended, agent #2 starts from the checkpoint, and is killed with SIGKILL once
   the middle of part B is stored; then the checkpoint copied in step 1 is put back: a crash
   that lost every checkpoint write after millpond had committed the lines. The next agent
   must resend all of part B, with the same `si` and byte offsets as `sn`;
3. part C is appended and agent #3 ships B again and C.

The agent's own log must show that agent #3 shipped all of parts B and C, and that every
request got a `success` reply (`debug_level: 1` logs each reply's status; a refusal would only
be retried 30 s later, so a passing retry could hide it). Every line of the file must then be
stored exactly once (millpond drops the resent part B by
its sequence numbers), in file order by timestamp, with the trailing `\\n` / `\\r\\n` cut,
`logfile` = the file's path, `parser` = the configured parser, `serverHost` = the configured
server attribute, and the configured log attribute `service: demo`; and nothing else is stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AGENT_VERSION = "2.2.8"
INSTALL_TIMEOUT = 600.0  # the first install downloads the agent from PyPI
AGENT_STOP_TIMEOUT = 30.0
# Long enough for one of the agent's retries: after an error reply it waits about 30 s.
ARRIVAL_TIMEOUT = 75.0

PARSER = "millpondAgentE2E"
SERVER_HOST = "agent-e2e-host"
SERVICE = "demo"
LINES_PER_PART = 1000
PARTS = ("A", "B", "C")
MAX_LINE_SIZE = 49900  # the agent's default; every generated line stays below it


# -- the agent's virtualenv ---------------------------------------------------------------


def _agent_env() -> dict[str, str]:
    """The test runner's environment without anything that points Python elsewhere."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c",
         "from importlib.metadata import version; print(version('scalyr-agent-2'))"],
        capture_output=True, text=True, env=_agent_env(), timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _run_or_fail(command: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=_agent_env(), timeout=timeout,
            check=False, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{what} did not finish within {timeout:.0f} s: {' '.join(command)}\n"
                    f"{expired.stdout!r}\n{expired.stderr!r}")
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {done.returncode}); this test needs PyPI to install "
            f"scalyr-agent-2=={AGENT_VERSION}:\n$ {' '.join(command)}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def agent_python(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The Python of a virtualenv with scalyr-agent-2 installed, kept in pytest's cache."""
    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    base = (
        cache.mkdir(f"scalyr-agent-{AGENT_VERSION}") if cache is not None
        else tmp_path_factory.mktemp("scalyr-agent")
    )
    venv = Path(base) / "venv"
    python = venv / "bin" / "python"
    if _installed_version(python) == AGENT_VERSION:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    _run_or_fail([sys.executable, "-m", "venv", str(venv)], "creating the agent's virtualenv",
                 120)
    _run_or_fail(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
         f"scalyr-agent-2=={AGENT_VERSION}"],
        f"pip install scalyr-agent-2=={AGENT_VERSION}", INSTALL_TIMEOUT,
    )
    installed = _installed_version(python)
    if installed != AGENT_VERSION:
        pytest.fail(f"the agent's virtualenv has scalyr-agent-2 {installed!r} after pip install")
    return python


# -- one agent process --------------------------------------------------------------------


class Agent:
    """`scalyr_agent.agent_main start --no-fork` on one config, data and log directory."""

    def __init__(self, python: Path, home: Path, config: dict[str, Any]) -> None:
        self.python = python
        self.home = home
        self.data_dir = home / "data"
        self.log_dir = home / "log"
        for directory in (self.data_dir, self.log_dir, home / "agent.d"):
            directory.mkdir(parents=True, exist_ok=True)
        self.config_path = home / "agent.json"
        self.config_path.touch(mode=0o600)  # else the agent warns that secrets are readable
        self.config_path.write_text(json.dumps({
            **config,
            "agent_data_path": str(self.data_dir),
            "agent_log_path": str(self.log_dir),
            "config_directory": str(home / "agent.d"),
        }, indent=2))
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.returncodes: list[int] = []

    def start(self) -> None:
        assert self.process is None, "the agent is already running"
        self.starts += 1
        with (
            open(self.home / f"stdout-{self.starts}.txt", "wb") as out,
            open(self.home / f"stderr-{self.starts}.txt", "wb") as err,
        ):
            self.process = subprocess.Popen(
                [str(self.python), "-m", "scalyr_agent.agent_main", "start", "--no-fork",
                 "--no-change-user", "-c", str(self.config_path)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=_agent_env(),
                cwd=self.home, start_new_session=True,
            )

    def stop(self) -> int:
        """SIGTERM, as an init system stops it; the exit code. Fails if it hangs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(AGENT_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the agent ignored SIGTERM for {AGENT_STOP_TIMEOUT} s\n{self.logs()}")
        self.process = None
        self.returncodes.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL to the agent's whole process group."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # it exited already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.returncodes.append(self.process.wait())
        self.process = None

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.returncodes.append(code)
            self.process = None
            pytest.fail(f"the agent exited with {code}\n{self.logs()}")

    def agent_log(self) -> str:
        path = self.log_dir / "agent.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def replies(self) -> list[str]:
        """The `status` of every reply to a request, from agent_debug.log (`debug_level: 1`)."""
        path = self.log_dir / "agent_debug.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return re.findall(r'received response with status="([^"]*)"', text)

    def bytes_copied(self) -> int:
        """`total_bytes_copied` of the last `agent_status` line, which an agent logs as it stops:
        the bytes of the file it shipped (with `success` replies) since it started."""
        found = re.findall(r"agent_status .* total_bytes_copied=(\d+) ", self.agent_log())
        assert found, f"no agent_status line in agent.log\n{self.logs()}"
        return int(found[-1])

    def complaints(self) -> list[str]:
        """The WARNING and ERROR lines of agent.log and of what the agent printed."""
        texts = [self.agent_log()] + [
            (self.home / f"{stream}-{n}.txt").read_text(errors="replace")
            for n in range(1, self.starts + 1) for stream in ("stdout", "stderr")
        ]
        return [line for text in texts for line in text.splitlines()
                if re.search(r"Z (WARN|WARNING|ERROR|CRITICAL) ", line)]

    def logs(self, tail: int = 6000) -> str:
        parts = []
        for n in range(1, self.starts + 1):
            for stream in ("stdout", "stderr"):
                text = (self.home / f"{stream}-{n}.txt").read_text(errors="replace")
                if text.strip():
                    parts.append(f"--- agent {stream} (start {n}) ---\n{text[-tail:]}")
        parts.append(f"--- agent.log ---\n{self.agent_log()[-tail:]}")
        return "\n".join(parts)


@pytest.fixture
def make_agent(agent_python: Path, tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    """Agents under tmp_path; every one still running at the end is killed."""
    agents: list[Agent] = []

    def make(config: dict[str, Any]) -> Agent:
        agent = Agent(agent_python, tmp_path / f"agent{len(agents)}", config)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.kill()


# -- the log file -------------------------------------------------------------------------


def _long_text(rng: random.Random, size: int) -> str:
    words = ["alpha", "beta", "gamma", "delta", "é", "☃", "日本語", "🚀", "x=1", "\"q\"", "\\",
             "`", "{}", "[]", "\t"]
    pieces: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(words)
        pieces.append(word)
        length += len(word.encode()) + 1
    return " ".join(pieces)


def make_part(rng: random.Random, part: str, count: int) -> list[bytes]:
    """`count` raw lines, each with its line ending; the last one marks the part's end."""
    lines: list[bytes] = []
    for n in range(count - 1):
        tag = f"{part}{n:04d}"
        kind = n % 20
        text: str
        if kind == 0:
            text = f"{tag} long " + _long_text(rng, rng.randint(5_000, 10_000))
        elif kind in (1, 11):
            text = f"{tag} unicode: héllo wörld ☃ 日本語のテキスト 🚀🎉👍🏽 Ωμέγα עִבְרִית ﬁ"
        elif kind == 2:
            text = (f"{tag} quotes \" and ' and backslash \\ and \\n and `backticks` and a "
                    "literal `s marker and `s\\x00\\x00 and {braces} [brackets] </tag>")
        elif kind == 3:
            text = json.dumps({"id": tag, "message": "nested \"quoted\" é", "n": n,
                               "list": [1, 2.5, None, True], "obj": {"k": "v"}},
                              ensure_ascii=rng.random() < 0.5)
        elif kind == 4:
            text = f"{tag}\ttab\tseparated\t\x1b[31mansi red\x1b[0m bell\x07 end"
        elif kind in (5, 15):
            text = ""
        elif kind == 6:
            text = rng.choice(["   ", "\t", " \t "])
        elif kind == 7:
            text = f"{tag} a lone\rcarriage return inside"
        elif kind == 8:
            text = f"   {tag} padded with spaces   "
        else:
            status = rng.choice([200, 201, 204, 301, 404, 500, 503])
            text = (f"{tag} INFO GET /api/v1/items/{rng.randint(1, 99999)} status={status} "
                    f"took={rng.random() * 300:.3f}ms user=user{rng.randint(1, 50)}")
        ending = b"\r\n" if rng.random() < 0.15 else b"\n"
        raw = text.encode()
        if kind == 10:  # not UTF-8: a Latin-1 byte and a NUL; stored with U+FFFD for the byte
            raw = f"{tag} latin-1 caf".encode() + b"\xe9 and a NUL \x00 byte"
        assert len(raw) < MAX_LINE_SIZE
        lines.append(raw + ending)
    lines.append(f"part-{part}-end-marker".encode() + b"\n")
    return lines


def stored_form(raw: bytes) -> str:
    """What millpond stores for one line of the file: one trailing newline cut."""
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def append(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as file:
        file.write(b"".join(lines))
        file.flush()
        os.fsync(file.fileno())


# -- reading back -------------------------------------------------------------------------


def read_all(server: Server) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every event, oldest first, and the union of the `sessions` of every page."""
    params: dict[str, Any] = {
        "startTime": str(server.born_ns), "endTime": str(time.time_ns() + 60 * 10**9),
        "maxCount": 5000, "pageMode": "head",
    }
    matches: list[dict[str, Any]] = []
    sessions: dict[str, Any] = {}
    while True:
        response = server.query(**params)
        assert response.status_code == 200, response.text
        body = response.json()
        matches.extend(body["matches"])
        sessions.update(body.get("sessions") or {})
        if "continuationToken" not in body:
            return matches, sessions
        params["continuationToken"] = body["continuationToken"]


def wait_for_line(server: Server, agent: Agent, line: str, what: str) -> float:
    """Poll until a line with this text is stored; the seconds it took."""
    started = time.monotonic()
    deadline = started + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline:
        agent.check_running()
        if line in server.messages(filter=json.dumps(line)):
            return time.monotonic() - started
        time.sleep(0.25)
    pytest.fail(
        f"{what}: {line!r} was not stored within {ARRIVAL_TIMEOUT:.0f} s\n{agent.logs()}\n"
        f"--- millpond stderr ---\n{server.stderr()[-6000:]}"
    )


def _examples(lines: Counter[str]) -> str:
    """A few of these lines with their counts, tagged (non-blank) lines first, cut short."""
    some = sorted(lines.items(), key=lambda item: not item[0].strip())[:4]
    return ", ".join(f"{line[:120]!r} ×{count}" for line, count in some)


# -- the test -----------------------------------------------------------------------------


def test_scalyr_agent_ships_every_line_exactly_once_across_restarts_and_a_crash(
    server: Server, make_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    assert server.write_token
    rng = random.Random(20260301)
    parts = {name: make_part(rng, name, LINES_PER_PART) for name in PARTS}
    logfile = tmp_path / "app" / "demo.log"
    logfile.parent.mkdir()
    logfile.touch()
    agent = make_agent({
        "api_key": server.write_token,
        "scalyr_server": server.base_url,
        "allow_http": True,
        "server_attributes": {"serverHost": SERVER_HOST},
        "implicit_agent_log_collection": False,
        "implicit_metric_monitor": False,
        "implicit_agent_process_metrics_monitor": False,
        "max_line_size": MAX_LINE_SIZE,
        # Several requests per part (100 KB is the smallest allowed), at least one a second;
        # without the switch `max_send_rate_enforcement: unlimited` overrides both.
        "disable_max_send_rate_enforcement_overrides": True,
        "max_allowed_request_size": 102_400,
        "max_request_spacing_interval": 1.0,
        "debug_level": 1,  # agent_debug.log: one line per request with the reply's status
        "logs": [{
            "path": str(logfile),
            "copy_from_start": True,
            "parser": PARSER,
            "attributes": {"service": SERVICE},
        }],
    })
    timings: dict[str, float] = {}

    # 1. Part A; a clean stop; keep the checkpoint it wrote.
    append(logfile, parts["A"])
    started = time.monotonic()
    agent.start()
    timings["A shipped"] = wait_for_line(server, agent, "part-A-end-marker", "part A")
    assert agent.stop() == 0, agent.logs()
    assert agent.bytes_copied() == sum(map(len, parts["A"]))
    checkpoint = tmp_path / "checkpoint-after-A"
    shutil.copytree(agent.data_dir, checkpoint)

    # 2. Part B; SIGKILL once its middle is stored; then lose every checkpoint since step 1.
    append(logfile, parts["B"])
    agent.start()
    middle = stored_form(parts["B"][LINES_PER_PART // 2 + 9])  # an ordinary INFO line
    timings["B middle shipped"] = wait_for_line(server, agent, middle, "the middle of part B")
    agent.kill()
    tagged_b = {stored_form(raw) for raw in parts["B"]} - {"", "   ", "\t", " \t "}
    b_lines_at_kill = sum(m in tagged_b for m in server.messages())
    shutil.rmtree(agent.data_dir)
    shutil.copytree(checkpoint, agent.data_dir)

    # 3. Part C; the next agent resends part B, then sends C.
    append(logfile, parts["C"])
    agent.start()
    timings["C shipped"] = wait_for_line(server, agent, "part-C-end-marker", "part C")
    time.sleep(2.0)  # a late duplicate would show now
    assert agent.stop() == 0, agent.logs()
    # It did resend all of part B (millpond had stored about half of it already).
    assert agent.bytes_copied() == sum(map(len, parts["B"] + parts["C"]))
    timings["total"] = time.monotonic() - started

    # Every request of every agent was answered `success`: no retry hid a refusal.
    replies = Counter(agent.replies())
    assert set(replies) == {"success"}, f"replies {replies}\n{agent.logs()}"
    assert [c for c in agent.complaints() if " ERROR " in c or " CRITICAL " in c] == []

    matches, sessions = read_all(server)
    expected = [stored_form(raw) for name in PARTS for raw in parts[name]]
    stored = [m["message"] for m in matches]
    missing = Counter(expected) - Counter(stored)
    extra = Counter(stored) - Counter(expected)
    assert not missing and not extra, (
        f"{sum(missing.values())} lines missing, e.g. {_examples(missing)}; "
        f"{sum(extra.values())} extra, e.g. {_examples(extra)}\n{agent.logs()}"
    )
    assert stored == expected, "the stored order by timestamp is not the file's order"

    want_attributes = {"logfile": str(logfile), "parser": PARSER, "service": SERVICE}
    odd = [m for m in matches if m["attributes"] != want_attributes]
    assert odd == [], f"{len(odd)} events with other attributes, e.g. {odd[:2]}"
    hosts = Counter(sessions.get(m["session"], {}).get("serverHost") for m in matches)
    assert hosts == {SERVER_HOST: len(expected)}, hosts
    assert len({m["session"] for m in matches}) == 3  # a new session id per agent start
    per_event = server.events(filter=f"$serverHost == {json.dumps(SERVER_HOST)}")
    assert len(per_event) == len(expected)

    print(f"\nagent e2e: {len(expected)} lines, "
          f"{sum(len(raw) for name in PARTS for raw in parts[name])} bytes; "
          f"{b_lines_at_kill} of {LINES_PER_PART} part-B lines stored at the SIGKILL; "
          f"{replies['success']} requests; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + "".join(f"\n  agent: {c}" for c in agent.complaints()))
