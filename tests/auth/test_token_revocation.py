"""An administrator revokes every token of an account within their scope, over real HTTP:
the revoked tokens are 401 at once, an admin of another institution or network is 403, an
unknown name is 404, and the revocation is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal

from caregrid.auth import service as auth
from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import SYSTEM, Principal, Role

# jh-wc-chengdong is a member of the Wucheng group (jh-rmyy-wucheng); jh-zxyy leads the
# Jindong group (jh-zxyy-jindong) and is not in Wucheng.
HOME = "jh-wc-chengdong"
ELSEWHERE = "jh-zxyy"


def _doctor(session: Session) -> tuple[Principal, dict[str, str], dict[str, str]]:
    doctor = make_principal(session, "rv-doctor", Role.CLINICIAN, institution=HOME)
    return doctor, bearer(session, doctor), bearer(session, doctor)


def _revoke(client: TestClient, headers: dict[str, str], username: str = "rv-doctor") -> int:
    return int(client.post(f"/api/users/{username}/revoke-tokens", headers=headers).status_code)


def test_institution_admin_revokes_and_the_tokens_are_401(
    session: Session, client: TestClient
) -> None:
    doctor, first, second = _doctor(session)
    admin = bearer(
        session, make_principal(session, "rv-admin", Role.INSTITUTION_ADMIN, institution=HOME)
    )
    assert client.get("/api/me", headers=first).status_code == 200

    answer = client.post("/api/users/rv-doctor/revoke-tokens", headers=admin)
    assert answer.status_code == 200
    assert answer.json() == {"username": "rv-doctor", "revoked": 2}
    assert client.get("/api/me", headers=first).status_code == 401
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.get("/api/me", headers=admin).status_code == 200  # only that account's
    # Again: nothing left to revoke.
    assert client.post("/api/users/rv-doctor/revoke-tokens", headers=admin).json()["revoked"] == 0

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "token.revoke_all").order_by(AuditEntry.seq)
    ).first()
    assert entry is not None
    assert (entry.actor, entry.subject_type, entry.subject_id) == (
        "rv-admin",
        "user",
        str(doctor.user_id),
    )
    assert entry.detail == {"revoked": 2}


def test_another_institutions_admin_is_403_and_the_token_still_works(
    session: Session, client: TestClient
) -> None:
    _, token, _ = _doctor(session)
    other = bearer(
        session, make_principal(session, "rv-other", Role.INSTITUTION_ADMIN, institution=ELSEWHERE)
    )
    assert _revoke(client, other) == 403
    assert client.get("/api/me", headers=token).status_code == 200


def test_network_admin_reaches_its_members_only(session: Session, client: TestClient) -> None:
    _, token, _ = _doctor(session)
    elsewhere = bearer(
        session,
        make_principal(session, "rv-jindong", Role.NETWORK_ADMIN, network="jh-zxyy-jindong"),
    )
    assert _revoke(client, elsewhere) == 403
    assert client.get("/api/me", headers=token).status_code == 200
    own = bearer(
        session,
        make_principal(session, "rv-wucheng", Role.NETWORK_ADMIN, network="jh-rmyy-wucheng"),
    )
    assert _revoke(client, own) == 200
    assert client.get("/api/me", headers=token).status_code == 401


def test_regulator_reaches_any_account_and_others_none(
    session: Session, client: TestClient
) -> None:
    _, token, _ = _doctor(session)
    colleague = bearer(
        session, make_principal(session, "rv-colleague", Role.CLINICIAN, institution=HOME)
    )
    auditor = bearer(session, make_principal(session, "rv-auditor", Role.AUDITOR))
    assert _revoke(client, colleague) == 403
    assert _revoke(client, auditor) == 403
    assert _revoke(client, colleague, "rv-nobody") == 403  # no hint whether the name exists
    regulator = bearer(session, make_principal(session, "rv-regulator", Role.REGULATOR))
    assert _revoke(client, regulator, "rv-nobody") == 404
    assert _revoke(client, regulator) == 200
    assert client.get("/api/me", headers=token).status_code == 401


def test_an_account_of_no_institution_is_the_commissions_alone(
    session: Session, client: TestClient
) -> None:
    make_principal(session, "rv-audit-2", Role.AUDITOR)
    admin = bearer(
        session, make_principal(session, "rv-admin-2", Role.INSTITUTION_ADMIN, institution=HOME)
    )
    assert _revoke(client, admin, "rv-audit-2") == 403
    assert auth.revoke_user_tokens(session, SYSTEM, "rv-audit-2") == 0
