"""Helpers of HTML forms shared by the domain pages: a refusal shown next to its form, a
service call in a savepoint so a refusal leaves nothing half-written, and `submit`, which
does both for a form's POST."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.errors import (
    DomainError,
    InvalidInput,
    RuleViolation,
    Unauthenticated,
    validation_problems,
)
from caregrid.i18n import Message
from caregrid.policy.requirements import requirement_catalog

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class FormError:
    """A refusal shown next to the form that caused it."""

    form: str
    status: int
    title: str
    detail: DomainError
    requirement: str | None = None
    requirement_text: str | None = None
    fields: dict[str, Message] = field(default_factory=dict)


def domain_form_error(form: str, exc: DomainError) -> FormError:
    requirement = exc.requirement if isinstance(exc, RuleViolation) else None
    return FormError(
        form=form,
        status=exc.status,
        title=exc.title,
        detail=exc,
        requirement=requirement,
        requirement_text=requirement_catalog().get(requirement) if requirement else None,
        fields={p.field: p.reason for p in exc.problems} if isinstance(exc, InvalidInput) else {},
    )


def validation_form_error(form: str, exc: ValidationError) -> FormError:
    return domain_form_error(form, InvalidInput(validation_problems(exc.errors())))


def cleaned(typed: dict[str, str], optional: tuple[str, ...] = ()) -> dict[str, object]:
    """A form's fields trimmed; an optional one left empty is absent (the schema's default)."""
    return {
        k: (v.strip() or None) if k in optional else v.strip()
        for k, v in typed.items()
        if not (k in optional and not v.strip())
    }


def attempt(session: Session, work: Callable[[], T]) -> T:
    """Run a service call in a savepoint: a refusal leaves nothing half-written behind, so the
    page can show it and the request still commits what came before (the audit of the read)."""
    with session.begin_nested():
        return work()


def submit(
    session: Session,
    form: str,
    read: Callable[[], S],
    work: Callable[[S], T],
    *,
    refused: Callable[[FormError], Response],
    done: Callable[[T], str],
) -> Response:
    """A form's POST (Post/Redirect/Get): `read` turns the fields into the service's schema,
    `work` calls the service with it in a savepoint, and the answer is a redirect (303) to
    `done(result)`. A malformed field (pydantic's ValidationError or InvalidInput from `read`:
    422, the problems per field) or the service's refusal comes back through `refused`, which
    shows the form named `form` again with what was typed; a lapsed sign-in still goes to the
    login page."""
    try:
        data = read()
    except ValidationError as exc:
        return refused(validation_form_error(form, exc))
    except InvalidInput as exc:
        return refused(domain_form_error(form, exc))
    try:
        result = attempt(session, lambda: work(data))
    except Unauthenticated:
        raise
    except DomainError as exc:
        return refused(domain_form_error(form, exc))
    return RedirectResponse(done(result), status_code=303)
