"""Profile parameters are declared once (data/parameters.yaml): a misspelt key or a value of
the wrong type is refused with its file and line; every declaration says truthfully who reads
it, or that nothing computes it yet."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from tests.policy.edits import refused

from caregrid.indicators.definitions import shipped
from caregrid.policy import service as policy
from caregrid.policy.parameters import declared

SRC = Path(str(resources.files("caregrid")))


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_a_misspelt_key_is_refused_with_file_line_and_key(tmp_path: Path) -> None:
    problems = refused(tmp_path, "  slot_release_lead_days:", "  slot_release_lead_day:")
    line = _line_of(tmp_path / "test-rules.yaml", "slot_release_lead_day:")
    assert problems == [
        f"{tmp_path / 'test-rules.yaml'}:{line}: parameters.slot_release_lead_day: "
        "unknown parameter 'slot_release_lead_day': not declared in data/parameters.yaml"
    ]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("unit: days, value: 14}", "unit: days, value: 14.5}", "slot_release_lead_days.value",
         "14.5 is not a whole number of days"),
        ("unit: days, value: 14}", "unit: days, value: -1}", "slot_release_lead_days.value",
         "-1 is not a whole number of days"),
        ("unit: days, value: 14}", "unit: hours, value: 14}", "slot_release_lead_days.unit",
         "slot_release_lead_days is declared in days, not hours"),
        ("unit: bool, value: true}", "unit: bool, value: 1}", "no_second_inpatient_deductible",
         "1 is not true or false"),
        ("{effective: 2025-12-31, value: 0.35}", "{effective: 2025-12-31, value: 35}",
         "reserved_outpatient_slot_share.phases[1].value", "a ratio must lie between 0 and 1"),
        ("{requirement: C3, source: \"JH 13.4\"", "{requirement: C2, source: \"JH 13.4\"",
         "slot_release_lead_days.requirement", "slot_release_lead_days implements C3, not C2"),
    ],
)  # fmt: skip
def test_a_value_that_breaks_its_declaration_isrefused(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    problems = refused(tmp_path, old, new)
    assert len(problems) == 1
    assert f"parameters.{field}" in problems[0] and message in problems[0]


def test_code_reading_an_undeclared_key_fails_loudly() -> None:
    profile = policy.get("jinhua")
    with pytest.raises(KeyError, match="slot_release_days"):
        profile.parameter("slot_release_days", date(2025, 6, 30))
    assert profile.parameter("slot_release_lead_days", date(2025, 6, 30)) == 14


def _module_source(name: str) -> str:
    parts = name.removeprefix("caregrid.").split(".")
    path = SRC.joinpath(*parts[:-1], parts[-1] + ".py")
    if not path.is_file():
        path = SRC.joinpath(*parts, "__init__.py")
    return path.read_text(encoding="utf-8")


def test_every_declared_reader_reads_its_key() -> None:
    targets = {
        (f"indicator:{i.id}", key)
        for i in shipped()
        for key in (i.target, i.target_increase, i.target_growth)
        if key
    }
    for key, found in declared().items():
        for reader in found.read_by:
            if reader.startswith("indicator:"):
                assert (reader, key) in targets, f"{reader} has no target {key}"
            else:
                assert re.search(rf"[\"']{key}[\"']", _module_source(reader)), (reader, key)


def test_no_code_reads_a_recorded_key_and_every_target_is_declared() -> None:
    code = "".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    for key, found in declared().items():
        if found.recorded is not None:
            assert not re.search(rf"[\"']{key}[\"']", code), f"{key} is read: declare read_by"
    for indicator in shipped():
        for target in (indicator.target, indicator.target_increase, indicator.target_growth):
            assert target is None or target in declared(), (indicator.id, target)


def test_every_shipped_key_is_declared_and_every_declared_key_is_used() -> None:
    used = {key for name in policy.names() for key in policy.get(name).parameters}
    assert used <= set(declared())
    unused = {k for k, d in declared().items() if k not in used and d.recorded is not None}
    assert unused == set()  # a recorded key no profile states is dead data
