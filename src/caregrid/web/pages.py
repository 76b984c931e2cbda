"""Sign-in, sign-out, language switch and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caregrid.auth import audit
from caregrid.auth import service as auth
from caregrid.auth.roles import Role
from caregrid.config import get_settings
from caregrid.errors import TooManyAttempts, Unauthenticated
from caregrid.registry import service as registry
from caregrid.web import csrf, desk
from caregrid.web.deps import DB, SESSION_COOKIE, User
from caregrid.web.i18n import COOKIE, LOCALES
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send users elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "auth/login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    session: DB,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        attempt = auth.start_sign_in(session, username, address)
        # End the read before argon2 runs: no transaction (nor SQLite's lock) is held through
        # the hash, and the write below takes the lock only for its few statements.
        session.commit()
        matched = auth.password_matches(attempt, password)
        user = auth.finish_sign_in(session, attempt, matched)
    except TooManyAttempts as refused:
        page = render(
            request,
            "auth/login.html",
            None,
            status=429,
            next=_safe_next(next),
            error="Too many wrong passwords. Try again later.",
        )
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    except Unauthenticated:
        return render(
            request,
            "auth/login.html",
            None,
            status=401,
            next=_safe_next(next),
            error="Wrong username or password.",
        )
    hours = get_settings().session_hours
    secret = auth.issue_token(session, user, kind="session", hours=hours)
    audit.record(
        session,
        auth.principal_of(user),
        action="session.login",
        subject_type="user",
        subject_id=user.id,
        purpose="sign-in",
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=csrf.is_https(request),
    )
    return response


@router.post("/logout")
def logout(request: Request, session: DB) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.revoke_token(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie(
            COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", secure=csrf.is_https(request)
        )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DB, user: User) -> Response:
    """The role's desk (its worklists), the audit seal for the auditor, and the networks the
    user works in (every network for the commission and the auditor)."""
    everything = user.has(Role.REGULATOR, Role.AUDITOR)
    scope = set() if everything else registry.network_ids_of(session, user)
    cities = [
        (city, nets)
        for city in registry.cities(session)
        if (
            nets := [
                net for grid in city.grids for net in grid.networks if everything or net.id in scope
            ]
        )
    ]
    return render(
        request,
        "home.html",
        user,
        trays=desk.trays(session, user),
        seal=(
            audit.seal_state(session, get_settings().audit_key_bytes)
            if user.has(Role.AUDITOR)
            else None
        ),
        cities=cities,
        counts=registry.member_counts(session),
    )


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
