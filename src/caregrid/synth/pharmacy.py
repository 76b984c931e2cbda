"""The synthetic city's drug lists: each institution's own list read on the year's last day
(G1), lines of the shipped starter catalogue and lines of its own outside it."""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa

from caregrid.pharmacy import service as pharmacy
from caregrid.synth.columns import dates, table, take
from caregrid.synth.draws import S_PHARMACY, Array, stream
from caregrid.synth.year import Year


def catalogue_listing_facts(year: Year) -> None:
    """Every starter line is listed with a drawn probability, and a Poisson number of the
    institution's own lines (`SYN-nnnn`) lie outside the catalogue (ours)."""
    rates, city, cal = year.rates.pharmacy, year.city, year.cal
    with pharmacy.starter_file().open(encoding="utf-8") as file:
        codes = [row["code"] for row in csv.DictReader(file)]
    rng = stream(year.seed, S_PHARMACY)
    n = len(city.institutions)
    listed = rng.random((n, len(codes))) < rates.listed_share.value
    own = rng.poisson(rates.outside_lines.value, n)
    inst = np.concatenate([np.nonzero(listed)[0], np.repeat(np.arange(n), own)])
    line = np.concatenate([np.nonzero(listed)[1], len(codes) + _ranks(own)])
    order = np.lexsort((line, inst))
    inst, line = inst[order], line[order]
    inside = line < len(codes)
    names = codes + [f"SYN-{k:04d}" for k in range(int(own.max(initial=0)))]
    if not len(inst):
        return
    year.out.put(
        "catalogue_listing",
        cal.month(11),
        table(
            "catalogue_listing",
            {
                "institution_code": take(city.institutions, inst),
                "item_code": take(pa.array(names, pa.string()), line),
                "in_catalogue": pa.array(inside, pa.bool_()),
                "essential": pa.array(inside, pa.bool_()),  # every starter line is essential
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
