"""REST API of resident records. Reads are audited with their purpose; IDs masked by access."""

from __future__ import annotations

import csv
import io
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.errors import InvalidInput, Problem
from caregrid.familydoctor import service as familydoctor
from caregrid.residents import service as residents
from caregrid.residents.schemas import (
    EmergencyAccessIn,
    EmergencyGrantOut,
    ResidentIn,
    ResidentOut,
    ResidentView,
)
from caregrid.spreadsheet import safe_row
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api/residents", tags=["residents"])

Purpose = Annotated[
    str, Query(min_length=3, max_length=200, description="why the record is read (audited)")
]


def _out(session: Session, view: ResidentView) -> ResidentOut:
    signed = familydoctor.is_signed(session, view.id, clock.today())
    return ResidentOut(**view.model_dump(), signed=signed)


@router.post("", response_model=ResidentOut, status_code=201)
def create_resident(body: ResidentIn, session: DB, user: User) -> ResidentOut:
    resident = residents.create(session, user, body)
    return _out(session, residents.get(session, user, resident.id, purpose="registration"))


@router.get("", response_model=list[ResidentOut])
def list_residents(
    session: DB,
    user: User,
    purpose: Purpose = "care",
    after: Annotated[
        int | None, Query(ge=0, le=2_147_483_647, description="the last id seen")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ResidentOut]:
    """The residents this user may list, in record-number order; page on with `after`."""
    found = residents.list_visible(session, user, purpose=purpose, limit=limit, after=after)
    return [_out(session, v) for v in found]


@router.get("/export.csv", responses={200: {"content": {"text/csv": {}}}})
def export_residents(session: DB, user: User, purpose: Purpose = "export") -> Response:
    """The residents this user may list, as CSV, masked exactly as on the pages."""
    views = [
        _out(session, v)
        for v in residents.list_visible(session, user, purpose=purpose, limit=100_000)
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = list(ResidentOut.model_fields)
    writer.writerow(columns)
    for view in views:
        row = view.model_dump(mode="json")
        cells = [" ".join(row[c]) if isinstance(row[c], list) else row[c] for c in columns]
        writer.writerow(safe_row(cells))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="residents.csv"'},
    )


EMERGENCY_HEADER = "X-Emergency-Reason"


def emergency_header(value: str) -> access.EmergencyReason:
    """`X-Emergency-Reason: <code>:<free text>`, percent-encoded UTF-8 (a header carries
    ASCII only, so Chinese text travels as `%E6%82%A3…`)."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput([Problem(EMERGENCY_HEADER, message)])

    if not value.isascii():
        raise refuse("must be percent-encoded UTF-8 (urllib.parse.quote)")
    try:
        decoded = unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise refuse(f"not percent-encoded UTF-8: {exc.reason}") from None
    code, colon, text = decoded.partition(":")
    if not colon:
        raise refuse("must be <reason code>:<free text>")
    fields = (f"{EMERGENCY_HEADER}.reason_code", f"{EMERGENCY_HEADER}.reason_text")
    return access.emergency_reason(code, text, fields=fields)


@router.post("/{resident_id}/emergency-access", response_model=EmergencyGrantOut, status_code=201)
def open_emergency_access(
    resident_id: int, body: EmergencyAccessIn, session: DB, user: User
) -> EmergencyGrantOut:
    """A clinician without a care relationship opens the record for a limited time, with a
    coded reason and free text (audited; 403 outside their networks, 409 while a grant runs,
    429 with Retry-After above the daily cap)."""
    return residents.open_emergency_access(session, user, resident_id, body)


@router.get("/{resident_id}", response_model=ResidentOut)
def get_resident(
    resident_id: int,
    session: DB,
    user: User,
    purpose: Purpose = "care",
    x_emergency_reason: Annotated[
        str | None,
        Header(description="percent-encoded UTF-8 `<reason code>:<free text>`; opens a grant"),
    ] = None,
) -> ResidentOut:
    """A clinician without a care relationship reads through an emergency grant in force, or
    opens one on the way with `X-Emergency-Reason` (audited)."""
    emergency = None if x_emergency_reason is None else emergency_header(x_emergency_reason)
    view = residents.get(session, user, resident_id, purpose=purpose, emergency=emergency)
    return _out(session, view)
