"""Family-doctor and chronic-care pages over HTTP: the roster with its E1 checks, the signing
form (an ineligible package refused with its reason, nothing saved), the follow-up form and
its decision with a prefilled up-referral, the resident page with contract and chart, the
worklist, and the measures page; in zh-CN and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn
from caregrid.chronic.standard import Condition
from caregrid.familydoctor import service as familydoctor
from tests.conftest import bearer
from tests.world import NOW, World, build

# the live measures would count a synthetic city left in the shared store
pytestmark = pytest.mark.usefixtures("fresh_store")

TODAY = NOW.date()


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def test_the_roster_shows_members_and_the_e1_checks(
    client: TestClient, session: Session, world: World
) -> None:
    headers = _as(session, world.community_doctor)
    listing = client.get("/teams", headers=headers)
    assert listing.status_code == 200 and "城东家庭医生团队一" in listing.text
    page = client.get(f"/teams/{world.team}", headers=headers).text
    assert ("孙主任" in page and "副主任医师" in page) or "associate_senior" not in page
    assert page.count('class="check-pass"') == 2
    assert "来自二级及以上医院的高级职称医生 1 名（至少 1 名）" in page


def _contract_form(world: World, packages: list[str]) -> dict[str, object]:
    return {
        "resident_id": world.unsigned_patient,
        "team_code": f"chengdong-1{world.tag}",
        "doctor_code": world.gp_code,
        "packages": packages,
        "consent_method": "written",
        "consent_by": "resident",
        "signatory": "李秀兰",
    }


def test_signing_refuses_an_ineligible_package_with_its_reason_and_saves_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    headers = _as(session, world.community_doctor)
    with clock.frozen(NOW):
        form = client.get(f"/contracts/new?resident_id={world.unsigned_patient}", headers=headers)
        assert form.status_code == 200
        assert 'data-package="hypertension"' in form.text and "不符合条件" in form.text
        refused = client.post(
            "/contracts/new",
            data=_contract_form(world, ["basic", "hypertension"]),
            headers=headers,
            follow_redirects=False,
        )
        assert refused.status_code == 422
        assert "适用于重点人群 &#39;hypertension&#39;" in refused.text
        assert familydoctor.contracts_of(session, world.unsigned_patient) == []
        signed = client.post(
            "/contracts/new",
            data=_contract_form(world, ["basic"]),
            headers=headers,
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == f"/residents/{world.unsigned_patient}"
        resident = client.get(signed.headers["location"], headers=headers).text
        assert "城东家庭医生团队一" in resident and "健康教育" in resident


def _follow_up(
    client: TestClient, headers: dict[str, str], world: World, sbp: int, dbp: int, on: str
) -> tuple[str, str]:
    page = client.post(
        "/chronic/follow-up",
        data={
            "resident_id": world.patient,
            "condition": "hypertension",
            "visited_on": on,
            "sbp": sbp,
            "dbp": dbp,
        },
        headers=headers,
    )
    assert page.status_code == 200, page.text
    assert re.search(r"/chronic/follow-ups/\d+$", str(page.url)), page.url
    return str(page.url), page.text


def test_follow_ups_show_the_decision_and_then_a_prefilled_referral(
    client: TestClient, session: Session, world: World
) -> None:
    headers = _as(session, world.community_doctor)
    with clock.frozen(NOW):
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=TODAY - timedelta(days=30),
            ),
        )
        form = client.get(
            f"/chronic/follow-up?resident_id={world.patient}&condition=hypertension",
            headers=headers,
        )
        assert form.status_code == 200 and "胸闷" in form.text
        _, first = _follow_up(
            client, headers, world, 162, 98, (TODAY - timedelta(days=14)).isoformat()
        )
        assert "控制不满意" in first and "调整用药" in first
        assert f'id="next-due">{TODAY.isoformat()}<' in first  # exactly two weeks later
        assert 'id="refer-up"' not in first
        url, second = _follow_up(client, headers, world, 158, 96, TODAY.isoformat())
        assert client.get(url, headers=headers).text == second  # reloading records nothing
        assert len(chronic.timeline(session, world.community_doctor, world.patient)) == 2
        link = re.search(r'id="refer-up" href="([^"]+)"', second)
        assert link, second
        query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
        assert query["to"] == ["jh-rmyy"] and query["diagnosis_code"] == ["I10"]
        assert query["resident_id"] == [str(world.patient)]
        assert 'id="green-channel"' in second
        prefilled = client.get(link.group(1).replace("&amp;", "&"), headers=headers)
        assert prefilled.status_code == 200 and 'value="I10"' in prefilled.text
        bad = client.post(
            "/chronic/follow-up",
            data={"resident_id": world.patient, "condition": "hypertension", "sbp": 400, "dbp": 20},
            headers=headers,
        )
        assert bad.status_code == 422 and "400 mmHg 超出" in bad.text
        resident = client.get(f"/residents/{world.patient}", headers=headers).text
        assert "<svg" in resident and 'class="sbp"' in resident
        assert resident.count("<tr><td>") >= 2


def test_the_worklist_lists_an_overdue_follow_up(
    client: TestClient, session: Session, world: World
) -> None:
    headers = _as(session, world.community_doctor)
    with clock.frozen(NOW):
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=TODAY - timedelta(days=10),
            ),
        )
        page = client.get(f"/teams/{world.team}/worklist", headers=headers)
        assert page.status_code == 200
        assert 'class="work-follow_up_overdue"' in page.text and "随访逾期" in page.text
        client.cookies.set("caregrid_lang", "en")
        english = client.get(f"/teams/{world.team}/worklist", headers=headers).text
        client.cookies.clear()
        assert "Follow-up overdue" in english


def test_the_measures_page_shows_the_signing_rate(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        page = client.get(
            "/networks/jh-rmyy-wucheng/family-doctor-measures?year=2026",
            headers=_as(session, world.office),
        )
    assert page.status_code == 200
    row = re.search(r'<tr data-institution="jh-wc-chengdong">(.*?)</tr>', page.text, re.S)
    assert row and '<span class="ratio">1/2</span>' in row.group(1)


def test_only_clinical_staff_are_offered_the_follow_up_form(
    client: TestClient, session: Session, world: World
) -> None:
    """The unit's admin and the network office may read the resident and the worklist but
    record no readings: they see no link to the form, and the form itself is refused before
    anything is typed (the doctor sees both)."""
    form = f"/chronic/follow-up?resident_id={world.patient}&condition=hypertension"
    with clock.frozen(NOW):
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=TODAY - timedelta(days=10),
            ),
        )
        doctor = _as(session, world.community_doctor)
        assert (
            'id="follow-up-hypertension"'
            in client.get(f"/residents/{world.patient}", headers=doctor).text
        )
        assert form in client.get(f"/teams/{world.team}/worklist", headers=doctor).text
        assert client.get(form, headers=doctor).status_code == 200
        for who in (world.community_admin, world.office):
            headers = _as(session, who)
            resident = client.get(f"/residents/{world.patient}", headers=headers)
            assert resident.status_code == 200 and 'id="follow-up-' not in resident.text
            worklist = client.get(f"/teams/{world.team}/worklist", headers=headers)
            assert worklist.status_code == 200 and "work-follow_up_overdue" in worklist.text
            assert "/chronic/follow-up" not in worklist.text
            refused = client.get(form, headers=headers)
            assert refused.status_code == 403 and 'id="follow-up-form"' not in refused.text
