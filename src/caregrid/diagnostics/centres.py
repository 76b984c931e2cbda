"""Shared centres (D1): set up by the network's office, run by one member institution for the
members it serves, offering items of the recognition catalog.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.models import Centre, CentreItem, CentreMember, CentreReader
from caregrid.diagnostics.schemas import CentreIn
from caregrid.diagnostics.vocab import CentreKind
from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry


def create_centre(session: Session, principal: Principal, data: CentreIn) -> Centre:
    network = registry.get_network(session, data.network_code)
    access.require_network_office(
        principal, network.id, "shared centres are set up by the network's office"
    )
    members = access.network_institution_ids(session, network.id)
    problems: list[Problem] = []
    runner = registry.get_institution(session, data.institution_code)
    if runner is None or runner.id not in members:
        problems.append(
            Problem(
                "institution_code",
                msg(
                    "{institution_code} is not in {code}",
                    institution_code=data.institution_code,
                    code=network.code,
                ),
            )
        )
    served: set[int] = set()
    for i, code in enumerate(data.members if data.members is not None else []):
        found = registry.get_institution(session, code)
        if found is None or found.id not in members:
            problems.append(
                Problem(
                    f"members.{i}", msg("{code} is not in {code2}", code=code, code2=network.code)
                )
            )
        else:
            served.add(found.id)
    if data.members is None:
        served = set(members)
    for i, offered in enumerate(data.items):
        listed = catalogs.starter().get(offered.item_code)
        if listed is None:
            problems.append(
                Problem(
                    f"items.{i}.item_code",
                    msg("no item {item_code!r}", item_code=offered.item_code),
                )
            )
        elif listed.centre != data.kind:
            problems.append(
                Problem(
                    f"items.{i}.item_code",
                    msg(
                        "{code} is done at a {centre} centre",
                        code=listed.code,
                        centre=listed.centre,
                    ),
                )
            )
    if not data.items and data.kind != CentreKind.STERILISATION:
        problems.append(
            Problem("items", msg("a {kind} centre offers at least one item", kind=data.kind))
        )
    if problems:
        raise InvalidInput(problems)
    assert runner is not None
    centre = Centre(
        network_id=network.id,
        kind=data.kind.value,
        institution_id=runner.id,
        name=data.name,
        created_at=clock.now(),
        members=[CentreMember(institution_id=i) for i in sorted(served)],
        items=[
            CentreItem(item_code=o.item_code, turnaround_hours=o.turnaround_hours)
            for o in data.items
        ],
        readers=[CentreReader(username=u) for u in dict.fromkeys(data.readers)],
    )
    session.add(centre)
    session.flush()
    audit.record_for(
        session,
        principal,
        "centre.create",
        network.id,
        subject_type="network",
        purpose="diagnostics",
        detail={"centre": centre.id, "kind": centre.kind},
    )
    return centre


def _centre_for(session: Session, institution_id: int, kind: str) -> Centre | None:
    """The shared centre of this kind that serves the institution."""
    return session.scalar(
        select(Centre)
        .join(CentreMember, CentreMember.centre_id == Centre.id)
        .where(CentreMember.institution_id == institution_id, Centre.kind == kind)
        .order_by(Centre.id)
        .limit(1)
    )


def centre_of(session: Session, centre_id: int) -> Centre:
    centre = session.get(Centre, centre_id)
    if centre is None:
        raise NotFound("no centre with id {centre_id}", centre_id=centre_id)
    return centre


def centres_run_by(session: Session, institution_id: int) -> list[Centre]:
    return list(
        session.scalars(
            select(Centre).where(Centre.institution_id == institution_id).order_by(Centre.kind)
        )
    )


def network_centres(session: Session, network_id: int) -> list[Centre]:
    """The network's shared centres, one of a kind (D1)."""
    return list(
        session.scalars(select(Centre).where(Centre.network_id == network_id).order_by(Centre.kind))
    )


def centre_kinds(session: Session, network_id: int) -> set[str]:
    return set(session.scalars(select(Centre.kind).where(Centre.network_id == network_id)))


def centres_serving(session: Session, institution_id: int) -> list[Centre]:
    return list(
        session.scalars(
            select(Centre)
            .join(CentreMember, CentreMember.centre_id == Centre.id)
            .where(CentreMember.institution_id == institution_id)
            .order_by(Centre.kind)
        )
    )


def orderable(session: Session, institution_id: int) -> list[catalogs.Item]:
    """Catalog items some centre serving the institution offers."""
    codes = set(
        session.scalars(
            select(CentreItem.item_code)
            .join(CentreMember, CentreMember.centre_id == CentreItem.centre_id)
            .where(CentreMember.institution_id == institution_id)
        )
    )
    return [i for i in catalogs.starter().items if i.code in codes]
