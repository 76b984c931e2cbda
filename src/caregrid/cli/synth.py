"""`caregrid synth`: a year of synthetic activity facts for a shipped layout's city, so the
indicator engine and the cockpit open on a full year (docs/synth.md). NumPy and Arrow are
imported only when the command runs, so the rest of the CLI starts fast."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from caregrid.errors import DomainError, InvalidInput

out = Console()
err = Console(stderr=True)


def synth(
    *,
    layout: Annotated[
        str, typer.Option(help="a shipped layout: jinhua, ganzhou-urban, ... (or a .yaml path)")
    ] = "jinhua",
    residents: Annotated[int, typer.Option(min=1, help="residents of the synthetic city")],
    year: Annotated[int, typer.Option(help="the calendar year to generate")],
    seed: Annotated[int, typer.Option(min=0, help="same seed, same bytes")] = 1,
    out_dir: Annotated[
        Path, typer.Option("--out", help="root of the fact files (<out>/<fact>/month=YYYY-MM/)")
    ] = Path("var/facts"),
    load: Annotated[
        bool, typer.Option("--load", help="also import the facts into the operational store")
    ] = False,
) -> None:
    """Write a year of synthetic activity facts as Parquet (--load: into the store too).

    Every fact: residents, encounters, referrals, capacity, bookings, contracts, chronic
    care, orders, recognition, public health, staff, training; rates come from
    data/synth/china.yaml. With --load the files are then imported into the database (the
    layout must be in the registry), all or nothing."""
    from caregrid.synth.city import generate

    started = time.perf_counter()
    try:
        with out.status("drawing the city") as status:

            def progress(stage: str, rows: int) -> None:
                status.update(f"{stage}: {rows:,} rows")

            counts = generate(layout, residents, year, seed, out_dir, progress=progress)
    except InvalidInput as exc:
        err.print(f"[red]refused: {len(exc.problems)} problem(s)[/red]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    except DomainError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(2) from exc
    seconds = time.perf_counter() - started
    events = sum(counts.values())
    out.print(f"{layout} {year}: {residents:,} residents, seed {seed}", highlight=False)
    table = Table()
    table.add_column("fact")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    table.add_section()
    table.add_row("all facts", f"{events:,}")
    out.print(table)
    out.print(
        f"{events:,} events in {seconds:.1f} s: {events / seconds:,.0f} events/s; "
        f"written under {out_dir}",
        highlight=False,
    )
    if load:
        _load(out_dir)


def _load(root: Path) -> None:
    """Import what was written, in one transaction: a refused file leaves the store as it was."""
    from caregrid.activity.importer import FactsRejected, load_tree
    from caregrid.db.session import session_scope

    try:
        with out.status("loading the operational store"), session_scope() as session:
            reports = load_tree(session, root)
    except FactsRejected as exc:
        err.print(f"[red]{exc.detail}[/red]", highlight=False)
        err.print("nothing was loaded; is the layout in the registry (caregrid demo)?")
        raise typer.Exit(2) from exc
    stored = sum(r.stored for r in reports.values())
    rows = sum(r.rows for r in reports.values())
    out.print(f"loaded {rows:,} rows into the store, {stored:,} new or changed", highlight=False)
