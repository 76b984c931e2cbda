"""`caregrid plan`: draw a city's grids, list and adopt plans, and prove the solver on the
published OR-Library instances."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caregrid.auth.roles import SYSTEM
from caregrid.cli.console import err, failing_cleanly, out
from caregrid.db.session import session_scope
from caregrid.planning import hongkong, instances, solver
from caregrid.planning import service as planner
from caregrid.planning.schemas import PlanOut, PlanRequest
from caregrid.registry import service as registry

plan_app = typer.Typer(help="Grid planner (A1-A3).", no_args_is_help=True)
DEFAULT_DATA = Path("../shared/data")


def _show(plan: PlanOut) -> None:
    table = Table(title=f"plan {plan.id} for {plan.city} ({plan.state})")
    for column in ("lead", "grid", "areas", "population", "beds/1000", "mean", "worst", "moved in"):
        table.add_column(column)
    for g in plan.grids:
        table.add_row(
            f"{g.lead} {g.lead_name_zh}",
            g.grid_code or "(new)",
            str(len(g.areas)),
            f"{g.population:,}",
            "" if g.beds_per_1000 is None else f"{g.beds_per_1000:.2f}",
            f"{g.mean_travel:.2f} {plan.travel_unit}",
            f"{g.worst_travel:.2f} {plan.travel_unit}",
            str(g.moved_in),
        )
    out.print(table)
    proof = "proven optimal" if plan.optimal else f"gap {100 * plan.gap:.3f}%"
    out.print(
        f"objective {plan.objective:,.1f} (bound {plan.lower_bound:,.1f}, {proof}) "
        f"in {plan.seconds:.1f} s; {plan.moved} areas change grid"
    )
    for check in plan.checks:
        mark = "[green]pass[/green]" if check.passed else "[red]fail[/red]"
        out.print(f"{check.requirement}: {mark} {check.detail}", highlight=False)
    if plan.travel_unit == "hops":
        err.print("[yellow]note[/yellow] no centroids: travel counted in borders crossed")
    if plan.outside_today:
        err.print(f"[yellow]note[/yellow] {plan.outside_today} areas are in no grid today")
    for change in plan.lead_changes:
        moved = "" if change.shares else " (moves to a grid with none of its residents today)"
        err.print(
            f"[yellow]note[/yellow] {change.network}: lead {change.old} → {change.new}{moved}"
        )


@plan_app.command("draw")
def draw(
    city: Annotated[str, typer.Option(help="city code, e.g. hong-kong")],
    grids: Annotated[int, typer.Option(help="number of grids k (A3)")],
    max_seconds: Annotated[float, typer.Option(help="time limit of the search")] = 60.0,
    population_min: Annotated[int | None, typer.Option(help="least residents a grid")] = None,
    population_max: Annotated[int | None, typer.Option(help="most residents a grid")] = None,
    beds_per_1000_min: Annotated[
        float | None, typer.Option(help="least lead beds per 1,000 residents")
    ] = None,
    moves_max: Annotated[
        int | None, typer.Option(help="at most this many areas change grid")
    ] = None,
    contiguous: Annotated[bool, typer.Option(help="grids connected over borders")] = True,
    profile: Annotated[str | None, typer.Option(help="profile (default: the city's)")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write the planned layout for `registry import`")
    ] = None,
) -> None:
    """Draw a plan (kept as proposed, audited) and print its figures and A1-A3 check."""
    with failing_cleanly():
        request = PlanRequest(
            grids=grids,
            population_min=population_min,
            population_max=population_max,
            beds_per_1000_min=beds_per_1000_min,
            moves_max=moves_max,
            contiguous=contiguous,
            profile=profile,
            max_seconds=max_seconds,
        )
        with session_scope() as session:
            row = planner.draw(session, SYSTEM, city, request)
            plan = planner.get(session, SYSTEM, row.id)
    _show(plan)
    if out_file is not None:
        with failing_cleanly(), session_scope() as session:
            text = registry.layout_text(planner.layout_of(session, SYSTEM, row.id))
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {out_file} (import it with `caregrid registry import`)")


@plan_app.command("list")
def list_plans(city: Annotated[str, typer.Option(help="city code")]) -> None:
    """The city's plans, newest first."""
    with failing_cleanly(), session_scope() as session:
        found = planner.plans(session, SYSTEM, city)
    for plan in found:
        proof = "optimal" if plan.optimal else f"gap {100 * plan.gap:.2f}%"
        out.print(
            f"{plan.id}\t{plan.state}\t{len(plan.grids)} grids\t{plan.objective:,.1f}\t{proof}"
        )


@plan_app.command("adopt")
def adopt(plan_id: Annotated[int, typer.Argument(help="plan number")]) -> None:
    """Adopt a proposed plan as the city's next layout version."""
    with failing_cleanly(), session_scope() as session:
        plan = planner.adopt(session, SYSTEM, plan_id)
    out.print(f"plan {plan_id} adopted for {plan.city}")


@plan_app.command("bench-orlib")
def bench_orlib(
    data: Annotated[Path, typer.Option(help="folder holding orlib_pmed")] = DEFAULT_DATA,
    first: Annotated[int, typer.Option(help="first pmed instance")] = 1,
    last: Annotated[int, typer.Option(help="last pmed instance")] = 40,
    max_seconds: Annotated[float, typer.Option(help="limit per instance")] = 60.0,
) -> None:
    """Solve OR-Library pmed instances and compare with their proven optima (pmedopt.txt)."""
    folder = data / "orlib_pmed"
    if not folder.is_dir():
        err.print(f"[red]no OR-Library folder at {folder}[/red]")
        raise typer.Exit(2)
    reached, slowest = 0, 0.0
    for number in range(first, last + 1):
        ref = instances.orlib_pmed(folder, f"pmed{number}")
        bound = solver.solve(ref.problem, seconds=max_seconds)
        hit = ref.best_known is not None and abs(bound.upper - ref.best_known) < 0.5
        reached += hit
        slowest = max(slowest, bound.seconds)
        out.print(
            f"pmed{number:<3} optimum {ref.best_known or 0:>8g} ours {bound.upper:>8g} "
            f"{'at optimum' if hit else 'MISSED':<10} {bound.seconds:6.2f} s"
            f"{'' if bound.optimal else f' gap {100 * bound.gap:.2f}%'}",
            highlight=False,
        )
    total = last - first + 1
    print(
        json.dumps(
            {
                "pmed_at_optimum": reached,
                "pmed_instances": total,
                "pmed_max_seconds": round(slowest, 2),
            }
        )
    )


@plan_app.command("hk-layout")
def hk_layout(
    data: Annotated[Path, typer.Option(help="folder holding hk_ha")] = DEFAULT_DATA,
    out_file: Annotated[Path, typer.Option("--out", help="layout file to write")] = Path(
        "hong-kong.yaml"
    ),
) -> None:
    """Write Hong Kong (districts, acute hospitals, the 7 clusters) as a layout file."""
    with failing_cleanly():
        text = registry.layout_text(hongkong.layout(data / "hk_ha"))
    out_file.write_text(text, encoding="utf-8")
    out.print(f"wrote {out_file} (import it with `caregrid registry import`)")
