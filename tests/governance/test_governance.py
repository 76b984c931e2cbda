"""The group's governance (L1, L2): Jinhua's key-task list loaded once, a task overdue the
day after its deadline and not on it, done on its deadline on time and a day later late, done
once; the monthly work-meeting cadence due by the end of the month after the last meeting and
overdue the day after; reports and documents dated in order; the figures GV1-GV3 from the
facts on the store's engine; the office and the commission only."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import importer
from caregrid.activity.facts import fact
from caregrid.errors import Conflict, Forbidden, InvalidInput
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
from caregrid.governance.vocab import TaskState
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
TODAY = NOW.date()  # 2026-11-23


def _task(ref: str, due: date | None) -> TaskIn:
    return TaskIn(ref=ref, task="测试任务", content="内容", owner="医疗集团", due_on=due)


def _meeting(day: date) -> MeetingIn:
    return MeetingIn.model_validate(
        {"kind": "work", "held_on": day, "chaired_by": "主任", "minutes": "纪要"}
    )


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return {p.field for p in exc.value.problems}


def test_the_profiles_key_task_list_loads_once(session: Session, world: World) -> None:
    added = governance.load_task_list(session, world.office, NETWORK, TaskListIn())
    assert len(added) == 40  # every line of JH annex 2
    by_ref = {t.ref: t for t in added}
    assert by_ref["4.1"].owner == "市卫生健康委" and by_ref["4.1"].due_on == date(2024, 4, 30)
    assert by_ref["4.1"].continuing and by_ref["1.1"].partners == ["区卫生健康局", "医疗集团"]
    assert by_ref["6.2"].due_on is None and by_ref["6.2"].continuing
    assert by_ref["1.1"].state == TaskState.OVERDUE
    assert by_ref["1.1"].days_overdue == (TODAY - date(2024, 4, 30)).days
    assert by_ref["6.2"].state == TaskState.OPEN  # no deadline: never overdue
    assert governance.load_task_list(session, world.office, NETWORK, TaskListIn()) == []
    refs = [t.ref for t in governance.governance(session, world.office, NETWORK).tasks]
    assert refs[:3] == ["1.1", "1.2", "2.1"] and refs.index("9.4") < refs.index("10.1")


def test_a_profile_without_a_list_is_named(session: Session, world: World) -> None:
    registry.get_network(session, NETWORK).profile = "test-rules"
    with pytest.raises(InvalidInput) as refused:
        governance.load_task_list(session, world.office, NETWORK, TaskListIn())
    assert _fields(refused) == {"profile"}


def test_a_task_is_overdue_the_day_after_its_deadline(session: Session, world: World) -> None:
    due_today = governance.add_task(session, world.office, NETWORK, _task("T1", TODAY))
    due_yesterday = governance.add_task(
        session, world.office, NETWORK, _task("T2", TODAY - timedelta(days=1))
    )
    assert due_today.state == TaskState.OPEN and due_today.days_overdue is None
    assert due_yesterday.state == TaskState.OVERDUE and due_yesterday.days_overdue == 1
    network = registry.get_network(session, NETWORK)
    assert [t.ref for t in governance.overdue_tasks(session, network, TODAY)] == ["T2"]
    with pytest.raises(InvalidInput) as refused:
        governance.add_task(session, world.office, NETWORK, _task("T1", None))
    assert _fields(refused) == {"ref"}


def test_done_on_the_deadline_is_on_time_a_day_later_late_and_only_once(
    session: Session, world: World
) -> None:
    due = date(2026, 10, 31)
    on_time = governance.add_task(session, world.office, NETWORK, _task("A", due))
    late = governance.add_task(session, world.office, NETWORK, _task("B", due))
    done = governance.complete_task(session, world.office, on_time.id, TaskDoneIn(done_on=due))
    assert done.state == TaskState.DONE
    after = due + timedelta(days=1)
    assert (
        governance.complete_task(session, world.office, late.id, TaskDoneIn(done_on=after)).state
        == TaskState.DONE_LATE
    )
    with pytest.raises(Conflict):
        governance.complete_task(session, world.office, on_time.id, TaskDoneIn(done_on=due))
    other = governance.add_task(session, world.office, NETWORK, _task("C", due))
    tomorrow = TODAY + timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        governance.complete_task(session, world.office, other.id, TaskDoneIn(done_on=tomorrow))
    assert _fields(refused) == {"done_on"}


def test_the_work_meeting_is_due_by_the_end_of_the_next_month(
    session: Session, world: World
) -> None:
    network = registry.get_network(session, NETWORK)
    governance.add_seat(
        session,
        world.office,
        NETWORK,
        SeatIn.model_validate(
            {"name": "王主任", "organisation": "市卫生健康委", "role": "chair",
             "from_on": "2026-08-01"}
        ),
    )  # fmt: skip
    start = governance.cadence(session, network, TODAY)
    assert start.interval_months == 1 and start.last_held_on is None
    assert start.due_by == date(2026, 8, 31) and start.overdue
    governance.record_meeting(session, world.office, NETWORK, _meeting(date(2026, 8, 20)))
    governance.record_meeting(session, world.office, NETWORK, _meeting(date(2026, 10, 1)))
    found = governance.cadence(session, network, TODAY)
    assert found.due_by == date(2026, 11, 30) and not found.overdue
    assert found.months_without == ["2026-09"]  # November is still running
    assert governance.cadence(session, network, date(2026, 11, 30)).overdue is False
    assert governance.cadence(session, network, date(2026, 12, 1)).overdue is True
    with pytest.raises(InvalidInput) as refused:
        governance.record_meeting(session, world.office, NETWORK, _meeting(TODAY + timedelta(1)))
    assert _fields(refused) == {"held_on"}


def test_reports_and_documents_are_dated_in_order(session: Session, world: World) -> None:
    def report(covers: str, sent: str) -> ReportIn:
        return ReportIn.model_validate(
            {"kind": "work_update", "covers": covers, "submitted_on": sent,
             "recipient": "市卫生健康委", "summary": "动态"}
        )  # fmt: skip

    assert governance.record_report(session, world.office, NETWORK, report("2026-10", "2026-10-01"))
    with pytest.raises(InvalidInput) as early:
        governance.record_report(session, world.office, NETWORK, report("2026-10", "2026-09-30"))
    assert _fields(early) == {"submitted_on"}
    with pytest.raises(InvalidInput) as coming:
        governance.record_report(session, world.office, NETWORK, report("2026-12", "2026-11-23"))
    assert _fields(coming) == {"covers"}

    def charter(adopted: str, filed: str | None) -> DocumentIn:
        return DocumentIn.model_validate(
            {"kind": "charter", "title": "章程", "adopted_on": adopted, "filed_on": filed,
             "body": "第一条"}
        )  # fmt: skip

    with pytest.raises(InvalidInput) as before:
        governance.adopt_document(
            session, world.office, NETWORK, charter("2026-03-02", "2026-03-01")
        )
    assert _fields(before) == {"filed_on"}
    old = governance.adopt_document(session, world.office, NETWORK, charter("2024-03-01", None))
    new = governance.adopt_document(session, world.office, NETWORK, charter("2026-03-01", None))
    assert old.in_force and new.in_force
    shown = governance.governance(session, world.office, NETWORK).documents
    assert [(d.id, d.in_force) for d in shown] == [(new.id, True), (old.id, False)]


def test_members_neither_read_nor_write(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        governance.governance(session, world.lead_admin, NETWORK)
    with pytest.raises(Forbidden):
        governance.record_meeting(session, world.cardiologist, NETWORK, _meeting(TODAY))


def test_the_figures_count_the_months_and_the_tasks(session: Session, world: World) -> None:
    """From 2026-08 (the first record) to October: meetings in August and October, a report on
    September; of the two tasks due in 2026 one was done by its deadline."""
    office = world.office
    governance.add_seat(
        session, office, NETWORK,
        SeatIn.model_validate(
            {"name": "王", "organisation": "卫健委", "role": "member", "from_on": "2026-08-03"}
        ),
    )  # fmt: skip
    governance.record_meeting(session, office, NETWORK, _meeting(date(2026, 8, 20)))
    governance.record_meeting(session, office, NETWORK, _meeting(date(2026, 10, 9)))
    governance.record_report(
        session, office, NETWORK,
        ReportIn.model_validate(
            {"kind": "work_update", "covers": "2026-09", "submitted_on": "2026-10-05",
             "recipient": "市卫生健康委", "summary": "九月动态"}
        ),
    )  # fmt: skip
    a = governance.add_task(session, office, NETWORK, _task("F1", date(2026, 6, 30)))
    governance.add_task(session, office, NETWORK, _task("F2", date(2026, 9, 30)))
    governance.add_task(session, office, NETWORK, _task("F3", date(2025, 9, 30)))  # last year
    governance.complete_task(session, office, a.id, TaskDoneIn(done_on=date(2026, 6, 30)))
    with clock.frozen(NOW):
        rows = indicators.network_rows(
            session, NETWORK, ("GV1", "GV2", "GV3"), ("2026-01", "2026-11")
        )
    mine = rows[-1].figures
    assert rows[-1].code == NETWORK
    assert (mine["GV1"].numerator, mine["GV1"].denominator) == (2, 3)  # Aug, Sep, Oct
    assert (mine["GV2"].numerator, mine["GV2"].denominator) == (1, 3)
    assert (mine["GV3"].numerator, mine["GV3"].denominator) == (1, 2)
    member = rows[0].figures["GV1"]  # a member has no figure of the network's own
    assert (member.numerator, member.denominator) == (0, 0)


def test_an_unknown_network_in_a_facts_file_is_a_row_error(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "months.csv"
    path.write_text(
        "network_code,month_of,work_meetings,reports\n"
        f"{NETWORK},2026-01-01,1,0\nno-such-net,2026-01-01,1,0\n",
        encoding="utf-8",
    )
    networks = {n.code for n in registry.networks(session)}
    rows, report = importer.validate(
        path, fact("governance_month"), importer.registry_codes(session), None, networks
    )
    assert rows.num_rows == 1
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (3, "network_code", "not a network of the registry")
    ]


def test_the_api_names_the_field(client: TestClient, session: Session, world: World) -> None:
    office = bearer(session, world.office)
    with clock.frozen(NOW):
        made = client.post(
            f"/api/networks/{NETWORK}/meetings",
            headers=office,
            json={"kind": "work", "held_on": "2026-11-02", "chaired_by": "主任", "minutes": "纪要"},
        )
        assert made.status_code == 201 and made.json()["kind"] == "work"
        bad = client.post(
            f"/api/networks/{NETWORK}/reports",
            headers=office,
            json={"kind": "work_update", "covers": "2026-13", "submitted_on": "2026-11-02",
                  "recipient": "卫健委", "summary": "x"},
        )  # fmt: skip
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["body.covers"]
        huge = client.post(
            f"/api/key-tasks/{2**40}/done", headers=office, json={"done_on": "2026-11-01"}
        )
        assert huge.status_code == 422
        missing = client.post(
            "/api/key-tasks/2147483647/done", headers=office, json={"done_on": "2026-11-01"}
        )
        assert missing.status_code == 404
        read = client.get(f"/api/networks/{NETWORK}/governance", headers=office).json()
        assert read["cadence"]["last_held_on"] == "2026-11-02"
        doctor = bearer(session, world.cardiologist)
        assert client.get(f"/api/networks/{NETWORK}/governance", headers=doctor).status_code == 403
