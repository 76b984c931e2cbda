"""Typed domain errors, mapped once to RFC 9457 problem+json (web) and exit codes (CLI).

An error carries a message id and its parameters (`caregrid.i18n.Message`), never finished
text: the API and the CLI answer in English, a page translates the id and then fills it in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from caregrid.i18n import Message, field_label, msg

Translate = Callable[[str], str]


@dataclass(frozen=True, init=False)
class Problem:
    """One thing wrong with an input: where (file, line, field) and why (`reason`, a message;
    `message` is its English text)."""

    field: str
    reason: Message
    file: str | None
    line: int | None

    def __init__(
        self, field: str, reason: Message | str, file: str | None = None, line: int | None = None
    ) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "reason", Message(reason) if isinstance(reason, str) else reason)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "line", line)

    @property
    def message(self) -> str:
        return self.reason.render()

    def render(self, translate: Translate | None = None) -> str:
        """English with the field's name (API, CLI); in a page's language with its label."""
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        if translate is None:
            return f"{where}{self.field}: {self.reason.render()}"
        labelled = msg(
            "{field}: {reason}", field=Message(field_label(self.field)), reason=self.reason
        )
        return where + labelled.render(translate)

    def __str__(self) -> str:
        return self.render()


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str | Message, /, **params: object) -> None:
        self.message = detail if isinstance(detail, Message) else Message(detail, params)
        self.detail = self.message.render()
        super().__init__(self.detail)

    def render(self, translate: Translate | None = None) -> str:
        """The detail in the reader's language (English without a translator)."""
        return self.message.render(translate or str)


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class MethodNotAllowed(DomainError):
    """The resource exists but does not take this interaction."""

    status = 405
    title = "Method not allowed"


class PreconditionFailed(Conflict):
    """The client's If-Match names a version that is no longer the record's."""

    status = 412
    title = "Precondition failed"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


class Unavailable(DomainError):
    """A tool the server needs is missing or failed (Chromium for a PDF); try again later."""

    status = 503
    title = "Service unavailable"


class Unauthenticated(DomainError):
    status = 401
    title = "Authentication required"


class TooManyAttempts(DomainError):
    """Refused until a cooldown passes (sign-in throttling); `retry_after` is in seconds."""

    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, /, *, retry_after: int, **params: object) -> None:
        super().__init__(detail, **params)
        self.retry_after = retry_after


class RuleViolation(DomainError):
    """A policy rule refused the action; carries the requirement id (e.g. "C3")."""

    status = 422
    title = "Rule violation"

    def __init__(self, detail: str | Message, /, *, requirement: str, **params: object) -> None:
        super().__init__(detail, **params)
        self.requirement = requirement


class InvalidInput(DomainError):
    """Input that cannot be accepted; lists every problem found, nothing was written."""

    status = 422
    title = "Invalid input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def render(self, translate: Translate | None = None) -> str:
        return "; ".join(p.render(translate) for p in self.problems)


# pydantic's error types as our messages: pydantic's own text is English only
PYDANTIC: dict[str, str] = {
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
    template = PYDANTIC.get(kind)
    if template is None:
        return Message("is not accepted")
    return msg(template, **{k: v for k, v in ctx.items() if f"{{{k}}}" in template})


def validation_problems(errors: Sequence[Any]) -> list[Problem]:
    """pydantic's errors as problems per field (its path joined with dots)."""
    return [
        Problem(".".join(str(p) for p in e["loc"]) or "form", validation_reason(e)) for e in errors
    ]
