"""Every HL7 R4 example in ../shared/data/fhir/hl7_r4_examples offered to the base as a member's
system would offer it: each gets a verdict and a reason, printed as a report; what CareGrid
only serves (Organization, Slot, …) is valid R4 and said to be read-only; what it creates
(Appointment, ServiceRequest) is refused for references that are not CareGrid's records, by
element, and nothing is written; what it does not take is named with the reason."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.interop import fhir_server
from caregrid.referral.models import Referral
from caregrid.scheduling.models import Booking
from tests.conftest import SHARED, require_shared
from tests.world import NOW, build

EXAMPLES = SHARED / "data" / "fhir" / "hl7_r4_examples"


def test_every_hl7_example_gets_a_verdict_with_its_reason(session: Session) -> None:
    require_shared(EXAMPLES)
    with clock.frozen(NOW):
        world = build(session)
        verdicts = {
            path.name: fhir_server.triage(
                session, world.community_doctor, json.loads(path.read_text(encoding="utf-8"))
            )
            for path in sorted(EXAMPLES.glob("*.json"))
        }
    for name, verdict in verdicts.items():
        print(f"{name:48} {verdict.type:20} {verdict.outcome:15} {verdict.reason}")
    assert len(verdicts) == 49
    outcomes = Counter((v.type, v.outcome) for v in verdicts.values())
    read_only = {
        **{"Organization": 3, "Patient": 2, "Practitioner": 1, "Location": 1},
        **{"HealthcareService": 1, "Schedule": 3, "Slot": 4, "Measure": 1, "MeasureReport": 3},
    }
    for type_, count in read_only.items():
        assert outcomes[(type_, "read-only")] == count, type_
    assert outcomes[("Observation", "in-transaction")] == 3
    assert outcomes[("Appointment", "refused")] == 3
    assert outcomes[("ServiceRequest", "refused")] == 19
    for type_ in ("AppointmentResponse", "Condition", "Encounter", "PractitionerRole"):
        assert all(v.outcome == "not-taken" for v in verdicts.values() if v.type == type_)
    assert sum(outcomes.values()) == 49
    # a refusal names the element: the examples' slots and patients are not CareGrid's
    appointment = verdicts["appointment-example.json"]
    assert "Appointment.participant[0].actor.reference: no Patient/example" in appointment.reason
    assert all(
        v.reason.startswith("ServiceRequest.")
        for v in verdicts.values()
        if v.type == "ServiceRequest"
    )
    assert session.scalar(select(func.count()).select_from(Booking)) == 0
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


@pytest.mark.parametrize("body", [None, [], "text", {"resourceType": 5}, {}])
def test_what_is_not_a_resource_is_not_taken(session: Session, body: object) -> None:
    verdict = fhir_server.triage(session, SYSTEM, body)
    assert verdict.outcome == "not-taken"
