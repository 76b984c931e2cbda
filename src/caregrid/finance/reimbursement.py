"""What the fund reimburses where (JH 8.2, E6) and the year's closed settlements (I3, B7), as
the budget page shows them beside the budget: every figure an indicator over the claims and
the settlement facts.

Differentiated reimbursement (医保差异化报销, JH 8.2) steers the insured to primary care by
paying a larger share of the cost there. The source names no rates, so where the profile
sets `differentiated_reimbursement` the check is the order: the share of cost reimbursed at
the network's primary members (FR1) above its secondary (FR2) above its tertiary (FR3), over
the tiers the network has claims at. Where the profile sets
`outpatient_pooled_reimbursement_anywhere` (E6), every outpatient claim of the grid's
residents at a designated institution elsewhere in the county should have been paid by the
pool (FE1 at 100%); the claims it was not are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.indicators import service as indicators
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level

REFUSAL = "a network's reimbursement figures are shown to its office and the commission"
TIERS = (("FR1", Level.PRIMARY), ("FR2", Level.SECONDARY), ("FR3", Level.TERTIARY))
POOLED = "FE1"
SETTLED = ("FS1", "FS2", "FS3", "FS4")


@dataclass(frozen=True)
class Tier:
    level: Level
    figure: indicators.Figure  # insurance paid over total cost at the network's members


@dataclass(frozen=True)
class Reimbursement:
    network_code: str
    year: int
    differentiated: bool  # the profile sets JH 8.2's differentiated reimbursement
    tiers: tuple[Tier, ...]
    pooled_anywhere: bool  # the profile sets E6
    pooled: indicators.Figure  # FE1
    settled: dict[str, indicators.Figure]  # FS1-FS4 over the year's closed periods

    @property
    def compared(self) -> tuple[Tier, ...]:
        """The tiers with claims, primary first: those the order is checked over."""
        return tuple(t for t in self.tiers if t.figure.value is not None)

    @property
    def steers(self) -> bool | None:
        """Each tier with claims reimburses a larger share than the one above it; None with
        fewer than two tiers to compare."""
        rates = [t.figure.value or 0.0 for t in self.compared]
        if len(rates) < 2:
            return None
        return all(a > b for a, b in pairwise(rates))

    @property
    def unpaid(self) -> int:
        """Outpatient claims elsewhere in the county the pool paid nothing on."""
        denominator = self.pooled.denominator or 0
        return round(denominator - self.pooled.numerator)


def reimbursement(
    session: Session, principal: Principal, network_code: str, year: int
) -> Reimbursement:
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    profile = policy.get(network.profile)
    on = min(clock.today(), date(year, 12, 31))
    ids = (*(i for i, _ in TIERS), POOLED, *SETTLED)
    period = indicators.year_period(year, clock.today())
    total = next(
        r for r in indicators.network_rows(session, network.code, ids, period)
        if r.code == network.code
    )  # fmt: skip
    return Reimbursement(
        network.code,
        year,
        bool(profile.parameter("differentiated_reimbursement", on)),
        tuple(Tier(level, total.figures[i]) for i, level in TIERS),
        bool(profile.parameter("outpatient_pooled_reimbursement_anywhere", on)),
        total.figures[POOLED],
        {i: total.figures[i] for i in SETTLED},
    )
