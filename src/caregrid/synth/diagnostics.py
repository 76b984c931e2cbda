"""Diagnostics of the synthetic city: orders primary institutions send to the network's shared
centres, with turnaround against the centre's promise, and the recognition decisions hospitals
make when a valid prior result exists (reused or repeated, and why)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.diagnostics.vocab import OrderState
from caregrid.synth.columns import dates, ids, numbers, table, take
from caregrid.synth.draws import (
    PRIMARY,
    S_DIAGNOSTICS,
    S_TELECONSULTATION,
    Array,
    by_day,
    months_of,
    stream,
    weighted,
)
from caregrid.synth.rates import ByCentre
from caregrid.synth.year import KINDS, Year


def recognition_orders(
    year: Year, rng: np.random.Generator, inst: Array, day: Array
) -> dict[str, Array]:
    """Hospital orders of an item a valid prior result existed for: the item, and whether the
    result was reused or the item repeated (and why)."""
    rec = year.rates.recognition
    n = len(inst)
    seq = np.arange(year.next_order, year.next_order + n, dtype=np.int64)
    year.next_order += n
    item = weighted(rng, [i.weight for i in rec.items.items], n)
    reused = rng.random(n) < rec.reused_share.value  # ours, 85-95%
    reason = weighted(rng, list(rec.repeat_reasons.weights.values()), n)
    return {
        "seq": seq,
        "inst": inst,
        "item": item,
        "day": day,
        "reused": reused,
        "reason": reason,
    }


def recognition_table(year: Year, o: dict[str, Array]) -> pa.Table:
    rec = year.rates.recognition
    items = rec.items.items
    return table(
        "recognition",
        {
            "order_id": ids("O" + year.y, o["seq"], 9),
            "institution_code": take(year.city.institutions, o["inst"]),
            "item_code": take(pa.array([i.code for i in items], pa.string()), o["item"]),
            "date": dates(o["day"]),
            "decision": take(pa.array(["repeated", "reused"]), o["reused"].astype(np.int32)),
            "reason": take(
                pa.array(list(rec.repeat_reasons.weights), pa.string()),
                o["reason"],
                ~o["reused"],
            ),
            "price_cny": numbers(np.array([i.price_cny for i in items])[o["item"]]),
        },
    )


def diagnostic_orders(year: Year, month: int, part: int, v: dict[str, Array]) -> pa.Table | None:
    """Orders from a share of primary visits to the shared centre of the item's kind,
    which the patient's network lead runs; ECGs and X-rays mostly acquired at the member;
    a log-normal turnaround against the centre's promise (all ours)."""
    rates, city = year.rates.diagnostic_orders, year.city
    rng = stream(year.seed, S_DIAGNOSTICS, month, part)
    lead = city.pool_lead[year.pool[v["patient"]]]
    k = np.flatnonzero(
        (city.level[v["inst"]] == PRIMARY)
        & (lead >= 0)
        & (rng.random(len(v["day"])) < rates.share_of_primary_visits.value)
    )
    if not len(k):
        return None
    n = len(k)
    seq = np.arange(year.next_diagnostic, year.next_diagnostic + n, dtype=np.int64)
    year.next_diagnostic += n
    items = year.rates.recognition.items.items
    item = weighted(rng, [i.weight for i in items], n)
    kind = year.item_kind[item]

    def by_kind(numbers: ByCentre) -> Array:
        return np.array([getattr(numbers, name) for name in KINDS])[kind]

    acquired = rng.random(n) < by_kind(rates.acquired_at_member_share)
    sigma = rates.hours_spread.value
    hours = np.round(by_kind(rates.median_hours) * rng.lognormal(0, sigma, n), 3)
    reported = rng.random(n) < rates.reported_share.value
    states = pa.array([OrderState.ORDERED.value, OrderState.DELIVERED.value])
    return table(
        "diagnostic_order",
        {
            "order_id": ids("D" + year.y, seq, 9),
            "institution_code": take(city.institutions, v["inst"][k]),
            "centre_institution_code": take(city.institutions, lead[k]),
            "centre_kind": take(pa.array(list(KINDS), pa.string()), kind.astype(np.int32)),
            "item_code": take(pa.array([i.code for i in items], pa.string()), item),
            "date": dates(v["day"][k]),
            "state": take(states, reported.astype(np.int32)),
            "acquired_at_member": pa.array(acquired, pa.bool_()),
            "turnaround_hours": numbers(hours, reported),
            "within_turnaround": pa.array(
                hours <= by_kind(rates.promised_hours), pa.bool_(), mask=~reported
            ),
        },
    )


def teleconsultation_facts(year: Year) -> None:
    """Teleconsultations each primary institution asks of its network's lead (D4), on days
    spread over the year; answered after a drawn number of hours or declined (ours)."""
    rates, city, cal = year.rates.teleconsultation, year.city, year.cal
    rng = stream(year.seed, S_TELECONSULTATION)
    asking = np.flatnonzero((city.level == PRIMARY) & (city.lead_of >= 0))
    counts = rng.poisson(rates.per_primary_institution.value, len(asking))
    source = np.repeat(asking, counts)
    day = cal.first + rng.integers(0, cal.days, len(source))
    answered = rng.random(len(source)) < rates.answered_share.value
    closed = answered & (rng.random(len(source)) < rates.closed_share.value)
    span = rates.response_hours
    hours = rng.integers(span.low, span.high + 1, len(source)).astype(np.float64)
    order = by_day(day)
    source, day, hours = source[order], day[order], hours[order]
    answered, closed = answered[order], closed[order]
    states = pa.array(["declined", "answered", "closed"])
    state = answered.astype(np.int8) + closed.astype(np.int8)
    for month, rows in months_of(day):

        def make(k: Array) -> pa.Table:
            return table(
                "teleconsultation",
                {
                    "consultation_id": ids("T" + year.y, k + 1, 7),
                    "institution_code": take(city.institutions, city.lead_of[source[k]]),
                    "from_institution_code": take(city.institutions, source[k]),
                    "date": dates(day[k]),
                    "state": take(states, state[k]),
                    "response_hours": numbers(hours[k], answered[k]),
                },
            )

        year.out.chunks("teleconsultation", month, rows, make)
