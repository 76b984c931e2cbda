"""The cockpit pages (J8, J9): a network's one screen, a member's own view, and the
commission's comparison of a city's networks. Thin: the figures come from `cockpit`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal, Role
from caregrid.errors import DomainError, Forbidden, RuleViolation, Unauthenticated
from caregrid.indicators import cockpit, evaluation, exports
from caregrid.indicators.definitions import catalogue
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User, Year, locale_of
from caregrid.web.forms import FormError, attempt, domain_form_error
from caregrid.web.i18n import translator
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


def _year(year: int | None) -> int:
    return year or cockpit.latest_year(cockpit.facts_root()) or clock.today().year


def _page(request: Request, user: object, screen: cockpit.Cockpit) -> Response:
    data = {
        "tiles": [
            {"id": t.indicator.id, "trend": t.trend, "target": (
                None if t.assessment.target is None or t.assessment.target.growth
                else float(t.assessment.target.value * t.indicator.factor)
            )}
            for t in screen.tiles
        ],
        "referrals": screen.referrals,
        "flows": screen.flows,
    }  # fmt: skip
    return render(
        request,
        "indicators/cockpit.html",
        user,  # type: ignore[arg-type]
        screen=screen,
        data=data,
        indicators=cockpit.by_institution(),
        evaluation_periods=_evaluation_periods(screen),
    )


def _evaluation_periods(screen: cockpit.Cockpit) -> list[str]:
    """The year's evaluation periods under the network's interval (K7); none without one."""
    try:
        return evaluation.periods(policy.get(screen.network.profile), screen.year)
    except RuleViolation:
        return []


@router.get("/networks/{code}/cockpit", response_class=HTMLResponse)
def network_cockpit(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    network = registry.get_network(session, code)
    if not access.is_network_office(user, network.id) and user.institution_id is not None:
        own = registry.get_institution_by_id(session, user.institution_id)
        if own is not None:  # a member's account goes to its own view (J9)
            query = f"?year={year}" if year else ""
            return RedirectResponse(f"/networks/{code}/cockpit/members/{own.code}{query}", 303)
    screen = cockpit.build(session, user, code, _year(year))
    return _page(request, user, screen)


@router.get("/networks/{code}/cockpit/members/{member}", response_class=HTMLResponse)
def member_cockpit(
    code: str, member: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    screen = cockpit.build(session, user, code, _year(year), member=member)
    return _page(request, user, screen)


@router.get("/networks/{code}/indicators.xlsx")
def indicators_excel(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    """By member and month, headed in the reader's language; a member's account gets its own
    rows (J9)."""
    chosen = _year(year)
    locale = locale_of(request)
    return Response(
        exports.excel(session, user, code, chosen, gettext=translator(locale), locale=locale),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{code}-{chosen}.xlsx"'},
    )


@router.get("/networks/{code}/report", response_class=HTMLResponse)
def annual_report(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    """The printable annual report in the reader's language (the PDF is `report.pdf`)."""
    locale = locale_of(request)
    html = exports.report_html(
        session, user, code, _year(year), gettext=translator(locale), locale=locale
    )
    page = HTMLResponse(html)
    # One self-contained document (it is also printed to PDF from a file): its own <style>.
    page.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return page


@router.get("/networks/{code}/report.pdf")
def annual_report_pdf(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    """The annual report printed to PDF by the server's Chromium, as a download."""
    chosen = _year(year)
    locale = locale_of(request)
    html = exports.report_html(
        session, user, code, chosen, gettext=translator(locale), locale=locale
    )
    with tempfile.TemporaryDirectory() as folder:
        body = exports.pdf(html, Path(folder) / "report.pdf").read_bytes()
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{code}-{chosen}.pdf"'},
    )


@router.get("/cities/{code}/comparison", response_class=HTMLResponse)
def city_comparison(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    found = cockpit.compare(session, user, code, _year(year))
    return render(
        request, "indicators/comparison.html", user, found=found, indicators=catalogue().indicators
    )


def _evaluation_page(
    request: Request, session: Session, user: Principal, code: str, period: str,
    error: FormError | None = None,
) -> Response:  # fmt: skip
    network = registry.get_network(session, code)
    # A period that cannot exist is said so to anyone, before who may see an evaluation.
    evaluation.period_bounds(policy.get(network.profile), period)
    access.require_network_office(
        user, network.id, "evaluations are for the commission and the network's office"
    )
    stored = evaluation.stored(session, network.id, period)
    listed = evaluation.criteria(stored.criteria) if stored else ()
    return render(
        request,
        "indicators/evaluation.html",
        user,
        status=error.status if error else 200,
        error=error,
        network=network,
        period=period,
        rows=list(zip(listed, stored.items, strict=True)) if stored else [],
        verdicts=evaluation.VERDICTS,
        detail=evaluation.detail,
        can_score=user.has(Role.REGULATOR),
    )


@router.get("/networks/{code}/evaluations/{period}", response_class=HTMLResponse)
def evaluation_page(code: str, period: str, request: Request, session: DB, user: User) -> Response:
    return _evaluation_page(request, session, user, code, period)


@router.post("/networks/{code}/evaluations/{period}", response_class=HTMLResponse)
def run_evaluation(code: str, period: str, request: Request, session: DB, user: User) -> Response:
    """Run the evaluation, or refresh what the data proves; verdicts are kept."""
    try:
        attempt(session, lambda: evaluation.evaluate(session, user, code, period))
    except (Unauthenticated, Forbidden):
        raise
    except DomainError as exc:
        return _evaluation_page(request, session, user, code, period, domain_form_error("run", exc))
    return RedirectResponse(f"/networks/{code}/evaluations/{period}", status_code=303)


@router.post("/networks/{code}/evaluations/{period}/criteria/{no}", response_class=HTMLResponse)
def score_criterion(
    code: str,
    period: str,
    no: int,
    request: Request,
    session: DB,
    user: User,
    verdict: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        attempt(
            session,
            lambda: evaluation.score(
                session, user, code, period, criterion=no, verdict=verdict, note=note
            ),
        )
    except (Unauthenticated, Forbidden):
        raise
    except DomainError as exc:
        return _evaluation_page(
            request, session, user, code, period, domain_form_error(f"criterion-{no}", exc)
        )
    return RedirectResponse(f"/networks/{code}/evaluations/{period}#c{no}", status_code=303)
