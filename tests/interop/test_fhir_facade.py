"""The FHIR R4 base over HTTP (TestClient, the real app): the CapabilityStatement against what
is served, paging to the end by `next` links, a patient found by national ID only under a care
relationship, free slots of the lead's department as each unit sees them, a booking that
never doubles, cancellation under If-Match, and every refusal an OperationOutcome naming the
element. Every resource and Bundle answered is checked against the FHIR models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import AuditEntry
from caregrid.interop import fhir_server
from caregrid.interop.fhir_rest import NATIONAL_ID, model
from caregrid.registry.models import Institution
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import Booking, ClinicSession
from tests.conftest import bearer
from tests.scheduling.test_service import at
from tests.world import NOW, World, build

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """The body, after its model (Bundle, Patient, …) has accepted it."""
    model(body["resourceType"]).model_validate(body)
    return body


def get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    with clock.frozen(NOW):
        response = client.get(path, headers=headers, params=params or None)
    assert response.headers["content-type"].startswith(FHIR_JSON), response.text
    return response


def everything(client: TestClient, first: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every match of a search, following `next` links as a client does, each page checked."""
    found, url, pages = [], first, 0
    while url:
        pages += 1
        assert pages < 1000, "the next links do not end"
        with clock.frozen(NOW):
            page = valid(client.get(url, headers=headers).json())
        assert page["type"] == "searchset"
        found += [e["resource"] for e in page["entry"] if e["search"]["mode"] == "match"]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), "")
    return found


def publish(session: Session, world: World, day: str = "2026-12-01") -> ClinicSession:
    with clock.frozen(NOW):
        return scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=at(day),
            ends_at=at(day, 11),
            capacity=6,
        )


def test_the_capability_statement_lists_exactly_what_is_served(
    client: TestClient, session: Session, world: World, fresh_store: Path
) -> None:
    statement = valid(client.get("/fhir/metadata").json())  # no sign-in needed
    assert statement["fhirVersion"] == "4.0.1"
    listed = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(listed) == set(fhir_server.KINDS) | set(fhir_server.IN_TRANSACTIONS)
    headers = bearer(session, world.community_doctor)
    strict = {**headers, "Prefer": "handling=strict"}
    references = {
        "actor": "HealthcareService/1",
        "schedule.actor": "HealthcareService/1",
        "organization": "Organization/1",
        "schedule": "Schedule/1",
        "patient": f"Patient/{world.patient}",
        "slot": "Slot/1",
        "requester": "Organization/1",
        "performer": "Organization/1",
        "owner": "Organization/1",
    }
    statuses = {"Slot": "free", "Task": "requested"}
    for type_, entry in listed.items():
        if type_ in fhir_server.IN_TRANSACTIONS:
            assert get(client, f"/fhir/{type_}", headers).status_code == 404
            continue
        for param in entry["searchParam"]:  # each one listed is understood...
            value = {"date": "ge2026-11-01", "reference": references.get(param["name"])}.get(
                param["type"], statuses.get(type_, "x") if param["name"] == "status" else "x"
            )
            if type_ == "MeasureReport":  # a report is of a network
                value = f"{value}&network=jh-rmyy-wucheng&period=2025"
            answer = get(client, f"/fhir/{type_}?{param['name']}={value}", strict)
            if type_ == "Appointment" and param["name"] not in ("patient", "_id"):
                assert answer.status_code == 422  # the patient is needed
                continue
            assert answer.status_code == 200, (type_, param["name"], answer.text)
        refused = get(client, f"/fhir/{type_}?colour=red", strict)  # ...and nothing else
        assert refused.status_code == 422
        issue = refused.json()["issue"][0]
        assert issue["code"] == "invalid" and issue["expression"] == ["colour"]


def test_organizations_page_to_the_end_by_next_links(
    client: TestClient, session: Session, world: World
) -> None:
    headers = bearer(session, world.community_doctor)
    found = everything(client, "/fhir/Organization?_count=7", headers)
    ids = [int(r["id"]) for r in found]
    assert len(ids) == len(set(ids)), "a page repeated an organization"
    assert set(ids) == set(session.scalars(select(Institution.id)))
    assert ids == sorted(ids)
    first = get(client, "/fhir/Organization", headers, _count=7).json()
    assert len(first["entry"]) == 7 and "total" not in first  # not cheap: many pages
    lead = get(client, "/fhir/Organization", headers, identifier="urn:caregrid:institution|jh-rmyy")
    assert lead.json()["total"] == 1
    assert lead.json()["entry"][0]["resource"]["name"] == "金华市人民医院"
    other = get(client, "/fhir/Organization", headers, identifier="urn:other|jh-rmyy")
    assert other.json()["total"] == 0 and other.json()["entry"] == []
    services = get(
        client, "/fhir/HealthcareService", headers, organization=f"Organization/{ids[0]}"
    )
    assert all(
        e["resource"]["providedBy"]["reference"] == f"Organization/{ids[0]}"
        for e in services.json()["entry"]
    )


