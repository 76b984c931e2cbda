"""Residents as FHIR R4 Patient (J3), read under the same care-relationship rule as the pages.

A search by `identifier` finds the one resident with that national ID (GB 11643, system
`urn:cn:gb11643`) and answers it only when the reader may see them; a search without one lists
the residents registered in the reader's scope, as the resident list does. A reader who may
see a resident only masked (a network office) gets no national ID, birth date or phone, and
the resource is labelled MASKED. Every read is audited by the residents service.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, InvalidInput, NotFound, Problem
from caregrid.interop.fhir_rest import (
    NATIONAL_ID,
    Page,
    Param,
    Search,
    emit,
    from_list,
    page_of,
    token,
)
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentSearchIn, ResidentView

PURPOSE = "member system exchange"
GENDER = {"M": "male", "F": "female"}
SECURITY = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

PATIENT_PARAMS = (
    Param("identifier", "token", f"the national ID ({NATIONAL_ID}|value)"),
    Param("name", "string", "the start of the name"),
)


def patient(session: Session, view: ResidentView, homes: dict[str, int | None]) -> dict[str, Any]:
    """`homes`: institution ids by code, filled as a page goes (one lookup per institution)."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(view.id),
        "active": True,
        "name": [{"text": view.name}],
        "gender": GENDER.get(view.sex, "unknown"),
    }
    if view.masked:
        resource["meta"] = {"security": [{"system": SECURITY, "code": "MASKED"}]}
    else:
        resource["identifier"] = [
            {
                "use": "official",
                "type": {"text": "居民身份证"},
                "system": NATIONAL_ID,
                "value": view.national_id,
            }
        ]
        if view.birth_date is not None:
            resource["birthDate"] = view.birth_date.isoformat()
        if view.phone:
            resource["telecom"] = [{"system": "phone", "value": view.phone}]
    code = view.registered_institution_code
    if code not in homes:
        found = registry.get_institution(session, code)
        homes[code] = found.id if found is not None else None
    if (home := homes[code]) is not None:
        resource["managingOrganization"] = {"reference": f"Organization/{home}"}
    resource["address"] = [{"district": view.address_division_code, "country": "CN"}]
    return emit(resource)


def read_patient(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return patient(session, residents.get(session, principal, resource_id, purpose=PURPOSE), {})


def _national_ids(search: Search) -> list[str]:
    found = []
    for value in search.values.get("identifier", []):
        for part in value.split(","):
            system, code = token(part)
            if system in (None, NATIONAL_ID):
                found.append(code.upper())
    return found


def search_patients(session: Session, principal: Principal, search: Search) -> Page:
    """By national ID or `_id`: those the reader may see; otherwise the residents registered
    in the reader's scope (a regulator's account sees none: Forbidden, as on the pages)."""
    homes: dict[str, int | None] = {}
    if "identifier" in search.values or "_id" in search.values:
        wanted = set(search.ids() or ())
        if "identifier" in search.values:
            named = {residents.id_by_national_id(session, n) for n in _national_ids(search)}
            found = {i for i in named if i is not None}
            wanted = wanted & found if "_id" in search.values else found
        views = []
        for resident_id in sorted(i for i in wanted if i > search.after):
            try:
                views.append(residents.get(session, principal, resident_id, purpose=PURPOSE))
            except (Forbidden, NotFound):
                continue  # one the reader may not see is not there for them
        return page_of(
            search,
            from_list(views, lambda view: int(view.id)),
            lambda view: patient(session, view, homes),
        )
    try:
        where = ResidentSearchIn(name=search.one("name") or "")
    except ValidationError as exc:
        raise InvalidInput([Problem("name", e["msg"]) for e in exc.errors()]) from None
    return page_of(
        search,
        lambda after, limit: residents.list_visible(
            session, principal, purpose=PURPOSE, limit=limit, where=where, after=after
        ),
        lambda view: patient(session, view, homes),
    )
