"""ICD-10 entries of disease catalogs: validation and range membership at the edges."""

from __future__ import annotations

import pytest

from caregrid.policy import icd10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I10", "I10"),
        ("e119", "E11.9"),
        (" E11.9 ", "E11.9"),
        ("j44.1", "J44.1"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert icd10.normalise(raw) == expected


@pytest.mark.parametrize(
    ("entry", "inside", "outside"),
    [
        # hypertensive diseases: both ends inclusive, subcodes of the last category included
        ("I10-I15", ["I10", "I11.9", "I13.2", "I15", "I15.9"], ["I09.9", "I20", "I20.0"]),
        # diabetes mellitus E10-E14
        ("E10-E14", ["E10", "E11.9", "E14.9"], ["E09", "E15", "E16.0"]),
        # a subcode range does not take in the bare category or codes past its end
        ("I20.0-I20.1", ["I20.0", "I20.1"], ["I20", "I20.8", "I21.0"]),
        # a single code includes its subcategories
        ("J44", ["J44", "J44.0", "J44.9"], ["J43.9", "J45"]),
    ],
)
def test_range_membership_at_the_edges(entry: str, inside: list[str], outside: list[str]) -> None:
    parsed = icd10.parse_entry(entry)
    assert [c for c in inside if not parsed.contains(c)] == []
    assert [c for c in outside if parsed.contains(c)] == []


def test_clinical_edition_codes_match_through_their_who_stem() -> None:
    assert icd10.who_stem("E11.900") == "E11.9"
    assert icd10.who_stem("I10.x00") == "I10"
    assert icd10.parse_entry("E10-E14").contains("E11.900")
    assert icd10.parse_entry("I10-I15").contains("I10.x00x002")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("I15-I10", "runs backwards"),
        ("Q99.99", "not a WHO ICD-10"),
        ("I10.0", "not a WHO ICD-10"),  # I10 has no subcategories in WHO ICD-10
        ("X", "not a WHO ICD-10"),  # a chapter, not a code
        ("I10-I12-I15", "one code or a range"),
        ("", "one code or a range"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(entry: str, reason: str) -> None:
    with pytest.raises(icd10.Icd10Error, match=reason):
        icd10.parse_entry(entry)


def test_unknown_or_malformed_diagnosis_is_never_inside() -> None:
    assert not icd10.parse_entry("I10-I15").contains("hypertension")
    with pytest.raises(icd10.Icd10Error, match="shaped"):
        icd10.who_stem("10I")


def test_describe_gives_the_who_title() -> None:
    assert icd10.describe("i10") == "Essential (primary) hypertension"
