"""Sign-in throttling: wrong passwords counted per account name and per client address.

N failures within the window lock the name (or the address) for the cooldown; while locked
every attempt is refused before any password is checked, the right one included, so guessing
gains nothing. Unknown names are counted like known ones: the lockout tells nobody whether an
account exists. A success clears the account's count but not the address's, or one valid
account would let its holder guess others' passwords without end. The counts live in the
database so every process and server shares them; settings hold N, window and cooldown.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import LoginThrottle
from caregrid.config import get_settings


class Scope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _keys(username: str, address: str) -> list[tuple[Scope, str]]:
    return [(Scope.ACCOUNT, _key(username)), (Scope.ADDRESS, _key(address))]


def retry_after(session: Session, username: str, address: str) -> int:
    """Whole seconds until this name from this address may try again; 0 when it may now."""
    now = clock.now()
    rows = session.scalars(
        select(LoginThrottle).where(
            or_(
                *[
                    and_(LoginThrottle.scope == s, LoginThrottle.key == k)
                    for s, k in _keys(username, address)
                ]
            )
        )
    ).all()
    return _wait(rows, now)


def _wait(rows: Sequence[LoginThrottle], now: datetime) -> int:
    waits = [
        math.ceil((row.locked_until - now).total_seconds())
        for row in rows
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(waits, default=0)


def _row_for_update(session: Session, scope: Scope, key: str, now: datetime) -> LoginThrottle:
    """The row, created if missing and locked against concurrent counting (FOR UPDATE on
    PostgreSQL; SQLite's write transaction already serialises)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values(scope=scope, key=key, failures=0, window_started_at=now, expires_at=now)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )
    return session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def record_failure(session: Session, username: str, address: str) -> int:
    """Count one wrong password against the name and the address; returns the seconds the
    attempt's name or address is now locked for (0 while under the limits)."""
    settings = get_settings()
    now = clock.now()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    cooldown = timedelta(seconds=settings.login_cooldown_seconds)
    limits = {
        Scope.ACCOUNT: settings.login_max_failures_per_account,
        Scope.ADDRESS: settings.login_max_failures_per_address,
    }
    session.execute(delete(LoginThrottle).where(LoginThrottle.expires_at < now))
    rows = []
    for scope, key in _keys(username, address):
        row = _row_for_update(session, scope, key, now)
        rows.append(row)
        if row.locked_until is not None and row.locked_until > now:
            continue  # a concurrent attempt locked it: the cooldown is not extended
        if now - row.window_started_at >= window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        row.locked_until = None
        if row.failures >= limits[scope]:
            row.failures, row.window_started_at, row.locked_until = 0, now, now + cooldown
        row.expires_at = max(row.window_started_at + window, row.locked_until or now)
    session.flush()
    return _wait(rows, now)


def clear_account(session: Session, username: str) -> None:
    """A successful sign-in forgets the account's failures (the address keeps its count)."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == Scope.ACCOUNT, LoginThrottle.key == _key(username)
        )
    )
