"""The slot calendar and the bed board as pages: what each unit may book, who lies where."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.scheduling import service as scheduling
from tests.conftest import bearer
from tests.referrals import CHEST_PAIN, refer_up
from tests.world import SHANGHAI, World


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def _publish(session: Session, world: World, month: int, day: int) -> int:
    start = datetime(2026, month, day, 8, 0, tzinfo=SHANGHAI)
    return scheduling.publish_session(
        session,
        world.lead_admin,
        department_id=world.cardiology,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=30,
    ).id


def _row(html: str, session_id: int) -> dict[str, str]:
    row = re.search(rf'<tr data-session="{session_id}">(.*?)</tr>', html, re.S)
    assert row is not None, html
    cells = dict(re.findall(r'<td class="num ([\w-]+)">(\d+)', row.group(1)))
    cells["text"] = row.group(1)
    return cells


def test_calendar_shows_what_each_unit_may_book(
    client: TestClient, session: Session, world: World
) -> None:
    soon = _publish(session, world, 12, 1)
    later = _publish(session, world, 12, 20)  # its reserved slots open on 6 December
    url = f"/departments/{world.cardiology}/calendar"

    member = client.get(url, headers=_as(session, world.community_doctor))
    assert member.status_code == 200
    assert re.findall(r'<tr data-session="(\d+)"', member.text) == [str(soon)]
    row = _row(member.text, soon)
    assert (row["capacity"], row["open"], row["reserved-open"], row["taken"]) == (
        "30", "30", "10", "0",
    )  # fmt: skip
    assert "2026-12-01 08:00 – 11:00" in row["text"] and "目标 1/3" in row["text"]
    assert "预留号源向本单位开放" in member.text and "心血管内科" in member.text

    month = client.get(f"{url}?days=30", headers=_as(session, world.community_doctor)).text
    row = _row(month, later)
    assert (row["open"], row["not-yet-open"]) == ("20", "10")
    assert "开放于 2026-12-06 00:00" in row["text"]

    outsider = _row(client.get(url, headers=_as(session, world.other_grid_doctor)).text, soon)
    assert (outsider["open"], outsider["reserved-open"]) == ("20", "0")
    host = client.get(url, headers=_as(session, world.lead_admin)).text
    assert _row(host, soon)["open"] == "20" and "本院科室" in host

    scheduling.book_any(session, world.community_doctor, session_id=soon, resident_id=world.patient)
    after = _row(client.get(url, headers=_as(session, world.community_doctor)).text, soon)
    assert (after["open"], after["reserved-open"], after["taken"]) == ("29", "9", "1")

    empty = client.get(f"{url}?days=3", headers=_as(session, world.community_doctor)).text
    assert "此期间没有发布出诊时段。" in empty
    client.cookies.set("caregrid_lang", "en")
    english = client.get(f"{url}?days=3", headers=_as(session, world.community_doctor)).text
    client.cookies.clear()
    assert "No session published in this period." in english and "Slot calendar" in english


def test_bed_board_hides_who_lies_in_a_bed_from_other_institutions(
    client: TestClient, session: Session, world: World
) -> None:
    scheduling.create_bed_pool(session, world.lead_admin, department_id=world.cardiology, total=8)
    referral = refer_up(session, world, urgency="emergency", admission_requested=True, **CHEST_PAIN)
    url = f"/departments/{world.cardiology}/beds"

    host = client.get(url, headers=_as(session, world.cardiologist)).text
    assert re.search(r'<span class="total">8</span>.*<span class="reserved">2</span>', host, re.S)
    assert (
        '<span class="occupied">1</span>' in host and '<span class="reserved-free">1</span>' in host
    )
    assert f'href="/referrals/{referral.id}"' in host and "预留床位" in host
    assert len(re.findall(r'<tr data-bed="\d+" class="occupied reserved">', host)) == 1

    member = client.get(url, headers=_as(session, world.community_doctor)).text
    assert len(re.findall(r'<tr data-bed="\d+" class="occupied reserved">', member)) == 1
    assert f'href="/referrals/{referral.id}"' not in member
    assert "仅对本院工作人员显示" in member and "<th>住院状态</th>" not in member


def test_unknown_department_is_not_found(
    client: TestClient, session: Session, world: World
) -> None:
    headers = _as(session, world.community_doctor)
    assert client.get("/departments/999999/calendar", headers=headers).status_code == 404
    assert client.get("/departments/999999/beds", headers=headers).status_code == 404
    assert (
        client.get(f"/departments/{world.cardiology}/calendar?days=0", headers=headers).status_code
        == 422
    )
