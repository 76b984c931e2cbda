"""The access matrix over real HTTP: role x resource x own / other institution.

Fixture layout (tests/factories.py): t-net-a = {t-lead-a, t-sec-a, t-chc-a}, t-net-b = {t-lead-b,
t-chc-b}. Every account below belongs to t-chc-a (or its network t-net-a); "own" resources live
at t-chc-a, "other" ones at t-chc-b in the other network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal
from tests.factories import layout, write_layout

from caregrid.auth.roles import SYSTEM, Role
from caregrid.registry import importer
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn

ROLES = list(Role)


def _id(seq: int) -> str:
    body = f"90010119800101{seq:03d}"
    return body + national_id.check_digit(body)


@pytest.fixture
def world(session: Session, tmp_path: Path) -> dict[str, object]:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    own = residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=_id(1),
            name="本院居民",
            phone="13800000001",
            address_division_code="900101",
            registered_institution_code="t-chc-a",
        ),
    )
    other = residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=_id(3),
            name="他院居民",
            phone="13800000003",
            address_division_code="900102",
            registered_institution_code="t-chc-b",
        ),
    )
    headers = {}
    for role in ROLES:
        scope = {"network": "t-net-a"} if role is Role.NETWORK_ADMIN else {}
        if role in (Role.INSTITUTION_ADMIN, Role.CLINICIAN, Role.FAMILY_DOCTOR):
            scope = {"institution": "t-chc-a"}
        if role is Role.NETWORK_ADMIN:
            scope["institution"] = "t-lead-a"
        principal = make_principal(session, f"m-{role.value}", role, **scope)
        headers[role] = bearer(session, principal)
    return {"own": own.id, "other": other.id, "headers": headers}


# expected HTTP status per role for: read own resident, read other resident
READ = {
    Role.REGULATOR: (403, 403),
    Role.AUDITOR: (403, 403),
    Role.NETWORK_ADMIN: (200, 403),
    Role.INSTITUTION_ADMIN: (200, 403),
    Role.CLINICIAN: (200, 403),
    Role.FAMILY_DOCTOR: (200, 403),
}
# whether the national ID comes back whole on "own"
UNMASKED = {
    Role.NETWORK_ADMIN: False,
    Role.INSTITUTION_ADMIN: False,
    Role.CLINICIAN: True,
    Role.FAMILY_DOCTOR: True,
}
# register a resident at own / other institution
CREATE = {
    Role.REGULATOR: (403, 403),
    Role.AUDITOR: (403, 403),
    Role.NETWORK_ADMIN: (403, 403),
    Role.INSTITUTION_ADMIN: (201, 403),
    Role.CLINICIAN: (201, 403),
    Role.FAMILY_DOCTOR: (201, 403),
}
# add a department at own (t-chc-a) / other (t-chc-b) institution
DEPARTMENT = {
    Role.REGULATOR: (403, 403),
    Role.AUDITOR: (403, 403),
    Role.NETWORK_ADMIN: (201, 403),
    Role.INSTITUTION_ADMIN: (201, 403),
    Role.CLINICIAN: (403, 403),
    Role.FAMILY_DOCTOR: (403, 403),
}
AUDIT_READ = {role: 200 if role is Role.AUDITOR else 403 for role in ROLES}
LAYOUT_IMPORT = {role: 201 if role is Role.REGULATOR else 403 for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_read_resident(role: Role, client: TestClient, world: dict[str, Any]) -> None:
    headers = world["headers"][role]
    own = client.get(f"/api/residents/{world['own']}", headers=headers)
    other = client.get(f"/api/residents/{world['other']}", headers=headers)
    assert (own.status_code, other.status_code) == READ[role]
    if own.status_code == 200:
        body = own.json()
        assert (body["national_id"] == _id(1)) is UNMASKED[role]
        assert (body["phone"] == "13800000001") is UNMASKED[role]
        if not UNMASKED[role]:
            assert body["national_id"] == _id(1)[:6] + "*" * 8 + _id(1)[-4:]
            assert body["phone"] == "138****0001"
    if other.status_code == 403:
        assert other.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ROLES)
def test_register_resident(role: Role, client: TestClient, world: dict[str, Any]) -> None:
    headers = world["headers"][role]
    codes = []
    for n, institution in ((5, "t-chc-a"), (7, "t-chc-b")):
        response = client.post(
            "/api/residents",
            headers=headers,
            json={
                "national_id": _id(n),
                "name": "新居民",
                "address_division_code": "900101",
                "registered_institution_code": institution,
            },
        )
        codes.append(response.status_code)
    assert tuple(codes) == CREATE[role]


@pytest.mark.parametrize("role", ROLES)
def test_add_department(role: Role, client: TestClient, world: dict[str, Any]) -> None:
    headers = world["headers"][role]
    codes = tuple(
        client.post(
            f"/api/institutions/{inst}/departments",
            headers=headers,
            json={"code": "gp", "name_zh": "全科"},
        ).status_code
        for inst in ("t-chc-a", "t-chc-b")
    )
    assert codes == DEPARTMENT[role]


@pytest.mark.parametrize("role", ROLES)
def test_read_audit_log(role: Role, client: TestClient, world: dict[str, Any]) -> None:
    assert client.get("/api/audit", headers=world["headers"][role]).status_code == AUDIT_READ[role]


@pytest.mark.parametrize("role", ROLES)
def test_import_layout(role: Role, client: TestClient, world: dict[str, Any]) -> None:
    body = yaml.safe_dump(layout(), allow_unicode=True).encode()
    response = client.post(
        "/api/layouts",
        headers={**world["headers"][role], "Content-Type": "application/yaml"},
        content=body,
    )
    assert response.status_code == LAYOUT_IMPORT[role]


@pytest.mark.parametrize("role", ROLES)
def test_registry_is_readable_by_everyone_signed_in(
    role: Role, client: TestClient, world: dict[str, Any]
) -> None:
    response = client.get("/api/networks/t-net-a", headers=world["headers"][role])
    assert response.status_code == 200
    assert [m["institution"]["code"] for m in response.json()["members"]] == [
        "t-lead-a",
        "t-sec-a",
        "t-chc-a",
    ]


def test_emergency_access_needs_a_coded_reason_and_stays_in_the_network(
    client: TestClient, world: dict[str, Any], session: Session
) -> None:
    """The resident of another network stays closed whatever the reason; a resident of the
    clinician's own network opens with a coded reason (tests/auth/test_emergency_access.py
    covers the rest)."""
    from urllib.parse import quote

    from caregrid.auth import audit

    headers = world["headers"][Role.CLINICIAN]
    other = f"/api/residents/{world['other']}"
    reason = quote("unconscious:unconscious patient in A&E")
    assert client.get(other, headers={**headers, "X-Emergency-Reason": reason}).status_code == 403
    uncoded = {**headers, "X-Emergency-Reason": "unconscious patient in A&E"}
    assert client.get(other, headers=uncoded).status_code == 422
    sibling = residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=_id(4),
            name="同集团居民",
            phone="13800000004",
            address_division_code="900101",
            registered_institution_code="t-sec-a",
        ),
    )
    url = f"/api/residents/{sibling.id}"
    assert client.get(url, headers=headers).status_code == 403
    response = client.get(url, headers={**headers, "X-Emergency-Reason": reason})
    assert response.status_code == 200 and response.json()["access_basis"] == "emergency"
    assert response.json()["national_id"] == _id(4)
    grant, read = audit.entries(session, limit=2)[::-1]
    assert grant.action == "emergency.grant" and grant.actor == "m-clinician"
    assert grant.detail is not None and grant.detail["reason_code"] == "unconscious"
    assert grant.detail["reason_text"] == "unconscious patient in A&E"
    assert read.action == "resident.read"
    assert read.detail == {"basis": "emergency", "masked": False}
