"""The search page (`/`) and the JSON it reads: matches, the histogram, the facets.

The JSON endpoints run the public API's own query functions (`search`, `numeric_values`,
`facet`) on the query pool, for the signed-in account only, and report a bad filter with the
API's message (`filter: unexpected ')' at column 17; …`).

    GET /ui/api/search?filter&start&end[&continuationToken]   newest matches first, 100 a page
    GET /ui/api/histogram?filter&start&end&buckets             matches per bucket
    GET /ui/api/facets?filter&start&end&fields=a,b             top values of common fields
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from millpond.errors import BadParam
from millpond.query import time_range
from millpond.query.filter import Compare, Field, Node, Or
from millpond.query.numeric import numeric_values, parse_function
from millpond.query.search import (
    Page,
    decode_token,
    encode_token,
    facet,
    query_fingerprint,
    search,
)
from millpond.query.sql import Scope
from millpond.ui.rows import clause, event_row
from millpond.ui.site import Site, User
from millpond.web.context import Context
from millpond.web.query import filter_param, int_param, str_param, timed
from millpond.web.responses import json_response

PAGE_SIZE = 100
DEFAULT_START = "24h"
PRESETS = ("10m", "1h", "4h", "24h", "7d")
DEFAULT_BUCKETS = 60
MAX_BUCKETS = 500
# Facets the side panel always shows; the page adds the commonest attributes of its results.
FIXED_FACETS = ("serverHost", "logfile", "parser", "severity")
MAX_EXTRA_FACETS = 6
FACET_VALUES = 5


async def search_page(site: Site, request: Request, user: User) -> Response:
    params = request.query_params
    return site.render(
        "search.html", request, user,
        filter=params.get("filter", ""), start=params.get("start", ""),
        end=params.get("end", ""), presets=PRESETS, default_start=DEFAULT_START,
    )


def _params(request: Request) -> dict[str, Any]:
    return {k: v for k, v in request.query_params.items() if v.strip()}


def _scope(request: Request, user: User, params: dict[str, Any]) -> Scope:
    """The signed-in account, the filter, and [start, end): start alone runs until now."""
    ctx: Context = request.app.state.ctx
    node = filter_param(params)
    span = time_range(
        params.get("start", DEFAULT_START), params.get("end"), now_ns=ctx.clock.now_ns(),
        end_defaults_to_now=True,
    )
    if span.end_ns == span.start_ns:
        raise BadParam("the time range is empty: give an end after the start")
    return Scope(user.principal.account_id, span.start_ns, span.end_ns, node)


def _filter_info(node: Node | None) -> dict[str, Any]:
    # The page joins a clicked clause to the filter; an `or` at the top needs parentheses.
    return {"text": "" if node is None else str(node), "or": isinstance(node, Or)}


async def search_api(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    params = _params(request)
    node = filter_param(params)
    fingerprint = query_fingerprint(user.principal.account_id, ["ui", str(node)])
    token = str_param(params, "continuationToken")
    if token is not None:
        page = decode_token(token, fingerprint)
        scope = Scope(user.principal.account_id, page.start_ns, page.end_ns, node)
    else:
        scope = _scope(request, user, params)
        page = Page(scope.start_ns, scope.end_ns, newest_first=True)
    (events, sessions), timing = await timed(
        ctx.queries, search, ctx.store, scope, page, PAGE_SIZE,
        ctx.settings.query_timeout_seconds,
    )
    body: dict[str, Any] = {
        "status": "success",
        "range": {"start": str(page.start_ns), "end": str(page.end_ns)},
        "filter": _filter_info(node),
        "matches": [event_row(e, sessions.get(e.session, {})) for e in reversed(events)],
        **timing,
    }
    if len(events) == PAGE_SIZE:
        oldest = events[0]
        body["continuationToken"] = encode_token(
            Page(page.start_ns, page.end_ns, True, (oldest.ts, oldest.seq)), fingerprint
        )
    return json_response(body)


async def histogram_api(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    params = _params(request)
    scope = _scope(request, user, params)
    buckets = int_param(params, "buckets", DEFAULT_BUCKETS, 1, MAX_BUCKETS)
    values, timing = await timed(
        ctx.queries, numeric_values, ctx.store, scope, parse_function("count"), buckets,
        ctx.settings.query_timeout_seconds,
    )
    return json_response({
        "status": "success",
        "range": {"start": str(scope.start_ns), "end": str(scope.end_ns)},
        "counts": [0 if v is None else v for v in values],
        **timing,
    })


async def facets_api(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    params = _params(request)
    scope = _scope(request, user, params)
    extra = [f.strip().removeprefix("$") for f in params.get("fields", "").split(",")]
    names = list(dict.fromkeys([*FIXED_FACETS, *(f for f in extra if f)]))
    if len(names) > len(FIXED_FACETS) + MAX_EXTRA_FACETS:
        raise BadParam(f"fields names at most {MAX_EXTRA_FACETS} fields")
    loop = asyncio.get_running_loop()
    timeout = ctx.settings.query_timeout_seconds
    results = await asyncio.gather(*(
        loop.run_in_executor(
            ctx.queries, functools.partial(facet, ctx.store, scope, name, FACET_VALUES, timeout)
        )
        for name in names
    ))
    facets = []
    total = 0
    for name, (values, matched) in zip(names, results, strict=True):
        total = max(total, matched)
        facets.append({
            "field": name,
            "values": [
                {"value": value, "count": count, "clause": _facet_clause(name, value)}
                for value, count in values
            ],
        })
    return json_response({"status": "success", "matchCount": total, "facets": facets})


def _facet_clause(name: str, value: str) -> str:
    # Facet values arrive as text; compared as text they match exactly what was counted
    # (`code == "0500"` is not `code == 500`). Severity is a number column.
    if name == "severity" and value.isdigit():
        return clause(name, int(value))
    return str(Compare(Field(name), "==", value))
