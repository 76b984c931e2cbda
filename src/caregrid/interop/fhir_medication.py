"""Prescriptions and dispensing exchanged with members' own systems as FHIR R4
MedicationRequest and MedicationDispense resources (G5, J7), validated with fhir.resources.

Out: a prescription is a Bundle (collection) of one MedicationRequest per item, grouped by
`groupIdentifier` (the prescription), and one MedicationDispense per lot handed over, each
with a contained Medication carrying the lot (`batch.lotNumber`, `batch.expirationDate`) and
pointing at the request it fills (`authorizingPrescription`).

In: a member's HIS sends one prescription as a Bundle of MedicationRequest resources (and
the Patient they name). The patient is found by the resident's national ID or CareGrid id in
`Patient.identifier`; the item by its catalogue code (`urn:caregrid:item`); the diagnosis by
`reasonCode` (ICD-10); the dispensing pharmacy by `dispenseRequest.performer.identifier`
(`urn:caregrid:institution`, the sender's own if absent). It is written through the pharmacy
service exactly as a prescription typed into CareGrid, with the same refusals; each problem
names its path in the Bundle, and nothing is written when there is one.

fhir.resources ships FHIR R4B (4.3.0) and R5 models, not R4 (4.0.1); MedicationRequest,
MedicationDispense, Medication and Bundle are the same in R4 and R4B for what is used here.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.interop.fhir_rest import ICD10
from caregrid.interop.fhir_results import parse_bundle
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.schemas import PrescriptionIn, PrescriptionOut
from caregrid.residents import service as residents

ITEM = "urn:caregrid:item"
NATIONAL_DRUG = "urn:cn:nhsa:drug"  # 国家医保药品分类与代码
INSTITUTION = "urn:caregrid:institution"
PRESCRIPTION = "urn:caregrid:prescription"
RESIDENT = "urn:caregrid:resident"
STATUS = {
    "issued": "active",
    "dispensed": "completed",
    "refused": "stopped",
    "cancelled": "cancelled",
}


def _medication(item_code: str, name: str, national_code: str | None) -> dict[str, Any]:
    coding = [{"system": ITEM, "code": item_code, "display": name}]
    if national_code:
        coding.append({"system": NATIONAL_DRUG, "code": national_code})
    return {"coding": coding, "text": name}


def _institution(code: str) -> dict[str, Any]:
    return {"identifier": {"system": INSTITUTION, "value": code}}


def prescription_bundle(
    session: Session, principal: Principal, prescription_id: int
) -> dict[str, Any]:
    """The prescription as a validated FHIR Bundle: its requests and what was dispensed."""
    found = pharmacy.prescription(session, principal, prescription_id)
    return _bundle(found)


def _bundle(found: PrescriptionOut) -> dict[str, Any]:
    patient = f"Patient/{found.resident_id}"
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:caregrid:patient:{found.resident_id}",
            "resource": Patient.model_validate(
                {
                    "resourceType": "Patient",
                    "id": str(found.resident_id),
                    "identifier": [{"system": RESIDENT, "value": str(found.resident_id)}],
                }
            ).model_dump(mode="json", exclude_none=True),
        }
    ]
    for n, item in enumerate(found.items, start=1):
        request_id = f"rx{found.id}-{n}"
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": request_id,
            "status": STATUS[found.state.value],
            "intent": "order",
            "groupIdentifier": {"system": PRESCRIPTION, "value": str(found.id)},
            "medicationCodeableConcept": _medication(
                item.item_code, item.item_name_zh, item.national_code
            ),
            "subject": {"reference": patient},
            "authoredOn": found.written_at.isoformat(),
            "requester": {"display": found.prescriber_name, **_institution(found.institution_code)},
            "reasonCode": [{"coding": [{"system": ICD10, "code": found.diagnosis_code}]}],
            "dosageInstruction": [{"text": item.dosage}],
            "dispenseRequest": {
                "quantity": {"value": item.quantity},
                "performer": _institution(found.dispensing_institution_code),
                **(
                    {
                        "expectedSupplyDuration": {
                            "value": item.days,
                            "unit": "d",
                            "system": "http://unitsofmeasure.org",
                            "code": "d",
                        }
                    }
                    if item.days
                    else {}
                ),
            },
        }
        if item.reason:
            request["note"] = [{"text": item.reason}]
        if found.refusal:
            request["statusReason"] = {"text": found.refusal}
        entries.append(
            {
                "fullUrl": f"urn:caregrid:medicationrequest:{request_id}",
                "resource": MedicationRequest.model_validate(request).model_dump(
                    mode="json", exclude_none=True
                ),
            }
        )
        for k, given in enumerate(item.dispensed, start=1):
            dispense = {
                "resourceType": "MedicationDispense",
                "id": f"{request_id}-d{k}",
                "status": "completed",
                "contained": [
                    {
                        "resourceType": "Medication",
                        "id": "lot",
                        "code": _medication(item.item_code, item.item_name_zh, item.national_code),
                        "batch": {
                            "lotNumber": given.lot_number,
                            "expirationDate": given.expires_on.isoformat(),
                        },
                    }
                ],
                "medicationReference": {"reference": "#lot"},
                "subject": {"reference": patient},
                "performer": [{"actor": _institution(found.dispensing_institution_code)}],
                "authorizingPrescription": [{"reference": f"MedicationRequest/{request_id}"}],
                "quantity": {"value": given.quantity},
                "whenHandedOver": found.closed_at.isoformat() if found.closed_at else None,
            }
            entries.append(
                {
                    "fullUrl": f"urn:caregrid:medicationdispense:{request_id}-d{k}",
                    "resource": MedicationDispense.model_validate(
                        {k2: v for k2, v in dispense.items() if v is not None}
                    ).model_dump(mode="json", exclude_none=True),
                }
            )
    bundle = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "collection", "entry": entries}
    )
    return bundle.model_dump(mode="json", exclude_none=True)


# --- in ---------------------------------------------------------------------------------


def _code(concept: Any, system: str) -> str | None:
    for coding in getattr(concept, "coding", None) or []:
        if coding.system == system and coding.code:
            return str(coding.code)
    return None


def _resident(session: Session, patient: Patient | None) -> int | None:
    for identifier in (patient.identifier or []) if patient else []:
        value = (identifier.value or "").strip()
        if identifier.system == RESIDENT and value.isdigit() and len(value) <= 10:
            if residents.find_record(session, int(value)) is not None:
                return int(value)
        elif value:
            found = residents.id_by_national_id(session, value.upper())
            if found is not None:
                return found
    return None


def import_prescription(session: Session, principal: Principal, data: Any) -> PrescriptionOut:
    """One prescription from a member's system: its MedicationRequests (one per item) and the
    Patient they name, written as any prescription is, or every problem with its path."""
    bundle = parse_bundle(data)
    patients: dict[str, Patient] = {}
    requests: list[tuple[int, MedicationRequest]] = []
    problems: list[Problem] = []
    for n, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if isinstance(resource, Patient):
            for key in (entry.fullUrl, f"Patient/{resource.id}" if resource.id else None):
                if key:
                    patients[str(key)] = resource
        elif isinstance(resource, MedicationRequest):
            requests.append((n, resource))
        elif resource is not None:
            problems.append(
                Problem(
                    f"entry[{n}].resource.resourceType",
                    "only Patient and MedicationRequest are read",
                )
            )
    if not requests:
        problems.append(Problem("entry", "the Bundle holds no MedicationRequest"))
    if problems:
        raise InvalidInput(problems)
    first = requests[0][1]
    subjects = {r.subject.reference if r.subject else None for _, r in requests}
    groups = {r.groupIdentifier.value if r.groupIdentifier else None for _, r in requests}
    if len(subjects) != 1:
        problems.append(Problem("entry.resource.subject", "the requests name different patients"))
    if len(groups) != 1:
        problems.append(
            Problem("entry.resource.groupIdentifier", "one prescription per Bundle: one group")
        )
    resident = _resident(session, patients.get(str(next(iter(subjects)) or "")))
    if resident is None:
        problems.append(
            Problem(
                f"entry[{requests[0][0]}].resource.subject",
                "names no Patient of the Bundle whose identifier is a registered resident",
            )
        )
    diagnosis = next((c for c in (_code(r, ICD10) for r in first.reasonCode or []) if c), None)
    if diagnosis is None:
        problems.append(
            Problem(f"entry[{requests[0][0]}].resource.reasonCode", "needs an ICD-10 code")
        )
    performer = None
    if first.dispenseRequest and first.dispenseRequest.performer:
        ident = first.dispenseRequest.performer.identifier
        performer = ident.value if ident and ident.system == INSTITUTION else None
    items = []
    for n, request in requests:
        if request.status != "active" or request.intent != "order":
            problems.append(
                Problem(
                    f"entry[{n}].resource.status", "only an active order (intent order) is written"
                )
            )
        code = _code(request.medicationCodeableConcept, ITEM)
        if code is None:
            problems.append(
                Problem(
                    f"entry[{n}].resource.medicationCodeableConcept",
                    "needs a catalogue code (urn:caregrid:item)",
                )
            )
        quantity = (
            request.dispenseRequest.quantity.value
            if request.dispenseRequest and request.dispenseRequest.quantity
            else None
        )
        if quantity is None or quantity != int(quantity):
            problems.append(
                Problem(
                    f"entry[{n}].resource.dispenseRequest.quantity", "needs a whole number of units"
                )
            )
        dosage = next((d.text for d in request.dosageInstruction or [] if d.text), None)
        if dosage is None:
            problems.append(
                Problem(f"entry[{n}].resource.dosageInstruction", "needs the dosage as text")
            )
        supply = request.dispenseRequest.expectedSupplyDuration if request.dispenseRequest else None
        note = next((x.text for x in request.note or [] if x.text), None)
        items.append(
            {
                "item_code": code,
                "quantity": int(quantity) if quantity is not None else None,
                "dosage": dosage,
                "days": int(supply.value) if supply and supply.value else None,
                "reason": note,
            }
        )
    if problems:
        raise InvalidInput(problems)
    try:
        asked = PrescriptionIn.model_validate(
            {
                "resident_id": resident,
                "diagnosis_code": diagnosis,
                "dispensing_institution_code": performer,
                "items": items,
            }
        )
    except ValidationError as exc:
        raise InvalidInput(
            [Problem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    try:
        row = pharmacy.prescribe(session, principal, asked, source="fhir")
    except InvalidInput as exc:  # the service's fields, as paths in the Bundle
        raise InvalidInput(
            [_in_bundle(p, [n for n, _ in requests]) for p in exc.problems]
        ) from None
    return pharmacy.prescription_views(session, [row])[0]


IN_REQUEST = {
    "item_code": "medicationCodeableConcept",
    "reason": "note",
    "quantity": "dispenseRequest.quantity",
}


def _in_bundle(problem: Problem, entries: list[int]) -> Problem:
    """`items.2.item_code` -> `entry[3].resource.medicationCodeableConcept`."""
    parts = problem.field.split(".")
    if (
        len(parts) == 3
        and parts[0] == "items"
        and parts[1].isdigit()
        and int(parts[1]) < len(entries)
    ):
        where = IN_REQUEST.get(parts[2], parts[2])
        return Problem(f"entry[{entries[int(parts[1])]}].resource.{where}", problem.reason)
    if problem.field == "diagnosis_code" and entries:
        return Problem(f"entry[{entries[0]}].resource.reasonCode", problem.reason)
    return problem
