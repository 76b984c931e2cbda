"""The facility, roster and evaluation indicators (A10, B9, F5, F7, F8, H5, J5, K6) on a set
of 2026 facts computed by hand, each at its rule's edge: exactly the profile's share, a rise of
zero. DuckDB over the exported Parquet and, in the PostgreSQL pass, PostgreSQL on the store
give the same cells. A lowest-member indicator (J5, K6) takes the network's weakest member."""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction as F
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.export import export
from caregrid.activity.facts import fact
from caregrid.activity.importer import FactsRejected, import_file
from caregrid.config import get_settings
from caregrid.indicators import service
from caregrid.indicators.definitions import DefinitionError, catalogue, parse
from caregrid.indicators.engine import Cell
from caregrid.indicators.targets import assess, target_for
from caregrid.policy import service as policy
from tests.conftest import bearer
from tests.indicators.conftest import JD_MEMBER, JINDONG, LEAD, NET, PRIMARY, _write
from tests.world import NOW, build

SECONDARY = "jh-wc-rmyy"  # the Wucheng district hospital, a member of NET
PRIMARIES = ("jh-wc-chengdong", "jh-wc-chengzhong", "jh-wc-chengxi", "jh-wc-chengbei",
             "jh-wc-xinshi")  # fmt: skip
YEAR = ("2026-01", "2026-12")
LABEL = "2026-01..2026-12"
AMBER = catalogue().amber_within_points
IDS = ("VC1", "VC2", "F5", "F7", "TC1", "BT1", "K6", "RF24", "RF25", "EM1", "EM2", "DT1", "DT2")
CITY, OTHER_LEAD = "jinhua", "jh-zxyy"  # the city; the tertiary lead of Jindong's group

ROSTER = [  # staff, roster date, finished the standardised training on (SC 6)
    ("b1", "2026-12-31", "2025-05-01"),  # in an earlier year: still trained
    ("b2", "2026-12-31", "2026-12-31"),  # on the period's last day
    ("b3", "2026-12-31", "2026-03-01"),
    ("b4", "2026-12-31", "2026-07-01"),
    ("b5", "2026-12-31", "2027-01-02"),  # after the period
    ("b6", "2025-12-31", "2025-06-01"),  # last year's roster only
]
WARDS = [  # institution, ward, continuing nursing, as of: 4 of the secondary's 5 give it
    *[(SECONDARY, f"w{n}", "true" if n < 5 else "false", "2026-12-31") for n in range(1, 6)],
    (PRIMARY, "w1", "true", "2026-12-31"),  # a primary ward is not counted
    (SECONDARY, "w9", "true", "2025-12-31"),  # last year's list
]
REPORTS = [  # institution, TCM hall, EMR level, as of
    (PRIMARY, "true", "", "2026-12-31"),
    ("jh-wc-chengzhong", "false", "", "2026-12-31"),
    (LEAD, "true", "5", "2026-12-31"),  # the tertiary lead is not counted for TCM halls
    (JD_MEMBER, "true", "", "2026-12-31"),  # Jindong's group
    (SECONDARY, "false", "2", "2026-06-30"),
    (SECONDARY, "false", "3", "2026-12-31"),  # rated up in the year: 3, exactly Sichuan's
    (OTHER_LEAD, "false", "4", "2026-12-31"),
]
VILLAGES = [  # village, clinic, publicly built, standardised: 4 of 5 clinics standardised
    ("v1", "c1", "true", "true"),
    ("v2", "c2", "false", "true"),  # standardised, not publicly built
    ("v3", "c3", "true", "false"),
    ("v4", "", "", ""),  # no clinic: a village, not a clinic
    ("v5", "c5", "true", "true"),
    ("v6", "c6", "true", "true"),
]
EVALUATIONS = [  # institution, evaluated on, score, full marks
    (PRIMARY, "2026-06-30", "44", "50"),
    (PRIMARY, "2026-12-31", "46", "50"),  # 90 of 100 over the year: exactly 90%
    ("jh-wc-chengzhong", "2026-12-31", "80", "100"),
]
ADMITTING = PRIMARIES[:3]  # 3 of the 5 primary members admit: exactly 60%


