"""REST API of referrals, their timeline, disease catalogs and monthly measures."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.indicators.definitions import catalogue
from caregrid.indicators.service import live
from caregrid.indicators.targets import assess, target_for
from caregrid.policy import service as policy
from caregrid.referral import catalogs
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.schemas import (
    CatalogEntryOut,
    CatalogOut,
    DecisionIn,
    DiagnosisCheck,
    DownReferralIn,
    FollowUpIn,
    HistoryFilterIn,
    IndicatorOut,
    MeasureOut,
    NetworkMeasuresOut,
    ReferralIn,
    ReferralOut,
    TransitionIn,
    UnitMeasuresOut,
)
from caregrid.registry import service as registry
from caregrid.scheduling import service as scheduling
from caregrid.web.deps import DB, User

router = APIRouter(prefix="/api", tags=["referral"])


def _list(session: DB, user: Principal, rows: list[Referral], purpose: str) -> list[ReferralOut]:
    audit.record(
        session,
        user,
        action="referral.list",
        subject_type="referral",
        subject_id=None,
        purpose=purpose,
        detail={"referrals": [r.id for r in rows][:200]},
    )
    return [referrals.view(session, user, r) for r in rows]


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def create_referral(body: ReferralIn, session: DB, user: User) -> ReferralOut:
    """Write and (by default) send a referral, booking `slot_id` in the same step."""
    return referrals.view(session, user, referrals.create(session, user, body))


@router.get("/referrals/inbox", response_model=list[ReferralOut])
def inbox(session: DB, user: User) -> list[ReferralOut]:
    """Open referrals to the caller's institution: green channel first (B4), then urgency."""
    return _list(session, user, referrals.inbox(session, user), "referral inbox")


@router.get("/referrals/outbox", response_model=list[ReferralOut])
def outbox(session: DB, user: User) -> list[ReferralOut]:
    return _list(session, user, referrals.outbox(session, user), "referral outbox")


