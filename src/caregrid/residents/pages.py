"""HTML pages of resident records (masked where the role has no need for identifiers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caregrid.residents import service as residents
from caregrid.web.deps import DB, User
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/residents", response_class=HTMLResponse)
def resident_list(request: Request, session: DB, user: User) -> Response:
    return render(
        request,
        "residents/list.html",
        user,
        residents=residents.list_visible(session, user, purpose="resident list page"),
    )


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_detail(resident_id: int, request: Request, session: DB, user: User) -> Response:
    return render(
        request,
        "residents/detail.html",
        user,
        resident=residents.get(session, user, resident_id, purpose="resident page"),
    )
