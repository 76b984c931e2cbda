"""What CareGrid's own workflows recorded, written into the fact tables beside what member
systems send: referrals, slots and beds, bookings, contracts, chronic patients and
follow-ups, orders to the shared centres, recognitions, teleconsultations, the resident
register, the members' drug catalogues and the staff's postings. Each domain says how its
records read as facts (its service's `facts` functions); keys are prefixed `cg-` so they
never collide with a member system's ids, and rows are upserted, so collecting twice changes
nothing."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

import pyarrow as pa
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.chronic import service as chronic
from caregrid.diagnostics import service as diagnostics
from caregrid.familydoctor import service as familydoctor
from caregrid.governance import service as governance
from caregrid.pharmacy import service as pharmacy
from caregrid.referral import service as referral
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling
from caregrid.workforce import service as workforce

Rows = list[dict[str, object]]
# Each producer: the facts it yields and how. A page asks only for the facts its indicators
# read, so the pharmacy page does not read every referral, and a whole collection reads all.
PRODUCERS: tuple[tuple[tuple[str, ...], Callable[[Session, date], dict[str, Rows]]], ...] = (
    (("referral",), lambda s, on: {"referral": referral.facts(s)}),
    (("capacity",), lambda s, on: {"capacity": scheduling.capacity_facts(s)}),
    (("booking",), lambda s, on: {"booking": scheduling.booking_facts(s)}),
    (("contract",), lambda s, on: {"contract": familydoctor.contract_facts(s)}),
    (("chronic_patient", "chronic_follow_up"), lambda s, on: chronic.facts(s)),
    (("recognition",), lambda s, on: {"recognition": diagnostics.recognition_facts(s)}),
    (("diagnostic_order",), lambda s, on: {"diagnostic_order": diagnostics.order_facts(s)}),
    (
        ("teleconsultation",),
        lambda s, on: {"teleconsultation": diagnostics.teleconsultation_facts(s)},
    ),
    (("resident",), lambda s, on: {"resident": residents.facts(s, on)}),
    (
        ("catalogue_listing", "prescription_item", "regimen_check"),
        lambda s, on: pharmacy.facts(s, on),
    ),
    (("staff_posting",), lambda s, on: {"staff_posting": workforce.posting_facts(s, on)}),
    (
        ("sinking_week",),
        lambda s, on: {"sinking_week": workforce.sinking.sinking_week_facts(s, on)},
    ),
    (("training", "teaching_plan", "mentorship"), lambda s, on: workforce.training.facts(s, on)),
    (("staff_evaluation",), lambda s, on: {"staff_evaluation": workforce.evaluation.facts(s, on)}),
    (
        ("key_member_month",),
        lambda s, on: {"key_member_month": workforce.key_members.facts(s, on)},
    ),
    (("specialty_brand",), lambda s, on: {"specialty_brand": workforce.brands.facts(s, on)}),
    (
        ("village_doctor_month",),
        lambda s, on: {"village_doctor_month": workforce.village.facts(s, on)},
    ),
    (("governance_month", "key_task"), lambda s, on: governance.facts(s, on)),
)


def collect(session: Session, on: date, only: Collection[str] | None = None) -> dict[str, int]:
    """Rows new or changed per fact (of `only`, or every fact the workflows record); `on`
    dates the resident register, the bed counts and the members' lists and stock."""
    changed: dict[str, int] = {}
    for names, produce in PRODUCERS:
        if only is not None and not set(names) & set(only):
            continue
        for name, found in produce(session, on).items():
            declared = fact(name)
            changed[name] = store(session, declared, pa.Table.from_pylist(found, schema(declared)))
    return changed
