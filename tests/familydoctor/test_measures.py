"""The yearly measures (E5, F3) on a small data set checked by hand: signing at exactly the
40% target, standardised management at three and four follow-ups, control with a patient
never followed up, appointment keeping, and the primary share of visits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Role
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, ReadingIn
from caregrid.chronic.standard import Condition
from caregrid.familydoctor import measures
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.vocab import ConsentMethod
from caregrid.referral import service as referrals
from caregrid.registry import service as registry
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn
from tests.conftest import bearer, make_principal
from tests.referrals import arrive, refer_down, refer_up
from tests.world import NOW, SHANGHAI, World, build

LATE_DECEMBER = datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
NETWORK = "jh-rmyy-wucheng"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _add_residents(session: Session, world: World, count: int) -> list[int]:
    made = []
    for i in range(count):
        body = f"33070219900101{i:02d}1"
        made.append(
            residents.create(
                session,
                world.community_doctor,
                ResidentIn(
                    national_id=body + national_id.check_digit(body),
                    name=f"居民{i}",
                    address_division_code="330702-chengdong",
                    registered_institution_code="jh-wc-chengdong",
                ),
            ).id
        )
    return made


def _row(found: measures.NetworkYear, code: str) -> measures.Row:
    return next(r for r in found.rows if r.institution_code == code)


def test_signing_rate_meets_the_target_at_exactly_two_of_five(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        extra = _add_residents(session, world, 3)
        familydoctor.sign(
            session,
            world.community_doctor,
            ContractIn(
                resident_id=extra[0],
                team_code=f"chengdong-1{world.tag}",
                doctor_code=world.gp_code,
                packages=["basic"],
                consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="居民0"),
            ),
        )
        found = measures.network_year(session, SYSTEM, NETWORK, 2026)
        signing = _row(found, "jh-wc-chengdong").signing
        assert (signing.numerator, signing.denominator, signing.target) == (2, 5, Fraction(2, 5))
        assert signing.meets_target is True
        body = "33070219900202999"
        residents.create(
            session,
            world.community_doctor,
            ResidentIn(
                national_id=body + national_id.check_digit(body),
                name="居民六",
                address_division_code="330702-chengdong",
                registered_institution_code="jh-wc-chengdong",
            ),
        )
        signing = _row(
            measures.network_year(session, SYSTEM, NETWORK, 2026), "jh-wc-chengdong"
        ).signing
        assert (signing.numerator, signing.denominator, signing.meets_target) == (2, 6, False)


def test_chronic_measures_by_hand(session: Session, world: World) -> None:
    def follow_up(on: date, by: object = None) -> None:
        chronic.record_follow_up(
            session,
            by or world.community_doctor,  # type: ignore[arg-type]
            FollowUpIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                visited_on=on,
                reading=ReadingIn(sbp=130, dbp=80),
            ),
        )

    with clock.frozen(LATE_DECEMBER):
        for resident_id in (world.patient, world.unsigned_patient):
            chronic.enrol(
                session,
                world.community_doctor,
                EnrolIn(
                    resident_id=resident_id,
                    condition=Condition.HYPERTENSION,
                    confirmed_on=date(2025, 6, 1),
                ),
            )
        for on in (date(2026, 2, 1), date(2026, 5, 1), date(2026, 8, 1)):
            follow_up(on)
        row = _row(measures.network_year(session, SYSTEM, NETWORK, 2026), "jh-wc-chengdong")
        standardised = row.standardised[Condition.HYPERTENSION]
        assert (standardised.numerator, standardised.denominator) == (0, 2)  # three is not four
        follow_up(date(2026, 11, 1))
        follow_up(date(2026, 12, 1), world.cardiologist)  # at the lead, a team member's hospital
        found = measures.network_year(session, SYSTEM, NETWORK, 2026)
        row = _row(found, "jh-wc-chengdong")
        standardised = row.standardised[Condition.HYPERTENSION]
        assert (standardised.numerator, standardised.denominator) == (1, 2)
        assert standardised.target == Fraction(7, 10) and standardised.meets_target is False
        controlled = row.controlled[Condition.HYPERTENSION]
        assert (controlled.numerator, controlled.denominator) == (1, 2)  # never followed: not
        # Due 05-02 kept by 05-01; due 07-30 missed (08-01); due 10-30 missed (11-01); due
        # 2027-01-30 and 2027-03-01 not yet fallen.
        keeping = row.appointment_keeping
        assert (keeping.numerator, keeping.denominator) == (1, 3)
        total = _row(found, measures.TOTAL)
        assert (total.primary_visits.numerator, total.primary_visits.denominator) == (4, 5)
        assert total.primary_visits.meets_target is True  # 4/5 >= 0.70
        lead = _row(found, "jh-rmyy")
        assert (lead.primary_visits.numerator, lead.primary_visits.denominator) == (0, 1)


def test_the_api_and_who_sees_which_rows(
    session: Session, world: World, client: TestClient
) -> None:
    url = f"/api/networks/{NETWORK}/family-doctor-measures?year=2026"
    with clock.frozen(NOW):
        office = client.get(url, headers=bearer(session, world.office))
        assert office.status_code == 200, office.text
        codes = [r["institution_code"] for r in office.json()["rows"]]
        assert "jh-wc-chengdong" in codes and codes[-1] == measures.TOTAL
        row = next(r for r in office.json()["rows"] if r["institution_code"] == "jh-wc-chengdong")
        assert row["signing"]["numerator"] == 1 and row["signing"]["target"] == 0.4
        member = client.get(url, headers=bearer(session, world.community_doctor))
        assert [r["institution_code"] for r in member.json()["rows"]] == ["jh-wc-chengdong"]
        outsider = client.get(url, headers=bearer(session, world.other_grid_doctor))
        assert outsider.status_code == 403
        assert office.json()["down_referral_growth_target"] == 0.1
        assert (
            client.get(
                url.replace("2026", "1999"), headers=bearer(session, world.office)
            ).status_code
            == 422
        )


def test_a_follow_up_late_in_december_keeps_an_appointment_due_in_january(
    session: Session, world: World
) -> None:
    def follow_up(on: date) -> None:
        chronic.record_follow_up(
            session,
            world.community_doctor,
            FollowUpIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                visited_on=on,
                reading=ReadingIn(sbp=150, dbp=92),  # uncontrolled: next due within 14 days
            ),
        )

    with clock.frozen(datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)):
        chronic.enrol(
            session,
            world.community_doctor,
            EnrolIn(
                resident_id=world.patient,
                condition=Condition.HYPERTENSION,
                confirmed_on=date(2026, 12, 1),
            ),
        )
        follow_up(date(2026, 12, 25))  # due 2027-01-08
        follow_up(date(2026, 12, 30))  # made in 2026, keeps it; due 2027-01-13
        follow_up(date(2027, 1, 20))  # after 01-13: missed
        row = _row(measures.network_year(session, SYSTEM, NETWORK, 2027), "jh-wc-chengdong")
    keeping = row.appointment_keeping
    assert (keeping.numerator, keeping.denominator) == (1, 3)  # 01-08 kept; 01-13 and 02-03 missed


def test_down_referrals_count_only_the_networks_own(session: Session, world: World) -> None:
    """The Central Hospital leads two groups; a patient of a Jindong centre referred up and
    back down counts for Jindong only."""
    jindong = registry.get_network(session, "jh-zxyy-jindong")
    kaifaqu = registry.get_network(session, "jh-zxyy-kaifaqu")
    lead = registry.lead_of(session, jindong.id)
    assert lead is not None and lead == registry.lead_of(session, kaifaqu.id)
    with clock.frozen(NOW):
        body = "33070319700101123"
        patient = residents.create(
            session,
            world.other_grid_doctor,
            ResidentIn(
                national_id=body + national_id.check_digit(body),
                name="金东居民",
                address_division_code="330702-chengdong",
                registered_institution_code="jh-jd-duohu",
            ),
        ).id
        up = refer_up(
            session,
            world,
            by=world.other_grid_doctor,
            resident_id=patient,
            to_institution_code="jh-zxyy",
            to_department_id=None,
        )
        specialist = make_principal(session, "dr-zx", Role.CLINICIAN, institution="jh-zxyy")
        refer_down(session, specialist, arrive(session, specialist, up))
    start = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    end = datetime(2027, 1, 1, tzinfo=SHANGHAI)
    counts = {
        n.code: referrals.count_down_referrals(
            session,
            network_id=n.id,
            from_institution_ids={lead.id},
            diagnosis_prefixes=("I10",),
            start=start,
            end=end,
        )
        for n in (jindong, kaifaqu)
    }
    assert counts == {"jh-zxyy-jindong": 1, "jh-zxyy-kaifaqu": 0}
