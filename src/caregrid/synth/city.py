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
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import yaml

from caregrid.activity.facts import (
    BOOKING_POOLS,
    BOOKING_STATUSES,
    CONDITIONS,
    ENCOUNTER_KINDS,
    FACTS,
    fact,
)
from caregrid.activity.parquet import schema, write_month
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.vocab import CentreKind, OrderState
from caregrid.errors import DomainError
from caregrid.registry import importer
from caregrid.registry.layout import LayoutFile
from caregrid.registry.vocab import Category, DivisionLevel, Level, NetworkRole
from caregrid.synth import facilities
from caregrid.synth.rates import (
    AgeWeights,
    ByCentre,
    ByLevel,
    Diagnoses,
    Rates,
    ShareByLevel,
    Weights,
)
from caregrid.synth.rates import load as load_rates

Array = npt.NDArray[Any]
Progress = Callable[[str, int], None]

CHUNK = 1_000_000  # rows per drawn chunk and per Parquet part: bounds memory at any city size
QUEUED_ROWS = 3 * CHUNK  # rows drawn and waiting for a writer thread at most
MAX_RESIDENTS = 50_000_000  # patient ids have 8 digits; memory, not ids, is the real limit
YEARS = (1950, 2100)
PART = "synth"  # our files are part-synth-*.parquet: a new run replaces only them

PRIMARY, SECONDARY, TERTIARY = 0, 1, 2
PRIMARY_CATEGORIES = frozenset(
    {
        Category.COMMUNITY_HEALTH_CENTER,
        Category.TOWNSHIP_HEALTH_CENTER,
        Category.COMMUNITY_HEALTH_STATION,
        Category.VILLAGE_CLINIC,
    }
)
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
UP, DOWN = 0, 1
DIRECTIONS = ("up", "down")
BED_DEPARTMENT = "inpatient"  # capacity rows of beds are for the hospital's wards as a whole

# The stream of each part of the city (the second word of every seed sequence).
S_RESIDENTS, S_CHRONIC, S_CONTRACT, S_PUBLIC_HEALTH, S_STAFF, S_CAPACITY = range(1, 7)
S_VISITS, S_ADMISSIONS, S_BOOKINGS, S_DIAGNOSTICS = 10, 11, 12, 13


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent PCG64 stream per part of the city: adding a part never shifts another."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


# ---------------------------------------------------------------------------------- the layout


def layout_names() -> list[str]:
    folder = resources.files("caregrid.data").joinpath("layouts")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_layout(name: str) -> LayoutFile:
    """A shipped layout by name (file stem, e.g. `jinhua`), read and checked as the importer
    reads it (institutions from a CSV resolved), or a layout file given by path."""
    path = Path(str(resources.files("caregrid.data").joinpath("layouts", f"{name}.yaml")))
    if not path.is_file():
        given = Path(name)
        if not (given.suffix in {".yaml", ".yml"} and given.is_file()):
            raise DomainError(f"--layout: no layout {name!r}; shipped: {', '.join(layout_names())}")
        path = given
    return importer.load(path).layout


@dataclass(frozen=True)
class City:
    """The layout reduced to the index arrays the draws need."""

    name: str
    institutions: pa.Array  # codes, layout order
    level: Array  # effective level per institution (PRIMARY, SECONDARY, TERTIARY)
    beds: Array
    lead_of: Array  # per institution: the lead of its first network (-1: none)
    divisions: pa.Array  # where residents live
    insured: pa.Array  # per residence division: the insurance pool's division (its county)
    div_weight: Array
    div_county: Array  # county index per residence division (-1: not in a county)
    div_pool: Array  # hospital pool per residence division
    candidates: Array  # (division, j): primary institutions residents register with
    candidates_len: Array
    pool_lead: Array  # per pool: the lead hospital
    pool_others: Array  # (pool, j): the pool's other hospitals
    pool_others_len: Array
    away_primary: Array  # (county, j): primary institutions of other counties
    away_primary_len: Array
    away_hospital: Array  # (county, j): hospitals of other counties
    away_hospital_len: Array


def _padded(rows: list[list[int]]) -> tuple[Array, Array]:
    """Ragged lists as a -1-padded table and lengths, so a draw picks `table[row, u * len]`."""
    width = max([1, *(len(r) for r in rows)])
    table = np.full((max(1, len(rows)), width), -1, dtype=np.int32)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table, np.array([len(r) for r in rows] or [0], dtype=np.int32)


def _effective_level(level: Level, category: Category) -> int:
    """Stated level first; an unstated one from the category (health centres are primary, any
    other institution a hospital of the secondary tier)."""
    if level is Level.PRIMARY:
        return PRIMARY
    if level is Level.TERTIARY:
        return TERTIARY
    if level is Level.SECONDARY:
        return SECONDARY
    return PRIMARY if category in PRIMARY_CATEGORIES else SECONDARY


