"""Orders acquired at a member and read at the centre (D2): placing, the centre's queue, each
step of an order, and signed structured reports (also those a member's own system sends).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.centres import _centre_for, centre_of
from caregrid.diagnostics.models import Centre, Order, OrderEvent, Result, ResultValue
from caregrid.diagnostics.schemas import OrderIn, ReportIn
from caregrid.diagnostics.vocab import ItemKind, OrderState
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg

CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR)


def item(code: str) -> catalogs.Item:
    found = catalogs.starter().get(code)
    if found is None:
        raise InvalidInput(
            [Problem("item_code", msg("no item {code!r} in the recognition catalog", code=code))]
        )
    return found


def _clinician(session: Session, principal: Principal, resident_id: int) -> int:
    if not principal.has(*CLINICAL) or principal.institution_id is None:
        raise Forbidden("orders are placed by clinical staff of an institution")
    access.patient_access(session, principal, resident_id)
    return principal.institution_id


def _event(order: Order, state: OrderState, principal: Principal) -> None:
    order.state = state.value
    order.events.append(OrderEvent(state=state.value, at=clock.now(), actor=principal.username))


def place_order(session: Session, principal: Principal, data: OrderIn) -> Order:
    """Order an item at the centre serving the unit; valid prior results come with it."""
    institution_id = _clinician(session, principal, data.resident_id)
    wanted = item(data.item_code)
    centre = _centre_for(session, institution_id, wanted.centre)
    if centre is None:
        raise RuleViolation(
            "no {centre} centre serves your institution", centre=wanted.centre, requirement="D1"
        )
    if all(i.item_code != wanted.code for i in centre.items):
        raise InvalidInput(
            [
                Problem(
                    "item_code",
                    msg("{name} does not offer {code}", name=centre.name, code=wanted.code),
                )
            ]
        )
    order = Order(
        resident_id=data.resident_id,
        item_code=wanted.code,
        ordering_institution_id=institution_id,
        ordered_by=principal.username,
        centre_id=centre.id,
        acquired_at_member=data.acquired_at_member,
        state=OrderState.ORDERED.value,
        ordered_at=clock.now(),
    )
    order.events.append(
        OrderEvent(state=OrderState.ORDERED.value, at=order.ordered_at, actor=principal.username)
    )
    session.add(order)
    session.flush()
    audit.record_for(
        session,
        principal,
        "order.create",
        data.resident_id,
        purpose="diagnostics",
        detail={"order": order.id, "item": wanted.code},
    )
    return order


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("no order with id {order_id}", order_id=order_id)
    return order


ADVANCES = {
    OrderState.SCHEDULED: {OrderState.ORDERED},
    OrderState.ACQUIRED: {OrderState.ORDERED, OrderState.SCHEDULED},
    OrderState.DELIVERED: {OrderState.REPORTED},
    OrderState.CANCELLED: {OrderState.ORDERED, OrderState.SCHEDULED},
}


def advance(session: Session, principal: Principal, order_id: int, to: OrderState) -> Order:
    """Schedule, acquire, deliver or cancel. The unit acquires what it acquires itself (D2);
    the centre does the rest."""
    order = get_order(session, order_id)
    allowed = ADVANCES.get(to)
    if allowed is None or order.state not in allowed:
        raise Conflict(
            "order {id} is {state}; it cannot become {to}",
            id=order.id,
            state=OrderState(order.state),
            to=to,
        )
    centre = session.get(Centre, order.centre_id)
    assert centre is not None
    ordering_side = principal.institution_id == order.ordering_institution_id
    centre_side = principal.institution_id == centre.institution_id
    if to == OrderState.ACQUIRED:
        ok = ordering_side if order.acquired_at_member else centre_side
    elif to == OrderState.CANCELLED:
        ok = ordering_side
    else:
        ok = centre_side
    if not (ok and principal.has(*CLINICAL)) and not principal.system:
        raise Forbidden("this step of order {id} is not yours", id=order.id)
    _event(order, to, principal)
    session.flush()
    return order


def _checked(wanted: catalogs.Item, data: ReportIn) -> tuple[date, list[ResultValue]]:
    """A report's date and values checked against the item: every component once, in the
    item's unit, flagged against its range; an examination states its findings."""
    observed_on = data.observed_on or clock.today()
    problems: list[Problem] = []
    if observed_on > clock.today():
        problems.append(
            Problem("observed_on", msg("{observed_on} is in the future", observed_on=observed_on))
        )
    values: list[ResultValue] = []
    given = {v.component for v in data.values}
    for i, value in enumerate(data.values):
        component = wanted.component(value.component)
        if component is None:
            problems.append(
                Problem(
                    f"values.{i}.component",
                    msg("{code} has no {component!r}", code=wanted.code, component=value.component),
                )
            )
            continue
        if value.unit != component.unit:
            problems.append(
                Problem(
                    f"values.{i}.unit",
                    msg(
                        "{code} is reported in {unit}, not {unit2}",
                        code=component.code,
                        unit=component.unit,
                        unit2=value.unit,
                    ),
                )
            )
            continue
        flag = "L" if value.value < component.low else "H" if value.value > component.high else "N"
        values.append(
            ResultValue(
                component=component.code,
                value=value.value,
                unit=value.unit,
                low=component.low,
                high=component.high,
                flag=flag,
            )
        )
    missing = [c.code for c in wanted.components if c.code not in given]
    if missing:
        problems.append(Problem("values", msg("missing {missing}", missing=", ".join(missing))))
    if wanted.kind == ItemKind.EXAM and not (data.findings or "").strip():
        problems.append(Problem("findings", "an examination report states its findings"))
    if problems:
        raise InvalidInput(problems)
    return observed_on, values


