"""Account administration: create, list, disable, reset a password and set roles, each within
the actor's scope (`access.can_manage_account`, `access.grantable_roles`) and audited."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.models import AuthToken, User, UserRole
from caregrid.auth.passwords import hash_password
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import Message, msg

PURPOSE = "account administration"
ACCOUNT_ADMINS = (Role.INSTITUTION_ADMIN, Role.NETWORK_ADMIN, Role.REGULATOR)
# Roles whose account works for one institution, and the one that works for one network.
NEEDS_INSTITUTION = frozenset({Role.INSTITUTION_ADMIN, Role.CLINICIAN, Role.FAMILY_DOCTOR})


def _password_problem(password: str) -> Problem | None:
    least = get_settings().password_min_length
    if len(password) < least:
        return Problem("password", msg("must be at least {least} characters", least=least))
    return None


def _scope_problems(
    roles: Set[Role], institution_id: int | None, network_id: int | None
) -> list[Problem]:
    problems = []
    if not roles:
        problems.append(Problem("roles", "at least one role is required"))
    needs_institution = roles & NEEDS_INSTITUTION
    if needs_institution and institution_id is None:
        problems.append(
            Problem(
                "institution_id",
                msg(
                    "required for {needs_institution}",
                    needs_institution=", ".join(sorted(needs_institution)),
                ),
            )
        )
    if Role.NETWORK_ADMIN in roles and network_id is None:
        problems.append(Problem("network_id", "required for network_admin"))
    return problems


def _require_grant(
    session: Session, actor: Principal, roles: Set[Role], institution_id: int | None
) -> None:
    """Refuse roles the actor may not give, or an account outside the actor's scope."""
    if not actor.has(*ACCOUNT_ADMINS):
        raise Forbidden("only an institution's or network's administrator may manage accounts")
    refused = set(roles) - access.grantable_roles(actor)
    if refused:
        raise Forbidden(
            "you may not grant the roles: {refused}", refused=", ".join(sorted(refused))
        )
    if not access.can_manage_account(session, actor, institution_id):
        raise Forbidden("you may manage only your own institution's (or network's) accounts")


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
    """Create an account within the actor's scope; refuses a weak password, an account without
    the institution or network its role needs, and a name already taken (409, also when two
    admins race for it: the unique constraint decides)."""
    problems = _scope_problems(roles, institution_id, network_id)
    weak = _password_problem(password)
    if weak:
        problems.insert(0, weak)
    if problems:
        raise InvalidInput(problems)
    _require_grant(session, actor, roles, institution_id)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        institution_id=institution_id,
        network_id=network_id,
        created_at=clock.now(),
        roles=[UserRole(role=r.value) for r in sorted(roles)],
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("username {username!r} is taken", username=username) from exc
    audit.record(
        session,
        actor,
        action="user.create",
        subject_type="user",
        subject_id=user.id,
        purpose=PURPOSE,
        detail={"username": username, "roles": sorted(roles)},
    )
    return user


def manageable(session: Session, actor: Principal) -> list[User]:
    """The accounts the actor administers, by institution then name: an institution admin's
    own institution, a network admin's member institutions, the commission's every account."""
    if not actor.has(*ACCOUNT_ADMINS):
        raise Forbidden("only an institution's or network's administrator may manage accounts")
    query = select(User).order_by(User.institution_id, User.username)
    if not actor.has(Role.REGULATOR):
        scope: set[int] = set()
        if actor.has(Role.INSTITUTION_ADMIN) and actor.institution_id is not None:
            scope.add(actor.institution_id)
        if actor.has(Role.NETWORK_ADMIN) and actor.network_id is not None:
            scope |= access.network_institution_ids(session, actor.network_id)
        query = query.where(User.institution_id.in_(scope))
    return list(session.scalars(query))


def managed(session: Session, actor: Principal, username: str) -> User:
    """One account the actor administers; 404 for an unknown name, 403 outside the scope.
    A non-administrator is refused before the name is looked up."""
    if not actor.has(*ACCOUNT_ADMINS):
        raise Forbidden("only an institution's or network's administrator may manage accounts")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("no user {username!r}", username=username)
    if not access.can_manage_account(session, actor, user.institution_id):
        raise Forbidden("you may manage only your own institution's (or network's) accounts")
    return user


def _revoke_all(session: Session, user: User) -> int:
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_user_tokens(session: Session, actor: Principal, username: str) -> int:
    """Revoke every token (browser sessions and API tokens) of an account and return how many
    were still unrevoked; the next request with any of them is 401."""
    user = managed(session, actor, username)
    revoked = _revoke_all(session, user)
    audit.record_for(
        session,
        actor,
        "token.revoke_all",
        user.id,
        subject_type="user",
        purpose=PURPOSE,
        detail={"revoked": revoked},
    )
    return revoked


def _not_self(actor: Principal, user: User, what: Message) -> None:
    if actor.user_id is not None and actor.user_id == user.id:
        raise Conflict("you may not {what} your own account; ask another administrator", what=what)


def set_active(session: Session, actor: Principal, username: str, active: bool) -> User:
    """Disable an account (its tokens revoked at once, sign-in refused) or enable it again."""
    user = managed(session, actor, username)
    _not_self(actor, user, Message("disable or enable"))
    if user.active == active:
        return user
    user.active = active
    revoked = 0 if active else _revoke_all(session, user)
    audit.record_for(
        session,
        actor,
        "user.enable" if active else "user.disable",
        user.id,
        subject_type="user",
        purpose=PURPOSE,
        detail={"revoked": revoked},
    )
    return user


def set_password(session: Session, actor: Principal, user: User, password: str) -> None:
    """Give an account a new password (the CLI's and the reset's one path)."""
    weak = _password_problem(password)
    if weak:
        raise InvalidInput([weak])
    user.password_hash = hash_password(password)
    audit.record_for(session, actor, "user.password", user.id, subject_type="user", purpose=PURPOSE)


def reset_password(session: Session, actor: Principal, username: str, password: str) -> User:
    """An administrator sets a new password; the account's sessions and tokens end with it."""
    user = managed(session, actor, username)
    set_password(session, actor, user, password)
    _revoke_all(session, user)
    return user


def set_roles(session: Session, actor: Principal, username: str, roles: set[Role]) -> User:
    """Replace an account's roles; the actor must be able to grant both the old roles it
    removes and the new ones (an institution admin cannot demote an auditor, say)."""
    user = managed(session, actor, username)
    _not_self(actor, user, Message("change the roles of"))
    before = {Role(r.role) for r in user.roles}
    problems = _scope_problems(roles, user.institution_id, user.network_id)
    if problems:
        raise InvalidInput(problems)
    _require_grant(session, actor, roles | before, user.institution_id)
    if roles == before:
        return user
    user.roles = [r for r in user.roles if Role(r.role) in roles] + [
        UserRole(role=r.value) for r in sorted(roles - before)
    ]
    session.flush()
    audit.record_for(
        session,
        actor,
        "user.roles",
        user.id,
        subject_type="user",
        purpose=PURPOSE,
        detail={"before": sorted(before), "after": sorted(roles)},
    )
    return user


@dataclass(frozen=True)
class AccountView:
    """An account as the administrators' page and the API show it (never its hash)."""

    username: str
    display_name: str
    roles: list[str]
    institution_id: int | None
    network_id: int | None
    active: bool

    @classmethod
    def of(cls, user: User) -> AccountView:
        return cls(
            username=user.username,
            display_name=user.display_name,
            roles=sorted(r.role for r in user.roles),
            institution_id=user.institution_id,
            network_id=user.network_id,
            active=user.active,
        )
