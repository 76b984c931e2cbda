"""The administrators' pages: the auditors' audit-log viewer (emergency alerts, filters, the
seal and an on-demand verification) and account management within an admin's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from caregrid.auth import access, audit, sealer
from caregrid.auth import service as auth
from caregrid.auth.api import change_account, create_account, entry_filter
from caregrid.auth.reasons import emergency_reasons
from caregrid.auth.roles import Principal, Role
from caregrid.auth.schemas import AccountChange, AccountIn, AuditFilterIn, PasswordIn
from caregrid.config import get_settings
from caregrid.privacy import mask_national_id
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)
PAGE_ROWS = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DB,
    user: User,
    filters: Annotated[AuditFilterIn, Query()],
    before: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    verify: Annotated[bool, Query()] = False,
) -> Response:
    """Emergency grants of the last days as alerts, then the log narrowed by the filters, 50
    rows a page. The seal state is always shown; the full verification runs on request (it
    reads every row). Residents appear by record number and masked national ID."""
    access.require_role(user, Role.AUDITOR)
    settings = get_settings()
    alerts = auth.emergency_alerts(session, user)
    people = residents.records(session, sorted({a.resident_id for a in alerts}))
    institutions = {
        i: registry.get_institution_by_id(session, i) for i in {a.institution_id for a in alerts}
    }
    rows = audit.entries(session, limit=PAGE_ROWS + 1, before=before, where=entry_filter(filters))
    typed = filters.model_dump(exclude_none=True)
    return render(
        request,
        "auth/audit.html",
        user,
        alerts=alerts,
        days=settings.emergency_alert_days,
        masked_ids={i: mask_national_id(r.national_id) for i, r in people.items()},
        institutions=institutions,
        reasons=emergency_reasons(),
        entries=rows[:PAGE_ROWS],
        older=rows[PAGE_ROWS - 1].seq if len(rows) > PAGE_ROWS else None,
        typed={k: str(v) for k, v in typed.items()},
        state=audit.seal_state(session, settings.audit_key_bytes),
        verified=sealer.verify_with_export(
            session, settings.audit_key_bytes, settings.effective_audit_head_file
        )
        if verify
        else None,
    )


# --- account administration ---------------------------------------------------------------


def _institution_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    found = {i: registry.get_institution_by_id(session, i) for i in ids if i is not None}
    return {i: f"{inst.name_zh} · {inst.code}" for i, inst in found.items() if inst}


def _users_page(
    request: Request,
    session: Session,
    user: Principal,
    error: FormError | None = None,
    typed: dict[str, object] | None = None,
) -> Response:
    accounts = auth.manageable(session, user)
    own = (
        registry.get_institution_by_id(session, user.institution_id)
        if user.institution_id
        else None
    )
    return render(
        request,
        "auth/users.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {"institution_code": own.code if own else ""},
        accounts=accounts,
        names=_institution_names(session, {a.institution_id for a in accounts}),
        grantable=sorted(access.grantable_roles(user)),
        fixed_institution=own.code
        if own and not user.has(Role.NETWORK_ADMIN, Role.REGULATOR)
        else None,
        least=get_settings().password_min_length,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: DB, user: User) -> Response:
    """The accounts this administrator manages and the form to create one."""
    return _users_page(request, session, user)


@router.post("/users", response_class=HTMLResponse)
def create_user_form(
    request: Request,
    session: DB,
    user: User,
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    roles: Annotated[list[str] | None, Form(max_length=len(Role))] = None,
    institution_code: Annotated[str, Form(max_length=60)] = "",
    network_code: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    typed: dict[str, object] = {
        "username": username.strip(),
        "display_name": display_name.strip(),
        "roles": roles or [],
        "institution_code": institution_code.strip() or None,
        "network_code": network_code.strip() or None,
    }
    return submit(
        session,
        "create",
        lambda: AccountIn.model_validate({**typed, "password": password}),
        lambda data: create_account(session, user, data),
        refused=lambda error: _users_page(request, session, user, error, typed),
        done=lambda view: f"/users/{view.username}?created=1",
    )


def _user_page(
    request: Request,
    session: Session,
    user: Principal,
    username: str,
    error: FormError | None = None,
) -> Response:
    account = auth.managed(session, user, username)
    names = _institution_names(session, {account.institution_id})
    return render(
        request,
        "auth/user.html",
        user,
        status=error.status if error else 200,
        error=error,
        account=auth.AccountView.of(account),
        institution=names.get(account.institution_id) if account.institution_id else None,
        grantable=sorted(access.grantable_roles(user)),
        is_self=account.id == user.user_id,
        notice=request.query_params.get("done"),
        created=request.query_params.get("created") == "1",
        least=get_settings().password_min_length,
    )


@router.get("/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, session: DB, user: User, username: str) -> Response:
    """One account: its roles, disable or enable it, set a new password."""
    return _user_page(request, session, user, username)


@router.post("/users/{username}/roles", response_class=HTMLResponse)
def set_roles_form(
    request: Request,
    session: DB,
    user: User,
    username: str,
    roles: Annotated[list[str] | None, Form(max_length=len(Role))] = None,
) -> Response:
    return submit(
        session,
        "roles",
        lambda: AccountChange.model_validate({"roles": roles or []}),
        lambda data: change_account(session, user, username, data),
        refused=lambda error: _user_page(request, session, user, username, error),
        done=lambda view: f"/users/{view.username}?done=roles",
    )


@router.post("/users/{username}/active", response_class=HTMLResponse)
def set_active_form(
    request: Request,
    session: DB,
    user: User,
    username: str,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    return submit(
        session,
        "active",
        lambda: AccountChange.model_validate({"active": active}),
        lambda data: change_account(session, user, username, data),
        refused=lambda error: _user_page(request, session, user, username, error),
        done=lambda view: f"/users/{view.username}?done={'enabled' if view.active else 'disabled'}",
    )


@router.post("/users/{username}/password", response_class=HTMLResponse)
def reset_password_form(
    request: Request,
    session: DB,
    user: User,
    username: str,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return submit(
        session,
        "password",
        lambda: PasswordIn.model_validate({"password": password}),
        lambda data: auth.reset_password(session, user, username, data.password),
        refused=lambda error: _user_page(request, session, user, username, error),
        done=lambda account: f"/users/{account.username}?done=password",
    )
