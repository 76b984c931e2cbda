"""Division populations, centroids and borders in layout files (what the grid planner reads):
stored once per border, exported back, versioned on every import, and refused when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.planning.citylayout import division, planville, write

from caregrid import yamlio
from caregrid.auth.roles import SYSTEM
from caregrid.errors import InvalidInput
from caregrid.registry import importer
from caregrid.registry import service as registry


def _problems(path: Path) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        importer.load(path)
    return {p.field: p.message for p in caught.value.problems}


def test_borders_are_stored_once_and_exported_back(session: Session, tmp_path: Path) -> None:
    data = planville()
    # t12 lists t11 too (both sides of one border) and a crossing to t33
    division(data, "t12")["adjacent"] = [
        "t11",
        "t13",
        "t22",
        {"division": "t33", "via": "a bridge"},
    ]
    report = importer.apply(session, importer.load(write(tmp_path, data)), actor=SYSTEM)
    codes = [d["code"] for d in data["divisions"]]
    borders = importer.adjacency(session, codes)
    assert len(borders) == 13  # the lattice's 12 and the bridge
    assert ("t12", "t33", "a bridge") in borders
    assert borders.count(("t11", "t12", None)) == 1
    exported = registry.layout(session, "planville")
    t12 = next(d for d in exported.divisions if d.code == "t12")
    assert t12.population == 31_000 and t12.lat == pytest.approx(30.05)
    assert [n for n, _via in t12.neighbours()] == ["t13", "t22", "t33"]  # t11 < t12 holds t11
    again = importer.apply(session, importer.check(importer_located(exported)), actor=SYSTEM)
    assert importer.adjacency(session, codes) == borders
    assert again.version == report.version + 1
    versions = importer.versions(session, "planville")
    assert [v.number for v in versions[:2]] == [again.version, report.version]
    assert versions[0].sha256 == versions[1].sha256  # the same layout, written again


def importer_located(layout: registry.LayoutFile) -> yamlio.Located:
    return yamlio.load_text(importer.to_yaml(layout), "exported")


def test_bad_borders_and_populations_name_the_field(tmp_path: Path) -> None:
    data = planville()
    division(data, "t11")["adjacent"] = ["t11", "nowhere"]
    del division(data, "t22")["population_source"]
    del division(data, "t31")["lon"]
    problems = _problems(write(tmp_path, data))
    assert problems["divisions[1].adjacent[0]"] == "a division cannot border itself"
    assert problems["divisions[1].adjacent[1]"] == "division 'nowhere' is not defined in this file"
    assert problems["divisions[5].population_source"] == "say where the population comes from"
    assert problems["divisions[7].lat"] == "give both lat and lon, or neither"


def test_a_negative_population_is_refused(tmp_path: Path) -> None:
    data = planville()
    division(data, "t23")["population"] = -5
    problems = _problems(write(tmp_path, data))
    assert "greater than or equal to 0" in problems["divisions[6].population"]
