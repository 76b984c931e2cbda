"""`caregrid`: database, demo, server, policy profiles, registry layouts, audit, users.

Commands commit their unit of work; services only flush. Domain errors become a clear message
and a non-zero exit code.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Column, Table

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import SYSTEM
from caregrid.cli import finance, plan, synth
from caregrid.cli.analytics import evaluate, export_app, facts_app, indicators_app
from caregrid.cli.audit import audit_app
from caregrid.cli.console import err, failing_cleanly, out
from caregrid.cli.workforce import workforce_app
from caregrid.db.migrate import upgrade
from caregrid.db.session import get_engine, session_scope
from caregrid.diagnostics import service as diagnostics
from caregrid.errors import DomainError, InvalidInput
from caregrid.pharmacy import service as pharmacy
from caregrid.policy import service as policy
from caregrid.privacy import install_log_masking
from caregrid.referral import catalogs as referral_catalogs
from caregrid.registry import checks, importer
from caregrid.registry import service as registry_service

app = typer.Typer(help="CareGrid: integrated medical networks.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
policy_app = typer.Typer(help="Policy profiles.", no_args_is_help=True)
registry_app = typer.Typer(help="Grids, networks and institutions.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
catalog_app = typer.Typer(help="Networks' disease catalogs (B2).", no_args_is_help=True)
diagnostics_app = typer.Typer(
    help="Shared diagnostics: external quality assessment (D3).", no_args_is_help=True
)
pharmacy_app = typer.Typer(
    help="Pharmacy: the network's catalogue and the members' lists (G1).", no_args_is_help=True
)
for sub, name in (
    (db_app, "db"),
    (policy_app, "policy"),
    (registry_app, "registry"),
    (audit_app, "audit"),
    (user_app, "user"),
    (catalog_app, "catalog"),
    (diagnostics_app, "diagnostics"),
    (facts_app, "facts"),
    (indicators_app, "indicators"),
    (export_app, "export"),
    (plan.plan_app, "plan"),
    (pharmacy_app, "pharmacy"),
    (workforce_app, "workforce"),
):
    app.add_typer(sub, name=name)
app.command("synth")(synth.synth)

app.command("evaluate")(evaluate)
app.command("budget")(finance.budget)
app.command("settle")(finance.settle)


@app.callback()
def _startup() -> None:
    """Mask national IDs and phone numbers in every log line the command writes."""
    install_log_masking(logging.getLogger())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    upgrade(get_engine())
    out.print(f"database at {get_engine().url.render_as_string(hide_password=True)} is up to date")


@policy_app.command("list")
def policy_list() -> None:
    """Names of the profiles available (shipped and the deployment's own)."""
    for name in policy.names():
        out.print(name)


@policy_app.command("show")
def policy_show(
    name: str,
    at: Annotated[
        str | None, typer.Option(help="resolve phased values on this date (YYYY-MM-DD)")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show a profile with every value as in force on a date (today by default)."""
    with failing_cleanly():
        when = _parse_date(at) if at else clock.today()
        resolved = policy.resolve(policy.get(name), when)
    if format == "json":
        sys.stdout.write(json.dumps(resolved, ensure_ascii=False, indent=2) + "\n")
        return
    out.print(f"[bold]{resolved['title_zh']}[/bold] ({resolved['name']}) on {resolved['at']}")
    table = Table("value", "unit", "req.", "source", "next phase", "read by")
    table.columns.insert(0, Column("parameter", no_wrap=True))
    for key, entry in resolved["parameters"].items():
        upcoming = entry["next"]
        table.add_row(
            key,
            _fmt(entry["value"]),
            entry["unit"] or "",
            entry["requirement"],
            entry["source"],
            f"{upcoming['value']} from {upcoming['effective']}" if upcoming else "",
            ", ".join(entry["read_by"]) or "recorded",
        )
    out.print(table)
    for key, entry in resolved["parameters"].items():
        if entry["recorded"]:
            out.print(f"recorded, computed by nothing yet: {key}: {entry['recorded']}")
    out.print_json(data=resolved["structure"])


def _fmt(value: object) -> str:
    return "(not yet in force)" if value is None else str(value)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError("--at: {text!r} is not a date YYYY-MM-DD", text=text) from exc


@policy_app.command("validate")
def policy_validate(files: list[Path]) -> None:
    """Check profile files; lists every problem with file, line and field."""
    failed = False
    for path in files:
        try:
            profile = policy.load_file(path)
            out.print(f"{path}: ok ({len(profile.parameters)} parameters)")
        except InvalidInput as exc:
            failed = True
            for problem in exc.problems:
                err.print(f"  {problem}", markup=False, highlight=False)
    if failed:
        raise typer.Exit(2)


@registry_app.command("import")
def registry_import(files: list[Path]) -> None:
    """Import layout files (all or nothing): creates or refreshes each city's layout."""
    with failing_cleanly():
        checked = [importer.load(path) for path in files]
        with session_scope() as session:
            for one in checked:
                report = importer.apply(session, one, actor=SYSTEM)
                for warning in report.warnings:
                    err.print(f"[yellow]warning[/yellow] {warning}", highlight=False)
                counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
                out.print(f"imported {report.city}: {counts}")


@registry_app.command("export")
def registry_export(
    city: Annotated[str, typer.Option(help="city code")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file (default stdout)")
    ] = None,
) -> None:
    """Export a city's layout in the same format the importer reads."""
    with failing_cleanly(), session_scope() as session:
        text = importer.to_yaml(importer.export(session, city))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


@registry_app.command("check")
def registry_check(
    network: Annotated[str | None, typer.Option(help="network code (default: all)")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Evaluate A1-A4 and A9 for each network against its profile."""
    with failing_cleanly(), session_scope() as session:
        results = checks.run(session, network=network)
    if format == "json":
        sys.stdout.write(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
        return
    colours = {"pass": "green", "fail": "red", "not-evaluable": "yellow", "not-applicable": "dim"}
    table = Table("network", "req.", "status", "detail", show_lines=False)
    for r in results:
        table.add_row(r.network, r.requirement, f"[{colours[r.status]}]{r.status}[/]", r.detail)
    out.print(table)


@catalog_app.command("import")
def catalog_import(
    network: Annotated[str, typer.Argument(help="network code, e.g. jh-rmyy-wucheng")],
    kind: Annotated[str, typer.Argument(help="member_first_visit, keep_in_city, tier_county …")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Replace one of a network's catalogs with a CSV (entry,name_zh,name_en,basis): all rows
    or none; every bad row is listed with its line."""
    with failing_cleanly(), session_scope() as session:
        found = referral_catalogs.replace(
            session,
            SYSTEM,
            network_code=network,
            kind=kind,
            csv_text=file.read_text(encoding="utf-8"),
            file=file.name,
        )
    out.print(f"{network} {kind}: {len(found.entries)} entries from {file.name}")


@diagnostics_app.command("eqa-import")
def eqa_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Record a year's external quality assessments from a CSV
    (institution_code,category,scheme,assessed_on,result,valid_until): all rows or none; every
    bad cell is listed with its line and column."""
    with failing_cleanly(), session_scope() as session:
        rows = diagnostics.import_csv(
            session, SYSTEM, file.read_text(encoding="utf-8"), file=file.name
        )
        passed = sum(1 for r in rows if r.passed)
    out.print(f"{len(rows)} assessments from {file.name} ({passed} passed)")


@pharmacy_app.command("catalogue-import")
def pharmacy_catalogue_import(
    network: Annotated[str, typer.Argument(help="network code")],
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or Excel"),
    ] = None,
    starter: Annotated[bool, typer.Option(help="the shipped starter set instead")] = False,
) -> None:
    """A network's drug and consumable catalogue (columns as in the starter set): all rows
    or none; every bad cell is listed with its row and column."""
    if (file is None) == (not starter):
        raise typer.BadParameter("give a file or --starter, not both")
    source = pharmacy.starter_file() if starter else file
    assert source is not None
    with failing_cleanly(), session_scope() as session:
        rows = pharmacy.import_catalogue(
            session, SYSTEM, network, source.read_bytes(), file=source.name
        )
    out.print(f"{network}: {len(rows)} catalogue lines from {source.name}")


@pharmacy_app.command("listing-import")
def pharmacy_listing_import(
    institution: Annotated[str, typer.Argument(help="institution code")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """A member's whole list (code,name_zh; CSV or Excel), replacing the one before."""
    with failing_cleanly(), session_scope() as session:
        rows = pharmacy.import_listing(
            session, SYSTEM, institution, file.read_bytes(), file=file.name
        )
    out.print(f"{institution}: {len(rows)} listed lines from {file.name}")


@catalog_app.command("show")
def catalog_show(network: Annotated[str, typer.Argument(help="network code")]) -> None:
    """Every catalog of a network and where it comes from (its CSV or its profile)."""
    with failing_cleanly(), session_scope() as session:
        found = referral_catalogs.all_catalogs(
            session, registry_service.get_network(session, network).id
        )
    for cat in found:
        out.print(f"{cat.kind} ({cat.requirement}): {cat.origin}", markup=False, highlight=False)
        table = Table()
        for column in ("entry", "name_zh", "name_en", "basis"):
            table.add_column(column)
        for entry in cat.entries:
            table.add_row(entry.entry, entry.name_zh, entry.name_en, entry.basis)
        out.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the web application and API."""
    import uvicorn

    from caregrid.auth.sealer import Sealer, seal_all
    from caregrid.config import get_settings
    from caregrid.web.app import create_app

    settings = get_settings()
    upgrade(get_engine())
    sealing = None
    if settings.audit_seal_interval_ms:
        sealing = Sealer(
            settings.audit_key_bytes,
            rows=settings.audit_seal_rows,
            interval=settings.audit_seal_interval_ms / 1000,
            head_file=settings.effective_audit_head_file,
        )
        sealing.start()
    out.print(f"CareGrid at http://{host or settings.host}:{port or settings.port}/")
    try:
        uvicorn.run(
            create_app(), host=host or settings.host, port=port or settings.port, log_level="info"
        )
    finally:
        if sealing is not None:
            sealing.stop()
            seal_all(
                settings.audit_key_bytes,
                rows=settings.audit_seal_rows,
                head_file=settings.effective_audit_head_file,
            )


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve when loaded")
    ] = True,
) -> None:
    """Create or refresh the embedded database with the shipped layouts and demo accounts."""
    from caregrid.auth.sealer import seal_all
    from caregrid.cli.demo import load_demo
    from caregrid.config import get_settings

    settings = get_settings()
    with failing_cleanly(), Progress(console=out, transient=False) as progress:
        accounts = load_demo(progress)
    seal_all(
        settings.audit_key_bytes,
        rows=settings.audit_seal_rows,
        head_file=settings.effective_audit_head_file,
    )
    table = Table("role", "username", "password", "scope", title="Demo accounts (shown once)")
    for account in accounts:
        table.add_row(account.role, account.username, account.password, account.scope)
    out.print(table)
    out.print("Each network's cockpit shows last year's synthetic city: /networks/<code>/cockpit")
    if serve_after:
        serve(None, None)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="repeat for several roles")],
    institution: Annotated[str | None, typer.Option(help="institution code")] = None,
    network: Annotated[str | None, typer.Option(help="network code (network_admin)")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
) -> None:
    """Create an account with a random password, printed once."""
    from caregrid.auth import service as auth
    from caregrid.auth.roles import Role
    from caregrid.registry import service as registry

    password = secrets.token_urlsafe(12)
    with failing_cleanly(), session_scope() as session:
        inst = registry.require_institution(session, institution) if institution else None
        net = registry.get_network(session, network) if network else None
        try:
            roles = {Role(r) for r in role}
        except ValueError as exc:
            raise DomainError(
                "--role: {exc}; known: {value}", exc=exc, value=", ".join(r.value for r in Role)
            ) from exc
        auth.create_user(
            session,
            SYSTEM,
            username=username,
            display_name=name or username,
            password=password,
            roles=roles,
            institution_id=inst.id if inst else None,
            network_id=net.id if net else None,
        )
    out.print(f"created {username}; password (shown once): {password}")


@user_app.command("token")
def user_token(username: str, label: Annotated[str, typer.Option()] = "cli") -> None:
    """Issue an API bearer token for a user, printed once."""
    from caregrid.auth import service as auth

    with failing_cleanly(), session_scope() as session:
        user = auth.get_by_username(session, username)
        if user is None:
            raise DomainError("no user {username!r}", username=username)
        secret = auth.issue_token(session, user, kind="api", hours=None, label=label)
        audit.record(
            session,
            SYSTEM,
            action="token.issue",
            subject_type="user",
            subject_id=user.id,
            purpose="API access",
            detail={"label": label},
        )
    out.print(secret)


@user_app.command("revoke-tokens")
def user_revoke_tokens(username: str) -> None:
    """Revoke every session and API token of a user (a lost laptop, a leaked token)."""
    from caregrid.auth import service as auth

    with failing_cleanly(), session_scope() as session:
        revoked = auth.revoke_user_tokens(session, SYSTEM, username)
    out.print(f"revoked {revoked} token(s) of {username}")


if __name__ == "__main__":  # pragma: no cover
    app()
