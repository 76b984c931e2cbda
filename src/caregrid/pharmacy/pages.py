"""HTML page of the network's pharmacy for its office and the commission: alignment and
essential share per member with the lines outside the catalogue, the catalogue itself (and
its import), the procurement account, stock by lot across the members and the transfers
between them. Thin: the rules live in `pharmacy.service`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.api import FIGURES, network_measures
from caregrid.pharmacy.schemas import AccountIn, TransferIn
from caregrid.pharmacy.vocab import TransferAction, TransferState
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User, Year
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)

# What each state offers on the page, in the order of the transition table.
OFFERED = {
    TransferState.REQUESTED: (TransferAction.SHIP, TransferAction.CANCEL),
    TransferState.SHIPPED: (TransferAction.RECEIVE,),
}


def _page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    year: int | None = None,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = network_measures(session, user, code, year)
    network = registry.get_network(session, code)
    members = sorted((m.institution for m in network.memberships), key=lambda i: i.code)
    return render(
        request,
        "pharmacy/network.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        found=found,
        year=found.year,
        figures=FIGURES,
        network=network,
        members=members,
        names={m.code: m.name_zh for m in members},
        items=pharmacy.items(session, network.id),
        account=pharmacy.account_of(session, network.id),
        lots=pharmacy.lots(session, {m.id for m in members}),
        transfers=pharmacy.transfers(session, network.id),
        offered=OFFERED,
        today=clock.today(),
    )


@router.get("/networks/{code}/pharmacy", response_class=HTMLResponse)
def pharmacy_page(
    code: str, request: Request, session: DB, user: User, year: Year = None
) -> Response:
    """Catalogue alignment (G1), essential medicines (G3), account, stock and transfers (G2)."""
    return _page(request, session, user, code, year)


def _on(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    form: str,
    work: Callable[[], object],
    typed: dict[str, str] | None = None,
) -> Response:
    return submit(
        session,
        form,
        lambda: None,
        lambda _: work(),
        refused=lambda error: _page(request, session, user, code, None, error, typed),
        done=lambda _: f"/networks/{code}/pharmacy",
    )


@router.post("/networks/{code}/pharmacy/catalogue", response_class=HTMLResponse)
async def import_catalogue(
    code: str, request: Request, session: DB, user: User, file: UploadFile
) -> Response:
    """The office uploads its catalogue (CSV or Excel): all rows or none."""
    data = await file.read()
    name = file.filename or "catalogue"
    return _on(
        request,
        session,
        user,
        code,
        "catalogue",
        lambda: pharmacy.import_catalogue(session, user, code, data, file=name),
    )


@router.post("/networks/{code}/pharmacy/account", response_class=HTMLResponse)
def open_account(
    code: str,
    request: Request,
    session: DB,
    user: User,
    name: Annotated[str, Form()] = "",
    account_number: Annotated[str, Form()] = "",
) -> Response:
    typed = {"name": name.strip(), "account_number": account_number.strip()}
    return submit(
        session,
        "account",
        lambda: AccountIn.model_validate(typed),
        lambda data: pharmacy.open_account(session, user, code, data),
        refused=lambda error: _page(request, session, user, code, None, error, typed),
        done=lambda _: f"/networks/{code}/pharmacy",
    )


@router.post("/networks/{code}/pharmacy/transfers", response_class=HTMLResponse)
def request_transfer(
    code: str,
    request: Request,
    session: DB,
    user: User,
    lot_id: Annotated[str, Form()] = "",
    to_institution_code: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
) -> Response:
    typed = {"lot_id": lot_id, "to_institution_code": to_institution_code, "quantity": quantity}
    return submit(
        session,
        "transfer",
        lambda: TransferIn.model_validate(typed),
        lambda data: pharmacy.request_transfer(session, user, data),
        refused=lambda error: _page(request, session, user, code, None, error, typed),
        done=lambda _: f"/networks/{code}/pharmacy",
    )


@router.post("/networks/{code}/pharmacy/transfers/{transfer_id}", response_class=HTMLResponse)
def act_on_transfer(
    code: str,
    transfer_id: int,
    request: Request,
    session: DB,
    user: User,
    action: Annotated[TransferAction, Form()],
    version: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    return _on(
        request,
        session,
        user,
        code,
        f"transfer-{transfer_id}",
        lambda: pharmacy.act(session, user, transfer_id, action, version),
    )
