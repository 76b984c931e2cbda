"""The finance API over HTTP: a network office sets a budget, adds the months, settles,
closes and adjusts January, and reads the settlement with its inputs; the refusals (a
member's account, negative sums, an overlapping period, a closed period settled again)
come back as 403/422/409 naming the field, with nothing written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import NotFound
from caregrid.finance import service as finance
from caregrid.registry import importer
from tests.conftest import bearer, make_principal
from tests.factories import layout, network, write_layout
from tests.finance.test_settlement import CLAIMS

BUDGET = {"lump_sum_cny": "1200000.00", "dip_pool_cny": "365000.00"}


@pytest.fixture
def office(session: Session, tmp_path: Path) -> dict[str, str]:
    """t-net-a as a Ganzhou county community with January's claims; its office's token."""
    data = layout()
    community = network(data, "t-net-a")
    community["kind"], community["profile"] = "county_community", "ganzhou-county"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist(CLAIMS, schema(declared)))
    admin = make_principal(session, "fin-office", Role.NETWORK_ADMIN, network="t-net-a")
    return bearer(session, admin)


def test_a_month_set_settled_closed_and_adjusted_over_http(
    client: TestClient, office: dict[str, str]
) -> None:
    made = client.put("/api/networks/t-net-a/budgets/2025", json=BUDGET, headers=office)
    assert made.status_code == 200, made.text
    assert made.json()["lump_sum_cny"] == "1200000.00" and made.json()["periods"] == []
    months = client.post("/api/networks/t-net-a/budgets/2025/months", headers=office)
    assert months.status_code == 201, months.text
    periods = months.json()["periods"]
    assert len(periods) == 12 and periods[0]["starts_on"] == "2025-01-01"
    assert periods[1]["ends_on"] == "2025-02-28" and periods[0]["state"] is None
    january = periods[0]["id"]

    settled = client.post(f"/api/periods/{january}/settlement", headers=office)
    assert settled.status_code == 200, settled.text
    s = settled.json()
    # the hand-computed January of tests/finance/test_settlement.py
    assert (s["state"], s["claims"], s["pool_cny"]) == ("open", 6, "31000.00")
    assert s["spend_network_cny"] == "31100.00" and s["spend_outside_cny"] == "700.00"
    lines = {line["institution_code"]: line for line in s["lines"]}
    assert lines["t-lead-a"]["dip_paid_cny"] == "24712.52"
    assert s["waivers"] == [{"patient_id": "P1", "stays": 1, "amount_cny": "800.00"}]
    assert s["forecast_network_cny"] == "90000.00"
    assert s["inputs"]["pool"]["days"] == 31 and s["inputs"]["dip_table"]["evidence"] == "ours"
    assert s["inputs"]["profile"]["name"] == "ganzhou-county" and s["computed_by"] == "fin-office"

    closed = client.post(f"/api/periods/{january}/close", headers=office)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    again = client.post(f"/api/periods/{january}/settlement", headers=office)
    assert again.status_code == 409 and "correct it with an adjustment" in again.json()["detail"]
    twice = client.post(f"/api/periods/{january}/close", headers=office)
    assert twice.status_code == 409 and "already closed" in twice.json()["detail"]

    fix = {"amount_cny": "-120.50", "reason": "claim c4 paid twice", "institution_code": "t-chc-a"}
    adjusted = client.post(f"/api/periods/{january}/adjustments", json=fix, headers=office)
    assert adjusted.status_code == 201, adjusted.text
    assert adjusted.json()["amount_cny"] == "-120.50"
    read = client.get(f"/api/settlements/{s['id']}", headers=office).json()
    assert read["spend_network_cny"] == "31100.00"  # closed: the figures never change
    assert [a["reason"] for a in read["adjustments"]] == ["claim c4 paid twice"]
    assert client.get(f"/api/periods/{january}/settlement", headers=office).json() == read
    budget = client.get("/api/networks/t-net-a/budgets/2025", headers=office).json()
    assert budget["periods"][0]["state"] == "closed"
    assert budget["periods"][0]["settlement_id"] == s["id"]


def _fields(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [e["field"] for e in body["errors"]]


def test_refusals_name_the_field_and_write_nothing(
    client: TestClient, session: Session, office: dict[str, str]
) -> None:
    negative = {"lump_sum_cny": "-1", "dip_pool_cny": "-2"}
    refused = client.put("/api/networks/t-net-a/budgets/2025", json=negative, headers=office)
    assert refused.status_code == 422 and _fields(refused) == ["lump_sum_cny", "dip_pool_cny"]
    above = {"lump_sum_cny": "10.00", "dip_pool_cny": "20.00"}
    refused = client.put("/api/networks/t-net-a/budgets/2025", json=above, headers=office)
    assert refused.status_code == 422 and _fields(refused) == ["dip_pool_cny"]
    for bad in ({"lump_sum_cny": "NaN", "dip_pool_cny": "1"},
                {"lump_sum_cny": "1e20", "dip_pool_cny": "1"}):  # fmt: skip
        malformed = client.put("/api/networks/t-net-a/budgets/2025", json=bad, headers=office)
        assert malformed.status_code == 422 and _fields(malformed) == ["body.lump_sum_cny"]
    far = client.put("/api/networks/t-net-a/budgets/99999", json=BUDGET, headers=office)
    assert far.status_code == 422 and _fields(far) == ["path.year"]
    with pytest.raises(NotFound, match="no budget"):
        finance.get_budget(session, "t-net-a", 2025)  # nothing half-written

    client.put("/api/networks/t-net-a/budgets/2025", json=BUDGET, headers=office)
    first = {"starts_on": "2025-01-01", "ends_on": "2025-01-31"}
    added = client.post("/api/networks/t-net-a/periods", json=first, headers=office)
    assert added.status_code == 201 and added.json()["state"] is None
    overlap = {"starts_on": "2025-01-20", "ends_on": "2025-02-10"}
    refused = client.post("/api/networks/t-net-a/periods", json=overlap, headers=office)
    assert refused.status_code == 422 and _fields(refused) == ["starts_on"]
    assert "overlaps the period 2025-01-01..2025-01-31" in refused.text
    backwards = {"starts_on": "2025-03-10", "ends_on": "2025-03-01"}
    refused = client.post("/api/networks/t-net-a/periods", json=backwards, headers=office)
    assert refused.status_code == 422 and _fields(refused) == ["ends_on"]
    assert len(finance.get_budget(session, "t-net-a", 2025).periods) == 1

    january = finance.get_period(session, "t-net-a", date(2025, 1, 1)).id
    early = {"amount_cny": "5.00", "reason": "x"}
    refused = client.post(f"/api/periods/{january}/adjustments", json=early, headers=office)
    assert refused.status_code == 422 and _fields(refused) == ["period"]
    big = client.post(f"/api/periods/{january + 10**6}/settlement", headers=office)
    assert big.status_code == 404
    assert client.post("/api/periods/99999999999/settlement", headers=office).status_code == 422


def test_only_the_commission_or_the_networks_office_may(
    client: TestClient, session: Session, office: dict[str, str]
) -> None:
    client.put("/api/networks/t-net-a/budgets/2025", json=BUDGET, headers=office)
    client.post("/api/networks/t-net-a/budgets/2025/months", headers=office)
    january = finance.get_period(session, "t-net-a", date(2025, 1, 1)).id
    member = bearer(
        session, make_principal(session, "fin-chc", Role.INSTITUTION_ADMIN, institution="t-chc-a")
    )
    other = bearer(
        session, make_principal(session, "fin-other", Role.NETWORK_ADMIN, network="t-net-b")
    )
    for headers in (member, other):
        assert client.put("/api/networks/t-net-a/budgets/2025", json=BUDGET,
                          headers=headers).status_code == 403  # fmt: skip
        assert client.get("/api/networks/t-net-a/budgets/2025", headers=headers).status_code == 403
        assert client.post(f"/api/periods/{january}/settlement", headers=headers).status_code == 403
    assert client.post(f"/api/periods/{january}/settlement").status_code == 401
    commission = bearer(session, make_principal(session, "fin-reg", Role.REGULATOR))
    settled = client.post(f"/api/periods/{january}/settlement", headers=commission)
    assert settled.status_code == 200 and settled.json()["computed_by"] == "fin-reg"
