"""Whole-year facts of the synthetic city's primary care, at the resident's primary
institution: managed hypertension and diabetes patients and their follow-ups, family-doctor
contracts, and basic public health services (which record the follow-ups too)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.activity.facts import CONDITIONS
from caregrid.synth.columns import dates, ids, table, take
from caregrid.synth.draws import (
    BIT,
    S_CHRONIC,
    S_CONTRACT,
    S_PUBLIC_HEALTH,
    Array,
    by_day,
    day_in_year,
    months_of,
    stream,
    weighted,
)
from caregrid.synth.year import Year


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
