"""Prescriptions that flow between the network's pharmacies (G5, J7) and their dispensing.

A clinician or family doctor writes a prescription for a patient in their care, with an
ICD-10 diagnosis, to their own pharmacy or another member's (a cloud prescription: the lead
writes, a township centre dispenses, or the reverse). It is refused, with the reason, when
the dispensing pharmacy is outside the prescriber's network, or when it does not list an
item, unless the item is an approved in-hospital preparation of the group (院内制剂, which
may be used anywhere in it). A non-essential drug where the catalogue holds an essential one
of the same class needs a reason (G3). The dispensing pharmacy hands over units of its lots
(an expired lot never; one expiring today yes); the units leave stock through the one
guarded subtraction (`stock.take`), so racing dispensers of the last units cannot drive it
below zero. Every change of state goes through the one transition table (`states`).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.i18n import msg
from caregrid.pharmacy import states, stock
from caregrid.pharmacy.models import (
    CatalogueItem,
    Dispensed,
    Listing,
    Prescription,
    PrescriptionItem,
    StockLot,
)
from caregrid.pharmacy.schemas import (
    DispensedOut,
    DispenseIn,
    PrescriptionIn,
    PrescriptionItemIn,
    PrescriptionItemOut,
    PrescriptionOut,
    RefuseIn,
    RouteIn,
)
from caregrid.pharmacy.vocab import PrescriptionAction, PrescriptionState, Record
from caregrid.policy import icd10
from caregrid.registry import service as registry

PRESCRIBERS = (Role.CLINICIAN, Role.FAMILY_DOCTOR)


def _audit(
    session: Session, principal: Principal, action: str, row: Prescription, **detail: object
) -> None:
    audit.record_for(
        session,
        principal,
        f"prescription.{action}",
        row.resident_id,
        purpose="pharmacy",
        subject_type="resident",
        detail={"prescription": row.id, **detail},
    )


def _network_of(session: Session, writer_id: int, dispenser_id: int) -> int:
    """The network the prescription flows in: one both institutions belong to (G5)."""
    shared = registry.network_ids_of_institution(session, writer_id)
    shared &= registry.network_ids_of_institution(session, dispenser_id)
    if not shared:
        raise RuleViolation(
            "the dispensing pharmacy is not in a network with the prescriber's institution: "
            "prescriptions flow inside a network",
            requirement="G5",
        )
    return min(shared)


def _items_problems(
    session: Session,
    network_id: int,
    dispenser_id: int,
    data: PrescriptionIn,
) -> tuple[dict[str, CatalogueItem], list[Problem]]:
    """Each item: in the network's catalogue, listed by the dispensing member (or an
    approved in-hospital preparation), once, and with a reason where an essential medicine
    of its class exists (G3)."""
    codes = {i.item_code for i in data.items}
    found = {
        i.code: i
        for i in session.scalars(
            select(CatalogueItem).where(
                CatalogueItem.network_id == network_id, CatalogueItem.code.in_(codes)
            )
        )
    }
    listed = set(
        session.scalars(
            select(Listing.code).where(
                Listing.institution_id == dispenser_id, Listing.code.in_(codes)
            )
        )
    )
    essential_classes = set(
        session.scalars(
            select(CatalogueItem.drug_class).where(
                CatalogueItem.network_id == network_id,
                CatalogueItem.essential.is_(True),
                CatalogueItem.drug_class.is_not(None),
            )
        )
    )
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(data.items):
        item = found.get(line.item_code)
        field = f"items.{n}.item_code"
        if line.item_code in seen:
            problems.append(Problem(field, msg("repeats item {seen}", seen=seen[line.item_code])))
        seen.setdefault(line.item_code, n)
        if item is None:
            problems.append(Problem(field, "is not in the network's catalogue"))
            continue
        if line.item_code not in listed and not item.in_hospital_preparation:
            problems.append(
                Problem(field, "is not in the dispensing member's catalogue: it cannot dispense it")
            )
        if not item.essential and item.drug_class in essential_classes and line.reason is None:
            problems.append(
                Problem(
                    f"items.{n}.reason",
                    msg(
                        "give a reason: the catalogue has an essential medicine of class {cls} "
                        "(G3)",
                        cls=item.drug_class,
                    ),
                )
            )
    return found, problems


def write(
    session: Session, principal: Principal, data: PrescriptionIn, *, source: str = "caregrid"
) -> Prescription:
    """A prescription by a clinician or family doctor for a patient in their care, to their
    own pharmacy or another member's; all items or none. `source` says whether it was typed
    here or sent by the member's own system (FHIR)."""
    if not principal.has(*PRESCRIBERS) or principal.institution_id is None:
        raise Forbidden("prescriptions are written by clinicians and family doctors")
    access.patient_access(session, principal, data.resident_id)
    writer = principal.institution_id
    dispenser = (
        registry.require_institution(session, data.dispensing_institution_code).id
        if data.dispensing_institution_code
        else writer
    )
    network_id = _network_of(session, writer, dispenser)
    problems: list[Problem] = []
    try:
        diagnosis = icd10.normalise(data.diagnosis_code)
        icd10.who_stem(diagnosis)
    except icd10.Icd10Error as exc:
        problems.append(Problem("diagnosis_code", exc.message))
    found, more = _items_problems(session, network_id, dispenser, data)
    problems += more
    if problems:
        raise InvalidInput(problems)
    row = Prescription(
        network_id=network_id,
        resident_id=data.resident_id,
        institution_id=writer,
        prescriber=principal.username,
        prescriber_name=principal.display_name or principal.username,
        diagnosis_code=diagnosis,
        dispensing_institution_id=dispenser,
        state=PrescriptionState.ISSUED,
        written_at=clock.now(),
        source=source,
    )
    session.add(row)
    session.flush()
    session.add_all(
        PrescriptionItem(
            prescription_id=row.id,
            item_id=found[line.item_code].id,
            quantity=line.quantity,
            dosage=line.dosage,
            days=line.days,
            reason=line.reason,
        )
        for line in data.items
    )
    session.flush()
    _audit(session, principal, "write", row, dispensing=dispenser, items=len(data.items))
    return row


