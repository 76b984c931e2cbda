"""`caregrid workforce draw …`: replay a published first-post draw (H2) and commit a seed."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated

import typer

from caregrid.cli.console import err, out
from caregrid.workforce import service as workforce

workforce_app = typer.Typer(help="Workforce: the first-post draws (H2).", no_args_is_help=True)
draw_app = typer.Typer(help="First-post draws: commit, replay.", no_args_is_help=True)
workforce_app.add_typer(draw_app, name="draw")


@draw_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="a published draw (GET /api/draws/{id}/published)")],
) -> None:
    """Replay a published draw from its seed, posts and candidates; exit 1 on any difference
    (a seed that does not hash to the commitment, a changed row, a changed file)."""
    try:
        published = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]{file}: not a readable JSON file[/red] ({exc})", highlight=False)
        raise typer.Exit(2) from exc
    if not isinstance(published, dict):
        err.print(f"[red]{file}: not a published draw[/red]", highlight=False)
        raise typer.Exit(2)
    differences = workforce.verify(published)
    if differences:
        err.print(f"[red]the draw does not replay: {len(differences)} difference(s)[/red]")
        for difference in differences:
            err.print(f"  {difference}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(
        f"the draw replays: {len(published['result'])} candidates placed as published; "
        f"digest {published['digest']}",
        highlight=False,
    )


@draw_app.command("seed")
def seed() -> None:
    """A new random seed and its commitment: publish the commitment with the draw, keep the
    seed until the reveal."""
    value = secrets.token_hex(32)
    out.print(f"seed        {value}", highlight=False)
    out.print(f"commitment  {workforce.commitment(value)}", highlight=False)
