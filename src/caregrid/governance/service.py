"""The group's governance (L1, L2): the management committee's seats, the charter and the rules
of decision as adopted and filed, the key-task list with its owners and deadlines (overdue
tasks flagged), the meetings held against the profile's cadence, and the reports to the health
commission. The office records them; the commission reads them. Each record reads as facts
(`governance_month`, `key_task`) for the measures GV1-GV3."""

from __future__ import annotations

from calendar import monthrange
from collections import Counter
from datetime import date
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock, yamlio
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem
from caregrid.governance.models import CommitteeSeat, Document, KeyTask, Meeting, Report
from caregrid.governance.schemas import (
    CadenceOut,
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
    TaskList,
    TaskListIn,
    TaskOut,
)
from caregrid.governance.vocab import KEY_TASKS_FORMAT, MeetingKind, ReportKind, TaskState
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry

CADENCE = "work_meeting_interval_months"  # L2, JH 4.1: a work meeting every month
TASK_LIST = "key_task_list"  # L1, JH annex 2: the key tasks the city set its groups
PURPOSE = "governance"

__all__ = [
    "add_seat",
    "add_task",
    "adopt_document",
    "cadence",
    "complete_task",
    "facts",
    "governance",
    "load_task_list",
    "overdue_tasks",
    "record_meeting",
    "record_report",
]


def _office(session: Session, principal: Principal, code: str) -> registry.Network:
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "a network's governance is kept by its office and the commission"
    )
    return network


def _not_future(field: str, day: date | None) -> list[Problem]:
    return [Problem(field, "is in the future")] if day is not None and day > clock.today() else []


def _check(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInput(problems)


def _audit(
    session: Session, principal: Principal, network_id: int, action: str, **detail: object
) -> None:
    audit.record(
        session,
        principal,
        action=action,
        subject_type="network",
        subject_id=network_id,
        purpose=PURPOSE,
        detail=detail,
    )


def add_seat(session: Session, principal: Principal, code: str, data: SeatIn) -> SeatOut:
    """A seat on the committee: who, for which organisation, from when (L1)."""
    network = _office(session, principal, code)
    problems = _not_future("from_on", data.from_on)
    if data.until_on is not None and data.until_on < data.from_on:
        problems.append(Problem("until_on", "is before the first day"))
    _check(problems)
    row = CommitteeSeat(
        network_id=network.id,
        name=data.name.strip(),
        organisation=data.organisation.strip(),
        role=data.role,
        from_on=data.from_on,
        until_on=data.until_on,
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "committee.seat", seat=row.id, role=data.role.value)
    return SeatOut.model_validate(row, from_attributes=True)


def adopt_document(
    session: Session, principal: Principal, code: str, data: DocumentIn
) -> DocumentOut:
    """A charter, decision rules or plan as adopted, and when it was filed (L1); the latest
    adopted of a kind is the one in force."""
    network = _office(session, principal, code)
    problems = _not_future("adopted_on", data.adopted_on) + _not_future("filed_on", data.filed_on)
    if data.filed_on is not None and data.filed_on < data.adopted_on:
        problems.append(Problem("filed_on", "is before it was adopted"))
    _check(problems)
    row = Document(
        network_id=network.id,
        kind=data.kind,
        title=data.title.strip(),
        adopted_on=data.adopted_on,
        filed_on=data.filed_on,
        body=data.body,
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "document.adopt", document=row.id, kind=data.kind.value)
    return next(d for d in _documents(session, network.id) if d.id == row.id)


def _new_task(network_id: int, data: TaskIn, listed_on: date, source: str | None) -> KeyTask:
    return KeyTask(
        network_id=network_id,
        ref=data.ref,
        task=data.task.strip(),
        content=data.content.strip(),
        owner=data.owner.strip(),
        partners=[p.strip() for p in data.partners],
        due_on=data.due_on,
        continuing=data.continuing or data.due_on is None,
        listed_on=listed_on,
        source=source,
    )


def _refs(session: Session, network_id: int) -> set[str]:
    return set(session.scalars(select(KeyTask.ref).where(KeyTask.network_id == network_id)))


def add_task(session: Session, principal: Principal, code: str, data: TaskIn) -> TaskOut:
    """A key task with its owner, partners and deadline (L1); its number is the list's own."""
    network = _office(session, principal, code)
    if data.ref in _refs(session, network.id):
        raise InvalidInput([Problem("ref", "is a task of this network already")])
    row = _new_task(network.id, data, clock.today(), None)
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "task.add", task=row.ref)
    return _task_out(row, clock.today())


