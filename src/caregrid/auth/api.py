"""REST API of accounts and the audit log (auditors read it; nobody writes it but the services)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from caregrid.auth import access, audit
from caregrid.auth import service as auth
from caregrid.auth.roles import Role
from caregrid.config import get_settings
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


@router.get("/audit", response_model=list[AuditOut])
def audit_entries(
    session: DB, user: User, limit: int = 100, before: int | None = None
) -> list[AuditOut]:
    access.require_role(user, Role.AUDITOR)
    return [
        AuditOut.model_validate(e, from_attributes=True)
        for e in audit.entries(session, limit=min(limit, 1000), before=before)
    ]


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(session: DB, user: User) -> VerifyOut:
    access.require_role(user, Role.AUDITOR)
    result = audit.verify(session, get_settings().audit_key_bytes)
    return VerifyOut.model_validate(result, from_attributes=True)
