"""Exports of a network's indicators (J8, J9): an Excel workbook by member and month, and the
annual report as one self-contained HTML page (inline styles, server-drawn SVG charts) that
Chromium prints to PDF. A member's account gets its own rows only."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import Principal
from caregrid.errors import Forbidden, Unavailable
from caregrid.i18n import amount
from caregrid.indicators import cockpit, service
from caregrid.indicators.definitions import catalogue
from caregrid.registry import service as registry
from caregrid.spreadsheet import safe_row

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _visible(session: Session, principal: Principal, network_code: str) -> tuple[set[str], str]:
    """Institution codes the principal may see in the network, and the network's code."""
    network = registry.get_network(session, network_code)
    own = access.measure_scope(
        session,
        principal,
        network.id,
        "exports are for the network's office, its members and the commission",
    )
    codes = {
        i.code
        for i in (
            registry.get_institution_by_id(session, m)
            for m in access.network_institution_ids(session, network.id)
        )
        if i is not None
    }
    if own is None:
        return codes | {network.code}, network.code
    mine = registry.get_institution_by_id(session, own)
    if mine is None or mine.code not in codes:
        raise Forbidden("your institution is not a member of {code}", code=network.code)
    return {mine.code}, network.code


# The workbook's words, as message ids of the catalogue (zh_CN.po): the caller translates.
HEADER = (
    "Indicator", "Name (Chinese)", "Name (English)", "Evidence level", "Unit code", "Unit",
    "Month", "Numerator", "Denominator", "Value",
)  # fmt: skip
SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet's name


def _same(text: str) -> str:
    return text


def excel(
    session: Session,
    principal: Principal,
    network_code: str,
    year: int,
    *,
    gettext: Callable[[str], str] = _same,
    locale: str = "en",
) -> bytes:
    """A data sheet with one row per indicator, unit (the network, then each member) and
    month, for machines; then one wide sheet per indicator, units down and months across,
    for people. Headers and names are in the reader's language."""
    visible, network = _visible(session, principal, network_code)
    cells = service.compute(session, (f"{year}-01", f"{year}-12"), facts_root=cockpit.facts_root())
    names = {
        i.code: (i.name_en or i.name_zh) if locale == "en" else i.name_zh
        for i in (registry.get_institution(session, c) for c in visible)
        if i
    }
    book = catalogue()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Data"))
    for column, width in zip("ABCDEFGHIJ", (10, 28, 28, 10, 18, 28, 9, 12, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append([gettext(h) for h in HEADER])
    order = {i.id: n for n, i in enumerate(book.indicators)}
    rows = sorted(
        (c for c in cells if c.unit in visible),
        key=lambda c: (order[c.indicator], c.unit != network, c.unit, c.month),
    )
    wide: dict[str, dict[str, dict[str, float | None]]] = {}
    for c in rows:
        indicator = book.get(c.indicator)
        value = c.value
        shown = None if value is None else round(value * indicator.factor, indicator.decimals)
        wide.setdefault(c.indicator, {}).setdefault(c.unit, {})[c.month] = shown
        sheet.append(
            safe_row(
                [
                    c.indicator,
                    indicator.name_zh,
                    indicator.name_en,
                    indicator.evidence.value,
                    c.unit,
                    names.get(c.unit, c.unit),
                    c.month,
                    c.numerator,
                    c.denominator,
                    shown,
                ]
            )
        )
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    for indicator in book.indicators:
        if indicator.id not in wide:
            continue
        title = indicator.name_en if locale == "en" else indicator.name_zh
        one = workbook.create_sheet(SHEET_TITLE.sub(" ", f"{indicator.id} {title}")[:31])
        one.column_dimensions["A"].width = 18
        one.column_dimensions["B"].width = 30
        one.append(safe_row([f"{indicator.id} {title}"]))
        one.append([gettext("Unit code"), gettext("Unit"), *months])
        for unit, by_month in wide[indicator.id].items():
            one.append(safe_row([unit, names.get(unit, unit), *(by_month.get(m) for m in months)]))
    notes = workbook.create_sheet(gettext("Notes"))
    notes.append(
        safe_row(["CareGrid", network_code, str(year), f"{clock.now():%Y-%m-%d %H:%M} UTC"])
    )
    notes.append(
        [gettext("value = numerator / denominator × factor; units are summed apart, then divided")]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_env = Environment(
    loader=PackageLoader("caregrid.web", "templates"), autoescape=select_autoescape(["html"])
)
_env.filters["amount"] = amount


def report_html(
    session: Session,
    principal: Principal,
    network_code: str,
    year: int,
    *,
    gettext: Callable[[str], str] = _same,
    locale: str = "en",
) -> str:
    """The annual report: every indicator against its target, the monthly referral chart and
    the members' table, in one printable page in the reader's language."""
    screen = cockpit.build(session, principal, network_code, year)
    peak = max((max(up, down) for _, up, down in screen.referrals), default=0) or 1
    network = screen.network
    return _env.get_template("indicators/report.html").render(
        _=gettext,
        locale=locale,
        network_name=(network.name_en or network.name_zh) if locale == "en" else network.name_zh,
        screen=screen,
        indicators=catalogue().indicators,
        peak=peak,
        generated=clock.now(),
    )


def pdf(html: str, out: Path) -> Path:
    """Print the report with the system's Chromium (headless, no network); a missing or
    failing Chromium is Unavailable, named, never a half-written file."""
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    if browser is None:
        raise Unavailable("a PDF needs Chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        printed = Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        try:
            subprocess.run(
                [
                    browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-pdf-header-footer", f"--print-to-pdf={printed}", page.as_uri(),
                ],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise Unavailable("Chromium could not print the report ({exc})", exc=exc) from exc
        if not printed.is_file():
            raise Unavailable("Chromium printed no PDF")
        shutil.move(printed, out)
    return out
