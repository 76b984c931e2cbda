"""Care relationships start and end with their source records (DESIGN.md, security model):
a registration, a family-doctor contract in force, a referral once sent. Each is a row of
`care_relationship`, written in the owning service's transaction; access reads only that."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.races import UTC_NOW
from tests.referrals import CHEST_PAIN, refer_up
from tests.world import NOW, World, build

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.models import CareRelationship
from caregrid.auth.roles import Principal
from caregrid.db.session import session_scope
from caregrid.errors import Forbidden, NotFound
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import ConsentIn, ContractIn, MemberIn
from caregrid.familydoctor.vocab import ConsentMethod, TeamRole, TerminationReason
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.vocab import Action, RejectionReason
from caregrid.registry import service as registry

TODAY = NOW.date()
LEAD = "jh-rmyy"  # the card-sun specialist of the team works here; the referrals go here
COMMUNITY = "jh-wc-chengdong"  # where the world's residents are registered; the team's base


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def basis(session: Session, code: str, resident_id: int) -> str | None:
    return access.care_relationship(
        session, registry.require_institution(session, code).id, resident_id
    )


def rows(session: Session, resident_id: int, kind: access.Relationship) -> list[CareRelationship]:
    return list(
        session.scalars(
            select(CareRelationship)
            .where(CareRelationship.resident_id == resident_id, CareRelationship.kind == kind)
            .order_by(CareRelationship.id)
        )
    )


def act(session: Session, who: Principal, referral: Referral, action: Action, **extra: Any) -> None:
    referrals.transition(
        session, who, referral.id, action=action, version=referral.version, **extra
    )


# --- referral ------------------------------------------------------------------------------


def test_a_referral_relates_both_ends_from_sending_until_it_is_rejected(
    session: Session, world: World
) -> None:
    patient = world.unsigned_patient
    draft = refer_up(session, world, resident_id=patient, submit=False, **CHEST_PAIN)
    assert basis(session, LEAD, patient) is None  # a draft is not sent yet
    with pytest.raises(Forbidden):
        access.patient_access(session, world.cardiologist, patient)

    act(session, world.community_doctor, draft, Action.SUBMIT)
    assert basis(session, LEAD, patient) == "referral"
    assert basis(session, COMMUNITY, patient) == "registered_at_institution"  # comes first
    assert access.patient_access(session, world.cardiologist, patient).unmasked
    (lead_row, community_row) = sorted(
        rows(session, patient, access.Relationship.REFERRAL),
        key=lambda r: r.institution_id != registry.require_institution(session, LEAD).id,
    )
    assert (lead_row.source_id, lead_row.started_at, lead_row.ended_at) == (draft.id, NOW, None)
    assert community_row.source_id == draft.id

    later = NOW + timedelta(hours=3)
    with clock.frozen(later):
        act(
            session, world.cardiologist, draft, Action.REJECT,
            rejection_code=RejectionReason.TREAT_AT_SENDER,
        )  # fmt: skip
        assert basis(session, LEAD, patient) is None
        with pytest.raises(Forbidden, match="no care relationship"):
            access.patient_access(session, world.cardiologist, patient)
    assert lead_row.ended_at == later  # the history stays
    with clock.frozen(later - timedelta(minutes=1)):
        assert basis(session, LEAD, patient) == "referral"


def test_a_cancelled_referral_ends_it_and_a_closed_one_keeps_it(
    session: Session, world: World
) -> None:
    patient = world.unsigned_patient
    cancelled = refer_up(session, world, resident_id=patient, **CHEST_PAIN)
    assert basis(session, LEAD, patient) == "referral"
    act(session, world.community_doctor, cancelled, Action.CANCEL)
    assert basis(session, LEAD, patient) is None

    closed = refer_up(session, world, resident_id=patient, **CHEST_PAIN)
    for action in (Action.ACCEPT, Action.ARRIVE, Action.COMPLETE, Action.CLOSE):
        act(session, world.cardiologist, closed, action)
        assert basis(session, LEAD, patient) == "referral", action
    assert closed.state == "closed"
    with clock.frozen(NOW + timedelta(days=400)):
        assert basis(session, LEAD, patient) == "referral"  # today's rule: closed still counts


# --- contract ------------------------------------------------------------------------------


def test_a_contract_relates_the_team_while_in_force_and_ends_with_its_term(
    session: Session, world: World
) -> None:
    contract = familydoctor.contract_on(session, world.patient, TODAY)
    assert contract is not None
    assert basis(session, LEAD, world.patient) == "contract"  # the lead's specialist's team
    last = clock.start_of(contract.ends_on + timedelta(days=1))
    with clock.frozen(last - timedelta(seconds=1)):
        assert basis(session, LEAD, world.patient) == "contract"
        assert familydoctor.is_signed(session, world.patient, clock.today())
    with clock.frozen(last):
        assert basis(session, LEAD, world.patient) is None
        assert not familydoctor.is_signed(session, world.patient, clock.today())


def test_terminating_a_contract_ends_access_that_day(session: Session, world: World) -> None:
    contract = familydoctor.contract_on(session, world.patient, TODAY)
    assert contract is not None
    assert access.patient_access(session, world.cardiologist, world.patient).basis == "contract"
    familydoctor.terminate(
        session, world.community_doctor, contract.id, reason=TerminationReason.MOVED_AWAY, note=None
    )
    assert basis(session, LEAD, world.patient) is None
    with pytest.raises(Forbidden):
        access.patient_access(session, world.cardiologist, world.patient)
    # The community centre still holds the record.
    assert basis(session, COMMUNITY, world.patient) == "registered_at_institution"
    (row, *_) = rows(session, world.patient, access.Relationship.CONTRACT)
    assert row.ended_at == clock.start_of(TODAY)  # terminated today: not in force today


def test_a_renewal_carries_the_relationship_into_the_new_term(
    session: Session, world: World
) -> None:
    old = familydoctor.contract_on(session, world.patient, TODAY)
    assert old is not None
    renewed = familydoctor.renew(
        session,
        world.community_doctor,
        old.id,
        consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="张建国"),
    )
    with clock.frozen(clock.start_of(renewed.starts_on) + timedelta(hours=9)):
        assert basis(session, LEAD, world.patient) == "contract"
    with clock.frozen(clock.start_of(renewed.ends_on + timedelta(days=1))):
        assert basis(session, LEAD, world.patient) is None
    sources = {r.source_id for r in rows(session, world.patient, access.Relationship.CONTRACT)}
    assert sources == {old.id, renewed.id}


def test_a_contract_starting_later_relates_from_its_first_day(
    session: Session, world: World
) -> None:
    starts = TODAY + timedelta(days=7)
    familydoctor.sign(
        session,
        world.community_doctor,
        ContractIn(
            resident_id=world.unsigned_patient,
            team_code=f"chengdong-1{world.tag}",
            doctor_code=world.gp_code,
            packages=["basic"],
            starts_on=starts,
            consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="李秀兰"),
        ),
    )
    assert basis(session, LEAD, world.unsigned_patient) is None
    with clock.frozen(clock.start_of(starts)):
        assert basis(session, LEAD, world.unsigned_patient) == "contract"


def test_changing_the_team_moves_the_relationship_with_its_members(
    session: Session, world: World
) -> None:
    staff = [
        ("gp-wang", TeamRole.GENERAL_PRACTITIONER),
        ("nurse-chen", TeamRole.NURSE),
        ("ph-zhou", TeamRole.PUBLIC_HEALTH),
    ]
    members = [MemberIn(practitioner_code=f"{code}{world.tag}", role=role) for code, role in staff]
    later = NOW + timedelta(days=2)
    with clock.frozen(later):
        familydoctor.set_members(session, world.community_admin, world.team, members)
        assert basis(session, LEAD, world.patient) is None  # the lead's specialist left
        assert basis(session, COMMUNITY, world.patient) == "registered_at_institution"
    with clock.frozen(later - timedelta(seconds=1)):
        assert basis(session, LEAD, world.patient) == "contract"
    back = [*members, MemberIn(practitioner_code=f"card-sun{world.tag}", role=TeamRole.SPECIALIST)]
    with clock.frozen(later + timedelta(days=1)):
        familydoctor.set_members(session, world.community_admin, world.team, back)
        assert basis(session, LEAD, world.patient) == "contract"


# --- registration --------------------------------------------------------------------------


def test_a_transfer_of_registration_moves_the_record_holder(session: Session, world: World) -> None:
    """The call the residents service makes when a registration moves (access.relate with
    the new institution): the old holder loses the relationship, the new one gains it, and
    the network office follows the record."""
    patient = world.unsigned_patient
    assert basis(session, COMMUNITY, patient) == "registered_at_institution"
    assert access.patient_access(session, world.office, patient).basis == "network"
    duohu = registry.require_institution(session, "jh-jd-duohu")  # another grid's group
    later = NOW + timedelta(days=1)
    with clock.frozen(later):
        access.relate(
            session,
            kind=access.Relationship.REGISTERED_AT_INSTITUTION,
            source_id=patient,
            resident_id=patient,
            institution_ids={duohu.id},
        )
        assert basis(session, COMMUNITY, patient) is None
        assert basis(session, "jh-jd-duohu", patient) == "registered_at_institution"
        assert access.patient_access(session, world.other_grid_doctor, patient).unmasked
        with pytest.raises(Forbidden):
            access.patient_access(session, world.office, patient)
    old, new = rows(session, patient, access.Relationship.REGISTERED_AT_INSTITUTION)
    assert (old.ended_at, new.started_at, new.ended_at) == (later, later, None)


# --- the owning transaction ----------------------------------------------------------------


def _relationships(resident_id: int) -> list[tuple[str, int]]:
    with session_scope() as fresh:
        return [
            (r.kind, r.institution_id)
            for r in fresh.scalars(
                select(CareRelationship).where(CareRelationship.resident_id == resident_id)
            )
        ]


def test_no_relationship_is_left_when_the_owning_transaction_rolls_back(
    committed_world: World,
) -> None:
    """Sending a referral writes its relationship, then booking an unknown slot fails: the
    request rolls back, and the relationship with it."""
    patient = committed_world.unsigned_patient
    before = _relationships(patient)
    assert [kind for kind, _ in before] == ["registered_at_institution"]
    written: list[CareRelationship] = []
    with clock.frozen(UTC_NOW), pytest.raises(NotFound), session_scope() as session:
        try:
            refer_up(
                session, committed_world, resident_id=patient, slot_id=2_000_000_000, **CHEST_PAIN
            )
        finally:  # the relationship was written before the booking failed
            written = rows(session, patient, access.Relationship.REFERRAL)
    assert len(written) == 2
    assert _relationships(patient) == before
