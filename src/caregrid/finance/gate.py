"""Whether a county community may be paid as one bundle (打包) inside DIP, and why (I3).

"在已组建符合国家紧密型医共体建设评判标准的医共体且进入实质运行的县域，按规定探索推进紧密型医共体
“打包”付费" inside "DIP政策框架范围内" (GZ-C 三(六)). Four conditions, each shown with its
reason: the profile provides for bundled payment (`bundled_payment`); the year's budget pays
in-network stays by DIP points (a DIP pool); the evaluation in force (K9) meets the criteria,
its share met reaching `bundled_payment_pass_share`; and the community runs in substance,
read as its structure checks (A1-A4, A9) passing. The source names the national criteria but
CareGrid holds no catalogue of them for county communities, so a profile without
`evaluation_criteria` (Ganzhou's county profile) keeps the gate shut, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.i18n import Message, msg
from caregrid.indicators import service as indicators
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile
from caregrid.registry import checks
from caregrid.registry import service as registry

REFUSAL = "the bundled-payment gate is shown to the network's office and the commission"


@dataclass(frozen=True)
class Condition:
    name: str  # provided, inside_dip, criteria, in_substance
    met: bool
    reason: Message


@dataclass(frozen=True)
class Gate:
    network_code: str
    on: date
    conditions: tuple[Condition, ...]

    @property
    def open(self) -> bool:
        return all(c.met for c in self.conditions)


def bundled_payment(
    session: Session, principal: Principal, network_code: str, year: int, dip_pool: bool
) -> Gate | None:
    """The gate at the year's end (or today, if sooner), or None where the profile does not
    provide for bundled payment. `dip_pool`: the year's budget pays stays by DIP points."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    on = min(date(year, 12, 31), clock.today())
    profile = policy.get(network.profile)
    if not profile.parameter("bundled_payment", on):
        return None
    found = [
        Condition("provided", True, msg("the profile provides for bundled payment (GZ-C 三(六))")),
        Condition(
            "inside_dip",
            dip_pool,
            msg("the year's budget pays in-network stays by DIP points")
            if dip_pool
            else msg("the year's budget has no DIP pool: bundled payment is inside DIP"),
        ),
    ]
    pass_share = profile.parameter("bundled_payment_pass_share", on)
    found.append(_criteria(session, profile, network.code, on, pass_share))
    results = checks.run(session, network=network.code)
    failing = [r.requirement for r in results if r.status == checks.Status.FAIL]
    found.append(
        Condition(
            "in_substance",
            not failing,
            msg("structure checks failing: {failed}", failed=", ".join(failing))
            if failing
            else msg(
                "{count} structure checks (A1-A4, A9) pass or do not apply", count=len(results)
            ),
        )
    )
    return Gate(network.code, on, tuple(found))


def _criteria(
    session: Session, profile: Profile, code: str, on: date, pass_share: object
) -> Condition:
    if not profile.parameter("evaluation_criteria", on):
        return Condition(
            "criteria",
            False,
            msg("the {name} profile names no criteria to evaluate against", name=profile.name),
        )
    evaluation = indicators.evaluation_in_force(session, code, on)
    if evaluation is None or not evaluation.criteria:
        return Condition(
            "criteria", False, msg("no evaluation against the criteria on record by {on}", on=on)
        )
    needed = Fraction(str(1 if pass_share is None else pass_share))  # no pass mark: all of them
    met = Fraction(evaluation.met, evaluation.criteria) >= needed
    return Condition(
        "criteria",
        met,
        msg(
            "evaluation {period}: {met} of {criteria} criteria met, {needed}% needed",
            period=evaluation.period,
            met=evaluation.met,
            criteria=evaluation.criteria,
            needed=round(float(needed) * 100),
        ),
    )
