"""Signing (E2): a resident signs with a team network-wide, within the doctor's and the
team's panel limits, for packages of the network's menu they are eligible for (E3); renewal
and termination.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.familydoctor import care
from caregrid.familydoctor import packages as menus
from caregrid.familydoctor.models import Contract, ContractItem, NetworkPackageSet, Team
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.teams import get_team, team_by_code
from caregrid.familydoctor.vocab import ContractStatus, TeamRole, TerminationReason
from caregrid.i18n import Message, msg
from caregrid.policy import service as policy
from caregrid.registry import service as registry
from caregrid.residents import service as residents

CLINICAL = (Role.FAMILY_DOCTOR, Role.CLINICIAN)


# --- package menus (E3) ----------------------------------------------------------------------


def menu(session: Session, network_id: int) -> menus.Menu:
    """The network's own menu, or the shipped starter menu."""
    own = session.get(NetworkPackageSet, network_id)
    if own is None:
        return menus.starter()
    return menus.parse(own.document, file=f"network {network_id} packages")


def menu_text(session: Session, network_id: int) -> str:
    own = session.get(NetworkPackageSet, network_id)
    return menus.starter_text() if own is None else own.document


def replace_menu(
    session: Session, principal: Principal, *, network_code: str, text: str, file: str
) -> menus.Menu:
    """A network replaces its menu as a whole; signed contracts keep the items they signed."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal,
        network.id,
        "a network's package menu is kept by its office or the health commission",
    )
    parsed = menus.parse(text, file=file)
    own = session.get(NetworkPackageSet, network.id)
    if own is None:
        own = NetworkPackageSet(network_id=network.id)
        session.add(own)
    own.document = text
    own.updated_at = clock.now()
    own.updated_by = principal.username
    session.flush()
    audit.record_for(
        session,
        principal,
        "packages.replace",
        network.id,
        subject_type="network",
        purpose="family doctor",
        detail={"packages": [p.code for p in parsed.packages]},
    )
    return parsed


def ineligibility(package: menus.Package, resident: residents.Resident, on: date) -> Message | None:
    """Why the resident may not sign this package on `on` (E3), or None."""
    rule = package.eligibility
    age = residents.age_on(resident.birth_date, on)
    if rule.min_age is not None and age < rule.min_age:
        return msg(
            "{code} is for residents aged {min_age} and over (age {age})",
            code=package.code,
            min_age=rule.min_age,
            age=age,
        )
    if rule.max_age is not None and age > rule.max_age:
        return msg(
            "{code} is for residents aged up to {max_age} (age {age})",
            code=package.code,
            max_age=rule.max_age,
            age=age,
        )
    if rule.sex is not None and resident.sex != rule.sex:
        if rule.sex == "male":
            return msg("{code} is for men", code=package.code)
        return msg("{code} is for women", code=package.code)
    if rule.key_population is not None and rule.key_population not in residents.key_populations(
        resident, on
    ):
        return msg(
            "{code} is for the key population {key_population!r}",
            code=package.code,
            key_population=rule.key_population,
        )
    return None


# --- contracts (E2) ------------------------------------------------------------------------


def valid_on(on: date) -> Select[Contract]:
    """Contracts in force on a date: within their term and not terminated by then. A renewed
    or expired contract still counts for its own term."""
    return select(Contract).where(
        Contract.starts_on <= on,
        Contract.ends_on >= on,
        or_(Contract.terminated_on.is_(None), Contract.terminated_on > on),
    )


def is_signed(session: Session, resident_id: int, on: date) -> bool:
    """Is the resident signed with a family doctor on `on`? Read by the green channel (B4)."""
    return contract_on(session, resident_id, on) is not None


def contract_on(session: Session, resident_id: int, on: date) -> Contract | None:
    return session.scalar(
        valid_on(on).where(Contract.resident_id == resident_id).order_by(Contract.id.desc())
    )


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound("no contract with id {contract_id}", contract_id=contract_id)
    return contract


def contracts_of(session: Session, resident_id: int) -> list[Contract]:
    return list(
        session.scalars(
            select(Contract).where(Contract.resident_id == resident_id).order_by(Contract.id.desc())
        )
    )


def team_contracts(
    session: Session, team_id: int, on: date, *, doctor_id: int | None = None
) -> list[Contract]:
    """The team's contracts in force on `on` (one doctor's, if given)."""
    query = valid_on(on).where(Contract.team_id == team_id)
    if doctor_id is not None:
        query = query.where(Contract.doctor_id == doctor_id)
    return list(session.scalars(query.order_by(Contract.id)))


def panel(
    session: Session, *, on: date, team_id: int | None = None, doctor_id: int | None = None
) -> int:
    """Residents signed on `on` with a team or with one doctor."""
    inner = valid_on(on)
    if team_id is not None:
        inner = inner.where(Contract.team_id == team_id)
    if doctor_id is not None:
        inner = inner.where(Contract.doctor_id == doctor_id)
    return session.scalar(select(func.count()).select_from(inner.subquery())) or 0


def team_panel_max(session: Session, team: Team, on: date) -> int | None:
    """The profile's team limit, or the per-doctor limit times the general practitioners."""
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    explicit = profile.parameter("family_doctor_team_panel_max", on)
    if explicit is not None:
        return int(explicit)
    per_doctor = profile.parameter("family_doctor_panel_max", on)
    if per_doctor is None:
        return None
    doctors = sum(1 for m in team.members if m.role == TeamRole.GENERAL_PRACTITIONER)
    return int(per_doctor) * doctors


