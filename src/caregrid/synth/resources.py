"""The resources of the synthetic city's institutions: staff on 31 December with their training
records over the year, and each working day's outpatient slots and beds with the share reserved
for primary doctors; the lead's teaching plans for its primary members and the staff it mentors."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np
import pyarrow as pa

from caregrid.policy import service as policy
from caregrid.synth.columns import choices, dates, ids, table, take
from caregrid.synth.draws import (
    PRIMARY,
    S_CAPACITY,
    S_STAFF,
    S_TRAINING,
    Array,
    by_day,
    months_of,
    shares,
    stream,
    weighted,
)
from caregrid.synth.year import Year
from caregrid.workforce import service as workforce
from caregrid.workforce.vocab import SinkingRole

BED_DEPARTMENT = "inpatient"  # capacity rows of beds are for the hospital's wards as a whole


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
            counts = list(rng.multinomial(total, shares(rates.primary_mix, professions)))
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
    title = weighted(rng, shares(rates.title_levels, titles), n)
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
                    "kind": pa.array(np.full(len(k), "modular"), pa.string()),
                    "date": dates(day[k]),
                    "passed": pa.array(passed[k], pa.bool_()),
                },
            )

        year.out.chunks("training", month, rows, make)
    _teaching(year, inst, staff_id, posted)
    _evaluations(year, inst, staff_id)


def _evaluations(year: Year, inst: Array, staff_id: Array) -> None:
    """Each staff member evaluated once in the year with a drawn share, on a day of the year,
    graded by weights (K2, all ours)."""
    rates, city, cal = year.rates.training, year.city, year.cal
    rng = stream(year.seed, S_STAFF, 9)
    who = np.flatnonzero(rng.random(len(inst)) < rates.evaluated_share.value)
    day = cal.first + rng.integers(0, cal.days, len(who))
    grades = list(rates.grades.weights)
    grade = weighted(rng, list(rates.grades.weights.values()), len(who))
    for month, rows in months_of(day):

        def make(k: Array) -> pa.Table:
            return table(
                "staff_evaluation",
                {
                    "evaluation_id": ids("EV" + year.y, who[k] + 1, 7),
                    "institution_code": take(city.institutions, inst[who[k]]),
                    "staff_id": ids("W", staff_id[who[k]], 7),
                    "evaluated_on": dates(day[k]),
                    "grade": take(pa.array(grades, pa.string()), grade[k]),
                },
            )

        year.out.chunks("staff_evaluation", month, rows, make)


def _teaching(year: Year, inst: Array, staff_id: Array, posted: Array) -> None:
    """Each primary member's teaching plans made by its lead in the year, most delivered, and
    its staff the lead mentors, each with a professional of the lead (all ours)."""
    rates, city, cal = year.rates.training, year.city, year.cal
    rng = stream(year.seed, S_TRAINING)
    plan_at: list[int] = []
    mentees: list[int] = []
    mentors: list[int] = []
    for k in range(len(city.level)):
        lead = int(city.lead_of[k])
        if city.level[k] != PRIMARY or lead < 0:
            continue
        plans = rng.integers(
            rates.teaching_plans_per_member.low, rates.teaching_plans_per_member.high + 1
        )
        plan_at.extend([k] * int(plans))
        own = np.flatnonzero((inst == k) & (posted < 0))
        theirs = np.flatnonzero(inst == lead)
        want = int(rng.integers(rates.mentored_per_member.low, rates.mentored_per_member.high + 1))
        chosen = rng.choice(own, min(want, len(own)), replace=False)
        mentees.extend(int(c) for c in chosen)
        mentors.extend(int(c) for c in rng.choice(theirs, len(chosen)))
    at = np.array(plan_at, dtype=np.int64)
    planned = cal.first + rng.integers(0, cal.days, len(at))
    delay = rates.delivery_days
    delivered = planned + rng.integers(delay.low, delay.high + 1, len(at))
    made = (rng.random(len(at)) < rates.delivered_share.value) & (delivered <= cal.last)
    for month, rows in months_of(planned):

        def plan(k: Array) -> pa.Table:
            return table(
                "teaching_plan",
                {
                    "plan_id": ids("TP" + year.y, k + 1, 6),
                    "institution_code": take(city.institutions, at[k]),
                    "planned_on": dates(planned[k]),
                    "delivered_on": pa.array(
                        delivered[k].astype(np.int32), pa.int32(), mask=~made[k]
                    ).view(pa.date32()),
                },
            )

        year.out.chunks("teaching_plan", month, rows, plan)
    who = np.array(mentees, dtype=np.int64)
    mentor = np.array(mentors, dtype=np.int64)
    starts = cal.first + rng.integers(0, cal.days, len(who))
    months = rng.integers(rates.mentorship_months.low, rates.mentorship_months.high + 1, len(who))
    for month, rows in months_of(starts):

        def mentorship(k: Array) -> pa.Table:
            return table(
                "mentorship",
                {
                    "mentorship_id": ids("MT" + year.y, k + 1, 6),
                    "institution_code": take(city.institutions, inst[who[k]]),
                    "staff_id": ids("W", staff_id[who[k]], 7),
                    "mentor_code": ids("W", staff_id[mentor[k]], 7),
                    "starts_on": dates(starts[k]),
                    "ends_on": dates(starts[k] + months[k] * 30),
                },
            )

        year.out.chunks("mentorship", month, rows, mentorship)


def capacity(year: Year, m: int) -> None:
    """Each working day (Mon-Fri) of month m, each hospital's outpatient slots per
    department and its beds, and how many it reserved for primary doctors: each department
    keeps a steady schedule and a reserved share drawn around the plans' 1/3 of slots and
    1/4 of beds (ours)."""
    cap = year.rates.capacity
    hospitals = np.flatnonzero(year.city.level != PRIMARY)
    depts = cap.slot_departments.codes
    base = stream(year.seed, S_CAPACITY)  # the same schedule all year
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
    days = np.arange(year.cal.month_starts[m], year.cal.month_starts[m + 1])
    days = days[(days + 3) % 7 < 5]  # 1970-01-01 was a Thursday
    rng = stream(year.seed, S_CAPACITY, m)
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
    total = np.where(bed, year.city.beds[hospitals[h]], totals[h, dd])
    share = np.where(bed, bed_share[h], slot_share[h, dd])
    reserved = rng.binomial(total, share)
    year.out.put(
        "capacity",
        year.cal.month(m),
        table(
            "capacity",
            {
                "resource": take(pa.array(["slot", "bed"]), bed.astype(np.int32)),
                "institution_code": take(year.city.institutions, hospitals[h]),
                "department_code": take(pa.array([*depts, BED_DEPARTMENT]), d),
                "date": dates(days[t]),
                "total": pa.array(total.astype(np.int32), pa.int32()),
                "reserved": pa.array(reserved.astype(np.int32), pa.int32()),
            },
        ),
        "0",
    )


def staff_posting_facts(year: Year) -> None:
    """The lead's experts and managers serving primary institutions of its network through
    the year, a row per month (C5, C6): a Poisson number of experts per institution, and a
    manager with a drawn share (all ours); codes `SYN-P<n>`."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    rng = stream(year.seed, S_STAFF, 7)
    n = len(city.institutions)
    lead = city.lead_of
    served = np.flatnonzero((city.level == PRIMARY) & (lead >= 0) & (lead != np.arange(n)))
    experts = rng.poisson(rates.sinking_per_primary.value, len(served))
    managed = rng.random(len(served)) < rates.managed_share.value
    at = np.concatenate([np.repeat(served, experts), served[managed]])
    purpose = np.array(["sinking"] * int(experts.sum()) + ["management"] * int(managed.sum()))
    if not len(at):
        return
    people = np.arange(len(at), dtype=np.int64)
    for m in range(12):
        start = int(cal.month_starts[m])
        year.out.put(
            "staff_posting",
            cal.month(m),
            table(
                "staff_posting",
                {
                    "posting_id": ids("SP" + year.y, people, 7),
                    "practitioner_code": ids("SYN-P", people, 6),
                    "institution_code": take(city.institutions, at),
                    "from_institution_code": take(city.institutions, lead[at]),
                    "purpose": pa.array(purpose, pa.string()),
                    "served_in": dates(np.full(len(at), start)),
                },
            ),
            "0",
        )

    _sinking_weeks(year, rng, at[purpose == "sinking"], people[purpose == "sinking"])


