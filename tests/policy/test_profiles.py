"""Profiles: validation with file/line/field, phased values on both sides of their date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from caregrid.errors import InvalidInput, NotFound
from caregrid.policy import service as policy
from caregrid.policy.requirements import requirement_catalog

SHIPPED = ["fujian", "ganzhou-county", "ganzhou-urban", "jinhua", "sichuan"]
TEST_PROFILE = Path(__file__).parents[1] / "data" / "test-rules.yaml"


def test_every_shipped_profile_validates() -> None:
    for name in SHIPPED:
        profile = policy.load_file(policy.shipped_dir() / f"{name}.yaml")
        assert profile.name == name
        assert profile.parameters or profile.structure.lead, name


def test_requirement_catalog_matches_the_requirements_document() -> None:
    source = Path(__file__).parents[3] / "shared" / "REQUIREMENTS.md"
    if not source.exists():
        pytest.skip("../shared/REQUIREMENTS.md is not beside the repository")
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


def _bad(tmp_path: Path, old: str, new: str) -> list[str]:
    path = tmp_path / "test-rules.yaml"
    text = TEST_PROFILE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        policy.load_file(path)
    return [str(p) for p in caught.value.problems]


def test_unknown_requirement_id_is_refused_with_its_line(tmp_path: Path) -> None:
    problems = _bad(tmp_path, "{requirement: C3,", "{requirement: Z99,")
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
    problems = _bad(tmp_path, '    comparison: ">="\n', '    comparison: ">="\n    value: 0.3\n')
    assert any("exactly one of `value` or `phases`" in p for p in problems)


def test_phases_out_of_order_are_refused(tmp_path: Path) -> None:
    problems = _bad(tmp_path, "effective: 2025-12-31", "effective: 2023-12-31")
    assert any("ascending" in p for p in problems)


def test_name_must_match_file(tmp_path: Path) -> None:
    problems = _bad(tmp_path, "name: test-rules", "name: other-rules")
    assert problems and "must equal the file name" in problems[0]


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    problems = _bad(tmp_path, "network_kind: urban_group", "network_kind: urban_group\nflavour: x")
    assert any("flavour" in p for p in problems)


def test_unknown_profile_name() -> None:
    with pytest.raises(NotFound, match="no policy profile named 'nowhere'"):
        policy.get("nowhere")
