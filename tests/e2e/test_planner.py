"""A real browser draws a city's grids, sees the plan on the map beside today's grids, and
adopts it; the page reads the same in English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from tests.planning.citylayout import planville, write

from caregrid.auth.roles import SYSTEM
from caregrid.registry import importer
from caregrid.registry.models import City, Division, Grid, Network

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer


@pytest.fixture
def city(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """Planville committed for the live server; removed afterwards with its plans."""
    data = planville()
    with Session(engine) as session:
        importer.apply(session, importer.load(write(tmp_path, data)), actor=SYSTEM)
        session.commit()
    try:
        yield "planville"
    finally:
        with Session(engine) as session:
            # networks first: their memberships name the city's institutions
            city_id = select(City.id).where(City.code == "planville").scalar_subquery()
            grids = select(Grid.id).where(Grid.city_id == city_id)
            session.execute(delete(Network).where(Network.grid_id.in_(grids)))
            session.execute(delete(City).where(City.code == "planville"))
            codes = [d["code"] for d in data["divisions"]]
            session.execute(delete(Division).where(Division.parent_code.in_(codes)))
            session.execute(delete(Division).where(Division.code.in_(codes)))
            session.commit()


def test_plan_view_adopt(page: Page, live_server: LiveServer, city: str) -> None:
    base = live_server.base_url
    page.goto(f"{base}/login?next=/planning")
    page.locator("input[name=username]").fill(live_server.username)
    page.locator("input[name=password]").fill(live_server.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(f"{base}/planning")
    page.locator(f"tr[data-city={city}] a").click()
    expect(page.locator("#today-map")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#today-map")).to_have_attribute("data-groups", "2")
    assert page.locator("#today-map svg").count() == 1
    page.locator("#grids").fill("3")
    page.locator("#max_seconds").fill("10")
    page.locator("#draw-plan").click()
    expect(page).to_have_url(re.compile(rf"{base}/planning/plans/\d+$"))
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "proposed")
    expect(page.locator("#plan-map")).to_have_attribute("data-groups", "3")
    expect(page.locator("#proof")).to_contain_text("已证明最优")
    for requirement in ("A1", "A2", "A3", "contiguity"):
        row = page.locator(f"#plan-checks tr[data-requirement={requirement}]")
        expect(row).to_have_attribute("data-passed", "true")
    expect(page.locator("#plan-grids tbody tr")).to_have_count(3)
    page.locator("#adopt-plan").click()
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "adopted")
    expect(page.locator("#adopt-plan")).to_have_count(0)
    page.locator("#lang-switch").click()
    expect(page.locator("h1")).to_contain_text("Grid plan")
    expect(page.locator("#plan-checks")).to_contain_text("every area in exactly one grid")
    page.goto(f"{base}/planning/{city}")
    expect(page.locator("#today-map")).to_have_attribute("data-groups", "3")
