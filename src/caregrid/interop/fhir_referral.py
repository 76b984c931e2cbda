"""Referrals as FHIR R4 ServiceRequest and Task (B1-B7, J3): what is asked, and where it stands.

A referral is one ServiceRequest (what the sender asks: the patient, the receiving institution
and department, the ICD-10 diagnosis, the reason, the clinical summary, the urgency, consent)
and one Task with the same id (the closed loop's state). A member's system creates the
ServiceRequest (`basedOn` an up referral makes it the lead's downward referral, B5) and moves
the Task by updating its status under If-Match: each status change is one action of the
referral service's state table, so an illegal one is refused there (409) and the rules that
guard each action (the office's approval, the coded rejection, the follow-up that closes a
downward loop) are the same as on the pages.

ServiceRequest.note[0] is the reason for referral and note[1] the clinical summary; consent,
an admission request, the justification of a first-visit-catalog disease going up (B2), the
patient's reason for going outside the network (B6) and a downward referral's discharge
summary and follow-up plan are extensions (`urn:caregrid:fhir:…`). Task.status maps the
referral's states: draft, requested (submitted), accepted (accepted, scheduled), in-progress
(arrived), completed (completed, closed: `businessStatus` tells them apart), rejected (with
`statusReason`), cancelled.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.interop.fhir_rest import (
    ICD10,
    LAST_UPDATED,
    NATIONAL_ID,
    Page,
    Param,
    Search,
    as_id,
    date_bounds,
    emit,
    instant,
    page_of,
    parse,
    reference_ids,
)
from caregrid.referral import service as referrals
from caregrid.referral.schemas import DownReferralIn, ReferralIn
from caregrid.referral.service import ReferralFilter
from caregrid.referral.vocab import Action, Direction, RejectionReason, State, Urgency
from caregrid.registry import service as registry
from caregrid.residents import service as residents

EXTENSION = "urn:caregrid:fhir:"
CONSENT = EXTENSION + "consent"
ADMISSION = EXTENSION + "admission-requested"
DISCHARGE_SUMMARY = EXTENSION + "discharge-summary"
FOLLOW_UP_PLAN = EXTENSION + "follow-up-plan"
JUSTIFICATION = EXTENSION + "justification"  # why a first-visit-catalog disease goes up (B2)
PATIENT_CHOICE = EXTENSION + "patient-choice-reason"  # why outside the network (B6)
STATE = "urn:caregrid:referral-state"
DIRECTION = "urn:caregrid:referral-direction"
REJECTION = "urn:caregrid:rejection-reason"
TASK_INPUT = "urn:caregrid:task-input"
REFERRAL = {"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}

TASK_STATUS = {
    State.DRAFT: "draft",
    State.SUBMITTED: "requested",
    State.ACCEPTED: "accepted",
    State.SCHEDULED: "accepted",
    State.ARRIVED: "in-progress",
    State.COMPLETED: "completed",
    State.CLOSED: "completed",
    State.REJECTED: "rejected",
    State.CANCELLED: "cancelled",
}
REQUEST_STATUS = {
    State.DRAFT: "draft",
    State.COMPLETED: "completed",
    State.CLOSED: "completed",
    State.REJECTED: "revoked",
    State.CANCELLED: "revoked",
}
PRIORITY = {Urgency.ROUTINE: "routine", Urgency.URGENT: "urgent", Urgency.EMERGENCY: "stat"}
URGENCY = {"routine": Urgency.ROUTINE, "urgent": Urgency.URGENT, "asap": Urgency.URGENT,
           "stat": Urgency.EMERGENCY}  # fmt: skip
# The action a Task status asks for, from the referral's state (the state table decides).
ACTIONS = {
    "requested": Action.SUBMIT,
    "accepted": Action.ACCEPT,
    "rejected": Action.REJECT,
    "cancelled": Action.CANCEL,
    "in-progress": Action.ARRIVE,
    "completed": Action.COMPLETE,
}
# Where a field of the referral service's input is in a ServiceRequest, for its refusals.
PATHS = {
    "resident_id": "ServiceRequest.subject",
    "to_institution_code": "ServiceRequest.performer",
    "to_department_id": "ServiceRequest.performer",
    "from_practitioner_id": "ServiceRequest.requester",
    "diagnosis_code": "ServiceRequest.reasonCode[0]",
    "reason": "ServiceRequest.note[0]",
    "clinical_summary": "ServiceRequest.note[1]",
    "consent": f"ServiceRequest.extension({CONSENT})",
    "discharge_summary": f"ServiceRequest.extension({DISCHARGE_SUMMARY})",
    "follow_up_plan": f"ServiceRequest.extension({FOLLOW_UP_PLAN})",
    "justification": f"ServiceRequest.extension({JUSTIFICATION})",
    "patient_choice_reason": f"ServiceRequest.extension({PATIENT_CHOICE})",
}

REQUEST_PARAMS = (
    Param("patient", "reference", "the resident (Patient/id)"),
    Param("requester", "reference", "the referring institution (Organization/id)"),
    Param("performer", "reference", "the receiving institution (Organization/id)"),
    LAST_UPDATED,
)
TASK_PARAMS = (
    Param("patient", "reference", "the resident (Patient/id)"),
    Param("requester", "reference", "the referring institution (Organization/id)"),
    Param("owner", "reference", "the receiving institution (Organization/id): its inbox"),
    Param("status", "token", "draft, requested, accepted, in-progress, completed, rejected, …"),
    LAST_UPDATED,
)


def _state_codes(statuses: set[str]) -> frozenset[str]:
    return frozenset(state for state, status in TASK_STATUS.items() if status in statuses)


# --- out -------------------------------------------------------------------------------------


def service_request(referral: referrals.Referral) -> dict[str, Any]:
    performers = [{"reference": f"Organization/{referral.to_institution_id}"}]
    if referral.to_department_id is not None:
        performers.append({"reference": f"HealthcareService/{referral.to_department_id}"})
    extensions: list[dict[str, Any]] = [
        {"url": CONSENT, "valueBoolean": referral.consent},
        {"url": ADMISSION, "valueBoolean": referral.admission_requested},
    ]
    texts = (
        (JUSTIFICATION, referral.justification),
        (PATIENT_CHOICE, referral.patient_choice_reason),
        (DISCHARGE_SUMMARY, referral.discharge_summary),
        (FOLLOW_UP_PLAN, referral.follow_up_plan),
    )
    for url, text in texts:
        if text:
            extensions.append({"url": url, "valueString": text})
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "meta": {"versionId": str(referral.version), "lastUpdated": _last(referral)},
        "extension": extensions,
        "status": REQUEST_STATUS.get(State(referral.state), "active"),
        "intent": "order",
        "category": [{"coding": [REFERRAL]}],
        "code": {"coding": [{"system": DIRECTION, "code": referral.direction}]},
        "priority": PRIORITY[Urgency(referral.urgency)],
        "subject": {"reference": f"Patient/{referral.resident_id}"},
        "authoredOn": instant(referral.submitted_at or referral.created_at),
        "requester": {"reference": f"Organization/{referral.from_institution_id}"},
        "performer": performers,
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": ICD10,
                        "code": referral.diagnosis_code,
                        "display": referral.diagnosis_title or None,
                    }
                ]
            }
        ],
        "note": [{"text": referral.reason}, {"text": referral.clinical_summary}],
    }
    if not referral.diagnosis_title:
        del resource["reasonCode"][0]["coding"][0]["display"]
    if referral.parent_id is not None:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{referral.parent_id}"}]
    return emit(resource)


def _last(referral: referrals.Referral) -> str:
    """When the referral last changed: its latest timeline event (what _lastUpdated reads)."""
    return instant(max((e.at for e in referral.events), default=referral.created_at))


def task(referral: referrals.Referral) -> dict[str, Any]:
    state = State(referral.state)
    last = _last(referral)
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": {"versionId": str(referral.version), "lastUpdated": last},
        "basedOn": [{"reference": f"ServiceRequest/{referral.id}"}],
        "status": TASK_STATUS[state],
        "businessStatus": {"coding": [{"system": STATE, "code": state.value}]},
        "intent": "order",
        "focus": {"reference": f"ServiceRequest/{referral.id}"},
        "for": {"reference": f"Patient/{referral.resident_id}"},
        "authoredOn": instant(referral.created_at),
        "lastModified": last,
        "requester": {"reference": f"Organization/{referral.from_institution_id}"},
        "owner": {"reference": f"Organization/{referral.to_institution_id}"},
    }
    if state == State.REJECTED and referral.rejection_code:
        reason: dict[str, Any] = {
            "coding": [{"system": REJECTION, "code": referral.rejection_code}]
        }
        if referral.rejection_note:
            reason["text"] = referral.rejection_note
        resource["statusReason"] = reason
    outputs = [(code, text) for code, text in (("discharge-summary", referral.discharge_summary),
               ("follow-up-plan", referral.follow_up_plan)) if text]  # fmt: skip
    if outputs:
        resource["input"] = [
            {"type": {"coding": [{"system": TASK_INPUT, "code": code}]}, "valueString": text}
            for code, text in outputs
        ]
    return emit(resource)


def _readable(session: Session, principal: Principal, referral_id: int) -> referrals.Referral:
    """The referral, if the reader is one of its two institutions or its office (audited)."""
    referral = referrals.get(session, referral_id)
    referrals.require_read(session, principal, referral, "referral")
    return referral


def read_request(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return service_request(_readable(session, principal, resource_id))


def read_task(session: Session, principal: Principal, resource_id: int) -> dict[str, Any]:
    return task(_readable(session, principal, resource_id))


def _search(session: Session, principal: Principal, search: Search, to_resource: Any) -> Page:
    statuses = {p for v in search.values.get("status", []) for p in v.split(",")}
    if bad := statuses - set(TASK_STATUS.values()):
        raise InvalidInput(
            [Problem("status", msg("{value!r} is not a Task status", value=min(bad)))]
        )
    receiver = "owner" if "owner" in search.values else "performer"
    changed_from, changed_before = date_bounds(search, "_lastUpdated")
    where = ReferralFilter(
        changed_from=changed_from,
        changed_before=changed_before,
        ids=search.ids(),
        resident_ids=reference_ids(search, "patient", "Patient"),
        from_institution_ids=reference_ids(search, "requester", "Organization"),
        to_institution_ids=reference_ids(search, receiver, "Organization"),
        states=_state_codes(statuses) if statuses else None,
    )
    return page_of(
        search,
        lambda after, limit: referrals.page(
            session, principal, replace(where, after=after, limit=limit)
        ),
        to_resource,
    )


def search_requests(session: Session, principal: Principal, search: Search) -> Page:
    return _search(session, principal, search, service_request)


def search_tasks(session: Session, principal: Principal, search: Search) -> Page:
    return _search(session, principal, search, task)


# --- in --------------------------------------------------------------------------------------


def _extension(request: Any, url: str) -> Any:
    return next((e for e in request.extension or [] if e.url == url), None)


def _string(request: Any, url: str) -> str | None:
    found = _extension(request, url)
    return found.valueString if found is not None else None


def _resident(session: Session, subject: Any) -> int | None:
    if subject is None:
        return None
    if subject.reference:
        found = as_id(subject.reference) if subject.reference.startswith("Patient/") else None
        return found if found is not None and residents.find_record(session, found) else None
    if subject.identifier is not None and subject.identifier.system == NATIONAL_ID:
        return residents.id_by_national_id(session, (subject.identifier.value or "").upper())
    return None


def _performers(session: Session, request: Any) -> tuple[str | None, int | None]:
    """The receiving institution's code and department id the performers name."""
    code, department = None, None
    for performer in request.performer or []:
        reference = performer.reference or ""
        target = as_id(reference)
        if reference.startswith("Organization/") and target is not None:
            inst = registry.get_institution_by_id(session, target)
            code = inst.code if inst is not None else f"#{target}"
        elif reference.startswith("HealthcareService/") and target is not None:
            department = target
    return code, department


