"""Medicines that follow a down-referred patient (G6, F1, B5).

When the lead refers a hypertension or diabetes patient down, each drug of the discharge
regimen is checked against the receiving member: it is *available* when the member can
dispense it (lists it, or it is an approved in-hospital preparation) and holds enough
unexpired units; otherwise a *substitute* is a drug of the same molecule, strength and
dosage form (the same medicine from another maker, volume-procured generics first) that the
member can dispense and holds enough of; otherwise the drug is *flagged*, and the shortfall
is proposed as transfers from the lead's unexpired lots, soonest expiry first. The check runs
before the referral is sent (`preview`) and again when it is written (`record`), and is kept.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Forbidden, InvalidInput, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.pharmacy import stock
from caregrid.pharmacy.models import (
    CatalogueItem,
    Listing,
    RegimenCheck,
    RegimenLine,
    StockLot,
    Transfer,
)
from caregrid.pharmacy.schemas import (
    RegimenCheckIn,
    RegimenCheckOut,
    RegimenLineIn,
    RegimenLineOut,
)
from caregrid.pharmacy.vocab import RegimenOutcome
from caregrid.registry import service as registry

FIELD = "regimen"
CLINICAL = (Role.CLINICIAN, Role.FAMILY_DOCTOR, Role.INSTITUTION_ADMIN)


@dataclass(frozen=True)
class Finding:
    """What the check found for one drug, and the lead's lots that would cover a shortfall."""

    position: int
    item: CatalogueItem
    quantity: int
    outcome: RegimenOutcome
    held: int
    substitute: CatalogueItem | None
    substitute_held: int | None
    lead_held: int
    draw: list[tuple[StockLot, int]]


@dataclass(frozen=True)
class Assessment:
    network_id: int
    lead_id: int
    receiver_id: int
    findings: list[Finding]


def _usable(session: Session, institution_id: int, item_ids: Collection[int]) -> dict[int, int]:
    """Unexpired units per item held at an institution (a lot expiring today still counts)."""
    rows = session.execute(
        select(StockLot.item_id, func.sum(StockLot.quantity))
        .where(
            StockLot.institution_id == institution_id,
            StockLot.item_id.in_(item_ids),
            StockLot.expires_on >= clock.today(),
        )
        .group_by(StockLot.item_id)
    )
    return {item_id: int(units or 0) for item_id, units in rows}


def _same_medicine(a: CatalogueItem, b: CatalogueItem) -> bool:
    return (
        a.id != b.id
        and a.molecule is not None
        and a.molecule == b.molecule
        and a.strength == b.strength
        and a.dosage_form == b.dosage_form
    )


def _lead_lots(
    session: Session, lead_id: int, item_id: int, units: int
) -> list[tuple[StockLot, int]]:
    """The lead's unexpired lots that cover `units`, soonest expiry first (as far as they go)."""
    lots = session.scalars(
        select(StockLot)
        .where(
            StockLot.institution_id == lead_id,
            StockLot.item_id == item_id,
            StockLot.expires_on >= clock.today(),
            StockLot.quantity > 0,
        )
        .order_by(StockLot.expires_on, StockLot.id)
    )
    drawn: list[tuple[StockLot, int]] = []
    for lot in lots:
        if units == 0:
            break
        take = min(units, lot.quantity)
        drawn.append((lot, take))
        units -= take
    return drawn


