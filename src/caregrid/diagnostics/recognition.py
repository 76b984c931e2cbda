"""Mutual recognition of prior results (D3).

A prior result is offered when all of these hold (INDICATORS.md, mutual recognition):
the same item; observed no more than the item's validity window ago (day N valid, N+1 not);
performed within the profile's `recognition_scope` of the ordering institution (network,
city or province); by an institution the ordering one accepts under `recognition_direction`
(same level or higher, by default); and performed while that institution held a passed
external quality assessment for the item's category. The conclusion is never offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal
from caregrid.diagnostics.models import Centre, Order, QualityAssessment, Recognition, Result
from caregrid.diagnostics.orders import CLINICAL, _event, get_order, item
from caregrid.diagnostics.schemas import RepeatIn
from caregrid.diagnostics.vocab import (
    OrderState,
    RecognitionDirection,
    RecognitionScope,
    RepeatReason,
)
from caregrid.errors import Conflict, Forbidden, InvalidInput, Problem, RuleViolation
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level

LEVEL_RANK = {Level.PRIMARY.value: 1, Level.SECONDARY.value: 2, Level.TERTIARY.value: 3}


@dataclass(frozen=True)
class Offer:
    result: Result
    valid_until: date


def _in_scope(
    session: Session,
    scope: RecognitionScope,
    here: registry.Institution,
    there: registry.Institution,
) -> bool:
    if scope == RecognitionScope.NETWORK:
        return registry.shares_network(session, here.id, there.id)
    if scope == RecognitionScope.CITY:
        return here.city_id == there.city_id
    province = registry.province_of(session, here)
    return province is not None and province == registry.province_of(session, there)


def _accepts(
    direction: RecognitionDirection, here: registry.Institution, there: registry.Institution
) -> bool:
    if direction == RecognitionDirection.ANY:
        return True
    mine, theirs = LEVEL_RANK.get(here.level), LEVEL_RANK.get(there.level)
    return mine is not None and theirs is not None and theirs >= mine


def _quality_assured(session: Session, institution_id: int, category: str, on: date) -> bool:
    return (
        session.scalar(
            select(QualityAssessment.id)
            .where(
                QualityAssessment.institution_id == institution_id,
                QualityAssessment.category == category,
                QualityAssessment.passed.is_(True),
                QualityAssessment.valid_from <= on,
                QualityAssessment.valid_until >= on,
            )
            .limit(1)
        )
        is not None
    )


def offers(session: Session, order: Order, on: date | None = None) -> list[Offer]:
    """Valid prior results of the order's item that the ordering institution may recognise."""
    today = on or clock.today()
    wanted = item(order.item_code)
    here = registry.get_institution_by_id(session, order.ordering_institution_id)
    assert here is not None
    centre = session.get(Centre, order.centre_id)
    assert centre is not None
    profile = policy.get(registry.get_network_by_id(session, centre.network_id).profile)
    scope = RecognitionScope(profile.parameter("recognition_scope", today) or "network")
    direction = RecognitionDirection(
        profile.parameter("recognition_direction", today) or "same_or_higher"
    )
    found = []
    for result in session.scalars(
        select(Result)
        .where(Result.resident_id == order.resident_id, Result.item_code == wanted.code)
        .order_by(Result.observed_on.desc(), Result.id.desc())
    ):
        if order.result_id == result.id:
            continue
        valid_until = result.observed_on + timedelta(days=wanted.validity_days)
        there = registry.get_institution_by_id(session, result.performed_at_id)
        if there is None or today > valid_until:
            continue
        if not (_in_scope(session, scope, here, there) and _accepts(direction, here, there)):
            continue
        if not _quality_assured(session, there.id, wanted.category, result.observed_on):
            continue
        found.append(Offer(result, valid_until))
    return found


def recognise(session: Session, principal: Principal, order_id: int, result_id: int) -> Order:
    """Reuse a valid prior result instead of repeating the item: the order is done."""
    order = get_order(session, order_id)
    _decider(principal, order)
    offer = next((o for o in offers(session, order) if o.result.id == result_id), None)
    if offer is None:
        raise RuleViolation(
            "result {result_id} cannot be recognised for this order (outside the item's "
            "window, the recognition scope or direction, or without quality assessment)",
            result_id=result_id,
            requirement="D3",
        )
    _decide(session, principal, order, result_id, "reused", None, None)
    order.result_id = result_id
    _event(order, OrderState.RECOGNISED, principal)
    session.flush()
    return order


def repeat(session: Session, principal: Principal, order_id: int, data: RepeatIn) -> Order:
    """Repeat despite a valid prior result, with one of the six coded reasons."""
    order = get_order(session, order_id)
    _decider(principal, order)
    if all(o.result.id != data.prior_result_id for o in offers(session, order)):
        raise InvalidInput([Problem("prior_result_id", "not a valid prior result of this order")])
    if data.reason == RepeatReason.OTHER and not (data.text or "").strip():
        raise InvalidInput([Problem("text", "say why when the reason is 'other'")])
    _decide(
        session, principal, order, data.prior_result_id, "repeated", data.reason.value, data.text
    )
    session.flush()
    return order


def _decider(principal: Principal, order: Order) -> None:
    if principal.institution_id != order.ordering_institution_id or not principal.has(*CLINICAL):
        raise Forbidden("the ordering clinician decides on recognition")
    if order.state != OrderState.ORDERED:
        raise Conflict(
            "order {id} is {state}; recognition is decided when ordering",
            id=order.id,
            state=OrderState(order.state),
        )


def _decide(
    session: Session,
    principal: Principal,
    order: Order,
    prior: int,
    decision: str,
    reason: str | None,
    text: str | None,
) -> None:
    if session.scalar(select(Recognition.id).where(Recognition.order_id == order.id)) is not None:
        raise Conflict("recognition of order {id} is already decided", id=order.id)
    session.add(
        Recognition(
            order_id=order.id,
            prior_result_id=prior,
            decision=decision,
            reason=reason,
            reason_text=text,
            price_cny=item(order.item_code).price_cny,
            decided_by=principal.username,
            decided_at=clock.now(),
        )
    )
    audit.record_for(
        session,
        principal,
        f"recognition.{decision}",
        order.resident_id,
        purpose="diagnostics",
        detail={"order": order.id, "prior": prior},
    )
