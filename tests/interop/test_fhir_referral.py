"""A referral's closed loop through the FHIR base alone (B1-B5): the community centre's system
sends a ServiceRequest, the lead's system finds it in its Task inbox, accepts it under
If-Match, receives the patient, refers him down with the discharge summary and follow-up plan,
and the centre's first follow-up closes both loops. An illegal move is a 409 OperationOutcome,
a stale version too, a rejection needs its coded reason, and a bad ServiceRequest names the
element; nothing is half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.interop.fhir_referral import CONSENT, DISCHARGE_SUMMARY, FOLLOW_UP_PLAN, JUSTIFICATION
from caregrid.interop.fhir_rest import ICD10, model
from caregrid.referral.models import Referral
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.referrals import HYPERTENSION
from tests.referrals import JUSTIFICATION as WHY_UP
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def up_request(session: Session, world: World, **changes: Any) -> dict[str, Any]:
    lead = registry.require_institution(session, "jh-rmyy").id
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{world.patient}"},
        "performer": [
            {"reference": f"Organization/{lead}"},
            {"reference": f"HealthcareService/{world.cardiology}"},
        ],
        "reasonCode": [{"coding": [{"system": ICD10, "code": HYPERTENSION["diagnosis_code"]}]}],
        "note": [{"text": HYPERTENSION["reason"]}, {"text": HYPERTENSION["clinical_summary"]}],
        "priority": "urgent",
        "extension": [
            {"url": CONSENT, "valueBoolean": True},
            {"url": JUSTIFICATION, "valueString": WHY_UP},
        ],
    }
    body.update(changes)
    return body


def call(client: TestClient, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
    with clock.frozen(NOW):
        answer = client.request(method, path, headers=who | kw.pop("headers", {}), **kw)
    assert answer.headers["content-type"].startswith("application/fhir+json"), answer.text
    body = answer.json()
    model(body["resourceType"]).model_validate(body)
    return answer


def put(
    client: TestClient,
    who: dict[str, str],
    task: dict[str, Any],
    status: str,
    etag: str,
    **more: Any,
) -> Any:
    """The Task sent back with a new status (and `more`), under the version read."""
    body = {**task, "status": status, **more}
    return call(
        client, "PUT", f"/fhir/Task/{task['id']}", who, json=body, headers={"If-Match": etag}
    )


def test_a_referral_goes_round_its_loop_through_fhir_alone(
    client: TestClient, session: Session, world: World
) -> None:
    centre = bearer(session, world.community_doctor)
    lead = bearer(session, world.cardiologist)
    sent = call(client, "POST", "/fhir/ServiceRequest", centre, json=up_request(session, world))
    assert sent.status_code == 201, sent.text
    request = sent.json()
    assert request["status"] == "active" and request["priority"] == "urgent"
    assert request["code"]["coding"][0]["code"] == "up"
    referral_id = request["id"]

    owner = request["performer"][0]["reference"]
    inbox = call(client, "GET", "/fhir/Task", lead, params={"owner": owner, "status": "requested"})
    tasks = {e["resource"]["id"]: e["resource"] for e in inbox.json()["entry"]}
    task = tasks[referral_id]
    assert task["focus"]["reference"] == f"ServiceRequest/{referral_id}"

    illegal = put(client, lead, task, "completed", sent.headers["ETag"])
    assert illegal.status_code == 409, illegal.text
    assert illegal.json()["issue"][0]["code"] == "conflict"
    assert "allowed only from" in illegal.json()["issue"][0]["diagnostics"]

    accepted = put(client, lead, task, "accepted", sent.headers["ETag"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.headers["ETag"] != sent.headers["ETag"]
    stale = put(client, lead, task, "in-progress", sent.headers["ETag"])
    assert stale.status_code == 409 and "changed since you loaded it" in stale.text

    task = accepted.json()
    arrived = put(client, lead, task, "in-progress", accepted.headers["ETag"])
    assert arrived.json()["status"] == "in-progress"

    centre_id = registry.require_institution(session, "jh-wc-chengdong").id
    down = up_request(
        session,
        world,
        basedOn=[{"reference": f"ServiceRequest/{referral_id}"}],
        performer=[{"reference": f"Organization/{centre_id}"}],
        note=[{"text": "血压已控制，转回社区管理"}, {"text": "住院7天，调整为三联降压"}],
        extension=[
            {"url": CONSENT, "valueBoolean": True},
            {"url": DISCHARGE_SUMMARY, "valueString": "出院血压 132/84 mmHg"},
            {"url": FOLLOW_UP_PLAN, "valueString": "两周内首次随访，每月复查血压"},
        ],
    )
    referred = call(client, "POST", "/fhir/ServiceRequest", lead, json=down)
    assert referred.status_code == 201, referred.text
    child = referred.json()
    assert child["code"]["coding"][0]["code"] == "down"
    assert child["basedOn"] == [{"reference": f"ServiceRequest/{referral_id}"}]
    up_task = call(client, "GET", f"/fhir/Task/{referral_id}", centre).json()
    assert up_task["status"] == "completed"  # discharged on the way down
    assert up_task["businessStatus"]["coding"][0]["code"] == "completed"

    down_task = call(client, "GET", f"/fhir/Task/{child['id']}", centre)
    received = {i["type"]["coding"][0]["code"]: i["valueString"] for i in down_task.json()["input"]}
    assert received == {
        "discharge-summary": "出院血压 132/84 mmHg",
        "follow-up-plan": "两周内首次随访，每月复查血压",
    }
    acknowledged = put(client, centre, down_task.json(), "accepted", down_task.headers["ETag"])
    assert acknowledged.status_code == 200, acknowledged.text
    no_note = put(client, centre, acknowledged.json(), "completed", acknowledged.headers["ETag"])
    assert no_note.status_code == 422 and no_note.json()["issue"][0]["expression"] == ["Task.note"]
    followed = put(
        client,
        centre,
        acknowledged.json(),
        "completed",
        acknowledged.headers["ETag"],
        note=[{"text": "首次随访：血压 128/80 mmHg"}],
    )
    assert followed.status_code == 200, followed.text
    assert followed.json()["businessStatus"]["coding"][0]["code"] == "closed"
    closed = call(client, "GET", f"/fhir/Task/{referral_id}", centre).json()
    assert closed["status"] == "completed"
    assert closed["businessStatus"]["coding"][0]["code"] == "closed"  # both loops closed (B5)


def test_a_rejection_needs_its_coded_reason(
    client: TestClient, session: Session, world: World
) -> None:
    centre, lead = bearer(session, world.community_doctor), bearer(session, world.cardiologist)
    sent = call(client, "POST", "/fhir/ServiceRequest", centre, json=up_request(session, world))
    task = call(client, "GET", f"/fhir/Task/{sent.json()['id']}", lead)
    etag = task.headers["ETag"]
    bare = put(client, lead, task.json(), "rejected", etag)
    assert bare.status_code == 422
    assert bare.json()["issue"][0]["expression"] == ["Task.statusReason"]
    reason = {
        "coding": [{"system": "urn:caregrid:rejection-reason", "code": "treat_at_sender"}],
        "text": "可在社区调整用药",
    }
    refused = put(client, lead, task.json(), "rejected", etag, statusReason=reason)
    assert refused.status_code == 200, refused.text
    assert refused.json()["statusReason"] == reason
    assert (
        call(client, "GET", f"/fhir/ServiceRequest/{sent.json()['id']}", centre).json()["status"]
        == "revoked"
    )
    since = {"_lastUpdated": f"ge{NOW.isoformat()}"}
    changed = call(client, "GET", "/fhir/Task", lead, params=since).json()
    assert [e["resource"]["id"] for e in changed["entry"]] == [sent.json()["id"]]
    before = {"_lastUpdated": f"lt{NOW.isoformat()}"}
    assert call(client, "GET", "/fhir/ServiceRequest", lead, params=before).json()["entry"] == []
    outsider = bearer(session, world.other_grid_doctor)
    stranger = call(client, "GET", f"/fhir/Task/{sent.json()['id']}", outsider)
    assert stranger.status_code == 403


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"note": [{"text": "only a reason"}]}, "ServiceRequest.note"),
        ({"extension": []}, f"ServiceRequest.extension({CONSENT})"),
        ({"reasonCode": [{"text": "high blood pressure"}]}, "ServiceRequest.reasonCode"),
        ({"subject": {"reference": "Patient/2147483000"}}, "ServiceRequest.subject"),
        ({"performer": [{"reference": "Organization/2147483000"}]}, "ServiceRequest.performer"),
        ({"status": "completed"}, "ServiceRequest.status"),
        ({"resourceType": "Task"}, "ServiceRequest.resourceType"),
        (
            {"reasonCode": [{"coding": [{"system": ICD10, "code": "ZZZ"}]}]},
            "ServiceRequest.reasonCode[0]",
        ),
    ],
)
def test_a_bad_service_request_names_the_element_and_writes_nothing(
    client: TestClient, session: Session, world: World, change: dict[str, Any], where: str
) -> None:
    body = up_request(session, world, **change)
    answer = call(
        client, "POST", "/fhir/ServiceRequest", bearer(session, world.community_doctor), json=body
    )
    assert answer.status_code == 422, answer.text
    assert where in [p for i in answer.json()["issue"] for p in i.get("expression", [])], (
        answer.text
    )
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_reads_only_and_writes_only_where_listed(
    client: TestClient, session: Session, world: World
) -> None:
    who = bearer(session, world.community_doctor)
    assert (
        call(client, "POST", "/fhir/Patient", who, json={"resourceType": "Patient"}).status_code
        == 405
    )
    assert call(client, "PUT", "/fhir/ServiceRequest/1", who, json={}).status_code == 405
    assert call(client, "POST", "/fhir/Banana", who, json={}).status_code == 404
