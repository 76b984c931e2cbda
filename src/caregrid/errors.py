"""Typed domain errors, mapped once to RFC 9457 problem+json (web) and exit codes (CLI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file, line, field) and why."""

    field: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.field}: {self.message}"


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


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

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RuleViolation(DomainError):
    """A policy rule refused the action; carries the requirement id (e.g. "C3")."""

    status = 422
    title = "Rule violation"

    def __init__(self, detail: str, *, requirement: str) -> None:
        super().__init__(detail)
        self.requirement = requirement


class InvalidInput(DomainError):
    """Input that cannot be accepted; lists every problem found, nothing was written."""

    status = 422
    title = "Invalid input"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
