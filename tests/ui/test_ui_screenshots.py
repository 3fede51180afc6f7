"""Screenshots of every page for the README and docs/ui.md (`make screenshots`).

Skipped unless UI_SCREENSHOTS=1: it rewrites the PNGs under docs/screenshots/, which are
committed. The data is made up here: an hour of access-log lines from three hosts and a few
application lines.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Server

from .conftest import Watched, needs_browser, new_token, sign_in

pytestmark = [
    pytest.mark.e2e,
    needs_browser,
    pytest.mark.skipif(os.environ.get("UI_SCREENSHOTS") != "1",
                       reason="writes docs/screenshots/*.png; run with UI_SCREENSHOTS=1 "
                       "(make screenshots)"),
]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PATHS = ["/", "/cart", "/api/items", "/api/orders", "/login", "/static/app.js", "/checkout"]
AGENTS = ["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "Go-http-client/1.1"]


def seed(server: Server) -> None:
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    for host in ("web-1", "web-2", "web-3"):
        lines = []
        for i in range(400):
            when = now - dt.timedelta(seconds=rng.uniform(0, 3500))
            burst = 1200 < (now - when).total_seconds() < 1500
            status = rng.choice([500, 503, 502]) if burst and rng.random() < 0.6 else rng.choice(
                [200] * 12 + [304, 404, 201, 302, 500])
            path = rng.choice(PATHS)
            lines.append(
                f'10.0.{rng.randint(0, 9)}.{rng.randint(1, 250)} - - '
                f'[{when:%d/%b/%Y:%H:%M:%S +0000}] "GET {path}?id={i} HTTP/1.1" {status} '
                f'{rng.randint(200, 9000)} "-" "{rng.choice(AGENTS)}"'
            )
        server.upload("\n".join(lines), params={
            "host": host, "logfile": "/var/log/nginx/access.log", "parser": "accessLog",
            "server-region": "eu-west-1"})
    server.upload("\n".join([
        "level=error msg=\"payment failed\" order=RC-1042 latency=812",
        "level=warn msg=\"slow query\" table=orders latency=2210",
        "level=info msg=\"order placed\" order=RC-1043 latency=95",
    ]), params={"host": "shop-1", "logfile": "/var/log/shop/app.log", "parser": "keyValue"})


def shoot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"{name}.png"))


def test_screenshots(page: Page, ui_server: Server, watched: Watched) -> None:
    watched.allowed.append("status of 400")
    seed(ui_server)
    page.set_viewport_size({"width": 1400, "height": 860})
    page.goto("/login")
    shoot(page, "login")

    admin = new_token(ui_server, "write-config", "ops laptop")
    sign_in(page, admin)
    page.goto("/?" + urllib.parse.urlencode({"start": "1h"}))
    expect(page.locator("#histogram canvas")).to_have_count(1)
    expect(page.locator("#facets section")).not_to_have_count(0)
    shoot(page, "search")

    page.goto("/?" + urllib.parse.urlencode({"filter": "status >= 500", "start": "1h"}))
    expect(page.locator("li.event")).not_to_have_count(0)
    page.locator("li.event .line").nth(1).click()
    shoot(page, "search-event")

    page.goto("/?" + urllib.parse.urlencode({"filter": "status >= 500 and (path", "start": "1h"}))
    expect(page.locator("#filter-error")).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 300})
    shoot(page, "filter-error")
    page.set_viewport_size({"width": 1400, "height": 860})

    page.goto("/?" + urllib.parse.urlencode({"filter": "serverHost == 'shop-1'", "start": "1h"}))
    page.check("#tail-toggle")
    expect(page.locator("#status .live")).to_be_visible()
    page.wait_for_timeout(600)
    ui_server.upload('level=error msg="card declined" order=RC-1044 latency=640',
                     params={"host": "shop-1", "logfile": "/var/log/shop/app.log",
                             "parser": "keyValue"})
    expect(page.locator("li.event.fresh")).to_have_count(1, timeout=3000)
    shoot(page, "live-tail")
    page.uncheck("#tail-toggle")

    page.goto("/keys")
    page.select_option("#kind", "write-logs")
    page.fill("#label", "lambda shipper")
    page.click("form.create-key button[type=submit]")
    expect(page.locator(".secret-box")).to_be_visible()
    shoot(page, "keys")

    ui_server.upload("2026-03-01T09:00:00Z INFO order=RC-1 placed", params={"parser": "orders"})
    page.goto("/parsers")
    shoot(page, "parsers")

    page.goto("/parsers/orders")
    page.fill("#definition", '{\n  attributes: { service: "orders" },\n  formats: [\n'
              '    "$timestamp$ $severity$ order=$order$ $action=word$"\n  ]\n}\n')
    page.click("button[value=save]")
    expect(page.locator("#parser-error")).to_be_visible()
    shoot(page, "parser-error")
    page.fill("#definition", '{\n  attributes: { service: "orders" },\n  formats: [\n'
              '    "$timestamp$ $severity$ order=$order$ $action=identifier$"\n  ]\n}\n')
    page.click("button[value=save]")
    expect(page.locator("p.notice")).to_be_visible()
    page.fill("#samples", "2026-03-01T09:00:00Z INFO order=RC-1 placed\n"
              "2026-03-01T09:00:02Z ERROR order=RC-2 refunded\nnot an order line")
    page.click("#try")
    expect(page.locator("#try-results .parsed")).to_have_count(3)
    shoot(page, "parser")

    page.goto("/usage")
    shoot(page, "usage")
