"""Internal evaluation of staff (K2, GZ-U 17): four scores of 0 to 100 (100 kept, 100.01
refused at its field), a member's staff only, not a day to come, one a day per person; K2 the
share of the staff on the period's lists evaluated in it; the staff page records one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity import importer
from caregrid.activity.facts import fact
from caregrid.activity.parquet import schema
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.indicators import service as indicators
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import EvaluationIn
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
UNIT = "jh-wc-chengdong"
TODAY = NOW.date()


def _in(code: str, **more: Any) -> EvaluationIn:
    fields = {"practitioner_code": code, "evaluated_on": "2026-07-01", "ethics": 95,
              "quality": "88.5", "competence": 90, "satisfaction": 100, "grade": "excellent",
              "uses": ["pay", "post"], **more}  # fmt: skip
    return EvaluationIn.model_validate(fields)


def test_an_evaluation_is_scored_and_tied_to_its_uses(session: Session, world: World) -> None:
    gp = f"gp-wang{world.tag}"
    made = workforce.evaluation.record_evaluation(session, world.office, NETWORK, _in(gp))
    assert made.institution_code == UNIT and [u.value for u in made.uses] == ["pay", "post"]
    with pytest.raises(Conflict):
        workforce.evaluation.record_evaluation(session, world.office, NETWORK, _in(gp))
    with pytest.raises(ValidationError) as bad:
        _in(gp, quality="100.01")
    assert [e["loc"] for e in bad.value.errors()] == [("quality",)]
    with pytest.raises(InvalidInput) as refused:
        workforce.evaluation.record_evaluation(
            session, world.office, NETWORK,
            _in("nobody", evaluated_on="2026-11-24", uses=["pay", "pay"]),
        )  # fmt: skip
    assert [p.field for p in refused.value.problems] == [
        "practitioner_code", "evaluated_on", "uses",
    ]  # fmt: skip
    with pytest.raises(Forbidden):
        workforce.evaluation.record_evaluation(
            session, world.community_admin, NETWORK, _in(gp, evaluated_on="2026-07-02")
        )


def test_k2_counts_the_listed_staff_evaluated(
    session: Session, world: World, fresh_store: object
) -> None:
    gp, nurse = f"gp-wang{world.tag}", f"nurse-chen{world.tag}"
    declared = fact("staff")
    rows = [
        {"staff_id": c, "institution_code": UNIT, "profession": "doctor", "title_level": None,
         "tcm": False, "posted_from_institution_code": None, "posted_months": None,
         "as_of": date(2026, 6, 30)}
        for c in (gp, nurse)
    ]  # fmt: skip
    importer.store(session, declared, pa.Table.from_pylist(rows, schema(declared)))
    for day in ("2026-01-10", "2026-07-01"):  # evaluated twice: counted once
        workforce.evaluation.record_evaluation(
            session, world.office, NETWORK, _in(gp, evaluated_on=day)
        )
    workforce.evaluation.record_evaluation(
        session,
        world.office,
        NETWORK,
        _in(nurse, evaluated_on="2025-12-31"),  # last year
    )
    with clock.frozen(NOW):
        found = indicators.network_rows(
            session, NETWORK, ("K2",), indicators.year_period(2026, TODAY)
        )
    unit = next(r for r in found if r.code == UNIT).figures["K2"]
    assert (unit.numerator, unit.denominator) == (1, 2)


def test_the_staff_page_records_an_evaluation(
    client: TestClient, session: Session, world: World
) -> None:
    office = {**bearer(session, world.office), "Accept": "text/html"}
    base = f"/networks/{NETWORK}/workforce"
    gp = f"gp-wang{world.tag}"
    fields = {"practitioner_code": gp, "evaluated_on": "2026-07-01", "ethics": "95",
              "quality": "101", "competence": "90", "satisfaction": "99", "grade": "competent",
              "uses": ["title"]}  # fmt: skip
    with clock.frozen(NOW):
        bad = client.post(f"{base}/evaluations", headers=office, data=fields)
        assert bad.status_code == 422 and 'id="error-evaluation-quality"' in bad.text
        assert 'value="title" checked' in bad.text
        done = client.post(
            f"{base}/evaluations", headers=office, data={**fields, "quality": "80"},
            follow_redirects=False,
        )  # fmt: skip
        assert done.status_code == 303
        page = client.get(base, headers=office).text
    assert 'data-grade="competent"' in page and "职称评聘" in page
    assert 'value="pay"> 薪酬待遇' in page  # pay and benefits, not a payment
