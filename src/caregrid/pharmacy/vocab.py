"""Names of the pharmacy domain's kinds, classes and states (no rules, no policy numbers)."""

from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    """A catalogue line is a drug or a medical consumable (G1: one catalogue for both)."""

    DRUG = "drug"
    CONSUMABLE = "consumable"


class InsuranceClass(StrEnum):
    """The national insurance drug list's class: 甲 (class A, fully covered) or 乙 (class B,
    covered after a co-payment)."""

    A = "A"
    B = "B"


class TransferState(StrEnum):
    """A stock transfer between two institutions of the network (G2 distribution): requested,
    shipped (the units have left the sender's lot) and received (proof of delivery), or
    cancelled before shipping."""

    REQUESTED = "requested"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class TransferAction(StrEnum):
    SHIP = "ship"
    RECEIVE = "receive"
    CANCEL = "cancel"


class RequisitionState(StrEnum):
    """A member's request for goods from the network's next order (G2): submitted, ordered
    (its lines are in a consolidated order) or cancelled before ordering."""

    SUBMITTED = "submitted"
    ORDERED = "ordered"
    CANCELLED = "cancelled"


class RequisitionAction(StrEnum):
    ORDER = "order"  # taken into a consolidated order
    RETURN = "return"  # its order was cancelled: it waits for the next one
    CANCEL = "cancel"


class ProcurementOrderState(StrEnum):
    """A consolidated purchase order to one supplier from the network's one account (G2):
    placed, received (the goods are in stock and distribution is proposed), paid, or
    cancelled before receipt."""

    PLACED = "placed"
    RECEIVED = "received"
    PAID = "paid"
    CANCELLED = "cancelled"


class ProcurementOrderAction(StrEnum):
    RECEIVE = "receive"
    PAY = "pay"
    CANCEL = "cancel"


class PrescriptionState(StrEnum):
    """A prescription (G5, J7): issued to a pharmacy of the network (its own or another
    member's: a cloud prescription), then dispensed, refused by that pharmacy with a reason,
    or cancelled by its prescriber before dispensing."""

    ISSUED = "issued"
    DISPENSED = "dispensed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class PrescriptionAction(StrEnum):
    ROUTE = "route"  # sent to another member's pharmacy
    DISPENSE = "dispense"
    REFUSE = "refuse"
    CANCEL = "cancel"


class RegimenOutcome(StrEnum):
    """What the check of a down-referred patient's discharge regimen found for one drug at
    the receiving member (G6): held there, a listed drug of the same molecule held instead,
    or flagged (with a transfer proposed from the lead where it holds the drug)."""

    AVAILABLE = "available"
    SUBSTITUTE = "substitute"
    FLAGGED = "flagged"


class Record(StrEnum):
    """The pharmacy's records that change state, as a refusal names them."""

    REQUISITION = "requisition"
    ORDER = "purchase order"
    TRANSFER = "transfer"
    PRESCRIPTION = "prescription"
