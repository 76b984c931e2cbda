"""Referral rules at their edges, each refusal naming its requirement: catalogs (B2), the
downward hand-over (B5), the patient's choice (B6), keep-in-city approval, the answer limit
(B3), the green channel (B4), the deductible (B7), the state machine and optimistic locking."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.referral import service as referrals
from caregrid.referral.schemas import ReferralIn
from caregrid.referral.vocab import TRANSITIONS, Action, RejectionReason, State
from caregrid.registry import importer
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from tests.conftest import bearer, make_principal
from tests.factories import layout, write_layout
from tests.referrals import CHEST_PAIN, HYPERTENSION, arrive, refer_down, referral_in
from tests.world import NOW, World, nid


def up(world: World, **changes: Any) -> ReferralIn:
    """The usual up referral for chest pain, which needs no justification: each rule below
    adds only what it is about."""
    return referral_in(world, **(CHEST_PAIN | changes))


def test_unknown_icd10_code_is_refused_naming_the_field(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        referrals.create(session, world.community_doctor, up(world, diagnosis_code="K94.1"))
    problem = caught.value.problems[0]
    assert problem.field == "diagnosis_code" and "B2" in problem.message


def test_first_visit_disease_goes_up_only_with_a_justification(
    session: Session, world: World
) -> None:
    with pytest.raises(RuleViolation) as caught:
        referrals.create(session, world.community_doctor, up(world, diagnosis_code="I11.9"))
    assert caught.value.requirement == "B2" and "I10-I15" in caught.value.detail
    justified = referrals.create(
        session,
        world.community_doctor,
        up(world, diagnosis_code="I11.9", justification="三药联合仍未控制"),
    )
    assert justified.catalog_hit == "member_first_visit: I10-I15 高血压"
    other = referrals.create(session, world.community_doctor, up(world, diagnosis_code="I21.0"))
    assert other.catalog_hit is None and other.direction == "up"


def test_clinical_edition_codes_match_their_who_stem(session: Session, world: World) -> None:
    with pytest.raises(RuleViolation):
        referrals.create(session, world.community_doctor, up(world, diagnosis_code="E11.900"))


def test_downward_referral_needs_summary_and_plan(session: Session, world: World) -> None:
    referrals.create(session, world.community_doctor, up(world))  # the lead now knows him
    with pytest.raises(RuleViolation) as caught:
        referrals.create(
            session,
            world.cardiologist,
            up(world, to_institution_code="jh-wc-chengdong", to_department_id=None,
               discharge_summary="出院小结"),
        )  # fmt: skip
    assert caught.value.requirement == "B5"
    assert (
        "follow_up_plan" in caught.value.detail
        and "discharge_summary" not in (caught.value.detail.split("missing:")[1])
    )


def test_outside_the_network_needs_the_patients_reason(session: Session, world: World) -> None:
    outward = up(world, to_institution_code="jh-zxyy", to_department_id=world.neurology_zxyy)
    with pytest.raises(RuleViolation) as caught:
        referrals.create(session, world.community_doctor, outward)
    assert caught.value.requirement == "B6"
    chosen = referrals.create(
        session,
        world.community_doctor,
        outward.model_copy(update={"patient_choice_reason": "家住金东，子女陪诊方便"}),
    )
    assert chosen.direction == "outward" and chosen.approval == "not_needed"
    assert chosen.patient_choice_reason == "家住金东，子女陪诊方便"


def test_keep_in_city_disease_leaving_the_city_waits_for_the_office(
    session: Session, world: World, tmp_path: Path
) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    registry.create_department(
        session, SYSTEM, institution_code="t-lead-a", code="c", name_zh="心内"
    )
    receiver = make_principal(session, "t-doc", Role.CLINICIAN, institution="t-lead-a")
    referral = referrals.create(
        session,
        world.community_doctor,
        up(world, to_institution_code="t-lead-a", to_department_id=None,
           diagnosis_code="I21.0", patient_choice_reason="患者要求"),
    )  # fmt: skip
    assert referral.approval == "pending"
    with pytest.raises(RuleViolation) as caught:
        referrals.transition(
            session, receiver, referral.id, action=Action.ACCEPT, version=referral.version
        )
    assert caught.value.requirement == "B2"
    assert [r.id for r in referrals.pending_approvals(session, world.office)] == [referral.id]
    with pytest.raises(Forbidden):
        referrals.decide_outward(
            session, world.community_doctor, referral.id, version=referral.version,
            approve=True, note=None,
        )  # fmt: skip
    referrals.decide_outward(
        session, world.office, referral.id, version=referral.version, approve=True, note="同意"
    )
    accepted = referrals.transition(
        session, receiver, referral.id, action=Action.ACCEPT, version=referral.version
    )
    assert accepted.state == "accepted"


def test_unanswered_referral_is_flagged_after_the_limit(session: Session, world: World) -> None:
    referral = referrals.create(session, world.community_doctor, up(world))
    limit = timedelta(hours=48)  # referral_answer_limit_hours of the Jinhua profile
    assert not referrals.overdue(session, referral, NOW + limit)
    assert referrals.overdue(session, referral, NOW + limit + timedelta(seconds=1))
    referrals.transition(
        session, world.cardiologist, referral.id, action=Action.ACCEPT, version=referral.version
    )
    assert not referrals.overdue(session, referral, NOW + limit * 2)


def test_green_channel_patients_come_first_in_the_inbox(session: Session, world: World) -> None:
    plain = referrals.create(
        session, world.community_doctor, up(world, resident_id=world.unsigned_patient,
                                            urgency="urgent"),
    )  # fmt: skip
    with clock.frozen(NOW + timedelta(minutes=5)):
        green = referrals.create(session, world.community_doctor, up(world))
    assert green.green_channel and not plain.green_channel
    assert [r.id for r in referrals.inbox(session, world.cardiologist)] == [green.id, plain.id]


def test_green_channel_needs_a_primary_sender(session: Session, world: World) -> None:
    """The lead referring a signed resident to another group's hospital is no green channel."""
    referrals.create(session, world.community_doctor, up(world))  # the lead now knows him
    referral = referrals.create(
        session,
        world.cardiologist,
        up(world, to_institution_code="jh-zxyy", to_department_id=None,
           patient_choice_reason="专科"),
    )  # fmt: skip
    assert not referral.green_channel


