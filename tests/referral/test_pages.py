"""The referral pages over HTTP: the unit's lists, the form with its slot picker and rule
errors, one referral with its action forms and timeline, and the monthly measures."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.referral import pages
from caregrid.referral import service as referrals
from caregrid.referral.vocab import Action, RejectionReason, Urgency
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import ClinicSession
from tests.conftest import bearer, make_principal
from tests.referrals import HYPERTENSION, arrive, refer_down, refer_up
from tests.world import NOW, SHANGHAI, World, add_patients


def _publish(session: Session, world: World, day: int = 1, capacity: int = 30) -> ClinicSession:
    start = datetime(2026, 12, day, 8, 0, tzinfo=SHANGHAI)
    return scheduling.publish_session(
        session,
        world.lead_admin,
        department_id=world.cardiology,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=capacity,
    )


def _rows(html: str, table: str) -> list[tuple[str, str]]:
    body = re.search(
        rf'<table class="referrals" id="{table}-table">.*?<tbody>(.*?)</tbody>', html, re.S
    )
    assert body, table
    rows: list[tuple[str, str]] = re.findall(
        r'<tr data-referral="(\d+)"[^>]*>(.*?)</tr>', body.group(1), re.S
    )
    return rows


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def test_inbox_puts_the_green_channel_first(
    client: TestClient, session: Session, world: World
) -> None:
    urgent_unsigned = refer_up(
        session, world, resident_id=world.unsigned_patient, urgency=Urgency.EMERGENCY
    ).id
    signed = refer_up(session, world).id
    page = client.get("/referrals", headers=_as(session, world.cardiologist))
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    inbox = _rows(page.text, "inbox")
    assert [int(r[0]) for r in inbox] == [signed, urgent_unsigned]
    assert "绿色通道" in inbox[0][1] and "绿色通道" not in inbox[1][1]
    assert "急诊" in inbox[1][1] and "已提交" in inbox[0][1]
    assert "张建国" in inbox[0][1] and "城东" in inbox[0][1]
    awaiting = _rows(page.text, "awaiting")
    assert {int(r[0]) for r in awaiting} == {signed, urgent_unsigned}
    assert f'href="/referrals/{signed}#schedule"' in page.text
    assert "审批" not in page.text  # not the network office

    outbox = client.get("/referrals", headers=_as(session, world.community_doctor)).text
    assert {int(r[0]) for r in _rows(outbox, "outbox")} == {signed, urgent_unsigned}
    assert _rows(outbox, "inbox") == []
    assert 'href="/referrals/new"' in outbox
    assert 'href="/networks/jh-rmyy-wucheng/referral-measures"' in outbox

    client.cookies.set("caregrid_lang", "en")
    english = client.get("/referrals", headers=_as(session, world.cardiologist)).text
    client.cookies.clear()
    assert "Green channel" in _rows(english, "inbox")[0][1]


def test_overdue_referrals_are_flagged(client: TestClient, session: Session, world: World) -> None:
    refer_up(session, world)
    with clock.frozen(NOW + timedelta(hours=49)):
        page = client.get("/referrals", headers=_as(session, world.cardiologist)).text
    assert "超时未响应" in _rows(page, "inbox")[0][1]


def test_form_shows_only_open_slots_of_the_chosen_department(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = _publish(session, world)
    views = scheduling.slot_views(session, world.community_doctor, clinic)
    taken = next(v for v in views if v.pool == "reserved")
    scheduling.book(session, world.community_doctor, slot_id=taken.id, resident_id=world.patient)

    url = f"/referrals/new?to=jh-rmyy&department_id={world.cardiology}"
    page = client.get(url, headers=_as(session, world.community_doctor))
    assert page.status_code == 200
    offered = set(re.findall(r'name="slot_id" id="slot-(\d+)"', page.text))
    expected = {str(v.id) for v in views} - {str(taken.id)}
    assert offered == expected and len(offered) == 29
    assert page.text.count('data-pool="reserved"') == 9
    assert "2026-12-01 08:00" in page.text
    assert "张建国" in page.text and "心血管内科" in page.text
    assert 'value="jh-rmyy" selected' in page.text

    # A unit outside the lead's network sees only the public slots.
    other = client.get(url, headers=_as(session, world.other_grid_doctor)).text
    assert len(re.findall(r'name="slot_id" id="slot-\d+"', other)) == 20
    assert 'data-pool="reserved"' not in other


def test_the_slot_picker_shows_one_day_at_a_time_with_the_doctor(
    client: TestClient, session: Session, world: World
) -> None:
    doctor = registry.create_practitioner(
        session, SYSTEM, code="card-li-1", name="李明华", title_level="senior",
        home_institution_code="jh-rmyy",
    )  # fmt: skip
    first = _publish(session, world, day=1)
    second = _publish(session, world, day=3)
    second.practitioner_id = doctor.id
    session.flush()
    url = f"/referrals/new?to=jh-rmyy&department_id={world.cardiology}&consent=true"
    headers = _as(session, world.community_doctor)

    def shown(page: str) -> set[str]:
        return set(re.findall(r'class="slot-session" data-session="(\d+)"', page))

    page = client.get(url, headers=headers).text
    days = re.findall(r'<option value="(2026-12-\d\d)"( selected)?>', page)
    assert days == [("2026-12-01", " selected"), ("2026-12-03", "")]
    assert "可约 30 个" in page and shown(page) == {str(first.id)}
    assert len(re.findall(r'name="slot_id" id="slot-\d+"', page)) == 30
    third = client.get(f"{url}&slot_day=2026-12-03", headers=headers).text
    assert shown(third) == {str(second.id)} and "李明华" in third
    assert 'value="jh-rmyy" selected' in third  # the form's choices travel with the day
    # A chosen slot keeps its day in view; a day with no slots or no date shows the first.
    chosen = scheduling.slot_views(session, world.community_doctor, second)[0].id
    assert shown(client.get(f"{url}&slot_id={chosen}", headers=headers).text) == {str(second.id)}
    for odd in ("2026-12-02", "2026-13-01", "x" * 10):
        answer = client.get(f"{url}&slot_day={odd}", headers=headers)
        assert answer.status_code == 200 and shown(answer.text) == {str(first.id)}, odd
    assert client.get(f"{url}&slot_day={'9' * 11}", headers=headers).status_code == 422


def test_the_patient_picker_searches_instead_of_listing_everyone(
    client: TestClient, session: Session, world: World
) -> None:
    add_patients(session, world, pages.PICKER_ROWS + 5)
    headers = _as(session, world.community_doctor)

    def offered(query: str) -> list[str]:
        page = client.get(f"/referrals/new?{query}", headers=headers)
        assert page.status_code == 200, query
        picker = re.search(r'<select id="resident_id".*?</select>', page.text, re.S)
        assert picker is not None
        return re.findall(r'<option value="(\d+)"', picker.group(0))

    first = offered("")
    assert len(first) == pages.PICKER_ROWS  # not the whole register
    national_id = residents.record(session, world.patient).national_id
    assert offered(f"patient_q={national_id[-6:]}") == [str(world.patient)]
    name = residents.name_of(session, world.patient)
    assert str(world.patient) in offered(f"patient_q={name[:1]}")
    # The chosen patient stays on the list whatever the search shows.
    last = residents.list_visible(session, world.community_doctor, purpose="t", limit=500)[-1]
    assert offered(f"resident_id={last.id}&patient_q=zz")[0] == str(last.id)
    assert offered(f"resident_id={10**12}") == first  # no such row: ignored, not a 500
    too_long = client.get(f"/referrals/new?patient_q={'x' * 51}", headers=headers)
    assert too_long.status_code == 422


def test_form_hints_the_catalog_of_a_diagnosis(
    client: TestClient, session: Session, world: World
) -> None:
    page = client.get(
        "/referrals/new?to=jh-rmyy&diagnosis_code=I10", headers=_as(session, world.community_doctor)
    ).text
    hint = re.search(r'<div id="diagnosis-hint".*?</div>', page, re.S)
    assert hint is not None
    assert "成员单位首诊病种目录 I10-I15 高血压" in hint.group(0)
    assert "需要填写上转理由" in hint.group(0)
    assert 'data-justify-kinds="member_first_visit tier_township"' in hint.group(0)
    bad = client.get(
        "/referrals/new?diagnosis_code=XYZ", headers=_as(session, world.community_doctor)
    ).text
    assert "不是有效的 ICD-10 编码" in bad


def _form(world: World, **changes: str) -> dict[str, str]:
    data = {
        "resident_id": str(world.patient),
        "to": "jh-rmyy",
        "department_id": str(world.cardiology),
        "urgency": "urgent",
        "consent": "true",
        **HYPERTENSION,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_form_error_names_the_rule_next_to_the_form(
    client: TestClient, session: Session, world: World
) -> None:
    _publish(session, world)
    headers = _as(session, world.community_doctor)
    response = client.post("/referrals/new", headers=headers, data=_form(world))
    assert response.status_code == 422
    error = re.search(
        r'<div class="form-error error" role="alert" id="error-referral"(.*?)</div>',
        response.text,
        re.S,
    )
    assert error is not None
    assert 'data-requirement="B2"' in error.group(0) and "规则 B2" in error.group(0)
    assert "如需上转请说明理由" in error.group(0)
    # The form keeps what was typed, and nothing was written.
    assert "68岁男性" in response.text and 'value="urgent" selected' in response.text
    assert referrals.outbox(session, world.community_doctor) == []

    no_consent = client.post(
        "/referrals/new", headers=headers, data=_form(world, consent="", justification="x")
    )
    assert no_consent.status_code == 422
    assert 'id="error-referral-consent"' in no_consent.text

    missing = client.post("/referrals/new", headers=headers, data=_form(world, reason=""))
    assert missing.status_code == 422 and 'id="error-referral-reason"' in missing.text


def test_send_books_the_slot_and_shows_the_referral(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = _publish(session, world)
    slot = next(
        v
        for v in scheduling.slot_views(session, world.community_doctor, clinic)
        if v.pool == "reserved"
    )
    headers = _as(session, world.community_doctor)
    sent = client.post(
        "/referrals/new",
        headers=headers,
        data=_form(world, justification="三种降压药联合治疗仍未达标", slot_id=str(slot.id)),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    referral_id = int(location.rsplit("/", 1)[1])
    page = client.get(location, headers=headers).text
    assert re.search(r'<dd id="slot">2026-12-01 08:\d\d</dd>', page)
    assert 'id="green-channel">是' in page
    assert "成员单位首诊病种目录: I10-I15 高血压" in page
    assert "三种降压药联合治疗仍未达标" in page
    assert [a for a in re.findall(r'<tr data-action="(\w+)"', page)] == [
        "create",
        "submit",
        "book_slot",
    ]
    # The sender may cancel; only the receiver accepts.
    assert 'id="action-cancel"' in page and 'id="action-accept"' not in page
    assert scheduling.live_booking_for_referral(session, referral_id) is not None


def _post(client: TestClient, headers: dict[str, str], url: str, data: dict[str, str]) -> str:
    response = client.post(url, headers=headers, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _version(client: TestClient, headers: dict[str, str], referral_id: int) -> str:
    page = client.get(f"/referrals/{referral_id}", headers=headers).text
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found, page
    return found.group(1)


def test_the_loop_through_the_pages_and_its_timeline(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = _publish(session, world)
    slot = next(v for v in scheduling.slot_views(session, world.community_doctor, clinic))
    up = refer_up(session, world, slot_id=slot.id).id
    lead = _as(session, world.cardiologist)
    chc = _as(session, world.community_doctor)

    def act(headers: dict[str, str], referral_id: int, action: str) -> None:
        version = _version(client, headers, referral_id)
        url = f"/referrals/{referral_id}/transitions"
        _post(client, headers, url, {"action": action, "version": version})

    act(lead, up, "accept")
    act(lead, up, "arrive")
    page = client.get(f"/referrals/{up}", headers=lead).text
    assert 'id="refer-down"' in page and "已到诊" in page
    down_url = _post(
        client,
        lead,
        f"/referrals/{up}/refer-down",
        {
            "version": _version(client, lead, up),
            "reason": "血压已控制，回社区管理",
            "clinical_summary": "住院调整用药后血压 132/84 mmHg。",
            "discharge_summary": "出院诊断：原发性高血压3级。出院带药：氨氯地平5mg qd。",
            "follow_up_plan": "两周内社区随访血压；一月后心内科复诊。",
        },
    )
    down = int(down_url.rsplit("/", 1)[1])
    assert down != up

    page = client.get(f"/referrals/{down}", headers=chc).text
    assert "出院带药：氨氯地平5mg qd" in page and "两周内社区随访血压" in page
    assert 'id="action-accept">确认接收' in page and 'id="follow-up"' not in page
    act(chc, down, "accept")
    page = client.get(f"/referrals/{down}", headers=chc).text
    assert 'id="follow-up"' in page
    _post(
        client,
        chc,
        f"/referrals/{down}/follow-up",
        {"version": _version(client, chc, down), "note": "血压 128/80 mmHg，继续原方案"},
    )

    parent = client.get(f"/referrals/{up}", headers=chc).text
    assert 'id="state"><span class="state state-closed">已闭环' in parent
    steps = re.findall(
        r'<tr data-action="(\w+)">\s*<td class="mono">([^<]+)</td>\s*<td>([^<]+)</td>', parent
    )
    assert [s[0] for s in steps] == [
        "create",
        "submit",
        "book_slot",
        "accept",
        "schedule",
        "arrive",
        "complete",
        "refer_down",
        "close",
    ]
    assert [s[2] for s in steps][:4] == ["创建", "提交", "预约号源", "接收"]
    assert all(s[1].startswith("2026-11-23 09:00") for s in steps)
    assert "已提交</span> → " in parent and "dr-li" in parent and "CareGrid" in parent
    assert f'href="/referrals/{down}"' in parent

    child = client.get(f"/referrals/{down}", headers=chc).text
    assert [a for a in re.findall(r'<tr data-action="(\w+)"', child)] == [
        "create",
        "submit",
        "accept",
        "arrive",
        "complete",
        "close",
    ]
    assert "确认接收" in child and "血压 128/80 mmHg" in child


def test_reject_needs_a_coded_reason(client: TestClient, session: Session, world: World) -> None:
    referral_id = refer_up(session, world).id
    lead = _as(session, world.cardiologist)
    version = _version(client, lead, referral_id)
    url = f"/referrals/{referral_id}/transitions"
    refused = client.post(url, headers=lead, data={"action": "reject", "version": version})
    assert refused.status_code == 422
    assert (
        'id="error-reject"' in refused.text and 'id="error-reject-rejection_code"' in refused.text
    )
    other = client.post(
        url,
        headers=lead,
        data={"action": "reject", "version": version, "rejection_code": "other"},
    )
    assert other.status_code == 422 and 'id="error-reject-note"' in other.text
    _post(
        client,
        lead,
        url,
        {"action": "reject", "version": version, "rejection_code": "no_capacity", "note": "满床"},
    )
    page = client.get(f"/referrals/{referral_id}", headers=lead).text
    assert "已拒绝" in page and '<dd id="rejection">无接诊能力: 满床</dd>' in page


def test_a_stale_version_is_a_conflict_next_to_the_buttons(
    client: TestClient, session: Session, world: World
) -> None:
    referral_id = refer_up(session, world).id
    lead = _as(session, world.cardiologist)
    version = _version(client, lead, referral_id)
    url = f"/referrals/{referral_id}/transitions"
    _post(client, lead, url, {"action": "accept", "version": version})
    again = client.post(url, headers=lead, data={"action": "cancel", "version": version})
    assert again.status_code == 409
    assert re.search(r'id="error-action" data-status="409".*?在您打开后已被修改', again.text, re.S)


def test_the_department_offers_a_reserved_slot_for_the_sending_unit(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = _publish(session, world)
    referral_id = refer_up(session, world).id
    lead = _as(session, world.cardiologist)
    _post(
        client,
        lead,
        f"/referrals/{referral_id}/transitions",
        {"action": "accept", "version": _version(client, lead, referral_id)},
    )
    page = client.get(f"/referrals/{referral_id}", headers=lead).text
    assert 'id="schedule"' in page
    # The sending unit's view: its reserved slots are open, although the host's are not.
    assert page.count('data-pool="reserved"') == 10
    reserved = re.search(r'id="slot-(\d+)" value="\d+" data-pool="reserved"', page)
    assert reserved
    _post(
        client,
        lead,
        f"/referrals/{referral_id}/transitions",
        {
            "action": "schedule",
            "version": _version(client, lead, referral_id),
            "slot_id": reserved.group(1),
        },
    )
    page = client.get(f"/referrals/{referral_id}", headers=lead).text
    assert "已预约" in page and 'id="schedule"' not in page
    booking = scheduling.live_booking_for_referral(session, referral_id)
    assert booking is not None and booking.pool == "reserved"
    assert booking.booked_by_institution_id != world.cardiologist.institution_id
    assert clinic.id


def test_the_office_approves_an_outward_referral(
    client: TestClient, session: Session, world: World
) -> None:
    chc = _as(session, world.community_doctor)
    data = _form(world, to="", to_other="gz-rmyy", department_id="")
    refused = client.post("/referrals/new", headers=chc, data=data)
    assert refused.status_code == 422 and 'data-requirement="B6"' in refused.text
    data["patient_choice_reason"] = "患者随子女在赣州居住"
    location = _post(client, chc, "/referrals/new", data)
    referral_id = int(location.rsplit("/", 1)[1])
    assert "等待集团办公室审批" in client.get(location, headers=chc).text

    office = _as(session, world.office)
    lists = client.get("/referrals", headers=office).text
    assert [int(r[0]) for r in _rows(lists, "approvals")] == [referral_id]
    page = client.get(location, headers=office).text
    assert 'id="decision"' in page
    _post(
        client,
        office,
        f"/referrals/{referral_id}/decision",
        {"version": _version(client, office, referral_id), "approve": "true", "note": "同意"},
    )
    page = client.get(location, headers=office).text
    assert '<dd id="approval">已批准</dd>' in page and 'id="decision"' not in page
    assert 'data-action="approve_outward"' in page


def test_people_outside_a_referral_do_not_see_it(
    client: TestClient, session: Session, world: World
) -> None:
    referral_id = refer_up(session, world).id
    response = client.get(
        f"/referrals/{referral_id}", headers=_as(session, world.other_grid_doctor)
    )
    assert response.status_code == 403
    assert "只有转诊双方机构及其集团办公室可以查看" in response.text


def test_measures_show_the_reserved_share_against_the_target(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = _publish(session, world)
    slot = next(
        v
        for v in scheduling.slot_views(session, world.community_doctor, clinic)
        if v.pool == "reserved"
    )
    refer_up(session, world, slot_id=slot.id)
    office = _as(session, world.office)
    page = client.get(
        "/networks/jh-rmyy-wucheng/referral-measures?month=2026-12", headers=office
    ).text
    row = re.search(r'<tr data-institution="jh-rmyy">(.*?)</tr>', page, re.S)
    assert row is not None
    assert '<td class="num reserved-slots"><span class="ratio">10/30</span>' in row.group(1)
    assert re.search(
        r'class="slot-target"><span class="target">1/3</span> <span class="status pass',
        row.group(1),
    )
    assert '<span class="ratio">1/10</span>' in row.group(1)  # reserved used by members

    november = client.get("/networks/jh-rmyy-wucheng/referral-measures", headers=office).text
    assert 'value="2026-11"' in november
    lead = re.search(r'<tr data-institution="jh-rmyy">(.*?)</tr>', november, re.S)
    chc = re.search(r'<tr data-institution="jh-wc-chengdong">(.*?)</tr>', november, re.S)
    assert lead and chc
    assert '<td class="num received-up">1</td>' in lead.group(1)
    assert '<td class="num sent-up">1</td>' in chc.group(1)
    assert "已提交</span> 1" in lead.group(1)

    own = client.get(
        "/networks/jh-rmyy-wucheng/referral-measures?month=2026-11",
        headers=_as(session, world.community_doctor),
    ).text
    assert re.findall(r'<tr data-institution="([\w-]+)"', own) == ["jh-wc-chengdong"]


def test_pages_need_sign_in_and_clinical_roles(
    client: TestClient, session: Session, world: World
) -> None:
    signed_out = client.get("/referrals", headers={"Accept": "text/html"}, follow_redirects=False)
    assert (
        signed_out.status_code == 303 and signed_out.headers["location"] == "/login?next=/referrals"
    )

    planner = make_principal(session, "planner-pages", Role.REGULATOR)
    page = client.get("/referrals", headers=_as(session, planner))
    assert page.status_code == 200 and 'href="/referrals/new"' not in page.text
    assert client.get("/referrals/new", headers=_as(session, planner)).status_code == 403


def test_the_history_keeps_finished_referrals_with_filters_and_pages(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected referral leaves the lead's inbox but not its history; the history filters
    by state, direction, patient name and sent day, and pages by the last number shown."""
    monkeypatch.setattr(pages, "HISTORY_ROWS", 2)
    with clock.frozen(NOW):
        others = add_patients(session, world, 2)
        first = refer_up(session, world)
        second = refer_up(session, world, resident_id=others[0])
        third = refer_up(session, world, resident_id=others[1])
        referrals.transition(
            session,
            world.cardiologist,
            first.id,
            action=Action.REJECT,
            version=first.version,
            rejection_code=RejectionReason.NOT_INDICATED,
        )
        lead = _as(session, world.cardiologist)
        inbox = client.get("/referrals", headers=lead).text
        assert str(first.id) not in [i for i, _ in _rows(inbox, "inbox")]
        page = client.get("/referrals/history", headers=lead)
        assert page.status_code == 200
        assert [i for i, _ in _rows(page.text, "history")] == [str(third.id), str(second.id)]
        older = re.search(r'id="older" href="([^"]+)"', page.text)
        assert older and older.group(1).endswith(f"before={second.id}")
        rest = client.get(older.group(1).replace("&amp;", "&"), headers=lead).text
        assert [i for i, _ in _rows(rest, "history")] == [str(first.id)]
        assert 'id="older"' not in rest

        rejected = client.get("/referrals/history?state=rejected&direction=", headers=lead).text
        assert [i for i, _ in _rows(rejected, "history")] == [str(first.id)]
        down = client.get("/referrals/history?direction=down", headers=lead).text
        assert _rows(down, "history") == []
        named = client.get("/referrals/history?patient=居民1", headers=lead).text
        assert [i for i, _ in _rows(named, "history")] == [str(third.id)]
        wildcard = client.get("/referrals/history?patient=%25", headers=lead).text
        assert _rows(wildcard, "history") == []  # "%" is a character, not a pattern
        today = NOW.date().isoformat()
        tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
        assert len(_rows(client.get(f"/referrals/history?until={today}", headers=lead).text,
                         "history")) == 2  # fmt: skip
        assert _rows(client.get(f"/referrals/history?since={tomorrow}", headers=lead).text,
                     "history") == []  # fmt: skip
        backwards = client.get(f"/referrals/history?since={tomorrow}&until={today}", headers=lead)
        assert backwards.status_code == 422 and "until" in backwards.text

        # The sender keeps the same history; another grid's doctor sees none of it.
        sender = client.get("/referrals/history", headers=_as(session, world.community_doctor))
        assert len(_rows(sender.text, "history")) == 2
        stranger = client.get("/referrals/history", headers=_as(session, world.other_grid_doctor))
        assert _rows(stranger.text, "history") == []
        regulator = make_principal(session, "history-regulator", Role.REGULATOR)
        assert client.get("/referrals/history", headers=_as(session, regulator)).status_code == 403


