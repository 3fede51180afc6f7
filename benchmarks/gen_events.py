"""Deterministic, realistic log lines for the search benchmark (`benchmarks/query_bench.py`).

Four kinds of logs, ~100 bytes a line on average:

- **access**: nginx/Apache combined access logs: Zipf-distributed paths (a few thousand) and
  client IPs (tens of thousands), mostly `GET`, status mostly 200 with some 3xx/4xx/5xx,
  response sizes, referers and user agents;
- **syslog**: RFC 3164 lines from sshd, CRON, kernel, systemd, postfix, sudo, dhclient;
- **json**: application logs, `{"ts":…,"level":…,"msg":…,"path":…,"duration_ms":…,"user":…}`;
- **kv**: `key=value` worker logs.

Lines come in chunks, the unit of one upload: every chunk is one log file of one kind from one
host (Zipf-distributed over the kind's hosts), so `serverHost` and `logfile` facets mean
something. A chunk depends only on (seed, total, chunk size, its index), so chunks can be made
in any order. A few rare tokens are spread over the whole data at fixed positions
(`RARE_TOKENS`: how many lines carry each); `ABSENT_TERM` occurs nowhere.

    python benchmarks/gen_events.py --events 1000000 --out events.log   # + events.log.manifest.json
    python benchmarks/gen_events.py --events 20 --out -                # lines to stdout

As a module: `EventGenerator(total, seed, chunk_lines)`, iterate it or call `.chunk(i)`;
`generate_lines(n, seed)` for a plain list.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import numpy as np

# Lines carrying each rare token (capped at the number of lines), spread over all of the data.
RARE_TOKENS: dict[str, int] = {"zebracorn-7731": 40, "quokkadrift-0518": 8, "nimbusowl-2093": 1}
# Occurs in no line: searching for it has to read every message.
ABSENT_TERM = "yqzxv-absent-4242"
# The first line's time (2024-05-01T00:00:00Z) and the step between lines: 10 million lines
# span one day. These are times inside the text; the server stamps lines when it receives them.
BASE_TIME_S = 1_714_521_600
STEP_NS = 8_640_000

KINDS = ("access", "syslog", "json", "kv")
# Share of chunks of each kind; tuned so the average line is ~100 bytes.
KIND_WEIGHTS = (0.28, 0.34, 0.22, 0.16)
PARSERS = {"access": "accessLog", "syslog": "systemLog", "json": "json", "kv": "keyValue"}

Rng = np.random.Generator
Column = Sequence[Any]


# -- vocabularies (fixed: the same for every seed) --------------------------------------------


def _zipf_cdf(n: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(weights)
    return np.asarray(cdf / cdf[-1])


@dataclasses.dataclass(frozen=True)
class Vocab:
    """Values drawn with a Zipf law (the first is the most frequent) or uniformly."""

    values: np.ndarray  # dtype=object
    cdf: np.ndarray | None = None  # None: uniform

    @classmethod
    def zipf(cls, values: Sequence[Any], s: float = 1.1) -> Vocab:
        return cls(np.asarray(values, dtype=object), _zipf_cdf(len(values), s))

    @classmethod
    def weighted(cls, pairs: Sequence[tuple[Any, float]]) -> Vocab:
        cdf = np.cumsum([w for _, w in pairs], dtype=np.float64)
        return cls(np.asarray([v for v, _ in pairs], dtype=object), cdf / cdf[-1])

    def draw(self, rng: Rng, n: int) -> list[Any]:
        if self.cdf is None:
            idx = rng.integers(0, len(self.values), n)
        else:
            idx = np.searchsorted(self.cdf, rng.random(n), side="right")
            np.minimum(idx, len(self.values) - 1, out=idx)
        return list(self.values[idx])

    def draw_one(self, rng: Rng) -> Any:
        return self.draw(rng, 1)[0]


_RESOURCES = ("users", "orders", "items", "products", "carts", "sessions", "events",
              "invoices", "payments", "reviews", "inventory", "shipments", "accounts",
              "notifications", "coupons")
_PAGES = ("/", "/login", "/logout", "/checkout", "/cart", "/healthz", "/metrics",
          "/favicon.ico", "/robots.txt", "/about", "/pricing", "/search", "/signup",
          "/account/settings", "/wp-login.php", "/.env", "/sitemap.xml", "/api/v1/status")
_AGENTS = (
    "kube-probe/1.29",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
    "Prometheus/2.51.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "okhttp/4.12.0",
    "Wget/1.21.4",
    "Apache-HttpClient/4.5.14 (Java/17.0.10)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "axios/1.6.8",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
_FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
          "chloé", "françois", "dmitrij", "ĥelena", "søren", "zoë", "anaïs")
_APP_MSGS = ("request completed", "request completed", "cache miss", "cache hit",
             "db query slow", "payment declined", "retrying upstream call", "user logged in",
             "user logged out", "session expired", "token refreshed", "rate limited",
             "validation failed", "order created", "order shipped", "email queued",
             "feature flag evaluated", "connection pool exhausted", "upstream timeout",
             "circuit breaker open", "circuit breaker closed", "job scheduled",
             "job finished", "job failed", "config reloaded", "healthcheck ok",
             "websocket connected", "websocket closed", "invoice generated",
             "search executed", "recommendations computed", "inventory reserved",
             "lock acquired", "lock released", "message published", "message consumed")
_SERVICES = ("checkout", "catalog", "auth", "search", "billing", "notifier", "gateway",
             "inventory", "recommender", "shipping", "profile", "reports")
_COMPONENTS = ("scheduler", "indexer", "billing", "mailer", "exporter", "compactor",
               "thumbnailer", "importer", "reconciler", "webhook")
_KV_MSGS = ("batch done", "retrying", "lease renewed", "queue drained", "backoff",
            "checkpoint written", "partition rebalanced", "task started", "task done",
            "slow consumer", "commit ok", "fetch failed")
_CRON_CMDS = ("/usr/local/bin/backup.sh", "test -x /usr/sbin/anacron || run-parts /etc/cron.daily",
              "/usr/bin/certbot renew -q", "/opt/app/bin/rotate-logs", "php /var/www/cron.php",
              "/usr/lib/sysstat/debian-sa1 1 1")
_KERNEL_MSGS = ("eth0: link up, 1000Mbps, full-duplex", "TCP: request_sock_TCP: Possible SYN "
                "flooding on port 443. Sending cookies.", "EXT4-fs (vda1): re-mounted. Opts: "
                "errors=remount-ro", "Out of memory: Killed process %d (java)",
                "nf_conntrack: table full, dropping packet", "audit: backlog limit exceeded",
                "perf: interrupt took too long, lowering kernel.perf_event_max_sample_rate")
_SYSTEMD_MSGS = ("Started Session %d of User root.", "Starting Daily apt upgrade and clean "
                 "activities...", "Finished Rotate log files.", "Started Session %d of User "
                 "deploy.", "Reloading The nginx HTTP and reverse proxy server...",
                 "docker.service: Consumed %d.123s CPU time.")


@cache
def _vocab() -> dict[str, Vocab]:
    """The fixed vocabularies; built once from a fixed seed."""
    rng = np.random.default_rng(20240501)
    paths = list(_PAGES)
    for res in _RESOURCES:
        paths.append(f"/api/v1/{res}")
        paths.append(f"/api/v2/{res}")
        paths += [f"/api/v1/{res}/{i}" for i in rng.choice(99_999, 150, replace=False)]
    paths += [f"/static/js/{n}.{h:08x}.js" for n in ("app", "vendor", "chunk", "runtime")
              for h in rng.integers(0, 2**32, 40)]
    paths += [f"/img/products/{i}.jpg" for i in rng.choice(99_999, 300, replace=False)]
    rng.shuffle(paths)
    # A few popular pages first, then the rest in a random order.
    head = ["/healthz", "/", "/api/v1/products", "/static/js/app.3f9a1c2e.js", "/login"]
    paths = head + [p for p in paths if p not in head]

    private = [f"10.{a}.{b}.{c}" for a, b, c in rng.integers(0, 255, (4000, 3))]
    public = [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 224, (16000, 4))]
    ips = private + public
    rng.shuffle(ips)

    users = [f"{rng.choice(_FIRST)}{i}" for i in range(5000)]
    roles = {
        "access": [f"web-{i:02d}" for i in range(1, 25)] + [f"lb-{i:02d}" for i in range(1, 5)],
        "syslog": [f"{r}-{i:02d}" for r in ("web", "db", "cache", "app", "worker", "bastion",
                                             "mq", "lb", "ci", "mon") for i in range(1, 21)],
        "json": [f"app-{s}-{i:02d}" for s in _SERVICES for i in range(1, 7)],
        "kv": [f"worker-{i:02d}" for i in range(1, 31)],
    }
    hosts: dict[str, Vocab] = {}
    for kind, names in roles.items():
        rng.shuffle(names)
        hosts[kind] = Vocab.zipf(names, 1.0)
    return {
        "path": Vocab.zipf(paths, 1.05),
        "ip": Vocab.zipf(ips, 0.9),
        "user": Vocab.zipf(users, 1.0),
        "agent": Vocab.zipf(_AGENTS, 1.4),
        "method": Vocab.weighted([("GET", 80), ("POST", 12), ("PUT", 3), ("DELETE", 2),
                                  ("HEAD", 2), ("OPTIONS", 1)]),
        "status": Vocab.weighted([(200, 80), (201, 2), (204, 2), (301, 2), (302, 2), (304, 5),
                                  (400, 1), (401, 1), (403, 1), (404, 3), (429, 0.5),
                                  (500, 0.3), (502, 0.1), (503, 0.1)]),
        "level": Vocab.weighted([("info", 74), ("debug", 8), ("warn", 12), ("error", 6)]),
        "app_msg": Vocab.zipf(_APP_MSGS, 1.0),
        "service": Vocab.zipf(_SERVICES, 0.8),
        "component": Vocab.zipf(_COMPONENTS, 0.8),
        "kv_msg": Vocab.zipf(_KV_MSGS, 0.8),
        "cron": Vocab.zipf(_CRON_CMDS, 1.0),
        **{f"host_{kind}": v for kind, v in hosts.items()},
    }


# -- fields: each makes one column of values for k lines at global positions `pos` ------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclasses.dataclass
class _Ctx:
    rng: Rng
    host: str


def _seconds(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ns = pos.astype(np.int64) * STEP_NS
    return BASE_TIME_S + ns // 1_000_000_000, (ns // 1_000_000) % 1000


def _time_column(pos: np.ndarray, fmt: Callable[[time.struct_time], str]) -> list[str]:
    secs, _ = _seconds(pos)
    uniq, inverse = np.unique(secs, return_inverse=True)
    texts = np.asarray([fmt(time.gmtime(int(s))) for s in uniq], dtype=object)
    return list(texts[inverse])


def ts_clf(ctx: _Ctx, pos: np.ndarray) -> Column:
    return _time_column(pos, lambda t: f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                                       f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")


def ts_syslog(ctx: _Ctx, pos: np.ndarray) -> Column:
    return _time_column(pos, lambda t: f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} "
                                       f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")


def ts_iso(ctx: _Ctx, pos: np.ndarray) -> Column:
    return _time_column(pos, lambda t: f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
                                       f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")


def millis(ctx: _Ctx, pos: np.ndarray) -> Column:
    return list(_seconds(pos)[1].tolist())


def host(ctx: _Ctx, pos: np.ndarray) -> Column:
    return [ctx.host] * len(pos)


def vocab(name: str) -> Callable[[_Ctx, np.ndarray], Column]:
    def field(ctx: _Ctx, pos: np.ndarray) -> Column:
        return _vocab()[name].draw(ctx.rng, len(pos))
    return field


def ints(low: int, high: int) -> Callable[[_Ctx, np.ndarray], Column]:
    def field(ctx: _Ctx, pos: np.ndarray) -> Column:
        return list(ctx.rng.integers(low, high, len(pos)).tolist())
    return field


def hex_ids(bits: int) -> Callable[[_Ctx, np.ndarray], Column]:
    def field(ctx: _Ctx, pos: np.ndarray) -> Column:
        return list(ctx.rng.integers(0, 2**bits, len(pos), dtype=np.uint64).tolist())
    return field


def lognormal(mean: float, sigma: float) -> Callable[[_Ctx, np.ndarray], Column]:
    def field(ctx: _Ctx, pos: np.ndarray) -> Column:
        return list(ctx.rng.lognormal(mean, sigma, len(pos)).tolist())
    return field


def status_size(ctx: _Ctx, pos: np.ndarray) -> Column:
    """`status size` of an access line: no body for 204 and 304."""
    status = np.asarray(_vocab()["status"].draw(ctx.rng, len(pos)), dtype=np.int64)
    size = ctx.rng.lognormal(7.5, 1.6, len(pos)).astype(np.int64)
    size[(status == 204) | (status == 304)] = 0
    return [f"{a} {b}" for a, b in zip(status.tolist(), size.tolist(), strict=True)]


def request_path(ctx: _Ctx, pos: np.ndarray) -> Column:
    """A path, one in ten with a query string."""
    paths = _vocab()["path"].draw(ctx.rng, len(pos))
    extra = ctx.rng.random(len(pos))
    pages = ctx.rng.integers(1, 40, len(pos))
    return [f"{p}?page={n}" if x < 0.1 else p
            for p, x, n in zip(paths, extra.tolist(), pages.tolist(), strict=True)]


def referer(ctx: _Ctx, pos: np.ndarray) -> Column:
    paths = _vocab()["path"].draw(ctx.rng, len(pos))
    keep = (ctx.rng.random(len(pos)) < 0.08).tolist()
    return [f"https://shop.example.com{p}" if k else "-" for p, k in zip(paths, keep, strict=True)]


def remote_user(ctx: _Ctx, pos: np.ndarray) -> Column:
    users = _vocab()["user"].draw(ctx.rng, len(pos))
    keep = (ctx.rng.random(len(pos)) < 0.05).tolist()
    return [u if k else "-" for u, k in zip(users, keep, strict=True)]


FieldFn = Callable[[_Ctx, np.ndarray], Column]


@dataclasses.dataclass(frozen=True)
class Template:
    weight: float
    fmt: str  # %-format, one conversion per field
    fields: tuple[FieldFn, ...]


def _syslog(prog: str, msg: str, *fields: FieldFn, weight: float) -> Template:
    """An RFC 3164 line: <PRI>TIMESTAMP HOSTNAME TAG: MSG."""
    return Template(weight, "<%d>%s %s " + prog + ": " + msg,
                    (ints(0, 192), ts_syslog, host, *fields))


_PID = ints(300, 65_000)
_PORT = ints(1024, 65_536)

TEMPLATES: dict[str, tuple[Template, ...]] = {
    "access": (
        Template(1.0, '%s - %s [%s] "%s %s HTTP/1.1" %s "%s" "%s"',
                 (vocab("ip"), remote_user, ts_clf, vocab("method"), request_path, status_size,
                  referer, vocab("agent"))),
    ),
    "syslog": (
        _syslog("sshd[%d]", "Accepted publickey for %s from %s port %d ssh2",
                _PID, vocab("user"), vocab("ip"), _PORT, weight=10),
        _syslog("sshd[%d]", "Failed password for invalid user %s from %s port %d ssh2",
                _PID, vocab("user"), vocab("ip"), _PORT, weight=8),
        _syslog("sshd[%d]", "Disconnected from user %s %s port %d",
                _PID, vocab("user"), vocab("ip"), _PORT, weight=6),
        _syslog("CRON[%d]", "(root) CMD (%s)", _PID, vocab("cron"), weight=15),
        _syslog("kernel", "[%d.%06d] " + _KERNEL_MSGS[0], ints(1, 9_999_999), ints(0, 10**6),
                weight=5),
        _syslog("kernel", "[%d.%06d] " + _KERNEL_MSGS[1], ints(1, 9_999_999), ints(0, 10**6),
                weight=3),
        _syslog("kernel", "[%d.%06d] " + _KERNEL_MSGS[2], ints(1, 9_999_999), ints(0, 10**6),
                weight=2),
        _syslog("kernel", "[%d.%06d] " + _KERNEL_MSGS[3], ints(1, 9_999_999), ints(0, 10**6),
                _PID, weight=1),
        _syslog("kernel", "[%d.%06d] " + _KERNEL_MSGS[4], ints(1, 9_999_999), ints(0, 10**6),
                weight=2),
        _syslog("systemd[1]", _SYSTEMD_MSGS[0], ints(1, 99_999), weight=8),
        _syslog("systemd[1]", _SYSTEMD_MSGS[2], weight=4),
        _syslog("systemd[1]", _SYSTEMD_MSGS[3], ints(1, 99_999), weight=5),
        _syslog("systemd[1]", _SYSTEMD_MSGS[5], ints(1, 9_999), weight=3),
        _syslog("postfix/smtpd[%d]", "connect from unknown[%s]", _PID, vocab("ip"), weight=5),
        _syslog("postfix/smtpd[%d]", "disconnect from unknown[%s] ehlo=1 mail=1 rcpt=1 quit=1",
                _PID, vocab("ip"), weight=3),
        _syslog("sudo", "%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl",
                vocab("user"), ints(0, 9), vocab("user"), weight=4),
        _syslog("dhclient[%d]", "DHCPACK of %s from 10.0.0.1", _PID, vocab("ip"), weight=4),
    ),
    "json": (
        Template(1.0, '{"level":"%s","msg":"%s","path":"%s","duration_ms":%.1f,"user":"%s"}',
                 (vocab("level"), vocab("app_msg"), vocab("path"),
                  lognormal(2.5, 1.2), vocab("user"))),
    ),
    "kv": (
        Template(1.0, 'ts=%s level=%s component=%s msg="%s" job=%08x items=%d took=%.0fms',
                 (ts_iso, vocab("level"), vocab("component"), vocab("kv_msg"), hex_ids(32),
                  ints(0, 5000), lognormal(4.0, 1.0))),
    ),
}


def _inject(kind: str, line: str, token: str) -> str:
    """The line with a rare token in a place that suits its format."""
    if kind == "access":
        head, sep, tail = line.partition(' HTTP/1.1"')
        joiner = "&" if "?" in head.rpartition(" ")[2] else "?"
        return f"{head}{joiner}ref={token}{sep}{tail}"
    if kind == "json":
        return line[:-1] + f',"tag":"{token}"}}'
    return f"{line} tag={token}"


# -- chunks ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One upload: `lines` lines of one kind, from one host and log file."""

    index: int
    first_line: int
    lines: int
    kind: str
    host: str
    logfile: str
    parser: str
    body: bytes  # the lines, each ending in "\n", UTF-8