def _get(session: Session, prescription_id: int, version: int) -> Prescription:
    row = session.get(Prescription, prescription_id)
    if row is None:
        raise NotFound("no prescription {prescription_id}", prescription_id=prescription_id)
    states.seen(Record.PRESCRIPTION, row.id, version, row.version)
    return row


def _step(row: Prescription, action: PrescriptionAction) -> str:
    return states.advance(Record.PRESCRIPTION, row.id, PrescriptionState(row.state), action)


def _require_pharmacy(session: Session, principal: Principal, row: Prescription) -> None:
    if not access.can_manage_institution(session, principal, row.dispensing_institution_id):
        raise Forbidden("a prescription is dispensed or refused by the dispensing pharmacy")


def route(
    session: Session, principal: Principal, prescription_id: int, data: RouteIn
) -> Prescription:
    """Sent on to another member's pharmacy by its prescriber or the pharmacy holding it,
    checked again against the new pharmacy's catalogue."""
    row = _get(session, prescription_id, data.version)
    holder = access.can_manage_institution(session, principal, row.dispensing_institution_id)
    if principal.username != row.prescriber and not holder:
        raise Forbidden("a prescription is sent on by its prescriber or the pharmacy holding it")
    _step(row, PrescriptionAction.ROUTE)
    target = registry.require_institution(session, data.dispensing_institution_code)
    if target.id == row.dispensing_institution_id:
        raise InvalidInput(
            [Problem("dispensing_institution_code", "is the pharmacy that holds it already")]
        )
    _network_of(session, row.institution_id, target.id)
    lines = _lines(session, row.id)
    asked = PrescriptionIn(
        resident_id=row.resident_id,
        diagnosis_code=row.diagnosis_code,
        items=[
            PrescriptionItemIn(
                item_code=item.code, quantity=line.quantity, dosage=line.dosage, reason=line.reason
            )
            for line, item in lines
        ],
    )
    _, problems = _items_problems(session, row.network_id, target.id, asked)
    if problems:
        raise InvalidInput(problems)
    before = row.dispensing_institution_id
    row.dispensing_institution_id = target.id
    states.flush(session, Record.PRESCRIPTION, row.id)
    _audit(session, principal, "route", row, source=before, to=target.id)
    return row


def _lines(session: Session, prescription_id: int) -> list[tuple[PrescriptionItem, CatalogueItem]]:
    return [
        (line, item)
        for line, item in session.execute(
            select(PrescriptionItem, CatalogueItem)
            .join(CatalogueItem, CatalogueItem.id == PrescriptionItem.item_id)
            .where(PrescriptionItem.prescription_id == prescription_id)
            .order_by(PrescriptionItem.id)
        )
    ]


def dispense(
    session: Session, principal: Principal, prescription_id: int, data: DispenseIn
) -> Prescription:
    """Every item handed over in full from the pharmacy's own lots, or nothing: a lot that
    has expired, belongs elsewhere, or no longer holds the units is refused."""
    row = _get(session, prescription_id, data.version)
    _require_pharmacy(session, principal, row)
    target = _step(row, PrescriptionAction.DISPENSE)
    lines = _lines(session, row.id)
    chosen = _chosen(session, row, lines, data) if data.lots else _soonest(session, row, lines)
    for line, lot, units in chosen:
        if not stock.take(session, lot.id, units):
            session.refresh(lot)
            raise Conflict(
                "lot {lot} holds {held} units, fewer than the {units} to dispense",
                lot=lot.lot_number,
                held=lot.quantity,
                units=units,
            )
        session.add(Dispensed(prescription_item_id=line.id, lot_id=lot.id, quantity=units))
    row.state = target
    row.closed_by = principal.username
    row.closed_at = clock.now()
    states.flush(session, Record.PRESCRIPTION, row.id)
    _audit(session, principal, "dispense", row, lots=len(chosen))
    return row


