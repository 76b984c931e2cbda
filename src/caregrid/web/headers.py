"""Security headers on every answer, as plain ASGI: it only adds headers to the response
start, so the body streams through untouched (Starlette's `BaseHTTPMiddleware` would wrap
every request in a task and a memory stream, a cost the booking rush measured)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caregrid.web import csrf

# No inline script or style anywhere: page data travels in JSON script elements
# (`render.script_json`), behaviour in /static files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# FastAPI's Swagger UI is one inline script and a CDN's files.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        hsts = self.hsts_seconds and csrf.is_https(Request(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault(
                    "Content-Security-Policy", DOCS_CSP if path == "/api/docs" else CSP
                )
                if not path.startswith("/static/"):
                    # Pages and API answers may hold personal data: no browser or proxy keeps
                    # them.
                    headers.setdefault("Cache-Control", "no-store")
                if hsts:
                    headers.setdefault("Strict-Transport-Security", f"max-age={self.hsts_seconds}")
            await send(message)

        await self.app(scope, receive, send_with_headers)
