"""Members' requisitions, the network's consolidated orders, their receipt, distribution and
one payment (G2).

A member asks for goods (a requisition); the office consolidates every waiting line into one
purchase order per supplier, from the network's one procurement account, at the catalogue's
price. The supplier delivers to one institution (the lead unless another is named): the
receipt puts the lots into its stock and allots them to the requisitions in the order they
were submitted, proposing a transfer to each other member (its receipt is the proof of
delivery). The order is paid once, for what was received. Every change of state goes
through the pharmacy's one transition table (`states`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.pharmacy import states, stock
from caregrid.pharmacy.models import (
    CatalogueItem,
    OrderLine,
    ProcurementAccount,
    ProcurementOrder,
    Requisition,
    RequisitionLine,
    StockLot,
)
from caregrid.pharmacy.schemas import (
    ConsolidateIn,
    OrderLineOut,
    OrderOut,
    PaymentIn,
    ReceiptIn,
    RequisitionIn,
    RequisitionLineOut,
    RequisitionOut,
)
from caregrid.pharmacy.vocab import (
    ProcurementOrderAction,
    ProcurementOrderState,
    Record,
    RequisitionAction,
    RequisitionState,
)
from caregrid.registry import service as registry

FEN = Decimal("0.01")


def _fen(amount: Decimal) -> Decimal:
    """Money as it is paid: to the fen, halves up."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def _audit(
    session: Session, principal: Principal, action: str, subject: int, detail: dict[str, object]
) -> None:
    audit.record_for(
        session,
        principal,
        action,
        subject,
        purpose="pharmacy",
        subject_type="network",
        detail=detail,
    )


def _orderable(item: CatalogueItem) -> bool:
    return item.supplier is not None and item.unit_price_cny is not None


# --- requisitions ----------------------------------------------------------------------------


def submit_requisition(
    session: Session, principal: Principal, network_code: str, data: RequisitionIn
) -> Requisition:
    """A member's request for the next consolidated order: every line an orderable item of
    the network's catalogue, each item once; all lines or none."""
    network = registry.get_network(session, network_code)
    institution = registry.require_institution(session, data.institution_code)
    if institution.id not in registry.network_member_ids(session, network.id):
        raise InvalidInput(
            [
                Problem(
                    "institution_code",
                    msg("is not a member of network {network}", network=network.code),
                )
            ]
        )
    if not access.can_manage_institution(session, principal, institution.id):
        raise Forbidden("a member's requisition is sent by its administrators or the office")
    catalogue = {
        i.code: i
        for i in session.scalars(
            select(CatalogueItem).where(
                CatalogueItem.network_id == network.id,
                CatalogueItem.code.in_({line.item_code for line in data.lines}),
            )
        )
    }
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(data.lines):
        field = f"lines.{n}.item_code"
        item = catalogue.get(line.item_code)
        if item is None:
            problems.append(Problem(field, "is not in the network's catalogue"))
        elif not _orderable(item):
            problems.append(
                Problem(
                    field, "has no supplier and price in the catalogue, so it cannot be ordered"
                )
            )
        if line.item_code in seen:
            problems.append(Problem(field, msg("repeats line {seen}", seen=seen[line.item_code])))
        seen.setdefault(line.item_code, n)
    if problems:
        raise InvalidInput(problems)
    row = Requisition(
        network_id=network.id,
        institution_id=institution.id,
        state=RequisitionState.SUBMITTED,
        submitted_by=principal.username,
        submitted_at=clock.now(),
    )
    session.add(row)
    session.flush()
    session.add_all(
        RequisitionLine(
            requisition_id=row.id, item_id=catalogue[line.item_code].id, quantity=line.quantity
        )
        for line in data.lines
    )
    session.flush()
    _audit(
        session,
        principal,
        "requisition.submit",
        network.id,
        {"requisition": row.id, "institution": institution.code, "lines": len(data.lines)},
    )
    return row


def cancel_requisition(
    session: Session, principal: Principal, requisition_id: int, version: int
) -> Requisition:
    """Withdrawn by the member or the office while it still waits for an order."""
    row = session.get(Requisition, requisition_id)
    if row is None:
        raise NotFound("no requisition {requisition_id}", requisition_id=requisition_id)
    if not access.can_manage_institution(session, principal, row.institution_id):
        raise Forbidden("a member's requisition is withdrawn by its administrators or the office")
    states.seen(Record.REQUISITION, row.id, version, row.version)
    state = RequisitionState(row.state)
    target = states.advance(Record.REQUISITION, row.id, state, RequisitionAction.CANCEL)
    live = session.scalar(
        select(OrderLine.order_id)
        .join(RequisitionLine, RequisitionLine.order_line_id == OrderLine.id)
        .where(RequisitionLine.requisition_id == row.id)
        .limit(1)
    )
    if live is not None:
        raise Conflict(
            "requisition {id} has lines in order {order}; that order is cancelled first",
            id=row.id,
            order=live,
        )
    row.state = target
    states.flush(session, Record.REQUISITION, row.id)
    _audit(session, principal, "requisition.cancel", row.network_id, {"requisition": row.id})
    return row


