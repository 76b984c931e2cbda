"""One institution, one specialty (一院一品, C5, JH 15.2): a primary member's specialty that
the city recognises as a primary specialty brand, recorded by the network's office, and its
lapse. Each primary member reads as a `specialty_brand` fact at each year's end (and on the day
of the export for this year), holding a brand or not: SB1's coverage and SB2's count."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level
from caregrid.workforce.models import SpecialtyBrand
from caregrid.workforce.schemas import EndIn, SpecialtyBrandIn, SpecialtyBrandOut

PURPOSE = "workforce"

__all__ = ["add_brand", "brands", "end_brand", "facts"]


def _office(principal: Principal, network_id: int) -> None:
    access.require_network_office(
        principal, network_id, "a network's specialty brands are kept by its office"
    )


def _audit(session: Session, principal: Principal, network_id: int, row: SpecialtyBrand) -> None:
    audit.record(
        session,
        principal,
        action="specialty_brand.end" if row.ends_on else "specialty_brand.add",
        subject_type="network",
        subject_id=network_id,
        purpose=PURPOSE,
        detail={"brand": row.id, "institution": row.institution_id},
    )


def _primary_members(session: Session, network_id: int) -> list[registry.Institution]:
    found = (registry.get_institution_by_id(session, i) for i in registry.network_member_ids(
        session, network_id
    ))  # fmt: skip
    return sorted(
        (i for i in found if i is not None and i.level == Level.PRIMARY), key=lambda i: i.code
    )


def add_brand(
    session: Session, principal: Principal, network_code: str, data: SpecialtyBrandIn
) -> SpecialtyBrandOut:
    """A primary member's specialty recognised as a city-level brand on a day not in the
    future; a member's specialty is recorded once."""
    network = registry.get_network(session, network_code)
    _office(principal, network.id)
    member = registry.get_institution(session, data.institution_code)
    specialty = data.specialty.strip()
    problems = []
    if member is None or member.id not in registry.network_member_ids(session, network.id):
        problems.append(Problem("institution_code", "is not a member of the network"))
    elif member.level != Level.PRIMARY:
        problems.append(Problem("institution_code", "is not a primary member (基层特色专科)"))
    if not specialty:
        problems.append(Problem("specialty", "is empty"))
    if data.recognised_on > clock.today():
        problems.append(Problem("recognised_on", "is in the future"))
    if problems:
        raise InvalidInput(problems)
    assert member is not None
    registry.lock_institution(session, member.id)
    have = session.scalar(
        select(SpecialtyBrand).where(
            SpecialtyBrand.institution_id == member.id, SpecialtyBrand.specialty == specialty
        )
    )
    if have is not None:
        raise Conflict(msg("was recognised on {day}", day=have.recognised_on))
    row = SpecialtyBrand(
        institution_id=member.id,
        specialty=specialty,
        recognised_on=data.recognised_on,
        recognised_by=data.recognised_by.strip(),
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, row)
    return _out(row, registry.codes_by_id(session))


def end_brand(
    session: Session, principal: Principal, network_code: str, brand_id: int, data: EndIn
) -> SpecialtyBrandOut:
    """The last day a brand of one of the network's members held (it lapsed or was
    withdrawn): not before it was recognised, not in the future; a brand ends once."""
    network = registry.get_network(session, network_code)
    _office(principal, network.id)
    row = session.get(SpecialtyBrand, brand_id, with_for_update=True)
    if row is None or row.institution_id not in registry.network_member_ids(session, network.id):
        raise NotFound("no such specialty brand in the network")
    if row.ends_on is not None:
        raise Conflict(msg("ended on {day}", day=row.ends_on))
    if data.ends_on > clock.today():
        raise InvalidInput([Problem("ends_on", "is in the future")])
    if data.ends_on < row.recognised_on:
        raise InvalidInput([Problem("ends_on", "is before it was recognised")])
    row.ends_on = data.ends_on
    session.flush()
    _audit(session, principal, network.id, row)
    return _out(row, registry.codes_by_id(session))


def _out(row: SpecialtyBrand, codes: dict[int, str]) -> SpecialtyBrandOut:
    return SpecialtyBrandOut(
        id=row.id,
        institution_code=codes[row.institution_id],
        specialty=row.specialty,
        recognised_on=row.recognised_on,
        recognised_by=row.recognised_by,
        ends_on=row.ends_on,
    )


def _brands_of(session: Session, institution_ids: list[int]) -> list[SpecialtyBrand]:
    return list(
        session.scalars(
            select(SpecialtyBrand)
            .where(SpecialtyBrand.institution_id.in_(institution_ids))
            .order_by(SpecialtyBrand.recognised_on, SpecialtyBrand.id)
        )
    )


def brands(session: Session, principal: Principal, network_code: str) -> list[SpecialtyBrandOut]:
    """The specialty brands of the network's primary members, the latest first."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "a network's specialty brands are seen by its office"
    )
    members = [i.id for i in _primary_members(session, network.id)]
    codes = registry.codes_by_id(session)
    return [_out(r, codes) for r in reversed(_brands_of(session, members))]


def _held(row: SpecialtyBrand, day: date) -> bool:
    return row.recognised_on <= day and (row.ends_on is None or row.ends_on >= day)


def facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each primary member of each network at the end of each year from its network's first
    brand's year (this year if it has none) to `on`'s, the last on `on`: the brand it held
    that day, or none (`specialty_brand`, docs/activity.md)."""
    rows: list[dict[str, object]] = []
    for network in registry.networks(session):
        members = _primary_members(session, network.id)
        held = [b for b in _brands_of(session, [m.id for m in members]) if b.recognised_on <= on]
        first = min((b.recognised_on.year for b in held), default=on.year)
        for year in range(first, on.year + 1):
            day = on if year == on.year else date(year, 12, 31)
            for member in members:
                brand = next(
                    (b for b in held if b.institution_id == member.id and _held(b, day)), None
                )
                rows.append(
                    {
                        "network_code": network.code,
                        "institution_code": member.code,
                        "as_of": day,
                        "specialty": None if brand is None else brand.specialty,
                    }
                )
    return rows
