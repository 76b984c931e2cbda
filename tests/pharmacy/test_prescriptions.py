"""Prescriptions between the network's pharmacies (G5, J7): a cloud prescription from the
lead dispensed at the community centre, the refusals with their reasons (outside the
network, an item the pharmacy does not list, a non-essential drug without a reason, a bad
ICD-10 code), the in-hospital preparation allowed anywhere in the group, dispensing at its
edges (a lot expiring today, stock exactly the units, an expired or foreign lot), and the
transition table's refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.pharmacy import prescriptions
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import Dispensed, Prescription, StockLot
from caregrid.pharmacy.schemas import (
    DispenseIn,
    DispenseLotIn,
    LotIn,
    PrescriptionIn,
    RefuseIn,
    RouteIn,
)
from caregrid.pharmacy.vocab import PrescriptionState
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.pharmacy.conftest import AMLODIPINE, LEAD, OLMESARTAN, PREPARATION, UNIT
from tests.world import NOW, World

TODAY = NOW.date()


def _rx(
    world: World, *items: dict[str, object], to: str | None = UNIT, code: str = "I10"
) -> PrescriptionIn:
    return PrescriptionIn.model_validate(
        {
            "resident_id": world.patient,
            "diagnosis_code": code,
            "dispensing_institution_code": to,
            "items": list(items),
        }
    )


def _line(code: str, quantity: int = 30, **more: object) -> dict[str, object]:
    return {"item_code": code, "quantity": quantity, "dosage": "每日1次，每次1片", **more}


def _held(session: Session, institution: str) -> dict[str, int]:
    place = registry.require_institution(session, institution)
    return {lot.lot_number: lot.quantity for lot in pharmacy.lots(session, {place.id})}


def test_the_lead_writes_the_unit_dispenses_soonest_expiry_first(
    session: Session, pharmacies: World
) -> None:
    world = pharmacies
    with clock.frozen(NOW):
        written = prescriptions.write(
            session, world.cardiologist, _rx(world, _line(AMLODIPINE, 30))
        )
        done = prescriptions.dispense(
            session, world.community_admin, written.id, DispenseIn(version=written.version)
        )
    shown = prescriptions.views(session, [done])[0]
    assert shown.state == PrescriptionState.DISPENSED and shown.cross_institution
    assert shown.institution_code == LEAD and shown.dispensing_institution_code == UNIT
    handed = [(d.lot_number, d.quantity) for d in shown.items[0].dispensed]
    assert handed == [("T0", 20), ("T9", 10)]  # the lot expiring today goes first, to zero
    assert _held(session, UNIT) == {"T9": 40}
    with clock.frozen(NOW):  # the family doctor sees the patient's medicines
        mine = prescriptions.of_resident(session, world.community_doctor, world.patient)
    assert [p.id for p in mine] == [written.id]


def test_a_pharmacy_outside_the_network_is_refused_citing_g5(
    session: Session, pharmacies: World
) -> None:
    with clock.frozen(NOW), pytest.raises(RuleViolation) as exc:
        prescriptions.write(
            session, pharmacies.cardiologist, _rx(pharmacies, _line(AMLODIPINE), to="jh-zxyy")
        )
    assert exc.value.requirement == "G5"


def test_every_bad_item_is_named_and_nothing_is_written(
    session: Session, pharmacies: World
) -> None:
    world = pharmacies
    with clock.frozen(NOW), pytest.raises(InvalidInput) as exc:
        prescriptions.write(
            session,
            world.cardiologist,
            _rx(
                world,
                _line("EML18-CAPTOPRIL-T25"),  # in the catalogue, not on the unit's list
                _line(OLMESARTAN),  # non-essential where valsartan (arb) is essential
                _line("NO-SUCH-1"),
                _line(AMLODIPINE),
                _line(AMLODIPINE),
                code="X99.9",
            ),
        )
    fields = {p.field for p in exc.value.problems}
    assert fields == {
        "diagnosis_code",
        "items.0.item_code",
        "items.1.reason",
        "items.2.item_code",
        "items.4.item_code",
    }
    assert session.scalar(select(func.count()).select_from(Prescription)) == 0


def test_a_reason_admits_the_non_essential_drug_and_a_preparation_goes_anywhere(
    session: Session, pharmacies: World
) -> None:
    world = pharmacies
    with clock.frozen(NOW):
        written = prescriptions.write(
            session,
            world.cardiologist,
            _rx(world, _line(OLMESARTAN, reason="缬沙坦不耐受（干咳）"), _line(PREPARATION, 2)),
        )
    shown = prescriptions.views(session, [written])[0]
    assert [(i.item_code, i.essential, i.reason) for i in shown.items] == [
        (OLMESARTAN, False, "缬沙坦不耐受（干咳）"),
        (PREPARATION, False, None),
    ]


def test_dispensing_named_lots_refuses_expired_foreign_and_short_lines(
    session: Session, pharmacies: World
) -> None:
    world = pharmacies
    lead = registry.require_institution(session, LEAD)
    with clock.frozen(NOW):
        foreign = pharmacy.receive_lot(
            session,
            SYSTEM,
            LEAD,
            LotIn(item_code=AMLODIPINE, lot_number="L1", expires_on=TODAY, quantity=5),
        )
        written = prescriptions.write(
            session, world.cardiologist, _rx(world, _line(AMLODIPINE, 20))
        )
    unit = {
        lot.lot_number: lot.id
        for lot in pharmacy.lots(session, {registry.require_institution(session, UNIT).id})
    }
    with clock.frozen(NOW + timedelta(days=1)), pytest.raises(InvalidInput) as exc:
        prescriptions.dispense(
            session,
            world.community_admin,
            written.id,
            DispenseIn(
                version=written.version,
                lots=[
                    DispenseLotIn(item_code=AMLODIPINE, lot_id=unit["T0"], quantity=10),  # expired
                    DispenseLotIn(
                        item_code=AMLODIPINE, lot_id=foreign.id, quantity=5
                    ),  # the lead's
                    DispenseLotIn(item_code=AMLODIPINE, lot_id=unit["T9"], quantity=4),
                ],
            ),
        )
    fields = [p.field for p in exc.value.problems]
    assert fields == ["lots.0.lot_id", "lots.1.lot_id", "lots"]  # and 14 of 20 named
    assert _held(session, UNIT) == {"T0": 20, "T9": 50}
    assert session.scalar(select(func.count()).select_from(Dispensed)) == 0
    assert foreign.institution_id == lead.id


def test_stock_exactly_the_units_is_dispensed_one_more_is_not(
    session: Session, pharmacies: World
) -> None:
    world = pharmacies
    with clock.frozen(NOW):
        exact = prescriptions.write(session, world.cardiologist, _rx(world, _line(AMLODIPINE, 70)))
        more = prescriptions.write(session, world.cardiologist, _rx(world, _line(AMLODIPINE, 1)))
        prescriptions.dispense(session, world.community_admin, exact.id, DispenseIn(version=1))
        assert _held(session, UNIT) == {}
        with pytest.raises(InvalidInput) as short:
            prescriptions.dispense(session, world.community_admin, more.id, DispenseIn(version=1))
    assert "0 unexpired units in stock" in short.value.problems[0].message
    remaining = session.scalars(select(StockLot.quantity)).all()
    assert min(remaining) == 0


def test_refuse_cancel_and_route_follow_the_table(session: Session, pharmacies: World) -> None:
    world = pharmacies
    with clock.frozen(NOW):
        first = prescriptions.write(session, world.cardiologist, _rx(world, _line(AMLODIPINE, 5)))
        with pytest.raises(Forbidden):  # the lead's admin does not hold it
            prescriptions.refuse(
                session, world.lead_admin, first.id, RefuseIn(version=1, reason="x")
            )
        refused = prescriptions.refuse(
            session, world.community_admin, first.id, RefuseIn(version=1, reason="剂量需核对")
        )
        assert refused.refusal == "剂量需核对"
        with pytest.raises(Conflict) as closed:
            prescriptions.dispense(
                session, world.community_admin, first.id, DispenseIn(version=refused.version)
            )
        assert "refused" in closed.value.detail
        second = prescriptions.write(
            session, world.cardiologist, _rx(world, _line("EML18-CAPTOPRIL-T25", 5), to=LEAD)
        )
        with pytest.raises(InvalidInput) as unlisted:  # the unit does not list captopril
            prescriptions.route(
                session,
                world.cardiologist,
                second.id,
                RouteIn(version=1, dispensing_institution_code=UNIT),
            )
        assert unlisted.value.problems[0].field == "items.0.item_code"
        with pytest.raises(Forbidden):
            prescriptions.cancel(session, world.community_doctor, second.id, 1)
        gone = prescriptions.cancel(session, world.cardiologist, second.id, 1)
    assert gone.state == PrescriptionState.CANCELLED


def test_the_api_writes_and_dispenses_and_the_queue_shows_it(
    session: Session, pharmacies: World, client: TestClient
) -> None:
    world = pharmacies
    doctor = bearer(session, world.cardiologist)
    unit = bearer(session, world.community_admin)
    with clock.frozen(NOW):
        bad = client.post(
            "/api/prescriptions",
            json={"resident_id": world.patient, "diagnosis_code": "I10", "items": []},
            headers=doctor,
        )
        assert bad.status_code == 422
        sent = client.post(
            "/api/prescriptions",
            json=_rx(world, _line(AMLODIPINE, 10)).model_dump(mode="json"),
            headers=doctor,
        )
        assert sent.status_code == 201 and sent.json()["cross_institution"] is True
        queue = client.get(f"/api/institutions/{UNIT}/prescriptions", headers=unit)
        assert [p["id"] for p in queue.json()] == [sent.json()["id"]]
        assert (
            client.get(f"/api/institutions/{UNIT}/prescriptions", headers=doctor).status_code == 403
        )
        done = client.post(
            f"/api/prescriptions/{sent.json()['id']}/dispense", json={"version": 1}, headers=unit
        )
    assert done.status_code == 200 and done.json()["state"] == "dispensed"
    assert done.json()["items"][0]["dispensed"] == [
        {"lot_number": "T0", "expires_on": TODAY.isoformat(), "quantity": 10}
    ]
