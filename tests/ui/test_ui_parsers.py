"""Parsers in Chromium: the list, an edit refused with the error inline, the fix saved, and
"try it" on sample lines."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Server

from .conftest import Watched, needs_browser, new_token, sign_in

pytestmark = [pytest.mark.e2e, needs_browser]

BROKEN = '{ formats: ["$ip$ $status=digit$ took=$took$ms"] }'
FIXED = '{ formats: ["$ip$ $status=digits$ took=$took$ms"] }'
SAMPLES = "10.0.0.1 503 took=41ms\nno match here\n10.0.0.2 200 took=7ms"


def test_edit_a_parser_see_the_error_inline_fix_it_and_try_it(
    page: Page, ui_server: Server, watched: Watched
) -> None:
    watched.allowed.append("status of 400")  # the refused save answers 400
    name = "orders" + secrets.token_hex(3)
    ui_server.upload("10.0.0.9 200 took=3ms", params={"parser": name})
    sign_in(page, new_token(ui_server, "write-config"), "/parsers")
    row = page.locator("table.parsers tbody tr", has_text=name)
    expect(row).to_contain_text("undefined")
    expect(row.locator("td.num")).to_have_text("1")
    row.locator("a").click()
    expect(page.locator("h1")).to_have_text(f"Parser {name}")
    expect(page.locator(".meta")).to_contain_text("not defined yet")

    page.fill("#definition", BROKEN)
    page.click("button[value=save]")
    error = page.locator("#parser-error")
    expect(error).to_contain_text("unknown pattern 'digit'")
    expect(page.locator("#definition")).to_have_value(BROKEN)  # what was typed is kept

    page.fill("#definition", FIXED)
    page.click("button[value=save]")
    expect(page.locator("p.notice")).to_have_text("Saved version 1.")
    expect(page.locator("#parser-error")).to_have_count(0)
    got = httpx.post(f"{ui_server.base_url}/getFile", json={
        "token": new_token(ui_server, "read-config"), "path": f"/logParsers/{name}"}).json()
    assert got["content"] == FIXED and got["version"] == 1

    page.fill("#samples", SAMPLES)
    page.click("#try")
    events = page.locator("#try-results .parsed")
    expect(events).to_have_count(3)
    first = events.nth(0)
    expect(first.locator(".head")).to_have_text("line 1: 10.0.0.1 503 took=41ms")
    expect(first.locator("td.name")).to_have_text(["ip", "status", "took"])
    expect(first.locator("td.value")).to_have_text(["10.0.0.1", "503", "41"])
    expect(events.nth(1).locator(".nofields")).to_contain_text("no format matched")

    # The list now says it is defined, and new lines are parsed with it.
    page.goto("/parsers")
    expect(page.locator("table.parsers tbody tr", has_text=name)).to_contain_text("defined")
    ui_server.upload("10.0.0.3 404 took=9ms", params={"parser": name})
    matches = ui_server.query(filter=f"parser == '{name}' status == 404").json()["matches"]
    assert [m["attributes"]["took"] for m in matches] == [9]


def test_try_shows_a_definition_error_inline_without_saving(
    page: Page, ui_server: Server, watched: Watched
) -> None:
    watched.allowed.append("status of 400")
    sign_in(page, new_token(ui_server, "write-config"), "/parsers/accessLog")
    expect(page.locator(".meta")).to_contain_text("built in")
    expect(page.locator("#definition")).to_have_value(re.compile(r"formats"))
    page.fill("#definition", BROKEN)
    page.fill("#samples", SAMPLES)
    page.click("#try")
    expect(page.locator("#try-error")).to_contain_text("unknown pattern 'digit'")
    page.fill("#definition", "")  # empty: the built-in accessLog
    page.fill("#samples",
              '10.1.2.3 - - [29/Nov/2026:10:00:00 +0000] "GET /cart?id=42 HTTP/1.1" 503 1234')
    page.click("#try")
    fields = page.locator("#try-results .parsed td.name")
    expect(fields).to_contain_text(["(time)", "ip", "method", "uriPath", "uriId", "status"])


def test_a_read_config_token_sees_parsers_read_only(page: Page, ui_server: Server) -> None:
    sign_in(page, new_token(ui_server, "read-config"), "/parsers/systemLog")
    expect(page.locator("#definition")).to_have_attribute("readonly", "")
    expect(page.locator("button[value=save]")).to_have_count(0)
    expect(page.locator(".editor .help")).to_contain_text("needs a write-config token")
    page.fill("#samples", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick")
    page.click("#try")
    expect(page.locator("#try-results .parsed td.name")).to_contain_text(["host", "process"])


def test_a_parser_name_with_markup_shows_as_text(page: Page, ui_server: Server) -> None:
    name = '"><img src=x onerror=alert(1)>' + secrets.token_hex(3)
    ui_server.upload("a line", params={"parser": name})
    sign_in(page, new_token(ui_server, "read-config"), "/parsers")
    link = page.locator("table.parsers a", has_text=name)
    expect(link).to_have_count(1)
    assert page.locator("#main img").count() == 0
    link.click()
    expect(page.locator("h1")).to_have_text(f"Parser {name}")
    expect(page.locator(".meta code")).to_have_text(f"/logParsers/{name}")
    assert page.locator("#main img").count() == 0