Handed = list[tuple[PrescriptionItem, StockLot, int]]


def _chosen(
    session: Session,
    row: Prescription,
    lines: list[tuple[PrescriptionItem, CatalogueItem]],
    data: DispenseIn,
) -> Handed:
    """The lots the pharmacist named: each at this pharmacy, of the item, not expired, and
    every item's units in full."""
    by_code = {item.code: line for line, item in lines}
    today = clock.today()
    problems: list[Problem] = []
    handed: Handed = []
    given: dict[str, int] = defaultdict(int)
    for n, entry in enumerate(data.lots):
        line = by_code.get(entry.item_code)
        lot = session.get(StockLot, entry.lot_id)
        if line is None:
            problems.append(Problem(f"lots.{n}.item_code", "is not on this prescription"))
            continue
        if (
            lot is None
            or lot.institution_id != row.dispensing_institution_id
            or lot.item_id != line.item_id
        ):
            problems.append(
                Problem(f"lots.{n}.lot_id", "is not a lot of this item at the dispensing pharmacy")
            )
            continue
        if lot.expires_on < today:
            problems.append(
                Problem(
                    f"lots.{n}.lot_id",
                    msg("lot {lot} expired on {on}", lot=lot.lot_number, on=lot.expires_on),
                )
            )
        given[entry.item_code] += entry.quantity
        handed.append((line, lot, entry.quantity))
    for code, line in by_code.items():
        if given[code] != line.quantity:
            problems.append(
                Problem(
                    "lots",
                    msg(
                        "{code}: {given} units named, the prescription is for {wanted}",
                        code=code,
                        given=given[code],
                        wanted=line.quantity,
                    ),
                )
            )
    if problems:
        raise InvalidInput(problems)
    return handed


def _soonest(
    session: Session, row: Prescription, lines: list[tuple[PrescriptionItem, CatalogueItem]]
) -> Handed:
    """The units from the pharmacy's unexpired lots, soonest expiry first; a shortfall is
    named per item."""
    today = clock.today()
    handed: Handed = []
    problems: list[Problem] = []
    for line, item in lines:
        lots = session.scalars(
            select(StockLot)
            .where(
                StockLot.institution_id == row.dispensing_institution_id,
                StockLot.item_id == item.id,
                StockLot.expires_on >= today,
                StockLot.quantity > 0,
            )
            .order_by(StockLot.expires_on, StockLot.id)
        )
        left = line.quantity
        for lot in lots:
            units = min(left, lot.quantity)
            handed.append((line, lot, units))
            left -= units
            if left == 0:
                break
        if left:
            problems.append(
                Problem(
                    "lots",
                    msg(
                        "{code}: {held} unexpired units in stock, the prescription is for {wanted}",
                        code=item.code,
                        held=line.quantity - left,
                        wanted=line.quantity,
                    ),
                )
            )
    if problems:
        raise InvalidInput(problems)
    return handed


def refuse(
    session: Session, principal: Principal, prescription_id: int, data: RefuseIn
) -> Prescription:
    """The dispensing pharmacy's refusal after review, with its reason for the prescriber."""
    row = _get(session, prescription_id, data.version)
    _require_pharmacy(session, principal, row)
    row.state = _step(row, PrescriptionAction.REFUSE)
    row.refusal = data.reason
    row.closed_by = principal.username
    row.closed_at = clock.now()
    states.flush(session, Record.PRESCRIPTION, row.id)
    _audit(session, principal, "refuse", row)
    return row


def cancel(
    session: Session, principal: Principal, prescription_id: int, version: int
) -> Prescription:
    """Withdrawn by its prescriber before it is dispensed."""
    row = _get(session, prescription_id, version)
    if principal.username != row.prescriber and not principal.system:
        raise Forbidden("a prescription is cancelled by its prescriber")
    row.state = _step(row, PrescriptionAction.CANCEL)
    row.closed_by = principal.username
    row.closed_at = clock.now()
    states.flush(session, Record.PRESCRIPTION, row.id)
    _audit(session, principal, "cancel", row)
    return row


# --- reading -----------------------------------------------------------------------------


