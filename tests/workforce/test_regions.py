"""Service periods by region (H3, Ganzhou county): the regions are the profile's; the county's
office sets each region's period in months and places members in them; a first post at a
member in a region with a period that ends before the period is served is refused, the last
day of the period accepted; a profile that names no regions takes none; a draw's placed
candidate taken up becomes a first-post posting that runs the period, once."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from caregrid.registry import importer
from caregrid.registry import service as registry
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import (
    DrawIn,
    MemberRegionIn,
    PostingIn,
    RevealIn,
    ServicePeriodIn,
    TakeUpIn,
)
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout

COUNTY, OTHER = "t-net-a", "t-net-b"
LEAD, TOWNSHIP, HOSPITAL = "t-lead-a", "t-chc-a", "t-sec-a"
SEED = "ganzhou-county-draw-2026-seed"
regions = workforce.regions


@pytest.fixture
def office(session: Session, tmp_path: Path) -> Principal:
    """t-net-a as a Ganzhou county community (its profile names the regions), t-net-b under
    the test profile (none); two new hires in the registry; the county office."""
    data = layout()
    network(data, COUNTY)["profile"] = "ganzhou-county"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    for code, name in (("new-li", "李新"), ("new-zhang", "张新"), ("dr-old", "老医生")):
        registry.create_practitioner(
            session, SYSTEM, code=code, name=name, title_level="junior", home_institution_code=LEAD
        )
    make_principal(session, "other-office", Role.NETWORK_ADMIN, network=OTHER)
    return make_principal(session, "county-office", Role.NETWORK_ADMIN, network=COUNTY)


def _periods(session: Session, who: Principal, **months: int) -> Any:
    for region, n in months.items():
        found = regions.set_period(session, who, COUNTY, region, ServicePeriodIn(months=n))
    return found


def _place(session: Session, who: Principal, member: str, region: str) -> Any:
    return regions.place_member(session, who, COUNTY, member, MemberRegionIn(region=region))


def _first_post(session: Session, who: Principal, **more: Any) -> Any:
    fields = {
        "practitioner_code": "new-li",
        "institution_code": TOWNSHIP,
        "purpose": "first_post",
        "starts_on": "2025-01-15",
        **more,
    }
    return workforce.record_posting(session, who, PostingIn.model_validate(fields))


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_the_regions_are_the_profiles(session: Session, office: Principal) -> None:
    seen = _periods(session, office, mountain=60, plain=36)
    assert [(r.region, r.months) for r in seen.regions] == [
        ("mountain", 60), ("semi_mountain", None), ("plain", 36), ("urban", None),
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        regions.set_period(session, office, COUNTY, "desert", ServicePeriodIn(months=12))
    assert _fields(refused) == ["region"]
    again = regions.set_period(session, office, COUNTY, "plain", ServicePeriodIn(months=24))
    assert dict((r.region, r.months) for r in again.regions)["plain"] == 24  # set anew
    placed = _place(session, office, TOWNSHIP, "mountain")
    assert dict((r.region, r.members) for r in placed.regions)["mountain"] == [TOWNSHIP]
    assert HOSPITAL in placed.unplaced and LEAD in placed.unplaced
    moved = _place(session, office, TOWNSHIP, "urban")
    assert dict((r.region, r.members) for r in moved.regions)["mountain"] == []
    for member in ("t-chc-b", "nowhere"):
        with pytest.raises(InvalidInput) as refused:
            _place(session, office, member, "plain")
        assert _fields(refused) == ["institution_code"]
    with pytest.raises(InvalidInput) as refused:
        _place(session, office, TOWNSHIP, "hills")
    assert _fields(refused) == ["region"]
    other = make_principal(session, "other-office-2", Role.NETWORK_ADMIN, network=OTHER)
    with pytest.raises(Forbidden):
        regions.set_period(session, other, COUNTY, "plain", ServicePeriodIn(months=1))
    with pytest.raises(InvalidInput) as refused:  # the test profile names no regions
        regions.set_period(session, other, OTHER, "plain", ServicePeriodIn(months=12))
    assert _fields(refused) == ["region"]
    assert regions.service_periods(session, other, OTHER).regions == []


def test_a_first_post_runs_the_regions_period(session: Session, office: Principal) -> None:
    _periods(session, office, mountain=36)
    _place(session, office, TOWNSHIP, "mountain")
    with pytest.raises(InvalidInput) as refused:  # 35 whole months and a day short
        _first_post(session, office, ends_on="2028-01-13")
    assert _fields(refused) == ["ends_on"]
    message = refused.value.problems[0].message
    assert "35" in message and "36" in message and "mountain" in message
    kept = _first_post(session, office, ends_on="2028-01-14")  # exactly 36 whole months
    assert kept.ends_on == date(2028, 1, 14)
    open_ended = _first_post(session, office, practitioner_code="new-zhang")
    assert open_ended.ends_on is None  # still serving: nothing cut short
    short = _first_post(  # another purpose is not a first post
        session, office, practitioner_code="dr-old", purpose="deployment", ends_on="2025-02-01"
    )
    assert short.purpose == "deployment"
    _place(session, office, HOSPITAL, "plain")  # a region the county set no period for
    brief = _first_post(session, office, practitioner_code="dr-old", institution_code=HOSPITAL,
                        starts_on="2025-03-01", ends_on="2025-04-30")  # fmt: skip
    assert brief.ends_on == date(2025, 4, 30)


def _draw(session: Session, office: Principal) -> Any:
    data = DrawIn.model_validate({
        "name": "2026 新招聘人员首岗",
        "commitment": workforce.commitment(SEED),
        "posts": [
            {"code": "TS-GP", "institution_code": TOWNSHIP, "title": "全科", "seats": 1, "need": 1},
        ],
        "candidates": [
            {"ref": "E-001", "name": "李新", "score": "88", "preferences": ["TS-GP"]},
            {"ref": "E-002", "name": "张新", "score": "80", "preferences": ["TS-GP"]},
        ],
    })  # fmt: skip
    row = workforce.commit_draw(session, office, COUNTY, data)
    return workforce.reveal_draw(session, office, row.id, RevealIn(version=row.version, seed=SEED))


def test_a_placed_candidate_takes_up_the_first_post(session: Session, office: Principal) -> None:
    _periods(session, office, mountain=36)
    _place(session, office, TOWNSHIP, "mountain")
    draw = _draw(session, office)

    def take(ref: str, who: str, **more: Any) -> Any:
        data = TakeUpIn.model_validate(
            {"practitioner_code": who, "starts_on": "2026-09-01", **more}
        )
        return workforce.take_up(session, office, draw.id, ref, data)

    with pytest.raises(InvalidInput) as refused:
        take("E-002", "new-zhang")  # the post's one seat went to the higher score
    assert _fields(refused) == ["ref"]
    with pytest.raises(InvalidInput) as refused:
        take("E-001", "new-zhang")  # not the candidate's name
    assert _fields(refused) == ["practitioner_code"]
    with pytest.raises(NotFound):
        take("E-999", "new-li")
    with pytest.raises(InvalidInput) as refused:
        take("E-001", "new-li", ends_on="2027-09-01")
    assert _fields(refused) == ["ends_on"]  # shorter than the mountain's 36 months
    taken = take("E-001", "new-li")
    placed = next(c for c in taken.candidates if c.ref == "E-001")
    posting = next(
        p for p in workforce.postings(session, office, COUNTY) if p.id == placed.posting_id
    )
    assert (posting.purpose, posting.institution_code) == ("first_post", TOWNSHIP)
    assert (posting.starts_on, posting.ends_on) == (date(2026, 9, 1), date(2029, 8, 31))
    with pytest.raises(Conflict):
        take("E-001", "new-li", starts_on="2030-01-01")
    assert posting.ends_on is not None
    assert workforce.whole_months(posting.starts_on, posting.ends_on) == 36


def test_a_draw_not_revealed_is_not_taken_up(session: Session, office: Principal) -> None:
    data = DrawIn.model_validate({
        "name": "未开奖", "commitment": workforce.commitment(SEED),
        "posts": [{"code": "P", "institution_code": TOWNSHIP, "title": "t", "seats": 1, "need": 1}],
        "candidates": [{"ref": "E-1", "name": "李新", "score": "1"}],
    })  # fmt: skip
    row = workforce.commit_draw(session, office, COUNTY, data)
    with pytest.raises(Conflict):
        workforce.take_up(session, office, row.id, "E-1", TakeUpIn(
            practitioner_code="new-li", starts_on=date(2026, 9, 1)
        ))  # fmt: skip


def test_the_page(client: TestClient, session: Session, office: Principal) -> None:
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    headers = {**bearer(session, office), "Accept": "text/html"}
    base = f"/networks/{COUNTY}/workforce"
    with clock.frozen(clock.now()):
        bad = client.post(f"{base}/service-periods", headers=headers,
                          data={"region": "mountain", "months": "0"})  # fmt: skip
        assert bad.status_code == 422 and 'id="error-service-period-months"' in bad.text
        made = client.post(f"{base}/service-periods", headers=headers, follow_redirects=False,
                           data={"region": "mountain", "months": "60"})  # fmt: skip
        assert made.status_code == 303
        placed = client.post(f"{base}/member-regions", headers=headers, follow_redirects=False,
                             data={"institution_code": TOWNSHIP, "region": "mountain"})  # fmt: skip
        assert placed.status_code == 303
        page = client.get(base, headers=headers).text
    table = page.split('id="service-periods"')[1].split("</table>")[0]
    row = table.split('data-region="mountain"')[1].split("</tr>")[0]
    assert "60" in row and "甲区社区卫生服务中心" in row and "山区" in row
    text = _visible(page)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    english = client.get(base, headers=headers).text
    client.cookies.delete(COOKIE)
    assert "Service periods by region" in english and "Mountain" in english
    api = client.get(f"/api/networks/{COUNTY}/service-periods", headers=bearer(session, office))
    assert api.json()["regions"][0] == {"region": "mountain", "months": 60, "members": [TOWNSHIP]}
    jinhua = client.get(f"/networks/{OTHER}/workforce", headers={
        **bearer(session, make_principal(session, "o3", Role.NETWORK_ADMIN, network=OTHER)),
        "Accept": "text/html",
    }).text  # fmt: skip
    assert 'id="service-periods"' not in jinhua  # its profile names no regions
