"""`caregrid facts` (import, export) and `caregrid indicators compute`."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from caregrid import clock
from caregrid.activity import workflow
from caregrid.activity.facts import FACTS, fact
from caregrid.activity.importer import FactsRejected, import_file
from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.errors import DomainError, Unavailable
from caregrid.indicators import evaluation, exports
from caregrid.indicators import service as indicators
from caregrid.indicators.definitions import shipped
from caregrid.indicators.engine import Period, days
from caregrid.indicators.service import Engine
from caregrid.web.i18n import LOCALES, translator

facts_app = typer.Typer(help="Activity facts: import and export.", no_args_is_help=True)
indicators_app = typer.Typer(help="Indicators: compute.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
SHOWN = 50
DEFAULT_FACTS = Path("var/facts")


def _months(text: str) -> Period:
    """`2025`, `2025-03` or `2025-01..2025-06`."""
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-01", f"{text}-12"
    parts = text.split("..")
    if len(parts) in (1, 2) and all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p) for p in parts):
        return parts[0], parts[-1]
    raise typer.BadParameter(
        f"{text!r}: a year, a month, or FIRST..LAST months", param_hint="--period"
    )


def _days(period: Period) -> tuple[date, date]:
    first, last = days(period)
    return date.fromisoformat(first), date.fromisoformat(last)


@facts_app.command("import")
def facts_import(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    fact_name: Annotated[
        str, typer.Option("--fact", help=f"one of {', '.join(f.name for f in FACTS)}")
    ],
    period: Annotated[
        str | None, typer.Option(help="refuse rows dated outside it: 2025, 2025-01..2025-06")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="store good rows; bad ones go to a rejects file")
    ] = False,
) -> None:
    """Import CSV or Parquet fact files, each file all-or-nothing unless --skip-bad."""
    try:
        declared = fact(fact_name)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="--fact") from exc
    days = _days(_months(period)) if period else None
    failed = False
    for path in files:
        try:
            with session_scope() as session:
                report = import_file(session, path, declared, period=days, skip_bad=skip_bad)
        except FactsRejected as exc:
            failed = True
            errors = exc.report.errors
            err.print(f"[red]{path.name}: {len(errors)} problem(s); nothing stored[/red]")
            for e in errors[:SHOWN]:
                err.print(f"  {e.file} row {e.row} {e.column}: {e.reason}", markup=False)
            if len(errors) > SHOWN:
                err.print(f"  ... and {len(errors) - SHOWN} more")
            continue
        line = f"{path.name}: {report.rows} rows, {report.stored} new or changed"
        if report.rejects:
            rejected = len({e.row for e in report.errors})
            line += f", {rejected} rejected -> {report.rejects}"
        out.print(line, markup=False)
    if failed:
        raise typer.Exit(2)


@facts_app.command("collect")
def facts_collect() -> None:
    """Write what the workflows recorded (referrals, slots, contracts, follow-ups,
    recognitions, the register) into the fact tables; then `facts export`."""
    with session_scope() as session:
        changed = workflow.collect(session, clock.today())
    for name, rows in changed.items():
        out.print(f"{name}: {rows} new or changed")


@facts_app.command("export")
def facts_export(
    out_dir: Annotated[Path, typer.Option("--out", help="Parquet root")] = DEFAULT_FACTS,
) -> None:
    """Write the store's facts as Parquet, partitioned by month, for DuckDB and Spark."""
    with session_scope() as session:
        written = indicators.refresh_facts(session, out_dir)
    for name, rows in written.items():
        out.print(f"{name}: {rows} rows")