class EventGenerator:
    """`total` lines in chunks of `chunk_lines`; chunk i depends only on (seed, total, i)."""

    def __init__(self, total: int, seed: int = 1, chunk_lines: int = 10_000,
                 rare: Mapping[str, int] | None = None) -> None:
        if total < 0 or chunk_lines < 1:
            raise ValueError("total must be >= 0 and chunk_lines >= 1")
        self.total = total
        self.seed = seed
        self.chunk_lines = chunk_lines
        self.rare = dict(RARE_TOKENS if rare is None else rare)
        rng = np.random.default_rng([seed, 0x7A3B])
        want = [min(n, total) for n in self.rare.values()]
        picked = np.asarray(rng.choice(total, size=min(sum(want), total), replace=False)
                            if total else [], dtype=np.int64)
        self.rare_positions: dict[str, np.ndarray] = {}
        start = 0
        for token, n in zip(self.rare, want, strict=True):
            self.rare_positions[token] = np.sort(picked[start:start + n])
            start += n

    @property
    def n_chunks(self) -> int:
        return -(-self.total // self.chunk_lines)

    def chunk_kind(self, index: int) -> str:
        """Kinds by a low-discrepancy sequence: every stretch of chunks has the intended mix."""
        x = (index * 0.6180339887498949 + self.seed * 0.7548776662466927) % 1.0
        cumulative = np.cumsum(KIND_WEIGHTS)
        return KINDS[min(int(np.searchsorted(cumulative, x, side="right")), len(KINDS) - 1)]

    def chunk(self, index: int) -> Chunk:
        if not 0 <= index < self.n_chunks:
            raise IndexError(index)
        first = index * self.chunk_lines
        n = min(self.chunk_lines, self.total - first)
        rng = np.random.default_rng([self.seed, index])
        kind = self.chunk_kind(index)
        vocabs = _vocab()
        host_name = str(vocabs[f"host_{kind}"].draw_one(rng))
        if kind == "access":
            server = "nginx" if host_name.startswith("lb") or rng.random() < 0.6 else "apache2"
            logfile = f"/var/log/{server}/access.log"
        elif kind == "syslog":
            logfile = "/var/log/syslog"
        elif kind == "json":
            logfile = f"/var/log/app/{host_name.split('-')[1]}.log"
        else:
            logfile = f"/var/log/{vocabs['component'].draw_one(rng)}/worker.log"

        ctx = _Ctx(rng, host_name)
        pos = np.arange(first, first + n, dtype=np.int64)
        templates = TEMPLATES[kind]
        lines: list[str]
        if len(templates) == 1:
            lines = _render(templates[0], ctx, pos)
        else:
            weights = np.cumsum([t.weight for t in templates], dtype=np.float64)
            which = np.searchsorted(weights / weights[-1], rng.random(n), side="right")
            lines = [""] * n
            for t, template in enumerate(templates):
                where = np.flatnonzero(which == t)
                if len(where):
                    for i, text in zip(where.tolist(), _render(template, ctx, pos[where]),
                                       strict=True):
                        lines[i] = text
        for token, positions in self.rare_positions.items():
            lo, hi = np.searchsorted(positions, [first, first + n])
            for p in positions[lo:hi].tolist():
                lines[p - first] = _inject(kind, lines[p - first], token)
        body = ("\n".join(lines) + "\n").encode() if lines else b""
        return Chunk(index, first, n, kind, host_name, logfile, PARSERS[kind], body)

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(self.n_chunks):
            yield self.chunk(i)


def _render(template: Template, ctx: _Ctx, pos: np.ndarray) -> list[str]:
    columns = [f(ctx, pos) for f in template.fields]
    return list(map(template.fmt.__mod__, zip(*columns, strict=True)))


def generate_lines(n: int, seed: int = 1, chunk_lines: int = 10_000) -> list[str]:
    """`n` lines (without line ends) in order, for tests and small uses."""
    out: list[str] = []
    for chunk in EventGenerator(n, seed, chunk_lines):
        out += chunk.body.decode().splitlines()
    return out


def count_lines_containing(body: bytes, term: str) -> int:
    """Lines of `body` that contain `term`, ignoring ASCII case: what a text search counts."""
    needle = term.lower().encode()
    return sum(needle in line for line in body.lower().split(b"\n"))


# -- command line ------------------------------------------------------------------------------


def write(gen: EventGenerator, out: TextIO | Path, manifest: Path | None = None) -> dict[str, Any]:
    """Write every chunk to `out` (a path or a text stream); returns the stats (and manifest)."""
    started = time.perf_counter()
    chunks: list[dict[str, Any]] = []
    kinds: dict[str, int] = dict.fromkeys(KINDS, 0)
    offset = 0
    stream = out.open("wb") if isinstance(out, Path) else None
    try:
        for chunk in gen:
            if stream is not None:
                stream.write(chunk.body)
            else:
                assert not isinstance(out, Path)
                out.write(chunk.body.decode())
            chunks.append({"index": chunk.index, "offset": offset, "bytes": len(chunk.body),
                           "lines": chunk.lines, "kind": chunk.kind, "host": chunk.host,
                           "logfile": chunk.logfile, "parser": chunk.parser})
            kinds[chunk.kind] += chunk.lines
            offset += len(chunk.body)
    finally:
        if stream is not None:
            stream.close()
    stats = {"events": gen.total, "seed": gen.seed, "chunk_lines": gen.chunk_lines,
             "bytes": offset, "mean_line_bytes": round(offset / max(1, gen.total), 1),
             "lines_by_kind": kinds, "rare_tokens": {t: len(p) for t, p in
                                                     gen.rare_positions.items()},
             "absent_term": ABSENT_TERM, "seconds": round(time.perf_counter() - started, 2)}
    if manifest is not None:
        manifest.write_text(json.dumps({**stats, "chunks": chunks}, indent=1))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deterministic realistic log lines.")
    parser.add_argument("--events", type=int, default=1_000_000, help="lines to make")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-lines", type=int, default=10_000,
                        help="lines per chunk (one upload: one host, log file and kind)")
    parser.add_argument("--out", default="-", help="file to write, or - for stdout")
    parser.add_argument("--manifest", type=Path,
                        help="JSON with each chunk's offset, lines, host, logfile, parser "
                             "(default: OUT.manifest.json when OUT is a file)")
    args = parser.parse_args(argv)
    gen = EventGenerator(args.events, args.seed, args.chunk_lines)
    if args.out == "-":
        stats = write(gen, sys.stdout, args.manifest)
    else:
        out = Path(args.out)
        stats = write(gen, out, args.manifest or out.with_name(out.name + ".manifest.json"))
    print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
