"""The one JSON envelope every answer uses, for raw ASGI endpoints and Starlette alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from millpond.errors import MillpondError
from millpond.web.asgi import Send

JSON_TYPE = "application/json"
SUCCESS_BODY = b'{"status":"success"}'


def wants_always200(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """The `errorStatus: always200` request header: every error is answered with HTTP 200."""
    for name, value in headers:
        if name == b"errorstatus" and value.strip().lower() == b"always200":
            return True
    return False


def error_parts(
    error: MillpondError, always200: bool
) -> tuple[int, bytes, dict[str, str]]:
    body = error.envelope()
    status = error.http_status
    if always200:
        # The Java client treats any non-200 as a network failure; it reads `__status`.
        body["__status"] = status
        status = 200
    return status, orjson.dumps(body), error.headers()


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type=JSON_TYPE,
        headers=dict(headers or {}),
    )


def error_response(error: MillpondError, always200: bool) -> Response:
    status, body, headers = error_parts(error, always200)
    return Response(body, status_code=status, media_type=JSON_TYPE, headers=headers)


async def send_json(
    send: Send, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> None:
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: MillpondError, always200: bool) -> None:
    status, body, headers = error_parts(error, always200)
    await send_json(send, status, body, headers)