def build_city(layout: LayoutFile, rates: Rates) -> City:
    """Institutions, where residents live, whom they register with and which hospitals serve
    them: residents live in the divisions the grids list (a county when a grid lists a whole
    county), in proportion to the primary institutions there."""
    name = layout.city.code
    insts = layout.institutions
    codes = [i.code for i in insts]
    index = {c: k for k, c in enumerate(codes)}
    level = np.array([_effective_level(i.level, i.category) for i in insts], dtype=np.int8)
    primaries = [k for k in range(len(insts)) if level[k] == PRIMARY]
    hospitals = [k for k in range(len(insts)) if level[k] != PRIMARY]
    if not primaries or not hospitals:
        missing = "primary-level institution" if not primaries else "hospital"
        raise DomainError(
            f"--layout: the layout of {name} lists no {missing} by code; the synthetic city "
            "needs named primary institutions (residents register there) and hospitals"
        )
    default_beds = _by_level(rates.capacity.default_beds)  # china.yaml capacity.default_beds
    beds = np.array(
        [i.beds if i.beds else default_beds[level[k]] for k, i in enumerate(insts)], dtype=np.int32
    )

    divisions = {d.code: d for d in layout.divisions}

    def county_of(code: str) -> str | None:
        seen: set[str] = set()
        here = divisions.get(code)
        while here is not None and here.code not in seen:
            if here.level is DivisionLevel.COUNTY:
                return here.code
            seen.add(here.code)
            here = divisions.get(here.parent) if here.parent else None
        return None

    inst_county_code = [county_of(i.division) for i in insts]

    # Hospital pools: one per network (its lead first), and a city pool for the rest.
    in_network = {m.institution for n in layout.networks for m in n.members}
    unaffiliated = [k for k in hospitals if codes[k] not in in_network]

    def by_rank(ks: list[int]) -> list[int]:
        return sorted(ks, key=lambda k: -int(level[k]))  # stable: layout order within a level

    pool_lead: list[int] = []
    pool_others: list[list[int]] = []
    for net in layout.networks:
        members = [index[m.institution] for m in net.members if m.institution in index]
        leads = [index[m.institution] for m in net.members if m.role is NetworkRole.LEAD]
        mine = [k for k in members if level[k] != PRIMARY]
        lead = next((k for k in leads if level[k] != PRIMARY), None)
        if lead is None:
            lead = by_rank(mine or hospitals)[0]
        pool_lead.append(lead)
        pool_others.append([k for k in [*mine, *unaffiliated] if k != lead])
    city_lead = by_rank(hospitals)[0]
    pool_lead.append(city_lead)
    pool_others.append([k for k in hospitals if k != city_lead])
    city_pool = len(pool_lead) - 1

    lead_of = np.full(len(insts), -1, dtype=np.int32)
    for p, net in enumerate(layout.networks):
        for m in net.members:
            k = index.get(m.institution)
            if k is not None and lead_of[k] < 0 and k != pool_lead[p]:
                lead_of[k] = pool_lead[p]

    # Residence divisions and the pool serving each (the first network on its grid).
    grid_pool: dict[str, int] = {}
    for p, net in enumerate(layout.networks):
        grid_pool.setdefault(net.grid, p)
    residence: dict[str, int] = {}
    for grid in layout.grids:
        for code in grid.divisions:
            residence.setdefault(code, grid_pool.get(grid.code, city_pool))
    if not residence:
        residence = {code: city_pool for code in layout.city.area}
    res_codes = list(residence)

    counties = sorted({c for c in [*inst_county_code, *map(county_of, res_codes)] if c})
    county_index = {c: i for i, c in enumerate(counties)}
    inst_county = [county_index[c] if c else -1 for c in inst_county_code]

    candidates: list[list[int]] = []
    weights: list[float] = []
    for code in res_codes:
        here = [k for k in primaries if insts[k].division == code]
        county = county_of(code)
        pool = residence[code]
        serving = set(pool_others[pool]) | {pool_lead[pool]}
        if pool < city_pool:
            net = layout.networks[pool]
            serving = {index[m.institution] for m in net.members if m.institution in index}
        fallbacks = (
            here,
            [k for k in primaries if county and inst_county_code[k] == county],
            [k for k in primaries if k in serving],
            primaries,
        )
        candidates.append(next(c for c in fallbacks if c))
        weights.append(float(max(1, len(here))))
    cand, cand_len = _padded(candidates)

    away_p, away_p_len = _padded(
        [[k for k in primaries if inst_county[k] not in (-1, c)] for c in range(len(counties))]
    )
    away_h, away_h_len = _padded(
        [[k for k in hospitals if inst_county[k] not in (-1, c)] for c in range(len(counties))]
    )
    others, others_len = _padded(pool_others)
    return City(
        name=name,
        institutions=pa.array(codes, pa.string()),
        level=level,
        beds=beds,
        lead_of=lead_of,
        divisions=pa.array(res_codes, pa.string()),
        insured=pa.array([county_of(c) or c for c in res_codes], pa.string()),
        div_weight=np.array(weights),
        div_county=np.array(
            [county_index.get(county_of(c) or "", -1) for c in res_codes], dtype=np.int32
        ),
        div_pool=np.array([residence[c] for c in res_codes], dtype=np.int32),
        candidates=cand,
        candidates_len=cand_len,
        pool_lead=np.array(pool_lead, dtype=np.int32),
        pool_others=others,
        pool_others_len=others_len,
        away_primary=away_p,
        away_primary_len=away_p_len,
        away_hospital=away_h,
        away_hospital_len=away_h_len,
    )


def _by_level(values: ByLevel | ShareByLevel) -> Array:
    return np.array([values.primary, values.secondary, values.tertiary])


@lru_cache
def _key_population_ages() -> tuple[int, int]:
    """The children's top age and the elderly's lowest age, from data/key_populations.yaml, the
    catalog the resident register derives them with; it must know every tag we write."""
    text = resources.files("caregrid.data").joinpath("key_populations.yaml").read_text("utf-8")
    catalog = yaml.safe_load(text)
    known = set(catalog["derived"]) | set(catalog["declared"])
    missing = sorted(set(TAGS) - known)
    if missing:
        raise DomainError(f"key_populations.yaml does not declare {', '.join(missing)}")
    derived = catalog["derived"]
    return int(derived["children"]["max_age_years"]), int(derived["elderly"]["min_age_years"])


# ------------------------------------------------------------------------- arrays into Arrow


# "0000".."9999" as four ASCII bytes packed in one 32-bit word each
_DIGITS = (
    np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
    .view(np.uint32)
    .ravel()
)


def ids(prefix: str, numbers: Array, digits: int, valid: Array | None = None) -> pa.Array:
    """Fixed-width ids (`P00000001`) straight into an Arrow string buffer: no Python strings;
    the digits are written four at a time from a table."""
    n = len(numbers)
    rest = np.asarray(numbers, dtype=np.int64)
    if n and (rest.min() < 0 or rest.max() >= 10**digits):
        raise ValueError(f"an id of {prefix} does not fit {digits} digits")
    words = -(-digits // 4)
    packed = np.empty((n, words), dtype=np.uint32)
    for j in range(words - 1, -1, -1):
        quotient = rest // 10_000
        packed[:, j] = _DIGITS[(rest - quotient * 10_000).astype(np.int32)]
        rest = quotient
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    width = len(head) + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = head
    buf[:, len(head) :] = packed.view(np.uint8)[:, words * 4 - digits :]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    if valid is None:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
        )
    bitmap = pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little"))
    nulls = int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(buf)], null_count=nulls
    )


def take(values: pa.Array, index: Array, valid: Array | None = None) -> pa.Array:
    """Codes by index (a dictionary lookup done in Arrow); null where not `valid`."""
    mask = None if valid is None else ~valid.astype(bool)
    return values.take(pa.array(index.astype(np.int32), pa.int32(), mask=mask))


def dates(days: Array) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).view(pa.date32())


# The shared centres that read orders, as ByCentre names them (diagnostics.vocab.CentreKind).
KINDS = (CentreKind.LABORATORY.value, CentreKind.IMAGING.value, CentreKind.ECG.value)


def _centre_kind(code: str) -> int:
    """The index in KINDS of the centre that performs a recognition-catalog item."""
    found = catalogs.starter().get(code)
    if found is None or found.centre.value not in KINDS:
        raise DomainError(f"synth item {code!r} is not an item a shared centre reads")
    return KINDS.index(found.centre.value)


def numbers(values: Array, valid: Array | None = None) -> pa.Array:
    mask = None if valid is None else ~valid.astype(bool)
    return pa.array(values.astype(np.float64), pa.float64(), mask=mask)


def table(fact_name: str, columns: dict[str, pa.Array]) -> pa.Table:
    declared = schema(fact(fact_name))
    return pa.Table.from_arrays([columns[name] for name in declared.names], schema=declared)


