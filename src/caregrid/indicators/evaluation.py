"""The half-yearly evaluation against the 15 criteria (K7, K8). The criteria are data
(`data/criteria/*.yaml`, chosen by the profile's `evaluation_criteria`); CareGrid fills what
its own data can prove (grid layout, resource sinking, shared centres, general-specialist
teams, two-way referral) and the commission's evaluator scores every criterion with an
evidence note. Evaluations are stored by network and half-year; re-running refreshes the
automatic part and keeps the evaluator's verdicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.vocab import CentreKind
from caregrid.errors import InvalidInput, Problem, RuleViolation
from caregrid.familydoctor import service as familydoctor
from caregrid.i18n import Message, dump, listing, load, msg
from caregrid.indicators import cockpit, service
from caregrid.indicators.cockpit import Tile
from caregrid.indicators.models import Evaluation, EvaluationItem
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile
from caregrid.registry import checks
from caregrid.registry import service as registry

VERDICTS = ("met", "partly", "not_met")


@dataclass(frozen=True)
class Criterion:
    no: int
    dimension: str
    name_en: str
    text_zh: str
    check: str | None
    limits: dict[str, float] = field(default_factory=dict, compare=False)


@cache
def _raw(name: str) -> Any:
    folder = resources.files("caregrid.data").joinpath("criteria")
    return yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8"))


def catalogue_period_months(name: str) -> int | None:
    """The catalogue's `period_months` (or its base's): the months an evaluation covers when
    the profile sets no `evaluation_interval_months`."""
    raw = _raw(name)
    if raw.get("period_months") is not None:
        return int(raw["period_months"])
    return catalogue_period_months(str(raw["base"])) if raw.get("base") else None


@cache
def criteria(name: str) -> tuple[Criterion, ...]:
    """A catalogue of criteria, a `base` catalogue's criteria replaced by number."""
    raw = _raw(name)
    found = {int(c["number"]): Criterion(
        int(c["number"]), str(c["dimension"]), str(c["name_en"]), str(c["text_zh"]), c.get("check"),
        {str(k): float(v) for k, v in (c.get("limits") or {}).items()},
    ) for c in raw["criteria"]}  # fmt: skip
    unknown = sorted(c.check for c in found.values() if c.check and c.check not in CHECKS)
    if unknown:
        raise ValueError(f"criteria {name}: unknown checks {', '.join(unknown)}")
    for c in found.values():
        missing = [k for k in LIMITS.get(c.check or "", ()) if k not in c.limits]
        if missing:
            raise ValueError(f"criteria {name}: criterion {c.no} needs limits {', '.join(missing)}")
    if raw.get("base"):
        found = {c.no: c for c in criteria(str(raw["base"]))} | found
    return tuple(found[n] for n in sorted(found))


INTERVAL = "evaluation_interval_months"

# How a period of each length is written: a year, its halves, quarters or months.
_MARKS = {12: "", 6: "H", 3: "Q", 1: "-"}
_FORMS = {
    12: r"(\d{4})",
    6: r"(\d{4})H([12])",
    3: r"(\d{4})Q([1-4])",
    1: r"(\d{4})-(0[1-9]|1[0-2])",
}


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def label(year: int, months: int, index: int) -> str:
    """The label of the `index`-th (from 1) period of `months` months in `year`."""
    if months == 1:
        return f"{year}-{index:02d}"
    return f"{year}{_MARKS[months]}{index if months != 12 else ''}"


def _parse(period: str) -> tuple[int, date, date] | None:
    for months, form in _FORMS.items():
        match = re.fullmatch(form, period)
        if match:
            year = int(match.group(1))
            index = int(match.group(2)) if match.lastindex == 2 else 1
            start = (index - 1) * months + 1
            return months, date(year, start, 1), _month_end(year, start + months - 1)
    return None


def interval_months(profile: Profile, on: date) -> int:
    """The months one evaluation covers: the profile's `evaluation_interval_months` (K7) in
    force on `on`, or else the criteria catalogue's `period_months`."""
    value = profile.parameter(INTERVAL, on)
    if value is None:
        name = profile.parameter("evaluation_criteria", on)
        value = catalogue_period_months(str(name)) if name else None
    if value is None or int(value) not in _MARKS:
        raise RuleViolation(
            "the {name} profile sets no evaluation interval CareGrid can label ({interval}: "
            "{value}; one of {marks} months)",
            name=profile.name,
            interval=INTERVAL,
            value=value,
            marks=", ".join(map(str, sorted(_MARKS))),
            requirement="K7",
        )
    return int(value)


