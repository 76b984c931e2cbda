"""REST API of the network's catalogue, members' lists, procurement account, requisitions,
consolidated orders, stock and transfers (G1-G4)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.indicators import service as indicators
from caregrid.indicators.schemas import FigureOut
from caregrid.pharmacy import prescriptions
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.schemas import (
    AccountIn,
    AccountOut,
    ConsolidateIn,
    DispenseIn,
    ItemOut,
    ListingOut,
    LotIn,
    LotOut,
    OrderOut,
    PaymentIn,
    PrescriptionIn,
    PrescriptionOut,
    ReceiptIn,
    RefuseIn,
    RegimenCheckIn,
    RegimenCheckOut,
    RequisitionIn,
    RequisitionOut,
    RouteIn,
    TransferIn,
    TransferOut,
    VersionIn,
)
from caregrid.pharmacy.vocab import TransferAction
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User
from caregrid.web.inputs import SHEET_BODY

router = APIRouter(prefix="/api", tags=["pharmacy"])

# Every figure the pharmacy page and this API show, all indicator definitions (pharmacy.yaml).
FIGURES = ("PH1", "PH2", "PH3", "PH4", "PH5", "PH6", "PH7", "PH8")


class MemberFiguresOut(BaseModel):
    institution_code: str
    name_zh: str
    figures: dict[str, FigureOut]
    outside: list[ListingOut]  # the lines the network's catalogue lacks


class PharmacyMeasuresOut(BaseModel):
    network_code: str
    year: int
    as_of: date
    figures: dict[str, FigureOut]  # the network as a whole
    members: list[MemberFiguresOut]


def network_measures(
    session: Session, principal: Principal, code: str, year: int | None
) -> PharmacyMeasuresOut:
    """Alignment and essential share per member and for the network, with each member's
    lines outside the catalogue; for the network's office and the commission."""
    network = registry.get_network(session, code)
    access.require_network_office(
        principal, network.id, "these measures are for the network's office and the commission"
    )
    chosen = year if year is not None else clock.today().year
    period = indicators.year_period(chosen, clock.today())
    rows = indicators.network_rows(session, code, FIGURES, period)
    ids = {c: i for i, c in registry.codes_by_id(session).items()}
    outside = pharmacy.outside(session, network.id)
    members = [
        MemberFiguresOut(
            institution_code=r.code,
            name_zh=r.name,
            figures={i: FigureOut.of(f) for i, f in r.figures.items()},
            outside=outside.get(ids[r.code], []),
        )
        for r in rows
        if r.code != network.code
    ]
    total = next(r for r in rows if r.code == network.code)
    return PharmacyMeasuresOut(
        network_code=network.code,
        year=chosen,
        as_of=min(clock.today(), indicators.period_end(period)),
        figures={i: FigureOut.of(f) for i, f in total.figures.items()},
        members=members,
    )


@router.get("/networks/{code}/catalogue", response_model=list[ItemOut])
def catalogue(code: str, session: DB, user: User) -> list[ItemOut]:
    """The network's one catalogue of drugs and consumables, essential medicines first."""
    network = registry.get_network(session, code)
    return [ItemOut.model_validate(i) for i in pharmacy.items(session, network.id)]


@router.post(
    "/networks/{code}/catalogue/import",
    response_model=list[ItemOut],
    status_code=201,
    openapi_extra=SHEET_BODY,
)
async def import_catalogue(request: Request, code: str, session: DB, user: User) -> list[ItemOut]:
    """The catalogue as CSV or Excel (`data/pharmacy/starter-catalogue.csv` shows the
    columns): all rows or none, every bad cell with its row and column."""
    rows = pharmacy.import_catalogue(session, user, code, await request.body(), file="catalogue")
    return [ItemOut.model_validate(i) for i in rows]


