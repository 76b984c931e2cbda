"""REST API of the indicators: a network's (or one member's) year, as the cockpit shows it,
for other systems and for the statistics sent back to members (J8, J9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caregrid import clock
from caregrid.indicators import cockpit
from caregrid.web.deps import DB, User, Year

router = APIRouter(prefix="/api", tags=["indicators"])


class IndicatorValueOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    evidence: str
    numerator: float
    denominator: float | None
    value: float | None  # × the indicator's factor (percent for ratios)
    target: float | None  # percent: the share to reach, or the rise on a year earlier
    target_kind: str | None  # level | growth
    target_due: str | None
    state: str
    gap_points: float | None
    trend: list[tuple[str, float | None]]


class IndicatorsOut(BaseModel):
    network: str
    unit: str
    year: int
    indicators: list[IndicatorValueOut]


@router.get("/networks/{code}/indicators", response_model=IndicatorsOut)
def network_indicators(
    code: str,
    session: DB,
    user: User,
    year: Year = None,
    member: Annotated[str | None, Query(description="a member's code: its own figures")] = None,
) -> IndicatorsOut:
    """A member's account gets its own institution's figures whatever it asks (J9)."""
    chosen = year or cockpit.latest_year(cockpit.facts_root()) or clock.today().year
    screen = cockpit.build(session, user, code, chosen, member=member)
    return IndicatorsOut(
        network=code,
        unit=screen.unit,
        year=chosen,
        indicators=[
            IndicatorValueOut(
                id=t.indicator.id,
                name_zh=t.indicator.name_zh,
                name_en=t.indicator.name_en,
                evidence=t.indicator.evidence.value,
                numerator=t.numerator,
                denominator=t.denominator,
                value=t.shown,
                target=None
                if t.assessment.target is None
                else float(t.assessment.target.value * t.assessment.target.scale),
                target_kind=None
                if t.assessment.target is None
                else ("growth" if t.assessment.target.growth else "level"),
                target_due=None
                if t.assessment.target is None or t.assessment.target.due is None
                else t.assessment.target.due.isoformat(),
                state=t.assessment.state,
                gap_points=None
                if t.assessment.gap_points is None
                else float(t.assessment.gap_points),
                trend=t.trend,
            )
            for t in screen.tiles
        ],
    )
