"""A browser's cookie can only write from this site, through a form this site gave it; JSON
endpoints take JSON; every page carries the headers a security review asks for."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, form_token, make_principal

from caregrid.auth.roles import Role
from caregrid.config import get_settings
from caregrid.web.render import script_json

PASSWORD = "correct horse battery"
HOSTILE = "https://evil.example"


def _sign_in(client: TestClient, username: str, **headers: str) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": form_token(client)},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def signed_in(client: TestClient, session: Session) -> TestClient:
    make_principal(session, "auditor-csrf", Role.AUDITOR)
    _sign_in(client, "auditor-csrf")
    assert client.get("/api/me").status_code == 200
    return client


def test_a_cross_site_sign_out_is_refused_and_the_session_lives(signed_in: TestClient) -> None:
    token = form_token(signed_in, "/")
    refused = signed_in.post("/logout", data={"csrf_token": token}, headers={"Origin": HOSTILE})
    assert refused.status_code == 403 and "evil.example" in refused.text
    by_referer = signed_in.post(
        "/logout", data={"csrf_token": token}, headers={"Referer": f"{HOSTILE}/page"}
    )
    assert by_referer.status_code == 403
    assert signed_in.get("/api/me").status_code == 200
    same_site = signed_in.post(
        "/logout", data={"csrf_token": token}, headers={"Origin": "http://testserver"}
    )
    assert same_site.status_code in (200, 303)
    assert signed_in.get("/api/me").status_code == 401


def test_a_form_post_needs_its_token(signed_in: TestClient, client: TestClient) -> None:
    assert signed_in.post("/logout").status_code == 403  # no token
    assert signed_in.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
    assert signed_in.get("/api/me").status_code == 200


def test_a_token_from_another_session_is_worthless(session: Session, signed_in: TestClient) -> None:
    from caregrid.web.app import create_app
    from caregrid.web.deps import db_session

    make_principal(session, "other-csrf", Role.AUDITOR)
    app = create_app()

    def _session() -> Iterator[Session]:
        yield session

    app.dependency_overrides[db_session] = _session
    with TestClient(app) as other:
        _sign_in(other, "other-csrf")
        foreign = form_token(other, "/")
    assert signed_in.post("/logout", data={"csrf_token": foreign}).status_code == 403
    assert signed_in.get("/api/me").status_code == 200


def test_the_sign_in_form_needs_a_token_bound_to_the_browser(
    client: TestClient, session: Session
) -> None:
    make_principal(session, "nurse-csrf", Role.AUDITOR)
    no_token = client.post("/login", data={"username": "nurse-csrf", "password": PASSWORD})
    assert no_token.status_code == 403
    token = form_token(client)
    client.cookies.clear()  # the same token without the browser's pre-session cookie
    stale = client.post(
        "/login", data={"username": "nurse-csrf", "password": PASSWORD, "csrf_token": token}
    )
    assert stale.status_code == 403


def test_a_json_endpoint_refuses_other_content_types(
    session: Session, signed_in: TestClient
) -> None:
    forged = signed_in.post(
        "/api/fhir/results",
        content='{"resourceType": "Bundle"}',
        headers={"Content-Type": "text/plain", "Origin": HOSTILE},
    )
    assert forged.status_code == 415 and "text/plain" in forged.json()["detail"]
    cross_site_json = signed_in.post(
        "/api/fhir/results",
        content='{"resourceType": "Bundle"}',
        headers={"Content-Type": "application/json", "Origin": HOSTILE},
    )
    assert cross_site_json.status_code == 403
    token = bearer(session, make_principal(session, "api-csrf", Role.REGULATOR))
    for kind in ("text/plain", "application/x-www-form-urlencoded", ""):
        sent = signed_in.post(
            "/api/residents",
            content=json.dumps({"name": "x"}),
            headers={**token, "Content-Type": kind},
        )
        assert sent.status_code == 415, (kind, sent.text)
    typed = signed_in.post("/api/residents", json={"name": "x"}, headers=token)
    assert typed.status_code not in (403, 415)  # past the guard, to the handler's own checks


def test_pages_carry_csp_and_no_store_and_static_files_may_be_cached(
    signed_in: TestClient,
) -> None:
    page = signed_in.get("/", headers={"Accept": "text/html"})
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert signed_in.get("/api/me").headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in page.headers  # plain http
    assert "<script>" not in page.text and not re.search(r"\son[a-z]+=\"", page.text)
    static = signed_in.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_over_https_behind_a_trusted_proxy_hsts_and_secure_cookies(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_principal(session, "tls-csrf", Role.AUDITOR)
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = client.get("/login", headers=forwarded)
    assert "Strict-Transport-Security" not in untrusted.headers  # the client's own claim
    monkeypatch.setenv("CAREGRID_TRUST_FORWARDED_PROTO", "true")
    get_settings.cache_clear()
    try:
        page = client.get("/login", headers=forwarded)
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        signed = client.post(
            "/login",
            data={"username": "tls-csrf", "password": PASSWORD, "csrf_token": token.group(1)},
            headers={**forwarded, "Origin": "https://testserver"},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "caregrid_session=" in cookie and "secure" in cookie.lower()
    finally:
        monkeypatch.delenv("CAREGRID_TRUST_FORWARDED_PROTO")
        get_settings.cache_clear()


def test_script_data_cannot_end_its_element() -> None:
    text = str(script_json({"name": "</script><script>alert(1)</script>", "and": "a&b"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>", "and": "a&b"}
