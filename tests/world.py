"""A small slice of the shipped Jinhua network to run referrals and bookings in.

The lead (金华市人民医院, jh-rmyy) gets a cardiology department; a community health centre of
the same group (城东, jh-wc-chengdong) refers up; the Central Hospital (jh-zxyy) is in another
grid's group. Every account is real (auth service) and the clock is pinned.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.models import AuthToken, User, UserRole
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.chronic.models import Enrolment
from caregrid.chronic.models import Visit as ChronicVisit
from caregrid.db.session import session_scope
from caregrid.diagnostics.models import (
    Order,
    OrderEvent,
    Recognition,
    Result,
    ResultValue,
    Teleconsultation,
)
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.models import (
    Contract,
    ContractItem,
    ServiceDelivery,
    Team,
    TeamMember,
)
from caregrid.familydoctor.schemas import ConsentIn, ContractIn, MemberIn, TeamIn
from caregrid.familydoctor.vocab import ConsentMethod, TeamRole
from caregrid.referral.models import Referral, ReferralEvent
from caregrid.registry import service as registry
from caregrid.registry.models import Department, Practitioner
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.models import Resident, ResidentTag
from caregrid.residents.schemas import ResidentIn
from caregrid.scheduling.models import BedStay, Booking, ClinicSession, Slot
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
    team: int
    gp_code: str
    tag: str
    # More residents registered at the community centre (`add_patients`), removed with it.
    more_patients: list[int] = field(default_factory=list)


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
    team = _team(session, tag)
    patient = _resident(session, doctor, "张建国", _unique_nid(tag, 0))
    with clock.frozen(NOW):
        familydoctor.sign(
            session,
            SYSTEM,
            ContractIn(
                resident_id=patient,
                team_code=team.code,
                doctor_code=f"gp-wang{tag}",
                packages=["basic"],
                starts_on=NOW.date(),
                consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="张建国"),
            ),
        )
    world = World(
        cardiology=cardiology.id,
        neurology_zxyy=neurology.id,
        community_doctor=doctor,
        community_admin=account("chc-admin", Role.INSTITUTION_ADMIN, community),
        cardiologist=account("dr-li", Role.CLINICIAN, "jh-rmyy"),
        lead_admin=account("rmyy-admin", Role.INSTITUTION_ADMIN, "jh-rmyy"),
        office=account("office", Role.NETWORK_ADMIN, None, "jh-rmyy-wucheng"),
        other_grid_doctor=account("dr-zhao", Role.CLINICIAN, "jh-jd-duohu"),
        patient=patient,
        unsigned_patient=_resident(session, doctor, "李秀兰", _unique_nid(tag, 1)),
        team=team.id,
        gp_code=f"gp-wang{tag}",
        tag=tag,
    )
    return world


def add_patients(session: Session, world: World, count: int) -> list[int]:
    """`count` more residents of the community centre, one per booking where each needs its
    own (a resident holds only so many future reserved bookings at once)."""
    made = [
        _resident(session, world.community_doctor, f"居民{i}", _unique_nid(world.tag, 100 + i))
        for i in range(len(world.more_patients), len(world.more_patients) + count)
    ]
    world.more_patients.extend(made)
    return made


def _unique_nid(tag: str, which: int) -> str:
    """A valid national ID that differs between worlds built with different tags."""
    if not tag and which < 2:
        return nid("19580312" if which == 0 else "19600101", f"01{which}")
    spread = zlib.crc32(f"{tag}/{which}".encode())
    birth = date(1950, 1, 1) + timedelta(days=spread % 7300)
    return nid(birth.strftime("%Y%m%d"), f"{spread // 7300 % 1000:03d}")


def _team(session: Session, tag: str) -> Team:
    """A family-doctor team at the community centre with a cardiologist from the lead (E1)."""
    staff = [
        ("gp-wang", "王医生", "intermediate", "jh-wc-chengdong", TeamRole.GENERAL_PRACTITIONER),
        ("nurse-chen", "陈护士", "junior", "jh-wc-chengdong", TeamRole.NURSE),
        ("ph-zhou", "周医生", "intermediate", "jh-wc-chengdong", TeamRole.PUBLIC_HEALTH),
        ("card-sun", "孙主任", "associate_senior", "jh-rmyy", TeamRole.SPECIALIST),
    ]
    for code, name, title, home, _ in staff:
        registry.create_practitioner(
            session,
            SYSTEM,
            code=f"{code}{tag}",
            name=name,
            title_level=title,
            home_institution_code=home,
        )
    return familydoctor.create_team(
        session,
        SYSTEM,
        TeamIn(
            code=f"chengdong-1{tag}",
            name="城东家庭医生团队一",
            institution_code="jh-wc-chengdong",
            network_code="jh-rmyy-wucheng",
            members=[MemberIn(practitioner_code=f"{c}{tag}", role=r) for c, _, _, _, r in staff],
        ),
    )


def _resident(session: Session, by: Principal, name: str, value: str) -> int:
    resident = residents.create(
        session,
        by,
        ResidentIn(
            national_id=value,
            name=name,
            address_division_code="330702-chengdong",
            registered_institution_code="jh-wc-chengdong",
        ),
    )
    return resident.id


def remove(
    world: World, *, also: list[int] | None = None, departments: list[int] | None = None
) -> None:
    """Delete a committed world and everything made from it (tests that commit, since the
    live server or concurrent clients cannot see a rolled-back session). The append-only
    audit log keeps its entries, as it would in production. `also`: more residents the test
    made; `departments`: more departments it made."""
    patients = [world.patient, world.unsigned_patient, *world.more_patients, *(also or [])]
    departments = [world.cardiology, world.neurology_zxyy, *(departments or [])]
    tag = world.tag
    staff = [f"{code}{tag}" for code in ("gp-wang", "nurse-chen", "ph-zhou", "card-sun")]
    referral_ids = select(Referral.id).where(Referral.resident_id.in_(patients))
    clinics = select(ClinicSession.id).where(ClinicSession.department_id.in_(departments))
    contracts = select(Contract.id).where(Contract.resident_id.in_(patients))
    users = select(User.id).where(User.username.like(f"%{tag}"))
    orders = select(Order.id).where(Order.resident_id.in_(patients))
    results = select(Result.id).where(Result.resident_id.in_(patients))
    with session_scope() as session:
        for statement in (
            delete(Recognition).where(Recognition.order_id.in_(orders)),
            delete(OrderEvent).where(OrderEvent.order_id.in_(orders)),
            delete(Order).where(Order.resident_id.in_(patients)),
            delete(ResultValue).where(ResultValue.result_id.in_(results)),
            delete(Result).where(Result.resident_id.in_(patients)),
            delete(Teleconsultation).where(Teleconsultation.resident_id.in_(patients)),
            delete(ChronicVisit).where(ChronicVisit.resident_id.in_(patients)),
            delete(Enrolment).where(Enrolment.resident_id.in_(patients)),
            delete(ServiceDelivery).where(ServiceDelivery.resident_id.in_(patients)),
            delete(ContractItem).where(ContractItem.contract_id.in_(contracts)),
            update(Contract).where(Contract.resident_id.in_(patients)).values(renewed_from_id=None),
            delete(Contract).where(Contract.resident_id.in_(patients)),
            delete(TeamMember).where(TeamMember.team_id == world.team),
            delete(Team).where(Team.id == world.team),
            delete(Practitioner).where(Practitioner.code.in_(staff)),
            delete(Booking).where(
                or_(
                    Booking.resident_id.in_(patients),
                    Booking.referral_id.in_(referral_ids),
                    Booking.slot_id.in_(select(Slot.id).where(Slot.session_id.in_(clinics))),
                )
            ),
            delete(BedStay).where(BedStay.resident_id.in_(patients)),
            delete(ReferralEvent).where(ReferralEvent.referral_id.in_(referral_ids)),
            update(Referral).where(Referral.resident_id.in_(patients)).values(parent_id=None),
            delete(Referral).where(Referral.resident_id.in_(patients)),
            delete(Slot).where(Slot.session_id.in_(clinics)),
            delete(ClinicSession).where(ClinicSession.department_id.in_(departments)),
            delete(Department).where(Department.id.in_(departments)),
            delete(ResidentTag).where(ResidentTag.resident_id.in_(patients)),
            delete(Resident).where(Resident.id.in_(patients)),
            delete(AuthToken).where(AuthToken.user_id.in_(users)),
            delete(UserRole).where(UserRole.user_id.in_(users)),
            delete(User).where(User.username.like(f"%{tag}")),
        ):
            session.execute(statement)