def _task_list(file: str) -> TaskList:
    text = (resources.files("caregrid.data") / "governance" / file).read_text("utf-8")
    found = yamlio.validate(TaskList, yamlio.load_text(text, f"data/governance/{file}"))
    if found.format != KEY_TASKS_FORMAT:
        raise InvalidInput([Problem("format", msg("is not {want}", want=KEY_TASKS_FORMAT), file)])
    return found


def load_task_list(
    session: Session, principal: Principal, code: str, data: TaskListIn
) -> list[TaskOut]:
    """The key-task list the network's profile names, added line by line; a line whose number
    the network already has is kept as it is, so loading twice adds nothing."""
    network = _office(session, principal, code)
    listed_on = data.listed_on or clock.today()
    _check(_not_future("listed_on", listed_on))
    file = policy.get(network.profile).parameter(TASK_LIST, listed_on)
    if file is None:
        raise InvalidInput([Problem("profile", "names no key-task list (key_task_list, L1)")])
    found = _task_list(str(file))
    have = _refs(session, network.id)
    rows = [
        _new_task(network.id, task, listed_on, found.source)
        for task in found.tasks
        if task.ref not in have
    ]
    session.add_all(rows)
    session.flush()
    _audit(session, principal, network.id, "task.load", file=str(file), added=len(rows))
    return [_task_out(r, clock.today()) for r in rows]


def complete_task(
    session: Session, principal: Principal, task_id: int, data: TaskDoneIn
) -> TaskOut:
    """A task marked done on a day, with what came of it; a task is done once."""
    row = session.get(KeyTask, task_id, with_for_update=True)
    if row is None:
        raise NotFound("no such key task")
    network = registry.get_network_by_id(session, row.network_id)
    _office(session, principal, network.code)
    if row.done_on is not None:
        raise Conflict(msg("task {ref} was done on {day}", ref=row.ref, day=row.done_on))
    _check(_not_future("done_on", data.done_on))
    row.done_on = data.done_on
    row.outcome = (data.outcome or "").strip() or None
    _audit(session, principal, network.id, "task.done", task=row.ref, done_on=str(data.done_on))
    return _task_out(row, clock.today())


def record_meeting(
    session: Session, principal: Principal, code: str, data: MeetingIn
) -> MeetingOut:
    """A meeting held, with its minutes (L2); the work meetings answer the profile's cadence."""
    network = _office(session, principal, code)
    _check(_not_future("held_on", data.held_on))
    row = Meeting(
        network_id=network.id,
        kind=data.kind,
        held_on=data.held_on,
        chaired_by=data.chaired_by.strip(),
        minutes=data.minutes,
        decisions=(data.decisions or "").strip() or None,
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "meeting.record", meeting=row.id, kind=data.kind.value)
    return MeetingOut.model_validate(row, from_attributes=True)


def _month(text: str) -> date:
    year, month = map(int, text.split("-"))
    return date(year, month, 1)


def record_report(session: Session, principal: Principal, code: str, data: ReportIn) -> ReportOut:
    """A report sent to the health commission on the month it covers (L2)."""
    network = _office(session, principal, code)
    covers = _month(data.covers)
    problems = _not_future("submitted_on", data.submitted_on)
    if covers > clock.today():
        problems.append(Problem("covers", "is a month still to come"))
    elif data.submitted_on < covers:
        problems.append(Problem("submitted_on", "is before the month it reports on"))
    _check(problems)
    row = Report(
        network_id=network.id,
        kind=data.kind,
        covers=covers,
        submitted_on=data.submitted_on,
        recipient=data.recipient.strip(),
        summary=data.summary,
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, network.id, "report.record", report=row.id, covers=data.covers)
    return _report_out(row)