def periods(profile: Profile, year: int) -> list[str]:
    """The year's evaluation periods under the profile's interval, e.g. 2025H1 and 2025H2."""
    months = interval_months(profile, date(year, 12, 31))
    return [label(year, months, i) for i in range(1, 12 // months + 1)]


def period_bounds(profile: Profile, period: str) -> tuple[date, date]:
    """First and last day of `period`, which must be a period of the profile's interval."""
    parsed = _parse(period)
    if parsed is not None:
        months, first, last = parsed
        wanted = interval_months(profile, last)
        if months == wanted:
            return first, last
        example = label(first.year, wanted, 1)
    else:
        today = clock.today()
        wanted = interval_months(profile, today)
        example = label(today.year, wanted, 1)
    message = msg(
        "{period!r} is not a {wanted}-month evaluation period like {example} ({interval} of the "
        "{name} profile)",
        period=period,
        wanted=wanted,
        example=example,
        interval=INTERVAL,
        name=profile.name,
    )
    raise InvalidInput([Problem("period", message)])


@dataclass(frozen=True)
class Context:
    session: Session
    network: registry.Network
    tiles: dict[str, Tile]


Found = tuple[str, Message]  # met | not_met | unknown, and why


def detail(item: EvaluationItem) -> Message | None:
    """Why the data says what it says of a criterion, to show in the reader's language."""
    return None if item.automatic_detail is None else load(item.automatic_detail)


def _grid_layout(ctx: Context, criterion: Criterion) -> Found:
    results = checks.run(ctx.session, network=ctx.network.code)
    failed = [r.requirement for r in results if r.status == checks.Status.FAIL]
    if failed:
        return "not_met", msg("structure checks failing: {failed}", failed=", ".join(failed))
    return "met", msg(
        "{count} structure checks (A1-A4, A9) pass or do not apply", count=len(results)
    )


def _state(ctx: Context, indicator: str) -> Message:
    # the tile's state (green, amber, red, grey) is a word of the catalogue like any other
    return msg("{indicator} {state}", indicator=indicator, state=Message(_state_of(ctx, indicator)))


def _state_of(ctx: Context, indicator: str) -> str:
    return ctx.tiles[indicator].assessment.state


def _states(ctx: Context, *ids: str) -> Found:
    shown = Message("; ".join(f"{{s{n}}}" for n in range(len(ids))),
                    {f"s{n}": _state(ctx, i) for n, i in enumerate(ids)})  # fmt: skip
    states = {_state_of(ctx, i) for i in ids}
    if states <= {"green"}:
        return "met", shown
    if "grey" in states:
        return "unknown", msg("{states} (no data or no target)", states=shown)
    return "not_met", shown


def _resource_sinking(ctx: Context, criterion: Criterion) -> Found:
    return _states(ctx, "UG4", "UG5")


def _shared_centres(ctx: Context, criterion: Criterion) -> Found:
    wanted = set(CentreKind)
    missing = sorted(wanted - diagnostics.centre_kinds(ctx.session, ctx.network.id))
    if missing:
        return "not_met", msg("no {kinds} centre", kinds=listing(missing))
    mr2 = ctx.tiles["MR2"].assessment
    if mr2.state not in ("green", "grey"):
        return "not_met", msg(
            "all five centres; recognition rate {state}", state=Message(mr2.state)
        )
    return "met", msg("laboratory, imaging, ECG, pathology and sterilisation centres")


def _specialist_teams(ctx: Context, criterion: Criterion) -> Found:
    count = familydoctor.teams_with_hospital_doctors(ctx.session, ctx.network.id)
    if count == 0:
        return "not_met", msg(
            "no family-doctor team has a doctor from a secondary or tertiary hospital"
        )
    return "met", msg(
        "{count} teams with a doctor from a secondary or tertiary hospital", count=count
    )


def _two_way_referral(ctx: Context, criterion: Criterion) -> Found:
    """Met when the period's upward (CC7) and downward (CC8) referrals reach the criterion's
    `upward_min` and `downward_min`."""
    up, down = ctx.tiles["CC7"].numerator, ctx.tiles["CC8"].numerator
    least_up, least_down = criterion.limits["upward_min"], criterion.limits["downward_min"]
    figures = {"up": up, "down": down}
    if up >= least_up and down >= least_down:
        return "met", msg("{up:g} upward and {down:g} downward referrals", **figures)
    return "not_met", msg(
        "{up:g} upward and {down:g} downward referrals (at least {least_up:g} and {least_down:g})",
        **figures,
        least_up=least_up,
        least_down=least_down,
    )


CHECKS: dict[str, Callable[[Context, Criterion], Found]] = {
    "grid_layout": _grid_layout,
    "resource_sinking": _resource_sinking,
    "shared_centres": _shared_centres,
    "specialist_teams": _specialist_teams,
    "two_way_referral": _two_way_referral,
}
# The limits a check reads from its criterion's `limits` in the catalogue.
LIMITS: dict[str, tuple[str, ...]] = {"two_way_referral": ("upward_min", "downward_min")}


def _catalogue_of(network: registry.Network, on: date) -> str:
    name = policy.get(network.profile).parameter("evaluation_criteria", on)
    if not name:
        raise RuleViolation(
            "the {profile} profile names no evaluation criteria",
            profile=network.profile,
            requirement="K8",
        )
    return str(name)


def _context(session: Session, network: registry.Network, first: date, last: date) -> Context:
    months = (f"{first:%Y-%m}", f"{last:%Y-%m}")
    before = (f"{first.year - 1}-{first:%m}", f"{last.year - 1}-{last:%m}")
    root = cockpit.facts_root()
    cells = service.compute(session, months, facts_root=root)
    previous = service.compute(session, before, facts_root=root)
    found = cockpit.tiles(
        cockpit.index(cells), cockpit.index(previous), network.code, network, last
    )
    return Context(session, network, {t.indicator.id: t for t in found})


def stored(session: Session, network_id: int, period: str) -> Evaluation | None:
    return session.scalar(
        select(Evaluation).where(Evaluation.network_id == network_id, Evaluation.period == period)
    )


def unevaluated(session: Session, network: registry.Network, today: date) -> list[str]:
    """Periods of this year and the last that have ended with no evaluation on record (K7):
    the office's and the commission's reminder. A profile without an interval has none."""
    try:
        profile = policy.get(network.profile)
        ended = [
            period
            for year in (today.year - 1, today.year)
            for period in periods(profile, year)
            if period_bounds(profile, period)[1] < today
        ]
    except RuleViolation:
        return []
    return [p for p in ended if stored(session, network.id, p) is None]


def evaluate(session: Session, principal: Principal, network_code: str, period: str) -> Evaluation:
    """Create the period's evaluation, or refresh its automatic part."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "evaluations are run by the commission and the network's office"
    )
    first, last = period_bounds(policy.get(network.profile), period)
    name = _catalogue_of(network, last)
    evaluation = stored(session, network.id, period)
    if evaluation is None:
        evaluation = Evaluation(
            network_id=network.id,
            period=period,
            criteria=name,
            created_by=principal.username,
            created_at=clock.now(),
        )
        session.add(evaluation)
    ctx = _context(session, network, first, last)
    items = {i.criterion: i for i in evaluation.items}
    for criterion in criteria(name):
        item = items.get(criterion.no)
        if item is None:
            item = EvaluationItem(criterion=criterion.no)
            evaluation.items.append(item)
        if criterion.check:
            item.automatic, why = CHECKS[criterion.check](ctx, criterion)
            item.automatic_detail = dump(why)
    session.flush()
    return evaluation


def score(
    session: Session,
    principal: Principal,
    network_code: str,
    period: str,
    *,
    criterion: int,
    verdict: str,
    note: str,
) -> EvaluationItem:
    """The commission's evaluator scores a criterion; the evidence note is required."""
    access.require_role(principal, Role.REGULATOR)
    network = registry.get_network(session, network_code)
    evaluation = stored(session, network.id, period)
    if evaluation is None:
        raise InvalidInput(
            [
                Problem(
                    "period",
                    msg("no evaluation of {code} for {period}", code=network.code, period=period),
                )
            ]
        )
    problems = []
    if verdict not in VERDICTS:
        problems.append(Problem("verdict", msg("one of {verdicts}", verdicts=", ".join(VERDICTS))))
    if not note.strip():
        problems.append(Problem("note", "say what evidence the verdict rests on"))
    item = next((i for i in evaluation.items if i.criterion == criterion), None)
    if item is None:
        problems.append(
            Problem(
                "criterion",
                msg(
                    "no criterion {criterion} in {criteria}",
                    criterion=criterion,
                    criteria=evaluation.criteria,
                ),
            )
        )
    if problems:
        raise InvalidInput(problems)
    assert item is not None
    item.verdict, item.note = verdict, note.strip()
    item.scored_by, item.scored_at = principal.username, clock.now()
    session.flush()
    return item
