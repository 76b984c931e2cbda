"""The workflows' own records become facts: a referral, a published clinic session and a
booking on it, a contract, an order to the shared laboratory and the register, keyed `cg-` and
without names or national IDs; collecting twice changes nothing, and the indicators then see
them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.export import export
from caregrid.activity.models import TABLES
from caregrid.auth.roles import SYSTEM
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.schemas import CentreIn, CentreItemIn, OrderIn, ReportIn, ValueIn
from caregrid.diagnostics.vocab import CentreKind
from caregrid.indicators import service
from caregrid.scheduling import service as scheduling
from tests.referrals import refer_up
from tests.world import NOW, World, build


def test_the_workflows_records_read_as_facts(session: Session, tmp_path: Path) -> None:
    with clock.frozen(NOW):
        world: World = build(session)
        sent = refer_up(session, world)
        start = clock.local(NOW + timedelta(days=3)).replace(hour=8, minute=0)
        clinic = scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            capacity=30,
        )
        booked = scheduling.book_any(
            session,
            world.community_doctor,
            session_id=clinic.id,
            resident_id=world.patient,
            referral_id=sent.id,
        )
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.LABORATORY,
                institution_code="jh-rmyy",
                name="检验中心",
                items=[CentreItemIn(item_code="fasting_glucose", turnaround_hours=4)],
                readers=[world.cardiologist.username],
            ),
        )
        order = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="fasting_glucose"),
        )
    with clock.frozen(NOW + timedelta(hours=4)):  # exactly the promised four hours
        diagnostics.report(
            session,
            world.cardiologist,
            order.id,
            ReportIn(
                observed_on=NOW.date(),
                values=[ValueIn(component="fpg", value=Decimal("6.4"), unit="mmol/L")],
            ),
        )
    with clock.frozen(NOW):
        first = workflow.collect(session, NOW.date())
        again = workflow.collect(session, NOW.date())
    assert first["referral"] >= 1 and first["capacity"] >= 1 and first["contract"] >= 1
    assert first["booking"] == 1 and first["diagnostic_order"] == 1
    assert set(again.values()) == {0}
    table = TABLES["referral"]
    row = (
        session.execute(select(table).where(table.c.referral_id == f"cg-{sent.id}")).one()._mapping
    )
    assert (row["direction"], row["from_institution_code"], row["to_institution_code"]) == (
        "up", "jh-wc-chengdong", "jh-rmyy"
    )  # fmt: skip
    slots = TABLES["capacity"]
    day = session.execute(
        select(slots.c.total, slots.c.reserved).where(
            slots.c.resource == "slot", slots.c.date == start.date()
        )
    ).one()
    assert day.total == 30 and 0 < day.reserved <= 30
    bookings = TABLES["booking"]
    mine_booked = (
        session.execute(select(bookings).where(bookings.c.booking_id == f"cg-{booked.id}"))
        .one()
        ._mapping
    )
    assert (mine_booked["pool"], mine_booked["status"], mine_booked["institution_code"]) == (
        "reserved", "booked", "jh-rmyy"
    )  # fmt: skip
    assert mine_booked["booked_by_institution_code"] == "jh-wc-chengdong"
    assert mine_booked["referral_id"] == f"cg-{sent.id}" and mine_booked["date"] == start.date()
    orders = TABLES["diagnostic_order"]
    lab = (
        session.execute(select(orders).where(orders.c.order_id == f"cg-{order.id}")).one()._mapping
    )
    assert (lab["institution_code"], lab["centre_institution_code"], lab["centre_kind"]) == (
        "jh-wc-chengdong", "jh-rmyy", "laboratory"
    )  # fmt: skip
    assert lab["turnaround_hours"] == 4 and lab["within_turnaround"] is True
    register = TABLES["resident"]
    mine = (
        session.execute(select(register).where(register.c.patient_id == f"cg-{world.patient}"))
        .one()
        ._mapping
    )
    assert mine["registered_institution_code"] == "jh-wc-chengdong"
    assert "张建国" not in str(dict(mine)) and "elderly" in (mine["key_populations"] or "")
    export(session, tmp_path)
    month = NOW.strftime("%Y-%m")
    cells = service.compute(session, (month, month), facts_root=tmp_path)
    up = [c for c in cells if (c.indicator, c.unit) == ("CC7", "jh-rmyy-wucheng")]
    assert up and up[0].numerator >= 1
