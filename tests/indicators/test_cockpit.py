"""The cockpit over HTTP on the hand-computed set: every indicator with value, target and
state; referrals by month; members ranked; a member's account sees its own figures and
nothing of the other members (J9); an outsider is refused."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.indicators import exports
from tests.conftest import bearer, make_principal
from tests.indicators.conftest import LEAD, NET, PRIMARY
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session, facts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(facts))
    get_settings.cache_clear()
    with clock.frozen(NOW):
        yield build(session)
    get_settings.cache_clear()


def _get(client: TestClient, session: Session, who: Principal, url: str) -> str:
    with clock.frozen(NOW):
        response = client.get(url, headers={**bearer(session, who), "Accept": "text/html"})
    assert response.status_code == 200, response.text[:300]
    return str(response.text)


def _tile(page: str, indicator: str) -> str:
    pattern = rf'<div class="tile [^"]*" data-indicator="{indicator}".*?</div>\s*</div>'
    found = re.search(pattern, page, re.S)
    assert found, indicator
    return found.group(0)


def test_the_office_sees_every_indicator_with_target_and_state(
    client: TestClient, session: Session, world: World
) -> None:
    page = _get(client, session, world.office, f"/networks/{NET}/cockpit?year=2025")
    primary = _tile(page, "CC3")  # 5 of 8 visits at primary level; Jinhua: 67.5% by 2025-12-31
    assert 'data-state="amber"' in primary and ">62.5<" in primary and "5 / 8" in primary
    assert "-5.0" in primary  # exactly 5 points short: still amber
    slots = _tile(page, "UG4")
    assert 'data-state="amber"' in slots and "199 / 600" in slots and "33.3" in slots
    assert 'data-state="grey"' in _tile(page, "MR2")  # Jinhua sets no recognition target
    assert "非官方" in _tile(page, "UG4") and "非官方" not in _tile(page, "CC3")
    month = r'data-month="2025-01"><td>2025-01</td><td class="num">2</td><td class="num">1</td>'
    assert re.search(month, page)
    ranked = re.findall(r'<tr data-member="([^"]+)">', page)
    assert ranked[:1] == [PRIMARY] and LEAD in ranked  # 100% primary share first
    assert "/static/vendor/echarts/dist/echarts.min.js" in page
    chronic = _tile(page, "RF6")  # a count with a rise to reach, nothing a year earlier
    assert 'data-state="grey"' in chronic and "+10.0% （较上年同期）" in chronic
    assert 'data-state="green"' in _tile(page, "CC2")  # every 2025 encounter at a member
    members = page[page.index('id="members"') :]
    assert ">CC3<" in members and ">CC2<" not in members  # areas are not members' figures
    # Jinhua evaluates every 6 months (K7): the year's two half-years
    assert re.findall(rf'href="/networks/{NET}/evaluations/([^"]+)"', page) == ["2025H1", "2025H2"]


def test_a_member_sees_its_own_figures_only(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        headers = {**bearer(session, world.community_doctor), "Accept": "text/html"}
        response = client.get(f"/networks/{NET}/cockpit?year=2025", headers=headers)
    assert str(response.url).endswith(f"/cockpit/members/{PRIMARY}?year=2025")
    page = response.text
    assert ">100.0<" in _tile(page, "CC3") and "data-member=" not in page
    assert 'data-indicator="CC2"' not in page  # the network's area figure is not the member's
    assert LEAD not in page.replace(f"/networks/{NET}", "")
    with clock.frozen(NOW):
        other = client.get(f"/networks/{NET}/cockpit/members/{LEAD}?year=2025", headers=headers)
        outsider = client.get(
            f"/networks/{NET}/cockpit?year=2025",
            headers={**bearer(session, world.other_grid_doctor), "Accept": "text/html"},
        )
    assert other.status_code == 403 and outsider.status_code == 403


def _excel_rows(client: TestClient, session: Session, who: Principal) -> list[tuple[object, ...]]:
    with clock.frozen(NOW):
        response = client.get(
            f"/networks/{NET}/indicators.xlsx?year=2025", headers=bearer(session, who)
        )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_excel_export_by_member_and_month_leaks_nothing_to_a_member(
    client: TestClient, session: Session, world: World
) -> None:
    rows = _excel_rows(client, session, world.office)
    assert rows[0][:4] == ("指标", "中文名称", "英文名称", "依据等级")  # zh-CN, the default
    cc3 = [(r[4], r[6], r[7], r[8], r[9]) for r in rows if r[0] == "CC3"]
    assert cc3[:2] == [(NET, "2025-01", 4, 6, 66.7), (NET, "2025-02", 1, 2, 50.0)]
    assert (LEAD, "2025-01", 0, 2, 0.0) in cc3
    mine = _excel_rows(client, session, world.community_doctor)
    assert {r[4] for r in mine[1:]} == {PRIMARY}


def test_the_annual_report_prints_to_pdf(
    client: TestClient, session: Session, world: World, tmp_path: Path
) -> None:
    page = _get(client, session, world.office, f"/networks/{NET}/report?year=2025")
    assert '<tr data-indicator="CC3"><td>CC3</td>' in page and "62.5%" in page
    assert page.count("<rect") == 4  # up and down in January and February
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed")
    printed = exports.pdf(page, tmp_path / "report.pdf")
    assert printed.read_bytes()[:5] == b"%PDF-" and printed.stat().st_size > 5000


def test_the_annual_report_is_in_the_readers_language_and_downloads_as_pdf(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    chinese = _get(client, session, world.office, f"/networks/{NET}/report?year=2025")
    assert "年度指标报告" in chinese and "<h2>指标与目标</h2>" in chinese
    client.cookies.set("caregrid_lang", "en")
    english = _get(client, session, world.office, f"/networks/{NET}/report?year=2025")
    client.cookies.clear()
    assert "annual indicator report" in english and "<h2>Indicators and targets</h2>" in english
    assert not re.search(r"[\u4e00-\u9fff]", english.split("<tbody>")[0].split("</h1>")[1])
    cockpit_page = _get(client, session, world.office, f"/networks/{NET}/cockpit?year=2025")
    assert f'href="/networks/{NET}/report.pdf?year=2025"' in cockpit_page
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed")
    with clock.frozen(NOW):
        download = client.get(
            f"/networks/{NET}/report.pdf?year=2025", headers=bearer(session, world.office)
        )
    assert download.status_code == 200 and download.content[:5] == b"%PDF-"
    assert download.headers["content-type"] == "application/pdf"
    assert f'filename="{NET}-2025.pdf"' in download.headers["content-disposition"]
    # Without Chromium the download is refused with the reason, not a 500.
    monkeypatch.setattr(exports, "CHROMIUM", ("no-such-browser",))
    with clock.frozen(NOW):
        missing = client.get(
            f"/networks/{NET}/report.pdf?year=2025",
            headers={**bearer(session, world.office), "Accept": "text/html"},
        )
    assert missing.status_code == 503 and "apt-get install -y chromium" in missing.text


def test_the_commission_compares_the_citys_networks(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        regulator = make_principal(session, "commission", Role.REGULATOR)
    page = _get(client, session, regulator, "/cities/jinhua/comparison?year=2025")
    row = rf'<tr data-indicator="CC3">.*?<td class="num state-(\w+)" data-network="{NET}"'
    cell = re.search(row + r"[^>]*>([^<]+)<", page, re.S)
    assert cell and cell.groups() == ("amber", "62.5")
    assert 'data-network="jh-zxyy-jindong"' in page  # every network of the city side by side
    with clock.frozen(NOW):
        office = client.get(
            "/cities/jinhua/comparison?year=2025",
            headers={**bearer(session, world.office), "Accept": "text/html"},
        )
    assert office.status_code == 403


def test_the_api_gives_a_member_its_own_figures_only(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        office = client.get(
            f"/api/networks/{NET}/indicators?year=2025", headers=bearer(session, world.office)
        ).json()
        member = client.get(
            f"/api/networks/{NET}/indicators?year=2025&member={LEAD}",
            headers=bearer(session, world.community_doctor),
        )
        own = client.get(
            f"/api/networks/{NET}/indicators?year=2025",
            headers=bearer(session, world.community_doctor),
        ).json()
    cc3 = next(i for i in office["indicators"] if i["id"] == "CC3")
    assert (cc3["numerator"], cc3["denominator"], cc3["value"]) == (5, 8, 62.5)
    assert (cc3["target"], cc3["state"], cc3["gap_points"]) == (67.5, "amber", -5.0)
    assert member.status_code == 403
    assert own["unit"] == PRIMARY
    assert next(i for i in own["indicators"] if i["id"] == "CC3")["value"] == 100.0


def test_a_formula_typed_as_a_name_stays_text_in_the_excel_export(
    client: TestClient, session: Session, world: World
) -> None:
    from sqlalchemy import select

    from caregrid.registry.models import Institution

    lead = session.scalars(select(Institution).where(Institution.code == LEAD)).one()
    lead.name_zh = '=HYPERLINK("x")'
    session.flush()
    with clock.frozen(NOW):
        response = client.get(
            f"/networks/{NET}/indicators.xlsx?year=2025", headers=bearer(session, world.office)
        )
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = [row[5] for row in sheet.iter_rows(min_row=2) if row[4].value == LEAD]
    assert names and all(c.value == '\'=HYPERLINK("x")' and c.data_type == "s" for c in names)
    # Numbers are not text: a negative or zero figure stays a number.
    assert all(isinstance(row[9].value, float | int | None) for row in sheet.iter_rows(min_row=2))


def test_the_excel_export_has_a_wide_sheet_per_indicator_in_the_readers_language(
    client: TestClient, session: Session, world: World
) -> None:
    """Units down, the year's months across, the same values as the data sheet; English
    headers and names for an English reader."""
    client.cookies.set("caregrid_lang", "en")
    with clock.frozen(NOW):
        response = client.get(
            f"/networks/{NET}/indicators.xlsx?year=2025", headers=bearer(session, world.office)
        )
    client.cookies.clear()
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    data = [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    assert workbook.sheetnames[0] == "Data" and workbook.sheetnames[-1] == "Notes"
    assert data[0][:4] == ("Indicator", "Name (Chinese)", "Name (English)", "Evidence level")
    [cc3] = [n for n in workbook.sheetnames if n.startswith("CC3 ")]
    wide = [tuple(r) for r in workbook[cc3].iter_rows(values_only=True)]
    assert wide[1] == ("Unit code", "Unit", *(f"2025-{m:02d}" for m in range(1, 13)))
    network = next(r for r in wide[2:] if r[0] == NET)
    assert network[2:4] == (66.7, 50.0)  # January and February, as on the data sheet
    assert len(cc3) <= 31 and all(len(n) <= 31 for n in workbook.sheetnames)
