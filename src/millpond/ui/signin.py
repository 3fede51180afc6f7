"""Signing in with an API token (`/login`) and out (`/logout`).

The sign-in form is protected against CSRF too (so no other site can sign a browser into an
account of its choosing): its token is bound to a signed pre-session cookie. Signing in issues
a new session id, so nothing from before it (a CSRF token, a planted cookie) carries over.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from millpond.accounts import Permission
from millpond.errors import NoPermission, WrongTokenKind
from millpond.ui.session import (
    PRESESSION_COOKIE,
    PRESESSION_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
    csrf_ok,
    csrf_token,
    decode_presession,
    decode_session,
    encode_presession,
    encode_session,
    new_sid,
)
from millpond.ui.site import CSRF_FIELD, CsrfRefused, Site, read_form
from millpond.web.context import Context

# A path on this site: `/` then anything but a second `/` or `\` (`//host` is another site),
# and no control characters or spaces (browsers drop tabs and newlines: `/\t/host`).
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\x7f\\]*")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never `//host` or a URL)."""
    if not target or not _LOCAL_PATH.fullmatch(target):
        return "/"
    return target


async def login_form(site: Site, request: Request) -> Response:
    if await site.user(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    notice = "You are signed out." if request.query_params.get("signedOut") else ""
    return _form(site, request, notice=notice)


async def login(site: Site, request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    form = await read_form(request)
    now_ns = ctx.clock.now_ns()
    sid = decode_presession(site.signer, request.cookies.get(PRESESSION_COOKIE), now_ns)
    target = safe_next(form.get("next"))
    if sid is None or not csrf_ok(site.signer, sid, form.get(CSRF_FIELD)):
        # An old tab, or a form posted from another site: a fresh form, and nothing done.
        return _form(
            site, request, status=403, target=target,
            error="This sign-in form was out of date (or came from another site), so nothing "
            "was done; paste the token again.",
        )
    secret = form.get("token", "").strip()
    try:
        principal = ctx.registry.authenticate(secret, Permission.READ_LOGS)
    except WrongTokenKind:
        return _form(
            site, request, status=403, target=target,
            error="This is a write-logs token: it can only send logs. Sign in with a read-logs, "
            "read-config or write-config token (make one with 'millpond token create --kind "
            "read-logs').",
        )
    except NoPermission:
        error = (
            "Paste an API token to sign in." if not secret else
            "That API token is not valid (unknown or revoked). Check it, or make one with "
            "'millpond token create --kind read-logs'."
        )
        return _form(site, request, status=401, target=target, error=error)
    session = Session(principal.token_id, principal.account_id, principal.kind, new_sid(), now_ns)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, encode_session(site.signer, session), max_age=SESSION_SECONDS,
        path="/", secure=site.secure_cookies(request), httponly=True, samesite="strict",
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


async def logout(site: Site, request: Request) -> Response:
    """Forget the session. With a live session the form must carry its CSRF token, so no
    other site can sign a user out; a dead session is simply cleared."""
    ctx: Context = request.app.state.ctx
    form = await read_form(request)
    session = decode_session(
        site.signer, request.cookies.get(SESSION_COOKIE), ctx.clock.now_ns()
    )
    if session is not None and not csrf_ok(site.signer, session.sid, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    response = RedirectResponse("/login?signedOut=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=site.secure_cookies(request),
                           httponly=True, samesite="strict")
    return response


def _form(
    site: Site, request: Request, *, status: int = 200, error: str = "", notice: str = "",
    target: str | None = None,
) -> Response:
    ctx: Context = request.app.state.ctx
    now_ns = ctx.clock.now_ns()
    cookie = request.cookies.get(PRESESSION_COOKIE)
    sid = decode_presession(site.signer, cookie, now_ns)
    fresh = sid is None
    if sid is None:
        sid = new_sid()
    response = site.render(
        "login.html", request, None, status=status, csrf=csrf_token(site.signer, sid),
        next=target if target is not None else safe_next(request.query_params.get("next")),
        error=error, notice=notice,
    )
    if fresh:
        response.set_cookie(
            PRESESSION_COOKIE, encode_presession(site.signer, sid, now_ns),
            max_age=PRESESSION_SECONDS, path="/", secure=site.secure_cookies(request),
            httponly=True, samesite="strict",
        )
    return response