def _sinking_weeks(year: Year, rng: np.random.Generator, at: Array, people: Array) -> None:
    """Each whole week of the year of each expert sent down: a ward director with a drawn
    share, else a clinic expert; the working days their member's profile asks of the role
    (C5), served in full or more with a drawn share, else fewer (ours)."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    monday = cal.first + (4 - cal.first) % 7  # day 0, 1970-01-01, was a Thursday
    weeks = np.arange(monday, cal.last - 5, 7)
    ward = rng.random(len(at)) < rates.ward_director_share.value
    role = np.where(ward, SinkingRole.WARD_DIRECTOR.value, SinkingRole.CLINIC.value)
    required = np.array(
        [
            [_required(city.profile_of[int(k)], str(r), int(w)) for w in weeks]
            for k, r in zip(at, role, strict=True)
        ],
        dtype=np.int64,
    ).reshape(len(at), len(weeks))
    who = np.repeat(np.arange(len(at)), len(weeks))
    week = np.tile(weeks, len(at))
    want = required.reshape(-1)
    met = rng.random(len(who)) < rates.sinking_week_met_share.value
    served = np.where(
        met,
        np.minimum(np.maximum(want, 0) + rng.integers(0, 2, len(who)), 5),
        (rng.random(len(who)) * np.maximum(want, 1)).astype(np.int64),
    )
    known = want >= 0
    for month, rows in months_of(week):

        def make(k: Array) -> pa.Table:
            return table(
                "sinking_week",
                {
                    "posting_id": ids("SP" + year.y, people[who[k]], 7),
                    "institution_code": take(city.institutions, at[who[k]]),
                    "practitioner_code": ids("SYN-P", people[who[k]], 6),
                    "role": pa.array(role[who[k]], pa.string()),
                    "week_of": dates(week[k]),
                    "served": pa.array(served[k], pa.int64()),
                    "required": pa.array(want[k], pa.int64(), mask=~known[k]),
                },
            )

        year.out.chunks("sinking_week", month, rows, make)


def village_doctor_facts(year: Year) -> None:
    """Each primary institution of a network employs a few village doctors through the year
    (乡聘村用, H7), each month paid with a drawn share (all ours); codes `SYN-V<n>`."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    rng = stream(year.seed, S_STAFF, 8)
    employers = np.flatnonzero((city.level == PRIMARY) & (city.lead_of >= 0))
    span = rates.village_doctors_per_primary
    counts = rng.integers(span.low, span.high + 1, len(employers))
    at = np.repeat(employers, counts)
    people = np.arange(len(at), dtype=np.int64)
    for m in range(12):
        paid = rng.random(len(at)) < rates.village_paid_share.value
        year.out.put(
            "village_doctor_month",
            cal.month(m),
            table(
                "village_doctor_month",
                {
                    "village_doctor_id": ids("VD" + year.y, people, 6),
                    "institution_code": take(city.institutions, at),
                    "practitioner_code": ids("SYN-V", people, 6),
                    "month_of": dates(np.full(len(at), int(cal.month_starts[m]))),
                    "paid": pa.array(paid, pa.bool_()),
                },
            ),
            "0",
        )


