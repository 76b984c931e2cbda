"""The network's procurement account, stock by lot and the transfers between members (G2).
Where the profile integrates ordering, distribution and payment (G4), a member's own
purchases are refused: its goods come through the network's orders (`procurement`).

Stock never goes below zero: a shipment subtracts with an UPDATE that matches only while the
lot still holds the units (`quantity >= :units`), and the table's check refuses a negative
quantity whatever the writer. A lot expiring today may still be shipped; an expired one may
not. Receipt by the receiving member is the proof of delivery and adds the units to its own
lot of the same number.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import Message, msg
from caregrid.pharmacy import catalogue, states
from caregrid.pharmacy.models import CatalogueItem, ProcurementAccount, StockLot, Transfer
from caregrid.pharmacy.schemas import AccountIn, LotIn, LotOut, TransferIn, TransferOut
from caregrid.pharmacy.vocab import Record, TransferAction, TransferState
from caregrid.policy import service as policy
from caregrid.registry import service as registry

INTEGRATION = "procurement_integration_required"


def _audit(
    session: Session, principal: Principal, action: str, subject: int, detail: dict[str, object]
) -> None:
    audit.record_for(
        session,
        principal,
        action,
        subject,
        purpose="pharmacy",
        subject_type="institution" if action.startswith(("lot", "transfer")) else "network",
        detail=detail,
    )


# --- the procurement account (G2) ---------------------------------------------------------


def open_account(
    session: Session, principal: Principal, network_code: str, data: AccountIn
) -> ProcurementAccount:
    """The network's one account for buying drugs and consumables; a second is refused."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "a network's procurement account is opened by its office"
    )
    held = account_of(session, network.id)
    if held is not None:
        raise _second_account(network_code, held)
    row = ProcurementAccount(
        network_id=network.id,
        name=data.name,
        account_number=data.account_number,
        opened_on=data.opened_on or clock.today(),
        opened_by=principal.username,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another office user opened one at the same moment
        held = account_of(session, network.id)
        assert held is not None
        raise _second_account(network_code, held) from None
    _audit(session, principal, "account.open", network.id, {"account": row.account_number})
    return row


def _second_account(network_code: str, held: ProcurementAccount) -> RuleViolation:
    return RuleViolation(
        "network {network} already buys through account {account}: one procurement account "
        "per network",
        requirement="G2",
        network=network_code,
        account=held.account_number,
    )


def account_of(session: Session, network_id: int) -> ProcurementAccount | None:
    return session.scalar(
        select(ProcurementAccount).where(ProcurementAccount.network_id == network_id)
    )


# --- stock by lot --------------------------------------------------------------------------


def _require_stock_keeper(session: Session, principal: Principal, institution_id: int) -> None:
    if not access.can_manage_institution(session, principal, institution_id):
        raise Forbidden(
            "an institution's stock is kept by its administrators or its network's office"
        )


def _catalogue_item(session: Session, institution_id: int, code: str) -> CatalogueItem:
    for network_id in sorted(registry.network_ids_of_institution(session, institution_id)):
        item = catalogue.item_by_code(session, network_id, code)
        if item is not None:
            return item
    raise InvalidInput(
        [
            Problem(
                "item_code",
                msg("{code!r} is not in the catalogue of this member's network", code=code),
            )
        ]
    )


def receive_lot(
    session: Session, principal: Principal, institution_code: str, data: LotIn
) -> StockLot:
    """Goods received into an institution's stock: a new lot, or more units of a lot it
    already holds (the same number must carry the same expiry). Where purchasing is
    integrated (G4) only an opening balance is taken this way: a lot the member held when it
    joined the network's purchasing, counted by the office."""
    institution = registry.require_institution(session, institution_code)
    _require_stock_keeper(session, principal, institution.id)
    if data.opening_balance:
        _require_office(session, principal, institution.id)
    else:
        _integrated(session, institution.id)
    item = _catalogue_item(session, institution.id, data.item_code)
    if data.opening_balance and _lot(session, institution.id, item.id, data.lot_number):
        raise InvalidInput(
            [Problem("lot_number", "is held here already: an opening balance opens a lot")]
        )
    if data.expires_on < clock.today():
        raise InvalidInput([Problem("expires_on", "the lot has expired")])
    mismatch = expiry_mismatch(session, institution.id, item.id, data.lot_number, data.expires_on)
    if mismatch is not None:
        raise InvalidInput([Problem("expires_on", mismatch)])
    lot = put(session, institution.id, item.id, data.lot_number, data.expires_on, data.quantity)
    _audit(
        session,
        principal,
        "lot.opening" if data.opening_balance else "lot.receive",
        institution.id,
        {"item": item.code, "lot": data.lot_number, "units": data.quantity},
    )
    session.refresh(lot)
    return lot


def _require_office(session: Session, principal: Principal, institution_id: int) -> None:
    networks = registry.network_ids_of_institution(session, institution_id)
    if not any(access.is_network_office(principal, n) for n in networks):
        raise Forbidden(
            "a member's opening balance is counted and recorded by its network's office"
        )


def _integrated(session: Session, institution_id: int) -> None:
    """Where the profile has integrated ordering, distribution and payment (G4), goods reach
    a member only through the network's orders and transfers, not bought on its own."""
    today = clock.today()
    for network_id in sorted(registry.network_ids_of_institution(session, institution_id)):
        network = registry.get_network_by_id(session, network_id)
        if policy.get(network.profile).parameter(INTEGRATION, today):
            raise RuleViolation(
                "in network {network} ordering, distribution and payment are integrated: "
                "goods arrive through the network's procurement orders and transfers",
                requirement="G4",
                network=network.code,
            )


def expiry_mismatch(
    session: Session, institution_id: int, item_id: int, number: str, expires_on: date
) -> Message | None:
    """Why more units of a lot cannot carry this expiry: the lot held here has another."""
    lot = _lot(session, institution_id, item_id, number)
    if lot is None or lot.expires_on == expires_on:
        return None
    return msg("lot {lot} here expires on {on}", lot=number, on=lot.expires_on)


def put(
    session: Session, institution_id: int, item_id: int, number: str, expires_on: date, units: int
) -> StockLot:
    """Units into an institution's lot, opening it if it is new (callers check expiry)."""
    lot = _lot(session, institution_id, item_id, number)
    if lot is None:
        lot = StockLot(
            institution_id=institution_id,
            item_id=item_id,
            lot_number=number,
            expires_on=expires_on,
            quantity=0,
        )
        session.add(lot)
        session.flush()
    _add(session, lot.id, units)
    return lot


def _lot(session: Session, institution_id: int, item_id: int, number: str) -> StockLot | None:
    return session.scalar(
        select(StockLot).where(
            StockLot.institution_id == institution_id,
            StockLot.item_id == item_id,
            StockLot.lot_number == number,
        )
    )


def _add(session: Session, lot_id: int, units: int) -> None:
    session.execute(
        update(StockLot).where(StockLot.id == lot_id).values(quantity=StockLot.quantity + units)
    )


def take(session: Session, lot_id: int, units: int) -> bool:
    """Subtract units from a lot if it still holds them; False (nothing changed) if not. The
    one place stock goes down: concurrent takers of the last units cannot both succeed."""
    done = session.execute(
        update(StockLot)
        .where(StockLot.id == lot_id, StockLot.quantity >= units)
        .values(quantity=StockLot.quantity - units)
    )
    return bool(getattr(done, "rowcount", 0))


def lots(session: Session, institution_ids: set[int]) -> list[LotOut]:
    """Stock held, soonest expiry first; empty lots are left out."""
    codes = registry.codes_by_id(session)
    rows = session.execute(
        select(StockLot, CatalogueItem)
        .join(CatalogueItem, CatalogueItem.id == StockLot.item_id)
        .where(StockLot.institution_id.in_(institution_ids), StockLot.quantity > 0)
        .order_by(StockLot.expires_on, StockLot.id)
    )
    return [
        LotOut(
            id=lot.id,
            institution_code=codes[lot.institution_id],
            item_code=item.code,
            item_name_zh=item.name_zh,
            lot_number=lot.lot_number,
            expires_on=lot.expires_on,
            quantity=lot.quantity,
        )
        for lot, item in rows
    ]


# --- transfers between members ------------------------------------------------------------


def _usable(lot: StockLot, today: date) -> None:
    if lot.expires_on < today:
        raise InvalidInput(
            [
                Problem(
                    "lot_id",
                    msg("lot {lot} expired on {on}", lot=lot.lot_number, on=lot.expires_on),
                )
            ]
        )


def request_transfer(session: Session, principal: Principal, data: TransferIn) -> Transfer:
    """Units of a lot to send to another member of the same network; nothing moves until it
    is shipped."""
    lot = session.get(StockLot, data.lot_id)
    if lot is None:
        raise NotFound("no lot {lot_id}", lot_id=data.lot_id)
    _require_stock_keeper(session, principal, lot.institution_id)
    to = registry.require_institution(session, data.to_institution_code)
    shared = registry.network_ids_of_institution(session, lot.institution_id)
    shared &= registry.network_ids_of_institution(session, to.id)
    if to.id == lot.institution_id:
        raise InvalidInput(
            [Problem("to_institution_code", "is the institution that holds the lot")]
        )
    if not shared:
        raise RuleViolation(
            "{to} is not in a network with the lot's holder: stock moves inside a network",
            requirement="G2",
            to=data.to_institution_code,
        )
    _usable(lot, clock.today())
    if data.quantity > lot.quantity:
        raise InvalidInput(
            [
                Problem(
                    "quantity",
                    msg("lot {lot} holds {held} units", lot=lot.lot_number, held=lot.quantity),
                )
            ]
        )
    row = propose(session, principal, min(shared), lot, to.id, data.quantity)
    _audit(
        session,
        principal,
        "transfer.request",
        lot.institution_id,
        {"transfer": row.id, "to": to.code, "units": data.quantity},
    )
    return row


def propose(
    session: Session,
    principal: Principal,
    network_id: int,
    lot: StockLot,
    to_institution_id: int,
    units: int,
    requisition_line_id: int | None = None,
    regimen_line_id: int | None = None,
) -> Transfer:
    """A requested transfer (callers have checked the lot, the places and the units)."""
    row = Transfer(
        network_id=network_id,
        from_institution_id=lot.institution_id,
        to_institution_id=to_institution_id,
        lot_id=lot.id,
        quantity=units,
        state=TransferState.REQUESTED,
        requested_by=principal.username,
        requested_at=clock.now(),
        requisition_line_id=requisition_line_id,
        regimen_line_id=regimen_line_id,
    )
    session.add(row)
    session.flush()
    return row


def act(
    session: Session, principal: Principal, transfer_id: int, action: TransferAction, version: int
) -> Transfer:
    """The one place a transfer changes state: ship (the units leave the sender's lot),
    receive (they join the receiver's lot) or cancel."""
    row = session.get(Transfer, transfer_id)
    if row is None:
        raise NotFound("no transfer {transfer_id}", transfer_id=transfer_id)
    states.seen(Record.TRANSFER, row.id, version, row.version)
    target = states.advance(Record.TRANSFER, row.id, TransferState(row.state), action)
    keeper = row.to_institution_id if action == TransferAction.RECEIVE else row.from_institution_id
    _require_stock_keeper(session, principal, keeper)
    lot = session.get(StockLot, row.lot_id)
    assert lot is not None
    now = clock.now()
    if action == TransferAction.SHIP:
        _usable(lot, now.date())
        if not take(session, lot.id, row.quantity):
            session.refresh(lot)
            raise Conflict(
                "lot {lot} holds {held} units, fewer than the {units} to ship",
                lot=lot.lot_number,
                held=lot.quantity,
                units=row.quantity,
            )
        row.shipped_at = now
    elif action == TransferAction.RECEIVE:
        put(
            session,
            row.to_institution_id,
            lot.item_id,
            lot.lot_number,
            lot.expires_on,
            row.quantity,
        )
        row.received_by = principal.username
        row.received_at = now
    row.state = target
    states.flush(session, Record.TRANSFER, row.id)
    _audit(
        session,
        principal,
        f"transfer.{action.value}",
        keeper,
        {"transfer": row.id, "units": row.quantity},
    )
    return row


def transfers(session: Session, network_id: int) -> list[TransferOut]:
    """The network's transfers, newest first."""
    codes = registry.codes_by_id(session)
    rows = session.execute(
        select(Transfer, StockLot, CatalogueItem)
        .join(StockLot, StockLot.id == Transfer.lot_id)
        .join(CatalogueItem, CatalogueItem.id == StockLot.item_id)
        .where(Transfer.network_id == network_id)
        .order_by(Transfer.id.desc())
    )
    return [view(t, lot, item, codes) for t, lot, item in rows]


def transfer_view(session: Session, row: Transfer) -> TransferOut:
    lot = session.get(StockLot, row.lot_id)
    assert lot is not None
    item = session.get(CatalogueItem, lot.item_id)
    assert item is not None
    return view(row, lot, item, registry.codes_by_id(session))


def view(row: Transfer, lot: StockLot, item: CatalogueItem, codes: dict[int, str]) -> TransferOut:
    return TransferOut(
        id=row.id,
        state=TransferState(row.state),
        version=row.version,
        from_institution_code=codes[row.from_institution_id],
        to_institution_code=codes[row.to_institution_id],
        item_code=item.code,
        lot_number=lot.lot_number,
        quantity=row.quantity,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        shipped_at=row.shipped_at,
        received_by=row.received_by,
        received_at=row.received_at,
    )
