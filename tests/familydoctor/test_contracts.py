"""Teams (E1), signing network-wide with panel limits (E2), package eligibility (E3),
renewal and termination, delivered services against package items (E5), and signing as the
green channel's answer (B4) and a care relationship; on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.roles import SYSTEM, Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.models import ContractItem
from caregrid.familydoctor.schemas import ConsentIn, ContractIn, DeliveryIn, MemberIn, TeamIn
from caregrid.familydoctor.vocab import ConsentMethod, TeamRole, TerminationReason
from caregrid.registry import service as registry
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from tests.conftest import bearer
from tests.world import NOW, World, build

TODAY = NOW.date()


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _resident(
    session: Session,
    by: Principal,
    birth: str,
    seq: str,
    *,
    tags: list[str] | None = None,
    sex_digit: int = 1,
) -> int:
    body = f"330702{birth}{seq}{sex_digit}"
    return residents.create(
        session,
        by,
        ResidentIn(
            national_id=body + national_id.check_digit(body),
            name=f"居民{seq}",
            address_division_code="330702-chengdong",
            registered_institution_code="jh-wc-chengdong",
            tags=tags or [],
        ),
    ).id


def _contract(world: World, resident_id: int, packages: list[str], **extra: object) -> ContractIn:
    return ContractIn(
        resident_id=resident_id,
        team_code=f"chengdong-1{world.tag}",
        doctor_code=world.gp_code,
        packages=packages,
        consent=ConsentIn(method=ConsentMethod.ELECTRONIC, signatory="本人"),
        **extra,
    )


# --- teams (E1) ----------------------------------------------------------------------------


def test_team_checks_report_a_general_practitioner_and_a_senior_hospital_doctor(
    session: Session, world: World
) -> None:
    team = familydoctor.get_team(session, world.team)
    view = familydoctor.team_view(session, team)
    assert [(c.requirement, c.outcome) for c in view.checks] == [("E1", "pass"), ("E1", "pass")]
    assert "1 senior-title doctors" in str(view.checks[1].detail)
    # Without the lead's associate-senior cardiologist the Jinhua minimum of one is not met.
    members = [
        MemberIn(practitioner_code=m.practitioner_code, role=TeamRole(m.role))
        for m in view.members
        if m.role != TeamRole.SPECIALIST
    ]
    familydoctor.set_members(session, SYSTEM, world.team, members)
    checks = familydoctor.team_checks(session, team)
    assert checks[1].outcome == "fail" and "0 senior-title doctors" in str(checks[1].detail)


def test_a_team_without_a_general_practitioner_is_refused(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        familydoctor.create_team(
            session,
            SYSTEM,
            TeamIn(
                code="no-gp",
                name="无全科",
                institution_code="jh-wc-chengdong",
                network_code="jh-rmyy-wucheng",
                members=[MemberIn(practitioner_code=f"nurse-chen{world.tag}", role=TeamRole.NURSE)],
            ),
        )
    assert [p.field for p in refused.value.problems] == ["members"]
    assert "general practitioner" in refused.value.problems[0].message
    assert familydoctor.team_by_code(session, "no-gp") is None


def test_a_team_is_based_at_a_primary_member_of_the_network(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        familydoctor.create_team(
            session,
            SYSTEM,
            TeamIn(
                code="at-the-lead",
                name="医院团队",
                institution_code="jh-rmyy",
                network_code="jh-rmyy-wucheng",
                members=[
                    MemberIn(practitioner_code=world.gp_code, role=TeamRole.GENERAL_PRACTITIONER)
                ],
            ),
        )
    assert refused.value.problems[0].field == "institution_code"


# --- signing (E2, E3) ----------------------------------------------------------------------


def test_signing_is_valid_network_wide_and_answers_the_green_channel(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        assert not familydoctor.is_signed(session, world.unsigned_patient, TODAY)
        contract = familydoctor.sign(
            session, world.community_doctor, _contract(world, world.unsigned_patient, ["basic"])
        )
        assert familydoctor.is_signed(session, world.unsigned_patient, TODAY)
        assert contract.ends_on == date(2027, 11, 22)  # 12 months from the profile
        assert not familydoctor.is_signed(session, world.unsigned_patient, date(2027, 11, 23))
        # The lead's specialist in the team sees the patient: a care relationship (E2).
        lead = registry.require_institution(session, "jh-rmyy")
        assert access.care_relationship(session, lead.id, world.unsigned_patient) == "contract"


def test_one_active_contract_per_resident(session: Session, world: World) -> None:
    with clock.frozen(NOW), pytest.raises(Conflict, match="already has an active contract"):
        familydoctor.sign(
            session, world.community_doctor, _contract(world, world.patient, ["basic"])
        )


def test_an_ineligible_package_is_refused_with_its_reason_and_nothing_saved(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        young = _resident(session, world.community_doctor, "19900101", "55")
        with pytest.raises(InvalidInput) as refused:
            familydoctor.sign(
                session,
                world.community_doctor,
                _contract(world, young, ["basic", "elderly", "maternal"]),
            )
        messages = {p.field: p.message for p in refused.value.problems}
        assert "aged 65 and over (age 36)" in messages["packages.1"]
        assert "maternal is for women" in messages["packages.2"]
        assert familydoctor.contracts_of(session, young) == []


def test_the_elderly_package_opens_on_the_65th_birthday(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        turning = _resident(session, world.community_doctor, "19611123", "56")  # 65 today
        not_yet = _resident(session, world.community_doctor, "19611124", "57")  # 65 tomorrow
        familydoctor.sign(session, world.community_doctor, _contract(world, turning, ["elderly"]))
        with pytest.raises(InvalidInput, match="age 64"):
            familydoctor.sign(
                session, world.community_doctor, _contract(world, not_yet, ["elderly"])
            )


def test_the_hypertension_package_needs_a_hypertension_patient(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        patient = _resident(
            session, world.community_doctor, "19580312", "58", tags=["hypertension"]
        )
        other = _resident(session, world.community_doctor, "19580312", "59")
        familydoctor.sign(
            session, world.community_doctor, _contract(world, patient, ["hypertension"])
        )
        with pytest.raises(InvalidInput, match="key population 'hypertension'"):
            familydoctor.sign(
                session, world.community_doctor, _contract(world, other, ["hypertension"])
            )


def test_panel_limits_per_doctor_and_per_team_refuse_with_the_numbers(
    session: Session, world: World
) -> None:
    """The test profile allows 3 residents per doctor and 4 per team (E2)."""
    registry.get_network(session, "jh-rmyy-wucheng").profile = "test-rules"
    with clock.frozen(NOW):
        people = [
            _resident(session, world.community_doctor, "19700101", f"{60 + i}") for i in range(4)
        ]
        # world.patient is the doctor's first; two more reach the limit of three exactly.
        for resident_id in people[:2]:
            familydoctor.sign(
                session, world.community_doctor, _contract(world, resident_id, ["basic"])
            )
        with pytest.raises(RuleViolation) as refused:
            familydoctor.sign(
                session, world.community_doctor, _contract(world, people[2], ["basic"])
            )
        assert refused.value.requirement == "E2"
        assert "already has 3 signed residents; the panel limit is 3" in refused.value.detail
        # A second general practitioner lifts the doctor limit; the team's own limit of 4 holds.
        registry.create_practitioner(
            session,
            SYSTEM,
            code="gp-li",
            name="李全科",
            title_level="intermediate",
            home_institution_code="jh-wc-chengdong",
        )
        team = familydoctor.get_team(session, world.team)
        members = [MemberIn(practitioner_code="gp-li", role=TeamRole.GENERAL_PRACTITIONER)] + [
            MemberIn(practitioner_code=m.practitioner_code, role=TeamRole(m.role))
            for m in familydoctor.team_view(session, team).members
        ]
        familydoctor.set_members(session, SYSTEM, world.team, members)
        other = _contract(world, people[2], ["basic"]).model_copy(update={"doctor_code": "gp-li"})
        familydoctor.sign(session, world.community_doctor, other)
        last = _contract(world, people[3], ["basic"]).model_copy(update={"doctor_code": "gp-li"})
        with pytest.raises(
            RuleViolation, match=r"team .* already has 4 signed residents; its panel limit is 4"
        ):
            familydoctor.sign(session, world.community_doctor, last)


def test_only_the_teams_own_clinical_staff_sign(session: Session, world: World) -> None:
    with clock.frozen(NOW), pytest.raises(Forbidden):
        familydoctor.sign(
            session, world.cardiologist, _contract(world, world.unsigned_patient, ["basic"])
        )


def test_a_start_in_the_past_is_refused(session: Session, world: World) -> None:
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        familydoctor.sign(
            session,
            world.community_doctor,
            _contract(
                world, world.unsigned_patient, ["basic"], starts_on=TODAY - timedelta(days=1)
            ),
        )
    assert refused.value.problems[0].field == "starts_on"


# --- renewal and termination ---------------------------------------------------------------


def test_renewal_starts_the_day_after_the_term_and_termination_ends_signing(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        old = familydoctor.contract_on(session, world.patient, TODAY)
        assert old is not None
        renewed = familydoctor.renew(
            session,
            world.community_doctor,
            old.id,
            consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="张建国"),
        )
        assert renewed.starts_on == old.ends_on + timedelta(days=1)
        assert (old.status, renewed.renewed_from_id) == ("renewed", old.id)
        assert familydoctor.is_signed(session, world.patient, old.ends_on + timedelta(days=1))
        with pytest.raises(InvalidInput, match="say why"):
            familydoctor.terminate(
                session,
                world.community_doctor,
                renewed.id,
                reason=TerminationReason.OTHER,
                note=" ",
            )
        familydoctor.terminate(
            session,
            world.community_doctor,
            renewed.id,
            reason=TerminationReason.MOVED_AWAY,
            note=None,
        )
        assert renewed.terminated_on == renewed.starts_on
        # The old term still holds today; the terminated renewal never starts.
        assert familydoctor.is_signed(session, world.patient, TODAY)
        assert not familydoctor.is_signed(session, world.patient, old.ends_on + timedelta(days=1))


def test_a_lapsed_contract_gives_way_to_a_new_signing(session: Session, world: World) -> None:
    later = NOW + timedelta(days=400)
    with clock.frozen(later):
        assert not familydoctor.is_signed(session, world.patient, later.date())
        familydoctor.sign(
            session, world.community_doctor, _contract(world, world.patient, ["basic"])
        )
        statuses = [c.status for c in familydoctor.contracts_of(session, world.patient)]
        assert statuses == ["active", "expired"]


# --- fulfilment (E5) -----------------------------------------------------------------------


def test_deliveries_match_package_items_and_count_against_what_is_due(
    session: Session, world: World
) -> None:
    half_way = NOW + timedelta(days=183)
    with clock.frozen(half_way):
        for _ in range(2):
            familydoctor.record_delivery(
                session,
                world.community_doctor,
                DeliveryIn(resident_id=world.patient, service="health_education"),
            )
        contract = familydoctor.contract_on(session, world.patient, half_way.date())
        assert contract is not None
        by_service = {
            p.item.service: p for p in familydoctor.progress(session, contract, half_way.date())
        }
        # One health-education session a year: none due yet at 184 of 365 days, two delivered.
        assert (by_service["health_education"].delivered, by_service["health_education"].due) == (
            2,
            0,
        )
        # Per team: delivered items count only up to what is due (none yet), so 0 of 0.
        team = familydoctor.team_fulfilment(session, world.team, half_way.date())
        assert (team.delivered, team.due) == (0, 0)
        team = familydoctor.team_fulfilment(session, world.team, contract.ends_on)
        assert (team.delivered, team.due) == (1, 3)  # education 1 of 1; record, referral 0 of 1
        with pytest.raises(InvalidInput) as refused:
            familydoctor.record_delivery(
                session,
                world.community_doctor,
                DeliveryIn(resident_id=world.patient, service="massage"),
            )
        assert refused.value.problems[0].field == "kind"
        with pytest.raises(InvalidInput, match="future"):
            familydoctor.record_delivery(
                session,
                world.community_doctor,
                DeliveryIn(
                    resident_id=world.patient,
                    service="health_education",
                    delivered_on=half_way.date() + timedelta(days=1),
                ),
            )


def test_items_fall_due_pro_rata_over_the_term(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        contract = familydoctor.contract_on(session, world.patient, TODAY)
        assert contract is not None
        four = ContractItem(times_per_year=4)  # four follow-ups a year, not stored
        term = (contract.ends_on - contract.starts_on).days + 1
        start = contract.starts_on
        assert familydoctor.due_by(four, contract, start - timedelta(days=1)) == 0
        assert familydoctor.due_by(four, contract, start + timedelta(days=term // 4 - 2)) == 0
        assert familydoctor.due_by(four, contract, start + timedelta(days=term // 4)) == 1
        assert familydoctor.due_by(four, contract, start + timedelta(days=term // 2)) == 2
        assert familydoctor.due_by(four, contract, contract.ends_on) == 4


# --- the package menu and the API ----------------------------------------------------------


def test_a_network_replaces_its_menu_whole_or_not_at_all(
    session: Session, world: World, client: TestClient
) -> None:
    headers = bearer(session, world.office)
    url = "/api/networks/jh-rmyy-wucheng/packages"
    shipped = client.get(url, headers=headers)
    assert shipped.status_code == 200 and "caregrid-packages/1" in shipped.text
    broken = shipped.text.replace("times_per_year: 4", "times_per_year: 0", 1)
    refused = client.put(
        url, content=broken, headers={**headers, "content-type": "application/yaml"}
    )
    assert refused.status_code == 422
    assert any("times_per_year" in e["field"] for e in refused.json()["errors"])
    assert client.get(url, headers=headers).text == shipped.text  # nothing half-saved
    own = shipped.text.replace("基础服务包", "本集团基础包", 1)
    assert (
        client.put(
            url, content=own, headers={**headers, "content-type": "application/yaml"}
        ).status_code
        == 200
    )
    network = registry.get_network(session, "jh-rmyy-wucheng")
    assert familydoctor.menu(session, network.id).packages[0].name_zh == "本集团基础包"
    doctor = bearer(session, world.community_doctor)
    assert (
        client.put(
            url, content=own, headers={**doctor, "content-type": "application/yaml"}
        ).status_code
        == 403
    )


def test_sign_renew_terminate_through_the_api(
    session: Session, world: World, client: TestClient
) -> None:
    headers = bearer(session, world.community_doctor)
    body = _contract(world, world.unsigned_patient, ["basic"]).model_dump(mode="json")
    with clock.frozen(NOW):
        signed = client.post("/api/contracts", json=body, headers=headers)
        assert signed.status_code == 201, signed.text
        contract = signed.json()
        assert contract["valid_today"] and contract["team_code"] == f"chengdong-1{world.tag}"
        assert {i["service"] for i in contract["items"]} >= {"health_record", "health_education"}
        again = client.post("/api/contracts", json=body, headers=headers)
        assert again.status_code == 409
        listed = client.get(f"/api/residents/{world.unsigned_patient}/contracts", headers=headers)
        assert [c["id"] for c in listed.json()] == [contract["id"]]
        ended = client.post(
            f"/api/contracts/{contract['id']}/terminate",
            json={"reason": "resident_request"},
            headers=headers,
        )
        assert ended.json()["status"] == "terminated"
        bad = client.post(
            "/api/contracts",
            json={**body, "packages": ["no-such"]},
            headers=headers,
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "packages.0"
