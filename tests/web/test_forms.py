"""`web.forms.submit`, how a page handles a form's POST: a malformed field or the service's
refusal shows the form again with its status and the problems per field, with nothing
half-written; success redirects (Post/Redirect/Get); a lapsed sign-in is no form error."""

from __future__ import annotations

import json

import pytest
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid.auth import audit
from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import SYSTEM
from caregrid.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    Problem,
    RuleViolation,
    Unauthenticated,
)
from caregrid.web.forms import FormError, submit


class Visit(BaseModel):
    sbp: int = Field(ge=40, le=300)


def _shown(error: FormError) -> Response:
    """The form again: here its error as JSON, with the error's status."""
    fields = {name: str(reason) for name, reason in error.fields.items()}
    body = {"form": error.form, "fields": fields, "requirement": error.requirement}
    return JSONResponse(body, status_code=error.status)


def _body(response: Response) -> dict[str, object]:
    data: dict[str, object] = json.loads(bytes(response.body))
    return data


def _write(session: Session, refusal: DomainError | None = None) -> int:
    """A service call that writes, then refuses when told to."""
    entry = audit.record(
        session, SYSTEM, action="test.write", subject_type="thing", subject_id=1, purpose="testing"
    )
    if refusal is not None:
        raise refusal
    return entry.seq


def _rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_a_malformed_field_is_shown_per_field_with_422(session: Session) -> None:
    response = submit(
        session,
        "visit",
        lambda: Visit.model_validate({"sbp": "400"}),
        lambda data: data,
        refused=_shown,
        done=lambda _: "/next",
    )
    assert response.status_code == 422
    body = _body(response)
    assert body["form"] == "visit"
    assert isinstance(body["fields"], dict) and body["fields"]["sbp"] == "must be at most 300"


def test_invalid_input_while_reading_the_form_is_shown_like_a_malformed_field(
    session: Session,
) -> None:
    def read() -> Visit:
        raise InvalidInput([Problem("value.sbp", "'x' is not a number")])

    response = submit(session, "report", read, lambda data: data, refused=_shown, done=str)
    assert response.status_code == 422
    assert _body(response)["fields"] == {"value.sbp": "'x' is not a number"}


@pytest.mark.parametrize(
    ("refusal", "status", "requirement"),
    [(RuleViolation("not here", requirement="B2"), 422, "B2"), (Conflict("changed"), 409, None)],
)
def test_a_refusal_is_shown_with_its_status_and_leaves_nothing_written(
    session: Session, refusal: DomainError, status: int, requirement: str | None
) -> None:
    before = _rows(session)
    response = submit(
        session,
        "write",
        lambda: None,
        lambda _: _write(session, refusal),
        refused=_shown,
        done=lambda _: "/next",
    )
    assert response.status_code == status
    assert _body(response)["requirement"] == requirement
    assert _rows(session) == before


def test_success_redirects_to_what_was_done(session: Session) -> None:
    before = _rows(session)
    response = submit(
        session,
        "write",
        lambda: None,
        lambda _: _write(session),
        refused=_shown,
        done=lambda seq: f"/audit/{seq}",
    )
    assert response.status_code == 303
    assert _rows(session) == before + 1
    latest = session.scalar(select(func.max(AuditEntry.seq)))
    assert response.headers["location"] == f"/audit/{latest}"


def test_a_lapsed_sign_in_goes_on_to_the_login_page(session: Session) -> None:
    def lapsed(_: None) -> None:
        raise Unauthenticated("sign in again")

    with pytest.raises(Unauthenticated):
        submit(session, "write", lambda: None, lapsed, refused=_shown, done=lambda _: "/next")