@pytest.fixture
def facilities(session: Session, tmp_path: Path) -> Path:
    encounter_header = [
        "encounter_id", "institution_code", "department_code", "patient_id",
        "home_division_code", "kind", "date", "diagnosis_code", "other_diagnosis_codes",
        "surgery_level", "drg_weight", "total_cost_cny", "insurance_paid_cny",
        "insured_division_code", "referral_id",
    ]  # fmt: skip

    def encounter(i: str, inst: str, kind: str, day: str, referral: str = "") -> tuple[str, ...]:
        return (i, inst, "", "P1", "330702-chengdong", kind, day, "J18.9", "", "", "", "0",
                "0", "", referral)  # fmt: skip

    encounters = [
        *[encounter(f"k{n}", code, "outpatient", "2026-03-02") for n, code in enumerate(PRIMARIES)],
        # disease types: J18.0 is J18.9's category; I10 another, at the community centre only
        (
            *encounter("o1", PRIMARY, "outpatient", "2026-05-02")[:7],
            "J18.0",
            *encounter("o1", PRIMARY, "outpatient", "2026-05-02")[8:],
        ),
        (
            *encounter("o2", PRIMARY, "outpatient", "2026-05-03")[:7],
            "I10",
            *encounter("o2", PRIMARY, "outpatient", "2026-05-03")[8:],
        ),
        encounter("x1", PRIMARY, "discharge", "2026-05-04"),
        (
            *encounter("x2", PRIMARY, "discharge", "2026-05-05")[:7],
            "I10",
            *encounter("x2", PRIMARY, "discharge", "2026-05-05")[8:],
        ),
        *[encounter(f"a{n}", code, "admission", "2026-03-03") for n, code in enumerate(ADMITTING)],
        encounter("a9", PRIMARY, "admission", "2025-03-03"),  # a year earlier
        encounter("m1", LEAD, "admission", "2026-04-02", "r1"),
        encounter("m2", LEAD, "admission", "2026-04-03"),  # not referred
        encounter("m3", SECONDARY, "admission", "2026-04-04", "r2"),  # not tertiary
    ]
    files = {
        "encounter": _write(tmp_path / "enc.csv", encounter_header, encounters),
        "referral": _write(
            tmp_path / "ref.csv",
            ["referral_id", "from_institution_code", "to_institution_code", "direction",
             "patient_id", "diagnosis_code", "date", "state", "closed_loop"],
            [("d1", LEAD, PRIMARY, "down", "P1", "J18.9", "2026-04-10", "completed", ""),
             ("d2", LEAD, PRIMARY, "down", "P1", "J18.9", "2026-04-11", "sent", ""),
             ("d3", SECONDARY, PRIMARY, "down", "P1", "J18.9", "2026-04-12", "sent", "")],
        ),
        "backbone_training": _write(
            tmp_path / "roster.csv",
            ["institution_code", "staff_id", "as_of", "trained_on"],
            [(PRIMARY, *row) for row in ROSTER],
        ),
        "ward": _write(
            tmp_path / "wards.csv",
            ["institution_code", "ward_id", "continuing_nursing", "as_of"],
            WARDS,
        ),
        "institution_report": _write(
            tmp_path / "reports.csv", ["institution_code", "tcm_hall", "emr_level", "as_of"],
            REPORTS,
        ),
        "village_clinic": _write(
            tmp_path / "villages.csv",
            ["village_code", "institution_code", "clinic_code", "publicly_built",
             "standardised", "as_of"],
            [(v, PRIMARY, c, public, std, "2026-12-31") for v, c, public, std in VILLAGES]
            + [("v7", PRIMARY, "c7", "true", "true", "2025-12-31")],  # last year's register
        ),
        "public_health_evaluation": _write(
            tmp_path / "evaluations.csv",
            ["institution_code", "evaluated_on", "score", "full_score"],
            EVALUATIONS,
        ),
    }  # fmt: skip
    for name, path in files.items():
        report = import_file(session, path, fact(name))
        assert report.errors == [], (name, report.errors)
    root = tmp_path / "facts"
    export(session, root)
    return root


def _at(cells: list[Cell], indicator: str, month: str, unit: str) -> tuple[float, float | None]:
    found = [c for c in cells if (c.indicator, c.month, c.unit) == (indicator, month, unit)]
    assert len(found) == 1, (indicator, month, unit, found)
    return found[0].numerator, found[0].denominator


def _cells(session: Session, root: Path) -> list[list[Cell]]:
    """The cells on DuckDB, and on PostgreSQL too in the PostgreSQL pass."""
    chosen = tuple(catalogue().get(i) for i in IDS)
    found = [service.compute(session, YEAR, facts_root=root, indicators=chosen)]
    if session.get_bind().dialect.name == "postgresql":
        found.append(service.compute(session, YEAR, using="postgres", indicators=chosen))
    return found


