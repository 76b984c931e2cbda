"""What the `/fhir` base serves (J3, J7): one table of resource kinds, from which both the
dispatch of reads and searches and the CapabilityStatement are made, so the statement lists
exactly what is supported."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import DomainError, InvalidInput, MethodNotAllowed, NotFound, Problem
from caregrid.interop import fhir_directory as directory
from caregrid.interop import (
    fhir_measure,
    fhir_medication,
    fhir_patient,
    fhir_referral,
    fhir_results,
    fhir_scheduling,
)
from caregrid.interop.fhir_rest import (
    COMMON,
    FHIR_VERSION,
    Page,
    Param,
    as_id,
    emit,
    outcome_of,
    parse,
    parse_search,
    searchset,
)

Read = Callable[[Session, Principal, str], dict[str, Any]]
SearchFn = Callable[[Session, Principal, Any], Page]
Create = Callable[[Session, Principal, Any], dict[str, Any]]
Update = Callable[[Session, Principal, int, Any, str | None], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """A resource type the base serves: how it is read and searched, and written if at all
    (`update` gets the If-Match header the client sent)."""

    type: str
    read: Read | None  # None: computed when searched, not kept to be read by id
    search: SearchFn
    params: tuple[Param, ...]
    documentation: str = ""
    origin: str = ""  # where records of a kind that is not created here come from
    create: Create | None = None
    update: Update | None = None

    @property
    def interactions(self) -> list[str]:
        writes = [("create", self.create), ("update", self.update)]
        reads = ["read"] if self.read is not None else []
        return [*reads, "search-type", *(name for name, how in writes if how is not None)]


def id_of(resource_type: str, raw_id: str) -> int:
    """The record number a FHIR id names; any other id names nothing here."""
    resource_id = as_id(raw_id)
    if resource_id is None or raw_id != str(resource_id):
        raise NotFound("no {type} with id {id}", type=resource_type, id=raw_id[:64])
    return resource_id


def numbered(resource_type: str, read: Callable[[Session, Principal, int], dict[str, Any]]) -> Read:
    """A read of a kind whose ids are CareGrid's record numbers."""
    return lambda session, principal, raw: read(session, principal, id_of(resource_type, raw))


KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind(
            "Organization",
            numbered("Organization", directory.read_organization),
            directory.search_organizations,
            directory.ORGANIZATION_PARAMS,
            documentation="an institution of the registry",
            origin="the registry, loaded from a city's layout file (caregrid registry import)",
        ),
        Kind(
            "Location",
            numbered("Location", directory.read_location),
            directory.search_locations,
            directory.LOCATION_PARAMS,
            documentation="an institution's site, with its position where the layout gives it",
            origin="the registry's institutions, loaded from layout files",
        ),
        Kind(
            "HealthcareService",
            numbered("HealthcareService", directory.read_service),
            directory.search_services,
            directory.SERVICE_PARAMS,
            documentation="a department",
            origin="the registry: departments are added by an institution's administrator",
        ),
        Kind(
            "Practitioner",
            numbered("Practitioner", directory.read_practitioner),
            directory.search_practitioners,
            directory.PRACTITIONER_PARAMS,
            origin="the registry: practitioners are added by an institution's administrator",
        ),
        Kind(
            "Patient",
            numbered("Patient", fhir_patient.read_patient),
            fhir_patient.search_patients,
            fhir_patient.PATIENT_PARAMS,
            documentation="a resident, read under the care-relationship rule; every read audited",
            origin="the resident register, written by the member that registers the resident",
        ),
        Kind(
            "Schedule",
            numbered("Schedule", fhir_scheduling.read_schedule),
            fhir_scheduling.search_schedules,
            fhir_scheduling.SCHEDULE_PARAMS,
            documentation="a published clinic session",
            origin="clinic sessions the hosting institution publishes, with their reserved share",
        ),
        Kind(
            "Slot",
            numbered("Slot", fhir_scheduling.read_slot),
            fhir_scheduling.search_slots,
            fhir_scheduling.SLOT_PARAMS,
            documentation="a slot as the reader's unit may book it now (C1, C3)",
            origin="the slots of a published clinic session",
        ),
        Kind(
            "Appointment",
            numbered("Appointment", fhir_scheduling.read_appointment),
            fhir_scheduling.search_appointments,
            fhir_scheduling.APPOINTMENT_PARAMS,
            documentation="a booking; create books its Slot, update cancels (If-Match honoured)",
            create=fhir_scheduling.create,
            update=fhir_scheduling.update,
        ),
        Kind(
            "ServiceRequest",
            numbered("ServiceRequest", fhir_referral.read_request),
            fhir_referral.search_requests,
            fhir_referral.REQUEST_PARAMS,
            documentation="a referral (basedOn an up referral: the lead's downward one, B5)",
            create=fhir_referral.create,
        ),
        Kind(
            "Task",
            numbered("Task", fhir_referral.read_task),
            fhir_referral.search_tasks,
            fhir_referral.TASK_PARAMS,
            documentation="a referral's state in the closed loop; update moves it (If-Match)",
            update=fhir_referral.move,
        ),
        Kind(
            "Measure",
            fhir_measure.read_measure,
            fhir_measure.search_measures,
            fhir_measure.MEASURE_PARAMS,
            documentation="an indicator definition of the catalogue (its id with _ written .)",
            origin="CareGrid's indicator catalogue (data/indicators), one definition each",
        ),
        Kind(
            "MeasureReport",
            None,
            fhir_measure.search_reports,
            fhir_measure.REPORT_PARAMS,
            documentation="a network's or a member's figure for a year, computed when asked",
            origin="computed from the activity facts when searched",
        ),
    )
}

