"""Many clients, one slot: exactly one wins, on SQLite and on PostgreSQL. Each client is its own
connection and unit of work (`session_scope`), as concurrent requests are."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from caregrid import clock
from caregrid.db.session import session_scope
from caregrid.errors import Conflict
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import Booking
from tests.world import NOW, World, build

CLIENTS = 12


@pytest.fixture
def committed_world(engine: Engine) -> World:
    with clock.frozen(NOW), session_scope() as session:
        return build(session, tag=f"-{secrets.token_hex(3)}")


def _publish(world: World, capacity: int) -> tuple[int, list[int]]:
    with clock.frozen(NOW), session_scope() as session:
        clinic = scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=NOW + timedelta(days=3),
            ends_at=NOW + timedelta(days=3, hours=3),
            capacity=capacity,
            reserved_count=capacity,
        )
        return clinic.id, [s.id for s in clinic.slots]


def _race(attempt: Callable[[], int]) -> tuple[list[int], list[BaseException]]:
    """Start CLIENTS threads together; collect what each returned or raised."""
    barrier = threading.Barrier(CLIENTS)
    won: list[int] = []
    lost: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait(timeout=10)
        try:
            result = attempt()
        except BaseException as exc:
            with lock:
                lost.append(exc)
        else:
            with lock:
                won.append(result)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    with clock.frozen(NOW):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return won, lost


def _live(slot_ids: list[int]) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.slot_id.in_(slot_ids), Booking.status != "cancelled")
            )
            or 0
        )


def test_many_clients_one_slot_exactly_one_wins(committed_world: World) -> None:
    world = committed_world
    _, (slot_id,) = _publish(world, capacity=1)

    def attempt() -> int:
        with session_scope() as session:
            return scheduling.book(
                session, world.community_doctor, slot_id=slot_id, resident_id=world.patient
            ).id

    won, lost = _race(attempt)
    assert len(won) == 1
    assert len(lost) == CLIENTS - 1 and all(isinstance(e, Conflict) for e in lost), lost
    assert _live([slot_id]) == 1


def test_book_any_fills_each_slot_once(committed_world: World) -> None:
    world = committed_world
    session_id, slot_ids = _publish(world, capacity=4)

    def attempt() -> int:
        with session_scope() as session:
            return scheduling.book_any(
                session, world.community_doctor, session_id=session_id, resident_id=world.patient
            ).slot_id

    won, lost = _race(attempt)
    assert sorted(won) == sorted(slot_ids)
    assert all(isinstance(e, Conflict) for e in lost), lost
    assert _live(slot_ids) == 4
