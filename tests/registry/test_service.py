"""Registry service: practitioners at several sites inside a network (H6), departments,
members grouped by tier, grid lookup up the division tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.conftest import make_principal
from tests.factories import layout, write_layout

from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.registry import importer
from caregrid.registry import service as registry


@pytest.fixture
def city(session: Session, tmp_path: Path) -> None:
    data = layout()
    data["divisions"].append(
        {"code": "900101-s", "name_zh": "甲区某街道", "level": "township", "parent": "900101"}
    )
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)


def test_practitioner_practises_at_sites_inside_the_network(session: Session, city: None) -> None:
    person = registry.create_practitioner(
        session,
        SYSTEM,
        code="dr-wang",
        name="王医生",
        title_level="associate_senior",
        home_institution_code="t-lead-a",
        specialty="cardiology",
        site_codes=["t-chc-a"],
    )
    assert [s.code for s in person.sites] == ["t-chc-a"]
    at_centre = registry.practitioners(session, registry.require_institution(session, "t-chc-a").id)
    assert [p.code for p in at_centre] == ["dr-wang"]


def test_site_outside_the_network_is_refused_citing_h6(session: Session, city: None) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.create_practitioner(
            session,
            SYSTEM,
            code="dr-li",
            name="李医生",
            title_level="senior",
            home_institution_code="t-lead-a",
            site_codes=["t-chc-b", "t-none"],
        )
    messages = [str(p) for p in caught.value.problems]
    assert "site_codes[0]" in messages[0] and "(H6)" in messages[0]
    assert "site_codes[1]" in messages[1] and "unknown institution" in messages[1]


def test_unknown_title_level_is_refused(session: Session, city: None) -> None:
    with pytest.raises(InvalidInput, match="title_level"):
        registry.create_practitioner(
            session,
            SYSTEM,
            code="x",
            name="x",
            title_level="guru",
            home_institution_code="t-lead-a",
        )


def test_department_code_is_unique_per_institution(session: Session, city: None) -> None:
    registry.create_department(
        session, SYSTEM, institution_code="t-lead-a", code="card", name_zh="心内科"
    )
    registry.create_department(
        session, SYSTEM, institution_code="t-sec-a", code="card", name_zh="心内科"
    )
    with pytest.raises(Conflict):
        registry.create_department(
            session, SYSTEM, institution_code="t-lead-a", code="card", name_zh="心血管内科"
        )


def test_network_admin_manages_only_its_network(session: Session, city: None) -> None:
    office = make_principal(
        session, "office-a", Role.NETWORK_ADMIN, institution="t-lead-a", network="t-net-a"
    )
    registry.create_department(
        session, office, institution_code="t-chc-a", code="gp", name_zh="全科"
    )
    with pytest.raises(Forbidden):
        registry.create_department(
            session, office, institution_code="t-chc-b", code="gp", name_zh="全科"
        )


def test_members_by_tier_lead_first_then_city_to_village(session: Session, city: None) -> None:
    groups = registry.members_by_tier(registry.get_network(session, "t-net-a"))
    assert [(g.role, g.tier) for g in groups] == [
        ("lead", "city"),
        ("member", "district"),
        ("member", "township"),
    ]


def test_grid_found_by_walking_up_the_division_tree(session: Session, city: None) -> None:
    assert registry.grid_code_for_division(session, "900101-s") == "t-grid-a"
    assert registry.grid_code_for_division(session, "900100") is None
