"""Sign-in throttling over real HTTP: wrong passwords lock the account name and the client
address for a cooldown (the right password included), a success clears the account's count,
an unknown name costs one argon2 check like a known one, and no transaction is open while it
runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.conftest import form_token, make_principal

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.roles import Role
from caregrid.config import get_settings
from caregrid.db.session import session_scope
from caregrid.web.app import create_app
from caregrid.web.deps import db_session

PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

Clients = Callable[[str], TestClient]


@pytest.fixture
def clients(session: Session) -> Iterator[Clients]:
    """TestClients of one app sharing the test's session, one per client address."""
    app = create_app()

    def _session() -> Iterator[Session]:
        yield session
        session.flush()

    app.dependency_overrides[db_session] = _session
    opened: list[TestClient] = []

    def at(address: str) -> TestClient:
        client = TestClient(app, client=(address, 50000))
        opened.append(client)
        return client

    yield at
    for client in opened:
        client.close()


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token(client)},
        follow_redirects=False,
    )


def test_five_wrong_passwords_lock_the_account_until_the_cooldown_ends(
    session: Session, clients: Clients
) -> None:
    settings = get_settings()
    make_principal(session, "nurse-lock", Role.REGULATOR)
    web = clients("10.1.0.1")
    with clock.frozen(T0):
        for _ in range(settings.login_max_failures_per_account - 1):
            assert _login(web, "nurse-lock", "wrong-wrong-wrong").status_code == 401
        last = _login(web, "nurse-lock", "wrong-wrong-wrong")
        assert last.status_code == 429
        assert last.headers["Retry-After"] == str(settings.login_cooldown_seconds)
    cooldown = timedelta(seconds=settings.login_cooldown_seconds)
    with clock.frozen(T0 + cooldown - timedelta(seconds=1)):
        refused = _login(web, "nurse-lock", PASSWORD)  # the right password, still locked
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert "密码错误次数过多" in refused.text and "caregrid_session" not in refused.cookies
    with clock.frozen(T0 + cooldown):
        assert _login(web, "nurse-lock", PASSWORD).status_code == 303


def test_a_success_clears_the_account_count_and_an_old_window_lapses(
    session: Session, clients: Clients
) -> None:
    settings = get_settings()
    under = settings.login_max_failures_per_account - 1
    make_principal(session, "nurse-reset", Role.REGULATOR)
    web = clients("10.1.0.2")
    with clock.frozen(T0):
        for _ in range(under):
            assert _login(web, "nurse-reset", "wrong-wrong-wrong").status_code == 401
        assert _login(web, "nurse-reset", PASSWORD).status_code == 303
        for _ in range(under):
            assert _login(web, "nurse-reset", "wrong-wrong-wrong").status_code == 401
    # The window has passed: the count starts again instead of reaching the limit.
    with clock.frozen(T0 + timedelta(seconds=settings.login_failure_window_seconds)):
        assert _login(web, "nurse-reset", "wrong-wrong-wrong").status_code == 401
        assert _login(web, "nurse-reset", PASSWORD).status_code == 303


def test_an_address_is_locked_across_usernames_while_others_still_sign_in(
    session: Session, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_max_failures_per_address", 3)
    make_principal(session, "nurse-addr", Role.REGULATOR)
    guesser, colleague = clients("10.2.0.1"), clients("10.2.0.2")
    with clock.frozen(T0):
        assert _login(guesser, "someone-a", "wrong-wrong-wrong").status_code == 401
        assert _login(guesser, "someone-b", "wrong-wrong-wrong").status_code == 401
        assert _login(guesser, "someone-c", "wrong-wrong-wrong").status_code == 429
        # Every name from that address is refused now, a valid one with its right password too.
        assert _login(guesser, "nurse-addr", PASSWORD).status_code == 429
        # The account itself is not locked: from another address it signs in.
        assert _login(colleague, "nurse-addr", PASSWORD).status_code == 303


def test_unknown_names_lock_out_like_known_ones(clients: Clients) -> None:
    web = clients("10.3.0.1")
    with clock.frozen(T0):
        codes = [
            _login(web, "nobody-here", "wrong-wrong-wrong").status_code
            for _ in range(get_settings().login_max_failures_per_account)
        ]
    assert codes[-1] == 429 and set(codes[:-1]) == {401}


def test_an_unknown_name_costs_one_argon2_check_outside_any_transaction(
    session: Session, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[tuple[str, bool]] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checked.append((str(hash), session.in_transaction()))
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    make_principal(session, "nurse-known", Role.REGULATOR)
    web = clients("10.4.0.1")
    assert _login(web, "nurse-known", "wrong-wrong-wrong").status_code == 401
    assert _login(web, "nobody-known", "wrong-wrong-wrong").status_code == 401
    assert len(checked) == 2
    (known_hash, known_open), (dummy_hash, dummy_open) = checked
    # The dummy has the account hashes' algorithm and cost, so it takes as long to check.
    assert dummy_hash != known_hash
    assert dummy_hash.rsplit("$", 2)[0] == known_hash.rsplit("$", 2)[0]
    assert not known_open and not dummy_open


def test_the_sign_in_read_waits_for_no_writer(engine: Engine) -> None:
    """On SQLite the read half begins deferred: a writer holding the lock does not stall it
    (units of work otherwise begin IMMEDIATE and would queue behind it)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    with engine.connect() as writer, writer.execution_options(sqlite_immediate=True).begin():
        started = time.perf_counter()
        with session_scope() as unit:
            attempt = auth.start_sign_in(unit, "nobody-waits", "10.5.0.1")
        waited = time.perf_counter() - started
    assert attempt.user_id is None and waited < 2
