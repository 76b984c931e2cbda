"""A real browser against the live app: sign in, switch to English, open a Jinhua network."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

LAYOUTS = Path(__file__).resolve().parents[2] / "src" / "caregrid" / "data" / "layouts"
JINHUA = LAYOUTS / "jinhua.yaml"
LEAD_ZH = "金华市人民医院"
SCREENSHOT = Path("/tmp/caregrid-network.png")


@dataclass(frozen=True)
class ExpectedNetwork:
    """What jinhua.yaml says about the group led by 金华市人民医院."""

    code: str
    name: str
    lead_name: str
    township_by_role: dict[str, int]


def _institutions(layout: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Institutions by code, inline or from the CSV the layout points to."""
    rows: list[dict[str, Any]] = list(layout.get("institutions") or [])
    if layout.get("institutions_csv"):
        with (JINHUA.parent / layout["institutions_csv"]).open(encoding="utf-8-sig") as handle:
            rows.extend(csv.DictReader(handle))
    return {str(row["code"]): row for row in rows}


def _expected_network() -> ExpectedNetwork:
    """The Jinhua People's Hospital group as the shipped layout file lists it."""
    if not JINHUA.exists():
        pytest.fail(f"{JINHUA} is missing: the e2e test needs the shipped Jinhua layout")
    layout = yaml.safe_load(JINHUA.read_text(encoding="utf-8"))
    institutions = _institutions(layout)
    for net in layout["networks"]:
        members = net.get("members") or []
        leads = [m["institution"] for m in members if m["role"] == "lead"]
        if not str(net["code"]).startswith("jh-"):
            continue
        if not any(institutions[code]["name_zh"] == LEAD_ZH for code in leads):
            continue
        township: dict[str, set[str]] = {}
        for m in members:
            if m["tier"] == "township":
                township.setdefault(m["role"], set()).add(m["institution"])
        lead = next(institutions[c] for c in leads if institutions[c]["name_zh"] == LEAD_ZH)
        return ExpectedNetwork(
            code=str(net["code"]),
            name=net.get("name_en") or net["name_zh"],
            lead_name=lead.get("name_en") or lead["name_zh"],
            township_by_role={role: len(codes) for role, codes in township.items()},
        )
    pytest.fail(f"no jh-* network led by {LEAD_ZH} in {JINHUA}")


@pytest.mark.e2e
def test_sign_in_switch_language_and_read_a_network(page: Page, live_server: LiveServer) -> None:
    """Sign in (Chinese), switch to English, open the 金华市人民医院 group and read its tiers."""
    base = live_server.base_url

    page.goto(f"{base}/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    submit = page.locator("form[action='/login'] button[type=submit]")
    expect(submit).to_have_text("登录")
    page.locator("input[name=username]").fill(live_server.username)
    page.locator("input[name=password]").fill(live_server.password)
    submit.click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("h1")).to_have_text("我的工作台")
    expect(page.locator("#lang-switch")).to_have_text("English")

    page.locator("#lang-switch").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang-switch")).to_have_text("中文")
    expect(page.locator("h1")).to_have_text("My desk")

    expected = _expected_network()
    page.goto(f"{base}/networks")
    expect(page.locator("h1")).to_have_text("Networks")
    link = page.locator(f"a[href='/networks/{expected.code}']")
    expect(link).to_have_text(expected.name)
    link.click()
    expect(page).to_have_url(f"{base}/networks/{expected.code}")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(expected.name)
    expect(page.get_by_role("heading", name="Members by tier")).to_be_visible()

    lead = page.locator("section.tier[data-role='lead']")
    expect(lead).to_have_count(1)
    expect(lead.locator("h3")).to_contain_text(re.compile(r"^Lead · "))
    expect(lead.locator("tbody")).to_contain_text(expected.lead_name)

    assert expected.township_by_role, f"{expected.code} lists no township-tier members"
    for role, count in expected.township_by_role.items():
        section = page.locator(f"section.tier[data-tier='township'][data-role='{role}']")
        expect(section).to_have_count(1)
        expect(section.locator("h3")).to_contain_text(f"Township / street tier ({count})")
        expect(section.locator("tbody tr")).to_have_count(count)
    assert max(expected.township_by_role.values()) > 1

    expect(page.locator("table.checks tr[data-requirement='A2'] .status")).to_have_text("Pass")

    page.screenshot(path=str(SCREENSHOT), full_page=True)
