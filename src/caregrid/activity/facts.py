"""The activity facts member systems send and the workflows record: one declaration per fact,
read by the importer (validation, natural keys), the operational tables, the Parquet export and
the indicator engine (which fields a definition may name). docs/activity.md documents them.

Every fact has a date field that places it in a month (the Parquet partition) and a natural
key: importing the same row twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from caregrid.diagnostics.vocab import CentreKind, ConsultState, OrderState
from caregrid.pharmacy.vocab import PrescriptionState
from caregrid.workforce.vocab import (
    EvaluationGrade,
    PostingPurpose,
    SinkingRole,
    TrainingKind,
)


class Kind(StrEnum):
    """A field's type, as the importer checks it and Parquet stores it."""

    TEXT = "text"
    INT = "int"
    NUMBER = "number"  # decimal amounts and weights, stored as double
    DATE = "date"
    BOOL = "bool"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = True
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    institution: bool = False  # an institution code that must be in the registry
    icd10: bool = False  # an ICD-10 code
    division: bool = False  # an administrative division where someone lives or is insured
    network: bool = False  # a network code of the registry: the row is the network's own
    doc: str = ""


@dataclass(frozen=True)
class Fact:
    name: str
    doc: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    date: str  # the field that places a row in its month
    at_most: tuple[tuple[str, str], ...] = ()  # (field, other): a row's field <= its other
    # CareGrid's own result, not an event a member system sends: the synthetic city draws
    # none, since its rows would sit beside CareGrid's for the same key and count twice
    own: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _text(name: str, doc: str = "", **kw: object) -> Field:
    return Field(name, Kind.TEXT, doc=doc, **kw)  # type: ignore[arg-type]


ENCOUNTER_KINDS = ("outpatient", "emergency", "admission", "discharge")
BOOKING_POOLS = ("reserved", "public")  # scheduling: a slot kept for primary doctors, or not
BOOKING_STATUSES = ("booked", "attended", "no_show", "cancelled")
CONDITIONS = ("hypertension", "diabetes")
CLAIM_KINDS = ("outpatient", "inpatient")

