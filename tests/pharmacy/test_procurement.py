"""Requisitions, consolidated orders, receipt, distribution and one payment (G2), and the
integration deadline of Sichuan's profile (G4): rules at their edges (exactly the units
ordered, a lot expiring today, a price that rounds at half a fen, the deadline's day) and
nothing half-written when a receipt is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import (
    CatalogueItem,
    OrderLine,
    ProcurementAccount,
    ProcurementOrder,
    Requisition,
    RequisitionLine,
    StockLot,
    Transfer,
)
from caregrid.pharmacy.schemas import (
    AccountIn,
    ConsolidateIn,
    LotIn,
    OrderOut,
    PaymentIn,
    ReceiptIn,
    ReceiptLotIn,
    RequisitionIn,
    RequisitionLineIn,
)
from caregrid.pharmacy.vocab import ProcurementOrderState, RequisitionState, TransferAction
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.pharmacy.conftest import LEAD, NETWORK, UNIT
from tests.races import UTC_NOW, assert_all_conflicts, race, winners
from tests.world import NOW, SHANGHAI, World

TODAY = NOW.date()
AMLODIPINE = "EML18-AMLODIPINE-T5"  # bought from the first supplier
METFORMIN = "EML18-METFORMIN-T05"  # the first supplier too
VALSARTAN = "EML18-VALSARTAN-C80"  # the second supplier
SECOND = "jh-wc-rmyy"  # another member of the network
FIRST_SUPPLIER = "甲医药公司"
SECOND_SUPPLIER = "乙配送公司"
PRICES = {AMLODIPINE: "0.0450", METFORMIN: "0.0380", VALSARTAN: "0.2400"}


def _supply(session: Session) -> None:
    """Suppliers and prices on three lines of the starter catalogue, and the account."""
    rows = pharmacy.items(session, registry.get_network(session, NETWORK).id)
    header = "code,kind,name_zh,source,supplier,unit_price_cny\n"
    lines = "".join(
        f"{i.code},{i.kind},{i.name_zh},{i.source},"
        f"{SECOND_SUPPLIER if i.code == VALSARTAN else FIRST_SUPPLIER},{PRICES[i.code]}\n"
        for i in rows
        if i.code in PRICES
    )
    pharmacy.import_catalogue(session, SYSTEM, NETWORK, (header + lines).encode(), file="supply")
    pharmacy.open_account(
        session, SYSTEM, NETWORK, AccountIn(name="统一采购", account_number="6222-01")
    )


def _ask(session: Session, who: str, lines: dict[str, int]) -> int:
    row = pharmacy.submit_requisition(
        session,
        SYSTEM,
        NETWORK,
        RequisitionIn(
            institution_code=who,
            lines=[RequisitionLineIn(item_code=c, quantity=n) for c, n in lines.items()],
        ),
    )
    return row.id


def _orders(session: Session) -> dict[str, OrderOut]:
    network = registry.get_network(session, NETWORK)
    placed = pharmacy.consolidate(session, SYSTEM, NETWORK, ConsolidateIn())
    return {o.supplier: o for o in pharmacy.orders(session, network.id, [o.id for o in placed])}


def _receive(
    session: Session, order: OrderOut, lots: list[tuple[str, str, date, int]]
) -> ProcurementOrder:
    return pharmacy.receive_order(
        session,
        SYSTEM,
        order.id,
        ReceiptIn(
            version=order.version,
            lots=[
                ReceiptLotIn(item_code=c, lot_number=n, expires_on=on, quantity=q)
                for c, n, on, q in lots
            ],
        ),
    )


def _held(session: Session, institution: str, code: str) -> int:
    place = registry.require_institution(session, institution)
    return sum(lot.quantity for lot in pharmacy.lots(session, {place.id}) if lot.item_code == code)


def test_one_order_per_supplier_sums_the_members_requisitions(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        first = _ask(session, UNIT, {AMLODIPINE: 300, VALSARTAN: 60})
        second = _ask(session, SECOND, {AMLODIPINE: 200})
        third = _ask(session, LEAD, {METFORMIN: 1000})
        orders = _orders(session)
    assert set(orders) == {FIRST_SUPPLIER, SECOND_SUPPLIER}
    one = orders[FIRST_SUPPLIER]
    assert {(x.item_code, x.quantity) for x in one.lines} == {(AMLODIPINE, 500), (METFORMIN, 1000)}
    assert one.requisition_ids == sorted([first, second, third])
    assert one.ordered_cny == Decimal("60.50")  # 500 × 0.045 + 1000 × 0.038
    assert one.receiving_institution_code == LEAD and one.account_number == "6222-01"
    assert orders[SECOND_SUPPLIER].requisition_ids == [first]
    network = registry.get_network(session, NETWORK)
    states = {r.id: r.state for r in pharmacy.requisitions(session, network.id)}
    assert set(states.values()) == {RequisitionState.ORDERED}
    with clock.frozen(NOW), pytest.raises(Conflict):  # nothing waits any more
        pharmacy.consolidate(session, SYSTEM, NETWORK, ConsolidateIn())


def test_orders_need_the_networks_one_account_and_its_office(
    session: Session, world: World
) -> None:
    network = registry.get_network(session, NETWORK)
    with clock.frozen(NOW):
        _supply(session)
        _ask(session, UNIT, {AMLODIPINE: 10})
        with pytest.raises(Forbidden):
            pharmacy.consolidate(session, world.lead_admin, NETWORK, ConsolidateIn())
    account = pharmacy.account_of(session, network.id)
    session.delete(account)
    session.flush()
    with clock.frozen(NOW), pytest.raises(RuleViolation) as exc:
        pharmacy.consolidate(session, world.office, NETWORK, ConsolidateIn())
    assert exc.value.requirement == "G2"


def test_a_requisition_names_every_bad_line_and_writes_nothing(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        with pytest.raises(InvalidInput) as exc:
            pharmacy.submit_requisition(
                session,
                SYSTEM,
                NETWORK,
                RequisitionIn(
                    institution_code=UNIT,
                    lines=[
                        RequisitionLineIn(item_code=AMLODIPINE, quantity=5),
                        RequisitionLineIn(item_code="NO-SUCH-DRUG", quantity=5),
                        RequisitionLineIn(item_code="EML18-CAPTOPRIL-T25", quantity=5),
                        RequisitionLineIn(item_code=AMLODIPINE, quantity=1),
                    ],
                ),
            )
    found = {p.field: p.message for p in exc.value.problems}
    assert found == {
        "lines.1.item_code": "is not in the network's catalogue",
        "lines.2.item_code": "has no supplier and price in the catalogue, so it cannot be ordered",
        "lines.3.item_code": "repeats line 0",
    }
    network = registry.get_network(session, NETWORK)
    assert pharmacy.requisitions(session, network.id) == []
    with clock.frozen(NOW), pytest.raises(InvalidInput) as outsider:
        _ask(session, "jh-zxyy", {AMLODIPINE: 5})  # a hospital of another group
    assert outsider.value.problems[0].field == "institution_code"
    with clock.frozen(NOW), pytest.raises(Forbidden):
        pharmacy.submit_requisition(
            session,
            world.community_admin,
            NETWORK,
            RequisitionIn(
                institution_code=LEAD, lines=[RequisitionLineIn(item_code=AMLODIPINE, quantity=1)]
            ),
        )


def test_receipt_of_exactly_the_units_ordered_is_distributed_first_come_first_served(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        _ask(session, UNIT, {AMLODIPINE: 300})
        _ask(session, LEAD, {AMLODIPINE: 100})
        _ask(session, SECOND, {AMLODIPINE: 200})
        order = _orders(session)[FIRST_SUPPLIER]
        # 600 ordered; two lots, the sooner one goes out first; one expires today
        done = _receive(
            session,
            order,
            [
                (AMLODIPINE, "L-LATE", TODAY + timedelta(days=400), 350),
                (AMLODIPINE, "L-TODAY", TODAY, 250),
            ],
        )
    assert done.state == ProcurementOrderState.RECEIVED
    assert _held(session, LEAD, AMLODIPINE) == 600
    network = registry.get_network(session, NETWORK)
    proposed = sorted(
        (t.to_institution_code, t.lot_number, t.quantity)
        for t in pharmacy.transfers(session, network.id)
    )
    # the unit asked first: all 250 of today's lot and 50 of the later one; the lead keeps its
    # 100 without a transfer; the second member gets the last 200
    assert proposed == sorted(
        [(UNIT, "L-TODAY", 250), (UNIT, "L-LATE", 50), (SECOND, "L-LATE", 200)]
    )
    delivered = {
        r.institution_code: r.lines[0].delivered for r in pharmacy.requisitions(session, network.id)
    }
    assert delivered == {UNIT: 300, LEAD: 100, SECOND: 200}
    shown = pharmacy.orders(session, network.id, [order.id])[0]
    assert shown.due_cny == Decimal("27.00") and [x.received for x in shown.lines] == [600]
    with clock.frozen(NOW):  # the transfers run as any other: ship, then proof of delivery
        for t in pharmacy.transfers(session, network.id):
            shipped = pharmacy.act(session, SYSTEM, t.id, TransferAction.SHIP, t.version)
            pharmacy.act(session, SYSTEM, t.id, TransferAction.RECEIVE, shipped.version)
    assert (_held(session, LEAD, AMLODIPINE), _held(session, UNIT, AMLODIPINE)) == (100, 300)


def test_a_short_delivery_leaves_the_last_requisition_short(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        _supply(session)
        _ask(session, UNIT, {AMLODIPINE: 300, METFORMIN: 50})
        _ask(session, SECOND, {AMLODIPINE: 200})
        order = _orders(session)[FIRST_SUPPLIER]
        _receive(session, order, [(AMLODIPINE, "S1", TODAY + timedelta(days=90), 450)])
    network = registry.get_network(session, NETWORK)
    lines = {
        (r.institution_code, x.item_code): x.delivered
        for r in pharmacy.requisitions(session, network.id)
        for x in r.lines
    }
    assert lines == {(UNIT, AMLODIPINE): 300, (UNIT, METFORMIN): 0, (SECOND, AMLODIPINE): 150}
    shown = pharmacy.orders(session, network.id, [order.id])[0]
    assert {x.item_code: x.received for x in shown.lines} == {AMLODIPINE: 450, METFORMIN: 0}


def test_a_refused_receipt_names_each_lot_and_leaves_no_stock(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        _ask(session, UNIT, {AMLODIPINE: 100})
        order = _orders(session)[FIRST_SUPPLIER]
        with pytest.raises(InvalidInput) as exc:
            _receive(
                session,
                order,
                [
                    (AMLODIPINE, "OK1", TODAY + timedelta(days=30), 60),
                    (AMLODIPINE, "OLD", TODAY - timedelta(days=1), 41),  # 101 in all
                    (VALSARTAN, "V1", TODAY + timedelta(days=30), 5),  # another supplier's
                ],
            )
    found = {p.field for p in exc.value.problems}
    assert found == {"lots.1.expires_on", "lots.1.quantity", "lots.2.item_code"}
    assert session.scalar(select(func.count()).select_from(StockLot)) == 0
    assert session.scalar(select(func.count()).select_from(Transfer)) == 0
    network = registry.get_network(session, NETWORK)
    again = pharmacy.orders(session, network.id, [order.id])[0]
    assert again.state == ProcurementOrderState.PLACED and again.version == order.version


def test_an_order_is_paid_once_for_what_arrived_rounded_to_the_fen(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        _ask(session, UNIT, {AMLODIPINE: 1111})
        order = _orders(session)[FIRST_SUPPLIER]
        with pytest.raises(Conflict):  # nothing to pay before the goods arrive
            pharmacy.pay_order(
                session,
                world.office,
                order.id,
                PaymentIn(version=order.version, reference="TX-0001"),
            )
        done = _receive(session, order, [(AMLODIPINE, "R1", TODAY + timedelta(days=60), 1111)])
        with pytest.raises(Forbidden):
            pharmacy.pay_order(
                session,
                world.lead_admin,
                done.id,
                PaymentIn(version=done.version, reference="TX-0001"),
            )
        with pytest.raises(InvalidInput) as future:
            pharmacy.pay_order(
                session,
                world.office,
                done.id,
                PaymentIn(
                    version=done.version, reference="TX-0001", paid_on=TODAY + timedelta(days=1)
                ),
            )
        assert future.value.problems[0].field == "paid_on"
        paid = pharmacy.pay_order(
            session, world.office, done.id, PaymentIn(version=done.version, reference="TX-0001")
        )
        assert paid.paid_cny == Decimal("50.00")  # 1111 × 0.045 = 49.995, halves up
        with pytest.raises(Conflict) as twice:
            pharmacy.pay_order(
                session, world.office, paid.id, PaymentIn(version=paid.version, reference="TX-0002")
            )
    assert "paid" in twice.value.detail
    with clock.frozen(NOW), pytest.raises(Conflict) as stale:
        pharmacy.pay_order(
            session, world.office, paid.id, PaymentIn(version=1, reference="TX-0002")
        )
    assert "reload" in stale.value.detail


def test_a_cancelled_order_sends_its_requisitions_back_to_wait(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        _supply(session)
        mixed = _ask(session, UNIT, {AMLODIPINE: 10, VALSARTAN: 10})
        orders = _orders(session)
        with pytest.raises(Conflict) as ordered:
            pharmacy.cancel_requisition(session, SYSTEM, mixed, 2)
        assert "allowed only from submitted" in ordered.value.detail
        second = orders[SECOND_SUPPLIER]
        pharmacy.cancel_order(session, world.office, second.id, second.version)
        network = registry.get_network(session, NETWORK)
        back = pharmacy.requisitions(session, network.id, [mixed])[0]
        assert back.state == RequisitionState.SUBMITTED
        with pytest.raises(Conflict) as live:  # waiting, yet one line is in a live order
            pharmacy.cancel_requisition(session, SYSTEM, mixed, back.version)
        assert "cancelled first" in live.value.detail
        assert {x.item_code: x.order_id for x in back.lines} == {
            AMLODIPINE: orders[FIRST_SUPPLIER].id,
            VALSARTAN: None,
        }
        again = pharmacy.consolidate(session, world.office, NETWORK, ConsolidateIn())
    assert [o.supplier for o in again] == [SECOND_SUPPLIER]  # only the line that lost its order
    shown = pharmacy.orders(session, network.id, [again[0].id])[0]
    assert [(x.item_code, x.quantity) for x in shown.lines] == [(VALSARTAN, 10)]


def test_a_waiting_requisition_is_withdrawn_by_its_member(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        _supply(session)
        mine = _ask(session, UNIT, {AMLODIPINE: 10})
        with pytest.raises(Forbidden):
            pharmacy.cancel_requisition(session, world.lead_admin, mine, 1)
        done = pharmacy.cancel_requisition(session, world.community_admin, mine, 1)
        assert done.state == RequisitionState.CANCELLED
        with pytest.raises(Conflict):  # nothing waits: the withdrawn one is not ordered
            pharmacy.consolidate(session, world.office, NETWORK, ConsolidateIn())


@pytest.mark.parametrize(
    ("day", "refused"), [(date(2025, 12, 30), False), (date(2025, 12, 31), True)]
)
def test_sichuan_integrates_purchasing_from_its_deadline(
    session: Session, world: World, day: date, refused: bool
) -> None:
    """G4: from 2025-12-31 a Sichuan member's goods come through the network's orders."""
    registry.get_network(session, NETWORK).profile = "sichuan"
    session.flush()
    lot = LotIn(item_code=AMLODIPINE, lot_number="OWN1", expires_on=date(2027, 1, 1), quantity=5)
    with clock.frozen(datetime.combine(day, NOW.timetz()).replace(tzinfo=SHANGHAI)):
        if refused:
            with pytest.raises(RuleViolation) as exc:
                pharmacy.receive_lot(session, world.community_admin, UNIT, lot)
            assert exc.value.requirement == "G4"
        else:
            assert pharmacy.receive_lot(session, world.community_admin, UNIT, lot).quantity == 5


def test_the_api_runs_requisition_order_receipt_and_payment(
    session: Session, world: World, client: TestClient
) -> None:
    with clock.frozen(NOW):
        _supply(session)
    office = bearer(session, world.office)
    unit = bearer(session, world.community_admin)
    bad = client.post(
        f"/api/networks/{NETWORK}/requisitions",
        json={"institution_code": UNIT, "lines": [{"item_code": AMLODIPINE, "quantity": 0}]},
        headers=unit,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.lines.0.quantity"
    sent = client.post(
        f"/api/networks/{NETWORK}/requisitions",
        json={"institution_code": UNIT, "lines": [{"item_code": AMLODIPINE, "quantity": 40}]},
        headers=unit,
    )
    assert sent.status_code == 201 and sent.json()["state"] == "submitted"
    assert [
        r["id"] for r in client.get(f"/api/networks/{NETWORK}/requisitions", headers=unit).json()
    ] == [sent.json()["id"]]
    placed = client.post(f"/api/networks/{NETWORK}/orders", json={}, headers=office)
    assert placed.status_code == 201
    order = placed.json()[0]
    assert order["state"] == "placed" and order["ordered_cny"] == "1.80"
    receipt = {
        "version": order["version"],
        "lots": [
            {
                "item_code": AMLODIPINE,
                "lot_number": "H1",
                "expires_on": "2027-06-30",
                "quantity": 41,
            }
        ],
    }
    over = client.post(f"/api/orders/{order['id']}/receive", json=receipt, headers=office)
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "lots.0.quantity"
    receipt["lots"][0]["quantity"] = 40
    got = client.post(f"/api/orders/{order['id']}/receive", json=receipt, headers=office)
    assert got.status_code == 200 and got.json()["due_cny"] == "1.80"
    paid = client.post(
        f"/api/orders/{order['id']}/pay",
        json={"version": got.json()["version"], "reference": "BANK-778"},
        headers=office,
    )
    assert paid.status_code == 200 and paid.json()["paid_cny"] == "1.80"
    assert (
        client.post(
            f"/api/orders/{order['id']}/pay",
            json={"version": paid.json()["version"], "reference": "BANK-779"},
            headers=office,
        ).status_code
        == 409
    )
    huge = client.post(
        "/api/orders/99999999999999999999/pay",
        json={"version": 1, "reference": "BANK-1"},
        headers=office,
    )
    assert huge.status_code == 422
    transfers = client.get(f"/api/networks/{NETWORK}/transfers", headers=office).json()
    assert [(t["to_institution_code"], t["quantity"], t["state"]) for t in transfers] == [
        (UNIT, 40, "requested")
    ]


@pytest.fixture
def committed_requisition(committed_world: World) -> Iterator[tuple[World, int]]:
    """A committed orderable line, the network's account and one waiting requisition; all
    deleted afterwards so the rolled-back tests see the shipped catalogue only."""
    code = f"RACE-{secrets.token_hex(3)}"
    with clock.frozen(UTC_NOW), session_scope() as session:
        text = f"code,kind,name_zh,source,supplier,unit_price_cny\n{code},drug,竞速药,ours,丙,1\n"
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text.encode(), file="race.csv")
        network_id = registry.get_network(session, NETWORK).id
        if pharmacy.account_of(session, network_id) is None:
            pharmacy.open_account(
                session, SYSTEM, NETWORK, AccountIn(name="竞速账户", account_number="RACE-01")
            )
        requisition = _ask(session, UNIT, {code: 10})
    try:
        yield committed_world, requisition
    finally:
        with session_scope() as session:
            item = session.scalar(select(CatalogueItem.id).where(CatalogueItem.code == code))
            lines = select(OrderLine.id).where(OrderLine.item_id == item)
            session.execute(delete(RequisitionLine).where(RequisitionLine.item_id == item))
            orders = select(OrderLine.order_id).where(OrderLine.item_id == item)
            placed = list(session.scalars(orders))
            session.execute(delete(OrderLine).where(OrderLine.id.in_(lines)))
            session.execute(delete(ProcurementOrder).where(ProcurementOrder.id.in_(placed)))
            session.execute(delete(Requisition).where(Requisition.id == requisition))
            session.execute(delete(CatalogueItem).where(CatalogueItem.id == item))
            session.execute(
                delete(ProcurementAccount).where(ProcurementAccount.account_number == "RACE-01")
            )


def test_racing_consolidations_place_the_requisition_once(
    committed_requisition: tuple[World, int],
) -> None:
    world, requisition = committed_requisition

    def place() -> int:
        with clock.frozen(UTC_NOW), session_scope() as session:
            return len(pharmacy.consolidate(session, world.office, NETWORK, ConsolidateIn()))

    results = race([place for _ in range(4)])
    assert len(winners(results)) == 1, results
    assert_all_conflicts(results, 3)
    with session_scope() as session:
        wanted = session.scalars(
            select(RequisitionLine.order_line_id).where(
                RequisitionLine.requisition_id == requisition
            )
        ).all()
        state = session.scalar(select(Requisition.state).where(Requisition.id == requisition))
    assert state == "ordered" and len(wanted) == 1 and wanted[0] is not None


def test_under_integration_only_the_office_records_an_opening_balance(
    session: Session, world: World
) -> None:
    """G4: once purchasing is integrated a member's own stock arrives only as the opening
    balance the office counts, once per lot; the member cannot record one itself."""
    registry.get_network(session, NETWORK).profile = "sichuan"
    session.flush()
    counted = LotIn(
        item_code=AMLODIPINE,
        lot_number="OPEN1",
        expires_on=date(2027, 1, 1),
        quantity=40,
        opening_balance=True,
    )
    with clock.frozen(datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)):
        with pytest.raises(Forbidden):
            pharmacy.receive_lot(session, world.community_admin, UNIT, counted)
        assert pharmacy.receive_lot(session, world.office, UNIT, counted).quantity == 40
        with pytest.raises(InvalidInput) as again:
            pharmacy.receive_lot(session, world.office, UNIT, counted)
        assert [p.field for p in again.value.problems] == ["lot_number"]
        with pytest.raises(RuleViolation):  # a purchase of its own is still refused
            pharmacy.receive_lot(
                session, world.office, UNIT, counted.model_copy(update={"opening_balance": False})
            )
    assert _held(session, UNIT, AMLODIPINE) == 40
