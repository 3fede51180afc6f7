"""A small client of millpond's query APIs (spec §3): log, facet and numeric queries, and tail;
and of its config-file methods (§3.9), where parsers live.

`QueryClient` wraps one `httpx.Client`; tests hand it an `httpx.MockTransport` (or any other
transport) instead of a network. Every failure comes out as an error of `millpond.errors`: the
server's `{"status": "error/…", "message": …}` envelope as the class of that status, and a
server that cannot be reached as a `ServerError` whose message says what to try.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import httpx
import orjson

from millpond.errors import (
    Backoff,
    BadParam,
    ClientError,
    MethodNotAllowed,
    MillpondError,
    NoPermission,
    NotFound,
    QueryTimeout,
    RequestTooLarge,
    ServerError,
    VersionMismatch,
)

DEFAULT_URL = "http://127.0.0.1:8080"
PAGE_MAX = 5000  # the most matches /api/query returns at once (spec §3.3)
TIMEOUT_SECONDS = 60.0  # above the server's default query timeout, so its own error arrives

Match = dict[str, Any]
Sessions = dict[str, Any]

# The server's status strings, most specific first wins; see errors.py.
_ERRORS: dict[str, type[MillpondError]] = {
    cls.status: cls
    for cls in (
        ClientError, BadParam, NoPermission, RequestTooLarge, NotFound, MethodNotAllowed,
        VersionMismatch, ServerError, QueryTimeout,
    )
}


class QueryClient:
    """The query and config-file methods of one millpond server, as one API token sees them.

    `kind` is the kind of token the caller needs, for the message when there is none.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
        kind: str = "read-logs",
    ) -> None:
        if not token:
            printed = "the server prints one when it first starts; " if kind == "read-logs" else ""
            raise NoPermission(
                f"no API token: pass --token or set MILLPOND_TOKEN to a {kind} token "
                f"({printed}'millpond token create --kind {kind}' makes "
                f"{'another' if printed else 'one'})"
            )
        self.url = _normalise_url(url)
        self._http = httpx.Client(
            base_url=self.url,
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API methods ----------------------------------------------------------------------

    def query(
        self,
        *,
        filter: str = "",
        start: str | int | None = None,
        end: str | int | None = None,
        max_count: int | None = None,
        page_mode: str | None = None,
        columns: list[str] | None = None,
        continuation_token: str | None = None,
    ) -> dict[str, Any]:
        """POST /api/query: one page of `matches` with their `sessions`."""
        return self._post(
            "/api/query",
            {
                "filter": filter,
                "startTime": start,
                "endTime": end,
                "maxCount": max_count,
                "pageMode": page_mode,
                "columns": ",".join(columns) if columns else None,
                "continuationToken": continuation_token,
            },
        )

    def facet(
        self,
        field: str,
        *,
        filter: str = "",
        start: str | int | None = None,
        end: str | int | None = None,
        max_count: int | None = None,
    ) -> dict[str, Any]:
        """POST /api/facetQuery: the most common `values` of a field, and the `matchCount`."""
        return self._post(
            "/api/facetQuery",
            {
                "field": field,
                "filter": filter,
                "startTime": start,
                "endTime": end,
                "maxCount": max_count,
            },
        )

    def numeric(
        self,
        function: str,
        *,
        filter: str = "",
        start: str | int | None = None,
        end: str | int | None = None,
        buckets: int | None = None,
    ) -> dict[str, Any]:
        """POST /api/numericQuery: one value (or null) per equal time bucket."""
        return self._post(
            "/api/numericQuery",
            {
                "function": function,
                "filter": filter,
                "startTime": start,
                "endTime": end,
                "buckets": buckets,
            },
        )

    # -- config files (§3.9) --------------------------------------------------------------------

    def list_files(self) -> dict[str, Any]:
        """POST /listFiles: the `paths` of the account's files, and the `parsers` in use."""
        return self._post("/listFiles", {})

    def get_file(self, path: str, *, expected_version: int | None = None) -> dict[str, Any]:
        """POST /getFile: the file (`content`, `version`, …); status `success/noSuchFile`
        if there is none, `success/unchanged` (no content) if it is at `expected_version`."""
        return self._post("/getFile", {"path": path, "expectedVersion": expected_version})

    def put_file(
        self, path: str, content: str, *, expected_version: int | None = None
    ) -> dict[str, Any]:
        """POST /putFile: write the file; the answer has its new `version`."""
        return self._post(
            "/putFile", {"path": path, "content": content, "expectedVersion": expected_version}
        )

    def delete_file(self, path: str, *, expected_version: int | None = None) -> dict[str, Any]:
        """POST /putFile with deleteFile: remove the file (no error if there is none)."""
        return self._post(
            "/putFile", {"path": path, "deleteFile": True, "expectedVersion": expected_version}
        )

    # -- paging -------------------------------------------------------------------------------

    def search(
        self,
        count: int,
        *,
        filter: str = "",
        start: str | int | None = None,
        end: str | int | None = None,
        page_mode: str = "head",
        columns: list[str] | None = None,
    ) -> Iterator[tuple[Match, Sessions]]:
        """Up to `count` matches in ascending time, following `continuationToken` past 5000.

        Every page is asked for with the same parameters (the server refuses a token reused
        with others) and the last page is cut short here. In `tail` mode the pages walk back
        in time, so they are gathered first and given out oldest first.
        """
        page_size = min(count, PAGE_MAX)
        remaining = count
        token: str | None = None
        gathered: list[tuple[list[Match], Sessions]] = []
        while remaining > 0:
            page = self.query(
                filter=filter, start=start, end=end, max_count=page_size,
                page_mode=page_mode, columns=columns, continuation_token=token,
            )
            matches: list[Match] = page.get("matches") or []
            sessions: Sessions = page.get("sessions") or {}
            matches = matches[-remaining:] if page_mode == "tail" else matches[:remaining]
            remaining -= len(matches)
            if page_mode == "tail":
                gathered.append((matches, sessions))
            else:
                yield from ((m, sessions) for m in matches)
            next_token = page.get("continuationToken")
            if not next_token or next_token == token:  # absent, or a server going in circles
                break
            token = next_token
        for matches, sessions in reversed(gathered):
            yield from ((m, sessions) for m in matches)

    # -- the wire -----------------------------------------------------------------------------

    def _post(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.post(
                path,
                content=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
            )
        except httpx.ConnectError as exc:
            raise ServerError(
                f"cannot connect to millpond at {self.url} ({_one_line(exc)}); start it with "
                "'millpond serve', or point --url (or MILLPOND_URL) at where it listens"
            ) from None
        except httpx.TimeoutException:
            raise ServerError(
                f"{self.url}{path} did not answer within {self._http.timeout.read} s; "
                "narrow the time range or the filter, or retry"
            ) from None
        except httpx.TransportError as exc:
            raise ServerError(
                f"talking to {self.url} failed ({_one_line(exc)}); check --url (or MILLPOND_URL)"
            ) from None
        return _decode(response, f"{self.url}{path}")


def _normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ClientError(f"--url {url!r} is not a URL ({exc}); e.g. {DEFAULT_URL}") from None
    return url


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _decode(response: httpx.Response, where: str) -> dict[str, Any]:
    """The decoded success body, or the server's error raised as a millpond error."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ServerError(
            f"{where} answered HTTP {response.status_code} with something that is not a "
            "millpond answer; is --url (or MILLPOND_URL) pointing at a millpond server?"
        )
    status = body.get("status")
    failed = response.status_code >= 400 or body.get("__status", 200) != 200
    if isinstance(status, str) and status.startswith("error"):
        failed = True
    if not failed:
        return body
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = f"{where} failed with HTTP {response.status_code} ({status or 'no status'})"
    retry_after = response.headers.get("Retry-After", "")
    raise error_for(
        str(status or ""), message, response.status_code,
        retry_after=int(retry_after) if retry_after.isdigit() else 1,
    )


def error_for(
    status: str, message: str, http_status: int = 0, *, retry_after: int = 1
) -> MillpondError:
    """The millpond error for a Scalyr status string such as `error/client/badParam/x`."""
    if status.startswith("error/server/backoff"):
        return Backoff(message, retry_after=retry_after)
    parts = status.split("/")
    while parts:
        cls = _ERRORS.get("/".join(parts))
        if cls is not None:
            return cls(message)
        parts.pop()
    return ClientError(message) if 400 <= http_status < 500 else ServerError(message)


# -- tail -------------------------------------------------------------------------------------


class _Seen:
    """The (timestamp, session) pairs printed lately, forgetting the oldest past `capacity`."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: dict[tuple[Any, Any], None] = {}

    def add(self, key: tuple[Any, Any]) -> bool:
        """Remember `key`; False if it was already remembered."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            del self._keys[next(iter(self._keys))]
        return True


def follow(
    client: QueryClient,
    *,
    filter: str = "",
    start: str | int = "10m",
    interval: float = 1.0,
    sleep: Callable[[float], None],
    polls: int | None = None,
    remember: int = 4 * PAGE_MAX,
) -> Iterator[tuple[Match, Sessions]]:
    """Matches as they arrive: poll /api/query every `interval` seconds, `polls` times (or forever).

    Each poll asks, oldest first, for everything from the newest timestamp seen so far (`start`
    until something is seen) and follows `continuationToken` within the poll. The events at
    that timestamp come back again, so the (timestamp, session) pairs already given out are
    skipped — as scalyr-tool's tail does (spec §3.8).
    """
    seen = _Seen(remember)
    since: str | int = start
    done = 0
    while polls is None or done < polls:
        newest: int | None = None
        token: str | None = None
        while True:
            page = client.query(
                filter=filter, start=since, max_count=PAGE_MAX, page_mode="head",
                continuation_token=token,
            )
            sessions: Sessions = page.get("sessions") or {}
            for match in page.get("matches") or []:
                if not seen.add((match.get("timestamp"), match.get("session"))):
                    continue
                ts = _ns(match.get("timestamp"))
                if ts is not None and (newest is None or ts > newest):
                    newest = ts
                yield match, sessions
            next_token = page.get("continuationToken")
            if not next_token or next_token == token:
                break
            token = next_token
        if newest is not None and (not isinstance(since, int) or newest > since):
            since = newest
        done += 1
        if polls is None or done < polls:
            sleep(interval)


def _ns(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
