"""Postings and the promotion gate (H1, C6, H4): whole months at their edges, overlapping
postings refused naming the other, and a lead hospital's professional promoted to a mid or
senior title only with the months of primary service the profile asks (12 in the test
profile; any primary service where the profile sets none); service at a secondary member
does not count, a junior title and a primary member's doctor are not gated."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Forbidden, InvalidInput, RuleViolation
from caregrid.registry import service as registry
from caregrid.registry.vocab import TitleLevel
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import PostIn, PostingIn, PromotionIn
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
LEAD, UNIT, SECONDARY = "jh-rmyy", "jh-wc-chengdong", "jh-wc-rmyy"
DOCTOR = "rmyy-dr-qian"


@pytest.fixture
def staff(session: Session, world: World) -> World:
    """A junior cardiologist of the lead, and the group under the test profile (12 months)."""
    registry.get_network(session, NETWORK).profile = "test-rules"
    registry.create_practitioner(
        session,
        SYSTEM,
        code=DOCTOR,
        name="钱医生",
        title_level=TitleLevel.JUNIOR,
        home_institution_code=LEAD,
    )
    session.flush()
    return world


def _post(session: Session, world: World, first: date, last: date | None, **more: Any) -> int:
    fields = {
        "practitioner_code": DOCTOR,
        "institution_code": UNIT,
        "purpose": "sinking",
        "starts_on": first,
        "ends_on": last,
        **more,
    }
    with clock.frozen(NOW):
        return workforce.record_posting(session, world.office, PostingIn.model_validate(fields)).id


def _promote(session: Session, world: World, level: TitleLevel, code: str = DOCTOR) -> Any:
    with clock.frozen(NOW):
        return workforce.promote(
            session, world.office, PromotionIn(practitioner_code=code, title_level=level)
        )


def test_whole_months_at_their_edges() -> None:
    assert workforce.whole_months(date(2025, 1, 15), date(2026, 1, 14)) == 12
    assert workforce.whole_months(date(2025, 1, 15), date(2026, 1, 13)) == 11
    assert workforce.whole_months(date(2025, 3, 1), date(2025, 3, 31)) == 1
    assert workforce.whole_months(date(2025, 3, 1), date(2025, 3, 30)) == 0


def test_an_overlapping_posting_is_refused_naming_the_other(session: Session, staff: World) -> None:
    first = _post(session, staff, date(2025, 1, 1), date(2025, 6, 30))
    with pytest.raises(InvalidInput) as same_day:
        _post(session, staff, date(2025, 6, 30), None, institution_code=SECONDARY)
    assert [p.field for p in same_day.value.problems] == ["starts_on"]
    assert f"{first}" in str(same_day.value.problems[0])
    _post(session, staff, date(2025, 7, 1), None, institution_code=SECONDARY)  # the next day
    with pytest.raises(InvalidInput):  # the open posting runs on: nothing after it fits
        _post(session, staff, date(2030, 1, 1), date(2030, 2, 1))
    with pytest.raises(InvalidInput) as backwards:
        _post(session, staff, date(2031, 2, 1), date(2031, 1, 1))
    assert [p.field for p in backwards.value.problems] == ["ends_on"]
    with clock.frozen(NOW), pytest.raises(Forbidden):
        workforce.record_posting(
            session,
            staff.cardiologist,
            PostingIn.model_validate(
                {
                    "practitioner_code": DOCTOR,
                    "institution_code": UNIT,
                    "purpose": "training",
                    "starts_on": date(2032, 1, 1),
                }
            ),
        )


def test_a_month_short_of_the_profile_is_refused_exactly_the_months_promote(
    session: Session, staff: World
) -> None:
    _post(session, staff, date(2024, 1, 15), date(2024, 12, 14), institution_code=SECONDARY)
    _post(session, staff, date(2025, 1, 15), date(2026, 1, 13))  # 11 whole months
    with pytest.raises(RuleViolation) as refused:
        _promote(session, staff, TitleLevel.INTERMEDIATE)
    assert refused.value.requirement == "H4"
    assert "11" in refused.value.detail and "12" in refused.value.detail
    assert registry.get_practitioner(session, DOCTOR).title_level == "junior"  # type: ignore[union-attr]
    _promote(session, staff, TitleLevel.JUNIOR)  # not a mid or senior title: not gated
    _post(session, staff, date(2026, 2, 1), date(2026, 2, 28))  # one more whole month
    served = _promote(session, staff, TitleLevel.INTERMEDIATE)
    assert (served.primary_months, served.required_months) == (12, 12)
    assert registry.get_practitioner(session, DOCTOR).title_level == "intermediate"  # type: ignore[union-attr]


def test_where_the_profile_sets_no_length_some_primary_service_is_asked(
    session: Session, staff: World
) -> None:
    registry.get_network(session, NETWORK).profile = "jinhua"
    session.flush()
    with pytest.raises(RuleViolation):
        _promote(session, staff, TitleLevel.SENIOR)
    _post(session, staff, date(2026, 11, 1), None)  # serving now, under a month so far
    assert _promote(session, staff, TitleLevel.SENIOR).required_months is None


def test_a_primary_members_doctor_is_not_gated(session: Session, staff: World) -> None:
    registry.create_practitioner(
        session,
        SYSTEM,
        code="chc-dr-sun",
        name="孙医生",
        title_level="junior",
        home_institution_code=UNIT,
    )
    assert _promote(session, staff, TitleLevel.INTERMEDIATE, "chc-dr-sun").gated is False


def test_the_page_shows_the_refusal_with_its_rule(
    client: TestClient, session: Session, staff: World
) -> None:
    office = {**bearer(session, staff.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/workforce"
    with clock.frozen(NOW):
        posted = client.post(
            f"{base}/postings",
            headers=office,
            data={
                "practitioner_code": DOCTOR,
                "institution_code": UNIT,
                "purpose": "sinking",
                "starts_on": "2026-06-01",
                "ends_on": "",
            },
            follow_redirects=False,
        )
        assert posted.status_code == 303
        refused = client.post(
            f"{base}/promotions",
            headers=office,
            data={"practitioner_code": DOCTOR, "title_level": "intermediate"},
        )
        page = client.get(base, headers=office).text
    assert refused.status_code == 422
    assert 'id="error-promotion"' in refused.text and 'data-requirement="H4"' in refused.text
    assert "在基层成员单位工作满 5 个月；晋升中高级职称须满 12 个月" in refused.text
    assert f'data-practitioner="{DOCTOR}"' in page


def test_a_post_holds_its_seats_and_its_vacancies_follow_the_postings(
    session: Session, staff: World
) -> None:
    with clock.frozen(NOW):
        workforce.open_post(
            session,
            staff.office,
            PostIn(
                institution_code=UNIT, code="GP-1", title="全科医生", category="doctor", seats=1
            ),
        )
        with pytest.raises(InvalidInput) as again:
            workforce.open_post(
                session,
                staff.office,
                PostIn(institution_code=UNIT, code="GP-1", title="x", category="nurse", seats=2),
            )
        assert [p.field for p in again.value.problems] == ["code"]
    assert _vacancies(session, staff) == {"GP-1": 1}
    _post(session, staff, date(2026, 1, 1), date(2026, 12, 31), post_code="GP-1")
    assert _vacancies(session, staff) == {"GP-1": 0}  # one seat, filled today
    registry.create_practitioner(
        session,
        SYSTEM,
        code="chc-dr-li",
        name="李医生",
        title_level="junior",
        home_institution_code=UNIT,
    )
    second = {"practitioner_code": "chc-dr-li", "purpose": "deployment", "post_code": "GP-1"}
    with pytest.raises(InvalidInput) as full:  # overlaps the seat's holder on its last day
        _post(session, staff, date(2026, 12, 31), None, **second)
    assert [p.field for p in full.value.problems] == ["post_code"]
    _post(session, staff, date(2027, 1, 1), None, **second)  # the day after: the seat is free
    with pytest.raises(InvalidInput) as elsewhere:
        _post(session, staff, date(2040, 1, 1), None, post_code="GP-1", institution_code=LEAD)
    assert [p.field for p in elsewhere.value.problems] == ["post_code"]


def _vacancies(session: Session, world: World) -> dict[str, int]:
    with clock.frozen(NOW):
        return {
            p.code: p.vacancies for p in workforce.posts(session, world.office, NETWORK, NOW.date())
        }


def test_postings_read_as_monthly_facts_and_the_page_counts_them(
    client: TestClient, session: Session, staff: World, fresh_store: object
) -> None:
    """A sinking posting from 15 September to today is three months of facts; WF2 counts the
    expert once at the unit, WF1 counts no manager; the staff page shows both."""
    _post(session, staff, date(2026, 9, 15), None)
    with clock.frozen(NOW):
        rows = workforce.posting_facts(session, NOW.date())
        page = client.get(
            f"/networks/{NETWORK}/workforce",
            headers={**bearer(session, staff.office), "Accept": "text/html"},
        ).text
    assert [r["served_in"] for r in rows] == [date(2026, m, 1) for m in (9, 10, 11)]
    assert {(r["institution_code"], r["from_institution_code"], r["purpose"]) for r in rows} == {
        (UNIT, LEAD, "sinking")
    }
    unit = page.split(f'data-unit="{UNIT}"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-indicator="WF2">1</td>' in unit
    assert '<td data-indicator="WF1">0</td>' in unit
