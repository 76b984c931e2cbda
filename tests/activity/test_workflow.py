"""The workflows' own records become facts: a referral, a published clinic session, a contract
and the register, keyed `cg-` and without names or national IDs; collecting twice changes
nothing, and the indicators then see them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.export import export
from caregrid.activity.models import TABLES
from caregrid.indicators import service
from caregrid.referral import service as referrals
from caregrid.referral.schemas import ReferralIn
from caregrid.scheduling import service as scheduling
from tests.world import NOW, World, build


def test_the_workflows_records_read_as_facts(session: Session, tmp_path: Path) -> None:
    with clock.frozen(NOW):
        world: World = build(session)
        sent = referrals.create(
            session,
            world.community_doctor,
            ReferralIn(
                resident_id=world.patient,
                to_institution_code="jh-rmyy",
                to_department_id=world.cardiology,
                diagnosis_code="I10",
                reason="血压控制不佳",
                justification="两次随访血压未控制",
                clinical_summary="随访记录见附件。",
                consent=True,
            ),
        )
        start = clock.local(NOW + timedelta(days=3)).replace(hour=8, minute=0)
        scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            capacity=30,
        )
        first = workflow.collect(session, NOW.date())
        again = workflow.collect(session, NOW.date())
    assert first["referral"] >= 1 and first["capacity"] >= 1 and first["contract"] >= 1
    assert set(again.values()) == {0}
    table = TABLES["referral"]
    row = session.execute(
        select(table).where(table.c.referral_id == f"cg-{sent.id}")
    ).one()._mapping
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
    register = TABLES["resident"]
    mine = session.execute(
        select(register).where(register.c.patient_id == f"cg-{world.patient}")
    ).one()._mapping
    assert mine["registered_institution_code"] == "jh-wc-chengdong"
    assert "张建国" not in str(dict(mine)) and "elderly" in (mine["key_populations"] or "")
    export(session, tmp_path)
    month = NOW.strftime("%Y-%m")
    cells = service.compute(session, (month, month), facts_root=tmp_path)
    up = [c for c in cells if (c.indicator, c.unit) == ("CC7", "jh-rmyy-wucheng")]
    assert up and up[0].numerator >= 1
