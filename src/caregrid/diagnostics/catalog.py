"""The mutual-recognition item catalog as data (D3): items, their components with units and
reference ranges, prices and validity windows. Validated whole, with line and field."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caregrid import yamlio
from caregrid.diagnostics.vocab import CentreKind, ItemKind

CODE = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(_Strict):
    """One measured value of a test item (an Observation)."""

    code: str = Field(pattern=CODE)
    loinc: str | None = Field(default=None, pattern=r"^\d{1,7}-\d$")
    name_zh: str
    name_en: str
    unit: str = Field(min_length=1)
    low: Decimal
    high: Decimal

    @model_validator(mode="after")
    def _range(self) -> Component:
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


class Item(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str
    name_en: str
    kind: ItemKind
    centre: CentreKind
    category: str = Field(pattern=CODE)
    loinc: str | None = Field(default=None, pattern=r"^\d{1,7}-\d$")
    price_cny: Decimal = Field(ge=0)
    validity_days: int = Field(ge=0, le=3650)
    components: list[Component] = Field(default_factory=list)

    @model_validator(mode="after")
    def _components(self) -> Item:
        if self.kind == ItemKind.TEST and not self.components:
            raise ValueError("a test item lists its components")
        codes = [c.code for c in self.components]
        if len(codes) != len(set(codes)):
            raise ValueError("a component appears twice")
        return self

    def component(self, code: str) -> Component | None:
        return next((c for c in self.components if c.code == code), None)


class Catalog(_Strict):
    format: Literal["caregrid-recognition/1"]
    source: str
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_once(self) -> Catalog:
        codes = [i.code for i in self.items]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"item codes repeated: {', '.join(repeated)}")
        return self

    def get(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)


def parse(text: str, *, file: str) -> Catalog:
    return yamlio.validate(Catalog, yamlio.load_text(text, file))


@lru_cache
def starter() -> Catalog:
    text = resources.files("caregrid.data").joinpath("recognition/starter.yaml").read_text("utf-8")
    return parse(text, file="data/recognition/starter.yaml")