def test_the_facility_indicators_by_hand(session: Session, facilities: Path) -> None:
    engines = _cells(session, facilities)
    for cells in engines:
        assert _at(cells, "VC1", LABEL, PRIMARY) == (4, 5)  # c1, c2, c5, c6 of five clinics
        assert _at(cells, "VC2", LABEL, NET) == (3, 6)  # v1, v5, v6; v2 is not public
        assert _at(cells, "F7", LABEL, SECONDARY) == (4, 5)
        assert _at(cells, "F7", LABEL, NET) == (4, 5)  # the primary's ward is left out
        assert _at(cells, "TC1", LABEL, NET) == (1, 3)  # of 3 below tertiary; not the lead
        assert _at(cells, "TC1", LABEL, JINDONG) == (1, 1)
        assert _at(cells, "BT1", LABEL, PRIMARY) == (4, 5)  # b5 finished after the period
        assert _at(cells, "K6", LABEL, NET) == (3, 5)
        assert _at(cells, "K6", LABEL, PRIMARY) == (1, 1)
        assert _at(cells, "F5", "2026-06", PRIMARY) == (44, 50)
        assert _at(cells, "F5", "2026-12", NET) == (126, 150)  # 46 + 80 of 50 + 100
        assert _at(cells, "RF24", "2026-04", LEAD) == (1, None)  # m1; m3 is secondary
        assert _at(cells, "RF25", "2026-04", NET) == (2, None)  # the lead's d1, d2
        assert not [c for c in cells if c.indicator == "RF24" and c.unit == SECONDARY]
        assert _at(cells, "EM1", LABEL, SECONDARY) == (3, None)  # its highest level of the year
        assert _at(cells, "EM1", LABEL, NET) == (3, None)
        assert _at(cells, "EM2", LABEL, NET) == (5, None)
        assert _at(cells, "EM2", LABEL, CITY) == (4, None)  # the lowest of 5 and 4, not 9
        assert _at(cells, "DT1", LABEL, PRIMARY) == (2, None)  # J18 and I10
        assert _at(cells, "DT1", LABEL, NET) == (1, None)  # the other primary members' one
        assert _at(cells, "DT2", LABEL, NET) == (2, None)  # only one member discharges
    assert all(sorted(cells, key=repr) == sorted(engines[0], key=repr) for cells in engines)


@pytest.mark.parametrize(
    ("profile", "indicator", "on", "value", "state"),
    [
        ("jinhua", "VC1", date(2026, 12, 31), F(4, 5), "green"),  # exactly 80%
        ("jinhua", "VC1", date(2026, 12, 31), F(79, 100), "amber"),
        ("ganzhou-county", "VC2", date(2026, 12, 31), F(1), "green"),  # every village
        ("ganzhou-county", "VC2", date(2026, 12, 31), F(94, 100), "red"),
        ("sichuan", "F7", date(2024, 12, 31), F(4, 5), "green"),  # 80% on its day
        ("sichuan", "F7", date(2025, 12, 31), F(4, 5), "red"),  # 90% a year later
        ("sichuan", "BT1", date(2024, 12, 31), F(4, 5), "green"),
        ("sichuan", "BT1", date(2025, 12, 31), F(99, 100), "amber"),  # 100% by end of 2025
        ("jinhua", "TC1", date(2026, 12, 31), F(1), "green"),  # every member
        ("jinhua", "TC1", date(2026, 12, 31), F(1, 2), "red"),
        ("jinhua", "K6", date(2026, 12, 31), F(3, 5), "green"),  # exactly 60%
        ("jinhua", "K6", date(2026, 12, 31), F(2, 5), "red"),
        ("jinhua", "F5", date(2026, 12, 31), F(9, 10), "green"),  # exactly 90%
        ("sichuan", "EM1", date(2024, 12, 31), F(3), "green"),  # level 3 on the day
        ("sichuan", "EM1", date(2024, 12, 31), F(2), "red"),  # one level short: never amber
        ("sichuan", "EM2", date(2024, 12, 31), F(4), "green"),
        ("jinhua", "DT1", date(2026, 12, 31), F(200), "green"),  # exactly 200 types
        ("jinhua", "DT1", date(2026, 12, 31), F(199), "red"),
        ("jinhua", "DT2", date(2026, 12, 31), F(100), "green"),
    ],
)
def test_targets_at_their_edges(
    profile: str, indicator: str, on: date, value: F, state: str
) -> None:
    target = target_for(policy.get(profile), catalogue().get(indicator), on)
    assert target is not None and target.due is None
    assert assess(value, target, AMBER).state == state