def _term_end(starts_on: date, months: int) -> date:
    """The last day of a term of whole months (2026-01-31 + 1 month ends 2026-02-27)."""
    month = starts_on.month - 1 + months
    year, month = starts_on.year + month // 12, month % 12 + 1
    day = min(starts_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


def _items(
    session: Session, network_id: int, codes: list[str], resident: residents.Resident, on: date
) -> list[ContractItem]:
    """Snapshot the chosen packages' items, refusing unknown or ineligible packages (E3)."""
    problems: list[Problem] = []
    chosen = menu(session, network_id)
    items: list[ContractItem] = []
    if len(set(codes)) != len(codes):
        problems.append(Problem("packages", "a package is chosen twice"))
    for i, code in enumerate(dict.fromkeys(codes)):
        package = chosen.get(code)
        if package is None:
            problems.append(
                Problem(
                    f"packages.{i}", msg("no package {code!r} on the network's menu", code=code)
                )
            )
            continue
        reason = ineligibility(package, resident, on)
        if reason is not None:
            problems.append(
                Problem(f"packages.{i}", msg("not eligible: {reason} (E3)", reason=reason))
            )
            continue
        items.extend(
            ContractItem(
                package_code=package.code,
                package_name_zh=package.name_zh,
                package_name_en=package.name_en,
                service=item.service,
                kind=item.kind.value,
                name_zh=item.name_zh,
                name_en=item.name_en,
                times_per_year=item.times_per_year,
                price_cny=item.price_cny,
                insurance_share=item.insurance_share,
            )
            for item in package.items
        )
    if problems:
        raise InvalidInput(problems)
    return items


def _check_panel(session: Session, team: Team, doctor: registry.Practitioner, on: date) -> None:
    """E2: signing past a doctor's or a team's panel limit is refused with the numbers."""
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    per_doctor = profile.parameter("family_doctor_panel_max", on)
    # Serialise signings per doctor so two at once cannot both take the last place.
    registry.lock_practitioner(session, doctor.id)
    if per_doctor is not None:
        signed = panel(session, on=on, doctor_id=doctor.id)
        if signed >= int(per_doctor):
            raise RuleViolation(
                "{name} already has {signed} signed residents; the panel limit is {per_doctor}",
                name=doctor.name,
                signed=signed,
                per_doctor=per_doctor,
                requirement="E2",
            )
    limit = team_panel_max(session, team, on)
    if limit is not None:
        signed = panel(session, on=on, team_id=team.id)
        if signed >= limit:
            raise RuleViolation(
                "team {code} already has {signed} signed residents; its panel limit is {limit}",
                code=team.code,
                signed=signed,
                limit=limit,
                requirement="E2",
            )


def _require_signer(principal: Principal, team: Team) -> None:
    if principal.system:
        return
    if not principal.has(*CLINICAL) or principal.institution_id != team.institution_id:
        raise Forbidden("contracts are signed by the team's own clinical staff")


def _retire_lapsed(session: Session, resident_id: int, today: date) -> None:
    """An active contract past its term is expired, so the resident can sign anew."""
    for contract in session.scalars(
        select(Contract).where(
            Contract.resident_id == resident_id,
            Contract.status == ContractStatus.ACTIVE,
            Contract.ends_on < today,
        )
    ):
        contract.status = ContractStatus.EXPIRED
    session.flush()


def sign(session: Session, principal: Principal, data: ContractIn) -> Contract:
    """E2: a resident signs with a team at any primary institution of the network and is
    signed network-wide; one active contract per resident."""
    today = clock.today()
    team = team_by_code(session, data.team_code)
    if team is None:
        raise InvalidInput(
            [Problem("team_code", msg("no team with code {team_code!r}", team_code=data.team_code))]
        )
    _require_signer(principal, team)
    resident = residents.find_record(session, data.resident_id)
    if resident is None:
        raise InvalidInput(
            [
                Problem(
                    "resident_id",
                    msg("no resident with id {resident_id}", resident_id=data.resident_id),
                )
            ]
        )
    problems: list[Problem] = []
    if resident.registered_institution_id not in access.network_institution_ids(
        session, team.network_id
    ):
        problems.append(
            Problem("resident_id", "the resident is registered outside the team's network (E2)")
        )
    starts_on = data.starts_on or today
    if starts_on < today:
        problems.append(
            Problem("starts_on", msg("{starts_on} is in the past", starts_on=starts_on))
        )
    doctor = registry.get_practitioner(session, data.doctor_code)
    if doctor is None or not any(
        m.practitioner_id == doctor.id and m.role == TeamRole.GENERAL_PRACTITIONER
        for m in team.members
    ):
        problems.append(
            Problem(
                "doctor_code",
                msg(
                    "{doctor_code!r} is not a general practitioner of the team",
                    doctor_code=data.doctor_code,
                ),
            )
        )
    try:
        items = _items(session, team.network_id, data.packages, resident, starts_on)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        items = []
    if problems:
        raise InvalidInput(problems)
    assert doctor is not None
    _retire_lapsed(session, resident.id, today)
    current = session.scalar(
        select(Contract).where(
            Contract.resident_id == resident.id, Contract.status == ContractStatus.ACTIVE
        )
    )
    if current is not None:
        raise Conflict(
            "resident {id} already has an active contract ({id2}, until {ends_on}); renew or "
            "terminate it first",
            id=resident.id,
            id2=current.id,
            ends_on=current.ends_on,
        )
    _check_panel(session, team, doctor, starts_on)
    contract = _new_contract(
        session, principal, team, doctor.id, resident.id, starts_on, items, data.consent
    )
    audit.record_for(
        session,
        principal,
        "contract.sign",
        resident.id,
        purpose="family doctor",
        detail={
            "contract": contract.id,
            "team": team.code,
            "packages": sorted({i.package_code for i in items}),
        },
    )
    return contract


def _new_contract(
    session: Session,
    principal: Principal,
    team: Team,
    doctor_id: int,
    resident_id: int,
    starts_on: date,
    items: list[ContractItem],
    consent: ConsentIn,
    *,
    renewed_from: int | None = None,
) -> Contract:
    profile = policy.get(registry.get_network_by_id(session, team.network_id).profile)
    months = profile.parameter("contract_term_months", starts_on)
    if months is None:
        raise RuleViolation(
            "profile {name} sets no contract_term_months", name=profile.name, requirement="E2"
        )
    contract = Contract(
        resident_id=resident_id,
        team_id=team.id,
        network_id=team.network_id,
        doctor_id=doctor_id,
        starts_on=starts_on,
        ends_on=_term_end(starts_on, int(months)),
        status=ContractStatus.ACTIVE.value,
        consent_method=consent.method.value,
        consent_by=consent.by.value,
        consent_signatory=consent.signatory,
        renewed_from_id=renewed_from,
        created_at=clock.now(),
        created_by=principal.username,
        items=items,
    )
    try:
        with session.begin_nested():
            session.add(contract)
            session.flush()
    except IntegrityError as exc:  # a concurrent signing won the partial unique index
        raise Conflict(
            "resident {resident_id} was signed by someone else just now", resident_id=resident_id
        ) from exc
    care.relate(session, contract)
    return contract


def renew(
    session: Session,
    principal: Principal,
    contract_id: int,
    *,
    consent: ConsentIn,
    packages: list[str] | None = None,
) -> Contract:
    """A new term with the same team and doctor, from the day after the old one ends (or
    today, if it has lapsed); eligibility is checked again against the current menu."""
    old = get_contract(session, contract_id)
    team = get_team(session, old.team_id)
    _require_signer(principal, team)
    if old.status != ContractStatus.ACTIVE:
        raise Conflict(
            "contract {id} is {status}; only an active contract is renewed",
            id=old.id,
            status=ContractStatus(old.status),
        )
    today = clock.today()
    starts_on = max(old.ends_on + timedelta(days=1), today)
    resident = residents.find_record(session, old.resident_id)
    assert resident is not None
    codes = (
        packages if packages is not None else list(dict.fromkeys(i.package_code for i in old.items))
    )
    items = _items(session, team.network_id, codes, resident, starts_on)
    old.status = ContractStatus.RENEWED.value
    session.flush()
    contract = _new_contract(
        session,
        principal,
        team,
        old.doctor_id,
        old.resident_id,
        starts_on,
        items,
        consent,
        renewed_from=old.id,
    )
    audit.record_for(
        session,
        principal,
        "contract.renew",
        old.resident_id,
        purpose="family doctor",
        detail={"contract": contract.id, "from": old.id},
    )
    return contract


def terminate(
    session: Session,
    principal: Principal,
    contract_id: int,
    *,
    reason: TerminationReason,
    note: str | None,
) -> Contract:
    """End a contract today with a coded reason ("other" needs a note)."""
    contract = get_contract(session, contract_id)
    _require_signer(principal, get_team(session, contract.team_id))
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(
            "contract {id} is {status}, not active",
            id=contract.id,
            status=ContractStatus(contract.status),
        )
    if reason == TerminationReason.OTHER and not (note or "").strip():
        raise InvalidInput([Problem("note", "say why when the reason is 'other'")])
    today = clock.today()
    contract.status = ContractStatus.TERMINATED.value
    contract.terminated_on = max(today, contract.starts_on)
    contract.termination_reason = reason.value
    contract.termination_note = note
    session.flush()
    care.relate(session, contract)
    audit.record_for(
        session,
        principal,
        "contract.terminate",
        contract.resident_id,
        purpose="family doctor",
        detail={"contract": contract.id, "reason": reason.value},
    )
    return contract
