"""`/api/numericQuery`, `/api/timeseriesQuery` and `/api/createTimeseries` (spec §3.4, §3.6).

Times: `endTime` defaults to now (§3.4), and `startTime` — required by the spec — defaults to
24 hours before `endTime`, because the Java client leaves it out when its caller passes null.

A timeseries query is evaluated exactly like a numeric query, every time: nothing is
precomputed, so `createSummaries` and `onlyUseSummaries` change nothing and every result
reports `foundExistingSeries: true`. The ids of `/api/createTimeseries` encode their
definition (see `millpond.query.numeric.timeseries_id`), so nothing is stored either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from millpond.accounts import Permission
from millpond.errors import BadParam, QueryTimeout
from millpond.query.filter import Node
from millpond.query.numeric import (
    MAX_BUCKETS,
    Expr,
    Number,
    numeric_values,
    parse_function,
    timeseries_definition,
    timeseries_id,
)
from millpond.query.search import Reader
from millpond.query.sql import Scope
from millpond.query.times import DEFAULT_SPAN_NS, parse_time
from millpond.web.context import Context
from millpond.web.query import (
    filter_param,
    int_param,
    request_params,
    request_token,
    str_param,
    timed,
)
from millpond.web.responses import json_response

MAX_QUERIES = 100


@dataclass(frozen=True)
class NumericQuery:
    scope: Scope
    expr: Expr
    buckets: int


def _labelled(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The parameters under the names errors should use (`queries[2].buckets`).

    null and "" mean "not given", inside each query of a timeseriesQuery as at the top level.
    """
    return {
        prefix + k: v for k, v in params.items() if v is not None and not (
            isinstance(v, str) and v == ""
        )
    }


def function_param(params: dict[str, Any], name: str = "function") -> Expr:
    text = str_param(params, name)
    try:
        return parse_function(text)
    except BadParam as exc:
        raise BadParam(f"{name}: {exc.message}") from None


def _time(value: Any, now_ns: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadParam(f"{name} must be a time (like '4h' or epoch seconds), not {value!r}")
    return parse_time(value, now_ns=now_ns, name=name)


def numeric_range(params: dict[str, Any], prefix: str, now_ns: int) -> tuple[int, int]:
    """[start, end) in ns: endTime defaults to now, startTime to 24 hours before endTime."""
    start, end = params.get(prefix + "startTime"), params.get(prefix + "endTime")
    end_ns = now_ns if end is None else _time(end, now_ns, prefix + "endTime")
    start_ns = (
        end_ns - DEFAULT_SPAN_NS if start is None else _time(start, now_ns, prefix + "startTime")
    )
    if end_ns < start_ns:
        raise BadParam(
            f"{prefix}endTime is before {prefix}startTime; swap them or widen the range"
        )
    if end_ns == start_ns:
        raise BadParam(
            f"{prefix}startTime and {prefix}endTime are the same instant, which leaves nothing "
            "to divide into buckets; give an endTime after the startTime"
        )
    return start_ns, end_ns


def numeric_params(
    raw: dict[str, Any], prefix: str, account_id: int, now_ns: int
) -> NumericQuery:
    """One numeric query from its parameters; errors name them with `prefix`."""
    params = _labelled(raw, prefix)
    node = filter_param(params, prefix + "filter")
    expr = function_param(params, prefix + "function")
    buckets = int_param(params, prefix + "buckets", 1, 1, MAX_BUCKETS)
    start_ns, end_ns = numeric_range(params, prefix, now_ns)
    return NumericQuery(Scope(account_id, start_ns, end_ns, node), expr, buckets)


def _run(store: Reader, queries: Sequence[NumericQuery], timeout: float
         ) -> list[tuple[list[Number | None], int]]:
    """Each query's values and milliseconds, all within one `timeout`."""
    started = time.perf_counter()
    results = []
    for query in queries:
        begun = time.perf_counter()
        remaining = timeout - (begun - started)
        if remaining <= 0:
            raise QueryTimeout(
                f"the {len(queries)} queries ran past the {timeout:g} s limit and were "
                "cancelled; send fewer queries or narrow their time ranges"
            )
        values = numeric_values(store, query.scope, query.expr, query.buckets, remaining)
        results.append((values, int((time.perf_counter() - begun) * 1000)))
    return results


async def numeric_query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)
    query = numeric_params(params, "", principal.account_id, ctx.clock.now_ns())
    results, timing = await timed(
        ctx.queries, _run, ctx.store, [query], ctx.settings.query_timeout_seconds
    )
    return json_response({"status": "success", "values": results[0][0], **timing})


def _queries(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(error prefix, parameters) of each query; without `queries`, the top level is one."""
    queries = params.get("queries")
    if queries is None:
        return [("", params)]
    if isinstance(queries, str):  # the GET form, as URL-encoded JSON
        try:
            queries = orjson.loads(queries)
        except orjson.JSONDecodeError:
            queries = None
    if not isinstance(queries, list) or not queries:
        raise BadParam(
            "queries must be a non-empty list of queries like "
            '[{"filter": "error", "function": "count", "startTime": "1h", "buckets": 60}]'
        )
    if len(queries) > MAX_QUERIES:
        raise BadParam(
            f"queries has {len(queries)} entries; send at most {MAX_QUERIES} in one request"
        )
    out = []
    for i, query in enumerate(queries):
        if not isinstance(query, dict):
            raise BadParam(
                f"queries[{i}] must be an object with filter, function, startTime, endTime "
                f"and buckets, not {query!r}"
            )
        out.append((f"queries[{i}].", query))
    return out


def _with_definition(
    query: dict[str, Any], prefix: str, account_id: int
) -> dict[str, Any]:
    """The query, its filter and function filled in from its timeseriesId where not given."""
    query = _labelled(query, "")
    tsid = query.get("timeseriesId")
    if tsid is None:
        return query
    if not isinstance(tsid, str):
        raise BadParam(f"{prefix}timeseriesId must be a string, not {tsid!r}")
    try:
        filter_text, function_text = timeseries_definition(tsid, account_id)
    except BadParam as exc:
        raise BadParam(prefix + exc.message) from None
    return {"filter": filter_text, "function": function_text, **query}


async def timeseries_query(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_LOGS)
    now_ns = ctx.clock.now_ns()
    queries = [
        numeric_params(
            _with_definition(query, prefix, principal.account_id), prefix,
            principal.account_id, now_ns,
        )
        for prefix, query in _queries(params)
    ]
    results, timing = await timed(
        ctx.queries, _run, ctx.store, queries, ctx.settings.query_timeout_seconds
    )
    return json_response(
        {
            "status": "success",
            "results": [
                {"values": values, "executionTime": ms, "foundExistingSeries": True}
                for values, ms in results
            ],
            **timing,
        }
    )


async def create_timeseries(request: Request) -> Response:
    """Deprecated: checks the definition and names it; see `timeseries_id`."""
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(
        request_token(request, params), Permission.WRITE_CONFIG
    )
    params = _labelled(params, "")
    query_type = params.get("queryType", "numeric")
    if query_type != "numeric":
        raise BadParam(f"queryType must be 'numeric', the only kind of timeseries, not "
                       f"{query_type!r}")
    node: Node | None = filter_param(params)
    expr = function_param(params)
    return json_response(
        {
            "status": "success",
            "timeseriesId": timeseries_id(principal.account_id, node, expr),
            "foundExistingSeries": False,
        }
    )
