"""The care relationships a contract gives (DESIGN.md, security model), recorded for
`auth.access` in the transaction that signs, renews or ends the contract or changes its team:
the team's institution and its members' home institutions, on the days the contract is in
force (`valid_on`: its term, up to the day it was terminated)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.familydoctor.models import Contract, Team
from caregrid.registry import service as registry


def relate(session: Session, contract: Contract) -> None:
    team = session.get(Team, contract.team_id)
    assert team is not None  # a contract's team is a foreign key
    after = contract.ends_on + timedelta(days=1)
    if contract.terminated_on is not None:
        after = min(after, contract.terminated_on)
    homes = registry.home_institution_ids(session, [m.practitioner_id for m in team.members])
    access.relate(
        session,
        kind=access.Relationship.CONTRACT,
        source_id=contract.id,
        resident_id=contract.resident_id,
        institution_ids={team.institution_id} | homes,
        started_at=clock.start_of(contract.starts_on),
        ended_at=clock.start_of(max(after, contract.starts_on)),
    )


def relate_team(session: Session, team_id: int) -> None:
    """After a change of members: the team's contracts in force today or later follow it."""
    today = clock.today()
    query = select(Contract).where(
        Contract.team_id == team_id,
        Contract.ends_on >= today,
        or_(Contract.terminated_on.is_(None), Contract.terminated_on > today),
    )
    for contract in list(session.scalars(query)):
        relate(session, contract)
