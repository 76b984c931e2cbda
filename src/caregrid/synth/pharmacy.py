"""The synthetic city's pharmacy: each institution's own list read on the year's last day
(G1), lines of the shipped starter catalogue and lines of its own outside it, the negotiated
drugs it does and does not list and what it holds that day (G3); a year of dispensed
prescription lines (G3, G5); and the regimen checks of down-referred patients (G6)."""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa

from caregrid.pharmacy import service as pharmacy
from caregrid.synth.columns import dates, ids, numbers, table, take
from caregrid.synth.draws import PRIMARY, S_PHARMACY, Array, months_of, stream
from caregrid.synth.year import Year


def _starter_codes() -> list[str]:
    with pharmacy.starter_file().open(encoding="utf-8") as file:
        return [row["code"] for row in csv.DictReader(file)]


def catalogue_listing_facts(year: Year) -> None:
    """Each institution's list and stock on the year's last day: every starter line listed
    with a drawn probability, a Poisson number of its own lines (`SYN-nnnn`) outside the
    catalogue, and the synthetic catalogue's negotiated drugs (`SYN-NEG-nn`), each listed
    with its own probability and read unlisted otherwise; a listed catalogue line out of
    stock with a drawn share, else a Poisson number of units (all ours)."""
    rates, city, cal = year.rates.pharmacy, year.city, year.cal
    codes = _starter_codes()
    negotiated = [f"SYN-NEG-{k:02d}" for k in range(int(rates.negotiated_lines.value))]
    rng = stream(year.seed, S_PHARMACY)
    n = len(city.institutions)
    starter = rng.random((n, len(codes))) < rates.listed_share.value
    chosen = rng.random((n, len(negotiated))) < rates.negotiated_listed_share.value
    own = rng.poisson(rates.outside_lines.value, n)
    catalogue = len(codes) + len(negotiated)  # lines below this are the network's
    inst = np.concatenate(
        [
            np.nonzero(starter)[0],
            np.repeat(np.arange(n), len(negotiated)),
            np.repeat(np.arange(n), own),
        ]
    )
    line = np.concatenate(
        [
            np.nonzero(starter)[1],
            len(codes) + np.tile(np.arange(len(negotiated)), n),
            catalogue + _ranks(own),
        ]
    )
    listed = np.concatenate(
        [np.ones(int(starter.sum()), bool), chosen.ravel(), np.ones(int(own.sum()), bool)]
    )
    order = np.lexsort((line, inst))
    inst, line, listed = inst[order], line[order], listed[order]
    if not len(inst):
        return
    inside = line < catalogue
    held = listed & inside & (rng.random(len(inst)) >= rates.stock_out_share.value)
    units = np.where(held, 1 + rng.poisson(rates.units_on_hand.value, len(inst)), 0)
    names = [*codes, *negotiated, *(f"SYN-{k:04d}" for k in range(int(own.max(initial=0))))]
    year.out.put(
        "catalogue_listing",
        cal.month(11),
        table(
            "catalogue_listing",
            {
                "institution_code": take(city.institutions, inst),
                "item_code": take(pa.array(names, pa.string()), line),
                "in_catalogue": pa.array(inside, pa.bool_()),
                "essential": pa.array(line < len(codes), pa.bool_()),  # the starter lines
                "listed": pa.array(listed, pa.bool_()),
                "negotiated": pa.array(inside & (line >= len(codes)), pa.bool_()),
                "on_hand": pa.array(units, pa.int64()),
                "as_of": dates(np.full(len(inst), cal.last)),
            },
        ),
        "0",
    )


def _ranks(counts: Array) -> Array:
    """0..count-1 for each count, concatenated: the number of each institution's own line."""
    if not counts.sum():
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    ranks: Array = np.arange(int(counts.sum())) - starts
    return ranks


