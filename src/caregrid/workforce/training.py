"""Training in the group (H5): the modules it trains with, each on a score scale with a pass
mark; sessions with every trainee's attendance and score; the clinical teaching plans the lead
tailors to each member (JH 9.3); the lead's professionals mentoring members' staff (JH 9.4);
and each member's management training against the profile's interval (JH 9.1). The network's
office records them; the measures H5, TR1 and TR2 read them as facts."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.workforce.models import (
    Mentorship,
    TeachingPlan,
    TrainingModule,
    TrainingResult,
    TrainingSession,
)
from caregrid.workforce.schemas import (
    DeliveredIn,
    ManagementDueOut,
    MentorshipIn,
    MentorshipOut,
    ModuleIn,
    ModuleOut,
    ResultOut,
    SessionIn,
    SessionOut,
    TeachingPlanIn,
    TeachingPlanOut,
    TrainingOut,
)
from caregrid.workforce.vocab import TrainingKind

INTERVAL = "management_training_interval_months"  # H5, JH 9.1: at least every half year
PURPOSE = "training"

__all__ = [
    "add_mentorship",
    "add_module",
    "add_plan",
    "deliver_plan",
    "facts",
    "management_due",
    "record_session",
    "training",
]


def _office(session: Session, principal: Principal, code: str) -> registry.Network:
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "the group's training is kept by its office and the commission"
    )
    return network


def _audit(
    session: Session, principal: Principal, network_id: int, action: str, **detail: object
) -> None:
    audit.record(
        session,
        principal,
        action=action,
        subject_type="network",
        subject_id=network_id,
        purpose=PURPOSE,
        detail=detail,
    )


def _not_future(field: str, day: date | None) -> list[Problem]:
    return [Problem(field, "is in the future")] if day is not None and day > clock.today() else []


def _check(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInput(problems)


def _members(session: Session, network: registry.Network) -> set[int]:
    return registry.network_member_ids(session, network.id)


def _trainees(session: Session, network: registry.Network) -> set[int]:
    """The members whose staff the lead trains: every member but the lead itself."""
    lead = registry.lead_of(session, network.id)
    return _members(session, network) - ({lead.id} if lead else set())


def add_module(session: Session, principal: Principal, code: str, data: ModuleIn) -> ModuleOut:
    """A module with its scale and pass mark; a code the network already uses is refused."""
    network = _office(session, principal, code)
    problems = []
    if data.pass_score > data.max_score:
        problems.append(Problem("pass_score", "is above the highest score"))
    taken = session.scalar(
        select(TrainingModule.id).where(
            TrainingModule.network_id == network.id, TrainingModule.code == data.code
        )
    )
    if taken is not None:
        problems.append(Problem("code", "is a module of this network already"))
    _check(problems)
    row = TrainingModule(
        network_id=network.id,
        code=data.code,
        title=data.title.strip(),
        kind=data.kind,
        max_score=data.max_score,
        pass_score=data.pass_score,
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "training.module", module=data.code)
    return ModuleOut.model_validate(row, from_attributes=True)


def _module(session: Session, network_id: int, code: str) -> TrainingModule | None:
    return session.scalar(
        select(TrainingModule).where(
            TrainingModule.network_id == network_id, TrainingModule.code == code
        )
    )


def _result_problems(
    session: Session,
    members: set[int],
    module: TrainingModule | None,
    data: SessionIn,
) -> tuple[list[Problem], list[int]]:
    """Each trainee once, staff of a member; a score only for those who attended, on the
    module's scale. Returns the problems and the trainees' ids in order."""
    problems: list[Problem] = []
    ids: list[int] = []
    seen: set[str] = set()
    for n, result in enumerate(data.results):
        field = f"results.{n}"
        person = registry.get_practitioner(session, result.practitioner_code)
        if person is None:
            problems.append(Problem(f"{field}.practitioner_code", "is no practitioner"))
        elif person.home_institution_id not in members:
            problems.append(
                Problem(f"{field}.practitioner_code", "does not work at a member of this network")
            )
        elif result.practitioner_code in seen:
            problems.append(Problem(f"{field}.practitioner_code", "is listed twice"))
        else:
            ids.append(person.id)
        seen.add(result.practitioner_code)
        if result.score is None:
            continue
        if not result.attended:
            problems.append(Problem(f"{field}.score", "is given for someone who did not attend"))
        elif module is not None and not Decimal(0) <= result.score <= module.max_score:
            problems.append(
                Problem(
                    f"{field}.score",
                    msg("is outside the module's scale, 0 to {top}", top=module.max_score),
                )
            )
    return problems, ids


def record_session(
    session: Session, principal: Principal, code: str, data: SessionIn
) -> SessionOut:
    """A module held, with every trainee's attendance and score; a trainee passes who
    attended and scored at least the pass mark. Nothing is written if any line is wrong."""
    network = _office(session, principal, code)
    members = _members(session, network)
    module = _module(session, network.id, data.module_code)
    problems = _not_future("held_on", data.held_on)
    if module is None:
        problems.append(Problem("module_code", "is no module of this network"))
    place = registry.get_institution(session, data.institution_code)
    if place is None or place.id not in members:
        problems.append(Problem("institution_code", "is not a member of this network"))
    found, ids = _result_problems(session, members, module, data)
    _check(problems + found)
    assert module is not None and place is not None
    row = TrainingSession(
        module_id=module.id,
        held_on=data.held_on,
        institution_id=place.id,
        trainer=data.trainer.strip(),
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    session.add_all(
        TrainingResult(
            session_id=row.id,
            practitioner_id=person,
            attended=result.attended,
            score=result.score,
            passed=result.attended and (result.score or Decimal(0)) >= module.pass_score,
        )
        for person, result in zip(ids, data.results, strict=True)
    )
    session.flush()
    _audit(
        session,
        principal,
        network.id,
        "training.session",
        held=row.id,
        module=module.code,
        trainees=len(ids),
    )
    return _sessions(session, network.id, row.id)[0]


def add_plan(
    session: Session, principal: Principal, code: str, data: TeachingPlanIn
) -> TeachingPlanOut:
    """A teaching plan the lead tailors to a member (JH 9.3), delivered or not yet."""
    network = _office(session, principal, code)
    member = registry.get_institution(session, data.institution_code)
    problems = _not_future("planned_on", data.planned_on) + _not_future(
        "delivered_on", data.delivered_on
    )
    if member is None or member.id not in _trainees(session, network):
        problems.append(Problem("institution_code", "is not a member the lead trains"))
    if data.delivered_on is not None and data.delivered_on < data.planned_on:
        problems.append(Problem("delivered_on", "is before the plan was made"))
    _check(problems)
    assert member is not None
    row = TeachingPlan(
        institution_id=member.id,
        title=data.title.strip(),
        planned_on=data.planned_on,
        delivered_on=data.delivered_on,
        recorded_by=principal.username,
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "training.plan", plan=row.id)
    return _plan_out(row, registry.codes_by_id(session))


def deliver_plan(
    session: Session, principal: Principal, plan_id: int, data: DeliveredIn
) -> TeachingPlanOut:
    """The day a plan was delivered; a plan is delivered once."""
    row = session.get(TeachingPlan, plan_id, with_for_update=True)
    if row is None:
        raise NotFound("no such teaching plan")
    networks = sorted(registry.network_ids_of_institution(session, row.institution_id))
    office = [n for n in networks if access.is_network_office(principal, n)]
    if not office:
        raise Forbidden("the group's training is kept by its office and the commission")
    if row.delivered_on is not None:
        raise Conflict(msg("the plan was delivered on {day}", day=row.delivered_on))
    problems = _not_future("delivered_on", data.delivered_on)
    if data.delivered_on < row.planned_on:
        problems.append(Problem("delivered_on", "is before the plan was made"))
    _check(problems)
    row.delivered_on = data.delivered_on
    _audit(session, principal, office[0], "training.delivered", plan=row.id)
    return _plan_out(row, registry.codes_by_id(session))


def _overlaps(first: date, last: date | None, other: Mentorship) -> bool:
    return (other.ends_on is None or other.ends_on >= first) and (
        last is None or other.starts_on <= last
    )


def add_mentorship(
    session: Session, principal: Principal, code: str, data: MentorshipIn
) -> MentorshipOut:
    """A member's staff member mentored by a professional of the lead (JH 9.4); one person
    has one mentor at a time."""
    network = _office(session, principal, code)
    lead = registry.lead_of(session, network.id)
    mentee = registry.get_practitioner(session, data.practitioner_code)
    mentor = registry.get_practitioner(session, data.mentor_code)
    problems = _not_future("starts_on", data.starts_on)
    if data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append(Problem("ends_on", "is before the first day"))
    if mentee is None:
        problems.append(Problem("practitioner_code", "is no practitioner"))
    elif mentee.home_institution_id not in _trainees(session, network):
        problems.append(Problem("practitioner_code", "does not work at a member the lead trains"))
    if mentor is None:
        problems.append(Problem("mentor_code", "is no practitioner"))
    elif lead is None or mentor.home_institution_id != lead.id:
        problems.append(Problem("mentor_code", "does not work at the network's lead"))
    if mentee is not None and not problems:
        registry.lock_practitioner(session, mentee.id)
        taken = session.scalars(
            select(Mentorship).where(Mentorship.practitioner_id == mentee.id)
        ).all()
        clash = next((m for m in taken if _overlaps(data.starts_on, data.ends_on, m)), None)
        if clash is not None:
            problems.append(
                Problem(
                    "starts_on",
                    msg("overlaps the mentorship from {day}", day=clash.starts_on),
                )
            )
    _check(problems)
    assert mentee is not None and mentor is not None
    row = Mentorship(
        institution_id=mentee.home_institution_id,
        practitioner_id=mentee.id,
        mentor_id=mentor.id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "training.mentorship", mentorship=row.id)
    return _mentorship_out(session, row, registry.codes_by_id(session))


def _months_after(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day (31 August + 6 is 28 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _management_days(session: Session, network_id: int, on: date) -> dict[int, date]:
    """Each institution's last day its staff attended a management session up to `on`."""
    rows = session.execute(
        select(TrainingSession.held_on, TrainingResult.practitioner_id)
        .join(TrainingResult, TrainingResult.session_id == TrainingSession.id)
        .join(TrainingModule, TrainingModule.id == TrainingSession.module_id)
        .where(
            TrainingModule.network_id == network_id,
            TrainingModule.kind == TrainingKind.MANAGEMENT,
            TrainingResult.attended,
            TrainingSession.held_on <= on,
        )
    ).all()
    homes = {p: registry.get_practitioner_by_id(session, p).home_institution_id for _, p in rows}
    last: dict[int, date] = {}
    for held_on, person in rows:
        home = homes[person]
        last[home] = max(last.get(home, held_on), held_on)
    return last


