"""REST API of referrals, their timeline, disease catalogs and monthly measures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from caregrid.auth import audit
from caregrid.auth.roles import Principal
from caregrid.referral import catalogs, measures
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.schemas import (
    CatalogEntryOut,
    CatalogOut,
    DecisionIn,
    DiagnosisCheck,
    DownReferralIn,
    FollowUpIn,
    MonthMeasureOut,
    RatioOut,
    ReferralIn,
    ReferralOut,
    TransitionIn,
)
from caregrid.registry import service as registry
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


def _ratio(ratio: measures.Ratio) -> RatioOut:
    return RatioOut(numerator=ratio.numerator, denominator=ratio.denominator, value=ratio.value)


def measure_out(row: measures.InstitutionMonth) -> MonthMeasureOut:
    return MonthMeasureOut(
        institution_code=row.institution_code,
        institution_name=row.institution_name,
        sent=row.sent,
        received=row.received,
        by_state=row.by_state,
        median_answer_hours=row.median_answer_hours,
        overdue=row.overdue,
        closed_loop=_ratio(row.closed_loop),
        reserved_slots=_ratio(row.reserved_slots),
        slot_target=str(row.slot_target) if row.slot_target is not None else None,
        slot_target_met=row.slot_target_met,
        reserved_used=_ratio(row.reserved_used),
        cancelled_bookings=row.cancelled_bookings,
        no_shows=row.no_shows,
        reserved_beds=_ratio(row.reserved_beds),
        bed_target=str(row.bed_target) if row.bed_target is not None else None,
        bed_target_met=row.bed_target_met,
    )


@router.get("/networks/{code}/referral-measures", response_model=list[MonthMeasureOut])
def referral_measures(
    code: str,
    session: DB,
    user: User,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-12"])],
) -> list[MonthMeasureOut]:
    """Per member and month: referrals by direction and state, answer time, closed loops,
    reserved slots and beds against the profile's target. A member sees only its own row."""
    rows = measures.network_month(session, user, network_code=code, month=month)
    return [measure_out(r) for r in rows]