def test_the_history_api_pages_and_refuses_a_bad_filter(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        made = [refer_up(session, world).id]
        headers = bearer(session, world.cardiologist)
        answer = client.get("/api/referrals/history?limit=1", headers=headers)
        assert answer.status_code == 200 and [r["id"] for r in answer.json()] == made
        bad = client.get("/api/referrals/history?state=lost", headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.state"
        long = client.get("/api/referrals/history?patient=" + "王" * 51, headers=headers)
        assert long.status_code == 422


def test_the_slip_prints_the_referral_and_the_down_referral_its_plan(
    client: TestClient, session: Session, world: World
) -> None:
    """The sender prints the referral slip (转诊单) with the patient and the receiver; the
    down-referral prints as its summary with the discharge summary and the follow-up plan;
    the slip is a read of the patient, refused to another grid's doctor."""
    with clock.frozen(NOW):
        up = refer_up(session, world)
        headers = _as(session, world.community_doctor)
        detail = client.get(f"/referrals/{up.id}", headers=headers).text
        assert f'href="/referrals/{up.id}/slip"' in detail
        slip = client.get(f"/referrals/{up.id}/slip", headers=headers)
        assert slip.status_code == 200 and "<h1>转诊单</h1>" in slip.text
        assert 'id="slip-diagnosis"><span class="mono">I10</span>' in slip.text
        assert "转出医生（签名）" in slip.text and 'id="slip-plan"' not in slip.text
        arrived = arrive(session, world.cardiologist, referrals.get(session, up.id))
        down = refer_down(session, world.cardiologist, arrived)
        summary = client.get(f"/referrals/{down.id}/slip", headers=headers)
        assert summary.status_code == 200 and "下转单（出院小结）" in summary.text
        plan = re.search(r'id="slip-plan">([^<]*)<', summary.text)
        assert plan and plan.group(1) == "BP follow-up in two weeks"
        stranger = _as(session, world.other_grid_doctor)
        assert client.get(f"/referrals/{up.id}/slip", headers=stranger).status_code == 403
