"""HTML page of the network's pharmacy for its office and the commission: alignment and
essential share per member with the lines outside the catalogue, the catalogue itself (and
its import), the procurement account, members' requisitions, the consolidated orders with
their receipt and payment, stock by lot across the members and the transfers between them.
Thin: the rules live in `pharmacy.service`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, InvalidInput, Problem, validation_problems
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.api import FIGURES, network_measures
from caregrid.pharmacy.schemas import (
    AccountIn,
    ConsolidateIn,
    DispenseIn,
    PaymentIn,
    ReceiptIn,
    RefuseIn,
    RequisitionIn,
    TransferIn,
)
from caregrid.pharmacy.vocab import Record, TransferAction
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.web.deps import DB, User, Year
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


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
    items = pharmacy.items(session, network.id)
    lead = registry.lead_of(session, network.id)
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
        items=items,
        orderable=[i for i in items if i.supplier is not None and i.unit_price_cny is not None],
        lead_code=lead.code if lead else "",
        account=pharmacy.account_of(session, network.id),
        requisitions=pharmacy.requisitions(session, network.id),
        orders=pharmacy.orders(session, network.id),
        lots=pharmacy.lots(session, {m.id for m in members}),
        transfers=pharmacy.transfers(session, network.id),
        offered=pharmacy.offered,
        record=Record,
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


def _whole(form: dict[str, str], name: str, problems: list[Problem]) -> int | None:
    """A field that must be blank or a whole number of units."""
    text = form.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        problems.append(Problem(name, "is not a whole number from 1 to 10,000,000"))
        return None
    return int(text)


async def _fields(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _requisition(form: dict[str, str], codes: list[str]) -> RequisitionIn:
    """A requisition form's fields (`quantity_<code>` per line) as the service's input."""
    problems: list[Problem] = []
    lines = []
    for item in codes:
        units = _whole(form, f"quantity_{item}", problems)
        if units is not None:
            lines.append({"item_code": item, "quantity": units})
    if problems:
        raise InvalidInput(problems)
    if not lines:
        raise InvalidInput([Problem("lines", "give the units of at least one item")])
    return RequisitionIn.model_validate(
        {"institution_code": form.get("institution_code", ""), "lines": lines}
    )


@router.post("/networks/{code}/pharmacy/requisitions", response_class=HTMLResponse)
async def submit_requisition(code: str, request: Request, session: DB, user: User) -> Response:
    """A member's requisition: a quantity against each item it wants (`quantity_<code>`)."""
    form = await _fields(request)
    network = registry.get_network(session, code)
    codes = [i.code for i in pharmacy.items(session, network.id)]
    return submit(
        session,
        "requisition",
        lambda: _requisition(form, codes),
        lambda data: pharmacy.submit_requisition(session, user, code, data),
        refused=lambda error: _page(request, session, user, code, None, error, form),
        done=lambda _: f"/networks/{code}/pharmacy#requisitions",
    )


