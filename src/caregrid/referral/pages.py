"""HTML pages of referrals: the unit's lists, the referral form with its reserved-slot picker,
one referral with its timeline and action forms, and a network's monthly measures.

Thin: every rule lives in `referral.service` (and `scheduling.service`); a page collects the
form, calls the service in a savepoint and redirects (Post/Redirect/Get), or shows the
service's refusal next to the form it came from, naming the requirement a rule carries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal, Role
from caregrid.errors import DomainError
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.schemas import RegimenCheckIn, RegimenCheckOut
from caregrid.policy.catalogs import KIND_LABELS
from caregrid.referral import api
from caregrid.referral import service as referrals
from caregrid.referral.schemas import (
    DecisionIn,
    DiagnosisCheck,
    DownReferralIn,
    FollowUpIn,
    HistoryFilterIn,
    ReferralIn,
    ReferralOut,
    TransitionIn,
)
from caregrid.referral.vocab import Action, Direction, RejectionReason, State, Urgency
from caregrid.registry import service as registry
from caregrid.registry.vocab import TIER_ORDER, Tier
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentSearchIn, ResidentView
from caregrid.scheduling import service as scheduling
from caregrid.web.deps import DB, User, locale_of
from caregrid.web.forms import FormError, submit
from caregrid.web.i18n import pick, translator
from caregrid.web.render import local_time, render

router = APIRouter(include_in_schema=False)
REGIMEN_ROWS = 6  # drug rows on the refer-down form

# --- helpers shared by the pages -------------------------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SlotDay:
    """One clinic session, its doctor, and the slots of it open to a unit now."""

    starts_at: datetime
    ends_at: datetime
    session_id: int
    doctor: str  # empty when the session names none
    slots: list[scheduling.SlotView]

    @property
    def day(self) -> date:
        return clock.local(self.starts_at).date()


@dataclass(frozen=True)
class SlotPicker:
    """The open slots of one day at a time: the days that have any (with how many), the day
    shown, its sessions. Hundreds of slots over the window are never one list."""

    window: int
    days: list[tuple[date, int]]
    day: date | None
    sessions: list[SlotDay]


def open_slots(
    session: Session,
    principal: Principal,
    department_id: int,
    window: int,
    *,
    day: str = "",
    chosen_slot: str = "",
) -> SlotPicker:
    """The department's slots of the next `window` days that the principal's unit may book
    now, shown for `day` (YYYY-MM-DD), else the chosen slot's day, else the first day."""
    found = []
    for entry in scheduling.calendar(session, principal, department_id=department_id, days=window):
        clinic = entry.session
        views = [
            v
            for v in scheduling.slot_views(session, principal, clinic)
            if v.availability == scheduling.Availability.OPEN
        ]
        if views:
            doctor = (
                registry.get_practitioner_by_id(session, clinic.practitioner_id).name
                if clinic.practitioner_id is not None
                else ""
            )
            found.append(SlotDay(clinic.starts_at, clinic.ends_at, clinic.id, doctor, views))
    counts: dict[date, int] = {}
    for s in found:
        counts[s.day] = counts.get(s.day, 0) + len(s.slots)
    holding = [s.day for s in found if any(str(v.id) == chosen_slot for v in s.slots)]
    wanted = _date_or_none(day)
    fallback = (holding or list(counts))[:1]
    shown = wanted if wanted in counts else (fallback[0] if fallback else None)
    return SlotPicker(window, list(counts.items()), shown, [s for s in found if s.day == shown])


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _network_codes(session: Session, user: Principal, locale: str) -> list[tuple[str, str]]:
    """The networks whose measures the user may open: the office's own, the unit's networks."""
    found: dict[str, str] = {}
    if user.has(Role.NETWORK_ADMIN) and user.network_id is not None:
        net = registry.get_network_by_id(session, user.network_id)
        found[net.code] = pick(locale, net.name_zh, net.name_en)
    if user.institution_id is not None:
        for place in registry.placements(session, user.institution_id):
            if place.network_code not in found:
                net = registry.get_network(session, place.network_code)
                found[net.code] = pick(locale, net.name_zh, net.name_en)
    return list(found.items())