# Accepted inside a transaction Bundle posted to the base, not served on their own (yet).
IN_TRANSACTIONS = {
    "DiagnosticReport": "a result from a member's LIS or PACS, with its Observations",
    "Observation": "a result value of a DiagnosticReport in the same Bundle",
    "MedicationRequest": "one item of a prescription from a member's HIS, with its Patient",
}


# Resource types a member's system may hold that CareGrid does not take, and why.
NOT_TAKEN = {
    "AppointmentResponse": "a booking is confirmed when it is made; there is nothing to answer",
    "Condition": "a diagnosis travels as the ICD-10 code of a referral, result or prescription",
    "Encounter": "visits reach CareGrid as activity facts (docs/activity.md), not one by one",
    "PractitionerRole": "a practitioner's sites are part of Practitioner in the registry (H6)",
}


@dataclass(frozen=True)
class Verdict:
    """What the base does with one resource a member's system holds."""

    type: str
    outcome: str  # created | refused | read-only | in-transaction | not-taken | invalid
    reason: str


def triage(session: Session, principal: Principal, data: Any) -> Verdict:
    """Whether the base takes a resource and what becomes of it: a kind it creates is created
    (in a savepoint the caller may roll back) or refused with the first reason; any other is
    checked against its model and reported with where such records come from."""
    type_ = str(data.get("resourceType")) if isinstance(data, dict) else "(none)"
    if type_ in NOT_TAKEN:
        return Verdict(type_, "not-taken", NOT_TAKEN[type_])
    serving = KINDS.get(type_)
    if serving is None and type_ not in IN_TRANSACTIONS:
        return Verdict(type_, "not-taken", f"CareGrid does not take {type_[:64]}")
    try:
        if serving is not None and serving.create is not None:
            with session.begin_nested():
                made = serving.create(session, principal, data)
            return Verdict(type_, "created", f"{type_}/{made['id']}")
        parse(type_, data, type_)
    except DomainError as exc:
        issue = outcome_of(exc)["issue"][0]
        where = ", ".join(issue.get("expression", []))
        return Verdict(
            type_, "refused" if serving else "invalid", f"{where}: {issue['diagnostics']}"
        )
    if serving is not None:
        return Verdict(
            type_, "read-only", f"valid R4; read and searched here, from {serving.origin}"
        )
    if type_ in IN_TRANSACTIONS:
        return Verdict(
            type_, "in-transaction", f"valid R4; {IN_TRANSACTIONS[type_]}, in a transaction Bundle"
        )
    return Verdict(type_, "not-taken", f"CareGrid does not take {type_}")


