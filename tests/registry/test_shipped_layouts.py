"""The shipped layouts: faithful to their sources, and checked with the expected outcomes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml
from sqlalchemy.orm import Session
from tests.conftest import SHARED, require_shared

from caregrid.auth.roles import SYSTEM
from caregrid.cli.demo import shipped_layouts
from caregrid.registry import checks, importer

P, F, NE, NA = "pass", "fail", "not-evaluable", "not-applicable"
EXPECTED = {
    # A2 unknown: GZ-U states no lead's level; A4/A9 not in the Ganzhou urban profile.
    "gz-rmyy-group": {"A1": P, "A2": NE, "A3": P, "A4": NA, "A9": NA},
    "gz-gnfy-group": {"A1": P, "A2": NE, "A3": P, "A4": NA, "A9": NA},
    "gz-sl-group": {"A1": P, "A2": NE, "A3": P, "A4": NA, "A9": NA},
    # the county model names members only as classes
    "gz-county-model": {"A1": P, "A2": NA, "A3": NA, "A4": NE, "A9": NA},
    # Jinhua: both leads stated tertiary general; the Jindong group's second hospital is the
    # Central Hospital's own campus, of unstated level; no centre is designated for A9.
    "jh-rmyy-wucheng": {"A1": P, "A2": P, "A3": NA, "A4": P, "A9": NE},
    "jh-zxyy-jindong": {"A1": P, "A2": P, "A3": NA, "A4": NE, "A9": NE},
    "jh-zxyy-kaifaqu": {"A1": P, "A2": P, "A3": NA, "A4": P, "A9": NE},
}


def test_every_shipped_network_gets_the_expected_outcome(session: Session) -> None:
    found: dict[str, dict[str, str]] = {}
    for result in checks.run(session):
        found.setdefault(result.network, {})[result.requirement] = result.status.value
    assert found == EXPECTED


def test_shipped_layouts_load_without_warnings() -> None:
    for path in shipped_layouts():
        assert importer.load(path).warnings == [], path.name


def _annex() -> list[tuple[str, str, str]]:
    """(lead, second column, centre) rows of Jinhua Annex 1, as the seed document prints them."""
    seed = require_shared(SHARED / "seeds" / "004_3815a8abdeb5b5c6.txt")
    lines = seed.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("牵头医院（1）"))
    annex = lines[start + 1 : lines.index("附件 2")]
    rows, lead, second = [], "", ""
    for line in annex:
        cells = [c.strip() for c in line.split("\t")]
        if not any(cells):
            continue
        lead, second = cells[0] or lead, (cells[1] if len(cells) > 1 else "") or second
        rows.append((lead, second, cells[-1]))
    return rows


def test_jinhua_layout_holds_every_annex_institution_once() -> None:
    rows = _annex()
    jinhua = yaml.safe_load(next(p for p in shipped_layouts() if p.stem == "jinhua").read_text())
    names = [i["name_zh"] for i in jinhua["institutions"]]
    assert len(names) == len(set(names))
    centres = [re.sub(r"（同时为二级医院）$", "", r[2]) for r in rows]
    assert len(centres) == 42 and len(set(centres)) == 41  # 婺城区箬阳乡卫生院 appears twice
    for name in {r[0] for r in rows} | {r[1] for r in rows} | set(centres):
        assert name in names, name


def test_annex_as_csv_reports_the_repeated_centre_and_keeps_one(
    session: Session, tmp_path: Path
) -> None:
    """The annex typed in as an institution list: the importer finds its duplicate."""
    rows = _annex()
    codes: dict[str, str] = {}
    with (tmp_path / "annex.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name_zh", "level", "category", "division", "source"])
        for _, _, centre in rows:
            code = codes.setdefault(centre, f"annex-{len(codes) + 1}")
            category = (
                "community_health_center"
                if centre.endswith("社区卫生服务中心")
                else "township_health_center"
            )
            writer.writerow([code, centre, "primary", category, "330702", "JH 附件1"])
    layout = {
        "format": "caregrid-layout/1",
        "city": {"code": "annex-test", "name_zh": "附件一", "area": ["330702"]},
        "divisions": [{"code": "330702", "name_zh": "婺城区", "level": "county"}],
        "institutions_csv": "annex.csv",
    }
    path = tmp_path / "annex.yaml"
    path.write_text(yaml.safe_dump(layout, allow_unicode=True), encoding="utf-8")
    report = importer.apply(session, importer.load(path), actor=SYSTEM)
    assert report.counts["institutions"] == 41
    assert len(report.warnings) == 1
    assert "婺城区箬阳乡卫生院" in str(report.warnings[0])
    assert "kept one" in str(report.warnings[0])
