"""The synthetic city's claims: one per billed visit and per discharge, every stay's DIP
group in the points table, referred stays carrying who sent them (B7)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from caregrid.finance import service as finance
from caregrid.synth.city import generate


def test_synthetic_claims_follow_the_encounters(tmp_path: Path) -> None:
    generate("jinhua", 5000, 2025, 3, tmp_path)
    rows = "read_parquet('{}/{}/month=*/*.parquet', hive_partitioning = true)"
    claims, encounters = rows.format(tmp_path, "claim"), rows.format(tmp_path, "encounter")
    db = duckdb.connect()
    stays = db.execute(f"SELECT count(*) FROM {claims} WHERE kind = 'inpatient'").fetchone()
    discharges = db.execute(f"SELECT count(*) FROM {encounters} WHERE kind = 'discharge'")
    assert stays == discharges.fetchone()
    groups = {g for (g,) in db.execute(f"SELECT DISTINCT dip_group FROM {claims}").fetchall()}
    assert groups - {None} <= set(finance.dip_table().points()) and len(groups) > 5
    bad = db.execute(
        f"SELECT count(*) FROM {claims} WHERE (referral_id IS NULL) <> "
        "(first_visit_institution_code IS NULL) OR (kind = 'outpatient' AND "
        "(dip_group IS NOT NULL OR deductible_cny IS NOT NULL))"
    ).fetchone()
    assert bad == (0,)
    paid = db.execute(f"SELECT sum(insurance_paid_cny) FROM {claims}").fetchone()
    billed = db.execute(f"SELECT sum(insurance_paid_cny) FROM {encounters}").fetchone()
    assert paid is not None and billed is not None and abs(paid[0] - billed[0]) < 1
