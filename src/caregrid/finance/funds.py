"""Jinhua's special funds (I4): each district's fund for its group's lead, paid on the
evaluation, and the lead's share of the members' surplus growth.

"考核合格以上的，各区政府按双方签订的协议拨付区级专项资金以及各成员单位收支结余增长部分的30%作为
下沉经费给牵头医院" (JH 三(二)5). A member's surplus (收支结余) is its revenue less its
expenditure over the year (FB4 - FB5, from its books); its growth is that less the year
before's, counted only where it grew and only for a member with books in both years (a
member whose surplus fell gives nothing back). The evaluation is the one in force at the
year's end (K9), passed when its share of criteria met reaches the profile's
`special_fund_pass_share`. The city fund is shown as configured: the source sets it aside
for performance rewards without a rule for sharing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.indicators import service as indicators
from caregrid.policy import service as policy
from caregrid.registry import service as registry

REFUSAL = "a network's special funds are shown to its office and the commission"
IDS = ("FB10", "FB4", "FB5")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class MemberGrowth:
    code: str
    name: str
    surplus: Decimal | None  # the year's revenue less expenditure; None without books
    previous: Decimal | None  # the year before's
    counted: Decimal  # the growth that counts: above zero, with books in both years

    @property
    def growth(self) -> Decimal | None:
        if self.surplus is None or self.previous is None:
            return None
        return self.surplus - self.previous


@dataclass(frozen=True)
class SpecialFunds:
    network_code: str
    year: int
    district_fund: Decimal
    city_fund: Decimal | None
    share: Fraction  # of the members' surplus growth
    pass_share: Fraction
    evaluation: indicators.EvaluationInForce | None
    members: tuple[MemberGrowth, ...]

    @property
    def passed(self) -> bool:
        e = self.evaluation
        return e is not None and e.criteria > 0 and Fraction(e.met, e.criteria) >= self.pass_share

    @property
    def growth_total(self) -> Decimal:
        return sum((m.counted for m in self.members), Decimal("0.00"))

    @property
    def growth_share(self) -> Decimal:
        return _cny(self.growth_total * Decimal(self.share.numerator) / self.share.denominator)

    @property
    def to_lead(self) -> Decimal:
        """What the district pays the lead: nothing unless the evaluation is passed."""
        return self.district_fund + self.growth_share if self.passed else Decimal("0.00")


def _cny(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _surpluses(rows: list[indicators.Row]) -> dict[str, Decimal | None]:
    return {
        r.code: _cny(r.figures["FB4"].numerator - r.figures["FB5"].numerator)
        if r.figures["FB10"].numerator
        else None
        for r in rows
    }


def special_funds(
    session: Session, principal: Principal, network_code: str, year: int
) -> SpecialFunds | None:
    """The year's funds for the network's lead, or None where the profile sets no district
    fund (I4 is Jinhua's)."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    profile = policy.get(network.profile)
    year_end = date(year, 12, 31)
    fund = profile.parameter("district_special_fund_cny", year_end)
    if fund is None:
        return None
    share = profile.parameter("lead_surplus_growth_share", year_end)
    pass_share = profile.parameter("special_fund_pass_share", year_end)
    city = profile.parameter("city_special_fund_cny", year_end)
    today = clock.today()
    now = _surpluses(
        indicators.network_rows(session, network_code, IDS, indicators.year_period(year, today))
    )
    before = _surpluses(
        indicators.network_rows(session, network_code, IDS, indicators.year_period(year - 1, today))
    )
    head = registry.lead_of(session, network.id)
    lead = head.code if head else None
    members = []
    for m in sorted(network.memberships, key=lambda m: m.institution.code):
        code = m.institution.code
        if code == lead:
            continue
        surplus, previous = now.get(code), before.get(code)
        grew = None if surplus is None or previous is None else surplus - previous
        counted = grew if grew is not None and grew > 0 else Decimal("0.00")
        members.append(MemberGrowth(code, m.institution.name_zh, surplus, previous, counted))
    return SpecialFunds(
        network.code,
        year,
        _cny(fund),
        None if city is None else _cny(city),
        Fraction(str(share or 0)),  # no share set: the lead gets no part of the growth
        Fraction(str(1 if pass_share is None else pass_share)),  # no pass mark: all criteria
        indicators.evaluation_in_force(session, network.code, year_end),
        tuple(members),
    )
