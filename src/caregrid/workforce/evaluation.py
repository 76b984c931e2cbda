"""Internal evaluation of staff (K2, GZ-U 17): ethics, service quality, competence and
satisfaction, with a grade and what the result was tied to (posts, titles, pay). The office
records them; each reads as a `staff_evaluation` fact, and K2 is the share of the staff on the
period's lists evaluated in it. GZ-U 17 sets no cadence, so none is enforced."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.workforce.models import StaffEvaluation
from caregrid.workforce.schemas import EvaluationIn, EvaluationOut
from caregrid.workforce.vocab import EvaluationGrade, EvaluationUse

__all__ = ["evaluations", "facts", "record_evaluation"]


def _office(session: Session, principal: Principal, code: str) -> registry.Network:
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "staff evaluations are kept by the network's office"
    )
    return network


def record_evaluation(
    session: Session, principal: Principal, code: str, data: EvaluationIn
) -> EvaluationOut:
    """An evaluation of a member's staff member on a day; one a day per person."""
    network = _office(session, principal, code)
    person = registry.get_practitioner(session, data.practitioner_code)
    problems = []
    if person is None:
        problems.append(Problem("practitioner_code", "is no practitioner"))
    elif person.home_institution_id not in registry.network_member_ids(session, network.id):
        problems.append(Problem("practitioner_code", "does not work at a member of this network"))
    if data.evaluated_on > clock.today():
        problems.append(Problem("evaluated_on", "is in the future"))
    if len(set(data.uses)) != len(data.uses):
        problems.append(Problem("uses", "names a use twice"))
    if problems:
        raise InvalidInput(problems)
    assert person is not None
    taken = session.scalar(
        select(StaffEvaluation.id).where(
            StaffEvaluation.practitioner_id == person.id,
            StaffEvaluation.evaluated_on == data.evaluated_on,
        )
    )
    if taken is not None:
        raise Conflict(
            msg("{code} was evaluated on {day}", code=person.code, day=data.evaluated_on)
        )
    row = StaffEvaluation(
        practitioner_id=person.id,
        institution_id=person.home_institution_id,
        evaluated_on=data.evaluated_on,
        ethics=data.ethics,
        quality=data.quality,
        competence=data.competence,
        satisfaction=data.satisfaction,
        grade=data.grade,
        uses=[u.value for u in data.uses],
        recorded_by=principal.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        action="staff.evaluate",
        subject_type="network",
        subject_id=network.id,
        purpose="workforce",
        detail={"evaluation": row.id, "practitioner": person.code},
    )
    return _view(session, row, registry.codes_by_id(session))


def _view(session: Session, row: StaffEvaluation, codes: dict[int, str]) -> EvaluationOut:
    person = registry.get_practitioner_by_id(session, row.practitioner_id)
    return EvaluationOut(
        id=row.id,
        practitioner_code=person.code,
        practitioner_name=person.name,
        institution_code=codes[row.institution_id],
        evaluated_on=row.evaluated_on,
        ethics=row.ethics,
        quality=row.quality,
        competence=row.competence,
        satisfaction=row.satisfaction,
        grade=EvaluationGrade(row.grade),
        uses=[EvaluationUse(u) for u in row.uses],
    )


def evaluations(session: Session, principal: Principal, code: str) -> list[EvaluationOut]:
    """The network's members' staff evaluations, the latest first."""
    network = _office(session, principal, code)
    members = registry.network_member_ids(session, network.id)
    codes = registry.codes_by_id(session)
    rows = session.scalars(
        select(StaffEvaluation)
        .where(StaffEvaluation.institution_id.in_(members))
        .order_by(StaffEvaluation.evaluated_on.desc(), StaffEvaluation.id.desc())
    )
    return [_view(session, r, codes) for r in rows]


def facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each evaluation up to `on`, at the member the person worked for (`staff_evaluation`,
    docs/activity.md): what K2 counts."""
    codes = registry.codes_by_id(session)
    rows = session.scalars(
        select(StaffEvaluation)
        .where(StaffEvaluation.evaluated_on <= on)
        .order_by(StaffEvaluation.id)
    )
    return [
        {
            "evaluation_id": f"cg-{r.id}",
            "institution_code": codes[r.institution_id],
            "staff_id": registry.get_practitioner_by_id(session, r.practitioner_id).code,
            "evaluated_on": r.evaluated_on,
            "grade": r.grade,
        }
        for r in rows
    ]
