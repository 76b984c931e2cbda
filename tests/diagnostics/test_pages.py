"""Diagnostics pages over HTTP: the order page offers a valid prior result and records a reuse
or a coded repeat; the centre's reader signs a report from its form; the centre's queue and a
patient's results across the network; zh-CN labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics import teleconsult
from caregrid.diagnostics.schemas import CentreIn, CentreItemIn
from caregrid.diagnostics.vocab import CentreKind
from tests.conftest import bearer
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        world = build(session)
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.LABORATORY,
                institution_code="jh-rmyy",
                name="检验中心",
                items=[CentreItemIn(item_code="lipid_panel", turnaround_hours=24)],
                readers=[world.cardiologist.username],
            ),
        )
        diagnostics.record_quality_assessment(
            session,
            SYSTEM,
            institution_code="jh-rmyy",
            category="chemistry",
            valid_from=date(2026, 1, 1),
            valid_until=date(2026, 12, 31),
            scheme="EQA",
        )
        yield world


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def _order(client: TestClient, headers: dict[str, str], resident: int) -> str:
    placed = client.post(
        "/orders/new", data={"resident_id": resident, "item_code": "lipid_panel"}, headers=headers
    )
    assert placed.status_code == 200 and re.search(r"/orders/\d+$", str(placed.url))
    return str(placed.url)


def test_order_report_then_reuse_or_repeat_from_the_pages(
    client: TestClient, session: Session, world: World
) -> None:
    member, lead = _as(session, world.community_doctor), _as(session, world.cardiologist)
    with clock.frozen(NOW):
        form = client.get(f"/orders/new?resident_id={world.patient}", headers=member)
        assert form.status_code == 200 and "血脂四项" in form.text
        first = _order(client, member, world.patient)
        centre_id = diagnostics.centres_run_by(session, world.cardiologist.institution_id or 0)[
            0
        ].id
        queue = client.get(f"/centres/{centre_id}/queue", headers=lead)
        assert queue.status_code == 200 and first.rsplit("/", 1)[1] in queue.text
        values = {"value.tc": "6.1", "value.tg": "1.5", "value.ldl": "x", "value.hdl": "1.2"}
        refused = client.post(f"{first}/report", data=values, headers=lead)
        assert refused.status_code == 422 and "不是数字" in refused.text
        signed = client.post(
            f"{first}/report",
            data={**values, "value.ldl": "3.9", "conclusion": "高胆固醇血症"},
            headers=lead,
        )
        assert (
            signed.status_code == 200
            and 'id="result"' in signed.text
            and "高胆固醇血症" in signed.text
        )
    with clock.frozen(NOW + timedelta(days=14)):
        lead = _as(session, world.cardiologist)
        second = _order(client, lead, world.patient)
        page = client.get(second, headers=lead).text
        assert 'id="offers"' in page and "有效期至" in page and "高胆固醇血症" not in page
        result_id = re.search(r'class="offer" data-result="(\d+)"', page)
        assert result_id
        reused = client.post(
            f"{second}/recognise", data={"result_id": result_id.group(1)}, headers=lead
        )
        assert 'id="order-state" class="status">已互认（沿用）' in reused.text
        third = _order(client, lead, world.patient)
        refused = client.post(
            f"{third}/repeat",
            data={"prior_result_id": result_id.group(1), "reason": "other"},
            headers=lead,
        )
        assert refused.status_code == 422 and "时请说明" in refused.text
        repeated = client.post(
            f"{third}/repeat",
            data={"prior_result_id": result_id.group(1), "reason": "condition_changed"},
            headers=lead,
        )
        assert repeated.status_code == 200 and 'id="offers"' in repeated.text  # still ordered
        results = client.get(f"/residents/{world.patient}/results", headers=lead)
        assert results.status_code == 200 and results.text.count('data-result="') == 1


def test_the_teleconsultation_page_schedules_answers_and_closes(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        consult = teleconsult.request(
            session,
            world.community_doctor,
            resident_id=world.patient,
            to_institution_code="jh-rmyy",
            to_department_id=world.cardiology,
            question="请会诊血压",
        )
        member, lead = _as(session, world.community_doctor), _as(session, world.cardiologist)
        inbox = client.get("/teleconsultations", headers=lead)
        assert inbox.status_code == 200 and "请会诊血压" in inbox.text and "远程会诊" in inbox.text
        at = (NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        client.post(
            f"/teleconsultations/{consult.id}/schedule",
            data={"at": at, "meeting_link": "https://meet.example.cn/r"},
            headers=lead,
        )
        assert consult.state == "scheduled" and consult.scheduled_for == NOW + timedelta(hours=2)
        client.post(
            f"/teleconsultations/{consult.id}/answer", data={"opinion": "加药"}, headers=lead
        )
        sent = client.get("/teleconsultations", headers=member).text
        assert "加药" in sent and 'class="close"' in sent
        client.post(f"/teleconsultations/{consult.id}/close", headers=member)
        assert consult.state == "closed"


def test_a_closed_teleconsultation_reads_as_ended_not_as_a_closed_referral_loop(
    client: TestClient, session: Session, world: World
) -> None:
    """A teleconsultation's "closed" is a word of its own (已结束 / Concluded), on its page and
    inside a refusal; a referral's "closed" stays 已闭环."""
    with clock.frozen(NOW):
        consult = teleconsult.request(
            session,
            world.community_doctor,
            resident_id=world.patient,
            to_institution_code="jh-rmyy",
            to_department_id=world.cardiology,
            question="请会诊血压",
        )
        teleconsult.schedule(
            session,
            world.cardiologist,
            consult.id,
            at=NOW + timedelta(hours=2),
            meeting_link="https://meet.example.cn/r",
        )
        teleconsult.answer(session, world.cardiologist, consult.id, opinion="加药")
        teleconsult.close(session, world.community_doctor, consult.id)
        member = _as(session, world.community_doctor)
        row = rf'<tr data-consult="{consult.id}" data-state="closed"><td>#{consult.id}</td><td>'
        page = client.get("/teleconsultations", headers=member).text
        assert re.search(row + "已结束</td>", page), page
        again = client.post(f"/teleconsultations/{consult.id}/close", headers=member)
        assert again.status_code == 409 and f"远程会诊 {consult.id} 为已结束状态" in again.text
        client.cookies.set("caregrid_lang", "en")
        english = client.get("/teleconsultations", headers=member).text
        refused = client.post(f"/teleconsultations/{consult.id}/close", headers=member).text
        client.cookies.clear()
        assert re.search(row + "Concluded</td>", english), english
        assert f"teleconsultation {consult.id} is concluded" in refused
        assert "已闭环" not in page + again.text


