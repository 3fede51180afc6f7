"""Live tail in Chromium: lines uploaded during the test appear within 2 seconds; pause and
resume miss nothing; the page keeps at most 1,000 rows."""

from __future__ import annotations

import secrets
import time
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Server

from .conftest import needs_browser, sign_in

pytestmark = [pytest.mark.e2e, needs_browser]


def start_tail(page: Page, server: Server, word: str) -> None:
    sign_in(page, server.read_token or "")
    page.goto("/?" + urllib.parse.urlencode({"filter": word, "start": "10m"}))
    expect(page.locator("li.empty")).to_be_visible()
    page.check("#tail-toggle")
    expect(page.locator("#status .live")).to_have_text("● Live")
    # The stream has said where it starts (the ready event), so what follows is new.
    page.wait_for_function("document.querySelector('#status').textContent.includes('0 new')")
    time.sleep(0.2)


def test_live_tail_shows_an_uploaded_line_within_two_seconds(
    page: Page, ui_server: Server
) -> None:
    word = "tail" + secrets.token_hex(5)
    start_tail(page, ui_server, word)
    ui_server.upload(f"{unrelated()} not matching the filter")
    response = ui_server.upload(f"{word} first live line", params={"host": "tail-host"})
    assert response.status_code == 200
    uploaded = time.monotonic()
    rows = page.locator("li.event .message")
    expect(rows.first).to_have_text(f"{word} first live line", timeout=2000)
    assert time.monotonic() - uploaded < 2.0
    ui_server.upload(f"{unrelated()} not this one")
    ui_server.upload(f"{word} second live line")
    expect(rows).to_have_text([f"{word} second live line", f"{word} first live line"],
                              timeout=2000)
    expect(page.locator("li.event .host").nth(1)).to_have_text("tail-host")
    expect(page.locator("li.event")).to_have_count(2)
    expect(page.locator("#status")).to_contain_text("2 new")


def unrelated() -> str:
    return "other" + secrets.token_hex(5)


def test_pause_holds_new_lines_back_and_resume_brings_them_all(
    page: Page, ui_server: Server
) -> None:
    word = "pause" + secrets.token_hex(5)
    start_tail(page, ui_server, word)
    ui_server.upload(f"{word} before pause")
    rows = page.locator("li.event .message")
    expect(rows).to_have_text([f"{word} before pause"], timeout=2000)
    page.click("#tail-pause")
    expect(page.locator("#tail-pause")).to_have_text("Resume")
    ui_server.upload(f"{word} while paused 1\n{word} while paused 2")
    time.sleep(1.5)
    expect(rows).to_have_count(1)
    page.click("#tail-pause")
    expect(rows).to_have_text([f"{word} while paused 2", f"{word} while paused 1",
                               f"{word} before pause"], timeout=2000)
    page.uncheck("#tail-toggle")
    expect(page.locator("#tail-pause")).to_be_hidden()
    ui_server.upload(f"{word} after stopping")
    time.sleep(1.5)
    expect(rows).to_have_count(3)


def test_the_page_keeps_at_most_a_thousand_rows(page: Page, ui_server: Server) -> None:
    word = "many" + secrets.token_hex(5)
    start_tail(page, ui_server, word)
    ui_server.upload("\n".join(f"{word} {i:04d}" for i in range(1050)))
    rows = page.locator("li.event .message")
    expect(rows.first).to_have_text(f"{word} 1049", timeout=5000)
    expect(rows).to_have_count(1000)
    expect(rows.last).to_have_text(f"{word} 0050")
    expect(page.locator("#status")).to_contain_text("1,050 new")
