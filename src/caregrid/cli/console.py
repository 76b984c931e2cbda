"""The CLI's two consoles and how a command fails: every problem on its own line, nothing
written, a non-zero exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import IntegrityError

from caregrid.errors import DomainError, InvalidInput

out = Console()
err = Console(stderr=True)


@contextmanager
def failing_cleanly() -> Iterator[None]:
    """Print domain errors (every problem on its own line) and exit non-zero."""
    try:
        yield
    except InvalidInput as exc:
        err.print(f"[red]refused: {len(exc.problems)} problem(s); nothing was written[/red]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    except DomainError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(2) from exc
    except IntegrityError as exc:
        err.print(f"[red]refused by the database:[/red] {exc.orig}", highlight=False)
        raise typer.Exit(2) from exc
