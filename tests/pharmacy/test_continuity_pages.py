"""The down-referral regimen on the pages (G6): the refer-down form offers the drugs of the
patient's last prescription at the lead, shows a regimen with a drug the unit lacks checked
before sending, sends it when sent again; the down referral shows the check; the lead's and
the unit's pharmacy pages ship and receive the proposed transfer; the family doctor sees the
patient's medicines on the resident page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.models import Transfer
from caregrid.pharmacy.schemas import PrescriptionIn
from caregrid.referral.models import Referral
from tests.conftest import bearer
from tests.pharmacy.conftest import AMLODIPINE, LEAD, METFORMIN, UNIT
from tests.world import NOW, World


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def _arrived(session: Session) -> Referral:
    found = session.scalar(select(Referral).order_by(Referral.id.desc()))
    assert found is not None
    return found


def _form(up: Referral, *rows: tuple[str, str], seen: bool = False) -> dict[str, object]:
    return {
        "version": str(up.version),
        "reason": "血压平稳",
        "clinical_summary": "住院调整降压方案",
        "discharge_summary": "出院",
        "follow_up_plan": "两周后随访",
        "regimen_code": [code for code, _ in rows],
        "regimen_quantity": [units for _, units in rows],
        **({"regimen_seen": "1"} if seen else {}),
    }


def test_a_flagged_regimen_is_shown_first_then_sent_with_its_transfers(
    client: TestClient, session: Session, regimens: World
) -> None:
    world = regimens
    lead = _as(session, world.cardiologist)
    with clock.frozen(NOW):
        pharmacy.prescribe(
            session,
            world.cardiologist,
            PrescriptionIn.model_validate(
                {
                    "resident_id": world.patient,
                    "diagnosis_code": "I10",
                    "dispensing_institution_code": LEAD,
                    "items": [{"item_code": AMLODIPINE, "quantity": 28, "dosage": "每日1次"}],
                }
            ),
        )
        up = _arrived(session)
        page = client.get(f"/referrals/{up.id}", headers=lead).text
        # the last prescription at the lead fills the first row
        assert re.search(rf'<option value="{AMLODIPINE}" selected>', page)
        assert 'name="regimen_quantity"' in page and 'value="28"' in page

        url = f"/referrals/{up.id}/refer-down"
        shown = client.post(
            url, headers=lead, data=_form(up, (AMLODIPINE, "28"), (METFORMIN, "60"))
        )
        assert shown.status_code == 200
        assert (
            'id="regimen-preview"' in shown.text and 'name="regimen_seen" value="1"' in shown.text
        )
        assert f'data-code="{METFORMIN}" data-outcome="flagged"' in shown.text
        assert "牵头医院库存 70" in shown.text
        assert session.scalar(select(func.count()).select_from(Transfer)) == 0
        assert session.scalar(select(func.count()).select_from(Referral)) == 1

        bad = client.post(url, headers=lead, data=_form(up, (METFORMIN, "0"), seen=True))
        assert bad.status_code == 422 and 'id="error-refer_down-regimen.0.quantity"' in bad.text

        sent = client.post(
            url,
            headers=lead,
            data=_form(up, (AMLODIPINE, "28"), (METFORMIN, "60"), seen=True),
            follow_redirects=False,
        )
        assert sent.status_code == 303
        down = client.get(sent.headers["location"], headers=lead).text
    assert 'id="regimen-check"' in down and "标记药品：1" in down
    assert f'data-code="{AMLODIPINE}" data-outcome="available"' in down
    assert down.count('data-state="requested"') == 2  # 40 from the sooner lot, 20 from the next


def test_a_regimen_the_unit_holds_is_sent_at_once(
    client: TestClient, session: Session, regimens: World
) -> None:
    world = regimens
    lead = _as(session, world.cardiologist)
    with clock.frozen(NOW):
        up = _arrived(session)
        sent = client.post(
            f"/referrals/{up.id}/refer-down",
            headers=lead,
            data=_form(up, (AMLODIPINE, "30")),
            follow_redirects=False,
        )
    assert sent.status_code == 303


def test_the_pharmacies_ship_and_receive_and_the_family_doctor_sees_the_medicines(
    client: TestClient, session: Session, regimens: World
) -> None:
    world = regimens
    with clock.frozen(NOW):
        up = _arrived(session)
        client.post(
            f"/referrals/{up.id}/refer-down",
            headers=_as(session, world.cardiologist),
            data=_form(up, (METFORMIN, "30"), seen=True),
        )
    (proposed,) = session.scalars(select(Transfer)).all()
    lead_page = f"/institutions/{LEAD}/pharmacy"
    lead = _as(session, world.lead_admin)
    page = client.get(lead_page, headers=lead).text
    assert f'data-transfer="{proposed.id}" data-state="requested"' in page
    assert 'value="receive"' not in page  # the sender ships; it does not confirm receipt
    shipped = client.post(
        f"{lead_page}/transfers/{proposed.id}",
        headers=lead,
        data={"action": "ship", "version": str(proposed.version)},
        follow_redirects=False,
    )
    assert shipped.status_code == 303
    session.refresh(proposed)
    unit_page = f"/institutions/{UNIT}/pharmacy"
    unit = _as(session, world.community_admin)
    early = client.post(
        f"{unit_page}/transfers/{proposed.id}",
        headers=unit,
        data={"action": "ship", "version": str(proposed.version)},
    )
    assert early.status_code == 409  # shipped already: only receipt is left
    received = client.post(
        f"{unit_page}/transfers/{proposed.id}",
        headers=unit,
        data={"action": "receive", "version": str(proposed.version)},
        follow_redirects=False,
    )
    assert received.status_code == 303
    stock = client.get(unit_page, headers=unit).text
    assert re.search(rf'<tr data-lot="\d+" data-code="{METFORMIN}">.*?<td>30</td>', stock)

    record = client.get(
        f"/residents/{world.patient}", headers=_as(session, world.community_doctor)
    ).text
    assert 'id="medicines"' in record and f'id="regimen-{_arrived(session).id}"' in record
    assert f'data-code="{METFORMIN}" data-outcome="flagged"' in record
    assert 'data-state="received"' in record
