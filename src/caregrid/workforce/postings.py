"""Posts and their vacancies, postings of professionals to the group's members (H1, C6), and
the promotion gate they feed (H4: a lead hospital's staff need primary-level service before
a mid or senior title); a first post at a member in a region with a service period runs it
(H3, `regions`).

Service is counted in whole calendar months per posting, from its first day to its last
(or today, while it runs): 2025-01-15 to 2026-01-14 is 12 months, a day less is 11. Only
postings at primary members count toward H4.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, InvalidInput, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import NetworkRole, TitleLevel
from caregrid.workforce import regions, sinking
from caregrid.workforce.models import Post, Posting
from caregrid.workforce.schemas import (
    PostIn,
    PostingIn,
    PostingOut,
    PostOut,
    PromotionIn,
    ServiceOut,
)
from caregrid.workforce.vocab import PostCategory, PostingPurpose, SinkingRole

REQUIRED = "promotion_primary_service_months"
GATED_TITLES = frozenset({TitleLevel.INTERMEDIATE, TitleLevel.ASSOCIATE_SENIOR, TitleLevel.SENIOR})
PRIMARY = "primary"


def whole_months(first: date, last: date) -> int:
    """Whole calendar months from `first` to `last`, both days served."""
    after = last + timedelta(days=1)
    months = (after.year - first.year) * 12 + after.month - first.month
    if after.day < first.day:
        months -= 1
    return max(months, 0)


def service_end(first: date, months: int) -> date:
    """The last day of `months` whole months served from `first` (the day before the same
    day `months` later; the month's last day when that day does not exist)."""
    year, month = divmod(first.month - 1 + months, 12)
    last = date(first.year + year, month + 1, 1) - timedelta(days=1)  # the month before's end
    while whole_months(first, last) < months:  # at most a month of days on
        last += timedelta(days=1)
    return last


def _period_problems(session: Session, institution_id: int, data: PostingIn) -> list[Problem]:
    """A first post at a member in a region with a service period runs it whole (H3)."""
    found = regions.period_of(session, institution_id)
    if data.purpose != PostingPurpose.FIRST_POST or found is None or data.ends_on is None:
        return []
    region, months = found
    served = whole_months(data.starts_on, data.ends_on)
    if served >= months:
        return []
    reason = msg(
        "serves {n} whole months; the first post asks the {region} region's {months} (H3), "
        "to {last}",
        n=served,
        region=region,
        months=months,
        last=service_end(data.starts_on, months),
    )
    return [Problem("ends_on", reason)]


def _practitioner(session: Session, code: str) -> registry.Practitioner:
    found = registry.get_practitioner(session, code)
    if found is None:
        raise InvalidInput(
            [Problem("practitioner_code", msg("no practitioner with code {code!r}", code=code))]
        )
    return found


def _office_of(session: Session, principal: Principal, institution_id: int) -> None:
    networks = registry.network_ids_of_institution(session, institution_id)
    if not any(access.is_network_office(principal, n) for n in networks):
        raise Forbidden("staff are posted and promoted by their network's office")


def open_post(session: Session, principal: Principal, data: PostIn) -> Post:
    """A post at a member with its seats; a code the member already uses is refused."""
    place = registry.require_institution(session, data.institution_code)
    _office_of(session, principal, place.id)
    taken = session.scalar(
        select(Post.id).where(Post.institution_id == place.id, Post.code == data.code)
    )
    if taken is not None:
        raise InvalidInput([Problem("code", "is a post of this member already")])
    row = Post(
        institution_id=place.id,
        code=data.code,
        title=data.title.strip(),
        category=data.category,
        seats=data.seats,
        opened_on=data.opened_on or clock.today(),
    )
    session.add(row)
    session.flush()
    audit.record_for(
        session,
        principal,
        "post.open",
        place.id,
        purpose="workforce",
        subject_type="institution",
        detail={"post": row.code, "seats": row.seats},
    )
    return row


def _running(posting: Posting, first: date, last: date) -> bool:
    return posting.starts_on <= last and first <= (posting.ends_on or date.max)


def _seat(session: Session, institution_id: int, data: PostingIn) -> int | None:
    """The post the posting fills, locked, with a seat free on every day of the posting
    (a post's seats are counted against the postings that overlap it)."""
    if data.post_code is None:
        return None
    post = session.scalar(
        select(Post)
        .where(Post.institution_id == institution_id, Post.code == data.post_code)
        .with_for_update()
    )
    if post is None:
        raise InvalidInput([Problem("post_code", "is not a post of that member")])
    last = data.ends_on or date.max
    holders = [
        p
        for p in session.scalars(select(Posting).where(Posting.post_id == post.id))
        if _running(p, data.starts_on, last)
    ]
    if len(holders) >= post.seats:
        raise InvalidInput(
            [
                Problem(
                    "post_code",
                    msg(
                        "has no vacancy then: its {seats} seats are filled",
                        seats=post.seats,
                    ),
                )
            ]
        )
    return post.id


def posts(session: Session, principal: Principal, network_code: str, on: date) -> list[PostOut]:
    """The network's members' posts with the seats filled and vacant on `on`."""
    network = registry.get_network(session, network_code)
    if not access.is_network_office(principal, network.id):
        raise Forbidden("a network's postings are seen by its office and the commission")
    members = registry.network_member_ids(session, network.id)
    codes = registry.codes_by_id(session)
    rows = list(
        session.scalars(
            select(Post)
            .where(Post.institution_id.in_(members))
            .order_by(Post.institution_id, Post.code)
        )
    )
    filled: dict[int, int] = {}
    for posting in session.scalars(
        select(Posting).where(Posting.post_id.in_([r.id for r in rows]))
    ):
        if posting.post_id is not None and _running(posting, on, on):
            filled[posting.post_id] = filled.get(posting.post_id, 0) + 1
    return [
        PostOut(
            id=r.id,
            institution_code=codes[r.institution_id],
            code=r.code,
            title=r.title,
            category=PostCategory(r.category),
            seats=r.seats,
            filled=filled.get(r.id, 0),
            vacancies=r.seats - filled.get(r.id, 0),
            opened_on=r.opened_on,
        )
        for r in rows
    ]


def record_posting(session: Session, principal: Principal, data: PostingIn) -> Posting:
    """A professional's service at a member, in one of its posts or beside them; one that
    overlaps another of the same person's postings is refused, naming it, and so is one into
    a post whose seats are all filled then."""
    person = _practitioner(session, data.practitioner_code)
    place = registry.require_institution(session, data.institution_code)
    _office_of(session, principal, place.id)
    problems = sinking.schedule_problems(session, place.id, data)
    if data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append(Problem("ends_on", "is before the first day"))
    else:
        problems += _period_problems(session, place.id, data)
    if problems:
        raise InvalidInput(problems)
    registry.lock_practitioner(session, person.id)  # two offices cannot both add an overlap
    end = data.ends_on or date.max
    for other in session.scalars(select(Posting).where(Posting.practitioner_id == person.id)):
        if other.starts_on <= end and data.starts_on <= (other.ends_on or date.max):
            raise InvalidInput(
                [
                    Problem(
                        "starts_on",
                        msg(
                            "overlaps posting {id} ({first} to {last})",
                            id=other.id,
                            first=other.starts_on,
                            last=other.ends_on or "—",
                        ),
                    )
                ]
            )
    post_id = _seat(session, place.id, data)
    row = Posting(
        practitioner_id=person.id,
        institution_id=place.id,
        post_id=post_id,
        purpose=data.purpose,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        note=(data.note or "").strip() or None,
        role=data.role,
        weekdays=sorted(data.weekdays) if data.role else None,
        created_by=principal.username,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record_for(
        session,
        principal,
        "posting.record",
        place.id,
        purpose="workforce",
        subject_type="institution",
        detail={"posting": row.id, "practitioner": person.code, "purpose": data.purpose},
    )
    return row


def service(session: Session, person: registry.Practitioner, on: date) -> ServiceOut:
    """Whole months the professional served at primary members up to `on`, and what the
    profile of a network the home leads asks before a mid or senior title."""
    levels = registry.institution_levels(session)
    codes = registry.codes_by_id(session)
    months = 0
    for posting in session.scalars(select(Posting).where(Posting.practitioner_id == person.id)):
        last = min(posting.ends_on or on, on)
        if levels.get(codes[posting.institution_id]) == PRIMARY and posting.starts_on <= last:
            months += whole_months(posting.starts_on, last)
    led = [
        p
        for p in registry.placements(session, person.home_institution_id)
        if p.role == NetworkRole.LEAD
    ]
    asked = [policy.get(p.profile).parameter(REQUIRED, on) for p in led]
    set_ = [int(v) for v in asked if v is not None]
    return ServiceOut(
        practitioner_code=person.code,
        primary_months=months,
        required_months=max(set_) if set_ else None,
        gated=bool(led),
    )


def _served_any(session: Session, person: registry.Practitioner, on: date) -> bool:
    levels = registry.institution_levels(session)
    codes = registry.codes_by_id(session)
    return any(
        levels.get(codes[p.institution_id]) == PRIMARY and p.starts_on <= on
        for p in session.scalars(select(Posting).where(Posting.practitioner_id == person.id))
    )


def promote(session: Session, principal: Principal, data: PromotionIn) -> ServiceOut:
    """A higher title for a professional; a lead hospital's staff get a mid or senior one
    only with the primary service the profile asks (H4)."""
    person = _practitioner(session, data.practitioner_code)
    _office_of(session, principal, person.home_institution_id)
    today = clock.today()
    served = service(session, person, today)
    if served.gated and data.title_level in GATED_TITLES:
        if served.required_months is None:
            if not _served_any(session, person, today):
                raise RuleViolation(
                    "{code} has served at no primary member: a lead hospital's staff need "
                    "primary-level work before a mid or senior title",
                    requirement="H4",
                    code=person.code,
                )
        elif served.primary_months < served.required_months:
            raise RuleViolation(
                "{code} has {months} whole months at primary members; {required} are required "
                "before a mid or senior title",
                requirement="H4",
                code=person.code,
                months=served.primary_months,
                required=served.required_months,
            )
    registry.set_title_level(session, person.id, data.title_level)
    audit.record_for(
        session,
        principal,
        "practitioner.promote",
        person.home_institution_id,
        purpose="workforce",
        subject_type="institution",
        detail={"practitioner": person.code, "title_level": data.title_level.value},
    )
    return served


def postings(session: Session, principal: Principal, network_code: str) -> list[PostingOut]:
    """The postings at the network's members, newest first, for its office."""
    network = registry.get_network(session, network_code)
    if not access.is_network_office(principal, network.id):
        raise Forbidden("a network's postings are seen by its office and the commission")
    members = registry.network_member_ids(session, network.id)
    rows = session.scalars(
        select(Posting)
        .where(Posting.institution_id.in_(members))
        .order_by(Posting.starts_on.desc(), Posting.id.desc())
    )
    return [view(session, row) for row in rows]


def view(session: Session, row: Posting) -> PostingOut:
    person = registry.get_practitioner_by_id(session, row.practitioner_id)
    place = registry.get_institution_by_id(session, row.institution_id)
    assert place is not None
    post = session.get(Post, row.post_id) if row.post_id is not None else None
    return PostingOut(
        id=row.id,
        practitioner_code=person.code,
        practitioner_name=person.name,
        institution_code=place.code,
        institution_level=place.level,
        post_code=post.code if post else None,
        purpose=PostingPurpose(row.purpose),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        note=row.note,
        role=SinkingRole(row.role) if row.role else None,
        weekdays=list(row.weekdays or []),
        created_by=row.created_by,
    )


def posting_facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each month every posting served up to `on`, as `staff_posting` facts (docs/activity.md):
    what the expert-sinking and management measures count (C5, C6)."""
    codes = registry.codes_by_id(session)
    homes = {
        p.id: p.home_institution_id
        for p in (
            registry.get_practitioner_by_id(session, i)
            for i in set(session.scalars(select(Posting.practitioner_id)))
        )
    }
    people = {i: registry.get_practitioner_by_id(session, i).code for i in homes}
    rows: list[dict[str, object]] = []
    for posting in session.scalars(select(Posting).order_by(Posting.id)):
        last = min(posting.ends_on or on, on)
        month = posting.starts_on.replace(day=1)
        while month <= last:
            rows.append(
                {
                    "posting_id": f"cg-{posting.id}",
                    "practitioner_code": people[posting.practitioner_id],
                    "institution_code": codes[posting.institution_id],
                    "from_institution_code": codes[homes[posting.practitioner_id]],
                    "purpose": posting.purpose,
                    "served_in": month,
                }
            )
            month = (month + timedelta(days=32)).replace(day=1)
    return rows
