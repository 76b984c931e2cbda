"""Service-package menus as data (E3, E4): the shipped starter menu, or a network's own.

A menu is a YAML document (`caregrid-packages/1`, see data/packages/starter.yaml). It is
validated as a whole, with file, line and field for every problem, before it replaces a
network's menu, so a menu is never half-saved.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caregrid import yamlio
from caregrid.errors import InvalidInput, Problem
from caregrid.familydoctor.vocab import ServiceKind
from caregrid.residents import service as residents

FORMAT = "caregrid-packages/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    min_age: int | None = Field(default=None, ge=0, le=150)
    max_age: int | None = Field(default=None, ge=0, le=150)
    sex: Literal["male", "female"] | None = None
    key_population: str | None = None

    @model_validator(mode="after")
    def _known(self) -> Eligibility:
        catalog = residents.key_population_catalog()
        known = set(catalog["derived"]) | set(catalog["declared"])
        if self.key_population is not None and self.key_population not in known:
            raise ValueError(f"unknown key population {self.key_population!r}")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        return self


class Item(_Strict):
    service: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    kind: ServiceKind
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    times_per_year: int = Field(ge=1, le=366)
    price_cny: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    insurance_share: Decimal = Field(ge=0, le=1, max_digits=4, decimal_places=3)


class Package(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1)
    eligibility: Eligibility = Eligibility()
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _services_once(self) -> Package:
        services = [i.service for i in self.items]
        if len(services) != len(set(services)):
            raise ValueError("a service appears twice in one package")
        return self


class Menu(_Strict):
    format: Literal["caregrid-packages/1"]
    packages: list[Package] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_once(self) -> Menu:
        codes = [p.code for p in self.packages]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"package codes repeated: {', '.join(repeated)}")
        return self

    def get(self, code: str) -> Package | None:
        return next((p for p in self.packages if p.code == code), None)


def parse(text: str, *, file: str) -> Menu:
    """Validate a whole menu document; InvalidInput lists every problem with its line."""
    located = yamlio.load_text(text, file)
    if not isinstance(located.data, dict):
        raise InvalidInput([Problem("(document)", "a package menu is a mapping", file)])
    return yamlio.validate(Menu, located)


@lru_cache
def starter_text() -> str:
    return resources.files("caregrid.data").joinpath("packages/starter.yaml").read_text("utf-8")


@lru_cache
def starter() -> Menu:
    return parse(starter_text(), file="data/packages/starter.yaml")
