"""Structural checks A1-A4 and A9 at their edges, on a small layout each test bends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from tests.factories import institution, layout, network, write_layout

from caregrid.auth.roles import SYSTEM
from caregrid.registry import checks, importer
from caregrid.registry.checks import Status


def _run(
    session: Session, tmp_path: Path, data: dict[str, Any], net: str = "t-net-a"
) -> dict[str, tuple[Status, str]]:
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    return {r.requirement: (r.status, r.detail) for r in checks.run(session, network=net)}


def test_well_formed_layout_passes(session: Session, tmp_path: Path) -> None:
    result = _run(session, tmp_path, layout())
    assert {k: v[0] for k, v in result.items()} == {
        "A1": Status.PASS,
        "A2": Status.PASS,
        "A3": Status.PASS,
        "A4": Status.PASS,
        "A9": Status.NOT_EVALUABLE,
    }


def test_a1_two_networks_in_one_grid_fail(session: Session, tmp_path: Path) -> None:
    data = layout()
    network(data, "t-net-b")["grid"] = "t-grid-a"
    status, detail = _run(session, tmp_path, data)["A1"]
    assert status is Status.FAIL and "2 networks" in detail


def test_a1_uncovered_area_fails(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["divisions"].append(
        {"code": "900103", "name_zh": "丙区", "level": "county", "parent": "900100"}
    )
    status, detail = _run(session, tmp_path, data)["A1"]
    assert status is Status.FAIL and "900103" in detail


def test_a1_overlapping_grids_fail(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["grids"][1]["divisions"] = ["900102", "900100"]  # grid b also claims the whole city
    status, detail = _run(session, tmp_path, data)["A1"]
    assert status is Status.FAIL and "inside 900100" in detail


def test_a1_area_covered_by_children_passes(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["divisions"] += [
        {"code": "900102-x", "name_zh": "乙区甲街道", "level": "township", "parent": "900102"},
        {"code": "900102-y", "name_zh": "乙区乙街道", "level": "township", "parent": "900102"},
    ]
    data["grids"][1]["divisions"] = ["900102-x", "900102-y"]
    assert _run(session, tmp_path, data)["A1"][0] is Status.PASS


def test_a2_lead_category_and_unknown_level(session: Session, tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-lead-a")["category"] = "specialty_hospital"
    institution(data, "t-lead-b")["level"] = "unknown"
    assert _run(session, tmp_path, data)["A2"][0] is Status.FAIL
    result = {r.network: r for r in checks.run(session) if r.requirement == "A2"}
    assert result["t-net-b"].status is Status.NOT_EVALUABLE
    assert "level not stated" in result["t-net-b"].detail


def test_a2_tcm_hospital_counts_as_lead(session: Session, tmp_path: Path) -> None:
    assert _run(session, tmp_path, layout(), net="t-net-b")["A2"][0] is Status.PASS


def test_a2_lead_only_as_a_class_is_not_evaluable(session: Session, tmp_path: Path) -> None:
    data = layout()
    net = network(data, "t-net-b")
    net["members"] = [m for m in net["members"] if m["role"] != "lead"]
    net["member_classes"] = [
        {
            "description_zh": "县级公立医院",
            "role": "lead",
            "categories": ["general_hospital"],
            "tier": "county",
        }
    ]
    assert _run(session, tmp_path, data, net="t-net-b")["A2"][0] is Status.NOT_EVALUABLE


def test_a3_grid_count_at_the_edge(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["city"]["pilot_level"] = "provincial"  # needs 2: has exactly 2
    assert _run(session, tmp_path, data)["A3"][0] is Status.PASS
    data["grids"].pop()
    data["networks"].pop()
    data["grids"][0]["divisions"] = ["900100"]
    status, detail = _run(session, tmp_path, data)["A3"]
    assert status is Status.FAIL and "1 grids (needs at least 2)" in detail


def test_a3_unknown_pilot_level_between_minimums(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["city"]["pilot_level"] = "unknown"
    data["grids"].pop()
    data["networks"].pop()
    data["grids"][0]["divisions"] = ["900100"]
    assert _run(session, tmp_path, data)["A3"][0] is Status.NOT_EVALUABLE


def test_a4_no_secondary_member_fails_and_nursing_home_passes(
    session: Session, tmp_path: Path
) -> None:
    data = layout()
    institution(data, "t-sec-a")["level"] = "primary"
    assert _run(session, tmp_path, data)["A4"][0] is Status.FAIL
    institution(data, "t-sec-a")["category"] = "nursing_home"
    assert _run(session, tmp_path, data)["A4"][0] is Status.PASS


def test_a4_unknown_level_or_class_only_is_not_evaluable(session: Session, tmp_path: Path) -> None:
    data = layout()
    institution(data, "t-sec-a")["level"] = "unknown"
    assert _run(session, tmp_path, data)["A4"][0] is Status.NOT_EVALUABLE
    net = network(data, "t-net-b")
    net["member_classes"] = [
        {
            "description_zh": "所辖公立社区卫生服务中心和乡镇卫生院",
            "role": "member",
            "tier": "township",
            "categories": ["community_health_center"],
        }
    ]
    assert _run(session, tmp_path, data, net="t-net-b")["A4"][0] is Status.FAIL
    net["member_classes"][0]["categories"].append("nursing_home")
    assert _run(session, tmp_path, data, net="t-net-b")["A4"][0] is Status.NOT_EVALUABLE


def test_a9_designations_at_the_threshold(session: Session, tmp_path: Path) -> None:
    data = layout()
    extra = [
        dict(institution(data, "t-chc-a"), code=f"t-chc-a{i}", name_zh=f"中心{i}") for i in range(2)
    ]
    data["institutions"] += extra
    members = network(data, "t-net-a")["members"]
    members += [
        {"institution": e["code"], "role": "member", "tier": "township", "key_construction": True}
        for e in extra
    ]
    status, detail = _run(session, tmp_path, data)["A9"]
    assert status is Status.FAIL and detail.startswith("2 designated")
    members[2]["key_construction"] = True  # the third one: exactly the minimum of 3
    assert _run(session, tmp_path, data)["A9"][0] is Status.PASS
