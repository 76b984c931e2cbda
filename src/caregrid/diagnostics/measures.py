"""Mutual-recognition and turnaround measures of a network over a period (D2, D3).

MR2 recognition rate: orders that reused a valid prior result ÷ orders that had one (reused
or repeated); MR3 cost avoided: the catalog prices of the reused items; repeats by reason;
per centre, the hours from order to signed report against the promised turnaround; and the
teleconsultations asked of the network's members, by state, with the median response time (D4).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.config import get_settings
from caregrid.diagnostics import teleconsult
from caregrid.diagnostics.models import Centre, Order, Recognition
from caregrid.diagnostics.service import turnaround
from caregrid.diagnostics.vocab import OrderState
from caregrid.policy import service as policy
from caregrid.rates import Rate
from caregrid.registry import service as registry


@dataclass
class CentreTurnaround:
    centre: str
    reports: int = 0
    within_promise: int = 0
    median_hours: float | None = None


@dataclass
class Recognitions:
    network_code: str
    year: int
    rate: Rate
    repeats_by_reason: dict[str, int] = field(default_factory=dict)
    cost_avoided_cny: Decimal = Decimal(0)
    turnaround: list[CentreTurnaround] = field(default_factory=list)
    consults: teleconsult.ConsultCounts = field(
        default_factory=lambda: teleconsult.ConsultCounts({}, None)
    )


def network_year(
    session: Session, principal: Principal, network_code: str, year: int
) -> Recognitions:
    """A calendar year in the deployment's timezone, for the network's office and the
    commission only: the figures span every member."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "these measures are for the network's office and the commission"
    )
    zone = ZoneInfo(get_settings().timezone)
    return network_period(
        session,
        network_code,
        datetime.combine(date(year, 1, 1), time.min, zone),
        datetime.combine(date(year + 1, 1, 1), time.min, zone),
    )


def network_period(
    session: Session, network_code: str, start: datetime, end: datetime
) -> Recognitions:
    """Decisions and reports in [start, end) on orders of the network's centres."""
    network = registry.get_network(session, network_code)
    profile = policy.get(network.profile)
    target: Fraction | None = profile.ratio("mutual_recognition_rate", end.date())
    centres = list(session.scalars(select(Centre).where(Centre.network_id == network.id)))
    ids = [c.id for c in centres]
    decisions = session.execute(
        select(Recognition.decision, Recognition.reason, Recognition.price_cny)
        .join(Order, Order.id == Recognition.order_id)
        .where(
            Order.centre_id.in_(ids), Recognition.decided_at >= start, Recognition.decided_at < end
        )
    ).all()
    rate = Rate(target=target)
    reasons: Counter[str] = Counter()
    avoided = Decimal(0)
    for decision, reason, price in decisions:
        rate.add(decision == "reused")
        if decision == "reused":
            avoided += price
        elif reason:
            reasons[reason] += 1
    found = Recognitions(
        network.code,
        start.year,
        rate,
        dict(sorted(reasons.items())),
        avoided,
        consults=teleconsult.counts(
            session, access.network_institution_ids(session, network.id), start, end
        ),
    )
    for centre in centres:
        promised = {i.item_code: i.turnaround_hours for i in centre.items}
        hours: list[float] = []
        within = 0
        for order in session.scalars(
            select(Order).where(
                Order.centre_id == centre.id,
                Order.state.in_([OrderState.REPORTED, OrderState.DELIVERED]),
                Order.reported_at >= start,
                Order.reported_at < end,
            )
        ):
            taken = turnaround(order, promised)
            assert taken is not None
            hours.append(taken[0])
            within += taken[1]
        found.turnaround.append(
            CentreTurnaround(
                centre.name, len(hours), within, statistics.median(hours) if hours else None
            )
        )
    return found