def test_a_public_health_score_below_90_is_met_only_by_a_rise() -> None:
    target = target_for(policy.get("jinhua"), catalogue().get("F5"), date(2026, 12, 31))
    assert target is not None and target.increase_points == 0 and target.increase_strict
    risen = assess(F(85, 100), target, AMBER, previous=F(84, 100))
    assert risen.state == "green" and risen.met_by_increase
    flat = assess(F(85, 100), target, AMBER, previous=F(85, 100))  # a rise of zero is none
    assert flat.state == "amber" and not flat.met_by_increase
    assert assess(F(80, 100), target, AMBER, previous=F(85, 100)).state == "red"


@pytest.mark.parametrize("indicator", ["RF24", "RF25"])
def test_the_leads_referrals_rise_every_year(indicator: str) -> None:
    target = target_for(policy.get("sichuan"), catalogue().get(indicator), date(2026, 12, 31))
    assert target is not None and target.growth and target.value == 0 and target.strict
    assert assess(F(101), target, AMBER, previous=F(100)).state == "green"
    flat = assess(F(100), target, AMBER, previous=F(100))  # the same as a year earlier
    assert flat.state == "amber" and flat.gap_points == 0
    assert assess(F(90), target, AMBER, previous=F(100)).state == "red"  # 10% down
    assert target_for(policy.get("jinhua"), catalogue().get(indicator), date(2026, 12, 31)) is None


def test_a_score_above_its_full_marks_is_refused(session: Session, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "evaluations.csv",
        ["institution_code", "evaluated_on", "score", "full_score"],
        [(PRIMARY, "2026-06-30", "51", "50"), (PRIMARY, "2026-12-31", "50", "50")],
    )
    with pytest.raises(FactsRejected) as refused:
        import_file(session, path, fact("public_health_evaluation"))
    errors = refused.value.report.errors
    assert [(e.row, e.column, e.reason) for e in errors] == [(2, "score", "above full_score")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("roll_up: min, numerator: {fact: ward}", "roll_up: min takes no denominator and period"),
        (
            "roll_up: min, period: year, numerator: {fact: ward}, denominator: {fact: ward}",
            "roll_up: min takes no denominator",
        ),
        ("roll_up: max, numerator: {fact: ward}", "roll_up: one of sum, min"),
        ("target: emr_level_secondary, numerator: {fact: ward}", "a count has no share to meet"),
        (
            "period: year, numerator: {fact: institution_report, max: tcm_hall}",
            "max: 'tcm_hall' is not a number field",
        ),
        (
            "period: year, numerator: {fact: institution_report, max: emr_level, sum: emr_level}",
            "a sum or a max, not both",
        ),
        ("numerator: {fact: institution_report, max: emr_level}", "`max` is for period: year"),
        (
            "period: year, numerator: {fact: encounter, distinct_chars: 3}",
            "distinct_chars: needs `distinct`",
        ),
        (
            "period: year, numerator: {fact: encounter, distinct: diagnosis_code, "
            "distinct_chars: 0}",
            "distinct_chars: a whole number, 1 or more",
        ),
    ],
)
def test_a_bad_lowest_member_definition_fails_when_loaded(extra: str, message: str) -> None:
    text = (
        f"indicators:\n  - {{id: X1, name_zh: x, name_en: x, evidence: ours, source: s, {extra}}}\n"
    )
    with pytest.raises(DefinitionError, match=message):
        parse(text)


def _tile(page: str, indicator: str) -> str:
    pattern = rf'<div class="tile [^"]*" data-indicator="{indicator}".*?</div>\s*</div>'
    found = re.search(pattern, page, re.S)
    assert found, indicator
    return found.group(0)


def test_the_cockpit_shows_a_lowest_member_target_in_types(
    client: TestClient,
    session: Session,
    facilities: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(facilities))
    get_settings.cache_clear()
    try:
        with clock.frozen(NOW):
            world = build(session)
            response = client.get(
                f"/networks/{NET}/cockpit?year=2026",
                headers={**bearer(session, world.office), "Accept": "text/html"},
            )
    finally:
        get_settings.cache_clear()
    assert response.status_code == 200, response.text[:300]
    tile = _tile(response.text, "DT1")
    # the fewest types of a primary member, 1, against Jinhua's 200: red, 199 types short
    assert 'data-state="red"' in tile and "各成员均不低于 200" in tile
    assert "-199.0" in tile and "个百分点" not in tile
    assert 'data-state="green"' in _tile(response.text, "K6")  # exactly 60%
