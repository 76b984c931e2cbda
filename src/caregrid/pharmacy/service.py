"""The pharmacy domain's entry (G1-G3): the network's catalogue and the members' lists
(`catalogue`), the procurement account, stock and transfers (`stock`), and the facts the
indicators read."""

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
from caregrid.pharmacy.models import CatalogueItem, Listing, ProcurementAccount, StockLot, Transfer
from caregrid.pharmacy.stock import (
    TRANSITIONS,
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
    "CatalogueItem",
    "Listing",
    "ProcurementAccount",
    "StockLot",
    "Transfer",
    "account_of",
    "act",
    "code_shapes",
    "facts",
    "import_catalogue",
    "import_listing",
    "item_by_code",
    "items",
    "listing",
    "lots",
    "open_account",
    "outside",
    "parse_items",
    "receive_lot",
    "request_transfer",
    "starter_file",
    "take",
    "transfer_view",
    "transfers",
]


def facts(session: Session, on: date) -> dict[str, list[dict[str, object]]]:
    """What the pharmacy records, as facts: the members' lists read on `on`."""
    return {"catalogue_listing": listing_facts(session, on)}
