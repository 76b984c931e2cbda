"""The procurement account, stock by lot and transfers (G2): one account per network, a lot
received and shipped at its edges (expiring today, exactly the units held), the transition
table, the database refusing a negative quantity, and racing shippers of the last units."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import CatalogueItem, StockLot, Transfer
from caregrid.pharmacy.schemas import AccountIn, LotIn, TransferIn
from caregrid.pharmacy.vocab import TransferAction, TransferState
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.pharmacy.conftest import LEAD, NETWORK, UNIT
from tests.races import UTC_NOW, assert_all_conflicts, race, winners
from tests.world import NOW, World

TODAY = NOW.date()
AMLODIPINE = "EML18-AMLODIPINE-T5"


def _lot(
    session: Session,
    world: World,
    units: int = 100,
    expires: date | None = None,
    number: str = "A1",
) -> StockLot:
    return pharmacy.receive_lot(
        session,
        world.lead_admin,
        LEAD,
        LotIn(
            item_code=AMLODIPINE,
            lot_number=number,
            expires_on=expires or TODAY + timedelta(days=365),
            quantity=units,
        ),
    )


def _send(session: Session, world: World, lot: StockLot, units: int) -> Transfer:
    return pharmacy.request_transfer(
        session,
        world.lead_admin,
        TransferIn(lot_id=lot.id, to_institution_code=UNIT, quantity=units),
    )


def test_one_procurement_account_per_network(
    session: Session, world: World, client: TestClient
) -> None:
    data = AccountIn(name="集团统一采购账户", account_number="6222-0001")
    pharmacy.open_account(session, world.office, NETWORK, data)
    with pytest.raises(RuleViolation) as exc:
        pharmacy.open_account(session, world.office, NETWORK, data)
    assert exc.value.requirement == "G2" and "6222-0001" in exc.value.detail
    answer = client.post(
        f"/api/networks/{NETWORK}/procurement-account",
        json={"name": "第二个账户", "account_number": "6222-0002"},
        headers=bearer(session, world.office),
    )
    assert answer.status_code == 422 and answer.json()["requirement"] == "G2"
    with pytest.raises(Forbidden):
        pharmacy.open_account(session, world.lead_admin, "jh-zxyy-jindong", data)


def test_a_lot_expiring_today_is_received_and_shipped_an_expired_one_is_not(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        with pytest.raises(InvalidInput) as exc:
            _lot(session, world, expires=TODAY - timedelta(days=1))
        assert exc.value.problems[0].field == "expires_on"
        lot = _lot(session, world, units=10, expires=TODAY)
        sent = _send(session, world, lot, 10)
        pharmacy.act(session, world.lead_admin, sent.id, TransferAction.SHIP, sent.version)
    assert sent.state == TransferState.SHIPPED
    with clock.frozen(NOW + timedelta(days=1)):
        late = _lot(session, world, units=5, expires=TODAY + timedelta(days=1), number="A2")
        waiting = _send(session, world, late, 5)
    with clock.frozen(NOW + timedelta(days=2)), pytest.raises(InvalidInput) as expired:
        pharmacy.act(session, world.lead_admin, waiting.id, TransferAction.SHIP, waiting.version)
    assert expired.value.problems[0].field == "lot_id"


def test_shipping_exactly_the_units_held_empties_the_lot_and_one_more_is_refused(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        lot = _lot(session, world, units=100)
        with pytest.raises(InvalidInput) as exc:
            _send(session, world, lot, 101)
        assert exc.value.problems[0].field == "quantity"
        first, second = _send(session, world, lot, 100), _send(session, world, lot, 1)
        pharmacy.act(session, world.lead_admin, first.id, TransferAction.SHIP, first.version)
        session.refresh(lot)
        assert lot.quantity == 0
        with pytest.raises(Conflict, match="holds 0 units"):
            pharmacy.act(session, world.lead_admin, second.id, TransferAction.SHIP, second.version)
        assert second.state == TransferState.REQUESTED


def test_receipt_is_the_proof_of_delivery_and_adds_to_the_receivers_lot(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        lot = _lot(session, world, units=100)
        sent = _send(session, world, lot, 40)
        with pytest.raises(Conflict, match="allowed only from"):
            pharmacy.act(session, world.community_admin, sent.id, TransferAction.RECEIVE, 1)
        pharmacy.act(session, world.lead_admin, sent.id, TransferAction.SHIP, sent.version)
        with pytest.raises(Forbidden):  # the sender cannot sign for the receiver
            pharmacy.act(session, world.lead_admin, sent.id, TransferAction.RECEIVE, sent.version)
        with pytest.raises(Conflict, match="changed since you saw it"):
            pharmacy.act(session, world.community_admin, sent.id, TransferAction.RECEIVE, 1)
        pharmacy.act(session, world.community_admin, sent.id, TransferAction.RECEIVE, sent.version)
    assert (
        sent.state == TransferState.RECEIVED and sent.received_by == world.community_admin.username
    )
    unit = registry.require_institution(session, UNIT)
    lead = registry.require_institution(session, LEAD)
    held = {
        (r.institution_code, r.lot_number): r.quantity
        for r in pharmacy.lots(session, {unit.id, lead.id})
    }
    assert held == {(LEAD, "A1"): 60, (UNIT, "A1"): 40}
    with pytest.raises(Conflict):
        pharmacy.act(session, world.lead_admin, sent.id, TransferAction.CANCEL, sent.version)


def test_stock_moves_only_inside_a_network(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        lot = _lot(session, world)
        with pytest.raises(RuleViolation) as exc:
            pharmacy.request_transfer(
                session,
                SYSTEM,
                TransferIn(lot_id=lot.id, to_institution_code="jh-jd-duohu", quantity=1),
            )
        assert exc.value.requirement == "G2"
        with pytest.raises(InvalidInput):
            pharmacy.request_transfer(
                session, SYSTEM, TransferIn(lot_id=lot.id, to_institution_code=LEAD, quantity=1)
            )
        with pytest.raises(InvalidInput) as outside:
            pharmacy.receive_lot(
                session,
                world.lead_admin,
                LEAD,
                LotIn(item_code="NOT-LISTED", lot_number="X", expires_on=TODAY, quantity=1),
            )
        assert outside.value.problems[0].field == "item_code"
        with pytest.raises(Forbidden):
            pharmacy.request_transfer(
                session,
                world.community_admin,
                TransferIn(lot_id=lot.id, to_institution_code=UNIT, quantity=1),
            )


def test_the_database_refuses_a_negative_quantity(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        lot = _lot(session, world, units=3)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(StockLot).where(StockLot.id == lot.id).values(quantity=-1))


@pytest.fixture
def committed_lot(committed_world: World) -> Iterator[tuple[World, int, list[int]]]:
    """A committed catalogue line, a lot of 10 units at the lead and eight requested transfers
    of all 10; deleted afterwards so the rolled-back tests see the shipped catalogue only."""
    world, code = committed_world, f"RACE-{secrets.token_hex(3)}"
    with clock.frozen(UTC_NOW), session_scope() as session:
        text = f"code,kind,name_zh,source\n{code},drug,竞速药,ours\n".encode()
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text, file="race.csv")
        lot = pharmacy.receive_lot(
            session,
            SYSTEM,
            LEAD,
            LotIn(item_code=code, lot_number="R1", expires_on=TODAY, quantity=10),
        )
        sends = [
            pharmacy.request_transfer(
                session, SYSTEM, TransferIn(lot_id=lot.id, to_institution_code=UNIT, quantity=10)
            ).id
            for _ in range(8)
        ]
        lot_id = lot.id
    try:
        yield world, lot_id, sends
    finally:
        with session_scope() as session:
            session.execute(delete(Transfer).where(Transfer.lot_id == lot_id))
            session.execute(delete(StockLot).where(StockLot.id == lot_id))
            session.execute(delete(CatalogueItem).where(CatalogueItem.code == code))


def test_racing_shippers_of_the_last_units_exactly_one_wins(
    committed_lot: tuple[World, int, list[int]],
) -> None:
    world, lot_id, sends = committed_lot

    def ship(transfer_id: int) -> int:
        with session_scope() as session:
            return pharmacy.act(session, world.lead_admin, transfer_id, TransferAction.SHIP, 1).id

    results = race([functools.partial(ship, t) for t in sends])
    assert len(winners(results)) == 1, results
    assert_all_conflicts(results, len(sends) - 1)
    with session_scope() as session:
        assert session.scalar(select(StockLot.quantity).where(StockLot.id == lot_id)) == 0
        states = session.scalars(select(Transfer.state).where(Transfer.lot_id == lot_id)).all()
    assert sorted(states) == ["requested"] * 7 + ["shipped"]


def test_transfers_over_the_api(session: Session, world: World, client: TestClient) -> None:
    headers = bearer(session, world.lead_admin)
    with clock.frozen(NOW):
        received = client.post(
            f"/api/institutions/{LEAD}/lots",
            json={
                "item_code": AMLODIPINE,
                "lot_number": "A9",
                "expires_on": "2027-06-30",
                "quantity": 50,
            },
            headers=headers,
        )
        assert received.status_code == 201 and received.json()["quantity"] == 50
        negative = client.post(
            "/api/transfers",
            json={"lot_id": received.json()["id"], "to_institution_code": UNIT, "quantity": -5},
            headers=headers,
        )
        assert negative.status_code == 422 and "quantity" in negative.json()["detail"]
        sent = client.post(
            "/api/transfers",
            json={"lot_id": received.json()["id"], "to_institution_code": UNIT, "quantity": 50},
            headers=headers,
        )
        assert sent.status_code == 201
        shipped = client.post(
            f"/api/transfers/{sent.json()['id']}/ship", json={"version": 1}, headers=headers
        )
    assert shipped.status_code == 200 and shipped.json()["state"] == "shipped"
    listed = client.get(f"/api/networks/{NETWORK}/transfers", headers=headers).json()
    assert listed[0]["id"] == sent.json()["id"]
    stock = client.get(f"/api/institutions/{LEAD}/lots", headers=headers).json()
    assert all(r["lot_number"] != "A9" for r in stock)  # an empty lot is not listed
