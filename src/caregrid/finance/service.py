"""The insurance global budget of a network (I3) and its monthly settlement: budgets and
periods set by the insurance bureau and the network office, each period settled from the
claim facts (DIP point value, members' shares, the B7 waiver, the year-end forecast), closed
settlements immutable and corrected by adjustment rows. Every settlement records its inputs
and the evaluation in force (K9)."""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, InvalidInput, NotFound, Problem, RuleViolation
from caregrid.finance import dip, rules
from caregrid.finance.engine import Engine, Sums, duckdb_sums, postgres_sums
from caregrid.finance.models import Adjustment, Budget, Period, Settlement, SettlementLine, Waiver
from caregrid.finance.vocab import Place, SettlementState
from caregrid.i18n import msg
from caregrid.indicators import service as indicators
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile, as_bands
from caregrid.registry import service as registry

__all__ = ["Adjustment", "Budget", "Period", "Settlement", "SettlementLine", "Waiver"]

ZERO = Decimal("0.00")
REFUSAL = "the global budget is set and settled by the commission or the network's office"


def _profile(session: Session, network_code: str) -> tuple[registry.Network, Profile]:
    network = registry.get_network(session, network_code)
    return network, policy.get(network.profile)


def _money(name: str, value: Decimal, problems: list[Problem]) -> None:
    if value < 0:
        problems.append(Problem(name, msg("must not be negative, got {value}", value=value)))
    elif value != value.quantize(rules.CENT):
        problems.append(
            Problem(name, msg("whole fen only (two decimals), got {value}", value=value))
        )