def test_a_patient_is_found_by_national_id_only_under_a_care_relationship(
    client: TestClient, session: Session, world: World
) -> None:
    value = residents.record(session, world.patient).national_id
    query = {"identifier": f"{NATIONAL_ID}|{value}"}

    def reads() -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "resident.read")
            )
            or 0
        )

    before = reads()
    mine = get(client, "/fhir/Patient", bearer(session, world.community_doctor), **query).json()
    assert mine["total"] == 1
    patient = mine["entry"][0]["resource"]
    assert patient["identifier"][0] == {
        "use": "official",
        "type": {"text": "居民身份证"},
        "system": NATIONAL_ID,
        "value": value,
    }
    assert patient["name"][0]["text"] == "张建国" and "birthDate" in patient
    assert reads() == before + 1  # the read is audited

    stranger = bearer(session, world.other_grid_doctor)
    assert get(client, "/fhir/Patient", stranger, **query).json()["entry"] == []
    refused = get(client, f"/fhir/Patient/{world.patient}", stranger)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"

    masked = get(client, "/fhir/Patient", bearer(session, world.office), name="张").json()
    shown = {e["resource"]["id"]: e["resource"] for e in masked["entry"]}
    assert str(world.patient) in shown
    office_view = shown[str(world.patient)]
    assert "identifier" not in office_view and "birthDate" not in office_view
    assert office_view["meta"]["security"][0]["code"] == "MASKED"


def test_free_slots_of_the_lead_department_as_each_unit_sees_them(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = publish(session, world)
    reserved = {s.id for s in clinic.slots if s.reserved}
    query = {"schedule.actor": f"HealthcareService/{world.cardiology}", "status": "free"}
    member = get(client, "/fhir/Slot", bearer(session, world.community_doctor), **query).json()
    assert {int(e["resource"]["id"]) for e in member["entry"]} == {s.id for s in clinic.slots}
    outsider = get(client, "/fhir/Slot", bearer(session, world.other_grid_doctor), **query)
    public = {int(e["resource"]["id"]) for e in outsider.json()["entry"]}
    assert public == {s.id for s in clinic.slots} - reserved  # reserved slots: members only (C1)
    one = get(client, f"/fhir/Slot/{min(reserved)}", bearer(session, world.other_grid_doctor))
    assert one.json()["status"] == "busy-unavailable"
    assert one.json()["comment"].startswith("reserved for the network's member units")
    assert one.json()["meta"]["tag"][0]["code"] == "reserved"
    schedules = get(
        client, "/fhir/Schedule", bearer(session, world.community_doctor), date="2026-12-01"
    ).json()
    assert str(clinic.id) in {e["resource"]["id"] for e in schedules["entry"]}


def _appointment(slot_id: int, patient: int) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
    }


def test_an_appointment_books_its_slot_once_and_is_cancelled_under_if_match(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = publish(session, world)
    slot_id = next(s.id for s in clinic.slots if s.reserved)
    headers = bearer(session, world.community_doctor)
    with clock.frozen(NOW):
        made = client.post(
            "/fhir/Appointment", json=_appointment(slot_id, world.patient), headers=headers
        )
        assert made.status_code == 201, made.text
        appointment = valid(made.json())
        assert appointment["status"] == "booked"
        assert made.headers["ETag"] == f'W/"{appointment["meta"]["versionId"]}"'
        assert made.headers["Location"].endswith(
            f"/fhir/Appointment/{appointment['id']}/_history/{appointment['meta']['versionId']}"
        )
        again = client.post(
            "/fhir/Appointment", json=_appointment(slot_id, world.unsigned_patient), headers=headers
        )
        assert again.status_code == 409 and again.json()["issue"][0]["code"] == "conflict"
        live = select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id)
        assert session.scalar(live) == 1
        assert client.get(f"/fhir/Slot/{slot_id}", headers=headers).json()["status"] == "busy"

        mine = client.get(
            "/fhir/Appointment", params={"patient": f"Patient/{world.patient}"}, headers=headers
        )
        assert [e["resource"]["id"] for e in mine.json()["entry"]] == [appointment["id"]]
        later = {"patient": f"Patient/{world.patient}", "_lastUpdated": f"gt{NOW.isoformat()}"}
        assert client.get("/fhir/Appointment", params=later, headers=headers).json()["entry"] == []
        cancelled = {**appointment, "status": "cancelled"}
        stale = client.put(
            f"/fhir/Appointment/{appointment['id']}",
            json=cancelled,
            headers={**headers, "If-Match": 'W/"1"'},
        )
        assert stale.status_code == 412, stale.text
        done = client.put(
            f"/fhir/Appointment/{appointment['id']}",
            json=cancelled,
            headers={**headers, "If-Match": made.headers["ETag"]},
        )
        assert done.status_code == 200 and done.json()["status"] == "cancelled"
        assert client.get(f"/fhir/Slot/{slot_id}", headers=headers).json()["status"] == "free"


