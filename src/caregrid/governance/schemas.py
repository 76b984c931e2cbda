"""API input and output of the group's governance records (L1, L2)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from caregrid.governance.vocab import (
    CommitteeRole,
    DocumentKind,
    MeetingKind,
    ReportKind,
    TaskState,
)

REF = r"^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
Line = Annotated[str, Field(min_length=1, max_length=300)]


class SeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    organisation: str = Field(min_length=1, max_length=200)
    role: CommitteeRole
    from_on: date
    until_on: date | None = None


class SeatOut(BaseModel):
    id: int
    name: str
    organisation: str
    role: CommitteeRole
    from_on: date
    until_on: date | None


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DocumentKind
    title: str = Field(min_length=1, max_length=200)
    adopted_on: date
    filed_on: date | None = Field(None, description="the day it was filed with the commission")
    body: str = Field(min_length=1, max_length=100_000)


class DocumentOut(BaseModel):
    id: int
    kind: DocumentKind
    title: str
    adopted_on: date
    filed_on: date | None
    body: str
    in_force: bool  # the latest adopted of its kind


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(pattern=REF, description="its number in the list, e.g. 4.1")
    task: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=4_000)
    owner: str = Field(min_length=1, max_length=300, description="the unit responsible")
    partners: list[Line] = Field(default_factory=list, max_length=30)
    due_on: date | None = Field(None, description="the deadline; empty: continuing work")
    continuing: bool = Field(False, description="carried on after its deadline (并持续实施)")


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    done_on: date
    outcome: str | None = Field(None, max_length=4_000)


class TaskList(BaseModel):
    """A key-task list shipped as data (`data/governance/`, format caregrid-key-tasks/1)."""

    model_config = ConfigDict(extra="forbid")
    format: str
    source: str
    tasks: list[TaskIn] = Field(min_length=1, max_length=1_000)


class TaskListIn(BaseModel):
    """Load the key-task list the network's profile names (L1)."""

    model_config = ConfigDict(extra="forbid")
    listed_on: date | None = None


class TaskOut(BaseModel):
    id: int
    ref: str
    task: str
    content: str
    owner: str
    partners: list[str]
    due_on: date | None
    continuing: bool
    listed_on: date
    done_on: date | None
    outcome: str | None
    source: str | None
    state: TaskState
    days_overdue: int | None  # past the deadline and not done


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MeetingKind
    held_on: date
    chaired_by: str = Field(min_length=1, max_length=100)
    minutes: str = Field(min_length=1, max_length=20_000)
    decisions: str | None = Field(None, max_length=20_000)


class MeetingOut(BaseModel):
    id: int
    kind: MeetingKind
    held_on: date
    chaired_by: str
    minutes: str
    decisions: str | None


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ReportKind
    covers: str = Field(pattern=MONTH, description="the month reported on, YYYY-MM")
    submitted_on: date
    recipient: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=20_000)


class ReportOut(BaseModel):
    id: int
    kind: ReportKind
    covers: str
    submitted_on: date
    recipient: str
    summary: str


class CadenceOut(BaseModel):
    """The work-meeting rule of the profile (L2) against the meetings held."""

    interval_months: int | None  # None: the profile sets no cadence
    last_held_on: date | None
    due_by: date | None  # the last day the next work meeting may be held
    overdue: bool
    months_without: list[str]  # YYYY-MM since the first record, with no work meeting


class GovernanceOut(BaseModel):
    network_code: str
    seats: list[SeatOut]
    documents: list[DocumentOut]
    tasks: list[TaskOut]
    meetings: list[MeetingOut]
    reports: list[ReportOut]
    cadence: CadenceOut
