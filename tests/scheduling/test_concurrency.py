"""Concurrent clients on SQLite and on PostgreSQL: many clients, one slot, exactly one wins;
`book_any` fills each slot of a session once; two conflicting answers to one referral version,
exactly one applies.

Each client is its own thread, connection and unit of work (`session_scope`), as concurrent
requests are, so the setup is committed (the rolled-back `session` fixture is invisible to
other connections and is not used here) and removed again afterwards. Every loser must get
`Conflict`, never a driver error ("database is locked", a unique violation, a stale row).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from anyio import to_thread
from sqlalchemy import Engine, func, select

from caregrid import clock
from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import Principal
from caregrid.config import get_settings
from caregrid.db.session import session_scope
from caregrid.errors import Conflict
from caregrid.referral import service as referrals
from caregrid.referral.vocab import TRANSITIONS, Action, RejectionReason
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import Booking
from caregrid.web.app import create_app
from tests.conftest import bearer
from tests.races import (
    RACE_SECONDS,
    UTC_NOW,
    assert_all_conflicts,
    assert_audit_chain_intact,
    race,
    run_async,
    winners,
)
from tests.referrals import CHEST_PAIN, refer_up
from tests.world import NOW, World, add_patients

CLIENTS = 16  # racing for one slot (more than the pool's connections: some queue)
CAPACITY = 5  # slots of the session `book_any` fills, with 3 * CAPACITY clients


def _publish(world: World, capacity: int) -> tuple[int, list[int]]:
    """A cardiology session of reserved slots only, every one open to the community doctor."""
    with clock.frozen(UTC_NOW), session_scope() as session:
        clinic = scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=NOW + timedelta(days=3),
            ends_at=NOW + timedelta(days=3, hours=3),
            capacity=capacity,
            reserved_count=capacity,
        )
        views = scheduling.slot_views(session, world.community_doctor, clinic)
        assert [(v.pool, v.availability) for v in views] == [("reserved", "open")] * capacity
        return clinic.id, [s.id for s in clinic.slots]


def _patients(world: World, count: int) -> list[int]:
    """One resident per booking: a resident holds at most the profile's number of future
    reserved bookings (reserved_slot_bookings_per_resident_max)."""
    with clock.frozen(UTC_NOW), session_scope() as session:
        return add_patients(session, world, count)


def _bookings(slot_ids: list[int]) -> dict[int, list[int]]:
    """slot id -> ids of every booking of it, live or not, as committed."""
    found: dict[int, list[int]] = {}
    with session_scope() as session:
        rows = session.execute(
            select(Booking.slot_id, Booking.id, Booking.status)
            .where(Booking.slot_id.in_(slot_ids))
            .order_by(Booking.id)
        ).all()
    for slot_id, booking_id, status in rows:
        assert status == "booked", (booking_id, status)
        found.setdefault(slot_id, []).append(booking_id)
    return found


def _audited(principal: Principal, action: str) -> int:
    with session_scope() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor == principal.username, AuditEntry.action == action)
        )
    return count or 0


# --- bookings -------------------------------------------------------------------------------


def test_many_clients_one_slot_exactly_one_wins(committed_world: World) -> None:
    world = committed_world
    _, (slot_id,) = _publish(world, capacity=1)

    def attempt() -> int:
        with session_scope() as session:
            return scheduling.book(
                session, world.community_doctor, slot_id=slot_id, resident_id=world.patient
            ).id

    results = race([attempt] * CLIENTS)

    won = winners(results)
    assert len(won) == 1, results
    assert_all_conflicts(results, CLIENTS - 1)
    assert _bookings([slot_id]) == {slot_id: won}
    assert _audited(world.community_doctor, "booking.create") == 1  # the losers wrote nothing
    assert_audit_chain_intact()


def test_book_any_fills_each_slot_once(committed_world: World) -> None:
    world = committed_world
    session_id, slot_ids = _publish(world, capacity=CAPACITY)

    def attempt(resident_id: int) -> Callable[[], tuple[int, int]]:
        def run() -> tuple[int, int]:
            with session_scope() as session:
                booking = scheduling.book_any(
                    session, world.community_doctor, session_id=session_id, resident_id=resident_id
                )
                return booking.slot_id, booking.id

        return run

    results = race([attempt(r) for r in _patients(world, 3 * CAPACITY)])

    won = winners(results)
    assert sorted(slot for slot, _ in won) == sorted(slot_ids), results  # each slot once
    assert_all_conflicts(results, 2 * CAPACITY)
    assert _bookings(slot_ids) == {slot: [booking] for slot, booking in won}
    assert _audited(world.community_doctor, "booking.create") == CAPACITY
    assert_audit_chain_intact()


def test_a_burst_larger_than_the_thread_pool_through_the_app_books_every_slot(
    committed_world: World,
) -> None:
    """Three times as many concurrent booking requests as the pool has connections, through the
    real app, with fewer worker threads than connections. Without the admission gate, requests
    holding a connection wait for a thread while every thread waits for a connection, until
    the pool times out with 500s; with it, every request is booked."""
    world = committed_world
    pool = get_settings().db_pool_size
    count = 3 * pool
    session_id, slot_ids = _publish(world, capacity=count)
    patients = _patients(world, count)
    with clock.frozen(UTC_NOW), session_scope() as session:
        headers = bearer(session, world.community_doctor)

    async def burst() -> list[httpx.Response]:
        to_thread.current_default_thread_limiter().total_tokens = max(2, pool // 2)
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(
            transport=transport, base_url="http://caregrid", headers=headers, timeout=RACE_SECONDS
        ) as client:
            url = f"/api/sessions/{session_id}/bookings"
            return await asyncio.gather(
                *(client.post(url, json={"resident_id": r}) for r in patients)
            )

    with clock.frozen(UTC_NOW):
        responses = run_async(burst)

    assert [r.status_code for r in responses] == [201] * count, {r.text for r in responses}
    booked = sorted(r.json()["slot_id"] for r in responses)
    assert booked == sorted(slot_ids)
    assert _bookings(slot_ids) == {r.json()["slot_id"]: [r.json()["id"]] for r in responses}
    assert_audit_chain_intact()


# --- a referral's optimistic lock -----------------------------------------------------------

# What each winning action adds to the timeline: each event is one change of state, and each
# change of state advances the version by one. An accepted referral that holds a slot is
# scheduled in the same unit of work.
STEPS: dict[tuple[Action, bool], list[str]] = {
    (Action.ACCEPT, False): ["accept"],
    (Action.ACCEPT, True): ["accept", "schedule"],
    (Action.CANCEL, False): ["cancel"],
    (Action.CANCEL, True): ["cancel"],
    (Action.REJECT, False): ["reject"],
}


def _submitted_referral(world: World, *, with_slot: bool) -> int:
    """An up referral from the community centre to cardiology, submitted (and committed),
    holding a reserved slot if asked."""
    slot_id = _publish(world, capacity=1)[1][0] if with_slot else None
    with clock.frozen(UTC_NOW), session_scope() as session:
        referral = refer_up(session, world, slot_id=slot_id, **CHEST_PAIN)
        assert referral.state == "submitted"
        return referral.id


def _snapshot(referral_id: int) -> tuple[str, int, list[str]]:
    """State, version and timeline actions, as committed."""
    with session_scope() as session:
        referral = referrals.get(session, referral_id)
        return referral.state, referral.version, [e.action for e in referral.events]


def _has_live_booking(referral_id: int) -> bool:
    with session_scope() as session:
        return scheduling.live_booking_for_referral(session, referral_id) is not None


def _answer(
    world: World,
    referral_id: int,
    action: Action,
    version: int,
    *,
    loaded: threading.Barrier | None = None,
) -> Callable[[], str]:
    """One client's answer to the referral at the version it saw; returns the new state.
    With `loaded`, the client loads the referral and waits there for the other client before
    writing, so both hold the same version in memory when they write."""
    principal = {
        Action.ACCEPT: world.cardiologist,  # the receiving department
        Action.REJECT: world.lead_admin,  # the receiving hospital's admin
        Action.CANCEL: world.community_doctor,  # the sender
    }[action]

    def run() -> str:
        with session_scope() as session:
            if loaded is not None:
                referrals.get(session, referral_id)
                loaded.wait(timeout=RACE_SECONDS)
            referral = referrals.transition(
                session,
                principal,
                referral_id,
                action=action,
                version=version,
                rejection_code=RejectionReason.NO_CAPACITY if action == Action.REJECT else None,
            )
            return referral.state

    return run


def _assert_one_answer_applied(
    referral_id: int,
    actions: tuple[Action, Action],
    results: list[str | BaseException],
    before: tuple[str, int, list[str]],
    *,
    with_slot: bool,
) -> Action:
    """Exactly one action applied, entirely; the other left no trace. Returns the winner."""
    won = [a for a, r in zip(actions, results, strict=True) if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert_all_conflicts(results, 1)
    winner = won[0]
    steps = STEPS[winner, with_slot]
    state, version, events = _snapshot(referral_id)
    assert state == TRANSITIONS[Action(steps[-1])][1]
    assert results[actions.index(winner)] == state
    assert events == before[2] + steps  # one of the two answers, never both
    assert version == before[1] + len(steps)  # one version per change
    if with_slot:  # cancelling released the slot; accepting kept (and scheduled) it
        assert _has_live_booking(referral_id) == (winner == Action.ACCEPT)
    return winner


@pytest.mark.parametrize(
    ("actions", "with_slot"),
    [
        ((Action.ACCEPT, Action.CANCEL), False),
        ((Action.ACCEPT, Action.CANCEL), True),
        ((Action.ACCEPT, Action.REJECT), False),
    ],
    ids=["accept-vs-cancel", "accept-vs-cancel-holding-a-slot", "accept-vs-reject"],
)
def test_two_answers_to_one_referral_version_exactly_one_applies(
    committed_world: World, actions: tuple[Action, Action], with_slot: bool
) -> None:
    world = committed_world
    referral_id = _submitted_referral(world, with_slot=with_slot)
    before = _snapshot(referral_id)
    assert before[0] == "submitted"

    results = race([_answer(world, referral_id, a, before[1]) for a in actions])

    _assert_one_answer_applied(referral_id, actions, results, before, with_slot=with_slot)
    assert_audit_chain_intact()


def test_both_clients_loaded_the_referral_before_either_writes(
    committed_world: World, engine: Engine
) -> None:
    """The database's version check (version_id_col), not only the service's: both clients
    hold version v in memory when they write; the second UPDATE matches no row."""
    if engine.dialect.name == "sqlite":
        pytest.skip(
            "SQLite units of work take the write lock at BEGIN IMMEDIATE: a second client "
            "cannot load the referral until the first commits, so it sees the new version "
            "(the test above covers that)"
        )
    world = committed_world
    referral_id = _submitted_referral(world, with_slot=False)
    before = _snapshot(referral_id)
    actions = (Action.ACCEPT, Action.CANCEL)
    loaded = threading.Barrier(len(actions))

    results = race([_answer(world, referral_id, a, before[1], loaded=loaded) for a in actions])

    _assert_one_answer_applied(referral_id, actions, results, before, with_slot=False)
    (lost,) = [r for r in results if isinstance(r, Conflict)]
    assert "changed by someone else at the same moment" in lost.detail
    assert_audit_chain_intact()
