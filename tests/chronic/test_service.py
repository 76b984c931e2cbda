"""The chronic registry through its service and API: screening to confirmation, follow-ups
scheduled by the standard, a proposed up-referral, the contract's follow-up delivered, the
downward referral's loop closed, the team's worklist; bad input refused, nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, FollowUpOut, ReadingIn, ScreeningIn
from caregrid.chronic.standard import Condition
from caregrid.errors import Conflict, InvalidInput
from caregrid.familydoctor import service as familydoctor
from caregrid.referral import service as referrals
from caregrid.referral.vocab import Action as ReferralAction
from caregrid.residents import service as residents
from tests.conftest import bearer
from tests.referrals import arrive, refer_down, refer_up
from tests.world import NOW, World, build

HTN, DM = Condition.HYPERTENSION, Condition.DIABETES
TODAY = NOW.date()


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _enrol(session: Session, world: World, condition: Condition = HTN, days_ago: int = 30) -> None:
    chronic.enrol(
        session,
        world.community_doctor,
        EnrolIn(
            resident_id=world.patient,
            condition=condition,
            confirmed_on=TODAY - timedelta(days=days_ago),
        ),
    )


def _follow_up(
    session: Session, world: World, when: int, sbp: int, dbp: int, **extra: object
) -> FollowUpOut:
    return chronic.record_follow_up(
        session,
        world.community_doctor,
        FollowUpIn(
            resident_id=world.patient,
            condition=HTN,
            visited_on=TODAY - timedelta(days=when),
            reading=ReadingIn(sbp=sbp, dbp=dbp),
            **extra,
        ),
    )


def test_three_raised_readings_on_different_days_confirm_hypertension(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):

        def screen(days_ago: int, sbp: int) -> None:
            chronic.record_screening(
                session,
                world.community_doctor,
                ScreeningIn(
                    resident_id=world.unsigned_patient,
                    condition=HTN,
                    visited_on=TODAY - timedelta(days=days_ago),
                    reading=ReadingIn(sbp=sbp, dbp=85),
                ),
            )

        screen(10, 139)
        assert chronic.enrolment(session, world.unsigned_patient, HTN) is None  # 139/85 is normal
        screen(9, 146)
        row = chronic.enrolment(session, world.unsigned_patient, HTN)
        assert row is not None and row.status == "suspected"
        screen(9, 150)  # the same day again does not count twice
        screen(5, 120)  # a normal repeat neither confirms nor rules out
        screen(3, 148)
        assert row.status == "suspected"
        screen(1, 152)
        assert (row.status, row.confirmed_by, row.confirmed_on) == (
            "confirmed",
            "readings",
            TODAY - timedelta(days=1),
        )
        resident = residents.get(
            session, world.community_doctor, world.unsigned_patient, purpose="care"
        )
        assert "hypertension" in resident.key_populations
        with pytest.raises(Conflict, match="already managed"):
            screen(0, 150)


def test_follow_ups_follow_the_standard_and_propose_a_green_channel_referral(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _enrol(session, world)
        first = _follow_up(session, world, 28, 162, 98)
        assert (first.visit.assessment, first.visit.action) == ("uncontrolled", "adjust_medication")
        assert first.visit.next_due_on == TODAY - timedelta(days=28) + timedelta(days=14)
        assert first.proposal is None
        second = _follow_up(session, world, 14, 158, 96)
        assert second.visit.action == "refer"
        proposal = second.proposal
        assert proposal is not None
        assert (proposal.to_institution_code, proposal.diagnosis_code) == ("jh-rmyy", "I10")
        assert proposal.green_channel and proposal.urgency == "routine"
        assert proposal.follow_up_by == TODAY  # within two weeks of the visit
        # The proposal is a valid referral as it stands.
        sent = refer_up(
            session,
            world,
            resident_id=proposal.resident_id,
            to_institution_code=proposal.to_institution_code or "",
            to_department_id=None,
            diagnosis_code=proposal.diagnosis_code,
            reason=proposal.reason,
            urgency=proposal.urgency,
        )
        assert sent.green_channel
        # Face-to-face follow-ups are delivered against the contract's package items (E5).
        contract = familydoctor.contract_on(session, world.patient, TODAY)
        assert contract is not None


def test_danger_values_ask_for_an_urgent_referral(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        _enrol(session, world)
        result = _follow_up(session, world, 1, 182, 100)
        assert (result.visit.assessment, result.visit.action) == ("danger", "urgent_refer")
        assert result.proposal is not None and result.proposal.urgency == "urgent"
        assert any("182 ≥ 180" in str(r) for r in result.reasons)


def test_bad_follow_ups_are_refused_and_nothing_is_saved(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        with pytest.raises(Conflict, match="not under management"):
            _follow_up(session, world, 1, 150, 90)
        _enrol(session, world, days_ago=10)
        with pytest.raises(InvalidInput) as implausible:
            _follow_up(session, world, 1, 400, 20)
        assert implausible.value.problems[0].field == "reading.sbp"
        with pytest.raises(InvalidInput) as future:
            _follow_up(session, world, -1, 130, 80)
        assert future.value.problems[0].field == "visited_on"
        with pytest.raises(InvalidInput, match="before"):
            _follow_up(session, world, 11, 130, 80)  # the day before enrolment
        _follow_up(session, world, 10, 130, 80)  # the enrolment day itself is fine
        with pytest.raises(InvalidInput, match="before"):
            _follow_up(session, world, 11, 130, 80)
        assert len(chronic.timeline(session, world.community_doctor, world.patient)) == 1


def test_glucose_below_zero_is_refused_naming_the_field(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        _enrol(session, world, DM)
        with pytest.raises(InvalidInput) as refused:
            chronic.record_follow_up(
                session,
                world.community_doctor,
                FollowUpIn(
                    resident_id=world.patient, condition=DM, reading=ReadingIn(fpg=Decimal("-1"))
                ),
            )
        assert refused.value.problems[0].field == "reading.fpg"


def test_the_worklist_shows_overdue_due_and_referred_down_patients(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _enrol(session, world, days_ago=120)
        _follow_up(session, world, 100, 130, 80)  # next due 10 days ago: overdue
        items = chronic.worklist(session, world.community_doctor, world.team).items
        assert [(i.what, i.due_on) for i in items if i.condition == "hypertension"] == [
            ("follow_up_overdue", TODAY - timedelta(days=10))
        ]
        _follow_up(session, world, 0, 150, 92)  # first uncontrolled: next in 14 days
        items = chronic.worklist(session, world.community_doctor, world.team).items
        assert not [
            i for i in items if i.condition == "hypertension" and i.what.startswith("follow_up")
        ]
        week_later = chronic.worklist(
            session, world.community_doctor, world.team, on=TODAY + timedelta(days=14)
        ).items
        assert ("follow_up_due", TODAY + timedelta(days=14)) in [
            (i.what, i.due_on) for i in week_later
        ]
        # The patient is 35+ and never screened for diabetes: screening due.
        assert ("screening_due", "diabetes") in [(i.what, i.condition) for i in items]


def test_the_first_follow_up_closes_a_downward_referral(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        up = arrive(session, world.cardiologist, refer_up(session, world))
        down = refer_down(session, world.cardiologist, up, to_institution_code="jh-wc-chengdong")
        items = chronic.worklist(session, world.community_doctor, world.team).items
        assert ("referred_down", down.id) in [(i.what, i.referral_id) for i in items]
        down = referrals.transition(
            session,
            world.community_doctor,
            down.id,
            action=ReferralAction.ACCEPT,
            version=down.version,
        )
        _enrol(session, world, days_ago=1)
        result = _follow_up(session, world, 0, 134, 84)
        assert result.closed_referrals == [down.id]
        assert referrals.get(session, down.id).state == "closed"
        assert referrals.get(session, up.id).state == "closed"


def test_the_api_records_a_follow_up_and_shows_the_record(
    session: Session, world: World, client: TestClient
) -> None:
    headers = bearer(session, world.community_doctor)
    with clock.frozen(NOW):
        enrolled = client.post(
            "/api/chronic/enrolments",
            json={"resident_id": world.patient, "condition": "hypertension"},
            headers=headers,
        )
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["next_due_on"] == TODAY.isoformat()
        done = client.post(
            "/api/chronic/follow-ups",
            json={
                "resident_id": world.patient,
                "condition": "hypertension",
                "reading": {"sbp": 162, "dbp": 98},
            },
            headers=headers,
        )
        assert done.status_code == 201, done.text
        assert done.json()["visit"]["next_due_on"] == (TODAY + timedelta(days=14)).isoformat()
        bad = client.post(
            "/api/chronic/follow-ups",
            json={
                "resident_id": world.patient,
                "condition": "hypertension",
                "reading": {"sbp": 400, "dbp": 20},
            },
            headers=headers,
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reading.sbp"
        record = client.get(f"/api/residents/{world.patient}/chronic", headers=headers).json()
        assert [v["sbp"] for v in record["visits"]] == [162]
        worklist = client.get(f"/api/teams/{world.team}/worklist", headers=headers)
        assert worklist.status_code == 200
        other = bearer(session, world.other_grid_doctor)
        assert (
            client.get(f"/api/residents/{world.patient}/chronic", headers=other).status_code == 403
        )
