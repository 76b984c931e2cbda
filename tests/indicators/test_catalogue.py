"""The catalogue and its documentation stay in step: every shipped indicator is in the table
of docs/indicators.md, and every id of INDICATORS.md is shipped or said there why not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caregrid.indicators.definitions import DefinitionError, catalogue, load_folder

DOCS = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"

# The ids INDICATORS.md defines (county community, chronic disease, family doctors, mutual
# recognition, referral).
OFFICIAL = [
    *(f"CC{n}" for n in range(1, 11)),
    *(f"CD{n}" for n in range(1, 8)),
    *(f"FD{n}" for n in range(1, 4)),
    *(f"MR{n}" for n in range(1, 4)),
    *(f"RF{n}" for n in range(1, 5)),
]


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_every_shipped_indicator_is_documented() -> None:
    shipped_table = _section(DOCS.read_text("utf-8"), "Shipped so far")
    rows = "\n".join(line for line in shipped_table.splitlines() if line.startswith("| "))
    documented = set(re.findall(r"\b([A-Z]{1,2}\d{1,2}(?:-[a-z_]+)?)(?![\w-])", rows))
    assert {i.id for i in catalogue().indicators} <= documented


def test_every_official_id_is_shipped_or_explained() -> None:
    text = DOCS.read_text("utf-8")
    shipped = {i.id for i in catalogue().indicators}
    explained = _section(text, "Not computed yet, and why") + _section(text, "Shipped so far")
    missing = [i for i in OFFICIAL if i not in shipped and not re.search(rf"\b{i}\b", explained)]
    assert missing == []


def test_a_domains_file_joins_the_catalogue_and_an_id_twice_is_refused(tmp_path: Path) -> None:
    one = "    name_zh: x\n    name_en: x\n    evidence: ours\n    source: s\n"
    one += "    numerator: {fact: encounter}\n"
    (tmp_path / "core.yaml").write_text(f"amber_within_points: 3\nindicators:\n  - id: A1\n{one}")
    (tmp_path / "referral.yaml").write_text(f"indicators:\n  - id: R1\n{one}")
    found = load_folder(tmp_path)
    assert [i.id for i in found.indicators] == ["A1", "R1"]
    assert found.amber_within_points == 3
    (tmp_path / "family.yaml").write_text(f"indicators:\n  - id: A1\n{one}")
    with pytest.raises(DefinitionError, match="A1: declared twice"):
        load_folder(tmp_path)
    (tmp_path / "family.yaml").write_text("indicators: {}\n")
    with pytest.raises(DefinitionError, match=r"family\.yaml: an indicator file has a list"):
        load_folder(tmp_path)