def _task_out(row: KeyTask, today: date) -> TaskOut:
    if row.done_on is not None:
        late = row.due_on is not None and row.done_on > row.due_on
        state = TaskState.DONE_LATE if late else TaskState.DONE
    elif row.due_on is not None and row.due_on < today:
        state = TaskState.OVERDUE
    else:
        state = TaskState.OPEN
    return TaskOut(
        id=row.id,
        ref=row.ref,
        task=row.task,
        content=row.content,
        owner=row.owner,
        partners=list(row.partners),
        due_on=row.due_on,
        continuing=row.continuing,
        listed_on=row.listed_on,
        done_on=row.done_on,
        outcome=row.outcome,
        source=row.source,
        state=state,
        days_overdue=(
            (today - row.due_on).days if state == TaskState.OVERDUE and row.due_on else None
        ),
    )


def _ref_key(ref: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in ref.replace("-", ".").split("."))


def _tasks(session: Session, network_id: int) -> list[KeyTask]:
    rows = session.scalars(select(KeyTask).where(KeyTask.network_id == network_id))
    return sorted(rows, key=lambda r: (_ref_key(r.ref), r.id))


def overdue_tasks(session: Session, network: registry.Network, today: date) -> list[TaskOut]:
    """The network's key tasks past their deadline and not done, the longest overdue first:
    the office's home page shows them."""
    found = [_task_out(r, today) for r in _tasks(session, network.id)]
    late = [t for t in found if t.state == TaskState.OVERDUE]
    return sorted(late, key=lambda t: (t.due_on or today, _ref_key(t.ref)))


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_end(first: date) -> date:
    return first.replace(day=monthrange(first.year, first.month)[1])


def _first_record(session: Session, network_id: int) -> date | None:
    """The first day the network's governance has anything on: from its month on, each month
    is expected to have its meeting and its report."""
    days = [
        session.scalar(select(func.min(column)).where(table.network_id == network_id))
        for table, column in (
            (Meeting, Meeting.held_on),
            (Report, Report.covers),
            (Document, Document.adopted_on),
            (KeyTask, KeyTask.listed_on),
            (CommitteeSeat, CommitteeSeat.from_on),
        )
    ]
    found = [d for d in days if d is not None]
    return min(found) if found else None


def _months(first: date | None, today: date, held: set[date]) -> list[date]:
    """The months counted from the first record: each one over, and the current one once its
    work meeting is held (a month still running is not yet missed)."""
    if first is None:
        return []
    months, month, current = [], first.replace(day=1), today.replace(day=1)
    while month < current:
        months.append(month)
        month = _add_months(month, 1)
    if current in held:
        months.append(current)
    return months


def cadence(session: Session, network: registry.Network, today: date) -> CadenceOut:
    """The profile's work-meeting cadence (L2) against the meetings held: the next is due by
    the last day of the month `interval` months after the last one's (with none held, by the
    end of the month the interval after the first record began), overdue after that day."""
    interval = policy.get(network.profile).parameter(CADENCE, today)
    meetings = session.scalars(
        select(Meeting.held_on).where(
            Meeting.network_id == network.id, Meeting.kind == MeetingKind.WORK
        )
    ).all()
    held = {d.replace(day=1) for d in meetings}
    first = _first_record(session, network.id)
    missed = [m for m in _months(first, today, held) if m not in held]
    last = max(meetings) if meetings else None
    due_by = None
    if interval is not None:
        start = last.replace(day=1) if last else (first or today).replace(day=1)
        due_by = _month_end(_add_months(start, int(interval) - (0 if last else 1)))
    return CadenceOut(
        interval_months=None if interval is None else int(interval),
        last_held_on=last,
        due_by=due_by,
        overdue=due_by is not None and today > due_by,
        months_without=[m.strftime("%Y-%m") for m in missed],
    )


