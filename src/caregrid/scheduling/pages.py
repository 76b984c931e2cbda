"""HTML pages of a department's reserved-slot calendar and its bed board (C1-C4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from caregrid import clock
from caregrid.registry import service as registry
from caregrid.scheduling import service as scheduling
from caregrid.web.deps import DB, User
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


def local_time(moment: datetime | None) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@router.get("/departments/{department_id}/calendar", response_class=HTMLResponse)
def calendar(
    department_id: int,
    request: Request,
    session: DB,
    user: User,
    days: Annotated[int | None, Query(ge=1, le=60)] = None,
) -> Response:
    """The next `days` days of sessions with what the user's unit may book in each now (by
    default the window of the host's profile, `slot_release_lead_days`)."""
    department = registry.get_department(session, department_id)
    if days is None:
        days = scheduling.calendar_window(session, department.institution_id)
    return render(
        request,
        "scheduling/calendar.html",
        user,
        department=department,
        institution=registry.get_institution_by_id(session, department.institution_id),
        days=days,
        rows=scheduling.calendar(session, user, department_id=department_id, days=days),
        member=scheduling.is_member_unit(session, user.institution_id, department.institution_id),
        host=user.institution_id == department.institution_id,
        when=local_time,
    )


@router.get("/departments/{department_id}/beds", response_class=HTMLResponse)
def beds(department_id: int, request: Request, session: DB, user: User) -> Response:
    """Every bed with its reserved flag and occupancy; who lies in it only for the hospital."""
    department = registry.get_department(session, department_id)
    board = scheduling.bed_board(session, user, department_id=department_id)
    return render(
        request,
        "scheduling/beds.html",
        user,
        department=department,
        institution=registry.get_institution_by_id(session, department.institution_id),
        board=board,
        total=len(board),
        reserved=sum(v.bed.reserved for v in board),
        occupied=sum(v.occupied for v in board),
        reserved_free=sum(v.bed.reserved and not v.occupied for v in board),
        host=user.institution_id == department.institution_id,
        when=local_time,
    )
