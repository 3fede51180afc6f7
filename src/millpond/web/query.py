"""`/api/query` (spec §3.3), GET and POST. The filter is the text subset of query/text.py."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from millpond.accounts import Permission
from millpond.errors import BadParam
from millpond.query import parse_text_filter, time_range
from millpond.store.base import EventQuery, StoredEvent
from millpond.web.auth import bearer_token
from millpond.web.context import Context
from millpond.web.responses import json_response

MAX_COUNT = 5000
DEFAULT_COUNT = 100
BUILT_INS = ("timestamp", "message", "severity", "session", "thread")


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


def _int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
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


async def query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    started = time.perf_counter()
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)

    filter_text = params.get("filter", "")
    if not isinstance(filter_text, str):
        raise BadParam("filter must be a string")
    terms = parse_text_filter(filter_text)
    span = time_range(params.get("startTime"), params.get("endTime"), now_ns=ctx.clock.now_ns())
    max_count = _int_param(params, "maxCount", DEFAULT_COUNT, 1, MAX_COUNT)
    default_mode = "head" if params.get("startTime") is not None else "tail"
    page_mode = params.get("pageMode") or default_mode
    if page_mode not in ("head", "tail"):
        raise BadParam(f"pageMode must be 'head' or 'tail', not {page_mode!r}")
    columns = _columns(params.get("columns"))

    event_query = EventQuery(
        account_id=principal.account_id,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        limit=max_count,
        newest_first=page_mode == "tail",
        message_contains=terms,
    )
    cpu_started = time.process_time()
    events, sessions = await run_in_threadpool(
        ctx.store.query_events, event_query, ctx.settings.query_timeout_seconds
    )
    cpu_ms = int((time.process_time() - cpu_started) * 1000)
    body = {
        "status": "success",
        "matches": [_match(e, columns) for e in events],
        "sessions": {sid: {**fields, "session": sid} for sid, fields in sessions.items()},
        "executionTime": int((time.perf_counter() - started) * 1000),
        "cpuUsage": cpu_ms,
    }
    return json_response(body)


def _columns(value: Any) -> list[str] | None:
    if value is None:
        return None
    names = value if isinstance(value, list) else str(value).split(",")
    cleaned = [str(n).strip() for n in names if str(n).strip()]
    return cleaned or None


def _match(event: StoredEvent, columns: list[str] | None) -> dict[str, Any]:
    attributes: dict[str, Any] = dict(event.attrs)
    if event.logfile is not None:
        attributes.setdefault("logfile", event.logfile)
    if event.parser is not None:
        attributes.setdefault("parser", event.parser)
    match: dict[str, Any] = {
        "timestamp": str(event.ts),
        "message": event.message or "",
        "severity": int(event.severity),
        "session": event.session or "",
        "thread": event.thread or "",
    }
    if columns is not None:
        wanted = set(columns)
        match = {k: v for k, v in match.items() if k in wanted}
        attributes = {k: v for k, v in attributes.items() if k in wanted}
    match["attributes"] = attributes
    return match
