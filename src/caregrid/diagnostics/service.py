"""Shared centres (D1), orders acquired at a member and read at the centre (D2), signed
structured reports, and mutual recognition of prior results (D3).

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
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.models import (
    Centre,
    CentreItem,
    CentreMember,
    CentreReader,
    Order,
    OrderEvent,
    QualityAssessment,
    Recognition,
    Result,
    ResultValue,
)
from caregrid.diagnostics.schemas import (
    CentreIn,
    OfferOut,
    OrderIn,
    OrderOut,
    RepeatIn,
    ReportIn,
    ResultOut,
    ValueOut,
)
from caregrid.diagnostics.vocab import (
    CentreKind,
    ItemKind,
    OrderState,
    RecognitionDirection,
    RecognitionScope,
    RepeatReason,
)
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level

CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR)
LEVEL_RANK = {Level.PRIMARY.value: 1, Level.SECONDARY.value: 2, Level.TERTIARY.value: 3}


def item(code: str) -> catalogs.Item:
    found = catalogs.starter().get(code)
    if found is None:
        raise InvalidInput([Problem("item_code", f"no item {code!r} in the recognition catalog")])
    return found


# --- centres (D1) ----------------------------------------------------------------------------


def create_centre(session: Session, principal: Principal, data: CentreIn) -> Centre:
    network = registry.get_network(session, data.network_code)
    access.require_network_office(
        principal, network.id, "shared centres are set up by the network's office"
    )
    members = access.network_institution_ids(session, network.id)
    problems: list[Problem] = []
    runner = registry.get_institution(session, data.institution_code)
    if runner is None or runner.id not in members:
        problems.append(
            Problem("institution_code", f"{data.institution_code} is not in {network.code}")
        )
    served: set[int] = set()
    for i, code in enumerate(data.members if data.members is not None else []):
        found = registry.get_institution(session, code)
        if found is None or found.id not in members:
            problems.append(Problem(f"members.{i}", f"{code} is not in {network.code}"))
        else:
            served.add(found.id)
    if data.members is None:
        served = set(members)
    for i, offered in enumerate(data.items):
        listed = catalogs.starter().get(offered.item_code)
        if listed is None:
            problems.append(Problem(f"items.{i}.item_code", f"no item {offered.item_code!r}"))
        elif listed.centre != data.kind:
            problems.append(
                Problem(
                    f"items.{i}.item_code", f"{listed.code} is done at a {listed.centre} centre"
                )
            )
    if not data.items and data.kind != CentreKind.STERILISATION:
        problems.append(Problem("items", f"a {data.kind} centre offers at least one item"))
    if problems:
        raise InvalidInput(problems)
    assert runner is not None
    centre = Centre(
        network_id=network.id,
        kind=data.kind.value,
        institution_id=runner.id,
        name=data.name,
        created_at=clock.now(),
        members=[CentreMember(institution_id=i) for i in sorted(served)],
        items=[
            CentreItem(item_code=o.item_code, turnaround_hours=o.turnaround_hours)
            for o in data.items
        ],
        readers=[CentreReader(username=u) for u in dict.fromkeys(data.readers)],
    )
    session.add(centre)
    session.flush()
    audit.record_for(
        session,
        principal,
        "centre.create",
        network.id,
        subject_type="network",
        purpose="diagnostics",
        detail={"centre": centre.id, "kind": centre.kind},
    )
    return centre


def record_quality_assessment(
    session: Session,
    principal: Principal,
    *,
    institution_code: str,
    category: str,
    valid_from: date,
    valid_until: date,
    scheme: str,
) -> QualityAssessment:
    """A passed external quality assessment: what makes an institution's results eligible."""
    if not principal.has(Role.REGULATOR):
        raise Forbidden("external quality assessment is recorded by the health commission")
    institution = registry.require_institution(session, institution_code)
    if valid_until < valid_from:
        raise InvalidInput([Problem("valid_until", "ends before it starts")])
    row = QualityAssessment(
        institution_id=institution.id,
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
        scheme=scheme,
    )
    session.add(row)
    session.flush()
    return row


