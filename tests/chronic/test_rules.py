"""The National Basic Public Health Service Standard's rules at their thresholds, and
properties over random sequences of follow-ups (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caregrid.chronic.standard import (
    Action,
    Assessment,
    Condition,
    Reading,
    Visit,
    load_standard,
)
from caregrid.errors import InvalidInput

STANDARD = load_standard()
HTN, DM = Condition.HYPERTENSION, Condition.DIABETES
DAY = date(2026, 11, 23)


def bp(sbp: int, dbp: int, *symptoms: str) -> Reading:
    return Reading(sbp=sbp, dbp=dbp, symptoms=frozenset(symptoms))


def glucose(value: str, **extra: object) -> Reading:
    return Reading(fpg=Decimal(value), **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sbp", "dbp", "expected"),
    [
        (139, 89, Assessment.CONTROLLED),
        (140, 89, Assessment.UNCONTROLLED),
        (139, 90, Assessment.UNCONTROLLED),
        (140, 90, Assessment.UNCONTROLLED),
        (179, 109, Assessment.UNCONTROLLED),
        (180, 100, Assessment.DANGER),
        (170, 110, Assessment.DANGER),
    ],
)
def test_blood_pressure_thresholds(sbp: int, dbp: int, expected: Assessment) -> None:
    assert STANDARD.assess(HTN, bp(sbp, dbp)) == expected


@pytest.mark.parametrize(
    ("fpg", "expected"),
    [
        ("6.9", Assessment.CONTROLLED),
        ("7.0", Assessment.UNCONTROLLED),
        ("16.6", Assessment.UNCONTROLLED),
        ("16.7", Assessment.DANGER),
        ("4.0", Assessment.CONTROLLED),
        ("3.9", Assessment.DANGER),
    ],
)
def test_glucose_thresholds(fpg: str, expected: Assessment) -> None:
    assert STANDARD.assess(DM, glucose(fpg)) == expected


def test_diabetes_danger_from_heart_rate_temperature_and_blood_pressure() -> None:
    assert STANDARD.assess(DM, glucose("6.0", heart_rate=100)) == Assessment.CONTROLLED
    assert STANDARD.assess(DM, glucose("6.0", heart_rate=101)) == Assessment.DANGER
    assert STANDARD.assess(DM, glucose("6.0", temperature=Decimal("39.0"))) == Assessment.CONTROLLED
    assert STANDARD.assess(DM, glucose("6.0", temperature=Decimal("39.1"))) == Assessment.DANGER
    assert STANDARD.assess(DM, glucose("6.0", sbp=180, dbp=90)) == Assessment.DANGER


def test_a_danger_symptom_alone_sends_the_patient_urgently() -> None:
    decision = STANDARD.decide(HTN, Visit(DAY, bp(128, 78, "chest_tightness")), None)
    assert (decision.action, decision.next_due) == (Action.URGENT_REFER, DAY + timedelta(days=14))
    assert any("chest tightness" in str(r) for r in decision.reasons)


def test_the_schedule_controlled_first_uncontrolled_twice_uncontrolled() -> None:
    controlled = STANDARD.decide(HTN, Visit(DAY, bp(132, 84)), None)
    assert (controlled.action, controlled.next_due) == (
        Action.NEXT_ROUTINE,
        DAY + timedelta(days=90),
    )
    first = STANDARD.decide(HTN, Visit(DAY, bp(162, 98)), Assessment.CONTROLLED)
    assert (first.action, first.next_due) == (Action.ADJUST_MEDICATION, DAY + timedelta(days=14))
    second = STANDARD.decide(HTN, Visit(DAY, bp(158, 96)), Assessment.UNCONTROLLED)
    assert (second.action, second.next_due) == (Action.REFER, DAY + timedelta(days=14))
    assert "not controlled twice in a row" in [str(r) for r in second.reasons]
    back = STANDARD.decide(HTN, Visit(DAY, bp(136, 86)), Assessment.UNCONTROLLED)
    assert back.action == Action.NEXT_ROUTINE


def test_side_effects_and_complications() -> None:
    mild = STANDARD.decide(DM, Visit(DAY, glucose("6.2"), side_effects=True), None)
    assert mild.action == Action.ADJUST_MEDICATION
    hard = STANDARD.decide(DM, Visit(DAY, glucose("6.2"), side_effects_intolerable=True), None)
    assert hard.action == Action.REFER
    worse = STANDARD.decide(HTN, Visit(DAY, bp(130, 80), new_or_worse_complication=True), None)
    assert (worse.assessment, worse.action) == (Assessment.CONTROLLED, Action.REFER)


@pytest.mark.parametrize(
    ("condition", "reading", "field"),
    [
        (HTN, bp(400, 20), "sbp"),
        (HTN, bp(120, 20), None),
        (HTN, bp(90, 95), "sbp"),
        (HTN, Reading(sbp=120), "dbp"),
        (DM, glucose("-1"), "fpg"),
        (DM, Reading(), "fpg"),
        (HTN, bp(120, 80, "hiccups"), "symptoms"),
    ],
)
def test_implausible_or_missing_values_are_refused_naming_the_field(
    condition: Condition, reading: Reading, field: str | None
) -> None:
    problems = STANDARD.check_reading(condition, reading)
    assert [p.field for p in problems][:1] == ([field] if field else [])


def test_suspected_cases_at_the_screening_threshold() -> None:
    assert not STANDARD.is_suspected(HTN, bp(139, 89))
    assert STANDARD.is_suspected(HTN, bp(140, 70))
    assert STANDARD.is_suspected(DM, glucose("7.0")) and not STANDARD.is_suspected(
        DM, glucose("6.9")
    )
    assert STANDARD.confirmation_readings(HTN) == 3
    assert STANDARD.screening_min_age(HTN) == 35 and STANDARD.min_follow_ups_per_year() == 4


def test_a_malformed_standard_file_names_the_field(tmp_path: Path) -> None:
    text = Path(__file__).parents[2] / "src/caregrid/data/standards/nbphs-3.yaml"
    broken = text.read_text("utf-8").replace(
        "routine_days: {value: 90", "routine_days: {value: ninety"
    )
    path = tmp_path / "nbphs.yaml"
    path.write_text(broken, "utf-8")
    with pytest.raises(InvalidInput) as refused:
        load_standard(path)
    assert refused.value.problems[0].field.startswith("follow_up.routine_days.value")


# --- properties over sequences -------------------------------------------------------------

readings = st.builds(
    Reading,
    sbp=st.integers(91, 260),
    dbp=st.integers(40, 90),
    symptoms=st.sets(st.sampled_from(["palpitations", "eye_pain"]), max_size=1).map(frozenset),
)
visits = st.lists(
    st.tuples(st.integers(1, 120), readings, st.booleans(), st.booleans()), min_size=1, max_size=12
)


@settings(max_examples=200, deadline=None)
@given(visits)
def test_properties_of_any_sequence_of_follow_ups(
    sequence: list[tuple[int, Reading, bool, bool]],
) -> None:
    on, previous = DAY, None
    for gap, reading, side_effects, complication in sequence:
        on += timedelta(days=gap)
        visit = Visit(
            on, reading, side_effects=side_effects, new_or_worse_complication=complication
        )
        decision = STANDARD.decide(HTN, visit, previous)
        # never without a next due date, and never more than the routine interval away
        assert on < decision.next_due <= on + timedelta(days=90)
        if decision.assessment == Assessment.DANGER:
            assert decision.action == Action.URGENT_REFER
            assert decision.next_due == on + timedelta(days=14)
        if (
            previous in (Assessment.UNCONTROLLED, Assessment.DANGER)
            and decision.assessment != Assessment.CONTROLLED
        ):
            assert decision.action in (Action.REFER, Action.URGENT_REFER)
        # the decision depends only on this visit and the previous assessment
        assert STANDARD.decide(HTN, visit, previous) == decision
        previous = decision.assessment
