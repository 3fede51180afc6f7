"""API keys in Chromium: who may see them, creating one (its secret shown once, copied),
revoking one (it stops authenticating at once), and what sign-in refuses."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import Server

from .conftest import Watched, needs_browser, new_token, sign_in

pytestmark = [pytest.mark.e2e, needs_browser]


def query_status(server: Server, token: str) -> int:
    response = httpx.post(f"{server.base_url}/api/query", json={"token": token, "filter": "x"})
    return response.status_code


def test_create_a_key_copy_its_secret_then_revoke_it(page: Page, ui_server: Server) -> None:
    admin = new_token(ui_server, "write-config", "ui admin")
    sign_in(page, admin)
    page.click("header.top nav >> text=API keys")
    expect(page.locator("h1")).to_have_text("API keys")
    html = page.content()
    for secret in (admin, ui_server.read_token, ui_server.write_token):
        assert secret and secret not in html  # only hashes are kept; nothing to show
    page.select_option("#kind", "read-logs")
    page.fill("#label", "grafana <b>dash</b>")
    page.click("form.create-key button[type=submit]")
    box = page.locator(".secret-box")
    expect(box).to_contain_text("shown only this once")
    secret = page.locator("#new-secret").input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", secret)
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert query_status(ui_server, secret) == 200
    row = page.locator("table.keys tbody tr", has_text="grafana <b>dash</b>")
    expect(row).to_contain_text("read-logs")
    expect(row).to_contain_text("never")
    token_id = row.get_attribute("data-id")
    # The list itself (reloaded) no longer holds the secret.
    page.goto("/keys")
    assert secret not in page.content()
    row = page.locator(f"table.keys tbody tr[data-id='{token_id}']")
    row.locator("button", has_text="Revoke").click()  # the confirm() is accepted
    expect(page.locator("p.notice")).to_contain_text(f"Revoked {token_id}")
    expect(row).to_have_class("revoked")
    expect(row.locator("button")).to_have_count(0)
    assert query_status(ui_server, secret) == 401


def test_revoking_the_sessions_own_token_signs_out(page: Page, ui_server: Server) -> None:
    admin = new_token(ui_server, "write-config", "short-lived")
    sign_in(page, admin, "/keys")
    row = page.locator("table.keys tbody tr", has=page.locator(".badge", has_text="this session"))
    row.locator("button", has_text="Revoke").click()
    page.wait_for_url(re.compile(r"/login\?signedOut=1"))
    page.goto("/keys")
    page.wait_for_url(re.compile(r"/login"))
    assert query_status(ui_server, admin) == 401


def test_keys_need_a_write_config_token(
    page: Page, ui_server: Server, watched: Watched
) -> None:
    watched.allowed.append("status of 403")
    sign_in(page, new_token(ui_server, "read-config"))
    expect(page.locator("header.top nav a")).to_have_text(["Search", "Parsers", "Usage"])
    response = page.goto("/keys")
    assert response is not None and response.status == 403
    expect(page.locator("p.error")).to_contain_text(
        "this read-config token may not write configuration")


def test_sign_in_refuses_a_write_logs_token_and_a_wrong_one_with_a_clear_message(
    page: Page, ui_server: Server, watched: Watched
) -> None:
    watched.allowed += ["status of 403", "status of 401"]
    page.goto("/login")
    page.fill("#token", ui_server.write_token or "")
    page.click("button[type=submit]")
    expect(page.locator("#signin-error")).to_contain_text(
        "This is a write-logs token: it can only send logs")
    assert "/login" in page.url
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    expect(page.locator("#signin-error")).to_contain_text("not valid (unknown or revoked)")
    page.fill("#token", ui_server.read_token or "")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_sign_out_ends_the_session(page: Page, ui_server: Server) -> None:
    sign_in(page, ui_server.read_token or "")
    page.locator("header.top button", has_text="Sign out").click()
    page.wait_for_url(re.compile(r"/login\?signedOut=1"))
    expect(page.locator("p.notice")).to_have_text("You are signed out.")
    page.goto("/usage")
    page.wait_for_url(re.compile(r"/login\?next=%2Fusage"))


def test_a_post_without_the_csrf_token_is_refused_and_pages_carry_the_csp(
    page: Page, ui_server: Server
) -> None:
    sign_in(page, new_token(ui_server, "write-config"), "/keys")
    shown = page.goto("/keys")
    assert shown is not None
    csp = shown.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    before = page.locator("table.keys tbody tr").count()
    # The browser's own cookies, but no CSRF token: what a forged form would send.
    forged = page.request.post("/keys", form={"kind": "write-config", "label": "forged"})
    assert forged.status == 403
    assert "CSRF token" in forged.text()
    assert forged.headers["content-security-policy"] == csp
    wrong = page.request.post("/keys", form={"kind": "write-config", "csrf": "x" * 43})
    assert wrong.status == 403
    page.reload()
    expect(page.locator("table.keys tbody tr")).to_have_count(before)
    expect(page.locator("table.keys")).not_to_contain_text("forged")
