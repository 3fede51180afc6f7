"""Parsers in the browser: the list (`/parsers`), one parser's page (`/parsers/NAME`) to view,
edit and delete `/logParsers/NAME`, and "try it" (`POST /ui/api/parsers/try`).

Viewing takes read-config, changing write-config. Saving runs putFile's own checks (the parser
must compile; `expectedVersion` is the version the page showed, so a change made meanwhile is
never overwritten) and tells the same listeners (the compiled-parser cache). "Try it" parses
pasted lines with the definition in the editor, as `millpond parser test --definition` does;
nothing is stored.
"""

from __future__ import annotations

import asyncio
import functools
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from millpond.accounts import Permission
from millpond.errors import BadParam, MillpondError, NotFound
from millpond.parsers import builtin_parser, compile_parser
from millpond.parsers.builtin import builtin_text
from millpond.store.base import Store
from millpond.ui.rows import text
from millpond.ui.site import Site, User, read_json, when
from millpond.web.configfiles import (
    PARSER_DIR,
    check_and_put,
    content_param,
    notify_changed,
    path_param,
    paths_and_parsers,
)
from millpond.web.context import Context
from millpond.web.responses import json_response

NS_PER_MS = 1_000_000
MAX_SAMPLE_LINES = 1000


def parser_path(name: str) -> str:
    """`/logParsers/NAME`, checked as putFile checks paths."""
    if not name:
        raise BadParam("name the parser, e.g. myApp")
    return path_param({"path": PARSER_DIR + name})


def parser_url(name: str) -> str:
    return "/parsers/" + urllib.parse.quote(name, safe="")


async def _run(ctx: Context, fn: Any, *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ctx.queries, functools.partial(fn, *args))


async def parsers_page(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    name = request.query_params.get("name", "").strip()
    if name:  # the "open or create" box
        parser_path(name)
        return RedirectResponse(parser_url(name), status_code=303)
    _, parsers = await _run(ctx, paths_and_parsers, ctx.store, user.principal.account_id)
    for parser in parsers:
        parser["url"] = parser_url(parser["name"])
        last = parser["lastUsedDate"]
        parser["lastUsed"] = when(None if last is None else last * NS_PER_MS)
    return site.render(
        "parsers.html", request, user, parsers=parsers,
        deleted=request.query_params.get("deleted", ""),
    )


async def parser_page(site: Site, request: Request, user: User) -> Response:
    name = request.path_params["name"]
    saved = request.query_params.get("saved", "")
    return await _editor(site, request, user, name, notice=f"Saved version {saved}." if saved
                         else "")


async def _editor(
    site: Site, request: Request, user: User, name: str, *, content: str | None = None,
    error: str = "", notice: str = "", status: int = 200, version: int | None = None,
) -> Response:
    ctx: Context = request.app.state.ctx
    path = parser_path(name)
    found = await _run(ctx, ctx.store.get_file, user.principal.account_id, path)
    builtin = builtin_text(name)
    if content is None:
        if found is not None:
            content = found.content
        elif builtin is not None:
            content = builtin.decode("utf-8")
        else:
            content = ""
    return site.render(
        "parser.html", request, user, status=status, name=name, url=parser_url(name),
        file_path=path, content=content, found=found, builtin=builtin is not None,
        version=(found.version if found else 0) if version is None else version,
        modified=when(found.mod_ns) if found else "", error=error, notice=notice,
        can_write=user.may(Permission.WRITE_CONFIG),
    )


async def save_parser(site: Site, request: Request, user: User) -> Response:
    """Save (`action=save`) or delete (`action=delete`) the parser file, at the version the
    page showed."""
    ctx: Context = request.app.state.ctx
    name = request.path_params["name"]
    path = parser_path(name)
    form: dict[str, str] = request.state.form
    account_id = user.principal.account_id
    content = form.get("content", "").replace("\r\n", "\n")
    try:
        expected = int(form.get("version", ""))
    except ValueError:
        raise BadParam("the form lost the parser's version; reload the page") from None
    now_ns = ctx.clock.now_ns()
    try:
        if form.get("action") == "delete":
            if await asyncio.to_thread(ctx.store.delete_file, account_id, path, expected, now_ns):
                notify_changed(ctx, account_id, path)
            return RedirectResponse(
                "/parsers?" + urllib.parse.urlencode({"deleted": name}), status_code=303
            )
        content_param({"content": content})
        written = await asyncio.to_thread(
            check_and_put, ctx.store, account_id, path, content, expected, now_ns
        )
    except MillpondError as exc:
        if exc.http_status >= 500 or isinstance(exc, NotFound):
            raise
        return await _editor(site, request, user, name, content=content, error=exc.message,
                             status=exc.http_status, version=expected)
    notify_changed(ctx, account_id, path)
    return RedirectResponse(
        f"{parser_url(name)}?saved={written.version}", status_code=303
    )


def try_parser(
    store: Store, account_id: int, name: str, definition: str | None, lines: list[str],
    now_ns: int,
) -> dict[str, Any]:
    """What `millpond parser test` shows, as JSON: the events `lines` make."""

    def lookup(other: str) -> str | None:
        found = store.get_file(account_id, PARSER_DIR + other)
        return None if found is None else found.content

    if definition is not None:
        parser = compile_parser(name, definition, lookup=lookup)
    elif (stored := lookup(name)) is not None:
        parser = compile_parser(name, stored, lookup=lookup)
    elif (built_in := builtin_parser(name)) is not None:
        parser = built_in
    else:
        raise BadParam(f"there is no parser {name!r} to try; write its definition first")
    events = parser.parse(lines, now_ns=now_ns)
    starts = [e.index for e in events]
    out = []
    for k, event in enumerate(events):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        out.append({
            "line": event.index + 1,
            "lines": stop - event.index,
            "message": event.message,
            "timestamp": None if event.ts_ns is None else str(event.ts_ns),
            "severity": event.severity,
            "fields": [[str(k), text(v)] for k, v in event.fields.items()],
        })
    return {"status": "success", "lineCount": len(lines), "events": out}


async def try_api(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    body = await read_json(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadParam("name the parser to try")
    parser_path(name)
    definition = body.get("definition")
    if definition is not None and not isinstance(definition, str):
        raise BadParam("definition must be the parser's text")
    if isinstance(definition, str) and not definition.strip():
        definition = None
    sample = body.get("lines", "")
    if not isinstance(sample, str):
        raise BadParam("lines must be text, one log line a line")
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise BadParam("paste one or more sample log lines to try the parser on")
    if len(lines) > MAX_SAMPLE_LINES:
        raise BadParam(f"paste at most {MAX_SAMPLE_LINES} lines")
    result = await _run(ctx, try_parser, ctx.store, user.principal.account_id, name,
                        definition, lines, ctx.clock.now_ns())
    return json_response(result)