def set_budget(
    session: Session,
    principal: Principal,
    network_code: str,
    year: int,
    *,
    lump_sum_cny: Decimal,
    dip_pool_cny: Decimal,
) -> Budget:
    """Set (or, before any of its periods is closed, change) a network's budget for a year.
    The profile must pay a global budget (I3); the DIP pool is part of the lump sum."""
    network, profile = _profile(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    if not profile.parameter("insurance_global_budget", date(year, 12, 31)):
        raise RuleViolation(
            "profile {name} pays no insurance global budget to its networks",
            name=profile.name,
            requirement="I3",
        )
    problems: list[Problem] = []
    _money("lump_sum_cny", lump_sum_cny, problems)
    _money("dip_pool_cny", dip_pool_cny, problems)
    if not problems and dip_pool_cny > lump_sum_cny:
        problems.append(Problem("dip_pool_cny", "is part of the lump sum: not above lump_sum_cny"))
    if not 2000 <= year <= 2100:
        problems.append(Problem("year", msg("a calendar year, got {year}", year=year)))
    if problems:
        raise InvalidInput(problems)
    budget = _budget(session, network.id, year)
    if budget is None:
        budget = Budget(network_id=network.id, year=year, created_at=clock.now())
        session.add(budget)
    elif any(_closed(p) for p in budget.periods):
        raise Conflict(
            "{code} {year}: a period is closed; the budget cannot change",
            code=network.code,
            year=year,
        )
    budget.lump_sum_cny, budget.dip_pool_cny = lump_sum_cny, dip_pool_cny
    budget.created_by = principal.username
    session.flush()
    return budget


def _budget(session: Session, network_id: int, year: int) -> Budget | None:
    return session.scalar(
        select(Budget).where(Budget.network_id == network_id, Budget.year == year)
    )


def get_budget(session: Session, network_code: str, year: int) -> Budget:
    network = registry.get_network(session, network_code)
    budget = _budget(session, network.id, year)
    if budget is None:
        raise NotFound("no budget of {code} for {year}", code=network.code, year=year)
    return budget


def period_by_id(session: Session, principal: Principal, period_id: int) -> tuple[str, Period]:
    """A settlement period by its row id and the code of its network, for the network's
    office (its settlement, inputs and waivers are the office's to read)."""
    period = session.get(Period, period_id)
    if period is None:
        raise NotFound("no settlement period {period_id}", period_id=period_id)
    network = registry.get_network_by_id(session, period.budget.network_id)
    access.require_network_office(principal, network.id, REFUSAL)
    return network.code, period


def settlement_by_id(
    session: Session, principal: Principal, settlement_id: int
) -> tuple[str, Settlement]:
    """A settlement by its row id (a new one each time an open period is settled again)."""
    settlement = session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound("no settlement {settlement_id}", settlement_id=settlement_id)
    code, _ = period_by_id(session, principal, settlement.period_id)
    return code, settlement


def latest_budget_year(session: Session, network_code: str, until: int) -> int | None:
    """The last year up to `until` with a budget: what the finance pages open on."""
    network = registry.get_network(session, network_code)
    return session.scalar(
        select(func.max(Budget.year)).where(Budget.network_id == network.id, Budget.year <= until)
    )


def read_budget(session: Session, principal: Principal, network_code: str, year: int) -> Budget:
    """A network's budget for a year and its periods, for the network's office."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    return get_budget(session, network_code, year)


def _closed(period: Period) -> bool:
    return period.settlement is not None and period.settlement.state == SettlementState.CLOSED


def add_period(
    session: Session, principal: Principal, network_code: str, starts_on: date, ends_on: date
) -> Period:
    """A settlement period of the year's budget; one overlapping another is refused."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    budget = get_budget(session, network_code, starts_on.year)
    problems = []
    if ends_on < starts_on:
        problems.append(
            Problem(
                "ends_on",
                msg(
                    "{ends_on} is before starts_on {starts_on}",
                    ends_on=ends_on,
                    starts_on=starts_on,
                ),
            )
        )
    if ends_on.year != budget.year:
        problems.append(
            Problem(
                "ends_on",
                msg(
                    "{ends_on} is outside the budget's year {year}",
                    ends_on=ends_on,
                    year=budget.year,
                ),
            )
        )
    for other in budget.periods:
        if starts_on <= other.ends_on and other.starts_on <= ends_on:
            problems.append(
                Problem(
                    "starts_on",
                    msg(
                        "{starts_on}..{ends_on} overlaps the period {starts_on2}..{ends_on2}",
                        starts_on=starts_on,
                        ends_on=ends_on,
                        starts_on2=other.starts_on,
                        ends_on2=other.ends_on,
                    ),
                )
            )
    if problems:
        raise InvalidInput(problems)
    period = Period(starts_on=starts_on, ends_on=ends_on)
    budget.periods.append(period)
    session.flush()
    return period


def add_months(
    session: Session, principal: Principal, network_code: str, year: int
) -> list[Period]:
    """The year's twelve calendar months as settlement periods."""
    return [
        add_period(
            session,
            principal,
            network_code,
            date(year, m, 1),
            date(year, m, calendar.monthrange(year, m)[1]),
        )
        for m in range(1, 13)
    ]


def get_period(session: Session, network_code: str, starts_on: date) -> Period:
    budget = get_budget(session, network_code, starts_on.year)
    found = next((p for p in budget.periods if p.starts_on == starts_on), None)
    if found is None:
        raise NotFound(
            "no settlement period of {network_code} starting {starts_on}",
            network_code=network_code,
            starts_on=starts_on,
        )
    return found


@dataclass(frozen=True)
class Figures:
    """A period's settlement before it is stored: pure output of the sums and the rules."""

    claims: int
    spend: dict[Place, Decimal]
    pool: Decimal
    points: Decimal
    point_value: Fraction | None
    lines: dict[str, tuple[int, Decimal, Decimal, Decimal]]  # claims, points, DIP paid, other
    waived: list[tuple[str, int, Decimal]]

    @property
    def total(self) -> Decimal:
        return sum(self.spend.values(), ZERO)


def figures(sums: Sums, points: dict[str, Decimal], pool: Decimal, waiver: bool) -> Figures:
    """The period's figures from the claim sums (pure): a member's stays with a DIP group are
    paid their points times the point value (pool ÷ the period's points), every other claim
    what the fund paid on it; spend split by where the care was (Place)."""
    spend = dict.fromkeys(Place, ZERO)
    per: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), ZERO, ZERO, ZERO])
    for g in sums.groups:
        place = Place.NETWORK if g.member else Place.OUTSIDE if g.out_of_county else Place.COUNTY
        by_points = place == Place.NETWORK and g.kind == "inpatient" and g.dip_group is not None
        if g.member and g.institution_code is not None:
            line = per[g.institution_code]
            line[0] += g.claims
            if by_points:
                line[1] += points[str(g.dip_group)] * g.claims
            else:
                line[3] += g.paid
        if not by_points:
            spend[place] += g.paid
    total_points = sum((line[1] for line in per.values()), Decimal(0))
    value = rules.point_value(pool, total_points)
    lines: dict[str, tuple[int, Decimal, Decimal, Decimal]] = {}
    for code, (claims, pts, _, other) in sorted(per.items()):
        paid = ZERO if value is None else rules.cny(Fraction(pts) * value)
        spend[Place.NETWORK] += paid
        lines[code] = (int(claims), pts, paid, other)
    waived = sums.waived if waiver else []
    return Figures(
        sum(g.claims for g in sums.groups), spend, pool, total_points, value, lines, waived
    )


