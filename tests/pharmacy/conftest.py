"""The Jinhua slice of tests.world with the starter catalogue imported into its group
(jh-rmyy-wucheng: the lead jh-rmyy and the community centre jh-wc-chengdong), and, for the
prescription tests, the members' lists, stock at the centre and the patient referred up;
for the regimen tests (G6), generics of amlodipine at the centre and metformin at the lead."""

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


GENERIC = "VBP-AMLODIPINE-T5"  # amlodipine 5 mg tablets from volume-based procurement
HALF = "VBP-AMLODIPINE-T25"  # amlodipine 2.5 mg: the same molecule, not the same medicine
VALSARTAN = "EML18-VALSARTAN-C80"  # the unit does not list it
NEGOTIATED = "NEG-SACUBITRIL-T100"  # a national negotiated drug no member lists
MORE = (
    "code,kind,name_zh,molecule,dosage_form,strength,essential,negotiated,"
    "volume_procurement,source\n"
    f"{GENERIC},drug,苯磺酸氨氯地平片（集采）,amlodipine,片剂,5mg,yes,no,yes,ours: test\n"
    f"{HALF},drug,苯磺酸氨氯地平片,amlodipine,片剂,2.5mg,yes,no,yes,ours: test\n"
    f"{NEGOTIATED},drug,沙库巴曲缬沙坦钠片,sacubitril_valsartan,片剂,100mg,no,yes,no,ours: test\n"
)


def _lot(
    session: Session, institution: str, code: str, number: str, units: int, days: int = 180
) -> None:
    expires = TODAY + timedelta(days=days)
    pharmacy.receive_lot(
        session,
        SYSTEM,
        institution,
        LotIn(item_code=code, lot_number=number, expires_on=expires, quantity=units),
    )


@pytest.fixture
def regimens(session: Session, pharmacies: World) -> World:
    """Beyond `pharmacies` (the unit holds 20 amlodipine expiring today and 50 later, lists
    metformin but holds none): the unit lists and holds both generics of amlodipine, and the
    lead holds metformin in two lots, the sooner-expiring first."""
    with clock.frozen(NOW):
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, MORE.encode(), file="more.csv")
        unit = (
            f"code,name_zh\n{AMLODIPINE},x\n{METFORMIN},x\n{GENERIC},x\n{HALF},x\n"
            "TEST-OLMESARTAN-T20,x\n"
        )
        pharmacy.import_listing(session, SYSTEM, UNIT, unit.encode(), file="unit.csv")
        codes = [i.code for i in pharmacy.items(session, registry.get_network(session, NETWORK).id)]
        listed = "code,name_zh\n" + "".join(f"{c},x\n" for c in codes)
        pharmacy.import_listing(session, SYSTEM, LEAD, listed.encode(), file="lead.csv")
        _lot(session, UNIT, GENERIC, "G1", 80)
        _lot(session, UNIT, HALF, "H1", 500)
        _lot(session, LEAD, METFORMIN, "M-LATE", 30, days=120)
        _lot(session, LEAD, METFORMIN, "M-SOON", 40, days=60)
        _lot(
            session, UNIT, VALSARTAN, "V1", 100
        )  # held but not listed: the unit cannot dispense it
    return pharmacies