FACTS: tuple[Fact, ...] = (
    Fact(
        "resident",
        "The resident population register at a date: the denominator of coverage rates.",
        (
            _text("patient_id", "the resident's pseudonymous key, the same in every fact"),
            _text(
                "home_division_code",
                "the division (township, street) where they live",
                division=True,
            ),
            Field("birth_date", Kind.DATE),
            _text("sex", choices=("male", "female")),
            _text(
                "key_populations",
                "codes from key_populations.yaml joined by ';' (elderly, children, ...)",
                required=False,
            ),
            _text("registered_institution_code", required=False, institution=True),
            Field("as_of", Kind.DATE, doc="the register's date"),
        ),
        key=("patient_id", "as_of"),
        date="as_of",
    ),
    Fact(
        "encounter",
        "An outpatient or emergency visit, an admission or a discharge at a member institution.",
        (
            _text("encounter_id", "the sending system's id, unique within its institution"),
            _text("institution_code", institution=True),
            _text("department_code", required=False),
            _text("patient_id"),
            _text("home_division_code", "where the patient lives", division=True),
            _text("kind", choices=ENCOUNTER_KINDS),
            Field("date", Kind.DATE, doc="visit, admission or discharge date"),
            _text("diagnosis_code", "principal diagnosis, ICD-10", icd10=True),
            _text("other_diagnosis_codes", "more ICD-10 codes joined by ';'", required=False),
            Field("surgery_level", Kind.INT, required=False, low=1, high=4),
            Field("drg_weight", Kind.NUMBER, required=False, low=0, high=100),
            Field("total_cost_cny", Kind.NUMBER, low=0),
            Field("insurance_paid_cny", Kind.NUMBER, low=0),
            _text(
                "insured_division_code",
                "the insurance pool's division",
                required=False,
                division=True,
            ),
            _text("referral_id", "the referral this encounter answers", required=False),
        ),
        key=("institution_code", "encounter_id"),
        date="date",
    ),
    Fact(
        "claim",
        "An insurance claim as the insurance bureau settled it: what the fund paid for an "
        "insured's visit or stay, the stay's DIP group and its inpatient deductible (I3, B7).",
        (
            _text("claim_id", "the bureau's settlement number"),
            _text(
                "institution_code",
                "where the care was given; empty when outside the registry",
                required=False,
                institution=True,
            ),
            _text("patient_id"),
            _text("kind", choices=CLAIM_KINDS),
            Field("date", Kind.DATE, doc="the day the claim was settled (a stay: its discharge)"),
            _text("insured_division_code", "the insured's pool's division", division=True),
            _text(
                "home_division_code",
                "where the insured lives, when the bureau's file has it: a network's insured are "
                "those living in its grid (else those whose pool is one of its divisions)",
                required=False,
                division=True,
            ),
            Field(
                "out_of_county",
                Kind.BOOL,
                doc="care outside the pool's county (异地就医), as the bureau flags it",
            ),
            Field("total_cost_cny", Kind.NUMBER, low=0),
            Field("insurance_paid_cny", Kind.NUMBER, low=0),
            _text(
                "dip_group", "a stay's DIP disease group (finance's points table)", required=False
            ),
            Field(
                "deductible_cny",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="a stay's inpatient deductible (起付线) at the admitting institution",
            ),
            _text("referral_id", "the referral the stay was admitted on", required=False),
            _text(
                "first_visit_institution_code",
                "where the referred patient's first visit of the episode was",
                required=False,
                institution=True,
            ),
        ),
        key=("claim_id",),
        date="date",
    ),
    Fact(
        "referral",
        "A referral between institutions as the workflow recorded it.",
        (
            _text("referral_id"),
            _text("from_institution_code", institution=True),
            _text(
                "to_institution_code",
                required=False,
                institution=True,
                doc="the receiving institution; empty when out of the registry",
            ),
            _text("direction", choices=("up", "down", "lateral", "outward")),
            _text("patient_id"),
            _text("diagnosis_code", icd10=True),
            Field("date", Kind.DATE, doc="the day it was sent"),
            _text("state"),
            Field("closed_loop", Kind.BOOL, required=False, doc="a down-referral followed up"),
            Field(
                "answer_hours",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="hours from sending to the receiver's acceptance or rejection; empty until "
                "answered (B3)",
            ),
            Field(
                "overdue",
                Kind.BOOL,
                required=False,
                doc="still waiting for an answer past the profile's answer limit when the facts "
                "were collected (B3)",
            ),
        ),
        key=("referral_id",),
        date="date",
    ),
    Fact(
        "capacity",
        "Outpatient slots or beds an institution offered on a day, and how many it reserved "
        "for primary doctors (C1).",
        (
            _text("resource", choices=("slot", "bed")),
            _text("institution_code", institution=True),
            _text("department_code"),
            Field("date", Kind.DATE),
            Field("total", Kind.INT, low=0),
            Field("reserved", Kind.INT, low=0),
        ),
        key=("resource", "institution_code", "department_code", "date"),
        date="date",
    ),
    Fact(
        "booking",
        "An outpatient slot booked at a hospital, and who booked it (C1: reserved slots used).",
        (
            _text("booking_id"),
            _text("institution_code", institution=True, doc="the hospital whose slot it is"),
            _text("department_code"),
            _text(
                "booked_by_institution_code",
                "the primary institution whose doctor booked it; empty for the public",
                required=False,
                institution=True,
            ),
            _text("pool", choices=BOOKING_POOLS),
            _text("status", choices=BOOKING_STATUSES),
            Field("date", Kind.DATE, doc="the slot's day"),
            _text("referral_id", "the referral it serves", required=False),
        ),
        key=("booking_id",),
        date="date",
    ),
    Fact(
        "diagnostic_order",
        "An examination or test ordered from a shared centre, and how fast it was reported (D2).",
        (
            _text("order_id"),
            _text("institution_code", institution=True, doc="the ordering institution"),
            _text("centre_institution_code", institution=True, doc="the centre's institution"),
            _text(
                "centre_kind",
                choices=tuple(k.value for k in CentreKind if k is not CentreKind.STERILISATION),
            ),
            _text("item_code"),
            Field("date", Kind.DATE, doc="the day it was ordered"),
            _text("state", choices=tuple(s.value for s in OrderState)),
            Field(
                "acquired_at_member", Kind.BOOL, doc="acquired at the member, read at the centre"
            ),
            Field(
                "turnaround_hours",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="order to signed report; empty until reported",
            ),
            Field(
                "within_turnaround",
                Kind.BOOL,
                required=False,
                doc="reported within the centre's promised turnaround for the item",
            ),
        ),
        key=("order_id",),
        date="date",
    ),
    Fact(
        "contract",
        "A family-doctor contract (E2) and the primary institution its team is based at.",
        (
            _text("contract_id"),
            _text("patient_id"),
            _text("institution_code", institution=True),
            Field("starts_on", Kind.DATE),
            Field("ends_on", Kind.DATE),
            Field(
                "items_due",
                Kind.INT,
                required=False,
                low=0,
                doc="package items due by the earlier of the day sent and the term's end, pro "
                "rata over the term (FD3)",
            ),
            Field(
                "items_delivered",
                Kind.INT,
                required=False,
                low=0,
                doc="of those, the items delivered, each item capped at what was due (FD3)",
            ),
        ),
        key=("contract_id",),
        date="starts_on",
    ),
    Fact(
        "chronic_follow_up",
        "A face-to-face follow-up of a managed hypertension or diabetes patient (F1).",
        (
            _text("follow_up_id"),
            _text("patient_id"),
            _text("condition", choices=CONDITIONS),
            _text("institution_code", institution=True),
            Field("date", Kind.DATE),
            Field("controlled", Kind.BOOL, doc="at target at this visit"),
            Field("next_due_on", Kind.DATE, required=False, doc="the next follow-up's due date"),
            Field(
                "kept",
                Kind.BOOL,
                required=False,
                doc="the patient's next follow-up came on or before next_due_on; empty while "
                "that date has not yet come",
            ),
        ),
        key=("follow_up_id",),
        date="date",
    ),
    Fact(
        "chronic_patient",
        "A hypertension or diabetes patient under management and the unit managing them.",
        (
            _text("patient_id"),
            _text("condition", choices=CONDITIONS),
            _text("institution_code", institution=True),
            Field("managed_from", Kind.DATE),
        ),
        key=("patient_id", "condition"),
        date="managed_from",
    ),
    Fact(
        "recognition",
        "An order that had a valid prior result: reused or repeated with a coded reason (D3).",
        (
            _text("order_id"),
            _text("institution_code", institution=True, doc="the ordering institution"),
            _text("item_code"),
            Field("date", Kind.DATE),
            _text("decision", choices=("reused", "repeated")),
            _text("reason", required=False),
            Field("price_cny", Kind.NUMBER, low=0),
        ),
        key=("order_id",),
        date="date",
    ),
    Fact(
        "teleconsultation",
        "A teleconsultation one member asked of another institution of its network (D4).",
        (
            _text("consultation_id"),
            _text("institution_code", institution=True, doc="the institution asked"),
            _text("from_institution_code", institution=True, doc="the institution asking"),
            Field("date", Kind.DATE, doc="the day it was requested"),
            _text("state", choices=tuple(s.value for s in ConsultState)),
            Field(
                "response_hours",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="request to the written opinion; empty until answered, and when declined",
            ),
        ),
        key=("consultation_id",),
        date="date",
    ),
    Fact(
        "catalogue_listing",
        "An item a member lists in its own drug and consumable catalogue on a date, or a "
        "national negotiated drug of its network's catalogue that it does not list; whether its "
        "network's catalogue has it, and the units held (G1 alignment, criterion 6; G3 "
        "negotiated drugs; stock-outs).",
        (
            _text("institution_code", institution=True, doc="the listing member"),
            _text("item_code", doc="the code the member lists it under"),
            Field("in_catalogue", Kind.BOOL, doc="a line of a catalogue of the member's network"),
            Field("essential", Kind.BOOL, doc="that line is an essential medicine (G3)"),
            Field(
                "listed",
                Kind.BOOL,
                doc="the member lists it (false: a negotiated drug it does not)",
            ),
            Field("negotiated", Kind.BOOL, doc="that line is a national negotiated drug"),
            Field("on_hand", Kind.INT, low=0, doc="unexpired units held that day"),
            Field("as_of", Kind.DATE, doc="the day the member's catalogue was read"),
        ),
        key=("institution_code", "item_code", "as_of"),
        date="as_of",
    ),
    Fact(
        "prescription_item",
        "A drug or consumable on a prescription, where it was written and which pharmacy "
        "holds or dispensed it (G3 essential share, G5 cloud prescriptions).",
        (
            _text("prescription_id"),
            _text("institution_code", institution=True, doc="where it was written"),
            _text("dispensing_institution_code", institution=True, doc="the dispensing pharmacy"),
            _text("item_code"),
            Field("essential", Kind.BOOL, doc="the catalogue marks it an essential medicine"),
            Field("negotiated", Kind.BOOL, doc="a national negotiated drug"),
            Field("quantity", Kind.INT, low=1),
            Field(
                "amount_cny",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="units at the catalogue's price; empty where it has none",
            ),
            _text("state", choices=tuple(s.value for s in PrescriptionState)),
            Field("date", Kind.DATE, doc="the day it was written"),
        ),
        key=("prescription_id", "item_code"),
        date="date",
    ),
    Fact(
        "regimen_check",
        "A down-referred patient's discharge regimen checked against the receiving member's "
        "list and stock when the referral was written (G6).",
        (
            _text("referral_id"),
            _text("institution_code", institution=True, doc="the receiving member"),
            _text("from_institution_code", institution=True, doc="the referring lead"),
            _text("diagnosis_code", "the referral's diagnosis, ICD-10", icd10=True),
            Field("lines", Kind.INT, low=1, doc="drugs in the regimen"),
            Field(
                "flagged_lines",
                Kind.INT,
                low=0,
                doc="drugs neither held nor substitutable at the receiving member",
            ),
            Field("date", Kind.DATE, doc="the day the referral was written"),
        ),
        key=("referral_id",),
        date="date",
        at_most=(("flagged_lines", "lines"),),
    ),
    Fact(
        "public_health_service",
        "A basic public health service delivered to a resident.",
        (
            _text("service_id"),
            _text("institution_code", institution=True),
            _text("patient_id"),
            _text("service_code"),
            Field("date", Kind.DATE),
        ),
        key=("institution_code", "service_id"),
        date="date",
    ),
    Fact(
        "training",
        "A staff member's training record (H5).",
        (
            _text("record_id"),
            _text("institution_code", institution=True),
            _text("staff_id"),
            _text("course"),
            _text(
                "kind",
                choices=tuple(k.value for k in TrainingKind),
                required=False,
                doc="what the course is for; H5 counts the modular ones",
            ),
            Field("date", Kind.DATE),
            Field("passed", Kind.BOOL),
        ),
        key=("institution_code", "record_id"),
        date="date",
    ),
    Fact(
        "teaching_plan",
        "A clinical teaching plan the lead tailored to a member, and when it was delivered "
        "(H5, JH 9.3).",
        (
            _text("plan_id"),
            _text("institution_code", institution=True, doc="the member it is for"),
            Field("planned_on", Kind.DATE),
            Field("delivered_on", Kind.DATE, required=False, doc="empty until delivered"),
        ),
        key=("plan_id",),
        date="planned_on",
    ),
    Fact(
        "mentorship",
        "A member's staff member mentored by a professional of the lead, from one day to "
        "another (H5, JH 9.4).",
        (
            _text("mentorship_id"),
            _text("institution_code", institution=True, doc="the member the mentee works for"),
            _text("staff_id", doc="the mentee"),
            _text("mentor_code", doc="the lead's professional"),
            Field("starts_on", Kind.DATE),
            Field("ends_on", Kind.DATE, required=False, doc="empty while it runs"),
        ),
        key=("mentorship_id",),
        date="starts_on",
    ),
    Fact(
        "staff",
        "Staff on a date: profession, title, and a posting from another institution (CC10).",
        (
            _text("staff_id"),
            _text("institution_code", institution=True, doc="where they work on that date"),
            _text("profession", choices=("doctor", "nurse", "pharmacist", "technician", "other")),
            _text(
                "title_level",
                choices=("junior", "intermediate", "associate_senior", "senior"),
                required=False,
            ),
            Field("tcm", Kind.BOOL, doc="a TCM doctor (F8)"),
            _text("posted_from_institution_code", required=False, institution=True),
            Field("posted_months", Kind.INT, required=False, low=0, high=120),
            Field("as_of", Kind.DATE),
        ),
        key=("institution_code", "staff_id", "as_of"),
        date="as_of",
    ),
    Fact(
        "staff_posting",
        "A month a professional served at a member on a posting: an expert sent down, a "
        "manager sent to run it, training at the lead (C5, C6, H1).",
        (
            _text("posting_id"),
            _text("practitioner_code", doc="the professional, as the registry codes them"),
            _text("institution_code", institution=True, doc="the member served"),
            _text("from_institution_code", institution=True, doc="the professional's home"),
            _text("purpose", choices=tuple(p.value for p in PostingPurpose)),
            Field("served_in", Kind.DATE, doc="the first day of a month served, wholly or in part"),
        ),
        key=("posting_id", "served_in"),
        date="served_in",
    ),
    Fact(
        "sinking_week",
        "A whole week (Monday to Sunday) of an expert sent down to a member with a role: the "
        "days served in it and the working days a week the profile asks (C5).",
        (
            _text("posting_id"),
            _text("institution_code", institution=True, doc="the member served"),
            _text("practitioner_code", doc="the expert, as the registry codes them"),
            _text("role", choices=tuple(r.value for r in SinkingRole)),
            Field("week_of", Kind.DATE, doc="the week's Monday"),
            Field("served", Kind.INT, low=0, high=5, doc="working days (Mon-Fri) served in it"),
            Field(
                "required",
                Kind.INT,
                required=False,
                low=0,
                high=7,
                doc="working days a week the profile asks of the role; empty: none set",
            ),
        ),
        key=("posting_id", "week_of"),
        date="week_of",
    ),
    Fact(
        "key_member_month",
        "A month a member was one of its network's key members (C5), with the experts sent "
        "down whose postings ran at it on a day of the month as far as it was one.",
        (
            _text("key_member_id"),
            _text("network_code", network=True, doc="the network that named it"),
            _text("institution_code", institution=True, doc="the key member"),
            Field("month_of", Kind.DATE, doc="the month's first day"),
            Field("ward_directors", Kind.INT, low=0, doc="distinct ward directors sent down"),
            Field("clinic_experts", Kind.INT, low=0, doc="distinct clinic experts sent down"),
        ),
        key=("key_member_id", "month_of"),
        date="month_of",
    ),
    Fact(
        "specialty_brand",
        "A primary member of a network at a year's end (or on the export's day for this "
        "year), and the city-level specialty brand it held that day (一院一品, C5).",
        (
            _text("network_code", network=True),
            _text("institution_code", institution=True, doc="a primary member"),
            Field("as_of", Kind.DATE),
            _text("specialty", "the brand's specialty; empty: none held", required=False),
        ),
        key=("network_code", "institution_code", "as_of"),
        date="as_of",
    ),
    Fact(
        "village_doctor_month",
        "A month over of a village doctor's employment by a township centre, working in a "
        "village, and whether it was paid (H7).",
        (
            _text("village_doctor_id"),
            _text("institution_code", institution=True, doc="the employer, a primary member"),
            _text("practitioner_code", doc="the village doctor, as the registry codes them"),
            Field("month_of", Kind.DATE, doc="the month's first day"),
            Field("paid", Kind.BOOL, doc="a pay record for the month"),
        ),
        key=("village_doctor_id", "month_of"),
        date="month_of",
    ),
    Fact(
        "staff_evaluation",
        "A staff member's internal evaluation: ethics, service quality, competence and "
        "satisfaction, graded (K2).",
        (
            _text("evaluation_id"),
            _text("institution_code", institution=True, doc="the member they work for"),
            _text("staff_id"),
            Field("evaluated_on", Kind.DATE),
            _text("grade", choices=tuple(g.value for g in EvaluationGrade)),
        ),
        key=("evaluation_id",),
        date="evaluated_on",
    ),
    Fact(
        "governance_month",
        "A month of a network's governance, from its first record: the office's work meetings "
        "held in it and the work updates sent to the health commission on it (L2).",
        (
            _text("network_code", network=True, doc="the network whose office it is"),
            Field("month_of", Kind.DATE, doc="the month's first day"),
            Field("work_meetings", Kind.INT, low=0, doc="work meetings (工作例会) held"),
            Field("reports", Kind.INT, low=0, doc="work updates to the commission on the month"),
        ),
        key=("network_code", "month_of"),
        date="month_of",
    ),
    Fact(
        "key_task",
        "A line of a network's key-task list with a deadline, and the day it was done (L1).",
        (
            _text("task_id"),
            _text("network_code", network=True, doc="the network whose task it is"),
            _text("ref", doc="its number in the list"),
            Field("listed_on", Kind.DATE),
            Field("due_on", Kind.DATE, doc="the deadline"),
            Field("done_on", Kind.DATE, required=False, doc="empty until done"),
        ),
        key=("task_id",),
        date="due_on",
    ),
    Fact(
        "backbone_training",
        "A member's backbone staff member on the lead's standardised-training roster (SC 6, "
        "H5): the member names its backbone staff, the lead records when each finished.",
        (
            _text("institution_code", institution=True, doc="the member they work for"),
            _text("staff_id"),
            Field("as_of", Kind.DATE, doc="the roster's date"),
            Field(
                "trained_on",
                Kind.DATE,
                required=False,
                doc="the day they finished the standardised training; empty until then",
            ),
        ),
        key=("institution_code", "staff_id", "as_of"),
        date="as_of",
    ),
    Fact(
        "ward",
        "An inpatient ward (病区) on a date and whether it gives discharged patients continuing "
        "nursing: online consultation, follow-up, home-care guidance (F7).",
        (
            _text("ward_id", "the hospital's own ward code"),
            _text("institution_code", institution=True),
            Field("continuing_nursing", Kind.BOOL),
            Field("as_of", Kind.DATE),
        ),
        key=("institution_code", "ward_id", "as_of"),
        date="as_of",
    ),
    Fact(
        "village_clinic",
        "An administrative village (or urban community) and the clinic serving it, on a date, "
        "as the county's or district's acceptance of standardised construction found it (A10).",
        (
            _text("village_code", "the administrative village's or community's division code"),
            _text(
                "institution_code",
                "the township or community health centre that manages its clinic",
                institution=True,
            ),
            _text(
                "clinic_code",
                "the village clinic or community health station; empty when there is none",
                required=False,
            ),
            Field("publicly_built", Kind.BOOL, required=False, doc="a publicly built clinic"),
            Field(
                "standardised",
                Kind.BOOL,
                required=False,
                doc="the clinic passed the acceptance of standardised construction",
            ),
            Field("as_of", Kind.DATE),
        ),
        key=("village_code", "as_of"),
        date="as_of",
    ),
    Fact(
        "institution_report",
        "What an institution reports about itself once a year: its TCM hall (F8) and its EMR "
        "application level as the national rating last placed it (J5).",
        (
            _text("institution_code", institution=True),
            Field("tcm_hall", Kind.BOOL, doc="runs a TCM hall (中医馆) or TCM service area"),
            Field(
                "emr_level",
                Kind.INT,
                required=False,
                low=0,
                high=8,
                doc="电子病历系统应用水平分级评价: the level rated, 0 to 8; empty if never rated",
            ),
            Field("as_of", Kind.DATE, doc="the report's date"),
        ),
        key=("institution_code", "as_of"),
        date="as_of",
    ),
    Fact(
        "public_health_evaluation",
        "The health commission's evaluation of an institution's basic public health service "
        "project: the score it gave and the full marks (F5).",
        (
            _text("institution_code", institution=True),
            Field("evaluated_on", Kind.DATE),
            Field("score", Kind.NUMBER, low=0),
            Field("full_score", Kind.NUMBER, low=1),
        ),
        key=("institution_code", "evaluated_on"),
        date="evaluated_on",
        at_most=(("score", "full_score"),),
    ),
    Fact(
        "financial_statement",
        "A member's books for a month, kept apart and accounted centrally (I1): its revenue with "
        "the lines drugs, consumables and tests bring, its expenses with personnel cost and "
        "performance pay, its budget and its balance sheet at the month's end (I2, I5, I6).",
        (
            _text("institution_code", institution=True),
            Field("month_end", Kind.DATE, doc="the last day of the month the books close"),
            Field("revenue_cny", Kind.NUMBER, low=0, doc="总收入: all revenue of the month"),
            Field("drug_revenue_cny", Kind.NUMBER, low=0, doc="药品收入"),
            Field("consumable_revenue_cny", Kind.NUMBER, low=0, doc="卫生材料收入"),
            Field("test_revenue_cny", Kind.NUMBER, low=0, doc="检查化验收入"),
            Field("expenditure_cny", Kind.NUMBER, low=0, doc="总费用: all expenses of the month"),
            Field(
                "business_expenditure_cny",
                Kind.NUMBER,
                low=0,
                doc="业务活动费用: the expenses of medical and public health work",
            ),
            Field("personnel_cost_cny", Kind.NUMBER, low=0, doc="人员经费"),
            Field("performance_pay_cny", Kind.NUMBER, low=0, doc="绩效工资: the month's bonus pay"),
            Field(
                "budget_expenditure_cny",
                Kind.NUMBER,
                required=False,
                low=0,
                doc="预算支出: the expenses the year's budget plans for the month",
            ),
            Field("assets_cny", Kind.NUMBER, low=0, doc="资产总额 at the month's end"),
            Field("liabilities_cny", Kind.NUMBER, low=0, doc="负债总额 at the month's end"),
        ),
        key=("institution_code", "month_end"),
        date="month_end",
        at_most=(
            ("drug_revenue_cny", "revenue_cny"),
            ("consumable_revenue_cny", "revenue_cny"),
            ("test_revenue_cny", "revenue_cny"),
            ("business_expenditure_cny", "expenditure_cny"),
            ("personnel_cost_cny", "expenditure_cny"),
            ("performance_pay_cny", "personnel_cost_cny"),
        ),
    ),
    Fact(
        "settlement",
        "A network's closed settlement of a period of its global budget (I3, B7): the lump "
        "sum's share of the period's days against what the fund paid for the network's insured.",
        (
            _text("network_code", network=True, doc="the network whose budget it is"),
            Field("starts_on", Kind.DATE, doc="the period's first day"),
            Field("ends_on", Kind.DATE, doc="the period's last day"),
            Field("claims", Kind.INT, low=0, doc="the claims settled"),
            Field(
                "budget_share_cny",
                Kind.NUMBER,
                low=0,
                doc="the year's lump sum pro rata over the period's days",
            ),
            Field(
                "paid_cny",
                Kind.NUMBER,
                low=0,
                doc="what the fund paid in the period, DIP stays at the point value, adjustments "
                "included",
            ),
            Field(
                "result_cny",
                Kind.NUMBER,
                doc="the share less what was paid: a surplus above 0, an overspend below",
            ),
            Field("waived_cny", Kind.NUMBER, low=0, doc="second inpatient deductibles waived (B7)"),
            Field("waived_stays", Kind.INT, low=0, doc="the stays whose deductible was waived"),
        ),
        key=("network_code", "starts_on"),
        date="ends_on",
        own=True,
    ),
)


@cache
def fact(name: str) -> Fact:
    for f in FACTS:
        if f.name == name:
            return f
    raise KeyError(f"no fact {name!r}; known: {', '.join(f.name for f in FACTS)}")
