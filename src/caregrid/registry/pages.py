"""HTML pages of the registry: grids, networks (members by tier and role), institutions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caregrid.auth import access
from caregrid.policy import service as policy
from caregrid.registry import checks
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User
from caregrid.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/grids", response_class=HTMLResponse)
def grids(request: Request, session: DB, user: User) -> Response:
    return render(request, "registry/grids.html", user, cities=registry.cities(session))


@router.get("/networks", response_class=HTMLResponse)
def networks(request: Request, session: DB, user: User) -> Response:
    results = checks.run(session)
    summary: dict[str, dict[str, str]] = {}
    for r in results:
        summary.setdefault(r.network, {})[r.requirement] = r.status
    return render(
        request,
        "registry/networks.html",
        user,
        networks=registry.networks(session),
        counts=registry.member_counts(session),
        summary=summary,
        requirements=list(checks.CHECKS),
    )


@router.get("/networks/{code}", response_class=HTMLResponse)
def network(code: str, request: Request, session: DB, user: User) -> Response:
    net = registry.get_network(session, code)
    return render(
        request,
        "registry/network.html",
        user,
        profile=policy.get(net.profile),
        network=net,
        groups=registry.members_by_tier(net),
        results=checks.run(session, network=code),
        services=registry.cross_grid_services(session, net.id),
        may_measure=access.sees_measures(session, user, net.id),
        is_office=access.is_network_office(user, net.id),
    )


@router.get("/institutions/{code}", response_class=HTMLResponse)
def institution(code: str, request: Request, session: DB, user: User) -> Response:
    inst = registry.institution_detail(session, code)
    return render(
        request,
        "registry/institution.html",
        user,
        institution=inst,
        departments=registry.departments(session, inst.id),
        practitioners=registry.practitioners(session, inst.id),
    )
