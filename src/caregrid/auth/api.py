"""REST API of accounts and the audit log (auditors read it; nobody writes it but the services)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid.auth import access, audit, sealer
from caregrid.auth import service as auth
from caregrid.auth.roles import Principal, Role
from caregrid.auth.schemas import AccountChange, AccountIn, AccountOut, AuditFilterIn, PasswordIn
from caregrid.config import get_settings
from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["accounts"])


class MeOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    institution_id: int | None
    network_id: int | None


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str | None
    purpose: str
    detail: dict[str, Any] | None


class VerifyOut(BaseModel):
    ok: bool
    rows: int
    sealed: int
    unsealed: int
    bad_seq: int | None
    reason: str | None


@router.get("/me", response_model=MeOut)
def me(user: User) -> MeOut:
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        roles=sorted(user.roles),
        institution_id=user.institution_id,
        network_id=user.network_id,
    )


class RevokedOut(BaseModel):
    username: str
    revoked: int


@router.post("/users/{username}/revoke-tokens", response_model=RevokedOut)
def revoke_tokens(session: DB, user: User, username: str) -> RevokedOut:
    """Revoke every session and API token of an account (an admin within their scope)."""
    return RevokedOut(username=username, revoked=auth.revoke_user_tokens(session, user, username))


def entry_filter(f: AuditFilterIn) -> audit.EntryFilter:
    """The viewer's filters as the log reads them: a person is a resident subject. (The
    range is checked here: FastAPI validates a query model field by field.)"""
    if f.since and f.until and f.until < f.since:
        raise InvalidInput([Problem("until", "must not be before the first day (since)")])
    person = None if f.person is None else str(f.person)
    return audit.EntryFilter(
        actor=f.actor or None,
        action=f.action or None,
        subject_type="resident" if person else (f.subject_type or None),
        subject_id=person or f.subject_id or None,
        since=f.since,
        until=f.until,
    )


@router.get("/audit", response_model=list[AuditOut])
def audit_entries(
    session: DB,
    user: User,
    filters: Annotated[AuditFilterIn, Depends()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> list[AuditOut]:
    """The log, newest first, narrowed by the filters; page on with `before`."""
    access.require_role(user, Role.AUDITOR)
    found = audit.entries(session, limit=limit, before=before, where=entry_filter(filters))
    return [AuditOut.model_validate(e, from_attributes=True) for e in found]


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(session: DB, user: User) -> VerifyOut:
    """Every row against the signed tree heads and the head exported outside the database."""
    access.require_role(user, Role.AUDITOR)
    settings = get_settings()
    result = sealer.verify_with_export(
        session, settings.audit_key_bytes, settings.effective_audit_head_file
    )
    return VerifyOut.model_validate(result, from_attributes=True)


# --- account administration ---------------------------------------------------------------


def scope_ids(session: Session, actor: Principal, data: AccountIn) -> tuple[int | None, int | None]:
    """The new account's institution and network ids from their codes; an institution admin's
    own institution when none is named. An unknown code is 422 naming the field."""
    problems = []
    institution_id = actor.institution_id if actor.has(Role.INSTITUTION_ADMIN) else None
    if data.institution_code:
        institution = registry.get_institution(session, data.institution_code)
        if institution is None:
            problems.append(Problem("institution_code", "no institution has this code"))
        else:
            institution_id = institution.id
    network_id = None
    if data.network_code:
        try:
            network_id = registry.get_network(session, data.network_code).id
        except NotFound:
            problems.append(Problem("network_code", "no network has this code"))
    if problems:
        raise InvalidInput(problems)
    return institution_id, network_id


def create_account(session: Session, actor: Principal, data: AccountIn) -> auth.AccountView:
    institution_id, network_id = scope_ids(session, actor, data)
    user = auth.create_user(
        session,
        actor,
        username=data.username,
        display_name=data.display_name,
        password=data.password,
        roles=set(data.roles),
        institution_id=institution_id,
        network_id=network_id,
    )
    return auth.AccountView.of(user)


def change_account(
    session: Session, actor: Principal, username: str, data: AccountChange
) -> auth.AccountView:
    """Roles first, then the state, in the caller's transaction (both or neither)."""
    user = auth.managed(session, actor, username)
    if data.roles is not None:
        user = auth.set_roles(session, actor, username, set(data.roles))
    if data.active is not None:
        user = auth.set_active(session, actor, username, data.active)
    return auth.AccountView.of(user)


@router.get("/users", response_model=list[AccountOut])
def list_accounts(session: DB, user: User) -> list[AccountOut]:
    """The accounts the caller administers (its institution, its network's members, or all)."""
    return [
        AccountOut.model_validate(auth.AccountView.of(u), from_attributes=True)
        for u in auth.manageable(session, user)
    ]


@router.post("/users", response_model=AccountOut, status_code=201)
def create_account_route(session: DB, user: User, data: AccountIn) -> AccountOut:
    return AccountOut.model_validate(create_account(session, user, data), from_attributes=True)


@router.patch("/users/{username}", response_model=AccountOut)
def change_account_route(session: DB, user: User, username: str, data: AccountChange) -> AccountOut:
    view = change_account(session, user, username, data)
    return AccountOut.model_validate(view, from_attributes=True)


@router.post("/users/{username}/password", status_code=204)
def reset_password_route(session: DB, user: User, username: str, data: PasswordIn) -> None:
    """A new password set by an administrator; the account's sessions and tokens end."""
    auth.reset_password(session, user, username, data.password)
