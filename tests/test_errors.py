"""The one error hierarchy: status strings, HTTP codes, exit codes and the JSON envelope (§0.5)."""

from __future__ import annotations

import inspect

import pytest

import millpond
from millpond import errors
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
    Unavailable,
    UnsupportedEncoding,
    VersionMismatch,
    WrongTokenKind,
)

TABLE: list[tuple[type[MillpondError], str, int, int]] = [
    (MillpondError, "error/server", 500, 1),
    (ClientError, "error/client", 400, 2),
    (BadParam, "error/client/badParam", 400, 2),
    (UnsupportedEncoding, "error/client/badParam", 415, 2),
    (NoPermission, "error/client/noPermission", 401, 2),
    (WrongTokenKind, "error/client/noPermission", 403, 2),
    (RequestTooLarge, "error/client/requestTooLarge", 413, 2),
    (NotFound, "error/client/notFound", 404, 2),
    (MethodNotAllowed, "error/client/methodNotAllowed", 405, 2),
    (ServerError, "error/server", 500, 1),
    (Backoff, "error/server/backoff", 429, 1),
    (Unavailable, "error/server/backoff", 503, 1),
    (QueryTimeout, "error/server/timeout", 503, 1),
    (VersionMismatch, "error/client/versionMismatch", 409, 2),
]


def make(cls: type[MillpondError], message: str = "what went wrong; what to do") -> MillpondError:
    if issubclass(cls, Backoff):
        return cls(message, retry_after=7)
    return cls(message)


@pytest.mark.parametrize(("cls", "status", "http", "exit_code"), TABLE, ids=lambda v: str(v))
def test_every_error_reports_its_status_http_code_and_exit_code(
    cls: type[MillpondError], status: str, http: int, exit_code: int
) -> None:
    error = make(cls)
    assert (error.status, error.http_status, error.exit_code) == (status, http, exit_code)
    assert error.envelope() == {"status": status, "message": "what went wrong; what to do"}
    assert str(error) == error.message == "what went wrong; what to do"


@pytest.mark.parametrize(("cls", "status", "http", "exit_code"), TABLE, ids=lambda v: str(v))
def test_status_strings_follow_the_client_server_split(
    cls: type[MillpondError], status: str, http: int, exit_code: int
) -> None:
    # Clients test statuses with startsWith, and retry only what is the server's fault.
    if issubclass(cls, ClientError):
        assert status.startswith("error/client") and 400 <= http < 500
    else:
        assert status.startswith("error/server") and http in (429, 500, 503)


def test_the_table_covers_every_error_class() -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, MillpondError)
    }
    assert defined == {row[0] for row in TABLE}


@pytest.mark.parametrize(("cls", "status", "http", "exit_code"), TABLE, ids=lambda v: str(v))
def test_the_module_docstring_tree_agrees_with_the_classes(
    cls: type[MillpondError], status: str, http: int, exit_code: int
) -> None:
    doc = errors.__doc__ or ""
    line = next(ln for ln in doc.splitlines() if f" {cls.__name__} " in f" {ln.strip(' │├└─')} ")
    assert status in line and str(http) in line


@pytest.mark.parametrize(("cls", "http"), [(Backoff, 429), (Unavailable, 503)])
def test_backoff_tells_the_client_when_to_retry(cls: type[Backoff], http: int) -> None:
    error = cls("over the rate; retry later", retry_after=30)
    assert error.http_status == http
    assert error.headers() == {"Retry-After": "30"}
    assert error.envelope() == {
        "status": "error/server/backoff",
        "message": "over the rate; retry later",
    }


@pytest.mark.parametrize(("given", "sent"), [(0, "1"), (-5, "1"), (1, "1"), (86_401, "86401")])
def test_retry_after_is_a_whole_number_of_seconds_of_at_least_one(given: int, sent: str) -> None:
    assert Backoff("slow down", retry_after=given).headers()["Retry-After"] == sent


@pytest.mark.parametrize("cls", [row[0] for row in TABLE if not issubclass(row[0], Backoff)])
def test_other_errors_add_no_headers(cls: type[MillpondError]) -> None:
    assert make(cls).headers() == {}


def test_subclasses_are_caught_as_their_parents() -> None:
    with pytest.raises(NoPermission):
        raise WrongTokenKind("use a read-logs token")
    with pytest.raises(BadParam):
        raise UnsupportedEncoding("use gzip")
    with pytest.raises(Backoff):
        raise Unavailable("shutting down", retry_after=5)
    with pytest.raises(MillpondError):
        raise QueryTimeout("narrow the range")


def test_the_base_error_is_public() -> None:
    assert millpond.MillpondError is MillpondError
