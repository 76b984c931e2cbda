"""Village doctors (H7, GZ-C 三(四) 乡聘村用): employed by a primary member, the township
centre, and working in a village, paid by the month. The record shows both, and each month of
the employment that is over with no pay record is flagged; each month reads as a
`village_doctor_month` fact for VD1."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level
from caregrid.workforce.models import VillageDoctor, VillagePay
from caregrid.workforce.schemas import PayIn, PayOut, VillageDoctorIn, VillageDoctorOut

PURPOSE = "workforce"

__all__ = ["add_village_doctor", "facts", "record_pay", "village_doctors"]


def _months(first: date, last: date) -> list[date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    found, month = [], first.replace(day=1)
    while month <= last:
        found.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return found


def _due_months(row: VillageDoctor, today: date) -> list[date]:
    """The months of the employment that are over by `today`: the current month is paid at
    its end, so it is not yet missed."""
    last = min(row.ends_on or today, today.replace(day=1) - timedelta(days=1))
    return _months(row.starts_on, last) if last >= row.starts_on else []


def _may_manage(session: Session, principal: Principal, institution_id: int) -> None:
    if not access.can_manage_institution(session, principal, institution_id):
        raise Forbidden("village doctors are kept by their township centre or its network")


def add_village_doctor(
    session: Session, principal: Principal, data: VillageDoctorIn
) -> VillageDoctorOut:
    """A village doctor employed by their home institution, which must be a primary member of
    a network, working in a village; one employment at a time."""
    person = registry.get_practitioner(session, data.practitioner_code)
    if person is None:
        raise InvalidInput([Problem("practitioner_code", "is no practitioner")])
    home = registry.get_institution_by_id(session, person.home_institution_id)
    assert home is not None
    _may_manage(session, principal, home.id)
    problems = []
    if home.level != Level.PRIMARY:
        problems.append(
            Problem("practitioner_code", "is not employed by a primary institution (乡聘)")
        )
    if data.starts_on > clock.today():
        problems.append(Problem("starts_on", "is in the future"))
    if data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append(Problem("ends_on", "is before the first day"))
    if not problems:
        registry.lock_practitioner(session, person.id)
        last = data.ends_on or date.max
        for other in session.scalars(
            select(VillageDoctor).where(VillageDoctor.practitioner_id == person.id)
        ):
            if other.starts_on <= last and data.starts_on <= (other.ends_on or date.max):
                problems.append(
                    Problem(
                        "starts_on",
                        msg("overlaps the employment from {day}", day=other.starts_on),
                    )
                )
    if problems:
        raise InvalidInput(problems)
    row = VillageDoctor(
        practitioner_id=person.id,
        institution_id=home.id,
        village=data.village.strip(),
        village_code=data.village_code,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    )
    session.add(row)
    session.flush()
    audit.record_for(
        session,
        principal,
        "village_doctor.add",
        home.id,
        purpose=PURPOSE,
        subject_type="institution",
        detail={"village_doctor": row.id, "practitioner": person.code},
    )
    return _view(session, row, clock.today())


def record_pay(
    session: Session, principal: Principal, village_doctor_id: int, data: PayIn
) -> VillageDoctorOut:
    """A month's pay: a month of the employment that has begun, paid no earlier than its
    first day; a month is paid once (a second record is a conflict, naming the first)."""
    row = session.get(VillageDoctor, village_doctor_id, with_for_update=True)
    if row is None:
        raise NotFound("no such village doctor")
    _may_manage(session, principal, row.institution_id)
    year, number = map(int, data.month.split("-"))
    month = date(year, number, 1)
    problems = []
    if month > clock.today():
        problems.append(Problem("month", "is a month still to come"))
    elif month not in _months(row.starts_on, row.ends_on or clock.today()):
        problems.append(Problem("month", "is outside the employment"))
    if data.paid_on > clock.today():
        problems.append(Problem("paid_on", "is in the future"))
    elif data.paid_on < month and not problems:
        problems.append(Problem("paid_on", "is before the month it pays"))
    if problems:
        raise InvalidInput(problems)
    paid = session.scalar(
        select(VillagePay).where(VillagePay.village_doctor_id == row.id, VillagePay.month == month)
    )
    if paid is not None:
        raise Conflict(msg("{month} was paid on {day}", month=data.month, day=paid.paid_on))
    session.add(
        VillagePay(
            village_doctor_id=row.id,
            month=month,
            amount=data.amount,
            paid_on=data.paid_on,
            recorded_by=principal.username,
        )
    )
    session.flush()
    audit.record_for(
        session,
        principal,
        "village_doctor.pay",
        row.institution_id,
        purpose=PURPOSE,
        subject_type="institution",
        detail={"village_doctor": row.id, "month": data.month},
    )
    return _view(session, row, clock.today())


def _pay(session: Session, row: VillageDoctor) -> list[VillagePay]:
    return list(
        session.scalars(
            select(VillagePay)
            .where(VillagePay.village_doctor_id == row.id)
            .order_by(VillagePay.month.desc())
        )
    )


def _view(
    session: Session, row: VillageDoctor, today: date, codes: dict[int, str] | None = None
) -> VillageDoctorOut:
    person = registry.get_practitioner_by_id(session, row.practitioner_id)
    pay = _pay(session, row)
    paid = {p.month for p in pay}
    return VillageDoctorOut(
        id=row.id,
        practitioner_code=person.code,
        practitioner_name=person.name,
        institution_code=(codes or registry.codes_by_id(session))[row.institution_id],
        village=row.village,
        village_code=row.village_code,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        pay=[
            PayOut(month=p.month.strftime("%Y-%m"), amount=p.amount, paid_on=p.paid_on) for p in pay
        ],
        unpaid=[m.strftime("%Y-%m") for m in _due_months(row, today) if m not in paid],
    )


def village_doctors(
    session: Session, principal: Principal, network_code: str
) -> list[VillageDoctorOut]:
    """The village doctors the network's members employ, for its office and the commission."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "a network's village doctors are seen by its office"
    )
    members = registry.network_member_ids(session, network.id)
    rows = session.scalars(
        select(VillageDoctor)
        .where(VillageDoctor.institution_id.in_(members))
        .order_by(VillageDoctor.institution_id, VillageDoctor.starts_on, VillageDoctor.id)
    )
    codes = registry.codes_by_id(session)
    return [_view(session, r, clock.today(), codes) for r in rows]


def facts(session: Session, on: date) -> list[dict[str, object]]:
    """Each month over by `on` of each village doctor's employment, paid or not
    (`village_doctor_month`, docs/activity.md): what VD1 counts."""
    codes = registry.codes_by_id(session)
    rows: list[dict[str, object]] = []
    for row in session.scalars(select(VillageDoctor).order_by(VillageDoctor.id)):
        paid = {p.month for p in _pay(session, row) if p.paid_on <= on}
        person = registry.get_practitioner_by_id(session, row.practitioner_id).code
        rows.extend(
            {
                "village_doctor_id": f"cg-{row.id}",
                "institution_code": codes[row.institution_id],
                "practitioner_code": person,
                "month_of": month,
                "paid": month in paid,
            }
            for month in _due_months(row, on)
        )
    return rows
