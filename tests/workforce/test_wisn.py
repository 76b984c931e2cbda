"""Staffing need by WHO's WISN method: the published Kenyan example (Burmen et al., 2017,
Human Resources for Health 15:9, table 3: 234 consultation days less 10 public holidays, 30
days of annual and 15 of sick leave is an AWT of 179 days of 8 hours; 15 minutes a
consultation, 100,000 consultations: 17.46 staff before allowances); the category and
individual allowance factors; a standard whose days away leave no working time, whose
allowances take all of it, or that names a category that is no post category, refused at its
field; a member's need from the engine's workloads and staff lists, computed by hand; the page
in both languages, for the network's office only."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.errors import Forbidden, InvalidInput
from caregrid.indicators.definitions import catalogue
from caregrid.workforce import wisn
from caregrid.workforce.api import staffing_need
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK, UNIT = "jh-rmyy-wucheng", "jh-wc-chengdong"

KENYA = """\
    format: caregrid-wisn/1
    name: burmen-2017
    title_zh: 例
    title_en: example
    categories:
      doctor:
        staff_indicator: WS1
        available_time:
          working_days: {value: 234, source: 4.5 days a week of consultations}
          public_holidays: {value: 10, source: Kenya}
          annual_leave: {value: 30, source: s}
          sick_leave: {value: 15, source: s}
          other_leave: {value: 0, source: s}
          hours_per_day: {value: 8, source: s}
        activities:
          - {code: visit, indicator: WL1, minutes: 15, source: s}
