"""Shared centres, orders and signed reports (D1, D2), and mutual recognition (D3) at its
edges: the validity window's last day, the scope (same network, another network in the city,
another province), the direction (same level or higher), quality assessment, the six coded
repeat reasons, and the recognition rate and cost avoided on a hand-checked set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Principal, Role
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.api import network_measures
from caregrid.diagnostics.schemas import (
    CentreIn,
    CentreItemIn,
    OrderIn,
    RepeatIn,
    ReportIn,
    ValueIn,
)
from caregrid.diagnostics.vocab import CentreKind, OrderState, RepeatReason
from caregrid.errors import Forbidden, InvalidInput, RuleViolation
from caregrid.registry import service as registry
from tests.conftest import bearer, make_principal
from tests.referrals import refer_up
from tests.world import NOW, World, build

DAY0 = NOW.date()
LIPIDS = [
    ValueIn(component="tc", value=Decimal("6.1"), unit="mmol/L"),
    ValueIn(component="tg", value=Decimal("1.5"), unit="mmol/L"),
    ValueIn(component="ldl", value=Decimal("3.9"), unit="mmol/L"),
    ValueIn(component="hdl", value=Decimal("1.2"), unit="mmol/L"),
]


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        world = build(session)
        for kind, items in (
            (CentreKind.LABORATORY, ["lipid_panel", "fasting_glucose"]),
            (CentreKind.IMAGING, ["chest_xray"]),
        ):
            diagnostics.create_centre(
                session,
                SYSTEM,
                CentreIn(
                    network_code="jh-rmyy-wucheng",
                    kind=kind,
                    institution_code="jh-rmyy",
                    name=f"{kind} centre",
                    items=[CentreItemIn(item_code=i, turnaround_hours=24) for i in items],
                    readers=[world.cardiologist.username],
                ),
            )
        for category in ("chemistry", "imaging"):
            diagnostics.record_quality_assessment(
                session,
                SYSTEM,
                institution_code="jh-rmyy",
                category=category,
                valid_from=date(2026, 1, 1),
                valid_until=date(2026, 12, 31),
                scheme="Zhejiang EQA 2026",
            )
        yield world


def _lipids_at_day0(session: Session, world: World) -> int:
    """The community centre orders a lipid panel; the lab (at the lead) reports it on day 0."""
    order = diagnostics.place_order(
        session, world.community_doctor, OrderIn(resident_id=world.patient, item_code="lipid_panel")
    )
    result = diagnostics.report(
        session,
        world.cardiologist,
        order.id,
        ReportIn(observed_on=DAY0, values=LIPIDS, conclusion="高胆固醇血症"),
    )
    assert {v.component: v.flag for v in result.values} == {
        "tc": "H",
        "tg": "N",
        "ldl": "H",
        "hdl": "N",
    }
    return result.id


def _offers_on(session: Session, who: Principal, resident: int, item: str, on: date) -> list[int]:
    moment = datetime.combine(on, NOW.timetz())
    with clock.frozen(moment):
        order = diagnostics.place_order(session, who, OrderIn(resident_id=resident, item_code=item))
        return [o.result.id for o in diagnostics.offers(session, order)]


def test_a_valid_result_is_offered_to_the_last_day_of_its_window(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        prior = _lipids_at_day0(session, world)
    # The lipid panel is valid for 30 days: day 30 yes, day 31 no.
    assert _offers_on(
        session, world.cardiologist, world.patient, "lipid_panel", DAY0 + timedelta(days=30)
    ) == [prior]
    assert (
        _offers_on(
            session, world.cardiologist, world.patient, "lipid_panel", DAY0 + timedelta(days=31)
        )
        == []
    )


def test_the_offer_never_carries_the_conclusion(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        _lipids_at_day0(session, world)
        order = diagnostics.place_order(
            session, world.cardiologist, OrderIn(resident_id=world.patient, item_code="lipid_panel")
        )
        view = diagnostics.order_view(session, order)
    assert len(view.offers) == 1
    assert view.offers[0].result.conclusion is None and len(view.offers[0].result.values) == 4
    assert view.offers[0].valid_until == DAY0 + timedelta(days=30)


def test_scope_same_network_city_and_province(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        prior = _lipids_at_day0(session, world)
        # The Central Hospital leads another grid's group in the same city; it needs its own
        # lab centre to order from.
        other = make_principal(session, "dr-qian", Role.CLINICIAN, institution="jh-zxyy")
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-zxyy-jindong",
                kind=CentreKind.LABORATORY,
                institution_code="jh-zxyy",
                name="金东检验中心",
                items=[CentreItemIn(item_code="lipid_panel", turnaround_hours=24)],
            ),
        )
        # A referral to the Central Hospital gives it the care relationship.
        refer_up(
            session,
            world,
            to_institution_code="jh-zxyy",
            to_department_id=None,
            patient_choice_reason="lives nearby",
        )
    # Jinhua recognises inside the group only: another network's hospital gets no offer...
    assert _offers_on(session, other, world.patient, "lipid_panel", DAY0) == []
    # ...unless its profile recognises across the city (Ganzhou urban's rule, GZ-U 10).
    registry.get_network(session, "jh-zxyy-jindong").profile = "ganzhou-urban"
    assert _offers_on(session, other, world.patient, "lipid_panel", DAY0) == [prior]
    # City scope stops at the city: a hospital of another city (and province) is out.
    registry.require_institution(session, "jh-zxyy").city_id = registry.require_institution(
        session, "gz-rmyy"
    ).city_id
    assert _offers_on(session, other, world.patient, "lipid_panel", DAY0) == []


def test_direction_same_level_or_higher_and_quality_assessment(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        # An ECG centre run by the community centre (primary): its results go up only by choice.
        gp_reader = world.community_doctor
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.ECG,
                institution_code="jh-wc-chengdong",
                name="城东心电中心",
                items=[CentreItemIn(item_code="ecg_12", turnaround_hours=2)],
                readers=[gp_reader.username],
            ),
        )
        order = diagnostics.place_order(
            session, gp_reader, OrderIn(resident_id=world.patient, item_code="ecg_12")
        )
        ecg = diagnostics.report(
            session, gp_reader, order.id, ReportIn(findings="窦性心律，ST段未见异常")
        )
    # No quality assessment for the community centre's electrophysiology: nobody may reuse it.
    assert _offers_on(session, gp_reader, world.patient, "ecg_12", DAY0) == []
    diagnostics.record_quality_assessment(
        session,
        SYSTEM,
        institution_code="jh-wc-chengdong",
        category="electrophysiology",
        valid_from=DAY0,
        valid_until=DAY0 + timedelta(days=365),
        scheme="city EQA",
    )
    # Same level accepts it; the tertiary lead does not accept a primary institution's result.
    assert _offers_on(session, gp_reader, world.patient, "ecg_12", DAY0) == [ecg.id]
    assert _offers_on(session, world.cardiologist, world.patient, "ecg_12", DAY0) == []


def test_reuse_or_repeat_with_a_coded_reason(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        prior = _lipids_at_day0(session, world)
        first = diagnostics.place_order(
            session, world.cardiologist, OrderIn(resident_id=world.patient, item_code="lipid_panel")
        )
        diagnostics.recognise(session, world.cardiologist, first.id, prior)
        assert (first.state, first.result_id) == (OrderState.RECOGNISED, prior)
        second = diagnostics.place_order(
            session, world.cardiologist, OrderIn(resident_id=world.patient, item_code="lipid_panel")
        )
        with pytest.raises(InvalidInput, match="say why"):
            diagnostics.repeat(
                session,
                world.cardiologist,
                second.id,
                RepeatIn(prior_result_id=prior, reason=RepeatReason.OTHER),
            )
        diagnostics.repeat(
            session,
            world.cardiologist,
            second.id,
            RepeatIn(prior_result_id=prior, reason=RepeatReason.CRITICAL_FOR_TREATMENT),
        )
        assert second.state == OrderState.ORDERED  # it goes ahead
        third = diagnostics.place_order(
            session, world.cardiologist, OrderIn(resident_id=world.patient, item_code="lipid_panel")
        )
    later = datetime.combine(DAY0 + timedelta(days=31), NOW.timetz())
    with clock.frozen(later), pytest.raises(RuleViolation) as refused:
        diagnostics.recognise(session, world.cardiologist, third.id, prior)  # outside the window
    assert refused.value.requirement == "D3"
    with clock.frozen(NOW):
        found = network_measures(session, world.office, "jh-rmyy-wucheng", 2026)
    rate = found.figures["MR2"]
    assert (rate.numerator, rate.denominator) == (1, 2)
    repeats = {i[4:]: f.numerator for i, f in found.figures.items() if i.startswith("MR4-")}
    assert repeats == {r.value: int(r == RepeatReason.CRITICAL_FOR_TREATMENT) for r in RepeatReason}
    assert found.figures["MR3"].numerator == 40.0
    lab = next(t for t in found.turnaround if t.centre == "laboratory centre")
    assert (lab.within_turnaround.denominator, lab.within_turnaround.numerator) == (1, 1)


def test_bad_reports_are_refused_and_nothing_is_stored(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        order = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="lipid_panel"),
        )
        with pytest.raises(Forbidden, match="not a qualified reader"):
            diagnostics.report(session, world.community_doctor, order.id, ReportIn(values=LIPIDS))
        wrong_unit = [*LIPIDS[:3], ValueIn(component="hdl", value=Decimal("46"), unit="mg/dL")]
        with pytest.raises(InvalidInput) as refused:
            diagnostics.report(session, world.cardiologist, order.id, ReportIn(values=wrong_unit))
        assert refused.value.problems[0].field == "values.3.unit"
        with pytest.raises(InvalidInput, match="missing hdl"):
            diagnostics.report(session, world.cardiologist, order.id, ReportIn(values=LIPIDS[:3]))
        assert order.state == OrderState.ORDERED and order.result_id is None
        with pytest.raises(InvalidInput, match="does not offer"):
            diagnostics.place_order(
                session,
                world.community_doctor,
                OrderIn(resident_id=world.patient, item_code="hba1c"),
            )
        xray = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="chest_xray", acquired_at_member=True),
        )
        diagnostics.advance(
            session, world.community_doctor, xray.id, OrderState.ACQUIRED
        )  # 基层检查
        with pytest.raises(InvalidInput, match="findings"):
            diagnostics.report(session, world.cardiologist, xray.id, ReportIn())
        result = diagnostics.report(
            session, world.cardiologist, xray.id, ReportIn(findings="双肺纹理清晰")
        )  # 上级诊断
        assert result.acquired_at_id == registry.require_institution(session, "jh-wc-chengdong").id
        assert result.performed_at_id == registry.require_institution(session, "jh-rmyy").id
        assert [e.state for e in xray.events] == ["ordered", "acquired", "reported"]


def test_the_api_offers_a_prior_result_and_measures_it(
    session: Session, world: World, client: TestClient
) -> None:
    """The story: lipids and a chest X-ray done for the community centre; the cardiologist
    reuses the lipids and repeats the X-ray with a coded reason."""
    with clock.frozen(NOW):
        lipids = _lipids_at_day0(session, world)
        xray = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="chest_xray", acquired_at_member=True),
        )
        diagnostics.advance(session, world.community_doctor, xray.id, OrderState.ACQUIRED)
        film = diagnostics.report(
            session, world.cardiologist, xray.id, ReportIn(findings="未见异常")
        )
    later = NOW + timedelta(days=14)
    with clock.frozen(later):
        headers = bearer(session, world.cardiologist)  # a token valid at that time
        panel = client.post(
            "/api/orders",
            json={"resident_id": world.patient, "item_code": "lipid_panel"},
            headers=headers,
        ).json()
        assert [o["result"]["id"] for o in panel["offers"]] == [lipids]
        assert panel["offers"][0]["result"]["conclusion"] is None
        reused = client.post(
            f"/api/orders/{panel['id']}/recognise", json={"result_id": lipids}, headers=headers
        )
        assert reused.status_code == 200 and reused.json()["state"] == "recognised"
        chest = client.post(
            "/api/orders",
            json={"resident_id": world.patient, "item_code": "chest_xray"},
            headers=headers,
        ).json()
        repeated = client.post(
            f"/api/orders/{chest['id']}/repeat",
            json={"prior_result_id": film.id, "reason": "condition_changed"},
            headers=headers,
        )
        assert repeated.status_code == 200 and repeated.json()["state"] == "ordered"
        bad = client.post(
            f"/api/orders/{chest['id']}/repeat",
            json={"prior_result_id": film.id, "reason": "because"},
            headers=headers,
        )
        assert bad.status_code == 422
        office = bearer(session, world.office)
        measured = client.get(
            "/api/networks/jh-rmyy-wucheng/recognition-measures?year=2026", headers=office
        ).json()
    figures = measured["figures"]
    assert (figures["MR2"]["numerator"], figures["MR2"]["denominator"]) == (1, 2)
    assert figures["MR4-condition_changed"]["numerator"] == 1
    assert figures["MR3"]["numerator"] == 40.0
