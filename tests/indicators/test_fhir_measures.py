"""The indicators through the FHIR base, on the hand-computed set of the cockpit's tests: every
definition a Measure, paged to the end; the network's year as MeasureReports with the same
counts, score, target and state as the cockpit (CC3: 5 of 8, 62.5 against 67.5, amber); a
member's account gets its own figures whatever it asks (J9); an outsider is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.config import get_settings
from caregrid.indicators.definitions import catalogue
from caregrid.interop.fhir_rest import model
from caregrid.registry import service as registry
from tests.conftest import bearer
from tests.indicators.conftest import LEAD, NET, PRIMARY
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session, facts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(facts))
    get_settings.cache_clear()
    with clock.frozen(NOW):
        yield build(session)
    get_settings.cache_clear()


def pages(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while url:
        with clock.frozen(NOW):
            answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        model("Bundle").model_validate(bundle)
        found += [e["resource"] for e in bundle["entry"]]
        url = next((x["url"] for x in bundle["link"] if x["relation"] == "next"), "")
    return found


def score(report: dict[str, Any]) -> tuple[Any, ...]:
    group = report["group"][0]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}
    extensions = {
        e["url"].rsplit(":", 1)[-1]: e.get("valueDecimal", e.get("valueCode"))
        for e in report["extension"]
    }
    return (
        counts.get("numerator"),
        counts.get("denominator"),
        group.get("measureScore", {}).get("value"),
        extensions.get("target"),
        extensions["target-state"],
    )


def test_every_definition_is_a_measure(client: TestClient, session: Session, world: World) -> None:
    headers = bearer(session, world.office)
    measures = pages(client, "/fhir/Measure?_count=40", headers)
    assert [m["identifier"][0]["value"] for m in measures] == [i.id for i in catalogue().indicators]
    with clock.frozen(NOW):
        odd = client.get("/fhir/Measure/MR4-condition.changed", headers=headers).json()
        cc3 = client.get("/fhir/Measure/CC3", headers=headers).json()
    assert odd["identifier"][0]["value"] == "MR4-condition_changed"
    assert cc3["scoring"]["coding"][0]["code"] == "proportion"
    assert [p["code"]["coding"][0]["code"] for p in cc3["group"][0]["population"]] == [
        "numerator",
        "denominator",
    ]


def test_the_networks_year_as_measure_reports(
    client: TestClient, session: Session, world: World
) -> None:
    url = f"/fhir/MeasureReport?network={NET}&period=2025&measure=Measure/CC3,Measure/UG4"
    office = {r["measure"]: r for r in pages(client, url, bearer(session, world.office))}
    assert score(office["urn:caregrid:indicator:CC3"]) == (5, 8, 62.5, 67.5, "amber")
    assert score(office["urn:caregrid:indicator:UG4"])[:2] == (199, 600)
    assert office["urn:caregrid:indicator:CC3"]["period"] == {
        "start": "2025-01-01",
        "end": "2025-12-31",
    }
    assert "subject" not in office["urn:caregrid:indicator:CC3"]

    year = f"/fhir/MeasureReport?network={NET}&period=2025"
    every = pages(client, f"{year}&_count=50", bearer(session, world.office))
    assert len(every) == len(catalogue().indicators)

    member = bearer(session, world.community_doctor)
    own = pages(
        client, f"/fhir/MeasureReport?network={NET}&period=2025&measure=Measure/CC3", member
    )
    primary = registry.require_institution(session, PRIMARY).id
    assert own[0]["subject"] == {"reference": f"Organization/{primary}"}
    assert score(own[0])[:3] == (5, 5, 100.0)  # its own 5 visits, all at primary level
    lead = registry.require_institution(session, LEAD).id
    with clock.frozen(NOW):
        other = client.get(
            f"/fhir/MeasureReport?network={NET}&period=2025&subject=Organization/{lead}",
            headers=member,
        )
        outsider = client.get(
            f"/fhir/MeasureReport?network={NET}&period=2025",
            headers=bearer(session, world.other_grid_doctor),
        )
        nameless = client.get("/fhir/MeasureReport?period=2025", headers=member)
        read = client.get("/fhir/MeasureReport/1", headers=member)
    assert other.status_code == 403 and other.json()["issue"][0]["code"] == "forbidden"
    assert outsider.status_code == 403
    assert nameless.status_code == 422 and nameless.json()["issue"][0]["expression"] == ["network"]
    assert read.status_code == 405
