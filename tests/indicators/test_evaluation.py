"""The half-yearly evaluation against the 15 criteria: what the data proves is filled in, the
evaluator scores with an evidence note, a refresh keeps the verdicts; Sichuan's variant."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Forbidden, InvalidInput, RuleViolation
from caregrid.indicators import evaluation
from caregrid.indicators.models import EvaluationItem
from caregrid.policy import service as policy
from caregrid.policy.schema import Profile
from tests.conftest import bearer, make_principal
from tests.indicators.conftest import NET
from tests.web.test_untranslated import ENGLISH, _visible
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session, facts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(facts))
    get_settings.cache_clear()
    with clock.frozen(NOW):
        yield build(session)
    get_settings.cache_clear()


@pytest.fixture
def regulator(session: Session, world: World) -> Principal:
    return make_principal(session, "evaluator", Role.REGULATOR)


def _detail(item: EvaluationItem) -> str | None:
    found = evaluation.detail(item)
    return None if found is None else found.render()


def test_the_data_fills_what_it_can_prove(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        found = evaluation.evaluate(session, world.office, NET, "2025H1")
    assert found.criteria == "national" and [i.criterion for i in found.items] == list(range(1, 16))
    auto = {i.criterion: (i.automatic, _detail(i)) for i in found.items}
    assert auto == {
        1: ("met", "5 structure checks (A1-A4, A9) pass or do not apply"),
        8: ("not_met", "UG4 amber; UG5 green"),  # 199/600 slots, 10/40 beds
        9: ("not_met", "no ecg, imaging, laboratory, pathology, sterilisation centre"),
        11: ("met", "1 teams with a doctor from a secondary or tertiary hospital"),
        12: ("met", "2 upward and 2 downward referrals"),
    } | {n: (None, None) for n in (2, 3, 4, 5, 6, 7, 10, 13, 14, 15)}  # the evaluator's only
    assert all(i.verdict is None and i.note is None for i in found.items)


def test_the_referral_criterion_reads_its_limits_from_the_catalogue(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Criterion 12's figures are data: with 3 upward referrals required, 2 are not enough."""
    shipped = evaluation.criteria("national")
    assert shipped[11].limits == {"upward_min": 1, "downward_min": 1}
    stricter = tuple(
        dataclasses.replace(c, limits={"upward_min": 3, "downward_min": 1}) if c.no == 12 else c
        for c in shipped
    )
    monkeypatch.setattr(evaluation, "criteria", lambda name: stricter)
    with clock.frozen(NOW):
        found = evaluation.evaluate(session, world.office, NET, "2025H1")
    item = next(i for i in found.items if i.criterion == 12)
    assert (item.automatic, _detail(item)) == (
        "not_met", "2 upward and 2 downward referrals (at least 3 and 1)",
    )  # fmt: skip


def test_the_evaluator_scores_with_evidence_and_a_refresh_keeps_it(
    session: Session, world: World, regulator: Principal
) -> None:
    with clock.frozen(NOW):
        evaluation.evaluate(session, world.office, NET, "2025H1")
        with pytest.raises(InvalidInput) as refused:
            evaluation.score(
                session, regulator, NET, "2025H1", criterion=2, verdict="met", note=" "
            )
        assert [p.field for p in refused.value.problems] == ["note"]
        with pytest.raises(Forbidden):
            evaluation.score(session, world.office, NET, "2025H1", criterion=2, verdict="met",
                             note="章程")  # fmt: skip
        evaluation.score(
            session, regulator, NET, "2025H1", criterion=2, verdict="partly", note="章程已印发"
        )
        again = evaluation.evaluate(session, world.office, NET, "2025H1")
    second = next(i for i in again.items if i.criterion == 2)
    assert (second.verdict, second.note, second.scored_by) == ("partly", "章程已印发", "evaluator")


def _with_interval(months: int | None) -> Profile:
    """The Jinhua profile as shipped, with `evaluation_interval_months` (K7) set or removed."""
    jinhua = policy.get("jinhua")
    params = dict(jinhua.parameters)
    if months is None:
        del params[evaluation.INTERVAL]
    else:
        params[evaluation.INTERVAL] = params[evaluation.INTERVAL].model_copy(
            update={"value": months, "phases": None}
        )
    return jinhua.model_copy(update={"parameters": params})


def test_periods_and_the_sichuan_variant() -> None:
    jinhua = policy.get("jinhua")  # every 6 months from 2024-05-31
    with pytest.raises(InvalidInput) as refused:
        evaluation.period_bounds(jinhua, "2025Q1")
    assert [p.field for p in refused.value.problems] == ["period"]
    assert "evaluation_interval_months" in refused.value.problems[0].message
    assert evaluation.period_bounds(jinhua, "2025H2") == (date(2025, 7, 1), date(2025, 12, 31))
    assert evaluation.periods(jinhua, 2025) == ["2025H1", "2025H2"]
    national, sichuan = evaluation.criteria("national"), evaluation.criteria("sichuan")
    assert len(sichuan) == 15 and sichuan[3].text_zh.startswith("组织运营一体化管理")
    assert "总会计师" in sichuan[4].text_zh and "总会计师" not in national[4].text_zh
    assert [c for c in sichuan if c.no not in (4, 5)] == [c for c in national if c.no not in (4, 5)]


