"""The web UI that `millpond serve` serves beside the API: search, live tail, keys, parsers, usage.

Server-rendered pages (Jinja2 templates in `templates/`) with a little plain JavaScript and
vendored uPlot in `static/`: nothing is built at install time or fetched at run time.

    GET  /login, POST /login, POST /logout    sign in with an API token (read-logs or more)
    GET  /                                    search: filter, range, histogram, facets, tail
    GET  /keys, POST /keys, /keys/revoke      API keys (write-config)
    GET  /parsers, /parsers/NAME              parsers (read-config); POST /parsers/NAME saves
                                              or deletes (write-config)
    GET  /usage                               bytes and events per day against the quota
    /ui/api/search, histogram, facets, tail   JSON and server-sent events for the search page
    POST /ui/api/parsers/try                  a parser on sample lines
    /ui/static/…                              CSS, scripts, vendored libraries

Sessions, CSRF and the key they are signed with: `session.py`, `keyfile.py`, `site.py`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from millpond.accounts import Permission
from millpond.settings import Settings
from millpond.ui import keys, parsers, search, signin, tail, usage
from millpond.ui.headers import SecureHeaders
from millpond.ui.site import Site

__all__ = ["ui_routes"]


def ui_routes(settings: Settings) -> list[BaseRoute]:
    """The UI's routes, to list beside the API's."""
    site = Site(settings)
    read_config, write_config = Permission.READ_CONFIG, Permission.WRITE_CONFIG
    return [
        Route("/", site.page(search.search_page), methods=["GET"]),
        Route("/login", site.public(signin.login_form), methods=["GET"]),
        Route("/login", site.public(signin.login), methods=["POST"]),
        Route("/logout", site.public(signin.logout), methods=["POST"]),
        Route("/keys", site.page(keys.keys_page, write_config), methods=["GET"]),
        Route("/keys", site.form(keys.create_key, write_config), methods=["POST"]),
        Route("/keys/revoke", site.form(keys.revoke_key, write_config), methods=["POST"]),
        Route("/parsers", site.page(parsers.parsers_page, read_config), methods=["GET"]),
        Route("/parsers/{name:path}", site.page(parsers.parser_page, read_config),
              methods=["GET"]),
        Route("/parsers/{name:path}", site.form(parsers.save_parser, write_config),
              methods=["POST"]),
        Route("/usage", site.page(usage.usage_page), methods=["GET"]),
        Route("/ui/api/search", site.api(search.search_api), methods=["GET"]),
        Route("/ui/api/histogram", site.api(search.histogram_api), methods=["GET"]),
        Route("/ui/api/facets", site.api(search.facets_api), methods=["GET"]),
        Route("/ui/api/tail", site.api(tail.tail_api), methods=["GET"]),
        Route("/ui/api/parsers/try", site.api(parsers.try_api, read_config),
              methods=["POST"]),
        Mount("/ui/static", SecureHeaders(StaticFiles(packages=[("millpond.ui", "static")]))),
    ]
