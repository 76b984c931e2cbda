"""HTML pages of chronic care: the follow-up form with the standard's danger symptoms, the
result with the standard's decision and a prefilled up-referral, enrolment of a diagnosed
patient, and the readings chart drawn as inline SVG (no script needed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.chronic import service as chronic
from caregrid.chronic.models import Visit
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, FollowUpOut, ReferralProposal
from caregrid.chronic.standard import Condition, Standard, load_standard
from caregrid.errors import Forbidden
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


def _form_page(
    request: Request,
    session: Session,
    user: Principal,
    resident_id: int,
    condition: Condition,
    values: dict[str, object],
    error: FormError | None = None,
) -> Response:
    return render(
        request,
        "chronic/follow_up.html",
        user,
        status=error.status if error else 200,
        resident=residents.get(session, user, resident_id, purpose="chronic follow-up"),
        condition=condition,
        symptoms=load_standard().symptoms(condition),
        values=values,
        error=error,
    )


@router.get("/chronic/follow-up", response_class=HTMLResponse)
def follow_up_form(
    request: Request,
    session: DB,
    user: User,
    resident_id: Annotated[int, Query()],
    condition: Annotated[Condition, Query()],
) -> Response:
    """The follow-up form, for clinical staff only: others are refused before they type."""
    if not chronic.may_record(user):
        raise Forbidden("readings are recorded by clinical staff of an institution")
    return _form_page(request, session, user, resident_id, condition, {})


def _number(value: str) -> str | None:
    return value.strip() or None


@router.post("/chronic/follow-up", response_class=HTMLResponse)
def record_follow_up(
    request: Request,
    session: DB,
    user: User,
    resident_id: Annotated[int, Form()],
    condition: Annotated[Condition, Form()],
    visited_on: Annotated[str, Form()] = "",
    sbp: Annotated[str, Form()] = "",
    dbp: Annotated[str, Form()] = "",
    fpg: Annotated[str, Form()] = "",
    heart_rate: Annotated[str, Form()] = "",
    temperature: Annotated[str, Form()] = "",
    symptoms: Annotated[list[str] | None, Form()] = None,
    side_effects: Annotated[bool, Form()] = False,
    side_effects_intolerable: Annotated[bool, Form()] = False,
    new_or_worse_complication: Annotated[bool, Form()] = False,
) -> Response:
    values: dict[str, object] = {
        "visited_on": visited_on,
        "sbp": sbp,
        "dbp": dbp,
        "fpg": fpg,
        "heart_rate": heart_rate,
        "temperature": temperature,
        "symptoms": symptoms or [],
        "side_effects": side_effects,
        "side_effects_intolerable": side_effects_intolerable,
        "new_or_worse_complication": new_or_worse_complication,
    }

    def shown(result: FollowUpOut) -> str:
        closed = ",".join(str(r) for r in result.closed_referrals)
        suffix = f"?closed={closed}" if closed else ""
        return f"/chronic/follow-ups/{result.visit.id}{suffix}"

    return submit(
        session,
        "follow-up",
        lambda: FollowUpIn.model_validate(
            {
                "resident_id": resident_id,
                "condition": condition,
                "visited_on": _number(visited_on),
                "reading": {
                    "sbp": _number(sbp),
                    "dbp": _number(dbp),
                    "fpg": _number(fpg),
                    "heart_rate": _number(heart_rate),
                    "temperature": _number(temperature),
                    "symptoms": symptoms or [],
                },
                "side_effects": side_effects,
                "side_effects_intolerable": side_effects_intolerable,
                "new_or_worse_complication": new_or_worse_complication,
            }
        ),
        lambda data: chronic.record_follow_up(session, user, data),
        refused=lambda error: _form_page(
            request, session, user, resident_id, condition, values, error
        ),
        done=shown,
    )


@router.get("/chronic/follow-ups/{visit_id}", response_class=HTMLResponse)
def follow_up_page(
    visit_id: int,
    request: Request,
    session: DB,
    user: User,
    closed: Annotated[str, Query()] = "",
) -> Response:
    """The standard's decision on a recorded follow-up (Post/Redirect/Get: reloading it
    records nothing twice)."""
    result = chronic.follow_up_result(session, user, visit_id)
    closed_ids = [int(c) for c in closed.split(",") if c.isdigit()]
    return render(
        request,
        "chronic/result.html",
        user,
        resident=residents.get(
            session, user, result.visit.resident_id, purpose="chronic follow-up"
        ),
        result=result.model_copy(update={"closed_referrals": closed_ids}),
        referral_link=referral_link(result.proposal) if result.proposal else None,
    )


def referral_link(proposal: ReferralProposal) -> str:
    """The referral form, prefilled with what the standard asks for."""
    query = {
        "resident_id": proposal.resident_id,
        "to": proposal.to_institution_code or "",
        "diagnosis_code": proposal.diagnosis_code,
        "urgency": proposal.urgency,
        "reason": proposal.reason,
        "clinical_summary": proposal.reason,
    }
    return "/referrals/new?" + urlencode(query)


@router.post("/chronic/enrol", response_class=HTMLResponse)
def enrol(
    session: DB,
    user: User,
    resident_id: Annotated[int, Form()],
    condition: Annotated[Condition, Form()],
) -> Response:
    chronic.enrol(session, user, EnrolIn(resident_id=resident_id, condition=condition))
    return RedirectResponse(f"/residents/{resident_id}", status_code=303)


# --- the readings chart ------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 560, 200, 34


def readings_chart(
    visits: list[Visit], condition: Condition, standard: Standard | None = None
) -> Markup | None:
    """Readings over time as an SVG line chart with the standard's targets (by default the
    shipped NBPHS-3) as dashed lines: systolic and diastolic for hypertension, fasting
    glucose for diabetes."""
    points = [v for v in visits if v.condition == condition]
    targets = (standard or load_standard()).targets(condition)
    if condition == Condition.HYPERTENSION:
        series = {
            "sbp": [(v.visited_on, Decimal(v.sbp)) for v in points if v.sbp is not None],
            "dbp": [(v.visited_on, Decimal(v.dbp)) for v in points if v.dbp is not None],
        }
        low, high = Decimal(40), Decimal(220)
    else:
        series = {"fpg": [(v.visited_on, v.fpg) for v in points if v.fpg is not None]}
        low, high = Decimal(0), Decimal(25)
    dates = sorted({d for line in series.values() for d, _ in line})
    if not dates:
        return None
    first, span = dates[0], max((dates[-1] - dates[0]).days, 1)

    def x(day: date) -> float:
        return PAD + (WIDTH - 2 * PAD) * (day - first).days / span

    def y(value: Decimal) -> float:
        clipped = min(max(value, low), high)
        return float(HEIGHT - PAD - (HEIGHT - 2 * PAD) * (clipped - low) / (high - low))

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" aria-label="{condition} readings">'
    ]
    for target in targets:
        parts.append(
            f'<line class="target" x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(target):.1f}" '
            f'y2="{y(target):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
            f'<text x="{WIDTH - PAD + 2}" y="{y(target) + 4:.1f}" font-size="10">{target}</text>'
        )
    colours = {"sbp": "#c0392b", "dbp": "#2c7fb8", "fpg": "#8e44ad"}
    for name, line in series.items():
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in line)
        parts.append(
            f'<polyline class="{name}" fill="none" stroke="{colours[name]}" stroke-width="2" '
            f'points="{path}"/>'
        )
        parts.extend(
            f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{colours[name]}">'
            f"<title>{d} {name} {v}</title></circle>"
            for d, v in line
        )
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{dates[0]}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
        f"{dates[-1]}</text></svg>"
    )
    return Markup("".join(parts))
