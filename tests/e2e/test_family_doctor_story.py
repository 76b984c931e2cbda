"""The family-doctor story in a real browser against the live server.

The community centre's family doctor signs a 68-year-old hypertension patient to the elderly
and hypertension packages (the team has a cardiologist from the lead). The worklist shows his
follow-up is overdue; she records 162/98: not controlled, adjust medication, next visit in
two weeks. Two weeks later it is uncontrolled again: the page proposes an up-referral,
prefilled and green channel, which she sends. The data is committed with a unique tag and
removed afterwards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.e2e.conftest import sign_in
from tests.world import World, build, remove

from caregrid import clock
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn
from caregrid.chronic.standard import Condition
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer


@pytest.fixture
def story(engine: Engine, live_server: LiveServer) -> Iterator[tuple[World, int]]:
    """A committed world (real clock: the live server does not freeze time) and a resident
    who turned 68 this year, diagnosed with hypertension a month ago."""
    tag = f"-fd{secrets.token_hex(2)}"
    today = clock.today()
    with Session(engine) as session:
        world = build(session, tag)
        body = f"330702{today.year - 68}0101{secrets.randbelow(900) + 100:03d}"
        patient = residents.create(
            session,
            world.community_doctor,
            ResidentIn(
                national_id=body + national_id.check_digit(body),
                name="赵长寿",
                address_division_code="330702-chengdong",
                registered_institution_code="jh-wc-chengdong",
            ),
        ).id
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=today - timedelta(days=30),
            ),
        )
        session.commit()
    try:
        yield world, patient
    finally:
        remove(world, also=[patient])


def _record(page: Page, base: str, patient: int, on: date, sbp: int, dbp: int) -> None:
    page.goto(f"{base}/chronic/follow-up?resident_id={patient}&condition=hypertension")
    page.locator("input[name=visited_on]").fill(on.isoformat())
    page.locator("#sbp").fill(str(sbp))
    page.locator("#dbp").fill(str(dbp))
    page.locator("#record").click()


@pytest.mark.e2e
def test_sign_follow_up_and_refer_up(
    page: Page, live_server: LiveServer, story: tuple[World, int]
) -> None:
    base = live_server.base_url
    world, patient = story
    today = clock.today()

    sign_in(page, base, f"dr-wang{world.tag}", f"/residents/{patient}")
    page.locator("#sign-contract").click()
    team = f"chengdong-1{world.tag}"
    for package in ("basic", "elderly", "hypertension"):
        page.locator(f"#pkg-{team}-{package}").check()
    page.locator("#sign").click()
    expect(page).to_have_url(f"{base}/residents/{patient}")
    contract = page.locator("section.contract")
    expect(contract).to_have_attribute("data-status", "active")
    expect(contract).to_contain_text("城东家庭医生团队一")
    expect(contract).to_contain_text("高血压面对面随访")
    expect(contract).to_contain_text("老年人年度健康体检")

    page.goto(f"{base}/teams/{world.team}/worklist")
    overdue = page.locator(f"#worklist tr.work-follow_up_overdue[data-resident='{patient}']")
    expect(overdue).to_contain_text("赵长寿")

    _record(page, base, patient, today - timedelta(days=14), 162, 98)
    expect(page.locator("#decision")).to_contain_text("控制不满意")
    expect(page.locator("#decision")).to_contain_text("调整用药，2周内随访")
    expect(page.locator("#next-due")).to_have_text(today.isoformat())
    expect(page.locator("#refer-up")).to_have_count(0)

    _record(page, base, patient, today, 158, 96)
    expect(page.locator("#decision")).to_contain_text("转诊上级医院")
    expect(page.locator("#green-channel")).to_be_visible()
    page.locator("#refer-up").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/referrals/new\?"))
    expect(page.locator("#diagnosis_code")).to_have_value("I10")
    expect(page.locator("#to")).to_have_value("jh-rmyy")
    page.locator("#justification").fill("两次随访血压未控制")
    page.locator("#consent").check()
    page.locator("#send-referral").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/referrals/\d+$"))
    expect(page.locator("#state")).to_have_text("已提交")
    expect(page.locator("#green-channel")).to_have_text("是")

    page.goto(f"{base}/residents/{patient}")
    expect(page.locator("#chart-hypertension svg polyline.sbp")).to_have_count(1)
    expect(page.locator("#visits tbody tr")).to_have_count(2)
