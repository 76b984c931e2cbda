"""A value against the network's profile target at a date (K3, K7): phased targets, goals not
yet due ("67.5% by the end of 2025"), the "+1 point a year" alternative, a rise on
a year earlier ("+10% a year", or "rises every year": more than 0), and a red/amber/green
state with the gap.

Green: the target is met (or the yearly increase is). Amber: not met, but within the
catalogue's `amber_within_points` of it. Red: further off. Grey: no target to compare with.
A level or count of the lowest member (J5's EMR levels, K6's disease types) is compared as it
is, its gap in levels or types and never amber.
Values are exact fractions, so a share of exactly 1/3 meets a 1/3 target; a profile's strict
comparison (`>`, `<`) is not met on the dot, so a rise of zero is no rise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Literal

from caregrid.indicators.definitions import Indicator
from caregrid.policy.schema import Profile, as_ratio

State = Literal["green", "amber", "red", "grey"]


@dataclass(frozen=True)
class Target:
    value: Fraction
    at_least: bool  # the profile's comparison: >= (True) or <=
    due: date | None  # a goal whose deadline is after the date asked about
    increase_points: Fraction | None  # the alternative: this many points above last year
    parameter: str
    growth: bool = False  # `value` is a rise on the same months a year earlier (0.10: +10%)
    strict: bool = False  # `>` or `<`: the value itself does not meet it
    scale: int = 100  # points per unit of `value`: 100 for a share, 1 for a level or count
    increase_strict: bool = False  # the yearly increase must exceed increase_points


@dataclass(frozen=True)
class Assessment:
    state: State
    target: Target | None
    gap_points: Fraction | None  # value minus target in percentage points; + is better
    met_by_increase: bool = False


def target_for(profile: Profile, indicator: Indicator, on: date) -> Target | None:
    """The target in force on `on`; failing that, the next phase, marked with its deadline."""
    parameter = indicator.target or indicator.target_growth
    if parameter is None:
        return None
    entry = profile.parameters.get(parameter)
    if entry is None:
        return None
    value, due = entry.at(on), None
    if value is None:
        upcoming = entry.next_phase(on)
        if upcoming is None:
            return None
        value, due = upcoming.value, upcoming.effective
    increase, increase_strict = None, False
    if indicator.target_increase:
        extra = profile.parameters.get(indicator.target_increase)
        raw = None if extra is None else extra.at(due or on)
        increase = None if raw is None else Fraction(str(raw))
        increase_strict = extra is not None and extra.comparison == ">"
    lowest = indicator.roll_up == "min"  # a level or count of the lowest member, not a share
    return Target(
        Fraction(str(value)) if lowest else as_ratio(value),
        entry.comparison not in ("<=", "<"),
        due,
        increase,
        parameter,
        growth=indicator.target_growth is not None,
        strict=entry.comparison in (">", "<"),
        increase_strict=increase is not None and increase_strict,
        scale=1 if lowest else 100,
    )


def assess(
    value: Fraction | None,
    target: Target | None,
    amber_within_points: Fraction,
    previous: Fraction | None = None,
) -> Assessment:
    """`previous`: the same indicator a year earlier, for the yearly-increase alternative."""
    if value is None or target is None:
        return Assessment("grey", target, None)
    if target.growth:
        if not previous:  # nothing a year earlier to rise from
            return Assessment("grey", target, None)
        value = value / previous - 1
    sign = 1 if target.at_least else -1
    gap = (value - target.value) * target.scale * sign
    if gap > 0 or (gap == 0 and not target.strict):
        return Assessment("green", target, gap)
    if not target.growth and target.increase_points is not None and previous is not None:
        rise = (value - previous) * target.scale * sign
        if rise > target.increase_points or (
            rise == target.increase_points and not target.increase_strict
        ):
            return Assessment("green", target, gap, met_by_increase=True)
    margin = amber_within_points if target.scale == 100 else 0  # no "nearly" level 3
    return Assessment("amber" if -gap <= margin else "red", target, gap)
