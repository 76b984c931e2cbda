"""End-to-end fixtures: the real app served by uvicorn on 127.0.0.1, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM, Role
from caregrid.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PASSWORD = "e2e correct horse battery"


@dataclass(frozen=True)
class LiveServer:
    """Where the app answers and the account to sign in with."""

    base_url: str
    username: str
    password: str


def _create_regulator(engine: Engine) -> str:
    """A committed regulator account with a random username; returns the username."""
    username = f"e2e-regulator-{secrets.token_hex(4)}"
    with Session(engine) as session:
        auth.create_user(
            session,
            SYSTEM,
            username=username,
            display_name="E2E Regulator",
            password=PASSWORD,
            roles={Role.REGULATOR},
        )
        session.commit()
    return username


def _wait_until_healthy(base_url: str, thread: threading.Thread) -> None:
    """Poll /healthz for up to 10 s; fail if the server thread died or never answered."""
    for _ in range(100):
        if not thread.is_alive():
            pytest.fail("the uvicorn thread exited before /healthz answered")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{base_url}/healthz did not answer within 10 s")


@pytest.fixture(scope="module")
def live_server(engine: Engine) -> Iterator[LiveServer]:
    """The real app (migrated database, shipped layouts) served on a free 127.0.0.1 port."""
    username = _create_regulator(engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="e2e-uvicorn", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, thread)
        yield LiveServer(base_url=base_url, username=username, password=PASSWORD)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "the uvicorn thread did not stop within 10 s"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a Playwright-downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; run scripts/install-chromium.sh to run e2e tests")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# Where each story's last page is kept as a screenshot, for a person to look at after a run
# (not committed: /var/ is ignored).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test; its last page is screenshot."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        opened = context.new_page()
        yield opened
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        with contextlib.suppress(PlaywrightError):  # a page that crashed has nothing to show
            opened.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


WORLD_PASSWORD = "correct horse battery"  # tests.conftest.make_principal, in tests.world


def sign_in(page: Page, base: str, username: str, target: str = "/referrals") -> None:
    """Through the login form, landing on `target`."""
    page.goto(f"{base}/login?next={target}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(WORLD_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(f"{base}{target}")


def sign_out(page: Page, base: str) -> None:
    page.locator("form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/login"))