def test_the_page_runs_and_scores(
    client: TestClient, session: Session, world: World, regulator: Principal
) -> None:
    with clock.frozen(NOW):
        headers = {**bearer(session, regulator), "Accept": "text/html"}
        empty = client.get(f"/networks/{NET}/evaluations/2025H1", headers=headers)
        assert empty.status_code == 200 and 'id="run-evaluation"' in empty.text
        ran = client.post(f"/networks/{NET}/evaluations/2025H1", headers=headers)
        assert ran.status_code == 200 and 'data-criterion="15"' in ran.text
        bad = client.post(
            f"/networks/{NET}/evaluations/2025H1/criteria/3", data={"verdict": "met"},
            headers=headers,
        )  # fmt: skip
        assert bad.status_code == 422 and "请说明结论依据的证据" in bad.text
        scored = client.post(
            f"/networks/{NET}/evaluations/2025H1/criteria/3",
            data={"verdict": "met", "note": "网格内一体化服务"}, headers=headers,
        )  # fmt: skip
        assert 'data-criterion="3" data-automatic="" data-verdict="met"' in scored.text
        quarter = client.get(f"/networks/{NET}/evaluations/2025Q3", headers=headers)
        assert quarter.status_code == 422 and "形如 2025H1 的 6 个月评估期" in quarter.text
        member_quarter = client.get(
            f"/networks/{NET}/evaluations/2025Q3",
            headers={**bearer(session, world.community_doctor), "Accept": "text/html"},
        )
        assert member_quarter.status_code == 422  # not 403: no such period exists
        member = client.get(
            f"/networks/{NET}/evaluations/2025H1",
            headers={**bearer(session, world.community_doctor), "Accept": "text/html"},
        )
        assert member.status_code == 403


def test_a_verdict_is_a_word_of_the_page_language(
    client: TestClient, session: Session, world: World, regulator: Principal
) -> None:
    with clock.frozen(NOW):
        headers = {**bearer(session, regulator), "Accept": "text/html"}
        url = f"/networks/{NET}/evaluations/2025H1"
        client.post(url, headers=headers)
        scored = client.post(
            f"{url}/criteria/3", data={"verdict": "partly", "note": "章程已印发"}, headers=headers
        ).text
        client.cookies.set("caregrid_lang", "en")
        english = client.get(url, headers=headers).text
        client.cookies.clear()
    assert '<strong class="verdict">部分达标</strong> · 章程已印发' in scored
    # what the data proves, and why, in the same language
    assert "5 项结构检查（A1–A4、A9）通过或不适用" in scored
    assert (
        "缺少心电, 影像, 检验, 病理, 消毒供应中心" in scored and "UG4 接近目标; UG5 达标" in scored
    )
    assert ENGLISH.findall(_visible(scored)) == []
    assert "5 structure checks (A1-A4, A9) pass or do not apply" in english
    assert '<option value="not_met">未达标</option>' in scored
    assert '<strong class="verdict">Partly met</strong> · 章程已印发' in english
    assert '<option value="partly" selected>Partly met</option>' in english
    assert '<option value="not_met">Not met</option>' in english


@pytest.mark.parametrize("name", ["national", "sichuan"])
def test_every_shipped_catalogue_has_fifteen_criteria_with_known_checks(name: str) -> None:
    listed = evaluation.criteria(name)
    assert [c.no for c in listed] == list(range(1, 16))
    assert {c.check for c in listed if c.check} <= set(evaluation.CHECKS)


@pytest.mark.parametrize(
    ("months", "good", "bounds", "bad"),
    [
        (12, "2025", (date(2025, 1, 1), date(2025, 12, 31)), "2025H1"),
        (6, "2025H1", (date(2025, 1, 1), date(2025, 6, 30)), "2025"),
        (3, "2025Q2", (date(2025, 4, 1), date(2025, 6, 30)), "2025H1"),
        (1, "2025-02", (date(2025, 2, 1), date(2025, 2, 28)), "2025Q1"),
        (None, "2025H2", (date(2025, 7, 1), date(2025, 12, 31)), "2025"),  # catalogue's 6
    ],
)
def test_a_period_is_one_of_the_profiles_evaluation_interval(
    months: int | None, good: str, bounds: tuple[date, date], bad: str
) -> None:
    """The period label follows `evaluation_interval_months` (K7): a yearly profile refuses a
    half-year; without the parameter the criteria catalogue's `period_months` applies."""
    profile = _with_interval(months)
    assert evaluation.period_bounds(profile, good) == bounds
    with pytest.raises(InvalidInput) as refused:
        evaluation.period_bounds(profile, bad)
    assert [p.field for p in refused.value.problems] == ["period"]
    assert evaluation.INTERVAL in refused.value.problems[0].message


def test_an_interval_without_a_label_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        evaluation.period_bounds(_with_interval(5), "2025H1")
    assert refused.value.requirement == "K7"


def test_evaluate_uses_the_networks_interval(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(policy._cache, "jinhua", _with_interval(12))
    with clock.frozen(NOW), pytest.raises(InvalidInput):
        evaluation.evaluate(session, world.office, NET, "2025H1")
    with clock.frozen(NOW):
        assert evaluation.evaluate(session, world.office, NET, "2025").period == "2025"