def views(session: Session, rows: list[Prescription]) -> list[PrescriptionOut]:
    """The prescriptions with their items and what was handed over from which lot."""
    if not rows:
        return []
    codes = registry.codes_by_id(session)
    networks = {n.id: n.code for n in registry.networks(session)}
    items: dict[int, list[PrescriptionItemOut]] = defaultdict(list)
    handed: dict[int, list[DispensedOut]] = defaultdict(list)
    ids = [r.id for r in rows]
    for given, lot in session.execute(
        select(Dispensed, StockLot)
        .join(StockLot, StockLot.id == Dispensed.lot_id)
        .join(PrescriptionItem, PrescriptionItem.id == Dispensed.prescription_item_id)
        .where(PrescriptionItem.prescription_id.in_(ids))
        .order_by(Dispensed.id)
    ):
        handed[given.prescription_item_id].append(
            DispensedOut(
                lot_number=lot.lot_number, expires_on=lot.expires_on, quantity=given.quantity
            )
        )
    for line, item in session.execute(
        select(PrescriptionItem, CatalogueItem)
        .join(CatalogueItem, CatalogueItem.id == PrescriptionItem.item_id)
        .where(PrescriptionItem.prescription_id.in_(ids))
        .order_by(PrescriptionItem.id)
    ):
        items[line.prescription_id].append(
            PrescriptionItemOut(
                item_code=item.code,
                item_name_zh=item.name_zh,
                national_code=item.national_code,
                essential=item.essential,
                quantity=line.quantity,
                dosage=line.dosage,
                days=line.days,
                reason=line.reason,
                dispensed=handed[line.id],
            )
        )
    return [
        PrescriptionOut(
            id=r.id,
            network_code=networks[r.network_id],
            resident_id=r.resident_id,
            institution_code=codes[r.institution_id],
            prescriber_name=r.prescriber_name,
            diagnosis_code=r.diagnosis_code,
            dispensing_institution_code=codes[r.dispensing_institution_id],
            cross_institution=r.institution_id != r.dispensing_institution_id,
            state=PrescriptionState(r.state),
            version=r.version,
            written_at=r.written_at,
            closed_by=r.closed_by,
            closed_at=r.closed_at,
            refusal=r.refusal,
            source=r.source,
            items=items[r.id],
        )
        for r in rows
    ]


def get(session: Session, principal: Principal, prescription_id: int) -> PrescriptionOut:
    """One prescription, for whoever may see its patient or the pharmacy that holds it."""
    row = session.get(Prescription, prescription_id)
    if row is None:
        raise NotFound("no prescription {prescription_id}", prescription_id=prescription_id)
    if not access.can_manage_institution(session, principal, row.dispensing_institution_id):
        access.patient_access(session, principal, row.resident_id)
    return views(session, [row])[0]


def queue(session: Session, principal: Principal, institution_code: str) -> list[PrescriptionOut]:
    """What a pharmacy holds to dispense, oldest first, then what it closed, newest first."""
    institution = registry.require_institution(session, institution_code)
    if not access.can_manage_institution(session, principal, institution.id):
        raise Forbidden("a pharmacy's prescriptions are seen by its staff and the office")
    rows = list(
        session.scalars(
            select(Prescription)
            .where(Prescription.dispensing_institution_id == institution.id)
            .order_by(Prescription.id.desc())
            .limit(500)
        )
    )
    waiting = sorted((r for r in rows if r.state == PrescriptionState.ISSUED), key=lambda r: r.id)
    return views(session, waiting + [r for r in rows if r.state != PrescriptionState.ISSUED])


def of_resident(session: Session, principal: Principal, resident_id: int) -> list[PrescriptionOut]:
    """A patient's prescriptions across the network, newest first (their medicines, for the
    family-doctor team and the prescriber)."""
    access.patient_access(session, principal, resident_id)
    rows = list(
        session.scalars(
            select(Prescription)
            .where(Prescription.resident_id == resident_id)
            .order_by(Prescription.id.desc())
        )
    )
    return views(session, rows)


def prescription_facts(session: Session) -> list[dict[str, object]]:
    """Every prescription's items as `prescription_item` facts (docs/activity.md), on the
    local day it was written, priced at the catalogue's price where it has one."""
    codes = registry.codes_by_id(session)
    rows = session.execute(
        select(Prescription, PrescriptionItem, CatalogueItem)
        .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
        .join(CatalogueItem, CatalogueItem.id == PrescriptionItem.item_id)
        .order_by(Prescription.id, PrescriptionItem.id)
    )
    return [
        {
            "prescription_id": f"cg-{rx.id}",
            "institution_code": codes[rx.institution_id],
            "dispensing_institution_code": codes[rx.dispensing_institution_id],
            "item_code": item.code,
            "essential": item.essential,
            "negotiated": item.negotiated,
            "quantity": line.quantity,
            "amount_cny": (
                float(line.quantity * item.unit_price_cny)
                if item.unit_price_cny is not None
                else None
            ),
            "state": rx.state,
            "date": clock.local(rx.written_at).date(),
        }
        for rx, line, item in rows
    ]
