"""One definition of a hypertension or diabetes patient and of "controlled": the family-doctor
measures API and the engine over the workflows' collected facts give the same control rate
(a reading at target with a danger symptom is not controlled in either), and the catalogue's
condition() filters are the national standard's ICD-10 categories."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.export import export
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, ReadingIn
from caregrid.chronic.standard import Condition, load_standard
from caregrid.familydoctor.api import network_measures
from caregrid.indicators import service
from caregrid.indicators.definitions import DefinitionError, parse, shipped
from tests.world import SHANGHAI, World, build

LATE_DECEMBER = datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
UNIT = "jh-wc-chengdong"


def test_a_danger_symptom_at_target_is_not_controlled_on_the_page_or_in_the_engine(
    session: Session, tmp_path: Path
) -> None:
    with clock.frozen(LATE_DECEMBER):
        world: World = build(session)
        readings = {
            world.patient: ReadingIn(sbp=130, dbp=80, symptoms=["severe_headache_dizziness"]),
            world.unsigned_patient: ReadingIn(sbp=130, dbp=80),
        }
        for resident_id, reading in readings.items():
            chronic.enrol(
                session,
                world.community_doctor,
                EnrolIn(
                    resident_id=resident_id,
                    condition=Condition.HYPERTENSION,
                    confirmed_on=date(2025, 6, 1),
                ),
            )
            chronic.record_follow_up(
                session,
                world.community_doctor,
                FollowUpIn(
                    resident_id=resident_id,
                    condition=Condition.HYPERTENSION,
                    visited_on=date(2026, 11, 1),
                    reading=reading,
                ),
            )
        page = network_measures(session, world.office, "jh-rmyy-wucheng", 2026)
        row = next(r for r in page.rows if r.institution_code == UNIT)
        on_page = row.figures["CD2"]
        workflow.collect(session, LATE_DECEMBER.date())
    export(session, tmp_path)
    cells = service.compute(session, ("2026-01", "2026-12"), facts_root=tmp_path)
    engine = next(c for c in cells if (c.indicator, c.unit) == ("CD2", UNIT))
    assert (on_page.numerator, on_page.denominator) == (1, 2)
    assert (engine.numerator, engine.denominator) == (1, 2)


def test_the_standard_says_who_is_a_patient() -> None:
    standard = load_standard()
    assert standard.condition_of("I10") is Condition.HYPERTENSION
    assert standard.condition_of("i11.9") is Condition.HYPERTENSION  # hypertensive heart disease
    assert standard.condition_of("I15.0") is None  # secondary hypertension: not the standard's
    assert standard.condition_of("E11.9") is Condition.DIABETES
    assert standard.condition_of("E10.9") is None  # type 1 diabetes
    assert standard.icd10_prefixes(Condition.DIABETES) == ("E11",)


def test_the_catalogue_counts_the_standards_patients() -> None:
    cd7 = next(i for i in shipped() if i.id == "CD7")
    sql = cd7.denominator.filter_sql("postgres") if cd7.denominator else ""
    for prefix in load_standard().icd10_prefixes():
        assert f"diagnosis_code LIKE '{prefix}%'" in sql
    assert "I15" not in sql


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("condition(diagnosis_code, 'asthma')", "no condition 'asthma'; known: hypertension"),
        ("condition(diagnosis_code)", "condition() takes a field and a condition's name"),
        ("condition('I10', 'hypertension')", "condition() takes a field and a condition's name"),
    ],
)
def test_a_bad_condition_filter_is_refused_where_it_is_written(where: str, message: str) -> None:
    text = (
        "indicators:\n  - id: X1\n    name_zh: x\n    name_en: x\n    evidence: ours\n"
        f'    source: s\n    numerator: {{fact: encounter, where: "{where}"}}\n'
    )
    with pytest.raises(DefinitionError, match=r"X1\.numerator") as raised:
        parse(text)
    assert message in str(raised.value)