def _documents(session: Session, network_id: int) -> list[DocumentOut]:
    """Newest adopted first; the first of each kind is the one in force."""
    rows = session.scalars(
        select(Document)
        .where(Document.network_id == network_id)
        .order_by(Document.adopted_on.desc(), Document.id.desc())
    ).all()
    newest: dict[str, int] = {}
    for d in rows:
        newest.setdefault(d.kind, d.id)
    return [
        DocumentOut(
            id=d.id,
            kind=d.kind,
            title=d.title,
            adopted_on=d.adopted_on,
            filed_on=d.filed_on,
            body=d.body,
            in_force=newest[d.kind] == d.id,
        )
        for d in rows
    ]


def _report_out(row: Report) -> ReportOut:
    return ReportOut(
        id=row.id,
        kind=row.kind,
        covers=row.covers.strftime("%Y-%m"),
        submitted_on=row.submitted_on,
        recipient=row.recipient,
        summary=row.summary,
    )


def governance(session: Session, principal: Principal, code: str) -> GovernanceOut:
    """Everything the office keeps: seats, documents (the one in force of each kind marked),
    key tasks with their state, meetings and reports, newest first, and the meeting cadence."""
    network = _office(session, principal, code)
    today = clock.today()
    seats = session.scalars(
        select(CommitteeSeat)
        .where(CommitteeSeat.network_id == network.id)
        .order_by(CommitteeSeat.from_on, CommitteeSeat.id)
    )
    meetings = session.scalars(
        select(Meeting)
        .where(Meeting.network_id == network.id)
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
    )
    reports = session.scalars(
        select(Report)
        .where(Report.network_id == network.id)
        .order_by(Report.covers.desc(), Report.id.desc())
    )
    return GovernanceOut(
        network_code=network.code,
        seats=[SeatOut.model_validate(s, from_attributes=True) for s in seats],
        documents=_documents(session, network.id),
        tasks=[_task_out(r, today) for r in _tasks(session, network.id)],
        meetings=[MeetingOut.model_validate(m, from_attributes=True) for m in meetings],
        reports=[_report_out(r) for r in reports],
        cadence=cadence(session, network, today),
    )


def facts(session: Session, on: date) -> dict[str, list[dict[str, object]]]:
    """Each network's months from its first record (`governance_month`: the work meetings
    held and the work updates sent to the commission on it), and its key tasks with a
    deadline (`key_task`), for GV1-GV3 (docs/activity.md)."""
    months: list[dict[str, object]] = []
    tasks: list[dict[str, object]] = []
    for network in registry.networks(session):
        meetings = session.scalars(
            select(Meeting.held_on).where(
                Meeting.network_id == network.id, Meeting.kind == MeetingKind.WORK
            )
        ).all()
        reports = session.scalars(
            select(Report.covers).where(
                Report.network_id == network.id,
                Report.kind == ReportKind.WORK_UPDATE,
                Report.submitted_on <= on,
            )
        ).all()
        held = Counter(d.replace(day=1) for d in meetings if d <= on)
        sent = Counter(reports)
        for month in _months(_first_record(session, network.id), on, set(held)):
            months.append(
                {
                    "network_code": network.code,
                    "month_of": month,
                    "work_meetings": held[month],
                    "reports": sent[month],
                }
            )
        for row in _tasks(session, network.id):
            if row.due_on is not None and row.listed_on <= on:
                tasks.append(
                    {
                        "task_id": f"cg-{row.id}",
                        "network_code": network.code,
                        "ref": row.ref,
                        "listed_on": row.listed_on,
                        "due_on": row.due_on,
                        "done_on": row.done_on if row.done_on and row.done_on <= on else None,
                    }
                )
    return {"governance_month": months, "key_task": tasks}
