"""Resident records: validated national ID, key populations (F2), grid from the address division.

Every read of a person goes through auth.access.patient_access and into the audit log.
Other packages read residents only through this module; `Resident` is re-exported as a type,
for annotations.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.privacy import mask_national_id, mask_phone
from caregrid.registry import service as registry
from caregrid.residents import national_id
from caregrid.residents.models import Resident, ResidentTag
from caregrid.residents.schemas import (
    EmergencyAccessIn,
    EmergencyGrantOut,
    ResidentIn,
    ResidentSearchIn,
    ResidentView,
)

# The table class other packages may name in annotations (never query); the functions below
# are public as well.
__all__ = ["Resident"]

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


@lru_cache
def key_population_catalog() -> dict[str, Any]:
    text = resources.files("caregrid.data").joinpath("key_populations.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def age_on(birth: date, when: date) -> int:
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def key_populations(resident: Resident, when: date) -> list[str]:
    """Derived tags (age bands from the catalog) plus declared ones, sorted."""
    catalog = key_population_catalog()
    age = age_on(resident.birth_date, when)
    tags = {t.tag for t in resident.tags}
    for tag, rule in catalog["derived"].items():
        if rule.get("max_age_years") is not None and age <= rule["max_age_years"]:
            tags.add(tag)
        if rule.get("min_age_years") is not None and age >= rule["min_age_years"]:
            tags.add(tag)
    return sorted(tags)


def create(session: Session, principal: Principal, data: ResidentIn) -> Resident:
    """Register a resident; every field problem is reported at once and nothing is written."""
    problems: list[Problem] = []
    today = clock.today()
    parsed: national_id.ParsedNationalId | None = None
    sex_ok = data.sex is None or data.sex in ("male", "female")
    if not sex_ok:
        problems.append(Problem("sex", "must be male or female"))
    try:
        parsed = national_id.validate(
            data.national_id,
            today=today,
            birth_date=data.birth_date,
            sex=data.sex if sex_ok else None,
        )
    except national_id.NationalIdError as exc:
        problems.append(Problem("national_id", exc.detail))
    if data.phone is not None and not PHONE.match(data.phone.replace(" ", "")):
        problems.append(Problem("phone", "not a mainland mobile (11 digits) or landline number"))
    if registry.get_division(session, data.address_division_code) is None:
        problems.append(
            Problem(
                "address_division_code",
                msg(
                    "unknown division {address_division_code!r}",
                    address_division_code=data.address_division_code,
                ),
            )
        )
    institution = registry.get_institution(session, data.registered_institution_code)
    if institution is None:
        problems.append(
            Problem(
                "registered_institution_code",
                msg(
                    "unknown institution {registered_institution_code!r}",
                    registered_institution_code=data.registered_institution_code,
                ),
            )
        )
    declared = key_population_catalog()["declared"]
    for i, tag in enumerate(data.tags):
        if tag not in declared:
            problems.append(
                Problem(
                    f"tags[{i}]",
                    msg(
                        "unknown key population {tag!r}; known: {declared}",
                        tag=tag,
                        declared=", ".join(sorted(declared)),
                    ),
                )
            )
    if problems:
        raise InvalidInput(problems)
    assert parsed is not None and institution is not None
    if not (principal.system or access.can_register_resident(principal, institution.id)):
        raise Forbidden("you may register residents only at your own institution")
    if session.scalar(select(Resident.id).where(Resident.national_id == parsed.value)) is not None:
        raise Conflict("a resident with this national ID is already registered")
    resident = Resident(
        national_id=parsed.value,
        name=data.name.strip(),
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        phone=data.phone.replace(" ", "") if data.phone else None,
        address_division_code=data.address_division_code,
        registered_institution_id=institution.id,
        created_at=clock.now(),
        tags=[ResidentTag(tag=t) for t in sorted(set(data.tags))],
    )
    session.add(resident)
    session.flush()
    access.relate(
        session,
        kind=access.Relationship.REGISTERED_AT_INSTITUTION,
        source_id=resident.id,
        resident_id=resident.id,
        institution_ids={institution.id},
        started_at=resident.created_at,
    )
    audit.record(
        session,
        principal,
        action="resident.create",
        subject_type="resident",
        subject_id=resident.id,
        purpose="registration",
        detail={"institution": institution.code},
    )
    return resident


def _view(session: Session, resident: Resident, grant: access.PatientAccess) -> ResidentView:
    today = clock.today()
    institution = registry.get_institution_by_id(session, resident.registered_institution_id)
    return ResidentView(
        id=resident.id,
        national_id=resident.national_id
        if grant.unmasked
        else mask_national_id(resident.national_id) or "",
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date if grant.unmasked else None,
        age=age_on(resident.birth_date, today),
        phone=resident.phone if grant.unmasked else mask_phone(resident.phone),
        address_division_code=resident.address_division_code,
        grid=registry.grid_code_for_division(session, resident.address_division_code),
        registered_institution_code=institution.code if institution else "",
        key_populations=key_populations(resident, today),
        masked=not grant.unmasked,
        access_basis=grant.basis,
    )


def get(
    session: Session,
    principal: Principal,
    resident_id: int,
    *,
    purpose: str,
    emergency: access.EmergencyReason | None = None,
) -> ResidentView:
    """One resident, as this principal may see them; the read is audited with its purpose.
    `emergency` opens an emergency grant on the way when no other access applies."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("no resident {resident_id}", resident_id=resident_id)
    grant = access.patient_access(session, principal, resident_id, emergency=emergency)
    detail: dict[str, object] = {"basis": grant.basis, "masked": not grant.unmasked}
    audit.record(
        session,
        principal,
        action="resident.read",
        subject_type="resident",
        subject_id=resident.id,
        purpose=purpose,
        detail=detail,
    )
    return _view(session, resident, grant)


