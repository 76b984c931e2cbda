"""`caregrid budget` and `caregrid settle`: a network's global budget for a year (I3) and the
settlement of a month from the claims (DIP point value, members' shares, the B7 waiver, the
year-end forecast), run by the system as the bureau's scheduled job."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from caregrid.auth.roles import SYSTEM
from caregrid.cli.console import failing_cleanly, out
from caregrid.db.session import session_scope
from caregrid.errors import InvalidInput, Problem
from caregrid.finance import service as finance
from caregrid.i18n import msg

MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(text: str) -> date:
    found = MONTH.fullmatch(text)
    if found is None or not 1 <= int(found[2]) <= 12:
        raise InvalidInput([Problem("period", msg("a month as YYYY-MM, got {text!r}", text=text))])
    return date(int(found[1]), int(found[2]), 1)


def _cny(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput([Problem(name, msg("an amount in CNY, got {text!r}", text=text))])
    return value


def budget(
    network: Annotated[str, typer.Option(help="a network code")],
    year: Annotated[int, typer.Option(help="the budget's calendar year")],
    lump_sum: Annotated[str, typer.Option(help="the year's lump sum in CNY (总额包干)")],
    dip_pool: Annotated[str, typer.Option(help="the part paid by DIP points, in CNY")],
    months: Annotated[bool, typer.Option(help="add the twelve months as periods")] = False,
) -> None:
    """Set (or, before a period is closed, change) a network's global budget for a year."""
    with failing_cleanly(), session_scope() as session:
        found = finance.set_budget(
            session,
            SYSTEM,
            network,
            year,
            lump_sum_cny=_cny("lump_sum", lump_sum),
            dip_pool_cny=_cny("dip_pool", dip_pool),
        )
        if months:
            finance.add_months(session, SYSTEM, network, year)
        out.print(
            f"{network} {year}: lump sum {found.lump_sum_cny:,} CNY, DIP pool "
            f"{found.dip_pool_cny:,} CNY, {len(found.periods)} periods",
            highlight=False,
        )


def _figures(code: str, s: finance.Settlement) -> dict[str, object]:
    period = s.period
    return {
        "network": code,
        "period": [period.starts_on.isoformat(), period.ends_on.isoformat()],
        "state": s.state,
        "engine": s.engine,
        "claims": s.claims,
        "spend_network_cny": str(s.spend_network_cny),
        "spend_county_cny": str(s.spend_county_cny),
        "spend_outside_cny": str(s.spend_outside_cny),
        "pool_cny": str(s.pool_cny),
        "points": str(s.points),
        "point_value_cny": None if s.point_value_cny is None else str(s.point_value_cny),
        "waived_cny": str(s.waived_cny),
        "waived_patients": s.waived_patients,
        "forecast_spend_cny": str(s.forecast_spend_cny),
        "forecast_result_cny": str(s.forecast_result_cny),
        "forecast_network_cny": str(s.forecast_network_cny),
        "evaluation_period": s.evaluation_period,
        "members": [
            {
                "institution_code": line.institution_code,
                "claims": line.claims,
                "points": str(line.points),
                "dip_paid_cny": str(line.dip_paid_cny),
                "other_paid_cny": str(line.other_paid_cny),
            }
            for line in s.lines
        ],
    }


def _show(code: str, s: finance.Settlement) -> None:
    p = s.period
    table = Table("figure", "value", title=f"settlement of {code} {p.starts_on}..{p.ends_on}")
    for key, value in _figures(code, s).items():
        if key not in {"network", "period", "members"}:
            table.add_row(key, "" if value is None else str(value))
    out.print(table)
    members = Table("member", "claims", "points", "DIP paid CNY", "other paid CNY")
    for line in s.lines:
        members.add_row(
            line.institution_code,
            str(line.claims),
            str(line.points),
            str(line.dip_paid_cny),
            str(line.other_paid_cny),
        )
    out.print(members)


def settle(
    network: Annotated[str, typer.Option(help="a network code")],
    period: Annotated[str, typer.Option(help="the month to settle: YYYY-MM")],
    close: Annotated[bool, typer.Option(help="close it: immutable from now on")] = False,
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Settle a month's period from the claims (again, while it is open) and print it."""
    with failing_cleanly(), session_scope() as session:
        starts_on = _month(period)
        settled = finance.settle(session, SYSTEM, network, starts_on)
        if close:
            settled = finance.close(session, SYSTEM, network, starts_on)
        if format == "json":
            sys.stdout.write(json.dumps(_figures(network, settled), ensure_ascii=False) + "\n")
        else:
            _show(network, settled)
