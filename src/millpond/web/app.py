"""The ASGI application: `create_app(settings, *, store=None, clock=None)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from millpond.accounts import Registry
from millpond.clock import Clock, SystemClock
from millpond.errors import MethodNotAllowed, MillpondError, NotFound, ServerError
from millpond.housekeeping import housekeeping_loop
from millpond.settings import Settings
from millpond.store import DuckDBStore
from millpond.store.base import Store
from millpond.ui import ui_routes
from millpond.web.addevents import AddEvents
from millpond.web.configfiles import get_file, list_files, put_file
from millpond.web.context import Context
from millpond.web.numeric import create_timeseries, numeric_query, timeseries_query
from millpond.web.powerquery import power_query
from millpond.web.query import facet_query, query
from millpond.web.responses import error_response, json_response, wants_always200
from millpond.web.uploadlogs import UploadLogs

log = logging.getLogger("millpond.web")


async def health(request: Request) -> Response:
    return json_response({"status": "success"})


async def _millpond_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MillpondError)
    return error_response(exc, wants_always200(request.scope["headers"]))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: MillpondError
    if exc.status_code == 404:
        error = NotFound(
            f"there is no API at {request.url.path}; see the README for the endpoints "
            "(e.g. POST /api/uploadLogs, /api/query)"
        )
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
    else:
        error = ServerError(str(exc.detail))
    return error_response(error, wants_always200(request.scope["headers"]))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ServerError("millpond hit an internal error; it is logged on the server; retry")
    return error_response(error, wants_always200(request.scope["headers"]))


class _App(Starlette):
    """Starlette, with the hot ingest paths dispatched before its routing and middleware.

    Routing, middleware and the wrapped `send` cost ~10% of the event loop on one-line uploads;
    the raw endpoints need none of them. They stay in `routes` too, so the API reads as one list.
    """

    def __init__(self, hot: dict[str, ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hot = hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self._hot.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    registry: Registry | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The millpond HTTP API. Given no store, it opens (and closes) the one in settings.data_dir."""
    clock = clock or SystemClock()
    owns_store = store is None
    the_store: Store = store or DuckDBStore.from_settings(settings, clock)
    the_registry = registry or Registry(the_store, clock)
    ctx = Context.build(settings, the_store, the_registry, clock)
    upload_logs = UploadLogs(ctx)
    add_events = AddEvents(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owns_store:
            the_store.open()
        if registry is None:
            the_registry.load()
        task = asyncio.create_task(housekeeping_loop(ctx))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            the_registry.flush_last_used()
            ctx.queries.shutdown(wait=True, cancel_futures=True)
            if owns_store:
                the_store.close()

    routes = [
        Route("/api/uploadLogs", upload_logs, methods=None),
        Route("/uploadLogs", upload_logs, methods=None),
        Route("/api/addEvents", add_events, methods=None),
        Route("/addEvents", add_events, methods=None),
        Route("/api/query", query, methods=["GET", "POST"]),
        Route("/api/facetQuery", facet_query, methods=["GET", "POST"]),
        Route("/api/numericQuery", numeric_query, methods=["GET", "POST"]),
        Route("/api/timeseriesQuery", timeseries_query, methods=["GET", "POST"]),
        Route("/api/createTimeseries", create_timeseries, methods=["POST"]),
        Route("/api/powerQuery", power_query, methods=["GET", "POST"]),
        # scalyr-tool and the Java client use the paths without /api/ (§0.1).
        Route("/getFile", get_file, methods=["GET", "POST"]),
        Route("/api/getFile", get_file, methods=["GET", "POST"]),
        Route("/putFile", put_file, methods=["GET", "POST"]),
        Route("/api/putFile", put_file, methods=["GET", "POST"]),
        Route("/listFiles", list_files, methods=["GET", "POST"]),
        Route("/api/listFiles", list_files, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        # The web UI: pages at /, /login, /keys, /parsers, /usage; its JSON under /ui/.
        *ui_routes(settings),
    ]
    app = _App(
        {
            "/api/uploadLogs": upload_logs,
            "/uploadLogs": upload_logs,
            "/api/addEvents": add_events,
            "/addEvents": add_events,
        },
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            MillpondError: _millpond_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.ctx = ctx
    return app
