"""REST API of the hypertension and diabetes registry (F1): screenings, enrolments,
follow-ups with the standard's decision, a resident's chronic record, a team's worklist."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caregrid.chronic import service as chronic
from caregrid.chronic.models import Enrolment
from caregrid.chronic.schemas import (
    EnrolIn,
    EnrolmentOut,
    FollowUpIn,
    FollowUpOut,
    ScreeningIn,
    VisitOut,
    WorklistOut,
)
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["chronic care"])


class ChronicRecordOut(BaseModel):
    enrolments: list[EnrolmentOut]
    visits: list[VisitOut]


def enrolment_out(session: DB, row: Enrolment) -> EnrolmentOut:
    out = EnrolmentOut.model_validate(row)
    return out.model_copy(update={"next_due_on": chronic.next_due(session, row)})


@router.post("/chronic/screenings", response_model=VisitOut, status_code=201)
def record_screening(body: ScreeningIn, session: DB, user: User) -> VisitOut:
    """A screening or repeat reading; raised readings make and then confirm a suspected case."""
    return VisitOut.model_validate(chronic.record_screening(session, user, body))


@router.post("/chronic/enrolments", response_model=EnrolmentOut, status_code=201)
def enrol(body: EnrolIn, session: DB, user: User) -> EnrolmentOut:
    return enrolment_out(session, chronic.enrol(session, user, body))


@router.post("/chronic/enrolments/{enrolment_id}/rule-out", response_model=EnrolmentOut)
def rule_out(enrolment_id: int, session: DB, user: User) -> EnrolmentOut:
    return enrolment_out(session, chronic.rule_out(session, user, enrolment_id))


@router.post("/chronic/follow-ups", response_model=FollowUpOut, status_code=201)
def record_follow_up(body: FollowUpIn, session: DB, user: User) -> FollowUpOut:
    """Classify the follow-up per the standard, schedule the next, propose a referral."""
    return chronic.record_follow_up(session, user, body)


@router.get("/residents/{resident_id}/chronic", response_model=ChronicRecordOut)
def chronic_record(resident_id: int, session: DB, user: User) -> ChronicRecordOut:
    visits = chronic.timeline(session, user, resident_id)
    return ChronicRecordOut(
        enrolments=[enrolment_out(session, e) for e in chronic.enrolments(session, resident_id)],
        visits=[VisitOut.model_validate(v) for v in visits],
    )


@router.get("/teams/{team_id}/worklist", response_model=WorklistOut)
def worklist(
    team_id: int,
    session: DB,
    user: User,
    doctor: Annotated[str | None, Query(description="a doctor's practitioner code")] = None,
    on: Annotated[
        date | None, Query(description="a day of the week to show; today if omitted")
    ] = None,
) -> WorklistOut:
    doctor_id = None
    if doctor:
        person = registry.get_practitioner(session, doctor)
        doctor_id = person.id if person is not None else -1
    return chronic.worklist(session, user, team_id, doctor_id=doctor_id, on=on)