def prescription_item_facts(year: Year) -> None:
    """A year of dispensed prescription lines: a Poisson number per institution and day of
    the year, essential medicines (starter lines) with a drawn share, the rest lines of the
    institution's own; a share of a primary institution's lines written at its network's
    lead and dispensed here (cloud prescriptions); units and prices drawn (all ours)."""
    rates, city, cal = year.rates.pharmacy, year.city, year.cal
    codes = _starter_codes()
    rng = stream(year.seed, S_PHARMACY, 1)
    n = len(city.institutions)
    per = rng.poisson(rates.lines_per_day.value * cal.days, n)
    dispenser = np.repeat(np.arange(n), per)
    total = len(dispenser)
    if not total:
        return
    day = rng.integers(cal.first, cal.last + 1, total)
    essential = rng.random(total) < rates.essential_share.value
    lead = city.lead_of[dispenser]
    cloud = (city.level[dispenser] == PRIMARY) & (lead >= 0) & (lead != dispenser)
    cloud &= rng.random(total) < rates.cloud_share.value
    writer = np.where(cloud, lead, dispenser)
    item = np.where(essential, rng.integers(0, len(codes), total), len(codes))
    units = 1 + rng.poisson(rates.units_per_line.value - 1, total)
    price = np.where(essential, rates.unit_price_essential.value, rates.unit_price_other.value)
    names = pa.array([*codes, "SYN-OWN"], pa.string())
    seq = np.arange(total, dtype=np.int64)
    for month, rows in months_of(day):
        year.out.put(
            "prescription_item",
            month,
            table(
                "prescription_item",
                {
                    "prescription_id": ids("RX" + year.y, seq[rows], 9),
                    "institution_code": take(city.institutions, writer[rows]),
                    "dispensing_institution_code": take(city.institutions, dispenser[rows]),
                    "item_code": take(names, item[rows]),
                    "essential": pa.array(essential[rows], pa.bool_()),
                    "negotiated": pa.array(np.zeros(len(rows), dtype=bool), pa.bool_()),
                    "quantity": pa.array(units[rows], pa.int64()),
                    "amount_cny": numbers(units[rows] * price[rows]),
                    "state": pa.array(["dispensed"] * len(rows), pa.string()),
                    "date": dates(day[rows]),
                },
            ),
            "0",
        )


def regimen_check_facts(year: Year) -> None:
    """Down-referred hypertension and diabetes patients' regimens checked at primary
    institutions of a network with a lead: a Poisson number per institution and year, 1 +
    Poisson drugs each, each drug flagged with a drawn share (all ours)."""
    rates, city, cal = year.rates.pharmacy, year.city, year.cal
    rng = stream(year.seed, S_PHARMACY, 4)
    n = len(city.institutions)
    lead = city.lead_of
    receiving = (city.level == PRIMARY) & (lead >= 0) & (lead != np.arange(n))
    per = np.where(receiving, rng.poisson(rates.regimen_checks.value, n), 0)
    to = np.repeat(np.arange(n), per)
    total = len(to)
    if not total:
        return
    day = rng.integers(cal.first, cal.last + 1, total)
    lines = 1 + rng.poisson(rates.regimen_drugs.value - 1, total)
    flagged = rng.binomial(lines, rates.regimen_flagged_share.value)
    diagnosis = np.where(rng.random(total) < rates.regimen_hypertension_share.value, "I10", "E11.9")
    seq = np.arange(total, dtype=np.int64)
    for month, rows in months_of(day):
        year.out.put(
            "regimen_check",
            month,
            table(
                "regimen_check",
                {
                    "referral_id": ids("RG" + year.y, seq[rows], 8),
                    "institution_code": take(city.institutions, to[rows]),
                    "from_institution_code": take(city.institutions, lead[to[rows]]),
                    "diagnosis_code": pa.array(diagnosis[rows], pa.string()),
                    "lines": pa.array(lines[rows], pa.int64()),
                    "flagged_lines": pa.array(flagged[rows], pa.int64()),
                    "date": dates(day[rows]),
                },
            ),
            "0",
        )
