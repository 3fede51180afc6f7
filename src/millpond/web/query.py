"""`/api/query` and `/api/facetQuery` (spec §3.3, §3.5), GET and POST, and their parameters."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from millpond.accounts import Permission
from millpond.errors import BadParam
from millpond.query import TimeRange, time_range
from millpond.query.filter import Node, parse_filter
from millpond.query.search import (
    Event,
    Page,
    decode_token,
    encode_token,
    facet,
    query_fingerprint,
    search,
)
from millpond.query.sql import Scope
from millpond.web.auth import bearer_token
from millpond.web.context import Context
from millpond.web.responses import json_response

MAX_COUNT = 5000
DEFAULT_COUNT = 100


async def request_params(request: Request) -> dict[str, Any]:
    """Parameters from the JSON body (POST) or the URL (GET); empty strings mean "not given"."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadParam(f"the request body is not valid JSON ({exc})") from None
            if not isinstance(decoded, dict):
                raise BadParam("the request body must be a JSON object of parameters")
            params.update(decoded)
    return {k: v for k, v in params.items() if not (isinstance(v, str) and v == "")}


def request_token(request: Request, params: dict[str, Any]) -> str | None:
    token = bearer_token(request.scope["headers"])
    if token:
        return token
    value = params.get("token")
    return value if isinstance(value, str) else None


def int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    # int() would quietly turn 2.5 into 2 and true into 1.
    fraction = isinstance(value, float) and not value.is_integer()
    try:
        if isinstance(value, bool) or fraction:
            raise ValueError(value)
        number = int(value)
    except (TypeError, ValueError):
        raise BadParam(
            f"{name} must be a whole number from {low} to {high}, not {value!r}"
        ) from None
    if not low <= number <= high:
        raise BadParam(f"{name} must be from {low} to {high}, not {number}")
    return number


def filter_param(params: dict[str, Any], name: str = "filter") -> Node | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadParam(f"{name} must be a string in the filter language, not {value!r}")
    try:
        return parse_filter(value)
    except BadParam as exc:
        raise BadParam(f"{name}: {exc.message}") from None


def str_param(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise BadParam(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadParam(f"{name} must be a string, not {value!r}")
    return value


def span_param(
    params: dict[str, Any], now_ns: int, *, end_defaults_to_now: bool = False
) -> TimeRange:
    """The query's [startTime, endTime), by the defaults of `time_range`."""
    return time_range(
        params.get("startTime"), params.get("endTime"), now_ns=now_ns,
        end_defaults_to_now=end_defaults_to_now,
    )


async def timed(
    pool: concurrent.futures.Executor, run: Any, *args: Any
) -> tuple[Any, dict[str, int]]:
    """Run a blocking query on the query pool: its result, and `executionTime`/`cpuUsage`."""
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    result, cpu = await loop.run_in_executor(pool, functools.partial(_with_cpu, run, *args))
    return result, {
        "executionTime": int((time.perf_counter() - started) * 1000),
        "cpuUsage": cpu,
    }


def _with_cpu(run: Any, *args: Any) -> tuple[Any, int]:
    # DuckDB works on threads of its own; process time counts theirs as well.
    cpu_started = time.process_time()
    result = run(*args)
    return result, int((time.process_time() - cpu_started) * 1000)


async def query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)

    node = filter_param(params)
    max_count = int_param(params, "maxCount", DEFAULT_COUNT, 1, MAX_COUNT)
    default_mode = "head" if params.get("startTime") is not None else "tail"
    page_mode = params.get("pageMode") or default_mode
    if page_mode not in ("head", "tail"):
        raise BadParam(f"pageMode must be 'head' or 'tail', not {page_mode!r}")
    columns = _columns(params.get("columns"))
    fingerprint = query_fingerprint(
        principal.account_id,
        [str(node), params.get("startTime"), params.get("endTime"), page_mode],
    )
    token = str_param(params, "continuationToken")
    if token is not None:
        page = decode_token(token, fingerprint)
    else:
        span = span_param(params, ctx.clock.now_ns())
        page = Page(span.start_ns, span.end_ns, newest_first=page_mode == "tail")
    scope = Scope(principal.account_id, page.start_ns, page.end_ns, node)
    (events, sessions), timing = await timed(
        ctx.queries, search, ctx.store, scope, page, max_count,
        ctx.settings.query_timeout_seconds,
    )
    body: dict[str, Any] = {
        "status": "success",
        "matches": [_match(e, sessions.get(e.session, {}), columns) for e in events],
        "sessions": sessions,
        **timing,
    }
    if len(events) == max_count:
        # A full page: more may follow, past the last event read in this direction.
        edge = events[0] if page.newest_first else events[-1]
        body["continuationToken"] = encode_token(
            Page(page.start_ns, page.end_ns, page.newest_first, (edge.ts, edge.seq)),
            fingerprint,
        )
    return json_response(body)


MAX_FACET_COUNT = 1000


async def facet_query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)
    node = filter_param(params)
    name = str_param(params, "field", required=True)
    assert name is not None
    if name.startswith("$"):
        name = name[1:]
    max_count = int_param(params, "maxCount", DEFAULT_COUNT, 1, MAX_FACET_COUNT)
    span = span_param(params, ctx.clock.now_ns(), end_defaults_to_now=True)
    scope = Scope(principal.account_id, span.start_ns, span.end_ns, node)
    (values, total), timing = await timed(
        ctx.queries, facet, ctx.store, scope, name, max_count, ctx.settings.query_timeout_seconds
    )
    return json_response(
        {
            "status": "success",
            "values": [{"value": v, "count": c} for v, c in values],
            "matchCount": total,
            **timing,
        }
    )


def _columns(value: Any) -> list[str] | None:
    if value is None:
        return None
    names = value if isinstance(value, list) else str(value).split(",")
    cleaned = [str(n).strip().removeprefix("$") for n in names if str(n).strip()]
    return cleaned or None


# Keys of a match itself; every other column is looked up as a field into `attributes`.
_MATCH_KEYS = ("timestamp", "message", "severity", "session", "thread")


def _match(
    event: Event, session: Mapping[str, Any], columns: list[str] | None
) -> dict[str, Any]:
    match: dict[str, Any] = {
        "timestamp": str(event.ts),
        "message": event.message or "",
        "severity": int(event.severity),
        "session": event.session or "",
        "thread": event.thread or "",
    }
    if columns is None:
        attributes: dict[str, Any] = dict(event.attrs)
        if event.logfile is not None:
            attributes.setdefault("logfile", event.logfile)
        if event.parser is not None:
            attributes.setdefault("parser", event.parser)
        match["attributes"] = attributes
        return match
    wanted = set(columns)
    match = {k: v for k, v in match.items() if k in wanted}
    special = {"serverHost": event.server_host, "logfile": event.logfile,
               "parser": event.parser}
    attributes = {}
    for name in columns:
        if name in _MATCH_KEYS:
            continue
        if name in event.attrs:
            attributes[name] = event.attrs[name]
        elif special.get(name) is not None:
            attributes[name] = special[name]
        elif name in session and name != "session":
            attributes[name] = session[name]
    match["attributes"] = attributes
    return match
