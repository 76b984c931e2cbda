"""REST API of the registry: thin, calls the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from caregrid import clock, yamlio
from caregrid.auth import access
from caregrid.policy import service as policy
from caregrid.registry import checks, importer
from caregrid.registry import service as registry
from caregrid.registry.models import Institution, Network
from caregrid.registry.schemas import (
    CheckOut,
    CityOut,
    DepartmentIn,
    DepartmentOut,
    GridOut,
    ImportOut,
    InstitutionOut,
    MemberClassOut,
    MemberOut,
    NetworkDetail,
    NetworkOut,
    PractitionerIn,
    PractitionerOut,
)
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["registry"])


def institution_out(inst: Institution) -> InstitutionOut:
    return InstitutionOut(
        code=inst.code,
        name_zh=inst.name_zh,
        name_en=inst.name_en,
        level=inst.level,
        category=inst.category,
        division=inst.division_code,
        lat=inst.lat,
        lon=inst.lon,
        beds=inst.beds,
        parent=inst.parent.code if inst.parent else None,
    )


def network_out(net: Network) -> NetworkOut:
    return NetworkOut(
        code=net.code,
        name_zh=net.name_zh,
        name_en=net.name_en,
        kind=net.kind,
        grid=net.grid.code,
        city=net.grid.city.code,
        profile=net.profile,
    )


@router.get("/cities", response_model=list[CityOut])
def list_cities(session: DB, user: User) -> list[CityOut]:
    return [
        CityOut(
            code=c.code,
            name_zh=c.name_zh,
            name_en=c.name_en,
            pilot_level=c.pilot_level,
            grids=[
                GridOut(
                    code=g.code,
                    name_zh=g.name_zh,
                    name_en=g.name_en,
                    divisions=[d.code for d in g.divisions],
                    networks=[n.code for n in g.networks],
                )
                for g in c.grids
            ],
        )
        for c in registry.cities(session)
    ]


@router.get("/networks", response_model=list[NetworkOut])
def list_networks(session: DB, user: User) -> list[NetworkOut]:
    return [network_out(n) for n in registry.networks(session)]


@router.get("/networks/{code}", response_model=NetworkDetail)
def get_network(code: str, session: DB, user: User) -> NetworkDetail:
    net = registry.get_network(session, code)
    members = [
        MemberOut(
            institution=institution_out(m.institution),
            role=m.role,
            tier=m.tier,
            key_construction=m.key_construction,
        )
        for group in registry.members_by_tier(net)
        for m in group.members
    ]
    classes = [
        MemberClassOut(
            description_zh=c.description_zh,
            role=c.role,
            categories=c.categories.split(),
            tier=c.tier,
            source=c.source,
        )
        for c in net.member_classes
    ]
    return NetworkDetail(**network_out(net).model_dump(), members=members, member_classes=classes)


@router.get("/networks/{code}/checks", response_model=list[CheckOut])
def network_checks(code: str, session: DB, user: User) -> list[CheckOut]:
    return [CheckOut(**r.as_dict()) for r in checks.run(session, network=code)]


@router.get("/checks", response_model=list[CheckOut])
def all_checks(session: DB, user: User) -> list[CheckOut]:
    return [CheckOut(**r.as_dict()) for r in checks.run(session)]


@router.get("/institutions/{code}", response_model=InstitutionOut)
def get_institution(code: str, session: DB, user: User) -> InstitutionOut:
    return institution_out(registry.institution_detail(session, code))


@router.get("/institutions/{code}/departments", response_model=list[DepartmentOut])
def list_departments(code: str, session: DB, user: User) -> list[DepartmentOut]:
    inst = registry.require_institution(session, code)
    return [
        DepartmentOut(
            institution=code,
            code=d.code,
            name_zh=d.name_zh,
            name_en=d.name_en,
            specialty=d.specialty,
        )
        for d in registry.departments(session, inst.id)
    ]


@router.post("/institutions/{code}/departments", response_model=DepartmentOut, status_code=201)
def create_department(code: str, body: DepartmentIn, session: DB, user: User) -> DepartmentOut:
    dept = registry.create_department(session, user, institution_code=code, **body.model_dump())
    return DepartmentOut(
        institution=code,
        code=dept.code,
        name_zh=dept.name_zh,
        name_en=dept.name_en,
        specialty=dept.specialty,
    )


@router.post("/practitioners", response_model=PractitionerOut, status_code=201)
def create_practitioner(body: PractitionerIn, session: DB, user: User) -> PractitionerOut:
    person = registry.create_practitioner(session, user, **body.model_dump())
    return PractitionerOut(
        code=person.code,
        name=person.name,
        title_level=person.title_level,
        specialty=person.specialty,
        home_institution=body.home_institution_code,
        sites=[s.code for s in person.sites],
    )


@router.get("/cities/{code}/layout", responses={200: {"content": {"application/yaml": {}}}})
def export_layout(code: str, session: DB, user: User) -> Response:
    return Response(importer.to_yaml(importer.export(session, code)), media_type="application/yaml")


@router.post(
    "/layouts",
    response_model=ImportOut,
    status_code=201,
    openapi_extra={"requestBody": {"content": {"application/yaml": {}}, "required": True}},
)
async def import_layout(request: Request, session: DB, user: User) -> ImportOut:
    """Import a layout (YAML body; inline institutions only). All or nothing; regulator only."""
    access.require_plan_layout(user)  # before reading the body: refuse early
    text = (await request.body()).decode("utf-8", errors="replace")

    def parse_and_apply() -> importer.ImportReport:
        checked = importer.check(yamlio.load_text(text, "request body"), base_dir=None)
        return importer.apply(session, checked, actor=user)

    # Parsing and checking a layout of many megabytes takes seconds of CPU: in a worker
    # thread, so the event loop keeps answering every other request meanwhile.
    report = await run_in_threadpool(parse_and_apply)
    return ImportOut(
        city=report.city, counts=report.counts, warnings=[str(w) for w in report.warnings]
    )


@router.get("/policy/profiles", response_model=list[str], tags=["policy"])
def list_profiles(user: User) -> list[str]:
    return policy.names()


@router.get("/policy/profiles/{name}", tags=["policy"])
def show_profile(name: str, user: User, at: date | None = None) -> dict[str, Any]:
    return policy.resolve(policy.get(name), at or clock.today())
