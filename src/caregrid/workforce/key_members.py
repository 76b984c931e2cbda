"""Key members (重点帮扶单位, C5, JH 15.1): the members a network names for building up, each
to receive a resident ward director and clinic experts sent down from the lead. The office
names and ends them; each month of a key member reads as a `key_member_month` fact with the
ward directors and clinic experts whose postings ran in it, for SK3 and SK4."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.workforce.models import KeyMember, Posting
from caregrid.workforce.schemas import EndIn, ExpertOut, KeyMemberIn, KeyMemberOut
from caregrid.workforce.vocab import SinkingRole

PURPOSE = "workforce"

__all__ = ["end_key_member", "facts", "key_members", "name_key_member"]


def _office(session: Session, principal: Principal, network_id: int) -> None:
    access.require_network_office(
        principal, network_id, "a network's key members are named by its office"
    )


def _audit(session: Session, principal: Principal, row: KeyMember, action: str) -> None:
    audit.record(
        session,
        principal,
        action=action,
        subject_type="network",
        subject_id=row.network_id,
        purpose=PURPOSE,
        detail={"key_member": row.id, "institution": row.institution_id},
    )


def name_key_member(
    session: Session, principal: Principal, network_code: str, data: KeyMemberIn
) -> KeyMemberOut:
    """A member other than the lead named a key member from a day not in the future; a
    member is named once at a time (a second naming while the first holds is refused)."""
    network = registry.get_network(session, network_code)
    _office(session, principal, network.id)
    member = registry.get_institution(session, data.institution_code)
    lead = registry.lead_of(session, network.id)
    problems = []
    if member is None or member.id not in registry.network_member_ids(session, network.id):
        problems.append(Problem("institution_code", "is not a member of the network"))
    elif lead is not None and member.id == lead.id:
        problems.append(Problem("institution_code", "is the lead: it sends the experts down"))
    if data.named_on > clock.today():
        problems.append(Problem("named_on", "is in the future"))
    if problems:
        raise InvalidInput(problems)
    assert member is not None
    registry.lock_institution(session, member.id)
    for other in _rows(session, network.id, member.id):
        if other.ends_on is None or other.ends_on >= data.named_on:
            raise InvalidInput(
                [
                    Problem(
                        "institution_code",
                        msg("is a key member since {day}", day=other.named_on),
                    )
                ]
            )
    row = KeyMember(
        network_id=network.id,
        institution_id=member.id,
        named_on=data.named_on,
        named_by=principal.username,
        named_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, row, "key_member.name")
    return _view(session, row, clock.today(), registry.codes_by_id(session))


def end_key_member(
    session: Session, principal: Principal, key_member_id: int, data: EndIn
) -> KeyMemberOut:
    """The last day a member is a key member: not before it was named, not in the future;
    a naming ends once (a second end is a conflict naming the first)."""
    row = session.get(KeyMember, key_member_id, with_for_update=True)
    if row is None:
        raise NotFound("no such key member")
    _office(session, principal, row.network_id)
    if row.ends_on is not None:
        raise Conflict(msg("ended on {day}", day=row.ends_on))
    if data.ends_on > clock.today():
        raise InvalidInput([Problem("ends_on", "is in the future")])
    if data.ends_on < row.named_on:
        raise InvalidInput([Problem("ends_on", "is before the member was named")])
    row.ends_on = data.ends_on
    session.flush()
    _audit(session, principal, row, "key_member.end")
    return _view(session, row, clock.today(), registry.codes_by_id(session))


def _rows(session: Session, network_id: int, institution_id: int | None = None) -> list[KeyMember]:
    query = select(KeyMember).where(KeyMember.network_id == network_id)
    if institution_id is not None:
        query = query.where(KeyMember.institution_id == institution_id)
    return list(session.scalars(query.order_by(KeyMember.named_on, KeyMember.id)))


def _experts(session: Session, institution_id: int, first: date, last: date) -> list[Posting]:
    """The postings of experts sent down with a role that ran at the member on a day from
    `first` to `last`."""
    return list(
        session.scalars(
            select(Posting)
            .where(
                Posting.institution_id == institution_id,
                Posting.role.is_not(None),
                Posting.starts_on <= last,
                (Posting.ends_on.is_(None)) | (Posting.ends_on >= first),
            )
            .order_by(Posting.starts_on, Posting.id)
        )
    )


def _view(session: Session, row: KeyMember, on: date, codes: dict[int, str]) -> KeyMemberOut:
    """The key member with the experts serving it on `on`."""
    serving: dict[str, list[ExpertOut]] = {role: [] for role in SinkingRole}
    for posting in _experts(session, row.institution_id, on, on):
        person = registry.get_practitioner_by_id(session, posting.practitioner_id)
        serving[posting.role or ""].append(
            ExpertOut(
                practitioner_code=person.code,
                practitioner_name=person.name,
                posting_id=posting.id,
                weekdays=posting.weekdays or [],
            )
        )
    return KeyMemberOut(
        id=row.id,
        institution_code=codes[row.institution_id],
        named_on=row.named_on,
        ends_on=row.ends_on,
        ward_directors=serving[SinkingRole.WARD_DIRECTOR],
        clinic_experts=serving[SinkingRole.CLINIC],
    )


def key_members(session: Session, principal: Principal, network_code: str) -> list[KeyMemberOut]:
    """The network's key members, those still named first, each with its experts today."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "a network's key members are seen by its office"
    )
    codes, today = registry.codes_by_id(session), clock.today()
    rows = sorted(_rows(session, network.id), key=lambda r: (r.ends_on is not None, r.named_on))
    return [_view(session, r, today, codes) for r in rows]


def _month_ends(first: date, last: date) -> list[tuple[date, date]]:
    """The first and last day of each month from `first`'s to `last`'s."""
    found, month = [], first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        found.append((month, following - timedelta(days=1)))
        month = following
    return found


def facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each month a member was a key member, up to `on`'s: the distinct ward directors and
    clinic experts whose postings ran at it on a day of the month, as far as it was a key
    member (`key_member_month`, docs/activity.md)."""
    codes = registry.codes_by_id(session)
    networks = {n.id: n.code for n in registry.networks(session)}
    rows: list[dict[str, object]] = []
    for row in session.scalars(select(KeyMember).order_by(KeyMember.id)):
        last = min(row.ends_on or on, on)
        for first_day, last_day in _month_ends(row.named_on, last):
            start, end = max(first_day, row.named_on), min(last_day, last)
            people: dict[str, set[int]] = {role: set() for role in SinkingRole}
            for posting in _experts(session, row.institution_id, start, end):
                people[posting.role or ""].add(posting.practitioner_id)
            rows.append(
                {
                    "key_member_id": f"cg-{row.id}",
                    "network_code": networks[row.network_id],
                    "institution_code": codes[row.institution_id],
                    "month_of": first_day,
                    "ward_directors": len(people[SinkingRole.WARD_DIRECTOR]),
                    "clinic_experts": len(people[SinkingRole.CLINIC]),
                }
            )
    return rows
