"""HTML rendering with the request's language and the signed-in user in every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from caregrid.auth.roles import Principal
from caregrid.i18n import amount
from caregrid.web.deps import locale_of
from caregrid.web.i18n import pick, translator, vocab_label

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
env.filters["amount"] = amount


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    locale = locale_of(request)
    gettext = translator(locale)
    html = env.get_template(template).render(
        request=request,
        principal=principal,
        locale=locale,
        _=gettext,
        name=lambda zh, en: pick(locale, zh, en),
        label=lambda code, kind=None: gettext(vocab_label(code, kind)),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(
        request, "error.html", None, status=status, status_code=status, title=title, detail=detail
    )