def test_book_operation_takes_parameters(
    client: TestClient, session: Session, world: World
) -> None:
    clinic = publish(session, world)
    slot_id = next(s.id for s in clinic.slots if not s.reserved)
    nid = residents.record(session, world.patient).national_id
    appointment = _appointment(slot_id, world.patient)
    appointment["participant"] = [
        {"actor": {"identifier": {"system": NATIONAL_ID, "value": nid}}, "status": "accepted"}
    ]
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "appt-resource", "resource": appointment}],
    }
    with clock.frozen(NOW):
        answer = client.post(
            "/fhir/Appointment/$book", json=body, headers=bearer(session, world.community_doctor)
        )
    assert answer.status_code == 200, answer.text
    booked = valid(answer.json())["entry"][0]["resource"]
    assert booked["participant"][0]["actor"]["reference"] == f"Patient/{world.patient}"


@pytest.mark.parametrize(
    ("body", "status", "code", "where"),
    [
        (b"{not json", 422, "invalid", "(body)"),
        (b'{"resourceType": "Patient"}', 422, "invalid", "Appointment.resourceType"),
        (
            b'{"resourceType": "Appointment", "status": "sideways", "participant": []}',
            422,
            "invalid",
            "Appointment.status",
        ),
        (
            b'{"resourceType": "Appointment", "status": "booked",'
            b' "slot": [{"reference": "Patient/1"}], "participant": [{"status": "accepted"}]}',
            422,
            "invalid",
            "Appointment.slot[0].reference",
        ),
        (
            b'{"resourceType": "Appointment", "status": "booked",'
            b' "slot": [{"reference": "Slot/2147483646"}],'
            b' "participant": [{"actor": {"reference": "Patient/2147483646"},'
            b' "status": "accepted"}]}',
            422,
            "invalid",
            "Appointment.participant[0].actor.reference",
        ),
    ],
)
def test_a_bad_appointment_is_an_operation_outcome_naming_the_element(
    client: TestClient,
    session: Session,
    world: World,
    body: bytes,
    status: int,
    code: str,
    where: str,
) -> None:
    headers = {**bearer(session, world.community_doctor), "Content-Type": FHIR_JSON}
    with clock.frozen(NOW):
        answer = client.post("/fhir/Appointment", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    outcome = valid(answer.json())
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(i["code"] == code and where in i.get("expression", []) for i in outcome["issue"]), (
        outcome
    )
    assert session.scalar(select(func.count()).select_from(Booking)) == 0


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/fhir/Observation", 404, "not-found"),
        ("/fhir/Banana/1", 404, "not-found"),
        ("/fhir/Patient/99999999999999999999", 422, "invalid"),
        ("/fhir/Patient/-1", 404, "not-found"),
        ("/fhir/Organization?_count=0", 422, "invalid"),
        ("/fhir/Organization?_count=100000", 422, "invalid"),
        ("/fhir/Organization?_cursor=abc", 422, "invalid"),
        ("/fhir/Organization?name=%00", 422, "invalid"),
        ("/fhir/Slot?start=tomorrow", 422, "invalid"),
        ("/fhir/Slot?start=ge2026-12-01T08:00", 422, "invalid"),
        ("/fhir/Slot?status=maybe", 422, "invalid"),
        ("/fhir/Slot?schedule=Patient/1", 422, "invalid"),
        ("/fhir/Appointment", 422, "invalid"),
    ],
)
def test_a_bad_read_or_search_is_an_operation_outcome(
    client: TestClient, session: Session, world: World, path: str, status: int, code: str
) -> None:
    answer = get(client, path, bearer(session, world.community_doctor))
    assert answer.status_code == status, answer.text
    assert valid(answer.json())["issue"][0]["code"] == code


def test_an_unknown_parameter_is_ignored_and_said_so_unless_strict(
    client: TestClient, session: Session, world: World
) -> None:
    headers = bearer(session, world.community_doctor)
    lenient = valid(get(client, "/fhir/Organization", headers, colour="red", _count=3).json())
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcome) == 1 and "colour" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    assert len([e for e in lenient["entry"] if e["search"]["mode"] == "match"]) == 3
    assert all("colour" not in link["url"] for link in lenient["link"])


def test_without_a_token_the_base_answers_401_as_an_operation_outcome(client: TestClient) -> None:
    answer = client.get("/fhir/Patient")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert valid(answer.json())["issue"][0]["code"] == "login"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/fhir", {"resourceType": "Bundle", "entry": 5}),
        ("/fhir", {"resourceType": "Bundle", "entry": [5, {"resource": 7}]}),
        ("/fhir", [1, 2]),
        ("/fhir/Appointment/$book", {"resourceType": "Parameters", "parameter": 5}),
        ("/fhir/Appointment/$book", {"resourceType": "Parameters", "parameter": [{"name": 1}]}),
        ("/fhir/ServiceRequest", {"resourceType": "ServiceRequest", "note": "x"}),
        ("/fhir/Task", {"resourceType": "Task"}),
    ],
)
def test_an_odd_body_is_refused_not_a_server_error(
    client: TestClient, session: Session, world: World, path: str, body: Any
) -> None:
    with clock.frozen(NOW):
        answer = client.post(path, json=body, headers=bearer(session, world.community_doctor))
    assert 400 <= answer.status_code < 500, answer.text
    assert valid(answer.json())["resourceType"] == "OperationOutcome"
