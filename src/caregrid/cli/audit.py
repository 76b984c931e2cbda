"""`caregrid audit`: verify the log against its signed tree heads, seal what waits, export the
latest head and print a row's inclusion proof."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caregrid.auth import audit, sealer
from caregrid.cli.console import err, out
from caregrid.config import get_settings
from caregrid.db.session import session_scope

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _anchor(path: Path) -> audit.SignedHead:
    try:
        return audit.SignedHead.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        err.print(f"[red]--head {path}:[/red] {exc.strerror}")
    except ValueError as exc:
        err.print(f"[red]--head {path}:[/red] {exc}")
    raise typer.Exit(2)


@audit_app.command("verify")
def verify(
    head: Annotated[
        Path | None,
        typer.Option(help="a tree head exported earlier; default: the head file, if present"),
    ] = None,
) -> None:
    """Check every row against the signed tree heads; exits 1 naming the first fault.

    The head the sealer exported outside the database is checked by default, so a database
    restored to an older state is caught without anyone remembering to pass it."""
    settings = get_settings()
    if head is None and settings.effective_audit_head_file.is_file():
        head = settings.effective_audit_head_file
    anchor = None if head is None else _anchor(head)
    with session_scope() as session:
        result = audit.verify(session, settings.audit_key_bytes, anchor=anchor)
    if result.ok:
        out.print(
            f"audit log intact: {result.rows} rows, {result.sealed} under signed tree heads, "
            f"{result.unsealed} waiting for the sealer"
        )
        if anchor is not None:
            out.print(f"checked against the exported head of size {anchor.size} ({head})")
        return
    where = "" if result.bad_seq is None else f" at row {result.bad_seq}"
    err.print(f"[red]audit log broken{where}:[/red] {result.reason}")
    raise typer.Exit(1)


@audit_app.command("seal")
def seal() -> None:
    """Seal every row waiting now and export the new head (the server does this by itself)."""
    settings = get_settings()
    head = sealer.seal_all(
        settings.audit_key_bytes,
        rows=settings.audit_seal_rows,
        head_file=settings.effective_audit_head_file,
    )
    out.print("nothing to seal" if head is None else f"sealed: {head.to_json()}")


@audit_app.command("head")
def head() -> None:
    """Print the latest signed tree head as JSON, to keep outside the database."""
    with session_scope() as session:
        latest = audit.latest_head(session)
    if latest is None:
        err.print("[red]no tree head yet:[/red] run `caregrid audit seal`")
        raise typer.Exit(1)
    print(latest.to_json())


@audit_app.command("prove")
def prove(seq: int) -> None:
    """Print the inclusion proof of row SEQ in the latest signed tree head, and check it."""
    with session_scope() as session:
        try:
            proof = audit.inclusion_proof(session, seq)
        except LookupError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    out.print(f"row {seq} is leaf {proof.leaf} of {proof.head.size}; root {proof.head.root}")
    out.print(f"  leaf hash {proof.leaf_hash}")
    for step, node in enumerate(proof.path):
        out.print(f"  {step:>2} {node}")
    if not proof.holds():
        err.print("[red]the proof does not lead to the signed root[/red]")
        raise typer.Exit(1)
    out.print("the proof leads to the signed root")
