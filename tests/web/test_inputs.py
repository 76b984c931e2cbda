"""Odd input is refused with the field and the reason, never a server error: row ids beyond
a row id column, NUL and control characters in text, bodies above the limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal

from caregrid.auth.roles import Role
from caregrid.config import get_settings


@pytest.fixture
def auth(session: Session) -> dict[str, str]:
    return bearer(session, make_principal(session, "input-reg", Role.REGULATOR))


def _fields(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    return {e["field"]: e["message"] for e in body["errors"]}


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775808", "99999999999999999999999"])
def test_a_path_id_beyond_a_row_id_is_422(
    client: TestClient, auth: dict[str, str], value: str
) -> None:
    response = client.get(f"/api/referrals/{value}", headers=auth)
    assert response.status_code == 422, response.text
    assert "path.referral_id" in _fields(response)


def test_the_largest_row_id_is_looked_up(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/referrals/2147483647", headers=auth).status_code == 404


def test_nul_in_a_json_field_names_the_field(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/residents", json={"name": "a\u0000b", "national_id": "x"}, headers=auth
    )
    assert response.status_code == 422
    assert _fields(response) == {"name": "control character U+0000 is not allowed in text"}


def test_an_id_in_a_body_and_a_query(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/referrals", json={"resident_id": 2**31, "items": [{"slot_id": -1}]}, headers=auth
    )
    assert response.status_code == 422
    assert set(_fields(response)) == {"resident_id", "items[0].slot_id"}
    response = client.get("/api/residents?q=a%00b", headers=auth)
    assert response.status_code == 422 and "query.q" in _fields(response)


def test_control_characters_in_a_form_and_newlines_kept(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(
        "/planning/none/plans",
        data={"grids": "2\x07"},
        headers={**auth, "accept": "application/json"},
    )
    assert response.status_code == 422 and "form.grids" in _fields(response)
    fine = client.post("/api/cities/none/plans", json={"grids": 2, "profile": "a\tb"}, headers=auth)
    assert fine.status_code == 404  # tabs and newlines are text: the city is what is missing


def test_a_body_above_the_limit_is_413(client: TestClient, auth: dict[str, str]) -> None:
    limit = get_settings().max_body_bytes
    response = client.post(
        "/api/residents",
        content=b'{"name": "' + b"x" * limit + b'"}',
        headers={**auth, "content-type": "application/json"},
    )
    assert response.status_code == 413 and str(limit) in response.json()["detail"]
