"""The search page in Chromium: sign in, filter, errors, histogram zoom, fields, facets, paging,
bookmarks, the keyboard, and log text that carries markup."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Server

from .conftest import Watched, needs_browser, sign_in

pytestmark = [pytest.mark.e2e, needs_browser]


def unique() -> str:
    return "w" + secrets.token_hex(5)


def url_params(page: Page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def search(page: Page, filter_text: str, start: str = "") -> None:
    query = urllib.parse.urlencode({"filter": filter_text, **({"start": start} if start else {})})
    page.goto(f"/?{query}")


def test_sign_in_lands_on_search_with_the_filter_box_focused(
    page: Page, ui_server: Server
) -> None:
    sign_in(page, ui_server.read_token or "")
    assert urllib.parse.urlsplit(page.url).path == "/"
    expect(page.locator("#filter")).to_be_focused()
    expect(page.locator("header.top .who")).to_contain_text("default · read-logs")
    # A read-logs token sees neither parsers nor keys in the menu.
    expect(page.locator("header.top nav a")).to_have_text(["Search", "Usage"])


def test_a_filter_shows_the_matching_rows_newest_first_and_goes_into_the_url(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    lines = [f"{word} alpha status=200", f"{word} beta status=503", f"{word} gamma status=503"]
    assert ui_server.upload("\n".join(lines), params={
        "host": "web-7", "logfile": "/var/log/shop.log", "parser": "keyValue"}).status_code == 200
    ui_server.upload(f"{unique()} status=503")  # another word: never shown
    sign_in(page, ui_server.read_token or "")
    page.fill("#filter", f"{word} status == 503")
    page.keyboard.press("Enter")
    rows = page.locator("li.event")
    expect(rows).to_have_count(2)
    expect(rows.locator(".message")).to_have_text([lines[2], lines[1]])  # newest first
    first = rows.first
    expect(first.locator(".sev")).to_have_text("INFO")
    expect(first.locator(".host")).to_have_text("web-7")
    expect(first.locator(".logfile")).to_have_text("/var/log/shop.log")
    expect(first.locator(".time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"))
    assert url_params(page)["filter"] == f"{word} status == 503"
    expect(page.locator("#status")).to_contain_text("2 matches")


def test_a_wrong_filter_shows_the_apis_message_and_points_at_the_column(
    page: Page, ui_server: Server, watched: Watched
) -> None:
    watched.allowed.append("status of 400")  # Chromium logs the refused search
    sign_in(page, ui_server.read_token or "")
    page.fill("#filter", "error timeout)")
    page.keyboard.press("Enter")
    box = page.locator("#filter-error")
    expect(box).to_be_visible()
    expect(box.locator(".message")).to_have_text(
        "filter: unexpected ')' at column 14; there is no '(' to close"
    )
    caret = box.locator(".caret").inner_text().split("\n")
    assert caret[0] == "error timeout)"
    assert caret[1].index("^") == 13  # under column 14
    expect(page.locator("#filter")).to_have_attribute("aria-invalid", "true")
    # Fixing it clears the error.
    page.fill("#filter", "error")
    page.keyboard.press("Enter")
    expect(box).to_be_hidden()


def test_the_histogram_counts_the_matches_and_a_drag_zooms_into_the_range(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    ui_server.upload("\n".join(f"{word} line {i}" for i in range(7)))
    sign_in(page, ui_server.read_token or "")
    search(page, word, "1h")
    histogram = page.locator("#histogram")
    expect(histogram.locator("canvas")).to_have_count(1)
    expect(histogram).to_have_attribute("data-total", "7")
    expect(histogram).to_have_attribute("data-buckets", "60")
    old_start = histogram.get_attribute("data-start") or ""
    before = int(histogram.get_attribute("data-end") or 0) - int(old_start)
    assert 3599 * 10**9 < before <= 3601 * 10**9
    area = page.locator("#histogram .u-over").bounding_box()
    assert area is not None
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.7, y, steps=5)
    page.mouse.move(area["x"] + area["width"] * 0.9, y, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"[?&]end="))
    params = url_params(page)
    start = dt.datetime.fromisoformat(params["start"])
    end = dt.datetime.fromisoformat(params["end"])
    assert dt.timedelta(minutes=20) < end - start < dt.timedelta(minutes=28)  # 40% of an hour
    assert params["filter"] == word
    expect(page.locator("#start")).to_have_value(params["start"])
    expect(page.locator("#end")).to_have_value(params["end"])
    # The page searched the new range: the histogram spans it.
    span = end - start
    expect(histogram).not_to_have_attribute("data-start", old_start)
    after = int(histogram.get_attribute("data-end") or 0) - int(
        histogram.get_attribute("data-start") or 0)
    assert abs(after - span.total_seconds() * 10**9) < 10**7
    # Back returns to the hour.
    page.go_back()
    expect(page.locator("#start")).to_have_value("1h")
    expect(page.locator(".preset[data-start='1h']")).to_have_attribute("aria-pressed", "true")


def test_a_row_expands_to_all_its_fields_and_a_click_on_a_value_filters_by_it(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    team = 'a "b" \\ c'  # quotes and a backslash: the clause must escape them
    ui_server.upload(f"{word} one status=200\n{word} two status=503", params={
        "host": "web-3", "parser": "keyValue", "server-team": team})
    ui_server.upload(f"{word} three status=503", params={"host": "web-4", "parser": "keyValue"})
    sign_in(page, ui_server.read_token or "")
    search(page, word)
    rows = page.locator("li.event")
    expect(rows).to_have_count(3)
    row = rows.filter(has_text=f"{word} two")
    row.locator(".line").click()
    details = row.locator(".details")
    expect(details).to_be_visible()
    attributes = details.locator(".fields").filter(has_text="Attributes")
    expect(attributes.locator("td.name")).to_contain_text(["dataset", "logfile", "parser",
                                                           "status"])
    session = details.locator(".fields").filter(has_text="Session fields")
    expect(session.locator("td.name")).to_contain_text(["serverHost", "serverIP", "team"])
    session.locator("tr", has_text="team").locator("button.value").click()
    expect(page.locator("#filter")).to_have_value(f'{word} team == "a \\"b\\" \\\\ c"')
    expect(rows).to_have_count(2)
    # A number stays a number.
    rows.filter(has_text=f"{word} two").locator(".line").click()
    rows.filter(has_text=f"{word} two").locator(".details tr", has_text="status").locator(
        "button.value").click()
    expect(page.locator("#filter")).to_have_value(
        f'{word} team == "a \\"b\\" \\\\ c" status == 503')
    expect(rows).to_have_count(1)


def test_an_or_filter_is_parenthesised_before_a_clause_is_added(
    page: Page, ui_server: Server
) -> None:
    a, b = unique(), unique()
    ui_server.upload(f"{a} x\n{b} y", params={"host": "web-5"})
    ui_server.upload(f"{b} z", params={"host": "web-6"})
    sign_in(page, ui_server.read_token or "")
    search(page, f"{a} or {b}")
    expect(page.locator("li.event")).to_have_count(3)
    page.locator("#facets section[data-field='serverHost'] button",
                 has_text="web-6").click()
    expect(page.locator("#filter")).to_have_value(f'({a} or {b}) serverHost == "web-6"')
    expect(page.locator("li.event .message")).to_have_text([f"{b} z"])


def test_the_facet_panel_shows_the_top_values_of_common_fields(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    body = "\n".join(f"{word} req status={s} region=eu" for s in (200, 200, 200, 503))
    ui_server.upload(body, params={"host": "facet-host", "parser": "keyValue"})
    sign_in(page, ui_server.read_token or "")
    search(page, word)
    panel = page.locator("#facets")
    expect(panel.locator("section h3")).to_contain_text(
        ["serverHost", "logfile", "parser", "severity"])
    status = panel.locator("section[data-field='status']")
    expect(status.locator(".value")).to_have_text(["200", "503"])
    expect(status.locator(".count")).to_have_text(["3", "1"])
    expect(panel.locator("section[data-field='severity'] .value")).to_have_text(["3 INFO"])
    status.locator("button", has_text="503").click()
    expect(page.locator("#filter")).to_have_value(f'{word} status == "503"')
    expect(page.locator("li.event")).to_have_count(1)


def test_older_results_page_in_without_gaps(page: Page, ui_server: Server) -> None:
    word = unique()
    ui_server.upload("\n".join(f"{word} n={i:03d}" for i in range(130)))
    sign_in(page, ui_server.read_token or "")
    search(page, word)
    rows = page.locator("li.event .message")
    expect(rows).to_have_count(100)
    page.click("#older")
    expect(rows).to_have_count(130)
    expect(page.locator("#older")).to_be_hidden()
    assert rows.all_inner_texts() == [f"{word} n={i:03d}" for i in reversed(range(130))]


def test_a_bookmarked_search_survives_signing_in(page: Page, ui_server: Server) -> None:
    word = unique()
    ui_server.upload(f"{word} bookmarked")
    query = urllib.parse.urlencode({"filter": word, "start": "10m"})
    page.goto(f"/?{query}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#token", ui_server.read_token or "")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/\?"))
    assert url_params(page) == {"filter": word, "start": "10m"}
    expect(page.locator("#filter")).to_have_value(word)
    expect(page.locator(".preset[data-start='10m']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("li.event .message")).to_have_text([f"{word} bookmarked"])


def test_the_keyboard_slash_focuses_the_filter_and_escape_closes_an_event(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    ui_server.upload(f"{word} keys")
    sign_in(page, ui_server.read_token or "")
    search(page, word)
    line = page.locator("li.event .line").first
    line.focus()
    page.keyboard.press("Enter")
    expect(page.locator("li.event .details")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator("li.event .details")).to_have_count(0)
    expect(line).to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#filter")).to_be_focused()
    expect(page.locator("#filter")).to_have_value(word)  # the "/" was not typed into it


XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def test_markup_in_messages_and_fields_renders_as_text_and_never_runs(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    lines = [f"{word} {XSS[0]} k={XSS[0]!r}", f'{word} {XSS[1]} k="{XSS[1].replace(chr(34), "")}"']
    ui_server.upload("\n".join(lines), params={"parser": "keyValue", "server-evil": XSS[1],
                                                "host": XSS[0]})
    sign_in(page, ui_server.read_token or "")
    search(page, word)
    rows = page.locator("li.event")
    expect(rows.locator(".message")).to_have_text([lines[1], lines[0]])
    expect(rows.locator(".host")).to_have_text([XSS[0], XSS[0]])
    for i in range(2):
        rows.nth(i).locator(".line").click()
    expect(page.locator("li.event .details button.value", has_text=XSS[1])).to_have_count(2)
    expect(page.locator("#facets section[data-field='serverHost'] .value")).to_have_text(
        [XSS[0]])
    # No element came from the text: no <img>, no <script> but the page's own.
    assert page.locator("#main img").count() == 0
    assert page.locator("#main script").count() == 0
    assert page.evaluate("window.__xss === undefined")


def test_a_search_link_followed_from_another_site_opens_signed_in(
    page: Page, ui_server: Server
) -> None:
    word = unique()
    ui_server.upload(f"{word} shared in chat")
    sign_in(page, ui_server.read_token or "")
    link = f"{ui_server.base_url}/?" + urllib.parse.urlencode({"filter": word, "start": "1h"})
    page.route("http://chat.example/**", lambda route: route.fulfill(
        content_type="text/html", body=f'<a id="shared" href="{link}">a search</a>'))
    page.goto("http://chat.example/room")
    page.click("#shared")  # cross-site: the Strict session cookie is not sent at first
    expect(page.locator("li.event .message")).to_have_text([f"{word} shared in chat"])
    assert url_params(page) == {"filter": word, "start": "1h"}