def test_the_supply_desk_dispatches_lists_overdue_and_records_returns(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.STERILISATION,
                institution_code="jh-rmyy",
                name="消毒供应中心",
            ),
        )
        member, lead = _as(session, world.community_doctor), _as(session, world.cardiologist)
        centres = client.get("/centres", headers=member).text
        assert 'data-kind="sterilisation"' in centres and 'data-kind="laboratory"' in centres
        refused = client.post(
            "/sterile-supplies/new", data={"package": "换药包", "quantity": 0}, headers=member
        )
        assert refused.status_code == 422 and "0 不在 1 到 1000 之间" in refused.text
        assert 'data-supply="' not in refused.text  # nothing stored
        client.post(
            "/sterile-supplies/new", data={"package": "换药包", "quantity": 10}, headers=member
        )
        desk = client.get("/sterile-supplies", headers=lead).text
        found = re.search(r'data-supply="(\d+)" data-state="requested"', desk)
        assert found and "换药包" in desk
        supply_id = found.group(1)
        past = client.post(
            f"/sterile-supplies/{supply_id}/dispatch",
            data={"due_back_on": (NOW.date() - timedelta(days=1)).isoformat()},
            headers=lead,
        )
        assert past.status_code == 422 and "已过" in past.text
        due = NOW.date() + timedelta(days=7)
        client.post(
            f"/sterile-supplies/{supply_id}/dispatch",
            data={"due_back_on": due.isoformat()},
            headers=lead,
        )
        assert 'data-state="dispatched"' in client.get("/sterile-supplies", headers=member).text
    with clock.frozen(datetime.combine(due, NOW.timetz())):
        member, lead = _as(session, world.community_doctor), _as(session, world.cardiologist)
        on_the_day = client.get("/sterile-supplies", headers=lead).text
        assert 'data-state="dispatched"' in on_the_day and 'class="overdue"' not in on_the_day
    with clock.frozen(datetime.combine(due + timedelta(days=1), NOW.timetz())):
        member, lead = _as(session, world.community_doctor), _as(session, world.cardiologist)
        late = client.get("/sterile-supplies", headers=lead).text
        assert 'class="overdue"' in late and "逾期未回收" in late
        client.post(f"/sterile-supplies/{supply_id}/return", headers=lead)
        assert 'data-supply="' not in client.get("/sterile-supplies", headers=lead).text
        mine = client.get("/sterile-supplies", headers=member).text
        assert 'data-state="returned"' in mine


def test_the_measures_page_is_the_offices_and_reads_the_profile_target(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        consult = teleconsult.request(
            session,
            world.community_doctor,
            resident_id=world.patient,
            to_institution_code="jh-rmyy",
            to_department_id=world.cardiology,
            question="请会诊",
        )
        teleconsult.schedule(
            session,
            world.cardiologist,
            consult.id,
            at=NOW + timedelta(hours=1),
            meeting_link="https://meet.example.cn/x",
        )
    with clock.frozen(NOW + timedelta(hours=3)):
        teleconsult.answer(session, world.cardiologist, consult.id, opinion="调整用药")
        page = client.get(
            "/networks/jh-rmyy-wucheng/diagnostics-measures", headers=_as(session, world.office)
        )
        assert page.status_code == 200 and "检查检验结果互认率" in page.text
        assert re.search(r'data-state="answered"><td>[^<]+</td><td>1</td>', page.text)
        assert '<td id="consult-response">3.0</td>' in page.text
        assert 'id="turnaround"' in page.text and 'data-centre="检验中心"' in page.text
        member = client.get(
            "/networks/jh-rmyy-wucheng/diagnostics-measures",
            headers=_as(session, world.community_doctor),
        )
        assert member.status_code == 403


def test_the_request_form_asks_a_department_of_the_network_and_names_a_bad_field(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        member = _as(session, world.community_doctor)
        form = client.get(f"/teleconsultations/new?resident_id={world.patient}", headers=member)
        assert form.status_code == 200 and f'value="{world.cardiology}"' in form.text
        assert f'value="{world.neurology_zxyy}"' not in form.text  # not of this network
        empty = client.post(
            "/teleconsultations/new",
            data={"resident_id": world.patient, "to_department_id": world.cardiology},
            headers=member,
        )
        assert empty.status_code == 422 and "请说明会诊事由" in empty.text
        assert teleconsult.sent(session, world.community_doctor) == []
        sent = client.post(
            "/teleconsultations/new",
            data={
                "resident_id": world.patient,
                "to_department_id": world.cardiology,
                "question": "胸痛待查",
            },
            headers=member,
        )
        assert sent.status_code == 200 and str(sent.url).endswith("/teleconsultations")
        assert 'data-state="requested"' in sent.text and "胸痛待查" in sent.text