def key_member_facts(year: Year) -> None:
    """Each network names a few of its primary members key members for the year (C5); each
    month a ward director sent down serves at one with a drawn share, and a drawn number of
    clinic experts (all ours)."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    rng = stream(year.seed, S_STAFF, 9)
    chosen: list[int] = []
    for p in range(len(city.networks)):
        mine = np.flatnonzero((city.network_of == p) & (city.level == PRIMARY))
        span = rates.key_members_per_network
        n = min(len(mine), int(rng.integers(span.low, span.high + 1)))
        chosen.extend(int(k) for k in rng.choice(mine, n, replace=False))
    at = np.array(chosen, dtype=np.int64)
    if not len(at):
        return
    experts = rates.key_member_clinic_experts
    for m in range(12):
        ward = rng.random(len(at)) < rates.key_member_ward_director_share.value
        year.out.put(
            "key_member_month",
            cal.month(m),
            table(
                "key_member_month",
                {
                    "key_member_id": ids("KM" + year.y, np.arange(len(at), dtype=np.int64), 5),
                    "network_code": take(city.networks, city.network_of[at]),
                    "institution_code": take(city.institutions, at),
                    "month_of": dates(np.full(len(at), int(cal.month_starts[m]))),
                    "ward_directors": pa.array(ward.astype(np.int64), pa.int64()),
                    "clinic_experts": pa.array(
                        rng.integers(experts.low, experts.high + 1, len(at)), pa.int64()
                    ),
                },
            ),
            "0",
        )


def specialty_brand_facts(year: Year) -> None:
    """Each primary member of a network at the year's end, holding a city-level specialty
    brand with a drawn share, its specialty drawn by weight (一院一品, C5; all ours)."""
    rates, city, cal = year.rates.staff, year.city, year.cal
    rng = stream(year.seed, S_STAFF, 10)
    at = np.flatnonzero((city.network_of >= 0) & (city.level == PRIMARY))
    if not len(at):
        return
    names = list(rates.specialty_brands.weights)
    weights = np.array(list(rates.specialty_brands.weights.values()), dtype=np.float64)
    held = rng.random(len(at)) < rates.specialty_brand_share.value
    specialty = rng.choice(len(names), len(at), p=weights / weights.sum())
    year.out.put(
        "specialty_brand",
        cal.month(11),
        table(
            "specialty_brand",
            {
                "network_code": take(city.networks, city.network_of[at]),
                "institution_code": take(city.institutions, at),
                "as_of": dates(np.full(len(at), cal.last)),
                "specialty": pa.array(
                    np.array(names, dtype=object)[specialty], pa.string(), mask=~held
                ),
            },
        ),
        "0",
    )


@cache
def _required(profile: str | None, role: str, day: int) -> int:
    """The working days a week the profile asks of the role on the day; -1: none set."""
    if profile is None:
        return -1
    name = workforce.sinking.DAYS_PER_WEEK[SinkingRole(role)]
    value = policy.get(profile).parameter(name, date(1970, 1, 1) + timedelta(days=day))
    return -1 if value is None else int(value)
