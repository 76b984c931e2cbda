"""Every policy-profile parameter declared once (data/parameters.yaml): its unit, the
requirement ids it may cite, and who reads it or why nothing does yet. Loading a profile
refuses a key that is not declared and a value that does not fit its unit, so a misspelt key
cannot switch a rule off silently."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caregrid import yamlio
from caregrid.policy.schema import Parameter, Unit, as_bands, as_ratio

INTEGER_UNITS = ("count", "days", "hours", "months", "level")
NUMBER_UNITS = ("percent_points", "cny")


class Declaration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit
    requirements: list[str] = Field(min_length=1)
    read_by: list[str] = Field(default_factory=list)  # modules, or indicator:ID
    recorded: str | None = None  # why the profile states it and nothing computes it yet
    description: str | None = None  # what it means, where no requirement gives the number

    @model_validator(mode="after")
    def _read_or_recorded(self) -> Declaration:
        if bool(self.read_by) == (self.recorded is not None):
            raise ValueError("give exactly one of `read_by` or `recorded`")
        return self


class Declarations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["caregrid-parameters/1"]
    parameters: dict[str, Declaration]


@cache
def declared() -> dict[str, Declaration]:
    text = resources.files("caregrid.data").joinpath("parameters.yaml").read_text("utf-8")
    found = yamlio.validate(Declarations, yamlio.load_text(text, "data/parameters.yaml"))
    return found.parameters


def declaration(key: str) -> Declaration:
    """The declaration code reads a key by; an undeclared key is a programming error."""
    found = declared().get(key)
    if found is None:
        raise KeyError(f"no policy parameter {key!r} is declared in data/parameters.yaml")
    return found


def _fits(unit: Unit, value: object) -> str | None:
    """Why `value` is not a value of `unit`, or None when it is."""
    if unit == "ratio":
        try:
            as_ratio(value)
        except ValueError as exc:
            return str(exc)
        return None
    if unit == "bands":
        try:
            as_bands(value)
        except ValueError as exc:
            return str(exc)
        return None
    if unit in INTEGER_UNITS:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"{value!r} is not a whole number of {unit} (0 or more)"
    if unit in NUMBER_UNITS:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"{value!r} is not a number ({unit})"
    if unit == "bool":
        return None if isinstance(value, bool) else f"{value!r} is not true or false"
    if unit == "date":
        return None if isinstance(value, date) else f"{value!r} is not a date like 2025-12-31"
    return None if isinstance(value, str) else f"{value!r} is not text"


def problems(key: str, parameter: Parameter) -> list[tuple[list[str | int], str]]:
    """(path below the key, message) for every way the entry breaks its declaration."""
    found = declared().get(key)
    if found is None:
        return [([], f"unknown parameter {key!r}: not declared in data/parameters.yaml")]
    wrong: list[tuple[list[str | int], str]] = []
    if parameter.unit is not None and parameter.unit != found.unit:
        wrong.append((["unit"], f"{key} is declared in {found.unit}, not {parameter.unit}"))
    if parameter.requirement not in found.requirements:
        allowed = ", ".join(found.requirements)
        wrong.append((["requirement"], f"{key} implements {allowed}, not {parameter.requirement}"))
    if parameter.phases is None:
        values: list[tuple[list[str | int], object]] = [(["value"], parameter.value)]
    else:
        values = [(["phases", i, "value"], p.value) for i, p in enumerate(parameter.phases)]
    for path, value in values:
        why = _fits(found.unit, value)
        if why is not None:
            wrong.append((path, why))
    return wrong
