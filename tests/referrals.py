"""Referrals for tests, on tests/world.py's World: the up referral most tests start from (the
community centre's family doctor refers the signed patient to the lead's cardiology for
uncontrolled hypertension), the lead receiving the patient, and the referral back down. A test
passes only the fields its check is about."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.schemas import DownReferralIn, ReferralIn
from caregrid.referral.vocab import Action
from tests.world import World

# The clinical fields of the usual referral; the referral form sends them too.
HYPERTENSION: dict[str, Any] = {
    "diagnosis_code": "I10",
    "reason": "血压控制不佳",
    "clinical_summary": "68岁男性，高血压10年，近两次随访血压未控制。",
}
# I10 is on the members' first-visit catalog: it goes up only with a justification (B2).
JUSTIFICATION = "三种降压药联合治疗血压仍 172/104 mmHg"
# An acute infarction is on no first-visit catalog: it goes up without a justification.
CHEST_PAIN: dict[str, Any] = {
    "diagnosis_code": "I21.0",
    "reason": "胸痛",
    "clinical_summary": "急性前壁心肌梗死，溶栓后转诊",
    "justification": None,
}


def referral_in(world: World, **changes: Any) -> ReferralIn:
    """The usual up referral as the form would send it, with `changes` (any ReferralIn field)
    applied."""
    fields: dict[str, Any] = {
        "resident_id": world.patient,
        "to_institution_code": "jh-rmyy",
        "to_department_id": world.cardiology,
        **HYPERTENSION,
        "justification": JUSTIFICATION,
        "consent": True,
    }
    fields.update(changes)
    return ReferralIn.model_validate(fields)


def refer_up(
    session: Session, world: World, *, by: Principal | None = None, **changes: Any
) -> Referral:
    """The usual up referral (with `changes`), written and submitted by the world's community
    doctor, or by `by`."""
    return referrals.create(session, by or world.community_doctor, referral_in(world, **changes))


def arrive(session: Session, by: Principal, referral: Referral) -> Referral:
    """The receiving side accepts the referral and the patient arrives."""
    for action in (Action.ACCEPT, Action.ARRIVE):
        referral = referrals.transition(
            session, by, referral.id, action=action, version=referral.version
        )
    return referral


def refer_down(session: Session, by: Principal, referral: Referral, **changes: Any) -> Referral:
    """The receiver discharges the arrived patient and refers him back down (B5), with
    `changes` (any DownReferralIn field) applied; returns the downward referral."""
    fields: dict[str, Any] = {
        "version": referral.version,
        "reason": "stable",
        "clinical_summary": "treated",
        "discharge_summary": "stable on two drugs",
        "follow_up_plan": "BP follow-up in two weeks",
    }
    fields.update(changes)
    return referrals.refer_down(
        session, by, parent_id=referral.id, data=DownReferralIn.model_validate(fields)
    )
