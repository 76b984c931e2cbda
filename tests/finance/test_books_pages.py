"""The books page and API (I1, I2, I5, I6) and the special funds on the budget page (I4):
the office uploads statements (a bad file refused with its row and column, nothing kept),
reads each member's warnings, and sees what the district pays the lead; both languages; a
member's staff refused; a profile without the fund answers 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid.auth.roles import SYSTEM, Role
from caregrid.registry import importer
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout
from tests.finance.test_books import CHC, LEAD, SEC, _csv, _evaluated, _row

BOOKS = "/networks/t-net-a/finance/books"
STATEMENTS = _csv(
    *(_row(CHC, f"2024-{m:02d}-28", revenue_cny=100_000, expenditure_cny=90_000) for m in (1, 2)),
    *(
        _row(CHC, f"2025-{m:02d}-28", revenue_cny=130_000, expenditure_cny=100_000,
             drug_revenue_cny=d, performance_pay_cny=d * 0.3)
        for m, d in ((1, 30_000), (2, 40_000), (3, 20_000))
    ),
    _row(SEC, "2025-03-31", personnel_cost_cny=20_000),  # 25% of business expenditure
)  # fmt: skip


@pytest.fixture
def office(session: Session, tmp_path: Path, fresh_store: object) -> dict[str, str]:
    data = layout()
    network(data, "t-net-a")["kind"], network(data, "t-net-a")["profile"] = "urban_group", "jinhua"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    admin = make_principal(session, "books-office", Role.NETWORK_ADMIN, network="t-net-a")
    return bearer(session, admin)


def test_statements_sent_on_the_page_and_read_with_their_warnings(
    client: TestClient, session: Session, office: dict[str, str]
) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    page = {**office, "Accept": "text/html"}
    bad = client.post(
        f"{BOOKS}?year=2025", headers=page,
        files={"file": ("bad.csv", _csv(_row("t-chc-b", "2025-01-31")), "text/csv")},
    )  # fmt: skip
    assert bad.status_code == 422 and 'id="error-statements"' in bad.text
    assert "t-chc-b" in bad.text
    empty = client.get(f"{BOOKS}?year=2025", headers=page).text
    assert empty.count("本年尚无财务报表。") == 3  # nothing of the bad file was kept
    sent = client.post(
        f"{BOOKS}?year=2025", headers=page, follow_redirects=False,
        files={"file": ("books.csv", STATEMENTS, "text/csv")},
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == f"{BOOKS}?year=2025"
    shown = client.get(f"{BOOKS}?year=2025", headers=page).text
    chc = shown.split(f'id="books-{CHC}"')[1].split("</tr>")[0]
    assert "390,000.00" in chc and "90,000.00" in chc  # revenue; surplus 390,000 - 300,000
    assert 'data-line="FB7" data-warned="true"' in chc and "r = 1.00" in chc
    sec = shown.split(f'id="books-{SEC}"')[1].split("</tr>")[0]
    assert 'data-id="FB1" data-state="red"' in sec and "25.0%" in sec
    assert f'id="books-{SEC}" data-warnings="1"' in shown
    assert ENGLISH.findall(_visible(shown)) == [], ENGLISH.findall(_visible(shown))
    client.cookies.set(COOKIE, "en")
    english = client.get(f"{BOOKS}?year=2025", headers=page).text
    client.cookies.delete(COOKIE)
    assert "Personnel cost share" in english and "Drugs r = 1.00" in english

    _evaluated(session, "t-net-a", met=9, criteria=15)
    budget = client.get("/networks/t-net-a/finance?year=2025", headers=page).text
    funds = budget.split('id="special-funds"')[1].split("</section>")[0]
    assert 'data-passed="true"' in funds
    growth = funds.split(f'id="growth-{CHC}"')[1].split("</tr>")[0]
    assert "20,000.00" in growth and "90,000.00" in growth  # 2024's two months; 2025's three
    assert 'id="growth-share">21,000.00' in funds  # 30% of (90,000 - 20,000)
    assert 'id="to-lead"><strong>5,021,000.00' in funds
    assert f'id="growth-{LEAD}"' not in funds
    assert ENGLISH.findall(_visible(budget)) == [], ENGLISH.findall(_visible(budget))


def test_the_books_api_and_its_refusals(
    client: TestClient, session: Session, office: dict[str, str], tmp_path: Path
) -> None:
    sent = client.post(
        "/api/networks/t-net-a/financial-statements", content=STATEMENTS,
        headers={**office, "Content-Type": "text/csv"},
    )  # fmt: skip
    assert sent.status_code == 201 and sent.json()["stored"] == 6
    bad = client.post(
        "/api/networks/t-net-a/financial-statements",
        content=_csv(_row(CHC, "2025-01-31", performance_pay_cny=30_000)),
        headers={**office, "Content-Type": "text/csv"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "performance_pay_cny" in bad.text and "personnel_cost_cny" in bad.text
    found = client.get("/api/networks/t-net-a/books?year=2025", headers=office).json()
    by = {m["institution_code"]: m for m in found["members"]}
    assert by[CHC]["months"] == 3 and by[CHC]["surplus_cny"] == pytest.approx(90_000)
    assert by[SEC]["figures"][0] == {"indicator": "FB1", "value": 0.25, "state": "red"}
    assert by[CHC]["warnings"] == ["FB3", "I5:FB7"]  # 300,000 spent of a 270,000 budget
    funds = client.get("/api/networks/t-net-a/special-funds/2025", headers=office).json()
    assert funds["passed"] is False and funds["to_lead_cny"] == "0.00"
    assert funds["growth_share_cny"] == "21000.00"
    member = make_principal(session, "books-unit", Role.INSTITUTION_ADMIN, institution=CHC)
    staff = bearer(session, member)
    assert client.get("/api/networks/t-net-a/books?year=2025", headers=staff).status_code == 403
    assert (
        client.get(f"{BOOKS}?year=2025", headers={**staff, "Accept": "text/html"}).status_code
        == 403
    )
    assert client.get("/api/networks/t-net-b/books?year=2025", headers=office).status_code == 403
    commission = bearer(session, make_principal(session, "books-reg", Role.REGULATOR))
    none = client.get("/api/networks/t-net-b/special-funds/2025", headers=commission)
    assert none.status_code == 404  # t-net-b's profile sets no fund
