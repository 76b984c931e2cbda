"""The Jinhua slice of tests.world with the starter catalogue imported into its group
(jh-rmyy-wucheng: the lead jh-rmyy and the community centre jh-wc-chengdong), and, for the
prescription tests, the members' lists, stock at the centre and the patient referred up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.schemas import LotIn
from caregrid.registry import service as registry
from tests.referrals import arrive, refer_up
from tests.world import NOW, World, build

NETWORK = "jh-rmyy-wucheng"
LEAD = "jh-rmyy"
UNIT = "jh-wc-chengdong"
TODAY = NOW.date()


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        built = build(session)
        starter = pharmacy.starter_file()
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, starter.read_bytes(), file="starter")
        yield built


AMLODIPINE = "EML18-AMLODIPINE-T5"  # essential, class ccb
METFORMIN = "EML18-METFORMIN-T05"
OLMESARTAN = "TEST-OLMESARTAN-T20"  # non-essential, class arb (valsartan is essential)
PREPARATION = "RMYY-ZJ-001"  # the lead's approved in-hospital preparation
EXTRA = (
    "code,kind,name_zh,molecule,drug_class,essential,in_hospital_preparation,source\n"
    f"{OLMESARTAN},drug,奥美沙坦酯片,olmesartan,arb,no,no,ours: test\n"
    f"{PREPARATION},drug,降压合剂（院内制剂）,,,no,yes,ours: test\n"
)


@pytest.fixture
def pharmacies(session: Session, world: World) -> World:
    """The lead's list holds everything; the unit lists amlodipine, metformin and
    olmesartan; the unit holds two lots of amlodipine (one expiring today)."""
    with clock.frozen(NOW):
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, EXTRA.encode(), file="extra.csv")
        codes = [i.code for i in pharmacy.items(session, registry.get_network(session, NETWORK).id)]
        listed = "code,name_zh\n" + "".join(f"{c},x\n" for c in codes)
        pharmacy.import_listing(session, SYSTEM, LEAD, listed.encode(), file="lead.csv")
        unit = f"code,name_zh\n{AMLODIPINE},x\n{METFORMIN},x\n{OLMESARTAN},x\n"
        pharmacy.import_listing(session, SYSTEM, UNIT, unit.encode(), file="unit.csv")
        for number, expires, units in (("T0", TODAY, 20), ("T9", TODAY + timedelta(days=90), 50)):
            pharmacy.receive_lot(
                session,
                SYSTEM,
                UNIT,
                LotIn(item_code=AMLODIPINE, lot_number=number, expires_on=expires, quantity=units),
            )
        arrive(session, world.cardiologist, refer_up(session, world))
    return world
