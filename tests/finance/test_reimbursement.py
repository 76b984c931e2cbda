"""What the fund reimbursed at each tier (JH 8.2) and elsewhere in the county (E6), on
hand-set claims: the order of the tiers at its edge (two tiers at the same share do not
steer), the unpaid outpatient claims counted, the page and the API."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth.roles import SYSTEM, Role
from caregrid.finance import reimbursement
from caregrid.registry import importer
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout

NET = "t-net-a"


def _claim(n: int, institution: str, paid: float, cost: float, **more: object) -> dict[str, object]:
    return {
        "claim_id": f"c{n}",
        "institution_code": institution,
        "patient_id": f"P{n}",
        "kind": more.pop("kind", "outpatient"),
        "date": date(2025, 3, 10),
        "insured_division_code": "900101",
        "home_division_code": more.pop("home", "900101"),
        "out_of_county": more.pop("out_of_county", False),
        "total_cost_cny": cost,
        "insurance_paid_cny": paid,
    }


def _world(session: Session, tmp_path: Path, profile: str, claims: list[dict[str, object]]) -> None:
    data = layout()
    network(data, NET)["profile"] = profile
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist(claims, schema(declared)))


TIERED = [
    _claim(1, "t-chc-a", 90, 100),  # primary: 90%
    _claim(2, "t-sec-a", 160, 200),  # secondary: 80%
    _claim(3, "t-lead-a", 700, 1000, kind="inpatient"),  # tertiary: 70%
    _claim(4, "t-lead-b", 10, 1000),  # another network's lead: not the network's tier
]


def test_shares_falling_tier_by_tier_steer_to_primary(session: Session, tmp_path: Path) -> None:
    _world(session, tmp_path, "jinhua", TIERED)
    found = reimbursement.reimbursement(session, SYSTEM, NET, 2025)
    assert found.differentiated and not found.pooled_anywhere
    assert [t.figure.value for t in found.tiers] == pytest.approx([0.9, 0.8, 0.7])
    assert found.steers is True


def test_a_tier_at_the_same_share_as_the_one_above_does_not_steer(
    session: Session, tmp_path: Path
) -> None:
    # primary 90 + 90 of 100 + 125 = 80%: exactly the secondary's share
    _world(session, tmp_path, "jinhua", [*TIERED, _claim(5, "t-chc-a", 90, 125)])
    found = reimbursement.reimbursement(session, SYSTEM, NET, 2025)
    assert found.tiers[0].figure.value == pytest.approx(0.8)
    assert found.steers is False


def test_one_tier_with_claims_has_nothing_to_compare(session: Session, tmp_path: Path) -> None:
    _world(session, tmp_path, "jinhua", TIERED[:1])
    found = reimbursement.reimbursement(session, SYSTEM, NET, 2025)
    assert [t.level for t in found.compared] == ["primary"] and found.steers is None


def test_outpatient_claims_elsewhere_the_pool_did_not_pay_are_counted(
    session: Session, tmp_path: Path
) -> None:
    claims = [
        _claim(1, "t-lead-b", 50, 100),  # elsewhere in the county, paid
        _claim(2, "t-chc-b", 0, 80),  # elsewhere, not paid: E6 is not honoured
        _claim(3, "t-chc-a", 0, 80),  # at the network's own member: not counted
        _claim(4, "t-lead-b", 0, 80, out_of_county=True),  # flagged out of county
        _claim(5, "t-lead-b", 0, 80, kind="inpatient"),  # a stay
        _claim(6, "t-lead-b", 0, 80, home="900102"),  # lives in the other grid
    ]
    _world(session, tmp_path, "ganzhou-urban", claims)
    found = reimbursement.reimbursement(session, SYSTEM, NET, 2025)
    assert found.pooled_anywhere and not found.differentiated
    assert (found.pooled.numerator, found.pooled.denominator) == (1, 2)
    assert found.unpaid == 1


def test_the_page_and_the_api_show_the_tiers(
    client: TestClient, session: Session, tmp_path: Path, fresh_store: object
) -> None:
    _world(session, tmp_path, "jinhua", TIERED)
    headers = bearer(session, make_principal(session, "fr-office", Role.NETWORK_ADMIN, network=NET))
    body = client.get(f"/api/networks/{NET}/reimbursement/2025", headers=headers).json()
    assert [t["figure"]["indicator"] for t in body["tiers"]] == ["FR1", "FR2", "FR3"]
    assert body["steers"] is True and body["unpaid"] == 0
    page = client.get(
        f"/networks/{NET}/finance?year=2025", headers={**headers, "Accept": "text/html"}
    )
    assert page.status_code == 200
    assert 'id="reimbursement" data-steers="true"' in page.text
    assert "90/100" in page.text
