"""The issue's story in a real browser against the live server.

A community doctor refers a patient with uncontrolled hypertension up to the lead hospital,
sees which reserved specialist slots are open to her unit in the next 14 days, books one and
sends the referral with its summary in one go. The lead's cardiology department sees it in its
inbox (green-channel patients first), accepts it, receives the patient, treats and discharges
him, and refers him down with a discharge summary and a follow-up plan. Back at the community
centre the family doctor acknowledges the patient and records the first follow-up: the loop is
closed, and every step is on the referral's timeline. The network office sees, per month,
referrals by direction and what share of the lead's slots was opened against the target.

The data is committed with a unique tag (the live server runs in its own transactions) and
removed afterwards, so the rest of the suite sees the database as it was.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.e2e.conftest import sign_in, sign_out
from tests.referrals import refer_up
from tests.world import World, build, remove

from caregrid import clock
from caregrid.referral.vocab import Urgency
from caregrid.scheduling import service as scheduling

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

SCREENSHOT = Path("/tmp/caregrid-referral-timeline.png")


@dataclass(frozen=True)
class Story:
    world: World
    tag: str
    session_month: str  # the month of the published clinic session, YYYY-MM (local)
    slot_day: str  # its local date, YYYY-MM-DD
    other_referral: int  # an earlier, non-green-channel emergency referral

    def user(self, name: str) -> str:
        return f"{name}{self.tag}"


@pytest.fixture
def story(engine: Engine, live_server: LiveServer) -> Iterator[Story]:
    """The Jinhua slice with known passwords, a cardiology session three days ahead (real
    clock: the live server does not freeze time) and one earlier emergency referral."""
    tag = f"-e2e{secrets.token_hex(2)}"
    with Session(engine) as session:
        world = build(session, tag)
        start = clock.local(clock.now() + timedelta(days=3)).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            capacity=30,
        )
        other = refer_up(
            session,
            world,
            resident_id=world.unsigned_patient,
            reason="头痛、血压波动",
            urgency=Urgency.EMERGENCY,
            clinical_summary="66岁女性，未签约，血压波动。",
        )
        session.commit()
        made = Story(world, tag, start.strftime("%Y-%m"), start.strftime("%Y-%m-%d"), other.id)
    try:
        yield made
    finally:
        remove(world)


@pytest.mark.e2e
def test_refer_up_book_treat_refer_down_follow_up(
    page: Page, live_server: LiveServer, story: Story
) -> None:
    base = live_server.base_url
    world = story.world

    # --- the community doctor writes the referral, books a reserved slot, sends it --------
    sign_in(page, base, story.user("dr-wang"), "/referrals/new")
    expect(page.locator("h1")).to_have_text("新建转诊")
    page.locator("#resident_id").select_option(str(world.patient))
    page.locator("#to").select_option("jh-rmyy")
    page.locator("#show-slots").click()
    page.locator("#department_id").select_option(str(world.cardiology))
    page.locator("#show-slots").click()
    expect(page.locator("#department_id")).to_have_value(str(world.cardiology))
    picker = page.locator("#slot-picker")
    expect(picker.locator("legend")).to_have_text("未来 14 天内可预约的号源")
    expect(picker.locator("input[data-pool]")).to_have_count(30)
    expect(picker.locator("input[data-pool=reserved]")).to_have_count(10)
    expect(picker.locator(".slot-session h4")).to_contain_text(story.slot_day)

    page.locator("#diagnosis_code").fill("I10")
    hint = page.locator("#diagnosis-hint")
    expect(hint).to_contain_text("有效的 ICD-10 编码")
    expect(hint).to_contain_text("成员单位首诊病种目录 I10-I15 高血压")
    expect(hint).to_contain_text("需要填写上转理由")
    page.locator("#reason").fill("血压控制不佳")
    page.locator("#urgency").select_option("urgent")
    page.locator("#clinical_summary").fill("68岁男性，高血压10年，近两次随访血压未控制。")
    page.locator("#justification").fill("三种降压药联合治疗血压仍 172/104 mmHg")
    page.locator("#consent").check()
    chosen = picker.locator("input[data-pool=reserved]").first
    slot_input_id = chosen.get_attribute("id")
    slot_time = page.locator(f"label[for='{slot_input_id}']").inner_text().split()[0]
    chosen.check()
    page.locator("#send-referral").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/referrals/\d+$"))
    up_url = page.url
    expect(page.locator("#state")).to_have_text("已提交")
    expect(page.locator("#slot")).to_have_text(f"{story.slot_day} {slot_time}")
    expect(page.locator("#green-channel")).to_have_text("是")
    expect(page.locator("#catalog-hit")).to_contain_text("成员单位首诊病种目录")
    sign_out(page, base)

    # --- the lead's cardiologist: inbox (green channel first), accept, receive, refer down -
    sign_in(page, base, story.user("dr-li"))
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("绿色通道")
    expect(rows.nth(0)).to_contain_text("张建国")
    expect(rows.nth(1)).to_contain_text("急诊")
    expect(rows.nth(1)).not_to_contain_text("绿色通道")
    expect(rows.nth(1)).to_have_attribute("data-referral", str(story.other_referral))
    rows.nth(0).locator("a").first.click()
    expect(page).to_have_url(up_url)
    expect(page.locator("#clinical-summary")).to_have_text(
        "68岁男性，高血压10年，近两次随访血压未控制。"
    )
    page.locator("#action-accept").click()
    expect(page.locator("#state")).to_have_text("已预约")
    page.locator("#action-arrive").click()
    expect(page.locator("#state")).to_have_text("已到诊")
    page.locator("#down-reason").fill("血压已控制，回社区管理")
    page.locator("#down-summary").fill("住院调整用药后血压 132/84 mmHg。")
    page.locator("#down-discharge").fill(
        "出院诊断：原发性高血压3级（很高危）。出院带药：氨氯地平5mg qd。"
    )
    page.locator("#down-plan").fill("两周内社区随访血压；一月后心内科复诊。")
    page.locator("#refer-down-submit").click()
    expect(page).not_to_have_url(up_url)
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/referrals/\d+$"))
    down_url = page.url
    expect(page.locator(".summary-line .direction")).to_have_text("下转")
    expect(page.locator("#discharge-summary")).to_contain_text("氨氯地平5mg qd")
    expect(page.locator("#follow-up-plan")).to_have_text("两周内社区随访血压；一月后心内科复诊。")
    sign_out(page, base)

    # --- back at the community centre: acknowledge, first follow-up, the loop closes ------
    sign_in(page, base, story.user("dr-wang"))
    inbox = page.locator("#inbox-table tbody tr")
    expect(inbox).to_have_count(1)
    inbox.first.locator("a").first.click()
    expect(page).to_have_url(down_url)
    expect(page.locator("#action-accept")).to_have_text("确认接收")
    page.locator("#action-accept").click()
    expect(page.locator("#state")).to_have_text("已接收")
    page.locator("#follow-up-note").fill("血压 128/80 mmHg，继续原方案")
    page.locator("#follow-up-submit").click()
    expect(page.locator("#state")).to_have_text("已闭环")
    expect(page.locator("#first-follow-up")).not_to_be_empty()

    page.locator("#parent-link").click()
    expect(page).to_have_url(up_url)
    expect(page.locator("#state")).to_have_text("已闭环")
    timeline = page.locator("#timeline tbody tr")
    expect(timeline).to_have_count(9)
    actions = timeline.evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions == [
        "create",
        "submit",
        "book_slot",
        "accept",
        "schedule",
        "arrive",
        "complete",
        "refer_down",
        "close",
    ]
    expect(timeline.nth(2)).to_contain_text("预约号源")
    expect(timeline.nth(2)).to_contain_text(f"{story.slot_day}")
    expect(timeline.nth(3)).to_contain_text(story.user("dr-li"))
    expect(timeline.nth(8)).to_contain_text("已闭环")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    sign_out(page, base)

    # --- the network office: the month's referrals by direction, the lead's slot share -----
    sign_in(page, base, story.user("office"))
    page.locator("a.measures-link[href='/networks/jh-rmyy-wucheng/referral-measures']").click()
    expect(page.locator("h1")).to_have_text("转诊月度统计")
    this_month = clock.today().strftime("%Y-%m")
    expect(page.locator("#month")).to_have_value(this_month)
    lead = page.locator("#measures tr[data-institution='jh-rmyy']")
    community = page.locator("#measures tr[data-institution='jh-wc-chengdong']")
    expect(lead.locator("td.received-up")).to_have_text("2")
    expect(lead.locator("td.sent-down")).to_have_text("1")
    expect(lead.locator("td.closed-loop .ratio")).to_have_text("1/1")
    expect(community.locator("td.sent-up")).to_have_text("2")
    expect(community.locator("td.received-down")).to_have_text("1")
    if story.session_month != this_month:
        page.locator("#month").fill(story.session_month)
        page.locator("#month-form button").click()
        expect(page.locator("#month")).to_have_value(story.session_month)
    expect(lead.locator("td.reserved-slots .ratio")).to_have_text("10/30")
    expect(lead.locator("td.slot-target .target")).to_have_text("1/3")
    expect(lead.locator("td.slot-target .met-yes")).to_have_text("✓")
    expect(lead.locator("td.reserved-used .ratio")).to_have_text("1/10")
