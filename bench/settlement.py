"""Settlement: a year of claims for a synthetic city, settled by network and month on DuckDB.

Generates the city (`caregrid synth`'s generator, default 10 million residents) into a scratch
directory (or reads --facts), then settles every network's twelve months with the product's
engine (caregrid.finance.engine.duckdb_sums, then service.figures: the point value, members'
shares, the B7 waiver), no cache, and compares with one DuckDB pass over the same columns of
the same files (the scan floor). For comparison it also times all networks and months in one
grouped query of the same shape (not what the product runs: the engine settles one network's
period per call). Prints the figures and one final JSON line with `rows`, `seconds`,
`rows_per_s`, `peak_rss_mb` and `scan_floor_seconds`. Aim: within 3x the scan floor.

    .venv/bin/python bench/settlement.py [--residents 10000000] [--year 2024] [--facts DIR]
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

COLUMNS = (
    "claim_id", "institution_code", "patient_id", "kind", "date", "insured_division_code",
    "home_division_code", "out_of_county", "insurance_paid_cny", "dip_group", "deductible_cny",
    "referral_id", "first_visit_institution_code",
)  # fmt: skip
POOL = Decimal("12000000.00")  # a year's DIP pool per network: any figure, the work is the same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000_000)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--facts", type=Path, default=None, help="an existing facts folder")
    args = parser.parse_args()

    import duckdb

    from caregrid.activity.facts import fact
    from caregrid.activity.parquet import glob
    from caregrid.finance import dip, rules
    from caregrid.finance.engine import duckdb_sums
    from caregrid.finance.service import figures
    from caregrid.indicators.engine import Dims
    from caregrid.synth.city import generate
    from caregrid.synth.layout import load_layout

    scratch = None
    root = args.facts
    generated = 0.0
    if root is None:
        scratch = Path(tempfile.mkdtemp(prefix="caregrid-bench-"))
        root = scratch / "facts"
        began = time.perf_counter()
        generate("jinhua", args.residents, args.year, 1, root)
        generated = time.perf_counter() - began
    try:
        layout = load_layout("jinhua")
        grids = {g.code: g.divisions for g in layout.grids}
        dims = Dims.build(
            {i.code: str(i.level) for i in layout.institutions},
            {d.code: d.parent for d in layout.divisions},
            {n.code: grids[n.grid] for n in layout.networks},
            [(m.institution, n.code) for n in layout.networks for m in n.members],
        )
        files = f"read_parquet('{glob(root, fact('claim'))}', hive_partitioning = true)"
        connection = duckdb.connect()
        counted = connection.execute(f"SELECT count(*) FROM {files}").fetchone()
        rows = int(counted[0]) if counted else 0
        hashed = ", ".join(f"hash({c})" for c in COLUMNS)
        began = time.perf_counter()
        connection.execute(f"SELECT count(*), sum(hash({hashed})) FROM {files}").fetchall()
        floor = time.perf_counter() - began

        table = dip.shipped()
        points, known = table.points(), table.points().keys()
        networks = [n.code for n in layout.networks]
        year_days = 366 if calendar.isleap(args.year) else 365
        began = time.perf_counter()
        settled = paid = 0
        for code in networks:
            for month in range(1, 13):
                last = calendar.monthrange(args.year, month)[1]
                days = (
                    date(args.year, month, 1).isoformat(),
                    date(args.year, month, last).isoformat(),
                )
                sums, unknown = duckdb_sums(root, dims, code, days, known)
                assert not unknown, unknown
                found = figures(sums, points, rules.pro_rata(POOL, last, year_days), True)
                settled += found.claims
                paid += len(found.lines)
        seconds = time.perf_counter() - began
        grouped = _grouped(connection, files, dims)
        connection.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, DuckDB {duckdb.__version__}")  # fmt: skip
        print(f"claims: {rows:,} rows under {root}")
        if generated:
            print(f"generated {args.residents:,} residents in {generated:.1f} s")
        print(f"settled {len(networks)} networks x 12 months ({settled:,} claims of their "
              f"pools, {paid} member lines) in {seconds:.2f} s, "
              f"{rows / seconds:,.0f} rows/s")  # fmt: skip
        print(f"scan floor: {floor:.2f} s; settlement / floor = {seconds / floor:.2f}")
        print(f"one grouped query for all networks and months: {grouped:.2f} s "
              f"({grouped / floor:.2f} x floor, "
              f"{seconds / grouped:.1f}x faster than per period)")  # fmt: skip
        print(f"peak RSS: {peak:,.0f} MiB")
        print(
            json.dumps(
                {
                    "rows": rows,
                    "seconds": round(seconds, 3),
                    "rows_per_s": round(rows / seconds),
                    "scan_floor_seconds": round(floor, 3),
                    "peak_rss_mb": round(peak, 1),
                    "grouped_seconds": round(grouped, 3),
                    "periods": len(networks) * 12,
                    "residents": args.residents if scratch else None,
                }
            )
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _grouped(connection: object, files: str, dims: object) -> float:
    """The engine's two sums (claim groups, B7 waivers) for every network and month at once."""
    import duckdb
    import pyarrow as pa

    from caregrid.finance.engine import INSURED
    from caregrid.indicators.engine import Dims
    from caregrid.registry.vocab import Level

    assert isinstance(connection, duckdb.DuckDBPyConnection) and isinstance(dims, Dims)

    def pairs(found: tuple[tuple[str, str], ...], left: str) -> pa.Table:
        return pa.table({left: [a for a, _ in found], "network": [b for _, b in found]})

    connection.register("area", pairs(dims.areas, "division"))
    connection.register("member", pairs(dims.members, "institution"))
    connection.register(
        "dim", pa.table({"code": list(dims.levels), "level": list(dims.levels.values())})
    )
    began = time.perf_counter()
    connection.execute(
        "SELECT a.network, date_trunc('month', c.date) AS month, c.institution_code, c.kind, "
        "c.dip_group, c.out_of_county, (m.institution IS NOT NULL) AS member, count(*), "
        "sum(CAST(c.insurance_paid_cny AS DECIMAL(18, 2))) "
        f"FROM {files} c JOIN area a ON a.division = {INSURED} "
        "LEFT JOIN member m ON m.network = a.network AND m.institution = c.institution_code "
        "GROUP BY ALL"
    ).fetchall()
    connection.execute(
        "SELECT a.network, date_trunc('month', c.date) AS month, c.patient_id, count(*), "
        "sum(CAST(coalesce(c.deductible_cny, 0) AS DECIMAL(18, 2))) "
        f"FROM {files} c JOIN area a ON a.division = {INSURED} "
        "JOIN member m ON m.network = a.network AND m.institution = c.institution_code "
        "JOIN member f ON f.network = a.network AND f.institution = c.first_visit_institution_code "
        "JOIN dim d ON d.code = c.first_visit_institution_code "
        f"WHERE c.kind = 'inpatient' AND c.referral_id IS NOT NULL AND d.level = '{Level.PRIMARY}' "
        "GROUP BY ALL"
    ).fetchall()
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
