"""Concurrent dispenses of a lot's last units over real HTTP (uvicorn on 127.0.0.1): eight
pharmacists press "dispense" on eight prescriptions that each need all ten units; exactly one
is dispensed, the others are refused (409 or 422, never a 5xx), and the lot ends at zero,
never below, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import delete, select
from tests.e2e.conftest import LiveServer
from tests.races import RACE_SECONDS, UTC_NOW
from tests.world import World

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import (
    CatalogueItem,
    Dispensed,
    Listing,
    Prescription,
    PrescriptionItem,
    StockLot,
)
from caregrid.pharmacy.schemas import LotIn, PrescriptionIn
from caregrid.registry import service as registry

NETWORK, UNIT = "jh-rmyy-wucheng", "jh-wc-chengdong"
PHARMACISTS = 8


@pytest.fixture
def last_units(committed_world: World) -> Iterator[tuple[World, int, list[int], str]]:
    """A committed line the unit lists, a lot of 10 units there, eight prescriptions of 10
    and the unit administrator's API token; all deleted afterwards."""
    world, code = committed_world, f"RACE-{secrets.token_hex(3)}"
    with clock.frozen(UTC_NOW), session_scope() as session:
        text = f"code,kind,name_zh,essential,source\n{code},drug,竞速药,yes,ours\n".encode()
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text, file="race.csv")
        unit = registry.require_institution(session, UNIT).id
        session.add(
            Listing(institution_id=unit, code=code, name_zh="竞速药", listed_on=UTC_NOW.date())
        )
        lot = pharmacy.receive_lot(
            session,
            SYSTEM,
            UNIT,
            LotIn(item_code=code, lot_number="R1", expires_on=date(2099, 12, 31), quantity=10),
        )
        ids = [
            pharmacy.prescribe(
                session,
                world.community_doctor,
                PrescriptionIn.model_validate(
                    {
                        "resident_id": world.patient,
                        "diagnosis_code": "I10",
                        "items": [{"item_code": code, "quantity": 10, "dosage": "每日1次"}],
                    }
                ),
            ).id
            for _ in range(PHARMACISTS)
        ]
        lot_id = lot.id
    with session_scope() as session:  # the live server reads the real clock
        user = auth.get_by_username(session, world.community_admin.username)
        assert user is not None
        token = auth.issue_token(session, user, kind="api", hours=1)
    try:
        yield world, lot_id, ids, token
    finally:
        with session_scope() as session:
            items = select(PrescriptionItem.id).where(PrescriptionItem.prescription_id.in_(ids))
            session.execute(delete(Dispensed).where(Dispensed.prescription_item_id.in_(items)))
            session.execute(
                delete(PrescriptionItem).where(PrescriptionItem.prescription_id.in_(ids))
            )
            session.execute(delete(Prescription).where(Prescription.id.in_(ids)))
            session.execute(delete(StockLot).where(StockLot.id == lot_id))
            session.execute(delete(Listing).where(Listing.code == code))
            session.execute(delete(CatalogueItem).where(CatalogueItem.code == code))


def test_racing_dispensers_of_the_last_units_over_http(
    live_server: LiveServer, last_units: tuple[World, int, list[int], str]
) -> None:
    _, lot_id, ids, token = last_units
    barrier = threading.Barrier(len(ids))
    statuses: dict[int, int] = {}

    def press(prescription_id: int) -> None:
        with httpx.Client(base_url=live_server.base_url, timeout=RACE_SECONDS) as client:
            barrier.wait(timeout=RACE_SECONDS)
            answer = client.post(
                f"/api/prescriptions/{prescription_id}/dispense",
                json={"version": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses[prescription_id] = answer.status_code

    threads = [threading.Thread(target=press, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RACE_SECONDS)
    assert not any(t.is_alive() for t in threads)
    assert sorted(statuses.values()).count(200) == 1, statuses
    assert set(statuses.values()) <= {200, 409, 422}, statuses
    with session_scope() as session:
        assert session.scalar(select(StockLot.quantity).where(StockLot.id == lot_id)) == 0
        states = session.scalars(select(Prescription.state).where(Prescription.id.in_(ids))).all()
    assert sorted(states) == ["dispensed"] + ["issued"] * (len(ids) - 1)
