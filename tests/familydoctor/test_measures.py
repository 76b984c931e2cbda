"""The family-doctor measures (E5, F2, F3, B9) both ways: a world with activity at the rules'
edges, checked by hand, and for every figure the page and the API show, the API's numerator
and denominator equal the hand-checked ones, the DuckDB engine's and the store's own
engine's (PostgreSQL when the suite runs on it).

The world, at 23 November 2026 in the Wucheng group (chengdong is primary, the lead jh-rmyy
tertiary):
- five residents registered at chengdong: P (born 1958, hypertension, signed "basic" today),
  U (born 1960, hypertension, signed "basic" + "hypertension" on 23 May), D (65 today,
  diabetes, never followed up), C (a child of 4) and A (64, no key population);
- P's follow-ups at chengdong on 1 Feb, 2 May (on the day due), 1 Aug (a day late), 1 Nov,
  then one at the lead on 10 Nov (uncontrolled, due 24 Nov: not yet come); U's on 1 Jun,
  1 Aug and 1 Oct, the last uncontrolled (due 15 Oct, never kept);
- hypertension and diabetes outpatient visits sent by the member systems, with an emergency
  visit, a secondary-hypertension visit and a cold that do not count;
- the lead's downward referrals of chronic patients: one in June 2025, two in 2026 (and a
  pneumonia that does not count).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth.roles import Principal
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, ReadingIn
from caregrid.chronic.standard import Condition
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.api import COLUMNS, FIGURES, KEY_POPULATIONS
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.vocab import ConsentMethod
from caregrid.indicators import service as indicators
from caregrid.indicators.definitions import catalogue
from caregrid.indicators.engine import Cell
from caregrid.referral import service as referrals
from caregrid.referral.schemas import DownReferralIn, ReferralIn
from caregrid.referral.vocab import Action
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from tests.conftest import bearer
from tests.world import NOW, SHANGHAI, World, build

NETWORK = "jh-rmyy-wucheng"
UNIT = "jh-wc-chengdong"
LEAD = "jh-rmyy"
URL = f"/api/networks/{NETWORK}/family-doctor-measures?year=2026"
Parts = tuple[float, float | None]

# Hand-checked (indicator, unit) -> (numerator, denominator); any other member is all zeros.
EXPECTED: dict[tuple[str, str], Parts] = {
    # FD1: P and U of the five are signed (a contract in force on 30 November)
    ("FD1", UNIT): (2, 5),
    ("FD1", NETWORK): (2, 5),
    # FD2: key populations are P, U (elderly, hypertension), D (65 today, diabetes), C (child)
    ("FD2", UNIT): (2, 4),
    ("FD2", NETWORK): (2, 4),
    ("FD2-elderly", UNIT): (2, 3),
    ("FD2-elderly", NETWORK): (2, 3),
    ("FD2-hypertension", UNIT): (2, 2),
    ("FD2-hypertension", NETWORK): (2, 2),
    ("FD2-diabetes", UNIT): (0, 1),
    ("FD2-diabetes", NETWORK): (0, 1),
    ("FD2-children", UNIT): (0, 1),
    ("FD2-children", NETWORK): (0, 1),
    # FD3: U's hypertension follow-up item, 4 a year, is 2 due by 23 Nov (184 of 365 days),
    # three were made: 2 count; every other item is not yet due (P signed today)
    ("FD3", UNIT): (2, 2),
    ("FD3", NETWORK): (2, 2),
    # FD4: due 2 May kept on the day; 31 Jul missed (1 Aug); 30 Oct missed (1 Nov);
    # U's 30 Aug and 30 Oct kept; 15 Oct missed; P's 2027 date and the lead's 24 Nov not come
    ("FD4", UNIT): (3, 6),
    ("FD4", NETWORK): (3, 6),
    # CD1: P's four at chengdong are the standard's four; U's three are not. P's fifth, at
    # the lead, is the lead's (no patient under management there)
    ("CD1", UNIT): (1, 2),
    ("CD1", NETWORK): (1, 2),
    # CD2: P's last at chengdong controlled, U's last uncontrolled
    ("CD2", UNIT): (1, 2),
    ("CD2", NETWORK): (1, 2),
    # CD4, CD5: D is under management with no follow-up: neither standardised nor controlled
    ("CD4", UNIT): (0, 1),
    ("CD4", NETWORK): (0, 1),
    ("CD5", UNIT): (0, 1),
    ("CD5", NETWORK): (0, 1),
    # CD7: three outpatient visits at chengdong, one at the lead (its emergency visit, the
    # secondary hypertension and the cold are not counted)
    ("CD7", UNIT): (3, 3),
    ("CD7", LEAD): (0, 1),
    ("CD7", NETWORK): (3, 4),
    # RF6 (B9): the lead's two chronic down-referrals in 2026 (one in the same months of 2025)
    ("RF6", LEAD): (2, None),
    ("RF6", NETWORK): (2, None),
}


def _resident(session: Session, world: World, name: str, birth: str, serial: str) -> int:
    body = f"330702{birth}{serial}"
    return residents.create(
        session,
        world.community_doctor,
        ResidentIn(
            national_id=body + national_id.check_digit(body),
            name=name,
            address_division_code="330702-chengdong",
            registered_institution_code=UNIT,
        ),
    ).id


def _enrol(session: Session, world: World, resident: int, condition: Condition) -> None:
    chronic.enrol(
        session,
        world.community_doctor,
        EnrolIn(resident_id=resident, condition=condition, confirmed_on=date(2025, 6, 1)),
    )


def _follow_up(
    session: Session, by: Principal, resident: int, on: date, sbp: int = 130, dbp: int = 80
) -> None:
    chronic.record_follow_up(
        session,
        by,
        FollowUpIn(
            resident_id=resident,
            condition=Condition.HYPERTENSION,
            visited_on=on,
            reading=ReadingIn(sbp=sbp, dbp=dbp),
        ),
    )


def _refer_up_and_down(session: Session, world: World, resident: int, diagnosis: str) -> None:
    up = referrals.create(
        session,
        world.community_doctor,
        ReferralIn(
            resident_id=resident,
            to_institution_code=LEAD,
            diagnosis_code=diagnosis,
            reason="uncontrolled",
            clinical_summary="BP 172/104",
            consent=True,
            justification="three drugs, still uncontrolled",
        ),
    )
    specialist = world.cardiologist
    for action in (Action.ACCEPT, Action.ARRIVE):
        up = referrals.transition(session, specialist, up.id, action=action, version=up.version)
    referrals.refer_down(
        session,
        specialist,
        parent_id=up.id,
        data=DownReferralIn(
            version=up.version,
            reason="stable",
            clinical_summary="treated",
            discharge_summary="two drugs",
            follow_up_plan="BP in two weeks",
        ),
    )


def _encounters(session: Session) -> None:
    """Outpatient and emergency visits as a member system sends them."""
    visits = [
        (UNIT, "outpatient", "I10"),
        (UNIT, "outpatient", "I11.9"),
        (UNIT, "outpatient", "E11.9"),
        (LEAD, "outpatient", "E11.9"),
        (LEAD, "emergency", "I10"),
        (LEAD, "outpatient", "I15.0"),  # secondary hypertension: not the standard's
        (LEAD, "outpatient", "J06.9"),
    ]
    declared = fact("encounter")
    rows = [
        {
            "encounter_id": f"his-{n}",
            "institution_code": institution,
            "patient_id": f"his-p{n}",
            "home_division_code": "330702-chengdong",
            "kind": kind,
            "date": date(2026, 3, 1 + n),
            "diagnosis_code": code,
            "total_cost_cny": 100.0,
            "insurance_paid_cny": 60.0,
        }
        for n, (institution, kind, code) in enumerate(visits)
    ]
    store(session, declared, pa.Table.from_pylist(rows, schema(declared)))


def build_measured(session: Session) -> World:
    with clock.frozen(datetime(2025, 6, 10, 9, 0, tzinfo=SHANGHAI)):
        world = build(session)
        _refer_up_and_down(session, world, world.patient, "I10")
    patient, signed_in_may = world.patient, world.unsigned_patient
    with clock.frozen(datetime(2026, 5, 23, 9, 0, tzinfo=SHANGHAI)):
        for resident in (patient, signed_in_may):
            _enrol(session, world, resident, Condition.HYPERTENSION)
        familydoctor.sign(
            session,
            world.community_doctor,
            ContractIn(
                resident_id=signed_in_may,
                team_code=f"chengdong-1{world.tag}",
                doctor_code=world.gp_code,
                packages=["basic", "hypertension"],
                consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="李秀兰"),
            ),
        )
    with clock.frozen(NOW):
        diabetic = _resident(session, world, "糖尿病人", "19611123", "001")
        _enrol(session, world, diabetic, Condition.DIABETES)
        _resident(session, world, "儿童", "20220301", "002")
        _resident(session, world, "成人", "19620601", "003")
        doctor = world.community_doctor
        for on in (date(2026, 2, 1), date(2026, 5, 2), date(2026, 8, 1), date(2026, 11, 1)):
            _follow_up(session, doctor, patient, on)
        _follow_up(session, world.cardiologist, patient, date(2026, 11, 10), 150, 92)
        _follow_up(session, doctor, signed_in_may, date(2026, 6, 1))
        _follow_up(session, doctor, signed_in_may, date(2026, 8, 1))
        _follow_up(session, doctor, signed_in_may, date(2026, 10, 1), 150, 92)
        _encounters(session)
    for when, diagnosis in (
        (datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI), "I10"),
        (datetime(2026, 7, 10, 9, 0, tzinfo=SHANGHAI), "E11.9"),
        (datetime(2026, 8, 10, 9, 0, tzinfo=SHANGHAI), "J18.9"),
    ):
        with clock.frozen(when):
            _refer_up_and_down(session, world, signed_in_may, diagnosis)
    return world


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    world = build_measured(session)
    with clock.frozen(NOW):
        yield world


def _expected(ident: str, unit: str) -> Parts:
    indicator = next(i for i in catalogue().indicators if i.id == ident)
    zero: Parts = (0, None if indicator.denominator is None else 0)
    return EXPECTED.get((ident, unit), zero)


def _engine(cells: list[Cell], ident: str, unit: str) -> Parts:
    mine = [c for c in cells if c.indicator == ident and c.unit == unit]
    denominators = [c.denominator for c in mine if c.denominator is not None]
    has = next(i for i in catalogue().indicators if i.id == ident).denominator
    return sum(c.numerator for c in mine), (sum(denominators) if has else None)


def test_every_figure_is_checked_by_hand() -> None:
    assert {ident for ident, _ in EXPECTED} <= set(FIGURES)
    assert set(FIGURES) == set(COLUMNS) | set(KEY_POPULATIONS) | {"RF6"}
    covered = {ident for ident, _ in EXPECTED}
    # the key populations nobody here belongs to are checked as zeros on every row
    assert set(FIGURES) - covered <= set(KEY_POPULATIONS)


def test_the_api_the_hand_and_both_engines_agree(
    session: Session, world: World, client: TestClient, tmp_path: Path
) -> None:
    response = client.get(URL, headers=bearer(session, world.office))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_month"], body["last_month"], body["as_of"]) == (
        "2026-01",
        "2026-11",
        "2026-11-23",
    )
    rows = {r["institution_code"]: r["figures"] for r in body["rows"]}
    assert list(rows)[-1] == NETWORK and UNIT in rows and LEAD in rows
    period = ("2026-01", "2026-11")
    chosen = tuple(catalogue().get(i) for i in FIGURES)
    duck = indicators.live(session, period, chosen, using="duckdb", store=tmp_path)
    own = indicators.live(session, period, chosen, store=tmp_path)
    lead = body["down_referrals"]
    assert body["lead_code"] == LEAD
    for ident in FIGURES:
        units = [LEAD] if ident == "RF6" else list(rows)
        for unit in units:
            shown = lead if ident == "RF6" else rows[unit][ident]
            expected = _expected(ident, unit)
            at = f"{ident} at {unit}"
            assert (shown["numerator"], shown["denominator"]) == expected, at
            assert _engine(duck, ident, unit) == expected, f"{at} (duckdb)"
            assert _engine(own, ident, unit) == expected, f"{at} (store's engine)"
    assert _engine(duck, "RF6", NETWORK) == EXPECTED[("RF6", NETWORK)]
    assert lead["previous"] == 1 and lead["growth"] == 1.0
    assert lead["target"] == 0.1 and lead["meets_target"] is True


def test_targets_and_who_sees_which_rows(
    session: Session, world: World, client: TestClient
) -> None:
    office = client.get(URL, headers=bearer(session, world.office)).json()
    row = next(r for r in office["rows"] if r["institution_code"] == UNIT)["figures"]
    assert row["FD1"]["target"] == 0.4 and row["FD1"]["meets_target"] is True  # 2/5 is 40%
    assert row["CD1"]["target"] == 0.7 and row["CD1"]["meets_target"] is False
    assert row["FD3"]["target"] is None and row["FD3"]["meets_target"] is None
    member = client.get(URL, headers=bearer(session, world.community_doctor)).json()
    assert [r["institution_code"] for r in member["rows"]] == [UNIT]
    assert member["down_referrals"]["numerator"] == 2  # the lead's, for every member to see
    outsider = client.get(URL, headers=bearer(session, world.other_grid_doctor))
    assert outsider.status_code == 403
    assert (
        client.get(URL.replace("2026", "1999"), headers=bearer(session, world.office)).status_code
        == 422
    )


def test_one_more_resident_drops_signing_below_the_target(
    session: Session, world: World, client: TestClient
) -> None:
    _resident(session, world, "新居民", "19900202", "999")
    row = next(
        r["figures"]
        for r in client.get(URL, headers=bearer(session, world.office)).json()["rows"]
        if r["institution_code"] == UNIT
    )
    assert (row["FD1"]["numerator"], row["FD1"]["denominator"]) == (2, 6)
    assert row["FD1"]["meets_target"] is False


def test_the_page_shows_the_engines_figures(
    session: Session, world: World, client: TestClient
) -> None:
    page = client.get(
        f"/networks/{NETWORK}/family-doctor-measures?year=2026",
        headers=bearer(session, world.office),
    )
    assert page.status_code == 200
    row = re.search(rf'<tr data-institution="{UNIT}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    for ident in COLUMNS:
        numerator, denominator = _expected(ident, UNIT)
        cell = re.search(rf'<td data-indicator="{ident}"[^>]*>(.*?)</td>', row.group(1), re.S)
        assert cell and f'<span class="ratio">{numerator:g}/{denominator:g}</span>' in cell.group(1)
    elderly = re.search(r'<tr data-indicator="FD2-elderly">(.*?)</tr>', page.text, re.S)
    assert elderly and '<span class="ratio">2/3</span>' in elderly.group(1)
    down = re.search(r'<p id="down-referrals"[^>]*>(.*?)</p>', page.text, re.S)
    assert down and '<span class="count">2</span>' in down.group(1)
    assert '<span class="previous">1</span>' in down.group(1) and "+100.0%" in down.group(1)


def test_a_hypertension_follow_up_delivers_the_contracts_item(
    session: Session, world: World
) -> None:
    """The item a follow-up delivers is the contract's hypertension follow-up (FD3): U's
    three follow-ups are three delivered, of which the two due count."""
    contract = familydoctor.contract_on(session, world.unsigned_patient, NOW.date())
    assert contract is not None
    steps = {s.item.service: s for s in familydoctor.progress(session, contract, NOW.date())}
    assert (steps["hypertension_follow_up"].delivered, steps["hypertension_follow_up"].due) == (
        3,
        2,
    )
