"""Referrals of the synthetic city, up from primary institutions and down from the network's
lead: their rows and states, and the booking of the slot each answered referral took at a
hospital."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.activity.facts import BOOKING_POOLS, BOOKING_STATUSES
from caregrid.synth.columns import dates, ids, table, take
from caregrid.synth.draws import OUTPATIENT, PRIMARY, S_BOOKINGS, Array, stream, weighted
from caregrid.synth.year import Year

UP, DOWN = 0, 1
DIRECTIONS = ("up", "down")


def draw_referrals(
    year: Year,
    rng: np.random.Generator,
    direction: int,
    patient: Array,
    source: Array,
    target: Array,
    day: Array,
    dx: Array,
) -> tuple[dict[str, Array], Array]:
    """Referral rows, and which were completed (those lead to a visit)."""
    ref = year.rates.referral
    n = len(patient)
    seq = np.arange(year.next_referral, year.next_referral + n, dtype=np.int64)
    year.next_referral += n
    names = list(ref.states.weights)
    state = weighted(rng, list(ref.states.weights.values()), n)
    closed = rng.random(n) < ref.closed_loop_share.value
    rows = {
        "seq": seq,
        "source": source,
        "target": target,
        "direction": np.full(n, direction, dtype=np.int8),
        "patient": patient,
        "dx": dx,
        "day": day,
        "state": state,
        "closed": closed,
    }
    completed = state == names.index("completed") if "completed" in names else np.zeros(n, bool)
    return rows, completed


def referral_table(year: Year, r: dict[str, Array]) -> pa.Table:
    down = r["direction"] == DOWN
    return table(
        "referral",
        {
            "referral_id": ids("R" + year.y, r["seq"], 9),
            "from_institution_code": take(year.city.institutions, r["source"]),
            "to_institution_code": take(year.city.institutions, r["target"]),
            "direction": take(pa.array(DIRECTIONS, pa.string()), r["direction"]),
            "patient_id": ids("P", r["patient"] + 1, 8),
            "diagnosis_code": take(year.dx_codes, r["dx"]),
            "date": dates(r["day"]),
            "state": take(pa.array(list(year.rates.referral.states.weights)), r["state"]),
            # closed_loop is about down-referrals only; null on the others
            "closed_loop": pa.array(r["closed"], pa.bool_(), mask=~down),
            # the synthetic city does not model the receiver's answer (B3)
            "answer_hours": pa.nulls(len(r["seq"]), pa.float64()),
            "overdue": pa.nulls(len(r["seq"]), pa.bool_()),
        },
    )


def write_bookings(year: Year, month: str, b: dict[str, Array]) -> None:
    """The slot each visit answering a referral at a hospital was booked on, by the
    patient's primary institution, mostly from the reserved pool (ours); attended, since
    the visit took place."""
    k = np.flatnonzero(
        (b["referral"] >= 0) & (b["kind"] == OUTPATIENT) & (year.city.level[b["inst"]] != PRIMARY)
    )
    if not len(k):
        return
    rng = stream(year.seed, S_BOOKINGS, int(month[5:]))
    reserved = rng.random(len(k)) < year.rates.referral.reserved_share_of_bookings.value
    pools = pa.array(list(BOOKING_POOLS), pa.string())
    statuses = pa.array(list(BOOKING_STATUSES), pa.string())
    rows = table(
        "booking",
        {
            "booking_id": ids("B" + year.y, b["referral"][k], 9),
            "institution_code": take(year.city.institutions, b["inst"][k]),
            "department_code": take(year.dept_codes, year.dx_dept[b["dx"][k]]),
            "booked_by_institution_code": take(
                year.city.institutions, year.people.inst[b["patient"][k]]
            ),
            "pool": take(pools, np.where(reserved, 0, 1).astype(np.int32)),
            "status": take(statuses, np.full(len(k), BOOKING_STATUSES.index("attended"))),
            "date": dates(b["day"][k]),
            "referral_id": ids("R" + year.y, b["referral"][k], 9),
        },
    )
    year.out.put("booking", month, rows, "x")
