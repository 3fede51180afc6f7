"""getFile, putFile and listFiles (spec §3.9): an account's configuration files, GET and POST.

Parsers live here, as `/logParsers/NAME` (§5.1), so putFile refuses a parser that does not
compile, and listFiles also says which parser names arrive with events and which of those are
defined, so users see what they still have to write.

Files are text of at most `MAX_CONTENT_BYTES`, at paths that are absolute, at most
`MAX_PATH_CHARS` long and free of empty, `.` and `..` parts and of control characters. A file
that does not exist is at version 0: `expectedVersion: 0` writes only a new file. Deleting a
file that does not exist succeeds (nothing changes), which is what a retried delete needs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from millpond.accounts import Permission
from millpond.errors import BadParam
from millpond.store.base import ConfigFile, Store
from millpond.web.context import Context
from millpond.web.query import int_param, request_params, request_token
from millpond.web.responses import json_response

log = logging.getLogger("millpond.web")

PARSER_DIR = "/logParsers/"
MAX_PATH_CHARS = 256
MAX_CONTENT_BYTES = 1024 * 1024
_MAX_VERSION = 2**63 - 1
NS_PER_MS = 1_000_000

# The built-in parsers (spec §5.10), for when millpond.parsers (which has the real list,
# BUILTIN_NAMES) cannot be imported.
_BUILTIN_NAMES = frozenset(
    {
        "accessLog", "systemLog", "json", "dottedJson", "keyValue", "mysqlGeneralQueryLog",
        "mysqlSlowQueryLog", "postgresLog", "leveldbLog",
    }
)

T = TypeVar("T")


async def get_file(request: Request) -> Response:
    """Answer one file, `success/unchanged` if the caller has its version, or `noSuchFile`."""
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_CONFIG)
    path = path_param(params)
    expected = version_param(params)
    found = await _read(ctx, ctx.store.get_file, principal.account_id, path)
    if found is None:
        return json_response({"status": "success/noSuchFile", "path": path})
    body: dict[str, Any] = {
        "status": "success",
        "path": found.path,
        "version": found.version,
        "createDate": found.create_ns // NS_PER_MS,
        "modDate": found.mod_ns // NS_PER_MS,
    }
    if expected == found.version:
        body["status"] = "success/unchanged"  # the caller has this version: no content
    else:
        body["content"] = found.content
    body["stalenessSlop"] = 0  # every read sees every committed write
    return json_response(body)


async def put_file(request: Request) -> Response:
    """Write or delete one file, committed before the answer; parsers must compile."""
    ctx: Context = request.app.state.ctx
    params = await _put_params(request)
    principal = ctx.registry.authenticate(
        request_token(request, params), Permission.WRITE_CONFIG
    )
    account_id = principal.account_id
    path = path_param(params)
    expected = version_param(params)
    now_ns = ctx.clock.now_ns()
    body: dict[str, Any] = {"status": "success"}
    if _delete_param(params):
        if params.get("content") is not None:
            raise BadParam(
                "putFile takes either content (to write the file) or deleteFile: true "
                "(to delete it), not both; drop one"
            )
        changed = await asyncio.to_thread(
            ctx.store.delete_file, account_id, path, expected, now_ns
        )
    else:
        content = content_param(params)
        written = await asyncio.to_thread(
            check_and_put, ctx.store, account_id, path, content, expected, now_ns
        )
        body["version"] = written.version
        changed = True
    if changed:
        notify_changed(ctx, account_id, path)
    return json_response(body)


async def list_files(request: Request) -> Response:
    """Answer the account's paths, and the parser names in use or defined (`parsers`)."""
    ctx: Context = request.app.state.ctx
    params = await request_params(request)
    principal = ctx.registry.authenticate(request_token(request, params), Permission.READ_CONFIG)
    paths, parsers = await _read(ctx, paths_and_parsers, ctx.store, principal.account_id)
    return json_response({"status": "success", "paths": paths, "parsers": parsers})


# -- parameters --------------------------------------------------------------------------------


