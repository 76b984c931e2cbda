"""The network's directory as FHIR R4 (J3): institutions as Organization and Location,
departments as HealthcareService, practitioners as Practitioner.

Ids are CareGrid's record numbers; each resource also carries the code the layouts give it
(`urn:caregrid:institution`, `…:department`, `…:practitioner`), which a member's system can
search by. The directory holds no personal data beyond a practitioner's name and title, so
reading it needs a signed-in account but no care relationship, as on the registry's pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.errors import NotFound
from caregrid.interop.fhir_rest import (
    Page,
    Param,
    Search,
    emit,
    page_of,
    reference_ids,
    token,
)
from caregrid.registry import service as registry
from caregrid.registry.service import DirectoryFilter

INSTITUTION = "urn:caregrid:institution"
DEPARTMENT = "urn:caregrid:department"
PRACTITIONER = "urn:caregrid:practitioner"
LEVEL = "urn:caregrid:institution-level"
CATEGORY = "urn:caregrid:institution-category"
TITLE_LEVEL = "urn:caregrid:title-level"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"

NAME = Param("name", "string", "the start of the Chinese or English name, any case")


def _codes(search: Search, system: str) -> frozenset[str] | None:
    """The codes an `identifier` parameter names in our system (another system: none)."""
    if "identifier" not in search.values:
        return None
    found: set[str] = set()
    for value in search.values["identifier"]:
        for part in value.split(","):
            named, code = token(part)
            if named in (None, system):
                found.add(code)
    return frozenset(found)


def _where(search: Search, **more: Any) -> DirectoryFilter:
    return DirectoryFilter(ids=search.ids(), name=search.one("name"), **more)


def _fetch(
    session: Session, read: Callable[[Session, DirectoryFilter], list[Any]], where: DirectoryFilter
) -> Callable[[int, int], list[Any]]:
    return lambda after, limit: read(session, replace(where, after=after, limit=limit))


# --- Organization and Location (an institution) --------------------------------------------

ORGANIZATION_PARAMS = (
    Param("identifier", "token", f"the institution's code ({INSTITUTION}|code)"),
    NAME,
)
LOCATION_PARAMS = (
    Param("organization", "reference", "the institution (Organization/id) the site belongs to"),
    NAME,
)


def organization(inst: registry.Institution) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(inst.id),
        "identifier": [{"system": INSTITUTION, "value": inst.code}],
        "active": True,
        "type": [
            {
                "coding": [
                    {"system": ORGANIZATION_TYPE, "code": "prov", "display": "Healthcare Provider"}
                ]
            },
            {"coding": [{"system": LEVEL, "code": inst.level}]},
            {"coding": [{"system": CATEGORY, "code": inst.category}]},
        ],
        "name": inst.name_zh,
    }
    if inst.name_en:
        resource["alias"] = [inst.name_en]
    if inst.parent_id is not None:
        resource["partOf"] = {"reference": f"Organization/{inst.parent_id}"}
    return emit(resource)


def location(inst: registry.Institution) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(inst.id),
        "identifier": [{"system": INSTITUTION, "value": inst.code}],
        "status": "active",
        "mode": "instance",
        "name": inst.name_zh,
        "address": {"district": inst.division.name_zh, "country": "CN"},
        "managingOrganization": {"reference": f"Organization/{inst.id}"},
    }
    if inst.name_en:
        resource["alias"] = [inst.name_en]
    if inst.lat is not None and inst.lon is not None:
        resource["position"] = {"latitude": inst.lat, "longitude": inst.lon}
    return emit(resource)


def _institution(session: Session, institution_id: int) -> registry.Institution:
    inst = registry.get_institution_by_id(session, institution_id)
    if inst is None:
        raise NotFound("no institution with id {institution_id}", institution_id=institution_id)
    return inst


def read_organization(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return organization(_institution(session, resource_id))


def search_organizations(session: Session, principal: Principal, search: Search) -> Page:
    where = _where(search, codes=_codes(search, INSTITUTION))
    return page_of(search, _fetch(session, registry.institutions_page, where), organization)


def read_location(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return location(_institution(session, resource_id))


def search_locations(session: Session, principal: Principal, search: Search) -> Page:
    where = _where(search, institution_ids=reference_ids(search, "organization", "Organization"))
    return page_of(search, _fetch(session, registry.institutions_page, where), location)


# --- HealthcareService (a department) ------------------------------------------------------

SERVICE_PARAMS = (
    Param("organization", "reference", "the institution (Organization/id) offering it"),
    NAME,
)


def healthcare_service(department: registry.Department) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": str(department.id),
        "identifier": [{"system": DEPARTMENT, "value": department.code}],
        "active": True,
        "providedBy": {"reference": f"Organization/{department.institution_id}"},
        "location": [{"reference": f"Location/{department.institution_id}"}],
        "name": department.name_zh,
    }
    if department.specialty:
        resource["specialty"] = [{"text": department.specialty}]
    if department.name_en:
        resource["comment"] = department.name_en
    return emit(resource)


def read_service(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return healthcare_service(registry.get_department(session, resource_id))


def search_services(session: Session, principal: Principal, search: Search) -> Page:
    where = _where(search, institution_ids=reference_ids(search, "organization", "Organization"))
    return page_of(search, _fetch(session, registry.departments_page, where), healthcare_service)


# --- Practitioner -----------------------------------------------------------------------------

PRACTITIONER_PARAMS = (
    Param("identifier", "token", f"the practitioner's code ({PRACTITIONER}|code)"),
    Param("name", "string", "the start of the name"),
)


def practitioner(person: registry.Practitioner) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(person.id),
        "identifier": [{"system": PRACTITIONER, "value": person.code}],
        "active": True,
        "name": [{"text": person.name}],
        "qualification": [
            {"code": {"coding": [{"system": TITLE_LEVEL, "code": person.title_level}]}}
        ],
    }
    return emit(resource)


def read_practitioner(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return practitioner(registry.get_practitioner_by_id(session, resource_id))


def search_practitioners(session: Session, principal: Principal, search: Search) -> Page:
    where = _where(search, codes=_codes(search, PRACTITIONER))
    return page_of(search, _fetch(session, registry.practitioners_page, where), practitioner)