def management_due(
    session: Session, network: registry.Network, today: date
) -> tuple[int | None, list[ManagementDueOut]]:
    """Each member's management training against the profile's interval (H5, JH 9.1): due
    again on the same day `interval` months after the last session its staff attended,
    overdue the day after; a member never trained is due now."""
    value = policy.get(network.profile).parameter(INTERVAL, today)
    interval = None if value is None else int(value)
    last = _management_days(session, network.id, today)
    codes = registry.codes_by_id(session)
    found = []
    for member in sorted(_trainees(session, network), key=lambda i: codes[i]):
        day = last.get(member)
        due_by = None if day is None or interval is None else _months_after(day, interval)
        overdue = interval is not None and (day is None or (due_by is not None and today > due_by))
        found.append(
            ManagementDueOut(
                institution_code=codes[member], last_trained_on=day, due_by=due_by, overdue=overdue
            )
        )
    return interval, found


def _sessions(session: Session, network_id: int, only: int | None = None) -> list[SessionOut]:
    query = (
        select(TrainingSession, TrainingModule)
        .join(TrainingModule, TrainingModule.id == TrainingSession.module_id)
        .where(TrainingModule.network_id == network_id)
        .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
    )
    if only is not None:
        query = query.where(TrainingSession.id == only)
    codes = registry.codes_by_id(session)
    found = []
    for row, module in session.execute(query):
        results = session.scalars(
            select(TrainingResult)
            .where(TrainingResult.session_id == row.id)
            .order_by(TrainingResult.id)
        )
        people = []
        for result in results:
            person = registry.get_practitioner_by_id(session, result.practitioner_id)
            people.append(
                ResultOut(
                    practitioner_code=person.code,
                    practitioner_name=person.name,
                    institution_code=codes[person.home_institution_id],
                    attended=result.attended,
                    score=result.score,
                    passed=result.passed,
                )
            )
        found.append(
            SessionOut(
                id=row.id,
                module_code=module.code,
                module_title=module.title,
                kind=TrainingKind(module.kind),
                held_on=row.held_on,
                institution_code=codes[row.institution_id],
                trainer=row.trainer,
                results=people,
            )
        )
    return found


