"""Results from a member's LIS or PACS as a FHIR R4 Bundle of DiagnosticReport and Observation
resources (J3, J7), validated with fhir.resources and stored all or nothing.

Each DiagnosticReport becomes a result of the catalog item its code names (the item's LOINC
or `urn:caregrid:item` code) or, failing that, of the one item whose components its
Observations' LOINC codes are. Its subject is a Patient in the Bundle whose identifier is the
resident's national ID. `basedOn: ServiceRequest/<order id>` reports that CareGrid order (the
sending account must be a reader of the order's centre); otherwise the result is external,
issued by the sending institution, and eligible for recognition like any other. Every
problem is reported with its path in the Bundle; when there is one, nothing is stored.

fhir.resources ships FHIR R4B (4.3.0) and R5 models, not R4 (4.0.1). Bundle, Patient,
DiagnosticReport and Observation are the same in R4 and R4B for what is read here, so R4
Bundles are validated with the R4B models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.schemas import ReportIn, ValueIn
from caregrid.errors import Forbidden, InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.interop.fhir_rest import element_path
from caregrid.residents import service as residents

LOINC = "http://loinc.org"
CAREGRID_ITEM = "urn:caregrid:item"
SENDERS = (Role.CLINICIAN, Role.INSTITUTION_ADMIN)


def parse_bundle(data: Any) -> Bundle:
    """The Bundle, or InvalidInput naming the path of every schema problem."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InvalidInput([Problem("resourceType", "a FHIR Bundle is expected")])
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            [Problem(element_path(tuple(e["loc"])) or "(bundle)", e["msg"]) for e in exc.errors()]
        ) from exc


@dataclass(frozen=True)
class Planned:
    resident_id: int
    item_code: str
    report: ReportIn
    order_id: int | None


def _index(bundle: Bundle) -> dict[str, Any]:
    """Every entry by the references that may point at it: fullUrl and Type/id."""
    found: dict[str, Any] = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl:
            found[str(entry.fullUrl)] = resource
        if resource.id:
            found[f"{resource.get_resource_type()}/{resource.id}"] = resource
    return found


def _target(reference: Reference | None, index: dict[str, Any]) -> Any:
    return index.get(reference.reference or "") if reference is not None else None


def _codes(concept: Any, system: str) -> set[str]:
    return (
        {c.code for c in (concept.coding or []) if c.system == system and c.code}
        if concept
        else set()
    )


def _item(report: DiagnosticReport, observations: list[Observation]) -> catalogs.Item | None:
    catalog = catalogs.starter()
    named = _codes(report.code, CAREGRID_ITEM)
    loinc = _codes(report.code, LOINC)
    for candidate in catalog.items:
        if candidate.code in named or (candidate.loinc and candidate.loinc in loinc):
            return candidate
    measured = (
        set().union(*(_codes(o.code, LOINC) for o in observations)) if observations else set()
    )
    matches = [
        c
        for c in catalog.items
        if c.components and measured and measured <= {x.loinc for x in c.components if x.loinc}
    ]
    return matches[0] if len(matches) == 1 else None


def _resident(patient: Patient, session: Session) -> int | None:
    for identifier in patient.identifier or []:
        if identifier.value:
            found = residents.id_by_national_id(session, identifier.value.strip().upper())
            if found is not None:
                return found
    return None


