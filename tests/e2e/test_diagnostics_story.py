"""The shared-diagnostics story in a real browser against the live server.

The community centre records a patient's ECG and chest X-ray itself and sends them to the
group's ECG and imaging centres at the lead, which read them and return signed reports
("基层检查、上级诊断"); a blood sample goes to the shared laboratory. Two weeks later the
patient is referred up; the cardiologist orders the lipid panel and the chest X-ray again,
is offered the recognised results, reuses one and repeats the other with a coded reason.
The office sees the recognition rate, the repeat reason, the cost avoided and turnaround per
centre. The centre asks the lead's neurology department for a teleconsultation, which is
scheduled and answered in writing. Time is frozen for the live server, which shares the
process's clock; the data is committed with a unique tag and removed afterwards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from tests.conftest import make_principal
from tests.e2e.conftest import sign_in, sign_out
from tests.referrals import refer_up
from tests.world import NOW, World, build, remove

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Role
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import (
    Centre,
    CentreItem,
    CentreMember,
    CentreReader,
    QualityAssessment,
)
from caregrid.diagnostics.schemas import CentreIn, CentreItemIn
from caregrid.diagnostics.vocab import CentreKind
from caregrid.registry import service as registry

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

NETWORK = "jh-rmyy-wucheng"
LATER = NOW + timedelta(days=14)


@dataclass(frozen=True)
class Story:
    world: World
    neurology: int

    def user(self, name: str) -> str:
        return f"{name}{self.world.tag}"


@pytest.fixture
def story(engine: Engine, live_server: LiveServer) -> Iterator[Story]:
    """The lead's ECG, imaging and laboratory centres with their readers, quality
    assessments passed this year, and a neurology department with a neurologist."""
    tag = f"-dx{secrets.token_hex(2)}"
    with Session(engine) as session, clock.frozen(NOW):
        world = build(session, tag)
        readers = {
            CentreKind.ECG: world.cardiologist.username,
            CentreKind.IMAGING: make_principal(
                session, f"dr-rad{tag}", Role.CLINICIAN, institution="jh-rmyy"
            ).username,
            CentreKind.LABORATORY: make_principal(
                session, f"dr-lab{tag}", Role.CLINICIAN, institution="jh-rmyy"
            ).username,
        }
        make_principal(session, f"dr-neuro{tag}", Role.CLINICIAN, institution="jh-rmyy")
        offered = {
            CentreKind.ECG: [CentreItemIn(item_code="ecg_12", turnaround_hours=2)],
            CentreKind.IMAGING: [CentreItemIn(item_code="chest_xray", turnaround_hours=24)],
            CentreKind.LABORATORY: [CentreItemIn(item_code="lipid_panel", turnaround_hours=24)],
        }
        centres = [
            diagnostics.create_centre(
                session,
                SYSTEM,
                CentreIn(
                    network_code=NETWORK,
                    kind=kind,
                    institution_code="jh-rmyy",
                    name=f"{kind}-centre{tag}",
                    items=items,
                    readers=[readers[kind]],
                ),
            ).id
            for kind, items in offered.items()
        ]
        for category in ("electrophysiology", "imaging", "chemistry"):
            diagnostics.record_quality_assessment(
                session,
                SYSTEM,
                institution_code="jh-rmyy",
                category=category,
                valid_from=date(NOW.year, 1, 1),
                valid_until=date(NOW.year, 12, 31),
                scheme=f"EQA{tag}",
            )
        neurology = registry.create_department(
            session, SYSTEM, institution_code="jh-rmyy", code=f"neuro{tag}", name_zh="神经内科"
        ).id
        session.commit()
    try:
        yield Story(world, neurology)
    finally:
        remove(world, departments=[neurology])  # the orders first: they name the centres
        with Session(engine) as session:
            for table in (CentreItem, CentreMember, CentreReader):
                session.execute(delete(table).where(table.centre_id.in_(centres)))
            session.execute(delete(Centre).where(Centre.id.in_(centres)))
            assessed = QualityAssessment.scheme == f"EQA{tag}"
            session.execute(delete(QualityAssessment).where(assessed))
            session.commit()


def _order(page: Page, base: str, patient: int, item: str, *, acquired_here: bool) -> str:
    page.goto(f"{base}/residents/{patient}")
    page.locator("#new-order").click()
    page.locator("#item_code").select_option(item)
    if acquired_here:
        page.locator("input[name=acquired_at_member]").check()
    page.locator("#place-order").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/orders/\d+$"))
    return page.url


def _read(page: Page, order: str, *, values: dict[str, str], findings: str = "") -> None:
    """The centre's reader opens the order from the queue and signs the report."""
    page.goto(order)
    if page.locator("#acquire").count():
        page.locator("#acquire").click()  # the lab receives the sample
    for component, value in values.items():
        page.locator(f"#value-{component}").fill(value)
    if findings:
        page.locator("#findings").fill(findings)
        page.locator("#conclusion").fill("诊断意见仅供本院")
    page.locator("#sign-report").click()
    expect(page.locator("#order-state")).to_have_text("已报告")
    page.locator("#deliver").click()
    expect(page.locator("#order-state")).to_have_text("报告已送达")


