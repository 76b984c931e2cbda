"""The issue's story through the HTTP API: refer up with a reserved slot, accept, receive,
refer down with a discharge summary, acknowledge, follow up: the loop closes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.world import World


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_closed_loop_through_the_api(client: TestClient, session: Session, world: World) -> None:
    admin = bearer(session, world.lead_admin)
    doctor = bearer(session, world.community_doctor)
    cardiologist = bearer(session, world.cardiologist)

    published = _ok(
        client.post(
            f"/api/departments/{world.cardiology}/sessions",
            headers=admin,
            json={
                "starts_at": "2026-12-01T08:00:00+08:00",
                "ends_at": "2026-12-01T11:00:00+08:00",
                "capacity": 30,
            },
        ),
        201,
    )
    assert published["reserved_count"] == 10 and published["reserved_share_target"] == "1/3"

    calendar = _ok(
        client.get(f"/api/departments/{world.cardiology}/calendar?days=14", headers=doctor)
    )
    assert [d["reserved_open_for_me"] for d in calendar] == [10]
    slots = _ok(client.get(f"/api/sessions/{published['id']}/slots", headers=doctor))
    slot = next(s for s in slots if s["pool"] == "reserved" and s["availability"] == "open")

    sent = _ok(
        client.post(
            "/api/referrals",
            headers=doctor,
            json={
                "resident_id": world.patient,
                "to_institution_code": "jh-rmyy",
                "to_department_id": world.cardiology,
                "diagnosis_code": "I10",
                "reason": "血压控制不佳",
                "justification": "三种降压药联合治疗血压仍 172/104 mmHg",
                "urgency": "urgent",
                "clinical_summary": "68岁男性，高血压10年，近两次随访血压未控制。",
                "attachments": ["ecg-2026-11-20"],
                "consent": True,
                "slot_id": slot["id"],
            },
        ),
        201,
    )
    assert sent["direction"] == "up" and sent["state"] == "submitted"
    assert sent["green_channel"] is True
    assert sent["catalog_hit"].startswith("member_first_visit: I10-I15")
    assert sent["slot_starts_at"] is not None

    inbox = _ok(client.get("/api/referrals/inbox", headers=cardiologist))
    assert [r["id"] for r in inbox] == [sent["id"]]

    def act(headers: dict[str, str], referral: dict[str, Any], action: str) -> dict[str, Any]:
        moved: dict[str, Any] = _ok(
            client.post(
                f"/api/referrals/{referral['id']}/transitions",
                headers=headers,
                json={"action": action, "version": referral["version"]},
            )
        )
        return moved

    accepted = act(cardiologist, sent, "accept")
    assert accepted["state"] == "scheduled"  # it already held a slot
    arrived = act(cardiologist, accepted, "arrive")

    down = _ok(
        client.post(
            f"/api/referrals/{arrived['id']}/refer-down",
            headers=cardiologist,
            json={
                "version": arrived["version"],
                "reason": "血压已控制，回社区管理",
                "clinical_summary": "住院调整用药后血压 132/84 mmHg。",
                "discharge_summary": "出院诊断：原发性高血压3级（很高危）。"
                "出院带药：氨氯地平5mg qd。",
                "follow_up_plan": "两周内社区随访血压；一月后心内科复诊。",
            },
        ),
        201,
    )
    assert down["direction"] == "down" and down["parent_id"] == sent["id"]
    assert down["receiver"]["institution_code"] == "jh-wc-chengdong"

    community_inbox = _ok(client.get("/api/referrals/inbox", headers=doctor))
    assert [r["id"] for r in community_inbox] == [down["id"]]
    acknowledged = act(doctor, down, "accept")
    assert acknowledged["acknowledged_at"] is not None
    closed = _ok(
        client.post(
            f"/api/referrals/{down['id']}/follow-up",
            headers=doctor,
            json={"version": acknowledged["version"], "note": "血压 128/80 mmHg，继续原方案"},
        )
    )
    assert closed["state"] == "closed"

    parent = _ok(client.get(f"/api/referrals/{sent['id']}", headers=doctor))
    assert parent["state"] == "closed"
    assert [e["action"] for e in parent["events"]] == [
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
    assert all(e["actor"] for e in parent["events"])

    office = bearer(session, world.office)
    url = "/api/networks/jh-rmyy-wucheng/referral-measures?month="
    november = _ok(client.get(url + "2026-11", headers=office))
    lead = _row(november, "jh-rmyy")
    assert lead["RF9"]["numerator"] == 1 and lead["RF10"]["numerator"] == 0  # received up
    assert lead["CC8"]["numerator"] == 1 and lead["CC7"]["numerator"] == 0  # sent down
    assert (lead["RF23"]["numerator"], lead["RF23"]["denominator"]) == (1, 1)  # closed loop
    assert lead["RF21"]["value"] == 0.0  # answered at once (the clock is pinned)
    community = _row(november, "jh-wc-chengdong")
    assert community["RF10"]["numerator"] == 1 and community["CC7"]["numerator"] == 1
    assert november["total"]["measures"]["CC7"]["numerator"] == 1

    december = _ok(client.get(url + "2026-12", headers=office))
    slots = _row(december, "jh-rmyy")["UG4"]
    assert (slots["numerator"], slots["denominator"]) == (10, 30)
    assert slots["target"] == "1/3" and slots["target_met"] is True
    assert _row(december, "jh-rmyy")["UG12"]["numerator"] == 1

    own = _ok(client.get(url + "2026-11", headers=doctor))
    assert [r["code"] for r in own["members"]] == ["jh-wc-chengdong"] and own["total"] is None


def _row(measures: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in measures["members"] if r["code"] == code)["measures"]
    return found
