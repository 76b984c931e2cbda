"""Shared centres (D1), orders acquired at a member and read at the centre (D2), signed
structured reports, and mutual recognition of prior results (D3).

The package's public entry: centres live in `centres`, orders and reports in `orders`, the
recognition rule in `recognition`; this module holds the views and the `diagnostic_order`,
`recognition` and `teleconsultation` facts and re-exports what other packages and the routers use.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.diagnostics.centres import (
    centre_kinds,
    centre_of,
    centres_run_by,
    centres_serving,
    create_centre,
    network_centres,
    orderable,
)
from caregrid.diagnostics.models import Centre, Order, Recognition, Result, Teleconsultation
from caregrid.diagnostics.orders import (
    ADVANCES,
    CLINICAL,
    advance,
    get_order,
    item,
    place_order,
    queue,
    record_external,
    report,
)
from caregrid.diagnostics.quality import (
    assessments,
    categories,
    import_csv,
    record_quality_assessment,
)
from caregrid.diagnostics.quality import record as record_assessment
from caregrid.diagnostics.recognition import (
    LEVEL_RANK,
    Offer,
    offers,
    recognise,
    repeat,
)
from caregrid.diagnostics.schemas import OfferOut, OrderOut, ResultOut, ValueOut
from caregrid.diagnostics.teleconsult import inbox as consult_inbox
from caregrid.diagnostics.vocab import ConsultState, OrderState
from caregrid.registry import service as registry

__all__ = [
    "ADVANCES",
    "CLINICAL",
    "LEVEL_RANK",
    "Offer",
    "advance",
    "assessments",
    "categories",
    "centre_kinds",
    "centre_of",
    "centres_run_by",
    "centres_serving",
    "consult_inbox",
    "create_centre",
    "get_order",
    "import_csv",
    "item",
    "network_centres",
    "offers",
    "orderable",
    "place_order",
    "queue",
    "recognise",
    "record_assessment",
    "record_external",
    "record_quality_assessment",
    "repeat",
    "report",
]


# --- views ---------------------------------------------------------------------------------


def result_view(session: Session, result: Result, *, own: bool) -> ResultOut:
    """Data and findings; the conclusion only for the institution that wrote it."""
    there = registry.get_institution_by_id(session, result.performed_at_id)
    return ResultOut(
        id=result.id,
        item_code=result.item_code,
        performed_at=there.code if there else "",
        observed_on=result.observed_on,
        findings=result.findings,
        values=[ValueOut.model_validate(v) for v in result.values],
        conclusion=result.conclusion if own else None,
    )


def order_view(session: Session, order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        resident_id=order.resident_id,
        item_code=order.item_code,
        centre_id=order.centre_id,
        state=order.state,
        acquired_at_member=order.acquired_at_member,
        ordered_at=order.ordered_at,
        reported_at=order.reported_at,
        result_id=order.result_id,
        offers=[
            OfferOut(
                result=result_view(session, o.result, own=False),
                valid_until=o.valid_until,
                price_cny=item(order.item_code).price_cny,
            )
            for o in (offers(session, order) if order.state == OrderState.ORDERED else [])
        ],
        events=[(e.state, e.at, e.actor) for e in order.events],
    )


def results_of(session: Session, principal: Principal, resident_id: int) -> list[ResultOut]:
    """A patient's results across the network, newest first; conclusions only for their own
    institution."""
    access.patient_access(session, principal, resident_id)
    rows = session.scalars(
        select(Result)
        .where(Result.resident_id == resident_id)
        .order_by(Result.observed_on.desc(), Result.id.desc())
    )
    return [
        result_view(session, r, own=r.performed_at_id == principal.institution_id) for r in rows
    ]


def turnaround(order: Order, promised: dict[str, int]) -> tuple[float, bool] | None:
    """Hours from order to signed report, and whether that kept the centre's promise for the
    item (D2); None until reported."""
    if order.reported_at is None:
        return None
    hours = (order.reported_at - order.ordered_at).total_seconds() / 3600
    return hours, hours <= promised.get(order.item_code, 0)


def order_facts(session: Session) -> list[dict[str, object]]:
    """Every order to a shared centre as a `diagnostic_order` fact (D2), at the ordering
    institution, with its turnaround once reported."""
    codes = registry.codes_by_id(session)
    centres = {c.id: c for c in session.scalars(select(Centre))}
    promised = {c.id: {i.item_code: i.turnaround_hours for i in c.items} for c in centres.values()}
    rows: list[dict[str, object]] = []
    for order in session.scalars(select(Order).order_by(Order.id)):
        centre = centres[order.centre_id]
        taken = turnaround(order, promised[centre.id])
        rows.append(
            {
                "order_id": f"cg-{order.id}",
                "institution_code": codes[order.ordering_institution_id],
                "centre_institution_code": codes[centre.institution_id],
                "centre_kind": centre.kind,
                "item_code": order.item_code,
                "date": clock.local(order.ordered_at).date(),
                "state": order.state,
                "acquired_at_member": order.acquired_at_member,
                "turnaround_hours": None if taken is None else round(taken[0], 3),
                "within_turnaround": None if taken is None else taken[1],
            }
        )
    return rows


def recognition_facts(session: Session) -> list[dict[str, object]]:
    """Every reuse or coded repeat as a `recognition` fact, at the ordering institution (D3)."""
    codes = registry.codes_by_id(session)
    rows = session.execute(
        select(Recognition, Order.ordering_institution_id, Order.item_code)
        .join(Order, Order.id == Recognition.order_id)
        .order_by(Recognition.id)
    )
    return [
        {
            "order_id": f"cg-{r.order_id}",
            "institution_code": codes[institution],
            "item_code": item_code,
            "date": clock.local(r.decided_at).date(),
            "decision": r.decision,
            "reason": r.reason,
            "price_cny": float(r.price_cny),
        }
        for r, institution, item_code in rows
    ]


def teleconsultation_facts(session: Session) -> list[dict[str, object]]:
    """Every teleconsultation as a `teleconsultation` fact, at the institution asked (D4); the
    response time runs from the request to the written opinion (none for a decline)."""
    codes = registry.codes_by_id(session)
    rows: list[dict[str, object]] = []
    for c in session.scalars(select(Teleconsultation).order_by(Teleconsultation.id)):
        hours = None
        if c.answered_at is not None and c.state != ConsultState.DECLINED:
            hours = (c.answered_at - c.requested_at).total_seconds() / 3600
        rows.append(
            {
                "consultation_id": f"cg-{c.id}",
                "institution_code": codes[c.to_institution_id],
                "from_institution_code": codes[c.from_institution_id],
                "date": clock.local(c.requested_at).date(),
                "state": c.state,
                "response_hours": None if hours is None else round(hours, 3),
            }
        )
    return rows
