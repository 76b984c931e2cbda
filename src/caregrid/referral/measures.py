"""Monthly referral and reserved-capacity measures per institution (B9, C1, C2).

Computed from the operational tables until the indicator engine takes them over. Each ratio
keeps its numerator and denominator, so a network total is the sum of its members' parts
divided last (the DHIS2 pattern of DESIGN.md).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.config import get_settings
from caregrid.errors import InvalidInput, Problem
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.vocab import Direction, State
from caregrid.registry import service as registry
from caregrid.scheduling import service as scheduling


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """`2026-12` -> the month's first and next month's first instant, local time."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput([Problem("month", f"{month!r} is not a month like 2026-12")]) from None
    following = date(year + number // 12, number % 12 + 1, 1)
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(first, time.min, zone), datetime.combine(following, time.min, zone)


@dataclass
class Ratio:
    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator


@dataclass
class InstitutionMonth:
    institution_code: str
    institution_name: str
    sent: dict[str, int] = field(default_factory=dict)  # by direction
    received: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    answer_hours: list[float] = field(default_factory=list)
    overdue: int = 0
    closed_loop: Ratio = field(default_factory=Ratio)
    reserved_slots: Ratio = field(default_factory=Ratio)  # reserved / all slots
    reserved_used: Ratio = field(default_factory=Ratio)  # member bookings / reserved slots
    slot_target: Fraction | None = None
    cancelled_bookings: int = 0
    no_shows: int = 0
    reserved_beds: Ratio = field(default_factory=Ratio)
    bed_target: Fraction | None = None

    @property
    def median_answer_hours(self) -> float | None:
        return statistics.median(self.answer_hours) if self.answer_hours else None

    @property
    def slot_target_met(self) -> bool | None:
        """Reserved share against the profile's target, compared exactly (1/3 is 1/3)."""
        if self.slot_target is None or self.reserved_slots.denominator == 0:
            return None
        share = Fraction(self.reserved_slots.numerator, self.reserved_slots.denominator)
        return share >= self.slot_target

    @property
    def bed_target_met(self) -> bool | None:
        if self.bed_target is None or self.reserved_beds.denominator == 0:
            return None
        share = Fraction(self.reserved_beds.numerator, self.reserved_beds.denominator)
        return share >= self.bed_target


def _allowed(session: Session, principal: Principal, network_id: int) -> set[int] | None:
    """Institutions whose figures the principal may see (None: the whole network)."""
    own = access.measure_scope(
        principal,
        network_id,
        "the network's measures are for its office, the commission and its members",
    )
    return None if own is None else {own}


def network_month(
    session: Session, principal: Principal, *, network_code: str, month: str
) -> list[InstitutionMonth]:
    """One row per member institution with activity or capacity in the month."""
    network = registry.get_network(session, network_code)
    allowed = _allowed(session, principal, network.id)
    start, end = month_bounds(month)
    members = {
        m.institution_id: m.institution
        for m in network.memberships
        if allowed is None or m.institution_id in allowed
    }
    rows = {
        i: InstitutionMonth(inst.code, inst.name_zh)
        for i, inst in sorted(members.items(), key=lambda kv: kv[1].code)
    }
    now = clock.now()
    found = session.scalars(
        select(Referral).where(
            Referral.submitted_at >= start,
            Referral.submitted_at < end,
            or_(
                Referral.from_institution_id.in_(members),
                Referral.to_institution_id.in_(members),
            ),
        )
    ).all()
    for referral in found:
        sender = rows.get(referral.from_institution_id)
        receiver = rows.get(referral.to_institution_id)
        if sender is not None:
            sender.sent[referral.direction] = sender.sent.get(referral.direction, 0) + 1
        if receiver is None:
            continue
        receiver.received[referral.direction] = receiver.received.get(referral.direction, 0) + 1
        receiver.by_state[referral.state] = receiver.by_state.get(referral.state, 0) + 1
        if referral.answered_at and referral.submitted_at:
            hours = (referral.answered_at - referral.submitted_at).total_seconds() / 3600
            receiver.answer_hours.append(round(hours, 2))
        if referrals.overdue(session, referral, now):
            receiver.overdue += 1
        if referral.direction == Direction.UP and referral.state in (
            State.COMPLETED,
            State.CLOSED,
        ):
            receiver.closed_loop.denominator += 1
            receiver.closed_loop.numerator += referral.state == State.CLOSED
    last_day = end - timedelta(days=1)
    for institution_id, row in rows.items():
        capacity = scheduling.month_capacity(
            session, institution_id=institution_id, start=start, end=end
        )
        row.reserved_slots = Ratio(capacity.reserved_slots, capacity.slots)
        row.reserved_used = Ratio(capacity.reserved_used_by_members, capacity.reserved_slots)
        row.cancelled_bookings, row.no_shows = capacity.cancelled, capacity.no_shows
        row.reserved_beds = Ratio(capacity.reserved_beds, capacity.beds)
        row.slot_target = (
            scheduling.quota(session, institution_id, scheduling.SLOT_SHARE, last_day).share or None
        )
        row.bed_target = (
            scheduling.quota(session, institution_id, scheduling.BED_SHARE, last_day).share or None
        )
    return list(rows.values())
