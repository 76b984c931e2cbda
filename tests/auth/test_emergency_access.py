"""Emergency access is bounded: the clinician's own networks (or a referral in force with
them), a coded reason with free text, a time limit per grant, a daily cap per account, and
an alert on the auditors' page.

Fixture layout (tests/factories.py): t-net-a = {t-lead-a, t-sec-a, t-chc-a}, t-net-b =
{t-lead-b, t-chc-b}. The clinician works at t-chc-a; "in-network" residents are registered at
t-sec-a (no care relationship with t-chc-a), "outside" ones at t-chc-b.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import make_principal
from tests.factories import layout, write_layout

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.config import get_settings
from caregrid.registry import importer
from caregrid.registry import service as registry
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REASON = {"reason_code": "unconscious", "reason_text": "患者昏迷送入急诊，无家属陪同，需查既往史"}


def _id(seq: int) -> str:
    body = f"90010119800101{seq:03d}"
    return body + national_id.check_digit(body)


def _resident(session: Session, seq: int, institution: str) -> int:
    return residents.create(
        session,
        SYSTEM,
        ResidentIn(
            national_id=_id(seq),
            name=f"居民{seq}",
            phone=f"138000000{seq:02d}",
            address_division_code="900101",
            registered_institution_code=institution,
        ),
    ).id


def _headers(session: Session, principal: Principal) -> dict[str, str]:
    user = auth.get_by_username(session, principal.username)
    assert user is not None
    return {"Authorization": f"Bearer {auth.issue_token(session, user, kind='api', hours=24 * 30)}"}


@pytest.fixture
def world(session: Session, tmp_path: Path) -> Any:
    with clock.frozen(T0):
        importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
        inside = [_resident(session, seq, "t-sec-a") for seq in range(1, 8)]
        outside = _resident(session, 20, "t-chc-b")
        referred = _resident(session, 21, "t-chc-b")
        clinician = make_principal(session, "e-clinician", Role.CLINICIAN, institution="t-chc-a")
        other = make_principal(session, "e-other", Role.CLINICIAN, institution="t-chc-b")
        auditor = make_principal(session, "e-auditor", Role.AUDITOR)
        yield {
            "inside": inside,
            "outside": outside,
            "referred": referred,
            "clinician": clinician,
            "headers": _headers(session, clinician),
            "other": _headers(session, other),
            "auditor": _headers(session, auditor),
        }


def _grant(client: TestClient, world: Any, resident_id: int, **body: str) -> Any:
    return client.post(
        f"/api/residents/{resident_id}/emergency-access",
        json={**REASON, **body},
        headers=world["headers"],
    )


def test_outside_the_network_is_refused_naming_why(client: TestClient, world: Any) -> None:
    with clock.frozen(T0):
        response = _grant(client, world, world["outside"])
        assert response.status_code == 403
        assert "registered elsewhere" in response.json()["detail"]
        assert (
            client.get(f"/api/residents/{world['outside']}", headers=world["headers"]).status_code
            == 403
        )


def test_in_network_grant_opens_the_record_unmasked_and_is_audited(
    client: TestClient, world: Any, session: Session
) -> None:
    resident = world["inside"][0]
    url = f"/api/residents/{resident}"
    with clock.frozen(T0):
        assert client.get(url, headers=world["headers"]).status_code == 403
        response = _grant(client, world, resident)
        assert response.status_code == 201
        body = response.json()
        assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(minutes=60)
        assert body["reason_code"] == "unconscious"
        entry = next(e for e in audit.entries(session, limit=5) if e.action == "emergency.grant")
        assert entry.subject_id == str(resident) and entry.actor == "e-clinician"
        assert entry.detail is not None and entry.detail["reason_code"] == "unconscious"
        read = client.get(url, headers=world["headers"]).json()  # no reason sent again
    assert read["access_basis"] == "emergency" and read["national_id"] == _id(1)
    assert read["phone"] == "13800000001"


def test_a_referral_in_force_lets_a_clinician_of_another_network_in(
    client: TestClient, world: Any, session: Session
) -> None:
    lead_a = registry.require_institution(session, "t-lead-a")
    chc_b = registry.require_institution(session, "t-chc-b")
    with clock.frozen(T0):
        assert _grant(client, world, world["referred"]).status_code == 403
        # A referral sent from t-chc-b to t-lead-a (t-net-a, the clinician's network).
        access.relate(
            session,
            kind=access.Relationship.REFERRAL,
            source_id=424242,
            resident_id=world["referred"],
            institution_ids={chc_b.id, lead_a.id},
        )
        assert _grant(client, world, world["referred"]).status_code == 201
        # Once the referral is cancelled, the resident is outside the clinician's reach again.
        access.relate(
            session,
            kind=access.Relationship.REFERRAL,
            source_id=424242,
            resident_id=world["referred"],
            institution_ids=set(),
        )
    with clock.frozen(T0 + timedelta(hours=2)):
        assert _grant(client, world, world["referred"]).status_code == 403


def test_an_unknown_reason_code_is_refused_naming_the_field(client: TestClient, world: Any) -> None:
    with clock.frozen(T0):
        response = _grant(client, world, world["inside"][0], reason_code="bored")
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["reason_code"]
        short = _grant(client, world, world["inside"][0], reason_text="急诊")
        assert short.status_code == 422
        assert [e["field"] for e in short.json()["errors"]] == ["reason_text"]
        bidi = _grant(client, world, world["inside"][0], reason_text="患者昏迷送入急诊\u202e无家属")
        assert bidi.status_code == 422


def test_a_grant_ends_exactly_after_its_minutes(client: TestClient, world: Any) -> None:
    minutes = get_settings().emergency_grant_minutes
    url = f"/api/residents/{world['inside'][0]}"
    with clock.frozen(T0):
        assert _grant(client, world, world["inside"][0]).status_code == 201
    with clock.frozen(T0 + timedelta(minutes=minutes) - timedelta(microseconds=1)):
        assert client.get(url, headers=world["headers"]).json()["access_basis"] == "emergency"
    with clock.frozen(T0 + timedelta(minutes=minutes)):
        assert client.get(url, headers=world["headers"]).status_code == 403
        # Once over, a new grant may be opened.
        assert _grant(client, world, world["inside"][0]).status_code == 201


def test_a_second_grant_while_one_runs_is_a_conflict(client: TestClient, world: Any) -> None:
    with clock.frozen(T0):
        assert _grant(client, world, world["inside"][0]).status_code == 201
    with clock.frozen(T0 + timedelta(minutes=30)):
        assert _grant(client, world, world["inside"][0]).status_code == 409


def test_the_daily_cap_answers_429_with_retry_after(client: TestClient, world: Any) -> None:
    cap = get_settings().emergency_grants_per_day
    assert len(world["inside"]) > cap
    for n in range(cap):
        with clock.frozen(T0 + timedelta(hours=n)):
            assert _grant(client, world, world["inside"][n]).status_code == 201
    with clock.frozen(T0 + timedelta(hours=cap)):
        refused = _grant(client, world, world["inside"][cap])
        assert refused.status_code == 429
        # The first grant (at T0) leaves the 24-hour window at T0 + 24 h.
        assert refused.headers["Retry-After"] == str((24 - cap) * 3600)
    with clock.frozen(T0 + timedelta(hours=24)):
        assert _grant(client, world, world["inside"][cap]).status_code == 201


def test_a_percent_encoded_chinese_reason_in_the_header_opens_a_grant(
    client: TestClient, world: Any, session: Session
) -> None:
    url = f"/api/residents/{world['inside'][1]}"
    header = quote("life_threatening:过敏性休克，需立即查阅过敏史与用药记录")
    with clock.frozen(T0):
        response = client.get(url, headers={**world["headers"], "X-Emergency-Reason": header})
        assert response.status_code == 200
        assert response.json()["access_basis"] == "emergency"
        assert response.json()["national_id"] == _id(2)
        grants = auth.emergency_alerts(session, Principal("a", frozenset({Role.AUDITOR})))
        assert grants[0].reason_text == "过敏性休克，需立即查阅过敏史与用药记录"
        # The same header again reads through the running grant instead of refusing.
        again = client.get(url, headers={**world["headers"], "X-Emergency-Reason": header})
        assert again.status_code == 200
        bad = client.get(
            url, headers={**world["headers"], "X-Emergency-Reason": "other:%E6%82%A3%FF%FE abc"}
        )
        assert bad.status_code == 422 and "X-Emergency-Reason" in bad.json()["detail"]
        uncoded = client.get(
            f"/api/residents/{world['inside'][2]}",
            headers={**world["headers"], "X-Emergency-Reason": "unconscious%20patient%20in%20AE"},
        )
        assert uncoded.status_code == 422 and "X-Emergency-Reason" in uncoded.json()["detail"]


def test_the_auditor_page_shows_the_alert_and_refuses_others(
    client: TestClient, world: Any
) -> None:
    with clock.frozen(T0):
        assert _grant(client, world, world["inside"][0]).status_code == 201
    with clock.frozen(T0 + timedelta(days=1)):
        page = client.get("/audit", headers={**world["auditor"], "Accept": "text/html"})
        assert page.status_code == 200
        assert 'id="emergency-alerts"' in page.text and "e-clinician" in page.text
        assert REASON["reason_text"] in page.text
        assert _id(1)[:6] + "*" * 8 + _id(1)[-4:] in page.text and _id(1) not in page.text
        assert client.get("/audit", headers=world["headers"]).status_code == 403
    with clock.frozen(T0 + timedelta(days=get_settings().emergency_alert_days, seconds=1)):
        later = client.get("/audit", headers=world["auditor"])
        assert 'id="no-alerts"' in later.text


def test_the_resident_page_offers_the_form_and_opens_the_record(
    client: TestClient, world: Any
) -> None:
    resident = world["inside"][0]
    with clock.frozen(T0):
        page = client.get(f"/residents/{resident}", headers=world["headers"])
        assert page.status_code == 403 and 'id="emergency-form"' in page.text
        assert "unconscious" in page.text
        sent = client.post(
            f"/residents/{resident}/emergency-access",
            data={"reason_code": "life_threatening", "reason_text": "短"},
            headers=world["headers"],
            follow_redirects=False,
        )
        assert sent.status_code == 422 and 'id="error-emergency-reason_text"' in sent.text
        sent = client.post(
            f"/residents/{resident}/emergency-access",
            data=REASON,
            headers=world["headers"],
            follow_redirects=False,
        )
        assert sent.status_code == 303
        opened = client.get(f"/residents/{resident}", headers=world["headers"])
        assert opened.status_code == 200 and _id(1) in opened.text
