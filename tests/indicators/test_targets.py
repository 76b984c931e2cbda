"""Values against the profile's targets at their edges: a share of exactly 1/3, a phase on its
effective day and the day before, the "+1 point a year" alternative, amber within the margin."""

from __future__ import annotations

from datetime import date
from fractions import Fraction as F

from caregrid.indicators.definitions import catalogue
from caregrid.indicators.targets import assess, target_for
from caregrid.policy import service as policy

AMBER = catalogue().amber_within_points


def test_the_reserved_slot_share_at_exactly_one_third() -> None:
    target = target_for(policy.get("jinhua"), catalogue().get("UG4"), date(2025, 6, 30))
    assert target is not None and target.value == F(1, 3) and target.due is None
    assert assess(F(100, 300), target, AMBER).state == "green"
    below = assess(F(199, 600), target, AMBER)
    assert below.state == "amber" and below.gap_points == F(-1, 6)
    assert assess(F(28, 100), target, AMBER).state == "red"  # 5.33 points short


def test_a_goal_is_shown_with_its_deadline_until_it_takes_effect() -> None:
    sichuan, mr2 = policy.get("sichuan"), catalogue().get("MR2")
    before = target_for(sichuan, mr2, date(2024, 12, 30))
    on_the_day = target_for(sichuan, mr2, date(2024, 12, 31))
    assert before is not None and before.due == date(2024, 12, 31) and before.value == 1
    assert on_the_day is not None and on_the_day.due is None and on_the_day.value == 1
    assert assess(F(99, 100), on_the_day, AMBER).state == "amber"
    assert assess(F(1), on_the_day, AMBER).state == "green"
    assert target_for(policy.get("jinhua"), mr2, date(2025, 6, 30)) is None  # no such target


def test_the_primary_visit_rate_or_one_point_a_year() -> None:
    target = target_for(policy.get("jinhua"), catalogue().get("CC3"), date(2025, 12, 31))
    assert target is not None and target.value == F(675, 1000)
    assert target.increase_points == 1 and target.due is None
    assert assess(F(675, 1000), target, AMBER).state == "green"  # exactly at the target
    risen = assess(F(665, 1000), target, AMBER, previous=F(655, 1000))  # +1.0 point
    assert risen.state == "green" and risen.met_by_increase
    short = assess(F(664, 1000), target, AMBER, previous=F(655, 1000))  # +0.9 point
    assert short.state == "amber" and not short.met_by_increase
    assert assess(None, target, AMBER).state == "grey"


def test_chronic_down_referrals_rise_ten_percent_on_a_year_earlier() -> None:
    target = target_for(policy.get("jinhua"), catalogue().get("RF6"), date(2025, 12, 31))
    assert target is not None and target.growth and target.value == F(1, 10)
    exactly = assess(F(110), target, AMBER, previous=F(100))
    assert exactly.state == "green" and exactly.gap_points == 0  # +10% on the dot
    assert assess(F(109), target, AMBER, previous=F(100)).state == "amber"  # +9%
    flat = assess(F(100), target, AMBER, previous=F(100))
    assert flat.state == "red" and flat.gap_points == -10
    assert assess(F(5), target, AMBER, previous=F(0)).state == "grey"  # nothing to rise from
    assert assess(F(5), target, AMBER).state == "grey"
