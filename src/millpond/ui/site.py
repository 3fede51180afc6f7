"""What every UI endpoint shares: templates, the session key, who is signed in, and the wrappers
that check permissions and CSRF, turn errors into pages (or JSON) and add security headers.

An endpoint is a plain `async def fn(site, request, user) -> Response`; `Site.page`,
`Site.form`, `Site.api` and `Site.public` make it a Starlette endpoint:

    page   GET page: signed in (else to /login), with the permission named
    form   POST of a form: as `page`, plus the form's `csrf` field checked
    api    JSON under /ui/api/: signed in (else 401 JSON); POSTs need the X-CSRF-Token header
    public no session needed (the sign-in pages)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from millpond.accounts import Permission
from millpond.accounts.registry import Principal
from millpond.accounts.tokens import KINDS
from millpond.errors import BadParam, MillpondError, NoPermission, RequestTooLarge
from millpond.settings import Settings
from millpond.ui.headers import secure
from millpond.ui.keyfile import KEY_FILE, KeyHolder
from millpond.ui.session import (
    SESSION_COOKIE,
    Session,
    Signer,
    csrf_ok,
    csrf_token,
    decode_session,
)
from millpond.web.context import Context
from millpond.web.responses import json_response

log = logging.getLogger("millpond.ui")

# A parser file may be 1 MiB; URL-encoded, a form holding one may be three times that.
MAX_FORM_BYTES = 4 * 1024 * 1024
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
NS = 1_000_000_000


def when(ns: int | None) -> str:
    """`2026-03-01 12:00 UTC` for pages, or an empty string for never."""
    if ns is None:
        return ""
    return dt.datetime.fromtimestamp(ns // NS, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class User:
    """The signed-in user: the token's principal, this session, and its CSRF token."""

    principal: Principal
    session: Session
    csrf: str

    def may(self, permission: Permission) -> bool:
        return permission in KINDS[self.principal.kind]


Endpoint = Callable[["Site", Request, User], Awaitable[Response]]
PublicEndpoint = Callable[["Site", Request], Awaitable[Response]]


