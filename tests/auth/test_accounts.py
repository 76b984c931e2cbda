"""Account administration over real HTTP (the pages and the API): an institution's admin
creates, disables, re-enables and resets its own staff's accounts and grants only the roles of
an institution; other institutions, other roles and one's own account are refused; a name
taken is 409 from the unique constraint; the password length comes from the settings, and
every change is audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import bearer, form_token, make_principal

from caregrid.auth import service as auth
from caregrid.auth.models import AuditEntry, User
from caregrid.auth.passwords import verify_password
from caregrid.auth.roles import SYSTEM, Role
from caregrid.config import get_settings
from caregrid.errors import Conflict, InvalidInput

# jh-wc-chengdong is a member of the Wucheng group (jh-rmyy-wucheng); jh-zxyy is not.
HOME = "jh-wc-chengdong"
ELSEWHERE = "jh-zxyy"
NETWORK = "jh-rmyy-wucheng"
PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    principal = make_principal(session, "ac-admin", Role.INSTITUTION_ADMIN, institution=HOME)
    return {**bearer(session, principal), **HTML}


def _create(
    client: TestClient,
    headers: dict[str, str],
    roles: list[str] | None = None,
    **fields: str,
) -> int:
    data: dict[str, str | list[str]] = {
        "username": "ac-doctor",
        "display_name": "王医生",
        "password": PASSWORD,
        **fields,
        "roles": ["clinician"] if roles is None else roles,
    }
    answer = client.post("/users", data=data, headers=headers, follow_redirects=False)
    status: int = answer.status_code
    return status


def _actions(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_an_institution_admin_creates_a_clinician_of_its_own_institution(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    page = client.get("/users", headers=admin)
    assert page.status_code == 200 and 'id="create-form"' in page.text
    # Only an institution's roles are offered.
    assert 'value="clinician"' in page.text and 'value="auditor"' not in page.text
    answer = client.post(
        "/users",
        data={
            "username": "ac-doctor",
            "display_name": "王医生",
            "password": PASSWORD,
            "roles": ["clinician", "family_doctor"],
        },
        headers=admin,
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/users/ac-doctor?created=1"
    user = auth.get_by_username(session, "ac-doctor")
    assert user is not None and user.active
    assert sorted(r.role for r in user.roles) == ["clinician", "family_doctor"]
    home = auth.principal_of(user)
    assert home.institution_id == session.scalar(
        select(User.institution_id).where(User.username == "ac-admin")
    )
    listed = client.get("/users", headers=admin).text
    assert 'data-username="ac-doctor"' in listed and "王医生" in listed
    [entry] = _actions(session, "user.create")[-1:]
    assert entry.actor == "ac-admin" and entry.detail == {
        "username": "ac-doctor",
        "roles": ["clinician", "family_doctor"],
    }


def test_other_roles_and_other_institutions_are_refused(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    assert _create(client, admin, roles=["auditor"]) == 403
    assert _create(client, admin, roles=["network_admin"], network_code=NETWORK) == 403
    assert _create(client, admin, institution_code=ELSEWHERE) == 403
    # A role that is not a role at all is a field error, not a 500.
    assert _create(client, admin, roles=["root"]) == 422
    assert _create(client, admin, roles=[]) == 422
    assert auth.get_by_username(session, "ac-doctor") is None


def test_a_taken_name_is_a_conflict_from_the_unique_constraint(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    assert _create(client, admin) == 303
    again = client.post(
        "/users",
        data={
            "username": "ac-doctor",
            "display_name": "x",
            "password": PASSWORD,
            "roles": ["clinician"],
        },
        headers=admin,
        follow_redirects=False,
    )
    assert again.status_code == 409 and 'id="error-create"' in again.text
    # The service has no read-then-insert check left: the constraint itself answers.
    with pytest.raises(Conflict):
        auth.create_user(
            session,
            SYSTEM,
            username="ac-doctor",
            display_name="x",
            password=PASSWORD,
            roles={Role.AUDITOR},
        )
    assert session.scalar(select(User.id).where(User.username == "ac-admin"))


@pytest.fixture
def min_length_12(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("CAREGRID_PASSWORD_MIN_LENGTH", "12")
    get_settings.cache_clear()
    yield 12
    monkeypatch.delenv("CAREGRID_PASSWORD_MIN_LENGTH")
    get_settings.cache_clear()


def test_the_shortest_password_is_the_setting_at_its_edge(
    session: Session, client: TestClient, admin: dict[str, str], min_length_12: int
) -> None:
    short = client.post(
        "/users",
        data={
            "username": "ac-short",
            "display_name": "x",
            "password": "a" * 11,
            "roles": ["clinician"],
        },
        headers=admin,
    )
    assert short.status_code == 422 and 'id="error-create-password"' in short.text
    assert "12" in short.text
    assert _create(client, admin, username="ac-exact", password="b" * 12) == 303
    with pytest.raises(InvalidInput) as refused:
        auth.set_password(session, SYSTEM, auth.get_by_username(session, "ac-exact"), "c" * 11)  # type: ignore[arg-type]
    assert refused.value.problems[0].field == "password"


def test_disable_ends_every_session_and_enable_lets_the_account_back(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    doctor = make_principal(session, "ac-doc2", Role.CLINICIAN, institution=HOME)
    token = bearer(session, doctor)
    assert client.get("/api/me", headers=token).status_code == 200
    page = client.get("/users/ac-doc2", headers=admin)
    assert 'id="confirm-disable"' in page.text  # the disable button asks for a confirmation
    off = client.post(
        "/users/ac-doc2/active", data={"active": "false"}, headers=admin, follow_redirects=False
    )
    assert off.status_code == 303 and off.headers["location"] == "/users/ac-doc2?done=disabled"
    assert client.get("/api/me", headers=token).status_code == 401
    shown = client.get("/users/ac-doc2?done=disabled", headers=admin).text
    assert 'id="notice"' in shown and 'id="state"' in shown
    login = client.post(
        "/login",
        data={"username": "ac-doc2", "password": PASSWORD, "csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert login.status_code != 303  # a disabled account cannot sign in
    on = client.patch("/api/users/ac-doc2", json={"active": True}, headers=admin)
    assert on.status_code == 200 and on.json()["active"] is True
    assert [e.action for e in _actions(session, "user.disable")] == ["user.disable"]
    assert _actions(session, "user.disable")[0].detail == {"revoked": 1}
    assert len(_actions(session, "user.enable")) == 1


def test_ones_own_account_and_other_institutions_accounts_are_refused(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    make_principal(session, "ac-far", Role.CLINICIAN, institution=ELSEWHERE)
    assert client.get("/users/ac-far", headers=admin).status_code == 403
    assert (
        client.patch("/api/users/ac-far", json={"active": False}, headers=admin).status_code == 403
    )
    assert client.get("/users/nobody-here", headers=admin).status_code == 404
    own = client.patch("/api/users/ac-admin", json={"active": False}, headers=admin)
    assert own.status_code == 409
    assert (
        client.patch(
            "/api/users/ac-admin", json={"roles": ["clinician"]}, headers=admin
        ).status_code
        == 409
    )
    listed = [a["username"] for a in client.get("/api/users", headers=admin).json()]
    assert "ac-admin" in listed and "ac-far" not in listed


def test_a_role_the_admin_cannot_grant_cannot_be_taken_away_either(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    make_principal(session, "ac-aud", Role.AUDITOR, institution=HOME)
    taken = client.patch("/api/users/ac-aud", json={"roles": ["clinician"]}, headers=admin)
    assert taken.status_code == 403
    make_principal(session, "ac-doc3", Role.CLINICIAN, institution=HOME)
    given = client.post(
        "/users/ac-doc3/roles",
        data={"roles": ["clinician", "family_doctor"]},
        headers=admin,
        follow_redirects=False,
    )
    assert given.status_code == 303
    user = auth.get_by_username(session, "ac-doc3")
    assert user is not None and sorted(r.role for r in user.roles) == ["clinician", "family_doctor"]
    [entry] = _actions(session, "user.roles")
    assert entry.detail == {"before": ["clinician"], "after": ["clinician", "family_doctor"]}


def test_a_new_password_ends_the_sessions_and_the_old_password(
    session: Session, client: TestClient, admin: dict[str, str]
) -> None:
    doctor = make_principal(session, "ac-doc4", Role.CLINICIAN, institution=HOME)
    token = bearer(session, doctor)
    reset = client.post(
        "/users/ac-doc4/password",
        data={"password": "a new long secret"},
        headers=admin,
        follow_redirects=False,
    )
    assert reset.status_code == 303 and reset.headers["location"].endswith("done=password")
    assert client.get("/api/me", headers=token).status_code == 401
    user = auth.get_by_username(session, "ac-doc4")
    assert user is not None
    assert not verify_password(user.password_hash, PASSWORD)
    assert verify_password(user.password_hash, "a new long secret")
    assert len(_actions(session, "user.password")) == 1


def test_a_network_office_manages_its_members_and_nobody_else_manages(
    session: Session, client: TestClient
) -> None:
    office = {
        **bearer(
            session, make_principal(session, "ac-office", Role.NETWORK_ADMIN, network=NETWORK)
        ),
        **HTML,
    }
    make_principal(session, "ac-member", Role.CLINICIAN, institution=HOME)
    make_principal(session, "ac-outside", Role.CLINICIAN, institution=ELSEWHERE)
    listed = [a["username"] for a in client.get("/api/users", headers=office).json()]
    assert "ac-member" in listed and "ac-outside" not in listed
    created = client.post(
        "/api/users",
        json={
            "username": "ac-new",
            "display_name": "新",
            "password": PASSWORD,
            "roles": ["family_doctor"],
            "institution_code": HOME,
        },
        headers=office,
    )
    assert created.status_code == 201 and created.json()["roles"] == ["family_doctor"]
    unknown = client.post(
        "/api/users",
        json={
            "username": "ac-new2",
            "display_name": "新",
            "password": PASSWORD,
            "roles": ["clinician"],
            "institution_code": "no-such-code",
        },
        headers=office,
    )
    assert unknown.status_code == 422 and "institution_code" in unknown.text
    clinician = bearer(
        session, make_principal(session, "ac-plain", Role.CLINICIAN, institution=HOME)
    )
    assert client.get("/api/users", headers=clinician).status_code == 403
    assert client.get("/users", headers={**clinician, **HTML}).status_code == 403
    assert 'id="nav-users"' in client.get("/", headers=office).text
    assert 'id="nav-users"' not in client.get("/", headers={**clinician, **HTML}).text


def test_two_admins_racing_for_one_name_get_one_account_and_a_conflict(engine: object) -> None:
    """The second creation waits on the first's uncommitted row, then gets 409 (on PostgreSQL
    a read-then-insert check would not have seen that row and failed with a 500)."""
    import secrets
    import threading
    import time

    from sqlalchemy import delete

    from caregrid.db.session import session_scope

    name = f"ac-race-{secrets.token_hex(3)}"
    fields = {"display_name": "x", "password": PASSWORD, "roles": {Role.AUDITOR}}
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with session_scope() as other:
                auth.create_user(other, SYSTEM, username=name, **fields)  # type: ignore[arg-type]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    try:
        with session_scope() as first:
            auth.create_user(first, SYSTEM, username=name, **fields)  # type: ignore[arg-type]
            racer = threading.Thread(target=second)
            racer.start()
            time.sleep(0.5)  # the second is now waiting on the first's row (or lock)
        racer.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    finally:
        with session_scope() as cleanup:
            cleanup.execute(delete(User).where(User.username == name))
