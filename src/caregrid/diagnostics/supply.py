"""Sterilisation supply (D1): members request instrument packages from the network's
sterilisation centre, which dispatches them with a date they are due back; returns are
recorded and overdue ones listed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.diagnostics.models import Centre, CentreMember, SterileSupply
from caregrid.diagnostics.vocab import CentreKind, SupplyState
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg


def _centre(session: Session, institution_id: int) -> Centre:
    centre = session.scalar(
        select(Centre)
        .join(CentreMember, CentreMember.centre_id == Centre.id)
        .where(
            CentreMember.institution_id == institution_id, Centre.kind == CentreKind.STERILISATION
        )
        .limit(1)
    )
    if centre is None:
        raise RuleViolation(
            "no sterilisation supply centre serves your institution", requirement="D1"
        )
    return centre


def request(
    session: Session, principal: Principal, *, package: str, quantity: int
) -> SterileSupply:
    if principal.institution_id is None:
        raise Forbidden("packages are requested for an institution")
    problems = []
    if not package.strip():
        problems.append(Problem("package", "name the instrument package"))
    if not 1 <= quantity <= 1000:
        problems.append(
            Problem("quantity", msg("{quantity} is not between 1 and 1000", quantity=quantity))
        )
    if problems:
        raise InvalidInput(problems)
    row = SterileSupply(
        centre_id=_centre(session, principal.institution_id).id,
        institution_id=principal.institution_id,
        package=package.strip(),
        quantity=quantity,
        state=SupplyState.REQUESTED.value,
        requested_by=principal.username,
        requested_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def _get(session: Session, supply_id: int) -> SterileSupply:
    row = session.get(SterileSupply, supply_id)
    if row is None:
        raise NotFound("no sterile supply request with id {supply_id}", supply_id=supply_id)
    return row


def dispatch(
    session: Session, principal: Principal, supply_id: int, *, due_back_on: date
) -> SterileSupply:
    """The centre sends the packages and says when they are due back."""
    row = _get(session, supply_id)
    centre = session.get(Centre, row.centre_id)
    assert centre is not None
    if principal.institution_id != centre.institution_id:
        raise Forbidden("the sterilisation centre dispatches")
    if row.state != SupplyState.REQUESTED:
        raise Conflict("request {id} is {state}", id=row.id, state=SupplyState(row.state))
    if due_back_on < clock.today():
        raise InvalidInput(
            [Problem("due_back_on", msg("{due_back_on} is in the past", due_back_on=due_back_on))]
        )
    row.state, row.dispatched_at, row.due_back_on = (
        SupplyState.DISPATCHED.value,
        clock.now(),
        due_back_on,
    )
    session.flush()
    return row


def record_return(session: Session, principal: Principal, supply_id: int) -> SterileSupply:
    row = _get(session, supply_id)
    centre = session.get(Centre, row.centre_id)
    assert centre is not None
    if principal.institution_id != centre.institution_id:
        raise Forbidden("the sterilisation centre records returns")
    if row.state != SupplyState.DISPATCHED:
        raise Conflict("request {id} is {state}", id=row.id, state=SupplyState(row.state))
    row.state, row.returned_at = SupplyState.RETURNED.value, clock.now()
    session.flush()
    return row


def overdue(session: Session, centre_id: int, on: date | None = None) -> list[SterileSupply]:
    """Dispatched packages past their due date and not returned: on the due date itself, not
    yet overdue."""
    today = on or clock.today()
    return list(
        session.scalars(
            select(SterileSupply)
            .where(
                SterileSupply.centre_id == centre_id,
                SterileSupply.state == SupplyState.DISPATCHED,
                SterileSupply.due_back_on < today,
            )
            .order_by(SterileSupply.due_back_on, SterileSupply.id)
        )
    )


def of_institution(session: Session, institution_id: int) -> list[SterileSupply]:
    """What the institution has asked for, newest first."""
    return list(
        session.scalars(
            select(SterileSupply)
            .where(SterileSupply.institution_id == institution_id)
            .order_by(SterileSupply.requested_at.desc(), SterileSupply.id.desc())
        )
    )


def open_at(session: Session, centre_id: int) -> list[SterileSupply]:
    """The centre's desk: requests to dispatch and packages out, oldest first."""
    return list(
        session.scalars(
            select(SterileSupply)
            .where(
                SterileSupply.centre_id == centre_id,
                SterileSupply.state.in_([SupplyState.REQUESTED, SupplyState.DISPATCHED]),
            )
            .order_by(SterileSupply.requested_at, SterileSupply.id)
        )
    )


def serves(session: Session, institution_id: int) -> bool:
    try:
        _centre(session, institution_id)
    except RuleViolation:
        return False
    return True
