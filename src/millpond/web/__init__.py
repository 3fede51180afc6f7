"""HTTP: the app factory, routes, auth, body decoding and the one JSON error envelope."""

from millpond.web.app import create_app

__all__ = ["create_app"]
