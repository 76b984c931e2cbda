"""Fulfilment of the package items (E5): delivered services matched to the item of the
contract in force that day, and each item's deliveries against what is due pro rata.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, InvalidInput, Problem
from caregrid.familydoctor.contracts import CLINICAL, contract_on, team_contracts
from caregrid.familydoctor.models import Contract, ContractItem, ServiceDelivery
from caregrid.familydoctor.schemas import DeliveryIn, FulfilmentOut
from caregrid.familydoctor.teams import get_team
from caregrid.familydoctor.vocab import ServiceKind
from caregrid.i18n import msg


def team_fulfilment(session: Session, team_id: int, on: date) -> FulfilmentOut:
    """E5 per team: items delivered (capped at what is due) over items due, across the
    team's contracts in force on `on`."""
    delivered = due = 0
    for contract in team_contracts(session, team_id, on):
        for step in progress(session, contract, on):
            delivered += min(step.delivered, step.due)
            due += step.due
    return FulfilmentOut(delivered=delivered, due=due)


def record_delivery(session: Session, principal: Principal, data: DeliveryIn) -> ServiceDelivery:
    """A delivered service, matched to the item of the contract in force that day."""
    if not principal.has(*CLINICAL) or principal.institution_id is None:
        raise Forbidden("services are recorded by clinical staff of an institution")
    access.patient_access(session, principal, data.resident_id)
    on = data.delivered_on or clock.today()
    if on > clock.today():
        raise InvalidInput([Problem("delivered_on", msg("{on} is in the future", on=on))])
    return deliver(
        session,
        principal,
        resident_id=data.resident_id,
        service=data.service,
        kind=data.kind,
        on=on,
        note=data.note,
    )


def deliver(
    session: Session,
    principal: Principal,
    *,
    resident_id: int,
    service: str,
    kind: ServiceKind | None,
    on: date,
    note: str | None = None,
) -> ServiceDelivery:
    """Record one service; also called by the chronic follow-up (its face-to-face visit)."""
    contract = contract_on(session, resident_id, on)
    item = None
    if contract is not None:
        item = next((i for i in contract.items if i.service == service), None)
    if kind is None and item is None:
        raise InvalidInput(
            [
                Problem(
                    "kind",
                    msg(
                        "{service!r} is not an item of the resident's contract; give its kind",
                        service=service,
                    ),
                )
            ]
        )
    institution_id = principal.institution_id
    if institution_id is None:  # the system records on behalf of the contract's team
        if contract is None:
            raise InvalidInput([Problem("resident_id", "no contract to record the service under")])
        institution_id = get_team(session, contract.team_id).institution_id
    delivery = ServiceDelivery(
        resident_id=resident_id,
        contract_id=contract.id if contract else None,
        item_id=item.id if item else None,
        service=service,
        kind=kind.value if kind is not None else item.kind if item is not None else "",
        delivered_on=on,
        institution_id=institution_id,
        recorded_by=principal.username,
        recorded_at=clock.now(),
        note=note,
    )
    session.add(delivery)
    session.flush()
    return delivery


@dataclass(frozen=True)
class ItemProgress:
    item: ContractItem
    delivered: int
    due: int


def due_by(item: ContractItem, contract: Contract, on: date) -> int:
    """Items due by `on`, pro rata over the term (4 a year are 2 due half-way)."""
    term = (contract.ends_on - contract.starts_on).days + 1
    elapsed = min(max((on - contract.starts_on).days + 1, 0), term)
    return item.times_per_year * elapsed // term


def progress(session: Session, contract: Contract, on: date) -> list[ItemProgress]:
    """Per item: deliveries within the term up to `on`, and how many were due by then."""
    counts = dict(
        session.execute(
            select(ServiceDelivery.item_id, func.count())
            .where(
                ServiceDelivery.contract_id == contract.id,
                ServiceDelivery.delivered_on <= on,
                ServiceDelivery.item_id.is_not(None),
            )
            .group_by(ServiceDelivery.item_id)
        ).all()
    )
    return [
        ItemProgress(
            item=item, delivered=int(counts.get(item.id, 0)), due=due_by(item, contract, on)
        )
        for item in contract.items
    ]
