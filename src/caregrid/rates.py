"""A rate with its parts and the profile's target, compared exactly (40% of 5 is 2/5)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pydantic import BaseModel


@dataclass
class Rate:
    numerator: int = 0
    denominator: int = 0
    target: Fraction | None = None

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.denominator == 0:
            return None
        return Fraction(self.numerator, self.denominator) >= self.target

    def add(self, hit: bool) -> None:
        self.denominator += 1
        self.numerator += int(hit)

    def plus(self, other: Rate) -> Rate:
        return Rate(
            self.numerator + other.numerator, self.denominator + other.denominator, self.target
        )


class RateOut(BaseModel):
    numerator: int
    denominator: int
    value: float | None
    target: float | None
    meets_target: bool | None

    @classmethod
    def of(cls, rate: Rate) -> RateOut:
        return cls(
            numerator=rate.numerator,
            denominator=rate.denominator,
            value=rate.value,
            target=float(rate.target) if rate.target is not None else None,
            meets_target=rate.meets_target,
        )