def transaction(session: Session, principal: Principal, data: Any) -> dict[str, Any]:
    """A transaction Bundle posted to the base: results (DiagnosticReport and Observation)
    or one prescription (MedicationRequest), each stored whole or not at all."""
    entries = data.get("entry") if isinstance(data, dict) else None
    types = {
        e["resource"].get("resourceType")
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    }
    if "MedicationRequest" in types and "DiagnosticReport" in types:
        raise InvalidInput([Problem("entry", "send results and a prescription in two Bundles")])
    if "MedicationRequest" in types:
        found = fhir_medication.import_prescription(session, principal, data)
        return fhir_results.transaction_response(
            data, [found.id], "MedicationRequest", "urn:caregrid:prescription"
        )
    stored = fhir_results.import_results(session, principal, data)
    return fhir_results.transaction_response(
        data, stored, "DiagnosticReport", "urn:caregrid:result"
    )


def kind(resource_type: str) -> Kind:
    found = KINDS.get(resource_type)
    if found is None:
        raise NotFound(
            "{type} is not served here; see the CapabilityStatement (GET /fhir/metadata)",
            type=resource_type[:64],
        )
    return found


def read(session: Session, principal: Principal, resource_type: str, raw_id: str) -> dict[str, Any]:
    serving = kind(resource_type)
    if serving.read is None:
        raise MethodNotAllowed(
            "a {type} is computed when asked: search it (see GET /fhir/metadata)",
            type=resource_type,
        )
    return serving.read(session, principal, raw_id)


def create(session: Session, principal: Principal, resource_type: str, data: Any) -> dict[str, Any]:
    serving = kind(resource_type)
    if serving.create is None:
        raise MethodNotAllowed("{type} is read here, not created", type=resource_type)
    return serving.create(session, principal, data)


def update(
    session: Session,
    principal: Principal,
    resource_type: str,
    raw_id: str,
    data: Any,
    if_match: str | None,
) -> dict[str, Any]:
    serving = kind(resource_type)
    if serving.update is None:
        raise MethodNotAllowed("{type} is read here, not updated", type=resource_type)
    return serving.update(session, principal, id_of(resource_type, raw_id), data, if_match)


def search(
    session: Session,
    principal: Principal,
    resource_type: str,
    query: Iterable[tuple[str, str]],
    prefer: str | None,
    base: str,
) -> dict[str, Any]:
    serving = kind(resource_type)
    wanted = parse_search(serving.params, query, prefer)
    return searchset(base, resource_type, wanted, serving.search(session, principal, wanted))


def capability_statement(base: str) -> dict[str, Any]:
    resources = []
    for k in KINDS.values():
        resource: dict[str, Any] = {
            "type": k.type,
            "interaction": [{"code": code} for code in k.interactions],
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.documentation} for p in k.params
            ]
            + [
                {"name": "_id", "type": "token", "documentation": "the resource's id"},
            ],
        }
        if k.documentation:
            resource["documentation"] = k.documentation
        if k.update is not None:
            resource["versioning"] = "versioned-update"
        if k.type == "Appointment":
            resource["operation"] = [
                {
                    "name": "book",
                    "definition": "http://hl7.org/fhir/uv/scheduling/OperationDefinition/appointment-book",
                    "documentation": "an Appointment, or Parameters with appt-resource",
                }
            ]
        resources.append(resource)
    for type_, note in IN_TRANSACTIONS.items():
        resources.append({"type": type_, "documentation": f"{note} (in a transaction only)"})
    return emit(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": clock.today().isoformat(),
            "kind": "instance",
            "software": {"name": "CareGrid"},
            "implementation": {"description": "CareGrid's FHIR facade", "url": base},
            "fhirVersion": FHIR_VERSION,
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Every search also takes "
                        + ", ".join(COMMON)
                        + "; an unknown parameter is ignored unless Prefer: handling=strict."
                    ),
                    "security": {
                        "description": (
                            "Authorization: Bearer, a token from `caregrid user token`, as for "
                            "the API"
                        )
                    },
                    "resource": resources,
                    "interaction": [{"code": "transaction"}],
                }
            ],
        }
    )
