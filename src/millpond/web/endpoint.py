"""The raw ASGI endpoints of the hot ingest path (uploadLogs, addEvents): one error wrapper."""

from __future__ import annotations

import logging
from typing import ClassVar

from millpond.errors import MillpondError, ServerError
from millpond.web.asgi import Receive, Scope, Send
from millpond.web.context import Context
from millpond.web.responses import send_error, wants_always200

log = logging.getLogger("millpond.web")


class RawEndpoint:
    """Answers every error of `_handle` with the envelope; they run outside Starlette's error
    middleware, so an unexpected one is logged and answered here."""

    name: ClassVar[str]

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        try:
            await self._handle(scope, receive, send, headers)
        except MillpondError as error:
            await send_error(send, error, wants_always200(headers))
        except Exception:
            log.exception("unexpected error in %s", self.name)
            failure = ServerError(
                "millpond hit an internal error; it is logged on the server; retry"
            )
            await send_error(send, failure, wants_always200(headers))

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        raise NotImplementedError
