"""The application factory. Every route needs a signed-in user unless listed in PUBLIC."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from caregrid import __version__
from caregrid.auth import api as auth_api
from caregrid.auth import pages as auth_pages
from caregrid.chronic import api as chronic_api
from caregrid.chronic import pages as chronic_pages
from caregrid.config import get_settings
from caregrid.diagnostics import api as diagnostics_api
from caregrid.diagnostics import pages as diagnostics_pages
from caregrid.familydoctor import api as familydoctor_api
from caregrid.familydoctor import pages as familydoctor_pages
from caregrid.finance import api as finance_api
from caregrid.finance import pages as finance_pages
from caregrid.governance import api as governance_api
from caregrid.governance import pages as governance_pages
from caregrid.indicators import api as indicators_api
from caregrid.indicators import pages as indicators_pages
from caregrid.interop import api as interop_api
from caregrid.pharmacy import api as pharmacy_api
from caregrid.pharmacy import pages as pharmacy_pages
from caregrid.planning import api as planning_api
from caregrid.planning import pages as planning_pages
from caregrid.privacy import install_log_masking
from caregrid.referral import api as referral_api
from caregrid.referral import pages as referral_pages
from caregrid.registry import api as registry_api
from caregrid.registry import pages as registry_pages
from caregrid.residents import api as residents_api
from caregrid.residents import pages as residents_pages
from caregrid.scheduling import api as scheduling_api
from caregrid.scheduling import pages as scheduling_pages
from caregrid.web import csrf, pages, problems
from caregrid.web.admission import AdmissionGate
from caregrid.web.headers import SecurityHeaders
from caregrid.web.inputs import BodyLimit, sane_input
from caregrid.workforce import api as workforce_api
from caregrid.workforce import pages as workforce_pages

STATIC = Path(__file__).parent / "static"

# Paths reachable without signing in; a test fails on any other route that is.
PUBLIC = frozenset(
    {
        "/login",
        "/logout",
        "/lang/{locale}",
        "/healthz",
        "/openapi.json",
        "/api/docs",
        "/static",
        "/fhir/metadata",  # a FHIR client reads the CapabilityStatement before it signs in
    }
)


# The API's routers first: machines call them at rates people never reach, and a request is
# matched against the routes in this order.
ROUTERS = (
    scheduling_api.router,  # the booking rush
    referral_api.router,
    registry_api.router,
    residents_api.router,
    familydoctor_api.router,
    chronic_api.router,
    diagnostics_api.router,
    interop_api.router,
    interop_api.fhir,
    indicators_api.router,
    planning_api.router,
    finance_api.router,
    pharmacy_api.router,
    workforce_api.router,
    governance_api.router,
    auth_api.router,
    pages.router,
    auth_pages.router,
    registry_pages.router,
    residents_pages.router,
    referral_pages.router,
    scheduling_pages.router,
    familydoctor_pages.router,
    chronic_pages.router,
    diagnostics_pages.router,
    indicators_pages.router,
    planning_pages.router,
    pharmacy_pages.router,
    workforce_pages.router,
    finance_pages.router,
    governance_pages.router,
)


def create_app() -> FastAPI:
    install_log_masking(logging.getLogger())
    install_log_masking(logging.getLogger("uvicorn.access"))
    app = FastAPI(
        title="CareGrid",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        description="Integrated medical networks: registry, policy, residents.",
        dependencies=[Depends(sane_input), Depends(csrf.csrf_guard)],
    )
    problems.install(app)
    vendor = get_settings().vendor_dir
    if vendor.is_dir():  # npm ci: ECharts and the like, served from this machine (no CDN)
        app.mount("/static/vendor", StaticFiles(directory=vendor), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)

    settings = get_settings()

    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds)
    app.add_middleware(
        AdmissionGate, limit=settings.db_pool_size, wait_seconds=settings.admission_wait_seconds
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
