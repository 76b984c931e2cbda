"""The cockpit in a real browser over a synthetic year: the network's office sees every
indicator with its state and ECharts draws the charts from the locally served library; a
click drills down to a member; a member's own account lands on its own view and sees no other
member (J9). The live server reads the facts folder this test points it at."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.e2e.conftest import sign_in, sign_out
from tests.world import World, build, remove

from caregrid.config import get_settings
from caregrid.indicators.definitions import catalogue
from caregrid.synth.city import generate

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

NET = "jh-rmyy-wucheng"
SCREENSHOT = Path("/tmp/caregrid-cockpit.png")


@pytest.fixture
def city(
    engine: Engine, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    generate("jinhua", 3000, 2025, 7, tmp_path / "facts")
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(tmp_path / "facts"))
    get_settings.cache_clear()
    tag = f"-ck{secrets.token_hex(2)}"
    with Session(engine) as session:
        world = build(session, tag)
        session.commit()
    try:
        yield world
    finally:
        remove(world)
        get_settings.cache_clear()


@pytest.mark.e2e
def test_the_office_drills_down_and_a_member_sees_only_itself(
    page: Page, live_server: LiveServer, city: World
) -> None:
    base = live_server.base_url
    sign_in(page, base, f"office{city.tag}", f"/networks/{NET}")
    page.locator("#cockpit-link").click()
    expect(page.locator("h1")).to_contain_text("驾驶舱")
    tiles = page.locator("#tiles .tile")
    expect(tiles).to_have_count(len(catalogue().indicators))
    primary = page.locator(".tile[data-indicator='CC3']")
    expect(primary).to_have_attribute("data-state", "red")  # about half, against 67.5%
    expect(primary.locator(".tile-target")).to_contain_text("67.5%")
    expect(page.locator("#referral-chart svg")).to_have_count(1)  # ECharts drew it
    expect(page.locator("#spark-CC3 svg")).to_have_count(1)
    expect(page.locator("#referrals tbody tr")).to_have_count(12)
    page.screenshot(path=str(SCREENSHOT), full_page=True)  # for a person to look at
    members = page.locator("#members tbody tr")
    expect(members.first).to_be_visible()
    first = members.first.get_attribute("data-member")
    members.first.locator("a").click()
    expect(page.locator("#member-name")).to_have_text(str(first))
    expect(page.locator("#members")).to_have_count(0)
    sign_out(page, base)

    sign_in(page, base, f"chc-admin{city.tag}", f"/networks/{NET}")
    page.locator("#cockpit-link").click()
    expect(page).to_have_url(f"{base}/networks/{NET}/cockpit/members/jh-wc-chengdong")
    expect(page.locator("#member-name")).to_have_text("jh-wc-chengdong")
    expect(page.locator("#members")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("jh-rmyy")
    page.goto(f"{base}/networks/{NET}/cockpit/members/jh-rmyy")
    expect(page.locator("body")).to_contain_text("403")
