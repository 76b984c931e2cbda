"""FHIR R4 endpoints for members' own systems (J3, J7, G5).

A handler that reads the raw body is `async`; the service work it then does runs in the thread
pool, as a plain handler's would: run on the event loop, a booking waiting for a lock that
another request of the same worker holds would stop every request of that worker for good."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.interop import fhir_medication, fhir_results, fhir_scheduling, fhir_server
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api/fhir", tags=["interoperability"])
FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


class ImportedOut(BaseModel):
    results: list[int]


@router.post(
    "/results",
    response_model=ImportedOut,
    status_code=201,
    openapi_extra={"requestBody": {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
async def import_results(request: Request, session: DB, user: User) -> ImportedOut:
    """A Bundle of DiagnosticReport and Observation resources from a LIS or PACS: every
    report stored, or none, with the path of each problem."""
    data = _json(await request.body())
    stored = await run_in_threadpool(fhir_results.import_results, session, user, data)
    return ImportedOut(results=stored)


@router.get("/prescriptions/{prescription_id}", response_class=FhirResponse)
def prescription_bundle(
    prescription_id: Annotated[int, Path(ge=1, le=2_147_483_647)], session: DB, user: User
) -> FhirResponse:
    """A prescription as a Bundle of MedicationRequest (one per item) and MedicationDispense
    (one per lot handed over)."""
    return FhirResponse(fhir_medication.prescription_bundle(session, user, prescription_id))


@router.post(
    "/prescriptions",
    response_class=FhirResponse,
    status_code=201,
    openapi_extra={"requestBody": {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
async def import_prescription(request: Request, session: DB, user: User) -> FhirResponse:
    """One prescription from a member's HIS as a Bundle of MedicationRequest resources and
    their Patient: written as any prescription is, or every problem with its path."""
    data = _json(await request.body())
    found = await run_in_threadpool(fhir_medication.import_prescription, session, user, data)
    bundle = await run_in_threadpool(fhir_medication.prescription_bundle, session, user, found.id)
    return FhirResponse(bundle, status_code=201)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("(body)", msg("not JSON: {exc}", exc=exc))]) from exc


# --- the FHIR R4 base ----------------------------------------------------------------------

fhir = APIRouter(prefix="/fhir", tags=["FHIR"])
BODY = {"requestBody": {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _answer(request: Request, resource: dict[str, Any], status_code: int = 200) -> FhirResponse:
    """A resource with its version as ETag and, when just made, its Location."""
    headers = {}
    if version := resource.get("meta", {}).get("versionId"):
        headers["ETag"] = f'W/"{version}"'
        if status_code == 201:
            where = f"{_base(request)}/{resource['resourceType']}/{resource['id']}"
            headers["Location"] = f"{where}/_history/{version}"
    return FhirResponse(resource, status_code=status_code, headers=headers)


@fhir.get("/metadata", response_class=FhirResponse)
def capability_statement(request: Request) -> FhirResponse:
    """What this base serves: resources, interactions and search parameters (no sign-in)."""
    return FhirResponse(fhir_server.capability_statement(_base(request)))


@fhir.post("", response_class=FhirResponse, openapi_extra=BODY)
async def transaction(request: Request, session: DB, user: User) -> FhirResponse:
    """A transaction Bundle: results (DiagnosticReport, Observation) or a prescription
    (MedicationRequest), stored whole or not at all."""
    data = _json(await request.body())
    return FhirResponse(await run_in_threadpool(fhir_server.transaction, session, user, data))


@fhir.post("/Appointment/$book", response_class=FhirResponse, openapi_extra=BODY)
async def book_operation(request: Request, session: DB, user: User) -> FhirResponse:
    """$book: an Appointment, or Parameters whose `appt-resource` is one; answers a Bundle
    holding the booked Appointment."""
    data = _json(await request.body())
    resource = await run_in_threadpool(fhir_scheduling.create, session, user, data)
    return FhirResponse(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"{_base(request)}/Appointment/{resource['id']}", "resource": resource}
            ],
        }
    )


@fhir.post("/{resource_type}", response_class=FhirResponse, status_code=201, openapi_extra=BODY)
async def create(resource_type: str, request: Request, session: DB, user: User) -> FhirResponse:
    """Create: an Appointment books its Slot (409 when taken); a ServiceRequest is a referral."""
    data = _json(await request.body())
    made = await run_in_threadpool(fhir_server.create, session, user, resource_type, data)
    return _answer(request, made, 201)


@fhir.put("/{resource_type}/{resource_id}", response_class=FhirResponse, openapi_extra=BODY)
async def update(
    resource_type: str, resource_id: str, request: Request, session: DB, user: User
) -> FhirResponse:
    """Update under If-Match: an Appointment is cancelled, a referral's Task moves on."""
    data = _json(await request.body())
    resource = await run_in_threadpool(
        fhir_server.update,
        session,
        user,
        resource_type,
        resource_id,
        data,
        request.headers.get("if-match"),
    )
    return _answer(request, resource)


@fhir.get("/{resource_type}", response_class=FhirResponse)
def search(resource_type: str, request: Request, session: DB, user: User) -> FhirResponse:
    """Search a resource type: a `searchset` Bundle whose `next` link pages to the end."""
    return FhirResponse(
        fhir_server.search(
            session,
            user,
            resource_type,
            request.query_params.multi_items(),
            request.headers.get("prefer"),
            _base(request),
        )
    )


@fhir.get("/{resource_type}/{resource_id}", response_class=FhirResponse)
def read(
    resource_type: str, resource_id: str, request: Request, session: DB, user: User
) -> FhirResponse:
    return _answer(request, fhir_server.read(session, user, resource_type, resource_id))