def test_second_deductible_is_waived_only_for_primary_in_network_admissions(
    session: Session, world: World, tmp_path: Path
) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    chc = make_principal(session, "t-chc", Role.CLINICIAN, institution="t-chc-a")
    sec = make_principal(session, "t-sec", Role.CLINICIAN, institution="t-sec-a")
    patients = {}
    for who, code, seq in ((chc, "t-chc-a", "051"), (sec, "t-sec-a", "052")):
        patients[code] = residents.create(
            session,
            who,
            ResidentIn(national_id=nid("19500101", seq), name="患者",
                       address_division_code="900101", registered_institution_code=code),
        ).id  # fmt: skip

    def admit(who: Any, code: str, admission: bool = True) -> str:
        data = up(world, resident_id=patients[code], to_institution_code="t-lead-a",
                  to_department_id=None, diagnosis_code="K35.8",
                  admission_requested=admission)  # fmt: skip
        return referrals.create(session, who, data).deductible_rule

    assert admit(chc, "t-chc-a") == "waived_second_deductible"
    assert admit(sec, "t-sec-a") == "standard"
    assert admit(chc, "t-chc-a", admission=False) == "not_admission"
    jinhua = referrals.create(session, world.community_doctor, up(world, admission_requested=True))
    assert jinhua.deductible_rule == "standard"  # the Jinhua plan does not waive it


def test_rejection_needs_a_coded_reason(session: Session, world: World) -> None:
    referral = referrals.create(session, world.community_doctor, up(world))
    with pytest.raises(InvalidInput):
        referrals.transition(
            session, world.cardiologist, referral.id, action=Action.REJECT,
            version=referral.version,
        )  # fmt: skip
    with pytest.raises(InvalidInput):
        referrals.transition(
            session, world.cardiologist, referral.id, action=Action.REJECT,
            version=referral.version, rejection_code=RejectionReason.OTHER,
        )  # fmt: skip
    rejected = referrals.transition(
        session, world.cardiologist, referral.id, action=Action.REJECT,
        version=referral.version, rejection_code=RejectionReason.TREAT_AT_SENDER,
    )  # fmt: skip
    assert rejected.state == "rejected" and rejected.answered_at == NOW


def test_stale_version_is_a_conflict_and_changes_nothing(session: Session, world: World) -> None:
    referral = referrals.create(session, world.community_doctor, up(world))
    seen = referral.version
    referrals.transition(
        session, world.cardiologist, referral.id, action=Action.ACCEPT, version=seen
    )
    events = len(referral.events)
    with pytest.raises(Conflict) as caught:
        referrals.transition(
            session, world.community_doctor, referral.id, action=Action.CANCEL, version=seen
        )
    assert "changed since you loaded it" in caught.value.detail
    assert referral.state == "accepted" and len(referral.events) == events