# --- consolidated orders --------------------------------------------------------------------


def consolidate(
    session: Session, principal: Principal, network_code: str, data: ConsolidateIn
) -> list[ProcurementOrder]:
    """Every waiting requisition line, summed per item into one order per supplier, placed
    from the network's one account at the catalogue's prices (G2)."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "the network's orders are placed by its office"
    )
    account = stock.account_of(session, network.id)
    if account is None:
        raise RuleViolation(
            "network {network} has no procurement account: its orders are placed from its one "
            "account, so the office opens it first",
            requirement="G2",
            network=network.code,
        )
    receiver = _receiver(session, network.id, network.code, data.receiving_institution_code)
    waiting = list(
        session.scalars(
            select(Requisition)
            .where(
                Requisition.network_id == network.id,
                Requisition.state == RequisitionState.SUBMITTED,
            )
            .order_by(Requisition.submitted_at, Requisition.id)
        )
    )
    if not waiting:
        raise Conflict(
            "no requisition of network {network} waits for an order", network=network.code
        )
    lines = list(
        session.execute(
            select(RequisitionLine, CatalogueItem)
            .join(CatalogueItem, CatalogueItem.id == RequisitionLine.item_id)
            .where(
                RequisitionLine.requisition_id.in_([r.id for r in waiting]),
                RequisitionLine.order_line_id.is_(None),
            )
            .order_by(RequisitionLine.id)
        )
    )
    lapsed = sorted({item.code for _, item in lines if not _orderable(item)})
    if lapsed:
        raise InvalidInput(
            [
                Problem("item_code", msg("{code}: has no supplier and price any more", code=c))
                for c in lapsed
            ]
        )
    by_supplier: dict[str, dict[int, list[RequisitionLine]]] = defaultdict(
        lambda: defaultdict(list)
    )
    prices: dict[int, Decimal] = {}
    for line, item in lines:
        assert item.supplier is not None and item.unit_price_cny is not None
        by_supplier[item.supplier][item.id].append(line)
        prices[item.id] = item.unit_price_cny
    now = clock.now()
    orders = []
    for supplier in sorted(by_supplier):
        order = ProcurementOrder(
            network_id=network.id,
            account_id=account.id,
            supplier=supplier,
            receiving_institution_id=receiver,
            state=ProcurementOrderState.PLACED,
            placed_by=principal.username,
            placed_at=now,
        )
        session.add(order)
        session.flush()
        made = [
            (
                OrderLine(
                    order_id=order.id,
                    item_id=item_id,
                    quantity=sum(w.quantity for w in wanted),
                    unit_price_cny=prices[item_id],
                ),
                wanted,
            )
            for item_id, wanted in by_supplier[supplier].items()
        ]
        session.add_all(row for row, _ in made)
        session.flush()
        for row, wanted in made:
            for w in wanted:
                w.order_line_id = row.id
        orders.append(order)
    for requisition in waiting:
        state = RequisitionState(requisition.state)
        requisition.state = states.advance(
            Record.REQUISITION, requisition.id, state, RequisitionAction.ORDER
        )
    states.flush(session, Record.REQUISITION, waiting[0].id)
    _audit(
        session,
        principal,
        "order.place",
        network.id,
        {"orders": [o.id for o in orders], "requisitions": len(waiting)},
    )
    return orders


def _receiver(session: Session, network_id: int, network_code: str, code: str | None) -> int:
    if code is None:
        lead = registry.lead_of(session, network_id)
        if lead is None:
            raise InvalidInput(
                [Problem("receiving_institution_code", "the network has no lead: name a member")]
            )
        return lead.id
    institution = registry.require_institution(session, code)
    if institution.id not in registry.network_member_ids(session, network_id):
        raise InvalidInput(
            [
                Problem(
                    "receiving_institution_code",
                    msg("is not a member of network {network}", network=network_code),
                )
            ]
        )
    return institution.id


def _order(session: Session, order_id: int, version: int) -> ProcurementOrder:
    row = session.get(ProcurementOrder, order_id)
    if row is None:
        raise NotFound("no order {order_id}", order_id=order_id)
    states.seen(Record.ORDER, row.id, version, row.version)
    return row


def _step(order: ProcurementOrder, action: ProcurementOrderAction) -> str:
    return states.advance(Record.ORDER, order.id, ProcurementOrderState(order.state), action)


def receive_order(
    session: Session, principal: Principal, order_id: int, data: ReceiptIn
) -> ProcurementOrder:
    """The goods that arrived, by lot, into the receiving institution's stock; then each
    requisition's share, in the order they were submitted, with a transfer proposed to every
    other member. More than ordered, an item not ordered or an expired lot is refused."""
    order = _order(session, order_id, data.version)
    if not access.can_manage_institution(session, principal, order.receiving_institution_id):
        raise Forbidden("an order's goods are received by the receiving member or the office")
    target = states.advance(
        Record.ORDER, order.id, ProcurementOrderState(order.state), ProcurementOrderAction.RECEIVE
    )
    lines = {
        item.code: (line, item)
        for line, item in session.execute(
            select(OrderLine, CatalogueItem)
            .join(CatalogueItem, CatalogueItem.id == OrderLine.item_id)
            .where(OrderLine.order_id == order.id)
        )
    }
    today = clock.today()
    problems: list[Problem] = []
    received: dict[str, int] = defaultdict(int)
    expiries: dict[tuple[str, str], date] = {}
    for n, lot in enumerate(data.lots):
        found = lines.get(lot.item_code)
        if found is None:
            problems.append(
                Problem(f"lots.{n}.item_code", msg("is not on order {id}", id=order.id))
            )
            continue
        line, item = found
        if lot.expires_on < today:
            problems.append(Problem(f"lots.{n}.expires_on", "the lot has expired"))
        first = expiries.setdefault((lot.item_code, lot.lot_number), lot.expires_on)
        mismatch = stock.expiry_mismatch(
            session, order.receiving_institution_id, item.id, lot.lot_number, lot.expires_on
        )
        if first != lot.expires_on:
            mismatch = msg("lot {lot} here expires on {on}", lot=lot.lot_number, on=first)
        if mismatch is not None:
            problems.append(Problem(f"lots.{n}.expires_on", mismatch))
        received[lot.item_code] += lot.quantity
        if received[lot.item_code] > line.quantity:
            problems.append(
                Problem(
                    f"lots.{n}.quantity",
                    msg(
                        "{received} units of {item} received, more than the {ordered} ordered",
                        received=received[lot.item_code],
                        item=lot.item_code,
                        ordered=line.quantity,
                    ),
                )
            )
    if problems:
        raise InvalidInput(problems)
    arrived: dict[int, dict[int, Lot]] = defaultdict(dict)
    for lot in data.lots:
        line, item = lines[lot.item_code]
        placed = stock.put(
            session,
            order.receiving_institution_id,
            item.id,
            lot.lot_number,
            lot.expires_on,
            lot.quantity,
        )
        before = arrived[line.id].get(placed.id)
        arrived[line.id][placed.id] = Lot(placed, lot.quantity + (before.units if before else 0))
    for line, _ in lines.values():
        line.received = sum(lot.units for lot in arrived[line.id].values())
    order.state = target
    order.received_by = principal.username
    order.received_at = clock.now()
    states.flush(session, Record.ORDER, order.id)
    proposed = _distribute(session, principal, order, lines, arrived)
    _audit(
        session,
        principal,
        "order.receive",
        order.network_id,
        {"order": order.id, "lots": len(data.lots), "transfers": proposed},
    )
    return order


def _distribute(
    session: Session,
    principal: Principal,
    order: ProcurementOrder,
    lines: dict[str, tuple[OrderLine, CatalogueItem]],
    arrived: dict[int, dict[int, Lot]],
) -> int:
    """Allot each item's units to its requisition lines, first submitted first served; the
    soonest-expiring lot goes out first. Returns the number of transfers proposed."""
    proposed = 0
    for line, _ in lines.values():
        left = line.received or 0
        pool = sorted(arrived[line.id].values(), key=lambda a: (a.lot.expires_on, a.lot.id))
        wanted = session.execute(
            select(RequisitionLine, Requisition.institution_id)
            .join(Requisition, Requisition.id == RequisitionLine.requisition_id)
            .where(RequisitionLine.order_line_id == line.id)
            .order_by(Requisition.submitted_at, Requisition.id)
        )
        for want, institution_id in wanted:
            share = min(left, want.quantity)
            want.delivered = share
            left -= share
            for lot, units in _draw(pool, share):
                if institution_id != order.receiving_institution_id:
                    stock.propose(
                        session, principal, order.network_id, lot, institution_id, units, want.id
                    )
                    proposed += 1
    session.flush()
    return proposed


@dataclass
class Lot:
    """A lot a receipt added to, and how many units it added."""

    lot: StockLot
    units: int


def _draw(pool: list[Lot], units: int) -> list[tuple[StockLot, int]]:
    """Take `units` from the front of the pool (soonest expiry first), lot by lot."""
    taken = []
    while units > 0 and pool:
        first = pool[0]
        n = min(units, first.units)
        taken.append((first.lot, n))
        units -= n
        first.units -= n
        if first.units == 0:
            pool.pop(0)
    return taken


def due(session: Session, order_id: int) -> Decimal:
    """What an order costs for the units received, at its lines' prices, to the fen."""
    total = sum(
        (
            (line.received or 0) * line.unit_price_cny
            for line in session.scalars(select(OrderLine).where(OrderLine.order_id == order_id))
        ),
        Decimal(0),
    )
    return _fen(total)


