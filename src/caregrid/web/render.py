"""HTML rendering with the request's language and the signed-in user in every template."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.i18n import amount, money
from caregrid.web import csrf
from caregrid.web.deps import locale_of
from caregrid.web.i18n import Translator, pick, translator, vocab_label

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
env.filters["amount"] = amount


def script_json(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` element: `<`, `>` and `&` escaped, so no
    value (a name holding `</script>`, say) can end the element or open markup."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


env.filters["script_json"] = script_json


class Renderable(Protocol):
    """A message, refusal or problem: text in the language of the translator it is given."""

    def render(self, translate: Translator) -> str: ...


def shown(value: Renderable | str | None, gettext: Translator) -> str:
    """What a template shows of a message: translated and filled in; plain text as it is."""
    if value is None or isinstance(value, str):
        return value or ""
    return value.render(gettext)


def local_time(moment: datetime | None) -> str:
    """A stored (UTC) moment as the deployment's local wall-clock time, to the minute."""
    return "" if moment is None else clock.local(moment).strftime("%Y-%m-%d %H:%M")


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
        tr=lambda value: shown(value, gettext),
        name=lambda zh, en: pick(locale, zh, en),
        label=lambda code, kind=None: gettext(vocab_label(code, kind)),
        money=lambda value: money(value, locale),
        local_time=local_time,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.form_token(request),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    csrf.keep_presession(request, response)
    return response


def error_page(request: Request, status: int, title: str, detail: Renderable | str) -> HTMLResponse:
    return render(
        request, "error.html", None, status=status, status_code=status, title=title, detail=detail
    )
