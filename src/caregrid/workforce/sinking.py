"""Experts sent down (C5, JH 15.1): a sinking posting says what the expert does at the member
(runs a ward, holds clinics) and on which weekdays, and its schedule must hold the profile's
working days a week; the member records the days served, and each week of the posting reads as
a `sinking_week` fact, served days against the days the profile asks, for SK1 and SK2."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import TitleLevel
from caregrid.workforce.models import Posting, ServiceDay
from caregrid.workforce.schemas import PostingIn, ServiceDaysIn, ServiceDaysOut
from caregrid.workforce.vocab import PostingPurpose, SinkingRole

# C5, JH 15.1: a ward director at least 4 working days a week, a clinic expert at least 2
DAYS_PER_WEEK = {
    SinkingRole.WARD_DIRECTOR: "expert_ward_director_days_per_week",
    SinkingRole.CLINIC: "expert_clinic_days_per_week",
}
TITLE_MIN = "expert_title_level_min"  # C5, JH 15.1: 副高以上
WORKING_WEEKDAYS = range(1, 6)  # Monday to Friday (ISO): the days a schedule's count is of

__all__ = ["record_service_days", "required_days", "schedule_problems", "sinking_week_facts"]


def _parameter(session: Session, institution_id: int, name: str, on: date) -> object:
    """The parameter on `on` in the profile of the first of the member's networks that sets
    it; None: no profile sets it."""
    for network_id in sorted(registry.network_ids_of_institution(session, institution_id)):
        network = registry.get_network_by_id(session, network_id)
        value = policy.get(network.profile).parameter(name, on)
        if value is not None:
            return value
    return None


def required_days(session: Session, institution_id: int, role: str, on: date) -> int | None:
    """The working days a week the member's network's profile asks of the role on `on`."""
    value = _parameter(session, institution_id, DAYS_PER_WEEK[SinkingRole(role)], on)
    return None if value is None else int(str(value))


def _title_problems(session: Session, institution_id: int, data: PostingIn) -> list[Problem]:
    """An expert sent down with a role holds at least the title the profile asks (C5)."""
    floor = _parameter(session, institution_id, TITLE_MIN, data.starts_on)
    person = registry.get_practitioner(session, data.practitioner_code)
    if floor is None or person is None:
        return []
    ranks = list(TitleLevel)
    if ranks.index(TitleLevel(person.title_level)) >= ranks.index(TitleLevel(str(floor))):
        return []
    return [
        Problem(
            "practitioner_code",
            msg(
                "holds the {title} title; the profile asks {floor} or higher of an expert sent "
                "down (C5)",
                title=TitleLevel(person.title_level),
                floor=TitleLevel(str(floor)),
            ),
        )
    ]


def schedule_problems(session: Session, institution_id: int, data: PostingIn) -> list[Problem]:
    """A role only for an expert sent down; an expert sent down with a role has a fixed
    schedule with at least the working days a week the profile asks of it (C5): Monday to
    Thursday is a ward director's 4, Monday to Wednesday and Saturday is 3."""
    if data.role is None:
        return [Problem("weekdays", "is only for an expert with a role")] if data.weekdays else []
    if data.purpose != PostingPurpose.SINKING:
        return [Problem("role", "is only for an expert sent down (sinking)")]
    if not data.weekdays:
        return [Problem("weekdays", "is empty: an expert sent down serves on a fixed schedule")]
    if len(set(data.weekdays)) != len(data.weekdays):
        return [Problem("weekdays", "names a day twice")]
    working = sum(1 for d in data.weekdays if d in WORKING_WEEKDAYS)
    want = required_days(session, institution_id, data.role, data.starts_on)
    title = _title_problems(session, institution_id, data)
    if want is not None and working < want:
        days = msg(
            "holds {n} working days a week; the profile asks at least {want} (C5)",
            n=working,
            want=want,
        )
        return [*title, Problem("weekdays", days)]
    return title


def record_service_days(
    session: Session, principal: Principal, posting_id: int, data: ServiceDaysIn
) -> ServiceDaysOut:
    """Days an expert sent down served, recorded by the member's or the network's office;
    each within the posting and not in the future. A day recorded before is kept once."""
    posting = session.get(Posting, posting_id, with_for_update=True)
    if posting is None:
        raise NotFound("no such posting")
    if not access.can_manage_institution(session, principal, posting.institution_id):
        raise Forbidden("an expert's days are recorded by the member served or its network")
    if posting.role is None:
        raise InvalidInput([Problem("posting", "is not an expert sent down with a role")])
    problems = []
    for n, day in enumerate(data.days):
        if day > clock.today():
            problems.append(Problem(f"days.{n}", "is in the future"))
        elif day < posting.starts_on or (posting.ends_on is not None and day > posting.ends_on):
            problems.append(Problem(f"days.{n}", "is outside the posting"))
    if problems:
        raise InvalidInput(problems)
    have = set(
        session.scalars(select(ServiceDay.served_on).where(ServiceDay.posting_id == posting.id))
    )
    added = sorted(set(data.days) - have)
    session.add_all(ServiceDay(posting_id=posting.id, served_on=d) for d in added)
    session.flush()
    audit.record_for(
        session,
        principal,
        "posting.days",
        posting.institution_id,
        purpose="workforce",
        subject_type="institution",
        detail={"posting": posting.id, "added": len(added)},
    )
    return ServiceDaysOut(
        posting_id=posting.id, added=added, served=sorted(have | set(added), reverse=True)
    )


def sinking_week_facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each whole week (Monday to Sunday) of an expert's posting with a role that was over
        by `on`: the working days served in it (a Saturday served does not count: the profile asks
    working days) and the working days the profile asked (docs/activity.md)."""
    codes = registry.codes_by_id(session)
    rows: list[dict[str, object]] = []
    postings = session.scalars(
        select(Posting).where(Posting.role.is_not(None)).order_by(Posting.id)
    ).all()
    for posting in postings:
        served = set(
            session.scalars(select(ServiceDay.served_on).where(ServiceDay.posting_id == posting.id))
        )
        person = registry.get_practitioner_by_id(session, posting.practitioner_id).code
        monday = posting.starts_on + timedelta(days=(7 - posting.starts_on.weekday()) % 7)
        last = min(posting.ends_on or on, on)
        while monday + timedelta(days=6) <= last:
            week = {monday + timedelta(days=i) for i in range(7)}
            working = {d for d in week & served if d.isoweekday() in WORKING_WEEKDAYS}
            want = required_days(session, posting.institution_id, posting.role or "", monday)
            rows.append(
                {
                    "posting_id": f"cg-{posting.id}",
                    "institution_code": codes[posting.institution_id],
                    "practitioner_code": person,
                    "role": posting.role,
                    "week_of": monday,
                    "served": len(working),
                    "required": want,
                }
            )
            monday += timedelta(days=7)
    return rows
