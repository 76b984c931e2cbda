"""The home page is each role's desk: the lists its day starts from, filled by the services
that own them, with the whole list's length and links that open (never a 403); a tray that
names patients is an audited read; the networks shown are the user's own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal
from tests.referrals import arrive, refer_down, refer_up
from tests.world import NOW, World, build

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.models import AuditEntry
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn
from caregrid.chronic.standard import Condition
from caregrid.cli import demo
from caregrid.indicators import evaluation
from caregrid.registry import service as registry

pytestmark = pytest.mark.usefixtures("fresh_store")

NET = "jh-rmyy-wucheng"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _desk(client: TestClient, session: Session, who: Principal) -> str:
    page = client.get("/", headers={**bearer(session, who), "Accept": "text/html"})
    assert page.status_code == 200, page.text
    text: str = page.text
    return text


def _tray(page: str, key: str) -> tuple[int, str]:
    found = re.search(
        rf'<section class="card tray" id="tray-{key}" data-total="(\d+)">(.*?)</section>',
        page,
        re.S,
    )
    assert found, f"no {key} tray"
    return int(found.group(1)), found.group(2)


def _links_open(client: TestClient, session: Session, who: Principal, page: str) -> None:
    desk = page.split("<main>", 1)[1]
    headers = {**bearer(session, who), "Accept": "text/html"}
    links = set(re.findall(r'href="(/[^"]*)"', desk))
    refused = {link: client.get(link.replace("&amp;", "&"), headers=headers).status_code
               for link in links}  # fmt: skip
    assert {k: v for k, v in refused.items() if v != 200} == {}


def test_the_lead_sees_the_referral_waiting_and_the_doctor_the_follow_up_overdue(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        up = refer_up(session, world)
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=NOW.date() - timedelta(days=10),
            ),
        )
        lead = _desk(client, session, world.cardiologist)
        total, tray = _tray(lead, "referrals-in")
        assert total == 1 and f'href="/referrals/{up.id}"' in tray
        assert up.diagnosis_code in tray
        assert "转诊待处理" in lead  # the tray's title in zh-CN
        # A list that names patients is a read, audited like the referral lists.
        [read] = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.actor == world.cardiologist.username,
                    AuditEntry.action == "referral.list",
                )
            )
        )
        assert read.purpose == "home page" and read.detail == {"referrals": [up.id]}
        _links_open(client, session, world.cardiologist, lead)

        doctor = _desk(client, session, world.community_doctor)
        assert _tray(doctor, "referrals-in")[0] == 0
        total, tray = _tray(doctor, "follow-ups")
        assert total == 1 and 'class="urgent"' in tray
        [seen] = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.actor == world.community_doctor.username,
                    AuditEntry.action == "resident.list",
                )
            )
        )
        assert seen.purpose == "home page" and seen.detail == {"residents": [world.patient]}
        assert f"/chronic/follow-up?resident_id={world.patient}&amp;condition=hypertension" in tray
        _links_open(client, session, world.community_doctor, doctor)

        # The unit's admin sees the same follow-up but no form: the link opens the resident.
        admin = _desk(client, session, world.community_admin)
        assert "follow-ups" not in re.findall(r'id="tray-([a-z-]+)"', admin)
        client.cookies.set("caregrid_lang", "en")
        english = _desk(client, session, world.cardiologist)
        client.cookies.clear()
        assert "Referrals waiting" in english and "Submitted" in english


def test_a_patient_referred_down_waits_on_the_primary_desk(
    client: TestClient, session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        up = arrive(session, world.cardiologist, refer_up(session, world))
        down = refer_down(session, world.cardiologist, up)
        doctor = _desk(client, session, world.community_doctor)
        total, tray = _tray(doctor, "take-over")
        assert total == 1 and f'href="/referrals/{down.id}"' in tray
        assert _tray(_desk(client, session, world.cardiologist), "take-over")[0] == 0
        _links_open(client, session, world.community_doctor, doctor)


def test_the_office_and_the_commission_see_the_periods_not_yet_evaluated(
    client: TestClient, session: Session, world: World
) -> None:
    """On 2026-11-23 under Jinhua's 6-month interval (K7), 2025H1, 2025H2 and 2026H1 have
    ended; 2026H2 has not. Once 2025H1 is evaluated it leaves the tray."""
    with clock.frozen(NOW):
        office = _desk(client, session, world.office)
        total, tray = _tray(office, "evaluations")
        assert re.findall(rf"{NET} · (\d{{4}}H\d)", tray) == ["2025H1", "2025H2", "2026H1"]
        assert total == 3
        _links_open(client, session, world.office, office)
        evaluation.evaluate(session, world.office, NET, "2025H1")
        total, tray = _tray(_desk(client, session, world.office), "evaluations")
        assert total == 2 and "2025H1" not in tray
        # The office's home lists its own network only; the commission's every network.
        assert re.findall(r'<li><a href="/networks/([^"]+)"', office) == [NET]
        regulator = make_principal(session, "desk-regulator", Role.REGULATOR)
        commission = _desk(client, session, regulator)
        assert len(re.findall(r'<li><a href="/networks/', commission)) > 1
        every = sum(
            len(evaluation.unevaluated(session, n, NOW.date())) for n in registry.networks(session)
        )
        assert _tray(commission, "evaluations")[0] == every > 2


def test_the_auditor_sees_the_seal(client: TestClient, session: Session) -> None:
    auditor = make_principal(session, "desk-auditor", Role.AUDITOR)
    page = _desk(client, session, auditor)
    card = re.search(r'<section class="card tray" id="tray-audit" data-pending="(\d+)">', page)
    assert card and "等待封存的条目" in page
    _links_open(client, session, auditor, page)


@pytest.mark.parametrize(
    ("role", "institution", "shown"),
    [
        (Role.CLINICIAN, "jh-rmyy", True),  # the lead: a member, sees its own statistics
        (Role.CLINICIAN, "jh-zxyy", False),  # another network's hospital
        (Role.AUDITOR, None, False),
        (Role.REGULATOR, None, True),
    ],
)
def test_the_network_page_links_to_its_measures_only_for_who_may_open_them(
    client: TestClient, session: Session, role: Role, institution: str | None, shown: bool
) -> None:
    who = make_principal(session, f"measures-{role.value}", role, institution=institution)
    headers = {**bearer(session, who), "Accept": "text/html"}
    page = client.get(f"/networks/{NET}", headers=headers)
    assert page.status_code == 200
    links = re.search(r'<p id="measure-links">(.*?)</p>', page.text, re.S)
    assert (links is not None) is shown
    opened = {
        link: client.get(link, headers=headers).status_code
        for link in re.findall(r'href="([^"]+)"', links.group(1) if links else "")
    }
    assert {k: v for k, v in opened.items() if v != 200} == {}
    # What the page hides is refused, not merely hidden.
    measures = client.get(f"/networks/{NET}/referral-measures", headers=headers)
    assert measures.status_code == (200 if shown else 403)


def test_the_demo_puts_work_on_every_clinical_desk(client: TestClient, session: Session) -> None:
    """What a newcomer sees after `make demo`: the lead's doctor has referrals waiting, orders
    to read and a consultation; the family doctor a patient to take over and follow-ups due;
    loading twice adds nothing."""
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, network)
        demo.load_network(session, network)
        totals = {}
        for username in ("doctor", "family-doctor", "office"):
            user = auth.get_by_username(session, username)
            assert user is not None
            page = _desk(client, session, auth.principal_of(user))
            totals[username] = {
                key: int(n)
                for key, n in re.findall(r'id="tray-([a-z-]+)" data-total="(\d+)"', page)
            }
    # one waiting; two arrived and referred down (the second with a regimen, G6)
    assert totals["doctor"]["referrals-in"] == 3
    assert totals["doctor"]["orders"] >= 1 and totals["doctor"]["consults"] == 1
    assert totals["family-doctor"]["take-over"] == 2 and totals["family-doctor"]["follow-ups"] >= 1
    assert totals["office"]["evaluations"] >= 1
