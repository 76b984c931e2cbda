"""The demo's shared diagnostics (D1-D4): the Jinhua network it opens on has centres at the
lead, results read there, an order whose prior result is offered for reuse, a coded repeat
and an answered teleconsultation, loaded once however often the demo is loaded; and the
family doctor sees the reuse offer on the order page in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM, Role
from caregrid.cli import demo
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import Order, Recognition, Result, Teleconsultation
from caregrid.diagnostics.vocab import ConsultState, OrderState
from caregrid.i18n import amount, money
from caregrid.registry import service as registry
from caregrid.registry.vocab import NetworkRole
from caregrid.residents import service as residents
from tests.conftest import form_token, make_principal
from tests.world import NOW

PASSWORD = "demo correct horse battery"
WORLD_PASSWORD = "correct horse battery"  # tests.conftest.make_principal


@pytest.fixture
def network(session: Session) -> Iterator[registry.Network]:
    found = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, found)
        demo.load_network(session, found)  # a second load adds nothing
        yield found


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _open_lipids(session: Session, network: registry.Network) -> Order:
    unit = demo._pick(network, NetworkRole.MEMBER, primary=True).institution
    zhang = residents.id_by_name(session, "张建国", unit.id)
    found = session.scalars(
        select(Order).where(
            Order.resident_id == zhang,
            Order.item_code == "lipid_panel",
            Order.state == OrderState.ORDERED,
        )
    ).all()
    assert len(found) == 1
    return found[0]


def test_the_demo_network_has_centres_results_reuse_and_a_consultation(
    session: Session, network: registry.Network
) -> None:
    lead = demo._pick(network, NetworkRole.LEAD, primary=False).institution
    centres = diagnostics.network_centres(session, network.id)
    assert {c.kind for c in centres} == {"laboratory", "imaging", "ecg"}  # D1
    assert all(c.institution_id == lead.id for c in centres)
    assert _count(session, Result) == 3  # read at the centres (D2), once
    assert all(r.performed_at_id == lead.id for r in session.scalars(select(Result)))
    order = _open_lipids(session, network)
    offered = diagnostics.offers(session, order)  # D3: inside the 30-day window, assessed lead
    assert [o.result.item_code for o in offered] == ["lipid_panel"]
    assert offered[0].valid_until >= NOW.date()
    repeats = session.scalars(select(Recognition)).all()
    assert [(r.decision, r.reason) for r in repeats] == [("repeated", "condition_changed")]
    consults = session.scalars(select(Teleconsultation).order_by(Teleconsultation.id)).all()
    assert [(c.to_institution_id, c.state) for c in consults] == [  # D4: one answered, one asked
        (lead.id, ConsultState.ANSWERED),
        (lead.id, ConsultState.REQUESTED),
    ]
    assert consults[0].opinion


@pytest.mark.parametrize(
    ("lang", "heading", "button"),
    [
        ("zh_CN", "有效的既往结果", "互认沿用此结果"),
        ("en", "Valid prior results", "Reuse this result"),
    ],
)
def test_the_family_doctor_is_offered_the_prior_result_on_the_order_page(
    session: Session,
    network: registry.Network,
    client: TestClient,
    lang: str,
    heading: str,
    button: str,
) -> None:
    user = auth.get_by_username(session, "family-doctor")
    assert user is not None
    auth.set_password(session, SYSTEM, user, PASSWORD)
    client.cookies.set("caregrid_lang", lang)
    signed = client.post(
        "/login",
        data={"username": "family-doctor", "password": PASSWORD, "csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    order = _open_lipids(session, network)
    with clock.frozen(NOW):
        page = client.get(f"/orders/{order.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert heading in page.text and button in page.text
    assert 'id="offers"' in page.text


@pytest.mark.parametrize(
    ("lang", "shown"), [("zh_CN", "来源未注明"), ("en", "Not stated by the source")]
)
def test_a_level_the_source_does_not_state_says_so(
    session: Session, client: TestClient, lang: str, shown: str
) -> None:
    """Jinhua's TCM hospital has no level in its source document (the layout says unknown):
    the page says the source does not state it rather than 'unknown'."""
    institution = registry.get_institution(session, "jh-zyy")
    assert institution is not None and institution.level == "unknown"
    make_principal(session, "regulator-levels", Role.REGULATOR)
    client.cookies.set("caregrid_lang", lang)
    signed = client.post(
        "/login",
        data={"username": "regulator-levels", "password": WORLD_PASSWORD,
              "csrf_token": form_token(client)},
        follow_redirects=False,
    )  # fmt: skip
    assert signed.status_code == 303, signed.text
    page = client.get("/institutions/jh-zyy", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert shown in page.text
    assert "未知" not in page.text and "Unknown" not in page.text


def test_counts_and_money_read_as_people_write_them() -> None:
    """Counts without a trailing .0 and grouped; money grouped, with cents and the currency."""
    assert amount(1523.0) == "1,523" and amount(2.5) == "2.50"
    assert money(Decimal("39669"), "zh_CN") == "39,669.00 元"
    assert money(39669.004, "en") == "¥39,669.00"
    assert money(None, "en") == "–"


@pytest.mark.parametrize(("lang", "price"), [("zh_CN", "40.00 元"), ("en", "¥40.00")])
def test_the_offer_shows_its_price_in_the_page_language(
    session: Session, network: registry.Network, client: TestClient, lang: str, price: str
) -> None:
    user = auth.get_by_username(session, "family-doctor")
    assert user is not None
    auth.set_password(session, SYSTEM, user, PASSWORD)
    client.cookies.set("caregrid_lang", lang)
    client.post(
        "/login",
        data={"username": "family-doctor", "password": PASSWORD, "csrf_token": form_token(client)},
    )
    order = _open_lipids(session, network)
    with clock.frozen(NOW):
        page = client.get(f"/orders/{order.id}", headers={"Accept": "text/html"})
    assert f"· {price}</p>" in page.text