def _catalog_kind_names(locale: str) -> dict[str, str]:
    return {kind: pick(locale, zh, en) for kind, (zh, en) in KIND_LABELS.items()}


# --- the unit's lists ------------------------------------------------------------------------


@router.get("/referrals", response_class=HTMLResponse)
def referral_lists(request: Request, session: DB, user: User) -> Response:
    inbox = referrals.inbox(session, user)
    awaiting = referrals.awaiting_slot(session, user)
    outbox = referrals.outbox(session, user)
    approvals = referrals.pending_approvals(session, user)
    seen: dict[int, ReferralOut] = {}
    for row in [*inbox, *awaiting, *outbox, *approvals]:
        if row.id not in seen:
            seen[row.id] = referrals.view(session, user, row)
    audit.record_reads(session, user, "referral", list(seen), purpose="referral lists page")
    return render(
        request,
        "referral/list.html",
        user,
        inbox=[seen[r.id] for r in inbox],
        awaiting=[seen[r.id] for r in awaiting],
        outbox=[seen[r.id] for r in outbox],
        approvals=[seen[r.id] for r in approvals],
        is_office=user.has(Role.NETWORK_ADMIN) and user.network_id is not None,
        can_refer=user.has(*referrals.CLINICAL) and user.institution_id is not None,
        networks=_network_codes(session, user, locale_of(request)),
        when=local_time,
    )


HISTORY_ROWS = 50


