"""A settlement as an Excel workbook (I3, K9): its figures, each member's line, the deductibles
waived (B7), the adjustments, and the inputs every figure came from, so the insurance bureau
and the network's finance centre can check it cell by cell. Headers in the reader's language;
text cells neutralised against formula injection."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from decimal import Decimal

from openpyxl import Workbook

from caregrid.finance.schemas import SettlementOut
from caregrid.spreadsheet import safe_row

# The figures in the order the settlement page shows them, as message ids of the catalogue.
FIGURES = (
    ("Claims", "claims"),
    ("Spend in the network", "spend_network_cny"),
    ("Spend elsewhere in the county", "spend_county_cny"),
    ("Spend outside the county", "spend_outside_cny"),
    ("DIP pool of the period (CNY)", "pool_cny"),
    ("DIP points", "points"),
    ("DIP point value", "point_value_cny"),
    ("Deductible waived", "waived_cny"),
    ("Patients waived", "waived_patients"),
    ("Year-end forecast spend", "forecast_spend_cny"),
    ("Year-end forecast", "forecast_result_cny"),
    ("Kept or borne by the network", "forecast_network_cny"),
)


LINE_HEADER = ("Unit code", "Unit", "Claims", "DIP points", "DIP paid", "Other paid")
WAIVER_HEADER = ("Patient", "Stays", "Amount (CNY)")
ADJUSTMENT_HEADER = ("Unit code", "Amount (CNY)", "Reason", "By", "At")


def _number(value: object) -> object:
    """Money and points as numbers a spreadsheet sums; the rest as stored."""
    return float(value) if isinstance(value, Decimal) else value


def workbook(s: SettlementOut, names: dict[str, str], gettext: Callable[[str], str] = str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = gettext("Settlement")
    sheet.append(safe_row([gettext("Network"), s.network]))
    sheet.append(safe_row([gettext("Period"), f"{s.starts_on} – {s.ends_on}"]))
    sheet.append(safe_row([gettext("State"), s.state]))
    for label, field in FIGURES:
        sheet.append(safe_row([gettext(label), _number(getattr(s, field))]))
    lines = book.create_sheet(gettext("Members"))
    lines.append(
        [
            gettext(h)
            for h in ("Unit code", "Unit", "Claims", "DIP points", "DIP paid", "Other paid")
        ]
    )
    for line in s.lines:
        code = line.institution_code
        lines.append(
            safe_row(
                [
                    code,
                    names.get(code, ""),
                    line.claims,
                    _number(line.points),
                    _number(line.dip_paid_cny),
                    _number(line.other_paid_cny),
                ]
            )
        )
    waived = book.create_sheet(gettext("Deductible waived"))
    waived.append([gettext(h) for h in WAIVER_HEADER])
    for w in s.waivers:
        waived.append(safe_row([w.patient_id, w.stays, _number(w.amount_cny)]))
    adjusted = book.create_sheet(gettext("Adjustments"))
    adjusted.append([gettext(h) for h in ADJUSTMENT_HEADER])
    for a in s.adjustments:
        adjusted.append(
            safe_row(
                [
                    a.institution_code or "",
                    _number(a.amount_cny),
                    a.reason,
                    a.created_by,
                    a.created_at.isoformat(),
                ]
            )
        )
    inputs = book.create_sheet(gettext("Inputs"))
    inputs.append([gettext("Input"), gettext("Value")])
    for key, value in s.inputs.items():
        simple = isinstance(value, str | int | float)
        shown = value if simple else json.dumps(value, ensure_ascii=False, default=str)
        inputs.append(safe_row([key, shown]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
