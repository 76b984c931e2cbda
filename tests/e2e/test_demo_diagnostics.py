"""The demo in a real browser: on a database of its own loaded by the demo's own steps, the
family doctor opens the open lipid-panel order of a demo resident and is offered the prior
result the lead's laboratory reported (D3), and each of the two doctors starts from a desk
with the demo's work on it, in Chinese and in English."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

PASSWORD = "demo browser correct horse"
LOAD = f"""
from sqlalchemy import select
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM
from caregrid.cli import demo
from caregrid.db.migrate import upgrade
from caregrid.db.session import get_engine, session_scope
from caregrid.diagnostics.models import Order
from caregrid.registry import importer
from caregrid.registry.vocab import NetworkRole
from caregrid.residents import service as residents

upgrade(get_engine())
checked = [importer.load(p) for p in demo.shipped_layouts()]
with session_scope() as s:
    for one in checked:
        importer.apply(s, one, actor=SYSTEM, purpose="demo load")
    n = demo._demo_network(s)
    demo.load_network(s, n)
    for name in ("family-doctor", "doctor"):
        auth.set_password(s, SYSTEM, auth.get_by_username(s, name), {PASSWORD!r})
    unit = demo._pick(n, NetworkRole.MEMBER, primary=True).institution
    zhang = residents.id_by_name(s, "张建国", unit.id)
    order = s.scalars(select(Order).where(
        Order.resident_id == zhang, Order.item_code == "lipid_panel", Order.state == "ordered"
    )).one()
    print(order.id)
"""


@dataclass(frozen=True)
class Demo:
    base_url: str
    order_id: int


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo's steps on a fresh SQLite file, served by uvicorn in a process of its own."""
    folder = tmp_path_factory.mktemp("demo-web")
    env = {
        **os.environ,
        "CAREGRID_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
        "CAREGRID_AUDIT_HEAD_FILE": str(folder / "audit-head.json"),
    }
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    order_id = int(loaded.stdout.strip().splitlines()[-1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "caregrid.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None:
                    pytest.fail("the demo server exited")
                time.sleep(0.1)
        else:
            pytest.fail("the demo server did not answer within 20 s")
        yield Demo(base, order_id)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_family_doctor_is_offered_the_prior_result(browser: Browser, demo_server: Demo) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        target = f"/orders/{demo_server.order_id}"
        page.goto(f"{demo_server.base_url}/login?next={target}")
        page.locator("input[name=username]").fill("family-doctor")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).to_have_url(f"{demo_server.base_url}{target}")
        offers = page.locator("#offers")
        expect(offers).to_contain_text("有效的既往结果")
        expect(offers.locator("button.reuse")).to_have_text("互认沿用此结果")
        expect(offers.locator(".offer")).to_have_count(1)
        context.add_cookies([{"name": "caregrid_lang", "value": "en", "url": demo_server.base_url}])
        page.reload()
        expect(offers).to_contain_text("Valid prior results")
        expect(offers.locator("button.reuse")).to_have_text("Reuse this result")
        expect(offers).to_contain_text("¥40.00")
    finally:
        context.close()


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_each_doctor_starts_the_day_from_the_desk(
    browser: Browser, demo_server: Demo, locale: str
) -> None:
    """The family doctor takes over the patient the lead referred down (B5); the lead's
    doctor opens the referral waiting for cardiology and may accept it (B1)."""
    base = demo_server.base_url
    zh = locale == "zh-CN"
    context = browser.new_context(locale=locale)
    if not zh:
        context.add_cookies([{"name": "caregrid_lang", "value": "en", "url": base}])
    try:
        page = context.new_page()
        _sign_in(page, base, "family-doctor")
        expect(page.locator("h1")).to_have_text("我的工作台" if zh else "My desk")
        take_over = page.locator("#tray-take-over")
        expect(take_over.locator("h2")).to_contain_text(
            "待接收的下转患者" if zh else "Down-referred patients to take over"
        )
        # two of his referrals came back down: after the infarction and with his regimen (G6)
        expect(take_over.locator("li a", has_text="张建国")).to_have_count(2)
        take_over.locator("li a", has_text="张建国").first.click()
        expect(page.locator("#follow-up-plan")).to_contain_text("两周内社区随访")
        page.screenshot(path=f"var/e2e-desk-family-doctor-{locale}.png", full_page=True)
        page.locator("form[action='/logout'] button").click()

        _sign_in(page, base, "doctor")
        waiting = page.locator("#tray-referrals-in")
        expect(waiting).to_have_attribute("data-total", "3")
        expect(page.locator("#tray-consults li")).to_have_count(1)
        waiting.locator("li a", has_text="李秀英").click()
        expect(page.locator("h1")).to_contain_text("李秀英")
        expect(page.locator("body")).to_contain_text("接收" if zh else "Accept")
        page.screenshot(path=f"var/e2e-desk-doctor-{locale}.png", full_page=True)
    finally:
        context.close()
