"""API shapes of indicator figures, as the measures pages' APIs return them."""

from __future__ import annotations

from pydantic import BaseModel

from caregrid.indicators.service import Figure


class FigureOut(BaseModel):
    """An indicator's parts for one unit; `value` is numerator ÷ denominator (a count's
    numerator) and `target` is on the same scale (0.4 for 40%); `state` is green, amber, red
    or grey (no target); `previous` is a count's numerator a year earlier."""

    indicator: str
    name_zh: str
    name_en: str
    numerator: float
    denominator: float | None
    value: float | None
    target: float | None
    meets_target: bool | None
    state: str
    previous: float | None = None
    growth: float | None = None

    @classmethod
    def of(cls, figure: Figure) -> FigureOut:
        target = figure.assessment.target
        state = figure.assessment.state
        return cls(
            indicator=figure.indicator.id,
            name_zh=figure.indicator.name_zh,
            name_en=figure.indicator.name_en,
            numerator=figure.numerator,
            denominator=figure.denominator,
            value=figure.value,
            target=None if target is None else float(target.value),
            meets_target=None if state == "grey" else state == "green",
            state=state,
            previous=figure.previous,
            growth=figure.growth,
        )
