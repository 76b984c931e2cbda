"""The web shell over real HTTP: every route behind sign-in unless public, login and language,
problem+json errors, pages in zh-CN and English, identifiers masked on pages."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, form_token, make_principal
from tests.factories import layout, write_layout

from caregrid.auth.roles import SYSTEM, Role
from caregrid.registry import importer
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from caregrid.web.app import PUBLIC, ROUTERS

PASSWORD = "correct horse battery"


def _routes() -> list[tuple[str, str]]:
    found = []
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods or ():
                found.append((method, route.path))
    return found


def test_every_non_public_route_needs_sign_in(client: TestClient) -> None:
    checked = 0
    for method, path in _routes():
        if path in PUBLIC:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, follow_redirects=False)
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        media = "application/fhir+json" if path.startswith("/fhir") else "application/problem+json"
        assert response.headers["content-type"] == media  # the FHIR base: an OperationOutcome
        checked += 1
    assert checked >= 20


def test_pages_redirect_to_login_when_signed_out(client: TestClient) -> None:
    response = client.get("/networks", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/networks"


def test_public_routes_answer_without_sign_in(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "CareGrid" and "/api/residents" in spec["paths"]


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/networks",
            "csrf_token": form_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/networks"


def test_login_language_switch_and_network_page(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    make_principal(session, "planner", Role.REGULATOR)
    wrong = client.post(
        "/login",
        data={
            "username": "planner",
            "password": "nope-nope-nope",
            "csrf_token": form_token(client),
        },
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    _sign_in(client, "planner")
    page = client.get("/networks/t-net-a")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "按层级的成员单位" in page.text and "牵头 · 市级" in page.text
    assert re.search(r'data-requirement="A2">.*?status pass', page.text, re.S)
    with_query = client.get("/networks/t-net-a?year=2025&tab=a b").text
    link = re.search(r'id="lang-switch" href="([^"]+)"', with_query)
    assert link and link.group(1) == "/lang/en?next=/networks/t-net-a%3Fyear%3D2025%26tab%3Da%2520b"
    kept = client.get(html.unescape(link.group(1)), follow_redirects=False)
    assert kept.headers["location"] == "/networks/t-net-a?year=2025&tab=a%20b"  # query kept
    switched = client.get("/lang/en?next=/networks/t-net-a", follow_redirects=True)
    assert 'lang="en"' in switched.text and "Members by tier" in switched.text
    assert "Lead · City tier" in switched.text


def test_open_redirect_is_refused(client: TestClient) -> None:
    response = client.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_logout_revokes_the_session(client: TestClient, session: Session) -> None:
    make_principal(session, "leaver", Role.AUDITOR)
    _sign_in(client, "leaver")
    assert client.get("/api/me").json()["username"] == "leaver"
    client.post("/logout", data={"csrf_token": form_token(client, "/")})
    assert client.get("/api/me").status_code == 401


def test_problem_json_for_bad_input(client: TestClient, session: Session, tmp_path: Path) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    headers = bearer(session, make_principal(session, "gp", Role.CLINICIAN, institution="t-chc-a"))
    response = client.post(
        "/api/residents",
        headers=headers,
        json={
            "national_id": "900101195803120011",
            "name": "x",
            "address_division_code": "900101",
            "registered_institution_code": "t-chc-a",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Invalid input" and body["errors"][0]["field"] == "national_id"
    assert "check digit" in body["errors"][0]["message"]
    malformed = client.post("/api/residents", headers=headers, json={"name": 5})
    assert malformed.status_code == 422 and malformed.json()["title"] == "Malformed request"
    missing = client.get("/api/networks/none", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "no network with code 'none'"


def test_a_formula_typed_as_a_name_is_neutralised_in_the_csv_export(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    body = "90010119580312002"
    residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=body + national_id.check_digit(body),
            name='=HYPERLINK("x")',
            phone="13912345670",
            address_division_code="900101",
            registered_institution_code="t-chc-a",
        ),
    )
    make_principal(session, "csv-admin", Role.INSTITUTION_ADMIN, institution="t-chc-a")
    _sign_in(client, "csv-admin")
    export = client.get("/api/residents/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["name"] for r in rows if "HYPERLINK" in r["name"]] == ['\'=HYPERLINK("x")']


def test_identifiers_are_masked_on_pages_for_admins(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    body = "90010119580312001"
    value = body + national_id.check_digit(body)
    residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=value,
            name="张三",
            phone="13912345678",
            address_division_code="900101",
            registered_institution_code="t-chc-a",
        ),
    )
    make_principal(session, "unit-admin", Role.INSTITUTION_ADMIN, institution="t-chc-a")
    _sign_in(client, "unit-admin")
    page = client.get("/residents").text
    assert "张三" in page and value not in page and "13912345678" not in page
    assert value[:6] + "********" + value[-4:] in page and "139****5678" in page
    export = client.get("/api/residents/export.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert value not in export.text and "139****5678" in export.text and "张三" in export.text
    make_principal(session, "gp2", Role.FAMILY_DOCTOR, institution="t-chc-a")
    client.post("/logout", data={"csrf_token": form_token(client, "/")})
    _sign_in(client, "gp2")
    assert value in client.get("/residents").text


def test_a_bad_query_value_gives_a_page_in_the_browser_and_json_to_the_api(
    client: TestClient, session: Session
) -> None:
    headers = bearer(session, make_principal(session, "planner-q", Role.REGULATOR))
    page = client.get(
        "/networks/t-net-a/cockpit?year=abc", headers={**headers, "Accept": "text/html"}
    )
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "请求参数有误" in page.text and "年度：不是整数" in page.text
    client.cookies.set("caregrid_lang", "en")
    english = client.get(
        "/networks/t-net-a/cockpit?year=abc", headers={**headers, "Accept": "text/html"}
    )
    assert "Year: is not a whole number" in english.text
    api = client.get("/api/networks/t-net-a/indicators?year=abc", headers=headers)
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "query.year"