def open_emergency_access(
    session: Session, principal: Principal, resident_id: int, data: EmergencyAccessIn
) -> EmergencyGrantOut:
    """Open a clinician's time-limited emergency grant on a resident (rules and audit entry in
    `auth.access.open_emergency_grant`)."""
    reason = access.emergency_reason(data.reason_code, data.reason_text)
    if session.get(Resident, resident_id) is None:
        raise NotFound("no resident {resident_id}", resident_id=resident_id)
    grant = access.open_emergency_grant(session, principal, resident_id, reason)
    return EmergencyGrantOut.model_validate(grant, from_attributes=True)


def list_visible(
    session: Session,
    principal: Principal,
    *,
    purpose: str,
    limit: int = 200,
    where: ResidentSearchIn | None = None,
    after: int | None = None,
) -> list[ResidentView]:
    """Residents registered at the principal's institution (or network, for its admin),
    narrowed by the search, in record-number order from `after` on."""
    scope = access.resident_scope(session, principal)
    query = select(Resident).order_by(Resident.id).limit(limit)
    if scope is not None:
        query = query.where(Resident.registered_institution_id.in_(scope))
    if where is not None:
        if where.name:
            query = query.where(Resident.id.in_(named(where.name)))
        if where.id_suffix:
            query = query.where(func.upper(Resident.national_id).endswith(where.id_suffix.upper()))
        if where.phone_suffix:
            query = query.where(Resident.phone.endswith(where.phone_suffix))
    if after is not None:
        query = query.where(Resident.id > after)
    rows = list(session.scalars(query))
    views = [_view(session, r, access.patient_access(session, principal, r.id)) for r in rows]
    if views:
        audit.record(
            session,
            principal,
            action="resident.list",
            subject_type="resident",
            subject_id=None,
            purpose=purpose,
            detail={"ids": [v.id for v in views]},
        )
    return views


def name_of(session: Session, resident_id: int) -> str:
    """The resident's name, for screens that already passed the access check."""
    name = session.scalar(select(Resident.name).where(Resident.id == resident_id))
    if name is None:
        raise NotFound("no resident with id {resident_id}", resident_id=resident_id)
    return name


def declare_tag(session: Session, resident_id: int, tag: str) -> None:
    """Add a declared key-population tag (e.g. a confirmed hypertension patient, F2)."""
    if tag not in key_population_catalog()["declared"]:
        raise ValueError(f"{tag!r} is not a declared key population")
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("no resident with id {resident_id}", resident_id=resident_id)
    if all(t.tag != tag for t in resident.tags):
        resident.tags.append(ResidentTag(tag=tag))
        session.flush()


def record(session: Session, resident_id: int) -> Resident:
    """The stored resident, for rules that read age, sex and tags (callers check access)."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("no resident with id {resident_id}", resident_id=resident_id)
    return resident


def find_record(session: Session, resident_id: int) -> Resident | None:
    """The stored resident, or None (callers check access)."""
    return session.get(Resident, resident_id)


def records(session: Session, resident_ids: list[int]) -> dict[int, Resident]:
    """The stored residents by id, for worklists over many people (callers check access)."""
    rows = session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))
    return {r.id: r for r in rows}


def id_by_name(session: Session, name: str, institution_id: int) -> int | None:
    """The resident of this name registered at the institution (the first, if several)."""
    return session.scalar(
        select(Resident.id)
        .where(Resident.name == name, Resident.registered_institution_id == institution_id)
        .order_by(Resident.id)
        .limit(1)
    )


def named(fragment: str) -> Select[int]:
    """Ids of residents whose name starts with `fragment`, as a subquery for a list's filter
    (a name search must not pull a city's residents into memory)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return select(Resident.id).where(Resident.name.like(f"{escaped}%", escape="\\"))


def id_by_national_id(session: Session, value: str) -> int | None:
    return session.scalar(select(Resident.id).where(Resident.national_id == value))


def facts(session: Session, on: date) -> list[dict[str, object]]:
    """The register on a date as `resident` facts: a pseudonymous key, never the national ID
    or the name (the facts leave the clinical record)."""
    codes = registry.codes_by_id(session)
    return [
        {
            "patient_id": f"cg-{r.id}",
            "home_division_code": r.address_division_code,
            "birth_date": r.birth_date,
            "sex": r.sex,
            "key_populations": ";".join(key_populations(r, on)) or None,
            "registered_institution_code": codes.get(r.registered_institution_id),
            "as_of": on,
        }
        for r in session.scalars(select(Resident).order_by(Resident.id))
    ]