class Site:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyHolder(settings.data_path / KEY_FILE)
        self.templates = Environment(
            loader=PackageLoader("millpond.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals["static"] = self.static_url
        self.templates.globals["Permission"] = Permission
        self._static_versions: dict[str, str] = {}

    # -- sessions ------------------------------------------------------------------------------

    @property
    def signer(self) -> Signer:
        return Signer(self.keys.key())

    def secure_cookies(self, request: Request) -> bool:
        return bool(self.settings.tls_cert) or request.url.scheme == "https"

    async def user(self, request: Request) -> User | None:
        """Who is signed in, if the cookie is genuine, fresh, and its token still valid."""
        ctx: Context = request.app.state.ctx
        session = decode_session(
            self.signer, request.cookies.get(SESSION_COOKIE), ctx.clock.now_ns()
        )
        if session is None:
            return None
        loop = asyncio.get_running_loop()
        tokens = await loop.run_in_executor(ctx.queries, ctx.registry.list_tokens)
        record = next((t for t in tokens if t.id == session.token_id), None)
        if (
            record is None or record.revoked_ns is not None
            or record.account_id != session.account_id or record.kind != session.kind
        ):
            return None
        principal = Principal(record.account_id, record.account_name, record.id, record.kind)
        return User(principal, session, csrf_token(self.signer, session.sid))

    # -- rendering -----------------------------------------------------------------------------

    def static_url(self, name: str) -> str:
        """`/ui/static/NAME?v=…`, the version a digest of the file, so browsers may cache it."""
        version = self._static_versions.get(name)
        if version is None:
            content = (files("millpond.ui") / "static" / name).read_bytes()
            version = hashlib.sha256(content).hexdigest()[:10]
            self._static_versions[name] = version
        return f"/ui/static/{name}?v={version}"

    def render(
        self, template: str, request: Request, user: User | None, status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        values.setdefault("csrf", user.csrf if user else "")
        html = self.templates.get_template(template).render(
            user=user, path=request.url.path, **values
        )
        return HTMLResponse(html, status_code=status)

    def error_page(self, request: Request, error: MillpondError, user: User | None) -> Response:
        return self.render("error.html", request, user, status=error.http_status,
                           title=_title(error), message=error.message)

    # -- endpoint wrappers -----------------------------------------------------------------

    def public(self, fn: PublicEndpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                response = await fn(self, request)
            except MillpondError as exc:
                response = self.error_page(request, exc, None)
            except Exception:
                response = self._unexpected(request, None, json=False)
            return secure(response)

        return endpoint

    def page(
        self, fn: Endpoint, need: Permission = Permission.READ_LOGS, *, csrf: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            user: User | None = None
            try:
                user = await self.user(request)
                if user is None:
                    response = self._sign_in_again(request)
                else:
                    if csrf:
                        form = await read_form(request)
                        self.check_csrf(user, form.get(CSRF_FIELD))
                        request.state.form = form
                    user.principal.require(need)
                    response = await fn(self, request, user)
            except MillpondError as exc:
                response = self.error_page(request, exc, user)
            except Exception:
                response = self._unexpected(request, user, json=False)
            return secure(response)

        return endpoint

    def form(
        self, fn: Endpoint, need: Permission = Permission.READ_LOGS
    ) -> Callable[[Request], Awaitable[Response]]:
        return self.page(fn, need, csrf=True)

    def api(
        self, fn: Endpoint, need: Permission = Permission.READ_LOGS
    ) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                user = await self.user(request)
                if user is None:
                    raise NoPermission(
                        "you are not signed in (or your session ended, or its API token was "
                        "revoked); sign in again at /login"
                    )
                if request.method != "GET":
                    self.check_csrf(user, request.headers.get(CSRF_HEADER))
                user.principal.require(need)
                response = await fn(self, request, user)
            except MillpondError as exc:
                response = json_response(exc.envelope(), exc.http_status, exc.headers())
            except Exception:
                response = self._unexpected(request, None, json=True)
            return secure(response)

        return endpoint

    def check_csrf(self, user: User, token: str | None) -> None:
        if not csrf_ok(self.signer, user.session.sid, token):
            raise CsrfRefused()

    def _sign_in_again(self, request: Request) -> Response:
        headers = request.headers
        if (
            request.method == "GET" and headers.get("sec-fetch-site") == "cross-site"
            and headers.get("sec-fetch-mode") == "navigate"
        ):
            # A link from another site (a shared search in a chat): the browser withheld the
            # SameSite=Strict cookie. Loading the page again from here sends it; with no
            # session, that second request goes on to /login.
            return self.render("reload.html", request, None)
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            query = "" if target == "/" else "?" + urllib.parse.urlencode({"next": target})
            return RedirectResponse("/login" + query, status_code=303)
        return self.render(
            "error.html", request, None, status=401, title="Signed out",
            message="Your session has ended (or its API token was revoked), so this was not "
            "done; sign in again and repeat it.",
        )

    def _unexpected(self, request: Request, user: User | None, *, json: bool) -> Response:
        log.exception("unexpected error in the web UI on %s %s", request.method, request.url.path)
        message = "millpond hit an internal error; it is logged on the server; retry"
        if json:
            return json_response({"status": "error/server", "message": message}, 500)
        return self.render("error.html", request, user, status=500, title="Internal error",
                           message=message)


class CsrfRefused(NoPermission):
    """A request that changes something came without this session's CSRF token."""

    http_status = 403

    def __init__(self) -> None:
        super().__init__(
            "this request did not carry the page's CSRF token, so it was refused (it may come "
            "from another site, or from a page older than your sign-in); reload the page and "
            "try again"
        )


def _title(error: MillpondError) -> str:
    return {401: "Sign in", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile"}.get(
        error.http_status, "Cannot do that" if error.http_status < 500 else "Server error"
    )


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what the UI's forms send), capped."""
    body = await _read_body(request)
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadParam("send this form as application/x-www-form-urlencoded, as the page does")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadParam("the form is not UTF-8; send it from the page") from None
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=100)
    except ValueError:
        raise BadParam("the form has too many fields; send it from the page") from None
    return dict(pairs)


async def read_json(request: Request) -> dict[str, Any]:
    """A JSON object body (what the UI's scripts send), capped."""
    body = await _read_body(request)
    try:
        value = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise BadParam("the request body is not JSON; send it from the page") from None
    if not isinstance(value, dict):
        raise BadParam("the request body must be a JSON object")
    return value


async def _read_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise RequestTooLarge(
                f"the request is over {MAX_FORM_BYTES // (1024 * 1024)} MiB; send less"
            )
    return bytes(body)