def _day(value: Any) -> date | None:
    """A FHIR dateTime (date, datetime or partial string) as its calendar day."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        return date.fromisoformat(value[:10])
    return None


def _order_id(report: DiagnosticReport) -> int | None:
    for reference in report.basedOn or []:
        kind, _, number = (reference.reference or "").partition("/")
        if kind == "ServiceRequest" and number.isdigit():
            return int(number)
    return None


def _plan(
    session: Session,
    position: int,
    report: DiagnosticReport,
    index: dict[str, Any],
    positions: dict[int, int],
) -> tuple[Planned | None, list[Problem]]:
    where = f"entry[{position}].resource"
    problems: list[Problem] = []
    subject = _target(report.subject, index)
    resident_id = None
    if not isinstance(subject, Patient):
        problems.append(
            Problem(f"{where}.subject.reference", "does not resolve to a Patient in the Bundle")
        )
    else:
        resident_id = _resident(subject, session)
        if resident_id is None:
            problems.append(
                Problem(f"{where}.subject", "no resident has the Patient's national ID")
            )
    observations: list[tuple[int, Observation]] = []
    for k, reference in enumerate(report.result or []):
        target = _target(reference, index)
        if isinstance(target, Observation):
            observations.append((k, target))
        else:
            problems.append(
                Problem(
                    f"{where}.result[{k}].reference",
                    msg(
                        "{reference!r} does not resolve to an Observation in the Bundle",
                        reference=reference.reference,
                    ),
                )
            )
    wanted = _item(report, [o for _, o in observations])
    if wanted is None:
        problems.append(
            Problem(f"{where}.code", "no catalog item for this report's code or results")
        )
        return None, problems
    values: list[ValueIn] = []
    findings: list[str] = []
    for k, observation in observations:
        if observation.valueString:
            findings.append(observation.valueString)
            continue
        component = next(
            (c for c in wanted.components if c.loinc in _codes(observation.code, LOINC)), None
        )
        quantity = observation.valueQuantity
        if component is None or quantity is None or quantity.value is None:
            problems.append(
                Problem(
                    f"{where}.result[{k}]",
                    msg("not a measured component of {code}", code=wanted.code),
                )
            )
            continue
        unit = quantity.code or quantity.unit or ""
        if unit != component.unit:
            at = positions.get(id(observation))
            problems.append(
                Problem(
                    f"entry[{at}].resource.valueQuantity.code",
                    msg(
                        "{code} is reported in {unit}, not {unit2}",
                        code=component.code,
                        unit=component.unit,
                        unit2=unit,
                    ),
                )
            )
            continue
        values.append(
            ValueIn(
                component=component.code,
                value=Decimal(str(quantity.value)),
                unit=quantity.code or quantity.unit or "",
            )
        )
    observed_on = _day(report.effectiveDateTime)
    planned = ReportIn(
        observed_on=observed_on,
        values=values,
        findings="\n".join(findings) or None,
        conclusion=report.conclusion,
    )
    if problems or resident_id is None:
        return None, problems
    return Planned(resident_id, wanted.code, planned, _order_id(report)), []


def import_results(session: Session, principal: Principal, data: Any) -> list[int]:
    """Store every DiagnosticReport of the Bundle, or none: the ids of the results stored."""
    if not principal.has(*SENDERS) or principal.institution_id is None:
        raise Forbidden("results are sent by an institution's clinical or administrative account")
    bundle = parse_bundle(data)
    index = _index(bundle)
    positions = {id(e.resource): i for i, e in enumerate(bundle.entry or [])}
    plans: list[tuple[int, Planned]] = []
    problems: list[Problem] = []
    for position, entry in enumerate(bundle.entry or []):
        if isinstance(entry.resource, DiagnosticReport):
            planned, found = _plan(session, position, entry.resource, index, positions)
            problems.extend(found)
            if planned is not None:
                plans.append((position, planned))
    if not plans and not problems:
        problems.append(Problem("entry", "the Bundle holds no DiagnosticReport"))
    if problems:
        raise InvalidInput(problems)
    stored: list[int] = []
    with session.begin_nested():  # one refusal undoes the results stored before it
        for position, planned in plans:
            stored.append(_store(session, principal, position, planned))
    return stored


def _store(session: Session, principal: Principal, position: int, planned: Planned) -> int:
    try:
        if planned.order_id is not None:
            result = diagnostics.report(session, principal, planned.order_id, planned.report)
        else:
            result = diagnostics.record_external(
                session,
                principal,
                resident_id=planned.resident_id,
                item_code=planned.item_code,
                data=planned.report,
            )
    except InvalidInput as exc:  # checked against the item: name the entry it came from
        raise InvalidInput(
            [Problem(f"entry[{position}].resource.{p.field}", p.reason) for p in exc.problems]
        ) from exc
    return result.id


def transaction_response(data: Any, stored: list[int], kind: str, system: str) -> dict[str, Any]:
    """The `transaction-response` to a stored Bundle: one entry per entry sent, in order; each
    `kind` resource (DiagnosticReport, MedicationRequest) names the record it became in
    `system` (`urn:caregrid:result`, `urn:caregrid:prescription`), one per resource or one
    for them all."""
    records = iter(stored)
    last = stored[-1] if stored else 0
    entries = []
    for entry in data.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == kind:
            record = next(records, last)
            entries.append(
                {"response": {"status": "201 Created", "outcome": _stored(record, system)}}
            )
        else:
            entries.append({"response": {"status": "200 OK"}})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def _stored(record: int, system: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": f"stored as {system.rsplit(':', 1)[-1]} {record}",
                "details": {"coding": [{"system": system, "code": str(record)}]},
            }
        ],
    }
