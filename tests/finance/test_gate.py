"""The bundled-payment gate (I3, GZ-C 三(六)): a county community with a DIP pool, its
structure in place and every criterion of its evaluation met may be paid as one bundle; one
criterion short, no evaluation, or no DIP pool shuts it, each with its reason; a profile
without bundled payment has no gate."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Forbidden
from caregrid.finance import gate
from caregrid.finance import service as finance
from caregrid.indicators.models import Evaluation, EvaluationItem
from caregrid.registry import importer
from caregrid.registry import service as registry
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout
from tests.finance.test_settlement import _budgeted


@pytest.fixture
def county(session: Session, tmp_path: Path) -> str:
    """t-net-a as a Ganzhou county community, as the settlement tests have it."""
    return _budgeted(session, tmp_path, "county_community", "ganzhou-county")


@pytest.fixture
def group(session: Session, tmp_path: Path) -> str:
    return _budgeted(session, tmp_path, "urban_group", "jinhua")


@pytest.fixture
def whole(session: Session, tmp_path: Path) -> str:
    """t-net-a as a county community under a profile evaluated half-yearly against the
    criteria (tests/data/test-county.yaml), its structure in place and its 2025 budget with a
    DIP pool."""
    data = layout()
    community = network(data, "t-net-a")
    community["kind"], community["profile"] = "county_community", "test-county"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    finance.set_budget(session, SYSTEM, "t-net-a", 2025, lump_sum_cny=Decimal("1000.00"),
                       dip_pool_cny=Decimal("500.00"))  # fmt: skip
    return "t-net-a"


def _evaluated(session: Session, code: str, period: str, met: int, criteria: int) -> None:
    session.add(
        Evaluation(
            network_id=registry.get_network(session, code).id, period=period, criteria="t",
            created_by="t", created_at=datetime(2025, 7, 1, tzinfo=UTC),
            items=[EvaluationItem(criterion=n + 1, verdict="met" if n < met else "partly")
                   for n in range(criteria)],
        )
    )  # fmt: skip
    session.flush()


def _conditions(found: gate.Gate | None) -> dict[str, bool]:
    assert found is not None
    return {c.name: c.met for c in found.conditions}


def test_a_community_without_a_village_clinic_does_not_run_in_substance(
    session: Session, county: str
) -> None:
    found = gate.bundled_payment(session, SYSTEM, county, 2025, dip_pool=True)
    assert found is not None and not found.open
    assert _conditions(found)["in_substance"] is False
    assert str(found.conditions[3].reason) == "structure checks failing: A4"
    assert _conditions(found)["criteria"] is False  # Ganzhou's county profile names none
    assert "names no criteria" in str(found.conditions[2].reason)


def test_every_criterion_met_opens_the_gate_and_one_short_shuts_it(
    session: Session, whole: str
) -> None:
    shut = gate.bundled_payment(session, SYSTEM, whole, 2025, dip_pool=True)
    assert shut is not None and not shut.open
    assert _conditions(shut) == {
        "provided": True, "inside_dip": True, "criteria": False, "in_substance": True
    }  # fmt: skip
    assert "no evaluation" in str(shut.conditions[2].reason)
    _evaluated(session, whole, "2025H2", met=14, criteria=15)
    short = gate.bundled_payment(session, SYSTEM, whole, 2025, dip_pool=True)
    assert short is not None and not short.open
    assert "14 of 15 criteria met, 100% needed" in str(short.conditions[2].reason)
    session.query(Evaluation).delete()
    _evaluated(session, whole, "2025H2", met=15, criteria=15)
    opened = gate.bundled_payment(session, SYSTEM, whole, 2025, dip_pool=True)
    assert opened is not None and opened.open
    outside = gate.bundled_payment(session, SYSTEM, whole, 2025, dip_pool=False)
    assert outside is not None and not outside.open
    assert _conditions(outside)["inside_dip"] is False


def test_the_gate_on_the_page_and_the_api(
    client: TestClient, session: Session, county: str
) -> None:
    office = bearer(session, make_principal(session, "gate-office", Role.NETWORK_ADMIN,
                                            network=county))  # fmt: skip
    page = client.get(f"/networks/{county}/finance?year=2025",
                      headers={**office, "Accept": "text/html"}).text  # fmt: skip
    section = page.split('id="bundled-payment"')[1].split("</section>")[0]
    assert 'data-open="false"' in section[:40]
    assert 'data-condition="criteria" data-met="false"' in section
    assert 'data-condition="inside_dip" data-met="true"' in section
    found = client.get(f"/api/networks/{county}/bundled-payment/2025", headers=office).json()
    assert found["open"] is False and [c["name"] for c in found["conditions"]] == [
        "provided", "inside_dip", "criteria", "in_substance"
    ]  # fmt: skip
    finance.set_budget(session, SYSTEM, county, 2026, lump_sum_cny=Decimal(100),
                       dip_pool_cny=Decimal(0))  # fmt: skip
    later = client.get(f"/api/networks/{county}/bundled-payment/2026", headers=office).json()
    assert {c["name"]: c["met"] for c in later["conditions"]}["inside_dip"] is False


def test_a_profile_without_bundled_payment_has_no_gate(
    client: TestClient, session: Session, group: str
) -> None:
    assert gate.bundled_payment(session, SYSTEM, group, 2025, dip_pool=True) is None
    office = bearer(session, make_principal(session, "gate-jh", Role.NETWORK_ADMIN, network=group))
    assert (
        client.get(f"/api/networks/{group}/bundled-payment/2025", headers=office).status_code == 404
    )
    member = make_principal(session, "gate-unit", Role.INSTITUTION_ADMIN, institution="t-chc-a")
    with pytest.raises(Forbidden):
        gate.bundled_payment(session, member, group, 2025, dip_pool=True)
