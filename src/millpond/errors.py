"""The one exception hierarchy of millpond.

Every error knows the Scalyr status string it is reported with, its HTTP code and the exit
code the CLI uses, and renders itself as the spec's JSON envelope.

    MillpondError                      error/server            500  exit 1
    ├── ClientError                    error/client            400  exit 2
    │   ├── BadParam                   error/client/badParam   400
    │   │   └── UnsupportedEncoding    error/client/badParam   415
    │   ├── NoPermission               error/client/noPermission 401
    │   │   └── WrongTokenKind         error/client/noPermission 403
    │   ├── RequestTooLarge            error/client/requestTooLarge 413
    │   ├── VersionMismatch            error/client/versionMismatch 409
    │   ├── NotFound                   error/client/notFound   404
    │   └── MethodNotAllowed           error/client/methodNotAllowed 405
    └── ServerError                    error/server            500
        ├── Backoff                    error/server/backoff    429 (+ Retry-After)
        │   └── Unavailable            error/server/backoff    503 (+ Retry-After)
        └── QueryTimeout               error/server/timeout    503
"""

from __future__ import annotations

from typing import Any, ClassVar


class MillpondError(Exception):
    """Base of every error millpond reports to a user."""

    status: ClassVar[str] = "error/server"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """Extra HTTP response headers that go with this error."""
        return {}

    def envelope(self) -> dict[str, Any]:
        """The JSON body: the spec's `status` and a `message` that says what to fix."""
        return {"status": self.status, "message": self.message}


class ClientError(MillpondError):
    status = "error/client"
    http_status = 400
    exit_code = 2


class BadParam(ClientError):
    status = "error/client/badParam"


class UnsupportedEncoding(BadParam):
    http_status = 415


class NoPermission(ClientError):
    status = "error/client/noPermission"
    http_status = 401


class WrongTokenKind(NoPermission):
    http_status = 403


class RequestTooLarge(ClientError):
    status = "error/client/requestTooLarge"
    http_status = 413


class VersionMismatch(ClientError):
    """putFile's `expectedVersion` is not the file's version: someone else changed it.

    409 Conflict is HTTP's code for a write based on a stale copy; clients key off the status.
    """

    status = "error/client/versionMismatch"
    http_status = 409


class NotFound(ClientError):
    status = "error/client/notFound"
    http_status = 404


class MethodNotAllowed(ClientError):
    status = "error/client/methodNotAllowed"
    http_status = 405


class ServerError(MillpondError):
    status = "error/server"
    http_status = 500


class Backoff(ServerError):
    status = "error/server/backoff"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(Backoff):
    http_status = 503


class QueryTimeout(ServerError):
    status = "error/server/timeout"
    http_status = 503
