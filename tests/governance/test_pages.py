"""The governance page over HTTP: the office loads the key-task list and sees the overdue
tasks first on its desk, records a meeting (a day to come refused at its field), marks a task
done; the page reads in Chinese without English and in English; members are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.governance import service as governance
from caregrid.web.i18n import COOKIE
from tests.conftest import bearer
from tests.web.test_untranslated import ENGLISH, _visible
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
BASE = f"/networks/{NETWORK}/governance"


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def test_the_office_keeps_its_governance_on_the_page(
    client: TestClient, session: Session, world: World
) -> None:
    office = _as(session, world.office)
    with clock.frozen(NOW):
        loaded = client.post(f"{BASE}/task-list", headers=office, follow_redirects=False)
        assert loaded.status_code == 303
        desk = client.get("/", headers=office).text
        assert 'id="tray-governance"' in desk and "1.1 完善职责清单" in desk
        future = client.post(
            f"{BASE}/meetings",
            headers=office,
            data={"kind": "work", "held_on": "2026-11-24", "chaired_by": "主任", "minutes": "纪要"},
        )
        assert future.status_code == 422 and 'id="error-meeting-held_on"' in future.text
        assert "是将来的日期" in future.text
        held = client.post(
            f"{BASE}/meetings",
            headers=office,
            data={"kind": "work", "held_on": "2026-11-02", "chaired_by": "主任", "minutes": "纪要"},
            follow_redirects=False,
        )
        assert held.status_code == 303
        task = next(
            t for t in governance.governance(session, world.office, NETWORK).tasks if t.ref == "1.1"
        )
        done = client.post(
            f"{BASE}/tasks/{task.id}/done",
            headers=office,
            data={"done_on": "2024-05-06", "outcome": "已修订"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(BASE, headers=office)
    assert page.status_code == 200
    assert 'data-task="1.1" data-state="done_late"' in page.text
    assert 'data-task="1.2" data-state="overdue"' in page.text
    assert 'data-overdue="false"' in page.text  # November's meeting is held
    text = _visible(page.text)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    with clock.frozen(NOW):
        english = client.get(BASE, headers=office).text
    client.cookies.delete(COOKIE)
    assert "Done after the deadline" in english and "Months with the office's work meeting" in (
        english.replace("&#39;", "'")
    )
    doctor = _as(session, world.cardiologist)
    assert client.get(BASE, headers=doctor).status_code == 403
