"""Facts export: the operational store's fact tables to the Parquet layout, one part per
month (`part-db.parquet`), for DuckDB and Spark."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid.activity.facts import FACTS, Fact
from caregrid.activity.models import TABLES
from caregrid.activity.parquet import schema, write_month

BATCH = 100_000
DB_PART = "db"  # the part name of the operational store's rows in each month


def _rows(session: Session, fact: Fact) -> pa.Table:
    table = TABLES[fact.name]
    columns = [table.c[n] for n in fact.names]
    result = session.execute(select(*columns).order_by(table.c[fact.date], table.c.id))
    shape = schema(fact)
    parts = []
    while batch := result.fetchmany(BATCH):  # by column: a dict per row costs more than the read
        by_column = list(zip(*batch, strict=True))
        arrays = [pa.array(v, f.type) for v, f in zip(by_column, shape, strict=True)]
        parts.append(pa.Table.from_arrays(arrays, schema=shape))
    return pa.concat_tables(parts) if parts else schema(fact).empty_table()


def export(session: Session, root: Path, facts: tuple[Fact, ...] = FACTS) -> dict[str, int]:
    """Rows written per fact. The store is the source of its own part (`part-db`) of each
    month: a month it no longer has loses that part, unchanged months keep their files, and
    the parts beside it (a member system's or the synthetic city's) are left as they are."""
    written: dict[str, int] = {}
    for fact in facts:
        rows = _rows(session, fact)
        kept: set[Path] = set()
        if rows.num_rows:
            months = pc.strftime(rows[fact.date].cast(pa.timestamp("s")), format="%Y-%m")
            for month in pc.unique(months).to_pylist():
                chosen = rows.filter(pc.equal(months, month))
                kept.add(write_month(root, fact, month, chosen, part=DB_PART))
        for stale in (root / fact.name).glob(f"month=*/part-{DB_PART}.parquet"):
            if stale not in kept:
                stale.unlink()
        written[fact.name] = rows.num_rows
    return written
