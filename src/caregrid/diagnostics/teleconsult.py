"""Teleconsultation (D4): a member department asks a department (or a named expert) of another
institution in its network; the receiving side schedules it with a meeting link and answers
in writing; the requesting side closes it. Response time is request to written opinion."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics.models import Teleconsultation
from caregrid.diagnostics.vocab import ConsultState
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.registry import service as registry

CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR)


def request(
    session: Session,
    principal: Principal,
    *,
    resident_id: int,
    to_institution_code: str,
    to_department_id: int,
    question: str,
    expert_code: str | None = None,
) -> Teleconsultation:
    if not principal.has(*CLINICAL) or principal.institution_id is None:
        raise Forbidden("teleconsultations are requested by clinical staff of an institution")
    access.patient_access(session, principal, resident_id)
    problems: list[Problem] = []
    receiver = registry.get_institution(session, to_institution_code)
    if receiver is None:
        raise InvalidInput(
            [
                Problem(
                    "to_institution_code",
                    msg(
                        "no institution {to_institution_code!r}",
                        to_institution_code=to_institution_code,
                    ),
                )
            ]
        )
    if receiver.id == principal.institution_id:
        problems.append(Problem("to_institution_code", "ask another institution"))
    elif not registry.shares_network(session, principal.institution_id, receiver.id):
        raise RuleViolation(
            "{code} is not in a network of yours; the telemedicine network links a network's "
            "own units",
            code=receiver.code,
            requirement="D4",
        )
    department = registry.get_department(session, to_department_id)
    if department.institution_id != receiver.id:
        problems.append(
            Problem("to_department_id", msg("not a department of {code}", code=receiver.code))
        )
    expert_id = None
    if expert_code:
        expert = registry.get_practitioner(session, expert_code)
        if expert is None or receiver.id not in (
            {expert.home_institution_id} | {s.id for s in expert.sites}
        ):
            problems.append(
                Problem(
                    "expert_code",
                    msg(
                        "{expert_code!r} does not practise at {code}",
                        expert_code=expert_code,
                        code=receiver.code,
                    ),
                )
            )
        else:
            expert_id = expert.id
    if not question.strip():
        problems.append(Problem("question", "say what the consultation is about"))
    if problems:
        raise InvalidInput(problems)
    consult = Teleconsultation(
        resident_id=resident_id,
        from_institution_id=principal.institution_id,
        requested_by=principal.username,
        to_institution_id=receiver.id,
        to_department_id=department.id,
        expert_id=expert_id,
        question=question.strip(),
        state=ConsultState.REQUESTED.value,
        requested_at=clock.now(),
    )
    session.add(consult)
    session.flush()
    audit.record_for(
        session,
        principal,
        "teleconsult.request",
        consult.resident_id,
        purpose="teleconsultation",
        detail={"teleconsultation": consult.id},
    )
    return consult


def get(session: Session, consult_id: int) -> Teleconsultation:
    consult = session.get(Teleconsultation, consult_id)
    if consult is None:
        raise NotFound("no teleconsultation with id {consult_id}", consult_id=consult_id)
    return consult


def _side(principal: Principal, institution_id: int) -> None:
    if principal.institution_id != institution_id or not principal.has(*CLINICAL):
        raise Forbidden("this step belongs to the other institution")


def _state(consult: Teleconsultation, *allowed: ConsultState) -> None:
    if consult.state not in allowed:
        raise Conflict(
            "teleconsultation {id} is {state}", id=consult.id, state=ConsultState(consult.state)
        )


def schedule(
    session: Session, principal: Principal, consult_id: int, *, at: datetime, meeting_link: str
) -> Teleconsultation:
    consult = get(session, consult_id)
    _side(principal, consult.to_institution_id)
    _state(consult, ConsultState.REQUESTED, ConsultState.SCHEDULED)
    problems: list[Problem] = []
    if at <= clock.now():
        problems.append(Problem("at", "a consultation is scheduled in the future"))
    link = urlparse(meeting_link.strip())
    if link.scheme != "https" or not link.netloc:
        problems.append(Problem("meeting_link", "an https:// link to the meeting"))
    if problems:
        raise InvalidInput(problems)
    consult.scheduled_for, consult.meeting_link = at, meeting_link.strip()
    consult.state = ConsultState.SCHEDULED.value
    session.flush()
    audit.record_for(
        session,
        principal,
        "teleconsult.schedule",
        consult.resident_id,
        purpose="teleconsultation",
        detail={"teleconsultation": consult.id},
    )
    return consult


def answer(
    session: Session, principal: Principal, consult_id: int, *, opinion: str
) -> Teleconsultation:
    consult = get(session, consult_id)
    _side(principal, consult.to_institution_id)
    _state(consult, ConsultState.SCHEDULED)
    if not opinion.strip():
        raise InvalidInput([Problem("opinion", "a written opinion is the answer")])
    consult.opinion, consult.answered_by = opinion.strip(), principal.username
    consult.answered_at = clock.now()
    consult.state = ConsultState.ANSWERED.value
    session.flush()
    audit.record_for(
        session,
        principal,
        "teleconsult.answer",
        consult.resident_id,
        purpose="teleconsultation",
        detail={"teleconsultation": consult.id},
    )
    return consult


def decline(
    session: Session, principal: Principal, consult_id: int, *, reason: str
) -> Teleconsultation:
    consult = get(session, consult_id)
    _side(principal, consult.to_institution_id)
    _state(consult, ConsultState.REQUESTED, ConsultState.SCHEDULED)
    if not reason.strip():
        raise InvalidInput([Problem("reason", "say why it is declined")])
    consult.opinion, consult.answered_by = reason.strip(), principal.username
    consult.answered_at = clock.now()
    consult.state = ConsultState.DECLINED.value
    session.flush()
    audit.record_for(
        session,
        principal,
        "teleconsult.decline",
        consult.resident_id,
        purpose="teleconsultation",
        detail={"teleconsultation": consult.id},
    )
    return consult


def close(session: Session, principal: Principal, consult_id: int) -> Teleconsultation:
    consult = get(session, consult_id)
    _side(principal, consult.from_institution_id)
    _state(consult, ConsultState.ANSWERED)
    consult.state, consult.closed_at = ConsultState.CLOSED.value, clock.now()
    session.flush()
    audit.record_for(
        session,
        principal,
        "teleconsult.close",
        consult.resident_id,
        purpose="teleconsultation",
        detail={"teleconsultation": consult.id},
    )
    return consult


def inbox(session: Session, principal: Principal) -> list[Teleconsultation]:
    """Open requests to the user's institution, oldest first."""
    return list(
        session.scalars(
            select(Teleconsultation)
            .where(
                Teleconsultation.to_institution_id == principal.institution_id,
                Teleconsultation.state.in_([ConsultState.REQUESTED, ConsultState.SCHEDULED]),
            )
            .order_by(Teleconsultation.requested_at)
        )
    )


def sent(session: Session, principal: Principal) -> list[Teleconsultation]:
    """Requests the user's institution sent, newest first."""
    return list(
        session.scalars(
            select(Teleconsultation)
            .where(Teleconsultation.from_institution_id == principal.institution_id)
            .order_by(Teleconsultation.requested_at.desc())
        )
    )