def _texts(request: Any) -> list[str]:
    return [n.text for n in request.note or [] if n.text]


def _remap(exc: InvalidInput) -> InvalidInput:
    """The service's refusal with each field named where it is in the ServiceRequest."""
    return InvalidInput([Problem(PATHS.get(p.field, p.field), p.reason) for p in exc.problems])


def create(session: Session, principal: Principal, data: Any) -> dict[str, Any]:
    """A ServiceRequest from a member's system: a new referral, sent unless its status is
    draft; `basedOn` an up referral, the receiving lead's downward referral of that patient."""
    request = parse("ServiceRequest", data, "ServiceRequest")
    problems: list[Problem] = []
    if request.status not in ("draft", "active"):
        problems.append(Problem("ServiceRequest.status", "a new referral is draft or active"))
    if request.intent not in ("order", "proposal", "plan"):
        problems.append(Problem("ServiceRequest.intent", "a referral is an order"))
    resident_id = _resident(session, request.subject)
    if resident_id is None:
        problems.append(
            Problem("ServiceRequest.subject", "name the Patient (Patient/id or the national ID)")
        )
    diagnosis = next(
        (c.code for r in request.reasonCode or [] for c in r.coding or [] if c.system == ICD10),
        None,
    )
    if diagnosis is None:
        problems.append(Problem("ServiceRequest.reasonCode", "needs an ICD-10 code"))
    texts = _texts(request)
    if len(texts) < 2:
        problems.append(
            Problem(
                "ServiceRequest.note",
                "give the reason (note[0]) and the clinical summary (note[1])",
            )
        )
    consent = _extension(request, CONSENT)
    if consent is None or consent.valueBoolean is None:
        problems.append(
            Problem(PATHS["consent"], "say whether the patient consents (valueBoolean)")
        )
    parents = [as_id(b.reference or "") for b in request.basedOn or []]
    if problems:
        raise InvalidInput(problems)
    assert resident_id is not None and diagnosis is not None and consent is not None
    code, department = _performers(session, request)
    try:
        if parents:
            if len(parents) != 1 or parents[0] is None:
                raise InvalidInput(
                    [Problem("ServiceRequest.basedOn", "name the one up referral answered")]
                )
            parent = referrals.get(session, parents[0])
            child = referrals.refer_down(
                session,
                principal,
                parent_id=parent.id,
                data=DownReferralIn(
                    version=parent.version,
                    to_institution_code=code,
                    diagnosis_code=diagnosis,
                    reason=texts[0],
                    clinical_summary=texts[1],
                    discharge_summary=_string(request, DISCHARGE_SUMMARY),
                    follow_up_plan=_string(request, FOLLOW_UP_PLAN),
                    consent=bool(consent.valueBoolean),
                ),
            )
            return service_request(child)
        if code is None:
            raise InvalidInput(
                [Problem("ServiceRequest.performer", "name the receiving Organization")]
            )
        made = referrals.create(
            session,
            principal,
            ReferralIn(
                resident_id=resident_id,
                to_institution_code=code,
                to_department_id=department,
                diagnosis_code=diagnosis,
                reason=texts[0],
                urgency=URGENCY.get(request.priority or "routine", Urgency.ROUTINE),
                clinical_summary=texts[1],
                consent=bool(consent.valueBoolean),
                admission_requested=bool(
                    (e := _extension(request, ADMISSION)) is not None and e.valueBoolean
                ),
                justification=_string(request, JUSTIFICATION),
                patient_choice_reason=_string(request, PATIENT_CHOICE),
                submit=request.status == "active",
            ),
        )
        return service_request(made)
    except ValidationError as exc:
        raise InvalidInput(
            [Problem(PATHS.get(str(e["loc"][0]), "ServiceRequest"), e["msg"]) for e in exc.errors()]
        ) from None
    except InvalidInput as exc:
        raise _remap(exc) from None


