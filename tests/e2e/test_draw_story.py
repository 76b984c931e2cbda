"""The workforce in a real browser against the live server: the network's office commits a
first-post draw (posts, candidates, the seed's SHA-256), reveals the seed and reads each
candidate's rank and post, the published file replaying with the same algorithm anyone runs
(H2); and it posts a lead's doctor to a community centre and is refused his promotion for
want of the primary service the profile asks (H4).

What the office makes is committed (the live server runs in its own transactions) and
removed afterwards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select
from tests.e2e.conftest import LiveServer, sign_in
from tests.world import World

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.registry import service as registry
from caregrid.registry.models import Practitioner
from caregrid.workforce import draw as algorithm
from caregrid.workforce import service as workforce
from caregrid.workforce.models import Draw, DrawCandidate, DrawPost, Posting

NETWORK = "jh-rmyy-wucheng"


@pytest.fixture
def world(committed_world: World) -> Iterator[World]:
    """The committed slice; every draw its office commits is removed afterwards."""
    tag = committed_world.tag
    try:
        yield committed_world
    finally:
        with session_scope() as session:
            mine = select(Draw.id).where(Draw.committed_by == f"office{tag}")
            session.execute(delete(DrawCandidate).where(DrawCandidate.draw_id.in_(mine)))
            session.execute(delete(DrawPost).where(DrawPost.draw_id.in_(mine)))
            session.execute(delete(Draw).where(Draw.committed_by == f"office{tag}"))


@pytest.mark.e2e
def test_the_office_commits_reveals_and_publishes_a_draw(
    page: Page, live_server: LiveServer, world: World
) -> None:
    base = live_server.base_url
    seed = secrets.token_hex(16)
    sign_in(page, base, f"office{world.tag}", f"/networks/{NETWORK}/draws")
    form = page.locator("#commit")
    form.locator("#draw-name").fill("2026年新招聘人员首次分配")
    form.locator("#draw-commitment").fill(algorithm.commitment(seed))
    form.locator("#draw-posts").fill(
        "CHC-GP,jh-wc-chengdong,全科医生,1,1\nRMYY-CARD,jh-rmyy,心内科医师,1,2"
    )
    form.locator("#draw-candidates").fill(
        "E1,周文,88.00,RMYY-CARD\nE2,吴敏,88.00,RMYY-CARD\nE3,郑洁,95.00,CHC-GP"
    )
    page.locator("#commit-draw").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/draws/\d+$"))
    expect(page.locator("#draw-state")).to_have_attribute("data-state", "committed")
    page.locator("#reveal-seed").fill(seed)
    page.locator("#reveal-draw").click()

    expect(page.locator("#draw-state")).to_have_attribute("data-state", "revealed")
    rows = page.locator("#draw-candidates tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-ref", "E3")  # the highest score
    expect(rows.nth(0)).to_have_attribute("data-post", "CHC-GP")
    first, second = sorted(("E1", "E2"), key=lambda ref: algorithm._lottery(seed, ref))
    expect(rows.nth(1)).to_have_attribute("data-ref", first)  # the tie, by lottery number
    expect(rows.nth(1)).to_have_attribute("data-post", "RMYY-CARD")
    expect(rows.nth(2)).to_have_attribute("data-ref", second)
    expect(rows.nth(2).locator(".post")).to_have_text("无剩余名额")

    draw_id = int(page.url.rsplit("/", 1)[1])
    published = page.request.get(f"{base}/api/draws/{draw_id}/published")
    assert published.ok
    assert workforce.verify(published.json()) == []
    expect(page.locator("#digest")).to_have_text(published.json()["digest"])


@pytest.fixture
def doctor(world: World) -> Iterator[str]:
    """A junior doctor of the lead, under the test profile (12 months of primary service);
    removed afterwards with his postings."""
    code = f"rmyy-dr{world.tag}"
    with session_scope() as session:
        network = registry.get_network(session, NETWORK)
        profile, network.profile = network.profile, "test-rules"
        registry.create_practitioner(
            session,
            SYSTEM,
            code=code,
            name="钱医生",
            title_level="junior",
            home_institution_code="jh-rmyy",
        )
    try:
        yield code
    finally:
        with session_scope() as session:
            person = registry.get_practitioner(session, code)
            assert person is not None
            session.execute(delete(Posting).where(Posting.practitioner_id == person.id))
            session.execute(delete(Practitioner).where(Practitioner.id == person.id))
            registry.get_network(session, NETWORK).profile = profile


@pytest.mark.e2e
def test_a_promotion_without_the_primary_service_is_refused(
    page: Page, live_server: LiveServer, world: World, doctor: str
) -> None:
    base = live_server.base_url
    sign_in(page, base, f"office{world.tag}", f"/networks/{NETWORK}/workforce")
    form = page.locator("#new-posting")
    form.locator("#posting-code").fill(doctor)
    form.locator("#posting-member").select_option("jh-wc-chengdong")
    form.locator("#posting-purpose").select_option("sinking")
    start = clock.today().replace(day=1) - timedelta(days=100)
    form.locator("#posting-start").fill(start.isoformat())
    page.locator("#record-posting").click()
    expect(page.locator(f"#postings tr[data-practitioner='{doctor}']")).to_have_count(1)

    promotion = page.locator("#promotion")
    promotion.locator("#promotion-code").fill(doctor)
    promotion.locator("#promotion-level").select_option("intermediate")
    page.locator("#promote").click()
    refusal = page.locator("#error-promotion")
    expect(refusal).to_have_attribute("data-requirement", "H4")
    expect(refusal).to_contain_text("晋升中高级职称须满 12 个月")
    with session_scope() as session:
        person = registry.get_practitioner(session, doctor)
        assert person is not None and person.title_level == "junior"