def pay_order(
    session: Session, principal: Principal, order_id: int, data: PaymentIn
) -> ProcurementOrder:
    """The order's one payment from the network's account, for what was received (G2)."""
    order = _order(session, order_id, data.version)
    access.require_network_office(
        principal, order.network_id, "the network's orders are paid by its office"
    )
    target = states.advance(
        Record.ORDER, order.id, ProcurementOrderState(order.state), ProcurementOrderAction.PAY
    )
    paid_on = data.paid_on or clock.today()
    received_on = clock.local(order.received_at).date() if order.received_at else None
    if paid_on > clock.today():
        raise InvalidInput([Problem("paid_on", "is after today")])
    if received_on is not None and paid_on < received_on:
        raise InvalidInput(
            [Problem("paid_on", msg("is before the goods arrived on {on}", on=received_on))]
        )
    order.state = target
    order.paid_by = principal.username
    order.paid_on = paid_on
    order.payment_reference = data.reference
    order.paid_cny = due(session, order.id)
    states.flush(session, Record.ORDER, order.id)
    _audit(
        session,
        principal,
        "order.pay",
        order.network_id,
        {"order": order.id, "cny": str(order.paid_cny), "reference": data.reference},
    )
    return order


def cancel_order(
    session: Session, principal: Principal, order_id: int, version: int
) -> ProcurementOrder:
    """An order withdrawn before its goods arrive: its requisitions wait for the next one."""
    order = _order(session, order_id, version)
    access.require_network_office(
        principal, order.network_id, "the network's orders are placed by its office"
    )
    order.state = states.advance(
        Record.ORDER, order.id, ProcurementOrderState(order.state), ProcurementOrderAction.CANCEL
    )
    line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
    wanted = list(
        session.scalars(select(RequisitionLine).where(RequisitionLine.order_line_id.in_(line_ids)))
    )
    for want in wanted:
        want.order_line_id = None
    for requisition in session.scalars(
        select(Requisition).where(Requisition.id.in_({w.requisition_id for w in wanted}))
    ):
        if requisition.state == RequisitionState.ORDERED:
            requisition.state = states.advance(
                Record.REQUISITION,
                requisition.id,
                RequisitionState.ORDERED,
                RequisitionAction.RETURN,
            )
    states.flush(session, Record.ORDER, order.id)
    _audit(session, principal, "order.cancel", order.network_id, {"order": order.id})
    return order


