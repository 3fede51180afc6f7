"""API keys (`/keys`, write-config tokens only): the account's tokens, a new one, a revocation.

The list never holds a secret (millpond keeps only hashes); a new token's secret is in the one
answer to its creation (`no-store`), with a copy button, and nowhere else.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from millpond.accounts import KINDS
from millpond.accounts.registry import NewToken
from millpond.errors import BadParam, NotFound
from millpond.store.base import TokenRecord
from millpond.ui.site import Site, User, when
from millpond.web.context import Context

MAX_LABEL = 200


async def _tokens(ctx: Context, account_id: int) -> list[TokenRecord]:
    loop = asyncio.get_running_loop()
    tokens = await loop.run_in_executor(ctx.queries, ctx.registry.list_tokens)
    mine = [t for t in tokens if t.account_id == account_id]
    # Live ones first, newest first within each group.
    return sorted(mine, key=lambda t: (t.revoked_ns is not None, -t.created_ns, t.id))


async def _render(
    site: Site, request: Request, user: User, *, created: NewToken | None = None,
    error: str = "", status: int = 200, kind: str = "read-logs", label: str = "",
) -> Response:
    ctx: Context = request.app.state.ctx
    tokens = await _tokens(ctx, user.principal.account_id)
    return site.render(
        "keys.html", request, user, status=status, tokens=tokens, kinds=list(KINDS),
        when=when, created=created, error=error, kind=kind, label=label,
        revoked=request.query_params.get("revoked", ""),
    )


async def keys_page(site: Site, request: Request, user: User) -> Response:
    return await _render(site, request, user)


async def create_key(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    form: dict[str, str] = request.state.form
    kind = form.get("kind", "")
    label = form.get("label", "").strip()
    if kind not in KINDS:
        return await _render(site, request, user, status=400, label=label,
                             error=f"Choose a kind: one of {', '.join(KINDS)}.")
    if len(label) > MAX_LABEL or any(ord(c) < 0x20 for c in label):
        return await _render(
            site, request, user, status=400, kind=kind, label=label[:MAX_LABEL],
            error=f"A label is one line of at most {MAX_LABEL} characters.",
        )
    created = await asyncio.to_thread(
        ctx.registry.create_token, kind, user.principal.account_name, label
    )
    return await _render(site, request, user, created=created)


async def revoke_key(site: Site, request: Request, user: User) -> Response:
    ctx: Context = request.app.state.ctx
    form: dict[str, str] = request.state.form
    token_id = form.get("id", "")
    tokens = await _tokens(ctx, user.principal.account_id)
    target = next((t for t in tokens if t.id == token_id), None)
    if target is None:
        # Another account's token is "not found" too: its id says nothing here.
        raise NotFound(f"this account has no API token {token_id!r}; reload the list")
    if target.revoked_ns is not None:
        raise BadParam(f"{token_id} is already revoked")
    await asyncio.to_thread(ctx.registry.revoke_token, token_id)
    if token_id == user.principal.token_id:
        # The session rests on that token: it has just ended.
        return RedirectResponse("/login?signedOut=1", status_code=303)
    return RedirectResponse(f"/keys?revoked={token_id}", status_code=303)