def test_only_the_right_side_acts(session: Session, world: World) -> None:
    referral = referrals.create(session, world.community_doctor, up(world))
    with pytest.raises(Forbidden):
        referrals.transition(
            session, world.community_doctor, referral.id, action=Action.ACCEPT,
            version=referral.version,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        referrals.require_read(session, world.other_grid_doctor, referral, "curiosity")


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_state_machine_allows_exactly_its_table(
    session: Session, world: World, state: State, action: Action
) -> None:
    referral = referrals.create(session, world.community_doctor, up(world, submit=False))
    referral.state = state
    session.flush()
    sources, target = TRANSITIONS[action]
    if state in sources:
        referrals._move(session, SYSTEM, referral, action, version=referral.version)
        assert referral.state == target
    else:
        with pytest.raises(Conflict):
            referrals._move(session, SYSTEM, referral, action, version=referral.version)
        assert referral.state == state


def test_awaiting_slot_list_is_worked_down_by_offering_a_slot(
    session: Session, world: World
) -> None:
    from caregrid.scheduling import service as scheduling

    referral = referrals.create(session, world.community_doctor, up(world))
    assert [r.id for r in referrals.awaiting_slot(session, world.cardiologist)] == [referral.id]
    referrals.transition(
        session, world.cardiologist, referral.id, action=Action.ACCEPT, version=referral.version
    )
    clinic = scheduling.publish_session(
        session, world.lead_admin, department_id=world.cardiology,
        starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, hours=3), capacity=3,
    )  # fmt: skip
    reserved = next(s.id for s in clinic.slots if s.reserved)
    scheduled = referrals.transition(
        session, world.cardiologist, referral.id, action=Action.SCHEDULE,
        version=referral.version, slot_id=reserved,
    )  # fmt: skip
    assert scheduled.state == "scheduled"
    assert referrals.awaiting_slot(session, world.cardiologist) == []
    cancelled = referrals.transition(
        session, world.community_doctor, referral.id, action=Action.CANCEL,
        version=referral.version, note="患者自行好转",
    )  # fmt: skip
    assert cancelled.state == "cancelled"
    assert scheduling.live_booking_for_referral(session, referral.id) is None


def test_admission_referral_takes_a_reserved_bed_or_waits(session: Session, world: World) -> None:
    from caregrid.scheduling import service as scheduling

    scheduling.create_bed_pool(session, world.lead_admin, department_id=world.cardiology, total=4)
    first = referrals.create(session, world.community_doctor, up(world, admission_requested=True))
    second = referrals.create(
        session, world.community_doctor,
        up(world, resident_id=world.unsigned_patient, admission_requested=True),
    )  # fmt: skip
    assert scheduling.live_stay_for_referral(session, first.id) is not None
    assert scheduling.live_stay_for_referral(session, second.id) is None
    assert second.events[-1].action == "bed_wait"
    first = arrive(session, world.cardiologist, first)
    stay = scheduling.live_stay_for_referral(session, first.id)
    assert stay is not None and stay.status == "admitted"
    refer_down(session, world.cardiologist, first)
    assert first.state == "completed"
    assert scheduling.live_stay_for_referral(session, first.id) is None  # discharged: bed free


def test_a_draft_is_seen_only_by_its_author_institution(
    session: Session, world: World, client: TestClient
) -> None:
    draft = referrals.create(session, world.community_doctor, up(world, submit=False))
    assert draft.state == State.DRAFT
    name = residents.name_of(session, world.patient)
    referrals.require_read(session, world.community_admin, draft, "own draft")
    for outsider in (world.cardiologist, world.lead_admin, world.office):
        with pytest.raises(Forbidden, match="draft"):
            referrals.require_read(session, outsider, draft, "a look")
        response = client.get(f"/api/referrals/{draft.id}", headers=bearer(session, outsider))
        assert response.status_code == 403
        assert HYPERTENSION["clinical_summary"] not in response.text and name not in response.text
        page = client.get(f"/referrals/{draft.id}", headers=bearer(session, outsider))
        assert page.status_code == 403 and name not in page.text
    referrals.transition(
        session, world.community_doctor, draft.id, action=Action.SUBMIT, version=draft.version
    )
    referrals.require_read(session, world.cardiologist, draft, "now sent")
    referrals.require_read(session, world.office, draft, "now sent")
