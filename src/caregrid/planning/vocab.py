"""Grid-plan vocabulary: a plan is proposed, then adopted as the city's grids or superseded by
another plan's adoption."""

from __future__ import annotations

from enum import StrEnum


class PlanState(StrEnum):
    PROPOSED = "proposed"
    ADOPTED = "adopted"
    SUPERSEDED = "superseded"
