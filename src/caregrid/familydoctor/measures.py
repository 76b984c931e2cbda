"""Yearly family-doctor and chronic-care measures of a network (E5, F3, B9), per institution
and for the network, against the profile's targets. Computed from the operational tables
until the indicator engine takes them over; definitions in docs/family-doctor.md.

As of the earlier of today and 31 December of the year:
- FD1 signing rate: registered residents with a contract in force ÷ registered residents.
- FD2 key-population signing rate, all key populations and each one.
- FD3 fulfilment (ours, unofficial): Σ min(delivered, due) ÷ Σ due over the items of contracts
  in force, due pro rata over each term.
- appointment keeping (ours): follow-up due dates fallen in the year, kept when the next
  follow-up came on or before the date.
- CD1/CD4 standardised management: patients with the standard's four face-to-face follow-ups
  in the year (pro rata for those confirmed during it) ÷ patients under management.
- CD2/CD5 control: last follow-up of the year at target ÷ under management; a patient
  without a follow-up in the year counts as not controlled.
- CD7 (ours): hypertension and diabetes visits at primary institutions ÷ all of them.
- B9: the lead's downward referrals of these patients, this year against last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.chronic import service as chronic
from caregrid.chronic.standard import Condition, load_standard
from caregrid.config import get_settings
from caregrid.errors import Forbidden
from caregrid.familydoctor import service as familydoctor
from caregrid.policy import service as policy
from caregrid.rates import Rate
from caregrid.referral import service as referrals
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level
from caregrid.residents import service as residents

TOTAL = "(network)"


@dataclass
class Row:
    institution_code: str
    institution_name: str
    signing: Rate = field(default_factory=Rate)
    key_population_signing: Rate = field(default_factory=Rate)
    by_key_population: dict[str, Rate] = field(default_factory=dict)
    fulfilment: Rate = field(default_factory=Rate)
    appointment_keeping: Rate = field(default_factory=Rate)
    standardised: dict[str, Rate] = field(default_factory=dict)  # by condition
    controlled: dict[str, Rate] = field(default_factory=dict)
    primary_visits: Rate = field(default_factory=Rate)


@dataclass
class NetworkYear:
    network_code: str
    year: int
    as_of: date
    rows: list[Row]
    down_referrals: int
    down_referrals_last_year: int
    down_referral_growth_target: Fraction | None

    @property
    def down_referral_growth(self) -> float | None:
        last = self.down_referrals_last_year
        return None if last == 0 else (self.down_referrals - last) / last


def _year_start(year: int) -> datetime:
    return datetime.combine(date(year, 1, 1), time.min, ZoneInfo(get_settings().timezone))


def _required_follow_ups(confirmed_on: date, year: int, per_year: int) -> int:
    """The standard's yearly minimum, pro rata by days for a patient confirmed during the year
    and rounded up (CareGrid's reading: the standard states no rule for part years)."""
    if confirmed_on.year < year:
        return per_year
    days_left = (date(year, 12, 31) - confirmed_on).days + 1
    days_in_year = (date(year, 12, 31) - date(year, 1, 1)).days + 1
    return math.ceil(Fraction(per_year * days_left, days_in_year))


def network_year(
    session: Session, principal: Principal, network_code: str, year: int
) -> NetworkYear:
    network = registry.get_network(session, network_code)
    members = access.network_institution_ids(session, network.id)
    own = access.measure_scope(
        principal,
        network.id,
        "these measures are for the network's office, its members and the commission",
    )
    if own is not None and own not in members:
        raise Forbidden(f"your institution is not a member of {network.code}")
    as_of = min(clock.today(), date(year, 12, 31))
    start = date(year, 1, 1)
    profile = policy.get(network.profile)
    standard = load_standard()
    institutions = {i: registry.get_institution_by_id(session, i) for i in members}
    rows: dict[int, Row] = {
        i: Row(inst.code, inst.name_zh)
        for i, inst in sorted(institutions.items(), key=lambda kv: kv[1].code if kv[1] else "")
        if inst is not None
    }
    targets = {
        "signing": profile.ratio("signing_rate", as_of),
        "key": profile.ratio("key_population_signing_rate", as_of),
        "standardised": profile.ratio("standardised_management_rate", as_of),
        "primary": profile.ratio("chronic_primary_visit_share", as_of),
    }
    for row in rows.values():
        row.signing.target, row.key_population_signing.target = targets["signing"], targets["key"]
        row.primary_visits.target = targets["primary"]
        for condition in Condition:
            row.standardised[condition] = Rate(target=targets["standardised"])
            row.controlled[condition] = Rate()

    # FD1, FD2
    signed_ids = familydoctor.signed_resident_ids(session, as_of)
    for person in residents.registered_at(session, members):
        row = rows[person.registered_institution_id]
        signed = person.id in signed_ids
        row.signing.add(signed)
        tags = residents.key_populations(person, as_of)
        if tags:
            row.key_population_signing.add(signed)
        for tag in tags:
            row.by_key_population.setdefault(tag, Rate(target=targets["key"])).add(signed)
    # FD3
    for team in familydoctor.teams(session, network_id=network.id):
        done = familydoctor.team_fulfilment(session, team.id, as_of)
        rows[team.institution_id].fulfilment.numerator += done.delivered
        rows[team.institution_id].fulfilment.denominator += done.due
    # CD1, CD2, CD4, CD5, appointment keeping
    for enrolment in chronic.managed(session, members, as_of):
        row = rows[enrolment.institution_id]
        condition = Condition(enrolment.condition)
        every = chronic.follow_ups(session, enrolment.id)
        visits = [v for v in every if start <= v.visited_on <= as_of]
        assert enrolment.confirmed_on is not None
        required = _required_follow_ups(
            enrolment.confirmed_on, year, standard.min_follow_ups_per_year()
        )
        row.standardised[condition].add(len(visits) >= required)
        row.controlled[condition].add(bool(visits) and chronic.is_controlled(visits[-1]))
        for i, visit in enumerate(every):
            due = visit.next_due_on
            if due is None or not start <= due <= as_of:
                continue
            # the next follow-up keeps it, even one made late in the previous year
            kept = any(later.visited_on <= due for later in every[i + 1 :])
            row.appointment_keeping.add(kept)
    # CD7
    for visit_institution in chronic.visit_institutions(session, members, start, as_of):
        inst = institutions.get(visit_institution)
        rows[visit_institution].primary_visits.add(inst is not None and inst.level == Level.PRIMARY)
    # B9
    chronic_codes = standard.icd10_prefixes()
    lead = registry.lead_of(session, network.id)
    leads = {lead.id} if lead is not None else set()
    this = referrals.count_down_referrals(
        session,
        network_id=network.id,
        from_institution_ids=leads,
        diagnosis_prefixes=chronic_codes,
        start=_year_start(year),
        end=_year_start(year + 1),
    )
    last = referrals.count_down_referrals(
        session,
        network_id=network.id,
        from_institution_ids=leads,
        diagnosis_prefixes=chronic_codes,
        start=_year_start(year - 1),
        end=_year_start(year),
    )
    listed = [r for i, r in rows.items() if own is None or i == own]
    if own is None:
        listed.append(_total(list(rows.values())))
    return NetworkYear(
        network_code=network.code,
        year=year,
        as_of=as_of,
        rows=listed,
        down_referrals=this,
        down_referrals_last_year=last,
        down_referral_growth_target=profile.ratio("down_referral_chronic_growth", as_of),
    )


def _total(rows: list[Row]) -> Row:
    total = Row(TOTAL, "合计")
    for row in rows:
        total.signing = row.signing.plus(total.signing)
        total.key_population_signing = row.key_population_signing.plus(total.key_population_signing)
        total.fulfilment = row.fulfilment.plus(total.fulfilment)
        total.appointment_keeping = row.appointment_keeping.plus(total.appointment_keeping)
        total.primary_visits = row.primary_visits.plus(total.primary_visits)
        for tag, rate in row.by_key_population.items():
            total.by_key_population[tag] = rate.plus(total.by_key_population.get(tag, Rate()))
        for condition in Condition:
            total.standardised[condition] = row.standardised[condition].plus(
                total.standardised.get(condition, Rate())
            )
            total.controlled[condition] = row.controlled[condition].plus(
                total.controlled.get(condition, Rate())
            )
    return total
