"""FHIR R4 Bundles of results from a member's LIS: a valid one stored and then offered for
recognition; invalid ones refused with the path of each problem and nothing stored; the HL7
specification's blood-pressure example and a Synthea bundle (../shared/data) refused clearly."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics.models import Result
from caregrid.diagnostics.schemas import CentreIn, CentreItemIn, OrderIn
from caregrid.diagnostics.vocab import CentreKind
from caregrid.errors import InvalidInput
from caregrid.interop import fhir_results
from caregrid.residents import service as residents
from tests.conftest import SHARED, bearer, require_shared
from tests.world import NOW, World, build

FHIR = SHARED / "data" / "fhir"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _lipid_bundle(national_id: str) -> dict[str, Any]:
    """A transaction Bundle as a LIS sends it (written by this team after the R4 examples)."""

    def observation(ref: str, loinc: str, display: str, value: float) -> dict[str, Any]:
        return {
            "fullUrl": f"urn:uuid:{ref}",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {
                    "coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]
                },
                "subject": {"reference": "urn:uuid:patient-1"},
                "effectiveDateTime": "2026-11-20T08:30:00+08:00",
                "valueQuantity": {
                    "value": value,
                    "unit": "mmol/L",
                    "system": "http://unitsofmeasure.org",
                    "code": "mmol/L",
                },
            },
        }

    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:patient-1",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": national_id}],
                },
            },
            {
                "fullUrl": "urn:uuid:report-1",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "57698-3",
                                "display": "Lipid panel",
                            }
                        ]
                    },
                    "subject": {"reference": "urn:uuid:patient-1"},
                    "effectiveDateTime": "2026-11-20T08:30:00+08:00",
                    "conclusion": "高胆固醇血症",
                    "result": [
                        {"reference": "urn:uuid:obs-tc"},
                        {"reference": "urn:uuid:obs-tg"},
                        {"reference": "urn:uuid:obs-ldl"},
                        {"reference": "urn:uuid:obs-hdl"},
                    ],
                },
            },
            observation("obs-tc", "14647-2", "Cholesterol", 6.2),
            observation("obs-tg", "14927-8", "Triglyceride", 1.4),
            observation("obs-ldl", "22748-8", "LDL cholesterol", 4.0),
            observation("obs-hdl", "14646-4", "HDL cholesterol", 1.1),
        ],
    }


def _results(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Result)) or 0


def _national_id(session: Session, world: World) -> str:
    return residents.record(session, world.patient).national_id


def test_a_lis_bundle_is_stored_and_then_offered_for_recognition(
    session: Session, world: World
) -> None:
    """The community centre's own lab sends lipids; the lead later orders the same panel."""
    with clock.frozen(NOW):
        (stored,) = fhir_results.import_results(
            session, world.community_admin, _lipid_bundle(_national_id(session, world))
        )
        result = session.get(Result, stored)
        assert result is not None and result.observed_on == date(2026, 11, 20)
        assert {v.component: (str(v.value), v.flag) for v in result.values}["tc"] == ("6.200", "H")
        assert result.conclusion == "高胆固醇血症"
        # A lab centre at the community centre serves its peers; with quality assessment, a
        # same-level colleague sees the result offered.
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code="jh-rmyy-wucheng",
                kind=CentreKind.LABORATORY,
                institution_code="jh-wc-chengdong",
                name="城东检验",
                items=[CentreItemIn(item_code="lipid_panel", turnaround_hours=24)],
            ),
        )
        diagnostics.record_quality_assessment(
            session,
            SYSTEM,
            institution_code="jh-wc-chengdong",
            category="chemistry",
            valid_from=date(2026, 1, 1),
            valid_until=date(2026, 12, 31),
            scheme="city EQA",
        )
        order = diagnostics.place_order(
            session,
            world.community_doctor,
            OrderIn(resident_id=world.patient, item_code="lipid_panel"),
        )
        offered = diagnostics.order_view(session, order).offers
        assert [o.result.id for o in offered] == [stored] and offered[0].result.conclusion is None