@pytest.mark.e2e
def test_acquire_here_read_there_then_reuse_one_and_repeat_one(
    page: Page, live_server: LiveServer, story: Story, engine: Engine
) -> None:
    base = live_server.base_url
    world, patient = story.world, story.world.patient

    with clock.frozen(NOW):
        # --- the community centre acquires the ECG and X-ray and sends a blood sample -------
        sign_in(page, base, story.user("dr-wang"), f"/residents/{patient}")
        ecg = _order(page, base, patient, "ecg_12", acquired_here=True)
        page.locator("#acquire").click()
        expect(page.locator("#order-state")).to_have_text("已采集")
        xray = _order(page, base, patient, "chest_xray", acquired_here=True)
        page.locator("#acquire").click()
        lipids = _order(page, base, patient, "lipid_panel", acquired_here=False)
        sign_out(page, base)

        # --- each centre reads its own: the queue lists the order, a reader signs ----------
        sign_in(page, base, story.user("dr-li"), "/centres")
        page.locator("#running li[data-kind='ecg'] a").click()
        expect(page.locator(f"#queue tr[data-order='{ecg.rsplit('/', 1)[1]}']")).to_be_visible()
        _read(page, ecg, values={}, findings="窦性心律，ST段未见异常")
        sign_out(page, base)
        sign_in(page, base, story.user("dr-rad"), "/centres")
        _read(page, xray, values={}, findings="双肺纹理清晰，心影不大")
        sign_out(page, base)
        sign_in(page, base, story.user("dr-lab"), "/centres")
        _read(page, lipids, values={"tc": "6.2", "tg": "1.9", "ldl": "4.1", "hdl": "1.1"})
        expect(page.locator("#result tr.flag-H")).to_have_count(3)
        sign_out(page, base)

        sign_in(page, base, story.user("dr-wang"), f"/residents/{patient}/results")
        expect(page.locator("#results tbody tr")).to_have_count(3)
        expect(page.locator("#results")).not_to_contain_text("诊断意见仅供本院")
        sign_out(page, base)

    with clock.frozen(LATER):
        # --- two weeks later the patient is referred up, the results attached --------------
        with Session(engine) as session:
            refer_up(
                session,
                world,
                resident_id=patient,
                reason="血压控制不佳，血脂异常",
                clinical_summary="心电图、胸片、血脂见附件。",
                attachments=[ecg, xray, lipids],
            )
            session.commit()

        # --- the cardiologist orders both again: reuses the lipids, repeats the X-ray ------
        sign_in(page, base, story.user("dr-li"), f"/residents/{patient}")
        _order(page, base, patient, "lipid_panel", acquired_here=False)
        offer = page.locator("#offers .offer")
        expect(offer).to_have_count(1)
        expect(offer).to_contain_text(f"有效期至 {(NOW + timedelta(days=30)).date()}")
        offer.locator("button.reuse").click()
        expect(page.locator("#order-state")).to_have_text("已互认（沿用）")
        _order(page, base, patient, "chest_xray", acquired_here=False)
        offer = page.locator("#offers .offer")
        expect(offer).not_to_contain_text("诊断意见仅供本院")  # data and images, never the opinion
        offer.locator("select.reason").select_option("condition_changed")
        offer.locator("button.repeat").click()
        expect(page.locator("#order-state")).to_have_text("已开单")
        expect(page.locator("#offers")).to_be_visible()  # the prior result is still there
        sign_out(page, base)

        # --- the office sees the rate, the reason, the cost avoided and turnaround ---------
        sign_in(page, base, story.user("office"), f"/networks/{NETWORK}")
        page.locator("#measure-links a[href$='diagnostics-measures']").click()
        expect(page.locator("#recognition-rate .ratio")).to_have_text("1/2")
        expect(page.locator("#cost-avoided")).to_have_text("40.00 元")
        expect(page.locator("#repeats tr[data-reason='condition_changed']")).to_contain_text("1")
        ecg_row = page.locator(f"#turnaround tr[data-centre='ecg-centre{world.tag}']")
        expect(ecg_row.locator("td").nth(1)).to_have_text("1")
        expect(ecg_row.locator("td").nth(2)).to_have_text("1")
        sign_out(page, base)

        # --- a teleconsultation with the lead's neurology department -----------------------
        sign_in(page, base, story.user("dr-wang"), f"/residents/{patient}")
        page.locator("#ask-consult").click()
        page.locator("#to_department_id").select_option(str(story.neurology))
        page.locator("#question").fill("头晕伴左手麻木三天，请神经内科会诊")
        page.locator("#send-consult").click()
        expect(page).to_have_url(f"{base}/teleconsultations")
        expect(page.locator("#sent tr[data-state='requested']")).to_contain_text("左手麻木")
        sign_out(page, base)

        sign_in(page, base, story.user("dr-neuro"), "/teleconsultations")
        asked = page.locator("section.consult[data-state='requested']")
        when = (LATER + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
        asked.locator("input[name=at]").fill(when)
        asked.locator("input[name=meeting_link]").fill("https://meet.example.cn/neuro")
        asked.locator("button.schedule").click()
        scheduled = page.locator("section.consult[data-state='scheduled']")
        expect(scheduled).to_contain_text("https://meet.example.cn/neuro")
        scheduled.locator("textarea[name=opinion]").fill("建议头颅MRI，排除腔隙性脑梗死")
        scheduled.locator("button.answer").click()
        sign_out(page, base)

        sign_in(page, base, story.user("dr-wang"), "/teleconsultations")
        answered = page.locator("#sent tr[data-state='answered']")
        expect(answered.locator(".opinion")).to_have_text("建议头颅MRI，排除腔隙性脑梗死")
        answered.locator("button.close").click()
        expect(page.locator("#sent tr[data-state='closed']")).to_have_count(1)
