"""A small slice of the shipped Jinhua network to run referrals and bookings in.

The lead (金华市人民医院, jh-rmyy) gets a cardiology department; a community health centre of
the same group (城东, jh-wc-chengdong) refers up; the Central Hospital (jh-zxyy) is in another
grid's group. Every account is real (auth service) and the clock is pinned.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.registry import service as registry
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from tests.conftest import make_principal

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday morning in Jinhua; tests move from here.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def nid(birth: str, seq: str) -> str:
    body = f"330702{birth}{seq}"
    return body + national_id.check_digit(body)


@dataclass(frozen=True)
class World:
    cardiology: int
    neurology_zxyy: int
    community_doctor: Principal
    community_admin: Principal
    cardiologist: Principal
    lead_admin: Principal
    office: Principal
    other_grid_doctor: Principal
    patient: int
    unsigned_patient: int


def build(session: Session, tag: str = "") -> World:
    """Departments, accounts and two residents (one signed with a family doctor)."""
    cardiology = registry.create_department(
        session, SYSTEM, institution_code="jh-rmyy", code=f"card{tag}", name_zh="心血管内科"
    )
    neurology = registry.create_department(
        session, SYSTEM, institution_code="jh-zxyy", code=f"neuro{tag}", name_zh="神经内科"
    )

    def account(
        name: str, role: Role, institution: str | None, network: str | None = None
    ) -> Principal:
        return make_principal(
            session, f"{name}{tag}", role, institution=institution, network=network
        )

    community = "jh-wc-chengdong"
    doctor = account("dr-wang", Role.FAMILY_DOCTOR, community)
    world = World(
        cardiology=cardiology.id,
        neurology_zxyy=neurology.id,
        community_doctor=doctor,
        community_admin=account("chc-admin", Role.INSTITUTION_ADMIN, community),
        cardiologist=account("dr-li", Role.CLINICIAN, "jh-rmyy"),
        lead_admin=account("rmyy-admin", Role.INSTITUTION_ADMIN, "jh-rmyy"),
        office=account("office", Role.NETWORK_ADMIN, None, "jh-rmyy-wucheng"),
        other_grid_doctor=account("dr-zhao", Role.CLINICIAN, "jh-jd-duohu"),
        patient=_resident(session, doctor, "张建国", _unique_nid(tag, 0), True),
        unsigned_patient=_resident(session, doctor, "李秀兰", _unique_nid(tag, 1), False),
    )
    return world


def _unique_nid(tag: str, which: int) -> str:
    """A valid national ID that differs between worlds built with different tags."""
    if not tag:
        return nid("19580312" if which == 0 else "19600101", f"01{which}")
    spread = zlib.crc32(f"{tag}/{which}".encode())
    birth = date(1950, 1, 1) + timedelta(days=spread % 7300)
    return nid(birth.strftime("%Y%m%d"), f"{spread // 7300 % 1000:03d}")


def _resident(session: Session, by: Principal, name: str, value: str, signed: bool) -> int:
    resident = residents.create(
        session,
        by,
        ResidentIn(
            national_id=value,
            name=name,
            address_division_code="330702-chengdong",
            registered_institution_code="jh-wc-chengdong",
            signed_until=(NOW + timedelta(days=365)).date() if signed else None,
        ),
    )
    return resident.id
