"""`caregrid budget` and `caregrid settle` as a user runs them: a subprocess on a SQLite file
of its own, the claims imported as a fact file, January settled by hand's figures and closed;
a closed month settled again, a malformed month and a negative sum refused naming the field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from caregrid.activity.facts import fact
from caregrid.activity.parquet import schema
from tests.cli.test_cli import run
from tests.factories import layout, network, write_layout
from tests.finance.test_settlement import CLAIMS


def test_budget_then_settle_and_close_january(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'finance.db'}"
    data = layout()
    community = network(data, "t-net-a")
    community["kind"], community["profile"] = "county_community", "ganzhou-county"
    claims = tmp_path / "claims.parquet"
    pq.write_table(pa.Table.from_pylist(CLAIMS, schema(fact("claim"))), claims)
    for step in (
        ("db", "upgrade"),
        ("registry", "import", str(write_layout(tmp_path, data))),
        ("facts", "import", str(claims), "--fact", "claim"),
    ):
        done = run(database, *step)
        assert done.returncode == 0, (step, done.stderr)

    negative = run(database, "budget", "--network", "t-net-a", "--year", "2025",
                    "--lump-sum", "-5", "--dip-pool", "x")  # fmt: skip
    assert negative.returncode == 2 and "nothing was written" in negative.stderr
    assert "dip_pool: an amount in CNY, got 'x'" in negative.stderr
    made = run(database, "budget", "--network", "t-net-a", "--year", "2025",
                "--lump-sum", "1200000.00", "--dip-pool", "365000.00", "--months")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "12 periods" in made.stdout

    month = run(database, "settle", "--network", "t-net-a", "--period", "2025-13")
    assert month.returncode == 2 and "period: a month as YYYY-MM, got '2025-13'" in month.stderr
    table = run(database, "settle", "--network", "t-net-a", "--period", "2025-01")
    assert table.returncode == 0, table.stderr
    assert "24712.52" in table.stdout and "forecast_network_cny" in table.stdout
    settled = run(database, "settle", "--network", "t-net-a", "--period", "2025-01",
                   "--close", "--format", "json")  # fmt: skip
    assert settled.returncode == 0, settled.stderr
    figures = json.loads(settled.stdout)
    assert figures["state"] == "closed" and figures["claims"] == 6
    assert figures["period"] == ["2025-01-01", "2025-01-31"]
    assert figures["pool_cny"] == "31000.00" and Decimal(figures["points"]) == 5670
    assert figures["spend_network_cny"] == "31100.00" and figures["spend_county_cny"] == "3000.00"
    assert (figures["waived_cny"], figures["waived_patients"]) == ("800.00", 1)
    assert figures["forecast_result_cny"] == "790258.06"
    lead = next(m for m in figures["members"] if m["institution_code"] == "t-lead-a")
    assert lead["dip_paid_cny"] == "24712.52"

    again = run(database, "settle", "--network", "t-net-a", "--period", "2025-01")
    assert again.returncode == 2 and "correct it with an adjustment" in again.stderr
    unknown = run(database, "settle", "--network", "t-net-a", "--period", "2024-01")
    assert unknown.returncode == 2 and "no budget of t-net-a for 2024" in unknown.stderr
