"""Two FHIR clients from the registry, unchanged, against the facade on a live server
(uvicorn on 127.0.0.1): fhirpy pages every Organization and Patient to the end, reads,
books an Appointment and is refused the same Slot again; fhirclient (SMART's R4 models,
which refuse any element R4 does not define) reads the CapabilityStatement, a Patient and
pages through the free Slots of the lead's department."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fhirclient import client as smart
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.patient import Patient
from fhirclient.models.slot import Slot
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome
from sqlalchemy import func, select
from tests.e2e.conftest import LiveServer
from tests.referrals import HYPERTENSION, JUSTIFICATION
from tests.world import World, add_patients

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.db.session import session_scope
from caregrid.interop.fhir_referral import CONSENT
from caregrid.interop.fhir_referral import JUSTIFICATION as REFERRAL_JUSTIFICATION
from caregrid.interop.fhir_rest import ICD10
from caregrid.registry import service as registry
from caregrid.registry.models import Institution
from caregrid.residents import service as residents
from caregrid.residents.models import Resident
from caregrid.scheduling import service as scheduling
from caregrid.scheduling.models import Booking

CAPACITY = 12


@dataclass(frozen=True)
class Desk:
    """What a member unit's HIS is configured with: the base, a token, and the ids it uses."""

    base: str
    token: str
    slot_ids: list[int]
    reserved_ids: list[int]
    patient: int
    national_id: str
    cardiology: int
    lead_token: str
    lead: int


@pytest.fixture
def desk(live_server: LiveServer, committed_world: World) -> Iterator[Desk]:
    world = committed_world
    starts = clock.now().replace(microsecond=0) + timedelta(days=2)
    with session_scope() as session:  # the live server reads the real clock
        add_patients(session, world, 9)
        clinic = scheduling.publish_session(
            session,
            world.lead_admin,
            department_id=world.cardiology,
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            capacity=CAPACITY,
        )
        user = auth.get_by_username(session, world.community_doctor.username)
        assert user is not None
        token = auth.issue_token(session, user, kind="api", hours=1)
        cardiologist = auth.get_by_username(session, world.cardiologist.username)
        assert cardiologist is not None
        desk = Desk(
            base=f"{live_server.base_url}/fhir",
            token=token,
            slot_ids=[s.id for s in clinic.slots],
            reserved_ids=[s.id for s in clinic.slots if s.reserved],
            patient=world.patient,
            national_id=residents.record(session, world.patient).national_id,
            cardiology=world.cardiology,
            lead_token=auth.issue_token(session, cardiologist, kind="api", hours=1),
            lead=registry.require_institution(session, "jh-rmyy").id,
        )
    yield desk


def test_fhirpy_pages_to_the_end_reads_and_books_once(desk: Desk) -> None:
    fhir = SyncFHIRClient(desk.base, authorization=f"Bearer {desk.token}")
    organizations = fhir.resources("Organization").limit(25).fetch_all()
    with session_scope() as session:
        institutions = set(session.scalars(select(Institution.id)))
        registered = set(
            session.scalars(
                select(Resident.id)
                .join(Institution, Institution.id == Resident.registered_institution_id)
                .where(Institution.code == "jh-wc-chengdong")
            )
        )
    assert [int(o.id) for o in organizations] == sorted(institutions)  # each once, in order

    patients = fhir.resources("Patient").limit(4).fetch_all()  # 11 or more: several pages
    assert {int(p.id) for p in patients} == registered and len(patients) == len(registered)

    found = (
        fhir.resources("Patient")
        .search(identifier=f"urn:cn:gb11643|{desk.national_id}")
        .fetch_all()
    )
    assert [p.id for p in found] == [str(desk.patient)]
    assert fhir.reference("Patient", str(desk.patient)).to_resource()["name"][0]["text"] == "张建国"

    free = (
        fhir.resources("Slot")
        .search(**{"schedule.actor": f"HealthcareService/{desk.cardiology}", "status": "free"})
        .limit(5)
        .fetch_all()
    )
    assert sorted(int(s.id) for s in free) == desk.slot_ids  # a member unit: reserved ones too

    appointment = fhir.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{desk.reserved_ids[0]}"}],
        participant=[{"actor": {"reference": f"Patient/{desk.patient}"}, "status": "accepted"}],
    )
    appointment.save()
    assert appointment.id is not None and appointment["status"] == "booked"
    again = fhir.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{desk.reserved_ids[0]}"}],
        participant=[{"actor": {"reference": f"Patient/{desk.patient}"}, "status": "accepted"}],
    )
    with pytest.raises(OperationOutcome) as refused:
        again.save()
    assert "already booked" in str(refused.value)
    with session_scope() as session:
        held = select(func.count()).select_from(Booking)
        assert session.scalar(held.where(Booking.slot_id == desk.reserved_ids[0])) == 1
    slot = fhir.reference("Slot", str(desk.reserved_ids[0])).to_resource()
    assert slot["status"] == "busy"


def test_fhirclient_reads_with_r4_models_and_pages_free_slots(desk: Desk) -> None:
    his = smart.FHIRClient(settings={"app_id": "member-his", "api_base": desk.base + "/"})
    his.server.session.headers["Authorization"] = f"Bearer {desk.token}"
    statement = CapabilityStatement.read_from("metadata", his.server)
    assert statement.fhirVersion == "4.0.1"
    assert "Slot" in {r.type for r in statement.rest[0].resource}

    patient = Patient.read(str(desk.patient), his.server)
    assert patient.identifier[0].system == "urn:cn:gb11643"
    assert patient.identifier[0].value == desk.national_id

    search = Slot.where(
        struct={
            "schedule.actor": f"HealthcareService/{desk.cardiology}",
            "status": "free",
            "_count": "5",
        }
    )
    pages = list(search.perform_iter(his.server))
    assert len(pages) == 3  # 12 slots, 5 a page
    ids = [int(e.resource.id) for page in pages for e in page.entry or []]
    assert ids == desk.slot_ids


def test_fhirpy_sends_a_referral_and_the_lead_follows_its_task(desk: Desk) -> None:
    centre = SyncFHIRClient(desk.base, authorization=f"Bearer {desk.token}")
    lead = SyncFHIRClient(desk.base, authorization=f"Bearer {desk.lead_token}")
    request = centre.resource(
        "ServiceRequest",
        status="active",
        intent="order",
        subject={"reference": f"Patient/{desk.patient}"},
        performer=[
            {"reference": f"Organization/{desk.lead}"},
            {"reference": f"HealthcareService/{desk.cardiology}"},
        ],
        reasonCode=[{"coding": [{"system": ICD10, "code": HYPERTENSION["diagnosis_code"]}]}],
        note=[{"text": HYPERTENSION["reason"]}, {"text": HYPERTENSION["clinical_summary"]}],
        extension=[
            {"url": CONSENT, "valueBoolean": True},
            {"url": REFERRAL_JUSTIFICATION, "valueString": JUSTIFICATION},
        ],
    )
    request.save()
    inbox = (
        lead.resources("Task")
        .search(owner=f"Organization/{desk.lead}", status="requested")
        .fetch_all()
    )
    task = next(t for t in inbox if t.id == request.id)
    task["status"] = "accepted"
    task.save()  # a PUT carrying the versionId it read
    assert lead.reference("Task", task.id).to_resource()["status"] == "accepted"
    stale = lead.reference("Task", task.id).to_resource()
    stale["meta"]["versionId"] = "1"
    stale["status"] = "in-progress"
    with pytest.raises(OperationOutcome):
        stale.save()
    assert centre.reference("Task", task.id).to_resource()["status"] == "accepted"