def _sums(
    session: Session, network_code: str, period: Period, using: Engine, facts_root: Path | None
) -> Sums:
    dims = indicators.dims(session)
    days = (period.starts_on.isoformat(), period.ends_on.isoformat())
    table = dip.shipped()
    known = table.points()
    if using == "postgres":
        if session.get_bind().dialect.name != "postgresql":
            raise ValueError("the postgres engine runs on a PostgreSQL operational store")
        sums, unknown = postgres_sums(session, dims, network_code, days, known)
    elif facts_root is not None:
        sums, unknown = duckdb_sums(facts_root, dims, network_code, days, known)
    else:
        with indicators.snapshot(session, (fact("claim"),)) as root:
            sums, unknown = duckdb_sums(root, dims, network_code, days, known)
    if unknown:
        raise InvalidInput(
            [
                Problem(
                    "dip_group",
                    msg(
                        "claim {claim}: group {group!r} is not in the DIP table {name}; "
                        "nothing was settled",
                        claim=claim,
                        group=group,
                        name=table.name,
                    ),
                )
                for claim, group in unknown
            ]
        )
    return sums


def claims_paid(
    session: Session, principal: Principal, network_code: str, starts_on: date
) -> tuple[Decimal, Decimal]:
    """What the fund paid on the period's claims of the network's insured, all of them and
    those of in-network stays with a DIP group: the figures a budget for a year is drawn up
    from (the bureau's own last year, or the demo's synthetic month)."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    period = get_period(session, network_code, starts_on)
    sums = _sums(session, network_code, period, "duckdb", None)
    total = sum((g.paid for g in sums.groups), ZERO)
    dip_stays = sum((g.paid for g in sums.groups if g.member and g.dip_group), ZERO)
    return total, dip_stays


def settle(
    session: Session,
    principal: Principal,
    network_code: str,
    starts_on: date,
    *,
    using: Engine | None = None,
    facts_root: Path | None = None,
) -> Settlement:
    """Settle a period from the claims (again, while it is open). DuckDB (the default) reads
    the facts under `facts_root`, or the operational store's claims beside the analytics
    store's; `using="postgres"` reads the operational `fact_claim` alone. A closed settlement
    is refused: correct it with an adjustment."""
    network, profile = _profile(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    period = get_period(session, network_code, starts_on)
    if _closed(period):
        assert period.settlement is not None
        raise Conflict(
            "the settlement of {code} {starts_on}..{ends_on} was closed on "
            "{closed_at:%Y-%m-%d}; correct it with an adjustment",
            code=network.code,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            closed_at=period.settlement.closed_at,
        )
    budget = period.budget
    on = period.ends_on
    # DuckDB by default on both backends: its snapshot holds the operational store's claims
    # and those the member systems sent to the analytics store (the demo's synthetic city
    # is there only); the PostgreSQL engine reads `fact_claim` alone, when asked.
    chosen: Engine = using or "duckdb"
    sums = _sums(session, network.code, period, chosen, facts_root)
    days, year_days = _days(period), rules.year_days(budget.year)
    pool = rules.pro_rata(budget.dip_pool_cny, days, year_days)
    waiver = bool(profile.parameter("no_second_inpatient_deductible", on))
    table = dip.shipped()
    found = figures(sums, table.points(), pool, waiver)
    surplus = as_bands(profile.parameter("surplus_kept_bands", on) or {1: 0})
    overspend = as_bands(profile.parameter("overspend_fund_bands", on) or {1: 0})
    so_far, days_so_far = found.total, days
    for other in budget.periods:
        if other.id != period.id and other.settlement is not None:
            so_far += _paid(other.settlement)
            days_so_far += _days(other)
    spend = rules.forecast(so_far, days_so_far, year_days)
    result = rules.year_result(budget.lump_sum_cny, spend, surplus, overspend)
    evaluation = indicators.evaluation_in_force(session, network.code, on)
    inputs = {
        "engine": chosen,
        "days": [period.starts_on.isoformat(), period.ends_on.isoformat()],
        "claims": found.claims,
        "dip_table": {"name": table.name, "evidence": table.evidence, "source": table.source},
        "pool": {
            "dip_pool_cny": str(budget.dip_pool_cny),
            "days": days,
            "year_days": year_days,
            "rule": "the year's DIP pool pro rata over the period's days",
        },
        "profile": {
            "name": profile.name,
            "I3 surplus_kept_bands": _bands_text(surplus),
            "I3 overspend_fund_bands": _bands_text(overspend),
            "B7 no_second_inpatient_deductible": waiver,
        },
        "forecast": {
            "spend_so_far_cny": str(so_far),
            "days_so_far": days_so_far,
            "year_days": year_days,
            "lump_sum_cny": str(budget.lump_sum_cny),
            "bands": [
                {
                    "low": str(p.low),
                    "high": None if p.high is None else str(p.high),
                    "amount": str(p.amount),
                    "share": str(p.share),
                    "shared": str(p.shared),
                }
                for p in result.parts
            ],
        },
        "evaluation": None
        if evaluation is None
        else {
            "id": evaluation.id,
            "period": evaluation.period,
            "met": evaluation.met,
            "criteria": evaluation.criteria,
        },
    }
    if period.settlement is not None:  # an open one is computed afresh
        session.delete(period.settlement)
        session.flush()
        session.expire(period, ["settlement"])
    settlement = Settlement(
        state=SettlementState.OPEN,
        engine=chosen,
        claims=found.claims,
        spend_network_cny=found.spend[Place.NETWORK],
        spend_county_cny=found.spend[Place.COUNTY],
        spend_outside_cny=found.spend[Place.OUTSIDE],
        pool_cny=pool,
        points=found.points,
        point_value_cny=None
        if found.point_value is None
        else Decimal(found.point_value.numerator) / Decimal(found.point_value.denominator),
        waived_cny=sum((a for _, _, a in found.waived), ZERO),
        waived_patients=len(found.waived),
        forecast_spend_cny=spend,
        forecast_result_cny=result.result,
        forecast_network_cny=result.network,
        evaluation_id=None if evaluation is None else evaluation.id,
        evaluation_period=None if evaluation is None else evaluation.period,
        inputs=json.dumps(inputs, ensure_ascii=False, sort_keys=True),
        computed_by=principal.username,
        computed_at=clock.now(),
    )
    settlement.lines = [
        SettlementLine(
            institution_code=code, claims=n, points=pts, dip_paid_cny=paid, other_paid_cny=other
        )
        for code, (n, pts, paid, other) in found.lines.items()
    ]
    settlement.waivers = [Waiver(patient_id=p, stays=n, amount_cny=a) for p, n, a in found.waived]
    period.settlement = settlement
    session.flush()
    return settlement


def _days(period: Period) -> int:
    return rules.days_between(period.starts_on, period.ends_on)


def _record(session: Session, network_code: str, settlement: Settlement) -> None:
    """A closed settlement as the `settlement` fact, which FS1-FS4 read: written when it is
    closed and again when an adjustment changes what was paid (the row is upserted on the
    network and the period's first day)."""
    period = settlement.period
    budget = period.budget
    share = rules.budget_share(budget.lump_sum_cny, budget.year, period.starts_on, period.ends_on)
    paid = _paid(settlement)
    row = {
        "network_code": network_code,
        "starts_on": period.starts_on,
        "ends_on": period.ends_on,
        "claims": settlement.claims,
        "budget_share_cny": float(share),
        "paid_cny": float(paid),
        "result_cny": float(share - paid),
        "waived_cny": float(settlement.waived_cny),
        "waived_stays": sum(w.stays for w in settlement.waivers),
    }
    declared = fact("settlement")
    store(session, declared, pa.Table.from_pylist([row], schema(declared)))


def _bands_text(bands: rules.Bands) -> list[list[str]]:
    return [[str(edge), str(share)] for edge, share in bands]


def _paid(settlement: Settlement) -> Decimal:
    """What the fund paid in a settled period, its adjustments included."""
    adjusted = sum((a.amount_cny for a in settlement.adjustments), ZERO)
    return (
        settlement.spend_network_cny
        + settlement.spend_county_cny
        + settlement.spend_outside_cny
        + adjusted
    )


def close(session: Session, principal: Principal, network_code: str, starts_on: date) -> Settlement:
    """Close a period's settlement: from now on it is immutable."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    period = get_period(session, network_code, starts_on)
    settlement = period.settlement
    if settlement is None:
        raise Conflict(
            "{code} {starts_on}: settle the period before closing it",
            code=network.code,
            starts_on=period.starts_on,
        )
    if settlement.state == SettlementState.CLOSED:
        raise Conflict(
            "{code} {starts_on}: already closed", code=network.code, starts_on=period.starts_on
        )
    settlement.state = SettlementState.CLOSED
    settlement.closed_by, settlement.closed_at = principal.username, clock.now()
    session.flush()
    _record(session, network.code, settlement)
    return settlement


def adjust(
    session: Session,
    principal: Principal,
    network_code: str,
    starts_on: date,
    *,
    amount_cny: Decimal,
    reason: str,
    institution_code: str | None = None,
) -> Adjustment:
    """A correction of a closed settlement, as a new row: a signed amount (more paid > 0)."""
    network = registry.get_network(session, network_code)
    access.require_network_office(principal, network.id, REFUSAL)
    period = get_period(session, network_code, starts_on)
    settlement = period.settlement
    problems = []
    if settlement is None or settlement.state != SettlementState.CLOSED:
        problems.append(Problem("period", "only a closed settlement is adjusted; settle again"))
    if not reason.strip():
        problems.append(Problem("reason", "say why the settlement is corrected"))
    if amount_cny == 0 or amount_cny != amount_cny.quantize(rules.CENT):
        problems.append(
            Problem(
                "amount_cny",
                msg("a non-zero amount in whole fen, got {amount_cny}", amount_cny=amount_cny),
            )
        )
    if institution_code is not None and institution_code not in {
        code for code, net in indicators.dims(session).members if net == network.code
    }:
        problems.append(
            Problem(
                "institution_code",
                msg("{institution_code} is not a member", institution_code=institution_code),
            )
        )
    if problems:
        raise InvalidInput(problems)
    assert settlement is not None
    adjustment = Adjustment(
        institution_code=institution_code,
        amount_cny=amount_cny,
        reason=reason.strip(),
        created_by=principal.username,
        created_at=clock.now(),
    )
    settlement.adjustments.append(adjustment)
    session.flush()
    _record(session, network.code, settlement)
    return adjustment


def dip_table() -> dip.Table:
    """The DIP points table settlements use (shipped, evidence `ours`)."""
    return dip.shipped()


def inputs(settlement: Settlement) -> dict[str, object]:
    """What a settlement's figures came from (K9), as stored."""
    found: dict[str, object] = json.loads(settlement.inputs)
    return found
