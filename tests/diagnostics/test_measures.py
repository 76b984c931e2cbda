"""The diagnostics measures (D2-D4) both ways: a world with orders, reports, recognitions and
teleconsultations at the rules' edges, checked by hand, and for every figure the page and the
API show, the API's numerator and denominator equal the hand-checked ones, the DuckDB
engine's and the store's own engine's (PostgreSQL when the suite runs on it).

The world, on 23 November 2026, with the Wucheng group's laboratory and imaging centres at
the lead (jh-rmyy, 24 hours promised):
- three lipid panels reported after 10, exactly 24 and 30 hours, a chest X-ray acquired at
  the community centre and read after 2 hours;
- the cardiologist reuses the first panel, repeats another for the treatment and an X-ray
  because the condition changed;
- five teleconsultations asked of the lead: answered after 3 hours and closed, answered after
  5 and after 10 hours, declined, and one still requested.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics import teleconsult
from caregrid.diagnostics.api import CONSULTS, FIGURES, NETWORK, REPEATS, TURNAROUND
from caregrid.diagnostics.schemas import (
    CentreIn,
    CentreItemIn,
    OrderIn,
    RepeatIn,
    ReportIn,
    ValueIn,
)
from caregrid.diagnostics.vocab import CentreKind, OrderState, RepeatReason
from caregrid.indicators import service as indicators
from caregrid.indicators.definitions import catalogue
from caregrid.indicators.engine import Cell
from tests.conftest import bearer
from tests.world import NOW, World, build

# the live measures would count a synthetic city left in the shared store
pytestmark = pytest.mark.usefixtures("fresh_store")

NET = "jh-rmyy-wucheng"
LEAD = "jh-rmyy"
URL = f"/api/networks/{NET}/recognition-measures?year=2026"
LATER = NOW + timedelta(days=2)
LIPIDS = [
    ValueIn(component="tc", value=Decimal("6.1"), unit="mmol/L"),
    ValueIn(component="tg", value=Decimal("1.5"), unit="mmol/L"),
    ValueIn(component="ldl", value=Decimal("3.9"), unit="mmol/L"),
    ValueIn(component="hdl", value=Decimal("1.2"), unit="mmol/L"),
]
Parts = tuple[float, float | None]

# Hand-checked (indicator, unit) -> (numerator, denominator); anything else is zero.
EXPECTED: dict[tuple[str, str], Parts] = {
    # MR2: one reuse of three orders that had a valid prior result; MR3: its 40 CNY
    ("MR2", NET): (1, 3),
    ("MR3", NET): (40, None),
    ("MR4-critical_for_treatment", NET): (1, None),
    ("MR4-condition_changed", NET): (1, None),
    # TM1 by the state now; TM2 the mean of 3, 5 and 10 hours (a median would be 5)
    ("TM1-closed", NET): (1, None),
    ("TM1-answered", NET): (2, None),
    ("TM1-declined", NET): (1, None),
    ("TM1-requested", NET): (1, None),
    ("TM2", NET): (18, 3),
    # the laboratory: 10 h and exactly 24 h are within the promise, 30 h is not
    ("DC1-laboratory", LEAD): (2, 3),
    ("DC2-laboratory", LEAD): (64, 3),
    ("DC1-imaging", LEAD): (1, 1),
    ("DC2-imaging", LEAD): (2, 1),
}


def _report_after(session: Session, world: World, item: str, hours: int, **extra: object) -> int:
    with clock.frozen(NOW):
        order = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code=item, **extra),
        )
        if extra.get("acquired_at_member"):
            diagnostics.advance(session, world.community_doctor, order.id, OrderState.ACQUIRED)
    with clock.frozen(NOW + timedelta(hours=hours)):
        body = ReportIn(values=LIPIDS) if item == "lipid_panel" else ReportIn(findings="未见异常")
        return diagnostics.report(session, world.cardiologist, order.id, body).id


def _consult(session: Session, world: World, answer_after: int | None, close: bool = False) -> None:
    with clock.frozen(NOW):
        consult = teleconsult.request(
            session,
            world.community_doctor,
            resident_id=world.patient,
            to_institution_code=LEAD,
            to_department_id=world.cardiology,
            question="请会诊",
        )
        if answer_after is None:
            return
        if answer_after < 0:
            teleconsult.decline(session, world.cardiologist, consult.id, reason="请转诊")
            return
        teleconsult.schedule(
            session,
            world.cardiologist,
            consult.id,
            at=NOW + timedelta(hours=1),
            meeting_link="https://meet.example.cn/x",
        )
    with clock.frozen(NOW + timedelta(hours=answer_after)):
        teleconsult.answer(session, world.cardiologist, consult.id, opinion="调整用药")
        if close:
            teleconsult.close(session, world.community_doctor, consult.id)


def build_measured(session: Session) -> World:
    with clock.frozen(NOW):
        world = build(session)
        for kind, items in (
            (CentreKind.LABORATORY, ["lipid_panel"]),
            (CentreKind.IMAGING, ["chest_xray"]),
        ):
            diagnostics.create_centre(
                session,
                SYSTEM,
                CentreIn(
                    network_code=NET,
                    kind=kind,
                    institution_code=LEAD,
                    name=f"{kind} centre",
                    items=[CentreItemIn(item_code=i, turnaround_hours=24) for i in items],
                    readers=[world.cardiologist.username],
                ),
            )
        for category in ("chemistry", "imaging"):
            diagnostics.record_quality_assessment(
                session,
                SYSTEM,
                institution_code=LEAD,
                category=category,
                valid_from=NOW.date() - timedelta(days=300),
                valid_until=NOW.date() + timedelta(days=300),
                scheme="Zhejiang EQA 2026",
            )
    first = _report_after(session, world, "lipid_panel", 10)
    _report_after(session, world, "lipid_panel", 24)
    _report_after(session, world, "lipid_panel", 30)
    film = _report_after(session, world, "chest_xray", 2, acquired_at_member=True)
    with clock.frozen(LATER):
        for prior, item, reason in (
            (first, "lipid_panel", None),
            (first, "lipid_panel", RepeatReason.CRITICAL_FOR_TREATMENT),
            (film, "chest_xray", RepeatReason.CONDITION_CHANGED),
        ):
            order = diagnostics.place_order(
                session, world.cardiologist, OrderIn(resident_id=world.patient, item_code=item)
            )
            if reason is None:
                diagnostics.recognise(session, world.cardiologist, order.id, prior)
            else:
                body = RepeatIn(prior_result_id=prior, reason=reason)
                diagnostics.repeat(session, world.cardiologist, order.id, body)
    _consult(session, world, 3, close=True)
    _consult(session, world, 5)
    _consult(session, world, 10)
    _consult(session, world, -1)
    _consult(session, world, None)
    return world


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    world = build_measured(session)
    with clock.frozen(LATER):
        yield world


def _expected(ident: str, unit: str) -> Parts:
    has = catalogue().get(ident).denominator is not None
    return EXPECTED.get((ident, unit), (0, 0 if has else None))


def _engine(cells: list[Cell], ident: str, unit: str) -> Parts:
    mine = [c for c in cells if c.indicator == ident and c.unit == unit]
    has = catalogue().get(ident).denominator is not None
    return sum(c.numerator for c in mine), (sum(c.denominator or 0 for c in mine) if has else None)


def test_every_figure_is_checked_by_hand() -> None:
    assert set(FIGURES) == set(NETWORK) | set(REPEATS) | set(CONSULTS) | set(TURNAROUND)
    assert {ident for ident, _ in EXPECTED} <= set(FIGURES)
    assert len(REPEATS) == 6 and len(TURNAROUND) == 8  # six coded reasons; four kinds


def test_the_api_the_hand_and_both_engines_agree(
    session: Session, world: World, client: TestClient, tmp_path: Path
) -> None:
    response = client.get(URL, headers=bearer(session, world.office))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_month"], body["last_month"]) == ("2026-01", "2026-11")
    period = ("2026-01", "2026-11")
    chosen = tuple(catalogue().get(i) for i in FIGURES)
    duck = indicators.live(session, period, chosen, using="duckdb", store=tmp_path)
    own = indicators.live(session, period, chosen, store=tmp_path)
    centres = {t["kind"]: t for t in body["turnaround"]}
    assert set(centres) == {"laboratory", "imaging"}
    assert {t["institution_code"] for t in body["turnaround"]} == {LEAD}
    for ident in FIGURES:
        if ident in TURNAROUND:
            unit, kind = LEAD, ident[4:]
            parts = "within_turnaround" if ident.startswith("DC1") else "mean_hours"
            shown = centres[kind][parts] if kind in centres else None
        else:
            unit, shown = NET, body["figures"][ident]
        expected = _expected(ident, unit)
        if shown is not None:
            assert (shown["numerator"], shown["denominator"]) == expected, ident
        assert _engine(duck, ident, unit) == expected, f"{ident} (duckdb)"
        assert _engine(own, ident, unit) == expected, f"{ident} (store's engine)"
    assert body["figures"]["TM2"]["value"] == 6.0
    assert body["figures"]["MR2"]["target"] is None  # the Jinhua profile sets no D3 target


def test_the_page_shows_every_section_and_only_the_office_sees_it(
    session: Session, world: World, client: TestClient
) -> None:
    page = client.get(
        f"/networks/{NET}/diagnostics-measures", headers=bearer(session, world.office)
    )
    assert page.status_code == 200
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert title and "<" not in title.group(1)  # no markup in the tab's title
    assert '<span class="ratio">1/3</span>' in page.text
    assert '<td id="cost-avoided">40.00 元</td>' in page.text  # money with its currency
    assert re.search(r'data-reason="condition_changed"><td>[^<]+</td><td>1</td>', page.text)
    assert re.search(r'data-state="answered"><td>[^<]+</td><td>2</td>', page.text)
    assert '<td id="consult-response">6.0</td>' in page.text
    lab = re.search(r'<tr data-centre="laboratory centre"[^>]*>(.*?)</tr>', page.text, re.S)
    assert lab and re.findall(r"<td>([^<]*)</td>", lab.group(1)) == [
        "laboratory centre",
        "3",
        "2",
        "21.3",
    ]
    member = client.get(
        f"/networks/{NET}/diagnostics-measures", headers=bearer(session, world.community_doctor)
    )
    assert member.status_code == 403
    api = client.get(URL, headers=bearer(session, world.community_doctor))
    assert api.status_code == 403