def _centre_for(session: Session, institution_id: int, kind: str) -> Centre | None:
    """The shared centre of this kind that serves the institution."""
    return session.scalar(
        select(Centre)
        .join(CentreMember, CentreMember.centre_id == Centre.id)
        .where(CentreMember.institution_id == institution_id, Centre.kind == kind)
        .order_by(Centre.id)
        .limit(1)
    )


# --- orders (D2) -----------------------------------------------------------------------------


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
        raise RuleViolation(f"no {wanted.centre} centre serves your institution", requirement="D1")
    if all(i.item_code != wanted.code for i in centre.items):
        raise InvalidInput([Problem("item_code", f"{centre.name} does not offer {wanted.code}")])
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
        raise NotFound(f"no order with id {order_id}")
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
        raise Conflict(f"order {order.id} is {order.state}; it cannot become {to}")
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
        raise Forbidden(f"this step of order {order.id} is not yours")
    _event(order, to, principal)
    session.flush()
    return order


def _checked(wanted: catalogs.Item, data: ReportIn) -> tuple[date, list[ResultValue]]:
    """A report's date and values checked against the item: every component once, in the
    item's unit, flagged against its range; an examination states its findings."""
    observed_on = data.observed_on or clock.today()
    problems: list[Problem] = []
    if observed_on > clock.today():
        problems.append(Problem("observed_on", f"{observed_on} is in the future"))
    values: list[ResultValue] = []
    given = {v.component for v in data.values}
    for i, value in enumerate(data.values):
        component = wanted.component(value.component)
        if component is None:
            problems.append(
                Problem(f"values.{i}.component", f"{wanted.code} has no {value.component!r}")
            )
            continue
        if value.unit != component.unit:
            problems.append(
                Problem(
                    f"values.{i}.unit",
                    f"{component.code} is reported in {component.unit}, not {value.unit}",
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
        problems.append(Problem("values", f"missing {', '.join(missing)}"))
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
        raise Forbidden(f"{principal.username} is not a qualified reader of {centre.name}")
    if order.state not in (OrderState.ACQUIRED, OrderState.SCHEDULED, OrderState.ORDERED):
        raise Conflict(f"order {order.id} is {order.state}; it cannot be reported")
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


# --- mutual recognition (D3) -----------------------------------------------------------------


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
            f"result {result_id} cannot be recognised for this order (outside the item's window, "
            "the recognition scope or direction, or without quality assessment)",
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
        raise Conflict(f"order {order.id} is {order.state}; recognition is decided when ordering")


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
        raise Conflict(f"recognition of order {order.id} is already decided")
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


def centre_of(session: Session, centre_id: int) -> Centre:
    centre = session.get(Centre, centre_id)
    if centre is None:
        raise NotFound(f"no centre with id {centre_id}")
    return centre


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


def centres_run_by(session: Session, institution_id: int) -> list[Centre]:
    return list(
        session.scalars(
            select(Centre).where(Centre.institution_id == institution_id).order_by(Centre.kind)
        )
    )


def centre_kinds(session: Session, network_id: int) -> set[str]:
    return set(session.scalars(select(Centre.kind).where(Centre.network_id == network_id)))


def centres_serving(session: Session, institution_id: int) -> list[Centre]:
    return list(
        session.scalars(
            select(Centre)
            .join(CentreMember, CentreMember.centre_id == Centre.id)
            .where(CentreMember.institution_id == institution_id)
            .order_by(Centre.kind)
        )
    )


def orderable(session: Session, institution_id: int) -> list[catalogs.Item]:
    """Catalog items some centre serving the institution offers."""
    codes = set(
        session.scalars(
            select(CentreItem.item_code)
            .join(CentreMember, CentreMember.centre_id == CentreItem.centre_id)
            .where(CentreMember.institution_id == institution_id)
        )
    )
    return [i for i in catalogs.starter().items if i.code in codes]


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
