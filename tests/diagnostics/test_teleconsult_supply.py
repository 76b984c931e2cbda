"""Teleconsultation (D4) from request to written opinion, with its refusals and response time;
sterilisation supply from request to return, overdue from the day after the due date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics import supply, teleconsult
from caregrid.diagnostics.schemas import CentreIn
from caregrid.diagnostics.vocab import CentreKind, ConsultState, SupplyState
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from tests.conftest import bearer
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _ask(session: Session, world: World, **extra: object) -> int:
    values: dict[str, object] = {
        "resident_id": world.patient,
        "to_institution_code": "jh-rmyy",
        "to_department_id": world.cardiology,
        "question": "血压控制不佳，是否需要调整方案？",
        **extra,
    }
    return teleconsult.request(session, world.community_doctor, **values).id  # type: ignore[arg-type]


def test_request_schedule_answer_close_and_the_response_time(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        consult_id = _ask(session, world, expert_code=f"card-sun{world.tag}")
        assert [c.id for c in teleconsult.inbox(session, world.cardiologist)] == [consult_id]
        with pytest.raises(Forbidden):
            teleconsult.schedule(
                session,
                world.community_doctor,
                consult_id,
                at=NOW + timedelta(days=1),
                meeting_link="https://meet.example.cn/abc",
            )
        with pytest.raises(InvalidInput) as refused:
            teleconsult.schedule(
                session,
                world.cardiologist,
                consult_id,
                at=NOW - timedelta(minutes=1),
                meeting_link="http://meet.example.cn/abc",
            )
        assert {p.field for p in refused.value.problems} == {"at", "meeting_link"}
        teleconsult.schedule(
            session,
            world.cardiologist,
            consult_id,
            at=NOW + timedelta(hours=3),
            meeting_link="https://meet.example.cn/abc",
        )
        with pytest.raises(Conflict):
            teleconsult.close(session, world.community_doctor, consult_id)
    with clock.frozen(NOW + timedelta(hours=4)):
        with pytest.raises(InvalidInput, match="written opinion"):
            teleconsult.answer(session, world.cardiologist, consult_id, opinion="  ")
        teleconsult.answer(
            session, world.cardiologist, consult_id, opinion="加用钙通道阻滞剂，2周后复查"
        )
        done = teleconsult.close(session, world.community_doctor, consult_id)
    assert done.state == ConsultState.CLOSED and done.opinion == "加用钙通道阻滞剂，2周后复查"
    (found,) = [
        f
        for f in diagnostics.teleconsultation_facts(session)
        if f["consultation_id"] == f"cg-{consult_id}"
    ]
    assert (found["institution_code"], found["from_institution_code"]) == (
        "jh-rmyy",
        "jh-wc-chengdong",
    )
    assert (found["state"], found["response_hours"], found["date"]) == ("closed", 4.0, NOW.date())


def test_requests_outside_the_network_or_to_the_wrong_department_are_refused(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        with pytest.raises(RuleViolation) as outside:
            _ask(
                session, world, to_institution_code="jh-zxyy", to_department_id=world.neurology_zxyy
            )
        assert outside.value.requirement == "D4"
        with pytest.raises(InvalidInput) as wrong:
            _ask(session, world, expert_code=f"gp-wang{world.tag}", question=" ")
        assert {p.field for p in wrong.value.problems} == {"expert_code", "question"}


def test_sterile_packages_go_out_and_come_back_overdue_the_day_after(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        with pytest.raises(RuleViolation, match="no sterilisation"):
            supply.request(session, world.community_doctor, package="换药包", quantity=10)
        centre = diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.STERILISATION,
                institution_code="jh-rmyy",
                name="消毒供应中心",
            ),
        )
        with pytest.raises(InvalidInput) as bad:
            supply.request(session, world.community_doctor, package=" ", quantity=0)
        assert {p.field for p in bad.value.problems} == {"package", "quantity"}
        row = supply.request(session, world.community_doctor, package="换药包", quantity=10)
        with pytest.raises(Forbidden):
            supply.dispatch(session, world.community_doctor, row.id, due_back_on=NOW.date())
        supply.dispatch(
            session, world.cardiologist, row.id, due_back_on=NOW.date() + timedelta(days=7)
        )
    due = NOW.date() + timedelta(days=7)
    assert supply.overdue(session, centre.id, on=due) == []
    assert [r.id for r in supply.overdue(session, centre.id, on=due + timedelta(days=1))] == [
        row.id
    ]
    with clock.frozen(datetime.combine(due + timedelta(days=2), NOW.timetz())):
        supply.record_return(session, world.cardiologist, row.id)
    assert row.state == SupplyState.RETURNED
    assert supply.overdue(session, centre.id, on=due + timedelta(days=3)) == []


def test_the_teleconsultation_api(session: Session, world: World, client: TestClient) -> None:
    with clock.frozen(NOW):
        member, lead = bearer(session, world.community_doctor), bearer(session, world.cardiologist)
        made = client.post(
            "/api/teleconsultations",
            json={
                "resident_id": world.patient,
                "to_institution_code": "jh-rmyy",
                "to_department_id": world.cardiology,
                "question": "请会诊",
            },
            headers=member,
        )
        assert made.status_code == 201, made.text
        consult = made.json()["id"]
        assert [
            c["id"] for c in client.get("/api/teleconsultations/inbox", headers=lead).json()
        ] == [consult]
        at = (NOW + timedelta(hours=2)).isoformat()
        scheduled = client.post(
            f"/api/teleconsultations/{consult}/schedule",
            json={"at": at, "meeting_link": "https://meet.example.cn/x"},
            headers=lead,
        )
        assert scheduled.json()["state"] == "scheduled"
        answered = client.post(
            f"/api/teleconsultations/{consult}/answer", json={"opinion": "继续观察"}, headers=lead
        )
        assert answered.json()["opinion"] == "继续观察"
        assert (
            client.post(f"/api/teleconsultations/{consult}/close", headers=lead).status_code == 403
        )
        assert (
            client.post(f"/api/teleconsultations/{consult}/close", headers=member).json()["state"]
            == "closed"
        )
