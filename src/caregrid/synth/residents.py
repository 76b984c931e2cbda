"""The residents of the synthetic city: where they live, whom they register with, age, sex and
key populations, held once as small NumPy columns; how to draw residents by a weight (who
visits, who is admitted); and the register written on 31 December."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import yaml

from caregrid.errors import DomainError
from caregrid.synth.columns import dates, ids, table, take
from caregrid.synth.draws import (
    BIT,
    CHRONIC_BITS,
    S_RESIDENTS,
    TAGS,
    Array,
    Calendar,
    day_in_year,
    stream,
    weighted,
)
from caregrid.synth.layout import City
from caregrid.synth.rates import AgeWeights, Rates
from caregrid.synth.writer import Writer


@lru_cache
def _key_population_ages() -> tuple[int, int]:
    """The children's top age and the elderly's lowest age, from data/key_populations.yaml, the
    catalog the resident register derives them with; it must know every tag we write."""
    text = resources.files("caregrid.data").joinpath("key_populations.yaml").read_text("utf-8")
    catalog = yaml.safe_load(text)
    known = set(catalog["derived"]) | set(catalog["declared"])
    missing = sorted(set(TAGS) - known)
    if missing:
        raise DomainError(
            "key_populations.yaml does not declare {missing}", missing=", ".join(missing)
        )
    derived = catalog["derived"]
    return int(derived["children"]["max_age_years"]), int(derived["elderly"]["min_age_years"])


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
    """Every resident as one entry of small columns; a resident's patient id is index + 1."""

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


def residents_fact(out: Writer, city: City, people: Residents, cal: Calendar) -> None:
    """The register on 31 December: one row per resident."""
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

    out.chunks("resident", month, rows, make)
