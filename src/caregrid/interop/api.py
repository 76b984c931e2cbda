"""FHIR R4 endpoints for members' own systems (J3, J7)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import BaseModel

from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.interop import fhir_results
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api/fhir", tags=["interoperability"])
FHIR_JSON = "application/fhir+json"


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
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("(body)", msg("not JSON: {exc}", exc=exc))]) from exc
    return ImportedOut(results=fhir_results.import_results(session, user, data))