def _signed(
    session: Session,
    principal: Principal,
    wanted: catalogs.Item,
    data: ReportIn,
    *,
    resident_id: int,
    issuer_id: int,
    acquired_at_id: int | None = None,
) -> Result:
    """A result checked against its item and signed by the principal for the issuer."""
    observed_on, values = _checked(wanted, data)
    result = Result(
        resident_id=resident_id,
        item_code=wanted.code,
        performed_at_id=issuer_id,
        acquired_at_id=acquired_at_id,
        observed_on=observed_on,
        findings=data.findings,
        conclusion=data.conclusion,
        reported_by=principal.username,
        reported_at=clock.now(),
        values=values,
    )
    session.add(result)
    session.flush()
    return result


def record_external(
    session: Session, principal: Principal, *, resident_id: int, item_code: str, data: ReportIn
) -> Result:
    """A result sent by a member's own system (LIS, PACS), issued by that member: eligible for
    recognition under the same rules as any other."""
    if principal.institution_id is None:
        raise Forbidden("external results are sent for an institution")
    result = _signed(
        session,
        principal,
        item(item_code),
        data,
        resident_id=resident_id,
        issuer_id=principal.institution_id,
    )
    audit.record_for(
        session,
        principal,
        "result.external",
        resident_id,
        purpose="diagnostics",
        detail={"result": result.id},
    )
    return result


def report(session: Session, principal: Principal, order_id: int, data: ReportIn) -> Result:
    """A signed report by one of the centre's qualified readers: every component of a test
    with the item's unit, or the findings of an examination."""
    order = get_order(session, order_id)
    centre = session.get(Centre, order.centre_id)
    assert centre is not None
    if principal.username not in {r.username for r in centre.readers} and not principal.system:
        raise Forbidden(
            "{username} is not a qualified reader of {name}",
            username=principal.username,
            name=centre.name,
        )
    if order.state not in (OrderState.ACQUIRED, OrderState.SCHEDULED, OrderState.ORDERED):
        raise Conflict(
            "order {id} is {state}; it cannot be reported",
            id=order.id,
            state=OrderState(order.state),
        )
    result = _signed(
        session,
        principal,
        item(order.item_code),
        data,
        resident_id=order.resident_id,
        issuer_id=centre.institution_id,
        acquired_at_id=order.ordering_institution_id if order.acquired_at_member else None,
    )
    order.result_id = result.id
    order.reported_at = result.reported_at
    _event(order, OrderState.REPORTED, principal)
    session.flush()
    audit.record_for(
        session,
        principal,
        "order.report",
        order.resident_id,
        purpose="diagnostics",
        detail={"order": order.id},
    )
    return result


def queue(session: Session, principal: Principal, centre_id: int) -> list[Order]:
    """The centre's open orders, oldest first: its staff's work queue."""
    centre = centre_of(session, centre_id)
    if principal.institution_id != centre.institution_id and not principal.system:
        raise Forbidden("a centre's queue is for its staff")
    return list(
        session.scalars(
            select(Order)
            .where(
                Order.centre_id == centre.id,
                Order.state.in_([OrderState.ORDERED, OrderState.SCHEDULED, OrderState.ACQUIRED]),
            )
            .order_by(Order.ordered_at, Order.id)
        )
    )
