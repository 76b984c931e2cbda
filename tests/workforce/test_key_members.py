"""Key members and specialty brands (C5, Jinhua): a member other than the lead named a key
member once at a time (the day after an end, again); the experts sent down with a role hold an
associate-senior title or higher; each month of a key member counts its ward directors and
clinic experts; SK3 the key members whose last month had a ward director against the
profile's 3, SK4 the fewest clinic experts against 1; a primary member's specialty brand,
recorded once, ends no earlier than it began; SB1 the primary members holding one at the
year's end against 30%, SB2 their count against 3; the page reads in both languages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.registry.vocab import Level, TitleLevel
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import EndIn, KeyMemberIn, PostingIn, SpecialtyBrandIn
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
LEAD, UNIT, OTHER, HOSPITAL = "jh-rmyy", "jh-wc-chengdong", "jh-wc-chengzhong", "jh-wc-rmyy"
WARD, CLINIC, JUNIOR = "rmyy-dr-lin", "rmyy-dr-fang", "rmyy-dr-xu"
TODAY = NOW.date()  # Monday 2026-11-23
keys, brands = workforce.key_members, workforce.brands


@pytest.fixture
def experts(session: Session, world: World) -> World:
    for code, name, title in (
        (WARD, "林主任", TitleLevel.ASSOCIATE_SENIOR),
        (CLINIC, "方主任", TitleLevel.SENIOR),
        (JUNIOR, "徐医生", TitleLevel.INTERMEDIATE),
    ):
        registry.create_practitioner(
            session, SYSTEM, code=code, name=name, title_level=title, home_institution_code=LEAD
        )
    session.flush()
    return world


def _name(session: Session, world: World, member: str = UNIT, on: str = "2026-10-01") -> Any:
    data = KeyMemberIn.model_validate({"institution_code": member, "named_on": on})
    return keys.name_key_member(session, world.office, NETWORK, data)


def _post(session: Session, world: World, who: str, role: str, **more: Any) -> Any:
    fields = {
        "practitioner_code": who,
        "institution_code": UNIT,
        "purpose": "sinking",
        "starts_on": "2026-10-05",
        "role": role,
        "weekdays": [1, 2, 3, 4] if role == "ward_director" else [2, 4],
        **more,
    }
    return workforce.record_posting(session, world.office, PostingIn.model_validate(fields))


def _brand(session: Session, world: World, member: str, **more: Any) -> Any:
    fields = {
        "institution_code": member,
        "specialty": "康复医学科",
        "recognised_on": "2026-03-01",
        "recognised_by": "金华市卫生健康委员会",
        **more,
    }
    return brands.add_brand(session, world.office, NETWORK, SpecialtyBrandIn.model_validate(fields))


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in exc.value.problems]


def _figures(session: Session, ids: tuple[str, ...], year: int = 2026) -> dict[str, Any]:
    with clock.frozen(NOW):
        rows = indicators.network_rows(
            session, NETWORK, ids, indicators.year_period(year, min(TODAY, date(year, 12, 31)))
        )
    return {r.code: r.figures for r in rows}


def test_a_member_is_named_once_at_a_time(session: Session, experts: World) -> None:
    for member, field in ((LEAD, "institution_code"), ("jh-zxyy", "institution_code")):
        with pytest.raises(InvalidInput) as refused:
            _name(session, experts, member)
        assert _fields(refused) == [field]
    with pytest.raises(InvalidInput) as refused:
        _name(session, experts, on="2026-11-24")
    assert _fields(refused) == ["named_on"]
    first = _name(session, experts)
    with pytest.raises(InvalidInput) as refused:
        _name(session, experts, on="2026-11-01")
    assert "since 2026-10-01" in refused.value.problems[0].message
    for day, why in (("2026-09-30", "before"), ("2026-11-24", "future")):
        with pytest.raises(InvalidInput) as refused:
            keys.end_key_member(session, experts.office, first.id, EndIn.model_validate(
                {"ends_on": day}
            ))  # fmt: skip
        assert why in refused.value.problems[0].message
    ended = keys.end_key_member(
        session, experts.office, first.id, EndIn(ends_on=date(2026, 10, 31))
    )
    assert ended.ends_on == date(2026, 10, 31)
    with pytest.raises(Conflict):
        keys.end_key_member(session, experts.office, first.id, EndIn(ends_on=date(2026, 11, 1)))
    with pytest.raises(InvalidInput):  # its last day is still taken
        _name(session, experts, on="2026-10-31")
    again = _name(session, experts, on="2026-11-01")  # the day after
    assert [k.id for k in keys.key_members(session, experts.office, NETWORK)] == [
        again.id,
        first.id,
    ]
    with pytest.raises(Forbidden):
        keys.name_key_member(
            session, experts.lead_admin, NETWORK, KeyMemberIn(institution_code=OTHER,
                                                               named_on=date(2026, 10, 1))
        )  # fmt: skip


def test_an_expert_sent_down_holds_an_associate_senior_title(
    session: Session, experts: World
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _post(session, experts, JUNIOR, "clinic")
    assert _fields(refused) == ["practitioner_code"]
    assert "intermediate" in refused.value.problems[0].message
    assert "associate_senior" in refused.value.problems[0].message
    with pytest.raises(InvalidInput) as refused:  # both problems at once
        _post(session, experts, JUNIOR, "ward_director", weekdays=[1, 2, 3])
    assert _fields(refused) == ["practitioner_code", "weekdays"]
    plain = workforce.record_posting(
        session,
        experts.office,
        PostingIn.model_validate({"practitioner_code": JUNIOR, "institution_code": UNIT,
                                  "purpose": "sinking", "starts_on": "2026-10-05"}),
    )  # fmt: skip
    assert plain.role is None  # no role, no schedule: the title rule is for C5's experts
    assert _post(session, experts, WARD, "ward_director").role == "ward_director"
    assert _post(session, experts, CLINIC, "clinic").role == "clinic"  # 正高 is higher


def test_key_members_count_the_experts_serving_them(
    session: Session, experts: World, fresh_store: object
) -> None:
    unit, other = _name(session, experts), _name(session, experts, OTHER, "2026-10-15")
    _post(session, experts, WARD, "ward_director")
    _post(session, experts, CLINIC, "clinic", ends_on="2026-10-31")
    workforce.record_posting(
        session,
        experts.office,
        PostingIn.model_validate({
            "practitioner_code": JUNIOR, "institution_code": OTHER, "purpose": "sinking",
            "starts_on": "2026-10-16", "ends_on": "2026-10-31",
        }),
    )  # fmt: skip
    session.flush()
    with clock.frozen(NOW):
        seen = {k.institution_code: k for k in keys.key_members(session, experts.office, NETWORK)}
    assert [e.practitioner_code for e in seen[UNIT].ward_directors] == [WARD]
    assert seen[UNIT].clinic_experts == []  # the clinic expert's posting ended in October
    assert seen[OTHER].ward_directors == []
    found = sorted(
        (r["institution_code"], r["month_of"], r["ward_directors"], r["clinic_experts"])
        for r in keys.facts(session, TODAY)
    )
    assert found == [
        (UNIT, date(2026, 10, 1), 1, 1),
        (UNIT, date(2026, 11, 1), 1, 0),
        (OTHER, date(2026, 10, 1), 0, 0),  # a plain posting has no role: not an expert of C5
        (OTHER, date(2026, 11, 1), 0, 0),
    ]
    assert {unit.id, other.id} == {k.id for k in seen.values()}
    figures = _figures(session, ("SK3", "SK4"))
    network = figures[NETWORK]
    assert network["SK3"].numerator == 1  # the unit; the other never had a ward director
    assert network["SK3"].assessment.state == "red"  # the profile asks 3
    assert network["SK3"].assessment.target.value == 3
    assert figures[UNIT]["SK4"].numerator == 1  # October's clinic expert
    assert figures[OTHER]["SK4"].numerator == 0
    assert network["SK4"].numerator == 0 and network["SK4"].assessment.state == "red"


def test_the_ward_director_counts_in_the_last_month_only(
    session: Session, experts: World, fresh_store: object
) -> None:
    _name(session, experts)
    _post(session, experts, WARD, "ward_director", ends_on="2026-10-31")
    assert _figures(session, ("SK3",))[NETWORK]["SK3"].numerator == 0  # none in November
    assert _figures(session, ("SK3",), 2025)[NETWORK]["SK3"].numerator == 0  # not yet named


def test_a_primary_members_brand(session: Session, experts: World) -> None:
    for member in (LEAD, HOSPITAL, "jh-zxyy"):
        with pytest.raises(InvalidInput) as refused:
            _brand(session, experts, member)
        assert _fields(refused) == ["institution_code"]
    with pytest.raises(InvalidInput) as refused:
        _brand(session, experts, UNIT, recognised_on="2026-11-24")
    assert _fields(refused) == ["recognised_on"]
    with pytest.raises(InvalidInput) as refused:
        _brand(session, experts, UNIT, specialty="   ")
    assert _fields(refused) == ["specialty"]
    made = _brand(session, experts, UNIT)
    with pytest.raises(Conflict):
        _brand(session, experts, UNIT, recognised_on="2026-04-01")
    assert _brand(session, experts, UNIT, specialty="中医骨伤科").specialty == "中医骨伤科"
    with pytest.raises(InvalidInput) as refused:
        brands.end_brand(session, experts.office, NETWORK, made.id, EndIn.model_validate(
            {"ends_on": "2026-02-28"}
        ))  # fmt: skip
    assert _fields(refused) == ["ends_on"]
    ended = brands.end_brand(session, experts.office, NETWORK, made.id, EndIn(ends_on=TODAY))
    assert ended.ends_on == TODAY
    with pytest.raises(Conflict):
        brands.end_brand(session, experts.office, NETWORK, made.id, EndIn(ends_on=TODAY))
    with pytest.raises(Forbidden):
        brands.brands(session, experts.lead_admin, NETWORK)


def test_coverage_of_the_primary_members(
    session: Session, experts: World, fresh_store: object
) -> None:
    network = registry.get_network(session, NETWORK)
    primary = sorted(
        m.institution.code for m in network.memberships if m.institution.level == Level.PRIMARY
    )
    assert UNIT in primary and OTHER in primary and len(primary) > 10
    _brand(session, experts, UNIT, recognised_on="2025-06-01")
    lapsed = _brand(session, experts, OTHER, recognised_on="2025-06-01")
    brands.end_brand(session, experts.office, NETWORK, lapsed.id, EndIn(ends_on=date(2026, 1, 5)))
    third = primary[-1] if primary[-1] not in (UNIT, OTHER) else primary[0]
    _brand(session, experts, third, recognised_on="2026-11-23")  # today counts
    with clock.frozen(NOW):
        rows = brands.facts(session, TODAY)
    held = {(r["institution_code"], r["as_of"]): r["specialty"] for r in rows}
    assert held[(UNIT, date(2025, 12, 31))] == "康复医学科"
    assert held[(OTHER, date(2025, 12, 31))] == "康复医学科"
    assert held[(OTHER, TODAY)] is None  # lapsed in January
    mine = [r for r in rows if r["network_code"] == NETWORK]
    assert len(mine) == 2 * len(primary)  # every primary member, 2025's end and today
    now, before = _figures(session, ("SB1", "SB2")), _figures(session, ("SB1", "SB2"), 2025)
    sb1 = now[NETWORK]["SB1"]
    assert (sb1.numerator, sb1.denominator) == (2, len(primary))
    assert sb1.assessment.state == "red"  # the profile asks 30% by the end of 2025
    assert now[NETWORK]["SB2"].numerator == 2 and now[NETWORK]["SB2"].assessment.state == "red"
    assert (before[NETWORK]["SB1"].numerator, before[NETWORK]["SB2"].numerator) == (2, 2)
    assert now[UNIT]["SB1"].denominator == 1 and now[OTHER]["SB1"].numerator == 0
    extra = [c for c in primary if c not in (UNIT, OTHER, third)][:1]
    _brand(session, experts, extra[0], recognised_on="2026-10-01")
    assert _figures(session, ("SB2",))[NETWORK]["SB2"].assessment.state == "green"  # 3 of 3


def test_the_page(client: TestClient, session: Session, experts: World) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    office = {**bearer(session, experts.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/key-members"
    with clock.frozen(NOW):
        bad = client.post(base, headers=office, data={"institution_code": LEAD,
                                                      "named_on": "2026-10-01"})  # fmt: skip
        assert bad.status_code == 422 and 'id="error-key-member-institution_code"' in bad.text
        made = client.post(
            base, headers=office, follow_redirects=False,
            data={"institution_code": UNIT, "named_on": "2026-10-01"},
        )  # fmt: skip
        assert made.status_code == 303
        _post(session, experts, WARD, "ward_director")
        client.post(
            base, headers=office, data={"institution_code": OTHER, "named_on": "2026-10-01"}
        )
        brand = client.post(
            f"/networks/{NETWORK}/specialty-brands", headers=office, follow_redirects=False,
            data={"institution_code": UNIT, "specialty": "康复医学科",
                  "recognised_on": "2026-03-01", "recognised_by": "金华市卫健委"},
        )  # fmt: skip
        assert brand.status_code == 303
        wrong = client.post(
            f"/networks/{NETWORK}/specialty-brands", headers=office,
            data={"institution_code": HOSPITAL, "specialty": "x",
                  "recognised_on": "2026-03-01", "recognised_by": "y"},
        )  # fmt: skip
        assert wrong.status_code == 422 and 'id="error-brand-institution_code"' in wrong.text
        page = client.get(base, headers=office).text
        staff = client.get(f"/networks/{NETWORK}/workforce", headers=office).text
    assert f'href="{base}"' in staff
    rows = page.split('id="key-members"')[1]
    unit_row = rows.split(f'data-member="{UNIT}"')[1].split("</tr>")[0]
    other_row = rows.split(f'data-member="{OTHER}"')[1].split("</tr>")[0]
    assert "林主任" in unit_row and "尚无人在岗" not in unit_row.split('data-role="clinic"')[0]
    assert "尚无人在岗" in other_row  # no expert serving the second key member
    assert 'id="specialty-brands"' in page and "康复医学科" in page
    text = _visible(page)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    with clock.frozen(NOW):
        english = client.get(base, headers=office).text
    client.cookies.delete(COOKIE)
    assert "Key members with a ward director sent down" in english
    doctor = {**bearer(session, experts.cardiologist), "Accept": "text/html"}
    assert client.get(base, headers=doctor).status_code == 403
    assert client.get(f"/api/networks/{NETWORK}/key-members", headers=bearer(
        session, experts.cardiologist
    )).status_code == 403  # fmt: skip
    api = client.get(f"/api/networks/{NETWORK}/specialty-brands", headers=bearer(
        session, experts.office
    ))  # fmt: skip
    assert [b["specialty"] for b in api.json()] == ["康复医学科"]
