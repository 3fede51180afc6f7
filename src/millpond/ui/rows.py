"""Events as the search page shows them, each field with the filter clause that selects it.

The clause is printed by the filter language's own tree (`Compare(Field(name), "==", value)`),
so a click on any value — quotes, backslashes, odd field names and all — adds a clause that
parses and matches exactly that value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from millpond.query.filter import Compare, Field, Scalar
from millpond.query.search import Event

# Session fields that are not the sender's: the event's own session and thread ids.
_SESSION_KEY = "session"


def clause(name: str, value: Any) -> str:
    """`name == value` in the filter language: numbers as numbers, anything else as text."""
    scalar: Scalar
    if isinstance(value, bool):
        scalar = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        scalar = value
    else:
        scalar = text(value)
    return str(Compare(Field(name), "==", scalar))


def text(value: Any) -> str:
    """A field's value as shown: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _field(name: str, value: Any) -> list[str]:
    return [name, text(value), clause(name, value)]


def event_row(event: Event, session: Mapping[str, Any]) -> dict[str, Any]:
    """One event for the page: its columns, then every attribute and session field as
    `[name, shown value, clause]`."""
    host = event.server_host if event.server_host is not None else session.get("serverHost")
    attrs = dict(event.attrs)
    for name, value in (("logfile", event.logfile), ("parser", event.parser)):
        if value is not None:
            attrs.setdefault(name, value)
    attributes = [_field(k, v) for k, v in sorted(attrs.items())]
    fields = [_field(k, v) for k, v in sorted(session.items()) if k != _SESSION_KEY]
    builtin = [_field("severity", int(event.severity)), _field("session", event.session)]
    if event.thread:
        builtin.append(_field("thread", event.thread))
    return {
        "ts": str(event.ts),
        "seq": event.seq,
        "severity": int(event.severity),
        "host": None if host is None else text(host),
        "logfile": event.logfile,
        "parser": event.parser,
        "message": event.message or "",
        "attributes": attributes,
        "sessionFields": fields,
        "event": builtin,
    }