@router.get("/referrals/history", response_class=HTMLResponse)
def referral_history(
    request: Request,
    session: DB,
    user: User,
    filters: Annotated[HistoryFilterIn, Query()],
    before: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    """Every referral the unit sent or received, closed ones too, newest first, 50 a page."""
    rows = referrals.history(session, user, filters, before=before, limit=HISTORY_ROWS + 1)
    shown = [referrals.view(session, user, r) for r in rows[:HISTORY_ROWS]]
    audit.record_reads(session, user, "referral", [r.id for r in shown], purpose="referral history")
    typed = filters.model_dump(exclude_none=True, mode="json")
    return render(
        request,
        "referral/history.html",
        user,
        rows=shown,
        older=shown[-1].id if len(rows) > HISTORY_ROWS else None,
        typed={k: str(v) for k, v in typed.items()},
        states=list(State),
        directions=list(Direction),
        when=local_time,
    )


# --- the referral form -----------------------------------------------------------------------


class ReferralForm(BaseModel):
    """The referral form as sent (strings as typed; the service's schema validates them)."""

    resident_id: str = ""
    patient_q: Annotated[str, Field(max_length=50)] = ""  # the patient picker's search
    to: str = ""
    to_other: str = ""
    department_id: str = ""
    from_department_id: str = ""
    diagnosis_code: str = ""
    reason: str = ""
    urgency: str = Urgency.ROUTINE.value
    clinical_summary: str = ""
    attachments: str = ""
    justification: str = ""
    patient_choice_reason: str = ""
    consent: bool = False
    admission_requested: bool = False
    slot_id: str = ""
    slot_day: Annotated[str, Field(max_length=10)] = ""  # the day the slot picker shows

    @property
    def target(self) -> str:
        return self.to_other.strip() or self.to.strip()

    def referral_in(self) -> ReferralIn:
        """ReferralIn from the form; raises pydantic's ValidationError on malformed fields."""
        return ReferralIn.model_validate(
            {
                "resident_id": self.resident_id,
                "to_institution_code": self.target,
                "to_department_id": self.department_id or None,
                "from_department_id": self.from_department_id or None,
                "diagnosis_code": self.diagnosis_code.strip(),
                "reason": self.reason.strip(),
                "urgency": self.urgency,
                "clinical_summary": self.clinical_summary.strip(),
                "attachments": [a.strip() for a in self.attachments.splitlines() if a.strip()],
                "consent": self.consent,
                "admission_requested": self.admission_requested,
                "justification": self.justification.strip() or None,
                "patient_choice_reason": self.patient_choice_reason.strip() or None,
                "slot_id": self.slot_id or None,
            }
        )


@dataclass(frozen=True)
class Candidate:
    """A receiving institution offered in the form (a member of one of the user's networks)."""

    code: str
    name_zh: str
    name_en: str | None
    role: str
    tier: str


def _candidates(
    session: Session, user: Principal, locale: str
) -> list[tuple[str, str, list[Candidate]]]:
    """(network code, name, members) for each network of the user's institution."""
    if user.institution_id is None:
        return []
    out = []
    for place in registry.placements(session, user.institution_id):
        net = registry.get_network(session, place.network_code)
        members = [m for m in net.memberships if m.institution_id != user.institution_id]
        members.sort(key=lambda m: (TIER_ORDER.index(Tier(m.tier)), m.role, m.institution.code))
        out.append(
            (
                net.code,
                pick(locale, net.name_zh, net.name_en),
                [
                    Candidate(
                        m.institution.code,
                        m.institution.name_zh,
                        m.institution.name_en,
                        m.role,
                        m.tier,
                    )
                    for m in members
                ],
            )
        )
    return out


PICKER_ROWS = 20  # patients the picker lists at once; the search narrows the rest
MAX_ROW_ID = 2_147_483_647  # above it no row exists (and PostgreSQL would refuse the compare)


def _patients(session: Session, user: Principal, form: ReferralForm) -> list[ResidentView]:
    """The picker's patients: those the search matches (a name or its start, or the last 4 to
    6 characters of the national ID), the first of the unit's otherwise; and the one chosen."""
    typed = form.patient_q.strip()
    suffix = re.fullmatch(r"[0-9Xx]{4,6}", typed)
    where = ResidentSearchIn(id_suffix=typed) if suffix else ResidentSearchIn(name=typed)
    found = residents.list_visible(
        session, user, purpose="referral form", limit=PICKER_ROWS, where=where
    )
    chosen = _int(form.resident_id)
    if chosen is not None and 0 < chosen <= MAX_ROW_ID and chosen not in {p.id for p in found}:
        with contextlib.suppress(DomainError):
            found.insert(0, residents.get(session, user, chosen, purpose="referral form"))
    return found


def _form_page(
    request: Request,
    session: Session,
    user: Principal,
    form: ReferralForm,
    error: FormError | None = None,
) -> Response:
    target = registry.get_institution(session, form.target) if form.target else None
    target_id = target.id if target else None
    departments = registry.departments(session, target.id) if target else []
    department_id = _int(form.department_id)
    department = next((d for d in departments if d.id == department_id), None)
    network_id, justify_kinds = referrals.catalog_context(session, user.institution_id, target_id)
    window = scheduling.calendar_window(session, target.id) if target else 0
    check: DiagnosisCheck | None = None
    if form.diagnosis_code.strip():
        check = referrals.check_diagnosis(
            session, network_id, form.diagnosis_code.strip(), translator(locale_of(request))
        )
    return render(
        request,
        "referral/new.html",
        user,
        status=error.status if error else 200,
        form=form,
        error=error,
        patients=_patients(session, user, form),
        patient_rows=PICKER_ROWS,
        networks=_candidates(session, user, locale_of(request)),
        target=target,
        departments=departments,
        department=department,
        own_departments=(
            registry.departments(session, user.institution_id) if user.institution_id else []
        ),
        slots=(
            open_slots(
                session, user, department.id, window, day=form.slot_day, chosen_slot=form.slot_id
            )
            if department
            else SlotPicker(window, [], None, [])
        ),
        check=check,
        justify_kinds=justify_kinds,
        kind_names=_catalog_kind_names(locale_of(request)),
        urgencies=[u.value for u in Urgency],
        when=local_time,
    )


@router.get("/referrals/new", response_class=HTMLResponse)
def referral_form(
    request: Request, session: DB, user: User, form: Annotated[ReferralForm, Query()]
) -> Response:
    """The form; choosing the institution and department (a GET of the same form) shows the
    department's open slots for the user's unit."""
    return _form_page(request, session, user, form)


@router.post("/referrals/new", response_class=HTMLResponse)
def send_referral(
    request: Request, session: DB, user: User, form: Annotated[ReferralForm, Form()]
) -> Response:
    """Create, submit and book the chosen slot in one step, then show the referral."""
    return submit(
        session,
        "referral",
        form.referral_in,
        lambda data: referrals.create(session, user, data),
        refused=lambda error: _form_page(request, session, user, form, error),
        done=lambda referral: f"/referrals/{referral.id}",
    )


# --- one referral ----------------------------------------------------------------------------


SIMPLE_ACTIONS = (Action.ACCEPT, Action.ARRIVE, Action.COMPLETE, Action.CLOSE, Action.CANCEL)


def _detail_page(
    request: Request,
    session: Session,
    user: Principal,
    referral_id: int,
    error: FormError | None = None,
    values: dict[str, Any] | None = None,
    slot_day: str = "",
    regimen_preview: RegimenCheckOut | None = None,
) -> Response:
    referral = referrals.get(session, referral_id)
    referrals.require_read(session, user, referral, "referral page")
    out = referrals.view(session, user, referral)
    at_receiver = user.institution_id is not None and user.institution_id == (
        referral.to_institution_id
    )
    clinical = user.has(*referrals.CLINICAL)
    allowed = set(out.allowed_actions)
    department_id = out.receiver.department_id
    can_schedule = (
        Action.SCHEDULE in allowed and department_id is not None and out.booking_id is None
    )
    # The receiving department offers the sending unit's slots: list what that unit may book
    # (read only; the booking itself goes through the service with the real user).
    sender_view = dataclasses.replace(user, institution_id=referral.from_institution_id)
    catalog_kind, _, catalog_entry = (out.catalog_hit or "").partition(": ")
    window = scheduling.calendar_window(session, referral.to_institution_id)
    can_refer_down = (
        clinical
        and at_receiver
        and out.direction == Direction.UP
        and out.state in (State.ARRIVED, State.COMPLETED)
        and not out.child_ids
    )
    return render(
        request,
        "referral/detail.html",
        user,
        status=error.status if error else 200,
        r=out,
        error=error,
        values=values or {},
        actions=[a.value for a in SIMPLE_ACTIONS if a in allowed],
        can_reject=Action.REJECT in allowed,
        can_schedule=can_schedule,
        slots=(
            open_slots(
                session,
                sender_view,
                department_id,
                window,
                day=slot_day,
                chosen_slot=str((values or {}).get("slot_id") or ""),
            )
            if can_schedule and department_id is not None
            else SlotPicker(window, [], None, [])
        ),
        can_refer_down=can_refer_down,
        regimen_items=pharmacy.items(session, referral.network_id)
        if can_refer_down and referral.network_id is not None
        else [],
        regimen_rows=_regimen_rows(session, user, referral, values or {}) if can_refer_down else [],
        regimen_preview=regimen_preview,
        can_follow_up=(
            clinical
            and at_receiver
            and out.direction == Direction.DOWN
            and out.acknowledged_at is not None
            and out.state in (State.ACCEPTED, State.ARRIVED)
        ),
        can_decide=(
            user.has(Role.NETWORK_ADMIN)
            and user.network_id is not None
            and user.network_id == referral.network_id
            and out.approval == "pending"
        ),
        rejection_reasons=[r.value for r in RejectionReason],
        catalog_kind=catalog_kind,
        catalog_entry=catalog_entry,
        kind_names=_catalog_kind_names(locale_of(request)),
        when=local_time,
    )


def _detail_again(
    request: Request, session: Session, user: Principal, referral_id: int, form: BaseModel
) -> Callable[[FormError], Response]:
    """The referral page again with a refused form's error and what was typed in it."""
    return lambda error: _detail_page(request, session, user, referral_id, error, form.model_dump())


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(
    referral_id: int,
    request: Request,
    session: DB,
    user: User,
    slot_day: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    return _detail_page(request, session, user, referral_id, slot_day=slot_day)


@router.get("/referrals/{referral_id}/slip", response_class=HTMLResponse)
def referral_slip(referral_id: int, request: Request, session: DB, user: User) -> Response:
    """The printable referral slip (转诊单), or for a downward referral the down-referral
    summary with the discharge summary and follow-up plan the receiving unit works from."""
    referral = referrals.get(session, referral_id)
    referrals.require_read(session, user, referral, "referral slip")
    out = referrals.view(session, user, referral)
    patient = residents.get(session, user, referral.resident_id, purpose="referral slip")
    return render(request, "referral/slip.html", user, r=out, patient=patient, when=local_time)


class TransitionForm(BaseModel):
    action: str = ""
    version: str = ""
    note: str = ""
    rejection_code: str = ""
    slot_id: str = ""


def _form_name(action: str) -> str:
    return action if action in (Action.REJECT, Action.SCHEDULE) else "action"


@router.post("/referrals/{referral_id}/transitions", response_class=HTMLResponse)
def transition(
    referral_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[TransitionForm, Form()],
) -> Response:
    """One action of the state machine (accept, reject with a coded reason, schedule a slot,
    arrive, complete, close, cancel) with the version the page showed."""
    return submit(
        session,
        _form_name(form.action),
        lambda: TransitionIn.model_validate(
            {
                "action": form.action,
                "version": form.version,
                "note": form.note.strip() or None,
                "rejection_code": form.rejection_code or None,
                "slot_id": form.slot_id or None,
            }
        ),
        lambda data: referrals.transition(
            session,
            user,
            referral_id,
            action=data.action,
            version=data.version,
            note=data.note,
            rejection_code=data.rejection_code,
            slot_id=data.slot_id,
        ),
        refused=_detail_again(request, session, user, referral_id, form),
        done=lambda _: f"/referrals/{referral_id}",
    )


class ReferDownForm(BaseModel):
    version: str = ""
    to_institution_code: str = ""
    diagnosis_code: str = ""
    reason: str = ""
    clinical_summary: str = ""
    discharge_summary: str = ""
    follow_up_plan: str = ""
    regimen_code: list[str] = Field(default_factory=list, max_length=REGIMEN_ROWS)
    regimen_quantity: list[str] = Field(default_factory=list, max_length=REGIMEN_ROWS)
    regimen_seen: str = ""

    def regimen(self) -> list[dict[str, str]]:
        """The rows with a drug chosen, in order (blank rows are left out)."""
        quantities = [*self.regimen_quantity, *[""] * len(self.regimen_code)]
        return [
            {"item_code": code.strip(), "quantity": quantity.strip()}
            for code, quantity in zip(self.regimen_code, quantities, strict=False)
            if code.strip()
        ]


@dataclass(frozen=True)
class RegimenRow:
    code: str
    quantity: str
    index: int | None  # its place among the rows sent, as the refusal's field names it


def _regimen_rows(
    session: Session, user: Principal, referral: referrals.Referral, values: dict[str, Any]
) -> list[RegimenRow]:
    """The regimen rows of the refer-down form: what was typed, or the drugs of the
    patient's last prescription at this institution, then blank rows."""
    if values.get("regimen_code"):
        typed = ReferDownForm.model_validate(values).regimen()
        rows = [RegimenRow(r["item_code"], r["quantity"], n) for n, r in enumerate(typed)]
    else:
        here = registry.get_institution_by_id(session, referral.to_institution_id)
        last = next(
            (
                p
                for p in pharmacy.resident_prescriptions(session, user, referral.resident_id)
                if here is not None and p.institution_code == here.code
            ),
            None,
        )
        rows = [
            RegimenRow(i.item_code, str(i.quantity), None) for i in (last.items if last else [])
        ]
    return [*rows, *[RegimenRow("", "", None)] * max(REGIMEN_ROWS - len(rows), 1)][:REGIMEN_ROWS]


@router.post("/referrals/{referral_id}/refer-down", response_class=HTMLResponse)
def refer_down(
    referral_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[ReferDownForm, Form()],
) -> Response:
    """Discharge the patient of an up referral and refer him down with the discharge summary,
    the follow-up plan (B5) and the regimen (G6); shows the new downward referral. A regimen
    with a drug the receiving unit lacks is shown checked first, and sent when sent again."""
    regimen = form.regimen()
    if regimen and not form.regimen_seen:
        with contextlib.suppress(DomainError, ValueError):
            parent = referrals.get(session, referral_id)
            sender = registry.get_institution_by_id(session, parent.from_institution_id)
            target = form.to_institution_code.strip() or (sender.code if sender else "")
            check = pharmacy.preview_regimen(
                session,
                user,
                RegimenCheckIn.model_validate({"to_institution_code": target, "regimen": regimen}),
            )
            if check.flagged:
                return _detail_page(
                    request,
                    session,
                    user,
                    referral_id,
                    values=form.model_dump(),
                    regimen_preview=check,
                )
    return submit(
        session,
        "refer_down",
        lambda: DownReferralIn.model_validate(
            {
                "version": form.version,
                "to_institution_code": form.to_institution_code.strip() or None,
                "diagnosis_code": form.diagnosis_code.strip() or None,
                "reason": form.reason.strip(),
                "clinical_summary": form.clinical_summary.strip(),
                "discharge_summary": form.discharge_summary.strip() or None,
                "follow_up_plan": form.follow_up_plan.strip() or None,
                "regimen": regimen,
            }
        ),
        lambda data: referrals.refer_down(session, user, parent_id=referral_id, data=data),
        refused=_detail_again(request, session, user, referral_id, form),
        done=lambda child: f"/referrals/{child.id}",
    )


class FollowUpForm(BaseModel):
    version: str = ""
    note: str = ""


@router.post("/referrals/{referral_id}/follow-up", response_class=HTMLResponse)
def follow_up(
    referral_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[FollowUpForm, Form()],
) -> Response:
    """The first follow-up of a patient referred down: closes the loop (B5, F6)."""
    return submit(
        session,
        "follow_up",
        lambda: FollowUpIn.model_validate({"version": form.version, "note": form.note.strip()}),
        lambda data: referrals.record_follow_up(
            session, user, referral_id, version=data.version, note=data.note
        ),
        refused=_detail_again(request, session, user, referral_id, form),
        done=lambda _: f"/referrals/{referral_id}",
    )


class DecisionForm(BaseModel):
    version: str = ""
    approve: str = ""
    note: str = ""


@router.post("/referrals/{referral_id}/decision", response_class=HTMLResponse)
def decision(
    referral_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[DecisionForm, Form()],
) -> Response:
    """The network office approves or refuses an outward keep-in-city referral (B2)."""
    return submit(
        session,
        "decision",
        lambda: DecisionIn.model_validate(
            {"version": form.version, "approve": form.approve, "note": form.note.strip() or None}
        ),
        lambda data: referrals.decide_outward(
            session,
            user,
            referral_id,
            version=data.version,
            approve=data.approve,
            note=data.note,
        ),
        refused=_detail_again(request, session, user, referral_id, form),
        done=lambda _: f"/referrals/{referral_id}",
    )


# --- the network's monthly measures ----------------------------------------------------------


@router.get("/networks/{code}/referral-measures", response_class=HTMLResponse)
def referral_measures(
    code: str,
    request: Request,
    session: DB,
    user: User,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """Per member and month: referrals by direction and state, hours to answer, overdue,
    closed loops, reserved slots and beds against the profile's targets (B9, C1, C2), each an
    indicator of the catalogue (`api.MEASURES`)."""
    chosen = month or clock.today().strftime("%Y-%m")
    measures = api.network_measures(session, user, network_code=code, month=chosen)
    return render(
        request,
        "referral/measures.html",
        user,
        network=registry.get_network(session, code),
        month=measures.month,
        measures=measures,
        sent=api.SENT,
        received=api.RECEIVED,
        by_state=api.BY_STATE,
        column=api.COLUMNS,
    )
