"""What CareGrid's own workflows recorded, written into the fact tables beside what member
systems send: referrals, slots and beds, bookings, contracts, chronic patients and
follow-ups, orders to the shared centres, recognitions, teleconsultations, the resident
register and the members' drug catalogues. Each domain says how its records read as facts
(its service's `facts` functions); keys are prefixed `cg-` so they never collide with a
member system's ids, and rows are upserted, so collecting twice changes nothing."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.chronic import service as chronic
from caregrid.diagnostics import service as diagnostics
from caregrid.familydoctor import service as familydoctor
from caregrid.pharmacy import service as pharmacy
from caregrid.referral import service as referral
from caregrid.residents import service as residents
from caregrid.scheduling import service as scheduling


def collect(session: Session, on: date) -> dict[str, int]:
    """Rows new or changed per fact; `on` dates the resident register and the bed counts."""
    rows: dict[str, list[dict[str, object]]] = {
        "referral": referral.facts(session),
        "capacity": scheduling.capacity_facts(session),
        "booking": scheduling.booking_facts(session),
        "contract": familydoctor.contract_facts(session),
        **chronic.facts(session),
        "recognition": diagnostics.recognition_facts(session),
        "diagnostic_order": diagnostics.order_facts(session),
        "teleconsultation": diagnostics.teleconsultation_facts(session),
        "resident": residents.facts(session, on),
        **pharmacy.facts(session, on),
    }
    changed: dict[str, int] = {}
    for name, found in rows.items():
        declared = fact(name)
        changed[name] = store(session, declared, pa.Table.from_pylist(found, schema(declared)))
    return changed
