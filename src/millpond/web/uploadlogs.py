"""`POST /api/uploadLogs`: raw text in, one event per line, acknowledged once committed.

A raw ASGI endpoint: it is the hottest path of the server, and Starlette's Request object
costs more than the rest of the request put together for small uploads.
"""

from __future__ import annotations

import asyncio
import functools
from urllib.parse import parse_qsl

import numpy as np
import pyarrow as pa

from millpond.accounts import Permission
from millpond.errors import MethodNotAllowed
from millpond.ingest import parsing, session_id_for, upload_params
from millpond.ingest.uploadlogs import split_lines_array
from millpond.store.base import EVENT_SCHEMA, EventBatch, SessionRecord
from millpond.web.asgi import Receive, Scope, Send
from millpond.web.auth import bearer_token
from millpond.web.decoding import content_length, decompress, read_body
from millpond.web.endpoint import RawEndpoint
from millpond.web.responses import SUCCESS_BODY, send_json

SEVERITY_INFO = 3
_DUPLICATE_BODY = (
    b'{"status":"success","message":"ignoring request, due to duplicate nonce: '
    b'a request with this Nonce was already stored"}'
)
_EMPTY_BODY = b'{"status":"success","message":"the body held no log lines; nothing was stored"}'
_CACHED_MAX_ROWS = 64


@functools.lru_cache(maxsize=512)
def _constant_columns(
    account_id: int, session_id: str, server_host: str | None, logfile: str, parser: str, n: int
) -> tuple[pa.Array, ...]:
    """The columns that hold one value for every line of a request, in EVENT_SCHEMA order.

    Arrow arrays are immutable, so the tables of small requests from the same sender share
    them: ten Arrow calls per request cost more than the rest of the table (~24 -> ~6 us).
    """
    return (
        pa.repeat(pa.scalar(account_id, pa.int32()), n),
        pa.repeat(pa.scalar(session_id, pa.string()), n),
        pa.nulls(n, pa.string()),  # thread
        pa.repeat(pa.scalar(SEVERITY_INFO, pa.int8()), n),
        pa.repeat(pa.scalar(server_host, pa.string()), n),
        pa.repeat(pa.scalar(logfile, pa.string()), n),
        pa.repeat(pa.scalar(parser, pa.string()), n),
        pa.nulls(n, pa.string()),  # attrs
    )


def event_table(
    account_id: int, session_id: str, server_host: str | None, logfile: str, parser: str,
    first_ts: int, messages: pa.Array,
) -> pa.Table:
    """One request's events: a line each, stamped first_ts, first_ts + 1, ..."""
    n = len(messages)
    constants = _constant_columns if n <= _CACHED_MAX_ROWS else _constant_columns.__wrapped__
    account, session, thread, severity, host, logfile_col, parser_col, attrs = constants(
        account_id, session_id, server_host, logfile, parser, n
    )
    ts = pa.array(np.arange(first_ts, first_ts + n, dtype=np.int64))
    return pa.Table.from_arrays(
        [account, ts, session, thread, severity, messages, host, logfile_col, parser_col, attrs],
        schema=EVENT_SCHEMA,
    )


class UploadLogs(RawEndpoint):
    name = "uploadLogs"

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        ctx = self.ctx
        settings = ctx.settings
        if scope["method"] != "POST":
            raise MethodNotAllowed(
                f"{scope['method']} is not allowed here; send the log lines with POST"
            )
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        token = next((v for k, v in query if k == "token"), None) or bearer_token(headers)
        principal = ctx.registry.authenticate(token, Permission.WRITE_LOGS)
        ctx.rate_limiter.check(principal.account_id)

        limit = settings.max_body_bytes
        raw = await read_body(receive, limit, content_length(headers))
        text_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        encoding = next((v for k, v in text_headers if k == "content-encoding"), "")
        body = decompress(raw, encoding, limit)
        ctx.quota.check(principal.account_id, len(body))
        messages = split_lines_array(body, max_line_bytes=settings.max_line_bytes)
        if not len(messages):
            await send_json(send, 200, _EMPTY_BODY)
            return

        params = upload_params(query, text_headers)
        client = scope.get("client")
        session_fields = params.session_fields(client[0] if client else None)
        session_id = session_id_for(principal.account_id, session_fields)
        n = len(messages)
        start = ctx.stamper.reserve(n)
        table = event_table(
            principal.account_id, session_id, params.server_host, params.logfile,
            params.parser, start, messages,
        )
        if ctx.parsers.get(principal.account_id, params.parser) is not None:
            table = parsing.apply(
                table,
                functools.partial(ctx.parsers.get, principal.account_id),
                now_ns=ctx.clock.now_ns(),
            ).table
        batch = EventBatch(
            account_id=principal.account_id,
            table=table,
            sessions=(SessionRecord(principal.account_id, session_id, session_fields),),
            bytes_charged=len(body),
            nonce=params.nonce,
        )
        result = await asyncio.wrap_future(ctx.store.submit(batch))
        await send_json(send, 200, _DUPLICATE_BODY if result.duplicate else SUCCESS_BODY)
