"""Reserved slots and beds at their edges: the 14th day ahead and the 15th, a share exactly at
the target, the return-to-public minute, the past, a taken slot, phased shares (C1-C3)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.policy import service as policy
from caregrid.registry import importer
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import ClinicSession
from caregrid.web.i18n import translator
from caregrid.web.render import shown
from tests.conftest import make_principal
from tests.factories import layout, write_layout
from tests.world import NOW, SHANGHAI, World, nid


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00").replace(tzinfo=SHANGHAI)


def publish(
    session: Session, world: World, day: str, capacity: int = 30, **extra: int
) -> ClinicSession:
    return scheduling.publish_session(
        session,
        world.lead_admin,
        department_id=world.cardiology,
        starts_at=at(day),
        ends_at=at(day, 11),
        capacity=capacity,
        **extra,
    )


def first_reserved(clinic: ClinicSession) -> int:
    return next(s.id for s in clinic.slots if s.reserved)


def test_share_exactly_at_one_third_is_enough(session: Session, world: World) -> None:
    clinic = publish(session, world, "2026-12-01", capacity=30)
    assert clinic.reserved_count == 10 and clinic.reserved_share_target == "1/3"
    assert sum(s.reserved for s in clinic.slots) == 10
    assert (
        publish(session, world, "2026-12-02", capacity=30, reserved_count=10).reserved_count == 10
    )
    assert publish(session, world, "2026-12-02", capacity=4).reserved_count == 2  # 4/3 rounds up
    with pytest.raises(RuleViolation) as caught:
        publish(session, world, "2026-12-03", capacity=30, reserved_count=9)
    assert caught.value.requirement == "C1"


def test_reserved_slots_are_spread_over_the_session(session: Session, world: World) -> None:
    clinic = publish(session, world, "2026-12-01", capacity=9)
    assert [s.reserved for s in clinic.slots] == [False, False, True] * 3


def test_fourteenth_day_ahead_is_open_and_fifteenth_is_not(session: Session, world: World) -> None:
    fourteenth = publish(session, world, "2026-12-07")  # NOW is 2026-11-23 09:00
    fifteenth = publish(session, world, "2026-12-08")
    assert fifteenth.opens_to_members_at == at("2026-11-24", 0)
    scheduling.book(
        session,
        world.community_doctor,
        slot_id=first_reserved(fourteenth),
        resident_id=world.patient,
    )
    with pytest.raises(RuleViolation) as caught:
        scheduling.book(
            session,
            world.community_doctor,
            slot_id=first_reserved(fifteenth),
            resident_id=world.patient,
        )
    assert caught.value.requirement == "C3" and "2026-11-24T00:00+08:00" in caught.value.detail
    with clock.frozen(at("2026-11-23", 23, 59)), pytest.raises(RuleViolation):
        scheduling.book(
            session,
            world.community_doctor,
            slot_id=first_reserved(fifteenth),
            resident_id=world.patient,
        )
    with clock.frozen(at("2026-11-24", 0)):
        booking = scheduling.book(
            session,
            world.community_doctor,
            slot_id=first_reserved(fifteenth),
            resident_id=world.patient,
        )
    assert booking.pool == "reserved"


def _outsider_with_patient(session: Session, world: World) -> tuple[Principal, int]:
    """A doctor of another grid's group (金东 多湖) with a patient of her own."""
    resident = residents.create(
        session,
        world.other_grid_doctor,
        ResidentIn(
            national_id=nid("19700505", "031"),
            name="王芳",
            address_division_code="330703",
            registered_institution_code="jh-jd-duohu",
        ),
    )
    return world.other_grid_doctor, resident.id


def test_reserved_slots_return_to_the_public_at_the_cutoff_minute(
    session: Session, world: World
) -> None:
    clinic = publish(session, world, "2026-11-25")
    outsider, patient = _outsider_with_patient(session, world)
    assert clinic.returns_to_public_at == at("2026-11-24", 8)
    with clock.frozen(at("2026-11-24", 7, 59)), pytest.raises(RuleViolation) as caught:
        scheduling.book(session, outsider, slot_id=first_reserved(clinic), resident_id=patient)
    assert caught.value.requirement == "C1"
    with clock.frozen(at("2026-11-24", 8)):
        booking = scheduling.book(
            session, outsider, slot_id=first_reserved(clinic), resident_id=patient
        )
    assert booking.pool == "public"


