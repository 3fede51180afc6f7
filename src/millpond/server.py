"""`millpond serve`: open the store, bootstrap a new data directory, serve HTTP(S) and admin."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import TextIO

import pyarrow as pa
import uvicorn

from millpond.accounts import NewToken, Registry
from millpond.admin import create_admin_app, prepare_socket
from millpond.errors import ServerError
from millpond.settings import Settings
from millpond.store import DuckDBStore, StoreLocked
from millpond.web import create_app

log = logging.getLogger("millpond")


def banner(settings: Settings, tokens: list[NewToken], out: TextIO) -> None:
    """What a new user needs: the address, and on first start the two tokens (shown once)."""
    url = settings.base_url
    print(f"millpond is serving {url} (data in {settings.data_dir})", file=out)
    if tokens:
        print("\nA new data directory: created the account 'default' and two API tokens.", file=out)
        print("They are shown only this once (millpond keeps only their hashes):\n", file=out)
        for t in tokens:
            print(f"  {t.record.kind:<11} {t.secret}", file=out)
        write = next(t.secret for t in tokens if t.record.kind == "write-logs")
        print(
            "\nTry it:\n"
            f"  curl '{url}/api/uploadLogs?token={write}' -H 'Content-Type: text/plain' "
            "-d 'hello, world'\n"
            f"then open {url}/ and sign in with the read-logs token.\n",
            file=out,
        )
    else:
        default_dir = settings.data_dir == "./millpond-data"
        data_flag = "" if default_dir else f" --data-dir {settings.data_dir}"
        print(
            f"Create an API token with:  millpond token create --kind write-logs{data_flag}",
            file=out,
        )
    out.flush()


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _memory()
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    store = DuckDBStore.from_settings(settings)
    try:
        store.open()
    except StoreLocked:
        raise ServerError(
            f"another process has the database in {settings.data_dir} open; is millpond "
            "already running? Stop it, or pass another --data-dir"
        ) from None
    try:
        registry = Registry(store)
        registry.load()
        app = create_app(settings, store=store, registry=registry)
        # Listen before bootstrapping, so a port in use fails before tokens are shown (once).
        http_sock = _listen(settings)
        admin_sock = prepare_socket(settings.admin_socket_path)
        tokens = registry.bootstrap() if not registry.list_accounts() else []
        banner(settings, tokens, sys.stdout)
        _tune_gc()
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_run(settings, app, registry, http_sock, admin_sock))
    finally:
        store.close()


def _listen(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        return socket.create_server((settings.host, settings.port), family=family, backlog=2048)
    except OSError as exc:
        raise ServerError(
            f"cannot listen on {settings.host}:{settings.port} ({os.strerror(exc.errno or 0)}); "
            "is another server using that port? Stop it or pass --port"
        ) from None


async def _run(
    settings: Settings,
    app: object,
    registry: Registry,
    http_sock: socket.socket,
    admin_sock: socket.socket,
) -> None:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        ssl_certfile=settings.tls_cert or None,
        ssl_keyfile=settings.tls_key or None,
        http="httptools",
        # Access logs would write the `?token=` of every uploadLogs URL to the log: never.
        access_log=False,
        log_level=settings.log_level,
        timeout_keep_alive=60,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the SIGTERM/SIGINT it caught once it has shut down, which would end the
    # process before the admin socket is removed and the store closed: handle them here.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _request_exit, server)
    socket_path = settings.admin_socket_path
    # uvicorn's loggers are process-wide: no log_config or log_level here, or this config
    # would override the --log-level the main server's config just set.
    admin = uvicorn.Server(
        uvicorn.Config(create_admin_app(registry), access_log=False, log_config=None,
                       log_level=None, lifespan="off")
    )
    admin.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
    admin_task = asyncio.create_task(admin.serve(sockets=[admin_sock]))
    # uvicorn does not announce sockets handed to it; say where we listen (debug: the socket too).
    log.info("millpond listening on %s", settings.base_url)
    log.debug("admin socket at %s", socket_path)
    try:
        await server.serve(sockets=[http_sock])
    finally:
        admin.should_exit = True
        await admin_task
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()


def _request_exit(server: uvicorn.Server) -> None:
    # As uvicorn's own handler: a second signal stops waiting for open connections.
    server.force_exit = server.should_exit
    server.should_exit = True


def _memory() -> None:
    """Give freed memory back to the system sooner. Peak RSS under `benchmarks/run.py`: 319 ->
    285 MB for addevents, 335 -> 288 MB for parse-access, throughput unchanged within the
    noise (docs/performance.md, "Memory").

    - Arrow's buffers (each request's columns, a commit group's table) come from the C
      library's malloc, not pyarrow's bundled mimalloc, which kept them resident:
      ARROW_DEFAULT_MEMORY_POOL, if set, still decides.
    - glibc's malloc trims the top of a heap once 1 MB of it is free, instead of a threshold
      that grows with the largest block freed (up to 64 MB per heap, with a heap per busy
      thread); a MALLOC_TRIM_THRESHOLD_ in the environment still decides.
    """
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
    if sys.platform.startswith("linux") and not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
TRIM_THRESHOLD = 1024 * 1024


def _tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the request path.

    With the default thresholds (700, 10, 10) every hundredth young collection is a full one,
    which rescans the ~46k objects made at import time while the event loop waits. Objects
    alive now live as long as the process: freeze them, then collect young objects in larger
    batches. Single-line upload bench: ~4.3k -> ~4.7k req/s, p99 ~31 -> ~18 ms
    (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
