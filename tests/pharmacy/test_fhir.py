"""Prescriptions exchanged as FHIR R4 (G5, J7): the Bundle CareGrid sends validates with
fhir.resources and carries the requests, the lots dispensed and their links; a member's HIS
sends one in and it is written as any prescription is, or refused with paths in the Bundle;
a real Synthea record is refused cleanly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.config import get_settings
from caregrid.pharmacy import prescriptions
from caregrid.pharmacy.models import Prescription
from caregrid.pharmacy.schemas import DispenseIn, PrescriptionIn
from tests.conftest import bearer
from tests.pharmacy.conftest import AMLODIPINE, LEAD, METFORMIN, UNIT
from tests.world import NOW, World

FHIR = {"Content-Type": "application/fhir+json"}


def _request(code: str, units: float, **more: Any) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "groupIdentifier": {"value": "HIS-RX-20261123-0007"},
            "subject": {"reference": "urn:uuid:p1"},
            "medicationCodeableConcept": {
                "coding": [{"system": "urn:caregrid:item", "code": code}]
            },
            "reasonCode": [
                {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}]}
            ],
            "dosageInstruction": [{"text": "每日1次，每次1片"}],
            "dispenseRequest": {
                "quantity": {"value": units},
                "performer": {"identifier": {"system": "urn:caregrid:institution", "value": UNIT}},
            },
            **more,
        }
    }


def _bundle(world: World, *requests: dict[str, Any]) -> dict[str, Any]:
    patient = {
        "fullUrl": "urn:uuid:p1",
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:caregrid:resident", "value": str(world.patient)}],
        },
    }
    return {"resourceType": "Bundle", "type": "transaction", "entry": [patient, *requests]}


def test_a_dispensed_prescription_goes_out_as_valid_fhir(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    world = pharmacies
    with clock.frozen(NOW):
        written = prescriptions.write(
            session,
            world.cardiologist,
            PrescriptionIn.model_validate(
                {
                    "resident_id": world.patient,
                    "diagnosis_code": "I10",
                    "dispensing_institution_code": UNIT,
                    "items": [
                        {"item_code": AMLODIPINE, "quantity": 30, "dosage": "每日1次", "days": 30}
                    ],
                }
            ),
        )
        prescriptions.dispense(session, world.community_admin, written.id, DispenseIn(version=1))
        answer = client.get(
            f"/api/fhir/prescriptions/{written.id}", headers=bearer(session, world.cardiologist)
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(answer.json())
    resources: list[Any] = [e.resource for e in bundle.entry or []]
    request: Any = next(r for r in resources if isinstance(r, MedicationRequest))
    handed: list[Any] = [r for r in resources if isinstance(r, MedicationDispense)]
    assert request.status == "completed" and request.groupIdentifier.value == str(written.id)
    assert request.reasonCode[0].coding[0].code == "I10"
    assert request.dispenseRequest.performer.identifier.value == UNIT
    assert request.dispenseRequest.expectedSupplyDuration.value == 30
    lots = [(d.contained[0].batch.lotNumber, d.quantity.value) for d in handed]
    assert lots == [("T0", 20), ("T9", 10)]
    assert {d.authorizingPrescription[0].reference for d in handed} == {
        f"MedicationRequest/{request.id}"
    }


def test_a_members_his_sends_a_prescription_in(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    world = pharmacies
    headers = {**bearer(session, world.cardiologist), **FHIR}
    body = _bundle(world, _request(AMLODIPINE, 14), _request(METFORMIN, 60))
    with clock.frozen(NOW):
        answer = client.post("/api/fhir/prescriptions", content=json.dumps(body), headers=headers)
    assert answer.status_code == 201, answer.text
    stored = session.scalars(select(Prescription)).one()
    assert stored.source == "fhir" and stored.institution_id != stored.dispensing_institution_id
    requests = [
        e["resource"]
        for e in answer.json()["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    ]
    assert [r["dispenseRequest"]["quantity"]["value"] for r in requests] == [14, 60]
    assert {r["requester"]["identifier"]["value"] for r in requests} == {LEAD}


def test_a_bad_bundle_names_each_path_and_writes_nothing(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    world = pharmacies
    headers = {**bearer(session, world.cardiologist), **FHIR}
    unlisted = _request("EML18-CAPTOPRIL-T25", 10)  # the unit does not list it
    halves = _request(AMLODIPINE, 2.5)
    uncoded = _request(METFORMIN, 10)
    uncoded["resource"]["medicationCodeableConcept"] = {"text": "二甲双胍"}
    with clock.frozen(NOW):
        first = client.post(
            "/api/fhir/prescriptions",
            content=json.dumps(_bundle(world, halves, uncoded)),
            headers=headers,
        )
        second = client.post(
            "/api/fhir/prescriptions",
            content=json.dumps(_bundle(world, _request(AMLODIPINE, 5), unlisted)),
            headers=headers,
        )
        schema = client.post(
            "/api/fhir/prescriptions",
            content=json.dumps(_bundle(world, _request(AMLODIPINE, 5, status="bogus"))),
            headers=headers,
        )
        broken = _request(AMLODIPINE, 5)
        broken["resource"]["dispenseRequest"]["quantity"] = "ten"
        malformed = client.post(
            "/api/fhir/prescriptions", content=json.dumps(_bundle(world, broken)), headers=headers
        )
    assert first.status_code == 422
    assert {e["field"] for e in first.json()["errors"]} == {
        "entry[1].resource.dispenseRequest.quantity",
        "entry[2].resource.medicationCodeableConcept",
    }
    assert second.status_code == 422, second.text
    assert [e["field"] for e in second.json()["errors"]] == [
        "entry[2].resource.medicationCodeableConcept"
    ]
    assert schema.status_code == 422
    assert [e["field"] for e in schema.json()["errors"]] == ["entry[1].resource.status"]
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"].startswith("entry[1].resource")
    assert session.scalar(select(func.count()).select_from(Prescription)) == 0


def test_a_synthea_record_is_refused_cleanly(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    folder = Path(get_settings().reference_data_dir) / "fhir" / "synthea_r4"
    record = sorted(folder.glob("*.json"))[0]  # a whole patient history, no prescription in it
    with clock.frozen(NOW):
        answer = client.post(
            "/api/fhir/prescriptions",
            content=record.read_bytes(),
            headers={**bearer(session, pharmacies.cardiologist), **FHIR},
        )
    assert answer.status_code == 422
    assert answer.json()["errors"], answer.json()
    assert session.scalar(select(func.count()).select_from(Prescription)) == 0


def test_the_fhir_base_takes_the_prescription_as_a_transaction(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    world = pharmacies
    headers = {**bearer(session, world.cardiologist), **FHIR}
    body = _bundle(world, _request(AMLODIPINE, 14), _request(METFORMIN, 60))
    with clock.frozen(NOW):
        answer = client.post("/fhir", content=json.dumps(body), headers=headers)
        refused = client.post(
            "/fhir",
            content=json.dumps(_bundle(world, _request(AMLODIPINE, 5, status="bogus"))),
            headers=headers,
        )
    assert answer.status_code == 200, answer.text
    stored = session.scalars(select(Prescription)).one()
    response = answer.json()
    assert response["type"] == "transaction-response"
    created = [e for e in response["entry"] if e["response"]["status"] == "201 Created"]
    assert len(created) == 2  # the two MedicationRequests, both in the one prescription
    assert {
        e["response"]["outcome"]["issue"][0]["details"]["coding"][0]["code"] for e in created
    } == {str(stored.id)}
    assert refused.status_code == 422
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert session.scalar(select(func.count()).select_from(Prescription)) == 1