def test_a_broken_reference_is_refused_with_its_path_and_nothing_is_stored(
    session: Session, world: World
) -> None:
    bundle = _lipid_bundle(_national_id(session, world))
    bundle["entry"][1]["resource"]["result"][2] = {"reference": "urn:uuid:missing"}
    before = _results(session)
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        fhir_results.import_results(session, world.community_admin, bundle)
    assert [p.field for p in refused.value.problems] == ["entry[1].resource.result[2].reference"]
    assert _results(session) == before


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda b: b["entry"][2]["resource"]["valueQuantity"].__setitem__("value", "six"),
            "entry[2].resource.valueQuantity.value",
        ),
        (
            lambda b: b["entry"][2]["resource"]["valueQuantity"].__setitem__("code", "mg/dL"),
            "entry[2].resource.valueQuantity.code",
        ),
        (
            lambda b: b["entry"][0]["resource"]["identifier"][0].__setitem__(
                "value", "110105194912310021"
            ),
            "entry[1].resource.subject",
        ),
        (
            lambda b: b["entry"][1]["resource"].__setitem__(
                "subject", {"reference": "urn:uuid:obs-tc"}
            ),
            "entry[1].resource.subject.reference",
        ),
    ],
)
def test_invalid_bundles_name_the_path(
    session: Session, world: World, change: Any, path: str
) -> None:
    bundle = copy.deepcopy(_lipid_bundle(_national_id(session, world)))
    change(bundle)
    before = _results(session)
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        fhir_results.import_results(session, world.community_admin, bundle)
    assert path in [p.field for p in refused.value.problems], refused.value.problems
    assert _results(session) == before


def test_the_hl7_blood_pressure_example_is_not_a_catalog_result(
    session: Session, world: World
) -> None:
    """The specification's Observation example, in a Bundle with a report pointing at it."""
    observation = json.loads(
        require_shared(
            FHIR / "hl7_r4_examples" / "observation-example-bloodpressure.json"
        ).read_text()
    )
    bundle = _lipid_bundle(_national_id(session, world))
    bundle["entry"] = [*bundle["entry"][:2], {"fullUrl": "urn:uuid:bp", "resource": observation}]
    bundle["entry"][1]["resource"]["code"] = {
        "coding": [{"system": "http://loinc.org", "code": "85354-9"}]
    }
    bundle["entry"][1]["resource"]["result"] = [{"reference": "urn:uuid:bp"}]
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        fhir_results.import_results(session, world.community_admin, bundle)
    assert [p.field for p in refused.value.problems] == ["entry[1].resource.code"]


def test_a_synthea_bundle_parses_but_its_patient_is_unknown(session: Session, world: World) -> None:
    path = next(require_shared(FHIR / "synthea_r4").glob("Cris921_*.json"))
    bundle = json.loads(path.read_text())
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        fhir_results.import_results(session, world.community_admin, bundle)
    fields = [p.field for p in refused.value.problems]
    assert fields and all(f.startswith("entry[") for f in fields)
    assert any(f.endswith(".subject") for f in fields)  # a US synthetic patient is no resident


def test_the_api_takes_fhir_json(session: Session, world: World, client: TestClient) -> None:
    headers = {**bearer(session, world.community_admin), "content-type": "application/fhir+json"}
    with clock.frozen(NOW):
        ok = client.post(
            "/api/fhir/results",
            content=json.dumps(_lipid_bundle(_national_id(session, world))),
            headers=headers,
        )
        assert ok.status_code == 201 and len(ok.json()["results"]) == 1
        bad = client.post("/api/fhir/results", content="{not json", headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "(body)"
        wrong = client.post(
            "/api/fhir/results", content=json.dumps({"resourceType": "Patient"}), headers=headers
        )
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "resourceType"


def test_the_fhir_base_takes_results_as_a_transaction(
    session: Session, world: World, client: TestClient
) -> None:
    headers = {**bearer(session, world.community_admin), "content-type": "application/fhir+json"}
    bundle = _lipid_bundle(_national_id(session, world))
    with clock.frozen(NOW):
        answer = client.post("/fhir", content=json.dumps(bundle), headers=headers)
        mixed = copy.deepcopy(bundle)
        mixed["entry"].append({"resource": {"resourceType": "MedicationRequest"}})
        refused = client.post("/fhir", content=json.dumps(mixed), headers=headers)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert len(entries) == len(bundle["entry"])
    reports = [e for e in entries if e["response"]["status"] == "201 Created"]
    stored = session.scalars(select(Result.id)).all()
    assert [
        e["response"]["outcome"]["issue"][0]["details"]["coding"][0]["code"] for e in reports
    ] == [str(i) for i in stored]
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["entry"]