def assess(
    session: Session,
    network_id: int,
    lead_id: int,
    receiver_id: int,
    regimen: Sequence[RegimenLineIn],
) -> Assessment:
    """Check each drug of the regimen at the receiving member; refuses codes that are not in
    the network's catalogue or repeat, naming the line."""
    codes = {line.item_code for line in regimen}
    found = {
        item.code: item
        for item in session.scalars(
            select(CatalogueItem).where(
                CatalogueItem.network_id == network_id, CatalogueItem.code.in_(codes)
            )
        )
    }
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(regimen):
        field = f"{FIELD}.{n}.item_code"
        if line.item_code not in found:
            problems.append(Problem(field, "is not in the network's catalogue"))
        elif line.item_code in seen:
            problems.append(Problem(field, msg("repeats line {seen}", seen=seen[line.item_code])))
        seen.setdefault(line.item_code, n)
    if problems:
        raise InvalidInput(problems)
    molecules = {item.molecule for item in found.values() if item.molecule}
    candidates = list(
        session.scalars(
            select(CatalogueItem)
            .where(CatalogueItem.network_id == network_id, CatalogueItem.molecule.in_(molecules))
            .order_by(CatalogueItem.volume_procurement.desc(), CatalogueItem.code)
        )
    )
    every = {item.id for item in found.values()} | {item.id for item in candidates}
    listed = set(
        session.scalars(
            select(Listing.code).where(
                Listing.institution_id == receiver_id,
                Listing.code.in_(
                    {item.code for item in found.values()} | {c.code for c in candidates}
                ),
            )
        )
    )
    held = _usable(session, receiver_id, every)
    at_lead = _usable(session, lead_id, {item.id for item in found.values()})

    def dispensable(item: CatalogueItem, units: int) -> bool:
        return (item.code in listed or item.in_hospital_preparation) and held.get(
            item.id, 0
        ) >= units

    findings: list[Finding] = []
    for n, line in enumerate(regimen):
        item = found[line.item_code]
        here = held.get(item.id, 0)
        substitute = None
        if not dispensable(item, line.quantity):
            substitute = next(
                (
                    c
                    for c in candidates
                    if _same_medicine(item, c) and dispensable(c, line.quantity)
                ),
                None,
            )
        if dispensable(item, line.quantity):
            outcome = RegimenOutcome.AVAILABLE
        elif substitute is not None:
            outcome = RegimenOutcome.SUBSTITUTE
        else:
            outcome = RegimenOutcome.FLAGGED
        short = max(line.quantity - here, 0)
        findings.append(
            Finding(
                position=n,
                item=item,
                quantity=line.quantity,
                outcome=outcome,
                held=here,
                substitute=substitute,
                substitute_held=held.get(substitute.id, 0) if substitute else None,
                lead_held=at_lead.get(item.id, 0),
                draw=_lead_lots(session, lead_id, item.id, short)
                if outcome == RegimenOutcome.FLAGGED and short
                else [],
            )
        )
    return Assessment(network_id, lead_id, receiver_id, findings)


def _preview_line(finding: Finding) -> RegimenLineOut:
    return RegimenLineOut(
        position=finding.position,
        item_code=finding.item.code,
        item_name_zh=finding.item.name_zh,
        strength=finding.item.strength,
        quantity=finding.quantity,
        outcome=finding.outcome,
        held=finding.held,
        substitute_code=finding.substitute.code if finding.substitute else None,
        substitute_name_zh=finding.substitute.name_zh if finding.substitute else None,
        substitute_held=finding.substitute_held,
        lead_held=finding.lead_held,
        transfers=[],
    )


def preview(session: Session, principal: Principal, data: RegimenCheckIn) -> RegimenCheckOut:
    """The check before the down referral is sent, from the caller's institution (the lead)
    to the receiving member; nothing is written."""
    if principal.institution_id is None or not principal.has(*CLINICAL):
        raise Forbidden("a regimen is checked by clinical staff of the referring institution")
    receiver = registry.require_institution(session, data.to_institution_code)
    shared = registry.network_ids_of_institution(session, principal.institution_id)
    shared &= registry.network_ids_of_institution(session, receiver.id)
    if not shared:
        raise RuleViolation(
            "{to} is not in a network with your institution: a regimen is checked inside a network",
            requirement="G6",
            to=data.to_institution_code,
        )
    found = assess(session, min(shared), principal.institution_id, receiver.id, data.regimen)
    codes = registry.codes_by_id(session)
    return RegimenCheckOut(
        referral_id=None,
        resident_id=None,
        from_institution_code=codes[principal.institution_id],
        to_institution_code=receiver.code,
        diagnosis_code=None,
        checked_at=clock.now(),
        lines=[_preview_line(f) for f in found.findings],
    )


def record(
    session: Session,
    principal: Principal,
    found: Assessment,
    *,
    referral_id: int,
    resident_id: int,
    diagnosis_code: str,
) -> RegimenCheck:
    """Keep the check of a written down referral and propose the transfers for what is
    flagged; the lead's stock keepers ship them and the receiving member receives them."""
    check = RegimenCheck(
        referral_id=referral_id,
        network_id=found.network_id,
        resident_id=resident_id,
        from_institution_id=found.lead_id,
        to_institution_id=found.receiver_id,
        diagnosis_code=diagnosis_code,
        checked_by=principal.username,
        checked_at=clock.now(),
    )
    session.add(check)
    session.flush()
    for finding in found.findings:
        line = RegimenLine(
            check_id=check.id,
            position=finding.position,
            item_id=finding.item.id,
            quantity=finding.quantity,
            outcome=finding.outcome,
            held=finding.held,
            substitute_item_id=finding.substitute.id if finding.substitute else None,
            substitute_held=finding.substitute_held,
            lead_held=finding.lead_held,
        )
        session.add(line)
        session.flush()
        for lot, units in finding.draw:
            proposed = stock.propose(
                session,
                principal,
                found.network_id,
                lot,
                found.receiver_id,
                units,
                regimen_line_id=line.id,
            )
            audit.record_for(
                session,
                principal,
                "transfer.propose",
                found.lead_id,
                purpose="pharmacy",
                subject_type="institution",
                detail={"transfer": proposed.id, "referral": referral_id, "units": units},
            )
    return check


