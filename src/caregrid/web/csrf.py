"""Defences of the browser's cookie-authenticated writes against cross-site request forgery,
and the content type a JSON endpoint accepts.

A write sent with a bearer token carries no ambient credential and needs none of this. A write
that a browser could send on its own (the session cookie, or the sign-in form) must:
- come from this site: an `Origin` (or, without one, a `Referer`) naming another origin is
  refused;
- if another site could have made the browser send it unasked (a form, text/plain, no body),
  carry the form's token: an HMAC under `secret_key` of the session cookie
  (signed in) or of a random pre-session cookie (the sign-in form), so a token taken from one
  browser is worthless in another.
An `/api/` write with a body must send the content type its route declares (JSON unless the
route declares others too): a cross-site `text/plain` post would otherwise reach a handler that
reads the body itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from caregrid.config import get_settings
from caregrid.errors import Forbidden, UnsupportedMediaType
from caregrid.web.deps import SESSION_COOKIE

FIELD = "csrf_token"
PRE_SESSION_COOKIE = "caregrid_presession"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# What another site's page can make a browser send without asking first (no CORS preflight,
# which CareGrid never grants): such a write must prove it came from one of our forms.
SIMPLE = FORMS | {"text/plain", ""}
JSON = "application/json"


def is_https(request: Request) -> bool:
    """Served over TLS: directly, or behind a proxy the settings trust to say so."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return get_settings().trust_forwarded_proto and forwarded == "https"


def _sign(binding: str) -> str:
    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, b"csrf|" + binding.encode("utf-8"), hashlib.sha256).hexdigest()


def _binding(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session|" + session
    pre = getattr(request.state, "presession", None) or request.cookies.get(PRE_SESSION_COOKIE)
    return None if not pre else "pre|" + pre


def form_token(request: Request) -> str:
    """The token every form of this page posts back; starts a pre-session when there is none
    (the cookie is set on the response by `keep_presession`)."""
    binding = _binding(request)
    if binding is None:
        request.state.presession = secrets.token_urlsafe(32)
        binding = "pre|" + request.state.presession
    return _sign(binding)


def keep_presession(request: Request, response: Response) -> None:
    """Set the pre-session cookie a rendered form's token was bound to."""
    started = getattr(request.state, "presession", None)
    if started:
        response.set_cookie(
            PRE_SESSION_COOKIE, started, httponly=True, samesite="lax", secure=is_https(request)
        )


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origin(request: Request) -> str:
    scheme = "https" if is_https(request) else request.url.scheme
    return f"{scheme}://{request.headers.get('host', request.url.netloc)}".lower()


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _declared_types(request: Request) -> set[str]:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    content = extra.get("requestBody", {}).get("content")
    return {JSON} | ({str(kind).lower() for kind in content} if content else set())


async def csrf_guard(request: Request) -> None:
    """The app-wide dependency: refuse a forged or mistyped write before its handler runs."""
    if request.method not in UNSAFE:
        return
    kind = _media_type(request)
    declared = _declared_types(request)
    if request.url.path.startswith("/api/") and kind not in declared and await request.body():
        expected = ", ".join(sorted(declared))
        raise UnsupportedMediaType(
            "Content-Type: {value}; send {expected}", value=kind or "(none)", expected=expected
        )
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    ambient = SESSION_COOKIE in request.cookies or kind in FORMS
    if not ambient:
        return
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed and _origin(claimed) != _own_origin(request):
        raise Forbidden(
            "a write from another site ({value}) is refused", value=_origin(claimed) or claimed
        )
    if kind in SIMPLE:
        # A form is parsed once and kept: the handler's Form() fields read the same.
        sent = (await request.form()).get(FIELD) if kind in FORMS else None
        binding = _binding(request)
        if (
            not isinstance(sent, str)
            or binding is None
            or not hmac.compare_digest(sent, _sign(binding))
        ):
            raise Forbidden("the form's security token is missing or out of date: reload the page")
