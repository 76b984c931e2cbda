"""What a planner asks for and what a drawn plan reports (pages, API, CLI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A solve runs inside one request; beyond this a planner runs the CLI instead.
MAX_SECONDS = 600.0


class PlanRequest(BaseModel):
    """A planner's question: k grids, the bounds they set, and how long to search."""

    model_config = ConfigDict(extra="forbid")

    grids: int = Field(ge=1, le=1000, description="number of grids k (A3: at least the minimum)")
    population_min: int | None = Field(default=None, ge=0)
    population_max: int | None = Field(default=None, ge=1)
    # The lead's capacity: at least this many of its beds per 1,000 residents of its grid.
    beds_per_1000_min: float | None = Field(default=None, gt=0, le=1000)
    # At most this many areas change grid from today's (minimal change).
    moves_max: int | None = Field(default=None, ge=0)
    contiguous: bool = True
    profile: str | None = Field(default=None, max_length=64)
    max_seconds: float = Field(default=30.0, gt=0, le=MAX_SECONDS)

    @model_validator(mode="after")
    def _bounds(self) -> PlanRequest:
        low, high = self.population_min, self.population_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"population_min {low} is above population_max {high}")
        return self


class AreaOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    population: int
    lat: float | None
    lon: float | None
    today: str | None  # today's lead (institution code), None outside every grid
    planned: str  # the planned lead


class GridOut(BaseModel):
    lead: str
    lead_name_zh: str
    lead_name_en: str | None
    grid_code: str | None  # today's grid this one continues, when matched
    network: str | None  # today's network of that grid
    areas: list[str]
    population: int
    beds: int | None
    beds_per_1000: float | None
    mean_travel: float  # population-weighted, km or hops (PlanOut.travel_unit)
    worst_travel: float
    moved_in: int  # areas that were in another grid today


class CheckOut(BaseModel):
    requirement: str  # A1, A2, A3, or "contiguity"
    passed: bool
    detail: str


class Figures(BaseModel):
    """The same figures for the plan and for today's grids, side by side."""

    objective: float
    grids: int
    population_min: int
    population_max: int
    mean_travel: float
    worst_travel: float


class LeadChange(BaseModel):
    network: str
    old: str | None
    new: str
    shares: bool = True  # False: the network moves to a grid with none of its residents


class PlanOut(BaseModel):
    id: int | None = None
    city: str
    state: Literal["proposed", "adopted", "superseded"] = "proposed"
    based_on_version: int
    travel_unit: Literal["km", "hops"]
    outside_today: int  # areas in no grid today
    grids: list[GridOut]
    areas: list[AreaOut]
    objective: float
    lower_bound: float
    gap: float
    optimal: bool
    seconds: float
    moved: int
    checks: list[CheckOut]
    plan: Figures
    today: Figures | None
    lead_changes: list[LeadChange]  # networks whose lead the adopted plan changes


class CandidateOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    beds: int | None
    site: str  # the area it stands in
    leads_today: list[str]  # today's grids whose network it leads


class SurveyOut(BaseModel):
    """What the planner sees before asking: the city's areas, borders, candidate leads and
    today's grids, or what the layout lacks for a plan."""

    city: str
    name_zh: str
    name_en: str | None
    version: int
    travel_unit: Literal["km", "hops"] | None
    min_grids: int | None
    areas: list[AreaOut]  # `planned` is today's lead here (empty when none)
    borders: list[tuple[str, str]]
    candidates: list[CandidateOut]
    grids: dict[str, str]  # today's grid code -> its name
    refusals: list[str]  # "field: reason" for each thing missing
