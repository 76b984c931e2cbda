"""Encounters of the synthetic city: where each visit and admission happens, its diagnosis and
cost, the visits a completed referral leads to, and the encounter rows written in date order.
The referrals and recognition orders that visits give rise to are drawn here too, from the same
stream, so a visit and what follows from it stay together."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.activity.facts import CLAIM_KINDS, ENCOUNTER_KINDS
from caregrid.finance.vocab import Treatment
from caregrid.synth.columns import dates, ids, numbers, table, take
from caregrid.synth.diagnostics import recognition_orders
from caregrid.synth.draws import (
    ADMISSION,
    BIT,
    CHUNK,
    DISCHARGE,
    EMERGENCY,
    OUTPATIENT,
    PRIMARY,
    Array,
    by_day,
    by_level,
    concat,
    weighted,
)
from caregrid.synth.referrals import DOWN, UP, draw_referrals
from caregrid.synth.year import Year


def place(
    year: Year, rng: np.random.Generator, patient: Array, primary: Array, lead_share: float
) -> Array:
    """Where each encounter happens: at the patient's primary institution or a hospital of
    their network (the lead with `lead_share`); 1 - in_county_share of them (国办发〔2015〕
    70号: 县域内就诊率 ~90%) at an institution of the same level in another county."""
    city, n = year.city, len(patient)
    pool = year.pool[patient]
    n_others = city.pool_others_len[pool]
    other = city.pool_others[pool, np.floor(rng.random(n) * n_others).astype(np.int64)]
    to_lead = (rng.random(n) < lead_share) | (n_others == 0)
    inst = np.where(
        primary, year.people.inst[patient], np.where(to_lead, city.pool_lead[pool], other)
    )
    county = year.county[patient]
    c = np.maximum(county, 0)
    u = rng.random(n)
    n_primary, n_hospital = city.away_primary_len[c], city.away_hospital_len[c]
    n_away = np.where(primary, n_primary, n_hospital)
    away_inst = np.where(
        primary,
        city.away_primary[c, np.floor(u * n_primary).astype(np.int64)],
        city.away_hospital[c, np.floor(u * n_hospital).astype(np.int64)],
    )
    away = (rng.random(n) >= year.rates.encounter.in_county_share.value) & (county >= 0)
    away &= n_away > 0
    return np.where(away, away_inst, inst).astype(np.int32)


def visit_diagnoses(year: Year, rng: np.random.Generator, patient: Array) -> Array:
    """A weighted common diagnosis; a chronic patient's own condition half of the time
    (china.yaml encounter.chronic_own_diagnosis_share, ours)."""
    n = len(patient)
    index, p = year.visit_dx
    dx = index[rng.choice(len(p), size=n, p=p)]
    tags = year.people.tags[patient]
    hyp = (tags & BIT["hypertension"]) != 0
    dia = (tags & BIT["diabetes"]) != 0
    own = (hyp | dia) & (rng.random(n) < year.rates.encounter.chronic_own_diagnosis_share.value)
    as_hyp = np.where(hyp & dia, rng.random(n) < 0.5, hyp)  # either condition alike
    return np.where(own, np.where(as_hyp, year.dx_hypertension, year.dx_diabetes), dx)


def visit_costs(
    year: Year, rng: np.random.Generator, inst: Array, emergency: Array
) -> tuple[Array, Array]:
    """Cost by level (china.yaml encounter.outpatient_cost_cny, scaled on 公报2022), log-normal
    spread, more for an emergency; insurance pays its share."""
    enc = year.rates.encounter
    sigma = enc.cost_spread.value
    mean = year.outpatient_cost[year.city.level[inst]]
    mean = mean * np.where(emergency, enc.emergency_cost_multiplier.value, 1.0)
    cost = np.round(mean * rng.lognormal(-sigma * sigma / 2, sigma, len(inst)), 2)
    return cost, np.round(cost * enc.insurance_share.value, 2)


def visit_batch(
    year: Year,
    rng: np.random.Generator,
    patient: Array,
    inst: Array,
    day: Array,
    dx: Array,
    emergency: Array,
    referral: Array,
) -> dict[str, Array]:
    cost, paid = visit_costs(year, rng, inst, emergency)
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
        "first": np.full(n, -1, dtype=np.int64),  # a stay's referring institution (claims)
        "via": np.full(n, -1, dtype=np.int64),  # the referral a stay was admitted on (claims)
    }


def follow_on(
    year: Year, rng: np.random.Generator, rows: dict[str, Array], completed: Array
) -> dict[str, Array]:
    """The visit a completed referral leads to, within follow_on_days (ours; NBPHS 2 weeks)."""
    span = year.rates.referral.follow_on_days
    k = np.flatnonzero(completed)
    delay = rng.integers(span.low, span.high + 1, len(k))
    day = np.minimum(rows["day"][k] + delay, year.cal.last)
    return visit_batch(
        year,
        rng,
        rows["patient"][k],
        rows["target"][k].astype(np.int32),
        day,
        rows["dx"][k],
        np.zeros(len(k), dtype=bool),
        rows["seq"][k],
    )


def visits_chunk(
    year: Year, rng: np.random.Generator, n: int, m: int
) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array], dict[str, Array]]:
    """n visits of month m; returns the visits, up-referrals, the visits those lead to and
    the recognition orders."""
    enc, cal = year.rates.encounter, year.cal
    start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
    patient = year.visits.draw(rng, n)
    # uniform days, drawn already in order: the visits need no sorting
    per_day = rng.multinomial(n, np.full(end - start, 1 / (end - start)))
    day = np.repeat(np.arange(start, end), per_day)
    emergency = rng.random(n) < enc.emergency_share.value  # ours, ~5%
    primary = rng.random(n) < enc.primary_share.value  # 公报2022: 基层 50.7% of visits
    inst = place(year, rng, patient, primary, enc.lead_share_of_hospital_visits.value)
    dx = visit_diagnoses(year, rng, patient)
    visits = visit_batch(
        year, rng, patient, inst, day, dx, emergency, np.full(n, -1, dtype=np.int64)
    )
    # Up-referrals: a share of visits at the patient's own primary institution (ours, 2-3%)
    # to the network's lead.
    lead = year.city.pool_lead[year.pool[patient]]
    at_home = (inst == year.people.inst[patient]) & ~emergency & (lead != inst)
    up = np.flatnonzero(
        at_home & (rng.random(n) < year.rates.referral.up_share_of_primary_visits.value)
    )
    refs, completed = draw_referrals(
        year, rng, UP, patient[up], inst[up], lead[up], day[up], dx[up]
    )
    answered = follow_on(year, rng, refs, completed)
    # Recognition: a share of hospital outpatient visits ordered an item a valid prior
    # result existed for (ours, 3%).
    rec = year.rates.recognition
    hospital = (year.city.level[inst] != PRIMARY) & ~emergency
    k = np.flatnonzero(hospital & (rng.random(n) < rec.share_of_hospital_visits.value))
    orders = recognition_orders(year, rng, inst[k], day[k])
    return visits, refs, answered, orders


def admissions_month(
    year: Year, rng: np.random.Generator, m: int
) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array]]:
    """Admissions of month m at 17.5 a hundred residents a year (公报2022), each with its
    discharge 3-15 days later (ours) clipped to 31 December, and down-referrals from the
    lead's discharges (ours, 5-10%) with the visits they lead to."""
    inp, cal, city = year.rates.inpatient, year.cal, year.city
    start, end = int(cal.month_starts[m]), int(cal.month_starts[m + 1])
    n = int(rng.poisson(year.admissions_a_year * (end - start) / cal.days))
    patient = year.admissions.draw(rng, n)
    primary = rng.random(n) < inp.primary_share.value  # ours, ~15% at primary institutions
    inst = place(year, rng, patient, primary, inp.lead_share_of_hospital_admissions.value)
    admitted = rng.integers(start, end, n)
    stay = rng.integers(inp.length_of_stay_days.low, inp.length_of_stay_days.high + 1, n)
    discharged = np.minimum(admitted + stay, cal.last)
    index, p = year.admission_dx
    dx = index[rng.choice(len(p), size=n, p=p)]
    level = city.level[inst]
    # Operations on a share of discharges by level, grades by level (ours: grades 3-4 about
    # half at tertiary hospitals).
    operated = rng.random(n) < by_level(inp.surgery_share)[level]
    grade = np.zeros(n, dtype=np.int8)
    for lvl, weights in enumerate(
        (inp.surgery_levels.primary, inp.surgery_levels.secondary, inp.surgery_levels.tertiary)
    ):
        at = np.flatnonzero(operated & (level == lvl))
        grade[at] = weighted(rng, weights, len(at)) + 1
    # DRG weight log-normal around the level's mean (ours: tertiary CMI 1.0-1.5); the stay
    # costs the level's mean (ours, around 公报2022's 10860元) in proportion to its weight.
    sigma = inp.drg_weight_spread.value
    drg_mean = by_level(inp.drg_weight_mean)[level]
    drg = np.clip(np.round(drg_mean * rng.lognormal(-sigma * sigma / 2, sigma, n), 4), 0.01, 100)
    cost = np.round(by_level(inp.cost_cny)[level] * drg / drg_mean, 2)
    paid = np.round(cost * inp.insurance_share.value, 2)  # ours, 60-70%
    # A share of the lead's admissions came referred up by the patient's own primary
    # institution (ours), sent 0-3 days before within the month; a completed referral is
    # the one the admission answers.
    lead = city.pool_lead[year.pool[patient]]
    home = year.people.inst[patient]
    via = np.flatnonzero(
        (inst == lead)
        & (home != inst)
        & (rng.random(n) < year.rates.referral.up_share_of_lead_admissions.value)
    )
    sent = np.maximum(admitted[via] - rng.integers(0, 4, len(via)), start)
    up, answered = draw_referrals(year, rng, UP, patient[via], home[via], inst[via], sent, dx[via])
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
        # the discharge's claim carries the admission's referral and who sent it (B7)
        "first": np.concatenate([none, np.where(admission_referral >= 0, home, -1)]),
        "via": np.concatenate([none, admission_referral]),
    }
    down = np.flatnonzero(
        (inst == lead) & (rng.random(n) < year.rates.referral.down_share_of_lead_discharges.value)
    )
    refs, completed = draw_referrals(
        year, rng, DOWN, patient[down], inst[down], home[down], discharged[down], dx[down]
    )
    return stays, concat([up, refs]), follow_on(year, rng, refs, completed)


