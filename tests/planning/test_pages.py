"""The planner over real HTTP (TestClient): the API and the pages, who may use them, and
odd input answered with the field and the reason, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal
from tests.planning.citylayout import planville, write

from caregrid.auth.roles import SYSTEM, Role
from caregrid.registry import importer
from caregrid.registry import service as registry


def _setup(session: Session, tmp_path: Path) -> dict[str, str]:
    importer.apply(session, importer.load(write(tmp_path, planville())), actor=SYSTEM)
    return bearer(session, make_principal(session, "plan-http", Role.REGULATOR))


def test_draw_view_export_and_adopt_over_the_api(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    auth = _setup(session, tmp_path)
    survey = client.get("/api/cities/planville/planning", headers=auth).json()
    assert survey["refusals"] == [] and survey["min_grids"] == 1
    assert len(survey["areas"]) == 9 and len(survey["borders"]) == 12
    drawn = client.post(
        "/api/cities/planville/plans", json={"grids": 2, "max_seconds": 10}, headers=auth
    )
    assert drawn.status_code == 201, drawn.text
    plan = drawn.json()
    assert plan["optimal"] and all(c["passed"] for c in plan["checks"])
    exported = client.get(f"/api/plans/{plan['id']}/layout", headers=auth)
    assert exported.headers["content-type"].startswith("application/yaml")
    layout = yaml.safe_load(exported.text)
    planned = {g["grid_code"]: sorted(g["areas"]) for g in plan["grids"]}
    assert {g["code"]: sorted(g["divisions"]) for g in layout["grids"]} == planned
    exported_file = tmp_path / "exported.yaml"
    exported_file.write_text(exported.text, encoding="utf-8")
    importer.load(exported_file)  # the export is a layout file `registry import` accepts
    adopted = client.post(f"/api/plans/{plan['id']}/adopt", headers=auth)
    assert adopted.status_code == 200 and adopted.json()["state"] == "adopted"
    again = client.post(f"/api/plans/{plan['id']}/adopt", headers=auth)
    assert again.status_code == 409
    assert registry.layout_version(session, "planville") >= 2


def test_refusals_are_422_with_the_field(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    auth = _setup(session, tmp_path)
    for body, field in (
        ({"grids": 4}, "grids"),
        ({"grids": 0}, "grids"),
        ({"grids": 2, "population_min": 300_000, "population_max": 200_000}, "population_min"),
        ({"grids": 2, "max_seconds": 100_000}, "max_seconds"),
        ({"grids": 2, "bogus": 1}, "bogus"),
    ):
        response = client.post("/api/cities/planville/plans", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (body, response.text)
    assert client.get("/api/plans/99999999999999999999", headers=auth).status_code == 422
    assert client.get("/api/plans/2147483647", headers=auth).status_code == 404
    assert client.get("/api/cities/nowhere/planning", headers=auth).status_code == 404


def test_only_the_regulator_sees_the_planner(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    _setup(session, tmp_path)
    office = bearer(
        session, make_principal(session, "plan-office", Role.NETWORK_ADMIN, network="pv-net-a")
    )
    assert client.get("/api/cities/planville/planning", headers=office).status_code == 403
    assert client.get("/planning/planville", headers=office).status_code == 403


def test_pages_draw_a_plan_from_the_form(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    auth = _setup(session, tmp_path)
    city = client.get("/planning/planville", headers=auth)
    assert city.status_code == 200 and 'id="plan-form"' in city.text
    bad = client.post(
        "/planning/planville/plans", data={"grids": "two", "contiguous": "on"}, headers=auth
    )
    assert bad.status_code == 422 and "不是数字" in bad.text
    response = client.post(
        "/planning/planville/plans",
        data={"grids": "2", "contiguous": "on", "max_seconds": "10"},
        headers=auth,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], headers=auth)
    assert page.status_code == 200 and page.text.count('data-passed="true"') == 4
    assert 'id="adopt-plan"' in page.text
    listing = client.get("/planning", headers=auth)
    assert 'data-city="planville"' in listing.text


def test_a_plans_state_is_a_word_of_the_page_language(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    auth = _setup(session, tmp_path)
    drawn = client.post(
        "/planning/planville/plans",
        data={"grids": "2", "contiguous": "on", "max_seconds": "10"},
        headers=auth,
        follow_redirects=False,
    )
    url = drawn.headers["location"]
    plan_id = url.rsplit("/", 1)[-1]
    state = '<span class="badge state-{}" id="plan-state" data-state="{}">{}</span>'
    assert state.format("pending", "proposed", "待采用") in client.get(url, headers=auth).text
    client.cookies.set("caregrid_lang", "en")
    english = client.get(url, headers=auth).text
    city = client.get("/planning/planville", headers=auth).text
    client.cookies.clear()
    assert state.format("pending", "proposed", "Proposed") in english
    assert f'<td><a href="/planning/plans/{plan_id}">{plan_id}</a></td><td>Proposed</td>' in city
    client.post(f"{url}/adopt", headers=auth)
    again = client.post(f"{url}/adopt", headers=auth)
    assert state.format("met", "adopted", "已采用") in again.text
    assert f"方案 {plan_id} 为已采用状态" in again.text and "adopted" not in _visible(again.text)


def _visible(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page.split("<body", 1)[-1])