def test_public_slots_are_for_anyone_and_the_lead_cannot_take_reserved_ones(
    session: Session, world: World
) -> None:
    clinic = publish(session, world, "2026-12-01", capacity=3)
    public = next(s.id for s in clinic.slots if not s.reserved)
    lead_doctor = world.cardiologist
    # the lead reaches the patient through emergency-free care only with a relationship:
    # use the lead's own resident
    resident = residents.create(
        session,
        lead_doctor,
        ResidentIn(
            national_id=nid("19800101", "041"),
            name="陈明",
            address_division_code="330702-chengdong",
            registered_institution_code="jh-rmyy",
        ),
    )
    assert scheduling.book(session, lead_doctor, slot_id=public, resident_id=resident.id)
    with pytest.raises(RuleViolation) as caught:
        scheduling.book(
            session, lead_doctor, slot_id=first_reserved(clinic), resident_id=resident.id
        )
    assert caught.value.requirement == "C1"


def test_a_slot_is_booked_once_and_freed_by_cancelling(session: Session, world: World) -> None:
    clinic = publish(session, world, "2026-12-01")
    slot = first_reserved(clinic)
    first = scheduling.book(
        session, world.community_doctor, slot_id=slot, resident_id=world.patient
    )
    with pytest.raises(Conflict):
        scheduling.book(
            session, world.community_doctor, slot_id=slot, resident_id=world.unsigned_patient
        )
    scheduling.set_booking_status(
        session, world.community_doctor, booking_id=first.id, status="cancelled"
    )
    again = scheduling.book(
        session, world.community_doctor, slot_id=slot, resident_id=world.unsigned_patient
    )
    assert again.status == "booked"


def test_the_past_is_refused(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        publish(session, world, "2026-11-23")  # 08:00, an hour before NOW
    assert caught.value.problems[0].field == "starts_at"
    clinic = publish(session, world, "2026-11-24")
    with clock.frozen(at("2026-11-24", 11)), pytest.raises(InvalidInput) as late:
        scheduling.book(
            session,
            world.community_doctor,
            slot_id=first_reserved(clinic),
            resident_id=world.patient,
        )
    assert "in the past" in late.value.problems[0].message


def test_attendance_is_recorded_by_the_host_after_the_start(session: Session, world: World) -> None:
    clinic = publish(session, world, "2026-11-24")
    booking = scheduling.book(
        session, world.community_doctor, slot_id=first_reserved(clinic), resident_id=world.patient
    )
    with pytest.raises(InvalidInput):
        scheduling.set_booking_status(
            session, world.cardiologist, booking_id=booking.id, status="no_show"
        )
    with clock.frozen(at("2026-11-24", 9)):
        with pytest.raises(Forbidden):
            scheduling.set_booking_status(
                session, world.community_doctor, booking_id=booking.id, status="no_show"
            )
        scheduling.set_booking_status(
            session, world.cardiologist, booking_id=booking.id, status="no_show"
        )
    assert booking.status == "no_show"


def test_book_any_gives_members_reserved_slots_first(session: Session, world: World) -> None:
    clinic = publish(session, world, "2026-12-01", capacity=6)
    booking = scheduling.book_any(
        session, world.community_doctor, session_id=clinic.id, resident_id=world.patient
    )
    assert booking.pool == "reserved"


def test_bed_pool_reserves_a_quarter_and_discharge_frees_the_bed(
    session: Session, world: World
) -> None:
    beds = scheduling.create_bed_pool(
        session, world.lead_admin, department_id=world.cardiology, total=8
    )
    assert sum(b.reserved for b in beds) == 2  # 1/4 of 8
    stays = [
        scheduling.reserve_bed(
            session,
            world.community_doctor,
            department_id=world.cardiology,
            resident_id=r,
            referral_id=None,
        )
        for r in (world.patient, world.unsigned_patient)
    ]
    with pytest.raises(Conflict):
        scheduling.reserve_bed(
            session,
            world.community_doctor,
            department_id=world.cardiology,
            resident_id=world.patient,
            referral_id=None,
        )
    scheduling.move_stay(session, world.cardiologist, stay_id=stays[0].id, status="admitted")
    scheduling.move_stay(session, world.cardiologist, stay_id=stays[0].id, status="discharged")
    again = scheduling.reserve_bed(
        session,
        world.community_doctor,
        department_id=world.cardiology,
        resident_id=world.patient,
        referral_id=None,
    )
    assert again.bed_id == stays[0].bed_id
    board = scheduling.bed_board(session, world.community_doctor, department_id=world.cardiology)
    assert sum(v.occupied for v in board) == 2 and all(v.stay is None for v in board)


def test_lead_cannot_reserve_its_own_reserved_beds(session: Session, world: World) -> None:
    scheduling.create_bed_pool(session, world.lead_admin, department_id=world.cardiology, total=4)
    with pytest.raises(RuleViolation) as caught:
        scheduling.reserve_bed(
            session,
            world.cardiologist,
            department_id=world.cardiology,
            resident_id=world.patient,
            referral_id=None,
        )
    assert caught.value.requirement == "C1"


def test_phased_share_follows_the_session_date(session: Session, tmp_path: Path) -> None:
    """Sichuan-style phases (C2): 20% for a session on 2025-12-30, 35% from 2025-12-31."""
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)
    department = registry.create_department(
        session, SYSTEM, institution_code="t-lead-a", code="card", name_zh="心内科"
    )
    admin = make_principal(session, "t-admin", Role.INSTITUTION_ADMIN, institution="t-lead-a")
    with clock.frozen(at("2025-12-01")):
        counts = [
            scheduling.publish_session(
                session,
                admin,
                department_id=department.id,
                starts_at=at(day),
                ends_at=at(day, 11),
                capacity=20,
            ).reserved_count
            for day in ("2025-12-30", "2025-12-31")
        ]
    assert counts == [4, 7]
    assert at("2025-12-31") < NOW


