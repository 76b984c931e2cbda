"""What a family-doctor team sees for the week (F1, F6): follow-ups due or overdue, suspected
cases to confirm, residents due their yearly screening, and patients referred down whose
loop is open.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import standard as std
from caregrid.chronic.models import Enrolment, Visit
from caregrid.chronic.schemas import WorkItem, WorklistOut
from caregrid.chronic.visits import next_due
from caregrid.chronic.vocab import EnrolmentStatus
from caregrid.errors import Forbidden
from caregrid.familydoctor import service as familydoctor
from caregrid.referral import service as referrals
from caregrid.registry import service as registry
from caregrid.residents import service as residents


def worklist(
    session: Session,
    principal: Principal,
    team_id: int,
    *,
    doctor_id: int | None = None,
    on: date | None = None,
) -> WorklistOut:
    """Who needs the team this week (Monday to Sunday): follow-ups due or overdue, suspected
    cases to confirm, residents 35+ due their yearly screening, and patients referred down
    to the team's unit whose loop is open."""
    team = familydoctor.get_team(session, team_id)
    if not (
        principal.system
        or principal.institution_id == team.institution_id
        or (principal.has(Role.NETWORK_ADMIN) and principal.network_id == team.network_id)
    ):
        raise Forbidden("a team's worklist is for its institution and network office")
    today = on or clock.today()
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    standard = std.load_standard()
    contracts = familydoctor.team_contracts(session, team.id, today, doctor_id=doctor_id)
    doctors = {
        c.resident_id: registry.get_practitioner_by_id(session, c.doctor_id).code for c in contracts
    }
    people = residents.records(session, list(doctors))
    items: list[WorkItem] = []

    def add(
        resident_id: int,
        what: str,
        due: date | None,
        condition: str | None = None,
        referral_id: int | None = None,
    ) -> None:
        person = people.get(resident_id) or residents.find_record(session, resident_id)
        items.append(
            WorkItem(
                resident_id=resident_id,
                resident_name=person.name if person else "",
                condition=condition,
                what=what,
                due_on=due,
                doctor_code=doctors.get(resident_id),
                referral_id=referral_id,
            )
        )

    rows = session.scalars(select(Enrolment).where(Enrolment.resident_id.in_(list(doctors)))).all()
    enrolled = {(e.resident_id, e.condition) for e in rows if e.status != EnrolmentStatus.RULED_OUT}
    for row in rows:
        if row.status == EnrolmentStatus.SUSPECTED and row.suspected_on is not None:
            add(
                row.resident_id,
                "confirm",
                row.suspected_on
                + timedelta(days=standard.confirm_follow_days(std.Condition(row.condition))),
                row.condition,
            )
        due = next_due(session, row)
        if due is not None and due < today:
            add(row.resident_id, "follow_up_overdue", due, row.condition)
        elif due is not None and due <= week_end:
            add(row.resident_id, "follow_up_due", due, row.condition)
    last_measured = {
        (resident_id, condition): last
        for resident_id, condition, last in session.execute(
            select(Visit.resident_id, Visit.condition, func.max(Visit.visited_on))
            .where(Visit.resident_id.in_(list(people)))
            .group_by(Visit.resident_id, Visit.condition)
        ).all()
    }
    for condition in std.Condition:
        minimum = standard.screening_min_age(condition)
        interval = timedelta(days=standard.screening_interval_days(condition))
        for resident_id, person in people.items():
            if (resident_id, condition.value) in enrolled:
                continue
            if residents.age_on(person.birth_date, today) < minimum:
                continue
            last = last_measured.get((resident_id, condition.value))
            if last is None or last + interval <= today:
                add(
                    resident_id,
                    "screening_due",
                    None if last is None else last + interval,
                    condition.value,
                )
    for referral in referrals.open_down_referrals(session, team.institution_id):
        if doctor_id is None or referral.resident_id in doctors:
            add(referral.resident_id, "referred_down", None, None, referral.id)
    order = {
        "follow_up_overdue": 0,
        "referred_down": 1,
        "confirm": 2,
        "follow_up_due": 3,
        "screening_due": 4,
    }
    items.sort(key=lambda i: (order[i.what], i.due_on or date.max, i.resident_id))
    return WorklistOut(team_code=team.code, week_start=week_start, week_end=week_end, items=items)
