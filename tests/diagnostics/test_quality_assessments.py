"""External quality assessment (D3) recorded outside the tests: the commission's API, its CSV
import (all rows or none, each problem with its line and column) and CLI command, its page,
and the end of the story: once a passed assessment is recorded, the issuer's result is offered
for reuse, and a failed one offers nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.cli import demo
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import QualityAssessment
from caregrid.diagnostics.schemas import CentreIn, CentreItemIn, OrderIn, ReportIn, ValueIn
from caregrid.diagnostics.vocab import CentreKind
from caregrid.registry.vocab import NetworkRole
from tests.cli.test_cli import database, run
from tests.conftest import bearer, make_principal
from tests.world import NOW, World, build

__all__ = ["database"]  # the CLI test's own database, a fixture

LAYOUT = Path(__file__).resolve().parents[2] / "src/caregrid/data/layouts/jinhua.yaml"
HEADER = "institution_code,category,scheme,assessed_on,result,valid_until\n"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


@pytest.fixture
def commission(session: Session) -> Principal:
    return make_principal(session, "commission-eqa", Role.REGULATOR)


def _body(**changes: str) -> dict[str, str]:
    return {
        "institution_code": "jh-rmyy",
        "category": "chemistry",
        "scheme": "浙江省临床检验中心室间质评 2026",
        "assessed_on": "2026-03-01",
        "result": "passed",
        "valid_until": "2027-02-28",
    } | changes


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(QualityAssessment)) or 0


def test_the_commission_records_and_lists_assessments(
    client: TestClient, session: Session, world: World, commission: Principal
) -> None:
    headers = bearer(session, commission)
    made = client.post("/api/quality-assessments", json=_body(), headers=headers)
    assert made.status_code == 201, made.text
    assert made.json() | {"id": 0} == _body() | {"id": 0}
    failed = _body(institution_code="jh-zxyy", result="failed", scheme="EQA 2026-1")
    assert client.post("/api/quality-assessments", json=failed, headers=headers).status_code == 201
    again = client.post("/api/quality-assessments", json=_body(), headers=headers)
    assert again.status_code == 409
    listed = client.get(
        "/api/quality-assessments", params={"institution_code": "jh-rmyy"}, headers=headers
    )
    assert listed.status_code == 200
    assert [(a["institution_code"], a["result"]) for a in listed.json()] == [("jh-rmyy", "passed")]
    everyone = client.get("/api/quality-assessments", headers=headers).json()
    assert {(a["institution_code"], a["result"]) for a in everyone} >= {
        ("jh-rmyy", "passed"),
        ("jh-zxyy", "failed"),
    }


def test_a_clinician_may_not_record_one(client: TestClient, session: Session, world: World) -> None:
    refused = client.post(
        "/api/quality-assessments", json=_body(), headers=bearer(session, world.cardiologist)
    )
    assert refused.status_code == 403
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_until": "2026-02-28"}, "valid_until"),
        ({"institution_code": "jh-nowhere"}, "institution_code"),
        ({"category": "lipid_panel"}, "category"),
        ({"assessed_on": "2026-02-30"}, "assessed_on"),
        ({"result": "maybe"}, "result"),
    ],
)
def test_a_bad_value_is_422_naming_the_field(
    client: TestClient,
    session: Session,
    world: World,
    commission: Principal,
    changes: dict[str, str],
    field: str,
) -> None:
    refused = client.post(
        "/api/quality-assessments", json=_body(**changes), headers=bearer(session, commission)
    )
    assert refused.status_code == 422, refused.text
    named = {
        e.get("field") or ".".join(map(str, e.get("loc", []))) for e in refused.json()["errors"]
    }
    assert any(field in name for name in named), named
    assert _count(session) == 0


def _csv(*rows: str) -> str:
    return HEADER + "".join(f"{r}\n" for r in rows)


GOOD = "jh-rmyy,chemistry,EQA 2026,2026-03-01,passed,2027-02-28"
GOOD2 = "jh-zxyy,imaging,EQA 2026,2026-04-01,failed,2027-03-31"


def test_the_csv_import_is_all_or_nothing_with_line_and_column(
    client: TestClient, session: Session, world: World, commission: Principal
) -> None:
    headers = {**bearer(session, commission), "Content-Type": "text/csv"}
    bad = _csv(
        GOOD,
        "jh-nowhere,chemistry,EQA 2026,2026-03-01,passed,2027-02-28",
        "jh-zxyy,chemistry,EQA 2026,2026-03-01,passed,2026-01-01",
        GOOD2,
    )
    refused = client.post("/api/quality-assessments/import", content=bad, headers=headers)
    assert refused.status_code == 422, refused.text
    assert {(e["line"], e["field"]) for e in refused.json()["errors"]} == {
        (3, "institution_code"),
        (4, "valid_until"),
    }
    assert _count(session) == 0
    malformed = _csv(GOOD, "jh-zxyy,imaging,EQA 2026,not-a-day,passed,2027-03-31")
    refused = client.post("/api/quality-assessments/import", content=malformed, headers=headers)
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [(3, "assessed_on")]
    assert _count(session) == 0
    done = client.post(
        "/api/quality-assessments/import", content=_csv(GOOD, GOOD2), headers=headers
    )
    assert done.status_code == 201, done.text
    assert [a["result"] for a in done.json()] == ["passed", "failed"]
    # The same list again replaces what it names rather than adding to it.
    client.post("/api/quality-assessments/import", content=_csv(GOOD, GOOD2), headers=headers)
    assert _count(session) == 2
    clinician = {**bearer(session, world.cardiologist), "Content-Type": "text/csv"}
    assert (
        client.post(
            "/api/quality-assessments/import", content=_csv(GOOD), headers=clinician
        ).status_code
        == 403
    )


def test_the_cli_import_refuses_a_bad_file_and_takes_a_good_one(
    database: str, tmp_path: Path
) -> None:
    assert run(database, "db", "upgrade").returncode == 0
    loaded = run(database, "registry", "import", str(LAYOUT))
    assert loaded.returncode == 0, loaded.stderr
    bad = tmp_path / "eqa-2026.csv"
    bad.write_text(_csv(GOOD, "jh-rmyy,chemistry,EQA 2026b,2026-03-01,passed,2026-01-01"), "utf-8")
    refused = run(database, "diagnostics", "eqa-import", str(bad))
    assert refused.returncode != 0
    assert (
        "eqa-2026.csv:3: valid_until" in refused.stderr and "nothing was written" in refused.stderr
    )
    bad.write_text(_csv(GOOD, GOOD2), "utf-8")
    done = run(database, "diagnostics", "eqa-import", str(bad))
    assert done.returncode == 0, done.stderr
    assert "2 assessments from eqa-2026.csv (1 passed)" in done.stdout


def test_the_page_shows_an_assessment_to_the_commission(
    client: TestClient, session: Session, world: World, commission: Principal
) -> None:
    page = {**bearer(session, commission), "Accept": "text/html"}
    empty = client.get("/quality-assessments", headers=page)
    assert empty.status_code == 200 and 'id="nav-quality"' in empty.text
    assert 'data-institution="jh-rmyy"' not in empty.text
    posted = client.post(
        "/quality-assessments",
        data=_body(valid_until="2026-01-01"),
        headers=page,
    )
    assert posted.status_code == 422 and 'id="error-quality-valid_until"' in posted.text
    posted = client.post("/quality-assessments", data=_body(), headers=page)
    assert posted.status_code == 200 and str(posted.url).endswith("/quality-assessments")
    section = re.search(
        r'<section class="card" data-institution="jh-rmyy">.*?</section>', posted.text, re.S
    )
    assert section and "临床化学" in section.group(0) and "合格" in section.group(0)
    assert "2027-02-28" in section.group(0)
    doctor = {**bearer(session, world.cardiologist), "Accept": "text/html"}
    assert client.get("/quality-assessments", headers=doctor).status_code == 403
    assert 'id="nav-quality"' not in client.get("/centres", headers=doctor).text


LIPIDS = [
    ValueIn(component="tc", value=Decimal("6.1"), unit="mmol/L"),
    ValueIn(component="tg", value=Decimal("1.5"), unit="mmol/L"),
    ValueIn(component="ldl", value=Decimal("3.9"), unit="mmol/L"),
    ValueIn(component="hdl", value=Decimal("1.2"), unit="mmol/L"),
]


def test_after_a_passed_assessment_through_the_api_the_result_is_offered(
    client: TestClient, session: Session, world: World, commission: Principal
) -> None:
    with clock.frozen(NOW):
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.LABORATORY,
                institution_code="jh-rmyy",
                name="检验中心",
                items=[CentreItemIn(item_code="lipid_panel", turnaround_hours=24)],
                readers=[world.cardiologist.username],
            ),
        )
        first = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="lipid_panel"),
        )
        prior = diagnostics.report(
            session, world.cardiologist, first.id, ReportIn(observed_on=NOW.date(), values=LIPIDS)
        )

        def offered() -> list[int]:
            order = diagnostics.place_order(
                session,
                world.cardiologist,
                OrderIn(resident_id=world.patient, item_code="lipid_panel"),
            )
            return [o.result.id for o in diagnostics.offers(session, order)]

        assert offered() == []  # no assessment: nothing is eligible
        headers = bearer(session, commission)
        failed = _body(result="failed", assessed_on="2026-01-01", valid_until="2026-12-31")
        assert (
            client.post("/api/quality-assessments", json=failed, headers=headers).status_code == 201
        )
        assert offered() == []  # a failed one makes nothing eligible
        passed = _body(assessed_on="2026-01-01", valid_until="2026-12-31", scheme="EQA 2026-2")
        assert (
            client.post("/api/quality-assessments", json=passed, headers=headers).status_code == 201
        )
        assert offered() == [prior.id]
    assert date(2026, 1, 1) <= NOW.date() <= date(2026, 12, 31)


def test_the_demo_assures_the_lead_for_every_category(session: Session) -> None:
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo._quality_assessments(session, network)
        demo._quality_assessments(session, network)  # a second load adds nothing
    lead = demo._pick(network, NetworkRole.LEAD, primary=False).institution
    found = diagnostics.assessments(session, SYSTEM, lead.code)
    assert sorted(a.category for a in found) == diagnostics.categories()
    assert all(a.result == "passed" and a.assessed_on <= NOW.date() <= a.valid_until for a in found)
