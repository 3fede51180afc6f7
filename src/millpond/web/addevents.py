"""`POST /addEvents` and `/api/addEvents` (spec §2): structured events, exactly once.

A raw ASGI endpoint like uploadLogs: the Scalyr Agent and the other shippers send thousands of
these a second. The body's token, if the URL and headers carry none, is read after decoding.
"""

from __future__ import annotations

import asyncio
import functools
from urllib.parse import parse_qsl

import orjson

from millpond.accounts import Permission
from millpond.errors import MethodNotAllowed
from millpond.ingest import addevents, agent_layout, parsing
from millpond.ingest.scalyr_json import parse_body
from millpond.store.base import EventBatch, SessionRecord
from millpond.web.asgi import Receive, Scope, Send
from millpond.web.auth import bearer_token
from millpond.web.decoding import content_length, decompress, read_body
from millpond.web.endpoint import RawEndpoint
from millpond.web.responses import send_json


class AddEvents(RawEndpoint):
    name = "addEvents"

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        ctx = self.ctx
        if scope["method"] != "POST":
            raise MethodNotAllowed(
                f"{scope['method']} is not allowed here; send the events with POST"
            )
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        token = next((v for k, v in query if k == "token"), None) or bearer_token(headers)
        if token:  # refuse a bad token before reading the body
            principal = ctx.registry.authenticate(token, Permission.WRITE_LOGS)
            ctx.rate_limiter.check(principal.account_id)

        limit = ctx.settings.max_body_bytes
        raw = await read_body(receive, limit, content_length(headers))
        encoding = next((v.decode("latin-1") for k, v in headers if k == b"content-encoding"), "")
        body = decompress(raw, encoding, limit)
        # The Scalyr Agent's exact layout straight to columns; anything else the general way.
        layout = agent_layout.parse(body)
        request = layout.request if layout is not None else parse_body(body)
        if not token:
            body_token = request.get("token")
            principal = ctx.registry.authenticate(
                body_token if isinstance(body_token, str) else None, Permission.WRITE_LOGS
            )
            ctx.rate_limiter.check(principal.account_id)
        ctx.quota.check(principal.account_id, len(body))

        client = scope.get("client")
        server_ip = client[0] if client else None
        decoded = None
        if layout is not None:
            decoded = addevents.decode_layout(
                layout, account_id=principal.account_id, server_ip=server_ip
            )
        if decoded is None:
            decoded = addevents.decode(
                parse_body(body) if layout is not None else request,
                account_id=principal.account_id,
                server_ip=server_ip,
                receipt_ns=ctx.stamper.reserve,
            )
        applied = parsing.apply(
            decoded.table,
            functools.partial(ctx.parsers.get, principal.account_id),
            seq_ids=decoded.seq_ids if decoded.has_sequences else None,
            seq_nums=decoded.seq_nums if decoded.has_sequences else None,
            now_ns=ctx.clock.now_ns(),
        )
        batch = EventBatch(
            account_id=principal.account_id,
            table=applied.table,
            sessions=(
                SessionRecord(principal.account_id, decoded.session, decoded.session_info),
            ),
            bytes_charged=len(body),
            seq_ids=applied.seq_ids,
            seq_nums=applied.seq_nums,
        )
        result = await asyncio.wrap_future(ctx.store.submit(batch))
        # Every event a resend of what is stored: nothing new, nothing charged.
        charged = 0 if batch.rows and not result.stored else len(body)
        await send_json(send, 200, orjson.dumps({"status": "success", "bytesCharged": charged}))
