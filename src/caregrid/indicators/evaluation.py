"""The half-yearly evaluation against the 15 criteria (K7, K8). The criteria are data
(`data/criteria/*.yaml`, chosen by the profile's `evaluation_criteria`); CareGrid fills what
its own data can prove (grid layout, resource sinking, shared centres, general-specialist
teams, two-way referral) and the commission's evaluator scores every criterion with an
evidence note. Evaluations are stored by network and half-year; re-running refreshes the
automatic part and keeps the evaluator's verdicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
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
from caregrid.indicators import cockpit, service
from caregrid.indicators.cockpit import Tile
from caregrid.indicators.models import Evaluation, EvaluationItem
from caregrid.policy import service as policy
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


@cache
def criteria(name: str) -> tuple[Criterion, ...]:
    """A catalogue of criteria, a `base` catalogue's criteria replaced by number."""
    folder = resources.files("caregrid.data").joinpath("criteria")
    raw: Any = yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    found = {int(c["number"]): Criterion(
        int(c["number"]), str(c["dimension"]), str(c["name_en"]), str(c["text_zh"]), c.get("check")
    ) for c in raw["criteria"]}  # fmt: skip
    unknown = sorted(c.check for c in found.values() if c.check and c.check not in CHECKS)
    if unknown:
        raise ValueError(f"criteria {name}: unknown checks {', '.join(unknown)}")
    if raw.get("base"):
        found = {c.no: c for c in criteria(str(raw["base"]))} | found
    return tuple(found[n] for n in sorted(found))


def half_year(period: str) -> tuple[date, date]:
    match = re.fullmatch(r"(\d{4})H([12])", period)
    if not match:
        raise InvalidInput([Problem("period", f"{period!r} is not a half-year like 2025H1")])
    year, half = int(match.group(1)), int(match.group(2))
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (
        date(year, 7, 1), date(year, 12, 31)
    )  # fmt: skip


@dataclass(frozen=True)
class Context:
    session: Session
    network: registry.Network
    tiles: dict[str, Tile]


Found = tuple[str, str]  # met | not_met | unknown, and why


def _grid_layout(ctx: Context) -> Found:
    results = checks.run(ctx.session, network=ctx.network.code)
    failed = [r.requirement for r in results if r.status == checks.Status.FAIL]
    if failed:
        return "not_met", f"structure checks failing: {', '.join(failed)}"
    return "met", f"{len(results)} structure checks (A1-A4, A9) pass or do not apply"


def _states(ctx: Context, *ids: str) -> Found:
    shown = [f"{i} {ctx.tiles[i].assessment.state}" for i in ids]
    states = {ctx.tiles[i].assessment.state for i in ids}
    if states <= {"green"}:
        return "met", "; ".join(shown)
    if "grey" in states:
        return "unknown", "; ".join(shown) + " (no data or no target)"
    return "not_met", "; ".join(shown)


def _resource_sinking(ctx: Context) -> Found:
    return _states(ctx, "UG4", "UG5")


def _shared_centres(ctx: Context) -> Found:
    wanted = set(CentreKind)
    missing = sorted(wanted - diagnostics.centre_kinds(ctx.session, ctx.network.id))
    if missing:
        return "not_met", f"no {', '.join(missing)} centre"
    mr2 = ctx.tiles["MR2"].assessment
    if mr2.state not in ("green", "grey"):
        return "not_met", f"all five centres; recognition rate {mr2.state}"
    return "met", "laboratory, imaging, ECG, pathology and sterilisation centres"


def _specialist_teams(ctx: Context) -> Found:
    count = familydoctor.teams_with_hospital_doctors(ctx.session, ctx.network.id)
    if count == 0:
        return "not_met", "no family-doctor team has a doctor from a secondary or tertiary hospital"
    return "met", f"{count} teams with a doctor from a secondary or tertiary hospital"


def _two_way_referral(ctx: Context) -> Found:
    up, down = ctx.tiles["CC7"].numerator, ctx.tiles["CC8"].numerator
    detail = f"{up:g} upward and {down:g} downward referrals"
    return ("met" if up > 0 and down > 0 else "not_met"), detail


CHECKS: dict[str, Callable[[Context], Found]] = {
    "grid_layout": _grid_layout,
    "resource_sinking": _resource_sinking,
    "shared_centres": _shared_centres,
    "specialist_teams": _specialist_teams,
    "two_way_referral": _two_way_referral,
}


def _catalogue_of(network: registry.Network, on: date) -> str:
    name = policy.get(network.profile).parameter("evaluation_criteria", on)
    if not name:
        raise RuleViolation(
            f"the {network.profile} profile names no evaluation criteria", requirement="K8"
        )
    return str(name)


def _context(session: Session, network: registry.Network, first: date, last: date) -> Context:
    months = (f"{first:%Y-%m}", f"{last:%Y-%m}")
    before = (f"{first.year - 1}-{first:%m}", f"{last.year - 1}-{last:%m}")
    root = cockpit.facts_root()
    cells = service.compute(session, months, facts_root=root)
    previous = service.compute(session, before, facts_root=root)
    found = cockpit.tiles(cells, previous, network.code, network, last)
    return Context(session, network, {t.indicator.id: t for t in found})


def stored(session: Session, network_id: int, period: str) -> Evaluation | None:
    return session.scalar(
        select(Evaluation).where(Evaluation.network_id == network_id, Evaluation.period == period)
    )


def evaluate(session: Session, principal: Principal, network_code: str, period: str) -> Evaluation:
    """Create the period's evaluation, or refresh its automatic part."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "evaluations are run by the commission and the network's office"
    )
    first, last = half_year(period)
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
            item.automatic, item.automatic_detail = CHECKS[criterion.check](ctx)
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
        raise InvalidInput([Problem("period", f"no evaluation of {network.code} for {period}")])
    problems = []
    if verdict not in VERDICTS:
        problems.append(Problem("verdict", f"one of {', '.join(VERDICTS)}"))
    if not note.strip():
        problems.append(Problem("note", "say what evidence the verdict rests on"))
    item = next((i for i in evaluation.items if i.criterion == criterion), None)
    if item is None:
        problems.append(Problem("criterion", f"no criterion {criterion} in {evaluation.criteria}"))
    if problems:
        raise InvalidInput(problems)
    assert item is not None
    item.verdict, item.note = verdict, note.strip()
    item.scored_by, item.scored_at = principal.username, clock.now()
    session.flush()
    return item
