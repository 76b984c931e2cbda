"""HTML page of the group's governance (L1, L2): the measures GV1-GV3, the work-meeting
cadence, the key tasks with the overdue ones first, and the forms the office records its
committee, documents, tasks, meetings and reports with. Thin: the rules live in
`governance.service`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.governance import service as governance
from caregrid.governance.schemas import (
    DocumentIn,
    MeetingIn,
    ReportIn,
    SeatIn,
    TaskDoneIn,
    TaskIn,
    TaskListIn,
)
from caregrid.governance.vocab import (
    CommitteeRole,
    DocumentKind,
    MeetingKind,
    ReportKind,
    TaskState,
)
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, cleaned, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)
FIGURES = ("GV1", "GV2", "GV3")  # work meetings, reports to the commission (L2), tasks on time (L1)


def _page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = governance.governance(session, user, code)
    network = registry.get_network(session, code)
    today = clock.today()
    period = indicators.year_period(today.year, today)
    rows = indicators.network_rows(session, code, FIGURES, period)
    return render(
        request,
        "governance/governance.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        found=found,
        figures=rows[-1].figures,
        overdue=[t for t in found.tasks if t.state == TaskState.OVERDUE],
        roles=list(CommitteeRole),
        kinds=list(DocumentKind),
        meeting_kinds=list(MeetingKind),
        report_kinds=list(ReportKind),
        today=today,
    )


@router.get("/networks/{code}/governance", response_class=HTMLResponse)
def governance_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The network's committee, documents, key tasks, meetings and reports (L1, L2)."""
    return _page(request, session, user, code)


def _post(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    form: str,
    typed: dict[str, str],
    read: type[BaseModel],
    work: Callable[[Any], object],
    optional: tuple[str, ...] = (),
) -> Response:
    return submit(
        session,
        form,
        lambda: read.model_validate(cleaned(typed, optional)),
        work,
        refused=lambda error: _page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/governance#{form}",
    )


class MeetingForm(BaseModel):
    kind: str = ""
    held_on: str = ""
    chaired_by: str = ""
    minutes: str = ""
    decisions: str = ""


@router.post("/networks/{code}/governance/meetings", response_class=HTMLResponse)
def record_meeting(
    code: str, request: Request, session: DB, user: User, form: Annotated[MeetingForm, Form()]
) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        "meeting",
        form.model_dump(),
        MeetingIn,
        lambda data: governance.record_meeting(session, user, code, data),
        ("decisions",),
    )


class ReportForm(BaseModel):
    kind: str = ""
    covers: str = ""
    submitted_on: str = ""
    recipient: str = ""
    summary: str = ""


@router.post("/networks/{code}/governance/reports", response_class=HTMLResponse)
def record_report(
    code: str, request: Request, session: DB, user: User, form: Annotated[ReportForm, Form()]
) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        "report",
        form.model_dump(),
        ReportIn,
        lambda data: governance.record_report(session, user, code, data),
    )


class TaskForm(BaseModel):
    ref: str = ""
    task: str = ""
    content: str = ""
    owner: str = ""
    partners: str = ""
    due_on: str = ""
    continuing: str = ""


@router.post("/networks/{code}/governance/tasks", response_class=HTMLResponse)
def add_task(
    code: str, request: Request, session: DB, user: User, form: Annotated[TaskForm, Form()]
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "task",
        lambda: TaskIn.model_validate(
            {
                **cleaned({k: v for k, v in typed.items() if k != "partners"}, ("due_on",)),
                "partners": [p.strip() for p in typed["partners"].split(",") if p.strip()],
                "continuing": bool(typed["continuing"]),
            }
        ),
        lambda data: governance.add_task(session, user, code, data),
        refused=lambda error: _page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/governance#tasks",
    )


@router.post("/networks/{code}/governance/task-list", response_class=HTMLResponse)
def load_task_list(code: str, request: Request, session: DB, user: User) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        "task-list",
        {},
        TaskListIn,
        lambda data: governance.load_task_list(session, user, code, data),
    )


@router.post("/networks/{code}/governance/tasks/{task_id}/done", response_class=HTMLResponse)
def complete_task(
    code: str,
    task_id: int,
    request: Request,
    session: DB,
    user: User,
    done_on: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        f"task-{task_id}",
        {"done_on": done_on, "outcome": outcome},
        TaskDoneIn,
        lambda data: governance.complete_task(session, user, task_id, data),
        ("outcome",),
    )


class SeatForm(BaseModel):
    name: str = ""
    organisation: str = ""
    role: str = ""
    from_on: str = ""
    until_on: str = ""


@router.post("/networks/{code}/governance/seats", response_class=HTMLResponse)
def add_seat(
    code: str, request: Request, session: DB, user: User, form: Annotated[SeatForm, Form()]
) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        "seat",
        form.model_dump(),
        SeatIn,
        lambda data: governance.add_seat(session, user, code, data),
        ("until_on",),
    )


class DocumentForm(BaseModel):
    kind: str = ""
    title: str = ""
    adopted_on: str = ""
    filed_on: str = ""
    body: str = ""


@router.post("/networks/{code}/governance/documents", response_class=HTMLResponse)
def adopt_document(
    code: str, request: Request, session: DB, user: User, form: Annotated[DocumentForm, Form()]
) -> Response:
    return _post(
        request,
        session,
        user,
        code,
        "document",
        form.model_dump(),
        DocumentIn,
        lambda data: governance.adopt_document(session, user, code, data),
        ("filed_on",),
    )