def _views(session: Session, checks: Sequence[RegimenCheck]) -> list[RegimenCheckOut]:
    if not checks:
        return []
    codes = registry.codes_by_id(session)
    by_check: dict[int, list[RegimenLine]] = {}
    lines = session.scalars(
        select(RegimenLine)
        .where(RegimenLine.check_id.in_([c.id for c in checks]))
        .order_by(RegimenLine.check_id, RegimenLine.position)
    ).all()
    for line in lines:
        by_check.setdefault(line.check_id, []).append(line)
    item_ids = {line.item_id for line in lines} | {
        line.substitute_item_id for line in lines if line.substitute_item_id is not None
    }
    items = {
        i.id: i
        for i in session.scalars(select(CatalogueItem).where(CatalogueItem.id.in_(item_ids)))
    }
    moved: dict[int, list[tuple[Transfer, StockLot]]] = {}
    for transfer, lot in session.execute(
        select(Transfer, StockLot)
        .join(StockLot, StockLot.id == Transfer.lot_id)
        .where(Transfer.regimen_line_id.in_([line.id for line in lines]))
        .order_by(Transfer.id)
    ):
        assert transfer.regimen_line_id is not None
        moved.setdefault(transfer.regimen_line_id, []).append((transfer, lot))

    def line_out(line: RegimenLine) -> RegimenLineOut:
        item = items[line.item_id]
        substitute = items.get(line.substitute_item_id) if line.substitute_item_id else None
        return RegimenLineOut(
            position=line.position,
            item_code=item.code,
            item_name_zh=item.name_zh,
            strength=item.strength,
            quantity=line.quantity,
            outcome=RegimenOutcome(line.outcome),
            held=line.held,
            substitute_code=substitute.code if substitute else None,
            substitute_name_zh=substitute.name_zh if substitute else None,
            substitute_held=line.substitute_held,
            lead_held=line.lead_held,
            transfers=[stock.view(t, lot, item, codes) for t, lot in moved.get(line.id, [])],
        )

    return [
        RegimenCheckOut(
            referral_id=check.referral_id,
            resident_id=check.resident_id,
            from_institution_code=codes[check.from_institution_id],
            to_institution_code=codes[check.to_institution_id],
            diagnosis_code=check.diagnosis_code,
            checked_at=check.checked_at,
            lines=[line_out(line) for line in by_check.get(check.id, [])],
        )
        for check in checks
    ]


def of_referral(session: Session, referral_id: int) -> RegimenCheckOut | None:
    """The regimen check kept with a down referral (callers have checked the reader)."""
    check = session.scalar(select(RegimenCheck).where(RegimenCheck.referral_id == referral_id))
    return _views(session, [check])[0] if check else None


def of_resident(session: Session, principal: Principal, resident_id: int) -> list[RegimenCheckOut]:
    """A patient's regimen checks, newest first: the family-doctor team's view of the
    medicines the patient came down with and whether the unit holds them."""
    access.patient_access(session, principal, resident_id)
    checks = session.scalars(
        select(RegimenCheck)
        .where(RegimenCheck.resident_id == resident_id)
        .order_by(RegimenCheck.checked_at.desc(), RegimenCheck.id.desc())
    ).all()
    return _views(session, checks)


def regimen_facts(session: Session) -> list[dict[str, object]]:
    """One `regimen_check` fact per down referral with a regimen (G6)."""
    codes = registry.codes_by_id(session)
    counts = {
        check_id: (int(lines), int(flagged or 0))
        for check_id, lines, flagged in session.execute(
            select(
                RegimenLine.check_id,
                func.count(),
                func.sum(case((RegimenLine.outcome == RegimenOutcome.FLAGGED, 1), else_=0)),
            ).group_by(RegimenLine.check_id)
        )
    }
    return [
        {
            "referral_id": str(check.referral_id),
            "institution_code": codes[check.to_institution_id],
            "from_institution_code": codes[check.from_institution_id],
            "diagnosis_code": check.diagnosis_code,
            "lines": counts.get(check.id, (0, 0))[0],
            "flagged_lines": counts.get(check.id, (0, 0))[1],
            "date": clock.local(check.checked_at).date(),
        }
        for check in session.scalars(select(RegimenCheck).order_by(RegimenCheck.id))
    ]
