"""Helpers of HTML forms shared by the domain pages: a refusal shown next to its form, a
service call in a savepoint so a refusal leaves nothing half-written, and `submit`, which
does both for a form's POST."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.errors import DomainError, InvalidInput, Problem, RuleViolation, Unauthenticated
from caregrid.i18n import Message, msg
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


# pydantic's error types as our messages: pydantic's own text is English only
_PYDANTIC: dict[str, str] = {
    "missing": "is required",
    "string_too_short": "needs at least {min_length} characters",
    "string_too_long": "takes at most {max_length} characters",
    "too_short": "needs at least {min_length} items",
    "too_long": "takes at most {max_length} items",
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "decimal_parsing": "is not a number",
    "decimal_type": "is not a number",
    "decimal_max_places": "takes at most {decimal_places} decimals",
    "decimal_max_digits": "takes at most {max_digits} digits",
    "greater_than": "must be above {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be below {lt}",
    "less_than_equal": "must be at most {le}",
    "date_parsing": "is not a date like 2025-06-30",
    "date_type": "is not a date like 2025-06-30",
    "date_from_datetime_parsing": "is not a date like 2025-06-30",
    "date_from_datetime_inexact": "is not a date like 2025-06-30",
    "datetime_parsing": "is not a date and time like 2025-06-30T09:00+08:00",
    "datetime_type": "is not a date and time like 2025-06-30T09:00+08:00",
    "datetime_from_date_parsing": "is not a date and time like 2025-06-30T09:00+08:00",
    "timezone_aware": "needs a time zone (e.g. +08:00)",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "string_pattern_mismatch": "is not in the expected form",
    "bool_parsing": "must be yes or no",
    "bool_type": "must be yes or no",
    "extra_forbidden": "is not a field of this form",
    "json_invalid": "is not valid JSON",
}


def validation_reason(error: Any) -> Message:
    """Why pydantic refused a value, as a message the page can translate. A validator's own
    ValueError keeps its message (a `Message` when it carries one)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        reason = getattr(ctx["error"], "message", None)
        return reason if isinstance(reason, Message) else Message(str(ctx["error"]))
    template = _PYDANTIC.get(kind)
    if template is None:
        return Message("is not accepted")
    return msg(template, **{k: v for k, v in ctx.items() if f"{{{k}}}" in template})


def validation_problems(errors: Sequence[Any]) -> list[Problem]:
    """pydantic's errors as problems per field (its path joined with dots)."""
    return [
        Problem(".".join(str(p) for p in e["loc"]) or "form", validation_reason(e)) for e in errors
    ]


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
