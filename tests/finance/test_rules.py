"""The budget's rules by hand at their edges (I3): bands of the surplus kept and of the
overspend the fund bears, the point value, the forecast."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from caregrid.finance import rules
from caregrid.policy.schema import as_bands

SURPLUS = as_bands({"0.05": 1, "0.1": 0.5})  # CareGrid's default in the shipped profiles
OVERSPEND = as_bands({"0.05": 0.7, "0.1": 0.5})
BUDGET = Decimal("1000000.00")


def test_a_surplus_exactly_at_a_band_edge_is_kept_whole() -> None:
    found = rules.year_result(BUDGET, Decimal("950000.00"), SURPLUS, OVERSPEND)
    assert found.result == Decimal("50000.00")
    assert [(p.amount, p.share) for p in found.parts] == [(Decimal("50000.00"), Fraction(1))]
    assert (found.network, found.fund) == (Decimal("50000.00"), Decimal("0.00"))


def test_one_fen_past_the_edge_falls_in_the_next_band() -> None:
    found = rules.year_result(BUDGET, Decimal("949999.98"), SURPLUS, OVERSPEND)
    assert [p.amount for p in found.parts] == [Decimal("50000.00"), Decimal("0.02")]
    assert found.network == Decimal("50000.01")
    assert found.fund == Decimal("0.01")


def test_an_overspend_split_across_bands() -> None:
    # 80,000 over: the first 50,000 (5%) at 70% borne by the fund, the next 30,000 at 50%.
    found = rules.year_result(BUDGET, Decimal("1080000.00"), SURPLUS, OVERSPEND)
    assert found.result == Decimal("-80000.00")
    assert [(p.amount, p.shared) for p in found.parts] == [
        (Decimal("50000.00"), Decimal("35000.00")),
        (Decimal("30000.00"), Decimal("15000.00")),
    ]
    assert (found.fund, found.network) == (Decimal("50000.00"), Decimal("-30000.00"))


def test_an_overspend_past_the_last_band_is_the_networks_alone() -> None:
    found = rules.year_result(BUDGET, Decimal("1150000.00"), SURPLUS, OVERSPEND)
    assert found.parts[-1].high is None and found.parts[-1].amount == Decimal("50000.00")
    assert (found.fund, found.network) == (Decimal("60000.00"), Decimal("-90000.00"))


def test_point_value_and_forecast() -> None:
    assert rules.point_value(Decimal("31000.00"), Decimal("5670")) == Fraction(31000, 5670)
    assert rules.point_value(Decimal("31000.00"), Decimal("0")) is None
    assert rules.forecast(Decimal("34800.00"), 31, 365) == Decimal("409741.94")
    with pytest.raises(ValueError):
        rules.forecast(Decimal("1"), 0, 365)


@pytest.mark.parametrize(
    ("bands", "why"),
    [({}, "mapping"), ({"0": 1}, "above 0"), ({"0.05": 1.5}, "between 0 and 1"), (3, "mapping")],
)
def test_bad_bands_are_refused(bands: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        as_bands(bands)
