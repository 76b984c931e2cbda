"""Experts sent down (C5, Jinhua): a ward director's fixed schedule holds 4 working days a week
(Monday to Thursday) and not 3 with a Saturday; a clinic expert's 2; a role only on a sinking
posting; the days served within the posting and not to come; each whole week over reads as a
fact with the working days served, a Saturday not counted; SK1 the weeks that met the 4."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Forbidden, InvalidInput
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.registry.vocab import TitleLevel
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import PostingIn, ServiceDaysIn
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
LEAD, UNIT = "jh-rmyy", "jh-wc-chengdong"
EXPERT, OTHER = "rmyy-dr-wu", "rmyy-dr-he"
TODAY = NOW.date()  # Monday 2026-11-23
FIRST = date(2026, 10, 5)  # a Monday


@pytest.fixture
def experts(session: Session, world: World) -> World:
    for code, name in ((EXPERT, "吴主任"), (OTHER, "何主任")):
        registry.create_practitioner(
            session,
            SYSTEM,
            code=code,
            name=name,
            title_level=TitleLevel.ASSOCIATE_SENIOR,
            home_institution_code=LEAD,
        )
    session.flush()
    return world


def _post(session: Session, world: World, code: str = EXPERT, **more: Any) -> Any:
    fields = {
        "practitioner_code": code,
        "institution_code": UNIT,
        "purpose": "sinking",
        "starts_on": FIRST,
        **more,
    }
    return workforce.record_posting(session, world.office, PostingIn.model_validate(fields))


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_a_ward_director_serves_four_working_days(session: Session, experts: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        _post(session, experts, role="ward_director", weekdays=[1, 2, 3, 6])
    assert _fields(refused) == ["weekdays"]
    assert "holds 3 working days a week; the profile asks at least 4" in str(
        refused.value.problems[0].reason
    )
    row = _post(session, experts, role="ward_director", weekdays=[4, 1, 2, 3])
    assert row.weekdays == [1, 2, 3, 4]
    clinic = _post(session, experts, OTHER, role="clinic", weekdays=[2, 4])
    assert workforce.posting_view(session, clinic).role == "clinic"


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"role": "clinic", "weekdays": [6, 7]}, "weekdays"),  # no working day
        ({"role": "clinic", "weekdays": []}, "weekdays"),
        ({"role": "clinic", "weekdays": [2, 2, 4]}, "weekdays"),
        ({"weekdays": [1, 2]}, "weekdays"),  # a schedule without a role
        ({"role": "ward_director", "weekdays": [1, 2, 3, 4], "purpose": "deployment"}, "role"),
    ],
)
def test_a_bad_schedule_is_named(
    session: Session, experts: World, more: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _post(session, experts, **more)
    assert _fields(refused) == [field]


def _days(session: Session, world: World, posting: int, *days: date) -> Any:
    return workforce.sinking.record_service_days(
        session, world.office, posting, ServiceDaysIn(days=list(days))
    )


def test_the_weeks_count_working_days_served(
    session: Session, experts: World, fresh_store: object
) -> None:
    """From Monday 5 October to Sunday 22 November, seven whole weeks: the first served Monday
    to Thursday (met), the second three days (not), the third Monday to Wednesday and Saturday
    (3 working days: not), the rest nothing."""
    row = _post(session, experts, role="ward_director", weekdays=[1, 2, 3, 4])
    week = [FIRST + timedelta(days=i) for i in range(7)]
    with pytest.raises(InvalidInput) as refused:
        _days(session, experts, row.id, FIRST - timedelta(days=1), TODAY + timedelta(days=1))
    assert _fields(refused) == ["days.0", "days.1"]
    first = _days(session, experts, row.id, *week[:4])
    assert first.added == week[:4]
    again = _days(session, experts, row.id, week[0])
    assert again.added == [] and len(again.served) == 4  # a day recorded before is kept once
    _days(session, experts, row.id, *(d + timedelta(days=7) for d in week[:3]))
    _days(session, experts, row.id, *(d + timedelta(days=14) for d in (*week[:3], week[5])))
    found = workforce.sinking.sinking_week_facts(session, TODAY)
    mine = [(r["week_of"], r["served"], r["required"]) for r in found]
    assert mine[:3] == [(FIRST, 4, 4), (date(2026, 10, 12), 3, 4), (date(2026, 10, 19), 3, 4)]
    assert len(mine) == 7 and mine[-1][0] == date(2026, 11, 16)
    assert len(workforce.sinking.sinking_week_facts(session, TODAY - timedelta(days=1))) == 7
    assert len(workforce.sinking.sinking_week_facts(session, date(2026, 11, 21))) == 6
    with clock.frozen(NOW):
        rows = indicators.network_rows(
            session, NETWORK, ("SK1", "SK2"), indicators.year_period(2026, TODAY)
        )
    unit = next(r for r in rows if r.code == UNIT).figures["SK1"]
    assert (unit.numerator, unit.denominator) == (1, 7)


def test_a_posting_starting_midweek_counts_from_the_next_monday(
    session: Session, experts: World
) -> None:
    row = _post(
        session, experts, role="clinic", weekdays=[2, 4], starts_on=date(2026, 11, 4),
        ends_on=date(2026, 11, 19),
    )  # fmt: skip
    found = workforce.sinking.sinking_week_facts(session, TODAY)
    assert [r["week_of"] for r in found if r["posting_id"] == f"cg-{row.id}"] == [
        date(2026, 11, 9)
    ]  # the week of 16 November is not whole within the posting


def test_days_need_a_role_and_the_members_office(session: Session, experts: World) -> None:
    plain = _post(session, experts, purpose="deployment")
    with pytest.raises(InvalidInput) as refused:
        _days(session, experts, plain.id, FIRST)
    assert _fields(refused) == ["posting"]
    row = _post(session, experts, OTHER, role="clinic", weekdays=[1, 3])
    with pytest.raises(Forbidden):
        workforce.sinking.record_service_days(
            session, experts.lead_admin, row.id, ServiceDaysIn(days=[FIRST])
        )
    done = workforce.sinking.record_service_days(
        session, experts.community_admin, row.id, ServiceDaysIn(days=[FIRST])
    )
    assert done.added == [FIRST]


def test_the_api_names_the_schedule(client: TestClient, session: Session, experts: World) -> None:
    office = bearer(session, experts.office)
    with clock.frozen(NOW):
        bad = client.post(
            "/api/postings",
            headers=office,
            json={"practitioner_code": EXPERT, "institution_code": UNIT, "purpose": "sinking",
                  "starts_on": "2026-10-05", "role": "ward_director", "weekdays": [1, 2, 8]},
        )  # fmt: skip
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["body.weekdays.2"]
        made = client.post(
            "/api/postings",
            headers=office,
            json={"practitioner_code": EXPERT, "institution_code": UNIT, "purpose": "sinking",
                  "starts_on": "2026-10-05", "role": "ward_director", "weekdays": [1, 2, 3, 4]},
        )  # fmt: skip
        assert made.status_code == 201 and made.json()["weekdays"] == [1, 2, 3, 4]
        days = client.post(
            f"/api/postings/{made.json()['id']}/days",
            headers=office,
            json={"days": ["2026-10-05", "2026-10-06"]},
        )
        assert days.status_code == 200 and days.json()["added"] == ["2026-10-05", "2026-10-06"]
        huge = client.post(f"/api/postings/{2**40}/days", headers=office, json={"days": []})
        assert huge.status_code == 422
        missing = client.post(
            "/api/postings/2147483647/days", headers=office, json={"days": ["2026-10-05"]}
        )
        assert missing.status_code == 404


def test_the_staff_page_posts_an_expert_on_a_schedule(
    client: TestClient, session: Session, experts: World, fresh_store: object
) -> None:
    office = {**bearer(session, experts.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/workforce"
    fields = {"practitioner_code": EXPERT, "institution_code": UNIT, "purpose": "sinking",
              "starts_on": "2026-10-05", "role": "ward_director"}  # fmt: skip
    with clock.frozen(NOW):
        short = client.post(
            f"{base}/postings", headers=office, data={**fields, "weekdays": ["1", "2", "6"]}
        )
        assert short.status_code == 422 and 'id="error-posting-weekdays"' in short.text
        assert "每周只有 2 个工作日；政策配置要求至少 4 个（C5）" in short.text
        assert 'value="6" checked' in short.text  # what was ticked stays ticked
        made = client.post(
            f"{base}/postings",
            headers=office,
            data={**fields, "weekdays": ["1", "2", "3", "4"]},
            follow_redirects=False,
        )
        assert made.status_code == 303
        posting = workforce.postings(session, experts.office, NETWORK)[0]
        bad = client.post(
            f"{base}/postings/{posting.id}/days",
            headers=office,
            data={"days": "2026-10-05, 2026-13-01"},
        )
        assert bad.status_code == 422
        days = ", ".join(str(FIRST + timedelta(days=i)) for i in range(4))
        done = client.post(
            f"{base}/postings/{posting.id}/days", headers=office, data={"days": days},
            follow_redirects=False,
        )  # fmt: skip
        assert done.status_code == 303
        page = client.get(base, headers=office).text
    assert 'data-role="ward_director"' in page and "周一 周二 周三 周四" in page
    unit = page.split(f'data-unit="{UNIT}"')[1].split("</tr>")[0]
    assert '<span class="ratio">1/7</span>' in unit  # SK1: the first of seven whole weeks