# --- reading --------------------------------------------------------------------------------


def _reach(session: Session, principal: Principal, network_code: str) -> tuple[int, int | None]:
    """The network and whose records the reader sees: all (None) for the office and the
    commission, else the one member the reader administers."""
    network = registry.get_network(session, network_code)
    if access.is_network_office(principal, network.id):
        return network.id, None
    mine = principal.institution_id
    if (
        mine is None
        or mine not in registry.network_member_ids(session, network.id)
        or not access.can_manage_institution(session, principal, mine)
    ):
        raise Forbidden(
            "requisitions and orders are seen by the network's office and its members' "
            "administrators"
        )
    return network.id, mine


def visible_requisitions(
    session: Session, principal: Principal, network_code: str
) -> list[RequisitionOut]:
    """All of the network's requisitions for its office; a member's own for its staff."""
    network_id, mine = _reach(session, principal, network_code)
    if mine is None:
        return requisitions(session, network_id)
    ids = list(session.scalars(select(Requisition.id).where(Requisition.institution_id == mine)))
    return requisitions(session, network_id, ids)


def visible_orders(session: Session, principal: Principal, network_code: str) -> list[OrderOut]:
    """All of the network's orders for its office; those a member receives for its staff."""
    network_id, mine = _reach(session, principal, network_code)
    if mine is None:
        return orders(session, network_id)
    ids = list(
        session.scalars(
            select(ProcurementOrder.id).where(ProcurementOrder.receiving_institution_id == mine)
        )
    )
    return orders(session, network_id, ids)


