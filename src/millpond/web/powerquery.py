"""`/api/powerQuery` (spec §3.7), GET and POST: a PowerQuery over a time range, as a table."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from millpond.accounts import Permission
from millpond.errors import BadParam
from millpond.query import time_range
from millpond.query.powerquery import PowerQuery, parse_powerquery
from millpond.query.powerquery_sql import run_powerquery
from millpond.query.sql import Scope
from millpond.web.context import Context
from millpond.web.query import request_params, request_token, str_param, timed
from millpond.web.responses import json_response


def _query_param(params: dict[str, Any]) -> PowerQuery:
    text = str_param(params, "query")
    if text is None and "filter" in params:
        raise BadParam("powerQuery takes its query in the parameter 'query', not 'filter': "
                       "query=\"<filter> | group count() by serverHost\"")
    try:
        return parse_powerquery(text or "")
    except BadParam as exc:
        raise BadParam(f"query: {exc.message}") from None


async def power_query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)
    query = _query_param(params)
    span = time_range(params.get("startTime"), params.get("endTime"), now_ns=ctx.clock.now_ns())
    scope = Scope(principal.account_id, span.start_ns, span.end_ns, query.search)
    try:
        result, timing = await timed(
            ctx.queries,
            run_powerquery, ctx.store, query, scope, ctx.settings.query_timeout_seconds
        )
    except BadParam as exc:  # unknown columns, wrong kinds: found as it compiles
        raise BadParam(f"query: {exc.message}") from None
    return json_response(
        {
            "status": "success",
            "matchingEvents": result.matching,
            "omittedEvents": result.omitted,
            "columns": [{"name": name} for name in result.columns],
            "values": result.values,
            "warnings": list(result.warnings),
            **timing,
        }
    )
