"""REST API of the group's governance (L1, L2): committee seats, documents, key tasks,
meetings and reports to the health commission; thin, calls the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from caregrid.governance import service as governance
from caregrid.governance.schemas import (
    DocumentIn,
    DocumentOut,
    GovernanceOut,
    MeetingIn,
    MeetingOut,
    ReportIn,
    ReportOut,
    SeatIn,
    SeatOut,
    TaskDoneIn,
    TaskIn,
    TaskListIn,
    TaskOut,
)
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["governance"])
TASK_ID = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/networks/{code}/governance", response_model=GovernanceOut)
def network_governance(code: str, session: DB, user: User) -> GovernanceOut:
    """Seats, documents, key tasks with their state, meetings, reports and the cadence."""
    return governance.governance(session, user, code)


@router.post("/networks/{code}/committee", response_model=SeatOut, status_code=201)
def add_seat(code: str, body: SeatIn, session: DB, user: User) -> SeatOut:
    return governance.add_seat(session, user, code, body)


@router.post("/networks/{code}/documents", response_model=DocumentOut, status_code=201)
def adopt_document(code: str, body: DocumentIn, session: DB, user: User) -> DocumentOut:
    return governance.adopt_document(session, user, code, body)


@router.post("/networks/{code}/key-tasks", response_model=TaskOut, status_code=201)
def add_task(code: str, body: TaskIn, session: DB, user: User) -> TaskOut:
    return governance.add_task(session, user, code, body)


@router.post("/networks/{code}/key-tasks/list", response_model=list[TaskOut], status_code=201)
def load_task_list(code: str, body: TaskListIn, session: DB, user: User) -> list[TaskOut]:
    """Add the key-task list the network's profile names; lines it has already are kept."""
    return governance.load_task_list(session, user, code, body)


@router.post("/key-tasks/{task_id}/done", response_model=TaskOut)
def complete_task(task_id: TASK_ID, body: TaskDoneIn, session: DB, user: User) -> TaskOut:
    return governance.complete_task(session, user, task_id, body)


@router.post("/networks/{code}/meetings", response_model=MeetingOut, status_code=201)
def record_meeting(code: str, body: MeetingIn, session: DB, user: User) -> MeetingOut:
    return governance.record_meeting(session, user, code, body)


@router.post("/networks/{code}/reports", response_model=ReportOut, status_code=201)
def record_report(code: str, body: ReportIn, session: DB, user: User) -> ReportOut:
    return governance.record_report(session, user, code, body)
