"""The cap on a resident's future bookings of reserved slots (C1, a local safeguard): the Nth
booking is taken, the next one is 409 naming the limit; a cancelled booking or one whose time
has passed no longer counts; public slots are not capped."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.errors import Conflict
from caregrid.policy import service as policy
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import ClinicSession
from caregrid.scheduling.slots import RESERVED_CAP
from tests.conftest import bearer
from tests.world import NOW, SHANGHAI, World


def at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=SHANGHAI)


def publish(session: Session, world: World, day: str, capacity: int = 30) -> ClinicSession:
    return scheduling.publish_session(
        session,
        world.lead_admin,
        department_id=world.cardiology,
        starts_at=at(day),
        ends_at=at(day, 11),
        capacity=capacity,
    )


def reserved(clinic: ClinicSession) -> list[int]:
    return [s.id for s in clinic.slots if s.reserved]


def public(clinic: ClinicSession) -> list[int]:
    return [s.id for s in clinic.slots if not s.reserved]


@pytest.fixture
def limit() -> int:
    value = policy.get("jinhua").parameter(RESERVED_CAP, NOW.date())
    assert value == 3  # the shipped default; the tests below follow the profile's number
    return int(value)


def _book(session: Session, world: World, slot: int, resident: int | None = None) -> str:
    booking = scheduling.book(
        session, world.community_doctor, slot_id=slot, resident_id=resident or world.patient
    )
    return booking.pool


def test_the_nth_reserved_booking_is_taken_and_the_next_is_409(
    session: Session, world: World, limit: int
) -> None:
    clinic = publish(session, world, "2026-12-01")
    slots = reserved(clinic)
    for slot in slots[:limit]:
        assert _book(session, world, slot) == "reserved"
    with pytest.raises(Conflict) as refused:
        _book(session, world, slots[limit])
    assert f"{RESERVED_CAP} = {limit}" in refused.value.detail
    assert "profile jinhua" in refused.value.detail
    # Another resident is not affected, nor is this one's public slot.
    assert _book(session, world, slots[limit], world.unsigned_patient) == "reserved"
    assert _book(session, world, public(clinic)[0]) == "public"


def test_a_cancelled_booking_frees_a_place_under_the_cap(
    session: Session, world: World, limit: int
) -> None:
    clinic = publish(session, world, "2026-12-01")
    slots = reserved(clinic)
    held = [
        scheduling.book(session, world.community_doctor, slot_id=s, resident_id=world.patient)
        for s in slots[:limit]
    ]
    with pytest.raises(Conflict):
        _book(session, world, slots[limit])
    scheduling.set_booking_status(
        session, world.community_doctor, booking_id=held[0].id, status="cancelled"
    )
    assert _book(session, world, slots[limit]) == "reserved"
    with pytest.raises(Conflict):
        _book(session, world, slots[limit + 1])


def test_a_booking_whose_time_has_passed_no_longer_counts(
    session: Session, world: World, limit: int
) -> None:
    early = publish(session, world, "2026-11-25")
    later = publish(session, world, "2026-12-01")
    assert _book(session, world, reserved(early)[0]) == "reserved"
    for slot in reserved(later)[: limit - 1]:
        _book(session, world, slot)
    with pytest.raises(Conflict):
        _book(session, world, reserved(later)[limit])
    with clock.frozen(at("2026-11-25", 9)):  # the early booking's slot has started
        assert _book(session, world, reserved(later)[limit]) == "reserved"
        with pytest.raises(Conflict):
            _book(session, world, reserved(later)[limit + 1])


def test_book_any_at_the_cap_takes_a_public_slot_or_names_the_limit(
    session: Session, world: World, limit: int
) -> None:
    clinic = publish(session, world, "2026-12-01", capacity=limit + 2)
    # capacity 5 reserves ceil(5/3) = 2: fill the resident's cap from another session.
    other = publish(session, world, "2026-12-02")
    for slot in reserved(other)[:limit]:
        _book(session, world, slot)
    taken = scheduling.book_any(
        session, world.community_doctor, session_id=clinic.id, resident_id=world.patient
    )
    assert taken.pool == "public"
    for slot in public(clinic):
        if slot != taken.slot_id:
            _book(session, world, slot, world.unsigned_patient)
    with pytest.raises(Conflict) as refused:
        scheduling.book_any(
            session, world.community_doctor, session_id=clinic.id, resident_id=world.patient
        )
    assert f"{RESERVED_CAP} = {limit}" in refused.value.detail
    other_patient = scheduling.book_any(
        session, world.community_doctor, session_id=clinic.id, resident_id=world.unsigned_patient
    )
    assert other_patient.pool == "reserved"


def test_the_api_answers_409_over_the_cap(
    session: Session, world: World, client: TestClient, limit: int
) -> None:
    clinic = publish(session, world, "2026-12-01")
    headers = bearer(session, world.community_doctor)
    slots = reserved(clinic)
    with clock.frozen(NOW):
        for slot in slots[:limit]:
            answer = client.post(
                f"/api/slots/{slot}/bookings", json={"resident_id": world.patient}, headers=headers
            )
            assert answer.status_code == 201, answer.text
        over = client.post(
            f"/api/slots/{slots[limit]}/bookings",
            json={"resident_id": world.patient},
            headers=headers,
        )
    assert over.status_code == 409
    assert RESERVED_CAP in over.json()["detail"]
