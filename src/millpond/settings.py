"""Every setting of millpond, as one table.

The table drives the `millpond serve` flags, the `MILLPOND_*` environment variables and the
settings table in the README (a test checks that they agree). This module is the only reader
of the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    type: type
    help: str

    @property
    def env(self) -> str:
        return "MILLPOND_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "./millpond-data", str,
            "Directory holding the database file and the admin socket."),
    Setting("host", "127.0.0.1", str, "Address to listen on."),
    Setting("port", 8080, int, "TCP port to listen on."),
    Setting("tls_cert", "", str,
            "PEM certificate (chain) file; with --tls-key, serve HTTPS instead of HTTP."),
    Setting("tls_key", "", str, "PEM private key file for --tls-cert."),
    Setting("retention_days", 30, int,
            "Delete events older than this many days (0 keeps everything)."),
    Setting("nonce_window_seconds", 600, int,
            "How long a uploadLogs Nonce is remembered; a repeat within it stores nothing "
            "(at least 60)."),
    Setting("max_body_bytes", 8 * MiB, int,
            "Largest request body, after decompression; larger gets 413 requestTooLarge."),
    Setting("max_line_bytes", 256 * 1024, int,
            "Longest uploadLogs line in bytes; a request with a longer line gets 400 badParam."),
    Setting("daily_quota_bytes", 10_000_000_000, int,
            "Bytes each account may ingest per UTC day (0 = unlimited); past it, 429 backoff."),
    Setting("rate_limit", 10_000, float,
            "Ingest requests per second allowed per account (0 = unlimited); past it, 429."),
    Setting("rate_burst", 20_000, int,
            "Requests an account may send at once before --rate-limit applies."),
    Setting("commit_max_rows", 100_000, int,
            "Most events written in one group-commit transaction."),
    Setting("memory_limit", "80MB", str,
            "Memory DuckDB may use for its buffers (e.g. '80MB', '2GB'); past it, it spills "
            "to disk."),
    Setting("checkpoint_threshold", "64MB", str,
            "Write-ahead-log size at which DuckDB folds it into the database file."),
    Setting("text_compression", "zstd", str,
            "How a new data directory compresses messages and attributes: 'zstd' (about 40% "
            "smaller files) or 'auto' (DuckDB's own dictionary/FSST choice). An "
            "existing data directory keeps what it was created with."),
    Setting("text_index", "on", str,
            "Build the trigram index that lets searches for rare text skip most blocks: 'on' "
            "or 'off' (more ingest throughput; every text search then reads every message)."),
    Setting("query_timeout_seconds", 30.0, float,
            "A query running longer than this is cancelled."),
    Setting("query_nice", 10, int,
            "How far below ingestion queries run in CPU priority (Linux nice steps, 0-19; "
            "0: equal). Idle cores still run queries at full speed."),
    Setting("log_level", "info", str, "Server log level: debug, info, warning or error."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    data_dir: str = "./millpond-data"
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str = ""
    tls_key: str = ""
    retention_days: int = 30
    nonce_window_seconds: int = 600
    max_body_bytes: int = 8 * MiB
    max_line_bytes: int = 256 * 1024
    daily_quota_bytes: int = 10_000_000_000
    rate_limit: float = 10_000
    rate_burst: int = 20_000
    commit_max_rows: int = 100_000
    memory_limit: str = "80MB"
    checkpoint_threshold: str = "64MB"
    text_compression: str = "zstd"
    text_index: str = "on"
    query_timeout_seconds: float = 30.0
    query_nice: int = 10
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.nonce_window_seconds < 60:
            raise ValueError("nonce_window_seconds must be at least 60")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("--tls-cert and --tls-key must be given together")
        for name in ("max_body_bytes", "max_line_bytes", "commit_max_rows"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not 0 <= self.query_nice <= 19:
            raise ValueError("query_nice must be from 0 to 19")
        if self.text_compression not in ("zstd", "auto"):
            raise ValueError("text_compression must be 'zstd' or 'auto'")
        if self.text_index not in ("on", "off"):
            raise ValueError("text_index must be 'on' or 'off'")
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ValueError("log_level must be one of debug, info, warning, error")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_path(self) -> Path:
        return self.data_path / "millpond.duckdb"

    @property
    def admin_socket_path(self) -> Path:
        return self.data_path / "admin.sock"

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def convert(setting: Setting, raw: str) -> Any:
    """Turn the text of a flag or environment variable into the setting's type."""
    try:
        return setting.type(raw)
    except ValueError:
        raise ValueError(
            f"{setting.env}={raw!r} is not a valid {setting.type.__name__}"
        ) from None


def from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from `MILLPOND_*` variables, with explicit overrides (e.g. CLI flags) on top."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.name] = convert(setting, env[setting.env])
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(_BY_NAME)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    return Settings(**values)


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A non-setting `MILLPOND_*` variable (for the client commands: URL, token)."""
    env = os.environ if environ is None else environ
    return env.get(name)
