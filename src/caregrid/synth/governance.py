"""The synthetic city's governance (L1, L2): each network's months with their work meetings
and work updates to the commission, and its key tasks with a deadline in the year, done on
time, late or not at all (all ours: no published figures)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.synth.columns import dates, ids, table
from caregrid.synth.draws import S_GOVERNANCE, stream
from caregrid.synth.year import Year


def governance_facts(year: Year) -> None:
    rates, cal = year.rates.governance, year.cal
    networks = year.city.networks
    n = len(networks)
    if not n:
        return
    rng = stream(year.seed, S_GOVERNANCE)
    for m in range(12):
        year.out.put(
            "governance_month",
            cal.month(m),
            table(
                "governance_month",
                {
                    "network_code": networks,
                    "month_of": dates(np.full(n, int(cal.month_starts[m]))),
                    "work_meetings": pa.array(rng.random(n) < rates.work_meeting_share.value).cast(
                        pa.int64()
                    ),
                    "reports": pa.array(rng.random(n) < rates.report_share.value).cast(pa.int64()),
                },
            ),
            "0",
        )
    counts = rng.integers(rates.key_tasks.low, rates.key_tasks.high + 1, n)
    owner = np.repeat(np.arange(n), counts)
    k = len(owner)
    first, last = int(cal.month_starts[0]), int(cal.month_starts[12]) - 1
    due = rng.integers(first, last + 1, k)
    done = rng.random(k) < rates.done_share.value
    late = rng.random(k) < rates.late_share.value
    after = rng.integers(rates.late_days.low, rates.late_days.high + 1, k)
    delay = np.where(late, after, -rng.integers(0, 30, k))  # late, or up to a month early
    listed = np.full(k, first)  # the list is set at the start of the year
    months = np.searchsorted(cal.month_starts, due, side="right") - 1
    numbers = np.arange(k, dtype=np.int64)
    for m in range(12):
        here = months == m
        if not here.any():
            continue
        year.out.put(
            "key_task",
            cal.month(m),
            table(
                "key_task",
                {
                    "task_id": ids("KT" + year.y, numbers[here], 6),
                    "network_code": networks.take(pa.array(owner[here])),
                    "ref": ids("", numbers[here], 4),
                    "listed_on": dates(listed[here]),
                    "due_on": dates(due[here]),
                    "done_on": pa.array(
                        np.maximum(due[here] + delay[here], first).astype(np.int32),
                        pa.int32(),
                        mask=~done[here],
                    ).view(pa.date32()),
                },
            ),
            "0",
        )
