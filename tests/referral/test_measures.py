"""The network's monthly referral measures (B9, B3, C1, C2), both ways: a world with activity
at the rules' edges, and for every indicator the page and the API show, the API's and the
page's numerator and denominator equal the hand-checked value here, DuckDB's over the exported
facts and the store's own engine's (PostgreSQL when the suite runs on it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.config import get_settings
from caregrid.indicators import service as indicators
from caregrid.indicators.definitions import catalogue
from caregrid.referral import api
from caregrid.referral import service as referrals
from caregrid.referral.schemas import DownReferralIn, ReferralIn
from caregrid.referral.vocab import Action, RejectionReason
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from caregrid.scheduling import service as scheduling
from tests.conftest import bearer
from tests.world import NOW, SHANGHAI, World, build, nid

NETWORK, LEAD, CHC = "jh-rmyy-wucheng", "jh-rmyy", "jh-wc-chengdong"
NOVEMBER, OCTOBER, DECEMBER = "2026-11", "2026-10", "2026-12"
Sums = tuple[float, float | None]


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


# What a person counts on the world below, per month, unit and indicator; a count has no
# denominator, and every indicator of the page not listed for a unit is zero (0, 0 for a
# share).
EXPECTED: dict[str, dict[str, dict[str, Sums]]] = {
    NOVEMBER: {
        LEAD: {
            "RF9": (5, None),  # A, B, C, D, G came up; E is a draft, F was sent in October
            "CC8": (1, None),  # H, the down-referral that answers G
            "RF13": (2, None),  # C and D are still waiting
            "RF15": (1, None),  # B
            "RF19": (1, None),  # A
            "RF20": (1, None),  # G, closed by the community's follow-up of H
            "RF21": (4.5, 3),  # A 3 h, B 1.5 h, G at once
            "RF22": (1, None),  # D: 48 h 1 min; C, exactly 48 h, is not overdue yet
            "RF23": (1, 2),  # G closed, A only completed
            "UG4": (10, 30),  # exactly 1/3: the target is met
            "UG12": (3, 10),  # b1, b3, b4 by the community; b2 cancelled, b5 the public's
            "UG13": (1, None),  # b2
            "UG14": (1, None),  # b3
            "UG15": (2, 3),  # b1 and b5 kept, b3 not; b4 not marked yet
            "UG5": (2, 8),  # exactly 1/4 of the beds
        },
        CHC: {
            "CC7": (5, None),
            "RF10": (1, None),  # H
            "RF20": (1, None),
            "RF21": (24, 1),  # H accepted the next day
            "RF23": (0, 0),  # a closed loop is counted where the up-referral was received
        },
    },
    OCTOBER: {
        LEAD: {"RF9": (1, None), "RF13": (1, None), "RF22": (1, None)},  # F, 23:30 local
        CHC: {"CC7": (1, None)},
    },
    DECEMBER: {  # a session at 07:30 local on 1 December is 30 November in UTC
        LEAD: {"UG4": (2, 6), "UG12": (0, 2)},  # no booking yet
    },
}


@pytest.fixture
def world(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(get_settings(), "facts_dir", tmp_path / "store")
    with clock.frozen(NOW):
        built = build(session)
    _activity(session, built)
    with clock.frozen(NOW):
        yield built


def _activity(session: Session, world: World) -> None:
    """Referrals A-H and bookings b1-b5 as the comments of EXPECTED say."""
    doctor, cardiologist, admin = world.community_doctor, world.cardiologist, world.lead_admin
    made = _residents(session, world, 11)
    people = iter(made)

    def refer(when: datetime, *, submit: bool = True) -> int:
        with clock.frozen(when):
            return referrals.create(
                session,
                doctor,
                ReferralIn(
                    resident_id=next(people),
                    to_institution_code=LEAD,
                    to_department_id=world.cardiology,
                    diagnosis_code="I10",
                    reason="血压控制不佳",
                    clinical_summary="高血压10年，近两次随访血压未控制。",
                    justification="三种降压药联合治疗血压仍 172/104 mmHg",
                    consent=True,
                    submit=submit,
                ),
            ).id

    def act(when: datetime, who: Any, referral_id: int, action: Action, **kw: Any) -> None:
        with clock.frozen(when):
            found = referrals.get(session, referral_id)
            referrals.transition(
                session, who, referral_id, action=action, version=found.version, **kw
            )

    a = refer(at(2, 9))
    act(at(2, 12), cardiologist, a, Action.ACCEPT)
    act(at(5, 9), cardiologist, a, Action.ARRIVE)
    act(at(6, 9), cardiologist, a, Action.COMPLETE)
    b = refer(at(3, 9))
    act(at(3, 10, 30), cardiologist, b, Action.REJECT, rejection_code=RejectionReason.OTHER,
        note="请先在本院调整用药")  # fmt: skip
    refer(at(21, 9))  # C
    refer(at(21, 8, 59))  # D
    refer(at(5, 9), submit=False)  # E
    refer(at(31, 23, 30, month=10))  # F
    g = refer(at(4, 9))
    act(at(4, 9), cardiologist, g, Action.ACCEPT)
    act(at(8, 9), cardiologist, g, Action.ARRIVE)
    with clock.frozen(at(10, 9)):
        parent = referrals.get(session, g)
        h = referrals.refer_down(
            session,
            cardiologist,
            parent_id=g,
            data=DownReferralIn(
                version=parent.version,
                reason="病情稳定",
                clinical_summary="血压已控制",
                discharge_summary="调整降压方案后血压 130/80 mmHg",
                follow_up_plan="两周后社区随访血压",
            ),
        ).id
    act(at(11, 9), doctor, h, Action.ACCEPT)
    with clock.frozen(at(12, 9)):
        down = referrals.get(session, h)
        referrals.record_follow_up(
            session, doctor, h, version=down.version, note="血压 128/80 mmHg"
        )

    with clock.frozen(at(1, 9)):
        clinic = scheduling.publish_session(
            session, admin, department_id=world.cardiology,
            starts_at=at(16, 8), ends_at=at(16, 11), capacity=30,
        )  # fmt: skip
        scheduling.publish_session(
            session, admin, department_id=world.cardiology,
            starts_at=at(1, 7, 30, month=12), ends_at=at(1, 9, 30, month=12), capacity=6,
        )  # fmt: skip
    with clock.frozen(at(3, 9)):
        views = scheduling.slot_views(session, doctor, clinic)
        reserved = [v.id for v in views if v.pool == "reserved"]
        public = [v.id for v in views if v.pool == "public"]
        mine = [
            scheduling.book(session, doctor, slot_id=slot, resident_id=next(people)).id
            for slot in reserved[:4]
        ]
        world_patient = scheduling.book(
            session, cardiologist, slot_id=public[0], resident_id=made[0]
        ).id
        scheduling.set_booking_status(session, doctor, booking_id=mine[1], status="cancelled")
    with clock.frozen(at(16, 12)):
        for booking, status in ((mine[0], "attended"), (mine[2], "no_show")):
            scheduling.set_booking_status(session, admin, booking_id=booking, status=status)
        scheduling.set_booking_status(session, admin, booking_id=world_patient, status="attended")
    with clock.frozen(NOW - timedelta(days=1)):
        scheduling.create_bed_pool(session, admin, department_id=world.cardiology, total=8)


def _residents(session: Session, world: World, count: int) -> list[int]:
    """Registered before any of the activity, so the community has a care relationship."""
    with clock.frozen(at(1, 0, month=9)):
        return [
            residents.create(
                session,
                world.community_doctor,
                ResidentIn(
                    national_id=nid("19500101", f"{100 + i:03d}"),
                    name=f"居民{i}",
                    address_division_code="330702-chengdong",
                    registered_institution_code=CHC,
                ),
            ).id
            for i in range(count)
        ]


def expected(month: str, unit: str) -> dict[str, Sums]:
    listed = EXPECTED[month].get(unit, {})
    zero = {i: (0.0, 0.0 if catalogue().get(i).denominator else None) for i in api.MEASURES}
    return zero | {i: (float(n), None if d is None else float(d)) for i, (n, d) in listed.items()}


def engine_sums(cells: list[Any], month: str, unit: str) -> dict[str, Sums]:
    found = {c.indicator: (c.numerator, c.denominator) for c in cells if c.unit == unit}
    assert all(c.month == month for c in cells)
    defaults = expected(month, "nobody")
    return {i: found.get(i, defaults[i]) for i in api.MEASURES}


def api_sums(row: dict[str, Any]) -> dict[str, Sums]:
    return {i: (m["numerator"], m["denominator"]) for i, m in row["measures"].items()}


def test_the_hand_checked_set_covers_exactly_what_the_page_shows() -> None:
    listed = {i for month in EXPECTED.values() for unit in month.values() for i in unit}
    assert listed <= set(api.MEASURES)
    assert set(api.MEASURES) <= listed | set(_zero_on_purpose())
    assert len(api.MEASURES) == len(set(api.MEASURES))


def _zero_on_purpose() -> tuple[str, ...]:
    """Figures with no activity in the world: referrals sideways and out of the network, and
    states the world leaves no referral in; their zero is hand-checked all the same."""
    return ("RF7", "RF8", "RF11", "RF12", "RF14", "RF16", "RF17", "RF18")


@pytest.mark.parametrize("month", [NOVEMBER, OCTOBER, DECEMBER])
def test_every_figure_two_ways(
    client: TestClient, session: Session, world: World, tmp_path: Path, month: str
) -> None:
    chosen = tuple(catalogue().get(i) for i in api.MEASURES)
    on_duckdb = indicators.live(session, (month, month), chosen, using="duckdb", store=tmp_path)
    by_default = indicators.live(session, (month, month), chosen, store=tmp_path)
    response = client.get(
        f"/api/networks/{NETWORK}/referral-measures?month={month}",
        headers=bearer(session, world.office),
    )
    assert response.status_code == 200, response.text
    rows = {r["code"]: r for r in response.json()["members"]}
    for unit in (LEAD, CHC):
        hand = expected(month, unit)
        assert api_sums(rows[unit]) == hand, unit
        assert engine_sums(on_duckdb, month, unit) == hand, unit
        assert engine_sums(by_default, month, unit) == hand, unit
    total = api_sums(response.json()["total"])
    both = {i: _add(expected(month, LEAD)[i], expected(month, CHC)[i]) for i in api.MEASURES}
    assert total == both  # the other members have no activity


def _add(one: Sums, other: Sums) -> Sums:
    return one[0] + other[0], None if one[1] is None or other[1] is None else one[1] + other[1]


def test_the_page_shows_the_same_figures_and_the_targets_exactly(
    client: TestClient, session: Session, world: World
) -> None:
    page = client.get(
        f"/networks/{NETWORK}/referral-measures?month={NOVEMBER}",
        headers=bearer(session, world.office),
    ).text
    lead = _row(page, f'data-institution="{LEAD}"')
    assert '<td class="num received-up">5</td>' in lead
    assert '<td class="num overdue">1</td>' in lead
    assert '<td class="num mean-hours">1.5</td>' in lead
    assert '<td class="num closed-loop"><span class="ratio">1/2</span>' in lead
    assert '<td class="num reserved-slots"><span class="ratio">10/30</span>' in lead
    assert re.search(r'class="slot-target"><span class="target">1/3</span> <span class="status '
                     r'pass met-yes"', lead)  # fmt: skip
    assert '<td class="num reserved-used"><span class="ratio">3/10</span>' in lead
    assert '<td class="num cancelled-no-show">1 / 1</td>' in lead
    assert '<td class="num kept"><span class="ratio">2/3</span>' in lead
    assert re.search(r'class="bed-target"><span class="target">1/4</span> <span class="status '
                     r'pass met-yes"', lead)  # fmt: skip
    assert "已提交</span> 2" in lead and "已拒绝</span> 1" in lead
    chc = _row(page, f'data-institution="{CHC}"')
    assert '<td class="num sent-up">5</td>' in chc and '<td class="num mean-hours">24.0</td>' in chc
    assert '<td class="slot-target"><span class="muted">–</span>' in chc  # C1 binds the lead
    total = _row(page, f'data-network="{NETWORK}"')
    assert '<td class="num sent-up">5</td>' in total and '<td class="num overdue">1</td>' in total


def test_a_share_just_below_the_target_is_not_met(
    client: TestClient, session: Session, world: World
) -> None:
    """The hospital's own system reports 24 more December slots with 7 reserved: 9 of 30 is
    30%, under 1/3 (the workflow itself refuses to publish below the share)."""
    declared = fact("capacity")
    row = {"resource": "slot", "institution_code": LEAD, "department_code": "his-card",
           "date": date(2026, 12, 2), "total": 24, "reserved": 7}  # fmt: skip
    store(session, declared, pa.Table.from_pylist([row], schema(declared)))
    found = client.get(
        f"/api/networks/{NETWORK}/referral-measures?month={DECEMBER}",
        headers=bearer(session, world.office),
    ).json()
    slots = next(r for r in found["members"] if r["code"] == LEAD)["measures"]["UG4"]
    assert (slots["numerator"], slots["denominator"]) == (9, 30)
    assert slots["target"] == "1/3" and slots["target_met"] is False


def test_a_member_sees_its_own_row_and_a_bad_month_is_named(
    client: TestClient, session: Session, world: World
) -> None:
    own = client.get(
        f"/api/networks/{NETWORK}/referral-measures?month={NOVEMBER}",
        headers=bearer(session, world.community_doctor),
    ).json()
    assert [r["code"] for r in own["members"]] == [CHC] and own["total"] is None
    assert api_sums(own["members"][0]) == expected(NOVEMBER, CHC)
    page = client.get(
        f"/networks/{NETWORK}/referral-measures?month=2026-13",
        headers=bearer(session, world.office),
    )
    assert page.status_code == 422 and "month" in page.text and "2026-13" in page.text


def _row(page: str, marker: str) -> str:
    found = re.search(rf"<tr [^>]*{marker}[^>]*>(.*?)</tr>", page, re.S)
    assert found is not None, marker
    return found.group(1)
