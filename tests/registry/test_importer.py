"""Layout import: all or nothing, problems with file, line and field; duplicates; round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import institution, layout, network, write_layout

from caregrid.auth.roles import SYSTEM
from caregrid.errors import InvalidInput
from caregrid.registry import importer
from caregrid.registry.models import City, Institution, Membership, Network
from caregrid.registry.vocab import Level, NetworkRole


def _problems(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        importer.load(path)
    return [str(p) for p in caught.value.problems]


def test_valid_layout_imports_every_part(session: Session, tmp_path: Path) -> None:
    report = importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    assert report.counts == {
        "divisions": 3,
        "grids": 2,
        "networks": 2,
        "institutions": 5,
        "memberships": 5,
        "member_classes": 0,
        "cross_grid_services": 0,
    }
    assert report.warnings == []
    city = session.scalar(select(City).where(City.code == "testcity"))
    assert city is not None and [g.code for g in city.grids] == ["t-grid-a", "t-grid-b"]


def test_unknown_level_names_file_line_and_field(tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-sec-a")["level"] = "quaternary"
    path = write_layout(tmp_path, data)
    problems = _problems(path)
    assert len(problems) == 1
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "quaternary" in text
    )
    assert problems[0].startswith(f"{path}:")
    assert "institutions[1].level" in problems[0]
    assert "tertiary" in problems[0]  # the message lists what is allowed
    assert int(problems[0].split(":")[1]) == line


def test_unknown_category_and_every_other_problem_listed_together(tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-chc-a")["category"] = "spa"
    network(data, "t-net-b")["members"].append(
        {"institution": "nowhere", "role": "member", "tier": "township"}
    )
    problems = _problems(write_layout(tmp_path, data))
    # shape errors stop before references: the category is reported first, then fixed...
    assert any("institutions[2].category" in p for p in problems)
    institution(data, "t-chc-a")["category"] = "community_health_center"
    problems = _problems(write_layout(tmp_path, data))
    assert problems == [p for p in problems if "nowhere" in p]
    assert "networks[1].members[2].institution" in problems[0]
    assert "unknown institution" in problems[0]


def test_duplicate_institution_code_with_different_details_is_refused(tmp_path: Path) -> None:
    data = layout()
    clash = dict(institution(data, "t-chc-a"), name_zh="另一个中心")
    data["institutions"].append(clash)
    problems = _problems(write_layout(tmp_path, data))
    assert len(problems) == 1 and "duplicate institution code 't-chc-a'" in problems[0]


def test_verbatim_duplicate_is_reported_and_kept_once(session: Session, tmp_path: Path) -> None:
    """The Jinhua annex lists 婺城区箬阳乡卫生院 twice: one is kept, the repeat is reported."""
    data = layout()
    data["institutions"].append(dict(institution(data, "t-chc-b")))
    network(data, "t-net-b")["members"].append(
        {"institution": "t-chc-b", "role": "member", "tier": "township"}
    )
    report = importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    assert report.counts["institutions"] == 5 and report.counts["memberships"] == 5
    assert len(report.warnings) == 2
    assert all("kept one" in str(w) for w in report.warnings)
    count = session.scalar(
        select(func.count()).select_from(Institution).where(Institution.code == "t-chc-b")
    )
    assert count == 1


def test_same_name_twice_under_two_codes_is_refused(tmp_path: Path) -> None:
    data = layout()
    data["institutions"].append(dict(institution(data, "t-chc-b"), code="t-chc-b2"))
    problems = _problems(write_layout(tmp_path, data))
    assert len(problems) == 1 and "already listed" in problems[0]


def test_lead_that_is_not_tertiary_is_refused(tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-lead-b")["level"] = "secondary"
    problems = _problems(write_layout(tmp_path, data))
    assert len(problems) == 1
    assert "networks[1].members[0].institution" in problems[0]
    assert "requires tertiary (A2)" in problems[0]


def test_lead_of_unknown_level_is_accepted(session: Session, tmp_path: Path) -> None:
    """A lead whose level the source does not give is stored as such, still leading its group."""
    data = layout()
    institution(data, "t-lead-b")["level"] = "unknown"
    report = importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    assert report.counts["institutions"] == 5 and report.counts["memberships"] == 5
    assert report.warnings == []
    lead = session.scalar(select(Institution).where(Institution.code == "t-lead-b"))
    assert lead is not None and lead.level == Level.UNKNOWN
    roles = session.execute(
        select(Network.code, Membership.role)
        .join(Network, Network.id == Membership.network_id)
        .where(Membership.institution_id == lead.id)
    ).all()
    assert [tuple(r) for r in roles] == [("t-net-b", NetworkRole.LEAD)]


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: caregrid-layout/1\ncity:\n  code: [unclosed\n", encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1 and "malformed YAML" in problems[0]
    assert problems[0].startswith(f"{path}:")


def test_repeated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    text = yaml.safe_dump(layout(), allow_unicode=True, sort_keys=False)
    path.write_text(text.replace("  name_zh: 测试市\n", "  name_zh: 测试市\n  name_zh: 再次\n", 1))
    problems = _problems(path)
    assert problems == [f"{path}:5: city.name_zh: key appears twice in the same mapping"]


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    data = layout()
    network(data, "t-net-a")["profile"] = "atlantis"
    problems = _problems(write_layout(tmp_path, data))
    assert len(problems) == 1 and "networks[0].profile" in problems[0]
    assert "no policy profile named 'atlantis'" in problems[0]


def test_refused_file_writes_nothing(session: Session, tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-sec-a")["level"] = "bogus"
    with pytest.raises(InvalidInput):
        importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    assert session.scalar(select(City).where(City.code == "testcity")) is None


def test_institutions_from_csv_with_a_repeated_row(session: Session, tmp_path: Path) -> None:
    data = layout()
    from caregrid.registry.layout import InstitutionSpec, write_institutions_csv

    specs = [InstitutionSpec.model_validate(i) for i in data.pop("institutions")]
    text = write_institutions_csv([*specs, specs[-1]])
    (tmp_path / "institutions.csv").write_text(text, encoding="utf-8")
    data["institutions_csv"] = "institutions.csv"
    report = importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    assert report.counts["institutions"] == 5
    assert [w.line for w in report.warnings] == [7]  # header + 5 rows, the repeat is row 7
    assert "institutions.csv" in str(report.warnings[0])


def test_csv_row_errors_name_the_row(tmp_path: Path) -> None:
    data = layout()
    data.pop("institutions")
    (tmp_path / "inst.csv").write_text(
        "code,name_zh,level,category,division\n"
        "a,甲,tertiary,general_hospital,900101\n"
        "b,乙,huge,general_hospital,900101\n",
        encoding="utf-8",
    )
    data["institutions_csv"] = "inst.csv"
    problems = _problems(write_layout(tmp_path, data))
    assert any(p.startswith(f"{tmp_path / 'inst.csv'}:3: level") for p in problems)


def test_export_then_import_gives_the_same_registry(session: Session, tmp_path: Path) -> None:
    """Round trip over every shipped layout and the test layout."""
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    for city in session.scalars(select(City.code)).all():
        first = importer.to_yaml(importer.export(session, city))
        path = tmp_path / f"{city}.yaml"
        path.write_text(first, encoding="utf-8")
        importer.apply(session, importer.load(path), actor=SYSTEM)
        session.expire_all()
        assert importer.to_yaml(importer.export(session, city)) == first


def test_reimport_drops_what_the_file_no_longer_lists(session: Session, tmp_path: Path) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    data = layout()
    network(data, "t-net-a")["members"].pop()  # t-chc-a leaves the network
    data["institutions"] = [i for i in data["institutions"] if i["code"] != "t-chc-a"]
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    session.expire_all()
    assert session.scalar(select(Institution).where(Institution.code == "t-chc-a")) is None
    members = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(Institution)
        .where(Institution.code.like("t-%"))
    )
    assert members == 4
