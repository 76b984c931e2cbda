"""Input every route refuses before a handler sees it, so no odd value reaches the database
as a server error: a body above the size limit (413); a NUL or other control character in
any text (PostgreSQL refuses NUL in text); a row id outside what a row id column holds (an
`id` or `*_id` path parameter or JSON integer). Each refusal is a 422 naming the field and
the reason.

The size limit is enforced at the ASGI level (`BodyLimit`), before the body is read into
memory; the rest is an app-wide dependency (`sane_input`), which runs after routing, so it
knows the path parameters, and reads the body the handler reads too (Starlette caches it).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caregrid.errors import InvalidInput
from caregrid.errors import Problem as Fault

# A row id column is a 32-bit integer on PostgreSQL; no row has a larger id.
ROW_ID_MAX = 2_147_483_647
# JSON numbers beyond 2^53 are not exact in most clients, and SQLite stops at 2^63.
INTEGER_MAX = 2**53
ALLOWED_CONTROLS = frozenset("\t\n\r")
FORM = "application/x-www-form-urlencoded"


def _bad_text(value: str) -> str | None:
    for ch in value:
        if (ord(ch) < 32 or 127 <= ord(ch) < 160) and ch not in ALLOWED_CONTROLS:
            return f"control character U+{ord(ch):04X} is not allowed in text"
    return None


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def _bad_number(name: str, value: int | float) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if _is_id(name) and not 1 <= value <= ROW_ID_MAX:
        return f"{value} is not a row id (1 to {ROW_ID_MAX})"
    if abs(value) > INTEGER_MAX:
        return f"{value} is beyond the largest integer accepted ({INTEGER_MAX})"
    return None


def _walk(value: object, path: str) -> Iterator[Fault]:
    """Every refused value of a parsed JSON document, with its dotted path."""
    if isinstance(value, str):
        reason = _bad_text(value)
        if reason:
            yield Fault(path or "(body)", reason)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        reason = _bad_number(path.rsplit(".", 1)[-1], value)
        if reason:
            yield Fault(path or "(body)", reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = _bad_text(str(key))
            if reason:
                yield Fault(f"{path}.(key)" if path else "(key)", reason)
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _pairs(pairs: list[tuple[str, str]], where: str) -> Iterator[Fault]:
    """Text fields (path, query, form). Only the path's ids are numbers for certain (the
    routes declare them so); a form's or query's `*_id` may be an outside system's code."""
    for name, value in pairs:
        field = f"{where}.{name}"
        reason = _bad_text(name) or _bad_text(value)
        if reason is None and where == "path" and _is_id(name) and value.isdigit():
            reason = _bad_number(name, int(value))
        if reason:
            yield Fault(field, reason)


async def sane_input(request: Request) -> None:
    """The app-wide dependency: refuse the request naming every bad field."""
    faults = list(_pairs([(k, str(v)) for k, v in request.path_params.items()], "path"))
    faults += _pairs(list(request.query_params.multi_items()), "query")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in {"POST", "PUT", "PATCH"} and kind in {"application/json", FORM}:
        if kind == FORM:  # parsed once and kept: FastAPI's Form() fields read the same
            form = await request.form()
            faults += _pairs([(k, str(v)) for k, v in form.multi_items()], "form")
        else:
            raw = await request.body()
            try:
                document = json.loads(raw) if raw else None
            except ValueError:
                document = None  # malformed JSON: FastAPI answers it with the position
            faults += _walk(document, "")
    if faults:
        raise InvalidInput(faults)


class BodyLimit:
    """413 for a body above `limit` bytes, by Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    raise BodyTooLarge
            return message

        answered = False

        async def reply(message: Message) -> None:
            # Once the body passed the limit, whatever the app answers becomes the 413.
            nonlocal answered
            if refused:
                if not answered:
                    answered = True
                    await _too_large(send, self.limit)
                return
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited, reply)
        if refused and not answered:
            await _too_large(send, self.limit)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Request too large",
            "status": 413,
            "detail": f"the body is above the limit of {limit} bytes",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The request body a sheet upload declares (a CSV or an Excel workbook), for the OpenAPI
# document and the content-type check of web.csrf.
SHEET_BODY = {
    "requestBody": {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        }
    }
}
