"""A network's disease catalogs (B2, B8): its own CSV if imported, else its profile's."""

from __future__ import annotations

from typing import get_args

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.policy import catalogs
from caregrid.policy import service as policy
from caregrid.policy.catalogs import Catalog, CatalogEntry
from caregrid.policy.schema import CatalogKind
from caregrid.referral.models import NetworkCatalogEntry
from caregrid.registry import service as registry

KINDS: tuple[CatalogKind, ...] = get_args(CatalogKind)


def kind_or_problem(kind: str) -> CatalogKind:
    if kind not in KINDS:
        raise InvalidInput([Problem("kind", msg("must be one of {kinds}", kinds=", ".join(KINDS)))])
    return kind


def catalog(session: Session, network_id: int, kind: CatalogKind) -> Catalog | None:
    rows = session.scalars(
        select(NetworkCatalogEntry)
        .where(NetworkCatalogEntry.network_id == network_id, NetworkCatalogEntry.kind == kind)
        .order_by(NetworkCatalogEntry.position)
    ).all()
    if rows:
        return Catalog(
            kind,
            rows[0].source,
            "B2",
            tuple(CatalogEntry(r.entry, r.name_zh, r.name_en, r.basis) for r in rows),
        )
    network = registry.get_network_by_id(session, network_id)
    return catalogs.profile_catalog(policy.get(network.profile), kind)


def all_catalogs(session: Session, network_id: int) -> list[Catalog]:
    return [c for kind in KINDS if (c := catalog(session, network_id, kind)) is not None]


def replace(
    session: Session,
    principal: Principal,
    *,
    network_code: str,
    kind: str,
    csv_text: str,
    file: str,
) -> Catalog:
    """Replace one of a network's catalogs with a CSV: all rows or none (row-level errors)."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal,
        network.id,
        "a network's catalogs are kept by its office or the health commission",
    )
    checked_kind = kind_or_problem(kind)
    entries = catalogs.parse_csv(csv_text, file=file)
    session.execute(
        delete(NetworkCatalogEntry).where(
            NetworkCatalogEntry.network_id == network.id, NetworkCatalogEntry.kind == kind
        )
    )
    source = f"network {network.code}: {file}"
    session.add_all(
        NetworkCatalogEntry(
            network_id=network.id,
            kind=kind,
            position=i,
            entry=e.entry,
            name_zh=e.name_zh,
            name_en=e.name_en,
            basis=e.basis,
            source=source,
        )
        for i, e in enumerate(entries)
    )
    session.flush()
    audit.record(
        session,
        principal,
        action="catalog.replace",
        subject_type="network",
        subject_id=network.id,
        purpose="disease catalog",
        detail={"kind": kind, "entries": len(entries), "file": file},
    )
    return Catalog(checked_kind, source, "B2", tuple(entries))
