"""Village doctors (H7, 乡聘村用): employed by a primary member and working in a village; a
hospital's professional refused; one employment at a time; each month over without pay flagged
(the current month not yet), a month paid once, within the employment and not before it
begins; VD1 the months paid; the page shows both and reads in both languages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import PayIn, VillageDoctorIn
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
UNIT = "jh-wc-chengdong"
TODAY = NOW.date()  # 2026-11-23
DOCTOR = "vd-liu"
village = workforce.village


@pytest.fixture
def doctor(session: Session, world: World) -> World:
    registry.create_practitioner(
        session,
        SYSTEM,
        code=DOCTOR,
        name="刘村医",
        title_level="junior",
        home_institution_code=UNIT,
    )
    session.flush()
    return world


def _add(session: Session, world: World, code: str = DOCTOR, **more: Any) -> Any:
    fields = {"practitioner_code": code, "village": "下王村", "starts_on": "2026-08-15", **more}
    return village.add_village_doctor(session, world.office, VillageDoctorIn.model_validate(fields))


def _pay(session: Session, world: World, row: int, month: str, paid_on: str) -> Any:
    return village.record_pay(
        session,
        world.office,
        row,
        PayIn.model_validate({"month": month, "amount": "3200", "paid_on": paid_on}),
    )


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_employed_by_the_township_and_working_in_the_village(
    session: Session, doctor: World
) -> None:
    row = _add(session, doctor, village_code="330702101201")
    assert (row.institution_code, row.village) == (UNIT, "下王村")
    assert row.unpaid == ["2026-08", "2026-09", "2026-10"]  # November is still running
    with pytest.raises(InvalidInput) as refused:
        _add(session, doctor, starts_on="2026-11-01")
    assert _fields(refused) == ["starts_on"]
    with pytest.raises(InvalidInput) as refused:
        _add(session, doctor, f"card-sun{doctor.tag}")  # a lead hospital's specialist
    assert _fields(refused) == ["practitioner_code"]
    with pytest.raises(InvalidInput) as refused:
        _add(session, doctor, "nobody")
    assert _fields(refused) == ["practitioner_code"]
    with pytest.raises(InvalidInput) as refused:
        _add(session, doctor, f"gp-wang{doctor.tag}", starts_on="2026-12-01")
    assert _fields(refused) == ["starts_on"]
    with pytest.raises(Forbidden):
        village.add_village_doctor(
            session,
            doctor.lead_admin,
            VillageDoctorIn(practitioner_code=f"gp-wang{doctor.tag}", village="x",
                            starts_on=date(2026, 1, 1)),
        )  # fmt: skip


def test_a_month_is_paid_once_within_the_employment(
    session: Session, doctor: World, fresh_store: object
) -> None:
    row = _add(session, doctor, ends_on="2026-10-10")
    with pytest.raises(InvalidInput) as refused:
        _pay(session, doctor, row.id, "2026-07", "2026-07-31")
    assert _fields(refused) == ["month"]
    with pytest.raises(InvalidInput) as refused:
        _pay(session, doctor, row.id, "2026-12", "2026-11-01")
    assert _fields(refused) == ["month"]
    with pytest.raises(InvalidInput) as refused:
        _pay(session, doctor, row.id, "2026-09", "2026-08-31")
    assert _fields(refused) == ["paid_on"]
    paid = _pay(session, doctor, row.id, "2026-08", "2026-08-31")
    assert paid.unpaid == ["2026-09", "2026-10"]  # its last month, October, is over
    assert paid.pay[0].amount == Decimal("3200.00")
    with pytest.raises(Conflict):
        _pay(session, doctor, row.id, "2026-08", "2026-09-01")
    _pay(session, doctor, row.id, "2026-10", "2026-10-10")
    with pytest.raises(ValidationError):  # the thirteenth month
        PayIn.model_validate({"month": "2026-13", "amount": 1, "paid_on": "2026-11-01"})
    found = village.facts(session, TODAY)
    assert [(r["month_of"], r["paid"]) for r in found] == [
        (date(2026, 8, 1), True),
        (date(2026, 9, 1), False),
        (date(2026, 10, 1), True),
    ]
    with clock.frozen(NOW):
        rows = indicators.network_rows(
            session, NETWORK, ("VD1",), indicators.year_period(2026, TODAY)
        )
    unit = next(r for r in rows if r.code == UNIT).figures["VD1"]
    assert (unit.numerator, unit.denominator) == (2, 3)


def test_the_page_flags_the_months_without_pay(
    client: TestClient, session: Session, doctor: World
) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    office = {**bearer(session, doctor.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/village-doctors"
    with clock.frozen(NOW):
        bad = client.post(
            base,
            headers=office,
            data={"practitioner_code": DOCTOR, "village": "下王村", "starts_on": "2026-12-01"},
        )
        assert bad.status_code == 422 and 'id="error-village-doctor-starts_on"' in bad.text
        made = client.post(
            base, headers=office, follow_redirects=False,
            data={"practitioner_code": DOCTOR, "village": "下王村", "starts_on": "2026-09-01"},
        )  # fmt: skip
        assert made.status_code == 303
        row = village.village_doctors(session, doctor.office, NETWORK)[0]
        paid = client.post(
            f"{base}/{row.id}/pay", headers=office, follow_redirects=False,
            data={"month": "2026-09", "amount": "3000", "paid_on": "2026-09-30"},
        )  # fmt: skip
        assert paid.status_code == 303
        again = client.post(
            f"{base}/{row.id}/pay", headers=office,
            data={"month": "2026-09", "amount": "3000", "paid_on": "2026-10-01"},
        )  # fmt: skip
        assert again.status_code == 409
        page = client.get(base, headers=office)
        desk = client.get("/", headers=office).text
    assert f'data-doctor="{DOCTOR}" data-unpaid="2026-10"' in page.text
    tray = desk.split('id="tray-workforce"')[1].split("</section>")[0]
    assert "刘村医 · 2026-10" in tray and "已结束而未发报酬的月份" in tray
    assert "管理培训" in tray  # no member has had management training: all are due
    text = _visible(page.text)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    with clock.frozen(NOW):
        english = client.get(base, headers=office).text
    client.cookies.delete(COOKIE)
    assert "Months without pay" in english
    doctor_page = {**bearer(session, doctor.cardiologist), "Accept": "text/html"}
    assert client.get(base, headers=doctor_page).status_code == 403
