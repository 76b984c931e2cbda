"""Users, login and tokens. Secrets are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit, throttle
from caregrid.auth.models import AuthToken, User, UserRole
from caregrid.auth.passwords import hash_password, verify_password
from caregrid.auth.roles import Principal, Role
from caregrid.db.session import begin_deferred
from caregrid.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    TooManyAttempts,
    Unauthenticated,
)

MIN_PASSWORD = 10


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


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: set[Role],
    institution_id: int | None = None,
    network_id: int | None = None,
) -> User:
    """Create an account; refuses weak passwords and accounts without the scope their role needs."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(Problem("password", f"must be at least {MIN_PASSWORD} characters"))
    if not roles:
        problems.append(Problem("roles", "at least one role is required"))
    needs_institution = roles & {Role.INSTITUTION_ADMIN, Role.CLINICIAN, Role.FAMILY_DOCTOR}
    if needs_institution and institution_id is None:
        problems.append(
            Problem("institution_id", f"required for {', '.join(sorted(needs_institution))}")
        )
    if Role.NETWORK_ADMIN in roles and network_id is None:
        problems.append(Problem("network_id", "required for network_admin"))
    if problems:
        raise InvalidInput(problems)
    if get_by_username(session, username) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        institution_id=institution_id,
        network_id=network_id,
        created_at=clock.now(),
        roles=[UserRole(role=r.value) for r in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        action="user.create",
        subject_type="user",
        subject_id=user.id,
        purpose="account administration",
        detail={"username": username, "roles": sorted(roles)},
    )
    return user


def set_password(session: Session, actor: Principal, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput([Problem("password", f"must be at least {MIN_PASSWORD} characters")])
    user.password_hash = hash_password(password)
    audit.record(
        session,
        actor,
        action="user.password",
        subject_type="user",
        subject_id=user.id,
        purpose="account administration",
    )


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
    token = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == _digest(secret), AuthToken.kind == kind)
    )
    if token is None or token.revoked:
        raise Unauthenticated("invalid or revoked token")
    if token.expires_at is not None:
        expires = token.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=clock.now().tzinfo)
        if expires <= clock.now():
            raise Unauthenticated("token expired")
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise Unauthenticated("account disabled")
    return principal_of(user)


def revoke_token(session: Session, secret: str) -> None:
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == _digest(secret)))
    if token is not None:
        token.revoked = True


ACCOUNT_ADMINS = (Role.INSTITUTION_ADMIN, Role.NETWORK_ADMIN, Role.REGULATOR)


def revoke_user_tokens(session: Session, actor: Principal, username: str) -> int:
    """Revoke every token (browser sessions and API tokens) of ``username`` and return how
    many were still unrevoked. The next request with any of them is 401.

    Who may: `access.can_manage_account` (the account's institution admin, its network's
    admin, the commission). An account that is not an administrator is refused before the
    name is looked up, so only those who manage accounts learn whether a name exists.
    """
    if not actor.has(*ACCOUNT_ADMINS):
        raise Forbidden("only an institution's or network's administrator may revoke tokens")
    user = get_by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    if not access.can_manage_account(session, actor, user.institution_id):
        raise Forbidden("you may revoke tokens only of your own institution's (or network's) users")
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session="fetch")
    )
    revoked = int(getattr(result, "rowcount", 0) or 0)
    audit.record_for(
        session,
        actor,
        "token.revoke_all",
        user.id,
        subject_type="user",
        purpose="account administration",
        detail={"revoked": revoked},
    )
    return revoked


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
