"""The pharmacy's one transition table (G2, G5): for each record and action, the states it
may start from and the state it leads to. Every change of a requisition's, an order's, a
transfer's or a prescription's state goes through `advance`, so the pages, the API and the
services cannot disagree about what is allowed."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caregrid.errors import Conflict
from caregrid.i18n import listing
from caregrid.pharmacy.vocab import (
    PrescriptionAction,
    PrescriptionState,
    ProcurementOrderAction,
    ProcurementOrderState,
    Record,
    RequisitionAction,
    RequisitionState,
    TransferAction,
    TransferState,
)

Step = tuple[frozenset[StrEnum], StrEnum]

TRANSITIONS: dict[tuple[Record, StrEnum], Step] = {
    (Record.REQUISITION, RequisitionAction.ORDER): (
        frozenset({RequisitionState.SUBMITTED}),
        RequisitionState.ORDERED,
    ),
    (Record.REQUISITION, RequisitionAction.RETURN): (
        frozenset({RequisitionState.ORDERED}),
        RequisitionState.SUBMITTED,
    ),
    (Record.REQUISITION, RequisitionAction.CANCEL): (
        frozenset({RequisitionState.SUBMITTED}),
        RequisitionState.CANCELLED,
    ),
    (Record.ORDER, ProcurementOrderAction.RECEIVE): (
        frozenset({ProcurementOrderState.PLACED}),
        ProcurementOrderState.RECEIVED,
    ),
    (Record.ORDER, ProcurementOrderAction.PAY): (
        frozenset({ProcurementOrderState.RECEIVED}),
        ProcurementOrderState.PAID,
    ),
    (Record.ORDER, ProcurementOrderAction.CANCEL): (
        frozenset({ProcurementOrderState.PLACED}),
        ProcurementOrderState.CANCELLED,
    ),
    (Record.TRANSFER, TransferAction.SHIP): (
        frozenset({TransferState.REQUESTED}),
        TransferState.SHIPPED,
    ),
    (Record.TRANSFER, TransferAction.CANCEL): (
        frozenset({TransferState.REQUESTED}),
        TransferState.CANCELLED,
    ),
    (Record.TRANSFER, TransferAction.RECEIVE): (
        frozenset({TransferState.SHIPPED}),
        TransferState.RECEIVED,
    ),
    (Record.PRESCRIPTION, PrescriptionAction.ROUTE): (
        frozenset({PrescriptionState.ISSUED}),
        PrescriptionState.ISSUED,
    ),
    (Record.PRESCRIPTION, PrescriptionAction.DISPENSE): (
        frozenset({PrescriptionState.ISSUED}),
        PrescriptionState.DISPENSED,
    ),
    (Record.PRESCRIPTION, PrescriptionAction.REFUSE): (
        frozenset({PrescriptionState.ISSUED}),
        PrescriptionState.REFUSED,
    ),
    (Record.PRESCRIPTION, PrescriptionAction.CANCEL): (
        frozenset({PrescriptionState.ISSUED}),
        PrescriptionState.CANCELLED,
    ),
}


def offered(record: Record, state: str) -> list[StrEnum]:
    """The actions a record in `state` offers, in the table's order."""
    return [a for (r, a), (sources, _) in TRANSITIONS.items() if r == record and state in sources]


def advance(record: Record, number: int, state: StrEnum, action: StrEnum) -> str:
    """The state `action` leads to, or a conflict naming the states it is allowed from."""
    sources, target = TRANSITIONS[(record, action)]
    if state not in sources:
        raise Conflict(
            "{record} {id} is {state}; '{action}' is allowed only from {sources}",
            record=record,
            id=number,
            state=state,
            action=action,
            sources=listing(sorted(sources)),
        )
    return target.value


def seen(record: Record, number: int, version: int, now: int) -> None:
    """The reader acted on the version they saw, or is told to reload."""
    if version != now:
        raise Conflict(
            "{record} {id} has changed since you saw it (version {seen}, now {now}); reload",
            record=record,
            id=number,
            seen=version,
            now=now,
        )


def flush(session: Session, record: Record, number: int) -> None:
    """Write; a row someone else changed at the same moment is a conflict, not a 500."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "{record} {id} was changed by someone else at the same moment; reload",
            record=record,
            id=number,
        ) from None
