"""The DIP points table (按病种分值付费): each disease group's points, shipped as data
(data/dip/points.yaml) with its source and evidence, checked when loaded."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caregrid import yamlio
from caregrid.finance.vocab import Treatment


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Strict):
    code: str = Field(min_length=1)
    category: str = Field(pattern=r"^[A-Z][0-9]{2}$")  # the principal diagnosis's ICD-10 category
    treatment: Treatment
    name_zh: str
    points: Decimal = Field(gt=0)


class Table(_Strict):
    format: Literal["caregrid-dip/1"]
    name: str
    evidence: Literal["verified", "likely", "ours"]
    source: str
    groups: list[Group] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Table:
        seen: set[str] = set()
        pairs: set[tuple[str, Treatment]] = set()
        for group in self.groups:
            if group.code in seen:
                raise ValueError(f"group {group.code} is listed twice")
            if (group.category, group.treatment) in pairs:
                raise ValueError(f"{group.category} {group.treatment} has two groups")
            seen.add(group.code)
            pairs.add((group.category, group.treatment))
        return self

    def points(self) -> dict[str, Decimal]:
        return {g.code: g.points for g in self.groups}

    def group_for(self, diagnosis_code: str, treatment: Treatment) -> str | None:
        """The group of a stay by its principal diagnosis and treatment, if the table has it."""
        category = diagnosis_code[:3]
        return next(
            (g.code for g in self.groups if g.category == category and g.treatment == treatment),
            None,
        )


def parse(text: str, file: str) -> Table:
    return yamlio.validate(Table, yamlio.load_text(text, file))


@cache
def shipped() -> Table:
    path = "dip/points.yaml"
    return parse(resources.files("caregrid.data").joinpath(path).read_text("utf-8"), path)