@indicators_app.command("compute")
def indicators_compute(
    network: Annotated[str | None, typer.Option(help="a network code")] = None,
    period: Annotated[str, typer.Option(help="2025, or 2025-01..2025-12")] = "",
    engine: Annotated[str, typer.Option(help="duckdb, postgres or spark")] = "duckdb",
    facts_dir: Annotated[Path, typer.Option("--facts", help="Parquet root")] = DEFAULT_FACTS,
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Every shipped indicator per month for a network (or every unit), numerator and
    denominator kept apart."""
    if engine not in get_args(Engine):
        raise typer.BadParameter(f"{engine!r}: duckdb, postgres or spark", param_hint="--engine")
    if not period:
        raise typer.BadParameter("say which months, e.g. 2025-01..2025-12", param_hint="--period")
    months = _months(period)
    with session_scope() as session:
        try:
            cells = indicators.compute(
                session,
                months,
                using=cast(Engine, engine),
                facts_root=facts_dir,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--engine") from exc
    if network:
        cells = [c for c in cells if c.unit == network]
    names = {i.id: i for i in shipped()}
    if format == "json":
        rows = [
            {
                "indicator": c.indicator,
                "month": c.month,
                "unit": c.unit,
                "numerator": c.numerator,
                "denominator": c.denominator,
                "value": c.value,
                "evidence": names[c.indicator].evidence.value,
            }
            for c in cells
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table("indicator", "month", "unit", "numerator", "denominator", "value")
    for c in cells:
        value = c.value
        shown = (
            ""
            if value is None
            else f"{value * names[c.indicator].factor:.{names[c.indicator].decimals}f}"
        )
        table.add_row(c.indicator, c.month, c.unit, f"{c.numerator:g}",
                      "" if c.denominator is None else f"{c.denominator:g}", shown)  # fmt: skip
    out.print(table)


export_app = typer.Typer(help="Exports: indicators to Excel, the annual report to PDF.")


@export_app.command("excel")
def export_excel(
    network: Annotated[str, typer.Option(help="a network code")],
    year: Annotated[int, typer.Option(min=2000, max=2100)],
    out_file: Annotated[Path, typer.Option("--out", help="the .xlsx to write")],
    lang: Annotated[str, typer.Option(help="headers in zh_CN or en")] = "zh_CN",
) -> None:
    """Indicators by member and month."""
    if lang not in LOCALES:
        raise typer.BadParameter(f"one of {', '.join(LOCALES)}", param_hint="--lang")
    with session_scope() as session:
        workbook = exports.excel(
            session, SYSTEM, network, year, gettext=translator(lang), locale=lang
        )
    out_file.write_bytes(workbook)
    out.print(f"wrote {out_file}")


@export_app.command("report")
def export_report(
    network: Annotated[str, typer.Option(help="a network code")],
    year: Annotated[int, typer.Option(min=2000, max=2100)],
    out_file: Annotated[Path, typer.Option("--out", help="the .pdf (or .html) to write")],
    lang: Annotated[str, typer.Option(help="the report in zh_CN or en")] = "zh_CN",
) -> None:
    """The annual report, printed to PDF by the system's Chromium."""
    if lang not in LOCALES:
        raise typer.BadParameter(f"one of {', '.join(LOCALES)}", param_hint="--lang")
    with session_scope() as session:
        html = exports.report_html(
            session, SYSTEM, network, year, gettext=translator(lang), locale=lang
        )
    if out_file.suffix.lower() == ".html":
        out_file.write_text(html, encoding="utf-8")
    else:
        try:
            exports.pdf(html, out_file)
        except Unavailable as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    out.print(f"wrote {out_file}")


def evaluate(
    network: Annotated[str, typer.Option(help="a network code")],
    period: Annotated[
        str, typer.Option(help="a period of the profile's interval: 2025H1 for half-years")
    ],
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Run (or refresh) the evaluation of a period against the 15 criteria (K7, K8)."""
    try:
        with session_scope() as session:
            found = evaluation.evaluate(session, SYSTEM, network, period)
            listed = evaluation.criteria(found.criteria)
            rows = [
                (c.no, c.dimension, c.name_en, i.automatic or "", str(evaluation.detail(i) or ""),
                 i.verdict or "", i.note or "")
                for c, i in zip(listed, found.items, strict=True)
            ]  # fmt: skip
    except DomainError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(2) from exc
    if format == "json":
        keys = ("no", "dimension", "criterion", "automatic", "detail", "verdict", "note")
        sys.stdout.write(json.dumps([dict(zip(keys, r, strict=True)) for r in rows]) + "\n")
        return
    table = Table("no", "dimension", "criterion", "automatic", "detail", "verdict", "note")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)
