"""zh-CN (default) and English. Message ids are English; zh_CN.po holds the Chinese (Babel)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
COOKIE = "caregrid_lang"


@lru_cache
def catalog(locale: str) -> dict[str, str]:
    if locale == "en":
        return {}
    source = resources.files("caregrid.i18n").joinpath(f"{locale}.po")
    with source.open("rb") as handle:
        po = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


Translator = Callable[[str], str]


def translator(locale: str) -> Translator:
    table = catalog(locale)

    def gettext(message: str) -> str:
        return table.get(message, message)

    return gettext


def pick(locale: str, zh: str | None, en: str | None) -> str:
    """A data field's name in the page language (Chinese names stay when no English exists)."""
    if locale == "en" and en:
        return en
    return zh or en or ""


# English labels of vocabulary codes; zh_CN.po translates these labels like any other message.
VOCAB_EN = {
    "tertiary": "Tertiary",
    "secondary": "Secondary",
    "primary": "Primary",
    # the layouts say "unknown" where the source document states no level or category
    "unknown": "Not stated by the source",
    "general_hospital": "General hospital",
    "tcm_hospital": "TCM hospital",
    "integrated_medicine_hospital": "Integrated medicine hospital",
    "specialty_hospital": "Specialty hospital",
    "rehabilitation_hospital": "Rehabilitation hospital",
    "nursing_home": "Nursing home",
    "maternal_child_health": "Maternal and child health",
    "cdc": "Centre for disease control",
    "specialised_public_health": "Specialised public health",
    "community_health_center": "Community health centre",
    "township_health_center": "Township health centre",
    "community_health_station": "Community health station",
    "village_clinic": "Village clinic",
    "lead": "Lead",
    "member": "Member",
    "collaborator": "Collaborator",
    "city": "City tier",
    "district": "District tier",
    "county": "County tier",
    "township": "Township / street tier",
    "village": "Village / community tier",
    "urban_group": "Urban medical group",
    "county_community": "County medical community",
    "pass": "Pass",
    "fail": "Fail",
    "not-evaluable": "Not evaluable",
    "not-applicable": "Not applicable",
    # evaluation verdicts (K1-K9)
    "met": "Met",
    "partly": "Partly met",
    "not_met": "Not met",
    "evaluation.unknown": "Not evaluable",  # what the data proves: no data or no target
    "male": "Male",
    "female": "Female",
    "provincial": "Provincial pilot",
    "other": "Other city",
    "mch": "Maternal and child health",
    "tcm_alliance": "TCM alliance",
    "public_health": "Public health",
    "rehabilitation_nursing": "Rehabilitation and nursing",
    "specialty_alliance": "Specialty alliance",
    "junior": "Junior title",
    "intermediate": "Intermediate title",
    "associate_senior": "Associate senior title",
    "senior": "Senior title",
    "regulator": "Regulator",
    "network_admin": "Network admin",
    "institution_admin": "Institution admin",
    "clinician": "Clinician",
    "family_doctor": "Family doctor",
    "auditor": "Auditor",
    "children": "Children 0-6",
    "elderly": "Elderly 65+",
    "pregnant_postpartum": "Pregnant and postpartum",
    "hypertension": "Hypertension",
    "diabetes": "Diabetes",
    "severe_mental_disorder": "Severe mental disorder",
    "tuberculosis": "Tuberculosis",
    "malignant_tumour": "Malignant tumour",
    "disabled": "Disabled",
    "general_practitioner": "General practitioner",
    "specialist": "Specialist",
    "nurse": "Nurse",
    "tcm": "TCM doctor",
    "follow_up_due": "Follow-up due",
    "follow_up_overdue": "Follow-up overdue",
    "unevaluated": "Not yet evaluated",
    "confirm": "Confirm suspected case",
    "screening_due": "Yearly screening due",
    "referred_down": "Referred down, awaiting follow-up",
    "controlled": "Controlled",
    "uncontrolled": "Not controlled",
    "danger": "Danger",
    "next_routine": "Next routine follow-up",
    "adjust_medication": "Adjust medication, follow up within two weeks",
    "refer": "Refer up, follow up within two weeks",
    "urgent_refer": "Urgent referral, follow up within two weeks",
    "active": "Active",
    "terminated": "Terminated",
    "renewed": "Renewed",
    "expired": "Expired",
    "resident_request": "At the resident's request",
    "moved_away": "Moved away",
    "deceased": "Deceased",
    "team_change": "Changed team",
    "written": "Written",
    "electronic": "Electronic",
    "resident": "Resident",
    "guardian": "Guardian",
    "suspected": "Suspected",
    "confirmed": "Under management",
    "ruled_out": "Ruled out",
    "screening": "Screening",
    "confirmation": "Repeat measurement",
    "follow_up": "Follow-up",
    "ordered": "Ordered",
    "scheduled": "Scheduled",
    "acquired": "Acquired",
    "reported": "Reported",
    "delivered": "Delivered",
    "recognised": "Recognised (reused)",
    "cancelled": "Cancelled",
    "condition_changed": "The condition changed",
    "fast_changing": "The value changes fast",
    "critical_for_treatment": "Critical for the treatment",
    "emergency": "Emergency",
    "medico_legal": "Medico-legal or assessment",
    "repeat_reason.other": "Other (explain)",
    "order_state.delivered": "Report delivered",
    "order_state.ordered": "Order placed",
    "outside": "Outside the registry",
    # grid plans
    "proposed": "Proposed",
    "adopted": "Adopted",
    "superseded": "Superseded",
    "requested": "Requested",
    "answered": "Answered",
    "closed": "Closed",
    "consult_state.closed": "Concluded",  # a referral's "closed" is its closed loop
    "declined": "Declined",
    "laboratory": "Laboratory centre",
    "imaging": "Imaging centre",
    "ecg": "ECG centre",
    "pathology": "Pathology centre",
    "sterilisation": "Sterilisation supply centre",
    "dispatched": "Dispatched",
    "returned": "Returned",
    "passed": "Passed",
    "failed": "Failed",
    "eqa_category.chemistry": "Clinical chemistry",
    "eqa_category.haematology": "Haematology",
    "eqa_category.imaging": "Imaging",
    "eqa_category.electrophysiology": "Electrophysiology",
    "eqa_category.ultrasound": "Ultrasound",
    "transfer_state.requested": "Requested, not shipped",
    "transfer_state.shipped": "Shipped, not yet received",
    "transfer_state.received": "Received, delivery confirmed",
    "transfer_state.cancelled": "Transfer cancelled",
    "transfer_action.ship": "Ship",
    "transfer_action.receive": "Confirm receipt",
    "transfer_action.cancel": "Cancel the transfer",
    "requisition_state.submitted": "Submitted, waiting for an order",
    "requisition_state.ordered": "In a purchase order",
    "requisition_state.cancelled": "Requisition withdrawn",
    "requisition_action.cancel": "Withdraw the requisition",
    "procurement_order_state.placed": "Placed, goods not yet received",
    "procurement_order_state.received": "Goods received, not yet paid",
    "procurement_order_state.paid": "Paid",
    "procurement_order_state.cancelled": "Order cancelled",
    "procurement_order_action.receive": "Record the goods received",
    "procurement_order_action.pay": "Pay",
    "procurement_order_action.cancel": "Cancel the order",
    "prescription_state.issued": "Waiting to be dispensed",
    "prescription_state.dispensed": "Dispensed",
    "prescription_state.refused": "Refused by the pharmacy",
    "prescription_state.cancelled": "Cancelled by the prescriber",
    "prescription_action.dispense": "Dispense",
    "prescription_action.refuse": "Refuse",
    "post_category.doctor": "Doctor",
    "post_category.nurse": "Nurse",
    "post_category.pharmacist": "Pharmacist",
    "post_category.technician": "Medical technician",
    "post_category.public_health": "Public health",
    "post_category.manager": "Manager",
    "posting_purpose.first_post": "First post of a new hire",
    "posting_purpose.deployment": "Deployment",
    "posting_purpose.sinking": "Expert sent down to a primary member",
    "posting_purpose.training": "Training at the lead",
    "posting_purpose.management": "Manager sent to run a member",
    "draw_state.committed": "Seed committed, not yet drawn",
    "draw_state.revealed": "Seed revealed, drawn",
    "regimen_outcome.available": "Held at the unit",
    "regimen_outcome.substitute": "A substitute of the same medicine is held",
    "regimen_outcome.flagged": "Flagged: not available at the unit",
    "committee_role.chair": "Chair",
    "committee_role.vice_chair": "Vice chair",
    "committee_role.member": "Member",
    "committee_role.office_director": "Director of the office",
    "document_kind.charter": "Charter",
    "document_kind.decision_rules": "Rules of deliberation and decision",
    "document_kind.development_plan": "Five-year development plan",
    "document_kind.annual_plan": "Annual work plan",
    "document_kind.work_agreement": "Annual work agreement",
    "meeting_kind.work": "Monthly work meeting",
    "meeting_kind.committee": "Committee meeting",
    "meeting_kind.consultation": "Consultation",
    "report_kind.work_update": "Monthly work update",
    "report_kind.annual_progress": "Annual progress report",
    "report_kind.emergency": "Emergency report",
    "task_state.open": "Open",
    "task_state.done": "Done on time",
    "task_state.done_late": "Done after the deadline",
    "task_state.overdue": "Overdue",
    "weekday.1": "Mon",
    "weekday.2": "Tue",
    "weekday.3": "Wed",
    "weekday.4": "Thu",
    "weekday.5": "Fri",
    "weekday.6": "Sat",
    "weekday.7": "Sun",
    "evaluation_grade.excellent": "Excellent",
    "evaluation_grade.competent": "Competent",
    "evaluation_grade.basic": "Basically competent",
    "evaluation_grade.unsatisfactory": "Not competent",
    "evaluation_use.post": "Post appointment",
    "evaluation_use.title": "Title evaluation",
    "evaluation_use.pay": "Pay and benefits",
    "village_pay.unpaid": "Months over without pay",
    "sinking_role.ward_director": "Ward director on a fixed schedule",
    "sinking_role.clinic": "Holds clinics",
    "settlement_state.open": "Open (may be settled again)",
    "settlement_state.closed": "Closed (final)",
    "revenue_line.FB7": "Drugs",
    "revenue_line.FB8": "Consumables",
    "revenue_line.FB9": "Tests",
    "wisn_activity.visit": "Visits",
    "wisn_activity.admission": "Admissions",
    "wisn_activity.follow_up": "Chronic follow-ups",
    "wisn_activity.public_health": "Public health services",
    "wisn_allowance.records_and_meetings": "Records and meetings",
    "wisn_allowance.teaching": "Teaching",
    "wisn_allowance.records_and_handover": "Records and handovers",
    "wisn_allowance.department_head": "Department head",
    "wisn_allowance.head_nurse": "Head nurse",
    "service_region.mountain": "Mountain",
    "service_region.semi_mountain": "Semi-mountain",
    "service_region.plain": "Plain",
    "service_region.urban": "Urban",
    "training_kind.modular": "Modular training",
    "training_kind.management": "Management training",
    "training_kind.backbone": "Backbone staff training",
    "training_kind.clinical": "Clinical training",
    "insurance_class.A": "Class A (甲)",
    "insurance_class.B": "Class B (乙)",
}


def vocab_label(code: str, kind: str | None = None) -> str:
    """A code's English label; `kind` picks the meaning of a code two vocabularies share
    ("other" city, "other" repeat reason)."""
    if kind is not None and f"{kind}.{code}" in VOCAB_EN:
        return VOCAB_EN[f"{kind}.{code}"]
    return VOCAB_EN.get(code, code)
