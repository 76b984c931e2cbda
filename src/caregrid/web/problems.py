"""RFC 9457 problem details for the API; HTML pages get a readable error page instead."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from caregrid.errors import (
    DomainError,
    InvalidInput,
    RuleViolation,
    TooManyAttempts,
    Unauthenticated,
    validation_problems,
)
from caregrid.interop import fhir_rest

MEDIA = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA)


def is_fhir(request: Request) -> bool:
    return request.url.path == "/fhir" or request.url.path.startswith("/fhir/")


def fhir_error(status: int, body: dict[str, Any], exc: Exception | None = None) -> JSONResponse:
    """An error under the FHIR base is an OperationOutcome, not problem+json."""
    response = JSONResponse(body, status_code=status, media_type="application/fhir+json")
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if is_fhir(request):
            return fhir_error(exc.status, fhir_rest.outcome_of(exc), exc)
        if isinstance(exc, Unauthenticated) and wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if wants_html(request):
            from caregrid.web.render import error_page

            page = error_page(request, exc.status, exc.title, exc)
            if isinstance(exc, TooManyAttempts):
                page.headers["Retry-After"] = str(exc.retry_after)
            return page
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput):
            extra["errors"] = [
                {"field": p.field, "message": p.message}
                | ({"line": p.line} if p.line is not None else {})
                for p in exc.problems
            ]
        if isinstance(exc, RuleViolation):
            extra["requirement"] = exc.requirement
        response = problem(exc.status, exc.title, exc.detail, **extra)
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if is_fhir(request):
            refused = InvalidInput(validation_problems(exc.errors()))
            return fhir_error(422, fhir_rest.outcome_of(refused))
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        if wants_html(request):  # a person typed the address: a page, not a JSON body
            from caregrid.web.render import error_page

            refusal = InvalidInput(validation_problems(exc.errors()))
            return error_page(request, 422, "Malformed request", refusal)
        return problem(
            422,
            "Malformed request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_fhir(request):
            return fhir_error(
                exc.status_code, fhir_rest.outcome_of_status(exc.status_code, str(exc.detail))
            )
        if wants_html(request):
            from caregrid.web.render import error_page

            return error_page(request, exc.status_code, str(exc.detail), "")
        return problem(exc.status_code, str(exc.detail), str(exc.detail))
