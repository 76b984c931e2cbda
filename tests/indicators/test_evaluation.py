"""The half-yearly evaluation against the 15 criteria: what the data proves is filled in, the
evaluator scores with an evidence note, a refresh keeps the verdicts; Sichuan's variant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.errors import Forbidden, InvalidInput
from caregrid.indicators import evaluation
from tests.conftest import bearer, make_principal
from tests.indicators.conftest import NET
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


def test_the_data_fills_what_it_can_prove(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        found = evaluation.evaluate(session, world.office, NET, "2025H1")
    assert found.criteria == "national" and [i.criterion for i in found.items] == list(
        range(1, 16)
    )
    auto = {i.criterion: (i.automatic, i.automatic_detail) for i in found.items}
    assert auto[8] == ("not_met", "UG4 amber; UG5 green")  # 199/600 slots, 10/40 beds
    assert auto[9][0] == "not_met" and "no ecg, imaging, laboratory" in (auto[9][1] or "")
    assert auto[11] == ("met", "1 teams with a doctor from a secondary or tertiary hospital")
    assert auto[12] == ("met", "2 upward and 2 downward referrals")
    assert auto[1][0] in ("met", "not_met")
    assert auto[2] == (None, None)  # scored by the evaluator only


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


def test_periods_and_the_sichuan_variant() -> None:
    with pytest.raises(InvalidInput):
        evaluation.half_year("2025Q1")
    assert evaluation.half_year("2025H2") == (
        date(2025, 7, 1),
        date(2025, 12, 31),
    )
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
        assert bad.status_code == 422 and "say what evidence" in bad.text
        scored = client.post(
            f"/networks/{NET}/evaluations/2025H1/criteria/3",
            data={"verdict": "met", "note": "网格内一体化服务"}, headers=headers,
        )  # fmt: skip
        assert 'data-criterion="3" data-automatic="" data-verdict="met"' in scored.text
        member = client.get(
            f"/networks/{NET}/evaluations/2025H1",
            headers={**bearer(session, world.community_doctor), "Accept": "text/html"},
        )
        assert member.status_code == 403


@pytest.mark.parametrize("name", ["national", "sichuan"])
def test_every_shipped_catalogue_has_fifteen_criteria_with_known_checks(name: str) -> None:
    listed = evaluation.criteria(name)
    assert [c.no for c in listed] == list(range(1, 16))
    assert {c.check for c in listed if c.check} <= set(evaluation.CHECKS)
