"""Browser tests of the web UI: a real `millpond serve` (the end-to-end harness's `Server`) and
Debian's Chromium driven by Playwright.

Browser tests skip, saying why, only when /usr/bin/chromium or the playwright package is
missing; `.ci/run` installs both. Each test gets a fresh browser context (no cookies) whose
page fails the test on any JavaScript dialog (an injected `alert`) or console error (a script
error, or a Content-Security-Policy violation).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from e2e.conftest import Server, start_server

# The end-to-end harness's fixture, for tests that start servers of their own.
__all__ = ["start_server"]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}

needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
    reason="the browser tests need Debian's Chromium at /usr/bin/chromium and the playwright "
    "package ('apt-get install chromium' and pip install -e '.[test]'; .ci/run does both)",
)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a module's tests; each test uploads lines no other test sends."""
    base = tmp_path_factory.mktemp("ui")
    server = Server(base / "data", base / "logs")
    server.start()
    yield server
    server.stop()


def new_token(server: Server, kind: str, label: str = "ui test") -> str:
    """A new API token of `kind` for the account `default`, made through the CLI."""
    made = server.cli("token", "create", "--kind", kind, "--label", label)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


# Package scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, and later tests that call asyncio.run() (tests/web) would fail if it outlived tests/ui.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None:
        pytest.skip(needs_browser.kwargs["reason"])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        yield launched
        launched.close()


class Watched:
    """What a page did that a test must not see: dialogs and console errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.allowed: list[str] = []  # substrings of console errors a test expects

    def check(self) -> None:
        assert self.dialogs == [], f"a JavaScript dialog opened: {self.dialogs}"
        unexpected = [e for e in self.errors if not any(a in e for a in self.allowed)]
        assert unexpected == [], f"console errors: {unexpected}"


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def page(browser: Browser, ui_server: Server, watched: Watched) -> Iterator[Page]:
    context = browser.new_context(base_url=ui_server.base_url, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.set_default_timeout(10_000)

    def on_dialog(dialog: Any) -> None:
        if dialog.type == "confirm":  # the UI's own "Revoke …?" / "Delete …?" questions
            dialog.accept()
            return
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    tab.on("dialog", on_dialog)
    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: watched.errors.append(f"page error: {exc}"))
    yield tab
    context.close()
    watched.check()


def sign_in(page: Page, token: str, next_path: str = "/") -> None:
    page.goto("/login" + ("" if next_path == "/" else f"?next={next_path}"))
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