def _plan_out(row: TeachingPlan, codes: dict[int, str]) -> TeachingPlanOut:
    return TeachingPlanOut(
        id=row.id,
        institution_code=codes[row.institution_id],
        title=row.title,
        planned_on=row.planned_on,
        delivered_on=row.delivered_on,
    )


def _mentorship_out(session: Session, row: Mentorship, codes: dict[int, str]) -> MentorshipOut:
    mentee = registry.get_practitioner_by_id(session, row.practitioner_id)
    mentor = registry.get_practitioner_by_id(session, row.mentor_id)
    return MentorshipOut(
        id=row.id,
        institution_code=codes[row.institution_id],
        practitioner_code=mentee.code,
        practitioner_name=mentee.name,
        mentor_code=mentor.code,
        mentor_name=mentor.name,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
    )


def training(session: Session, principal: Principal, code: str) -> TrainingOut:
    """The network's modules, sessions (newest first), teaching plans, mentorships and each
    member's management training against the interval."""
    network = _office(session, principal, code)
    members = _members(session, network)
    codes = registry.codes_by_id(session)
    modules = session.scalars(
        select(TrainingModule)
        .where(TrainingModule.network_id == network.id)
        .order_by(TrainingModule.code)
    )
    plans = session.scalars(
        select(TeachingPlan)
        .where(TeachingPlan.institution_id.in_(members))
        .order_by(TeachingPlan.planned_on.desc(), TeachingPlan.id.desc())
    )
    mentorships = session.scalars(
        select(Mentorship)
        .where(Mentorship.institution_id.in_(members))
        .order_by(Mentorship.starts_on.desc(), Mentorship.id.desc())
    )
    interval, management = management_due(session, network, clock.today())
    return TrainingOut(
        network_code=network.code,
        interval_months=interval,
        modules=[ModuleOut.model_validate(m, from_attributes=True) for m in modules],
        sessions=_sessions(session, network.id),
        plans=[_plan_out(p, codes) for p in plans],
        mentorships=[_mentorship_out(session, m, codes) for m in mentorships],
        management=management,
    )