def nulls(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


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
    """Row indices grouped by the month of their date, months ascending, rows in their order."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    order = by_day(months)
    unique, starts = np.unique(months[order], return_index=True)
    ends = [*starts[1:], len(order)]
    for month, start, end in zip(unique, starts, ends, strict=True):
        yield str(np.datetime64(int(month), "M")), order[start:end]


# --------------------------------------------------------------------------------- the writer


class Writer:
    """Writes each part on a worker thread while the next is drawn; a short queue bounds the
    tables waiting in memory. Counts rows per fact; refuses to write one part twice."""

    def __init__(self, root: Path, threads: int) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="synth-write")
        self.waiting: deque[tuple[Future[Path], int]] = deque()
        self.queued = 0  # rows waiting to be written
        self.rows: dict[str, int] = {f.name: 0 for f in FACTS}
        self.parts: set[tuple[str, str, str]] = set()

    def put(self, fact_name: str, month: str, data: pa.Table, part: str) -> None:
        key = (fact_name, month, part)
        if key in self.parts:
            raise RuntimeError(f"part {key} written twice")
        self.parts.add(key)
        self.rows[fact_name] += data.num_rows
        future = self.pool.submit(
            write_month, self.root, fact(fact_name), month, data, f"{PART}-{part}"
        )
        self.waiting.append((future, data.num_rows))
        self.queued += data.num_rows
        while self.queued > QUEUED_ROWS:
            done, rows = self.waiting.popleft()
            done.result()
            self.queued -= rows

    def chunks(
        self, fact_name: str, month: str, rows: Array, make: Callable[[Array], pa.Table]
    ) -> None:
        """Write the rows `rows` of a month as parts of at most CHUNK rows."""
        for c, start in enumerate(range(0, len(rows), CHUNK)):
            self.put(fact_name, month, make(rows[start : start + CHUNK]), str(c))

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                while self.waiting:
                    self.waiting.popleft()[0].result()
            else:
                for future, _ in self.waiting:
                    future.cancel()
        finally:
            self.pool.shutdown(wait=True)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def remove_previous(root: Path) -> None:
    """Our parts from an earlier run, so months and parts it no longer writes do not linger;
    files written by anything else are left alone."""
    for f in FACTS:
        folder = root / f.name
        if not folder.is_dir():
            continue
        for path in folder.glob(f"month=*/part-{PART}-*.parquet"):
            path.unlink()
        for month in folder.glob("month=*"):
            if month.is_dir() and not any(month.iterdir()):
                month.rmdir()


# ------------------------------------------------------------------------------ the residents


@dataclass(frozen=True)
class Calendar:
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


def per_age(weights: AgeWeights, top: int) -> Array:
    """Weight of each age 0..top; ages outside the bands weigh 0."""
    out = np.zeros(top + 1)
    for band in weights.bands:
        out[band.ages[0] : min(band.ages[1], top) + 1] = band.weight
    return out


class Sampler:
    """Draws residents in proportion to a per-person weight that takes few values (one per
    class, e.g. age x chronic): a multinomial over classes, then uniform within a class, which
    is O(1) a draw however large the city."""

    def __init__(self, classes: Array, class_weight: Array) -> None:
        self.counts = np.bincount(classes, minlength=len(class_weight))
        self.order = np.argsort(classes, kind="stable").astype(np.int32)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        mass = self.counts * class_weight
        self.total = float(mass.sum())
        self.p = mass / self.total

    def draw(self, rng: np.random.Generator, n: int) -> Array:
        per_class = rng.multinomial(n, self.p)
        out = np.empty(n, dtype=np.int32)
        pos = 0
        for c in np.flatnonzero(per_class):
            k = int(per_class[c])
            picks = rng.integers(0, self.counts[c], k)
            out[pos : pos + k] = self.order[self.starts[c] + picks]
            pos += k
        rng.shuffle(out)  # drawn class by class: mixed, so no order tells a class
        return out


@dataclass(frozen=True)
class Residents:
    n: int
    div: Array  # residence division index
    inst: Array  # registered primary institution
    age: Array  # completed years on 31 December
    female: Array
    birth: Array  # days since 1970-01-01
    tags: Array  # key-population bits (BIT)

    @property
    def chronic(self) -> Array:
        found: Array = (self.tags & CHRONIC_BITS) != 0
        return found


def make_residents(city: City, rates: Rates, n: int, cal: Calendar, seed: int) -> Residents:
    rng = stream(seed, S_RESIDENTS)
    pop = rates.population
    # Divisions: in proportion to their primary institutions, times a log-normal spread
    # (china.yaml population.division_spread, ours).
    w = city.div_weight * rng.lognormal(0.0, pop.division_spread.value, len(city.div_weight))
    counts = rng.multinomial(n, w / w.sum())
    div = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    # Registered institution: uniform among the division's candidates.
    pick = np.floor(rng.random(n) * city.candidates_len[div]).astype(np.int64)
    inst = city.candidates[div, pick]
    # Sex: the census sex ratio (七普 105.07 males per 100 females).
    ratio = pop.sex_ratio.value
    female = rng.random(n) >= ratio / (ratio + 100)
    # Age: the census age structure (七普), uniform within a band.
    bands = pop.age_structure.bands
    band = weighted(rng, [b.share for b in bands], n)
    low = np.array([b.ages[0] for b in bands])[band]
    high = np.array([b.ages[1] for b in bands])[band]
    age = (low + np.floor(rng.random(n) * (high - low + 1))).astype(np.int16)
    birth = day_in_year(rng, cal.year - age.astype(np.int64))

    kp = rates.key_populations
    children_top, elderly_from = _key_population_ages()
    tags = np.zeros(n, dtype=np.uint16)
    tags[age <= children_top] |= BIT["children"]
    tags[age >= elderly_from] |= BIT["elderly"]
    adult = age >= int(kp.adult_age.value)
    top = pop.age_structure.top_age
    # Hypertension 27.5% and diabetes 11.9% of adults (慢病2020), rising with age (ours): the
    # relative risks are scaled so the adult prevalence is the cited one.
    for tag, prevalence, risk in (
        ("hypertension", kp.hypertension_prevalence.value, kp.hypertension_risk_by_age),
        ("diabetes", kp.diabetes_prevalence.value, kp.diabetes_risk_by_age),
    ):
        rr = per_age(risk, top)[age]
        mean = rr[adult].mean() if adult.any() else 1.0
        p = np.where(adult, np.minimum(prevalence * rr / max(mean, 1e-12), 1.0), 0.0)
        tags[rng.random(n) < p] |= BIT[tag]
    # Pregnant and postpartum: births (6.77‰, 2022) x the pregnancy and postpartum period,
    # spread over women of the mothers' ages (ours).
    ages = kp.pregnancy_ages
    mothers = female & (age >= ages.low) & (age <= ages.high)
    wanted = kp.birth_rate.value * kp.pregnancy_postpartum_years.value * n
    share = min(1.0, wanted / max(1, int(mothers.sum())))
    tags[mothers & (rng.random(n) < share)] |= BIT["pregnant_postpartum"]
    # Severe mental disorder (ours), tuberculosis (ours), disability (6.34%, 2006 survey).
    for tag, rate in (
        ("severe_mental_disorder", kp.severe_mental_disorder.value),
        ("tuberculosis", kp.tuberculosis.value),
        ("disabled", kp.disabled.value),
    ):
        tags[rng.random(n) < rate] |= BIT[tag]
    return Residents(n, div, inst.astype(np.int32), age, female, birth, tags)


def tag_strings(tags: Array) -> pa.Array:
    """`a;b;c` for each combination of bits (at most 256 strings built), null for none."""
    lut = np.zeros(1 << len(TAGS), dtype=np.int32)
    present = np.unique(tags)
    texts: list[str | None] = [None]
    for bits in present:
        if bits:
            lut[bits] = len(texts)
            texts.append(";".join(t for t in TAGS if bits & BIT[t]))
    return take(pa.array(texts, pa.string()), lut[tags], valid=tags != 0)


# --------------------------------------------------------------------------------- the year


class Year:
    """One generation run: the city, its residents and the counters of every id."""

    def __init__(
        self, city: City, rates: Rates, people: Residents, cal: Calendar, seed: int, out: Writer
    ) -> None:
        self.city = city
        self.rates = rates
        self.people = people
        self.cal = cal
        self.seed = seed
        self.out = out
        self.y = str(cal.year)
        self.next_encounter = 1
        self.next_referral = 1
        self.next_diagnostic = 1
        self.item_kind = np.array(
            [_centre_kind(i.code) for i in self.rates.recognition.items.items], dtype=np.int8
        )
        self.next_order = 1
        self.pool = city.div_pool[people.div]
        self.county = city.div_county[people.div]
        enc, inp = rates.encounter, rates.inpatient
        # Diagnoses: one code list for every source, and each code's department.
        condition_codes = [rates.chronic.diagnosis.hypertension, rates.chronic.diagnosis.diabetes]
        codes: list[str] = []
        departments: list[str] = []
        for d in [*enc.diagnoses.codes, *inp.diagnoses.codes]:
            if d.code not in codes:
                codes.append(d.code)
                departments.append(d.department)
        for code in condition_codes:
            if code not in codes:
                codes.append(code)
                departments.append("gen")
        self.dx_codes = pa.array(codes, pa.string())
        dept_names = sorted(set(departments))
        self.dept_codes = pa.array(dept_names, pa.string())
        self.dx_dept = np.array([dept_names.index(d) for d in departments], dtype=np.int32)
        self.dx_hypertension = codes.index(condition_codes[0])
        self.dx_diabetes = codes.index(condition_codes[1])
        self.visit_dx = self._dx_list(enc.diagnoses, codes)
        self.admission_dx = self._dx_list(inp.diagnoses, codes)
        self.others = self._other_diagnoses(codes)
        # Who visits and who is admitted: weights by age x chronic (china.yaml, ours), scaled
        # to 6.0 visits and 0.175 admissions a person a year (公报2022).
        top = rates.population.age_structure.top_age
        classes = people.age.astype(np.int32) * 2 + people.chronic
        self.visits = self._sampler(
            classes, enc.visit_weight_by_age, enc.chronic_visit_multiplier.value, top
        )
        self.visits_a_year = enc.visits_per_person.value * people.n
        self.admissions = self._sampler(
            classes, inp.admission_weight_by_age, inp.chronic_admission_multiplier.value, top
        )
        self.admissions_a_year = inp.admissions_per_person.value * people.n
        self.outpatient_cost = _by_level(enc.outpatient_cost_cny)
        # rows drawn in a month but dated in a later one wait here for their month
        self.carry_encounters: list[dict[str, Array]] = []
        self.carry_referrals: list[dict[str, Array]] = []

    @staticmethod
    def _dx_list(diagnoses: Diagnoses, codes: list[str]) -> tuple[Array, Array]:
        index = np.array([codes.index(d.code) for d in diagnoses.codes], dtype=np.int32)
        weights = np.array([d.weight for d in diagnoses.codes], dtype=np.float64)
        return index, weights / weights.sum()

    def _other_diagnoses(self, codes: list[str]) -> pa.Array:
        """`other_diagnosis_codes` by (patient's chronic bits, principal is I10, is E11.9): the
        patient's other known chronic conditions."""
        hyp, dia = codes[self.dx_hypertension], codes[self.dx_diabetes]
        texts: list[str | None] = []
        for key in range(8):
            has_h, has_d, principal_h = key & 1, key & 2, key & 4
            extra = [c for c, has in ((hyp, has_h and not principal_h), (dia, has_d)) if has]
            texts.append(";".join(extra) or None)
        return pa.array(texts, pa.string())

    @staticmethod
    def _sampler(classes: Array, by_age: AgeWeights, chronic: float, top: int) -> Sampler:
        ages = per_age(by_age, top)
        class_weight = np.repeat(ages, 2) * np.tile([1.0, chronic], top + 1)
        return Sampler(classes, class_weight)

    # -- drawing encounters

    def place(
        self, rng: np.random.Generator, patient: Array, primary: Array, lead_share: float
    ) -> Array:
        """Where each encounter happens: at the patient's primary institution or a hospital of
        their network (the lead with `lead_share`); 1 - in_county_share of them (国办发〔2015〕
        70号: 县域内就诊率 ~90%) at an institution of the same level in another county."""
        city, n = self.city, len(patient)
        pool = self.pool[patient]
        n_others = city.pool_others_len[pool]
        other = city.pool_others[pool, np.floor(rng.random(n) * n_others).astype(np.int64)]
        to_lead = (rng.random(n) < lead_share) | (n_others == 0)
        inst = np.where(
            primary, self.people.inst[patient], np.where(to_lead, city.pool_lead[pool], other)
        )
        county = self.county[patient]
        c = np.maximum(county, 0)
        u = rng.random(n)
        n_primary, n_hospital = city.away_primary_len[c], city.away_hospital_len[c]
        n_away = np.where(primary, n_primary, n_hospital)
        away_inst = np.where(
            primary,
            city.away_primary[c, np.floor(u * n_primary).astype(np.int64)],
            city.away_hospital[c, np.floor(u * n_hospital).astype(np.int64)],
        )
        away = (rng.random(n) >= self.rates.encounter.in_county_share.value) & (county >= 0)
        away &= n_away > 0
        return np.where(away, away_inst, inst).astype(np.int32)

    def visit_diagnoses(self, rng: np.random.Generator, patient: Array) -> Array:
        """A weighted common diagnosis; a chronic patient's own condition half of the time
        (china.yaml encounter.chronic_own_diagnosis_share, ours)."""
        n = len(patient)
        index, p = self.visit_dx
        dx = index[rng.choice(len(p), size=n, p=p)]
        tags = self.people.tags[patient]
        hyp = (tags & BIT["hypertension"]) != 0
        dia = (tags & BIT["diabetes"]) != 0
        own = (hyp | dia) & (rng.random(n) < self.rates.encounter.chronic_own_diagnosis_share.value)
        as_hyp = np.where(hyp & dia, rng.random(n) < 0.5, hyp)  # either condition alike
        return np.where(own, np.where(as_hyp, self.dx_hypertension, self.dx_diabetes), dx)

    def visit_costs(
        self, rng: np.random.Generator, inst: Array, emergency: Array
    ) -> tuple[Array, Array]:
        """Cost by level (china.yaml encounter.outpatient_cost_cny, scaled on 公报2022), log-normal
        spread, more for an emergency; insurance pays its share."""
        enc = self.rates.encounter
        sigma = enc.cost_spread.value
        mean = self.outpatient_cost[self.city.level[inst]]
        mean = mean * np.where(emergency, enc.emergency_cost_multiplier.value, 1.0)
        cost = np.round(mean * rng.lognormal(-sigma * sigma / 2, sigma, len(inst)), 2)
        return cost, np.round(cost * enc.insurance_share.value, 2)

    def visit_batch(
        self,
        rng: np.random.Generator,
        patient: Array,
        inst: Array,
        day: Array,
        dx: Array,
        emergency: Array,
        referral: Array,
    ) -> dict[str, Array]:
        cost, paid = self.visit_costs(rng, inst, emergency)
        n = len(patient)
        return {
            "patient": patient,
            "inst": inst,
            "kind": np.where(emergency, EMERGENCY, OUTPATIENT).astype(np.int8),
            "day": day,
            "dx": dx,
            "surgery": np.zeros(n, dtype=np.int8),
            "drg": np.full(n, np.nan),
            "cost": cost,
            "paid": paid,
            "referral": referral,
        }

    def referrals(
        self,
        rng: np.random.Generator,
        direction: int,
        patient: Array,
        source: Array,
        target: Array,
        day: Array,
        dx: Array,
    ) -> tuple[dict[str, Array], Array]:
        """Referral rows, and which were completed (those lead to a visit)."""
        ref = self.rates.referral
        n = len(patient)
        seq = np.arange(self.next_referral, self.next_referral + n, dtype=np.int64)
        self.next_referral += n
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

    def follow_on(
        self, rng: np.random.Generator, rows: dict[str, Array], completed: Array
    ) -> dict[str, Array]:
        """The visit a completed referral leads to, within follow_on_days (ours; NBPHS 2 weeks)."""
        span = self.rates.referral.follow_on_days
        k = np.flatnonzero(completed)
        delay = rng.integers(span.low, span.high + 1, len(k))
        day = np.minimum(rows["day"][k] + delay, self.cal.last)
        return self.visit_batch(
            rng,
            rows["patient"][k],
            rows["target"][k].astype(np.int32),
            day,
            rows["dx"][k],
            np.zeros(len(k), dtype=bool),
            rows["seq"][k],
        )

    def visits_chunk(
        self, rng: np.random.Generator, n: int, m: int
    ) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array], dict[str, Array]]:
        """n visits of month m; returns the visits, up-referrals, the visits those lead to and
        the recognition orders."""
        enc, cal = self.rates.encounter, self.cal
        start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
        patient = self.visits.draw(rng, n)
        # uniform days, drawn already in order: the visits need no sorting
        per_day = rng.multinomial(n, np.full(end - start, 1 / (end - start)))
        day = np.repeat(np.arange(start, end), per_day)
        emergency = rng.random(n) < enc.emergency_share.value  # ours, ~5%
        primary = rng.random(n) < enc.primary_share.value  # 公报2022: 基层 50.7% of visits
        inst = self.place(rng, patient, primary, enc.lead_share_of_hospital_visits.value)
        dx = self.visit_diagnoses(rng, patient)
        visits = self.visit_batch(
            rng, patient, inst, day, dx, emergency, np.full(n, -1, dtype=np.int64)
        )
        # Up-referrals: a share of visits at the patient's own primary institution (ours, 2-3%)
        # to the network's lead.
        lead = self.city.pool_lead[self.pool[patient]]
        at_home = (inst == self.people.inst[patient]) & ~emergency & (lead != inst)
        up = np.flatnonzero(
            at_home & (rng.random(n) < self.rates.referral.up_share_of_primary_visits.value)
        )
        refs, completed = self.referrals(rng, UP, patient[up], inst[up], lead[up], day[up], dx[up])
        answered = self.follow_on(rng, refs, completed)
        # Recognition: a share of hospital outpatient visits ordered an item a valid prior
        # result existed for (ours, 3%).
        rec = self.rates.recognition
        hospital = (self.city.level[inst] != PRIMARY) & ~emergency
        k = np.flatnonzero(hospital & (rng.random(n) < rec.share_of_hospital_visits.value))
        orders = self.orders(rng, inst[k], day[k])
        return visits, refs, answered, orders

    def orders(self, rng: np.random.Generator, inst: Array, day: Array) -> dict[str, Array]:
        rec = self.rates.recognition
        n = len(inst)
        seq = np.arange(self.next_order, self.next_order + n, dtype=np.int64)
        self.next_order += n
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

    def admissions_month(
        self, rng: np.random.Generator, m: int
    ) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array]]:
        """Admissions of month m at 17.5 a hundred residents a year (公报2022), each with its
        discharge 3-15 days later (ours) clipped to 31 December, and down-referrals from the
        lead's discharges (ours, 5-10%) with the visits they lead to."""
        inp, cal, city = self.rates.inpatient, self.cal, self.city
        start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
        n = int(rng.poisson(self.admissions_a_year * (end - start) / cal.days))
        patient = self.admissions.draw(rng, n)
        primary = rng.random(n) < inp.primary_share.value  # ours, ~15% at primary institutions
        inst = self.place(rng, patient, primary, inp.lead_share_of_hospital_admissions.value)
        admitted = rng.integers(start, end, n)
        stay = rng.integers(inp.length_of_stay_days.low, inp.length_of_stay_days.high + 1, n)
        discharged = np.minimum(admitted + stay, cal.last)
        index, p = self.admission_dx
        dx = index[rng.choice(len(p), size=n, p=p)]
        level = city.level[inst]
        # Operations on a share of discharges by level, grades by level (ours: grades 3-4 about
        # half at tertiary hospitals).
        operated = rng.random(n) < _by_level(inp.surgery_share)[level]
        grade = np.zeros(n, dtype=np.int8)
        for lvl, weights in enumerate(
            (inp.surgery_levels.primary, inp.surgery_levels.secondary, inp.surgery_levels.tertiary)
        ):
            at = np.flatnonzero(operated & (level == lvl))
            grade[at] = weighted(rng, weights, len(at)) + 1
        # DRG weight log-normal around the level's mean (ours: tertiary CMI 1.0-1.5); the stay
        # costs the level's mean (ours, around 公报2022's 10860元) in proportion to its weight.
        sigma = inp.drg_weight_spread.value
        drg_mean = _by_level(inp.drg_weight_mean)[level]
        drg = np.clip(
            np.round(drg_mean * rng.lognormal(-sigma * sigma / 2, sigma, n), 4), 0.01, 100
        )
        cost = np.round(_by_level(inp.cost_cny)[level] * drg / drg_mean, 2)
        paid = np.round(cost * inp.insurance_share.value, 2)  # ours, 60-70%
        # A share of the lead's admissions came referred up by the patient's own primary
        # institution (ours), sent 0-3 days before within the month; a completed referral is
        # the one the admission answers.
        lead = city.pool_lead[self.pool[patient]]
        home = self.people.inst[patient]
        via = np.flatnonzero(
            (inst == lead)
            & (home != inst)
            & (rng.random(n) < self.rates.referral.up_share_of_lead_admissions.value)
        )
        sent = np.maximum(admitted[via] - rng.integers(0, 4, len(via)), start)
        up, answered = self.referrals(rng, UP, patient[via], home[via], inst[via], sent, dx[via])
        admission_referral = np.full(n, -1, dtype=np.int64)
        admission_referral[via[answered]] = up["seq"][answered]
        none = np.full(n, -1, dtype=np.int64)
        stays = {
            "patient": np.concatenate([patient, patient]),
            "inst": np.concatenate([inst, inst]),
            "kind": np.concatenate(
                [np.full(n, ADMISSION, dtype=np.int8), np.full(n, DISCHARGE, dtype=np.int8)]
            ),
            "day": np.concatenate([admitted, discharged]),
            "dx": np.concatenate([dx, dx]),
            "surgery": np.concatenate([np.zeros(n, dtype=np.int8), grade]),
            "drg": np.concatenate([np.full(n, np.nan), drg]),
            # the bill is the discharge's: an admission row costs nothing yet
            "cost": np.concatenate([np.zeros(n), cost]),
            "paid": np.concatenate([np.zeros(n), paid]),
            "referral": np.concatenate([admission_referral, none]),
        }
        down = np.flatnonzero(
            (inst == lead)
            & (rng.random(n) < self.rates.referral.down_share_of_lead_discharges.value)
        )
        refs, completed = self.referrals(
            rng, DOWN, patient[down], inst[down], home[down], discharged[down], dx[down]
        )
        return stays, _concat([up, refs]), self.follow_on(rng, refs, completed)

    # -- writing encounters, referrals, orders

    def encounter_table(self, b: dict[str, Array]) -> pa.Table:
        n = len(b["day"])
        seq = np.arange(self.next_encounter, self.next_encounter + n, dtype=np.int64)
        self.next_encounter += n
        people = self.people
        patient = b["patient"]
        div = people.div[patient]
        tags = people.tags[patient]
        other_key = (
            ((tags & BIT["hypertension"]) != 0) * 1
            + ((tags & BIT["diabetes"]) != 0) * 2
            + (b["dx"] == self.dx_hypertension) * 4
        )
        other_key = np.where(b["dx"] == self.dx_diabetes, other_key & 1, other_key)
        referral = b["referral"]
        return table(
            "encounter",
            {
                "encounter_id": ids("E" + self.y, seq, 10),
                "institution_code": take(self.city.institutions, b["inst"]),
                "department_code": take(self.dept_codes, self.dx_dept[b["dx"]]),
                "patient_id": ids("P", patient + 1, 8),
                "home_division_code": take(self.city.divisions, div),
                "kind": take(pa.array(ENCOUNTER_KINDS, pa.string()), b["kind"]),
                "date": dates(b["day"]),
                "diagnosis_code": take(self.dx_codes, b["dx"]),
                "other_diagnosis_codes": self.others.take(pa.array(other_key.astype(np.int32))),
                "surgery_level": pa.array(
                    b["surgery"].astype(np.int32), pa.int32(), mask=b["surgery"] == 0
                ),
                "drg_weight": numbers(b["drg"], ~np.isnan(b["drg"])),
                "total_cost_cny": numbers(b["cost"]),
                "insurance_paid_cny": numbers(b["paid"]),
                "insured_division_code": take(self.city.insured, div),
                "referral_id": ids("R" + self.y, np.maximum(referral, 0), 9, referral >= 0),
            },
        )

    def write_encounters(
        self, month: str, part: str, b: dict[str, Array], ordered: bool = False
    ) -> None:
        """Rows by date (encounter ids follow it), in parts of at most CHUNK rows."""
        if not ordered:
            order = by_day(b["day"])
            b = {k: v[order] for k, v in b.items()}
        for c, start in enumerate(range(0, len(b["day"]), CHUNK)):
            piece = {k: v[start : start + CHUNK] for k, v in b.items()}
            self.out.put("encounter", month, self.encounter_table(piece), f"{part}{c}")

    def write_bookings(self, month: str, b: dict[str, Array]) -> None:
        """The slot each visit answering a referral at a hospital was booked on, by the
        patient's primary institution, mostly from the reserved pool (ours); attended, since
        the visit took place."""
        k = np.flatnonzero(
            (b["referral"] >= 0)
            & (b["kind"] == OUTPATIENT)
            & (self.city.level[b["inst"]] != PRIMARY)
        )
        if not len(k):
            return
        rng = stream(self.seed, S_BOOKINGS, int(month[5:]))
        reserved = rng.random(len(k)) < self.rates.referral.reserved_share_of_bookings.value
        pools = pa.array(list(BOOKING_POOLS), pa.string())
        statuses = pa.array(list(BOOKING_STATUSES), pa.string())
        rows = table(
            "booking",
            {
                "booking_id": ids("B" + self.y, b["referral"][k], 9),
                "institution_code": take(self.city.institutions, b["inst"][k]),
                "department_code": take(self.dept_codes, self.dx_dept[b["dx"][k]]),
                "booked_by_institution_code": take(
                    self.city.institutions, self.people.inst[b["patient"][k]]
                ),
                "pool": take(pools, np.where(reserved, 0, 1).astype(np.int32)),
                "status": take(statuses, np.full(len(k), BOOKING_STATUSES.index("attended"))),
                "date": dates(b["day"][k]),
                "referral_id": ids("R" + self.y, b["referral"][k], 9),
            },
        )
        self.out.put("booking", month, rows, "x")

    def referral_table(self, r: dict[str, Array]) -> pa.Table:
        down = r["direction"] == DOWN
        return table(
            "referral",
            {
                "referral_id": ids("R" + self.y, r["seq"], 9),
                "from_institution_code": take(self.city.institutions, r["source"]),
                "to_institution_code": take(self.city.institutions, r["target"]),
                "direction": take(pa.array(DIRECTIONS, pa.string()), r["direction"]),
                "patient_id": ids("P", r["patient"] + 1, 8),
                "diagnosis_code": take(self.dx_codes, r["dx"]),
                "date": dates(r["day"]),
                "state": take(pa.array(list(self.rates.referral.states.weights)), r["state"]),
                # closed_loop is about down-referrals only; null on the others
                "closed_loop": pa.array(r["closed"], pa.bool_(), mask=~down),
                # the synthetic city does not model the receiver's answer (B3)
                "answer_hours": pa.nulls(len(r["seq"]), pa.float64()),
                "overdue": pa.nulls(len(r["seq"]), pa.bool_()),
            },
        )

    def diagnostic_orders(self, month: int, part: int, v: dict[str, Array]) -> pa.Table | None:
        """Orders from a share of primary visits to the shared centre of the item's kind,
        which the patient's network lead runs; ECGs and X-rays mostly acquired at the member;
        a log-normal turnaround against the centre's promise (all ours)."""
        rates, city = self.rates.diagnostic_orders, self.city
        rng = stream(self.seed, S_DIAGNOSTICS, month, part)
        lead = city.pool_lead[self.pool[v["patient"]]]
        k = np.flatnonzero(
            (city.level[v["inst"]] == PRIMARY)
            & (lead >= 0)
            & (rng.random(len(v["day"])) < rates.share_of_primary_visits.value)
        )
        if not len(k):
            return None
        n = len(k)
        seq = np.arange(self.next_diagnostic, self.next_diagnostic + n, dtype=np.int64)
        self.next_diagnostic += n
        items = self.rates.recognition.items.items
        item = weighted(rng, [i.weight for i in items], n)
        kind = self.item_kind[item]

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
                "order_id": ids("D" + self.y, seq, 9),
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

    def recognition_table(self, o: dict[str, Array]) -> pa.Table:
        rec = self.rates.recognition
        items = rec.items.items
        return table(
            "recognition",
            {
                "order_id": ids("O" + self.y, o["seq"], 9),
                "institution_code": take(self.city.institutions, o["inst"]),
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

    def month(self, m: int) -> None:
        """Encounters, referrals, recognition orders and capacity of month m. Rows dated in a
        later month (discharges, visits answering a referral) wait for theirs."""
        cal = self.cal
        month = cal.month(m)
        start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
        rng = stream(self.seed, S_VISITS, m)
        n = int(rng.poisson(self.visits_a_year * (end - start) / cal.days))
        encounters = list(self.carry_encounters)
        referrals = list(self.carry_referrals)
        for c, first in enumerate(range(0, n, CHUNK)):
            rng_c = stream(self.seed, S_VISITS, m, c + 1)
            visits, refs, answered, orders = self.visits_chunk(rng_c, min(CHUNK, n - first), m)
            self.write_encounters(month, f"v{c}-", visits, ordered=True)
            if len(refs["seq"]):
                self.out.put("referral", month, self.referral_table(refs), f"v{c}")
            if len(orders["seq"]):
                self.out.put("recognition", month, self.recognition_table(orders), f"v{c}")
            ordered = self.diagnostic_orders(m, c + 1, visits)
            if ordered is not None:
                self.out.put("diagnostic_order", month, ordered, f"v{c}")
            encounters.append(answered)
        stays, refs, answered = self.admissions_month(stream(self.seed, S_ADMISSIONS, m), m)
        encounters += [stays, answered]
        referrals.append(refs)
        now_enc, self.carry_encounters = _split(encounters, end)
        now_ref, self.carry_referrals = _split(referrals, end)
        if now_enc:
            batch = _concat(now_enc)
            self.write_encounters(month, "x", batch)
            self.write_bookings(month, batch)
        if now_ref:
            self.out.put("referral", month, self.referral_table(_concat(now_ref)), "x")
        self.capacity(m)

    def capacity(self, m: int) -> None:
        """Each working day (Mon-Fri) of month m, each hospital's outpatient slots per
        department and its beds, and how many it reserved for primary doctors: each department
        keeps a steady schedule and a reserved share drawn around the plans' 1/3 of slots and
        1/4 of beds (ours)."""
        cap = self.rates.capacity
        hospitals = np.flatnonzero(self.city.level != PRIMARY)
        depts = cap.slot_departments.codes
        base = stream(self.seed, S_CAPACITY)  # the same schedule all year
        totals = base.integers(
            cap.slots_per_department_day.low,
            cap.slots_per_department_day.high + 1,
            (len(hospitals), len(depts)),
        )
        slot_share = base.uniform(
            cap.slot_reserved_share.low, cap.slot_reserved_share.high, totals.shape
        )
        bed_share = base.uniform(
            cap.bed_reserved_share.low, cap.bed_reserved_share.high, len(hospitals)
        )
        days = np.arange(self.cal.month_starts[m], self.cal.month_starts[m + 1])
        days = days[(days + 3) % 7 < 5]  # 1970-01-01 was a Thursday
        rng = stream(self.seed, S_CAPACITY, m)
        # one row per (hospital, department or the beds, working day)
        grid = np.meshgrid(
            np.arange(len(hospitals)),
            np.arange(len(depts) + 1),
            np.arange(len(days)),
            indexing="ij",
        )
        h, d, t = (axis.ravel() for axis in grid)
        bed = d == len(depts)
        dd = np.minimum(d, len(depts) - 1)
        total = np.where(bed, self.city.beds[hospitals[h]], totals[h, dd])
        share = np.where(bed, bed_share[h], slot_share[h, dd])
        reserved = rng.binomial(total, share)
        self.out.put(
            "capacity",
            self.cal.month(m),
            table(
                "capacity",
                {
                    "resource": take(pa.array(["slot", "bed"]), bed.astype(np.int32)),
                    "institution_code": take(self.city.institutions, hospitals[h]),
                    "department_code": take(pa.array([*depts, BED_DEPARTMENT]), d),
                    "date": dates(days[t]),
                    "total": pa.array(total.astype(np.int32), pa.int32()),
                    "reserved": pa.array(reserved.astype(np.int32), pa.int32()),
                },
            ),
            "0",
        )


def _split(
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


def _concat(batches: list[dict[str, Array]]) -> dict[str, Array]:
    keys = batches[0].keys()
    return {k: np.concatenate([b[k] for b in batches]) for k in keys}


# ------------------------------------------------------------------- facts of the whole year


def residents_fact(year: Year) -> None:
    """The register on 31 December: one row per resident."""
    people, city, cal = year.people, year.city, year.cal
    month = cal.month(11)
    keys = tag_strings(people.tags)
    rows = np.arange(people.n)

    def make(k: Array) -> pa.Table:
        n = len(k)
        return table(
            "resident",
            {
                "patient_id": ids("P", k + 1, 8),
                "home_division_code": take(city.divisions, people.div[k]),
                "birth_date": dates(people.birth[k]),
                "sex": take(pa.array(["male", "female"]), people.female[k].astype(np.int32)),
                "key_populations": keys.slice(int(k[0]), n) if n else keys.slice(0, 0),
                "registered_institution_code": take(city.institutions, people.inst[k]),
                "as_of": dates(np.full(n, cal.last)),
            },
        )

    year.out.chunks("resident", month, rows, make)


def chronic_facts(year: Year) -> tuple[Array, Array, Array]:
    """Managed hypertension and diabetes patients (ours: 55% of the prevalent, most enrolled in
    an earlier year) and their face-to-face follow-ups: 0-6 a year, about 65% reaching the four
    of NBPHS; controlled at 60% of follow-ups (ours). Returns the follow-ups (patient, day,
    condition) for the public health services that record them too."""
    rates, people, cal = year.rates.chronic, year.people, year.cal
    rng = stream(year.seed, S_CHRONIC)
    patients, conds, froms = [], [], []
    fu_patient, fu_cond, fu_day, fu_ok = [], [], [], []
    for ci, condition in enumerate(CONDITIONS):
        managed = np.flatnonzero(
            ((people.tags & BIT[condition]) != 0)
            & (rng.random(people.n) < rates.managed_share.value)
        )
        k = len(managed)
        before = rng.random(k) < rates.managed_before_year_share.value
        back = rng.integers(rates.managed_before_years.low, rates.managed_before_years.high + 1, k)
        earlier = day_in_year(rng, cal.year - back)
        this_year = cal.first + rng.integers(0, cal.days, k)
        managed_from = np.where(before, earlier, this_year)
        patients.append(managed)
        conds.append(np.full(k, ci, dtype=np.int8))
        froms.append(managed_from)
        count = weighted(rng, rates.follow_ups.by_count, k)
        who = np.repeat(managed, count)
        since = np.repeat(np.maximum(managed_from, cal.first), count)
        fu_patient.append(who)
        fu_cond.append(np.full(len(who), ci, dtype=np.int8))
        fu_day.append(
            since + np.floor(rng.random(len(who)) * (cal.last - since + 1)).astype(np.int64)
        )
        fu_ok.append(rng.random(len(who)) < rates.controlled_share.value)

    patient, cond, managed_from = (np.concatenate(x) for x in (patients, conds, froms))
    condition_names = pa.array(CONDITIONS, pa.string())
    for month, rows in months_of(managed_from):

        def make_patient(k: Array) -> pa.Table:
            return table(
                "chronic_patient",
                {
                    "patient_id": ids("P", patient[k] + 1, 8),
                    "condition": take(condition_names, cond[k]),
                    "institution_code": take(year.city.institutions, people.inst[patient[k]]),
                    "managed_from": dates(managed_from[k]),
                },
            )

        year.out.chunks("chronic_patient", month, rows, make_patient)

    who, what, day, ok = (np.concatenate(x) for x in (fu_patient, fu_cond, fu_day, fu_ok))
    order = by_day(day)
    who, what, day, ok = who[order], what[order], day[order], ok[order]
    for month, rows in months_of(day):

        def make_follow_up(k: Array) -> pa.Table:
            return table(
                "chronic_follow_up",
                {
                    "follow_up_id": ids("F" + year.y, k + 1, 9),
                    "patient_id": ids("P", who[k] + 1, 8),
                    "condition": take(condition_names, what[k]),
                    "institution_code": take(year.city.institutions, people.inst[who[k]]),
                    "date": dates(day[k]),
                    "controlled": pa.array(ok[k], pa.bool_()),
                },
            )

        year.out.chunks("chronic_follow_up", month, rows, make_follow_up)
    return who, day, what


def contract_facts(year: Year) -> None:
    """Family-doctor contracts at the resident's primary institution: 40% of residents and 70%
    of key populations (ours, Zhejiang cities; 国医改办发〔2016〕1号 targets); the rate of the
    others follows so the whole population signs at the stated share. Every contract starts in
    the year and runs one year."""
    rates, people, cal = year.rates.contract, year.people, year.cal
    rng = stream(year.seed, S_CONTRACT)
    key = people.tags != 0
    key_share = float(key.mean())
    p_key = rates.share_of_key_populations.value
    p_all = rates.share_of_residents.value
    p_rest = (p_all - key_share * p_key) / (1 - key_share) if key_share < 1 else 0.0
    p = np.where(key, p_key, float(np.clip(p_rest, 0.0, 1.0)))
    signed = np.flatnonzero(rng.random(people.n) < p)
    starts = cal.first + rng.integers(0, cal.days, len(signed))
    order = by_day(starts)
    signed, starts = signed[order], starts[order]
    # ends_on: the same day a year later, less a day (29 February runs to 28 February)
    as_date = starts.astype("datetime64[D]")
    month_start = as_date.astype("datetime64[M]")
    ends = (
        (month_start + 12).astype("datetime64[D]")
        + (as_date - month_start.astype("datetime64[D]"))
        - 1
    ).astype(np.int64)
    for month, rows in months_of(starts):

        def make(k: Array) -> pa.Table:
            return table(
                "contract",
                {
                    "contract_id": ids("C" + year.y, k + 1, 8),
                    "patient_id": ids("P", signed[k] + 1, 8),
                    "institution_code": take(year.city.institutions, people.inst[signed[k]]),
                    "starts_on": dates(starts[k]),
                    "ends_on": dates(ends[k]),
                },
            )

        year.out.chunks("contract", month, rows, make)


def public_health_facts(year: Year, follow_ups: tuple[Array, Array, Array]) -> None:
    """Basic public health services at the resident's primary institution: the services of
    china.yaml public_health (NBPHS service specifications; coverage ours), and each chronic
    follow-up recorded as `<condition>_follow_up`."""
    people, cal = year.people, year.cal
    rng = stream(year.seed, S_PUBLIC_HEALTH)
    services = year.rates.public_health.services
    codes = [s.code for s in services] + [f"{c}_follow_up" for c in CONDITIONS]
    who_l: list[Array] = []
    day_l: list[Array] = []
    code_l: list[Array] = []
    for si, service in enumerate(services):
        group = (
            np.ones(people.n, dtype=bool)
            if service.population == "all"
            else (people.tags & BIT[service.population]) != 0
        )
        chosen = np.flatnonzero(group & (rng.random(people.n) < service.coverage))
        takers = np.repeat(chosen, service.per_year)
        who_l.append(takers)
        day_l.append(cal.first + rng.integers(0, cal.days, len(takers)))
        code_l.append(np.full(len(takers), si, dtype=np.int16))
    fu_who, fu_day, fu_cond = follow_ups
    who_l.append(fu_who)
    day_l.append(fu_day)
    code_l.append(len(services) + fu_cond.astype(np.int16))
    who, day, code = (np.concatenate(x) for x in (who_l, day_l, code_l))
    order = by_day(day)
    who, day, code = who[order], day[order], code[order]
    code_names = pa.array(codes, pa.string())
    for month, rows in months_of(day):

        def make(k: Array) -> pa.Table:
            return table(
                "public_health_service",
                {
                    "service_id": ids("H" + year.y, k + 1, 10),
                    "institution_code": take(year.city.institutions, people.inst[who[k]]),
                    "patient_id": ids("P", who[k] + 1, 8),
                    "service_code": take(code_names, code[k]),
                    "date": dates(day[k]),
                },
            )

        year.out.chunks("public_health_service", month, rows, make)


def staff_facts(year: Year) -> None:
    """Staff on 31 December: hospitals by beds (ours, per-bed ratios near 《医疗机构基本标准》),
    primary institutions 10-40 (ours) and a few doctors the network's lead posts there (ours);
    titles and TCM doctors by share (ours). Then the year's training records (ours)."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    rng = stream(year.seed, S_STAFF)
    professions = choices("staff", "profession")
    inst_l, prof_l, posted_l, months_l = [], [], [], []
    for k in range(len(city.level)):
        if city.level[k] != PRIMARY:
            counts = [round(city.beds[k] * rates.per_bed.weights.get(p, 0.0)) for p in professions]
            counts[professions.index("doctor")] = max(1, counts[professions.index("doctor")])
        else:
            total = int(rng.integers(rates.primary_staff.low, rates.primary_staff.high + 1))
            counts = list(rng.multinomial(total, _shares(rates.primary_mix, professions)))
        prof = np.repeat(np.arange(len(professions)), counts)
        inst_l.append(np.full(len(prof), k))
        prof_l.append(prof)
        posted_l.append(np.full(len(prof), -1))
        months_l.append(np.zeros(len(prof), dtype=np.int32))
        lead = int(city.lead_of[k])
        if city.level[k] == PRIMARY and lead >= 0:
            sent = int(
                rng.integers(rates.posted_per_primary.low, rates.posted_per_primary.high + 1)
            )
            inst_l.append(np.full(sent, k))
            prof_l.append(np.full(sent, professions.index("doctor")))
            posted_l.append(np.full(sent, lead))
            months_l.append(
                rng.integers(rates.posted_months.low, rates.posted_months.high + 1, sent).astype(
                    np.int32
                )
            )
    inst, prof, posted, months = (np.concatenate(x) for x in (inst_l, prof_l, posted_l, months_l))
    n = len(inst)
    titles = choices("staff", "title_level")
    title = weighted(rng, _shares(rates.title_levels, titles), n)
    has_title = prof != professions.index("other")
    doctor = prof == professions.index("doctor")
    tcm = doctor & (rng.random(n) < rates.tcm_share_of_doctors.value) & (posted < 0)
    staff_id = np.arange(1, n + 1)
    year.out.put(
        "staff",
        cal.month(11),
        table(
            "staff",
            {
                "staff_id": ids("W", staff_id, 7),
                "institution_code": take(city.institutions, inst),
                "profession": take(pa.array(professions, pa.string()), prof),
                "title_level": take(pa.array(titles, pa.string()), title, has_title),
                "tcm": pa.array(tcm, pa.bool_()),
                "posted_from_institution_code": take(
                    city.institutions, np.maximum(posted, 0), posted >= 0
                ),
                "posted_months": pa.array(months, pa.int32(), mask=posted < 0),
                "as_of": dates(np.full(n, cal.last)),
            },
        ),
        "0",
    )
    # Training: a Poisson number of records per staff member (ours), passed mostly (ours).
    training = year.rates.training
    count = rng.poisson(training.records_per_staff.value, n)
    who = np.repeat(np.arange(n), count)
    day = cal.first + rng.integers(0, cal.days, len(who))
    order = by_day(day)
    who, day = who[order], day[order]
    courses = list(training.courses.weights)
    course = weighted(rng, list(training.courses.weights.values()), len(who))
    passed = rng.random(len(who)) < training.passed_share.value
    for month, rows in months_of(day):

        def make(k: Array) -> pa.Table:
            return table(
                "training",
                {
                    "record_id": ids("T" + year.y, k + 1, 8),
                    "institution_code": take(city.institutions, inst[who[k]]),
                    "staff_id": ids("W", staff_id[who[k]], 7),
                    "course": take(pa.array(courses, pa.string()), course[k]),
                    "date": dates(day[k]),
                    "passed": pa.array(passed[k], pa.bool_()),
                },
            )

        year.out.chunks("training", month, rows, make)


def choices(fact_name: str, field_name: str) -> list[str]:
    declared = fact(fact_name).field(field_name)
    if declared is None:
        raise KeyError(f"{fact_name} declares no {field_name}")
    return list(declared.choices)


def _shares(weights: Weights, order: list[str]) -> Array:
    values: Array = np.array([weights.weights.get(name, 0.0) for name in order])
    shares: Array = values / values.sum()
    return shares


# ------------------------------------------------------------------------------------ entry


def check_arguments(residents: int, year: int, seed: int) -> None:
    if not 1 <= residents <= MAX_RESIDENTS:
        raise DomainError(f"--residents: {residents} is not between 1 and {MAX_RESIDENTS:,}")
    if not YEARS[0] <= year <= YEARS[1]:
        raise DomainError(f"--year: {year} is not between {YEARS[0]} and {YEARS[1]}")
    if seed < 0:
        raise DomainError(f"--seed: {seed} is negative")


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
        residents_fact(run)
        tell("residents", writer.total)
        follow_ups = chronic_facts(run)
        contract_facts(run)
        public_health_facts(run, follow_ups)
        staff_facts(run)
        facilities.write(run)
        tell("chronic care, contracts, public health, staff", writer.total)
        for m in range(12):
            run.month(m)
            tell(cal.month(m), writer.total)
    return dict(writer.rows)
