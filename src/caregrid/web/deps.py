"""Request dependencies: the unit-of-work session, the signed-in principal and the year a
measures page or API is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from caregrid.auth import service as auth
from caregrid.auth.roles import Principal
from caregrid.db.session import session_scope
from caregrid.errors import Unauthenticated
from caregrid.web.i18n import COOKIE, LOCALES

SESSION_COOKIE = "caregrid_session"


def db_session() -> Iterator[Session]:
    """One unit of work per request: commits when the handler returns, rolls back on error."""
    with session_scope() as session:
        yield session


# scope="function": commit before the response leaves. The default ("request") runs the exit
# after the response is sent, so a redirect could reach the browser before its commit did.
DB = Annotated[Session, Depends(db_session, scope="function")]
# A row number in a path: above a 32-bit integer no row exists, and PostgreSQL would refuse
# the comparison instead of finding nothing.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def current_principal(request: Request, session: DB) -> Principal:
    """From `Authorization: Bearer <token>` (API) or the session cookie (browser)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return auth.resolve_token(session, header[7:].strip(), kind="api")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return auth.resolve_token(session, cookie, kind="session")
    raise Unauthenticated("sign in or send a bearer token")


User = Annotated[Principal, Depends(current_principal)]

# The calendar year of a measures page, an indicator API or an export (the current or the
# latest year when omitted).
Year = Annotated[int | None, Query(ge=2000, le=2100)]


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LOCALES else "zh_CN"