def requisitions(
    session: Session, network_id: int, ids: list[int] | None = None
) -> list[RequisitionOut]:
    """The network's requisitions (or those of `ids`), newest first, with their lines."""
    query = select(Requisition).where(Requisition.network_id == network_id)
    if ids is not None:
        query = query.where(Requisition.id.in_(ids))
    rows = list(session.scalars(query.order_by(Requisition.id.desc())))
    if not rows:
        return []
    codes = registry.codes_by_id(session)
    network_code = registry.get_network_by_id(session, network_id).code
    lines: dict[int, list[RequisitionLineOut]] = defaultdict(list)
    for line, item, order_id in session.execute(
        select(RequisitionLine, CatalogueItem, OrderLine.order_id)
        .join(CatalogueItem, CatalogueItem.id == RequisitionLine.item_id)
        .outerjoin(OrderLine, OrderLine.id == RequisitionLine.order_line_id)
        .where(RequisitionLine.requisition_id.in_([r.id for r in rows]))
        .order_by(RequisitionLine.id)
    ):
        lines[line.requisition_id].append(
            RequisitionLineOut(
                item_code=item.code,
                item_name_zh=item.name_zh,
                quantity=line.quantity,
                order_id=order_id,
                delivered=line.delivered,
            )
        )
    return [
        RequisitionOut(
            id=r.id,
            network_code=network_code,
            institution_code=codes[r.institution_id],
            state=RequisitionState(r.state),
            version=r.version,
            submitted_by=r.submitted_by,
            submitted_at=r.submitted_at,
            lines=lines[r.id],
        )
        for r in rows
    ]


def orders(session: Session, network_id: int, ids: list[int] | None = None) -> list[OrderOut]:
    """The network's orders (or those of `ids`), newest first, each with its lines, what it
    costs as ordered and as received, and the requisitions it buys for."""
    query = select(ProcurementOrder).where(ProcurementOrder.network_id == network_id)
    if ids is not None:
        query = query.where(ProcurementOrder.id.in_(ids))
    rows = list(session.scalars(query.order_by(ProcurementOrder.id.desc())))
    if not rows:
        return []
    codes = registry.codes_by_id(session)
    network_code = registry.get_network_by_id(session, network_id).code
    order_ids = [o.id for o in rows]
    lines: dict[int, list[OrderLineOut]] = defaultdict(list)
    ordered: dict[int, Decimal] = defaultdict(Decimal)
    received: dict[int, Decimal] = defaultdict(Decimal)
    for line, item in session.execute(
        select(OrderLine, CatalogueItem)
        .join(CatalogueItem, CatalogueItem.id == OrderLine.item_id)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(CatalogueItem.code)
    ):
        lines[line.order_id].append(
            OrderLineOut(
                item_code=item.code,
                item_name_zh=item.name_zh,
                quantity=line.quantity,
                unit_price_cny=line.unit_price_cny,
                received=line.received,
            )
        )
        ordered[line.order_id] += line.quantity * line.unit_price_cny
        received[line.order_id] += (line.received or 0) * line.unit_price_cny
    wanted: dict[int, set[int]] = defaultdict(set)
    for order_id, requisition_id in session.execute(
        select(OrderLine.order_id, RequisitionLine.requisition_id)
        .join(RequisitionLine, RequisitionLine.order_line_id == OrderLine.id)
        .where(OrderLine.order_id.in_(order_ids))
    ):
        wanted[order_id].add(requisition_id)
    accounts = {
        a.id: a.account_number
        for a in session.scalars(
            select(ProcurementAccount).where(ProcurementAccount.network_id == network_id)
        )
    }
    return [
        OrderOut(
            id=o.id,
            network_code=network_code,
            supplier=o.supplier,
            account_number=accounts[o.account_id],
            receiving_institution_code=codes[o.receiving_institution_id],
            state=ProcurementOrderState(o.state),
            version=o.version,
            placed_by=o.placed_by,
            placed_at=o.placed_at,
            ordered_cny=_fen(ordered[o.id]),
            received_by=o.received_by,
            received_at=o.received_at,
            due_cny=_fen(received[o.id]) if o.received_at else None,
            paid_by=o.paid_by,
            paid_on=o.paid_on,
            payment_reference=o.payment_reference,
            paid_cny=o.paid_cny,
            requisition_ids=sorted(wanted[o.id]),
            lines=lines[o.id],
        )
        for o in rows
    ]