def _with_lead_days(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """The Jinhua profile as shipped, but with `slot_release_lead_days` (C3) set to `days`."""
    jinhua = policy.get("jinhua")
    entry = jinhua.parameters[scheduling.LEAD_DAYS].model_copy(update={"value": days})
    changed = jinhua.model_copy(
        update={"parameters": {**jinhua.parameters, scheduling.LEAD_DAYS: entry}}
    )
    monkeypatch.setitem(policy._cache, "jinhua", changed)


@pytest.mark.parametrize(
    ("lead_days", "shown"), [(14, ["2026-12-05"]), (21, ["2026-12-05", "2026-12-12"])]
)
def test_the_calendar_looks_as_far_ahead_as_the_profile_opens_slots(
    session: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    lead_days: int,
    shown: list[str],
) -> None:
    """The default window is the host network's `slot_release_lead_days` (C3), not a constant:
    a session 19 days ahead shows only where the profile opens slots 21 days ahead."""
    _with_lead_days(monkeypatch, lead_days)
    for day in ("2026-12-05", "2026-12-12"):
        publish(session, world, day)
    lead = registry.get_department(session, world.cardiology).institution_id
    assert scheduling.calendar_window(session, lead) == lead_days
    days = scheduling.calendar(session, world.community_doctor, department_id=world.cardiology)
    assert [f"{clock.local(d.session.starts_at):%Y-%m-%d}" for d in days] == shown
    later = publish(session, world, "2026-12-14")
    opens = {14: "2026-11-30", 21: "2026-11-23"}[lead_days]
    assert later.opens_to_members_at == at(opens, 0)


def test_a_bed_stay_and_a_booking_refusal_name_their_status_in_the_readers_language(
    session: Session, world: World
) -> None:
    scheduling.create_bed_pool(session, world.lead_admin, department_id=world.cardiology, total=8)
    stay = scheduling.reserve_bed(
        session,
        world.community_doctor,
        department_id=world.cardiology,
        resident_id=world.patient,
        referral_id=None,
    )
    with pytest.raises(Conflict) as early:
        scheduling.move_stay(session, world.cardiologist, stay_id=stay.id, status="discharged")
    clinic = publish(session, world, "2026-11-24")
    booking = scheduling.book(
        session, world.community_doctor, slot_id=first_reserved(clinic), resident_id=world.patient
    )
    scheduling.set_booking_status(
        session, world.community_doctor, booking_id=booking.id, status="cancelled"
    )
    with pytest.raises(Conflict) as twice:
        scheduling.set_booking_status(
            session, world.community_doctor, booking_id=booking.id, status="cancelled"
        )
    zh = translator("zh_CN")
    assert shown(early.value, zh) == f"床位住院 {stay.id} 为已预留状态，不能变为已出院"
    assert shown(early.value, translator("en")) == (
        f"bed stay {stay.id} is reserved; cannot become discharged"
    )
    assert shown(twice.value, zh) == f"预约 {booking.id} 已是已取消状态"
    assert shown(twice.value, translator("en")) == f"booking {booking.id} is already cancelled"
