"""The synthetic city: one calendar year of activity facts for a shipped layout's city, so the
indicator engine and the cockpit open on a full year (docs/synth.md).

Why it is built this way:
- Vectorised: every row is drawn by NumPy and assembled as Arrow arrays; Python loops run over
  institutions, months, classes of residents and facts, never over rows.
- Deterministic: each part of the city draws from its own PCG64 stream keyed by (seed, part,
  month, chunk), and files are written whole, so the same arguments give the same bytes.
- Bounded memory: residents are held once as small NumPy columns; encounters are drawn a month
  at a time in chunks of at most CHUNK rows and written by worker threads while the next
  chunk is drawn (Arrow releases the GIL), with a short queue.
- Every number is read from data/synth/china.yaml with its source; the comments cite it.

This module is the entry (`generate`, behind `caregrid synth` and the demo) and the order of the
run; each part of the city is drawn in its own module: layout (institutions and where residents
live), residents (the register), primary_care (chronic care, contracts, public health),
resources (staff, training, capacity), encounters, referrals and diagnostics (the monthly
draws), over year (the run's shared state), draws and columns (streams, calendar, Arrow
columns) and writer (the Parquet parts).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from caregrid.errors import DomainError
from caregrid.synth import facilities
from caregrid.synth.books import financial_statement_facts
from caregrid.synth.diagnostics import diagnostic_orders, recognition_table, teleconsultation_facts
from caregrid.synth.draws import CHUNK, S_ADMISSIONS, S_VISITS, Calendar, concat, split, stream
from caregrid.synth.encounters import admissions_month, visits_chunk, write_encounters
from caregrid.synth.governance import governance_facts
from caregrid.synth.layout import build_city, load_layout
from caregrid.synth.pharmacy import (
    catalogue_listing_facts,
    prescription_item_facts,
    regimen_check_facts,
)
from caregrid.synth.primary_care import chronic_facts, contract_facts, public_health_facts
from caregrid.synth.rates import load as load_rates
from caregrid.synth.referrals import referral_table, write_bookings
from caregrid.synth.residents import make_residents, residents_fact
from caregrid.synth.resources import (
    capacity,
    key_member_facts,
    specialty_brand_facts,
    staff_facts,
    staff_posting_facts,
    village_doctor_facts,
)
from caregrid.synth.writer import Writer, remove_previous
from caregrid.synth.year import Year

Progress = Callable[[str, int], None]

MAX_RESIDENTS = 50_000_000  # patient ids have 8 digits; memory, not ids, is the real limit
YEARS = (1950, 2100)


def check_arguments(residents: int, year: int, seed: int) -> None:
    """Refuse bad options before anything is drawn, naming the option."""
    if not 1 <= residents <= MAX_RESIDENTS:
        raise DomainError(
            "--residents: {residents} is not between 1 and {max_residents:,}",
            residents=residents,
            max_residents=MAX_RESIDENTS,
        )
    if not YEARS[0] <= year <= YEARS[1]:
        raise DomainError(
            "--year: {year} is not between {years} and {years2}",
            year=year,
            years=YEARS[0],
            years2=YEARS[1],
        )
    if seed < 0:
        raise DomainError("--seed: {seed} is negative", seed=seed)


def generate(
    layout_name: str,
    residents: int,
    year: int,
    seed: int,
    out: Path,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write one calendar year of every fact for `residents` residents of the layout's city
    under `out` (the shared layout, `<out>/<fact>/month=YYYY-MM/part-synth-*.parquet`); the
    same arguments write the same bytes. Returns the rows written per fact."""
    check_arguments(residents, year, seed)
    rates = load_rates()
    city = build_city(load_layout(layout_name), rates)
    cal = Calendar.of(year)

    def tell(stage: str, rows: int) -> None:
        if progress is not None:
            progress(stage, rows)

    out.mkdir(parents=True, exist_ok=True)
    remove_previous(out)
    threads = max(1, min(2, os.cpu_count() or 1))
    with Writer(out, threads) as writer:
        people = make_residents(city, rates, residents, cal, seed)
        run = Year(city, rates, people, cal, seed, writer)
        residents_fact(writer, city, people, cal)
        tell("residents", writer.total)
        follow_ups = chronic_facts(run)
        contract_facts(run)
        public_health_facts(run, follow_ups)
        staff_facts(run)
        staff_posting_facts(run)
        village_doctor_facts(run)
        key_member_facts(run)
        specialty_brand_facts(run)
        facilities.write(run)
        teleconsultation_facts(run)
        catalogue_listing_facts(run)
        prescription_item_facts(run)
        regimen_check_facts(run)
        governance_facts(run)
        financial_statement_facts(run)
        tell(
            "chronic care, contracts, public health, staff, facilities, teleconsults, drug lists",
            writer.total,
        )
        for m in range(12):
            draw_month(run, m)
            tell(cal.month(m), writer.total)
    return dict(writer.rows)


def draw_month(year: Year, m: int) -> None:
    """Encounters, referrals, recognition orders and capacity of month m. Rows dated in a
    later month (discharges, visits answering a referral) wait for theirs."""
    cal = year.cal
    month = cal.month(m)
    start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
    rng = stream(year.seed, S_VISITS, m)
    n = int(rng.poisson(year.visits_a_year * (end - start) / cal.days))
    encounters = list(year.carry_encounters)
    referrals = list(year.carry_referrals)
    for c, first in enumerate(range(0, n, CHUNK)):
        rng_c = stream(year.seed, S_VISITS, m, c + 1)
        visits, refs, answered, orders = visits_chunk(year, rng_c, min(CHUNK, n - first), m)
        write_encounters(year, month, f"v{c}-", visits, ordered=True)
        if len(refs["seq"]):
            year.out.put("referral", month, referral_table(year, refs), f"v{c}")
        if len(orders["seq"]):
            year.out.put("recognition", month, recognition_table(year, orders), f"v{c}")
        ordered = diagnostic_orders(year, m, c + 1, visits)
        if ordered is not None:
            year.out.put("diagnostic_order", month, ordered, f"v{c}")
        encounters.append(answered)
    stays, refs, answered = admissions_month(year, stream(year.seed, S_ADMISSIONS, m), m)
    encounters += [stays, answered]
    referrals.append(refs)
    now_enc, year.carry_encounters = split(encounters, end)
    now_ref, year.carry_referrals = split(referrals, end)
    if now_enc:
        batch = concat(now_enc)
        write_encounters(year, month, "x", batch)
        write_bookings(year, month, batch)
    if now_ref:
        year.out.put("referral", month, referral_table(year, concat(now_ref)), "x")
    capacity(year, m)