@router.post(
    "/networks/{code}/pharmacy/requisitions/{requisition_id}/cancel", response_class=HTMLResponse
)
def cancel_requisition(
    code: str,
    requisition_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    return _on(
        request,
        session,
        user,
        code,
        f"requisition-{requisition_id}",
        lambda: pharmacy.cancel_requisition(session, user, requisition_id, version),
    )


@router.post("/networks/{code}/pharmacy/orders", response_class=HTMLResponse)
def consolidate(
    code: str,
    request: Request,
    session: DB,
    user: User,
    receiving_institution_code: Annotated[str, Form()] = "",
) -> Response:
    """The office places this month's orders: every waiting requisition, one per supplier."""
    typed = {"receiving_institution_code": receiving_institution_code}
    return submit(
        session,
        "orders",
        lambda: ConsolidateIn.model_validate(
            {"receiving_institution_code": receiving_institution_code or None}
        ),
        lambda data: pharmacy.consolidate(session, user, code, data),
        refused=lambda error: _page(request, session, user, code, None, error, typed),
        done=lambda _: f"/networks/{code}/pharmacy#orders",
    )


@router.post("/networks/{code}/pharmacy/orders/{order_id}/receive", response_class=HTMLResponse)
async def receive_order(
    code: str, order_id: int, request: Request, session: DB, user: User
) -> Response:
    """The goods of an order, one lot per line (`lot_<code>`, `expires_<code>`,
    `units_<code>`); a line left blank did not arrive."""
    form = await _fields(request)
    network = registry.get_network(session, code)
    shown = next((o for o in pharmacy.orders(session, network.id, [order_id])), None)
    codes = [line.item_code for line in shown.lines] if shown else []
    named: list[str] = []  # the item of each lot sent, to name the page's fields

    def read() -> ReceiptIn:
        problems: list[Problem] = []
        lots = []
        for item in codes:
            units = _whole(form, f"units_{item}", problems)
            if units is not None:
                named.append(item)
                lots.append(
                    {
                        "item_code": item,
                        "lot_number": form.get(f"lot_{item}", "").strip(),
                        "expires_on": form.get(f"expires_{item}", "").strip(),
                        "quantity": units,
                    }
                )
        if problems:
            raise InvalidInput(problems)
        if not lots:
            raise InvalidInput([Problem("lots", "give the units of at least one line")])
        try:
            return ReceiptIn.model_validate({"version": form.get("version", ""), "lots": lots})
        except ValidationError as exc:
            raise InvalidInput(_on_page(validation_problems(exc.errors()), named)) from None

    def work(data: ReceiptIn) -> object:
        try:
            return pharmacy.receive_order(session, user, order_id, data)
        except InvalidInput as exc:
            raise InvalidInput(_on_page(exc.problems, named)) from None

    return submit(
        session,
        f"order-{order_id}",
        read,
        work,
        refused=lambda error: _page(request, session, user, code, None, error, form),
        done=lambda _: f"/networks/{code}/pharmacy#orders",
    )


PAGE_FIELDS = {"lot_number": "lot", "expires_on": "expires", "quantity": "units"}


def _on_page(problems: list[Problem], named: list[str]) -> list[Problem]:
    """The receipt's problems (`lots.2.expires_on`) under the page's field names
    (`expires_<code>`)."""
    found = []
    for p in problems:
        parts = p.field.split(".")
        if len(parts) == 3 and parts[0] == "lots" and parts[1].isdigit():
            n, name = int(parts[1]), parts[2]
            if n < len(named) and name in PAGE_FIELDS:
                p = Problem(f"{PAGE_FIELDS[name]}_{named[n]}", p.reason)
        found.append(p)
    return found


@router.post("/networks/{code}/pharmacy/orders/{order_id}/pay", response_class=HTMLResponse)
def pay_order(
    code: str,
    order_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    paid_on: Annotated[str, Form()] = "",
) -> Response:
    typed = {"reference": reference.strip(), "paid_on": paid_on}
    return submit(
        session,
        f"order-{order_id}",
        lambda: PaymentIn.model_validate(
            {"version": version, "reference": reference.strip(), "paid_on": paid_on or None}
        ),
        lambda data: pharmacy.pay_order(session, user, order_id, data),
        refused=lambda error: _page(request, session, user, code, None, error, typed),
        done=lambda _: f"/networks/{code}/pharmacy#orders",
    )


@router.post("/networks/{code}/pharmacy/orders/{order_id}/cancel", response_class=HTMLResponse)
def cancel_order(
    code: str,
    order_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    return _on(
        request,
        session,
        user,
        code,
        f"order-{order_id}",
        lambda: pharmacy.cancel_order(session, user, order_id, version),
    )


def _queue_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    institution = registry.require_institution(session, code)
    held = pharmacy.pharmacy_queue(session, user, code)
    networks = [
        registry.get_network_by_id(session, n)
        for n in sorted(registry.network_ids_of_institution(session, institution.id))
    ]
    moving = [
        t
        for network in networks
        for t in pharmacy.transfers(session, network.id)
        if code in (t.from_institution_code, t.to_institution_code)
    ]
    asks = []
    for network in networks:
        try:
            mine = pharmacy.visible_requisitions(session, user, network.code)
        except Forbidden:  # another network's office looking at a member of two groups
            continue
        orderable = [
            i
            for i in pharmacy.items(session, network.id)
            if i.supplier is not None and i.unit_price_cny is not None
        ]
        asks.append((network, orderable, [r for r in mine if r.institution_code == code]))
    return render(
        request,
        "pharmacy/queue.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        institution=institution,
        prescriptions=held,
        transfers=moving,
        asks=asks,
        lots=pharmacy.lots(session, {institution.id}),
        today=clock.today(),
        patients={p.resident_id: residents.name_of(session, p.resident_id) for p in held},
        names=registry.institution_names(session),
        offered=pharmacy.offered,
        record=Record,
    )


@router.get("/institutions/{code}/pharmacy", response_class=HTMLResponse)
def queue_page(code: str, request: Request, session: DB, user: User) -> Response:
    """A member's pharmacy: the prescriptions it holds to dispense (its own and other
    members' cloud prescriptions, G5), oldest first, then what it closed; the transfers it
    sends and receives (those proposed for down-referred patients among them, G6); its
    stock."""
    return _queue_page(request, session, user, code)


@router.post("/institutions/{code}/pharmacy/requisitions", response_class=HTMLResponse)
async def submit_own_requisition(code: str, request: Request, session: DB, user: User) -> Response:
    """The member's own requisition to its network's next consolidated order (G2)."""
    form = await _fields(request)
    network = registry.get_network(session, form.get("network_code", ""))
    codes = [i.code for i in pharmacy.items(session, network.id)]
    return submit(
        session,
        "requisition",
        lambda: _requisition({**form, "institution_code": code}, codes),
        lambda data: pharmacy.submit_requisition(session, user, network.code, data),
        refused=lambda error: _queue_page(request, session, user, code, error, form),
        done=lambda _: f"/institutions/{code}/pharmacy#requisitions",
    )


@router.post(
    "/institutions/{code}/pharmacy/requisitions/{requisition_id}/cancel",
    response_class=HTMLResponse,
)
def cancel_own_requisition(
    code: str,
    requisition_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    return submit(
        session,
        f"requisition-{requisition_id}",
        lambda: None,
        lambda _: pharmacy.cancel_requisition(session, user, requisition_id, version),
        refused=lambda error: _queue_page(request, session, user, code, error),
        done=lambda _: f"/institutions/{code}/pharmacy#requisitions",
    )


@router.post("/institutions/{code}/pharmacy/transfers/{transfer_id}", response_class=HTMLResponse)
def act_on_own_transfer(
    code: str,
    transfer_id: int,
    request: Request,
    session: DB,
    user: User,
    action: Annotated[TransferAction, Form()],
    version: Annotated[int, Form(ge=1, le=2_147_483_647)],
) -> Response:
    """The sender ships (or cancels), the receiver confirms receipt (proof of delivery)."""
    return submit(
        session,
        f"transfer-{transfer_id}",
        lambda: None,
        lambda _: pharmacy.act(session, user, transfer_id, action, version),
        refused=lambda error: _queue_page(request, session, user, code, error),
        done=lambda _: f"/institutions/{code}/pharmacy",
    )


@router.post(
    "/institutions/{code}/pharmacy/prescriptions/{prescription_id}/dispense",
    response_class=HTMLResponse,
)
def dispense(
    code: str,
    prescription_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[str, Form()] = "",
) -> Response:
    """Handed over from the soonest-expiring lots that hold the units."""
    return submit(
        session,
        f"prescription-{prescription_id}",
        lambda: DispenseIn.model_validate({"version": version}),
        lambda data: pharmacy.dispense(session, user, prescription_id, data),
        refused=lambda error: _queue_page(request, session, user, code, error),
        done=lambda _: f"/institutions/{code}/pharmacy",
    )


@router.post(
    "/institutions/{code}/pharmacy/prescriptions/{prescription_id}/refuse",
    response_class=HTMLResponse,
)
def refuse(
    code: str,
    prescription_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    typed = {"reason": reason.strip()}
    return submit(
        session,
        f"prescription-{prescription_id}",
        lambda: RefuseIn.model_validate({"version": version, "reason": reason.strip()}),
        lambda data: pharmacy.refuse(session, user, prescription_id, data),
        refused=lambda error: _queue_page(request, session, user, code, error, typed),
        done=lambda _: f"/institutions/{code}/pharmacy",
    )
