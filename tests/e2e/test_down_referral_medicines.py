"""Medicines that follow a patient referred down (G6), in a real browser against the live
server.

The lead's cardiologist discharges the hypertension patient referred up by the community
centre and refers him down with his regimen: amlodipine, which the centre holds, and
metformin, which it lists but has none of. The form shows the check before sending, with
metformin flagged and what the lead holds; sent again, the down referral keeps the check and a
transfer from the lead's lot is proposed. The lead's pharmacy ships it, the centre's pharmacy
confirms receipt and holds the units, and the family doctor sees the regimen, with the transfer
received, on the patient's record.

The data is committed with unique codes (the live server runs in its own transactions) and
removed afterwards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select
from tests.e2e.conftest import LiveServer, sign_in, sign_out
from tests.referrals import arrive, refer_up
from tests.world import World, build, remove

from caregrid.auth.roles import SYSTEM
from caregrid.db.session import session_scope
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import (
    CatalogueItem,
    Listing,
    RegimenCheck,
    RegimenLine,
    StockLot,
    Transfer,
)
from caregrid.pharmacy.schemas import LotIn
from caregrid.referral.models import Referral
from caregrid.registry import service as registry

NETWORK, LEAD, UNIT = "jh-rmyy-wucheng", "jh-rmyy", "jh-wc-chengdong"
FAR = date(2099, 12, 31)


@dataclass(frozen=True)
class Story:
    world: World
    tag: str
    up: int  # the arrived up referral
    amlodipine: str
    metformin: str

    def user(self, name: str) -> str:
        return f"{name}{self.tag}"


def _clean(world: World, codes: list[str]) -> None:
    with session_scope() as session:
        referrals = select(Referral.id).where(Referral.resident_id == world.patient)
        checks = select(RegimenCheck.id).where(RegimenCheck.referral_id.in_(referrals))
        lines = select(RegimenLine.id).where(RegimenLine.check_id.in_(checks))
        items = select(CatalogueItem.id).where(CatalogueItem.code.in_(codes))
        lots = select(StockLot.id).where(StockLot.item_id.in_(items))
        session.execute(delete(Transfer).where(Transfer.lot_id.in_(lots)))
        session.execute(delete(RegimenLine).where(RegimenLine.id.in_(lines)))
        session.execute(delete(RegimenCheck).where(RegimenCheck.id.in_(checks)))
        session.execute(delete(StockLot).where(StockLot.item_id.in_(items)))
        session.execute(delete(Listing).where(Listing.code.in_(codes)))
        session.execute(delete(CatalogueItem).where(CatalogueItem.code.in_(codes)))


@pytest.fixture
def story(live_server: LiveServer) -> Iterator[Story]:
    """Two drugs of their own in the group's catalogue, listed by the lead and the centre;
    the centre holds 100 amlodipine, the lead 200 metformin; the patient referred up and
    arrived at the lead."""
    tag = f"-e2e{secrets.token_hex(2)}"
    suffix = tag.upper().replace("-", "")
    amlodipine, metformin = f"AML-{suffix}", f"MET-{suffix}"
    with session_scope() as session:
        world = build(session, tag)
        text = (
            "code,kind,name_zh,molecule,strength,essential,source\n"
            f"{amlodipine},drug,苯磺酸氨氯地平片,amlodipine,5mg,yes,ours: e2e\n"
            f"{metformin},drug,盐酸二甲双胍片,metformin,0.5g,yes,ours: e2e\n"
        )
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text.encode(), file="e2e.csv")
        for place in (LEAD, UNIT):
            institution = registry.require_institution(session, place).id
            for code, name in ((amlodipine, "苯磺酸氨氯地平片"), (metformin, "盐酸二甲双胍片")):
                session.add(
                    Listing(institution_id=institution, code=code, name_zh=name, listed_on=FAR)
                )
        for place, code, number, units in (
            (UNIT, amlodipine, "A1", 100),
            (LEAD, metformin, "M1", 200),
        ):
            pharmacy.receive_lot(
                session,
                SYSTEM,
                place,
                LotIn(item_code=code, lot_number=number, expires_on=FAR, quantity=units),
            )
        up = arrive(session, world.cardiologist, refer_up(session, world))
        made = Story(world, tag, up.id, amlodipine, metformin)
    try:
        yield made
    finally:
        _clean(world, [amlodipine, metformin])
        remove(world)


@pytest.mark.e2e
def test_the_regimen_is_checked_flagged_transferred_and_seen_by_the_family_doctor(
    page: Page, live_server: LiveServer, story: Story
) -> None:
    base = live_server.base_url

    # --- the lead's cardiologist refers the patient down with his regimen ---------------
    sign_in(page, base, story.user("dr-li"), f"/referrals/{story.up}")
    form = page.locator("#refer-down")
    form.locator("#down-reason").fill("血压平稳，转回社区管理")
    form.locator("#down-summary").fill("氨氯地平联合二甲双胍，血压血糖达标")
    form.locator("#down-discharge").fill("出院带药：氨氯地平、二甲双胍")
    form.locator("#down-plan").fill("两周内社区随访血压、血糖")
    codes, units = (
        form.locator("select[name=regimen_code]"),
        form.locator("input[name=regimen_quantity]"),
    )
    codes.nth(0).select_option(story.amlodipine)
    units.nth(0).fill("28")
    codes.nth(1).select_option(story.metformin)
    units.nth(1).fill("56")
    page.locator("#refer-down-submit").click()

    # the check before sending: metformin flagged, what the lead holds
    expect(page.locator("#regimen-flagged")).to_be_visible()
    preview = page.locator("#regimen-preview")
    expect(preview.locator(f"tr[data-code='{story.amlodipine}']")).to_have_attribute(
        "data-outcome", "available"
    )
    flagged = preview.locator(f"tr[data-code='{story.metformin}']")
    expect(flagged).to_have_attribute("data-outcome", "flagged")
    expect(flagged).to_contain_text("牵头医院库存 200")
    page.locator("#refer-down-submit").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/referrals/\d+$"))
    down_url = page.url
    check = page.locator("#regimen-check")
    expect(check).to_contain_text("标记药品：1")
    moved = check.locator(f"tr[data-code='{story.metformin}'] .transfer")
    expect(moved).to_have_attribute("data-state", "requested")
    expect(moved).to_contain_text("M1 × 56")
    sign_out(page, base)

    # --- the lead's pharmacy ships, the centre's pharmacy confirms receipt -----------------
    sign_in(page, base, story.user("rmyy-admin"), f"/institutions/{LEAD}/pharmacy")
    row = page.locator("#transfers tr[data-state=requested]").filter(has_text=story.metformin)
    row.locator("button[value=ship]").click()
    expect(page.locator("#transfers tr").filter(has_text=story.metformin).first).to_have_attribute(
        "data-state", "shipped"
    )
    sign_out(page, base)

    sign_in(page, base, story.user("chc-admin"), f"/institutions/{UNIT}/pharmacy")
    row = page.locator("#transfers tr[data-state=shipped]").filter(has_text=story.metformin)
    row.locator("button[value=receive]").click()
    expect(page.locator("#transfers tr").filter(has_text=story.metformin).first).to_have_attribute(
        "data-state", "received"
    )
    expect(page.locator(f"#lots tr[data-code='{story.metformin}']")).to_contain_text("56")
    sign_out(page, base)

    # --- the family doctor sees the patient's medicines ---------------------------------
    sign_in(page, base, story.user("dr-wang"), f"/residents/{story.world.patient}")
    medicines = page.locator(".regimen-of-referral")
    expect(medicines).to_have_count(1)
    expect(medicines.locator(f"tr[data-code='{story.metformin}']")).to_have_attribute(
        "data-outcome", "flagged"
    )
    expect(medicines.locator(".transfer")).to_have_attribute("data-state", "received")
    medicines.locator("a").first.click()
    expect(page).to_have_url(down_url)
