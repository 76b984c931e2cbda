"""Profiles: validation with file/line/field, phased values on both sides of their date."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from tests.conftest import SHARED, require_shared
from tests.policy.edits import refused

from caregrid.errors import NotFound
from caregrid.policy import service as policy
from caregrid.policy.requirements import requirement_catalog

SHIPPED = ["fujian", "ganzhou-county", "ganzhou-urban", "jinhua", "sichuan"]


def test_every_shipped_profile_validates() -> None:
    for name in SHIPPED:
        profile = policy.load_file(policy.shipped_dir() / f"{name}.yaml")
        assert profile.name == name
        assert profile.parameters or profile.structure.lead, name


FJ, GZU, GZC, JH, SC = SHIPPED[0], SHIPPED[2], SHIPPED[1], SHIPPED[3], SHIPPED[4]
LATER = date(2026, 6, 1)  # every constant and every phase below is in force then

# What REQUIREMENTS.md states for each shipped profile: (profile, parameter, date, value,
# requirement). Shares are compared as exact ratios; None is "not yet in force".
STATED: list[tuple[str, str, date, object, str]] = [
    # Fujian
    (FJ, "reserved_outpatient_slot_share", LATER, Fraction(1, 3), "C1"),
    (FJ, "reserved_bed_share", LATER, Fraction(1, 4), "C1"),
    (FJ, "reserved_share_applies_to", LATER, "lead", "C1"),
    (FJ, "annual_report_due", LATER, "11-30", "K7"),  # end of November
    (FJ, "evaluation_criteria", LATER, "national", "K8"),
    # Ganzhou urban: every secondary-or-higher hospital opens the shares too
    (GZU, "reserved_outpatient_slot_share", LATER, Fraction(1, 3), "C1"),
    (GZU, "reserved_bed_share", LATER, Fraction(1, 4), "C1"),
    (GZU, "reserved_share_applies_to", LATER, "secondary_and_above", "C1"),
    (GZU, "network_tiers", LATER, ["city", "district", "township", "village"], "A7"),
    (GZU, "outpatient_pooled_reimbursement_anywhere", LATER, True, "E6"),
    (GZU, "annual_report_due", LATER, "12-31", "K7"),  # by December
    # Ganzhou county: 90%, 65%, 85% by 2023-12-31
    (GZC, "in_county_visit_rate", date(2023, 12, 30), None, "K3"),
    (GZC, "in_county_visit_rate", date(2023, 12, 31), Fraction(9, 10), "K3"),
    (GZC, "primary_visit_rate", date(2023, 12, 31), Fraction(65, 100), "K3"),
    (GZC, "in_county_inpatient_rate", date(2023, 12, 31), Fraction(85, 100), "K3"),
    (GZC, "network_tiers", LATER, ["county", "township", "village"], "A7"),
    (
        GZC,
        "unified_managements",
        LATER,
        [
            "administration",
            "personnel",
            "finance",
            "insurance",
            "quality",
            "drugs_and_devices",
            "information_system",
            "resource_sharing",
        ],
        "A7",
    ),
    (GZC, "service_period_regions", LATER, ["mountain", "semi_mountain", "plain", "urban"], "H3"),
    (GZC, "no_second_inpatient_deductible", LATER, True, "B7"),
    (GZC, "insurance_global_budget", LATER, True, "I3"),
    (GZC, "village_clinic_per_admin_village", LATER, Fraction(1), "A10"),  # every village
    # Jinhua
    (JH, "reserved_outpatient_slot_share", LATER, Fraction(1, 3), "C1"),
    (JH, "reserved_bed_share", LATER, Fraction(1, 4), "C1"),
    (JH, "slot_release_lead_days", LATER, 14, "C3"),
    (JH, "expert_key_member_institutions", LATER, 3, "C5"),
    (JH, "expert_ward_director_days_per_week", LATER, 4, "C5"),
    (JH, "expert_clinic_days_per_week", LATER, 2, "C5"),
    (JH, "expert_clinic_experts_min", LATER, 1, "C5"),  # 1-2 experts
    (JH, "one_institution_one_specialty_members", LATER, 3, "C5"),
    (JH, "one_institution_one_specialty_coverage", date(2025, 12, 31), Fraction(3, 10), "C5"),
    (JH, "family_doctor_team_senior_doctors_min", LATER, 1, "E1"),
    (JH, "signing_rate", LATER, Fraction(4, 10), "E5"),
    (JH, "key_population_signing_rate", LATER, Fraction(85, 100), "E5"),
    (JH, "chronic_primary_visit_share", LATER, Fraction(7, 10), "F3"),
    (JH, "standardised_management_rate", LATER, Fraction(7, 10), "F3"),
    (JH, "down_referral_chronic_growth", LATER, Fraction(1, 10), "B9"),
    (JH, "public_health_score", LATER, Fraction(9, 10), "F5"),
    (JH, "public_health_score_annual_increase", LATER, 0, "F5"),  # above the year before
    (JH, "tcm_doctor_share", LATER, Fraction(16, 100), "F8"),
    (JH, "tcm_hall_member_share", LATER, Fraction(1), "F8"),  # every member
    (JH, "village_clinic_standardisation_rate", LATER, Fraction(8, 10), "A10"),
    (JH, "modular_training_pass_rate", LATER, Fraction(8, 10), "H5"),
    (JH, "teaching_plans_per_member", LATER, 5, "H5"),
    (JH, "mentored_staff_per_member", LATER, 5, "H5"),
    (JH, "management_training_interval_months", LATER, 6, "H5"),  # once every half year
    (JH, "outpatient_disease_types_min", LATER, 200, "K6"),
    (JH, "inpatient_disease_types_min", LATER, 100, "K6"),
    (JH, "primary_members_inpatient_share", LATER, Fraction(6, 10), "K6"),
    (JH, "in_county_visit_rate", date(2025, 12, 31), Fraction(9, 10), "K3"),
    (JH, "primary_visit_rate", date(2025, 12, 31), Fraction(675, 1000), "K3"),
    (JH, "primary_visit_rate_annual_increase", date(2025, 12, 31), 1, "K3"),
    (JH, "monitoring_interval_months", LATER, 1, "K7"),  # monthly
    (JH, "evaluation_interval_months", LATER, 6, "K7"),  # at least twice a year
    (JH, "internal_evaluation_interval_months", LATER, 6, "K7"),
    (JH, "work_meeting_interval_months", LATER, 1, "L2"),
    (JH, "district_special_fund_cny", LATER, 5_000_000, "I4"),
    (JH, "city_special_fund_cny", LATER, 5_000_000, "I4"),
    (JH, "lead_surplus_growth_share", LATER, Fraction(3, 10), "I4"),
    # Sichuan: phased shares, 20%/10% by 2024-12-31, 35%/25% by 2025-12-31
    (SC, "reserved_outpatient_slot_share", date(2024, 12, 30), None, "C2"),
    (SC, "reserved_outpatient_slot_share", date(2024, 12, 31), Fraction(2, 10), "C2"),
    (SC, "reserved_outpatient_slot_share", date(2025, 12, 30), Fraction(2, 10), "C2"),
    (SC, "reserved_outpatient_slot_share", date(2025, 12, 31), Fraction(35, 100), "C2"),
    (SC, "reserved_bed_share", date(2024, 12, 30), None, "C2"),
    (SC, "reserved_bed_share", date(2024, 12, 31), Fraction(10, 100), "C2"),
    (SC, "reserved_bed_share", date(2025, 12, 30), Fraction(10, 100), "C2"),
    (SC, "reserved_bed_share", date(2025, 12, 31), Fraction(25, 100), "C2"),
    (SC, "mutual_recognition_rate", date(2024, 12, 31), Fraction(1), "D3"),
    (SC, "lead_referral_growth", LATER, Fraction(0), "B9"),  # rises every year: more than 0
    (SC, "continuing_nursing_ward_share", date(2024, 12, 31), Fraction(8, 10), "F7"),
    (SC, "continuing_nursing_ward_share", date(2025, 12, 31), Fraction(9, 10), "F7"),
    (SC, "backbone_training_rate", date(2024, 12, 31), Fraction(8, 10), "H5"),
    (SC, "backbone_training_rate", date(2025, 12, 31), Fraction(1), "H5"),
    (SC, "emr_level_secondary", date(2024, 12, 31), 3, "J5"),
    (SC, "emr_level_tertiary", date(2024, 12, 31), 4, "J5"),
    (SC, "emr_level_lead", date(2025, 12, 31), 5, "J5"),
    (SC, "smart_hospital_stars_lead", date(2025, 12, 31), 3, "J5"),
    (SC, "procurement_integration_required", date(2025, 12, 31), True, "G4"),
    (SC, "evaluation_interval_months", LATER, 6, "K7"),  # at least every half year
    (SC, "annual_report_due", LATER, "12-15", "K7"),  # mid-December
    (SC, "evaluation_criteria", LATER, "sichuan", "K8"),
]


@pytest.mark.parametrize(
    ("name", "key", "when", "expected", "requirement"),
    STATED,
    ids=[f"{n}-{k}-{w}" for n, k, w, _, _ in STATED],
)
def test_shipped_profiles_hold_the_stated_values(
    name: str, key: str, when: date, expected: object, requirement: str
) -> None:
    """Each shipped profile holds the number REQUIREMENTS.md states, cited by its id."""
    profile = policy.load_file(policy.shipped_dir() / f"{name}.yaml")
    entry = profile.parameters[key]
    assert entry.requirement == requirement
    found = (
        profile.ratio(key, when) if isinstance(expected, Fraction) else profile.parameter(key, when)
    )
    if isinstance(expected, list):  # a text list is written space-separated
        found = str(found).split()
    assert found == expected
    if isinstance(expected, bool):
        assert found is expected


def test_requirement_catalog_matches_the_requirements_document() -> None:
    source = require_shared(SHARED / "REQUIREMENTS.md")
    text = source.read_text(encoding="utf-8")
    for rid in requirement_catalog():
        assert f"**{rid}**" in text
    assert len(requirement_catalog()) == text.count("\n- **")


def test_a_city_adds_a_profile_with_a_file_alone() -> None:
    assert "test-rules" in policy.names()
    assert policy.get("test-rules").title_en == "Test rules"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (date(2024, 12, 30), None),  # the day before the first phase: nothing in force
        (date(2024, 12, 31), 0.20),  # C2: 20% from 2024-12-31
        (date(2025, 12, 30), 0.20),
        (date(2025, 12, 31), 0.35),  # 35% from 2025-12-31
        (date(2030, 1, 1), 0.35),
    ],
)
def test_phased_value_resolves_for_a_date(when: date, expected: float | None) -> None:
    entry = policy.get("test-rules").parameters["reserved_outpatient_slot_share"]
    assert entry.at(when) == expected


def test_resolve_shows_the_next_phase() -> None:
    resolved = policy.resolve(policy.get("test-rules"), date(2025, 6, 1))
    slot = resolved["parameters"]["reserved_outpatient_slot_share"]
    assert slot["value"] == 0.20 and slot["requirement"] == "C2"
    assert slot["next"] == {"effective": "2025-12-31", "value": 0.35}


def test_unknown_requirement_id_is_refused_with_its_line(tmp_path: Path) -> None:
    problems = refused(tmp_path, "{requirement: C3,", "{requirement: Z99,")
    assert len(problems) == 1
    assert "parameters.slot_release_lead_days.requirement" in problems[0]
    assert "unknown requirement id 'Z99'" in problems[0]
    line = next(
        n
        for n, t in enumerate((tmp_path / "test-rules.yaml").read_text().splitlines(), 1)
        if "Z99" in t
    )
    assert problems[0].split(":")[1] == str(line)


def test_value_and_phases_together_are_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, '    comparison: ">="\n', '    comparison: ">="\n    value: 0.3\n')
    assert any("exactly one of `value` or `phases`" in p for p in problems)


def test_phases_out_of_order_are_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, "effective: 2025-12-31", "effective: 2023-12-31")
    assert any("ascending" in p for p in problems)


def test_name_must_match_file(tmp_path: Path) -> None:
    problems = refused(tmp_path, "name: test-rules", "name: other-rules")
    assert problems and "must equal the file name" in problems[0]


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    problems = refused(
        tmp_path, "network_kind: urban_group", "network_kind: urban_group\nflavour: x"
    )
    assert any("flavour" in p for p in problems)


def test_unknown_profile_name() -> None:
    with pytest.raises(NotFound, match="no policy profile named 'nowhere'"):
        policy.get("nowhere")


def test_missing_shared_documents_fail_the_tests_that_read_them(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        require_shared(tmp_path / "REQUIREMENTS.md")