def path_param(params: dict[str, Any]) -> str:
    """The `path` of a config file, refused with a message saying what is wrong with it."""
    path = params.get("path")
    if path is None:
        raise BadParam("path is required: the file's full path, e.g. /logParsers/myApp")
    if not isinstance(path, str):
        raise BadParam(f"path must be a string such as /logParsers/myApp, not {path!r}")
    if len(path) > MAX_PATH_CHARS:
        raise BadParam(
            f"path is {len(path)} characters long; a config file path may have at most "
            f"{MAX_PATH_CHARS}"
        )
    if not path.startswith("/"):
        raise BadParam(f"path {path!r} must start with '/', e.g. /{path}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise BadParam(f"path {path!r} contains a control character; use printable characters")
    parts = path[1:].split("/")
    if "" in parts:
        raise BadParam(
            f"path {path!r} has an empty part ('//', or '/' at the end); name a file, "
            "e.g. /logParsers/myApp"
        )
    if "." in parts or ".." in parts:
        raise BadParam(
            f"path {path!r} has a '.' or '..' part; config paths are not relative, "
            "write the file's full path"
        )
    return path


def version_param(params: dict[str, Any]) -> int | None:
    if params.get("expectedVersion") is None:
        return None
    return int_param(params, "expectedVersion", 0, 0, _MAX_VERSION)


def content_param(params: dict[str, Any]) -> str:
    content = params.get("content")
    if content is None:
        raise BadParam(
            "putFile needs content (the file's text) or deleteFile: true to delete the file"
        )
    if not isinstance(content, str):
        raise BadParam(
            f"content must be a string (the file's text), not {type(content).__name__}; "
            "send JSON as a string"
        )
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > MAX_CONTENT_BYTES:
        raise BadParam(
            f"content is {size} bytes; a config file may be at most {MAX_CONTENT_BYTES} bytes "
            "(1 MiB)"
        )
    return content


def _delete_param(params: dict[str, Any]) -> bool:
    value = params.get("deleteFile")
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadParam(f"deleteFile must be true or false, not {value!r}")


async def _put_params(request: Request) -> dict[str, Any]:
    """The parameters, keeping an empty `content`: an empty file is a file, where elsewhere an
    empty string means "not given" (§0.3)."""
    params = await request_params(request)
    if "content" not in params and await _sent_empty_content(request):
        params["content"] = ""
    return params


async def _sent_empty_content(request: Request) -> bool:
    if request.query_params.get("content") == "":
        return True
    if request.method != "POST":
        return False
    raw = (await request.body()).strip()
    body = orjson.loads(raw) if raw else None  # request_params has checked it is JSON
    return isinstance(body, dict) and body.get("content") == ""


# -- the work, off the event loop --------------------------------------------------------------


async def _read(ctx: Context, fn: Callable[..., T], *args: Any) -> T:
    """Run a store read on the query pool, so a slow disk never holds up the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ctx.queries, functools.partial(fn, *args))


def check_and_put(
    store: Store, account_id: int, path: str, content: str, expected: int | None, now_ns: int
) -> ConfigFile:
    if path.startswith(PARSER_DIR):
        _check_parser(store, account_id, path.removeprefix(PARSER_DIR), content)
    return store.put_file(account_id, path, content, expected, now_ns)


def _check_parser(store: Store, account_id: int, name: str, content: str) -> None:
    """Refuse a parser that does not compile (ParserError, a BadParam saying where and why).

    An `aliasTo` is checked against the account's other parsers as they are now.
    """
    try:
        from millpond.parsers import compile_parser
    except ModuleNotFoundError:  # a build without the parser language: check the syntax
        _check_parser_syntax(name, content)
        return

    def lookup(other: str) -> str | None:
        found = store.get_file(account_id, PARSER_DIR + other)
        return None if found is None else found.content

    compile_parser(name, content, lookup=lookup)


def _check_parser_syntax(name: str, content: str) -> None:
    from millpond.ingest.scalyr_json import HINT, parse_body

    try:
        parse_body(content.encode("utf-8", "surrogatepass"))
    except BadParam as exc:
        what = exc.message.removesuffix(HINT).rstrip("; ").replace("the body", "the definition")
        raise BadParam(
            f"parser {name!r} is not one object in relaxed JSON ({what}); e.g. "
            '{formats: ["$ip$ $user$ $text$"]}'
        ) from None


def builtin_names() -> frozenset[str]:
    """The names of the built-in parsers."""
    try:
        from millpond.parsers import BUILTIN_NAMES
    except ModuleNotFoundError:
        return _BUILTIN_NAMES
    return frozenset(BUILTIN_NAMES)


def paths_and_parsers(store: Store, account_id: int) -> tuple[list[str], list[dict[str, Any]]]:
    """The account's file paths, and every parser name that is defined or has been used."""
    paths = store.list_files(account_id)
    defined = {p.removeprefix(PARSER_DIR) for p in paths if p.startswith(PARSER_DIR)}
    used = {use.name: use for use in store.parsers_in_use(account_id)}
    builtin = builtin_names()
    parsers = []
    for name in sorted(defined | used.keys()):
        use = used.get(name)
        parsers.append(
            {
                "name": name,
                "defined": name in defined,
                "builtin": name in builtin,
                "events": use.events if use else 0,
                "lastUsedDate": use.last_ns // NS_PER_MS if use else None,
            }
        )
    return paths, parsers


def notify_changed(ctx: Context, account_id: int, path: str) -> None:
    """Tell the listeners a file changed; the change is committed, so a listener that fails is
    logged and the caller still hears success."""
    for listener in ctx.config_changed:
        try:
            listener(account_id, path)
        except Exception:
            log.exception("a config_changed listener failed for %s of account %d", path, account_id)
