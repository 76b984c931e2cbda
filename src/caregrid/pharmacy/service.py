"""The pharmacy domain's entry (G1-G5): the network's catalogue and the members' lists
(`catalogue`), the procurement account, stock and transfers (`stock`), requisitions and the
consolidated orders (`procurement`), prescriptions and dispensing (`prescriptions`), the one
transition table (`states`), the check of a down-referred patient's regimen (`continuity`),
and the facts the indicators read."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from caregrid.pharmacy.catalogue import (
    code_shapes,
    import_catalogue,
    import_listing,
    item_by_code,
    items,
    listing,
    listing_facts,
    outside,
    parse_items,
    starter_file,
)
from caregrid.pharmacy.continuity import Assessment, regimen_facts
from caregrid.pharmacy.continuity import assess as assess_regimen
from caregrid.pharmacy.continuity import of_referral as referral_regimen
from caregrid.pharmacy.continuity import of_resident as resident_regimens
from caregrid.pharmacy.continuity import preview as preview_regimen
from caregrid.pharmacy.continuity import record as record_regimen
from caregrid.pharmacy.models import (
    CatalogueItem,
    Listing,
    ProcurementAccount,
    ProcurementOrder,
    Requisition,
    StockLot,
    Transfer,
)
from caregrid.pharmacy.prescriptions import cancel as cancel_prescription
from caregrid.pharmacy.prescriptions import dispense, prescription_facts, refuse, route
from caregrid.pharmacy.prescriptions import get as prescription
from caregrid.pharmacy.prescriptions import of_resident as resident_prescriptions
from caregrid.pharmacy.prescriptions import queue as pharmacy_queue
from caregrid.pharmacy.prescriptions import views as prescription_views
from caregrid.pharmacy.prescriptions import write as prescribe
from caregrid.pharmacy.procurement import (
    cancel_order,
    cancel_requisition,
    consolidate,
    due,
    orders,
    pay_order,
    receive_order,
    requisitions,
    submit_requisition,
    visible_orders,
    visible_requisitions,
)
from caregrid.pharmacy.states import TRANSITIONS, offered
from caregrid.pharmacy.stock import (
    account_of,
    act,
    lots,
    open_account,
    receive_lot,
    request_transfer,
    take,
    transfer_view,
    transfers,
)

__all__ = [
    "TRANSITIONS",
    "Assessment",
    "CatalogueItem",
    "Listing",
    "ProcurementAccount",
    "ProcurementOrder",
    "Requisition",
    "StockLot",
    "Transfer",
    "account_of",
    "act",
    "assess_regimen",
    "cancel_order",
    "cancel_prescription",
    "cancel_requisition",
    "code_shapes",
    "consolidate",
    "dispense",
    "due",
    "facts",
    "import_catalogue",
    "import_listing",
    "item_by_code",
    "items",
    "listing",
    "lots",
    "offered",
    "open_account",
    "orders",
    "outside",
    "parse_items",
    "pay_order",
    "pharmacy_queue",
    "prescribe",
    "prescription",
    "prescription_facts",
    "prescription_views",
    "preview_regimen",
    "receive_lot",
    "receive_order",
    "record_regimen",
    "referral_regimen",
    "refuse",
    "request_transfer",
    "requisitions",
    "resident_prescriptions",
    "resident_regimens",
    "route",
    "starter_file",
    "submit_requisition",
    "take",
    "transfer_view",
    "transfers",
    "visible_orders",
    "visible_requisitions",
]


def facts(session: Session, on: date) -> dict[str, list[dict[str, object]]]:
    """What the pharmacy records, as facts: the members' lists and stock read on `on`, every
    prescription's items, and every down referral's regimen check."""
    return {
        "catalogue_listing": listing_facts(session, on),
        "prescription_item": prescription_facts(session),
        "regimen_check": regimen_facts(session),
    }
