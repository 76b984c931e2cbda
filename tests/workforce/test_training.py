"""Training (H5): a trainee passes at exactly the pass mark and not a cent under; a score
outside the module's scale, a score for someone absent, a trainee twice or from outside the
group refuses the whole session at its line; management training due on the same day six
months on (Jinhua) and overdue the day after, a member never trained due now; teaching plans
for members the lead trains, delivered once; one mentor of the lead at a time; H5 counts the
modular courses only, TR1 and TR2 the lowest member's plans and mentees."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import importer
from caregrid.activity.facts import fact
from caregrid.activity.parquet import schema
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.workforce import service as workforce
from caregrid.workforce.models import TrainingSession
from caregrid.workforce.schemas import (
    DeliveredIn,
    MentorshipIn,
    ModuleIn,
    SessionIn,
    TeachingPlanIn,
)
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
LEAD, UNIT, SECONDARY = "jh-rmyy", "jh-wc-chengdong", "jh-wc-rmyy"
TODAY = NOW.date()  # 2026-11-23
training = workforce.training


def _module(session: Session, world: World, code: str, kind: str = "modular") -> None:
    training.add_module(
        session,
        world.office,
        NETWORK,
        ModuleIn.model_validate(
            {"code": code, "title": "全科模块", "kind": kind, "max_score": 100, "pass_score": 60}
        ),
    )


def _session(
    session: Session, world: World, module: str, held_on: date, results: list[dict[str, Any]]
) -> Any:
    return training.record_session(
        session,
        world.office,
        NETWORK,
        SessionIn.model_validate(
            {
                "module_code": module,
                "held_on": held_on,
                "institution_code": LEAD,
                "trainer": "孙主任",
                "results": results,
            }
        ),
    )


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_a_trainee_passes_at_the_pass_mark(session: Session, world: World) -> None:
    gp, nurse, ph = (f"{c}{world.tag}" for c in ("gp-wang", "nurse-chen", "ph-zhou"))
    _module(session, world, "GP-1")
    held = _session(
        session,
        world,
        "GP-1",
        date(2026, 11, 2),
        [
            {"practitioner_code": gp, "score": 60},
            {"practitioner_code": nurse, "score": "59.99"},
            {"practitioner_code": ph, "attended": False},
        ],
    )
    assert [(r.practitioner_code, r.passed) for r in held.results] == [
        (gp, True),
        (nurse, False),
        (ph, False),
    ]
    assert held.results[0].institution_code == UNIT
    found = training.facts(session, TODAY)["training"]
    mine = {r["staff_id"]: r for r in found if r["course"] == "GP-1"}
    assert set(mine) == {gp, nurse}  # an absent trainee has no training record
    assert mine[gp]["passed"] and mine[gp]["kind"] == "modular"
    assert mine[gp]["institution_code"] == UNIT and mine[gp]["date"] == date(2026, 11, 2)
    assert not training.facts(session, date(2026, 11, 1))["training"]


def test_a_bad_line_refuses_the_whole_session(session: Session, world: World) -> None:
    gp, nurse = f"gp-wang{world.tag}", f"nurse-chen{world.tag}"
    registry.create_practitioner(
        session,
        SYSTEM,
        code=f"far{world.tag}",
        name="外医生",
        title_level="junior",
        home_institution_code="jh-jd-duohu",
    )
    _module(session, world, "GP-1")
    with pytest.raises(InvalidInput) as refused:
        _session(
            session,
            world,
            "GP-1",
            TODAY,
            [
                {"practitioner_code": gp, "score": "100.01"},
                {"practitioner_code": nurse, "score": -1},
                {"practitioner_code": f"card-sun{world.tag}", "attended": False, "score": 50},
                {"practitioner_code": gp, "score": 70},
                {"practitioner_code": f"far{world.tag}", "score": 70},
                {"practitioner_code": "nobody", "score": 70},
            ],
        )
    assert _fields(refused) == [
        "results.0.score",
        "results.1.score",
        "results.2.score",
        "results.3.practitioner_code",
        "results.4.practitioner_code",
        "results.5.practitioner_code",
    ]
    assert "0 to 100" in str(refused.value.problems[0].reason)
    assert session.scalar(select(func.count()).select_from(TrainingSession)) == 0
    with pytest.raises(InvalidInput) as refused:
        _session(session, world, "NO-SUCH", TODAY + timedelta(days=1), [{"practitioner_code": gp}])
    assert _fields(refused) == ["held_on", "module_code"]
    full = _session(session, world, "GP-1", TODAY, [{"practitioner_code": gp, "score": 100}])
    assert full.results[0].passed  # the top of the scale is on it


def test_a_module_names_its_bad_field(session: Session, world: World) -> None:
    _module(session, world, "GP-1")
    with pytest.raises(InvalidInput) as refused:
        training.add_module(
            session,
            world.office,
            NETWORK,
            ModuleIn.model_validate(
                {"code": "GP-1", "title": "x", "kind": "modular", "max_score": 10, "pass_score": 11}
            ),
        )
    assert _fields(refused) == ["pass_score", "code"]


def test_management_training_is_due_six_months_on(session: Session, world: World) -> None:
    """Jinhua asks every half year: trained on 23 May, due on 23 November (today) and not
    overdue; trained on 22 May, overdue today; never trained, due now."""
    gp, card = f"gp-wang{world.tag}", f"card-sun{world.tag}"
    _module(session, world, "MG-1", "management")
    _module(session, world, "GP-1")
    _session(session, world, "MG-1", date(2026, 5, 22), [{"practitioner_code": gp}])
    _session(session, world, "GP-1", date(2026, 9, 1), [{"practitioner_code": gp}])
    interval, due = training.management_due(session, registry.get_network(session, NETWORK), TODAY)
    assert interval == 6
    mine = {d.institution_code: d for d in due}
    assert LEAD not in mine  # the lead trains; it is not due
    assert mine[UNIT].last_trained_on == date(2026, 5, 22)
    assert mine[UNIT].due_by == date(2026, 11, 22) and mine[UNIT].overdue
    assert mine[SECONDARY].last_trained_on is None and mine[SECONDARY].overdue
    _session(session, world, "MG-1", date(2026, 5, 23), [{"practitioner_code": gp}])
    _session(session, world, "MG-1", date(2026, 5, 31), [{"practitioner_code": card}])
    _, due = training.management_due(session, registry.get_network(session, NETWORK), TODAY)
    mine = {d.institution_code: d for d in due}
    assert mine[UNIT].due_by == TODAY and not mine[UNIT].overdue
    _, due = training.management_due(
        session, registry.get_network(session, NETWORK), TODAY + timedelta(days=1)
    )
    assert {d.institution_code: d for d in due}[UNIT].overdue


def test_teaching_plans_are_for_members_and_delivered_once(session: Session, world: World) -> None:
    def plan(member: str, planned: date, delivered: date | None = None) -> Any:
        return training.add_plan(
            session,
            world.office,
            NETWORK,
            TeachingPlanIn(
                institution_code=member,
                title="慢病管理带教",
                planned_on=planned,
                delivered_on=delivered,
            ),
        )

    with pytest.raises(InvalidInput) as refused:
        plan(LEAD, date(2026, 3, 1))
    assert _fields(refused) == ["institution_code"]
    with pytest.raises(InvalidInput) as refused:
        plan(UNIT, date(2026, 3, 1), date(2026, 2, 28))
    assert _fields(refused) == ["delivered_on"]
    made = plan(UNIT, date(2026, 3, 1))
    with pytest.raises(InvalidInput) as refused:
        training.deliver_plan(
            session, world.office, made.id, DeliveredIn(delivered_on=TODAY + timedelta(days=1))
        )
    assert _fields(refused) == ["delivered_on"]
    done = training.deliver_plan(
        session, world.office, made.id, DeliveredIn(delivered_on=date(2026, 3, 1))
    )
    assert done.delivered_on == date(2026, 3, 1)
    with pytest.raises(Conflict):
        training.deliver_plan(session, world.office, made.id, DeliveredIn(delivered_on=TODAY))
    with pytest.raises(Forbidden):
        training.deliver_plan(
            session, world.community_admin, made.id, DeliveredIn(delivered_on=TODAY)
        )


def test_one_mentor_of_the_lead_at_a_time(session: Session, world: World) -> None:
    gp, card, nurse = (f"{c}{world.tag}" for c in ("gp-wang", "card-sun", "nurse-chen"))

    def mentor(mentee: str, by: str, first: str, last: str | None = None) -> Any:
        return training.add_mentorship(
            session,
            world.office,
            NETWORK,
            MentorshipIn.model_validate(
                {
                    "practitioner_code": mentee,
                    "mentor_code": by,
                    "starts_on": first,
                    "ends_on": last,
                }
            ),
        )

    with pytest.raises(InvalidInput) as refused:
        mentor(gp, nurse, "2026-01-01")
    assert _fields(refused) == ["mentor_code"]
    with pytest.raises(InvalidInput) as refused:
        mentor(card, card, "2026-01-01")
    assert _fields(refused) == ["practitioner_code"]
    with pytest.raises(InvalidInput) as refused:
        mentor(gp, card, "2026-06-01", "2026-05-31")
    assert _fields(refused) == ["ends_on"]
    mentor(gp, card, "2026-01-01", "2026-06-30")
    with pytest.raises(InvalidInput) as refused:
        mentor(gp, card, "2026-06-30")  # the last day of the first
    assert _fields(refused) == ["starts_on"]
    assert "2026-01-01" in str(refused.value.problems[0].reason)
    after = mentor(gp, card, "2026-07-01")
    assert (after.institution_code, after.mentor_code) == (UNIT, card)


def _staff(session: Session, codes: list[str]) -> None:
    declared = fact("staff")
    rows = [
        {
            "staff_id": c,
            "institution_code": UNIT,
            "profession": "doctor",
            "title_level": None,
            "tcm": False,
            "posted_from_institution_code": None,
            "posted_months": None,
            "as_of": date(2026, 11, 1),
        }
        for c in codes
    ]
    importer.store(session, declared, pa.Table.from_pylist(rows, schema(declared)))


def test_the_figures_count_modular_passes_plans_and_mentees(
    session: Session, world: World, fresh_store: object
) -> None:
    """At the community centre: of two staff, one passed a modular course and one a clinical
    one (H5 = 1/2); five plans there and four at the secondary member (TR1: 4 for the
    network); two mentees there and one whose mentorship ended last year (TR2 = 2)."""
    gp, nurse, ph, card = (
        f"{c}{world.tag}" for c in ("gp-wang", "nurse-chen", "ph-zhou", "card-sun")
    )
    _staff(session, [gp, nurse])
    _module(session, world, "GP-1")
    _module(session, world, "CL-1", "clinical")
    _session(session, world, "GP-1", date(2026, 10, 9), [{"practitioner_code": gp, "score": 90}])
    _session(session, world, "CL-1", date(2026, 10, 9), [{"practitioner_code": nurse, "score": 90}])
    for member, n in ((UNIT, 5), (SECONDARY, 4)):
        for _ in range(n):
            training.add_plan(
                session,
                world.office,
                NETWORK,
                TeachingPlanIn(institution_code=member, title="带教", planned_on=date(2026, 2, 1)),
            )
    for mentee, first, last in ((gp, "2026-01-05", None), (nurse, "2025-06-01", "2026-01-01"),
                                (ph, "2024-01-01", "2025-12-31")):  # fmt: skip
        training.add_mentorship(
            session,
            world.office,
            NETWORK,
            MentorshipIn.model_validate(
                {"practitioner_code": mentee, "mentor_code": card, "starts_on": first,
                 "ends_on": last}
            ),
        )  # fmt: skip
    with clock.frozen(NOW):
        rows = indicators.network_rows(
            session, NETWORK, ("H5", "TR1", "TR2"), indicators.year_period(2026, TODAY)
        )
    by = {r.code: r.figures for r in rows}
    assert (by[UNIT]["H5"].numerator, by[UNIT]["H5"].denominator) == (1, 2)
    assert by[UNIT]["TR1"].numerator == 5 and by[SECONDARY]["TR1"].numerator == 4
    assert by[NETWORK]["TR1"].numerator == 4  # the lowest member
    assert by[UNIT]["TR1"].assessment.state == "green"
    assert by[SECONDARY]["TR1"].assessment.state == "red"
    assert by[UNIT]["TR2"].numerator == 2  # the one ended in 2025 is not this year's


def test_the_api_names_the_line(client: TestClient, session: Session, world: World) -> None:
    office = bearer(session, world.office)
    gp = f"gp-wang{world.tag}"
    with clock.frozen(NOW):
        made = client.post(
            f"/api/networks/{NETWORK}/training/modules",
            headers=office,
            json={"code": "GP-1", "title": "全科", "kind": "modular", "max_score": 100,
                  "pass_score": 60},
        )  # fmt: skip
        assert made.status_code == 201
        bad = client.post(
            f"/api/networks/{NETWORK}/training/sessions",
            headers=office,
            json={"module_code": "GP-1", "held_on": "2026-11-02", "institution_code": LEAD,
                  "trainer": "孙", "results": [{"practitioner_code": gp, "score": 101}]},
        )  # fmt: skip
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["results.0.score"]
        huge = client.post(
            f"/api/teaching-plans/{2**40}/delivered",
            headers=office,
            json={"delivered_on": "2026-11-01"},
        )
        assert huge.status_code == 422
        missing = client.post(
            "/api/teaching-plans/2147483647/delivered",
            headers=office,
            json={"delivered_on": "2026-11-01"},
        )
        assert missing.status_code == 404
        read = client.get(f"/api/networks/{NETWORK}/training", headers=office).json()
        assert [m["code"] for m in read["modules"]] == ["GP-1"] and read["interval_months"] == 6
        doctor = bearer(session, world.cardiologist)
        assert client.get(f"/api/networks/{NETWORK}/training", headers=doctor).status_code == 403
    assert Decimal(read["modules"][0]["pass_score"]) == 60


def test_the_office_trains_on_the_page(client: TestClient, session: Session, world: World) -> None:
    """The office adds a module, records a session (a score above the scale refused at its
    line, nothing kept), a teaching plan and a mentorship; the page reads in Chinese without
    English and in English; a member's doctor is refused."""
    from caregrid.web.i18n import COOKIE
    from tests.web.test_untranslated import ENGLISH, _visible

    base = f"/networks/{NETWORK}/training"
    office = {**bearer(session, world.office), "Accept": "text/html"}
    gp, card = f"gp-wang{world.tag}", f"card-sun{world.tag}"
    with clock.frozen(NOW):
        made = client.post(
            f"{base}/modules",
            headers=office,
            data={"code": "GP-1", "title": "全科模块", "kind": "modular", "max_score": "100",
                  "pass_score": "60"},
            follow_redirects=False,
        )  # fmt: skip
        assert made.status_code == 303
        lines = {"module_code": "GP-1", "held_on": "2026-11-02", "institution_code": LEAD,
                 "trainer": "孙主任"}  # fmt: skip
        bad = client.post(
            f"{base}/sessions", headers=office, data={**lines, "results": f"{gp},1,101\n"}
        )
        assert bad.status_code == 422 and "超出模块的分值范围 0 至 100" in bad.text
        short = client.post(f"{base}/sessions", headers=office, data={**lines, "results": gp})
        assert short.status_code == 422 and "第 1 行有 1 个值，应为 3 个" in short.text
        held = client.post(
            f"{base}/sessions",
            headers=office,
            data={**lines, "results": f"{gp},1,75\nnurse-chen{world.tag},0,\n"},
            follow_redirects=False,
        )
        assert held.status_code == 303
        planned = client.post(
            f"{base}/teaching-plans",
            headers=office,
            data={"institution_code": UNIT, "title": "高血压带教", "planned_on": "2026-10-01"},
            follow_redirects=False,
        )
        assert planned.status_code == 303
        mentored = client.post(
            f"{base}/mentorships",
            headers=office,
            data={"practitioner_code": gp, "mentor_code": card, "starts_on": "2026-10-01"},
            follow_redirects=False,
        )
        assert mentored.status_code == 303
        page = client.get(base, headers=office)
    assert page.status_code == 200
    assert f'data-trainee="{gp}" data-passed="true"' in page.text
    assert f'data-trainee="nurse-chen{world.tag}" data-passed="false"' in page.text
    assert f'data-unit="{SECONDARY}" data-overdue="true"' in page.text  # never trained
    text = _visible(page.text)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    client.cookies.set(COOKIE, "en")
    with clock.frozen(NOW):
        english = client.get(base, headers=office).text
    client.cookies.delete(COOKIE)
    assert (
        "Clinical teaching plans tailored to the member" in english
        and "Modular training" in english
    )
    with clock.frozen(NOW):
        before = client.get(f"{base}?year=2025", headers=office).text
        odd = [client.get(f"{base}?year={y}", headers=office) for y in ("2027", "9" * 5000, "x")]
    assert '<h2 id="figures-year">2025' in before and 'href="?year=2026"' in before
    assert all(r.status_code == 200 and '<h2 id="figures-year">2026' in r.text for r in odd)
    doctor = {**bearer(session, world.cardiologist), "Accept": "text/html"}
    assert client.get(base, headers=doctor).status_code == 403
