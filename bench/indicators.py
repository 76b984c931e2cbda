"""Indicator suite: every shipped indicator for a year, by month and institution, on DuckDB.

Generates a synthetic city (`caregrid synth`, default 10 million residents, tens of millions
of encounters) into a scratch directory (or reads --facts), then runs the whole suite with the
engine the product uses (caregrid.indicators.engine.duckdb_cells, no cache) and, for
comparison, one DuckDB pass over the same columns of the same files (the scan floor). Prints
the figures and one final JSON line with `rows`, `seconds`, `rows_per_s`, `peak_rss_mb` and
`scan_floor_seconds`. Aim: the suite in under 60 s and 8 GiB, within 5x the scan floor.

    .venv/bin/python bench/indicators.py [--residents 10000000] [--year 2024] [--facts DIR]
        [--engine spark --master local-cluster|spark://host:port]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caregrid.indicators.definitions import Side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000_000)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--facts", type=Path, default=None, help="an existing facts folder")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument(
        "--master",
        default="local[2]",
        help="Spark's master: local[N], spark://host:port, or local-cluster (a master and two "
        "workers started on 127.0.0.1 for the run)",
    )
    args = parser.parse_args()

    import duckdb

    from caregrid.activity.parquet import glob
    from caregrid.config import get_settings
    from caregrid.indicators import cluster
    from caregrid.indicators.definitions import catalogue
    from caregrid.indicators.engine import Dims, duckdb_cells, spark_cells
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
        indicators = catalogue().indicators
        sides = [s for i in indicators for s in (i.numerator, i.denominator) if s is not None]
        facts = {s.fact.name: s.fact for s in sides}
        facts |= {s.among.fact.name: s.among.fact for s in sides if s.among is not None}
        connection = duckdb.connect()
        rows = 0
        for fact in facts.values():
            count = connection.execute(
                f"SELECT count(*) FROM read_parquet('{glob(root, fact)}', hive_partitioning=1)"
            ).fetchone()
            rows += int(count[0]) if count else 0

        read = _columns(sides)
        began = time.perf_counter()
        for name, fact in facts.items():
            columns = sorted(read[name])
            hashed = ", ".join(f"hash({c})" for c in columns)
            connection.execute(
                f"SELECT count(*), sum(hash({hashed})) FROM read_parquet('{glob(root, fact)}', "
                "hive_partitioning=1)"
            ).fetchall()
        floor = time.perf_counter() - began
        connection.close()

        period = (f"{args.year}-01", f"{args.year}-12")
        with ExitStack() as stack:
            if args.engine == "spark":
                master = args.master
                if master == "local-cluster":
                    master = stack.enter_context(cluster.standalone(workers=2, cores=1))
                get_settings().spark_master = master
                print(f"Spark master: {master}")
            run = spark_cells if args.engine == "spark" else duckdb_cells
            began = time.perf_counter()
            cells = run(root, dims, indicators, period)
            seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, DuckDB {duckdb.__version__}")  # fmt: skip
        print(f"facts: {rows:,} rows of {', '.join(sorted(facts))} under {root}")
        if generated:
            print(f"generated {args.residents:,} residents in {generated:.1f} s")
        print(f"suite: {len(indicators)} indicators, {len(cells):,} cells in {seconds:.2f} s")
        print(f"scan floor: {floor:.2f} s; suite / floor = {seconds / floor:.2f}")
        print(
            json.dumps(
                {
                    "rows": rows,
                    "seconds": round(seconds, 3),
                    "rows_per_s": round(rows / seconds),
                    "peak_rss_mb": round(peak, 1),
                    "scan_floor_seconds": round(floor, 3),
                    "indicators": len(indicators),
                    "cells": len(cells),
                    "engine": args.engine,
                    "residents": args.residents if scratch else None,
                }
            )
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _columns(sides: list[Side]) -> dict[str, set[str]]:
    """The fields each fact's sides read: attribution, filters, sums, distinct and last-row
    fields, and what semi-joins read of another fact (not the registry's dimensions)."""
    from sqlglot import exp

    from caregrid.indicators.definitions import DIMENSION_FIELDS, PERIOD_FIELDS

    def named(tree: exp.Expr | None) -> set[str]:
        return set() if tree is None else {c.name for c in tree.find_all(exp.Column)}

    found: dict[str, set[str]] = defaultdict(set)
    for side in sides:
        mine = found[side.fact.name]
        mine |= {side.by, *named(side.where), *named(side.having), *named(side.last_where)}
        mine |= {f for f in (side.sum, side.distinct, side.last) if f}
        if side.area:
            mine.add("institution_code")
        if side.among is not None:
            found[side.among.fact.name] |= {side.among.field, *named(side.among.where)}
    skip = set(DIMENSION_FIELDS) | set(PERIOD_FIELDS)
    return {name: columns - skip for name, columns in found.items()}


if __name__ == "__main__":
    main()