def facts(session: Session, on: date) -> dict[str, list[dict[str, object]]]:
    """Each attended trainee of a session up to `on` (`training`, with the module's kind),
    each teaching plan made by `on` (`teaching_plan`) and each mentorship begun by `on`
    (`mentorship`), at the member the person works for (docs/activity.md)."""
    codes = registry.codes_by_id(session)
    people: dict[int, registry.Practitioner] = {}

    def person(i: int) -> registry.Practitioner:
        if i not in people:
            people[i] = registry.get_practitioner_by_id(session, i)
        return people[i]

    trained = session.execute(
        select(TrainingResult, TrainingSession.held_on, TrainingModule.code, TrainingModule.kind)
        .join(TrainingSession, TrainingSession.id == TrainingResult.session_id)
        .join(TrainingModule, TrainingModule.id == TrainingSession.module_id)
        .where(TrainingResult.attended, TrainingSession.held_on <= on)
        .order_by(TrainingResult.id)
    )
    plans = session.scalars(
        select(TeachingPlan).where(TeachingPlan.planned_on <= on).order_by(TeachingPlan.id)
    )
    mentorships = session.scalars(
        select(Mentorship).where(Mentorship.starts_on <= on).order_by(Mentorship.id)
    )
    return {
        "training": [
            {
                "record_id": f"cg-{result.id}",
                "institution_code": codes[person(result.practitioner_id).home_institution_id],
                "staff_id": person(result.practitioner_id).code,
                "course": module,
                "kind": kind,
                "date": held_on,
                "passed": result.passed,
            }
            for result, held_on, module, kind in trained
        ],
        "teaching_plan": [
            {
                "plan_id": f"cg-{p.id}",
                "institution_code": codes[p.institution_id],
                "planned_on": p.planned_on,
                "delivered_on": p.delivered_on if p.delivered_on and p.delivered_on <= on else None,
            }
            for p in plans
        ],
        "mentorship": [
            {
                "mentorship_id": f"cg-{m.id}",
                "institution_code": codes[m.institution_id],
                "staff_id": person(m.practitioner_id).code,
                "mentor_code": person(m.mentor_id).code,
                "starts_on": m.starts_on,
                "ends_on": m.ends_on,
            }
            for m in mentorships
        ],
    }