def move(
    session: Session, principal: Principal, referral_id: int, data: Any, if_match: str | None
) -> dict[str, Any]:
    return task(_move(session, principal, referral_id, data, if_match))


def _move(
    session: Session, principal: Principal, referral_id: int, data: Any, if_match: str | None
) -> referrals.Referral:
    """A Task update: the status it asks for becomes the action of the state table from the
    referral's state, under the version the client read (If-Match, or the Task's versionId)."""
    update = parse("Task", data, "Task")
    if update.id is not None and update.id != str(referral_id):
        raise InvalidInput([Problem("Task.id", "must be the id in the address")])
    referral = _readable(session, principal, referral_id)
    sent = if_match or (update.meta.versionId if update.meta else None)
    version = as_id((sent or "").removeprefix("W/").strip('"'))
    if version is None:
        raise InvalidInput([Problem("If-Match", "send the version you read (the ETag)")])
    note = next((n.text for n in update.note or [] if n.text), None)
    current = TASK_STATUS[State(referral.state)]
    closing = update.businessStatus is not None and any(
        c.system == STATE and c.code == State.CLOSED for c in update.businessStatus.coding or []
    )
    if update.status == current and not (closing and referral.state == State.COMPLETED):
        return referral  # nothing asked: nothing written
    action = ACTIONS.get(update.status)
    if closing and update.status == "completed":
        action = Action.CLOSE if referral.state == State.COMPLETED else Action.COMPLETE
    if action is None:
        raise InvalidInput(
            [
                Problem(
                    "Task.status",
                    msg("{status!r} is not a status a referral moves to", status=update.status),
                )
            ]
        )
    if action == Action.COMPLETE and referral.direction == Direction.DOWN:
        if not note:
            raise InvalidInput(
                [Problem("Task.note", "the first follow-up closes the loop: write its note")]
            )
        return referrals.record_follow_up(
            session, principal, referral_id, version=version, note=note
        )
    rejection = None
    if action == Action.REJECT:
        codes = [c.code for c in (update.statusReason.coding or [])] if update.statusReason else []
        rejection = next((RejectionReason(c) for c in codes if c in set(RejectionReason)), None)
        if rejection is None:
            raise InvalidInput(
                [
                    Problem(
                        "Task.statusReason", msg("give a coded reason ({system})", system=REJECTION)
                    )
                ]
            )
        note = note or (update.statusReason.text if update.statusReason else None)
    return referrals.transition(
        session,
        principal,
        referral_id,
        action=action,
        version=version,
        note=note,
        rejection_code=rejection,
    )
