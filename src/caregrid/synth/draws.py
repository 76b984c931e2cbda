"""What every part of the synthetic city draws with: the random streams, the codes shared by
the parts (levels, key-population bits, encounter kinds), the calendar of the year, and the
grouping of rows by date. Kept in one place so each part draws the same way, from its own
stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from caregrid.activity.facts import ENCOUNTER_KINDS
from caregrid.synth.rates import ByLevel, ShareByLevel, Weights

Array = npt.NDArray[Any]

CHUNK = 1_000_000  # rows per drawn chunk and per Parquet part: bounds memory at any city size

PRIMARY, SECONDARY, TERTIARY = 0, 1, 2
# Key-population codes of data/key_populations.yaml, in the sorted order the register joins.
TAGS = (
    "children",
    "diabetes",
    "disabled",
    "elderly",
    "hypertension",
    "pregnant_postpartum",
    "severe_mental_disorder",
    "tuberculosis",
)
BIT = {tag: 1 << i for i, tag in enumerate(TAGS)}
CHRONIC_BITS = BIT["hypertension"] | BIT["diabetes"]
OUTPATIENT, EMERGENCY, ADMISSION, DISCHARGE = (
    ENCOUNTER_KINDS.index(k) for k in ("outpatient", "emergency", "admission", "discharge")
)

# The stream of each part of the city (the second word of every seed sequence).
S_RESIDENTS, S_CHRONIC, S_CONTRACT, S_PUBLIC_HEALTH, S_STAFF, S_CAPACITY = range(1, 7)
S_TELECONSULTATION = 7
S_PHARMACY = 8
S_GOVERNANCE = 9
S_VISITS, S_ADMISSIONS, S_BOOKINGS, S_DIAGNOSTICS = 10, 11, 12, 13
S_TRAINING = 14
S_BOOKS = 15


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent PCG64 stream per part of the city: adding a part never shifts another."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


@dataclass(frozen=True)
class Calendar:
    """The year as day numbers (days since 1970-01-01), the unit every date is drawn in."""

    year: int
    first: int  # days since 1970-01-01 of 1 January
    last: int  # of 31 December
    month_starts: Array  # 13 entries: each month's first day and the next 1 January

    @classmethod
    def of(cls, year: int) -> Calendar:
        epoch = date(1970, 1, 1)
        starts = [(date(year, m, 1) - epoch).days for m in range(1, 13)]
        starts.append((date(year + 1, 1, 1) - epoch).days)
        return cls(year, starts[0], starts[-1] - 1, np.array(starts, dtype=np.int64))

    @property
    def days(self) -> int:
        return self.last - self.first + 1

    def month(self, m: int) -> str:
        return f"{self.year}-{m + 1:02d}"


def january_first(years: Array) -> Array:
    """Days since 1970-01-01 of 1 January of each year."""
    since_1970: Array = np.asarray(years, dtype=np.int64) - 1970
    return since_1970.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def day_in_year(rng: np.random.Generator, years: Array) -> Array:
    """A uniform day of each given year."""
    start = january_first(years)
    length = january_first(np.asarray(years) + 1) - start
    day: Array = start + np.floor(rng.random(len(start)) * length).astype(np.int64)
    return day


def by_level(values: ByLevel | ShareByLevel) -> Array:
    """A rate by level as an array indexed by PRIMARY, SECONDARY, TERTIARY."""
    return np.array([values.primary, values.secondary, values.tertiary])


def shares(weights: Weights, order: list[str]) -> Array:
    """Weights in the given order as shares adding up to 1; a name not weighted weighs 0."""
    values: Array = np.array([weights.weights.get(name, 0.0) for name in order])
    result: Array = values / values.sum()
    return result


def weighted(rng: np.random.Generator, weights: Array | list[float], n: int) -> Array:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def by_day(days: Array) -> Array:
    """A stable order of rows by date: a radix sort on 16-bit day offsets when they fit."""
    if len(days) == 0:
        return np.arange(0)
    offset = days - days.min()
    key = offset.astype(np.uint16) if offset.max() < 1 << 16 else offset
    order: Array = np.argsort(key, kind="stable")
    return order


def months_of(days: Array) -> Iterator[tuple[str, Array]]:
    """Row indices grouped by the month of their date, months ascending, rows in their order;
    none for no rows (a small city may have no managed patient)."""
    if len(days) == 0:
        return
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    order = by_day(months)
    unique, starts = np.unique(months[order], return_index=True)
    ends = [*starts[1:], len(order)]
    for month, start, end in zip(unique, starts, ends, strict=True):
        yield str(np.datetime64(int(month), "M")), order[start:end]


def split(
    batches: list[dict[str, Array]], end: int
) -> tuple[list[dict[str, Array]], list[dict[str, Array]]]:
    """The batches' rows dated before `end`, and the rest; empty batches dropped."""
    now: list[dict[str, Array]] = []
    later: list[dict[str, Array]] = []
    for b in batches:
        before = b["day"] < end
        for keep, out in ((before, now), (~before, later)):
            if keep.any():
                out.append({k: v[keep] for k, v in b.items()})
    return now, later


def concat(batches: list[dict[str, Array]]) -> dict[str, Array]:
    """Batches of rows (column name to array) as one batch."""
    keys = batches[0].keys()
    return {k: np.concatenate([b[k] for b in batches]) for k in keys}