def encounter_table(year: Year, b: dict[str, Array]) -> pa.Table:
    n = len(b["day"])
    seq = np.arange(year.next_encounter, year.next_encounter + n, dtype=np.int64)
    year.next_encounter += n
    people = year.people
    patient = b["patient"]
    div = people.div[patient]
    tags = people.tags[patient]
    other_key = (
        ((tags & BIT["hypertension"]) != 0) * 1
        + ((tags & BIT["diabetes"]) != 0) * 2
        + (b["dx"] == year.dx_hypertension) * 4
    )
    other_key = np.where(b["dx"] == year.dx_diabetes, other_key & 1, other_key)
    referral = b["referral"]
    return table(
        "encounter",
        {
            "encounter_id": ids("E" + year.y, seq, 10),
            "institution_code": take(year.city.institutions, b["inst"]),
            "department_code": take(year.dept_codes, year.dx_dept[b["dx"]]),
            "patient_id": ids("P", patient + 1, 8),
            "home_division_code": take(year.city.divisions, div),
            "kind": take(pa.array(ENCOUNTER_KINDS, pa.string()), b["kind"]),
            "date": dates(b["day"]),
            "diagnosis_code": take(year.dx_codes, b["dx"]),
            "other_diagnosis_codes": year.others.take(pa.array(other_key.astype(np.int32))),
            "surgery_level": pa.array(
                b["surgery"].astype(np.int32), pa.int32(), mask=b["surgery"] == 0
            ),
            "drg_weight": numbers(b["drg"], ~np.isnan(b["drg"])),
            "total_cost_cny": numbers(b["cost"]),
            "insurance_paid_cny": numbers(b["paid"]),
            "insured_division_code": take(year.city.insured, div),
            "referral_id": ids("R" + year.y, np.maximum(referral, 0), 9, referral >= 0),
        },
    )


