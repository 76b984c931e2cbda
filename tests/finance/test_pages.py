"""The global budget's pages (I3, B7, K9): the office sets a year's budget (a negative sum
refused at its field), makes the twelve months, settles January from the claims (the figures
of tests/finance/test_settlement.py), closes it behind a confirmation, is refused a second
settlement with the reason and corrects it with an adjustment; both languages; a member's
staff is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth.roles import SYSTEM, Role
from caregrid.registry import importer
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout
from tests.finance.test_settlement import CLAIMS

BASE = "/networks/t-net-a/finance"


@pytest.fixture
def office(session: Session, tmp_path: Path, fresh_store: object) -> dict[str, str]:
    data = layout()
    community = network(data, "t-net-a")
    community["kind"], community["profile"] = "county_community", "ganzhou-county"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist(CLAIMS, schema(declared)))
    admin = make_principal(session, "fin-page-office", Role.NETWORK_ADMIN, network="t-net-a")
    return {**bearer(session, admin), "Accept": "text/html"}


def test_a_month_settled_closed_and_adjusted_in_the_browser_flow(
    client: TestClient, session: Session, office: dict[str, str]
) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    empty = client.get(f"{BASE}?year=2025", headers=office)
    assert empty.status_code == 200 and 'id="no-budget"' in empty.text
    negative = {"year": "2025", "lump_sum_cny": "-1", "dip_pool_cny": "365000"}
    bad = client.post(f"{BASE}/budget", headers=office, data=negative)
    assert bad.status_code == 422 and 'id="error-budget-lump_sum_cny"' in bad.text
    assert 'value="-1"' in bad.text  # what was typed is kept
    made = client.post(
        f"{BASE}/budget", headers=office, follow_redirects=False,
        data={"year": "2025", "lump_sum_cny": "1200000.00", "dip_pool_cny": "365000.00"},
    )  # fmt: skip
    assert made.status_code == 303 and made.headers["location"] == f"{BASE}?year=2025"
    opened = client.get(BASE, headers=office).text  # no year asked: the last with a budget
    assert "1,200,000.00" in opened.split('id="lump-sum"')[1][:40]
    months = client.post(f"{BASE}/2025/months", headers=office, follow_redirects=False)
    assert months.status_code == 303
    page = client.get(f"{BASE}?year=2025", headers=office).text
    assert page.count('data-state="unsettled"') == 12
    january = page.split('id="period-')[1].split('"')[0]

    settled = client.post(f"/periods/{january}/settle", headers=office, follow_redirects=False)
    assert settled.status_code == 303
    settlement = settled.headers["location"]
    shown = client.get(settlement, headers=office).text
    assert 'id="settlement-state" data-state="open"' in shown
    figures = shown.split('id="figures"')[1].split("</dl>")[0]
    assert "31,100.00" in figures and "800.00" in figures  # spend in the network; B7 waived
    assert 'data-unit="t-lead-a"' in shown and "24,712.52" in shown
    assert f'href="{settlement}/workbook.xlsx"' in shown
    sheet = load_workbook(
        io.BytesIO(client.get(f"{settlement}/workbook.xlsx", headers=office).content)
    )
    figures_sheet = {r[0]: r[1] for r in sheet.worksheets[0].iter_rows(values_only=True)}
    assert figures_sheet["医联体内支出"] == 31100.0 and figures_sheet["免收起付费"] == 800.0
    members = {r[0]: r for r in sheet.worksheets[1].iter_rows(values_only=True)}
    assert members["t-lead-a"][4] == 24712.52  # DIP paid, as on the page
    assert [ws.title for ws in sheet.worksheets][-1] == "计算依据"
    row = client.get(f"{BASE}?year=2025", headers=office).text.split(f'id="period-{january}"')[1]
    assert 'data-state="open"' in row[:30] and "31,100.00" in row.split("</tr>")[0]
    chart = client.get(f"{BASE}?year=2025", headers=office).text.split('id="spend-chart"')[1]
    # January: 34,800.00 paid for the pool's insured against 1,200,000 x 31/365 = 101,917.81
    assert 'data-period="01-01" data-over="false"' in chart and "101,917.81" in chart

    closed = client.post(f"/periods/{january}/close", headers=office, follow_redirects=False)
    assert closed.status_code == 303
    again = client.post(f"/periods/{january}/settle", headers=office)
    assert again.status_code == 409 and f'id="error-settle-{january}"' in again.text
    fix = client.post(
        f"{settlement}/adjustments", headers=office, follow_redirects=False,
        data={"amount_cny": "-120.50", "reason": "c4 重复支付", "institution_code": "t-chc-a"},
    )  # fmt: skip
    assert fix.status_code == 303
    blank = client.post(f"{settlement}/adjustments", headers=office,
                        data={"amount_cny": "5", "reason": ""})  # fmt: skip
    assert blank.status_code == 422
    final = client.get(settlement, headers=office).text
    assert "c4 重复支付" in final and 'data-state="closed"' in final
    text = _visible(final) + _visible(client.get(f"{BASE}?year=2025", headers=office).text)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    english = client.get(f"{BASE}?year=2025", headers=office).text
    client.cookies.delete(COOKIE)
    assert "Spend in the network" in english and "Closed (final)" in english
    member = make_principal(session, "fin-unit", Role.INSTITUTION_ADMIN, institution="t-chc-a")
    staff = {**bearer(session, member), "Accept": "text/html"}
    assert client.get(f"{BASE}?year=2025", headers=staff).status_code == 403
    assert client.get(settlement, headers=staff).status_code == 403
