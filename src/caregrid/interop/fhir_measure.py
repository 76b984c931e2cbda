"""The indicator definitions as FHIR R4 Measure and a network's figures as MeasureReport (J7, K).

A Measure is one definition of the catalogue (`data/indicators/`), its id the indicator's with
`_` written `.` (FHIR ids hold no underscore). A MeasureReport is computed when asked, by the
same engine and with the same access rule as the cockpit (a member's account gets its own
institution's figures only, J9): a search names the network and the year; the report holds
the numerator and denominator counts, the score (the value as the cockpit shows it, × the
indicator's factor) and, where the network's profile sets one, the target and its state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.indicators import cockpit
from caregrid.indicators.definitions import Indicator, catalogue
from caregrid.interop.fhir_rest import (
    Page,
    Param,
    Search,
    emit,
    from_list,
    page_of,
    reference_ids,
)
from caregrid.registry import service as registry

INDICATOR = "urn:caregrid:indicator"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
TARGET = "urn:caregrid:fhir:target"
TARGET_STATE = "urn:caregrid:fhir:target-state"
EVIDENCE = "urn:caregrid:indicator-evidence"  # verified, likely or ours (INDICATORS.md)
USAGE = "http://terminology.hl7.org/CodeSystem/usage-context-type"

MEASURE_PARAMS = (
    Param("identifier", "token", f"the indicator's id ({INDICATOR}|CC3)"),
    Param("title", "string", "the start of the Chinese or English name, any case"),
)
REPORT_PARAMS = (
    Param("network", "token", "the network's code (required)"),
    Param("period", "date", "the year (2025); the latest year with facts when left out"),
    Param("measure", "reference", "the indicators (Measure/CC3)"),
    Param("subject", "reference", "a member (Organization/id): its own figures"),
)


def _position(row: tuple[int, Any]) -> int:
    """A listed row's place in the catalogue: the cursor of a page of Measures or reports."""
    return row[0]


def fhir_id(indicator_id: str) -> str:
    return indicator_id.replace("_", ".")


def _indicator_id(resource_id: str) -> str:
    return resource_id.replace(".", "_")


def _url(indicator: Indicator) -> str:
    return f"{INDICATOR}:{indicator.id}"


def _criteria(side: Any) -> dict[str, Any]:
    text = f"{side.fact.name}"
    if side.where is not None:
        text += f" where {side.where.sql(dialect='duckdb')}"
    return {"language": "text/x-caregrid-indicator", "expression": text}


