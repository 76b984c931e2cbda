"""FHIR R4 endpoints for members' own systems (J3, J7, G5)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.interop import fhir_medication, fhir_results
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
    return ImportedOut(results=fhir_results.import_results(session, user, data))


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
    found = fhir_medication.import_prescription(session, user, data)
    return FhirResponse(
        fhir_medication.prescription_bundle(session, user, found.id), status_code=201
    )


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("(body)", msg("not JSON: {exc}", exc=exc))]) from exc