"""


def _standard(text: str = KENYA) -> wisn.Standard:
    return wisn.parse(textwrap.dedent(text), "test.yaml")


def test_the_kenyan_example() -> None:
    doctor = _standard().categories["doctor"]
    assert doctor.available_time.days == 179 and doctor.caf == 1
    found = wisn.need(doctor, {"visit": 100_000}, actual=12)
    assert found.awt_hours == 179 * 8
    assert found.lines[0].standard_workload == 5728  # 179 x 8 x 60 / 15
    assert round(float(found.required), 2) == 17.46
    assert found.ratio == Fraction(12) / found.required  # 0.69: short of staff
    assert wisn.need(doctor, {}, actual=3).ratio is None  # no workload, no ratio


def test_the_allowance_factors() -> None:
    text = KENYA + textwrap.indent(
        textwrap.dedent("""\
        category_allowances:
          - {code: records, percent: 10, source: s}
          - {code: teaching, percent: 5, source: s}
        individual_allowances:
          - {code: head, staff: 2, hours_per_year: 179, source: s}
        """),
        "        ",
    )
    doctor = _standard(text).categories["doctor"]
    assert doctor.caf == Fraction(100, 85)
    found = wisn.need(doctor, {"visit": 5728}, actual=1)
    assert found.iaf == Fraction(2 * 179, 179 * 8)  # a quarter of a staff member
    assert found.required == 1 * Fraction(100, 85) + Fraction(1, 4)
    half = wisn.need(doctor, {"visit": 5728}, actual=1, share=Fraction(1, 2))
    assert half.required == 2 * Fraction(100, 85) + Fraction(1, 4)  # half the year's time


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("{value: 15, source: s}", "{value: 200, source: s}", "available_time"),
        ("minutes: 15", "minutes: 0", "minutes"),
        ("  doctor:", "  surgeon:", "categories"),
        ("name: burmen-2017", "name: burmen-2017\nextra: 1", "extra"),
    ],
)
def test_a_bad_standard_is_refused_at_its_field(old: str, new: str, where: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        wisn.parse(textwrap.dedent(KENYA).replace(old, new), "bad.yaml")
    assert any(where in p.field for p in refused.value.problems), refused.value.problems


def test_allowances_cannot_take_all_the_time() -> None:
    text = KENYA + "        category_allowances:\n          - {code: a, percent: 60, source: s}\n"
    text += "          - {code: b, percent: 40, source: s}\n"
    with pytest.raises(InvalidInput):
        wisn.parse(textwrap.dedent(text), "bad.yaml")


def test_the_shipped_standard_reads_catalogue_indicators() -> None:
    known = catalogue()
    shipped = wisn.standard()
    assert set(shipped.categories) == {"doctor", "nurse"}
    for ident in shipped.indicators:
        assert known.get(ident).direction == "monitor"
    assert shipped.categories["doctor"].available_time.days == 227  # 260 - 13 - 10 - 5 - 5


def test_a_year_so_far() -> None:
    assert wisn.share_of_year(2025, date(2026, 11, 23)) == 1
    assert wisn.share_of_year(2026, date(2026, 11, 23)) == Fraction(327, 365)


def _facts(session: Session) -> None:
    visits = [("outpatient", 10_000), ("emergency", 896), ("admission", 227), ("discharge", 227)]
    rows: list[dict[str, Any]] = []
    for kind, n in visits:
        rows += [
            {
                "encounter_id": f"w-{kind}-{i}", "institution_code": UNIT, "patient_id": f"p{i}",
                "home_division_code": "330702", "kind": kind, "date": date(2025, 3, 1 + i % 28),
                "diagnosis_code": "I10", "total_cost_cny": 100.0, "insurance_paid_cny": 50.0,
            }
            for i in range(n)
        ]  # fmt: skip
    store(session, fact("encounter"), pa.Table.from_pylist(rows, schema(fact("encounter"))))
    staff = [
        ("d1", "doctor", date(2025, 12, 31)), ("d2", "doctor", date(2025, 6, 30)),
        ("n1", "nurse", date(2025, 12, 31)), ("d3", "doctor", date(2026, 6, 30)),
        ("x1", "pharmacist", date(2025, 12, 31)),
    ]  # fmt: skip
    listed = [
        {"staff_id": s, "institution_code": UNIT, "profession": p, "tcm": False, "as_of": d}
        for s, p, d in staff
    ]
    store(session, fact("staff"), pa.Table.from_pylist(listed, schema(fact("staff"))))


def test_a_members_need_from_its_year(session: Session, world: World, fresh_store: object) -> None:
    _facts(session)
    with clock.frozen(NOW):
        found = staffing_need(session, world.office, NETWORK, 2025)
    assert found.share_of_year == 1
    unit = next(m for m in found.members if m.institution_code == UNIT)
    doctor, nurse = unit.categories
    # AWT 227 days x 8 h = 108,960 minutes; visits 10,896 x 10 min = 1 doctor, admissions
    # 227 x 120 = 0.25; CAF 100/85; IAF 200 h / 1,816 h: 6100/3859 = 1.5807
    assert [a.workload for a in doctor.activities] == [10_896, 227, 0, 0]
    assert (doctor.required, doctor.actual) == (Decimal("1.58"), 2)
    assert (doctor.difference, doctor.ratio) == (Decimal("0.42"), Decimal("1.27"))
    # visits x 5 = 0.5 nurse, admissions x 480 = 1; CAF 100/88; IAF 300/1816: 1.8697
    assert (nurse.required, nurse.actual, nurse.ratio) == (Decimal("1.87"), 1, Decimal("0.53"))
    other = next(m for m in found.members if m.institution_code != UNIT)
    assert other.categories[0].actual == 0 and other.categories[0].ratio == 0
    total = {c.category: c for c in found.total}
    assert total["doctor"].actual == 2 and total["doctor"].required > doctor.required
    with pytest.raises(Forbidden):
        staffing_need(session, world.lead_admin, NETWORK, 2025)


def test_the_page(client: TestClient, session: Session, world: World, fresh_store: object) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    _facts(session)
    office = {**bearer(session, world.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/staffing-need"
    with clock.frozen(NOW):
        page = client.get(base, headers=office).text  # last year unless asked
        this_year = client.get(f"{base}?year=2026", headers=office).text
        api = client.get(f"/api{base}?year=2025", headers=bearer(session, world.office))
        bad = client.get(f"/api{base}?year=1999", headers=bearer(session, world.office))
        staff = client.get(f"/networks/{NETWORK}/workforce", headers=office).text
    assert f'href="{base}"' in staff
    row = page.split(f'data-unit="{UNIT}" data-category="nurse"')[1].split("</tr>")[0]
    assert 'class="required">1.87<' in row and 'class="ratio">0.53<' in row
    assert 'class="urgent"' in page.split(f'data-unit="{UNIT}" data-category="nurse"')[1][:20]
    assert "89.6%" in this_year  # 327 of 365 days
    assert api.status_code == 200 and api.json()["members"]
    assert bad.status_code == 422
    text = _visible(page)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    with clock.frozen(NOW):
        english = client.get(base, headers=office).text
    client.cookies.delete(COOKIE)
    assert "WISN ratio" in english and "Admissions 227" in english
    doctor = {**bearer(session, world.cardiologist), "Accept": "text/html"}
    assert client.get(base, headers=doctor).status_code == 403