def measure(indicator: Indicator) -> dict[str, Any]:
    populations = [
        {
            "code": {"coding": [{"system": POPULATION, "code": "numerator"}]},
            "criteria": _criteria(indicator.numerator),
        }
    ]
    if indicator.denominator is not None:
        populations.append(
            {
                "code": {"coding": [{"system": POPULATION, "code": "denominator"}]},
                "criteria": _criteria(indicator.denominator),
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Measure",
        "id": fhir_id(indicator.id),
        "url": _url(indicator),
        "identifier": [{"system": INDICATOR, "value": indicator.id}],
        "name": fhir_id(indicator.id).replace("-", "_").replace(".", "_"),
        "title": indicator.name_zh,
        "subtitle": indicator.name_en,
        "status": "active",
        "description": indicator.description or indicator.name_en,
        "useContext": [
            {
                "code": {"system": USAGE, "code": "focus"},
                "valueCodeableConcept": {
                    "coding": [{"system": EVIDENCE, "code": indicator.evidence.value}]
                },
            }
        ],
        "scoring": {
            "coding": [
                {
                    "system": SCORING,
                    "code": "proportion" if indicator.denominator is not None else "cohort",
                }
            ]
        },
        "group": [{"population": populations}],
    }
    if indicator.requirements:
        resource["topic"] = [{"text": " ".join(indicator.requirements)}]
    if indicator.direction in ("up", "down"):
        code = "increase" if indicator.direction == "up" else "decrease"
        resource["improvementNotation"] = {"coding": [{"system": IMPROVEMENT, "code": code}]}
    return emit(resource)


def _chosen() -> list[Indicator]:
    return list(catalogue().indicators)


def read_measure(session: Session, principal: Principal, resource_id: str) -> dict[str, Any]:
    wanted = _indicator_id(resource_id)
    found = next((i for i in _chosen() if i.id == wanted), None)
    if found is None:
        raise NotFound("no Measure with id {id}", id=resource_id[:64])
    return measure(found)


def search_measures(session: Session, principal: Principal, search: Search) -> Page:
    ids = {_indicator_id(v) for vs in search.values.get("_id", []) for v in vs.split(",")}
    for value in search.values.get("identifier", []):
        ids |= {v.split("|")[-1] for v in value.split(",")}
    title = (search.one("title") or "").lower()
    listed = [
        (position, i)
        for position, i in enumerate(_chosen(), start=1)
        if (not ids or i.id in ids)
        and (not title or i.name_zh.startswith(title) or i.name_en.lower().startswith(title))
    ]
    return page_of(
        search,
        from_list(listed, _position),
        lambda row: measure(row[1]),
        key=_position,
    )


def _year(search: Search) -> int:
    raw = search.one("period")
    if raw is None:
        return cockpit.latest_year(cockpit.facts_root()) or clock.today().year
    if not (len(raw) == 4 and raw.isdigit() and 2000 <= int(raw) <= 2100):
        raise InvalidInput([Problem("period", "give the year, e.g. 2025")])
    return int(raw)


def report(network_code: str, year: int, tile: cockpit.Tile, subject: str) -> dict[str, Any]:
    indicator = tile.indicator
    populations = [
        {
            "code": {"coding": [{"system": POPULATION, "code": "numerator"}]},
            "count": round(tile.numerator),
        }
    ]
    if tile.denominator is not None:
        populations.append(
            {
                "code": {"coding": [{"system": POPULATION, "code": "denominator"}]},
                "count": round(tile.denominator),
            }
        )
    group: dict[str, Any] = {"population": populations}
    if tile.shown is not None:
        group["measureScore"] = {"value": tile.shown}
        if indicator.unit:
            group["measureScore"]["unit"] = indicator.unit
    extensions: list[dict[str, Any]] = [
        {"url": TARGET_STATE, "valueCode": str(tile.assessment.state)}
    ]
    target = tile.assessment.target
    if target is not None:
        extensions.append({"url": TARGET, "valueDecimal": float(target.value * target.scale)})
    today = clock.today()
    resource: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": f"{network_code}.{year}.{fhir_id(indicator.id)}"[:64],
        "extension": extensions,
        "status": "complete" if year < today.year else "pending",
        "type": "summary",
        "measure": _url(indicator),
        "date": clock.now().isoformat(timespec="seconds"),
        "period": {"start": f"{year}-01-01", "end": f"{year}-12-31"},
        "group": [group],
    }
    if subject:
        resource["subject"] = {"reference": subject}
    return emit(resource)


def search_reports(session: Session, principal: Principal, search: Search) -> Page:
    """The network's (or a member's) figures for a year, one MeasureReport per indicator."""
    network_code = search.one("network")
    if not network_code:
        raise InvalidInput([Problem("network", "a MeasureReport search names the network")])
    network_code = network_code.split("|")[-1]
    year = _year(search)
    subjects = reference_ids(search, "subject", "Organization")
    member, subject = None, ""
    if subjects:
        inst = registry.get_institution_by_id(session, min(subjects))
        if inst is None:
            raise InvalidInput([Problem("subject", "no such Organization")])
        member, subject = inst.code, f"Organization/{inst.id}"
    measures = reference_ids_of_measures(search)
    screen = cockpit.build(session, principal, network_code, year, member=member)
    if member is None and screen.unit != network_code:  # a member's account: its own (J9)
        inst = registry.get_institution(session, screen.unit)
        subject = f"Organization/{inst.id}" if inst is not None else ""
    tiles = [
        (position, t)
        for position, t in enumerate(screen.tiles, start=1)
        if measures is None or t.indicator.id in measures
    ]
    return page_of(
        search,
        from_list(tiles, _position),
        lambda row: report(network_code, year, row[1], subject),
        key=_position,
    )


def reference_ids_of_measures(search: Search) -> set[str] | None:
    """The indicator ids `measure` names (Measure/CC3 or its canonical URL)."""
    if "measure" not in search.values:
        return None
    found = set()
    for value in search.values["measure"]:
        for part in value.split(","):
            found.add(_indicator_id(part.rsplit("/", 1)[-1].rsplit(":", 1)[-1]))
    return found
