"""Users, login and tokens (the package's entry; account administration is in `accounts`).
Secrets are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, throttle
from caregrid.auth.accounts import (
    ACCOUNT_ADMINS,
    AccountView,
    create_user,
    manageable,
    managed,
    reset_password,
    revoke_user_tokens,
    set_active,
    set_password,
    set_roles,
)
from caregrid.auth.models import AuthToken, User, UserRole
from caregrid.auth.passwords import verify_password
from caregrid.auth.roles import Principal, Role
from caregrid.db.session import begin_deferred
from caregrid.errors import (
    TooManyAttempts,
    Unauthenticated,
)

__all__ = [
    "ACCOUNT_ADMINS",
    "AccountView",
    "EmergencyAlert",
    "SignIn",
    "create_user",
    "emergency_alerts",
    "finish_sign_in",
    "get_by_username",
    "issue_token",
    "manageable",
    "managed",
    "password_matches",
    "principal_of",
    "reset_password",
    "resolve_token",
    "revoke_token",
    "revoke_user_tokens",
    "set_active",
    "set_password",
    "set_roles",
    "start_sign_in",
]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(
        username=user.username,
        user_id=user.id,
        institution_id=user.institution_id,
        network_id=user.network_id,
        display_name=user.display_name,
        roles=frozenset(Role(r.role) for r in user.roles),
    )


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


@dataclass(frozen=True)
class SignIn:
    """A sign-in attempt between its read and its write: the password is checked in between,
    outside any transaction (argon2 takes a fifth of a second; no lock is held through it)."""

    username: str
    address: str
    user_id: int | None  # None: no active account by that name
    password_hash: str | None


def start_sign_in(session: Session, username: str, address: str) -> SignIn:
    """Read the account and the throttle (no write lock taken); refuses a locked name or
    address before any password is checked, the right one included."""
    begin_deferred(session)
    wait = throttle.retry_after(session, username, address)
    if wait:
        raise TooManyAttempts("too many wrong passwords; try again later", retry_after=wait)
    user = get_by_username(session, username)
    if user is None or not user.active:
        return SignIn(username, address, None, None)
    return SignIn(username, address, user.id, user.password_hash)


def password_matches(attempt: SignIn, password: str) -> bool:
    """The argon2 check; an unknown name is checked against a dummy hash of the same cost, so
    it answers in the same time as a known one."""
    return verify_password(attempt.password_hash, password)


def finish_sign_in(session: Session, attempt: SignIn, matched: bool) -> User:
    """Record the outcome: a failure counts against the name and the address, a success clears
    the name's count. A lock set meanwhile by a concurrent attempt refuses even the right
    password. The same error for a wrong name or password."""
    if not matched:
        wait = throttle.record_failure(session, attempt.username, attempt.address)
        if wait:
            raise TooManyAttempts("too many wrong passwords; try again later", retry_after=wait)
        raise Unauthenticated("wrong username or password")
    wait = throttle.retry_after(session, attempt.username, attempt.address)
    if wait:
        raise TooManyAttempts("too many wrong passwords; try again later", retry_after=wait)
    user = session.get(User, attempt.user_id)
    if user is None or not user.active or user.password_hash != attempt.password_hash:
        raise Unauthenticated("wrong username or password")  # changed while the hash ran
    throttle.clear_account(session, attempt.username)
    return user


def issue_token(
    session: Session, user: User, *, kind: str, hours: int | None, label: str | None = None
) -> str:
    """A new session or API token; the secret is returned once and never stored."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        AuthToken(
            token_hash=_digest(secret),
            user_id=user.id,
            kind=kind,
            label=label,
            created_at=now,
            expires_at=None if hours is None else now + timedelta(hours=hours),
        )
    )
    session.flush()
    return secret


def resolve_token(session: Session, secret: str, *, kind: str) -> Principal:
    """The principal of a session cookie or bearer token, read in one statement (token, account
    and roles joined): every request pays for it."""
    rows = session.execute(
        select(
            AuthToken.revoked,
            AuthToken.expires_at,
            User.id,
            User.username,
            User.institution_id,
            User.network_id,
            User.display_name,
            User.active,
            UserRole.role,
        )
        .join(User, User.id == AuthToken.user_id)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(AuthToken.token_hash == _digest(secret), AuthToken.kind == kind)
    ).all()
    if not rows or rows[0].revoked:
        raise Unauthenticated("invalid or revoked token")
    first = rows[0]
    if first.expires_at is not None:
        expires = first.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=clock.now().tzinfo)
        if expires <= clock.now():
            raise Unauthenticated("token expired")
    if not first.active:
        raise Unauthenticated("account disabled")
    return Principal(
        username=first.username,
        user_id=first.id,
        institution_id=first.institution_id,
        network_id=first.network_id,
        display_name=first.display_name,
        roles=frozenset(Role(r.role) for r in rows if r.role is not None),
    )


def revoke_token(session: Session, secret: str) -> None:
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == _digest(secret)))
    if token is not None:
        token.revoked = True


@dataclass(frozen=True)
class EmergencyAlert:
    """An emergency grant as the auditors' page lists it (the resident by record number)."""

    grant_id: int
    username: str
    display_name: str
    institution_id: int
    resident_id: int
    reason_code: str
    reason_text: str
    granted_at: datetime
    expires_at: datetime
    active: bool


def emergency_alerts(session: Session, principal: Principal) -> list[EmergencyAlert]:
    """The emergency grants of the last `emergency_alert_days` days, newest first; for
    auditors only (403 otherwise)."""
    grants = access.recent_emergency_grants(session, principal)
    users = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({g.user_id for g in grants})))
    }
    now = clock.now()
    return [
        EmergencyAlert(
            grant_id=g.id,
            username=users[g.user_id].username,
            display_name=users[g.user_id].display_name,
            institution_id=g.institution_id,
            resident_id=g.resident_id,
            reason_code=g.reason_code,
            reason_text=g.reason_text,
            granted_at=g.granted_at,
            expires_at=g.expires_at,
            active=g.granted_at <= now < g.expires_at,
        )
        for g in grants
    ]