def write_encounters(
    year: Year, month: str, part: str, b: dict[str, Array], ordered: bool = False
) -> None:
    """Rows by date (encounter ids follow it), in parts of at most CHUNK rows."""
    if not ordered:
        order = by_day(b["day"])
        b = {k: v[order] for k, v in b.items()}
    for c, start in enumerate(range(0, len(b["day"]), CHUNK)):
        piece = {k: v[start : start + CHUNK] for k, v in b.items()}
        year.out.put("encounter", month, encounter_table(year, piece), f"{part}{c}")
        claims = claim_table(year, piece)
        if claims.num_rows:
            year.out.put("claim", month, claims, f"{part}{c}")


def claim_table(year: Year, b: dict[str, Array]) -> pa.Table:
    """The insurance bureau's claims of the batch: a visit's, and a stay's at its discharge
    with the stay's DIP group (by principal diagnosis and whether it was operated on, from
    finance's points table; none when the table has no group), its deductible by level and,
    when it was admitted on a referral, the referring institution. Care is all in the city's
    registry, so nothing is out of county."""
    k = np.flatnonzero((b["kind"] != ADMISSION) & (b["paid"] > 0))
    stay = b["kind"][k] == DISCHARGE
    dx, operated = b["dx"][k], b["surgery"][k] > 0
    codes = year.dx_codes.to_pylist()
    groups = [
        [year.dip.group_for(code, treatment) for code in codes]
        for treatment in (Treatment.CONSERVATIVE, Treatment.OPERATION)
    ]
    names = sorted({g for row in groups for g in row if g is not None})
    index = np.array(
        [[-1 if g is None else names.index(g) for g in row] for row in groups], dtype=np.int32
    )
    group = np.where(stay, index[operated.astype(np.int32), dx], -1)
    deductible = by_level(year.rates.inpatient.deductible_cny)[year.city.level[b["inst"][k]]]
    via, first = b["via"][k], b["first"][k]
    patient = b["patient"][k]
    n = len(k)
    return table(
        "claim",
        {
            "claim_id": ids("C" + year.y, year.claim_seq(n), 10),
            "institution_code": take(year.city.institutions, b["inst"][k]),
            "patient_id": ids("P", patient + 1, 8),
            "kind": take(pa.array(CLAIM_KINDS, pa.string()), stay.astype(np.int8)),
            "date": dates(b["day"][k]),
            "insured_division_code": take(year.city.insured, year.people.div[patient]),
            "home_division_code": take(year.city.divisions, year.people.div[patient]),
            "out_of_county": pa.array(np.zeros(n, dtype=bool)),
            "total_cost_cny": numbers(b["cost"][k]),
            "insurance_paid_cny": numbers(b["paid"][k]),
            "dip_group": take(pa.array(names, pa.string()), np.maximum(group, 0), group >= 0),
            "deductible_cny": numbers(deductible, stay),
            "referral_id": ids("R" + year.y, np.maximum(via, 0), 9, via >= 0),
            "first_visit_institution_code": take(
                year.city.institutions, np.maximum(first, 0), first >= 0
            ),
        },
    )