@router.get("/referrals/history", response_model=list[ReferralOut])
def history(
    session: DB,
    user: User,
    filters: Annotated[HistoryFilterIn, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> list[ReferralOut]:
    """Every referral the caller's institution sent or received (its network's, for the
    office), finished ones included, newest first; page on with `before` (the last id)."""
    rows = referrals.history(session, user, filters, before=before, limit=limit)
    return _list(session, user, rows, "referral history")


@router.get("/referrals/awaiting-slot", response_model=list[ReferralOut])
def awaiting_slot(session: DB, user: User) -> list[ReferralOut]:
    """Referrals to the caller's institution that hold no slot or bed yet."""
    return _list(session, user, referrals.awaiting_slot(session, user), "awaiting slot")


@router.get("/referrals/approvals", response_model=list[ReferralOut])
def approvals(session: DB, user: User) -> list[ReferralOut]:
    """Outward keep-in-city referrals waiting for the caller's network office (B2)."""
    return _list(session, user, referrals.pending_approvals(session, user), "approvals")


@router.get("/referrals/diagnosis-check", response_model=DiagnosisCheck)
def diagnosis_check(
    session: DB,
    user: User,
    code: Annotated[str, Query(min_length=1, max_length=20)],
    to: Annotated[str | None, Query(description="receiving institution code")] = None,
) -> DiagnosisCheck:
    """Validate an ICD-10 code and list the catalogs of the network that hold it."""
    target = registry.get_institution(session, to) if to else None
    network_id, _ = referrals.catalog_context(
        session, user.institution_id, target.id if target else None
    )
    return referrals.check_diagnosis(session, network_id, code)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def get_referral(referral_id: int, session: DB, user: User) -> ReferralOut:
    referral = referrals.get(session, referral_id)
    referrals.require_read(session, user, referral, "referral")
    return referrals.view(session, user, referral)


@router.post("/referrals/{referral_id}/transitions", response_model=ReferralOut)
def transition(referral_id: int, body: TransitionIn, session: DB, user: User) -> ReferralOut:
    """submit, accept, reject (coded reason), cancel, schedule (slot_id), arrive, complete,
    close; `version` must be the one last read (409 otherwise)."""
    referral = referrals.transition(
        session,
        user,
        referral_id,
        action=body.action,
        version=body.version,
        note=body.note,
        rejection_code=body.rejection_code,
        slot_id=body.slot_id,
    )
    return referrals.view(session, user, referral)


@router.post("/referrals/{referral_id}/refer-down", response_model=ReferralOut, status_code=201)
def refer_down(referral_id: int, body: DownReferralIn, session: DB, user: User) -> ReferralOut:
    """Discharge the patient of an up referral and refer him down (B5)."""
    child = referrals.refer_down(session, user, parent_id=referral_id, data=body)
    return referrals.view(session, user, child)


@router.post("/referrals/{referral_id}/follow-up", response_model=ReferralOut)
def follow_up(referral_id: int, body: FollowUpIn, session: DB, user: User) -> ReferralOut:
    """The first follow-up after a downward referral: closes the loop (B5, F6)."""
    referral = referrals.record_follow_up(
        session, user, referral_id, version=body.version, note=body.note
    )
    return referrals.view(session, user, referral)


@router.post("/referrals/{referral_id}/decision", response_model=ReferralOut)
def decision(referral_id: int, body: DecisionIn, session: DB, user: User) -> ReferralOut:
    """The network office approves or refuses an outward keep-in-city referral (B2)."""
    referral = referrals.decide_outward(
        session, user, referral_id, version=body.version, approve=body.approve, note=body.note
    )
    return referrals.view(session, user, referral)


@router.get("/networks/{code}/catalogs", response_model=list[CatalogOut], tags=["policy"])
def network_catalogs(code: str, session: DB, user: User) -> list[CatalogOut]:
    """The network's disease catalogs (B2): its own CSVs, else its profile's."""
    network = registry.get_network(session, code)
    return [
        CatalogOut(
            kind=c.kind,
            origin=c.origin,
            requirement=c.requirement,
            entries=[CatalogEntryOut.model_validate(e, from_attributes=True) for e in c.entries],
        )
        for c in catalogs.all_catalogs(session, network.id)
    ]


@router.put(
    "/networks/{code}/catalogs/{kind}",
    response_model=CatalogOut,
    tags=["policy"],
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def replace_catalog(
    code: str, kind: str, request: Request, session: DB, user: User
) -> CatalogOut:
    """Replace one catalog with a CSV (`entry,name_zh,name_en,basis`): all rows or none."""
    text = (await request.body()).decode("utf-8", errors="replace")
    found = catalogs.replace(
        session, user, network_code=code, kind=kind, csv_text=text, file=f"{kind}.csv"
    )
    return CatalogOut(
        kind=found.kind,
        origin=found.origin,
        requirement=found.requirement,
        entries=[CatalogEntryOut.model_validate(e, from_attributes=True) for e in found.entries],
    )


# --- the network's monthly measures (B9, B3, C1, C2) ----------------------------------------
# Every figure of the page and the API is one of these indicators (data/indicators), as the
# engine computes it over what the workflows recorded up to now.
SENT = {"up": "CC7", "down": "CC8", "lateral": "RF7", "outward": "RF8"}
RECEIVED = {"up": "RF9", "down": "RF10", "lateral": "RF11", "outward": "RF12"}
BY_STATE = {
    "submitted": "RF13", "accepted": "RF14", "rejected": "RF15", "cancelled": "RF16",
    "scheduled": "RF17", "arrived": "RF18", "completed": "RF19", "closed": "RF20",
}  # fmt: skip
COLUMNS = {
    "answer_hours": "RF21", "overdue": "RF22", "closed_loop": "RF23", "reserved_slots": "UG4",
    "reserved_used": "UG12", "cancelled": "UG13", "no_shows": "UG14", "kept": "UG15",
    "reserved_beds": "UG5",
}  # fmt: skip
MEASURES: tuple[str, ...] = (
    *SENT.values(), *RECEIVED.values(), *BY_STATE.values(), *COLUMNS.values()
)  # fmt: skip
# compared with the profile's target where C1 binds the member
TARGETED = (COLUMNS["reserved_slots"], COLUMNS["reserved_beds"])


def month_of(value: str) -> str:
    """`2026-12`, checked: the measures' period is one calendar month."""
    try:
        year, number = (int(part) for part in value.split("-"))
        date(year, number, 1)
    except ValueError:
        raise InvalidInput(
            [Problem("month", msg("{value!r} is not a month like 2026-12", value=value))]
        ) from None
    return f"{year:04d}-{number:02d}"


def network_measures(
    session: Session, principal: Principal, *, network_code: str, month: str
) -> NetworkMeasuresOut:
    """The month's cells per member institution (its own only, for a member's account) and,
    for the office and the commission, the network's total."""
    month = month_of(month)
    network = registry.get_network(session, network_code)
    own = access.measure_scope(
        session,
        principal,
        network.id,
        "the network's measures are for its office, the commission and its members",
    )
    chosen = tuple(catalogue().get(ident) for ident in MEASURES)
    found = {(c.unit, c.indicator): c for c in live(session, (month, month), chosen)}
    year, number = (int(part) for part in month.split("-"))
    last_day = date(year + number // 12, number % 12 + 1, 1) - timedelta(days=1)
    profile = policy.get(network.profile)

    def unit(code: str, name_zh: str, name_en: str | None, bound: bool) -> UnitMeasuresOut:
        measures = {}
        for indicator in chosen:
            cell = found.get((code, indicator.id))
            numerator = cell.numerator if cell else 0.0
            denominator = None
            if indicator.denominator is not None:
                denominator = (cell.denominator if cell else None) or 0.0
            out = MeasureOut(
                numerator=numerator,
                denominator=denominator,
                value=None if denominator == 0 else numerator / (denominator or 1),
            )
            bound_here = bound and indicator.id in TARGETED
            target = target_for(profile, indicator, last_day) if bound_here else None
            if target is not None:
                share = None if not denominator else Fraction(numerator) / Fraction(denominator)
                state = assess(share, target, catalogue().amber_within_points).state
                out.target, out.target_due = str(target.value), target.due
                out.target_met = None if state == "grey" else state == "green"
            measures[indicator.id] = out
        return UnitMeasuresOut(code=code, name_zh=name_zh, name_en=name_en, measures=measures)

    members = sorted(
        (m.institution for m in network.memberships if own is None or m.institution_id == own),
        key=lambda institution: institution.code,
    )
    return NetworkMeasuresOut(
        network_code=network.code,
        month=month,
        indicators=[
            IndicatorOut(
                id=i.id, name_zh=i.name_zh, name_en=i.name_en, evidence=i.evidence, unit=i.unit
            )
            for i in chosen
        ],
        members=[
            unit(
                m.code,
                m.name_zh,
                m.name_en,
                scheduling.reserves(session, m.id, network.code, last_day),
            )
            for m in members
        ],
        total=None
        if own is not None
        else unit(network.code, network.name_zh, network.name_en, bound=False),
    )


@router.get("/networks/{code}/referral-measures", response_model=NetworkMeasuresOut)
def referral_measures(
    code: str,
    session: DB,
    user: User,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-12"])],
) -> NetworkMeasuresOut:
    """Per member and month: referrals by direction and state, hours to answer, overdue,
    closed loops, reserved slots and beds against the profile's target, bookings kept. A
    member sees only its own row; the office and the commission also the network's total."""
    return network_measures(session, user, network_code=code, month=month)
