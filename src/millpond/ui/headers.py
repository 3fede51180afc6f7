"""The security headers every UI response carries, and a wrapper that adds them to any ASGI app.

The Content-Security-Policy allows nothing but this origin's own files: no inline script or
style, no eval, no other site's scripts, images, frames or form targets. With log text only
ever inserted as text (Jinja2 autoescaping, `textContent` in the scripts), this is the second
wall against a log line that carries markup.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages and JSON hold log lines and (once) new API tokens: never kept in a cache.
NO_STORE = {"Cache-Control": "no-store"}


def secure(response: Response, *, cache: bool = False) -> Response:
    """The response with the security headers (and `no-store` unless `cache`)."""
    response.headers.update(SECURITY_HEADERS)
    if not cache:
        response.headers.update(NO_STORE)
    return response


class SecureHeaders:
    """ASGI middleware: the security headers on every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_secure)
        except HTTPException as exc:  # a missing file: a plain 404, with the headers too
            response = secure(PlainTextResponse(str(exc.detail), exc.status_code), cache=True)
            await response(scope, receive, send)
