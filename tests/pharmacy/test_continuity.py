"""Medicines that follow a down-referred patient (G6): the discharge regimen checked at the
community centre when the lead refers the patient down, at its edges (units held exactly the
regimen's, a lot expiring today, a substitute of the same medicine, one of another strength
that is not), flagged drugs with transfers proposed from the lead's soonest-expiring lots, the
check kept on the referral and shown to the family-doctor team, the facts the measures read,
and the refusals (a code outside the catalogue, a repeated drug, a regimen on an up referral)
with nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.errors import Forbidden, InvalidInput
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.api import network_measures
from caregrid.pharmacy.models import RegimenCheck, Transfer
from caregrid.pharmacy.schemas import RegimenCheckIn, RegimenLineIn
from caregrid.pharmacy.vocab import RegimenOutcome, TransferAction, TransferState
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from tests.conftest import bearer
from tests.pharmacy.conftest import (
    AMLODIPINE,
    GENERIC,
    LEAD,
    METFORMIN,
    NEGOTIATED,
    NETWORK,
    UNIT,
    VALSARTAN,
)
from tests.referrals import refer_down, refer_up
from tests.world import NOW, World

TODAY = NOW.date()


def _arrived(session: Session) -> Referral:
    found = session.scalar(select(Referral).order_by(Referral.id.desc()))
    assert found is not None
    return found


def _regimen(*lines: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"item_code": code, "quantity": units} for code, units in lines]


def _preview(session: Session, world: World, *lines: tuple[str, int]) -> list[Any]:
    check = pharmacy.preview_regimen(
        session,
        world.cardiologist,
        RegimenCheckIn(
            to_institution_code=UNIT,
            regimen=[RegimenLineIn.model_validate(line) for line in _regimen(*lines)],
        ),
    )
    return check.lines


def test_units_exactly_the_regimen_are_available_a_lot_expiring_today_counts(
    session: Session, regimens: World
) -> None:
    with clock.frozen(NOW):
        (line,) = _preview(session, regimens, (AMLODIPINE, 70))
    assert (line.outcome, line.held, line.substitute_code) == (RegimenOutcome.AVAILABLE, 70, None)
    with clock.frozen(NOW + timedelta(days=1)):  # lot T0 (20 units) expired yesterday
        (line,) = _preview(session, regimens, (AMLODIPINE, 70))
    assert line.held == 50 and line.outcome == RegimenOutcome.SUBSTITUTE


def test_one_unit_short_takes_the_generic_of_the_same_strength_not_another(
    session: Session, regimens: World
) -> None:
    with clock.frozen(NOW):
        (line,) = _preview(session, regimens, (AMLODIPINE, 71))
        assert line.outcome == RegimenOutcome.SUBSTITUTE
        assert (line.substitute_code, line.substitute_held) == (GENERIC, 80)
        # more than the 5 mg generic holds: the 2.5 mg tablets (500 held) are no substitute
        (line,) = _preview(session, regimens, (AMLODIPINE, 81))
    assert (line.outcome, line.substitute_code) == (RegimenOutcome.FLAGGED, None)


def test_a_drug_held_but_not_listed_is_flagged(session: Session, regimens: World) -> None:
    with clock.frozen(NOW):
        (line,) = _preview(session, regimens, (VALSARTAN, 30))
    assert (line.outcome, line.held, line.lead_held) == (RegimenOutcome.FLAGGED, 100, 0)


def test_refer_down_keeps_the_check_and_proposes_the_shortfall_soonest_lot_first(
    session: Session, regimens: World
) -> None:
    world = regimens
    with clock.frozen(NOW):
        down = refer_down(
            session,
            world.cardiologist,
            _arrived(session),
            regimen=_regimen((AMLODIPINE, 30), (METFORMIN, 60)),
        )
        shown = referrals.view(session, world.cardiologist, down).regimen
    assert shown is not None and shown.referral_id == down.id and shown.flagged == 1
    amlodipine, metformin = shown.lines
    assert amlodipine.outcome == RegimenOutcome.AVAILABLE and amlodipine.transfers == []
    assert (metformin.outcome, metformin.held, metformin.lead_held) == (
        RegimenOutcome.FLAGGED,
        0,
        70,
    )
    assert [(t.lot_number, t.quantity, t.state) for t in metformin.transfers] == [
        ("M-SOON", 40, TransferState.REQUESTED),
        ("M-LATE", 20, TransferState.REQUESTED),
    ]
    assert {(t.from_institution_code, t.to_institution_code) for t in metformin.transfers} == {
        (LEAD, UNIT)
    }
    # the lead ships, the unit receives: the unit now holds the regimen; the check is kept
    with clock.frozen(NOW + timedelta(hours=2)):
        for proposed in metformin.transfers:
            shipped = pharmacy.act(
                session, world.lead_admin, proposed.id, TransferAction.SHIP, proposed.version
            )
            pharmacy.act(
                session, world.community_admin, shipped.id, TransferAction.RECEIVE, shipped.version
            )
        (now,) = _preview(session, world, (METFORMIN, 60))
        kept = pharmacy.referral_regimen(session, down.id)
    assert now.outcome == RegimenOutcome.AVAILABLE and now.held == 60
    assert kept is not None and kept.lines[1].outcome == RegimenOutcome.FLAGGED
    assert [t.state for t in kept.lines[1].transfers] == [TransferState.RECEIVED] * 2


def test_the_family_doctor_team_sees_the_regimen_another_grid_does_not(
    session: Session, regimens: World
) -> None:
    world = regimens
    with clock.frozen(NOW):
        refer_down(
            session, world.cardiologist, _arrived(session), regimen=_regimen((METFORMIN, 10))
        )
        (seen,) = pharmacy.resident_regimens(session, world.community_doctor, world.patient)
        assert seen.to_institution_code == UNIT and seen.lines[0].item_code == METFORMIN
        with pytest.raises(Forbidden):
            pharmacy.resident_regimens(session, world.other_grid_doctor, world.patient)


def test_bad_regimens_name_the_line_and_write_nothing(session: Session, regimens: World) -> None:
    world = regimens
    before = session.scalar(select(func.count()).select_from(Referral))
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        refer_down(
            session,
            world.cardiologist,
            _arrived(session),
            regimen=_regimen((METFORMIN, 10), ("NO-SUCH-DRUG", 5), (METFORMIN, 20)),
        )
    assert {p.field for p in refused.value.problems} == {
        "regimen.1.item_code",
        "regimen.2.item_code",
    }
    with clock.frozen(NOW), pytest.raises(InvalidInput) as up:
        refer_up(session, world, regimen=_regimen((METFORMIN, 10)))
    assert [p.field for p in up.value.problems] == ["regimen"]
    assert session.scalar(select(func.count()).select_from(Referral)) == before
    assert session.scalar(select(func.count()).select_from(RegimenCheck)) == 0
    assert session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_the_facts_carry_the_check_the_stock_and_the_negotiated_drug(
    session: Session, regimens: World
) -> None:
    world = regimens
    with clock.frozen(NOW):
        down = refer_down(
            session,
            world.cardiologist,
            _arrived(session),
            regimen=_regimen((AMLODIPINE, 30), (METFORMIN, 60)),
        )
        facts = pharmacy.facts(session, TODAY)
    (check,) = facts["regimen_check"]
    assert check == {
        "referral_id": str(down.id),
        "institution_code": UNIT,
        "from_institution_code": LEAD,
        "diagnosis_code": "I10",
        "lines": 2,
        "flagged_lines": 1,
        "date": TODAY,
    }
    at_unit = {
        r["item_code"]: r for r in facts["catalogue_listing"] if r["institution_code"] == UNIT
    }
    assert at_unit[AMLODIPINE]["on_hand"] == 70 and at_unit[AMLODIPINE]["listed"] is True
    assert at_unit[METFORMIN]["on_hand"] == 0  # listed, out of stock
    assert at_unit[NEGOTIATED]["listed"] is False and at_unit[NEGOTIATED]["negotiated"] is True
    assert VALSARTAN not in at_unit  # held, not listed, not negotiated: no line to read


def test_the_measures_count_the_regimen_and_the_stock_out(
    session: Session, regimens: World, fresh_store: object
) -> None:
    world = regimens
    with clock.frozen(NOW):
        refer_down(
            session, world.cardiologist, _arrived(session), regimen=_regimen((METFORMIN, 60))
        )
        found = network_measures(session, world.office, NETWORK, NOW.year)
    unit = {m.institution_code: m for m in found.members}[UNIT].figures
    assert (unit["PH8"].numerator, unit["PH8"].denominator) == (0, 1)
    # listed: amlodipine and its two generics (held), metformin and olmesartan (none held)
    assert (unit["PH7"].numerator, unit["PH7"].denominator) == (2, 5)
    assert (unit["PH6"].numerator, unit["PH6"].denominator) == (0, 1)
    lead = {m.institution_code: m for m in found.members}[LEAD].figures
    assert (lead["PH6"].numerator, lead["PH6"].denominator) == (1, 1)


def test_the_api_previews_without_writing(
    session: Session, regimens: World, client: TestClient
) -> None:
    world = regimens
    doctor = bearer(session, world.cardiologist)
    with clock.frozen(NOW):
        sent = client.post(
            "/api/regimen-checks",
            json={"to_institution_code": UNIT, "regimen": _regimen((METFORMIN, 60))},
            headers=doctor,
        )
        bad = client.post(
            "/api/regimen-checks",
            json={"to_institution_code": UNIT, "regimen": _regimen(("bad code!", 0))},
            headers=doctor,
        )
    assert sent.status_code == 200, sent.text
    (line,) = sent.json()["lines"]
    assert (line["outcome"], line["lead_held"], line["transfers"]) == ("flagged", 70, [])
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(Transfer)) == 0