@router.get("/networks/{code}/pharmacy", response_model=PharmacyMeasuresOut)
def measures(
    code: str, session: DB, user: User, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> PharmacyMeasuresOut:
    return network_measures(session, user, code, year)


@router.get("/institutions/{code}/listing", response_model=list[ListingOut])
def member_listing(code: str, session: DB, user: User) -> list[ListingOut]:
    """A member's own list, the lines its network's catalogue lacks first."""
    institution = registry.require_institution(session, code)
    return pharmacy.listing(session, institution.id)


@router.post(
    "/institutions/{code}/listing/import",
    response_model=list[ListingOut],
    status_code=201,
    openapi_extra=SHEET_BODY,
)
async def import_listing(request: Request, code: str, session: DB, user: User) -> list[ListingOut]:
    """A member's whole list (`code,name_zh`) as CSV or Excel, replacing the one before."""
    pharmacy.import_listing(session, user, code, await request.body(), file="listing")
    institution = registry.require_institution(session, code)
    return pharmacy.listing(session, institution.id)


@router.post("/networks/{code}/procurement-account", response_model=AccountOut, status_code=201)
def open_account(code: str, body: AccountIn, session: DB, user: User) -> AccountOut:
    """The network's one procurement account (G2); a second is refused."""
    row = pharmacy.open_account(session, user, code, body)
    return AccountOut(
        id=row.id,
        network_code=code,
        name=row.name,
        account_number=row.account_number,
        opened_on=row.opened_on,
    )


@router.post("/institutions/{code}/lots", response_model=LotOut, status_code=201)
def receive_lot(code: str, body: LotIn, session: DB, user: User) -> LotOut:
    """Goods received into the institution's stock."""
    lot = pharmacy.receive_lot(session, user, code, body)
    return next(r for r in pharmacy.lots(session, {lot.institution_id}) if r.id == lot.id)


@router.get("/institutions/{code}/lots", response_model=list[LotOut])
def institution_lots(code: str, session: DB, user: User) -> list[LotOut]:
    """What the institution holds, soonest expiry first (stock is visible across the group)."""
    institution = registry.require_institution(session, code)
    return pharmacy.lots(session, {institution.id})


@router.get("/networks/{code}/transfers", response_model=list[TransferOut])
def network_transfers(code: str, session: DB, user: User) -> list[TransferOut]:
    network = registry.get_network(session, code)
    return pharmacy.transfers(session, network.id)


@router.post("/transfers", response_model=TransferOut, status_code=201)
def request_transfer(body: TransferIn, session: DB, user: User) -> TransferOut:
    """Units of a lot for another member; nothing moves until it is shipped."""
    return pharmacy.transfer_view(session, pharmacy.request_transfer(session, user, body))


@router.post("/transfers/{transfer_id}/{action}", response_model=TransferOut)
def act_on_transfer(
    transfer_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    action: TransferAction,
    body: VersionIn,
    session: DB,
    user: User,
) -> TransferOut:
    """Ship (the units leave the sender's lot), receive (proof of delivery) or cancel."""
    row = pharmacy.act(session, user, transfer_id, action, body.version)
    return pharmacy.transfer_view(session, row)


@router.get("/networks/{code}/requisitions", response_model=list[RequisitionOut])
def network_requisitions(code: str, session: DB, user: User) -> list[RequisitionOut]:
    """The office sees every requisition; a member's administrators see their own."""
    return pharmacy.visible_requisitions(session, user, code)


@router.post("/networks/{code}/requisitions", response_model=RequisitionOut, status_code=201)
def submit_requisition(code: str, body: RequisitionIn, session: DB, user: User) -> RequisitionOut:
    """A member's request for goods from the network's next consolidated order."""
    row = pharmacy.submit_requisition(session, user, code, body)
    return pharmacy.requisitions(session, row.network_id, [row.id])[0]


@router.post("/requisitions/{requisition_id}/cancel", response_model=RequisitionOut)
def cancel_requisition(
    requisition_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: VersionIn,
    session: DB,
    user: User,
) -> RequisitionOut:
    row = pharmacy.cancel_requisition(session, user, requisition_id, body.version)
    return pharmacy.requisitions(session, row.network_id, [row.id])[0]


@router.get("/networks/{code}/orders", response_model=list[OrderOut])
def network_orders(code: str, session: DB, user: User) -> list[OrderOut]:
    """The office sees every order; a member's administrators the orders delivered to it."""
    return pharmacy.visible_orders(session, user, code)


@router.post("/networks/{code}/orders", response_model=list[OrderOut], status_code=201)
def consolidate(code: str, body: ConsolidateIn, session: DB, user: User) -> list[OrderOut]:
    """Every waiting requisition into one order per supplier, from the network's account."""
    placed = pharmacy.consolidate(session, user, code, body)
    return pharmacy.orders(session, placed[0].network_id, [o.id for o in placed])


@router.post("/orders/{order_id}/receive", response_model=OrderOut)
def receive_order(
    order_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: ReceiptIn,
    session: DB,
    user: User,
) -> OrderOut:
    """The goods that arrived, by lot; transfers to the requesting members are proposed."""
    row = pharmacy.receive_order(session, user, order_id, body)
    return pharmacy.orders(session, row.network_id, [row.id])[0]


@router.post("/orders/{order_id}/pay", response_model=OrderOut)
def pay_order(
    order_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: PaymentIn,
    session: DB,
    user: User,
) -> OrderOut:
    """The order's one payment, for what was received."""
    row = pharmacy.pay_order(session, user, order_id, body)
    return pharmacy.orders(session, row.network_id, [row.id])[0]


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel_order(
    order_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: VersionIn,
    session: DB,
    user: User,
) -> OrderOut:
    """Withdrawn before the goods arrive; its requisitions wait for the next order."""
    row = pharmacy.cancel_order(session, user, order_id, body.version)
    return pharmacy.orders(session, row.network_id, [row.id])[0]


PRESCRIPTION_ID = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/prescriptions", response_model=PrescriptionOut, status_code=201)
def write_prescription(body: PrescriptionIn, session: DB, user: User) -> PrescriptionOut:
    """A prescription to the prescriber's own pharmacy or, named, another member's (G5)."""
    row = prescriptions.write(session, user, body)
    return prescriptions.views(session, [row])[0]


@router.get("/prescriptions/{prescription_id}", response_model=PrescriptionOut)
def read_prescription(prescription_id: PRESCRIPTION_ID, session: DB, user: User) -> PrescriptionOut:
    return prescriptions.get(session, user, prescription_id)


@router.post("/prescriptions/{prescription_id}/route", response_model=PrescriptionOut)
def route_prescription(
    prescription_id: PRESCRIPTION_ID, body: RouteIn, session: DB, user: User
) -> PrescriptionOut:
    """Sent on to another member's pharmacy, checked against its catalogue."""
    row = prescriptions.route(session, user, prescription_id, body)
    return prescriptions.views(session, [row])[0]


@router.post("/prescriptions/{prescription_id}/dispense", response_model=PrescriptionOut)
def dispense_prescription(
    prescription_id: PRESCRIPTION_ID, body: DispenseIn, session: DB, user: User
) -> PrescriptionOut:
    """Every item handed over from the pharmacy's lots (named, or the soonest-expiring)."""
    row = prescriptions.dispense(session, user, prescription_id, body)
    return prescriptions.views(session, [row])[0]


@router.post("/prescriptions/{prescription_id}/refuse", response_model=PrescriptionOut)
def refuse_prescription(
    prescription_id: PRESCRIPTION_ID, body: RefuseIn, session: DB, user: User
) -> PrescriptionOut:
    row = prescriptions.refuse(session, user, prescription_id, body)
    return prescriptions.views(session, [row])[0]


@router.post("/prescriptions/{prescription_id}/cancel", response_model=PrescriptionOut)
def cancel_prescription(
    prescription_id: PRESCRIPTION_ID, body: VersionIn, session: DB, user: User
) -> PrescriptionOut:
    row = prescriptions.cancel(session, user, prescription_id, body.version)
    return prescriptions.views(session, [row])[0]


@router.get("/institutions/{code}/prescriptions", response_model=list[PrescriptionOut])
def pharmacy_queue(code: str, session: DB, user: User) -> list[PrescriptionOut]:
    """The prescriptions a member's pharmacy holds to dispense, then those it closed."""
    return prescriptions.queue(session, user, code)


@router.get("/residents/{resident_id}/prescriptions", response_model=list[PrescriptionOut])
def resident_prescriptions(
    resident_id: Annotated[int, Path(ge=1, le=2_147_483_647)], session: DB, user: User
) -> list[PrescriptionOut]:
    """A patient's medicines across the network, for those in their care."""
    return prescriptions.of_resident(session, user, resident_id)


@router.post("/regimen-checks", response_model=RegimenCheckOut)
def check_regimen(body: RegimenCheckIn, session: DB, user: User) -> RegimenCheckOut:
    """A discharge regimen checked against the receiving member before the down referral is
    sent (G6): each drug available, substitutable or flagged, with what the lead holds.
    Nothing is written; the referral itself keeps the check and proposes the transfers."""
    return pharmacy.preview_regimen(session, user, body)


@router.get("/residents/{resident_id}/regimens", response_model=list[RegimenCheckOut])
def resident_regimens(
    resident_id: Annotated[int, Path(ge=1, le=2_147_483_647)], session: DB, user: User
) -> list[RegimenCheckOut]:
    """The regimens a patient was referred down with, as checked, newest first."""
    return pharmacy.resident_regimens(session, user, resident_id)
