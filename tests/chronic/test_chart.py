"""The readings chart draws the standard's control targets, not numbers of its own (F1)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from caregrid.chronic.models import Visit
from caregrid.chronic.pages import readings_chart
from caregrid.chronic.standard import Condition, load_standard


def _visits() -> list[Visit]:
    return [
        Visit(condition="hypertension", visited_on=date(2026, 1, 5), sbp=150, dbp=95),
        Visit(condition="hypertension", visited_on=date(2026, 2, 5), sbp=136, dbp=84),
        Visit(condition="diabetes", visited_on=date(2026, 1, 5), fpg=Decimal("8.1")),
    ]


def _target_labels(svg: str) -> list[str]:
    return re.findall(r'<line class="target"[^>]*/><text [^>]*>([^<]+)</text>', svg)


def test_the_chart_draws_the_shipped_standards_targets() -> None:
    assert _target_labels(str(readings_chart(_visits(), Condition.HYPERTENSION))) == ["140", "90"]
    assert _target_labels(str(readings_chart(_visits(), Condition.DIABETES))) == ["7.0"]


def test_another_standard_moves_the_target_lines() -> None:
    shipped = load_standard()
    rules = shipped.rules(Condition.HYPERTENSION)
    stricter = shipped.model_copy(update={"conditions": {
        **shipped.conditions,
        Condition.HYPERTENSION: rules.model_copy(update={
            "controlled": rules.controlled.model_copy(update={"sbp_below": 130, "dbp_below": 80})
        }),
    }})  # fmt: skip
    svg = str(readings_chart(_visits(), Condition.HYPERTENSION, stricter))
    assert _target_labels(svg) == ["130", "80"]
